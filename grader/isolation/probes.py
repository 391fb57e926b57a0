"""What a call into the learner's code can measure besides its value (``protocol.Probe``).

Runs in the worker only, as a plain module beside ``worker.py``: standard library at module
level, NumPy and torch taken from ``sys.modules`` where the learner's code loaded them.
"""

from __future__ import annotations

import os
import sys


def learner_path(filename: str, root: str) -> str | None:
    """``filename`` relative to the submission folder ``root``, or None when it is not a file
    of the learner's. Only absolute paths count: "<frozen importlib._bootstrap>" would
    otherwise resolve against the working directory, which is the submission folder."""
    if not os.path.isabs(filename):
        return None
    real = os.path.realpath(filename)
    return os.path.relpath(real, root) if real.startswith(root + os.sep) else None


# The library functions the probes use, bound before any learner code runs (``capture``).
_NP: dict = {}


def capture() -> None:
    np = sys.modules.get("numpy")
    if np is not None:
        _NP.update(ndarray=np.ndarray, shares_memory=np.shares_memory,
                   may_share_memory=np.may_share_memory, TooHardError=np.exceptions.TooHardError)


def _plain(value):
    """An ndarray (or subclass) as a plain ``np.ndarray`` view, through ndarray's own method:
    a subclass's overrides (``__array_function__``, ``view``) then have no say."""
    ndarray = _NP["ndarray"]
    return value if type(value) is ndarray else ndarray.view(value, ndarray)


def shares_memory(value: object, args: list) -> list[bool | None]:
    """Per argument: whether the ndarray result shares memory with it (None: not arrays)."""
    ndarray = _NP.get("ndarray")
    if ndarray is None or not isinstance(value, ndarray):
        return [None for _ in args]
    out: list[bool | None] = []
    for arg in args:
        if isinstance(arg, ndarray):
            a, b = _plain(value), _plain(arg)
            try:
                out.append(bool(_NP["shares_memory"](a, b, max_work=10**6)))
            except _NP["TooHardError"]:
                out.append(bool(_NP["may_share_memory"](a, b)))
        else:
            out.append(None)
    return out


def array_meta(value: object) -> dict | None:
    """The layout of an ndarray result, which the contiguous copy sent back does not keep.

    Read through ``np.ndarray``'s own descriptors, so a subclass cannot dress up its flags.
    """
    ndarray = _NP.get("ndarray")
    if ndarray is None or not isinstance(value, ndarray):
        return None
    flags = ndarray.flags.__get__(value)
    return {"shape": [int(s) for s in ndarray.shape.__get__(value)],
            "strides": [int(s) for s in ndarray.strides.__get__(value)],
            "writeable": bool(flags.writeable), "owndata": bool(flags.owndata),
            "c_contiguous": bool(flags.c_contiguous)}


class LineCounter:
    """Counts how often each line of the learner's code runs during one call.

    The grader's vectorization check calls a function on a small and a larger input and
    compares: a line that runs more often on the larger one is inside a Python loop (or a
    recursion) over the data. Every frame the worker's lock classes as the learner's is
    counted: the learner's files, and code compiled at run time from a string, wherever it
    says it comes from. Library code costs one cheap call per frame. Keys are
    ``"relative/path.py:line"`` (``"<string>:3"`` for code from a string). ``start`` and
    ``stop`` are the only code the lock lets change the tracer; threads cannot be started.
    """

    def __init__(self, lock, root: str) -> None:
        self.is_learner = lock.is_learner
        self.root = root
        self.counts: dict[str, int] = {}
        self._keys: dict[str, str | None] = {}
        self._previous = None

    def _key(self, filename: str) -> str | None:
        if filename not in self._keys:
            if not self.is_learner(filename):
                self._keys[filename] = None
            else:
                self._keys[filename] = learner_path(filename, self.root) or filename
        return self._keys[filename]

    def start(self) -> None:
        self._previous = sys.gettrace()
        sys.settrace(self._on_call)

    def stop(self) -> None:
        sys.settrace(self._previous)

    def run(self, fn, args, kwargs):
        self.start()
        try:
            return fn(*args, **kwargs)
        finally:
            self.stop()

    def _on_call(self, frame, event, arg):
        key = self._key(frame.f_code.co_filename)
        if key is None:
            return None
        counts = self.counts

        def on_line(frame, event, arg):
            if event == "line":
                line = f"{key}:{frame.f_lineno}"
                counts[line] = counts.get(line, 0) + 1
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
        self.spy_type = None

    def wrap(self, args: list) -> list:
        np = sys.modules.get("numpy")
        if np is None:
            return args
        self.spy_type = _spy_type(np, self.numpy)
        return [a.view(self.spy_type) if type(a) is np.ndarray else a for a in args]

    def unwrap(self, value):
        """``value`` with this tracer's spy arrays turned back into plain ndarrays."""
        if self.spy_type is not None and type(value) is self.spy_type:
            return value.view(sys.modules["numpy"].ndarray)
        if isinstance(value, (list, tuple)):
            return type(value)(self.unwrap(v) for v in value)
        return value

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
