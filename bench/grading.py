"""Grading speed benchmark (part of ``make bench``; not a unit test).

What a learner waits for and what a class costs, measured on this machine, and judged
against the goals of the kit (``GOALS``):

- ``import torch, numpy`` in a fresh interpreter: the unit the whole-kit goals are stated in,
  measured in this run, interleaved with the grades it is compared with;
- ``grader grade --submission solutions`` as a fresh process: the first six exercises (the
  NumPy lessons) and the whole kit, with and without timing, and each exercise alone;
- ``grader batch`` of the first six exercises without timing, 2 jobs: submissions per minute;
- the timing verdicts of ``bench.timing`` (run just before by ``make bench``; read from its
  JSON): every solution verdict passes, every loop verdict fails;
- for the record: starting the pool (a zygote that imports NumPy and PyTorch) and forking a
  worker from it, until the worker's first answer.

It prints each goal with its measured figure and ``met`` or ``MISSED``, the load average while
it ran, and writes everything to ``bench-results/grading.json``. Exit status 1 when a goal is
missed.

    python -m bench.grading [--repeats 3] [--batch-n 30] [--quick] [--timing-json PATH]
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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from grader import registry
from grader.paths import KIT_ROOT, SOLUTIONS_DIR as SOLUTIONS

DEFAULT_JSON = KIT_ROOT / "bench-results" / "grading.json"
TIMING_JSON = KIT_ROOT / "bench-results" / "timing.json"
IMPORT_CODE = "import torch, numpy"
FIRST_SIX = tuple(e.id for e in registry.EXERCISES[:6])   # the kit as issue 16 measured it
HEAVY = ("ex04_simple_mnist", "ex06_vectorize")   # they train / search MNIST: 3 s, not 1 s
ONE_NUMPY_S, ONE_HEAVY_S = 1.0, 3.0
KIT_TIMING_X, KIT_NO_TIMING_X = 3.0, 2.0           # times one `import torch, numpy`
BATCH_PER_MIN, BATCH_JOBS = 60.0, 2


@dataclass
class Goal:
    name: str
    measured: float | None
    limit: float | None         # None: shown for the record, no goal
    unit: str
    at_least: bool = False      # a floor (throughput), not a ceiling
    detail: str = ""

    @property
    def met(self) -> bool | None:
        if self.measured is None or self.limit is None:
            return None
        return self.measured >= self.limit if self.at_least else self.measured <= self.limit

    def line(self) -> str:
        figure = "not measured" if self.measured is None else f"{self.measured:.2f} {self.unit}"
        if self.limit is None:
            return f"  {self.name:52} {figure:>16}   {'no goal':26} {self.detail}"
        goal = f"{'>=' if self.at_least else '<='} {self.limit:g} {self.unit}"
        verdict = {True: "met", False: "MISSED", None: "-"}[self.met]
        return f"  {self.name:52} {figure:>16}   {goal:19} {verdict:6} {self.detail}"


# -- the machine ------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    from grader.isolation.pool import isolation_for
    from grader.settings import Settings

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
    return {"cores": os.cpu_count(), "cpu_model": model, "platform": platform.platform(),
            "python": platform.python_version(), "numpy": ver("numpy"), "torch": ver("torch"),
            "isolation": isolation_for(Settings()).describe()}


class Load:
    """The 1-minute load average, sampled at every step: the figures mean little without it."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    def sample(self) -> float:
        one = os.getloadavg()[0]
        self.samples.append(round(one, 2))
        return one

    def summary(self) -> str:
        if not self.samples:
            return "load not sampled"
        return (f"load average (1 min) {min(self.samples):.1f}-{max(self.samples):.1f}, "
                f"median {statistics.median(self.samples):.1f}, on {os.cpu_count()} cores")


