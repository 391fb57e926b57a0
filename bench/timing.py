"""Timing stability benchmark (part of ``make bench``; not a unit test).

Runs every speed target of the suites (their ``SPEED`` cases) many times against its
baseline (``baselines/``), once with the solutions as the learner (every verdict must pass) and once
with the loop-based anti-solutions in ``bench/anti/`` (every verdict must fail), optionally
while ``--busy N`` processes burn CPU. It prints a table of pass rates and the spread of the
ratios and writes every verdict to a JSON file. Exit status 0 when every verdict went the way
it should, 1 otherwise.

    python -m bench.timing --runs 20 --busy 2 --json bench-results/timing.json

``--device cuda`` (``make bench-gpu``) times the targets that have a CUDA variant (those of
the PyTorch exercises) on the GPU instead, as their ``[cuda]`` checks do; ``--budget S``
stops starting new runs after S seconds and says how many verdicts each row got.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

import contextlib

from grader import registry
from grader.engine.session import open_submission
from grader.engine.timing import References, SpeedCase, measure
from grader.files import write_json
from grader.isolation.client import Learner
from grader.isolation.pool import Pool
from grader.paths import KIT_ROOT, SOLUTIONS_DIR
from grader.settings import Settings

SUBMISSIONS = (("solutions", SOLUTIONS_DIR, True), ("loops", KIT_ROOT / "bench" / "anti", False))
DEFAULT_JSON = KIT_ROOT / "bench-results" / "timing.json"
BUSY_CODE = "while True:\n    pass"
DEVICE_CHECK = re.compile(r"speed\.check\(SPEED\[[^\]]+\],\s*device\)")


@dataclass
class Row:
    case: str
    submission: str
    should_pass: bool
    passed: list[bool]
    ratios: list[float]
    rounds: list[int]
    seconds: list[float]

    @property
    def as_expected(self) -> int:
        return sum(p == self.should_pass for p in self.passed)

    def to_dict(self) -> dict:
        return {"case": self.case, "submission": self.submission, "should_pass": self.should_pass,
                "runs": len(self.passed), "as_expected": self.as_expected,
                "pass_rate": sum(self.passed) / max(1, len(self.passed)),
                "ratio_median": statistics.median(self.ratios) if self.ratios else None,
                "ratio_min": min(self.ratios, default=None), "ratio_max": max(self.ratios, default=None),
                "ratios": self.ratios, "rounds": self.rounds, "seconds": self.seconds}


def speed_cases(device: str = "cpu") -> dict[str, SpeedCase]:
    """Every ``SPEED`` case of the suites, named ``<exercise>.<function>``; for ``cuda``, those
    of the suites whose speed checks also run on a device (``speed.check(SPEED[...], device)``:
    the ``[cuda]`` checks)."""
    cases = {}
    for info in registry.EXERCISES:
        if not info.suite.exists() or (device != "cpu" and not DEVICE_CHECK.search(info.suite.read_text())):
            continue
        spec = importlib.util.spec_from_file_location(f"_bench_suite_{info.id}", info.suite)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module   # dataclasses in a suite look their module up there
        spec.loader.exec_module(module)
        for name, case in getattr(module, "SPEED", {}).items():
            cases[f"{info.id}.{name}"] = case
    return cases


def run(*, runs: int = 20, busy: int = 0, json_path: Path | None = DEFAULT_JSON,
        only: Sequence[str] = (), seed: int = 0, settings: Settings | None = None,
        device: str = "cpu", budget: float | None = None) -> int:
    settings = settings or Settings()
    cuda = device != "cpu"
    if cuda:
        import torch

        if not torch.cuda.is_available():
            print("bench.timing --device cuda: PyTorch sees no CUDA device here "
                  f"(torch {torch.__version__}); nothing was timed.", file=sys.stderr)
            return 2
    cases = {k: v for k, v in speed_cases(device).items() if not only or any(o in k for o in only)}
    rows = {(c, name): Row(c, name, ok, [], [], [], []) for c in cases for name, _, ok in SUBMISSIONS}
    burners = [subprocess.Popen([sys.executable, "-c", BUSY_CODE]) for _ in range(busy)]
    modules = sorted({c.module for c in cases.values()})
    stack = contextlib.ExitStack()
    pool = stack.enter_context(Pool(settings, preload=["numpy", "torch"]))
    learners = {}
    for name, path, _ in SUBMISSIONS:     # copied, checked and isolated as a grading does
        loaded, _, gid, _ = stack.enter_context(open_submission(path, modules, settings, pool=pool,
                                                                preload=()))
        learners[name] = stack.enter_context(Learner(loaded.directory, pool=pool, gid=gid,
                                                     modules=sorted(loaded.modules), name=name,
                                                     cuda=cuda))
    references = References(pool, cuda=cuda)
    started = time.time()
    try:
        for r in range(runs):
            if budget is not None and r and time.time() - started > budget:
                print(f"  stopped after {r} of {runs} runs: the budget of {budget:g} s is spent",
                      file=sys.stderr)
                break
            for i, (label, case) in enumerate(cases.items()):
                for name, _, _ in SUBMISSIONS:
                    t0 = time.perf_counter()
                    verdict = measure(case, learner=learners[name], reference=references.get(case.module),
                                      rng=np.random.default_rng([seed, r, i]), device=device,
                                      call_timeout=settings.limits.call_timeout_s)
                    row = rows[(label, name)]
                    row.passed.append(verdict.passed)
                    row.ratios.append(round(verdict.ratio, 3))
                    row.rounds.append(verdict.rounds)
                    row.seconds.append(round(time.perf_counter() - t0, 3))
                    if verdict.problem and name == "solutions":
                        print(f"  {label} ({name}): {verdict.problem}", file=sys.stderr)
            print(f"  run {r + 1}/{runs} done ({time.time() - started:.0f} s)", file=sys.stderr)
    finally:
        for p in burners:
            p.kill()
            p.wait()
        references.close()
        stack.close()
    print_table(list(rows.values()), runs=runs, busy=busy, targets={k: c.target for k, c in cases.items()},
                device=_device_name(device))
    if json_path is not None:
        write_json(Path(json_path), {"runs": runs, "busy": busy, "seed": seed,
                                     "device": _device_name(device), "isolation": pool.isolation.describe(),
                                     "threads": settings.threads, "seconds": round(time.time() - started, 1),
                                     "targets": {k: c.target for k, c in cases.items()},
                                     "rows": [row.to_dict() for row in rows.values()]})
        print(f"  written to {json_path}")
    return 0 if all(row.as_expected == len(row.passed) for row in rows.values()) else 1


def _device_name(device: str) -> str:
    if device == "cpu":
        return "cpu"
    import torch

    return f"{device} ({torch.cuda.get_device_name(0)}, torch {torch.__version__})"


def print_table(rows: list[Row], *, runs: int, busy: int, targets: dict[str, float],
                device: str = "cpu") -> None:
    done = min((len(row.passed) for row in rows), default=0)
    print(f"\nTiming stability on {device}: {done} of {runs} verdicts per row, "
          f"{busy} busy background process(es)\n")
    head = f"{'speed target':44} {'learner':10} {'target':>6} {'expect':>6} {'as expected':>12} " \
           f"{'ratio median':>12} {'min':>7} {'max':>7} {'rounds':>6} {'s/verdict':>9}"
    print(head)
    print("-" * len(head))
    for row in rows:
        if not row.passed:
            continue
        print(f"{row.case:44} {row.submission:10} {targets[row.case]:6g} "
              f"{'pass' if row.should_pass else 'fail':>6} {row.as_expected:>5} of {len(row.passed):<4} "
              f"{statistics.median(row.ratios):12.2f} {min(row.ratios):7.2f} {max(row.ratios):7.2f} "
              f"{statistics.mean(row.rounds):6.1f} {statistics.mean(row.seconds):9.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.timing", description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=20, help="verdicts per speed target and learner (20)")
    p.add_argument("--busy", type=int, default=0, help="CPU-burning background processes (0)")
    p.add_argument("--json", dest="json_path", type=Path, default=DEFAULT_JSON)
    p.add_argument("--only", nargs="*", default=(), help="speed targets whose name contains one of these")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="where the timed calls run (cuda: the PyTorch exercises' CUDA variants)")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds after which no new run starts (the table says how many ran)")
    args = p.parse_args(argv)
    return run(runs=args.runs, busy=args.busy, json_path=args.json_path, only=args.only,
               seed=args.seed, device=args.device, budget=args.budget)


if __name__ == "__main__":
    sys.exit(main())
