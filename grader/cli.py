"""The command line: parse, resolve settings, delegate to ``commands`` (and friends)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from . import __version__, commands
from .exercises import UnknownExercise
from .settings import SettingsError, resolve


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
    return p


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)
    p.add_argument("--no-timing", dest="timing", action="store_const", const=False, default=None,
                   help="skip the speed targets")
    p.add_argument("--seed", type=int, default=None, help="seed of the randomized cases")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = resolve({"device": args.device, "timing": args.timing, "seed": args.seed})
        if args.command == "grade":
            if settings.device == "cuda":
                _require_cuda()
            return commands.grade(exercises=args.exercises, submission=args.submission,
                                  json_path=args.json_path, settings=settings, verbose=args.verbose)
    except (SettingsError, UnknownExercise, commands.UsageError) as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command}")
    return 2


def _require_cuda() -> None:
    import torch

    if not torch.cuda.is_available():
        raise commands.UsageError("--device cuda was asked for, but no CUDA device is available")
