"""`make bench-gpu` (bench/gpu.py) covers every CUDA speed check and refuses plainly without CUDA."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import torch

from bench.timing import speed_cases
from grader import registry
from kit_files import ROOT

CUDA_CHECK = re.compile(r'speed\.check\(SPEED\[("(\w+)"|\w+)\], device\)')


def _timed_on_a_device(info) -> set[str]:
    """The cases a suite's speed checks time with ``device``: those named, or all of its
    ``SPEED`` where a variable picks the case (ex06's parametrized check)."""
    found = CUDA_CHECK.findall(info.suite.read_text())
    if any(not literal for _, literal in found):
        return {f"{info.id}.{name}" for name in _speed_names(info)}
    return {f"{info.id}.{literal}" for _, literal in found}


def _speed_names(info) -> set[str]:
    text = info.suite.read_text()
    block = text[text.index("SPEED = {"):]
    return set(re.findall(r'^    "(\w+)": SpeedCase', block[:block.index("\n}")], re.M))


def test_the_cuda_cases_are_those_the_suites_time_on_a_device():
    in_suites = set().union(*(_timed_on_a_device(info) for info in registry.EXERCISES))
    assert in_suites and set(speed_cases("cuda")) == in_suites
    assert set(speed_cases("cuda")) < set(speed_cases("cpu"))     # ex03's matmul is NumPy


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: make bench-gpu would run")
def test_without_cuda_it_says_so_and_runs_nothing():
    done = subprocess.run([sys.executable, "-m", "bench.gpu"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 3
    assert "no CUDA device here" in done.stderr and "nothing was run" in done.stderr
    assert done.stdout == ""
