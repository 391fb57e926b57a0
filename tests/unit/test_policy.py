"""Tests for grader.policy: the static policy every learner file passes before it is imported.

No worker is started: everything here parses files and looks names up in NumPy and PyTorch.
"""

from __future__ import annotations

import statistics
import textwrap
import time
from pathlib import Path

import pytest

from grader.checks.policy import rules as R
from grader.engine.notebook_source import Cell, extract_notebook, module_source
from grader.checks.policy import (MAX_FILE_BYTES, PolicyViolation, check_source, check_submission,
                           droppable_cell, droppable_cells, refusal_text)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
CASES = ROOT / "tests" / "policy_cases"


def found(source: str | bytes, filename: str = "ex03_matmul.py", **kwargs) -> list[tuple[int, str]]:
    """(line, rule) of every violation; line 1 is the first line of the dedented source."""
    if isinstance(source, str):
        source = textwrap.dedent(source).lstrip("\n")
    return [(v.line, v.rule) for v in check_source(source, filename, **kwargs)]


def messages(source: str, filename: str = "ex03_matmul.py", **kwargs) -> list[str]:
    return [v.message for v in check_source(textwrap.dedent(source).lstrip("\n"), filename, **kwargs)]


# -- the kit's own code and the golden learner submissions are accepted ---------------------
# Golden fixtures the policy refuses, and why: every one is hostile or uses a module these
# exercises have no use for. The lead updates their expected.json when the policy is wired in.
REFUSED_FIXTURES = {
    "ex03_import_error": "imports `helpers`, which is not in the submission: refused as an unknown module",
    "ex03_os_exit_in_function": "import os, os._exit",
    "ex03_sys_exit_in_function": "import sys (a leftover debugging exit: the message names the line)",
    "ex06_clock_patch": "import time, setattr on the time module",
    "hostile_exit_at_import": "import os", "hostile_fork_bomb": "import os, os.fork",
    "hostile_kill_parent_at_import": "os.kill", "hostile_kill_parent_in_function": "os.kill",
    "hostile_lying_ndarray_subclass": "__array_function__, __getattribute__",
    "hostile_overwrites_results": "open, os.fork", "hostile_patches_comparisons": "np.allclose = ...",
    "hostile_reads_kit_absolute": "os, sys, pathlib, open, exec",
    "hostile_reads_solutions_relative": "os, pathlib, __file__, exec",
    "hostile_stdout_flood": "import os", "hostile_sys_exit_at_import": "import sys",
}
# (tests/fixtures/attack_* are the attack folders, each with the outcome it must get: golden tests.)
KIT_FOLDERS = [ROOT / "exercises", ROOT / "solutions", ROOT / "bench" / "anti", ROOT / "baselines"] + sorted(
    p for p in FIXTURES.iterdir() if p.is_dir() and p.name not in REFUSED_FIXTURES
    and not p.name.startswith("attack_"))


@pytest.mark.parametrize("folder", KIT_FOLDERS, ids=[p.relative_to(ROOT).as_posix() for p in KIT_FOLDERS])
def test_kit_code_and_golden_submissions_are_accepted(folder):
    verdicts = check_submission(folder)
    assert {f: refusal_text(v) for f, v in verdicts.items() if v} == {}


@pytest.mark.parametrize("fixture", sorted(REFUSED_FIXTURES))
def test_the_refused_golden_fixtures_are_refused(fixture):
    assert any(check_submission(FIXTURES / fixture).values()), REFUSED_FIXTURES[fixture]


def test_notebooks_of_the_fixtures_and_the_kit_are_accepted(tmp_path):
    for i, notebook in enumerate([FIXTURES / "notebook_cell_error" / "ex03_cell4_error.ipynb",
                                  *sorted((ROOT / "notebooks").glob("ex*.ipynb"))]):
        out = tmp_path / str(i)
        out.mkdir()
        extract_notebook(notebook, out, exercise_ids=[notebook.stem.split("_cell")[0]])
        assert {f: refusal_text(v) for f, v in check_submission(out).items() if v} == {}


