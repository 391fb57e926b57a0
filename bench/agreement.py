"""Do the student kit and the instructor's kit give the same verdicts? (not a unit test)

Builds a release of the kit's course into a scratch folder (``grader release``), then grades
the same submissions with the student kit (``student/``, its own grader package, public
checks only) and with the instructor's kit (every check), ``--runs`` times each with a new
seed per run, while ``--busy`` processes burn CPU beside them. Every public check must get
the same status, points and feedback on both sides; the timing figures inside a speed
check's feedback (and a duration such as "fit took 1.5 s" in any other) differ from run to
run and are compared as placeholders, the verdict and its wording are not. The student kit's maximum and its hidden remainder must match what the
instructor's kit runs. Prints a table, writes every disagreement to a JSON file, and exits 1
if there was any.

    python -m bench.agreement --runs 20 --busy 2 --json bench-results/agreement.json

The submissions: the reference solutions, and each loop-based anti-solution of ``bench/anti``
(a submission of its own), on the exercises with speed targets unless ``--exercises`` says.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

from grader.paths import KIT_ROOT, SOLUTIONS_DIR

DEFAULT_JSON = KIT_ROOT / "bench-results" / "agreement.json"
ANTI = KIT_ROOT / "bench" / "anti"
BUSY_CODE = "while True:\n    pass"
NUMBER = re.compile(r"\d+(\.\d+)?(e[-+]?\d+)?")
DURATION = re.compile(r"\d+(\.\d+)? ?(s|ms|us)\b")     # "fit took 1.53 s": measured, not judged
PLURAL = re.compile(r"\b(round|call)s?\b")
CALL_TIMEOUT_S = 30    # a call's limit here: see run()


def shim_python(dest: Path) -> Path:
    """A Python with this environment's libraries but without its editable install of the
    kit, so that a student kit run with it imports its own ``grader`` and nothing of ours
    (the editable install's finder would resolve ``grader.instructor`` from this kit). A venv
    without pip whose site-packages holds hard links to ours (a copy where links cannot be
    made), less the kit's own entries: a real folder, so the sandbox's read-only view of the
    worker's site-packages holds the libraries too."""
    import sysconfig
    import venv

    venv.EnvBuilder(with_pip=False, symlinks=True).create(dest)
    python = dest / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    for ours in dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]):
        for entry in Path(ours).iterdir():
            if "editable" in entry.name or entry.name.startswith("linalg_kit") or (site / entry.name).exists():
                continue
            if entry.is_dir():
                shutil.copytree(entry, site / entry.name, copy_function=_link_or_copy, symlinks=True)
            else:
                _link_or_copy(entry, site / entry.name)
    return python


def _link_or_copy(src, dst) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def grade(kit: Path, submission: Path, exercises: Sequence[str], seed: int, out: Path,
          extra: Sequence[str] = (), python: Path | str = sys.executable,
          settings: dict | None = None) -> dict:
    """The result document of ``kit``'s grader (its own package, on its own path) for
    ``submission``; ``settings`` become GRADER_* variables (none of ours reach it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_")}
    env.update({f"GRADER_{k.upper()}": str(v) for k, v in (settings or {}).items()})
    env["PYTHONPATH"] = str(kit)
    done = subprocess.run([str(python), "-m", "grader", "grade", *exercises, "--submission",
                           str(submission), "--seed", str(seed), "--json", str(out), *extra],
                          cwd=kit, env=env, capture_output=True, text=True, timeout=1200)
    if not out.exists():
        raise RuntimeError(f"{kit}: grading wrote no result:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return json.loads(out.read_text())


def _feedback(check: dict) -> str:
    """The feedback with what is measured, not judged, taken out. A speed check's verdict is
    its first words ("too slow", a wrong result while timing, ...) and its hint: the figures,
    their units, how many rounds it took and whether a slow block was cut short all depend on
    the moment; durations in any other check's feedback too."""
    text = check["feedback"]
    if check["kind"] != "timing":
        return DURATION.sub("<duration>", text)
    head, _, rest = text.partition("\n")
    verdict = head.split(":")[0] if head.startswith("too slow") else PLURAL.sub(r"\1s", NUMBER.sub("<n>", DURATION.sub("<time>", head)))
    return "\n".join([verdict, NUMBER.sub("<n>", rest)])


