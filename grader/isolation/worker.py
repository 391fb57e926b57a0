"""The worker: the only process that imports and calls a learner's code.

It is started by ``learner.py`` as ``python -I worker.py ...`` from a private runtime folder
holding this file and ``codec.py``, so it imports nothing of the grader. It reads requests
from one pipe and writes replies to another; the learner's prints go to a capture file set
up by the parent. Everything it sends back is data (``codec.py``): values, handles to objects
kept here, or exceptions as text. It trusts nothing it runs, and the grader trusts nothing
it says beyond the data itself.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import codec  # noqa: E402  (the copy beside this file)

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
            text = repr(obj)[:200]
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
        op = header.get("op")
        stage = "call"
        try:
            if op == "ping":
                return {"ok": True, "value": os.getpid()}, []
            if op == "release":
                for hid in header.get("ids", []):
                    self.objects.pop(hid, None)
                return {"ok": True, "value": None}, []
            decoder = codec.Decoder(buffers, from_handle=self.lookup, restore_layout=True)
            if op == "import":
                stage = "import"
                importlib.import_module(header["module"])
                return {"ok": True, "value": None}, []
            if op == "stage":
                self.staged[header["key"]] = decoder.decode(header["inputs"])
                return {"ok": True, "value": len(self.staged[header["key"]])}, []
            stage = "import"
            target = self.resolve(header)
            stage = "call"
            extra: dict = {}
            if op == "getattr":
                value = target
            elif op == "call":
                args = decoder.decode(header.get("args", []))
                kwargs = decoder.decode(header.get("kwargs", {"$": "dict", "items": []}))
                value, extra = self.call(target, args, kwargs, header.get("probe", []))
            elif op == "run_staged":
                value = self.run_staged(target, header)
            else:
                raise ValueError(f"unknown request {op!r}")
            stage = "reply"
            return self.reply(value, extra)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt from learner code too
            return {"ok": False, "stage": stage,
                    "error": codec.describe_exception(exc, self.learner_traceback(exc)),
                    "mro": [f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__]}, []

    def resolve(self, header: dict) -> object:
        if "handle" in header:
            obj = self.lookup(header["handle"])
        else:
            obj = importlib.import_module(header["module"])
        for part in header.get("path", []):
            obj = getattr(obj, part)
        return obj

    def call(self, fn, args: list, kwargs: dict, probe: list[str]) -> tuple[object, dict]:
        tracer = Tracer() if "trace" in probe else None
        lines = LineCounter(self.submission_dir) if "lines" in probe else None
        if lines is not None:
            fn = lines.wrap(fn)
        if tracer is not None:
            args = tracer.wrap(args)
            with tracer:
                value = fn(*args, **kwargs)
        else:
            value = fn(*args, **kwargs)
        if "materialize" in probe and not isinstance(value, (list, tuple, dict, str, bytes)):
            # An iterator or generator result (``model.named_parameters()``) is not data: read
            # it into a list here, within this call's time limit, so its items can cross.
            value = list(value)
        extra = {}
        if tracer is not None:
            extra["trace"] = tracer.result()
            value = _unwrap_spies(value)
            args = _unwrap_spies(args)
        if "shares_memory" in probe:
            extra["shares_memory"] = shares_memory(value, args)
        if "array_meta" in probe:
            extra["array_meta"] = array_meta(value)
        if lines is not None:
            extra["lines"] = lines.counts
        return value, extra

    def run_staged(self, fn, header: dict) -> object:
        """Call ``fn`` once on each staged argument list and send every output back.

        The grader times this whole request from its own side of the pipe, so the figure
        that decides includes returning the outputs it then checks.
        """
        outputs = [fn(*args) for args in self.staged[header["key"]]]
        if header.get("sync_cuda"):
            import torch

            torch.cuda.synchronize()
        return outputs if header.get("return_outputs", True) else None

    def reply(self, value: object, extra: dict | None = None) -> tuple[dict, list[bytes]]:
        enc = codec.Encoder(to_handle=self.keep)
        return {"ok": True, "value": enc.encode(value), **(extra or {})}, enc.buffers

    def learner_traceback(self, exc: BaseException) -> str:
        """The traceback cut down to the learner's own files, with paths relative to them."""
        frames = []
        for f in traceback.extract_tb(exc.__traceback__):
            rel = learner_path(f.filename, self.submission_dir)
            if rel is not None:
                f.filename = rel
                frames.append(f)
        lines = traceback.format_list(frames)
        return "".join(lines)


def shares_memory(value: object, args: list) -> list[bool | None]:
    np = sys.modules.get("numpy")
    if np is None or not isinstance(value, np.ndarray):
        return [None for _ in args]
    out: list[bool | None] = []
    for arg in args:
        if isinstance(arg, np.ndarray):
            try:
                out.append(bool(np.shares_memory(value, arg, max_work=10**6)))
            except np.exceptions.TooHardError:
                out.append(bool(np.may_share_memory(value, arg)))
        else:
            out.append(None)
    return out