REALISTIC_HELPER = '''
    """My own helpers, shipped beside the exercises."""
    from __future__ import annotations

    import math
    from dataclasses import dataclass, field
    from typing import Optional, Sequence

    import numpy as np
    import numpy.typing as npt


    @dataclass
    class Shape:
        rows: int
        cols: int
        tags: list[str] = field(default_factory=list)


    def check_2d(a: npt.NDArray[np.float64], name: str = "a") -> Shape:
        a = np.asarray(a)
        if a.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got shape {a.shape}")
        return Shape(*a.shape)


    class Cache:
        def __init__(self) -> None:
            self._store: dict = {}

        def get(self, key, make):
            if key not in self._store:
                self._store[key] = make()
            return self._store[key]

        @classmethod
        def fresh(cls) -> "Cache":
            cls._made = True
            return cls()
'''
REALISTIC_EX04 = '''
    from __future__ import annotations

    import math
    import torch
    import torch.nn.functional as F
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset
    import linalg_helpers as lh


    class SimpleMnist(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l1_w = nn.Parameter(torch.randn(784, 256) / math.sqrt(784))
            self.l1_b = nn.Parameter(torch.zeros(256))
            self._calls = 0

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self._calls += 1
            x = x.reshape(x.shape[0], -1)
            return F.relu(torch.matmul(x, self.l1_w) + self.l1_b)

        def __repr__(self) -> str:
            return f"{type(self).__name__}(calls={self._calls})"


    def fit(model, x, y, epochs=1, lr=5e-3, batch_size=64):
        loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, num_workers=0)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        losses = [loss for loss in []]
        squash = lambda t: t.clamp(-1, 1)
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        cache = lh.Cache.fresh()
        return losses


    if __name__ == "__main__":
        print(fit(SimpleMnist(), torch.zeros(4, 784), torch.zeros(4, dtype=torch.long)))
        print(torch.__version__, fit.__name__)
'''


def test_realistic_learner_code_is_accepted(tmp_path):
    (tmp_path / "linalg_helpers.py").write_text(textwrap.dedent(REALISTIC_HELPER))
    (tmp_path / "ex04_simple_mnist.py").write_text(textwrap.dedent(REALISTIC_EX04))
    assert check_submission(tmp_path) == {"ex04_simple_mnist.py": [], "linalg_helpers.py": []}


@pytest.mark.parametrize("source", [
    "import numpy as np\nla = np.linalg\nn = la.norm\n",
    "try:\n    import torch\nexcept ImportError:\n    torch = None\nok = torch is not None and torch.cuda.is_available()\n",
    "import numpy as np\nif np:\n    pass\n",
    "from math import *\nr = sqrt(2) + pi\n",
    "from numpy import *\nz = zeros(3) + sum(ones(3))\n",
    "import numpy as np\nb = memoryview(b'abc')\nnames = dir(np)\nh = hasattr(np, 'x' + 'y')\n",
    "import collections, enum\nP = collections.namedtuple('P', 'x y')\nE = enum.Enum('E', 'A B')\n",
    "s = '{0} and {1:>4}'.format(1, 2)\n",
    "import numpy as np\nf = np.vectorize(lambda x: x + 1)\n",
    "import functools\ndef deco(fn):\n    @functools.wraps(fn)\n    def inner(*a):\n        return fn(*a)\n    return inner\n",
    "import abc\nclass A(abc.ABC):\n    pass\nclass B(metaclass=abc.ABCMeta):\n    pass\n",
    "class V:\n    __slots__ = ('x',)\n    __hash__ = None\n    def __len__(self):\n        return 0\n",
    "import numpy as np\nk = np.int64(3).__index__()\nt = type(k).__name__\n",
    "import numpy as np\ndef f(x: type, y: type[int]) -> np.ndarray:\n    return isinstance(x, (int, type))\n",
    "import numpy as np\nx = np.zeros(3)\nx.flags.writeable = False\nrng = np.random.default_rng(0).integers(0, 3)\n",
    "import torch\nfrom torch.utils.data import DataLoader\nd = DataLoader([1, 2], 2, False, num_workers=0, pin_memory=False)\n",
    "import numpy as np\ndef f(a):\n    match a.ndim:\n        case 2:\n            return a\n        case _:\n            return None\n",
    "import numpy as np\nv = np.lib.stride_tricks.as_strided(np.zeros(3), (3, 3), (0, 8), writeable=False)\n",
    "def wrapper(fn):\n    def inner():\n        return fn()\n    inner.__name__ = fn.__name__\n    inner.__doc__ = fn.__doc__\n    return inner\n",
    # judged harmless: a forward reference is compiled, never evaluated (only get_type_hints
    # would, and it is refused); callbacks handed to numpy are the learner's own checked code
    "import typing\nimport numpy as np\nr = typing.ForwardRef('np.ndarray')\nu = np.frompyfunc(abs, 1, 1)\n",
    "import numpy as np\nold = np.seterr(all='ignore')\nnp.set_printoptions(precision=3)\n",
    "import torch\ntorch.manual_seed(0)\ntorch.set_default_dtype(torch.float64)\n",
])
def test_legitimate_constructs_are_accepted(source):
    assert found(source) == []


# -- the attacks in /work/shared/attacks (copied to tests/policy_cases) ---------------------
def verdicts(case: str) -> dict[str, list[PolicyViolation]]:
    return check_submission(CASES / case)


