"""The zygote: a fork server that has NumPy (and PyTorch) loaded, and forks every worker.

A worker started with ``python worker.py`` pays an interpreter start and the imports (PyTorch:
about a second, and its first optimizer step another second of lazy imports) every time. The
zygote pays them once: started by the grader (inside bubblewrap where it works), it imports the
libraries, runs a tiny warm-up so their lazy imports happen now, and then forks a worker per
request in a few milliseconds. It never runs learner code itself.

Each forked worker, before it reads its first request:
1. starts its own session, closes every descriptor but its pipes, and dies with the zygote;
2. takes its resource limits, then (where the zygote may change uid: the grader is root) a uid
   of its own with a process limit of 1 (``RLIMIT_NPROC``), so it cannot start a process or a
   thread, signal another worker, or read another submission;
3. installs the lock (``lock.py``) and only then imports anything of the learner's.

Ending workers. The grader asks; the zygote kills the worker's process group, and where workers
have uids of their own, every process of that uid (a helper with that uid calls ``kill(-1)``),
so nothing a worker started outlives it. The zygote reaps its children and reports each exit.
When the grader's end of the control socket closes (the grader ended, even by ``kill -9``),
the zygote kills all its workers and exits; the kernel kills the zygote with the grader too.

Sessions. A batch starts one zygote and forks a grading process per submission; each of them
asks for a *session*: the zygote forks a copy of itself that serves that grading process alone
over a socket of its own, and ends with it. The copy shares the loaded libraries.

Control messages are JSON over a ``SOCK_SEQPACKET`` socket, with descriptors passed as
``SCM_RIGHTS``; requests carry an ``id`` that their answer repeats.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if __package__:      # grader.isolation.zygote, in the grader (for the control protocol's words)
    from grader.isolation import protocol as P
else:                # zygote.py in the runtime folder, started as a program (python -I: its
    sys.path.insert(0, HERE)      # folder is not on the path by itself)
    import protocol as P
MAX_MESSAGE = 1 << 16
MAX_FDS = 4

# The control protocol's words, declared once (the grader's client imports them).
SPAWN, SPAWNED, KILL, KILLED, EXITED, SESSION, READY, ERROR = (
    "spawn", "spawned", "kill", "killed", "exited", "session", "ready", "error")


def send(sock: socket.socket, message: dict, fds: list[int] = ()) -> None:
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(sock, [data], list(fds))
    else:
        sock.send(data)


def receive(sock: socket.socket) -> tuple[dict | None, list[int]]:
    """One message and the descriptors that came with it; ``(None, [])`` at end of stream."""
    data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, MAX_FDS)
    if not data:
        for fd in fds:
            os.close(fd)
        return None, []
    return json.loads(data), fds


class Zygote:
    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.workers: dict[int, dict] = {}      # pid -> its spawn config
        self.sessions: set[int] = set()
        self.wakeup_r, wakeup_w = os.pipe()
        os.set_blocking(self.wakeup_r, False)
        os.set_blocking(wakeup_w, False)
        signal.set_wakeup_fd(wakeup_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)

    def serve(self) -> None:
        while True:
            readable, _, _ = select.select([self.control, self.wakeup_r], [], [])
            if self.wakeup_r in readable:
                try:
                    os.read(self.wakeup_r, 4096)
                except BlockingIOError:
                    pass
                self.reap()
            if self.control in readable:
                try:
                    message, fds = receive(self.control)
                except (ConnectionError, OSError):
                    message, fds = None, []
                if message is None:
                    self.shutdown()
                    return
                self.handle(message, fds)

    def handle(self, message: dict, fds: list[int]) -> None:
        op, rid = message.get("op"), message.get("id")
        try:
            if op == SPAWN:
                pid = self.spawn(message["config"], fds)
                send(self.control, {"op": SPAWNED, "id": rid, "pid": pid})
            elif op == KILL:
                self.kill(int(message["pid"]))
                send(self.control, {"op": KILLED, "id": rid, "pid": message["pid"]})
            elif op == SESSION:
                pid = self.session(fds)
                send(self.control, {"op": SESSION, "id": rid, "pid": pid})
            else:
                raise ValueError(f"unknown request {op!r}")
        except Exception as exc:      # the grader's mistake: say so, keep serving
            send(self.control, {"op": ERROR, "id": rid, "message": f"{type(exc).__name__}: {exc}"})
        finally:
            for fd in fds:
                try:
                    os.close(fd)
                except OSError:
                    pass

    # -- workers ------------------------------------------------------------------------------
    def spawn(self, config: dict, fds: list[int]) -> int:
        if len(fds) != 3:
            raise ValueError(f"spawn needs 3 descriptors (requests, replies, output), got {len(fds)}")
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                requests, replies, output = fds
                become_worker(config, requests=requests, replies=replies, output=output,
                              keep=(self.control.fileno(), self.wakeup_r))
                status = 0
            except BaseException:   # noqa: B036 - the child must never return into the loop
                import traceback

                traceback.print_exc()
            finally:
                os._exit(status)
        self.workers[pid] = config
        return pid

    def kill(self, pid: int) -> None:
        config = self.workers.get(pid)
        if config is None:
            return
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if config.get(P.UID) is not None:
            kill_uid(int(config[P.UID]))

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.sessions:
                self.sessions.discard(pid)
                continue
            config = self.workers.pop(pid, None)
            if config is None:
                continue
            if config.get(P.UID) is not None:   # nothing of a finished worker lives on
                kill_uid(int(config[P.UID]))
            report = {"op": EXITED, "pid": pid}
            if os.WIFSIGNALED(status):
                report["signal"] = os.WTERMSIG(status)
            else:
                report["code"] = os.waitstatus_to_exitcode(status)
            try:
                send(self.control, report)
            except OSError:
                pass

    def session(self, fds: list[int]) -> int:
        if len(fds) != 1:
            raise ValueError("session needs 1 descriptor (its control socket)")
        own = socket.socket(fileno=os.dup(fds[0]))
        pid = os.fork()
        if pid == 0:
            try:
                self.control.close()
                os.close(self.wakeup_r)
                die_with_parent()
                Zygote(own).serve()
            finally:
                os._exit(0)
        own.close()
        self.sessions.add(pid)
        return pid

    def shutdown(self) -> None:
        for pid in list(self.workers):
            self.kill(pid)
        for pid in list(self.sessions):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 2.0
        while (self.workers or self.sessions) and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            self.workers.pop(pid, None)
            self.sessions.discard(pid)


# -- in the forked worker ------------------------------------------------------------------------
def become_worker(config: dict, *, requests: int, replies: int, output: int,
                  keep: tuple[int, ...]) -> None:
    """Turn this freshly forked process into a worker and serve requests until the pipe closes."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    for fd in keep:
        try:
            os.close(fd)
        except OSError:
            pass
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    _close_all_except({0, 1, 2, requests, replies})
    die_with_parent()
    limits = config.get(P.LIMITS, {})
    _cap(resource.RLIMIT_DATA, int(limits.get("memory_mb", 2048)) << 20)
    _cap(resource.RLIMIT_FSIZE, int(limits.get("output_kb", 1024)) << 10)
    _cap(resource.RLIMIT_CPU, int(limits.get("cpu_s", 600)))
    _cap(resource.RLIMIT_NOFILE, int(limits.get("open_files", 256)))
    _cap(resource.RLIMIT_CORE, 0)
    uid, gid, home = config.get(P.UID), config.get(P.GID), config.get(P.HOME)
    if home:
        os.makedirs(home, mode=0o700, exist_ok=True)
        if uid is not None:
            os.chown(home, uid, gid if gid is not None else uid)
        os.environ["HOME"] = os.environ["TMPDIR"] = home
    if config.get(P.NPROC):
        _cap(resource.RLIMIT_NPROC, int(config[P.NPROC]))
    if uid is not None:
        os.setgroups([])
        os.setgid(gid if gid is not None else uid)
        os.setuid(uid)
    import worker     # the copy beside this file; imported by the zygote already

    worker.serve(config, requests=requests, replies=replies)