# -- fresh processes, timed -------------------------------------------------------------------
def _timed(cmd: Sequence[str], what: str, ok_codes: Sequence[int] = (0,)) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(list(cmd), cwd=KIT_ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in ok_codes:
        raise RuntimeError(f"{what} failed (exit {done.returncode}):\n" + (done.stdout + done.stderr)[-2000:])
    return seconds, done.returncode


def import_once() -> float:
    return _timed([sys.executable, "-c", IMPORT_CODE], IMPORT_CODE)[0]


def grade_once(exercises: Sequence[str], *, timing: bool) -> tuple[float, bool]:
    """One ``grader grade`` of the solutions; whether every check passed (exit 0)."""
    args = ["grade", *exercises, "--submission", str(SOLUTIONS)] + ([] if timing else ["--no-timing"])
    seconds, code = _timed([sys.executable, "-m", "grader", *args], "grader " + " ".join(args),
                           ok_codes=(0, 1))
    return seconds, code == 0


@dataclass
class Series:
    """Repeated measurements of one thing: the first run (cold files) and the median of the rest."""
    runs: list[float]
    all_passed: bool = True

    @property
    def first(self) -> float:
        return self.runs[0]

    @property
    def warm(self) -> float:
        return statistics.median(self.runs[1:] or self.runs)

    def to_dict(self) -> dict:
        return {"runs_s": [round(r, 3) for r in self.runs], "first_s": round(self.first, 3),
                "warm_s": round(self.warm, 3), "all_passed": self.all_passed}


def kit_series(repeats: int, load: Load, step: Callable[[str], None]) -> dict[str, Series]:
    """``import torch, numpy`` and the whole-kit grades, round-robin, so that a change of load
    during the run touches every series alike."""
    kinds = {"import torch, numpy": None,
             "first six, timing on": (FIRST_SIX, True), "first six, no timing": (FIRST_SIX, False),
             "all nine, timing on": ((), True), "all nine, no timing": ((), False)}
    series = {name: Series([]) for name in kinds}
    for r in range(1 + repeats):
        step(f"whole kit, round {r + 1} of {1 + repeats}")
        for name, kind in kinds.items():
            load.sample()
            if kind is None:
                series[name].runs.append(import_once())
            else:
                seconds, ok = grade_once(kind[0], timing=kind[1])
                series[name].runs.append(seconds)
                series[name].all_passed &= ok
    return series


def exercise_series(ids: Sequence[str], repeats: int, load: Load,
                    step: Callable[[str], None]) -> dict[str, Series]:
    series = {ex_id: Series([]) for ex_id in ids}
    for ex_id in ids:
        step(f"grader grade {ex_id}")
        for _ in range(1 + repeats):
            load.sample()
            seconds, ok = grade_once([ex_id], timing=True)
            series[ex_id].runs.append(seconds)
            series[ex_id].all_passed &= ok
    return series


# -- grader batch -----------------------------------------------------------------------------
def make_class(folder: Path, n: int, ids: Sequence[str]) -> None:
    """``n`` submissions: the reference solutions, every fifth with a wrong ``dot``."""
    wrong_dot = (SOLUTIONS / "ex01_vectors.py").read_text().replace(
        "    return float((a * b).sum())\n", "    return float((a * b).sum()) + 1.0\n").replace(
        "    return float(np.sqrt(dot(v, v)))\n", "    return float(np.sqrt((v * v).sum()))\n")
    for i in range(n):
        sub = folder / f"student_{i:03d}"
        sub.mkdir(parents=True)
        for ex_id in ids:
            shutil.copy(SOLUTIONS / f"{ex_id}.py", sub / f"{ex_id}.py")
        if i % 5 == 4 and "ex01_vectors" in ids:
            (sub / "ex01_vectors.py").write_text(wrong_dot)


def batch_rate(n: int, jobs: int, ids: Sequence[str], *, timing: bool, load: Load) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        folder = Path(tmp) / "class"
        make_class(folder, n, ids)
        load.sample()
        seconds, _ = _timed([sys.executable, "-m", "grader", "batch", str(folder), *ids, "--out",
                             str(Path(tmp) / "out"), "--jobs", str(jobs)]
                            + ([] if timing else ["--no-timing"]), "grader batch")
        load.sample()
        graded = len(list((Path(tmp) / "out" / "results").glob("*.json")))
        if graded != n:
            raise RuntimeError(f"grader batch wrote {graded} results for {n} submissions")
    return {"submissions": n, "jobs": jobs, "timing": timing, "exercises": list(ids),
            "seconds": round(seconds, 2), "per_minute": round(60 * n / seconds, 1)}


# -- the pool ---------------------------------------------------------------------------------
def worker_starts(repeats: int) -> dict[str, Any]:
    """Seconds until a first answer: from a new pool (its zygote imports NumPy and PyTorch),
    then from a forked worker of the warm pool (what each learner worker costs)."""
    from grader.isolation.client import Learner
    from grader.isolation.pool import Pool
    from grader.settings import Settings

    out: dict[str, Any] = {}
    start = time.perf_counter()
    with Pool(Settings(), preload=("numpy", "torch")) as pool:
        out["isolation"] = pool.isolation.describe()
        folder = pool.folder("bench-") / "sub"      # under the pool's root: what workers can see
        folder.mkdir()
        (folder / "m.py").write_text("X = 1\n")
        gid = pool.claim_group()
        pool.share(folder, gid)
        times = []
        for _ in range(1 + repeats):
            t = time.perf_counter()
            with Learner(folder, pool=pool, modules=["m"], gid=gid) as learner:
                learner.load("m")      # forks the worker, waits for it, one round trip
                times.append(time.perf_counter() - t)
            if len(times) == 1:
                out["pool_start_and_first_worker_s"] = round(time.perf_counter() - start, 3)
        pool.release_group(gid)
        out["forked_worker_s"] = round(statistics.median(times[1:]), 4)
    return out


# -- the timing verdicts ----------------------------------------------------------------------
def timing_verdicts(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    out: dict[str, Any] = {"path": str(path), "runs": data.get("runs"), "busy": data.get("busy"),
                           "written": time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime)),
                           "age_s": round(time.time() - path.stat().st_mtime)}
    for label, should_pass in (("solutions", True), ("loops", False)):
        rows = [row for row in data["rows"] if row["should_pass"] is should_pass]
        out[label] = {"as_expected": sum(row["as_expected"] for row in rows),
                      "verdicts": sum(row["runs"] for row in rows),
                      "worst": min(((row["as_expected"] / max(1, row["runs"]), row["case"]) for row in rows),
                                   default=(1.0, ""))[1]}
    return out


