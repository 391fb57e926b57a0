"""The worker: the only process that imports and calls a learner's code.

It is started by ``client.py`` as ``python -I worker.py ...`` from a private runtime folder
holding this file, ``protocol.py``, ``codec.py``, ``probes.py`` and ``truncation.py``, so it
imports nothing of the grader. It reads requests from one pipe and writes replies to
another (``protocol.py`` says what they hold); the learner's prints go to a capture file set
up by the parent. Everything it sends back is data (``codec.py``): values, handles to
objects kept here, or exceptions as text. It trusts nothing it runs, and the grader trusts
nothing it says beyond the data itself.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import codec  # noqa: E402  (the copies beside this file)
import probes  # noqa: E402
import protocol as P  # noqa: E402
import truncation  # noqa: E402

del sys.path[0]


class Worker:
    def __init__(self, submission_dir: str) -> None:
        self.submission_dir = os.path.realpath(submission_dir)
        self.objects: dict[int, object] = {}
        self.staged: dict[str, list] = {}
        self.next_id = 1

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
        stage = P.Stage.CALL
        try:
            op = P.Op(header.get(P.OP))
            if op is P.Op.RELEASE:
                for hid in header[P.IDS]:
                    self.objects.pop(hid, None)
                return {P.OK: True, P.VALUE: None}, []
            if op is P.Op.IMPORT:
                stage = P.Stage.IMPORT
                importlib.import_module(header[P.MODULE])
                return {P.OK: True, P.VALUE: None}, []
            decoder = codec.Decoder(buffers, from_handle=self.lookup, restore_layout=True)
            if op is P.Op.STAGE:
                self.staged[header[P.KEY]] = decoder.decode(header[P.INPUTS])
                return {P.OK: True, P.VALUE: len(self.staged[header[P.KEY]])}, []
            stage = P.Stage.IMPORT
            target = self.resolve(header)
            stage = P.Stage.CALL
            extra: dict = {}
            if op is P.Op.GETATTR:
                value = target
            elif op is P.Op.CALL:
                args = decoder.decode(header[P.ARGS])
                kwargs = decoder.decode(header[P.KWARGS])
                value, extra = self.call(target, args, kwargs, [P.Probe(p) for p in header[P.PROBES]])
            else:
                value = self.run_staged(target, header)
            stage = P.Stage.REPLY
            return self.reply(value, extra)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt from learner code too
            return {P.OK: False, P.STAGE: stage, P.ERROR: self.describe(exc)}, []

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
        lines = probes.LineCounter(self.submission_dir) if P.Probe.LINES in probe else None
        if lines is not None:
            fn = lines.wrap(fn)
        if tracer is not None:
            args = tracer.wrap(args)
            with tracer:
                value = fn(*args, **kwargs)
        else:
            value = fn(*args, **kwargs)
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

    def run_staged(self, fn, header: dict) -> object:
        """Call ``fn`` once on each staged argument list and send every output back.

        The grader times this whole request from its own side of the pipe, so the figure
        that decides includes returning the outputs it then checks.
        """
        outputs = [fn(*args) for args in self.staged[header[P.KEY]]]
        if header[P.SYNC_CUDA]:
            import torch

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


def preload(names: list[str]) -> None:
    """Import libraries (numpy, torch) before the learner's folder is on ``sys.path`` and
    before the worker says it is ready: the grader starts the worker early, so this runs while
    it does other work. A library that fails to import is left to fail again, in the learner's
    own import, where it is reported."""
    import warnings

    for name in names:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                importlib.import_module(name)
        except Exception:
            pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(P.OPT_REQUESTS, dest="requests", type=int, required=True)
    parser.add_argument(P.OPT_REPLIES, dest="replies", type=int, required=True)
    parser.add_argument(P.OPT_SUBMISSION, dest="submission", required=True)
    parser.add_argument(P.OPT_MAX_PROCESSES, dest="max_processes", type=int, default=0)
    parser.add_argument(P.OPT_RUN_AS, dest="run_as", type=int, default=0)
    parser.add_argument(P.OPT_PRELOAD, dest="preload", default="")
    args = parser.parse_args(argv)
    if args.max_processes:   # inside bubblewrap's user namespace, where the kernel counts per sandbox
        import resource

        resource.setrlimit(resource.RLIMIT_NPROC, (args.max_processes, args.max_processes))
    if args.run_as:   # started as root inside bubblewrap: become an unprivileged uid, for good
        os.setgroups([])
        os.setgid(args.run_as)
        os.setuid(args.run_as)
    preload([name for name in args.preload.split(",") if name])
    requests = os.fdopen(args.requests, "rb")
    replies = os.fdopen(args.replies, "wb")
    sys.path.insert(0, args.submission)
    os.chdir(args.submission)
    sys.argv = ["learner"]
    sys.stdout = sys.stderr = CappedOutput(1)   # fd 2 is the same capture file
    worker = Worker(args.submission)
    codec.write_frame(replies, {P.OK: True, P.VALUE: P.READY, P.PID: os.getpid()})
    while True:
        try:
            header, buffers = codec.read_frame(requests)
        except EOFError:
            break
        reply, out_buffers = worker.handle(header, buffers)
        for stream in (sys.stdout, sys.stderr):   # learner code may have replaced them
            try:
                stream.flush()
            except Exception:
                pass
        try:
            codec.write_frame(replies, reply, out_buffers)
        except codec.CodecError as exc:  # pragma: no cover - encode happens before write
            codec.write_frame(replies, {P.OK: False, P.STAGE: P.Stage.REPLY,
                                        P.ERROR: worker.describe(exc)})


if __name__ == "__main__":
    main()