def _close_all_except(keep: set[int]) -> None:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` (its workers and anything they left), via a helper that
    takes that uid: ``kill(-1)`` reaches exactly the processes a process of that uid may signal."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        except BaseException:   # noqa: B036
            pass
        os._exit(0)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _cap(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def _load_prctl():
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError, ImportError):
        return None


_PRCTL = _load_prctl()


def die_with_parent() -> None:
    """Have Linux SIGKILL this process when its parent (the zygote, or the grader) dies."""
    if _PRCTL is not None:
        parent = os.getppid()
        _PRCTL(1, signal.SIGKILL, 0, 0, 0)    # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            os._exit(1)


def warm_up(names: list[str]) -> dict:
    """Import the libraries and run what triggers their lazy imports (PyTorch's first optimizer
    step imports its compiler stack: about a second), so no worker pays for it."""
    import importlib
    import warnings

    took = {}
    for name in names:
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                importlib.import_module(name)
                if name == "torch":
                    _warm_torch()
        except Exception:
            pass           # left to fail again in the learner's import, where it is reported
        took[name] = round(time.perf_counter() - start, 3)
    return took


def _warm_torch() -> None:
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    state = torch.random.get_rng_state()
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    x, y = torch.randn(8, 4), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    for opt in (torch.optim.Adam(model.parameters()), torch.optim.SGD(model.parameters(), lr=0.1)):
        for xb, yb in DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True):
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
    torch.cdist(x, x).topk(2, largest=False)
    torch.softmax(x, dim=-1).argmax(1).mode()
    torch.random.set_rng_state(state)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--control", type=int, required=True)
    parser.add_argument("--preload", default="")
    args = parser.parse_args(argv)
    import worker  # noqa: F401  (loaded once here, shared by every fork)

    control = socket.socket(fileno=args.control)
    die_with_parent()
    took = warm_up([n for n in args.preload.split(",") if n])
    send(control, {"op": READY, "pid": os.getpid(), "preloaded": took})
    Zygote(control).serve()
    os._exit(0)      # no interpreter shutdown: PyTorch's exit handlers take most of a second


if __name__ == "__main__":
    main()
