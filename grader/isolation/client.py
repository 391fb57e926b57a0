"""The grader's client for a learner's code: a worker subprocess and proxies that call into it.

``Learner`` owns one worker process at a time. A call that hangs past its time limit, or
kills the worker, costs that call only: the worker is thrown away and the next call starts a
fresh one. A module that cannot be imported is remembered, so an import that hangs is paid
for once, not once per check.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from grader.isolation import codec
from grader.files import scratch_dir
from grader.isolation.launch import Limits, bubblewrap, worker_command, worker_preexec

RUNTIME_FILES = ("worker.py", "codec.py")
_HERE = Path(__file__).resolve().parent


class LearnerError(Exception):
    """Base of everything that a learner's code can cause; the plugin turns each into a status."""


class LearnerRaised(LearnerError):
    """The learner's code raised an exception."""

    def __init__(self, type_name: str, message: str, traceback_text: str, mro: Sequence[str]):
        super().__init__(f"{type_name}: {message}")
        self.type_name, self.message, self.traceback_text = type_name, message, traceback_text
        self.mro = tuple(mro)

    def is_a(self, exc_type: type[BaseException]) -> bool:
        return f"{exc_type.__module__}.{exc_type.__qualname__}" in self.mro

    @property
    def where(self) -> str:
        """'ex03_matmul.py, line 12, in matmul' for the innermost frame of the learner's code."""
        for line in reversed(self.traceback_text.splitlines()):
            line = line.strip()
            if line.startswith("File "):
                return line[5:].replace('"', "")
        return ""


class NotStarted(LearnerRaised):
    """The function still raises ``NotImplementedError``."""


class WorkerTimeout(LearnerError):
    def __init__(self, seconds: float, what: str):
        super().__init__(f"{what} did not finish within {seconds:g} s")
        self.seconds, self.what = seconds, what


class WorkerDied(LearnerError):
    """The worker process ended while running the learner's code."""


class ImportFailed(LearnerError):
    """The learner's module could not be imported; ``cause`` is what happened."""

    def __init__(self, module: str, cause: LearnerError):
        super().__init__(str(cause))
        self.module, self.cause = module, cause


class ModuleMissing(LearnerError):
    """The submission has no file for this module: the exercise is not started."""


@dataclass
class CallResult:
    value: Any
    extra: dict = field(default_factory=dict)
    seconds: float = 0.0


