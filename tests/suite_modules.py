"""The hidden suites as modules, for the kit's tests that reuse a suite's oracles, tolerances
and diagnoses (loaded by file, as `make bench` loads them; each once per test session)."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from types import ModuleType

import pytest

from grader import registry


def load_suite(ex_id: str) -> ModuleType:
    """The hidden suite of ``ex_id`` as a module."""
    info = registry.BY_ID[ex_id]
    name = f"_suite_{ex_id}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, info.suite)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module   # dataclasses in a suite look their module up there
        with warnings.catch_warnings():   # the grader registers the suites' markers, not the kit
            warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
            spec.loader.exec_module(module)
    return sys.modules[name]


def maximum(ex_id: str) -> float:
    """The points an exercise is worth, as its suite's check markers give them (one device)."""
    from grader.engine.markers import parse_check

    total = 0.0
    for name, fn in vars(load_suite(ex_id)).items():
        for mark in getattr(fn, "pytestmark", []) if name.startswith("test_") else []:
            if mark.name == "check":
                total += parse_check(name, mark.args, mark.kwargs).points
    return total
