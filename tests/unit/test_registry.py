"""The exercise registry, read from a kit's files: ids, titles, graded functions, torch, and
the solution (never the learner's stub) deciding when both exist."""

from __future__ import annotations

import pytest

from grader import registry
from grader.registry import discover, preload_for, read_exercise, select

STUB = '''"""Exercise 07: Eigenvalues by power iteration.

What the lesson says.
"""

import numpy as np
import torch.nn.functional as F


def power_iteration(m):
    """The dominant eigenvalue."""
    raise NotImplementedError


class Helper:
    pass


def _private():
    pass
'''


def test_an_exercise_is_read_from_its_module(tmp_path):
    path = tmp_path / "ex07_eigen.py"
    path.write_text(STUB)
    info = read_exercise(path)
    assert (info.id, info.title, info.functions, info.uses_torch) == (
        "ex07_eigen", "Eigenvalues by power iteration", ("power_iteration", "Helper"), True)
    assert info.suite.name == "test_ex07_eigen.py" and info.filename == "ex07_eigen.py"


def test_the_solution_decides_and_a_broken_stub_is_not_read(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "exercises").mkdir()
    (tmp_path / "solutions" / "ex07_eigen.py").write_text(STUB)
    (tmp_path / "exercises" / "ex07_eigen.py").write_text("def power_iteration(:\n")   # mid-edit
    (tmp_path / "exercises" / "ex08_svd.py").write_text('"""Exercise 08: SVD."""\n\ndef svd(a):\n    pass\n')
    (tmp_path / "exercises" / "notes.py").write_text("x = 1\n")                       # not an exercise
    found = discover(solutions=tmp_path / "solutions", stubs=tmp_path / "exercises")
    assert [(e.id, e.title, e.functions) for e in found] == [
        ("ex07_eigen", "Eigenvalues by power iteration", ("power_iteration", "Helper")),
        ("ex08_svd", "SVD", ("svd",))]


def test_an_unreadable_module_is_named(tmp_path):
    (tmp_path / "ex09_x.py").write_text("def broken(:\n")
    with pytest.raises(ValueError, match="ex09_x.py: cannot read the exercise"):
        read_exercise(tmp_path / "ex09_x.py")


def test_select_by_id_number_or_all():
    assert [e.id for e in select(["ex03", "3", "ex01_vectors"])] == ["ex03_matmul", "ex01_vectors"]
    assert select(None) == [e for e in registry.EXERCISES if e.suite.exists()]
    with pytest.raises(registry.UnknownExercise, match="unknown exercise 'ex99'"):
        select(["ex99"])


def test_preload_torch_only_for_a_present_torch_exercise():
    chosen = select(["ex01", "ex04"])
    assert preload_for(chosen, {"ex01_vectors"}) == ["numpy"]
    assert preload_for(chosen, {"ex01_vectors", "ex04_simple_mnist"}) == ["numpy", "torch"]
