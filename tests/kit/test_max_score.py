"""The maximum score is a property of the assignment, never of the machine or the flags: the
whole kit's maximum is the same with timing, with --no-timing, with --device cpu and where the
GPU variants run (simulated here: this machine has no GPU, so they run and fail), and it is
what the solutions score."""

from __future__ import annotations

import pytest

from grader.engine import session
from grader.engine.session import grade_submission
from grader.paths import SOLUTIONS_DIR
from grader.results import CheckStatus
from grader.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stub_results(pristine):
    stubs = pristine / "exercises"
    return {label: grade_submission(submission=stubs, settings=settings)
            for label, settings in (("timing", Settings(timing=True)),
                                    ("no-timing", Settings(timing=False)),
                                    ("device cpu", Settings(device="cpu")))}


def test_the_maximum_is_the_same_with_every_flag(stub_results):
    maxima = {label: r.max_score for label, r in stub_results.items()}
    assert len(set(maxima.values())) == 1, maxima
    per_exercise = {label: {e.id: e.max_score for e in r.exercises} for label, r in stub_results.items()}
    assert all(v == per_exercise["timing"] for v in per_exercise.values()), per_exercise


def test_checks_not_run_are_said_and_counted(stub_results):
    off = stub_results["no-timing"]
    timing = [c for e in off.exercises for c in e.checks if c.kind.value == "timing" and not c.informational]
    assert timing and all(c.status is CheckStatus.SKIPPED and c.points == 0 and c.max_points > 0
                          and "timing disabled" in c.feedback for c in timing)


def test_gpu_variants_are_informational_and_worth_nothing(stub_results):
    for result in stub_results.values():
        for ex in result.exercises:
            for c in ex.checks:
                assert c.informational == (c.device == "cuda"), (ex.id, c.id)
                if c.informational:
                    assert c.max_points == 0 and c.points == 0
                    assert c.status is CheckStatus.SKIPPED and c.feedback.startswith("skipped: ")


def test_the_maximum_is_the_same_where_the_gpu_variants_run(stub_results, monkeypatch):
    import torch

    monkeypatch.setattr(session, "_cuda_available", lambda selected, settings: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "a pretend GPU")
    result = grade_submission(submission=SOLUTIONS_DIR, exercises=["ex06"], settings=Settings(timing=False))
    cuda = [c for c in result.exercises[0].checks if c.device == "cuda"]
    ran = [c for c in cuda if c.kind.value != "timing"]          # timing is off in this run
    assert ran and all(c.status is not CheckStatus.SKIPPED for c in ran)   # they ran (and failed)
    assert all(c.informational and c.max_points == 0 and c.points == 0 for c in cuda)
    expected = next(e for e in stub_results["timing"].exercises if e.id == "ex06_vectorize")
    assert result.exercises[0].max_score == expected.max_score


def test_the_solutions_score_the_assignments_maximum(stub_results):
    solved = grade_submission(submission=SOLUTIONS_DIR, settings=Settings(timing=True))
    assert solved.score == solved.max_score == stub_results["timing"].max_score


def test_the_plan_gives_the_same_maximum_without_grading(stub_results, capsys):
    from grader.cli import main
    from grader.course import load
    from grader.engine.plan import plan

    the_plan = plan(load())
    assert the_plan.max_score() == stub_results["timing"].max_score
    for ex in stub_results["timing"].exercises:
        assert the_plan.max_score(ex.id) == ex.max_score
        assert sorted(c.id for c in the_plan.of(ex.id)) == sorted(c.id for c in ex.checks)
    assert main(["course"]) == 0
    out = capsys.readouterr().out
    assert f"{the_plan.max_score():g} points" in out and "matvec_random_matrices" in out
