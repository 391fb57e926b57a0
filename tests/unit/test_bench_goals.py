"""`make bench` judges its goals (bench/grading.py): the figures in, met or MISSED out."""

from __future__ import annotations

from bench import grading
from grader import registry


def _result(**kit_runs) -> dict:
    kit = {"import torch, numpy": [1.0, 1.0, 1.0], "first six, timing on": [4.0, 3.0, 3.0],
           "first six, no timing": [2.0, 1.9, 2.1], "all nine, timing on": [9.0, 8.0, 8.0],
           "all nine, no timing": [4.0, 4.0, 4.0], **kit_runs}
    return {"kit_raw": {name: {"runs": runs, "all_passed": True} for name, runs in kit.items()},
            "exercises_raw": {"ex01_vectors": {"warm": 1.2, "all_passed": True},
                              "ex04_simple_mnist": {"warm": 2.5, "all_passed": True},
                              "ex07_attention": {"warm": 9.0, "all_passed": True}},
            "batch": [{"submissions": 30, "jobs": 2, "timing": False, "exercises": list(grading.FIRST_SIX),
                       "seconds": 20.0, "per_minute": 90.0}],
            "timing": {"runs": 20, "busy": 2, "written": "now",
                       "solutions": {"as_expected": 200, "verdicts": 200},
                       "loops": {"as_expected": 199, "verdicts": 200}}}


def test_the_first_six_and_the_heavy_ones_are_exercises_of_the_kit():
    ids = [e.id for e in registry.EXERCISES]
    assert list(grading.FIRST_SIX) == ids[:6] and set(grading.HEAVY) <= set(grading.FIRST_SIX)


def test_each_goal_is_met_or_missed_by_its_figure():
    goals = {g.name: g for g in grading.goals(_result())}
    assert goals["first six exercises, timing on / import"].measured == 3.0
    assert goals["first six exercises, timing on / import"].met            # 3.0 <= 3
    assert goals["all nine exercises, timing on / import"].met is False    # 8.0 > 3
    assert goals["first six exercises, no timing / import"].met            # 2.0 <= 2
    assert goals["grader grade ex01_vectors"].met is False                 # 1.2 s > 1 s
    assert goals["grader grade ex04_simple_mnist"].met                     # 2.5 s <= 3 s
    assert goals["grader grade ex07_attention"].met is None                # for the record
    assert goals["batch of 30, 6 exercises, 2 jobs, no timing"].met        # 90 >= 60 a minute
    assert goals["timing: solutions pass (20 runs, 2 busy)"].met
    assert goals["timing: loops fail (20 runs, 2 busy)"].met is False      # 199 of 200


def test_without_the_timing_results_that_goal_is_not_measured():
    r = _result()
    r["timing"] = None
    missing = [g for g in grading.goals(r) if g.name == "timing verdicts as expected"]
    assert missing and missing[0].met is None and "make bench" in missing[0].detail
