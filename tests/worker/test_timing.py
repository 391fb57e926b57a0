"""The timing engine (grader/engine/timing.py) and the vectorization check
(grader/checks/vectorized.py) in real workers.

The engine is exercised on tiny NumPy modules: a learner equal to the reference passes, one
that sleeps on every call fails, one that returns wrong outputs fails on the outputs, whatever
the clock in its worker says. Its rules without workers: tests/unit/test_timing_rules.py.
Ratio-stability figures come from `make bench` (bench/timing.py), not from here.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from grader.checks.expect import CheckFailed
from grader.checks.vectorized import LOOP_FOUND, expect_vectorized
from grader.engine import timing
from grader.engine.timing import SpeedCase, Verdict, measure
from grader.isolation.pool import Pool
from grader.settings import Settings
from learner_pool import learner_in, write_modules
from learner_sources import LOOPY

REFERENCE = """
import numpy as np

def scale(a):
    return a * 2.0
"""
CASE = SpeedCase("mod", "scale", lambda rng: (rng.standard_normal(2000),), lambda args: args[0] * 2.0,
                 target=3.0, inputs="a (2000,)")


@pytest.fixture(scope="module")
def pool():
    with Pool(Settings(), preload=["numpy"]) as pool:
        yield pool


def _learner(pool: Pool, tmp_path: Path, name: str, source: str):
    return learner_in(pool, write_modules(tmp_path / name, mod=source), ["mod"], name=name)


@pytest.fixture
def reference(pool, tmp_path):
    with _learner(pool, tmp_path, "reference", REFERENCE) as ref:
        yield ref


def _measure(pool, tmp_path, reference, source: str, call_timeout: float = 10.0) -> Verdict:
    with _learner(pool, tmp_path, "learner", source) as learner:
        return measure(CASE, learner=learner, reference=reference, rng=np.random.default_rng(0),
                       call_timeout=call_timeout)


# -- measuring in real workers ------------------------------------------------------------------
def test_same_code_passes_near_one(pool, tmp_path, reference):
    v = _measure(pool, tmp_path, reference, REFERENCE)
    assert v.passed, v.feedback()
    assert 0.3 < v.ratio < 3.0 and v.rounds >= timing.FIRST_ROUNDS and v.calls >= timing.MIN_CALLS


def test_slow_code_fails_whatever_its_worker_could_say(pool, tmp_path, reference):
    v = _measure(pool, tmp_path, reference, """
        def scale(a):
            for _ in range(2_000_000):   # 25-100 ms of interpreter per call: 100 times the
                pass                     # baseline or more, past 10x the target in one round
            return a * 2.0
        """, call_timeout=1.0)   # a block of many such calls stops after 1 s, or ends the rounds
    assert not v.passed and v.rounds <= 1, (v.rounds, v.ratios, v.feedback())
    assert v.feedback().startswith("too slow: scale on cpu"), v.feedback()


def test_wrong_outputs_while_timing_fail(pool, tmp_path, reference):
    v = _measure(pool, tmp_path, reference, """
        _seen = {}

        def scale(a):
            return _seen.setdefault(a.shape, a * 2.0)
        """)
    assert not v.passed
    assert "returned a wrong result" in v.problem and "call 2 of the warm-up" in v.problem


# -- the vectorization check --------------------------------------------------------------------


def test_expect_vectorized_in_a_worker(pool, tmp_path):
    with _learner(pool, tmp_path, "loopy", LOOPY) as learner:
        mod = learner.module("mod")
        small, large = (np.ones((3, 4)),), (np.ones((12, 4)),)
        expect_vectorized(mod.fine, small, large, function="fine", root=learner.submission_dir,
                          sizes=("3 rows", "12 rows"), extra_rows=9)
        with pytest.raises(CheckFailed) as failed:
            expect_vectorized(mod.total, small, large, function="total", root=learner.submission_dir,
                              sizes=("3 rows", "12 rows"), extra_rows=9)
    text = failed.value.feedback
    assert LOOP_FOUND.format(function="total", small="3 rows", large="12 rows",
                             unit="row or sample") in text
    assert "mod.py line 5: `for row in a:` ran 4 times for 3 rows and 13 times for 12 rows" in text
