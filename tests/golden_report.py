"""The golden report: a fixed submission's terminal report and Markdown feedback, kept whole.

``tests/golden_report/sample/`` is a learner's ex03 (a sum over the wrong axis, ``np.matmul``,
one function not started, one that raises) graded with ex01 (not started) and ``--no-timing``;
``report.txt``, ``feedback.md`` and ``result.json`` beside it are what the grader gives for it.
``tests/golden_report/readme/exercises/`` is the learner of the README's sample report. Both
are the report ``grader grade`` prints, which ends with what its exit status means.
What varies between machines (the isolation line, the grader's version) is normalised.

After an intended change of the feedback: ``.venv/bin/python tests/golden_report.py --write``,
and ``--readme`` prints the README's sample report to paste in.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from grader.engine.session import grade_submission
from grader.report.markdown import markdown
from grader.report.terminal import render
from grader.results import Submission
from grader.settings import Settings

FOLDER = Path(__file__).resolve().parent / "golden_report"
SAMPLE = FOLDER / "sample"
README_LEARNER = FOLDER / "readme" / "exercises"
EXERCISES = ("ex01_vectors", "ex03_matmul")
SETTINGS = Settings(timing=False)           # no GRADER_* variable or pyproject reaches it
_SANDBOX = re.compile(r"isolation: .*?(_  )?$", re.M)
_VERSION = re.compile(r"(seed \d+,? \(?grader ).*?(\)?\.?_)$", re.M)


# A speed check's measured figures (times, ratio, rounds and calls) vary from run to run.
_TIMES = re.compile(r"\d+(\.\d+)? (us|ms) per call|\d+\.\d+ s per call")   # not the limits' "10 s"
_RATIO = re.compile(r"ratio \d+\.\d+")
_ROUNDS = re.compile(r"the median of \d+ rounds of \d+ calls each")


def normalise(text: str) -> str:
    text = _SANDBOX.sub(r"isolation: <as on this machine>\1", text)
    text = _TIMES.sub("<time> per call", text)
    text = _RATIO.sub("ratio <measured>", text)
    text = _ROUNDS.sub("the median of <rounds>", text)
    return _VERSION.sub(r"\1<version>\2", text)


def normalise_result(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    doc["environment"] = {"seed": doc["environment"]["seed"], "grader_version": "<version>"}
    doc["notes"] = [normalise(note) for note in doc.get("notes", [])]
    return doc


def grade_sample() -> Submission:
    return grade_submission(submission=SAMPLE, exercises=EXERCISES, settings=SETTINGS)


def readme_sample() -> str:
    """The report the README shows: its learner's ex03, graded with timing, as printed."""
    result = grade_submission(submission=README_LEARNER, exercises=["ex03_matmul"],
                              settings=Settings(timing=True))
    return render(result, colour=False, exit_status=True)


def write() -> None:
    result = grade_sample()
    (FOLDER / "report.txt").write_text(normalise(render(result, colour=False, exit_status=True)))
    (FOLDER / "feedback.md").write_text(normalise(markdown(result)))
    (FOLDER / "result.json").write_text(json.dumps(normalise_result(result.to_dict()), indent=2) + "\n")


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    write()
if __name__ == "__main__" and sys.argv[1:] == ["--readme"]:   # to paste into the README
    sys.stdout.write(readme_sample())
