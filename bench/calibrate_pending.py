"""Calibrate the speed targets the timing engine cannot run yet (not a unit test).

Some graded functions return several results: ex07's ``scaled_dot_product_attention`` gives
``(out, weights)``, ex09's ``linear_backward`` three gradients and ``train_step``
``(new_params, loss)``. ``grader/engine/timing.py`` checks one array or tensor per timed
call, so their suites keep these targets in ``SPEED_PENDING`` instead of ``SPEED``. This script
measures them exactly as ``python -m bench.timing`` measures the others (same rounds,
same ratio, solutions against ``bench/anti/``, optional CPU-burning neighbours), with one
difference: the outputs sampled during the measurement are compared element by element
(tuples, lists and dicts of tensors, and floats). Once the engine compares such outputs
itself, move the cases into ``SPEED`` and drop this script.

    python -m bench.calibrate_pending --runs 20 --busy 2 --json bench-results/timing-pending.json
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

from bench import timing as bench_timing
from grader import registry
from grader.checks import diagnose
from grader.engine import timing
from grader.paths import KIT_ROOT

DEFAULT_JSON = KIT_ROOT / "bench-results" / "timing-pending.json"


def pending_cases() -> dict[str, timing.SpeedCase]:
    """Every ``SPEED_PENDING`` case of the hidden suites, named ``<exercise>.<function>``."""
    cases = {}
    for info in registry.EXERCISES:
        if not info.suite.exists():
            continue
        spec = importlib.util.spec_from_file_location(f"_pending_suite_{info.id}", info.suite)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec.loader.exec_module(module)
        for name, case in getattr(module, "SPEED_PENDING", {}).items():
            cases[f"{info.id}.{name}"] = case
    return cases


class ElementwiseDiagnose:
    """``grader.checks.diagnose`` with a ``compare_arrays`` that walks tuples, lists and dicts."""

    def __getattr__(self, name: str) -> Any:
        return getattr(diagnose, name)

    def compare_arrays(self, got: Any, expected: Any, **tolerance: Any) -> str | None:
        if isinstance(expected, dict):
            if not isinstance(got, dict) or set(got) != set(expected):
                return f"expected a dict with keys {sorted(expected)}, got {diagnose.describe(got)}"
            for key in expected:
                problem = self.compare_arrays(got[key], expected[key], **tolerance)
                if problem:
                    return f"[{key!r}]: {problem}"
            return None
        if isinstance(expected, (tuple, list)):
            if not isinstance(got, (tuple, list)) or len(got) != len(expected):
                return f"expected {len(expected)} results, got {diagnose.describe(got)}"
            for i, (g, e) in enumerate(zip(got, expected)):
                problem = self.compare_arrays(g, e, **tolerance)
                if problem:
                    return f"result {i}: {problem}"
            return None
        if isinstance(expected, float):
            return diagnose.compare_number(got, expected, rtol=tolerance.get("rtol", 1e-7),
                                           atol=tolerance.get("atol", 1e-9))
        return diagnose.compare_arrays(got, expected, **tolerance)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.calibrate_pending", description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--busy", type=int, default=0, help="CPU-burning processes beside it")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON)
    p.add_argument("--only", action="append", default=[], metavar="TEXT")
    args = p.parse_args(argv)
    # The measurement itself is bench.timing's; only what it times and how it
    # compares the sampled outputs differ (see the module docstring).
    timing.diagnose = ElementwiseDiagnose()
    bench_timing.speed_cases = pending_cases
    return bench_timing.run(runs=args.runs, busy=args.busy, json_path=args.json, only=args.only)


if __name__ == "__main__":
    raise SystemExit(main())
