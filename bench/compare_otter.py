"""Side by side with otter-grader: the same exercise, the same submissions, the same machine.

    .venv/bin/python bench/compare_otter.py [--n 20] [--otter-venv /tmp/otter-venv] [--json FILE|-]

ex01_vectors is written as an otter assignment in bench/otter/ (exception-based test files,
the same kinds of cases as the kit's hidden suite, fewer of them). A class of ``--n``
submissions (the reference solution, every fifth one with a wrong ``dot``) is graded

- by otter, without Docker: ``otter run`` once per submission (``otter grade`` needs Docker),
  one at a time and then as many at a time as there are cores;
- by this kit: ``grader batch ... ex01 --jobs 1`` and ``--jobs <cores>``;

and the wall times are compared (otter / grader). Both verdicts are checked: full marks for
the correct submissions, less for the wrong ones. otter is not a dependency of the kit:
install it in a scratch virtualenv outside the repository::

    python3 -m venv /tmp/otter-venv && /tmp/otter-venv/bin/pip install otter-grader ipykernel
    /tmp/otter-venv/bin/python -m ipykernel install --sys-prefix

Exit status 3 (with a message) when that virtualenv is missing.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = ROOT / "bench" / "otter"
SOLUTION = (ROOT / "solutions" / "ex01_vectors.py").read_text()
WRONG_DOT = SOLUTION.replace("    return float((a * b).sum())\n", "    return float((a * b).sum()) + 1.0\n").replace(
    "    return float(np.sqrt(dot(v, v)))\n", "    return float(np.sqrt((v * v).sum()))\n")
MISSING = 3


def make_class(folder: Path, n: int) -> dict[str, bool]:
    """``n`` submissions, as otter wants them (``<name>.py``) and as the kit does (a folder)."""
    correct = {}
    for i in range(n):
        name = f"student_{i:03d}"
        text = WRONG_DOT if i % 5 == 4 else SOLUTION
        (folder / "otter").mkdir(parents=True, exist_ok=True)
        (folder / "otter" / f"{name}.py").write_text(text)
        (folder / "kit" / name).mkdir(parents=True)
        (folder / "kit" / name / "ex01_vectors.py").write_text(text)
        correct[name] = i % 5 != 4
    return correct


def run_otter(otter: Path, autograder: Path, subs: list[Path], out: Path, jobs: int) -> tuple[float, dict]:
    def one(sub: Path) -> tuple[str, float, float]:
        target = out / sub.stem
        target.mkdir(parents=True)
        done = subprocess.run([str(otter), "run", "-a", str(autograder), "-o", str(target), "--no-logo",
                               str(sub)], cwd=target, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"otter run {sub.name} failed:\n{(done.stdout + done.stderr)[-1500:]}")
        tests = json.loads((target / "results.json").read_text())["tests"]
        scored = [t for t in tests if "max_score" in t]
        return sub.stem, sum(t["score"] for t in scored), sum(t["max_score"] for t in scored)

    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        rows = list(pool.map(one, subs))
    return time.perf_counter() - start, {name: (score, top) for name, score, top in rows}


def run_grader(folder: Path, out: Path, jobs: int) -> tuple[float, dict]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "grader", "batch", str(folder), "ex01", "--out", str(out),
                           "--jobs", str(jobs)], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError("grader batch failed:\n" + (done.stdout + done.stderr)[-1500:])
    with open(out / "gradebook.csv") as f:
        rows = {r["submission"]: (float(r["score"]), float(r["max_score"])) for r in csv.DictReader(f)}
    return seconds, rows


def check(scores: dict, correct: dict[str, bool], who: str) -> None:
    for name, ok in correct.items():
        score, top = scores[name]
        if ok != (score == top):
            raise RuntimeError(f"{who} gave {name} {score}/{top}, expected {'full' if ok else 'less'}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--otter-venv", type=Path, default=Path("/tmp/otter-venv"))
    p.add_argument("--json", dest="json_path", help="write the figures here ('-': last line of stdout)")
    args = p.parse_args()
    otter = args.otter_venv / "bin" / "otter"
    if not otter.exists():
        print(f"otter comparison skipped: {otter} not found (see bench/compare_otter.py's docstring "
              "to install otter-grader in a scratch virtualenv)")
        return MISSING
    cores = os.cpu_count() or 1
    version = subprocess.run([str(args.otter_venv / "bin" / "python"), "-c",
                              "import otter; print(otter.__version__)"],
                             capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="bench-otter-") as tmp:
        tmp = Path(tmp)
        correct = make_class(tmp / "class", args.n)
        shutil.copytree(ASSIGNMENT / "tests", tmp / "assignment" / "tests")
        start = time.perf_counter()
        subprocess.run([str(otter), "generate", "-t", "tests", "-o", "autograder.zip", "--no-requirements",
                        "--no-environment", "--no-config"], cwd=tmp / "assignment", check=True,
                       capture_output=True)
        generate_s = time.perf_counter() - start
        autograder = tmp / "assignment" / "autograder.zip"
        subs = sorted((tmp / "class" / "otter").glob("*.py"))
        result = {"n": args.n, "exercise": "ex01_vectors", "otter_version": version, "cores": cores,
                  "otter_generate_s": round(generate_s, 2), "load_average_at_start": list(os.getloadavg()),
                  "runs": []}
        for jobs in sorted({1, cores}):
            o_s, o_scores = run_otter(otter, autograder, subs, tmp / f"otter-out-{jobs}", jobs)
            check(o_scores, correct, "otter")
            g_s, g_scores = run_grader(tmp / "class" / "kit", tmp / f"grader-out-{jobs}", jobs)
            check(g_scores, correct, "grader")
            result["runs"].append({"jobs": jobs, "otter_s": round(o_s, 2), "grader_s": round(g_s, 2),
                                   "ratio": round(o_s / g_s, 2),
                                   "otter_per_min": round(60 * args.n / o_s, 1),
                                   "grader_per_min": round(60 * args.n / g_s, 1)})
        result["load_average_at_end"] = list(os.getloadavg())
    best = result["runs"][-1]
    result.update(otter_s=best["otter_s"], grader_s=best["grader_s"], grader_jobs=best["jobs"],
                  ratio=best["ratio"])
    print(f"{args.n} submissions of ex01_vectors on {cores} cores; otter-grader {version} (otter run, "
          f"no Docker) vs grader batch; load average at start {result['load_average_at_start'][0]:.2f}")
    for run in result["runs"]:
        print(f"  {run['jobs']} at a time: otter {run['otter_s']:6.1f} s ({run['otter_per_min']:5.1f}/min), "
              f"grader {run['grader_s']:6.1f} s ({run['grader_per_min']:5.1f}/min): "
              f"otter/grader = {run['ratio']:.2f}")
    if args.json_path == "-":
        print(json.dumps(result))
    elif args.json_path:
        Path(args.json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_path).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