def learner_path(filename: str, root: str) -> str | None:
    """``filename`` relative to the submission folder ``root``, or None when it is not a file
    of the learner's. Only absolute paths count: "<frozen importlib._bootstrap>" would
    otherwise resolve against the working directory, which is the submission folder."""
    if not os.path.isabs(filename):
        return None
    real = os.path.realpath(filename)
    return os.path.relpath(real, root) if real.startswith(root + os.sep) else None


def array_meta(value: object) -> dict | None:
    """The layout of an ndarray result, which the contiguous copy sent back does not keep.

    Read through ``np.ndarray``'s own descriptors, so a subclass cannot dress up its flags.
    """
    np = sys.modules.get("numpy")
    if np is None or not isinstance(value, np.ndarray):
        return None
    flags = np.ndarray.flags.__get__(value)
    return {"shape": [int(s) for s in np.ndarray.shape.__get__(value)],
            "strides": [int(s) for s in np.ndarray.strides.__get__(value)],
            "writeable": bool(flags.writeable), "owndata": bool(flags.owndata),
            "c_contiguous": bool(flags.c_contiguous)}


class LineCounter:
    """Counts how often each line of the learner's own files runs during one call.

    The grader's vectorization check calls a function on a small and a larger input and
    compares: a line that runs more often on the larger one is inside a Python loop (or a
    recursion) over the data. Only frames of files under the submission folder are traced,
    so library code costs one cheap call per frame. Keys are ``"relative/path.py:line"``.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self.counts: dict[str, int] = {}
        self._files: dict[str, str | None] = {}

    def _relative(self, filename: str) -> str | None:
        if filename not in self._files:
            self._files[filename] = learner_path(filename, self.root)
        return self._files[filename]

    def wrap(self, fn):
        def traced(*args, **kwargs):
            previous = sys.gettrace()
            sys.settrace(self._on_call)
            try:
                return fn(*args, **kwargs)
            finally:
                sys.settrace(previous)
        return traced

    def _on_call(self, frame, event, arg):
        rel = self._relative(frame.f_code.co_filename)
        if rel is None:
            return None
        counts = self.counts

        def on_line(frame, event, arg):
            if event == "line":
                key = f"{rel}:{frame.f_lineno}"
                counts[key] = counts.get(key, 0) + 1
            return on_line
        return on_line


class Tracer:
    """Records which NumPy functions and ufuncs, and which torch functions, a call reaches.

    NumPy arrays are passed in as a subclass that sees ``__array_function__`` and
    ``__array_ufunc__`` (so ``a @ b`` shows up as ``matmul``); torch calls are seen by a
    ``TorchFunctionMode``. It backs the static scan: code that converts its inputs with
    ``np.asarray`` first escapes the NumPy half, which is why the scan decides first.
    """

    def __init__(self) -> None:
        self.numpy: dict[str, int] = {}
        self.torch: dict[str, int] = {}
        self.mode = None

    def wrap(self, args: list) -> list:
        np = sys.modules.get("numpy")
        if np is None:
            return args
        spy_type = _spy_type(np, self.numpy)
        return [a.view(spy_type) if type(a) is np.ndarray else a for a in args]

    def __enter__(self):
        if "torch" in sys.modules:
            self.mode = _torch_mode(self.torch)
            self.mode.__enter__()
        return self

    def __exit__(self, *exc):
        if self.mode is not None:
            self.mode.__exit__(*exc)
        return False

    def result(self) -> dict:
        return {"numpy": dict(self.numpy), "torch": dict(self.torch)}


def _spy_type(np, seen: dict):
    class TracedArray(np.ndarray):
        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
            seen[name] = seen.get(name, 0) + 1
            inputs = tuple(i.view(np.ndarray) if isinstance(i, TracedArray) else i for i in inputs)
            if "out" in kwargs:
                kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, TracedArray) else o
                                      for o in kwargs["out"])
            result = getattr(ufunc, method)(*inputs, **kwargs)
            return _retrace(np, result, TracedArray)

        def __array_function__(self, func, types, args, kwargs):
            seen[func.__name__] = seen.get(func.__name__, 0) + 1
            return super().__array_function__(func, types, args, kwargs)

    return TracedArray


def _retrace(np, result, cls):
    if isinstance(result, np.ndarray) and not isinstance(result, cls):
        return result.view(cls)
    if isinstance(result, tuple):
        return tuple(_retrace(np, r, cls) for r in result)
    return result


def _torch_mode(seen: dict):
    from torch.overrides import TorchFunctionMode

    class Mode(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", str(func))
            seen[name] = seen.get(name, 0) + 1
            return func(*args, **(kwargs or {}))

    return Mode()


def _unwrap_spies(value):
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.ndarray) and type(value) is not np.ndarray \
            and type(value).__name__ == "TracedArray":
        return value.view(np.ndarray)
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap_spies(v) for v in value)
    return value


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
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--replies", type=int, required=True)
    parser.add_argument("--submission", required=True)
    parser.add_argument("--max-processes", type=int, default=0)
    parser.add_argument("--run-as", type=int, default=0)
    parser.add_argument("--preload", default="")
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
    codec.write_frame(replies, {"ok": True, "value": "ready", "pid": os.getpid(),
                                "started": time.time()})
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
            codec.write_frame(replies, {"ok": False, "stage": "reply",
                                        "error": codec.describe_exception(exc)})


if __name__ == "__main__":
    main()
