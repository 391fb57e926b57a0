"""Tests for grader.checks.constraints: the static scanner behind the "without ..." rules."""

import dataclasses
import textwrap

import pytest

from grader.checks.constraints import (
    ALIAS_OF,
    BROADCAST_HELPERS,
    CDIST,
    DYNAMIC_ATTRIBUTE,
    DYNAMIC_CODE,
    EXPAND_DIMS,
    LINALG_NORM,
    LINEAR,
    MATMUL_FAMILY,
    MESSAGE,
    SOFTMAX,
    TILE_REPEAT,
    VIA_HELPER,
    Forbidden,
    ScanError,
    Violation,
    defines,
    describe,
    scan,
)
from kit_files import ROOT



def found(source: str, function: str = "f", rules=MATMUL_FAMILY) -> list[tuple[int, str]]:
    """(line, construct) of every violation; line 1 is the first line of the dedented source."""
    return [(v.line, v.construct) for v in scan(textwrap.dedent(source).lstrip("\n"), function, rules)]


# -- import aliases --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, construct",
    [
        ("import numpy as np\ndef f(a, b):\n    return np.matmul(a, b)\n", "np.matmul"),
        ("import numpy\ndef f(a, b):\n    return numpy.dot(a, b)\n", "numpy.dot"),
        ("from numpy import matmul as mm\ndef f(a, b):\n    return mm(a, b)\n", "mm"),
        ("import numpy.linalg as la\ndef f(a, b):\n    return la.multi_dot([a, b])\n", "la.multi_dot"),
        ("import numpy.linalg\ndef f(a, b):\n    return numpy.linalg.multi_dot([a, b])\n", "numpy.linalg.multi_dot"),
        ("from numpy import linalg\ndef f(a, b):\n    return linalg.multi_dot([a, b])\n", "linalg.multi_dot"),
        ("import torch as T\ndef f(a, b):\n    return T.mm(a, b)\n", "T.mm"),
        ("from torch import matmul\ndef f(a, b):\n    return matmul(a, b)\n", "matmul"),
        ("import operator\ndef f(a, b):\n    return operator.matmul(a, b)\n", "operator.matmul"),
        ("from operator import matmul\ndef f(a, b):\n    return matmul(a, b)\n", "matmul"),
        ("from functools import reduce\nimport operator\ndef f(a, b):\n    return reduce(operator.matmul, [a, b])\n",
         "operator.matmul"),
        ("import scipy.linalg.blas as blas\ndef f(a, b):\n    return blas.dgemm(1.0, a, b)\n", "blas.dgemm"),
        ("from numpy import *\ndef f(a, b):\n    return inner(a, b)\n", "inner"),
        ("import numpy as np\ndef f(a, b):\n    return np.core.multiarray.dot(a, b)\n", "np.core.multiarray.dot"),
        ("import numpy as np\ndef f(a, b):\n    return np.multiply.outer(a, b)\n", "np.multiply.outer"),
        ("import torch\ndef f(a, b):\n    return torch.Tensor.matmul(a, b)\n", "torch.Tensor.matmul"),
        ("import numpy as np\ndef f(a, b):\n    return np.ndarray.__matmul__(a, b)\n", "np.ndarray.__matmul__"),
    ],
)
def test_resolves_module_level_imports(source, construct):
    assert found(source) == [(3 if source.count("\n") == 3 else 4, construct)]


def test_resolves_imports_inside_the_function():
    source = """
        def f(a, b):
            import numpy as np
            from numpy.linalg import multi_dot as md
            def inner_helper():
                import torch
                return torch.bmm(a, b)
            return np.einsum("ij,jk->ik", a, b) + md([a, b]) + inner_helper()
    """
    assert found(source) == [(6, "torch.bmm"), (7, "np.einsum"), (7, "md")]


def test_from_numpy_linalg_import_norm_is_the_library_norm():
    source = "from numpy.linalg import norm\ndef length(v):\n    return norm(v)\n"
    assert found(source, "length", LINALG_NORM) == [(3, "norm")]
    assert found("import torch\ndef length(v):\n    return torch.linalg.norm(v)\n", "length", LINALG_NORM) == [
        (3, "torch.linalg.norm")]
    assert found("def length(v):\n    return v.norm()\n", "length", LINALG_NORM) == [(2, "v.norm")]


# -- module-level aliases and dynamic access -------------------------------------------------


