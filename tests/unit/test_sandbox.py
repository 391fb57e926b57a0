"""The isolation as data: the report line tells the truth about it, the zygote's command line
follows it, and a batch child takes its parent's probe (or probes afresh when it is junk)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from grader.isolation.launch import Sandbox, sandbox_for, zygote_command
from grader.isolation.pool import ISOLATION, Isolation, Level, isolation_for
from grader.settings import Settings, resolve


def test_the_note_tells_the_truth_about_the_isolation() -> None:
    for level in Level:
        line = Isolation(level, None, "bwrap not installed").describe()
        assert line.startswith("isolation: ") and line.endswith(("the lock", "installed"))
    assert "bwrap not installed" in Isolation(Level.UIDS, None, "bwrap not installed").describe()
    off = isolation_for(Settings(sandbox=False))
    assert off.bwrap is None and "the sandbox was turned off" in off.describe()
    assert set(ISOLATION) == set(Level)


def test_the_zygote_starts_in_bubblewrap_only_when_there_is_one() -> None:
    plain, env = zygote_command(python=sys.executable, runtime=Path("/r"), root=Path("/x"),
                                control_fd=3, preload=["numpy"], bwrap=None, settings=Settings())
    assert plain[0] == sys.executable and plain[-2:] == ["--preload", "numpy"]
    assert env["OMP_NUM_THREADS"] == "1" and env["HOME"] == "/x"
    wrapped, _ = zygote_command(python=sys.executable, runtime=Path("/r"), root=Path("/x"),
                                control_fd=3, preload=["numpy"], bwrap="/usr/bin/bwrap",
                                settings=Settings().with_limits(home_mb=64))
    assert wrapped[0] == "/usr/bin/bwrap" and wrapped[wrapped.index("--") + 1:] == plain
    size = wrapped.index("--size")
    assert wrapped[size + 1] == str(64 << 20) and wrapped[size + 2:size + 4] == ["--tmpfs", "/tmp"]


def test_a_batch_child_inherits_the_probe_and_ignores_a_malformed_one() -> None:
    made = Settings(sandbox_probe=("/usr/bin/bwrap", "bubblewrap"))
    child = Settings.from_dict(json.loads(json.dumps(made.to_dict())))   # as a batch passes it
    assert child == made and sandbox_for(child) == Sandbox("/usr/bin/bwrap", "bubblewrap")
    inherited = resolve({}, env={"GRADER_SANDBOX_PROBE": json.dumps([None, "bwrap not installed"])})
    assert sandbox_for(inherited) == Sandbox(None, "bwrap not installed")
    for junk in ("not json", json.dumps(["/no/such/bwrap", "bubblewrap"]), json.dumps([1, 2])):
        assert resolve({}, env={"GRADER_SANDBOX_PROBE": junk}).sandbox_probe is None   # probed afresh
