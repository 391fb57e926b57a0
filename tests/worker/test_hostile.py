"""Hostile submissions that need more than the golden harness: the grader in a subprocess, and
every level of isolation this machine can give.

The static policy refuses the hostile fixtures before anything runs (their expected.json
says so); ``test_lock.py`` gets past it on purpose to test the worker's lock. Here the
grader itself is the target: a result file that must not change after the grader wrote it,
and the same outcomes with bubblewrap turned off (where the grader is root, workers still run
as uids of their own).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.engine.session import grade_submission
from grader.isolation.pool import Level, isolation_for, private_python
from grader.settings import Limits, Settings
from kit_files import FIXTURES, ROOT as KIT

DETACHED = '''
import numpy as np
import torch

os = torch.os           # past the static policy on purpose: what does the worker allow?


def matvec(m, v):
    if os.fork() == 0:              # a daemon that would forge a result 2 s later
        os.setsid()
        if os.fork() == 0:
            import time
            time.sleep(2)
            with open(os.environ["FORGE"], "w") as f:
                f.write('{"score": 999}')
        os._exit(0)
    return (np.asarray(m) * np.asarray(v)).sum(axis=1)
'''


def _grade_cli(submission: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRADER_TIMING": "false"}
    return subprocess.run([sys.executable, "-m", "grader", "grade", "ex03_matmul", "--submission",
                           str(submission), "--json", str(out), *extra], cwd=KIT, env=env,
                          capture_output=True, text=True, timeout=240)


@pytest.mark.parametrize("sandbox", ["true", "false"])
def test_a_result_file_cannot_be_rewritten_after_the_grader_wrote_it(tmp_path, sandbox):
    out = tmp_path / "result.json"
    env_sandbox = {"GRADER_SANDBOX": sandbox}
    old = {k: os.environ.get(k) for k in env_sandbox}
    os.environ.update(env_sandbox)
    try:
        done = _grade_cli(FIXTURES / "hostile_overwrites_results", out)
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    written = out.read_bytes()
    time.sleep(3)
    assert out.read_bytes() == written, "the result file changed after the grader wrote it"
    checks = {c["id"]: c for c in json.loads(written)["exercises"][0]["checks"]}
    assert "is not allowed in these exercises" in checks["matmul_lesson_example"]["feedback"]


@pytest.mark.parametrize("sandbox", [True, False])
def test_a_daemon_past_the_policy_is_refused_and_leaves_nothing(tmp_path, monkeypatch, sandbox):
    import grader.engine.session as session

    sub = tmp_path / "submission"
    sub.mkdir()
    (sub / "ex03_matmul.py").write_text(DETACHED)
    forged = tmp_path / "forged.json"
    monkeypatch.setenv("FORGE", str(forged))
    monkeypatch.setattr(session, "apply_policy", lambda loaded: None)   # the first layer, off
    result = grade_submission(submission=sub, exercises=["ex03_matmul"],
                              settings=Settings(timing=False, sandbox=sandbox))
    check = {c.id: c for c in result.exercises[0].checks}["matvec_lesson_example"]
    assert check.status.value == "error"
    assert "ex03_matmul.py line 9: starting a process is not allowed" in check.feedback
    time.sleep(2.5)
    assert not forged.exists()


def test_unsandboxed_grading_still_works_and_says_so() -> None:
    settings = Settings(timing=False, sandbox=False).with_limits(call_timeout_s=2, memory_mb=512)
    result = grade_submission(submission=FIXTURES / "hostile_memory_bomb", exercises=["ex03_matmul"],
                              settings=settings)
    checks = {c.id: c for c in result.exercises[0].checks}
    assert "memory limit of 512 MiB exceeded" in checks["matmul_lesson_example"].feedback
    assert checks["matvec_lesson_example"].status.value == "passed"
    isolation = isolation_for(settings)
    assert isolation.describe() in result.notes
    if os.geteuid() == 0 and private_python() is None:
        assert isolation.level is Level.UIDS and "no bubblewrap" in isolation.describe()
    else:                  # a Python in root's home: workers cannot drop to other uids here
        assert isolation.level is Level.LIMITS and "grade untrusted code with bubblewrap" in isolation.describe()
    assert Limits().describe() not in result.notes   # these limits were changed: the report says so
    assert any(n.startswith("limits: 2 s per call, 512 MiB memory") for n in result.notes)
