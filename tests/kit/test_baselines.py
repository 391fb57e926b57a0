"""The speed baselines (baselines/<exercise>.py): one for every speed target, with the
solution's signature, computing the same answer on the timed inputs, never the solution's
method; and a loop anti-solution in bench/anti/ for `make bench` to fail."""

from __future__ import annotations

import ast
import importlib.util
import inspect

import numpy as np
import pytest
import torch

from grader import registry
from grader.paths import BASELINES_DIR, KIT_ROOT
from suite_modules import load_suite

TIMED = [e.id for e in registry.EXERCISES if "SPEED" in e.suite.read_text()]
TARGETS = [(ex_id, name) for ex_id in TIMED for name in load_suite(ex_id).SPEED]


def _module(folder, ex_id):
    spec = importlib.util.spec_from_file_location(f"_{folder.name}_{ex_id}", folder / f"{ex_id}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _close(got, want):
    if isinstance(want, dict):
        assert set(got) == set(want)
        for key in want:
            _close(got[key], want[key])
    elif isinstance(want, (tuple, list)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _close(g, w)
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-4, abs=1e-5)
    elif torch.is_tensor(want):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_the_timed_exercises_are_found():
    assert {"ex03_matmul", "ex06_vectorize", "ex07_attention", "ex09_backprop"} <= set(TIMED)


@pytest.mark.parametrize("ex_id, name", TARGETS, ids=[f"{e}.{n}" for e, n in TARGETS])
def test_every_speed_target_has_a_baseline_that_computes_the_same(ex_id, name):
    case = load_suite(ex_id).SPEED[name]
    baseline = getattr(_module(BASELINES_DIR, ex_id), name)
    solution = getattr(_module(KIT_ROOT / "solutions", ex_id), name)
    assert list(inspect.signature(baseline).parameters) == list(inspect.signature(solution).parameters)
    assert case.baseline != "the baseline"        # the feedback names the routine
    args = case.make_args(np.random.default_rng(0))
    _close(baseline(*args), solution(*args))
    _close(solution(*args), case.expected(args))


@pytest.mark.parametrize("ex_id, name", TARGETS, ids=[f"{e}.{n}" for e, n in TARGETS])
def test_every_speed_target_has_a_loop_anti_solution(ex_id, name):
    """`make bench` times bench/anti/ as the learner whose every verdict must fail."""
    anti = ast.parse((KIT_ROOT / "bench" / "anti" / f"{ex_id}.py").read_text())
    assert name in {n.name for n in anti.body if isinstance(n, ast.FunctionDef)}


@pytest.mark.parametrize("ex_id", TIMED)
def test_a_baseline_is_not_the_solutions_method(ex_id):
    """Each baseline calls the library routine the exercise rules out: its function bodies
    share nothing with the reference solution's (as the student kit's release checks too)."""
    def bodies(path):
        tree = ast.parse(path.read_text())
        return {ast.dump(ast.Module(body=[s for s in n.body if not isinstance(s, ast.Expr)], type_ignores=[]))
                for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert not bodies(BASELINES_DIR / f"{ex_id}.py") & bodies(KIT_ROOT / "solutions" / f"{ex_id}.py")
