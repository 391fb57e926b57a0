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
    assert normalise(render(stored(), colour=False, exit_status=True)) == (FOLDER / "report.txt").read_text()


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


# -- the assignment's maximum, checks not run, hidden checks -------------------------------------
def _exercise(**kw):
    from grader.results import Check, CheckKind, CheckStatus, Exercise

    checks = [Check("dot_lesson_example", CheckKind.CORRECTNESS, CheckStatus.PASSED, 1, 1),
              Check("dot_speed", CheckKind.TIMING, CheckStatus.SKIPPED, 2, 0,
                    feedback="skipped: timing disabled (--no-timing)", device="cpu"),
              Check("dot_speed[cuda]", CheckKind.TIMING, CheckStatus.SKIPPED, 0, 0,
                    feedback="skipped: no CUDA device on this machine", device="cuda",
                    informational=True)]
    return Exercise("ex01_vectors", "Vectors", checks=checks, **kw)


def test_checks_not_run_keep_their_points_in_the_maximum():
    from grader.report.terminal import NOT_RUN, NOT_RUN_INFORMATIONAL
    from grader.results import ExerciseStatus

    ex = _exercise()
    assert (ex.score, ex.max_score, ex.status) == (1, 3, ExerciseStatus.PASSED)
    text = render(Submission("s", [ex], {"seed": 0}))
    assert "- " + NOT_RUN.format(count=1, noun="check", points="2",
                                 reasons="timing disabled (--no-timing)") in text
    assert "- " + NOT_RUN_INFORMATIONAL.format(count=1, noun="check",
                                               reasons="no CUDA device on this machine") in text
    assert "1 / 3" in text


def test_a_failed_informational_check_neither_scores_nor_fails_the_exercise():
    from grader.results import CheckStatus, ExerciseStatus

    ex = _exercise()
    ex.checks[2].status, ex.checks[2].feedback = CheckStatus.FAILED, "too slow on cuda"
    assert ex.status is ExerciseStatus.PASSED and ex.max_score == 3
    assert "[failed, 0/0, informational]" in render(Submission("s", [ex], {}), verbose=True)


def test_the_student_report_states_the_hidden_checks_and_the_assignments_maximum():
    from grader.report.terminal import HIDDEN_REMAINING, TOTAL, TOTAL_HIDDEN
    from grader.results import Hidden

    ex = _exercise(hidden=Hidden(4, 5.0))
    result = Submission("s", [ex], {"seed": 0})
    assert ex.max_score == 8 and ex.max_score_here == 3 and result.max_score == 8
    text = render(result)
    remaining = HIDDEN_REMAINING.format(checks=4, noun="checks", points="5")
    assert remaining == "4 more checks, 5 points, run when your course grades this"
    assert "- " + remaining in text
    assert TOTAL.format(score="1", max="3", passed=1, count=1) in text
    assert TOTAL_HIDDEN.format(max="8", remaining=remaining) in text
    doc = result.to_dict()
    assert doc["max_score"] == 8 and doc["hidden_remaining"] == {"checks": 4, "points": 5.0}
    assert Submission.from_dict(doc).exercises[0].hidden == Hidden(4, 5.0)


# -- the last line: what the exit status means (issue 14, point 11) -----------------------------
def test_the_report_of_grader_grade_ends_by_saying_what_its_exit_status_means():
    from grader.report.terminal import EXIT_FAILED, EXIT_PASSED, render
    from grader.results import CheckStatus, Submission

    from grader.results import Check, CheckKind

    bad = _exercise()
    bad.checks.append(Check("dot_random", CheckKind.CORRECTNESS, CheckStatus.FAILED, 1, 0, "wrong"))
    failing = Submission("s", exercises=[bad])
    assert render(failing, exit_status=True).rstrip("\n").splitlines()[-1] == EXIT_FAILED
    assert "Error 1" in EXIT_FAILED and "exits with 2" in EXIT_FAILED
    passing = Submission("s", exercises=[_exercise()])
    assert render(passing, exit_status=True).rstrip("\n").splitlines()[-1] == EXIT_PASSED
    # Watch mode, the notebooks' check() and Gradescope have no exit status to explain.
    assert EXIT_FAILED not in render(failing) and EXIT_PASSED not in render(passing)
