"""The worker pool: one zygote per grading process, and the uids its workers run as.

``Pool`` starts the zygote (``zygote.py``: NumPy and PyTorch loaded once, inside bubblewrap
where it works) and asks it for a worker whenever the client needs one: a fork, a few
milliseconds, instead of an interpreter start and a PyTorch import. A batch starts one pool and
gives each grading child a *session* of it (``Pool.session``): a copy of the zygote that serves
that child alone and ends with it.

Where the grader is root, every worker runs as a uid of its own (``UidPool``) with a process
limit of 1: it cannot start a process or a thread, signal another worker or read another
submission (each submission's copy is readable by its own group only), and when it ends,
every process of its uid is killed. How much of this holds on this machine is ``Isolation``,
one line in every report.
"""

from __future__ import annotations

import enum
import errno
import fcntl
import os
import pwd
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from grader import allowlist, truncation
from grader.errors import WorkerDied
from grader.files import scratch_dir
from grader.isolation import protocol as P
from grader.isolation import zygote as Z
from grader.isolation.launch import (guard_kit, kill_group, sandbox_for, zygote_command)
from grader.settings import Settings

_HERE = Path(__file__).resolve().parent
# What the zygote and its workers run, copied into a private folder and imported there as
# plain modules (standard library only at module level).
RUNTIME_FILES = tuple(_HERE / name for name in (
    "zygote.py", "worker.py", "protocol.py", "codec.py", "probes.py", "lock.py", "cells.py")) \
    + (Path(truncation.__file__).resolve(),)
RUNTIME_MODULES = frozenset(p.stem for p in RUNTIME_FILES)
CUDA_TASKS = 64        # a CUDA worker's process limit: the driver starts threads of its own
UID_LOCKS = Path("/tmp/grader-uids")


class Level(enum.Enum):
    """How far learner code is isolated, strongest first."""

    SANDBOX_UIDS = "bubblewrap, a uid per worker"
    UIDS = "a uid per worker, no bubblewrap"
    SANDBOX = "bubblewrap, one uid"
    LIMITS = "resource limits only"


ISOLATION = {
    Level.SANDBOX_UIDS: ("isolation: bubblewrap (own PID, network and IPC namespaces; only the "
                         "submission, its scratch folder and read-only system folders visible), "
                         "each worker its own uid with a process limit of 1, and the lock"),
    Level.UIDS: ("isolation: no bubblewrap ({why}); each worker runs as its own uid with a process "
                 "limit of 1, cannot read the kit or write results, and every process of that uid "
                 "is ended before results are written; and the lock"),
    Level.SANDBOX: ("isolation: bubblewrap with a user namespace (own PID, network and IPC "
                    "namespaces; only the submission and read-only system folders visible), one "
                    "uid for all workers (the grader is not root), and the lock"),
    Level.LIMITS: ("isolation: none but resource limits and the lock ({why}; workers run as the "
                   "grader's own user): grade untrusted code with bubblewrap installed"),
}


@dataclass(frozen=True)
class Isolation:
    level: Level
    bwrap: str | None       # the bubblewrap to start the zygote in, or None
    why: str                # why bubblewrap is not used, when it is not

    @property
    def uids(self) -> bool:
        return self.level in (Level.SANDBOX_UIDS, Level.UIDS)

    def describe(self) -> str:
        return ISOLATION[self.level].format(why=self.why)


def isolation_for(settings: Settings) -> Isolation:
    sandbox = sandbox_for(settings)
    root = os.geteuid() == 0
    if sandbox.bwrap is not None:
        return Isolation(Level.SANDBOX_UIDS if root else Level.SANDBOX, sandbox.bwrap, "")
    if not root:
        return Isolation(Level.LIMITS, None, f"{sandbox.why}; the grader is not root")
    private = private_python()
    if private is not None:
        return Isolation(Level.LIMITS, None, f"{sandbox.why}; {private} cannot be read by other "
                                             f"users, so workers cannot run as uids of their own")
    return Isolation(Level.UIDS, None, sandbox.why)


