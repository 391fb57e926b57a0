"""Grading speed benchmark (part of ``make bench``; not a unit test).

What a learner waits for and what a class costs, measured on this machine:

- ``grader grade --submission solutions``: the whole kit and each exercise, as a fresh
  process (``first``: the first run of the benchmark; ``warm``: the median of the next runs)
  and, for the whole kit, repeated in one process (what ``grader watch`` pays per save);
- where one whole-kit grade spends its time (a fresh child process instrumented here: its
  imports, pytest, worker starts, the learners' imports, the timing engine's share);
- the cost of starting a worker, plain and sandboxed, bare and with NumPy / PyTorch loaded,
  and of the bubblewrap probe;
- ``grader batch`` throughput in submissions per minute with 1 job and with one per core;
- optionally the otter-grader comparison (``bench/compare_otter.py``, needs /tmp/otter-venv).

It prints a table and writes everything, with the machine described (cores, CPU model,
versions, sandbox, load average at the start), to ``bench-results/grading.json``.

    python -m bench.grading [--repeats 3] [--batch-n 20] [--quick] [--no-otter]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from grader import registry
from grader.paths import KIT_ROOT, SOLUTIONS_DIR as SOLUTIONS
from grader.settings import Settings

DEFAULT_JSON = KIT_ROOT / "bench-results" / "grading.json"
GOALS = {"grade_all_s": 5.0, "grade_one_s": 2.0, "batch_per_min": 60.0}


# -- the machine ------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    from grader.isolation.launch import probe_sandbox

    def ver(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    bwrap, why = probe_sandbox()
    return {"cores": os.cpu_count(), "cpu_model": model, "platform": platform.platform(),
            "python": platform.python_version(), "numpy": ver("numpy"), "torch": ver("torch"),
            "pytest": ver("pytest"), "sandbox": "bubblewrap" if bwrap else f"off ({why})",
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


# -- grader grade, as a learner runs it -------------------------------------------------------
def _grade_once(exercises: Sequence[str], *, timing: bool = True) -> tuple[float, bool]:
    args = ["grade", *exercises, "--submission", str(SOLUTIONS)] + ([] if timing else ["--no-timing"])
    shown = " ".join(["grader", *args])
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "grader", *args], cwd=KIT_ROOT, capture_output=True,
                          text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):     # 1: graded, but a check of the solutions failed
        raise RuntimeError(f"{shown} failed (exit {done.returncode}):\n"
                           + (done.stdout + done.stderr)[-2000:])
    if done.returncode == 1:
        print(f"    note: a check of the solutions failed in `{shown}`", file=sys.stderr)
    return seconds, done.returncode == 0


def grade_times(exercises: Sequence[str], repeats: int, *, timing: bool = True) -> dict[str, Any]:
    done = [_grade_once(exercises, timing=timing) for _ in range(1 + repeats)]
    runs = [seconds for seconds, _ in done]
    return {"first_s": round(runs[0], 3),
            "warm_s": round(statistics.median(runs[1:]), 3) if repeats else None,
            "runs_s": [round(r, 3) for r in runs], "all_passed": all(ok for _, ok in done)}


def in_process_repeat(repeats: int) -> dict[str, Any]:
    """The whole kit graded ``1 + repeats`` times in one process (``grader watch``)."""
    code = ("import json, sys, time\n"
            "t0 = time.perf_counter()\n"
            "from grader.engine.session import grade_submission\n"
            "from grader.settings import Settings\n"
            "runs = []\n"
            f"for _ in range({1 + repeats}):\n"
            "    s = time.perf_counter()\n"
            f"    r = grade_submission(submission=__import__('pathlib').Path({str(SOLUTIONS)!r}))\n"
            "    runs.append(time.perf_counter() - s)\n"
            "print(json.dumps(runs))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=KIT_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError("in-process grading failed:\n" + done.stderr[-2000:])
    runs = json.loads(done.stdout.strip().splitlines()[-1])
    return {"first_s": round(runs[0], 3), "repeat_s": round(statistics.median(runs[1:]), 3),
            "runs_s": [round(r, 3) for r in runs]}


# -- where the time goes ----------------------------------------------------------------------
def phases() -> dict[str, Any]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bench.phases", str(SOLUTIONS)], cwd=KIT_ROOT,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError("phase breakdown failed:\n" + done.stderr[-2000:])
    data = json.loads(done.stdout.strip().splitlines()[-1])
    data["seconds"] = {k: round(v, 3) for k, v in data["seconds"].items()}
    data["wall_s"] = round(wall, 3)
    data["interpreter_start_s"] = round(wall - data["seconds"]["process_total_s"], 3)
    data["timing_share"] = round(data["seconds"].get("timing_engine_s", 0.0) / wall, 3)
    return data


# -- starting a worker ------------------------------------------------------------------------
def worker_starts(repeats: int) -> dict[str, Any]:
    from grader.isolation.client import Learner
    from grader.isolation.launch import probe_sandbox

    out: dict[str, Any] = {}
    start = time.perf_counter()
    probe_sandbox.__wrapped__()          # a fresh probe, past this process's cached one
    out["bwrap_probe_s"] = round(time.perf_counter() - start, 3)
    sandboxes = [False] + ([True] if probe_sandbox().bwrap else [])
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
        folder = Path(tmp) / "sub"
        folder.mkdir()
        (folder / "m.py").write_text("X = 1\n")
        for sb in sandboxes:
            for preload in ((), ("numpy",), ("numpy", "torch")):
                times = []
                for _ in range(repeats):
                    with Learner(folder, modules=["m"], settings=Settings(sandbox=sb),
                                 scratch=Path(tmp) / "scratch") as learner:
                        t = time.perf_counter()
                        learner.start(preload=preload)
                        learner.load("m")       # waits for "ready", then one round trip
                        times.append(time.perf_counter() - t)
                key = f"{'sandboxed' if sb else 'plain'}+{'+'.join(preload) or 'bare'}"
                out[key] = round(statistics.median(times), 3)
    return out


# -- grader batch -----------------------------------------------------------------------------
def make_class(folder: Path, n: int, ids: Sequence[str]) -> None:
    """``n`` submissions: the reference solutions, every fifth with a wrong ``dot``."""
    wrong_dot = (SOLUTIONS / "ex01_vectors.py").read_text().replace(
        "    return float((a * b).sum())\n", "    return float((a * b).sum()) + 1.0\n")
    for i in range(n):
        sub = folder / f"student_{i:03d}"
        sub.mkdir(parents=True)
        for ex_id in ids:
            shutil.copy(SOLUTIONS / f"{ex_id}.py", sub / f"{ex_id}.py")
        if i % 5 == 4 and "ex01_vectors" in ids:
            (sub / "ex01_vectors.py").write_text(wrong_dot)


def batch_rate(n: int, jobs: int, ids: Sequence[str], *, timing: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        folder = Path(tmp) / "class"
        make_class(folder, n, ids)
        cmd = [sys.executable, "-m", "grader", "batch", str(folder), *ids, "--out",
               str(Path(tmp) / "out"), "--jobs", str(jobs)] + ([] if timing else ["--no-timing"])
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=KIT_ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError("grader batch failed:\n" + (done.stdout + done.stderr)[-2000:])
        graded = len(list((Path(tmp) / "out" / "results").glob("*.json")))
        if graded != n:
            raise RuntimeError(f"grader batch wrote {graded} results for {n} submissions")
    return {"submissions": n, "jobs": jobs, "timing": timing, "exercises": list(ids),
            "seconds": round(seconds, 2), "per_minute": round(60 * n / seconds, 1)}


# -- otter ------------------------------------------------------------------------------------
def otter(n: int) -> dict[str, Any]:
    script = KIT_ROOT / "bench" / "compare_otter.py"
    if not script.exists():
        return {"skipped": "bench/compare_otter.py is missing"}
    done = subprocess.run([sys.executable, str(script), "--n", str(n), "--json", "-"],
                          cwd=KIT_ROOT, capture_output=True, text=True)
    if done.returncode == 3:       # compare_otter's "otter is not installed"
        return {"skipped": done.stdout.strip() or done.stderr.strip()}
    if done.returncode != 0:
        return {"error": (done.stdout + done.stderr)[-1500:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the table --------------------------------------------------------------------------------
def _goal(value: float | None, goal: float, below: bool = True) -> str:
    if value is None:
        return ""
    ok = value < goal if below else value >= goal
    return f"{'meets' if ok else 'MISSES'} goal {'<' if below else '>='} {goal:g}"


def print_table(r: dict[str, Any]) -> None:
    m = r["machine"]
    print(f"\nGrading speed on {m['cores']} cores ({m['cpu_model']}), Python {m['python']}, "
          f"NumPy {m['numpy']}, PyTorch {m['torch']}, sandbox {m['sandbox']}")
    print(f"load average at start {m['load_average_at_start']}, at the end {r['load_average_at_end']}\n")
    print(f"{'grader grade --submission solutions':44} {'first':>8} {'warm':>8}")
    print("-" * 86)
    for label, row in r["grade"].items():
        goal = GOALS["grade_all_s"] if label.startswith("all") else GOALS["grade_one_s"]
        note = _goal(row["warm_s"], goal) if "no timing" not in label else ""
        warm = f"{row['warm_s']:7.2f}s" if row["warm_s"] is not None else "       -"
        if not row.get("all_passed", True):
            note += " (a check of the solutions failed in a run)"
        print(f"  {label:42} {row['first_s']:7.2f}s {warm}   {note}")
    if "in_process" in r:
        ip = r["in_process"]
        print(f"  {'all, repeated in one process (watch)':42} {ip['first_s']:7.2f}s {ip['repeat_s']:7.2f}s")
    if "phases" in r:
        ph = r["phases"]
        s = ph["seconds"]
        print(f"\nOne whole-kit grade, where the time goes ({ph['wall_s']:.2f} s wall; parts overlap "
              "where workers get ready in the background):")
        rows = [("interpreter start", ph["interpreter_start_s"]),
                ("grader, pytest, numpy imports", s.get("grader_imports_s")),
                ("pytest start-up and collection (suites import torch)", s.get("pytest_start_and_collect_s")),
                ("bubblewrap probe", s.get("bwrap_probe_s")),
                ("worker spawns (fork/exec of bwrap)", s.get("worker_spawn_s")),
                ("waiting for a worker to be ready", s.get("worker_wait_ready_s")),
                ("learner/reference module imports (blocking)", s.get("learner_module_imports_s")),
                ("timing engine (measure)", s.get("timing_engine_s"))]
        for label, value in rows:
            if value is not None:
                print(f"  {label:52} {value:7.3f} s")
        print(f"  {'timing engine share of the wall time':52} {100 * ph['timing_share']:6.1f} %")
        print(f"  calls: {ph['counts']}")
    if "workers" in r:
        print("\nStarting a worker (until its first answer), median:")
        for key, value in r["workers"].items():
            print(f"  {key:52} {value:7.3f} s")
    if r.get("batch"):
        print("\ngrader batch (reference solutions, every fifth with a wrong dot):")
        for row in r["batch"]:
            what = "all exercises" if len(row["exercises"]) == len(r["all_ids"]) else ",".join(row["exercises"])
            goal = "" if row["timing"] else _goal(row["per_minute"], GOALS["batch_per_min"], below=False)
            print(f"  {row['submissions']} x {what:34} jobs {row['jobs']}  timing {'on ' if row['timing'] else 'off'}"
                  f" {row['seconds']:7.1f} s {row['per_minute']:7.1f} /min  {goal}")
    if "otter" in r:
        o = r["otter"]
        print("\notter-grader, same exercise (ex01_vectors), same submissions:")
        if "skipped" in o or "error" in o:
            print(f"  skipped: {o.get('skipped') or o.get('error')}")
        else:
            print(f"  {o['n']} submissions: otter grade {o['otter_s']:.1f} s, grader batch "
                  f"{o['grader_s']:.1f} s (jobs {o['grader_jobs']}): otter/grader = {o['ratio']:.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.grading", description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=3, help="warm runs after the first (3)")
    p.add_argument("--batch-n", type=int, default=20, help="submissions per batch run (20)")
    p.add_argument("--otter-n", type=int, default=20, help="submissions for the otter comparison (20)")
    p.add_argument("--quick", action="store_true", help="1 warm run, 10 submissions, no per-exercise rows")
    p.add_argument("--no-otter", action="store_true")
    p.add_argument("--json", dest="json_path", type=Path, default=DEFAULT_JSON)
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.batch_n = 1, 10
    all_ids = [e.id for e in registry.select(None)]
    numpy_ids = [e.id for e in registry.select(None) if not e.uses_torch]
    cores = os.cpu_count() or 1
    started = time.time()
    r: dict[str, Any] = {"machine": machine(), "all_ids": all_ids, "goals": GOALS}
    print(f"grading benchmark: {load_note()}", file=sys.stderr)

    def step(what: str) -> None:
        print(f"  [{time.time() - started:5.0f} s] {what} ({load_note()})", file=sys.stderr)

    step("grader grade, whole kit")
    r["grade"] = {"all exercises, timing on": grade_times([], args.repeats),
                  "all exercises, no timing": grade_times([], args.repeats, timing=False)}
    if not args.quick:
        for ex_id in all_ids:
            step(f"grader grade {ex_id}")
            r["grade"][ex_id] = grade_times([ex_id], args.repeats)
    step("in-process repeats")
    r["in_process"] = in_process_repeat(args.repeats)
    step("phase breakdown")
    r["phases"] = phases()
    step("worker starts")
    r["workers"] = worker_starts(max(3, args.repeats))
    r["batch"] = []
    for ids in (all_ids, numpy_ids):
        for jobs in sorted({1, cores}):
            step(f"grader batch --jobs {jobs}, {len(ids)} exercises")
            r["batch"].append(batch_rate(args.batch_n, jobs, ids, timing=False))
    step("grader batch with timing")
    r["batch"].append(batch_rate(args.batch_n, cores, all_ids, timing=True))
    if not args.no_otter:
        step("otter comparison")
        r["otter"] = otter(args.otter_n)
    r["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    r["seconds"] = round(time.time() - started, 1)
    print_table(r)
    if args.json_path:
        from grader.files import write_json

        write_json(Path(args.json_path), r)
        print(f"\n  written to {args.json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