def rules_at(violations: list[PolicyViolation]) -> set[tuple[int, str]]:
    return {(v.line, v.rule) for v in violations}


def test_a05_vars_lookup():
    (v, *rest) = verdicts("a05_matmul_vars_lookup")["ex03_matmul.py"]
    assert (v.line, v.rule) == (15, "builtin")
    assert v.message == R.REFUSED.format(where="ex03_matmul.py line 15", what=R.NAME.format(
        reason=R.NAME_REASONS["vars"], name="vars"), why="")


def test_a07_exec_at_module_level():
    (v,) = verdicts("a07_exec_module_level")["ex03_matmul.py"]
    assert (v.line, v.rule) == (14, "builtin") and "running code from a string (`exec`)" in v.message


def test_a13_every_hiding_trick_is_refused_on_its_line():
    found = verdicts("a13_ex06_hidden_row_loops")["ex06_vectorize.py"]
    assert rules_at(found) >= {
        (234, "import"), (235, "import"), (236, "import"),  # os, sys, threading
        (239, "builtin"),                                    # open(): writing a module to $HOME
        (259, "import"),                                     # importing what it wrote
        (263, "dangerous-name"),                             # sys.settrace(None)
        (266, "private"), (300, "private"), (308, "private"),  # torch._C.DisableTorchFunction
        (282, "builtin"), (299, "builtin"),                  # compile under a fake name, exec
    }
    text = "\n".join(v.message for v in found)
    assert "ex06_vectorize.py line 236: starting a thread (`import threading`) is not allowed" in text
    assert R.PRIVATE.format(text="torch._C") in text
    assert R.NOT_IN_SUBMISSION.format(file="rowloops_helper.py", modules="")[:40] in text


@pytest.mark.parametrize("case, file, lines", [
    ("a16_ex06_cpu_burner_spoils_reference", "ex06_vectorize.py", {(45, "import"), (46, "import"), (49, "builtin")}),
    ("a20_gradescope_forge_results", "ex01_vectors.py",
     {(101, "import"), (123, "builtin"), (128, "dangerous-name"), (129, "dangerous-name")}),
    ("a26_fill_shm_tmp_and_home", "ex01_vectors.py", {(131, "import"), (139, "builtin"), (145, "builtin")}),
    ("a27_reply_pipe_grader_memory", "ex01_vectors.py", {(136, "import")}),
    ("a38_batch_cpu_hog_neighbour", "ex04_simple_mnist.py", {(170, "import"), (172, "dangerous-name"),
                                                            (174, "dangerous-name")}),
])
def test_process_and_file_attacks_are_refused(case, file, lines):
    assert rules_at(verdicts(case)[file]) >= lines


def test_a16_a20_a38_name_fork_and_setsid():
    text = "\n".join(v.message for case, f in [("a20_gradescope_forge_results", "ex01_vectors.py"),
                                               ("a38_batch_cpu_hog_neighbour", "ex04_simple_mnist.py")]
                     for v in verdicts(case)[f])
    assert "starting or signalling processes (`_os.fork`)" in text
    assert "starting or signalling processes (`_os.setsid`)" in text


def test_a27_names_the_pipe_writing_modules():
    text = refusal_text(verdicts("a27_reply_pipe_grader_memory")["ex01_vectors.py"], limit=10)
    assert "(`import os`)" in text and "(`import fcntl`)" in text


@pytest.mark.parametrize("case, helper, users", [
    ("a28_patch_worker_probes", "_patch.py", {"ex02_broadcasting.py": 13, "ex03_matmul.py": 14, "ex06_vectorize.py": 45}),
    ("a34_precompute_at_stage_time", "_stagehook.py", {"ex06_vectorize.py": 45}),
])
def test_worker_patching_helpers_refuse_the_exercises_that_import_them(case, helper, users):
    found = verdicts(case)
    assert (found[helper][0].line, found[helper][0].rule) in {(4, "import"), (3, "import")}  # import sys
    assert any(v.rule == "monkeypatch" for v in found[helper])  # Worker.call = ..., _W.handle = ...
    for user, line in users.items():
        (v,) = found[user]
        assert (v.line, v.rule) == (line, "refused-module")
        assert R.REFUSED_MODULE_WHY.format(file=helper, line=found[helper][0].line) in v.message


def test_a33_a_notebook_cannot_define_the_grader_helpers(tmp_path):
    name = "a33_notebook_fake_notes.ipynb"
    exercise, spans, _ = extract_notebook(CASES / name, tmp_path, exercise_ids=["ex03_matmul"])
    (v,) = check_submission(tmp_path, cells={f"{exercise}.py": (name, spans)})["ex03_matmul.py"]
    assert v.rule == "reserved"
    assert v.message.startswith("a33_notebook_fake_notes.ipynb, cell 6 line 1: the name `_grader_cell_errors`")


