"""Hostile submissions that need more than ``test_golden.py`` gives: a grader in a subprocess.

The cases with ``expected_sandboxed.json`` (same format as ``expected.json``) attack the
grader process itself (SIGKILL to the parent, a detached daemon that overwrites the result
file, reading the kit by absolute path). They are run through the command line in a
subprocess, so a sandbox that fails cannot kill this test run, and only where bubblewrap
works: without it these attacks succeed, a gap the README's threat model states.
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
from grader.isolation.client import Learner
from grader.isolation.launch import describe_sandbox, probe_sandbox, sandbox_for
from grader.settings import Limits, Settings
from kit_files import FIXTURES, ROOT as KIT

SANDBOXED_CASES = sorted(p for p in FIXTURES.glob("hostile_*/") if (p / "expected_sandboxed.json").exists())
BWRAP, WHY = probe_sandbox()
needs_sandbox = pytest.mark.skipif(
    BWRAP is None, reason=f"no sandbox here ({WHY}): unsandboxed, this attack succeeds (README, "
                          "'Security: the sandbox and its threat model')")
ENV_NAMES = {"call_timeout_s": "GRADER_CALL_TIMEOUT_S", "import_timeout_s": "GRADER_IMPORT_TIMEOUT_S",
             "memory_mb": "GRADER_MEMORY_MB", "output_kb": "GRADER_OUTPUT_KB", "timing": "GRADER_TIMING"}


def _grade_cli(case: Path, out: Path, settings: dict) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRADER_TIMING": "false"}
    env.update({ENV_NAMES[k]: str(v).lower() for k, v in settings.items()})
    return subprocess.run([sys.executable, "-m", "grader", "grade", "ex03_matmul", "--submission",
                           str(case), "--json", str(out)], cwd=KIT, env=env, capture_output=True,
                          text=True, timeout=240)


def _check_expectations(spec: dict, result: dict) -> None:
    exercises = {e["id"]: e for e in result["exercises"]}
    for ex_id, status in spec.get("exercise_status", {}).items():
        assert exercises[ex_id]["status"] == status, json.dumps(exercises[ex_id], indent=1)[:3000]
    listed = set()
    for key, want in spec.get("checks", {}).items():
        ex_id, check_id = key.split("/")
        check = {c["id"]: c for c in exercises[ex_id]["checks"]}[check_id]
        listed.add(key)
        assert check["status"] == want["status"], f"{key}: {check['feedback']}"
        for phrase in want.get("feedback", []):
            assert phrase in check["feedback"], f"{key}: {phrase!r} not in {check['feedback']!r}"
    if "other_checks" in spec:
        for ex in result["exercises"]:
            for check in ex["checks"]:
                if f"{ex['id']}/{check['id']}" not in listed and check["status"] != "skipped":
                    assert check["status"] == spec["other_checks"], f"{check['id']}: {check['feedback']}"


@needs_sandbox
@pytest.mark.parametrize("case", SANDBOXED_CASES, ids=[c.name for c in SANDBOXED_CASES])
def test_attack_on_the_grader_fails_in_the_sandbox(case: Path, tmp_path: Path) -> None:
    spec = json.loads((case / "expected_sandboxed.json").read_text())
    out = tmp_path / "result.json"
    done = _grade_cli(case, out, spec.get("settings", {}))
    assert done.returncode in (0, 1), f"the grader did not finish: {done.returncode}\n{done.stderr[-3000:]}"
    assert "sandbox: bubblewrap" in done.stdout
    written = out.read_bytes()
    if case.name == "hostile_overwrites_results":
        time.sleep(3)   # the daemon sleeps 2 s after matmul's first call, long before this
        assert out.read_bytes() == written, "the result file changed after the grader wrote it"
    _check_expectations(spec, json.loads(written))


DAEMON = '''
import os, time
def spawn(seconds):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(seconds)
            open(os.path.join(os.environ["HOME"], "daemon-was-here"), "w").write("x")
            os._exit(0)
        os._exit(0)
    os.wait()
    return os.environ["HOME"]
'''


@needs_sandbox
def test_a_detached_daemon_ends_with_the_worker(tmp_path: Path) -> None:
    sub = tmp_path / "submission"
    sub.mkdir()
    (sub / "daemon.py").write_text(DAEMON)
    scratch = tmp_path / "scratch"
    with Learner(sub, modules=["daemon"], scratch=scratch) as learner:
        home = Path(learner.module("daemon").spawn(0))       # control: a daemon can write there
        deadline = time.monotonic() + 5
        while not (home / "daemon-was-here").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (home / "daemon-was-here").exists()
        (home / "daemon-was-here").unlink()
        learner.module("daemon").spawn(1.5)
    time.sleep(2.5)
    assert not (home / "daemon-was-here").exists(), "a detached process outlived the worker"


@needs_sandbox
def test_the_process_limit_holds_and_is_named() -> None:
    result = grade_submission(submission=FIXTURES / "hostile_fork_bomb", exercises=["ex03_matmul"],
                              settings=Settings(timing=False).with_limits(call_timeout_s=5))
    checks = {c.id: c for c in result.exercises[0].checks}
    assert "limit of 256 processes and threads reached" in checks["matmul_lesson_example"].feedback
    assert checks["matvec_lesson_example"].status.value == "passed"


def test_unsandboxed_grading_still_works_and_says_so() -> None:
    settings = Settings(timing=False, sandbox=False).with_limits(call_timeout_s=2, memory_mb=512)
    result = grade_submission(submission=FIXTURES / "hostile_memory_bomb", exercises=["ex03_matmul"],
                              settings=settings)
    checks = {c.id: c for c in result.exercises[0].checks}
    assert "memory limit of 512 MiB exceeded" in checks["matmul_lesson_example"].feedback
    assert checks["matvec_lesson_example"].status.value == "passed"
    off = describe_sandbox(sandbox_for(settings))
    assert off in result.notes and off.startswith("sandbox: none — ")
    assert Limits().describe() not in result.notes   # these limits were changed: the report says so
    assert any(n.startswith("limits: 2 s per call, 512 MiB memory") for n in result.notes)
