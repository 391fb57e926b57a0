"""The timing engine's rules and the vectorization check's reading, without any worker:
when the rounds decide, what the feedback says, which lines grew, what the benchmark finds.
The engine measuring in real workers is tested in tests/worker/test_timing.py."""

from __future__ import annotations

import pytest

from grader.checks.vectorized import describe, grown_lines
from grader.engine.timing import SpeedCase, Verdict, decided
from learner_sources import LOOPY

CASE = SpeedCase("mod", "scale", lambda rng: (rng.standard_normal(2000),), lambda args: args[0] * 2.0,
                 target=3.0, inputs="a (2000,)")


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


def test_grown_lines_and_loop_named(tmp_path):
    (tmp_path / "mod.py").write_text(LOOPY)
    grown = grown_lines({"mod.py:5": 4, "mod.py:6": 3, "mod.py:4": 1},
                        {"mod.py:5": 13, "mod.py:6": 12, "mod.py:4": 1})
    assert [(g.line, g.small, g.large) for g in grown] == [(5, 4, 13), (6, 3, 12)]
    lines = describe(grown, tmp_path, ("3 rows", "12 rows"))
    assert lines == ["mod.py line 5: `for row in a:` ran 4 times for 3 rows and 13 times for 12 rows"]


def test_the_stability_benchmark_finds_every_speed_target():
    # `make bench` loads the suites by file; every suite, ex04's dataclasses included, must load.
    from bench.timing import speed_cases

    assert set(speed_cases()) == {"ex03_matmul.matmul", "ex06_vectorize.pairwise_sq_dists",
                                  "ex06_vectorize.softmax", "ex06_vectorize.normalize_channels",
                                  "ex06_vectorize.knn_predict", "ex07_attention.multi_head_attention",
                                  "ex07_attention.scaled_dot_product_attention",
                                  "ex09_backprop.cross_entropy_backward", "ex09_backprop.linear_backward",
                                  "ex09_backprop.train_step"}
