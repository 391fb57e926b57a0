"""The report's views rendered from a stored result document (no grading): the golden
terminal report and Markdown feedback (tests/golden_report.py), and colour on terminals only."""

from __future__ import annotations

import io
import json

from golden_report import FOLDER, normalise
from grader.report.markdown import markdown
from grader.report.terminal import print_report, render
from grader.results import Submission


def stored() -> Submission:
    return Submission.from_dict(json.loads((FOLDER / "result.json").read_text()))


def test_the_stored_result_renders_the_golden_report():
    assert normalise(render(stored(), colour=False)) == (FOLDER / "report.txt").read_text()


def test_the_stored_result_renders_the_golden_feedback():
    assert normalise(markdown(stored())) == (FOLDER / "feedback.md").read_text()


def test_colour_only_on_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    plain, tty = io.StringIO(), Terminal()
    print_report(stored(), stream=plain)
    print_report(stored(), stream=tty)
    assert "\033[" not in plain.getvalue() and "\033[31mfailed" in tty.getvalue()
    assert tty.getvalue().replace("\033[31m", "").replace("\033[33m", "").replace("\033[0m", "") \
        == plain.getvalue()