def private_python() -> str | None:
    """The first folder on the way to Python's installation or its site-packages that other
    users cannot pass (``/root`` for a Python installed in root's home), or None."""
    import site
    import sysconfig

    for root in {sysconfig.get_paths()["stdlib"], *site.getsitepackages(), sys.prefix}:
        path = Path(os.path.realpath(root))
        for folder in [*reversed(path.parents), path]:
            try:
                mode = folder.stat().st_mode
            except OSError:
                continue
            if not mode & 0o001:
                return str(folder)
    return None


class PoolError(WorkerDied):
    """The pool could not start or stopped answering: the machine's problem, reported as a
    worker that could not start."""


# -- the zygote, as the grader sees it ---------------------------------------------------------
@dataclass
class Exit:
    code: int | None = None
    signal: int | None = None


@dataclass
class Zygote:
    sock: socket.socket
    process: subprocess.Popen | None = None
    log: Path | None = None
    deadline: float = 0.0
    ready: dict | None = None
    _next: int = 0
    _exits: dict[int, Exit] = field(default_factory=dict)
    _stray: list[dict] = field(default_factory=list)   # answers read while waiting for an exit

    def _send(self, message: dict, fds: Sequence[int] = ()) -> int:
        self._next += 1
        try:
            Z.send(self.sock, {**message, "id": self._next}, list(fds))
        except OSError as exc:
            raise PoolError(f"the worker pool stopped answering ({exc})") from None
        return self._next

    def _receive(self, deadline: float) -> dict:
        """The next message that is not a worker's exit (exits are recorded as they come)."""
        while True:
            message = self._receive_one(deadline)
            if message is not None:
                return message

    def _receive_one(self, deadline: float) -> dict | None:
        """One message; None when it was a worker's exit (recorded in ``_exits``)."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PoolError("the worker pool did not answer in time")
            if select.select([self.sock], [], [], left)[0]:
                break
        try:
            message, fds = Z.receive(self.sock)
        except OSError as exc:
            raise PoolError(f"the worker pool stopped answering ({exc})") from None
        for fd in fds:
            os.close(fd)
        if message is None:
            raise PoolError(self._ended())
        if message.get("op") == Z.EXITED:
            self._exits[int(message["pid"])] = Exit(message.get("code"), message.get("signal"))
            return None
        return message

    def _answer(self, rid: int, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            message = self._stray.pop(0) if self._stray else self._receive(deadline)
            if message.get("id") != rid:
                continue
            if message.get("op") == Z.ERROR:
                raise PoolError(f"the worker pool refused a request: {message.get('message')}")
            return message

    def _ended(self) -> str:
        code = self.process.wait(timeout=2) if self.process is not None else None
        said = ""
        if self.log is not None:
            try:
                lines = self.log.read_text(errors="replace").strip().splitlines()
                said = f": {lines[-1][:truncation.START_OUTPUT_CHARS]}" if lines else ""
            except OSError:
                pass
        return "the worker pool ended" + (f" (exit status {code})" if code is not None else "") + said

    def wait_ready(self) -> dict:
        if self.ready is None:
            message = self._receive(max(self.deadline, time.monotonic() + 0.05))
            if message.get("op") != Z.READY:
                raise PoolError(f"the worker pool did not get ready ({message!r})")
            self.ready = message
        return self.ready

    def spawn(self, config: dict, fds: Sequence[int], timeout: float) -> int:
        self.wait_ready()
        return int(self._answer(self._send({"op": Z.SPAWN, "config": config}, fds), timeout)["pid"])

    def kill(self, pid: int, timeout: float = 5.0) -> None:
        self._answer(self._send({"op": Z.KILL, "pid": pid}), timeout)

    def exit_of(self, pid: int, timeout: float) -> Exit | None:
        deadline = time.monotonic() + timeout
        while pid not in self._exits:
            try:
                message = self._receive_one(deadline)
            except PoolError:
                return None
            if message is not None:
                self._stray.append(message)
        return self._exits.pop(pid)

    def session(self, timeout: float = 10.0) -> "Zygote":
        self.wait_ready()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._answer(self._send({"op": Z.SESSION}, [theirs.fileno()]), timeout)
        finally:
            theirs.close()
        return Zygote(sock=mine, ready={"op": Z.READY, "session": True})

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
        if self.process is not None:   # it ends its workers and exits at once (zygote.py)
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                kill_group(self.process, wait_s=5)


# -- uids ----------------------------------------------------------------------------------------
class UidPool:
    """Unprivileged uids no other process on this machine uses: none with an account, each
    claimed with a lock file against concurrent graders. Anything a claimed uid still runs is
    killed when it is claimed and when it is given back."""

    def __init__(self, first: int, count: int, directory: Path = UID_LOCKS) -> None:
        self.first, self.count, self.directory = first, count, Path(directory)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._held: dict[int, int] = {}
        self._next = secrets.randbelow(count)

    def claim(self) -> int:
        for n in range(self.count):
            uid = self.first + (self._next + n) % self.count
            if uid in self._held or _has_account(uid):
                continue
            fd = os.open(self.directory / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    continue
                raise
            self._next = (self._next + n + 1) % self.count
            kill_uid(uid)
            self._held[uid] = fd
            return uid
        raise PoolError(f"no free uid in {self.first}-{self.first + self.count - 1}")

    def release(self, uid: int) -> None:
        fd = self._held.pop(uid, None)
        if fd is not None:
            kill_uid(uid)
            os.close(fd)

    def close(self) -> None:
        for uid in list(self._held):
            self.release(uid)


def _has_account(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid``: a child takes that uid and calls ``kill(-1)``, which
    reaches exactly the processes a process of that uid may signal (in every namespace below
    this one), and never the caller itself."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        except BaseException:   # noqa: B036 - the child must never return into the grader
            pass
        os._exit(0)
    os.waitpid(pid, 0)


# -- the pool ------------------------------------------------------------------------------------
@dataclass
class Spawned:
    """A worker the pool started: its pid in the zygote's namespace, its uid, and the grader's
    ends of its pipes (non-blocking)."""

    pid: int
    uid: int | None
    to_worker: int
    from_worker: int


class Pool:
    """Workers for one grading process: forked by a zygote, isolated as ``isolation`` says."""

    def __init__(self, settings: Settings, *, preload: Sequence[str] = ("numpy",),
                 isolation: Isolation | None = None, zygote: Zygote | None = None,
                 root: Path | None = None) -> None:
        self.settings = settings
        self.isolation = isolation or isolation_for(settings)
        self.root = Path(root) if root else scratch_dir("pool-")
        self._own_root = root is None
        self.runtime = self.root / "runtime"
        if zygote is None:
            os.chmod(self.root, 0o755)
            self.runtime.mkdir(exist_ok=True)
            for path in RUNTIME_FILES:
                shutil.copyfile(path, self.runtime / path.name)
            if self.isolation.level is Level.UIDS:
                guard_kit()
        self.uids = UidPool(settings.uid_first, settings.uid_count) if self.isolation.uids else None
        self._homes = 0
        self._workers: dict[int, Spawned] = {}
        self.zygote = zygote or self._start(list(preload))

    def _start(self, preload: list[str]) -> Zygote:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cmd, env = zygote_command(python=sys.executable, runtime=self.runtime, root=self.root,
                                  control_fd=theirs.fileno(), preload=preload,
                                  bwrap=self.isolation.bwrap, settings=self.settings)
        log = self.root / "zygote.log"
        try:
            with open(log, "wb") as out:
                process = subprocess.Popen(cmd, env=env, cwd=self.root, pass_fds=(theirs.fileno(),),
                                           stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                           start_new_session=True)
        finally:
            theirs.close()
        return Zygote(sock=mine, process=process, log=log,
                      deadline=time.monotonic() + self.settings.limits.start_timeout_s)

    def session(self) -> "Pool":
        """A pool for another grading process (a batch child): a session of this zygote, over
        the same root folder, with uids of its own. Made by this process before it forks the
        child (which then uses it alone; this process calls ``detach`` on its copy)."""
        return Pool(self.settings, isolation=self.isolation, zygote=self.zygote.session(),
                    root=self.root)

    def detach(self) -> None:
        """Drop this process's end of a session handed to a forked child, leaving it running."""
        try:
            self.zygote.sock.close()
        except OSError:
            pass

    # -- folders ----------------------------------------------------------------------------
    def folder(self, prefix: str) -> Path:
        """A new folder under the pool's root (visible to the zygote) for one grading."""
        path = Path(os.path.realpath(self.root)) / f"{prefix}{secrets.token_hex(6)}"
        path.mkdir(mode=0o700)
        return path

    def claim_group(self) -> int | None:
        """A gid for one submission's workers (a uid of the pool used as a group), or None."""
        return self.uids.claim() if self.uids else None

    def release_group(self, gid: int | None) -> None:
        if gid is not None and self.uids is not None:
            self.uids.release(gid)

    def share(self, folder: Path, gid: int | None) -> None:
        """Let the workers of group ``gid`` read ``folder``, and no other worker. Without uids
        the workers are the grader's own user, who can read it already."""
        if gid is None:
            return
        for path in [folder, *folder.rglob("*")]:
            if not path.is_symlink():
                os.chown(path, 0, gid)
                path.chmod(0o750 if path.is_dir() else 0o640)
        os.chmod(folder.parent, 0o711)     # the grading's folder: passable, not readable

    # -- workers ----------------------------------------------------------------------------
    def spawn(self, *, submission: Path, output: int, learner_modules: Sequence[str],
              gid: int | None = None, cuda: bool = False) -> Spawned:
        limits = self.settings.limits
        uid = self.uids.claim() if self.uids else None
        self._homes += 1
        home = (f"/tmp/home-{os.getpid()}-{self._homes}" if self.isolation.bwrap
                else str(self.root / "homes" / f"{os.getpid()}-{self._homes}"))
        if uid is not None:
            nproc = CUDA_TASKS if cuda else 1
        else:
            nproc = limits.processes if self.isolation.bwrap else None
        config = {
            P.SUBMISSION: str(submission), P.HOME: home, P.THREADS: self.settings.threads,
            P.LEARNER_MODULES: sorted(learner_modules), P.UID: uid,
            P.GID: gid if gid is not None else uid, P.NPROC: nproc,
            P.LIMITS: {"memory_mb": limits.memory_mb, "output_kb": limits.output_kb,
                       "cpu_s": limits.cpu_s, "open_files": limits.open_files},
            P.ALLOWED: {"exact": sorted(allowlist.ALLOWED_MODULES),
                        "prefixes": list(allowlist.ALLOWED_PREFIXES), "top": list(allowlist.ALLOWED_TOP)},
        }
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        try:
            pid = self.zygote.spawn(config, [req_r, rep_w, output], limits.start_timeout_s)
        except BaseException:
            for fd in (req_w, rep_r):
                os.close(fd)
            if uid is not None:
                self.uids.release(uid)
            raise
        finally:
            for fd in (req_r, rep_w):
                os.close(fd)
        os.set_blocking(req_w, False)
        os.set_blocking(rep_r, False)
        spawned = Spawned(pid, uid, req_w, rep_r)
        self._workers[pid] = spawned
        return spawned

    def end(self, worker: Spawned) -> Exit | None:
        """Kill ``worker`` (and, with uids, everything of its uid); how it ended, if known."""
        for fd in (worker.to_worker, worker.from_worker):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.zygote.kill(worker.pid)
            ended = self.zygote.exit_of(worker.pid, timeout=5.0)
        except PoolError:
            ended = None
        if worker.uid is not None:
            self.uids.release(worker.uid)
        self._workers.pop(worker.pid, None)
        return ended

    def exit_of(self, worker: Spawned, timeout: float = 2.0) -> Exit | None:
        """How ``worker`` ended (it closed its pipe), waiting up to ``timeout`` for the zygote."""
        try:
            return self.zygote.exit_of(worker.pid, timeout)
        except PoolError:
            return None

    def close(self) -> None:
        for worker in list(self._workers.values()):
            self.end(worker)
        self.zygote.close()
        if self.uids is not None:
            self.uids.close()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
