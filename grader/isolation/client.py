"""The grader's client for a learner's code: one worker at a time, and the requests of
``protocol.py`` sent to it.

``Learner`` owns one worker process at a time, forked by the pool's zygote (``pool.py``). A call
that hangs past its time limit, or kills the worker, costs that call only: the worker is thrown
away and the next call forks a fresh one, in milliseconds. A function that timed out is not
called again in that grading (its later checks are reported as not run, because of that
timeout), and a module that cannot be imported is remembered, so an import that hangs is paid
for once, not once per check. Suites do not use this class directly: they get proxies
(``proxies.py``) from ``Learner.module``.
"""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from grader import truncation
from grader.errors import (ImportFailed, LearnerError, LearnerRaised, ModuleMissing, NotStarted,
                           Refused, TimedOutBefore, WorkerDied, WorkerTimeout)
from grader.isolation import codec
from grader.isolation import protocol as P
from grader.isolation.pool import Pool
from grader.isolation.process import BROKE_PROTOCOL, ENDED, ProtocolViolation, WorkerProcess
from grader.isolation.proxies import ModuleProxy, RemoteObject
from grader.settings import Limits

RELEASE_TIMEOUT_S = 5.0


@dataclass
class CallResult:
    value: Any
    extra: dict = field(default_factory=dict)    # what the probes measured, by probe name
    seconds: float = 0.0


@dataclass
class Encoded:
    """Argument lists encoded once (``Learner.encode_inputs``) and sent as they are to more than
    one worker: the learner's and the baseline's get the same bytes."""

    tree: Any
    buffers: list[bytes]