# -- the same families, beyond the attack folder ----------------------------------------------
# (variant, source, (line, rule) that must be among the findings)
VARIANTS = [
    # reaching sys/os/builtins through an allowed library
    ("np.sys", "import numpy as np\nm = np.sys.modules\n", (2, "dangerous-name")),
    ("torch.os", "import torch\ntorch.os.fork()\n", (2, "dangerous-name")),
    ("getattr constant", "import numpy as np\ns = getattr(np, 'sys')\n", (2, "dangerous-name")),
    ("getattr folded", "import numpy as np\ns = getattr(np, 's' + 'ys')\n", (2, "dangerous-name")),
    ("reduce(getattr)", "import functools\nimport numpy as np\nm = functools.reduce(getattr, ['sys'], np)\n",
     (3, "getattr")),
    ("[np][0].sys", "import numpy as np\nm = [np][0].sys\n", (2, "module-value")),
    ("typing.types", "import typing\nt = typing.types.FunctionType\n", (2, "module")),
    ("enum.bltns", "import enum\nb = enum.bltns.eval\n", (2, "module")),
    ("dataclasses.inspect", "import dataclasses\nf = dataclasses.inspect.currentframe()\n", (2, "dangerous-name")),
    ("np.core", "import numpy as np\nd = np.core.multiarray\n", (2, "module")),
    ("np.lib.format", "import numpy as np\nf = np.lib.format.read_array\n", (2, "module")),
    ("star import then a module", "from numpy import *\ntesting.assert_equal(1, 1)\n", (2, "module")),
    ("star import then load", "from numpy import *\na = load('x.npy')\n", (2, "denied")),
    ("from numpy import testing", "from numpy import testing\n", (1, "dangerous-name")),
    ("from numpy import _core", "from numpy import _core\n", (1, "private")),
    ("import numpy._core", "import numpy._core\n", (1, "import")),
    ("torch.utils.collect_env", "import torch.utils.collect_env\n", (1, "import")),
    ("AttributeError.obj", "import numpy as np\ntry:\n    np.nope\nexcept AttributeError as e:\n    m = e.obj\n",
     (5, "dangerous-name")),
    # frames, tracebacks, classes, code objects
    ("generator frame", "def g():\n    yield 1\nf = g().gi_frame.f_back.f_globals\n", (3, "internals")),
    ("getattr frame", "def g():\n    yield 1\nf = getattr(g(), 'gi_frame')\n", (3, "internals")),
    ("exception traceback", "try:\n    1 / 0\nexcept Exception as e:\n    f = e.__traceback__.tb_frame\n",
     (4, "dunder")),
    ("mro subclasses", "x = 1\nobjs = type(x).mro()[-1].__subclasses__()\n", (2, "dunder")),
    ("print.__self__", "b = print.__self__\n", (1, "dunder")),
    ("lambda globals", "g = (lambda: 0).__globals__\n", (1, "dunder")),
    ("code constants", "def f():\n    pass\nc = f.__code__.co_consts\n", (3, "dunder")),
    ("__builtins__", "e = __builtins__['eval']\n", (1, "dunder")),
    ("match keyword attribute", "def f():\n    pass\nmatch f:\n    case object(__globals__=g):\n        pass\n",
     (4, "dunder")),
    ("format string", "x = 1\ns = '{0.__class__.__base__}'.format(x)\n", (2, "dunder")),
    ("f-string", "x = 1\ns = f'{x.__class__}'\n", (2, "dunder")),
    ("string spelling", "key = '__glo' + 'bals__'\n", (1, "string")),
    # dynamic lookups and code
    ("vars", "import numpy as np\nd = vars(np)\n", (2, "builtin")),
    ("np.__dict__", "import numpy as np\nd = np.__dict__\n", (2, "dunder")),
    ("globals", "g = globals()['np']\n", (1, "builtin")),
    ("locals", "def f():\n    return locals()\n", (2, "builtin")),
    ("getattr computed", "import numpy as np\ndef f(name):\n    return getattr(np, name)\n", (3, "getattr")),
    ("rebinding compile", "compile = lambda *a: 'x'\n", (1, "builtin")),
    ("type with three arguments", "import numpy as np\nC = type('C', (np.ndarray,), {})\n", (2, "type")),
    ("type as a value", "t = [type][0]\n", (1, "type")),
    ("custom metaclass", "class M(type):\n    pass\nclass C(metaclass=M):\n    pass\n", (1, "metaclass")),
    ("make_dataclass", "import dataclasses\nC = dataclasses.make_dataclass('C', [('a', int)])\n", (2, "dangerous-name")),
    ("get_type_hints", "import typing\nclass A:\n    x: '__import__(\"os\")'\nh = typing.get_type_hints(A)\n",
     (4, "dangerous-name")),
    ("singledispatch", "import functools\n@functools.singledispatch\ndef f(x):\n    pass\n", (2, "dangerous-name")),
    ("torch.jit", "import torch\n@torch.jit.script\ndef f(x):\n    return x\n", (2, "dangerous-name")),
    ("torch.compile via star", "from torch import *\nf = compile\n", (2, "builtin")),
    ("cpp_extension", "import torch\nm = torch.utils.cpp_extension.load_inline('x', '')\n", (2, "dangerous-name")),
    ("torch.ops.load_library", "import torch\ntorch.ops.load_library('x.so')\n", (2, "dangerous-name")),
    ("torch.overrides", "import torch\nM = torch.overrides.TorchFunctionMode\n", (2, "dangerous-name")),
    ("torch.hub", "import torch\nm = torch.hub.import_module('x', 'y')\n", (2, "dangerous-name")),
    ("np.ctypeslib", "import numpy as np\nlib = np.ctypeslib.load_library('x', '.')\n", (2, "dangerous-name")),
    ("ndarray.ctypes", "import numpy as np\nd = np.zeros(3).ctypes.data\n", (2, "dangerous-name")),
    # files and pickles
    ("np.load pickle", "import numpy as np\na = np.load('f.npy', allow_pickle=True)\n", (2, "keyword")),
    ("torch.load", "import torch\nm = torch.load('m.pt')\n", (2, "dangerous-name")),
    ("from torch import load as", "from torch import load as ld\n", (1, "dangerous-name")),
    ("np.save", "import numpy as np\nnp.save('x.npy', np.zeros(3))\n", (2, "dangerous-name")),
    ("tofile", "import numpy as np\nnp.zeros(3).tofile('x')\n", (2, "dangerous-name")),
    ("masked records from a file", "import numpy as np\nr = np.ma.mrecords.fromtextfile('x')\n", (2, "dangerous-name")),
    ("data pipes", "from torch.utils.data import IterDataPipe\n", (1, "denied")),
    # processes and threads through allowed libraries
    ("DataLoader workers", "from torch.utils.data import DataLoader\nd = DataLoader([1], num_workers=2)\n", (2, "keyword")),
    ("DataLoader positional workers", "from torch.utils.data import DataLoader\nd = DataLoader([1], 1, 0, None, None, 2)\n",
     (2, "keyword")),
    ("pin_memory thread", "from torch.utils.data import DataLoader\nd = DataLoader([1], pin_memory=True)\n", (2, "keyword")),
    # monkeypatching
    ("np.sum =", "import numpy as np\nnp.sum = lambda *a, **k: 0\n", (2, "monkeypatch")),
    ("torch.Tensor.foo =", "import torch\ntorch.Tensor.foo = 1\n", (2, "monkeypatch")),
    ("del np.pi", "import numpy as np\ndel np.pi\n", (2, "monkeypatch")),
    ("np.pi +=", "import numpy as np\nnp.pi += 1\n", (2, "monkeypatch")),
    ("np.typecodes[...] =", "import numpy as np\nnp.typecodes['x'] = 'y'\n", (2, "monkeypatch")),
    ("through an alias", "import numpy as np\nn = np\nn.shares_memory = print\n", (3, "monkeypatch")),
    ("through a call", "import numpy as np\ntype(np.zeros(1)).x = 1\n", (2, "monkeypatch")),
    ("update_wrapper", "import functools\nfunctools.update_wrapper(print, print)\n", (2, "dangerous-name")),
    ("wraps not as a decorator", "import functools\nclass F:\n    pass\nw = functools.wraps(F())\n", (4, "wraps")),
    # modules as values: every way to smuggle one past the resolution
    ("module as argument", "import numpy as np\ndef f(m):\n    m.shares_memory = print\nf(np)\n", (4, "module-value")),
    ("module as default", "import numpy as np\ndef f(m=np):\n    m.shares_memory = print\n", (2, "module-value")),
    ("module in a class", "import numpy as np\nclass C:\n    m = np\n", (3, "module-value")),
    ("module returned", "import numpy as np\nf = lambda: np\n", (2, "module-value")),
    ("module via walrus", "import numpy as np\nif (m := np):\n    pass\n", (2, "module-value")),
    ("module alias bound twice", "import numpy as np\nm = np\nif True:\n    m = None\n", (2, "module-value")),
    ("module alias made global", "import numpy as np\ndef f():\n    global m\n    m = np\n", (4, "module-value")),
    ("module printed", "import numpy as np\nprint(np)\n", (2, "module-value")),
    ("module compared", "import numpy as np\nclass Cap:\n    def __eq__(self, other):\n        return True\n"
                        "seen = Cap() == np\n", (5, "module-value")),
    ("module in a binary operation", "import numpy as np\nx = 1 + np\n", (2, "module-value")),
    # Python's scopes, not a flat approximation: each of these `np` is the import at run time
    ("hidden by a nested def", "import numpy as np\ndef f():\n    def g():\n        np = 5\n    np.sum = print\n",
     (5, "monkeypatch")),
    ("global, assigned later", "import numpy as np\ndef f():\n    global np\n    np.sum = print\n    np = 5\n",
     (4, "monkeypatch")),
    ("class body before its own np", "import numpy as np\nclass C:\n    np.sum = print\n    np = 5\n",
     (3, "monkeypatch")),
    ("a method parameter named np", "import numpy as np\nclass C:\n    def m(self, np):\n        pass\n    np.sum = print\n",
     (5, "monkeypatch")),
    ("a comprehension variable named np", "import numpy as np\ndef f():\n    [0 for np in range(1)]\n    np.sum = print\n",
     (4, "monkeypatch")),
    ("a local import", "def f():\n    import numpy as m\n    m.sum = print\n", (3, "monkeypatch")),
    ("an alias in a closure", "import numpy as np\ndef f():\n    m = np\n    def g():\n        m.sum = print\n",
     (5, "monkeypatch")),
    ("nonlocal rebinding", "import numpy as np\ndef f():\n    m = 1\n    def g():\n        nonlocal m\n        m = np\n",
     (6, "module-value")),
    # learner classes that change how libraries treat them
    ("__array_function__", "class A:\n    def __array_function__(self, *a):\n        return True\n", (2, "protocol")),
    ("__array_interface__", "class A:\n    @property\n    def __array_interface__(self):\n        return {}\n",
     (3, "protocol")),
    ("__torch_function__", "class T:\n    __torch_function__ = None\n", (2, "protocol")),
    # names that belong to the interpreter or the grader
    ("__name__ rebinding", "__name__ = '__main__'\n", (1, "dunder")),
    ("__file__", "f = __file__\n", (1, "dunder")),
    ("_grader prefix", "def _grader_cell_errors():\n    return []\n", (1, "reserved")),
    ("self rebound", "import numpy as np\nclass A:\n    def m(self):\n        self = np\n        return self._core\n",
     (5, "private")),
    ("self.__class__", "class A:\n    def m(self):\n        return self.__class__\n", (3, "dunder")),
    ("id", "x = id(1)\n", (1, "builtin")),
    ("breakpoint", "breakpoint()\n", (1, "builtin")),
    ("import codec", "import codec\n", (1, "import")),
    ("relative import out of the folder", "from .. import x\n", (1, "import")),
    ("utf-7 coding cookie", b"# coding: utf-7\nimport numpy as np\n", (1, "unreadable")),
    ("latin-1 coding cookie on line 2", b"#!/usr/bin/env python\n# -*- coding: latin-1 -*-\n", (2, "unreadable")),
]


