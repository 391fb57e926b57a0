"""What the class page shows, worked out from the results: who needs help and why (flags), who
failed each check, each exercise's mean, the speed ratios per target, what a regrade changed.

Flags are read from the statuses and from the grader's own fixed wording (the markers below,
each the stable part of a message the grader writes; ``tests/unit/test_class_page.py`` holds
them to the messages' sources).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass

from grader.report.final import Final
from grader.results import CheckKind, CheckStatus, ExerciseStatus, Submission

MEMORY_MARK = "memory limit of"                       # isolation/client.py: a worker out of memory
REFUSED_MARK = "is not allowed in these exercises"    # the static policy and the worker's lock
PAST_LIMIT_MARK = "ran past the per-submission limit"  # instructor/batch.py PAST_LIMIT

# flag -> what it means, in the order the page lists them
FLAGS = {
    "error": "could not be graded, wholly or in part",
    "time limit": "ran past the per-submission time limit",
    "hang": "a call did not finish within its time limit (an endless loop?)",
    "memory": "ran out of memory",
    "refused": "code the exercises rule out was refused (integrity)",
    "not started": "no exercise started",
    "late": "handed in after the due date",
    "override": "points changed by hand (overrides.csv)",
}


def flags(final: Final, status: str) -> list[str]:
    r = final.result
    texts = [r.error or ""] + [e.error or "" for e in r.exercises] + \
        [c.feedback for e in r.exercises for c in e.checks if c.status is not CheckStatus.PASSED]
    found = set()
    if status == "error":
        found.add("error")
    if any(PAST_LIMIT_MARK in t for t in texts):
        found.add("time limit")
    if any(c.status is CheckStatus.TIMEOUT for e in r.exercises for c in e.checks):
        found.add("hang")
    if any(MEMORY_MARK in t for t in texts):
        found.add("memory")
    if any(REFUSED_MARK in t for t in texts):
        found.add("refused")
    if status == "not_started":
        found.add("not started")
    if final.lateness and final.lateness.days:
        found.add("late")
    if final.applied:
        found.add("override")
    return [f for f in FLAGS if f in found]


def failed_by_check(results: list[Submission]) -> dict[tuple[str, str], tuple[list[str], int]]:
    """(exercise, check) -> (the submissions that failed it, how many attempted it), most failed
    first; not-started checks, skipped ones and modules that did not load do not count."""
    failed: dict[tuple[str, str], list[str]] = defaultdict(list)
    attempted: dict[tuple[str, str], int] = defaultdict(int)
    for r in results:
        if r.error:
            continue
        for ex in r.exercises:
            if ex.status is ExerciseStatus.ERROR:
                continue
            for c in ex.checks:
                if c.not_started or c.status is CheckStatus.SKIPPED or c.informational:
                    continue
                attempted[(ex.id, c.id)] += 1
                if c.status in (CheckStatus.FAILED, CheckStatus.ERROR, CheckStatus.TIMEOUT):
                    failed[(ex.id, c.id)].append(r.submission)
    ranked = sorted(failed, key=lambda k: (-len(failed[k]), k))
    return {k: (sorted(failed[k]), attempted[k]) for k in ranked}


def exercise_means(finals: list[Final]) -> dict[str, tuple[float, float]]:
    """exercise -> (mean points over the submissions that have it, its maximum)."""
    scores: dict[str, list[float]] = defaultdict(list)
    most: dict[str, float] = {}
    for f in finals:
        for e in f.result.exercises:
            scores[e.id].append(f.exercise_scores.get(e.id, e.score))
            most[e.id] = max(most.get(e.id, 0.0), e.max_score)
    return {ex: (statistics.mean(v), most[ex]) for ex, v in sorted(scores.items())}


@dataclass
class Speed:
    target: str                  # "ex06_vectorize/softmax_speed [cpu]"
    target_ratio: float
    ratios: list[float]
    passed: int

    @property
    def median(self) -> float:
        return statistics.median(self.ratios)


def speed_figures(results: list[Submission]) -> list[Speed]:
    """The measured ratio of every learner's code, per speed check (and device)."""
    found: dict[str, Speed] = {}
    for r in results:
        for ex in r.exercises:
            for c in ex.checks:
                if c.kind is not CheckKind.TIMING or c.timing is None or not c.timing.ratio > 0:
                    continue
                key = f"{ex.id}/{c.id}" + (f" [{c.device}]" if c.device else "")
                s = found.setdefault(key, Speed(key, c.timing.target_ratio, [], 0))
                s.ratios.append(c.timing.ratio)
                s.passed += c.status is CheckStatus.PASSED
    return [found[k] for k in sorted(found)]


def changes(finals: list[Final], previous: dict[str, Submission]) -> list[tuple[str, float, float, str]]:
    """(submission, score before, score now, when it was graded before) for every regraded
    submission whose automatic score changed."""
    out = []
    for f in finals:
        before = previous.get(f.name)
        if before is not None and before.score != f.result.score:
            out.append((f.name, before.score, f.result.score, str(before.environment.get("graded_at") or "")))
    return out


def run_metadata(results: list[Submission]) -> dict[str, str]:
    """What the run was: when, with which seed, timing, device, grader and limits."""
    if not results:
        return {}
    envs = [r.environment for r in results]
    first = envs[0]

    def spread(key: str) -> str:
        values = sorted({str(e.get(key)) for e in envs if e.get(key) is not None})
        return ", ".join(values) if values else "?"

    graded = sorted(str(e["graded_at"]) for e in envs if e.get("graded_at"))
    when = f"{graded[0]} to {graded[-1]}" if len(set(graded)) > 1 else (graded[0] if graded else "?")
    timing = {e.get("timing") for e in envs}
    return {"graded": when, "seed": spread("seed"),
            "timing": "on" if timing == {True} else "off" if timing == {False} else "mixed",
            "device": spread("device"), "grader": spread("grader_version"),
            "fingerprint": ", ".join(sorted({str(e.get("grader_fingerprint"))[:12]
                                             for e in envs if e.get("grader_fingerprint")})) or "?",
            "python": spread("python"), "numpy": spread("numpy"), "torch": spread("torch"),
            "isolation": next((n for r in results for n in r.notes if n.startswith(("isolation:", "sandbox:"))), "?"),
            "submission limit": f"{first.get('limits', {}).get('submission_timeout_s', '?')} s"}