# -- the goals --------------------------------------------------------------------------------
def goals(r: dict[str, Any]) -> list[Goal]:
    kit = {name: Series(**s_args) for name, s_args in r["kit_raw"].items()}
    imp = kit["import torch, numpy"].warm
    out = []
    for which in ("first six", "all nine"):
        for timing, limit in (("timing on", KIT_TIMING_X), ("no timing", KIT_NO_TIMING_X)):
            s = kit[f"{which}, {timing}"]
            out.append(Goal(f"{which} exercises, {timing} / import", s.warm / imp, limit, "x",
                            detail=f"{s.warm:.2f} s / {imp:.2f} s" + ("" if s.all_passed else "; a check failed")))
    for ex_id, s in r.get("exercises_raw", {}).items():
        if ex_id not in FIRST_SIX:
            out.append(Goal(f"grader grade {ex_id}", s["warm"], None, "s",
                            detail="after the first six: for the record"))
            continue
        limit = ONE_HEAVY_S if ex_id in HEAVY else ONE_NUMPY_S
        out.append(Goal(f"grader grade {ex_id}", s["warm"], limit, "s",
                        detail="" if s["all_passed"] else "a check failed"))
    for row in r.get("batch", []):
        out.append(Goal(f"batch of {row['submissions']}, {len(row['exercises'])} exercises, "
                        f"{row['jobs']} jobs, {'timing' if row['timing'] else 'no timing'}",
                        row["per_minute"], BATCH_PER_MIN, "/min", at_least=True,
                        detail=f"{row['seconds']:.1f} s"))
    t = r.get("timing")
    if t is None:
        out.append(Goal("timing verdicts as expected", None, 100, "%",
                        detail=f"no {TIMING_JSON.relative_to(KIT_ROOT)}: run `make bench`"))
    else:
        for label in ("solutions", "loops"):
            v = t[label]
            out.append(Goal(f"timing: {label} {'pass' if label == 'solutions' else 'fail'} "
                            f"({t['runs']} runs, {t['busy']} busy)",
                            100 * v["as_expected"] / max(1, v["verdicts"]), 100, "%", at_least=True,
                            detail=f"{v['as_expected']} of {v['verdicts']}; written {t['written']}"))
    return out