class Learner:
    def __init__(self, submission_dir: Path, *, modules: Sequence[str] = (),
                 limits: Limits | None = None, scratch: Path | None = None,
                 threads: int = 1, sandbox: bool = True) -> None:
        self.submission_dir = Path(submission_dir).resolve()
        self.available = set(modules)
        self.limits = limits or Limits()
        self.threads = threads
        self.sandbox = sandbox
        self._own_scratch = scratch is None
        self.scratch = Path(scratch) if scratch else scratch_dir()
        self.runtime = self.scratch / "runtime"
        self.runtime.mkdir(parents=True, exist_ok=True)
        for name in RUNTIME_FILES:
            shutil.copyfile(_HERE / name, self.runtime / name)
        self.generation = 0
        self.restarts = 0
        self._proc: _WorkerProcess | None = None
        self._spare: _WorkerProcess | None = None   # started after a failure, see _worker
        self._preload: tuple[str, ...] = ()
        self._imported: set[str] = set()
        self._import_failures: dict[str, ImportFailed] = {}
        self._released: list[int] = []

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> "Learner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._discard()
        if self._spare is not None:
            self._spare.kill()
            self._spare = None
        if self._own_scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def _discard(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc = None
            self._imported.clear()

    def _worker(self, preload: Sequence[str] = ()) -> "_WorkerProcess":
        """The running worker, or a new one: the spare if one is alive, else a fresh start.

        After the first failure (a worker thrown away), a spare worker is kept starting in the
        background, each one a fresh sandbox of its own with the preloaded libraries: a
        submission that loops or crashes in one check usually does in the next ones too, and
        then each restart costs a hand-over instead of a process start and a PyTorch import.
        """
        if self._proc is None:
            self.generation += 1
            self.restarts += 1
            self._released.clear()
            spare, self._spare = self._spare, None
            if spare is not None and spare.alive():
                self._proc = spare
            else:
                if spare is not None:
                    spare.kill()
                self._proc = _WorkerProcess(self, preload)
            if self.restarts > 1:
                self._spare = _WorkerProcess(self, self._preload, tag=f"spare-{self.restarts}")
        return self._proc

    def start(self, preload: Sequence[str] = ()) -> None:
        """Start the worker now, without waiting for it, so that it gets ready (and imports the
        libraries in ``preload``, e.g. ``numpy``, ``torch``) while the grader does other work.

        Only this first worker preloads: one that replaces it after a failure imports what the
        learner's module imports, as always. A worker already running is left as it is.
        """
        if self._proc is None:
            self._preload = tuple(preload)
            self._worker(preload)

    # -- requests ----------------------------------------------------------------------------
    def module(self, name: str) -> "ModuleProxy":
        return ModuleProxy(self, name)

    def load(self, module: str) -> None:
        """Import ``module`` in the worker (once per worker); raise ``ImportFailed`` if it can't."""
        if module in self._import_failures:
            # Without the old traceback: re-raising one instance would grow it with every check.
            raise self._import_failures[module].with_traceback(None)
        if module not in self.available:
            raise ModuleMissing(f"{module}.py is not in the submission")
        if module in self._imported and self._proc is not None:
            return
        try:
            self._exchange({"op": "import", "module": module}, (), self.limits.import_timeout_s,
                           f"importing {module}")
        except LearnerError as exc:
            if isinstance(exc, WorkerDied):
                text = str(exc)
                exc = WorkerDied(text.replace(ENDED, IMPORT_DEATH, 1) if text.startswith(ENDED)
                                 else f"{IMPORT_DEATH}: {text}")
            failure = ImportFailed(module, exc)
            self._import_failures[module] = failure
            raise failure from None
        self._imported.add(module)

    def call(self, module: str, path: Sequence[str], args: Sequence[Any] = (),
             kwargs: dict | None = None, *, timeout: float | None = None,
             probe: Sequence[str] = (), handle: "RemoteObject | None" = None) -> CallResult:
        header: dict[str, Any] = {"op": "call", "path": list(path), "probe": list(probe)}
        enc = codec.Encoder(to_handle=self._handle_of)
        header["args"] = enc.encode(list(args))
        header["kwargs"] = enc.encode(dict(kwargs or {}))
        return self._request(header, enc.buffers, module, handle, timeout, ".".join(path))

    def getattr(self, handle: "RemoteObject", name: str) -> Any:
        """``handle.name``; a dotted name (``"l1_w.grad"``) reads down the chain in the worker."""
        return self._request({"op": "getattr", "path": name.split(".")}, [], handle._module,
                             handle, None, name).value

    def stage(self, module: str, key: str, inputs: Sequence[Sequence[Any]]) -> None:
        """Keep argument lists in the worker under ``key`` for ``run_staged`` (timing)."""
        enc = codec.Encoder(to_handle=self._handle_of)
        header = {"op": "stage", "key": key, "inputs": enc.encode([list(a) for a in inputs])}
        self._request(header, enc.buffers, module, None, self.limits.call_timeout_s, "staging")

    def run_staged(self, module: str, path: Sequence[str], key: str, *, timeout: float | None = None,
                   sync_cuda: bool = False) -> CallResult:
        header = {"op": "run_staged", "path": list(path), "key": key, "sync_cuda": sync_cuda}
        return self._request(header, [], module, None, timeout, ".".join(path))

    def take_output(self, limit: int = 2000) -> str:
        """What the learner's code printed since the last call, cut to ``limit`` characters."""
        text = self._proc.take_output(limit) if self._proc is not None else ""
        return text.replace(str(self.submission_dir) + os.sep, "")

    def _request(self, header: dict, buffers: list[bytes], module: str,
                 handle: "RemoteObject | None", timeout: float | None, what: str) -> CallResult:
        if handle is not None:
            if handle._generation != self.generation or self._proc is None:
                raise WorkerDied(f"the {handle._handle.type_name} object was lost when the "
                                 f"worker restarted after an earlier failure")
            header["handle"] = handle._handle.id
        else:
            self.load(module)
            header["module"] = module
        if self._released:
            self._exchange({"op": "release", "ids": self._released}, [], 5.0, "releasing")
            self._released = []
        start = time.perf_counter()
        reply, out = self._exchange(header, buffers, timeout or self.limits.call_timeout_s, what)
        seconds = time.perf_counter() - start
        try:
            value = codec.Decoder(out).decode(reply.get("value"))
        except codec.CodecError as exc:   # learner code can write to the reply pipe too
            self._discard()
            raise WorkerDied(f"the worker sent back a malformed reply ({exc})") from None
        extra = {k: v for k, v in reply.items() if k not in ("ok", "value")}
        return CallResult(self._wrap(value, module), extra, seconds)

    def _exchange(self, header: dict, buffers: Sequence[bytes], timeout: float,
                  what: str) -> tuple[dict, list[bytes]]:
        proc = self._worker()
        try:
            proc.wait_ready()
        except WorkerDied:
            self._discard()
            raise
        try:
            reply, out = proc.exchange(header, buffers, timeout)
        except WorkerTimeout:
            self._discard()
            raise WorkerTimeout(timeout, what) from None
        except (EOFError, OSError, codec.CodecError):
            died = proc.death_reason()
            self._discard()
            raise WorkerDied(died) from None
        if not reply.get("ok"):
            err = reply.get("error", {})
            cls = NotStarted if err.get("type") == "NotImplementedError" else LearnerRaised
            raised = cls(err.get("type", "Exception"), err.get("message", ""),
                         err.get("traceback", ""), reply.get("mro", []))
            raised.message += limit_note(raised, self.limits, sandboxed=proc.sandboxed)
            if reply.get("stage") == "reply":
                raise WorkerDied(f"the value returned could not be sent back ({raised})")
            raise raised
        return reply, out

    def _handle_of(self, value: Any) -> codec.Handle:
        if isinstance(value, RemoteObject):
            # No worker now means the one holding the object is gone (a handle exists only
            # once a worker has answered), even before the next worker bumps the generation.
            if value._generation != self.generation or self._proc is None:
                raise WorkerDied("an object from a worker that has since restarted was passed in")
            return value._handle
        raise codec.CodecError(f"cannot send a {type(value).__name__} to the learner's code")

    def _wrap(self, value: Any, module: str) -> Any:
        if isinstance(value, codec.Handle):
            return RemoteObject(self, value, module)
        if isinstance(value, list):
            return [self._wrap(v, module) for v in value]
        if isinstance(value, tuple):
            return tuple(self._wrap(v, module) for v in value)
        if isinstance(value, dict):
            return {k: self._wrap(v, module) for k, v in value.items()}
        return value


class ModuleProxy:
    """``proxy.matmul(a, b)`` calls ``matmul`` of the learner's module in the worker."""

    def __init__(self, learner: Learner, name: str) -> None:
        self._learner, self._name = learner, name

    def __getattr__(self, attr: str) -> "FunctionProxy":
        if attr.startswith("__"):
            raise AttributeError(attr)
        return FunctionProxy(self._learner, self._name, attr)

    def load(self) -> None:
        self._learner.load(self._name)


class FunctionProxy:
    def __init__(self, learner: Learner, module: str, name: str) -> None:
        self._learner, self.module, self.name = learner, module, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._learner.call(self.module, [self.name], args, kwargs).value

    def call(self, *args: Any, timeout: float | None = None, probe: Sequence[str] = (),
             **kwargs: Any) -> CallResult:
        """Like calling the proxy, with a time limit and probes (``trace``, ``shares_memory``,
        ``array_meta``, ``lines``: how often each line of the learner's files ran;
        ``materialize``: an iterator result is read into a list in the worker)."""
        return self._learner.call(self.module, [self.name], args, kwargs, timeout=timeout,
                                  probe=probe)


class RemoteObject:
    """An object that lives in the worker (a learner's model, say).

    Attribute reads fetch the value (data comes back as data, anything else as another
    ``RemoteObject``); calling it calls the object in the worker.
    """

    def __init__(self, learner: Learner, handle: codec.Handle, module: str) -> None:
        object.__setattr__(self, "_learner", learner)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_module", module)
        object.__setattr__(self, "_generation", learner.generation)
        weakref.finalize(self, _release, weakref.ref(learner), handle.id, learner.generation)

    @property
    def type_name(self) -> str:
        return self._handle.type_name

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._learner.getattr(self, name)

    def __call__(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        return self._learner.call(self._module, [], args, kwargs, timeout=timeout, handle=self).value

    def method(self, name: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Call ``obj.name(*args)`` in the worker in one round trip."""
        return self._learner.call(self._module, [name], args, kwargs, timeout=timeout,
                                  handle=self).value

    def method_list(self, name: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> list:
        """``list(obj.name(*args))``, read in the worker: for methods that return an iterator,
        e.g. ``model.method_list("named_parameters")`` -> ``[(name, tensor), ...]``."""
        return self._learner.call(self._module, [name], args, kwargs, timeout=timeout,
                                  handle=self, probe=["materialize"]).value

    def __repr__(self) -> str:
        return f"<learner's {self._handle.type_name} object: {self._handle.text}>"


def _release(learner_ref: "weakref.ref[Learner]", hid: int, generation: int) -> None:
    learner = learner_ref()
    if learner is not None and learner.generation == generation:
        learner._released.append(hid)


class _WorkerProcess:
    """One worker subprocess and the two pipes to it; every wait has a deadline."""

    def __init__(self, learner: Learner, preload: Sequence[str] = (), tag: str | None = None) -> None:
        self.output_path = learner.scratch / f"output-{tag or learner.generation}.txt"
        self.limits = learner.limits
        self.sandboxed = learner.sandbox and bubblewrap()[0] is not None
        self._output_read = 0
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        cmd, env = worker_command(
            python=sys.executable, runtime=learner.runtime, submission=learner.submission_dir,
            scratch=learner.scratch, requests_fd=req_r, replies_fd=rep_w,
            threads=learner.threads, sandbox=learner.sandbox, limits=learner.limits)
        if preload:
            cmd += ["--preload", ",".join(preload)]
        with open(self.output_path, "wb") as out:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                pass_fds=(req_r, rep_w), env=env, cwd=learner.submission_dir,
                start_new_session=True, preexec_fn=worker_preexec(learner.limits))
        os.close(req_r)
        os.close(rep_w)
        self.to_worker, self.from_worker = req_w, rep_r
        os.set_blocking(self.to_worker, False)
        os.set_blocking(self.from_worker, False)
        self._inbox = bytearray()
        # The "ready" frame is awaited on first use (``wait_ready``), so a worker started
        # ahead of time gets ready while the grader goes on.
        self._start_deadline = time.monotonic() + learner.limits.start_timeout_s
        self.pid: int | None = None
        self.ready = False

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self) -> None:
        """Wait for the worker's "ready" frame (once); ``WorkerDied`` if it does not come."""
        if self.ready:
            return
        try:
            # A hello already waiting in the pipe is read even past the deadline.
            hello, _ = self._receive(max(self._start_deadline, time.monotonic() + 0.05))
        except WorkerTimeout:
            self.kill()
            raise WorkerDied("the worker process did not start in time") from None
        except (EOFError, OSError, codec.CodecError):
            try:
                code = self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                code = None
            said = self.take_output(400).strip().splitlines()
            self.kill()   # before any learner code ran: the grader's or the machine's problem
            raise WorkerDied(f"the worker process could not start (exit status {code})"
                             + (f": {said[-1]}" if said else "")) from None
        self.pid = hello.get("pid")
        self.ready = True

    def exchange(self, header: dict, buffers: Sequence[bytes], timeout: float) -> tuple[dict, list[bytes]]:
        deadline = time.monotonic() + timeout
        self._send(codec.pack_frame(header, list(buffers)), deadline)
        return self._receive(deadline)

    def _send(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerTimeout(0, "sending")
            _, writable, _ = select.select([], [self.to_worker], [], left)
            if writable:
                try:
                    n = os.write(self.to_worker, view[:1 << 20])
                except BlockingIOError:
                    continue
                except BrokenPipeError:
                    raise EOFError("worker closed its end") from None
                view = view[n:]

    def _receive(self, deadline: float) -> tuple[dict, list[bytes]]:
        def read_exact(n: int) -> bytes:
            while len(self._inbox) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WorkerTimeout(0, "waiting")
                readable, _, _ = select.select([self.from_worker], [], [], left)
                if readable:
                    try:
                        chunk = os.read(self.from_worker, 1 << 20)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        raise EOFError("worker closed its end")
                    self._inbox += chunk
            data = bytes(self._inbox[:n])
            del self._inbox[:n]
            return data

        return codec.unpack_frame(read_exact)

    def death_reason(self) -> str:
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "the worker process stopped answering"
        if self.sandboxed and 128 < code < 128 + 65:   # bwrap reports a signal as 128 + number
            code = 128 - code
        if code < 0:
            return describe_signal(-code, self.limits)
        return f"{ENDED}: it exited with status {code} (os._exit?)"

    def take_output(self, limit: int) -> str:
        try:
            with open(self.output_path, "rb") as f:
                f.seek(self._output_read)
                data = f.read(limit + 1)
                # Past everything printed so far: the rest of a long output is cut here, not
                # handed to the next check as if that check had printed it.
                self._output_read = f.seek(0, os.SEEK_END)
        except OSError:
            return ""
        text = data[:limit].decode("utf-8", "replace")
        return text + ("\n[... output cut]" if len(data) > limit else "")

    def kill(self) -> None:
        for fd in (self.to_worker, self.from_worker):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


ENDED = "your code ended the worker process"
IMPORT_DEATH = ENDED + " during import"


def limit_note(raised: LearnerRaised, limits: Limits, *, sandboxed: bool) -> str:
    """Plain words for an exception that is really one of the worker's limits."""
    if raised.is_a(MemoryError):
        return f" (memory limit of {limits.memory_mb} MiB exceeded)"
    if raised.is_a(OSError) and raised.message.startswith("[Errno 27]"):
        return f" (your code printed more than {limits.output_kb} KiB: the output limit)"
    if raised.is_a(OSError) and raised.message.startswith("[Errno 24]"):
        return f" (limit of {limits.open_files} open files reached)"
    if (sandboxed and raised.is_a(OSError) and raised.message.startswith("[Errno 11]")
            and any(w in raised.traceback_text for w in ("fork", "Popen", "Process", "Thread"))):
        return f" (limit of {limits.processes} processes and threads reached)"
    return ""


def describe_signal(signum: int, limits: Limits | None = None) -> str:
    limits = limits or Limits()
    reasons = {
        signal.SIGKILL: ("it was killed (SIGKILL): by your code, by the machine running out of "
                         "memory, or by the grader"),
        signal.SIGXFSZ: f"your code printed more than {limits.output_kb} KiB (the output limit)",
        signal.SIGXCPU: f"it used up its CPU-time limit of {limits.cpu_s} s",
        signal.SIGSEGV: "it crashed with a segmentation fault",
        signal.SIGABRT: "it aborted (SIGABRT)",
        signal.SIGTERM: "it was terminated (SIGTERM)",
    }
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    return "the worker process died: " + reasons.get(signum, f"it was killed by {name}")
