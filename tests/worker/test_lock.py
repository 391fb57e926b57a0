"""The worker's lock and the pool's uids, tested as if the static policy had a gap.

The learner module below reaches ``os`` and ``sys`` through ``torch.os`` and ``torch.sys``,
which the static policy refuses (``tests/unit/test_policy.py``) but nothing at run time stops:
so every attack here gets past the first layer, and what refuses it is the second one (the
audit hook, the guarded import, the thread and stride guards, the uid and its process limit).
"""

from __future__ import annotations

import os
import pwd
import shutil
import textwrap
from pathlib import Path

import pytest

from grader.errors import ImportFailed, LearnerRaised, Refused
from grader.isolation.client import Learner
from grader.isolation.pool import Pool
from grader.settings import Settings

ATTACKS = '''
import numpy as np
import torch

os, sys = torch.os, torch.sys          # what the static policy would refuse, to test the lock


def fork():
    return os.fork()


def system():
    return os.system("true")


def kill_parent():
    os.kill(os.getppid(), 9)


def thread():
    import collections
    t = torch.multiprocessing   # unreachable by import; threads are refused where they start
    return sys.modules["threading"].Thread(target=print).start()


def settrace():
    sys.settrace(None)


def frames():
    try:
        1 / 0
    except ZeroDivisionError as e:
        return str(e.__traceback__.tb_frame.f_back.f_globals.keys())


def getframe():
    return str(sys._getframe(1).f_globals.keys())


def heap():
    return len(sys.modules["gc"].get_objects())


def write_file():
    with open(os.path.join(os.environ["HOME"], "x.txt"), "w") as f:
        f.write("x")


def read_file(path):
    with open(path) as f:
        return f.read()[:20]


def compile_code():
    return eval("1 + 1")


def import_sys():
    import sys as again
    return again.version


def caught():
    try:
        sys.settrace(None)
    except Exception:
        pass
    return "carried on"


def out_of_bounds():
    a = np.zeros(4)
    view = np.lib.stride_tricks.as_strided(a, shape=(1 << 20,), strides=(8,))
    return float(view.sum())


def in_bounds():
    a = np.arange(3.0)
    return np.lib.stride_tricks.as_strided(a, shape=(4, 3), strides=(0, 8)).sum()


def identity():
    return os.getuid(), os.getgid()
'''


@pytest.fixture(scope="module")
def pool():
    with Pool(Settings().with_limits(call_timeout_s=10), preload=["numpy", "torch"]) as pool:
        yield pool


def _learner(pool: Pool, tmp_path: Path, text: str = ATTACKS, name: str = "attacks") -> Learner:
    folder = pool.folder("lock-") / "submission"
    folder.mkdir()
    (folder / f"{name}.py").write_text(textwrap.dedent(text))
    gid = pool.claim_group()
    pool.share(folder, gid)
    return Learner(folder, pool=pool, modules=[name], gid=gid)


@pytest.fixture
def attacks(pool, tmp_path):
    with _learner(pool, tmp_path) as learner:
        yield learner.module("attacks")
        pool.release_group(learner.gid)


REFUSED = [
    ("fork", (), "starting a process"),
    ("system", (), "running a shell command"),
    ("kill_parent", (), "sending a signal"),
    ("thread", (), "starting a thread"),
    ("settrace", (), "changing the tracer"),
    ("frames", (), "reading interpreter internals"),
    ("getframe", (), "reading the call stack"),
    ("heap", (), "walking the heap"),
    ("write_file", (), "opening files"),
    ("read_file", ("/etc/passwd",), "opening files"),
    ("compile_code", (), "compiling code at run time"),
    ("import_sys", (), "importing `sys`"),
    ("caught", (), "changing the tracer"),        # caught by the learner, reported all the same
    ("out_of_bounds", (), "a view reaching outside its array's memory"),
]


@pytest.mark.parametrize("function, args, what", REFUSED, ids=[r[0] for r in REFUSED])
def test_the_lock_refuses_and_names_the_line(attacks, function, args, what):
    with pytest.raises(Refused) as info:
        getattr(attacks, function)(*args)
    message = str(info.value)
    assert message.startswith("attacks.py line ") and f"{what} is not allowed" in message, message
    line = int(message.split("line ")[1].split(":")[0])
    lines = ATTACKS.split("\n")
    in_function = lines[lines.index(next(s for s in lines if s.startswith(f"def {function}("))):]
    assert any(line == lines.index(s) + 1 for s in in_function[:8]), message


def test_what_the_exercises_need_still_works(attacks):
    assert attacks.in_bounds() == 12.0


@pytest.mark.skipif(os.geteuid() != 0, reason="workers get uids of their own only where the grader is root")
def test_each_worker_runs_as_a_uid_of_its_own(pool, tmp_path):
    seen = set()
    for _ in range(3):
        with _learner(pool, tmp_path) as learner:
            uid, gid = learner.module("attacks").identity()
            assert uid != 0 and gid == learner.gid
            with pytest.raises(KeyError):
                pwd.getpwuid(uid)            # no account has it
            seen.add(uid)
            pool.release_group(learner.gid)
    assert len(seen) == 3


@pytest.mark.skipif(os.geteuid() != 0, reason="workers get uids of their own only where the grader is root")
def test_a_worker_cannot_read_another_submission(pool, tmp_path):
    with _learner(pool, tmp_path) as other:
        secret = other.submission_dir / "attacks.py"
        with _learner(pool, tmp_path, name="snoop", text=ATTACKS.replace("attacks", "snoop")) as mine:
            with pytest.raises((Refused, LearnerRaised)):
                mine.module("snoop").read_file(str(secret))
            pool.release_group(mine.gid)
        pool.release_group(other.gid)


def test_a_refused_module_import_is_the_modules_error(pool, tmp_path):
    with _learner(pool, tmp_path, text="import numpy\nimport subprocess\n", name="bad") as learner:
        with pytest.raises(ImportFailed) as info:
            learner.module("bad").anything()
        assert isinstance(info.value.cause, Refused)
        assert "bad.py line 2: importing `subprocess` is not allowed" in str(info.value)
        pool.release_group(learner.gid)
