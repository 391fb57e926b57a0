"""The GPU path, proven in one run (``make bench-gpu``; under 5 minutes on a CUDA machine).

1. ``grader grade --device cuda`` of the solutions, every exercise (timing off):
   every ``[cuda]`` check runs; the table counts them, and any that did not pass is named.
2. ``bench.timing --device cuda``: every CUDA speed target, solutions and ``bench/anti/``
   loops as the learner, ``--runs`` verdicts each (10), stopping new runs after ``--budget``
   seconds (180), so the whole script stays under 5 minutes.

Nothing is installed: it runs with the interpreter it is started with (``make bench-gpu
PY=python3``), which needs NumPy and a CUDA build of PyTorch (pytest for the grader). Without
a CUDA device it says so and exits 3, having run nothing. Results, with the device named, go
to ``bench-results/gpu-grade.json`` and ``bench-results/timing-gpu.json``.

    python -m bench.gpu [--runs 10] [--budget 180] [--device cuda]

``--device cpu`` runs the same two steps on the CPU (how the script itself is tested on a
machine without a GPU).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from grader import registry
from grader.paths import KIT_ROOT, SOLUTIONS_DIR

OUT = KIT_ROOT / "bench-results"
NO_CUDA = ("make bench-gpu: no CUDA device here ({why}); nothing was run. Run it on a machine "
           "with an NVIDIA GPU and a CUDA build of PyTorch.")


def cuda_problem() -> str | None:
    try:
        import torch
    except ImportError as exc:
        return f"PyTorch does not import: {exc}"
    if not torch.cuda.is_available():
        return f"torch {torch.__version__} sees no CUDA device"
    return None


def grade_checks(device: str) -> dict:
    """Grade the solutions of every exercise on ``device``; count the device's checks."""
    ids = [e.id for e in registry.EXERCISES]
    path = OUT / ("gpu-grade.json" if device == "cuda" else "gpu-grade-cpu.json")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "grader", "grade", *ids, "--device", device,
                           "--no-timing", "--submission", str(SOLUTIONS_DIR), "--json", str(path)],
                          cwd=KIT_ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if not path.exists():
        raise SystemExit(f"grader grade --device {device} wrote no result (exit {done.returncode}):\n"
                         + (done.stdout + done.stderr)[-3000:])
    doc = json.loads(path.read_text())
    rows = []
    for ex in doc["exercises"]:
        mine = [c for c in ex["checks"] if c["id"].endswith(f"[{device}]") and c["kind"] != "timing"]
        rows.append({"exercise": ex["id"], "score": ex["score"], "max_score": ex["max_score"],
                     "device_checks": len(mine),
                     "device_passed": sum(c["status"] == "passed" for c in mine),
                     "not_passed": [f"{c['id']}: {c['status']}: {c.get('feedback', '')[:200]}"
                                    for c in mine if c["status"] != "passed"]})
    return {"device": doc["environment"].get("device"), "seconds": round(seconds, 1),
            "exit_code": done.returncode, "rows": rows}


def print_grade(g: dict) -> None:
    print(f"\n1. The solutions graded on {g['device']} (timing off, {g['seconds']} s):\n")
    print(f"  {'exercise':22} {'score':>12} {'device checks passed':>22}")
    for row in g["rows"]:
        print(f"  {row['exercise']:22} {row['score']:5g} / {row['max_score']:<5g} "
              f"{row['device_passed']:>13} of {row['device_checks']}")
        for line in row["not_passed"]:
            print(f"      not passed: {line}")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=10, help="verdicts per CUDA speed target and learner (10)")
    p.add_argument("--budget", type=float, default=180.0,
                   help="seconds of timing after which no new run starts (180)")
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    args = p.parse_args(argv)
    if args.device == "cuda":
        why = cuda_problem()
        if why is not None:
            print(NO_CUDA.format(why=why), file=sys.stderr)
            return 3
    started = time.perf_counter()
    OUT.mkdir(exist_ok=True)
    g = grade_checks(args.device)
    print_grade(g)
    print("\n2. Speed targets on the device, solutions and bench/anti loops:", flush=True)
    from bench import timing

    suffix = "gpu" if args.device == "cuda" else "gpu-cpu"
    code = timing.run(runs=args.runs, busy=0, json_path=OUT / f"timing-{suffix}.json",
                      device=args.device, budget=args.budget)
    all_checks = all(not row["not_passed"] for row in g["rows"])
    print(f"\nbench-gpu: {time.perf_counter() - started:.0f} s; device checks "
          f"{'all passed' if all_checks else 'NOT all passed'}; timing verdicts "
          f"{'all as expected' if code == 0 else 'NOT all as expected'}")
    return 0 if all_checks and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
