"""Golden submissions: each folder under tests/fixtures/ is a submission and its expected grading.

A case folder holds the learner's module(s) and ``expected.json``::

    {
      "about": "matvec sums over the wrong axis",
      "exercises": ["ex03_matmul"],                 # graded exercises (default: those present)
      "settings": {"timing": false},                # optional Settings overrides
      "exercise_status": {"ex03_matmul": "failed"},
      "checks": {                                   # "exercise/check_id": expectations
        "ex03_matmul/matvec_lesson_example": {"status": "failed", "feedback": ["wrong shape"]},
        "ex03_matmul/matmul_lesson_example": {"status": "passed"}
      },
      "other_checks": "passed"                      # optional: every check not listed has this status
    }

``feedback`` phrases must all appear in the check's feedback. Hostile cases may also give
``"max_score_fraction": 0.0`` to say the attacked exercise earns nothing, ``"total_score"``
for the whole submission's score, ``"report_includes"`` / ``"report_excludes"`` for phrases of
the rendered terminal report and Markdown feedback, and ``"also_unsandboxed": true`` to be
graded a second time without bubblewrap, with the same outcome (``tests/fixtures/attack_*``:
the submissions of ``../shared/attacks``, each with the outcome it must get).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from grader.engine.session import grade_submission
from grader.report.markdown import markdown
from grader.report.terminal import render
from grader.settings import Settings
from kit_files import FIXTURES

CASES = sorted(p for p in FIXTURES.glob("*/") if (p / "expected.json").exists())


def _settings(overrides: dict) -> Settings:
    limits = {k: overrides.pop(k) for k in list(overrides) if k in
              ("call_timeout_s", "import_timeout_s", "memory_mb", "output_kb", "cpu_s")}
    return Settings(**{"timing": False, **overrides}).with_limits(**limits)


RUNS = [(case, True) for case in CASES] + [
    (case, False) for case in CASES if json.loads((case / "expected.json").read_text()).get("also_unsandboxed")]


@pytest.mark.parametrize("case, sandbox", RUNS,
                         ids=[c.name + ("" if sb else "-unsandboxed") for c, sb in RUNS])
def test_golden(case: Path, sandbox: bool) -> None:
    spec = json.loads((case / "expected.json").read_text())
    submission = case / spec["submission"] if "submission" in spec else case
    settings = _settings(dict(spec.get("settings", {})))
    result = grade_submission(submission=submission, exercises=spec.get("exercises"),
                              settings=settings if sandbox else replace(settings, sandbox=False))
    got = {e.id: e for e in result.exercises}
    for ex_id, status in spec.get("exercise_status", {}).items():
        assert got[ex_id].status.value == status, (
            f"{ex_id}: expected {status}, got {got[ex_id].status.value}\n{_dump(got[ex_id])}")
    listed = set()
    for key, want in spec.get("checks", {}).items():
        ex_id, check_id = key.split("/")
        checks = {c.id: c for c in got[ex_id].checks}
        assert check_id in checks, f"{key}: no such check; checks are {sorted(checks)}"
        check = checks[check_id]
        listed.add(key)
        assert check.status.value == want["status"], (
            f"{key}: expected {want['status']}, got {check.status.value}: {check.feedback}")
        for phrase in want.get("feedback", []):
            assert phrase in check.feedback, f"{key}: {phrase!r} not in feedback:\n{check.feedback}"
    if "other_checks" in spec:
        for ex in result.exercises:
            for check in ex.checks:
                if f"{ex.id}/{check.id}" not in listed and check.status.value != "skipped":
                    assert check.status.value == spec["other_checks"], (
                        f"{ex.id}/{check.id}: expected {spec['other_checks']}, "
                        f"got {check.status.value}: {check.feedback}")
    for ex_id, fraction in spec.get("max_score_fraction", {}).items():
        assert got[ex_id].score <= fraction * got[ex_id].max_score + 1e-9, (
            f"{ex_id}: scored {got[ex_id].score} of {got[ex_id].max_score}\n{_dump(got[ex_id])}")
    if "total_score" in spec:
        assert result.score == spec["total_score"], "\n".join(
            f"{e.id}: {e.score}\n{_dump(e)}" for e in result.exercises if e.score)
    shown = render(result) + markdown(result)
    for phrase in spec.get("report_includes", []):
        assert phrase in shown, f"{phrase!r} not in the report"
    for phrase in spec.get("report_excludes", []):
        assert phrase not in shown, f"{phrase!r} is in the report"


def _dump(ex) -> str:
    return "\n".join(f"  {c.id}: {c.status.value} {c.feedback[:200]!r}" for c in ex.checks)
