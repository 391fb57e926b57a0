"""The grader's client for a learner's code: one worker subprocess at a time, and the requests
of ``protocol.py`` sent to it.

``Learner`` owns one worker process at a time. A call that hangs past its time limit, or
kills the worker, costs that call only: the worker is thrown away and the next call starts a
fresh one. A module that cannot be imported is remembered, so an import that hangs is paid
for once, not once per check. Suites do not use this class directly: they get proxies
(``proxies.py``) from ``Learner.module``.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from grader import truncation
from grader.errors import (ImportFailed, LearnerError, LearnerRaised, ModuleMissing, NotStarted,
                           WorkerDied, WorkerTimeout)
from grader.files import scratch_dir
from grader.isolation import codec
from grader.isolation import protocol as P
from grader.isolation.launch import sandbox_for
from grader.isolation.process import ENDED, WorkerProcess
from grader.isolation.proxies import ModuleProxy, RemoteObject
from grader.settings import Limits, Settings

_HERE = Path(__file__).resolve().parent
# What the worker runs, copied into a private folder and imported there as plain modules.
RUNTIME_FILES = tuple(_HERE / name for name in ("worker.py", "protocol.py", "codec.py", "probes.py")) \
    + (Path(truncation.__file__).resolve(),)
RELEASE_TIMEOUT_S = 5.0


@dataclass
class CallResult:
    value: Any
    extra: dict = field(default_factory=dict)    # what the probes measured, by probe name
    seconds: float = 0.0


class Learner:
    def __init__(self, submission_dir: Path, *, modules: Sequence[str] = (),
                 settings: Settings | None = None, scratch: Path | None = None) -> None:
        settings = settings or Settings()
        self.submission_dir = Path(submission_dir).resolve()
        self.available = set(modules)
        self.limits: Limits = settings.limits
        self.threads = settings.threads
        self.sandbox = sandbox_for(settings)
        self._own_scratch = scratch is None
        self.scratch = Path(scratch) if scratch else scratch_dir()
        self.runtime = self.scratch / "runtime"
        self.runtime.mkdir(parents=True, exist_ok=True)
        for path in RUNTIME_FILES:
            shutil.copyfile(path, self.runtime / path.name)
        self.generation = 0
        self.restarts = 0
        self._proc: WorkerProcess | None = None
        self._spare: WorkerProcess | None = None   # started after a failure, see _worker
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

    def _worker(self, preload: Sequence[str] = ()) -> "WorkerProcess":
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
                self._proc = WorkerProcess(self, preload)
            if self.restarts > 1:
                self._spare = WorkerProcess(self, self._preload, tag=f"spare-{self.restarts}")
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

    def holds(self, generation: int) -> bool:
        """Whether objects made by the worker of ``generation`` still exist: it is the current
        worker and it is running (a handle exists only once a worker has answered)."""
        return generation == self.generation and self._proc is not None

    # -- requests ----------------------------------------------------------------------------
    def module(self, name: str) -> ModuleProxy:
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
            self._exchange({P.OP: P.Op.IMPORT, P.MODULE: module}, (), self.limits.import_timeout_s,
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
             probe: Sequence[str] = (), handle: RemoteObject | None = None) -> CallResult:
        """``target.path(*args, **kwargs)`` in the worker, ``target`` being the module or the
        object ``handle`` holds; ``probe`` names ``protocol.Probe``s to measure as well."""
        enc = codec.Encoder(to_handle=self._handle_of)
        header: dict[str, Any] = {P.OP: P.Op.CALL, P.PATH: list(path),
                                  P.PROBES: [P.Probe(p) for p in probe],
                                  P.ARGS: enc.encode(list(args)), P.KWARGS: enc.encode(dict(kwargs or {}))}
        return self._request(header, enc.buffers, module, handle, timeout, ".".join(path))

    def getattr(self, handle: RemoteObject, path: Sequence[str]) -> Any:
        """``handle.path``, read down the chain of attribute names in the worker."""
        return self._request({P.OP: P.Op.GETATTR, P.PATH: list(path)}, [], handle._module,
                             handle, None, ".".join(path)).value

    def stage(self, module: str, key: str, inputs: Sequence[Sequence[Any]]) -> None:
        """Keep argument lists in the worker under ``key`` for ``run_staged`` (timing)."""
        enc = codec.Encoder(to_handle=self._handle_of)
        header = {P.OP: P.Op.STAGE, P.KEY: key, P.INPUTS: enc.encode([list(a) for a in inputs])}
        self._request(header, enc.buffers, module, None, self.limits.call_timeout_s, "staging")

    def run_staged(self, module: str, path: Sequence[str], key: str, *, timeout: float | None = None,
                   sync_cuda: bool = False) -> CallResult:
        header = {P.OP: P.Op.RUN_STAGED, P.PATH: list(path), P.KEY: key, P.SYNC_CUDA: sync_cuda}
        return self._request(header, [], module, None, timeout, ".".join(path))

    def take_output(self, limit: int = truncation.OUTPUT_CHARS) -> str:
        """What the learner's code printed since the last call, cut to ``limit`` characters."""
        text = self._proc.take_output(limit) if self._proc is not None else ""
        return text.replace(str(self.submission_dir) + os.sep, "")

    def _request(self, header: dict, buffers: list[bytes], module: str,
                 handle: RemoteObject | None, timeout: float | None, what: str) -> CallResult:
        if handle is not None:
            if not self.holds(handle._generation):
                raise WorkerDied(f"the {handle.type_name} object was lost when the "
                                 f"worker restarted after an earlier failure")
            header[P.HANDLE] = handle._handle.id
        else:
            self.load(module)
            header[P.MODULE] = module
        if self._released:
            self._exchange({P.OP: P.Op.RELEASE, P.IDS: self._released}, [], RELEASE_TIMEOUT_S,
                           "releasing")
            self._released = []
        start = time.perf_counter()
        reply, out = self._exchange(header, buffers, timeout or self.limits.call_timeout_s, what)
        seconds = time.perf_counter() - start
        try:
            value = codec.Decoder(out).decode(reply.get(P.VALUE))
        except codec.CodecError as exc:   # learner code can write to the reply pipe too
            self._discard()
            raise WorkerDied(f"the worker sent back a malformed reply ({exc})") from None
        extra = {k: v for k, v in reply.items() if k not in (P.OK, P.VALUE)}
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
        if not reply.get(P.OK):
            raised = _raised(reply.get(P.ERROR) or {})
            raised.message += limit_note(raised, self.limits, sandboxed=proc.sandboxed)
            if reply.get(P.STAGE) == P.Stage.REPLY:
                raise WorkerDied(f"the value returned could not be sent back ({raised})")
            raise raised
        return reply, out

    def _handle_of(self, value: Any) -> codec.Handle:
        if isinstance(value, RemoteObject):
            # No worker now means the one holding the object is gone (a handle exists only
            # once a worker has answered), even before the next worker bumps the generation.
            if not self.holds(value._generation):
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

    def release(self, hid: int, generation: int) -> None:
        """Forget object ``hid`` in the worker with the next request (its proxy is gone)."""
        if generation == self.generation:
            self._released.append(hid)


