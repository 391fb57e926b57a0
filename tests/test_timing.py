"""Tests for the timing engine (grader/timing.py) and the vectorization check (grader/vectorized.py).

The engine is exercised on tiny NumPy modules in real workers: a learner equal to the
reference passes, one that sleeps on every call fails, one that returns wrong outputs fails
on the outputs, whatever the clock in its worker says. Ratio-stability figures come from
`make bench` (grader/bench_timing.py), not from here.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from grader.engine import timing
from grader.checks.expect import CheckFailed
from grader.isolation.client import Learner
from grader.settings import Settings
from grader.engine.timing import SpeedCase, Verdict, decided, measure
from grader.checks.vectorized import LOOP_FOUND, describe, expect_vectorized, grown_lines

REFERENCE = """
import numpy as np

def scale(a):
    return a * 2.0
"""
CASE = SpeedCase("mod", "scale", lambda rng: (rng.standard_normal(2000),), lambda args: args[0] * 2.0,
                 target=3.0, inputs="a (2000,)")


def _learner(tmp_path: Path, name: str, source: str) -> Learner:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "mod.py").write_text(textwrap.dedent(source))
    return Learner(folder, modules=["mod"], scratch=tmp_path / f"{name}-scratch",
                   settings=Settings(sandbox=False))


@pytest.fixture
def reference(tmp_path):
    with _learner(tmp_path, "reference", REFERENCE) as ref:
        yield ref


def _measure(tmp_path, reference, source: str, call_timeout: float = 10.0) -> Verdict:
    with _learner(tmp_path, "learner", source) as learner:
        return measure(CASE, learner=learner, reference=reference, rng=np.random.default_rng(0),
                       call_timeout=call_timeout)


# -- the sequential rule ------------------------------------------------------------------------
@pytest.mark.parametrize("ratios, done", [
    ([1.0, 1.1], False),                   # never fewer than three rounds
    ([1.0, 1.1, 1.2], True),               # all clearly under the target (3 / 2 = 1.5)
    ([1.0, 1.1, 1.6], False),              # one not clear: go on to five
    ([1.0, 1.1, 1.6, 1.2, 1.0], True),     # median 1.1, far from 3
    ([2.5, 3.1, 2.9, 3.4, 2.8], False),    # median 2.9: within 30 % of 3, more rounds
    ([2.5, 3.1, 2.9, 3.4, 2.8] * 3, True),  # ... but never more than MAX_ROUNDS
    ([7.0, 6.5, 8.0], True),               # all clearly over (3 * 2 = 6)
    ([40.0], True),                        # over STOP_FACTOR x target: one round is enough
])
def test_decided(ratios, done):
    assert decided(ratios, 3.0) is done


def test_verdict_feedback_shows_times_ratio_target_device_rounds_and_hint():
    v = Verdict(CASE, "cpu", calls=10, learner_times=[0.05, 0.06, 0.04],
                reference_times=[0.01, 0.01, 0.01], ratios=[5.0, 6.0, 4.0])
    assert not v.passed and v.ratio == 5.0
    text = v.feedback()
    for part in ("too slow", "scale on cpu with a (2000,)", "5.00 ms per call", "1.00 ms per call",
                 "ratio 5.00", "at most 3", "3 rounds of 10 calls", "hint:"):
        assert part in text, (part, text)
    t = v.timing()
    assert (t.learner_s, t.reference_s, t.ratio, t.target_ratio, t.rounds) == (0.005, 0.001, 5.0, 3.0, 3)


# -- measuring in real workers ------------------------------------------------------------------
def test_same_code_passes_near_one(tmp_path, reference):
    v = _measure(tmp_path, reference, REFERENCE)
    assert v.passed, v.feedback()
    assert 0.3 < v.ratio < 3.0 and v.rounds >= timing.FIRST_ROUNDS and v.calls >= timing.MIN_CALLS


def test_slow_code_fails_even_with_its_clock_frozen(tmp_path, reference):
    v = _measure(tmp_path, reference, """
        import time
        _sleep = time.sleep
        time.perf_counter = time.monotonic = time.time = lambda: 0.0

        def scale(a):
            _sleep(0.02)
            return a * 2.0
        """, call_timeout=1.0)   # a block of many 20 ms calls stops after 1 s, or ends the rounds
    assert not v.passed and v.rounds <= 1
    assert v.feedback().startswith("too slow: scale on cpu")


def test_wrong_outputs_while_timing_fail(tmp_path, reference):
    v = _measure(tmp_path, reference, """
        _seen = {}

        def scale(a):
            return _seen.setdefault(a.shape, a * 2.0)
        """)
    assert not v.passed
    assert "returned a wrong result" in v.problem and "call 2 of the warm-up" in v.problem


# -- the vectorization check --------------------------------------------------------------------
LOOPY = """\
import numpy as np

def total(a):
    out = []
    for row in a:
        out.append(row.sum())
    return np.array(out)

def fine(a):
    for _ in range(3):
        a = a + 0
    return a.sum(axis=1)
"""


def test_grown_lines_and_loop_named(tmp_path):
    (tmp_path / "mod.py").write_text(LOOPY)
    grown = grown_lines({"mod.py:5": 4, "mod.py:6": 3, "mod.py:4": 1},
                        {"mod.py:5": 13, "mod.py:6": 12, "mod.py:4": 1})
    assert [(g.line, g.small, g.large) for g in grown] == [(5, 4, 13), (6, 3, 12)]
    lines = describe(grown, tmp_path, ("3 rows", "12 rows"))
    assert lines == ["mod.py line 5: `for row in a:` ran 4 times for 3 rows and 13 times for 12 rows"]


def test_expect_vectorized_in_a_worker(tmp_path):
    with _learner(tmp_path, "loopy", LOOPY) as learner:
        mod = learner.module("mod")
        small, large = (np.ones((3, 4)),), (np.ones((12, 4)),)
        expect_vectorized(mod.fine, small, large, function="fine", root=tmp_path / "loopy",
                          sizes=("3 rows", "12 rows"), extra_rows=9)
        with pytest.raises(CheckFailed) as failed:
            expect_vectorized(mod.total, small, large, function="total", root=tmp_path / "loopy",
                              sizes=("3 rows", "12 rows"), extra_rows=9)
    text = failed.value.feedback
    assert LOOP_FOUND.format(function="total", small="3 rows", large="12 rows") in text
    assert "mod.py line 5: `for row in a:` ran 4 times for 3 rows and 13 times for 12 rows" in text


def test_the_stability_benchmark_finds_every_speed_target():
    # `make bench` loads the suites by file; every suite, ex04's dataclasses included, must load.
    from bench.timing import speed_cases

    assert set(speed_cases()) == {"ex03_matmul.matmul", "ex06_vectorize.pairwise_sq_dists",
                                  "ex06_vectorize.softmax", "ex06_vectorize.normalize_channels",
                                  "ex06_vectorize.knn_predict"}
