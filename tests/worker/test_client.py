"""The learner client and its workers: calls, failures that cost one call only, restarts,
output, and the pool that forks every worker."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from grader.errors import (ImportFailed, LearnerRaised, ModuleMissing, NotStarted, WorkerDied,
                           WorkerTimeout)
from grader.isolation.proxies import RemoteObject
from learner_pool import open_learner, write_modules

TOOLS = '''
import numpy as np

TOKEN = int(np.random.default_rng().integers(1 << 62))   # new in every worker (from the OS)


def add(a, b):
    return a + b


def token():
    return TOKEN


def spin():
    while True:
        pass


def leave():
    raise SystemExit("bye")


def hog(mb):
    block = np.ones(mb * (1 << 20) // 8)
    return float(block.sum())


def chatter(lines, width=40):
    for i in range(lines):
        print(f"{i:06d} " + "x" * width)
    return lines


def layout(a):
    return {"strides": a.strides, "contiguous": a.flags.c_contiguous,
            "writeable": a.flags.writeable}


def todo():
    raise NotImplementedError("not yet")


def fails():
    raise KeyError("missing key")


class Scaler:
    def __init__(self, k):
        self.k = k
        self.weights = np.arange(3.0) * k
        self.inner = Inner()

    def times(self, x):
        return self.k * x

    def __call__(self, x):
        return x + self.k


class Inner:
    label = "inner"


def make(k):
    return Scaler(k)


def read_k(scaler):
    return scaler.k
'''


def _submission(tmp_path: Path, **modules: str) -> Path:
    return write_modules(tmp_path / "submission", **modules)


@pytest.fixture
def learner(tmp_path):
    with open_learner(_submission(tmp_path, tools=TOOLS), ["tools"], call_timeout_s=1,
                      import_timeout_s=5) as lrn:
        yield lrn


def test_calls_return_data(learner):
    tools = learner.module("tools")
    assert tools.add(2, 3) == 5
    got = tools.add(np.arange(3), np.ones(3, dtype=np.int64))
    assert got.dtype == np.int64 and got.tolist() == [1, 2, 3]
    result = tools.add.call(1.5, 2.0)
    assert result.value == 3.5 and result.seconds > 0


def test_timeout_costs_one_call_and_the_worker_restarts(learner):
    tools = learner.module("tools")
    first = tools.token()
    start = time.monotonic()
    with pytest.raises(WorkerTimeout) as info:
        tools.spin.call(timeout=0.5)
    assert time.monotonic() - start < 3
    assert info.value.seconds == 0.5 and info.value.what == "spin"
    assert tools.add(1, 1) == 2
    assert tools.token() != first


def test_default_timeout_comes_from_the_limits(learner):
    start = time.monotonic()
    with pytest.raises(WorkerTimeout) as info:
        learner.module("tools").spin()
    assert info.value.seconds == 1 and time.monotonic() - start < 4


def test_a_worker_killed_under_it_is_a_dead_worker_then_a_fresh_one(learner):
    tools = learner.module("tools")
    first = tools.token()
    learner.pool.zygote.kill(learner._proc.worker.pid)     # as the kernel's OOM killer would
    with pytest.raises(WorkerDied, match="SIGKILL"):
        tools.add(1, 1)
    assert tools.add(2, 2) == 4 and tools.token() != first


def test_sys_exit_is_an_exception_and_the_worker_lives(learner):
    tools = learner.module("tools")
    first = tools.token()
    with pytest.raises(LearnerRaised) as info:
        tools.leave()
    assert info.value.is_a(SystemExit) and info.value.message == "bye"
    assert tools.token() == first


def test_memory_exhaustion_stays_in_the_worker(tmp_path):
    folder = _submission(tmp_path, tools=TOOLS)
    with open_learner(folder, ["tools"], call_timeout_s=20, memory_mb=700) as lrn:
        tools = lrn.module("tools")
        assert tools.hog(16) == 16 * (1 << 20) // 8
        # Past RLIMIT_DATA NumPy's allocation fails inside the worker: a MemoryError the
        # learner's code raised, not a dead worker and not a grader crash.
        with pytest.raises(LearnerRaised) as info:
            tools.hog(1024)
        assert info.value.is_a(MemoryError)
        assert tools.add(1, 2) == 3


def test_exceptions_carry_type_message_and_learner_frames(learner):
    tools = learner.module("tools")
    with pytest.raises(LearnerRaised) as info:
        tools.fails()
    err = info.value
    assert err.type_name == "KeyError" and err.is_a(KeyError) and err.is_a(LookupError)
    assert not err.is_a(ValueError)
    assert err.where.startswith("tools.py, line") and err.where.endswith("in fails")
    assert "/" not in err.traceback_text.split("tools.py")[0]   # paths relative to the submission


def test_not_implemented_is_not_started(learner):
    with pytest.raises(NotStarted):
        learner.module("tools").todo()


def test_missing_module(learner):
    with pytest.raises(ModuleMissing):
        learner.module("absent").anything()


def test_import_failure_is_cached(tmp_path):
    folder = _submission(tmp_path, tools=TOOLS, broken="from numpy import no_such_name_here\n",
                         slow="while True:\n    pass\n")
    with open_learner(folder, ["tools", "broken", "slow"], call_timeout_s=1,
                      import_timeout_s=1) as lrn:
        with pytest.raises(ImportFailed) as info:
            lrn.module("broken").f()
        assert isinstance(info.value.cause, LearnerRaised)
        assert "no_such_name_here" in str(info.value)
        with pytest.raises(ImportFailed):
            lrn.module("broken").g()

        start = time.monotonic()
        with pytest.raises(ImportFailed) as info:
            lrn.module("slow").f()
        first = time.monotonic() - start
        assert isinstance(info.value.cause, WorkerTimeout) and 0.9 < first < 4
        start = time.monotonic()
        for _ in range(5):
            with pytest.raises(ImportFailed):
                lrn.module("slow").f()
        assert time.monotonic() - start < 0.5    # the hanging import is paid for once

        assert lrn.module("tools").add(1, 1) == 2    # other modules are unaffected


def test_cached_import_failure_does_not_grow_its_traceback(tmp_path):
    folder = _submission(tmp_path, broken="raise RuntimeError('at import')\n")
    with open_learner(folder, ["broken"]) as lrn:
        depths = []
        for _ in range(4):
            with pytest.raises(ImportFailed) as info:
                lrn.module("broken").f()
            tb, depth = info.value.__traceback__, 0
            while tb is not None:
                tb, depth = tb.tb_next, depth + 1
            depths.append(depth)
        assert depths[-1] == depths[1]


def test_remote_objects(learner):
    tools = learner.module("tools")
    scaler = tools.make(3)
    assert isinstance(scaler, RemoteObject) and scaler.type_name == "Scaler"
    assert scaler.k == 3
    np.testing.assert_array_equal(scaler.weights, [0.0, 3.0, 6.0])
    assert scaler.method("times", 4) == 12
    assert scaler(5) == 8
    inner = scaler.inner
    assert isinstance(inner, RemoteObject) and inner.label == "inner"
    assert tools.read_k(scaler) == 3            # passed back, it is the live object again
    with pytest.raises(LearnerRaised) as info:
        scaler.no_such_attribute
    assert info.value.is_a(AttributeError)


def test_remote_objects_do_not_survive_a_restart(learner):
    tools = learner.module("tools")
    scaler = tools.make(2)
    with pytest.raises(WorkerTimeout):
        tools.spin.call(timeout=0.3)
    with pytest.raises(WorkerDied, match="restarted"):
        scaler.k
    with pytest.raises(WorkerDied):
        tools.read_k(scaler)


def test_arguments_arrive_with_their_layout(learner):
    tools = learner.module("tools")
    base = np.arange(35.0).reshape(5, 7)
    for view in (base[:, ::2], base.T, base[::-1]):
        got = tools.layout(view)
        assert got["strides"] == view.strides and got["contiguous"] == view.flags.c_contiguous
    assert tools.layout(np.broadcast_to(base[0], (3, 7)))["writeable"] is False


def test_output_is_captured_and_cut(learner):
    tools = learner.module("tools")
    assert tools.chatter(3) == 3
    out = learner.take_output()
    assert "000000 " in out and "000002 " in out
    assert learner.take_output() == ""          # each call's output is taken once
    tools.chatter(200)
    cut = learner.take_output(limit=100)
    assert cut.startswith("000000 ") and cut.endswith("[... output cut]")
    assert len(cut) == 100 + len("\n[... output cut]")


def test_printing_past_the_output_limit_does_not_kill_the_worker(tmp_path):
    folder = _submission(tmp_path, tools=TOOLS)
    with open_learner(folder, ["tools"], call_timeout_s=5, output_kb=16) as lrn:
        tools = lrn.module("tools")
        first = tools.token()
        assert tools.chatter(2000) == 2000           # about 96 KiB printed
        assert tools.chatter(10) == 10
        assert tools.token() == first
        out = lrn.take_output(limit=1 << 20)
        assert "output cut: over the output limit" in out
        assert len(out.encode()) <= 16 * 1024
        assert tools.chatter(5) == 5
        assert tools.token() == first


def test_a_long_output_is_not_carried_over_to_the_next_take(learner):
    tools = learner.module("tools")
    tools.chatter(500)
    assert learner.take_output(limit=200).endswith("[... output cut]")
    tools.chatter(1, width=3)
    assert learner.take_output() == "000000 xxx\n"


def test_the_zygote_preloads_and_a_worker_is_a_fork(tmp_path):
    folder = _submission(tmp_path, tools=TOOLS)
    with open_learner(folder, ["tools"]) as lrn:
        assert lrn.module("tools").add(1, 2) == 3
        assert "numpy" in lrn.pool.zygote.ready["preloaded"]
        starts = []
        for _ in range(5):                             # each restart forks a fresh worker
            lrn._discard()
            start = time.perf_counter()
            lrn.module("tools").add(1, 1)
            starts.append(time.perf_counter() - start)
        assert sorted(starts)[2] < 0.5, starts


def test_a_learners_module_cannot_shadow_a_library(tmp_path):
    folder = _submission(tmp_path, numpy="FAKE = True\n",
                         probe="import numpy\n\ndef real():\n    return not hasattr(numpy, 'FAKE')\n")
    with open_learner(folder, ["probe"]) as lrn:       # numpy was loaded before the submission
        assert lrn.module("probe").real() is True


def test_a_pool_not_ready_in_time_is_a_dead_worker(tmp_path):
    folder = _submission(tmp_path, tools=TOOLS)
    with open_learner(folder, ["tools"], preload=("numpy", "torch"), start_timeout_s=0.05) as lrn:
        with pytest.raises(ImportFailed) as info:     # torch takes longer than that to load
            lrn.module("tools").add(1, 2)
        assert isinstance(info.value.cause, WorkerDied) and "did not answer in time" in str(info.value)