def print_report(r: dict[str, Any], goal_list: list[Goal]) -> None:
    m = r["machine"]
    print(f"\nGrading speed on {m['cores']} cores ({m['cpu_model']}), Python {m['python']}, "
          f"NumPy {m['numpy']}, PyTorch {m['torch']}, isolation {m['isolation']}")
    print(f"{r['load']} while it ran; {r['seconds']:.0f} s in all\n")
    print(f"  {'measured (median of the warm runs)':52} {'figure':>16}   {'goal':19} verdict")
    print("  " + "-" * 100)
    for g in goal_list:
        print(g.line())
    kit = r["kit"]
    print("\n  fresh process, first run and warm median:")
    for name, s in kit.items():
        print(f"    {name:30} first {s['first_s']:6.2f} s   warm {s['warm_s']:6.2f} s   runs {s['runs_s']}")
    if "workers" in r:
        w = r["workers"]
        print(f"\n  pool ({w['isolation']}): new pool to a first answer {w['pool_start_and_first_worker_s']:.2f} s; "
              f"each forked worker to its first answer {1000 * w['forked_worker_s']:.1f} ms")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.grading", description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=3, help="warm runs after the first (3)")
    p.add_argument("--batch-n", type=int, default=30, help="submissions in the batch (30)")
    p.add_argument("--quick", action="store_true", help="1 warm run, 10 submissions")
    p.add_argument("--timing-json", type=Path, default=TIMING_JSON,
                   help="bench.timing's results, for the timing goals")
    p.add_argument("--json", dest="json_path", type=Path, default=DEFAULT_JSON)
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.batch_n = 1, 10
    started = time.time()
    load = Load()
    print(f"grading benchmark on {os.cpu_count()} cores", file=sys.stderr)

    def step(what: str) -> None:
        print(f"  [{time.time() - started:5.0f} s] {what} (load {load.sample():.1f})", file=sys.stderr)

    r: dict[str, Any] = {"machine": machine()}
    kit = kit_series(args.repeats, load, step)
    ids = [e.id for e in registry.select(None)]
    per_exercise = exercise_series(ids, max(1, args.repeats - 1), load, step)
    step(f"grader batch, {args.batch_n} submissions, {BATCH_JOBS} jobs, no timing")
    r["batch"] = [batch_rate(args.batch_n, BATCH_JOBS, FIRST_SIX, timing=False, load=load)]
    step("the pool: starting it, forking workers")
    r["workers"] = worker_starts(max(3, args.repeats))
    r["timing"] = timing_verdicts(args.timing_json)
    r["kit_raw"] = {name: {"runs": s.runs, "all_passed": s.all_passed} for name, s in kit.items()}
    r["exercises_raw"] = {ex_id: {"warm": s.warm, "all_passed": s.all_passed} for ex_id, s in per_exercise.items()}
    r["kit"] = {name: s.to_dict() for name, s in kit.items()}
    r["exercises"] = {ex_id: s.to_dict() for ex_id, s in per_exercise.items()}
    r["load_samples"] = load.samples
    r["load"] = load.summary()
    r["seconds"] = round(time.time() - started, 1)
    goal_list = goals(r)
    r["goals"] = [dict(asdict(g), met=g.met) for g in goal_list]
    print_report(r, goal_list)
    if args.json_path:
        from grader.files import write_json

        write_json(Path(args.json_path), {k: v for k, v in r.items() if not k.endswith("_raw")})
        print(f"\n  written to {args.json_path}")
    return 0 if all(g.met is not False for g in goal_list) else 1


if __name__ == "__main__":
    sys.exit(main())
