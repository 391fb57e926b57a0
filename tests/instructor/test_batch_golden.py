"""Golden batches: each folder under tests/batch_fixtures/ is a class of submissions and what the
batch must make of it.

A case holds ``submissions/`` and ``expected.json``::

    {"exercises": ["ex01_vectors"],                   # what the batch grades (--no-timing)
     "links": {"sub/x.py": "KIT/solutions/x.py"},     # made at test time (KIT: the kit's root)
     "rows": {"name": {"status": "ok", "ex01_vectors": "full" | "zero" | "partial",
                       "reason": "a phrase of the gradebook's reason",
                       "feedback": ["phrases of feedback/<name>.md"]}},
     "hostile": ["text that must never appear outside a fence, in a cell or in the page"]}

Every row of the gradebook is listed, and a zero always comes with a reason or a "not started".
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kit_files import ROOT

CASES = sorted(p for p in (ROOT / "tests" / "batch_fixtures").glob("*/") if (p / "expected.json").exists())
FORMULA = ("=", "+", "-", "@", "\t", "\r")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=CASES, ids=[c.name for c in CASES])
def batch(request, tmp_path_factory):
    case = request.param
    spec = json.loads((case / "expected.json").read_text())
    tmp = tmp_path_factory.mktemp(case.name)
    subs = tmp / "submissions"
    shutil.copytree(case / "submissions", subs, symlinks=True)
    for link, target in spec.get("links", {}).items():
        (subs / link).symlink_to(target.replace("KIT", str(ROOT)))
    out = tmp / "out"
    done = subprocess.run([sys.executable, "-m", "grader", "batch", str(subs), *spec["exercises"],
                           "--out", str(out), "--no-timing", "--jobs", "2"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return spec, out


def _gradebook(out: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO((out / "gradebook.csv").read_text())))


def _unquoted(name: str) -> str:
    """A name as the gradebook writes it: a formula-like one behind an apostrophe."""
    return "'" + name if name.startswith(FORMULA) else name


def test_every_submission_gets_its_row_and_every_zero_a_reason(batch):
    spec, out = batch
    rows = _gradebook(out)
    body = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert set(body) == {_unquoted(n) for n in spec["rows"]}
    for name, want in spec["rows"].items():
        row = body[_unquoted(name)]
        got = f"{name}: {row}"
        assert row["status"] == want["status"], got
        for ex in spec["exercises"]:
            if ex in want:
                score, most = float(row[ex]), float(row[f"max_{ex}"])
                assert {"full": score == most, "zero": score == 0,
                        "partial": 0 < score < most}[want[ex]], got
        assert want.get("reason", "") in row["reason"], got
        feedback = (out / "feedback" / f"{name}.md").read_text()
        for phrase in want.get("feedback", []):
            assert phrase in feedback, f"{name}: {phrase!r} not in\n{feedback}"
        if float(row["score"]) == 0:
            assert row["reason"] or "not started" in feedback, got


def _outside_fences(markdown: str) -> str:
    """The Markdown a reader sees as text: every fenced block (a fence closes only with as
    many backticks or more) taken out."""
    kept, fence = [], None
    for line in markdown.splitlines():
        ticks = len(line) - len(line.lstrip("`"))
        if fence is None and ticks >= 3:
            fence = ticks
        elif fence is not None and ticks >= fence and not line.strip("`").strip():
            fence = None
        elif fence is None:
            kept.append(line)
    return "\n".join(kept)


def test_learner_text_never_leaves_its_fence_or_becomes_a_formula(batch):
    spec, out = batch
    hostile = spec.get("hostile", [])
    for path in (out / "feedback").glob("*.md"):
        text = _outside_fences(path.read_text())
        # the heading holds the name as inline code, which Markdown shows as it is
        text = "\n".join(line for line in text.splitlines() if not line.startswith("# Feedback for `"))
        for bad in hostile:
            assert bad not in text, f"{path.name}: {bad!r} outside a fence"
    for table in [out / "gradebook.csv", *(out / "exports").glob("*.csv")]:
        for row in list(csv.reader(io.StringIO(table.read_text())))[1:]:
            assert not any(cell.startswith(FORMULA) for cell in row[:1] + row[5:6]), f"{table.name}: {row}"
            assert not any(cell.startswith(("=", "@", "+")) for cell in row), f"{table.name}: {row}"
    page = (out / "summary.html").read_text()
    for bad in hostile:
        if bad.startswith("<"):
            assert bad not in page, bad
    assert page.count("<script") == 1
