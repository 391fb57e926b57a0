"""Batch throughput: submissions graded per minute, with and without the timing checks.

    .venv/bin/python bench/batch_throughput.py [--n 40] [--jobs 2] [EXERCISE ...]

Generates a class of ``--n`` submissions (the reference solutions of the chosen exercises,
default ex01 and ex03, every fifth one with a wrong ``dot``), grades it with
``grader batch --jobs N`` twice (``--no-timing``, then with timing) into scratch folders, and
prints the wall time and submissions per minute of each run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from classroom import WRONG_DOT  # noqa: E402
from grader import exercises as registry  # noqa: E402


def make_class(folder: Path, n: int, ids: list[str]) -> None:
    for i in range(n):
        sub = folder / f"student_{i:03d}"
        sub.mkdir(parents=True)
        for ex_id in ids:
            shutil.copy(ROOT / "solutions" / f"{ex_id}.py", sub / f"{ex_id}.py")
        if i % 5 == 4 and "ex01_vectors" in ids:
            (sub / "ex01_vectors.py").write_text(WRONG_DOT)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("exercises", nargs="*", default=["ex01", "ex03"])
    p.add_argument("--n", type=int, default=40)
    p.add_argument("--jobs", type=int, default=2)
    args = p.parse_args()
    ids = [e.id for e in registry.select(args.exercises)]
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        folder = Path(tmp) / "class"
        make_class(folder, args.n, ids)
        print(f"{args.n} submissions of {', '.join(ids)}; --jobs {args.jobs}; {os.cpu_count()} cores")
        for label, flags in (("without timing", ["--no-timing"]), ("with timing", [])):
            out = Path(tmp) / label.replace(" ", "-")
            start = time.monotonic()
            done = subprocess.run([sys.executable, "-m", "grader", "batch", str(folder), *ids,
                                   "--out", str(out), "--jobs", str(args.jobs), *flags],
                                  cwd=ROOT, capture_output=True, text=True)
            seconds = time.monotonic() - start
            if done.returncode != 0:
                print(done.stderr[-2000:])
                return 1
            print(f"  {label:15s} {seconds:6.1f} s  {60 * args.n / seconds:6.1f} submissions/min"
                  f"   ({done.stdout.splitlines()[0].split(':')[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
