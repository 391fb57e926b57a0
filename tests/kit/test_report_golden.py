"""The rendered report, whole: a fixed submission graded now gives the golden terminal report,
Markdown feedback and result document (tests/golden_report.py), and the README's sample
report is what the grader prints today for the learner it describes."""

from __future__ import annotations

import json

import pytest

from golden_report import FOLDER, grade_sample, normalise, normalise_result, readme_sample
from grader.report.markdown import markdown
from grader.report.terminal import render
from kit_files import ROOT


@pytest.fixture(scope="module")
def graded():
    return grade_sample()


def test_the_terminal_report_is_the_golden_one(graded):
    assert normalise(render(graded, colour=False, exit_status=True)) == (FOLDER / "report.txt").read_text()


def test_the_markdown_feedback_is_the_golden_one(graded):
    assert normalise(markdown(graded)) == (FOLDER / "feedback.md").read_text()


def test_the_result_document_is_the_golden_one(graded):
    assert normalise_result(graded.to_dict()) == json.loads((FOLDER / "result.json").read_text())


@pytest.mark.slow
def test_the_readme_sample_report_is_real_output():
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```\nGrading exercises (seed 0)") + len("```\n")
    sample = readme[start:readme.index("```", start)]
    assert normalise(readme_sample()) == normalise(sample)