def compare(student: dict, instructor: dict) -> list[str]:
    """Every way the student kit's verdicts differ from the instructor's on the public checks,
    and any mismatch of the maximum or of the hidden remainder (empty: they agree)."""
    problems = []
    if student["max_score"] != instructor["max_score"]:
        problems.append(f"max_score {student['max_score']} vs {instructor['max_score']}")
    theirs = {e["id"]: e for e in instructor["exercises"]}
    for ex in student["exercises"]:
        other = theirs.get(ex["id"])
        if other is None:
            problems.append(f"{ex['id']}: not graded by the instructor's kit")
            continue
        hidden = [c for c in other["checks"] if c["visibility"] == "hidden" and not c["informational"]]
        remaining = {"checks": len(hidden), "points": sum(c["max_points"] for c in hidden)}
        if ex["hidden_remaining"] != remaining:
            problems.append(f"{ex['id']}: hidden_remaining {ex['hidden_remaining']} vs {remaining}")
        public = {c["id"]: c for c in other["checks"] if c["visibility"] == "public"}
        if sorted(public) != sorted(c["id"] for c in ex["checks"]):
            problems.append(f"{ex['id']}: public checks differ: "
                            f"{sorted(set(public) ^ {c['id'] for c in ex['checks']})}")
        for check in ex["checks"]:
            mine = public.get(check["id"])
            if mine is None:
                continue
            for key in ("status", "points", "max_points"):
                if check[key] != mine[key]:
                    problems.append(f"{ex['id']}/{check['id']}: {key} {check[key]!r} vs {mine[key]!r}")
            if _feedback(check) != _feedback(mine):
                problems.append(f"{ex['id']}/{check['id']}: feedback differs:\n  student: "
                                f"{check['feedback'][:300]!r}\n  instructor: {mine['feedback'][:300]!r}")
    return problems


def submissions(scratch: Path) -> dict[str, Path]:
    """The solutions, and each anti-solution in a folder of its own."""
    found = {"solutions": SOLUTIONS_DIR}
    for path in sorted(ANTI.glob("ex*.py")):
        folder = scratch / f"anti_{path.stem}"
        folder.mkdir()
        shutil.copyfile(path, folder / path.name)
        found[f"anti {path.stem}"] = folder
    return found