@pytest.mark.parametrize("source, expected", [v[1:] for v in VARIANTS], ids=[v[0] for v in VARIANTS])
def test_variants_of_the_attack_families_are_refused(source, expected):
    assert expected in found(source)


def test_a_helper_module_that_does_the_forbidden_thing_refuses_its_importers(tmp_path):
    (tmp_path / "helpers.py").write_text("import numpy as np\nfrom numpy import *\ndef f():\n    return vars()\n")
    (tmp_path / "middle.py").write_text("from helpers import f\n")
    (tmp_path / "ex03_matmul.py").write_text("import numpy as np\nfrom . import middle\n")
    (tmp_path / "ex01_vectors.py").write_text("import numpy as np\nimport middle as m\n")
    result = check_submission(tmp_path)
    assert rules_at(result["helpers.py"]) == {(4, "builtin")}
    assert rules_at(result["middle.py"]) == {(1, "refused-module")}
    assert rules_at(result["ex03_matmul.py"]) == {(2, "refused-module")}
    assert rules_at(result["ex01_vectors.py"]) == {(2, "refused-module")}
    assert "see middle.py line 1" in result["ex01_vectors.py"][0].message


def test_packages_in_the_submission_carry_refusals(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "bad.py").write_text("import gc\n")
    (tmp_path / "pkg" / "good.py").write_text("from . import bad\n")
    (tmp_path / "ex01_vectors.py").write_text("from pkg import good\n")
    (tmp_path / "ex02_broadcasting.py").write_text("import pkg.bad as b\n")
    result = check_submission(tmp_path)
    assert rules_at(result["pkg/good.py"]) == {(1, "refused-module")}
    assert rules_at(result["ex01_vectors.py"]) == {(1, "refused-module")}
    assert rules_at(result["ex02_broadcasting.py"]) == {(1, "refused-module")}
    assert result["pkg/__init__.py"] == []


