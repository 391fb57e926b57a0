"""A batch's class-wide outputs, written whole from the result files at the end of every run
(and by ``grader merge``): ``gradebook.csv``, ``exports/canvas.csv`` and ``exports/grades.csv``,
every ``feedback/<name>.md`` (with the overrides and the late policy) and ``summary.html``.

The roster and the overrides are read from the flags, else from ``roster.csv`` and
``overrides.csv`` in the output folder, on every run; the late policy is ``course.toml``'s
``[late]``. ``keep_history`` moves a result about to be regraded to
``results/history/<name>/<graded_at>.json``; the class page shows what a regrade changed.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import Course, Late
from grader.engine.intake import CANVAS
from grader.files import make_dirs, write_json, write_text
from grader.instructor.class_files import learner_for, read_overrides, read_roster
from grader.report import gradebook
from grader.report.exports import DEFAULT_ASSIGNMENT, canvas_csv, generic_csv
from grader.report.final import Final, Learner, finalize, late_by
from grader.report.markdown import markdown
from grader.results import Submission
from grader.settings import Settings

ROSTER, OVERRIDES = "roster.csv", "overrides.csv"
HISTORY = "history"
FROM_ROSTER = "the roster's submitted_at"


@dataclass
class OutputOptions:
    roster: Path | None = None          # default: DIR/roster.csv where it exists
    overrides: Path | None = None       # default: DIR/overrides.csv where it exists
    assignment: str | None = None       # the LMS column: "Homework 2 (12345)"; default the course's name
    warnings: list[str] = field(default_factory=list)    # what the run should tell the instructor


def keep_history(result_path: Path) -> Path | None:
    """Move an earlier result out of the way of its regrade, into ``results/history/``."""
    result = gradebook.read_result(result_path)
    if result is None:
        return None
    stamp = str(result.environment.get("graded_at") or
                dt.datetime.fromtimestamp(result_path.stat().st_mtime, dt.timezone.utc).isoformat(timespec="seconds"))
    target = make_dirs(result_path.parent / HISTORY / result_path.stem) / f"{stamp.replace(':', '-')}.json"
    os.replace(result_path, target)
    return target


def previous_results(out: Path) -> dict[str, Submission]:
    """Each submission's latest result in ``results/history/``: what its regrade replaced."""
    found = {}
    for folder in sorted((out / "results" / HISTORY).glob("*/")):
        latest = max(folder.glob("*.json"), default=None, key=lambda p: p.name)
        result = gradebook.read_result(latest) if latest else None
        if result is not None:
            found[folder.name] = result
    return found


def class_files(out: Path, options: OutputOptions) -> tuple[dict[str, Learner], list]:
    """The roster and the overrides (``ClassFileError`` for a malformed one): a batch reads
    them before it grades, so a typo stops it at once."""
    roster_path = options.roster or (out / ROSTER if (out / ROSTER).exists() else None)
    overrides_path = options.overrides or (out / OVERRIDES if (out / OVERRIDES).exists() else None)
    return (read_roster(roster_path) if roster_path else {},
            read_overrides(overrides_path) if overrides_path else [])


def finals(out: Path, results: list[Submission], options: OutputOptions, course: Course) -> list[Final]:
    roster, overrides = class_files(out, options)
    names = {r.submission for r in results}
    for o in overrides:
        if o.submission not in names:
            options.warnings.append(f"overrides.csv line {o.line}: no submission {o.submission!r}")
    done = []
    for r in results:
        learner = learner_for(r.submission, roster) or _canvas_learner(r)
        final = finalize(r, learner=learner, overrides=overrides,
                         lateness=_lateness(r, learner, course.late))
        options.warnings += final.problems
        done.append(final)
    return done


def _canvas_learner(result: Submission) -> Learner | None:
    """A submission made of Canvas-named files carries its Canvas user id in those names."""
    first = str(result.environment.get("submission_file") or "").split(", ")[0]
    m = CANVAS.match(first)
    return Learner(submission=result.submission, canvas_id=m.group("user")) if m else None


def _lateness(result: Submission, learner: Learner | None, late: Late):
    if late.due is None:
        return None
    if learner is not None and learner.submitted_at is not None:
        when, source = learner.submitted_at, FROM_ROSTER
    else:
        text, source = result.environment.get("submitted_at"), result.environment.get("submitted_from") or ""
        try:
            when = dt.datetime.fromisoformat(text) if text else None
        except ValueError:
            when = None
    return late_by(when, source, due=late.due, per_day=late.late_penalty_per_day, cap=late.late_cap)


def write_outputs(out: Path, results: list[Submission], *, settings: Settings | None = None,
                  options: OutputOptions | None = None, course: Course | None = None) -> list[Final]:
    """The gradebook, the exports, the feedback and the class page, each written whole."""
    from grader.report import summary   # matplotlib loads only here

    options = options or OutputOptions()
    course = course or Course()
    done = finals(out, results, options, course)
    for f in done:
        target = out / "feedback" / f"{f.name}.md"
        text = markdown(f.result, f)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            write_text(target, text)
    gradebook.write(out / "gradebook.csv", done)
    assignment = options.assignment or course.name or DEFAULT_ASSIGNMENT
    canvas, missing = canvas_csv(done, assignment)
    write_text(out / "exports" / "canvas.csv", canvas)
    write_text(out / "exports" / "grades.csv", generic_csv(done, assignment))
    if missing:
        options.warnings.append(f"exports/canvas.csv leaves out {len(missing)} submission(s) with "
                                f"no Canvas ID, SIS User ID or SIS Login ID (add them to the roster): "
                                + ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else ""))
    summary.write(out / "summary.html", done, limits=(settings.limits if settings else None),
                  previous=previous_results(out))
    return done


def merge_outputs(dirs: list[Path], out: Path, *, options: OutputOptions | None = None,
                  course: Course | None = None) -> tuple[list[Submission], list[str]]:
    """Combine every shard's results into ``out`` and write the class outputs. A submission
    found in several folders keeps every exercise: those graded in different runs are joined,
    and for an exercise graded twice the later folder given wins. Returns the results and the
    names whose exercises clashed."""
    merged: dict[str, Submission] = {}
    clashes = []
    for folder in dirs:
        for path in sorted((folder / "results").glob("*.json")):
            result = gradebook.read_result(path)
            if result is None:
                continue
            if path.stem in merged and path.resolve() != (out / "results" / path.name).resolve():
                earlier = merged[path.stem]
                if {e.id for e in earlier.exercises} & {e.id for e in result.exercises}:
                    clashes.append(path.stem)
                result = _join(earlier, result)
            merged[path.stem] = result
    for name, result in merged.items():
        write_json(out / "results" / f"{name}.json", result.to_dict())
    results = list(merged.values())
    write_outputs(out, results, options=options, course=course)
    return results, sorted(set(clashes))


def _join(earlier: Submission, later: Submission) -> Submission:
    """One submission graded in two runs: every exercise, the later run's where both have one."""
    mine = {e.id: e for e in later.exercises}
    exercises = sorted([e for e in earlier.exercises if e.id not in mine] + later.exercises,
                       key=lambda e: e.id)
    env = {**earlier.environment, **later.environment,
           "merged_from": [earlier.environment.get("graded_at"), later.environment.get("graded_at")]}
    notes = list(dict.fromkeys(earlier.notes + later.notes))
    error = later.error if later.error is not None else earlier.error
    return Submission(later.submission, exercises, env, error, notes)
