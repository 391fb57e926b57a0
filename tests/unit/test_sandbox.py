"""The sandbox as data: the report line tells the truth about it, the worker's command line
follows it, and a batch child takes its parent's probe (or probes afresh when it is junk)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from grader.isolation import protocol
from grader.isolation.launch import Sandbox, describe_sandbox, sandbox_for, worker_command
from grader.settings import Limits, Settings, resolve


def test_the_note_tells_the_truth_about_the_sandbox() -> None:
    missing = Sandbox(None, "bwrap not installed")
    assert describe_sandbox(missing) == ("sandbox: none — bwrap not installed; learner code ran "
                                         "as an ordinary subprocess with resource limits")
    cmd, _ = worker_command(python=sys.executable, runtime=Path("/r"), submission=Path("/s"),
                            scratch=Path("/x"), requests_fd=3, replies_fd=4, threads=1,
                            bwrap=missing.bwrap, limits=Limits())
    assert cmd[0] == sys.executable and protocol.OPT_MAX_PROCESSES not in cmd
    assert describe_sandbox(Sandbox("/usr/bin/bwrap", "bubblewrap")).startswith("sandbox: bubblewrap (")
    assert describe_sandbox(sandbox_for(Settings(sandbox=False))).startswith(
        "sandbox: none — the sandbox was turned off")


def test_a_batch_child_inherits_the_probe_and_ignores_a_malformed_one() -> None:
    made = Settings(sandbox_probe=("/usr/bin/bwrap", "bubblewrap"))
    child = Settings.from_dict(json.loads(json.dumps(made.to_dict())))   # as a batch passes it
    assert child == made and sandbox_for(child) == Sandbox("/usr/bin/bwrap", "bubblewrap")
    inherited = resolve({}, env={"GRADER_SANDBOX_PROBE": json.dumps([None, "bwrap not installed"])})
    assert sandbox_for(inherited) == Sandbox(None, "bwrap not installed")
    for junk in ("not json", json.dumps(["/no/such/bwrap", "bubblewrap"]), json.dumps([1, 2])):
        assert resolve({}, env={"GRADER_SANDBOX_PROBE": junk}).sandbox_probe is None   # probed afresh