class Learner:
    def __init__(self, submission_dir: Path, *, pool: Pool, modules: Sequence[str] = (),
                 cells: dict[str, list[dict]] | None = None, refused: dict[str, str] | None = None,
                 gid: int | None = None, cuda: bool = False, name: str = "worker") -> None:
        self.submission_dir = Path(submission_dir).resolve()
        self.pool = pool
        self.available = set(modules) | set(refused or {})
        self.cells = dict(cells or {})
        self.refused = dict(refused or {})
        self.limits: Limits = pool.settings.limits
        self.gid, self.cuda, self.name = gid, cuda, name
        self.output_dir = self.submission_dir.parent
        self.generation = 0
        self._proc: WorkerProcess | None = None
        self._imported: set[str] = set()
        self._import_failures: dict[str, ImportFailed] = {}
        self._timed_out: dict[tuple[str, str], tuple[float, str]] = {}
        self._released: list[int] = []
        self.current_check = ""   # the check running now, named when a later check is not run

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> "Learner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._discard()

    def _discard(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc = None
            self._imported.clear()

    def _worker(self) -> WorkerProcess:
        """The running worker, or a new one forked now (milliseconds: see ``pool.py``)."""
        if self._proc is None:
            self.generation += 1
            self._released.clear()
            self._proc = WorkerProcess(
                self.pool, submission=self.submission_dir,
                output_path=self.output_dir / f"{self.name}-output-{self.generation}.txt",
                learner_modules=own_modules(self.submission_dir), gid=self.gid, cuda=self.cuda)
        return self._proc

    def start(self) -> None:
        """Fork the worker now, without waiting for it to be ready."""
        self._worker()

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
        if module in self.refused:
            failure = ImportFailed(module, Refused(self.refused[module]))
            self._import_failures[module] = failure
            raise failure
        if module in self._imported and self._proc is not None:
            return
        header = {P.OP: P.Op.IMPORT, P.MODULE: module}
        if module in self.cells:
            header[P.CELLS] = self.cells[module]
        try:
            self._exchange(header, (), self.limits.import_timeout_s, f"importing {module}")
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

    def encode_inputs(self, inputs: Sequence[Sequence[Any]]) -> Encoded:
        """Argument lists for ``time_calls``, encoded once for every worker they go to."""
        enc = codec.Encoder(to_handle=self._handle_of)
        return Encoded(enc.encode([list(a) for a in inputs]), enc.buffers)

    def time_calls(self, module: str, path: Sequence[str], inputs: Encoded, *,
                   timeout: float | None = None, sync_cuda: bool = False) -> CallResult:
        """Call ``module.path`` on each argument list in one request and return every output;
        ``seconds`` is the request's round trip, measured here (the inputs travel with it)."""
        header = {P.OP: P.Op.TIME, P.PATH: list(path), P.ARGS: inputs.tree, P.SYNC_CUDA: sync_cuda}
        return self._request(header, inputs.buffers, module, None, timeout, ".".join(path))

    def cell_errors(self, module: str) -> list[str]:
        """The cells of a notebook's module that failed when the worker imported it."""
        if module not in self.cells:
            return []
        self.load(module)
        reply, _ = self._exchange({P.OP: P.Op.CELL_ERRORS, P.MODULE: module}, (),
                                  RELEASE_TIMEOUT_S, "reading the notebook's cells")
        got = reply.get(P.VALUE)
        return [str(n) for n in got] if isinstance(got, list) else []

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
            key = (module, what)
            if key in self._timed_out:
                seconds, during = self._timed_out[key]
                raise TimedOutBefore(seconds, what, during)
        if self._released:
            self._exchange({P.OP: P.Op.RELEASE, P.IDS: self._released}, [], RELEASE_TIMEOUT_S,
                           "releasing")
            self._released = []
        start = time.perf_counter()
        try:
            reply, out = self._exchange(header, buffers, timeout or self.limits.call_timeout_s, what)
        except WorkerTimeout as exc:
            if handle is None and header[P.OP] is P.Op.CALL:   # not a speed check's cut-off
                self._timed_out[(module, what)] = (exc.seconds, self.current_check)
            raise
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
        except ProtocolViolation as exc:
            self._discard()
            raise WorkerDied(BROKE_PROTOCOL.format(why=exc)) from None
        except (EOFError, OSError, codec.CodecError):
            died = proc.death_reason()
            self._discard()
            raise WorkerDied(died) from None
        if reply.get(P.REFUSED):
            raise Refused(refusal_text(reply[P.REFUSED]))
        if not reply.get(P.OK):
            raised = _raised(reply.get(P.ERROR) or {})
            raised.message += limit_note(raised, self.limits)
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


def own_modules(folder: Path) -> list[str]:
    """The learner's own modules in ``folder`` (its .py files and packages, top level): what
    their code may import besides the allowed libraries."""
    names = set()
    for path in folder.iterdir():
        if path.is_symlink():
            continue
        if path.suffix == ".py" and path.stem.isidentifier():
            names.add(path.stem)
        elif path.is_dir() and path.name.isidentifier() and (path / "__init__.py").is_file():
            names.add(path.name)
    return sorted(names)


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


REFUSED_AT = "{where}: {what} is not allowed in these exercises"


def refusal_text(refusals: list) -> str:
    """What the worker's lock refused, one line each: where in the learner's code, and what."""
    lines = []
    for r in refusals[:truncation.REFUSALS_SHOWN]:
        if not isinstance(r, dict):
            continue
        where = f"{r.get('file')} line {r.get('line')}" if r.get("file") else "your code"
        lines.append(REFUSED_AT.format(where=where, what=r.get("what", "an operation")))
    return "\n".join(lines) or REFUSED_AT.format(where="your code", what="an operation")


def limit_note(raised: LearnerRaised, limits: Limits) -> str:
    """Plain words for an exception that is really one of the worker's limits."""
    if raised.is_a(MemoryError):
        return f" (memory limit of {limits.memory_mb} MiB exceeded)"
    if raised.is_a(OSError) and raised.errno == errno.EFBIG:
        return f" (your code printed more than {limits.output_kb} KiB: the output limit)"
    if raised.is_a(OSError) and raised.errno == errno.EMFILE:
        return f" (limit of {limits.open_files} open files reached)"
    if (raised.is_a(OSError) and raised.errno == errno.EAGAIN
            and any(w in raised.traceback_text for w in _STARTS_A_TASK)):
        return f" (limit of {limits.processes} processes and threads reached)"
    return ""