def test_module_level_aliases_are_reported_where_they_are_used():
    source = """
        import numpy as np
        mm = np.matmul
        g = getattr(np, "matmul")
        def f(a, b):
            return mm(a, b) + g(a, b)
    """
    violations = scan(textwrap.dedent(source).lstrip("\n"), "f", MATMUL_FAMILY)
    assert [(v.line, v.construct, v.target) for v in violations] == [
        (5, "mm", "numpy.matmul"), (5, "g", "numpy.matmul")]
    assert ALIAS_OF.format(target="numpy.matmul") in describe(violations[0])


def test_local_alias_is_reported_at_the_assignment_and_the_use():
    source = """
        import numpy as np
        def f(a, b):
            mm = np.matmul
            return mm(a, b)
    """
    assert found(source) == [(3, "np.matmul"), (4, "mm")]


@pytest.mark.parametrize(
    "expression",
    [
        'getattr(np, "matmul")',
        'getattr(np, "mat" + "mul")',
        'getattr(np, f"mat{\'mul\'}")',
        'getattr(np, "".join(["mat", "mul"]))',
        'getattr(np, "lumtam"[::-1])',
        'getattr(np, "MATMUL".lower())',
        'np.__dict__["matmul"]',
        'vars(np)["dot"]',
        'vars(np).get("dot")',
        'np.__getattribute__("dot")',
        'globals()["np"].matmul',
        'globals()["np"].vdot',
        'getattr(a, "dot")',
        'getattr(getattr(np, "linalg"), "multi_dot")',
        'operator.methodcaller("dot", b)',
        'sys.modules["numpy"].einsum',
    ],
)
def test_dynamic_access_with_a_constant_name(expression):
    source = f"import numpy as np\nimport operator\nimport sys\ndef f(a, b):\n    return {expression}\n"
    assert found(source) == [(5, expression)]


def test_dynamic_access_with_a_computed_name():
    source = """
        import numpy as np
        def f(a, b, name):
            return getattr(np, name)(a, b)
    """
    violations = scan(textwrap.dedent(source).lstrip("\n"), "f", MATMUL_FAMILY)
    assert [(v.construct, v.rule) for v in violations] == [("getattr(np, name)", DYNAMIC_ATTRIBUTE)]
    # On an unknown object only a constant that spells a forbidden name counts.
    assert found("def f(a, b, s):\n    return getattr(a, 'mat' + s)\n") == []
    assert found("def f(a, b, s):\n    return getattr(a, s + 'matmul')\n") == [(2, "getattr(a, s + 'matmul')")]
    assert found("def f(a, b, s):\n    return getattr(a, 'shape')\n") == []


@pytest.mark.parametrize(
    "expression",
    ['eval("a @ b")', 'exec("r = a @ b")', 'compile("a", "x", "eval")', '__import__("numpy")',
     'importlib.import_module("numpy")', "builtins.eval('1')"],
)
def test_dynamic_code_is_always_reported(expression):
    source = f"import importlib\nimport builtins\ndef f(a, b):\n    return {expression}\n"
    violations = scan(source, "f", LINEAR)
    assert violations and {v.rule for v in violations} == {DYNAMIC_CODE.name}
    assert violations[0].line == 4


def test_re_compile_is_not_dynamic_code():
    assert found("import re\ndef f(a, b):\n    return re.compile('x')\n") == []


# -- methods and the @ operator --------------------------------------------------------------


@pytest.mark.parametrize("call", ["a.dot(b)", "a.matmul(b)", "a.mm(b)", "a.__matmul__(b)", "a.T.bmm(b)",
                                  "(a + 1).mv(b)", "type(a).__rmatmul__(b, a)"])
def test_forbidden_methods_on_any_object(call):
    source = f"def f(a, b):\n    return {call}\n"
    assert len(found(source)) == 1


def test_matmul_operator_and_augmented_assignment():
    source = """
        def f(a, b):
            c = a @ b  # not this one: @ in a comment
            c @= b
            return (a
                    # @ still a comment
                    @ b)
    """
    violations = scan(textwrap.dedent(source).lstrip("\n"), "f", MATMUL_FAMILY)
    assert [(v.line, v.col, v.construct) for v in violations] == [(2, 11, "@"), (3, 7, "@="), (6, 13, "@")]


def test_the_operator_is_only_flagged_by_rules_that_forbid_it():
    assert found("def f(a, b):\n    return a @ b\n", rules=LINEAR) == []


# -- reachability ----------------------------------------------------------------------------


def test_helpers_are_followed_transitively():
    source = """
        import numpy as np
        def _inner(a, b):
            return np.dot(a, b)
        def _mm(a, b):
            return _inner(a, b)
        def f(a, b):
            return _mm(a, b)
    """
    (violation,) = scan(textwrap.dedent(source).lstrip("\n"), "f", MATMUL_FAMILY)
    assert (violation.line, violation.construct, violation.via) == (3, "np.dot", ("_mm", "_inner"))
    assert VIA_HELPER.format(chain="`_mm` -> `_inner`") in describe(violation)