def test_names_are_resolved_through_the_learners_own_modules():
    learner = {"helpers": "import numpy as np\nimport numpy.linalg as la\nfrom numpy import *\n"
                          "from torch import cond as branch\n"}
    assert (2, "module-value") in found("import helpers\nf(helpers.np)\n", learner=learner)
    assert (2, "module-value") in found("from helpers import la\nx = [la]\n", learner=learner)
    assert (2, "monkeypatch") in found("import helpers\nhelpers.np.sum = print\n", learner=learner)
    assert (2, "denied") in found("from helpers import *\nx = load\n", learner=learner)
    assert (1, "denied") in found("from helpers import branch\n", learner=learner)  # torch.cond
    assert (2, "module-value") in found("import helpers\nm = [helpers]\n", learner=learner)
    assert found("import helpers\nx = helpers.np.zeros(3)\n", learner=learner) == []


def test_file_names_that_hide_a_module_are_refused(tmp_path):
    for name in ("numpy.py", "codec.py", "random.py", "sys.py", "filelock.py"):
        (tmp_path / name).write_text("x = 1\n")
    (tmp_path / "ex05_health_states.py").write_text("import random\n")
    (tmp_path / "my_helpers.py").write_text("x = 1\n")
    result = check_submission(tmp_path)
    for name in ("numpy.py", "codec.py", "random.py", "sys.py"):
        assert [v.rule for v in result[name]] == ["file-name"], name
    assert result["my_helpers.py"] == []
    assert rules_at(result["ex05_health_states.py"]) == {(1, "refused-module")}


