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
            decoder = codec.Decoder(buffers, from_handle=self.lookup)
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
        tracer = Tracer(args) if "trace" in probe else None
        if tracer is not None:
            args = tracer.wrap(args)
            with tracer:
                value = fn(*args, **kwargs)
        else:
            value = fn(*args, **kwargs)
        extra = {}
        if tracer is not None:
            extra["trace"] = tracer.result()
            value = _unwrap_spies(value)
            args = _unwrap_spies(args)
        if "shares_memory" in probe:
            extra["shares_memory"] = shares_memory(value, args)
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
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if os.path.realpath(f.filename).startswith(self.submission_dir + os.sep)]
        for f in frames:
            f.filename = os.path.relpath(os.path.realpath(f.filename), self.submission_dir)
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


class Tracer:
    """Records which NumPy functions and ufuncs, and which torch functions, a call reaches.

    NumPy arrays are passed in as a subclass that sees ``__array_function__`` and
    ``__array_ufunc__`` (so ``a @ b`` shows up as ``matmul``); torch calls are seen by a
    ``TorchFunctionMode``. It backs the static scan: code that converts its inputs with
    ``np.asarray`` first escapes the NumPy half, which is why the scan decides first.
    """

    def __init__(self, args: list) -> None:
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--replies", type=int, required=True)
    parser.add_argument("--submission", required=True)
    args = parser.parse_args(argv)
    requests = os.fdopen(args.requests, "rb")
    replies = os.fdopen(args.replies, "wb")
    sys.path.insert(0, args.submission)
    os.chdir(args.submission)
    sys.argv = ["learner"]
    worker = Worker(args.submission)
    codec.write_frame(replies, {"ok": True, "value": "ready", "pid": os.getpid(),
                                "started": time.time()})
    while True:
        try:
            header, buffers = codec.read_frame(requests)
        except EOFError:
            break
        reply, out_buffers = worker.handle(header, buffers)
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            codec.write_frame(replies, reply, out_buffers)
        except codec.CodecError as exc:  # pragma: no cover - encode happens before write
            codec.write_frame(replies, {"ok": False, "stage": "reply",
                                        "error": codec.describe_exception(exc)})


if __name__ == "__main__":
    main()
