"""The command line: parse the arguments, resolve the settings, call the command's keyword-only
function in ``commands.py``. Nothing else happens here."""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path
from typing import Sequence

from grader import __version__
from grader.cli import commands
from grader.course import CourseError
from grader.registry import UnknownExercise
from grader.report.gradescope_format import VISIBILITIES
from grader.settings import PARSERS, SettingsError, resolve


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="grader", description="Grade the linear-algebra kit's exercises.")
    p.add_argument("--version", action="version", version=f"grader {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("grade", help="grade one submission (default: exercises/)")
    g.add_argument("exercises", nargs="*", metavar="EXERCISE", help="e.g. ex03_matmul, ex03 or 3")
    g.add_argument("--submission", type=Path, help="a folder, .zip or .ipynb (default: exercises/)")
    g.add_argument("--json", dest="json_path", type=Path, metavar="FILE", help="write the result document")
    _common(g)
    g.add_argument("-v", "--verbose", action="store_true", help="list passed checks too")

    b = sub.add_parser("batch", help="grade a class: every folder, .zip or .ipynb under SUBMISSIONS")
    b.add_argument("submissions", type=Path, metavar="SUBMISSIONS")
    b.add_argument("exercises", nargs="*", metavar="EXERCISE", help="grade only these (default: all)")
    b.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="writes DIR/gradebook.csv, DIR/results/, DIR/feedback/, DIR/summary.html")
    b.add_argument("--jobs", type=int, default=None, metavar="N", help="parallel submissions (default: cores)")
    b.add_argument("--force", action="store_true", help="regrade submissions already graded")
    b.add_argument("--shard", metavar="K/N", help="grade only shard K of N (combine with `grader merge`)")
    b.add_argument("--only", action="append", default=None, metavar="NAME",
                   help="regrade only this submission (repeat for more); the others' results stay")
    _class_files(b)
    b.add_argument("--call-timeout", dest="call_timeout_s", type=float, default=None, metavar="S",
                   help="seconds per call into learner code")
    b.add_argument("--submission-timeout", dest="submission_timeout_s", type=float, default=None,
                   metavar="S", help="seconds per whole submission")
    _common(b)

    m = sub.add_parser("merge", help="combine the outputs of batch shards into one gradebook")
    m.add_argument("dirs", nargs="+", type=Path, metavar="OUT_DIR")
    m.add_argument("--out", type=Path, required=True, metavar="DIR")
    _class_files(m)
    m.add_argument("--course", default=None, metavar="FILE",
                   help="the assignment file, for its late policy (default: course.toml)")

    w = sub.add_parser("watch", help="re-grade an exercise every time you save it (Ctrl-C stops)")
    w.add_argument("exercise", nargs="?", metavar="EXERCISE",
                   help="watch only this one (default: whichever file you save)")
    _common(w)

    h = sub.add_parser("hint", help="the next hint for the first check you have not passed yet")
    h.add_argument("exercise", metavar="EXERCISE")
    h.add_argument("--submission", type=Path, help="a folder, .zip or .ipynb (default: exercises/)")
    _common(h)

    pr = sub.add_parser("show-predictions", help="train your ex04 SimpleMnist (1 epoch) and draw "
                        "its predictions on held-out digits into a PNG")
    pr.add_argument("--submission", type=Path, help="a folder, .zip or .ipynb (default: exercises/)")
    pr.add_argument("--out", type=Path, metavar="FILE", help="default: build/ex04_predictions.png")
    pr.add_argument("--n", type=int, default=32, metavar="N", help="digits to draw (default 32)")
    _common(pr)

    sv = sub.add_parser("svd-digits", help="run your ex08 pca on the training digits and draw "
                        "digits rebuilt from 1, 5, 20 and 50 components into a PNG")
    sv.add_argument("--submission", type=Path, help="a folder, .zip or .ipynb (default: exercises/)")
    sv.add_argument("--out", type=Path, metavar="FILE", help="default: build/ex08_svd_digits.png")
    _common(sv)

    s = sub.add_parser("gradescope", help="grade a Gradescope upload into results.json")
    s.add_argument("exercises", nargs="*", metavar="EXERCISE")
    s.add_argument("--submission", type=Path, default=None, help="default: /autograder/submission")
    s.add_argument("--results", type=Path, default=None, help="default: /autograder/results/results.json")
    s.add_argument("--visibility", choices=VISIBILITIES, default=None,
                   help="of the public checks' tests (default: course.toml [gradescope], visible)")
    s.add_argument("--hidden-visibility", choices=VISIBILITIES, default=None,
                   help="of the hidden checks' tests (default: course.toml, after_due_date)")
    s.add_argument("--build-zip", type=Path, metavar="ZIP",
                   help="instead: build autograder.zip for the assignment (or the EXERCISEs given)")
    _common(s)

    r = sub.add_parser("release", help="write the course's release: a student kit without the "
                       "answers or hidden checks, autograder.zip and the solutions (course.toml)")
    r.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="writes DIR/student/, DIR/autograder.zip, DIR/solutions/")
    r.add_argument("--course", default=None, metavar="FILE", help="the assignment file")

    c = sub.add_parser("course", help="show the assignment: every check, its points and visibility")
    c.add_argument("--course", default=None, metavar="FILE", help="the assignment file")
    return p


def _class_files(p: argparse.ArgumentParser) -> None:
    p.add_argument("--roster", type=Path, default=None, metavar="FILE",
                   help="CSV: submission,student_id,name,email[,submitted_at] (default: DIR/roster.csv)")
    p.add_argument("--overrides", type=Path, default=None, metavar="FILE",
                   help="CSV: submission,target,points,reason (default: DIR/overrides.csv)")
    p.add_argument("--lms-assignment", dest="assignment", default=None, metavar="NAME",
                   help='the exports\' assignment column, e.g. "Homework 2 (12345)" (default: the course\'s name)')


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)
    p.add_argument("--no-timing", dest="timing", action="store_const", const=False, default=None,
                   help="skip the speed targets")
    p.add_argument("--seed", type=int, default=None, help="seed of the randomized cases")
    p.add_argument("--course", default=None, metavar="FILE",
                   help="the assignment file (default: course.toml at the kit's root)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    options = {k: v for k, v in vars(args).items() if k not in PARSERS and k != "command"}
    run = COMMANDS[args.command]
    try:
        settings = resolve({k: v for k, v in vars(args).items() if k in PARSERS})
        if "settings" in inspect.signature(run).parameters:
            options["settings"] = settings
        return run(**options)
    except (SettingsError, CourseError, UnknownExercise, commands.UsageError) as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 130


COMMANDS = {"grade": commands.grade, "batch": commands.batch, "merge": commands.merge,
            "watch": commands.watch, "hint": commands.hint,
            "show-predictions": commands.show_predictions, "svd-digits": commands.svd_digits,
            "gradescope": commands.gradescope, "release": commands.release, "course": commands.course}