# -- messages ---------------------------------------------------------------------------------
def test_messages_name_the_file_the_line_and_the_reason():
    (text,) = messages("import numpy as np\nimport os\n", "ex03_matmul.py")
    assert text == R.REFUSED.format(where="ex03_matmul.py line 2", what=R.IMPORT_ACTION.format(
        action="using files and processes", module="os"),
        why=R.ALLOWED_LIST.format(modules="numpy, torch, math, cmath, typing, collections, functools, "
                                          "itertools, dataclasses, abc, enum, numbers, random, statistics"))
    (text,) = messages("import threading\n", "ex06_vectorize.py")
    assert text.startswith("ex06_vectorize.py line 1: starting a thread (`import threading`) is not allowed in these exercises")
    (text,) = messages("import torch\nx = torch._C\n")
    assert text == R.REFUSED.format(where="ex03_matmul.py line 2", what=R.PRIVATE.format(text="torch._C"),
                                    why=R.PRIVATE_WHY)
    (text,) = messages("import numpy.lib.npyio\n")
    assert text.endswith(R.BECAUSE.format(reason=R.DENIED_MODULES["numpy.lib.npyio"]))


def test_a_main_block_is_checked_and_says_so():
    source = "import numpy as np\nif __name__ == '__main__':\n    import time\n    print(np.zeros(2))\n"
    (v,) = check_source(source, "ex03_matmul.py")
    assert (v.line, v.rule) == (3, "import") and v.message.endswith(R.MAIN_BLOCK)
    assert found("import numpy as np\nif __name__ == '__main__':\n    print(np.zeros(2), __name__)\n") == []


def test_control_characters_in_file_names_are_escaped():
    (v,) = check_source("import os\n", "ex03\x1b[2J.py")
    assert "\x1b" not in v.message and "\\x1b" in v.message


def test_refusal_text_lists_a_few_and_counts_the_rest():
    found_ = check_source("import os\nimport sys\nimport gc\nimport io\nimport time\nimport json\nimport re\n", "x.py")
    text = refusal_text(found_, limit=3)
    assert text.count("\n") == 3 and text.endswith("(and 4 more)")
    assert found_[0].to_dict()["rule"] == "import"


# -- notebooks ----------------------------------------------------------------------------------
def _module(cells: list[str]) -> tuple[str, list[dict]]:
    text, spans, _ = module_source([Cell(f"cell {i}", text) for i, text in enumerate(cells, 1)])
    return text, spans


def test_a_notebook_module_is_checked_and_named_cell_by_cell(tmp_path):
    text, spans = _module(["import numpy as np", "def f(a):\n    return np.sum(a)",
                           "def g():\n    import os\n    return os"])
    (tmp_path / "ex03_matmul.py").write_text(text)
    (v,) = check_submission(tmp_path, cells={"ex03_matmul.py": ("work.ipynb", spans)})["ex03_matmul.py"]
    assert v.message.startswith("work.ipynb, cell 3 line 2: using files and processes (`import os`)")
    assert v.line == text.split("\n").index("    import os") + 1  # the module's own line, for tools
    assert check_source(_module(["from __future__ import annotations\nimport numpy as np"])[0], "m.py") == []