def run(*, runs: int, busy: int, exercises: Sequence[str], json_path: Path | None,
        timing: bool = True, call_timeout: float = CALL_TIMEOUT_S, first: int = 0) -> int:
    """``call_timeout``: each call's limit on both sides. 30 s, not the default 10 s: a
    loop-based knn on the 1,000 held-out digits takes 2-3 s a call on an idle core, and at a
    load of 10 or more it can pass 10 s on one side only; a verdict the machine's load decides
    says nothing about the two kits. ``first``: the first run's number (its seed), so that a
    benchmark cut short can be continued with the runs it did not make."""
    from grader.course import load
    from grader.instructor.release import release

    # A `kill` ends the run through the finally below: its burners and scratch folder go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    scratch = Path(tempfile.mkdtemp(prefix="agreement-"))
    burners = []
    started = time.time()
    rows: dict[str, dict] = {}
    try:
        release(out=scratch / "release", course=load())
        student = scratch / "release" / "student"
        student_python = shim_python(scratch / "student-python")
        subs = submissions(scratch)
        burners = [subprocess.Popen([sys.executable, "-c", BUSY_CODE]) for _ in range(busy)]
        extra = () if timing else ("--no-timing",)
        for r in range(first, first + runs):
            for name, path in subs.items():
                row = rows.setdefault(name, {"runs": 0, "checks": 0, "timing_checks": 0,
                                             "disagreements": [], "timing_verdicts": []})
                kits = [("student", student, student_python), ("instructor", KIT_ROOT, sys.executable)]
                docs = {label: grade(kit, path, exercises, r, scratch / f"{label}.json", extra, python,
                                     {"call_timeout_s": call_timeout})
                        for label, kit, python in (kits if r % 2 == 0 else kits[::-1])}
                problems = compare(docs["student"], docs["instructor"])
                row["runs"] += 1
                public = [c for e in docs["student"]["exercises"] for c in e["checks"]]
                row["checks"] += len(public)
                theirs = {(e["id"], c["id"]): c for e in docs["instructor"]["exercises"] for c in e["checks"]}
                for e in docs["student"]["exercises"]:
                    for c in e["checks"]:
                        if c["kind"] == "timing" and c["status"] != "skipped" and not c["informational"]:
                            row["timing_checks"] += 1
                            row["timing_verdicts"].append(
                                (f"{e['id']}/{c['id']}", c["status"], theirs[e["id"], c["id"]]["status"],
                                 (c.get("timing") or {}).get("ratio"),
                                 (theirs[e["id"], c["id"]].get("timing") or {}).get("ratio")))
                row["disagreements"] += [f"run {r + 1}: {p}" for p in problems]
            print(f"  run {r + 1}/{first + runs} done ({time.time() - started:.0f} s, "
                  f"{sum(len(row['disagreements']) for row in rows.values())} disagreements)",
                  file=sys.stderr)
            if json_path is not None:     # after every run: a long benchmark cut short still tells
                _write(json_path, rows, runs=r + 1 - first, busy=busy, exercises=exercises, timing=timing,
                       seconds=time.time() - started)
    finally:
        for p in burners:
            p.kill()
            p.wait()
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"\nStudent kit vs instructor's kit: {runs} runs, {busy} busy background process(es), "
          f"exercises {' '.join(exercises) or 'all'}, timing {'on' if timing else 'off'}\n")
    print(f"{'submission':28} {'runs':>4} {'public checks':>13} {'speed verdicts':>14} {'agree':>6}")
    for name, row in rows.items():
        agree = sum(1 for v in row["timing_verdicts"] if v[1] == v[2])
        print(f"{name:28} {row['runs']:>4} {row['checks']:>13} {row['timing_checks']:>14} "
              f"{'yes' if not row['disagreements'] else 'NO':>6}  (speed verdicts equal: {agree})")
        for line in row["disagreements"][:10]:
            print(f"    {line}")
    if json_path is not None:
        print(f"  written to {json_path}")
    return 1 if any(row["disagreements"] for row in rows.values()) else 0


def _write(path: Path, rows: dict, *, runs: int, busy: int, exercises: Sequence[str], timing: bool,
           seconds: float) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({"runs": runs, "busy": busy, "exercises": list(exercises),
                                      "timing": timing, "seconds": round(seconds), "rows": rows},
                                     indent=1) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.agreement", description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--busy", type=int, default=2, help="CPU-burning background processes (2)")
    p.add_argument("--exercises", nargs="*", default=["ex03_matmul", "ex06_vectorize"],
                   help="default: the exercises with speed targets; none given: all")
    p.add_argument("--no-timing", dest="timing", action="store_false")
    p.add_argument("--call-timeout", type=float, default=CALL_TIMEOUT_S,
                   help=f"seconds per call on both sides ({CALL_TIMEOUT_S})")
    p.add_argument("--json", dest="json_path", type=Path, default=DEFAULT_JSON)
    p.add_argument("--first-run", type=int, default=0,
                   help="the first run's number, its seed (0): continue a benchmark cut short")
    args = p.parse_args(argv)
    return run(runs=args.runs, busy=args.busy, exercises=args.exercises, json_path=args.json_path,
               timing=args.timing, call_timeout=args.call_timeout, first=args.first_run)


if __name__ == "__main__":
    sys.exit(main())
