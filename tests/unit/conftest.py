"""The unit tier starts no processes: a test here that tries fails, naming what it started."""

from __future__ import annotations

import os
import subprocess

import pytest


class StartsAProcess(AssertionError):
    pass


@pytest.fixture(autouse=True)
def _no_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise StartsAProcess(f"a unit test started a process: {args[:1]!r}; it belongs in "
                             "tests/worker, tests/kit or tests/instructor")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(os, "fork", refuse)