def test_helpers_of_every_kind_are_followed():
    source = """
        import numpy as np
        _lam = lambda a, b: a @ b
        class Ops:
            product = staticmethod(np.dot)
        TABLE = {"mm": np.matmul}
        def f(a, b):
            return _lam(a, b) + Ops.product(a, b) + TABLE["mm"](a, b)
    """
    assert found(source) == [(2, "@"), (4, "np.dot"), (5, "np.matmul")]


def test_unreachable_functions_are_not_scanned():
    source = """
        import numpy as np
        def matmul_loops(a, b):
            return np.dot(a, b)
        def matmul(a, b):
            return (a[:, :, None] * b[None]).sum(axis=1)
    """
    assert found(source, "matmul") == []
    assert found(source, "matmul_loops") == [(3, "np.dot")]
    calling = textwrap.dedent(source) + "def batched(a, b):\n    return matmul_loops(a, b)\n"
    assert [v.via for v in scan(calling, "batched", MATMUL_FAMILY)] == [("matmul_loops",)]


def test_nested_functions_and_decorators_are_scanned():
    source = """
        import numpy as np
        def swap(fn):
            return lambda a, b: np.matmul(a, b)
        @swap
        def f(a, b):
            def helper():
                return a.dot(b)
            return helper()
    """
    assert found(source) == [(3, "np.matmul"), (7, "a.dot")]


def test_rebinding_the_graded_name_is_scanned():
    source = """
        import numpy as np
        def matmul(a, b):
            raise NotImplementedError
        matmul = np.matmul
    """
    assert found(source, "matmul") == [(4, "np.matmul")]
    assert found("from numpy import matmul\n", "matmul") == [(1, "from numpy import matmul")]
    # An import that a later def replaces never runs.
    assert found("from numpy import dot\ndef dot(a, b):\n    return (a * b).sum()\n", "dot") == []


def test_missing_function_gives_no_violations_and_defines_says_so():
    source = "import numpy as np\ndef other(a, b):\n    return np.dot(a, b)\n"
    assert scan(source, "matmul", MATMUL_FAMILY) == []
    assert not defines(source, "matmul")
    assert defines(source, "other")
    assert defines("matmul = None\n", "matmul")


# -- what must not be flagged ----------------------------------------------------------------


def test_clean_code_is_not_flagged():
    source = '''
        """Module docstring: np.dot, a @ b, np.linalg.norm."""
        import numpy as np
        from itertools import repeat

        def dot(a, b):
            """Like np.dot, but by hand: a @ b."""
            # np.matmul would be cheating
            dot_product = (a * b).sum()
            message = "use np.dot? no: getattr(np, 'dot')"
            return float(dot_product + np.sum(np.multiply(a, b)) * 0) + len(message) * 0

        def cosine_similarity(a, b):
            return dot(a, b) / (dot(a, a) ** 0.5 * dot(b, b) ** 0.5)

        def tiles(n):
            return list(repeat(0, n))
    '''
    for function in ("dot", "cosine_similarity"):
        assert found(source, function, [MATMUL_FAMILY, LINALG_NORM]) == []
    assert found(source, "tiles", TILE_REPEAT) == []


def test_parameters_hide_module_names():
    source = "import numpy as np\ndef f(a, b, np=None):\n    return np.matmul(a, b)\n"
    assert found(source) == [(3, "np.matmul")]  # still a forbidden method name
    source = "from numpy import dot\ndef f(a, b, dot):\n    return dot(a, b)\n"
    assert found(source) == []


# -- the other rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule, expression",
    [
        (BROADCAST_HELPERS, "np.broadcast_shapes(a, b)"),
        (BROADCAST_HELPERS, "np.broadcast_arrays(a, b)"),
        (BROADCAST_HELPERS, "np.lib.stride_tricks.broadcast_to(a, b)"),
        (EXPAND_DIMS, "np.expand_dims(a, 0)"),
        (TILE_REPEAT, "np.tile(a, b)"),
        (TILE_REPEAT, "a.repeat(3)"),
        (CDIST, "torch.cdist(a, b)"),
        (SOFTMAX, "torch.softmax(a, -1)"),
        (SOFTMAX, "F.softmax(a, dim=-1)"),
        (SOFTMAX, "F.log_softmax(a, dim=-1)"),
        (SOFTMAX, "a.softmax(-1)"),
        (SOFTMAX, "torch.nn.Softmax(dim=1)"),
        (LINEAR, "torch.nn.Linear(3, 4)"),
        (LINEAR, "F.linear(a, b)"),
    ],
)
def test_other_rules(rule, expression):
    source = f"import numpy as np\nimport torch\nimport torch.nn.functional as F\ndef f(a, b):\n    return {expression}\n"
    violations = scan(source, "f", rule)
    assert [(v.line, v.rule) for v in violations] == [(5, rule.name)]