def _raised(error: dict) -> LearnerRaised:
    """The exception an error reply describes (``protocol``'s error keys)."""
    cls = NotStarted if error.get(P.NOT_STARTED) else LearnerRaised
    return cls(error.get("type", "Exception"), error.get("message", ""),
               error.get("traceback", ""), error.get(P.MRO, []),
               errno=error.get(P.ERRNO), where=error.get(P.WHERE, ""))


IMPORT_DEATH = ENDED + " during import"
# A sandboxed EAGAIN is the process limit when the learner's code was starting a process or a
# thread; these words in its traceback (the learner's own lines) say that it was.
_STARTS_A_TASK = ("fork", "Popen", "Process", "Thread")


def limit_note(raised: LearnerRaised, limits: Limits, *, sandboxed: bool) -> str:
    """Plain words for an exception that is really one of the worker's limits."""
    if raised.is_a(MemoryError):
        return f" (memory limit of {limits.memory_mb} MiB exceeded)"
    if raised.is_a(OSError) and raised.errno == errno.EFBIG:
        return f" (your code printed more than {limits.output_kb} KiB: the output limit)"
    if raised.is_a(OSError) and raised.errno == errno.EMFILE:
        return f" (limit of {limits.open_files} open files reached)"
    if (sandboxed and raised.is_a(OSError) and raised.errno == errno.EAGAIN
            and any(w in raised.traceback_text for w in _STARTS_A_TASK)):
        return f" (limit of {limits.processes} processes and threads reached)"
    return ""
