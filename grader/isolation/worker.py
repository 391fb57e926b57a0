"""The worker: the only process that imports and calls a learner's code.

Each worker is forked from the zygote (``zygote.py``), which has NumPy and PyTorch loaded; it
runs ``serve`` with its configuration (``protocol``'s SUBMISSION, HOME, UID, ...). Before the
first line of learner code runs it installs the lock (``lock.py``): from then on the process
can no longer start processes or threads, read or change the interpreter's internals, or
import anything the exercises do not need, and every attempt is reported with the request it
happened in. It reads requests from one pipe and writes replies to another (``protocol.py``
says what they hold); the learner's prints go to a capture file set up by the grader.
Everything it sends back is data (``codec.py``): values, handles to objects kept here, or
exceptions as text. The grader trusts nothing it says beyond the data itself.

This file and its neighbours (``protocol.py``, ``codec.py``, ``probes.py``, ``lock.py``,
``cells.py``, ``zygote.py``, ``truncation.py``) are copied into a private runtime folder and
imported there as plain modules: standard library only at module level.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cells  # noqa: E402  (the copies beside this file)
import codec  # noqa: E402
import lock as locking  # noqa: E402
import probes  # noqa: E402
import protocol as P  # noqa: E402
import truncation  # noqa: E402

del sys.path[0]


class Worker:
    def __init__(self, submission_dir: str, lock: locking.Lock) -> None:
        self.submission_dir = os.path.realpath(submission_dir)
        self.lock = lock
        self.objects: dict[int, object] = {}
        self.next_id = 1
        self.cell_failures: dict[str, list[str]] = {}
        self.stage = P.Stage.CALL      # where the request being answered is (for refusals)

    # -- handles -------------------------------------------------------------------------
    def keep(self, obj: object) -> codec.Handle:
        hid, self.next_id = self.next_id, self.next_id + 1
        self.objects[hid] = obj
        try:
            text = repr(obj)[:truncation.REPR_CHARS]
        except Exception:
            text = "<repr failed>"
        return codec.Handle(hid, type(obj).__name__, text)

    def lookup(self, hid: int) -> object:
        try:
            return self.objects[hid]
        except KeyError:
            raise LookupError(f"object #{hid} no longer exists in the worker") from None

    # -- requests ------------------------------------------------------------------------
    def handle(self, header: dict, buffers: list[bytes]) -> tuple[dict, list[bytes]]:
        self.stage = stage = P.Stage.CALL
        try:
            op = P.Op(header.get(P.OP))
            if op is P.Op.RELEASE:
                for hid in header[P.IDS]:
                    self.objects.pop(hid, None)
                return {P.OK: True, P.VALUE: None}, []
            if op is P.Op.IMPORT:
                self.stage = stage = P.Stage.IMPORT
                self.import_module(header[P.MODULE], header.get(P.CELLS))
                return {P.OK: True, P.VALUE: None}, []
            if op is P.Op.CELL_ERRORS:
                return {P.OK: True, P.VALUE: list(self.cell_failures.get(header[P.MODULE], []))}, []
            decoder = codec.Decoder(buffers, from_handle=self.lookup, restore_layout=True)
            self.stage = stage = P.Stage.IMPORT
            target = self.resolve(header)
            self.stage = stage = P.Stage.CALL
            extra: dict = {}
            if op is P.Op.GETATTR:
                value = target
            elif op is P.Op.CALL:
                args = decoder.decode(header[P.ARGS])
                kwargs = decoder.decode(header[P.KWARGS])
                value, extra = self.call(target, args, kwargs, [P.Probe(p) for p in header[P.PROBES]])
            else:
                value = self.time_calls(target, decoder.decode(header[P.ARGS]), header[P.SYNC_CUDA])
            self.stage = stage = P.Stage.REPLY
            return self.reply(value, extra)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt from learner code too
            return {P.OK: False, P.STAGE: stage, P.ERROR: self.describe(exc)}, []

    def import_module(self, name: str, spans: list[dict] | None) -> None:
        if name in sys.modules:
            return
        if spans is None:
            importlib.import_module(name)
            return
        path = os.path.join(self.submission_dir, f"{name}.py")
        _, self.cell_failures[name] = cells.import_cells(name, path, spans)

    def resolve(self, header: dict) -> object:
        if P.HANDLE in header:
            obj = self.lookup(header[P.HANDLE])
        else:
            obj = importlib.import_module(header[P.MODULE])
        for part in header[P.PATH]:
            obj = getattr(obj, part)
        return obj

    def call(self, fn, args: list, kwargs: dict, probe: list[P.Probe]) -> tuple[object, dict]:
        tracer = probes.Tracer() if P.Probe.TRACE in probe else None
        lines = probes.LineCounter(self.lock, self.submission_dir) if P.Probe.LINES in probe else None
        if tracer is not None:
            args = tracer.wrap(args)
            tracer.__enter__()
        try:
            value = lines.run(fn, args, kwargs) if lines is not None else fn(*args, **kwargs)
        finally:
            if tracer is not None:
                tracer.__exit__(None, None, None)
        if P.Probe.MATERIALIZE in probe and not isinstance(value, (list, tuple, dict, str, bytes)):
            # An iterator or generator result (``model.named_parameters()``) is not data: read
            # it into a list here, within this call's time limit, so its items can cross.
            value = list(value)
        extra = {}
        if tracer is not None:
            extra[P.Probe.TRACE.value] = tracer.result()
            value, args = tracer.unwrap(value), tracer.unwrap(args)
        if P.Probe.SHARES_MEMORY in probe:
            extra[P.Probe.SHARES_MEMORY.value] = probes.shares_memory(value, args)
        if P.Probe.ARRAY_META in probe:
            extra[P.Probe.ARRAY_META.value] = probes.array_meta(value)
        if lines is not None:
            extra[P.Probe.LINES.value] = lines.counts
        return value, extra

    def time_calls(self, fn, inputs: list, sync_cuda: bool) -> list:
        """Call ``fn`` once on each argument list and send every output back.

        The grader times this whole request from its own side of the pipe: the inputs arrive
        with it, so nothing can be prepared for them beforehand, and returning the outputs
        (which the grader then checks) is part of the figure that decides.
        """
        outputs = [fn(*args) for args in inputs]
        if sync_cuda:
            torch = sys.modules["torch"]
            torch.cuda.synchronize()
        return outputs

    def reply(self, value: object, extra: dict | None = None) -> tuple[dict, list[bytes]]:
        enc = codec.Encoder(to_handle=self.keep)
        return {P.OK: True, P.VALUE: enc.encode(value), **(extra or {})}, enc.buffers

    def describe(self, exc: BaseException) -> dict:
        """An exception as data: type, message, traceback (the learner's frames only), the
        classes it is an instance of, its errno, and where in the learner's code it rose."""
        frames = self.learner_frames(exc)
        where = frames[-1] if frames else None
        return {**codec.describe_exception(exc, "".join(traceback.format_list(frames))),
                P.MRO: [f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__],
                P.ERRNO: exc.errno if isinstance(exc, OSError) else None,
                P.WHERE: f"{where.filename}, line {where.lineno}, in {where.name}" if where else "",
                P.NOT_STARTED: type(exc) is NotImplementedError}

    def learner_frames(self, exc: BaseException) -> list[traceback.FrameSummary]:
        """The traceback cut down to the learner's own files, with paths relative to them."""
        frames = []
        for f in traceback.extract_tb(exc.__traceback__):
            rel = probes.learner_path(f.filename, self.submission_dir)
            if rel is not None:
                f.filename = rel
                frames.append(f)
        return frames

    def refusals(self) -> list[dict]:
        """What the lock refused since the last request, with files relative to the submission."""
        out = []
        for r in self.lock.take_refusals():
            rel = probes.learner_path(r["file"], self.submission_dir) if r.get("file") else None
            out.append({"what": r["what"], "file": rel or r.get("file"), "line": r.get("line")})
        return out[:truncation.REFUSALS_SHOWN]


OUTPUT_CUT = "\n[... output cut: over the output limit; later prints are dropped]\n"


class CappedOutput:
    """``sys.stdout`` and ``sys.stderr`` of the worker: writes to the capture file until the
    output limit (its RLIMIT_FSIZE) is near, then drops the rest with one notice, so printing
    a lot costs the learner their later output, not the worker (a write past RLIMIT_FSIZE fails
    with EFBIG, and Python's own flush of that error would end the process)."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, fd: int) -> None:
        import resource

        self.fd = fd
        soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        self.room = None if soft == resource.RLIM_INFINITY else max(0, soft - len(OUTPUT_CUT) - 64)
        self.cut = False

    def write(self, text: str) -> int:
        if self.cut:
            return len(text)
        data = str(text).encode("utf-8", "replace")
        if self.room is not None and len(data) > self.room:
            data, self.cut = data[:self.room] + OUTPUT_CUT.encode(), True
        if self.room is not None:
            self.room = max(0, self.room - len(data))
        try:
            while data:
                data = data[os.write(self.fd, data):]
        except OSError:
            self.cut = True
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        return self.fd

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False


def serve(config: dict, *, requests: int, replies: int) -> None:
    """Lock this process, then answer requests until the grader closes the request pipe."""
    submission = config[P.SUBMISSION]
    allowed = config.get(P.ALLOWED, {})
    lock = locking.Lock(
        runtime_dir=HERE, submission_dir=submission,
        modules=locking.Modules(exact=allowed.get("exact", ()), prefixes=allowed.get("prefixes", ()),
                                top=allowed.get("top", ()), learner=config.get(P.LEARNER_MODULES, ())),
        writable=tuple(p for p in (config.get(P.HOME),) if p))
    lock.trust(probes.LineCounter.start, probes.LineCounter.stop)
    probes.capture()     # the library functions the probes use, bound before any learner code
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(max(1, int(config.get(P.THREADS, 1))))
    requests_in = os.fdopen(requests, "rb")
    replies_out = os.fdopen(replies, "wb")
    os.chdir(submission)
    sys.path.insert(0, submission)
    sys.argv = ["learner"]
    sys.stdout = sys.stderr = CappedOutput(1)   # fd 2 is the same capture file
    lock.install()
    worker = Worker(submission, lock)
    codec.write_frame(replies_out, {P.OK: True, P.VALUE: P.READY, P.PID: os.getpid()})
    while True:
        try:
            header, buffers = codec.read_frame(requests_in)
        except EOFError:
            break
        reply, out_buffers = worker.handle(header, buffers)
        refused = worker.refusals()
        if refused:   # what the lock refused is the outcome, even if learner code caught it
            reply, out_buffers = {P.OK: False, P.STAGE: worker.stage, P.REFUSED: refused}, []
        reply[P.RID] = header.get(P.RID) if isinstance(header, dict) else None
        for stream in (sys.stdout, sys.stderr):   # learner code may have replaced them
            try:
                stream.flush()
            except Exception:
                pass
        codec.write_frame(replies_out, reply, out_buffers)
