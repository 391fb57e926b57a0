"""The batch's pure parts: what it grades (discovery, shards), when a result is stale, the
timing lock outside a batch, and the sweep of scratch folders left by dead processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.engine.timing_lock import exclusive_timing
from grader.instructor import batch
from grader.instructor.batch import Entry, discover, fingerprint, parse_shard, shard
from grader.settings import resolve


def _pid_max() -> int:
    try:
        return int(Path("/proc/sys/kernel/pid_max").read_text())
    except (OSError, ValueError):
        return 32768


def test_shards_partition_the_sorted_names():
    entries = [Entry(f"s{i:02d}", Path(f"s{i:02d}")) for i in range(10)][::-1]
    parts = [shard(entries, k, 3) for k in (1, 2, 3)]
    names = [e.name for p in parts for e in p]
    assert sorted(names) == [f"s{i:02d}" for i in range(10)] and len(set(names)) == 10
    assert [e.name for e in parts[0]] == ["s00", "s03", "s06", "s09"]
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "x", "1/0"):
        with pytest.raises(batch.BatchError):
            parse_shard(bad)


def test_discover_names_submissions_by_file_name(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice.zip").write_bytes(b"")
    (tmp_path / "bob.ipynb").write_text("{}")
    (tmp_path / "carol.zip").write_bytes(b"")
    (tmp_path / ".DS_Store").write_text("")
    (tmp_path / "__MACOSX").mkdir()
    assert [e.name for e in discover(tmp_path)] == ["alice", "alice.zip", "bob", "carol"]


def test_a_changed_submission_is_graded_again(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "ex01_vectors.py").write_text("x = 1\n")
    first = fingerprint(tmp_path / "s", ["ex01_vectors"])
    (tmp_path / "s" / "ex01_vectors.py").write_text("x = 2\n")
    assert fingerprint(tmp_path / "s", ["ex01_vectors"]) != first
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    raw = fingerprint(tmp_path / "bad.zip", ["ex01_vectors"])
    (tmp_path / "bad.zip").write_bytes(b"still not a zip")
    assert raw.startswith("raw:") and fingerprint(tmp_path / "bad.zip", ["ex01_vectors"]) != raw


def test_timing_lock_is_a_no_op_outside_a_batch():
    assert resolve({}, env={}).timing_lock is None
    with exclusive_timing(None) as waited:
        assert waited == 0.0


def test_scratch_folders_of_dead_processes_are_swept(tmp_path):
    from grader.files import scratch_dir, sweep_stale_scratch

    dead = next(pid for pid in range(_pid_max() - 1, 1, -1) if not Path(f"/proc/{pid}").exists())
    stale = tmp_path / f"grader-{dead}-batch-abc"
    (stale / "cwd-0").mkdir(parents=True)
    mine = scratch_dir()
    try:
        live = tmp_path / mine.name
        live.mkdir()
        unrelated = tmp_path / "grader-notes"
        unrelated.mkdir()
        assert sweep_stale_scratch(tmp_path) == 1
        assert not stale.exists() and live.exists() and unrelated.exists()
    finally:
        mine.rmdir()
