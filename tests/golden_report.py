"""The golden report: a fixed submission's terminal report and Markdown feedback, kept whole.

``tests/golden_report/sample/`` is a learner's ex03 (a sum over the wrong axis, ``np.matmul``,
one function not started, one that raises) graded with ex01 (not started) and ``--no-timing``;
``report.txt``, ``feedback.md`` and ``result.json`` beside it are what the grader gives for it.
``tests/golden_report/readme/exercises/`` is the learner of the README's sample report.
What varies between machines (the isolation line, the grader's version) is normalised.

After an intended change of the feedback: ``.venv/bin/python tests/golden_report.py --write``.
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


def normalise(text: str) -> str:
    text = _SANDBOX.sub(r"isolation: <as on this machine>\1", text)
    return _VERSION.sub(r"\1<version>\2", text)


def normalise_result(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    doc["environment"] = {"seed": doc["environment"]["seed"], "grader_version": "<version>"}
    doc["notes"] = [normalise(note) for note in doc.get("notes", [])]
    return doc


def grade_sample() -> Submission:
    return grade_submission(submission=SAMPLE, exercises=EXERCISES, settings=SETTINGS)


def write() -> None:
    result = grade_sample()
    (FOLDER / "report.txt").write_text(normalise(render(result, colour=False)))
    (FOLDER / "feedback.md").write_text(normalise(markdown(result)))
    (FOLDER / "result.json").write_text(json.dumps(normalise_result(result.to_dict()), indent=2) + "\n")


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    write()