def test_a_cells_label_never_reaches_the_module():
    text, spans = _module(["y = 1"])
    labelled, _, _ = module_source([Cell("x --\nimport os\n# --", "y = 1")])
    assert labelled == text and "import os" not in labelled


def test_droppable_cells_only_show_things():
    cells = [
        "import numpy as np",                                       # np is used below: kept
        "def matvec(m, v):\n    return np.sum(m * v, axis=1)",      # a definition: kept
        "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()",
        "m = np.arange(9).reshape(3, 3)\nprint(matvec(m, m[0]))",   # binds m, used by no kept cell
        "%timeit matvec(m, m[0])\nmatvec?",
        "import time\nt = time.perf_counter()\nmatvec(m, m[0])\nprint(time.perf_counter() - t)",
        "SCALE = 2",                                                # read by a kept cell: kept
        "def scaled(m):\n    return SCALE * m",
        "from __future__ import annotations",                       # changes the whole module: kept
        "weights = [1]",
        "weights.append(2)",                                        # changes what a kept cell reads
        "def total():\n    return sum(weights)",
        "for i in range(3):\n    print(i)",
        "def broken(:",                                             # the extractor handles it
        "%%bash\necho hi",
    ]
    assert droppable_cells(cells) == [False, False, True, True, True, True, False, False, False, False,
                                      False, False, True, False, False]
    assert droppable_cell("print(1)") and not droppable_cell("x = 1", needed=["x"])
    assert not droppable_cell("class A:\n    pass") and not droppable_cell("global x\nx = 1")


# -- never crash: fail closed ------------------------------------------------------------------
@pytest.mark.parametrize("source, rule", [
    (b"x = '\xff\xfe'\n", "unreadable"),                       # not UTF-8
    (b"import numpy\x00\n", "unreadable"),                     # null byte
    ("x = '\ud800'\n", "unreadable"),                          # a lone surrogate in the text
    (b"#!python\n# vim: set fileencoding=cp1252 :\n", "unreadable"),
    ("x = " + "a." * 60000 + "b\n", None),                     # long attribute chain
    ("x = " + " + ".join(["'a'"] * 30000) + "\n", None),       # long string sum
    ("x = " + "(" * 180 + "1" + ")" * 180 + "\n", None),       # deep parentheses
    ("x = " + "[" * 1000 + "]" * 1000 + "\n", None),           # too deep for the parser: a syntax error
    ("def f(:\n", None),                                       # syntax errors are the import's matter
    ("\ufeffimport numpy as np\r\nx = np.zeros(3)\r\n", None),  # BOM and CRLF
    ("x = 1\f\ny = 2\n", None),
])
def test_hostile_inputs_never_crash(source, rule):
    result = check_source(source, "ex03_matmul.py")
    assert all(isinstance(v, PolicyViolation) for v in result)
    if rule is not None:
        assert [v.rule for v in result] == [rule]
    else:
        assert all(v.rule == "unreadable" for v in result)  # too deep to check, or nothing found


def test_files_too_large_links_and_odd_names(tmp_path):
    (tmp_path / "big.py").write_text("x = 1\n" * (MAX_FILE_BYTES // 6 + 1))
    (tmp_path / "link.py").symlink_to(ROOT / "solutions" / "ex03_matmul.py")
    (tmp_path / "my-notes.py").write_text("import os\n")      # not importable, still checked
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.py").write_text("import sys\n")
    result = check_submission(tmp_path)
    assert [v.rule for v in result["big.py"]] == ["unreadable"]
    assert [v.rule for v in result["link.py"]] == ["unreadable"]
    assert [v.rule for v in result["my-notes.py"]] == ["import"]
    assert [v.rule for v in result["sub/deep.py"]] == ["import"]


# -- speed ----------------------------------------------------------------------------------------
def test_a_typical_exercise_file_is_checked_well_under_50_ms():
    files = sorted((ROOT / "solutions").glob("ex*.py"))
    check_submission(ROOT / "solutions")  # first use imports numpy and torch for the lookups
    for path in files:
        text = path.read_text()
        times = []
        for _ in range(5):
            start = time.perf_counter()
            check_source(text, path.name)
            times.append(time.perf_counter() - start)
        assert statistics.median(times) < 0.05, (path.name, times)


def test_a_cell_whose_names_only_annotations_read_is_kept():
    # without `from __future__ import annotations`, annotations run when the function is defined
    cells = ["import numpy as np", "def double(x: np.ndarray) -> np.ndarray:\n    return 2 * x"]
    assert droppable_cells(cells) == [False, False]
