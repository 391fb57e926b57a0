"""Gradescope's results.json specification as a validator, for the kit's tests
(gradescope-autograders.readthedocs.io, "Autograder Specifications" and "Leaderboards")."""

from __future__ import annotations

import json

VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}
TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format",
            "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output",
             "output_format", "tags", "visibility", "extra_data"}


def gradescope_problems(doc: dict) -> list[str]:
    """What in ``doc`` breaks Gradescope's results.json specification (empty when valid)."""
    bad = [f"unknown top-level key {k}" for k in set(doc) - TOP_KEYS]
    if "score" not in doc and not all("score" in t for t in doc.get("tests", [])):
        bad.append("no top-level score and a test without one")
    number = (int, float)
    for key in ("score", "execution_time"):
        if key in doc and (not isinstance(doc[key], number) or isinstance(doc[key], bool)):
            bad.append(f"{key} is not a number")
    for key in ("visibility", "stdout_visibility"):
        if key in doc and doc[key] not in VISIBILITY:
            bad.append(f"{key} = {doc[key]!r}")
    for key in ("output_format", "test_output_format", "test_name_format"):
        if key in doc and doc[key] not in FORMATS:
            bad.append(f"{key} = {doc[key]!r}")
    if not isinstance(doc.get("tests", []), list):
        bad.append("tests is not a list")
    for i, t in enumerate(doc.get("tests", [])):
        bad += [f"test {i}: unknown key {k}" for k in set(t) - TEST_KEYS]
        for key in ("score", "max_score"):
            if key in t and not isinstance(t[key], number):
                bad.append(f"test {i}: {key} is not a number")
        if "score" in t and "max_score" in t and not 0 <= t["score"] <= t["max_score"]:
            bad.append(f"test {i}: score {t['score']} outside 0..{t['max_score']}")
        if t.get("status", "passed") not in ("passed", "failed"):
            bad.append(f"test {i}: status {t['status']!r}")
        if t.get("visibility", "visible") not in VISIBILITY:
            bad.append(f"test {i}: visibility {t['visibility']!r}")
        for key in ("name", "output", "number"):
            if key in t and not isinstance(t[key], str):
                bad.append(f"test {i}: {key} is not a string")
        if "tags" in t and not all(isinstance(x, str) for x in t["tags"]):
            bad.append(f"test {i}: tags are not strings")
    board = doc.get("leaderboard", [])
    if not isinstance(board, list):
        bad.append("leaderboard is not a list")
    for i, entry in enumerate(board if isinstance(board, list) else []):
        if not isinstance(entry.get("name"), str) or "value" not in entry:
            bad.append(f"leaderboard {i}: needs a name and a value")
        if entry.get("order", "desc") not in ("asc", "desc"):
            bad.append(f"leaderboard {i}: order {entry['order']!r}")
    json.dumps(doc, allow_nan=False)          # NaN / Infinity are not JSON
    return bad
