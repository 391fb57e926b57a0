"""The constraint scan follows calls into the learner's own modules (attack a04: np.matmul
hidden in a second file the learner ships)."""

import textwrap
from pathlib import Path

import pytest

from grader.checks.constraints.scanner import HELPER_AT, VIA_HELPER, describe, scan
from grader.checks.constraints.rules import MATMUL_FAMILY
from grader.checks.expect import CheckFailed, LearnerSource, expect_without

HERE = Path(__file__).resolve().parent
A04 = HERE.parent / "policy_cases" / "a04_matmul_via_helper_module"

HELPER = """\
import numpy as np


def product(a, b):
    # np.asarray turns the grader's traced ndarray subclass back into a plain ndarray
    return np.matmul(np.asarray(a), np.asarray(b))


def clean(a, b):
    return (a[:, :, None] * b[None]).sum(axis=1)
"""


def lookup(files: dict[str, str]):
    def module(name: str):
        text = files.get(name)
        return None if text is None else (text, name.replace(".", "/") + ".py")
    return module


def found(source: str, files: dict[str, str], function: str = "f"):
    return scan(textwrap.dedent(source).lstrip("\n"), function, MATMUL_FAMILY, filename="ex03_matmul.py",
                modules=lookup(files))


@pytest.mark.parametrize("source, line", [
    ("from linalg_helpers import product\ndef f(a, b):\n    return product(a, b)\n", 3),
    ("import linalg_helpers as lh\ndef f(a, b):\n    return lh.product(a, b)\n", 3),
    ("import linalg_helpers\ndef f(a, b):\n    return linalg_helpers.product(a, b)\n", 3),
    ("from linalg_helpers import *\ndef f(a, b):\n    return product(a, b)\n", 3),
    ("import linalg_helpers as lh\ndef f(a, b):\n    return getattr(lh, 'product')(a, b)\n", 3),
    ("import linalg_helpers as lh\np = lh.product\ndef f(a, b):\n    return p(a, b)\n", 4),  # at the use, as aliases are
    ("from linalg_helpers import product as f\n", 1),  # the graded name itself is the helper
])
def test_a_helper_module_is_followed(source, line):
    (violation,) = found(source, {"linalg_helpers": HELPER})
    assert (violation.line, violation.construct, violation.helper_at) == (line, "np.matmul", "linalg_helpers.py line 6")
    assert violation.via[-1] == "linalg_helpers.product"
    assert violation.filename == "ex03_matmul.py"


def test_the_message_names_the_use_the_helper_and_its_line():
    source = "from linalg_helpers import product\n\ndef f(a, b):\n    return product(a, b)\n"
    (violation,) = found(source, {"linalg_helpers": HELPER})
    text = describe(violation)
    assert text.startswith("ex03_matmul.py line 4: f uses `np.matmul`")
    assert VIA_HELPER.format(chain="`linalg_helpers.product`") in text
    assert HELPER_AT.format(where="linalg_helpers.py line 6") in text


def test_chains_through_local_helpers_and_further_modules():
    files = {
        "outer": "import inner\ndef go(a, b):\n    return inner.deep(a, b)\n",
        "inner": "def deep(a, b):\n    return a @ b\n",
    }
    source = """
        from outer import go
        def _local(a, b):
            return go(a, b)
        def f(a, b):
            return _local(a, b)
    """
    (violation,) = found(source, files)
    assert (violation.line, violation.construct) == (3, "@")
    assert violation.via == ("_local", "outer.go", "inner.deep")
    assert violation.helper_at == "inner.py line 2"


def test_clean_helpers_unused_helpers_and_missing_modules_report_nothing():
    files = {"linalg_helpers": HELPER}
    assert found("from linalg_helpers import clean\ndef f(a, b):\n    return clean(a, b)\n", files) == []
    assert found("import linalg_helpers\ndef f(a, b):\n    return (a * b).sum()\n", files) == []
    assert found("from nowhere import product\ndef f(a, b):\n    return product(a, b)\n", files) == []


def test_import_cycles_and_broken_helpers_terminate():
    files = {
        "a": "import b\ndef fa(x, y):\n    return b.fb(x, y)\n",
        "b": "import a\ndef fb(x, y):\n    return a.fa(x, y) + x.dot(y)\n",
        "broken": "def g(:\n",
    }
    (violation,) = found("import a\nimport broken\ndef f(x, y):\n    return a.fa(x, y) + broken.g(x)\n", files)
    assert violation.construct == "x.dot" and violation.helper_at == "b.py line 3"


def test_expect_without_reads_the_helper_beside_the_exercise():
    """Attack a04 as handed in: the "without matmul" check fails and names both files."""
    source = LearnerSource(A04 / "ex03_matmul.py")
    for function, line in (("matvec", 51), ("matmul", 89)):
        with pytest.raises(CheckFailed) as info:
            expect_without(source, function, MATMUL_FAMILY)
        assert f"ex03_matmul.py line {line}: {function} uses `np.matmul`" in info.value.feedback
        assert "linalg_helpers.py line 6" in info.value.feedback
    expect_without(source, "batched_matmul", MATMUL_FAMILY)  # the honest one stays clean