def test_allowed_neighbours_of_the_rules():
    source = """
        import numpy as np
        import torch
        def f(a, b):
            x = np.lib.stride_tricks.as_strided(a, (3, 3), (0, 8))
            y = torch.matmul(a, b).clamp_min(0) + torch.exp(a - a.amax(-1, keepdim=True))
            return x, y, a[:, None], a.reshape(3, 1)
    """
    assert found(source, rules=[BROADCAST_HELPERS, EXPAND_DIMS, TILE_REPEAT, CDIST, SOFTMAX, LINEAR]) == []


# -- errors, messages and the reference solutions --------------------------------------------


def test_syntax_error_raises_scan_error_with_the_line():
    with pytest.raises(ScanError) as info:
        scan("def f(a, b):\n    return a +\n", "f", MATMUL_FAMILY, filename="ex03_matmul.py")
    assert info.value.line == 2
    assert "ex03_matmul.py line 2" in str(info.value)
    with pytest.raises(ScanError):
        defines("def f(:\n", "f")


def test_describe_uses_the_message_template():
    source = "import numpy as np\ndef matmul(a, b):\n    return np.matmul(a, b)\n"
    (violation,) = scan(source, "matmul", MATMUL_FAMILY, filename="ex03_matmul.py")
    assert violation == Violation(
        "matmul", 3, 12, "np.matmul", "return np.matmul(a, b)", MATMUL_FAMILY.name,
        MATMUL_FAMILY.hint, "numpy.matmul", (), "ex03_matmul.py")
    assert describe(violation) == MESSAGE.format(
        filename="ex03_matmul.py", line=3, function="matmul", construct="np.matmul", detail="",
        rule="the matmul family", hint="; build the product from broadcasting and a sum")


def test_rules_can_be_given_an_exercise_specific_hint():
    rule = dataclasses.replace(MATMUL_FAMILY, hint="multiply element-wise and sum")
    (violation,) = scan("def f(a, b):\n    return a @ b\n", "f", rule)
    assert describe(violation).endswith("(the matmul family is not allowed here; multiply element-wise and sum)")
    assert isinstance(rule, Forbidden) and rule.matches("numpy.dot")


SOLUTION_RULES = {
    "ex01_vectors": {"dot": [MATMUL_FAMILY], "norm": [LINALG_NORM]},
    "ex02_broadcasting": {
        "broadcast_shape": [BROADCAST_HELPERS],
        "expand_dims": [EXPAND_DIMS],
        "broadcast_to": [BROADCAST_HELPERS, TILE_REPEAT],
    },
    "ex03_matmul": {name: [MATMUL_FAMILY] for name in ("matvec", "matmul", "batched_matmul")},
    "ex06_vectorize": {"pairwise_sq_dists": [CDIST], "softmax": [SOFTMAX], "knn_predict": [CDIST]},
}


@pytest.mark.parametrize(
    "module, function, rules",
    [(m, f, r) for m, functions in SOLUTION_RULES.items() for f, r in functions.items()],
)
def test_reference_solutions_scan_clean(module, function, rules):
    path = ROOT / "solutions" / f"{module}.py"
    if not path.exists():
        pytest.skip(f"{path.name} not written yet")
    source = path.read_text(encoding="utf-8")
    assert defines(source, function)
    assert [describe(v) for v in scan(source, function, rules, filename=path.name)] == []


def test_a_fallback_binding_does_not_hide_the_import():
    source = """
        try:
            import numpy as np
        except ImportError:
            np = None
        def f(a, shape):
            return np.broadcast_to(a, shape)
    """
    assert found(source, rules=BROADCAST_HELPERS) == [(6, "np.broadcast_to")]


def test_star_import_counts_unless_a_later_def_replaces_the_name():
    helper = "def dot(a, b):\n    return (a * b).sum()\n"
    use = "def f(a, b):\n    return dot(a, b)\n"
    assert found("from numpy import *\n" + helper + use) == []
    assert found(helper + "from numpy import *\n" + use) == [(5, "dot")]


def test_very_long_expressions_do_not_overflow():
    source = "def f(a, b):\n    return " + " + ".join(["a"] * 900) + " + a @ b\n"
    assert [v.construct for v in scan(source, "f", MATMUL_FAMILY)] == ["@"]
