"""The data-only encoding that carries values between the grader and a worker process.

A message is a JSON header plus raw byte buffers (array and tensor contents). Only plain
data crosses: numbers, strings, lists, tuples, dicts, NumPy arrays and scalars, PyTorch
tensors (with their device), exceptions as text, and opaque *handles* naming objects that
stay in the worker (a model, say). Nothing is ever pickled, so a value can not run code
when it is decoded.

This module is copied next to the worker (with ``truncation.py``) and must import only the
standard library at module level; NumPy and PyTorch are imported when a value needs them.
"""

from __future__ import annotations

import json
import math
import struct
import sys
from typing import Any, BinaryIO, Callable

if __package__:      # grader.isolation.codec, in the grader
    from grader import truncation
else:                # codec.py beside worker.py in the worker's runtime folder
    import truncation

_HEADER = struct.Struct("<Q")  # length prefix of each part of a frame
MAX_FRAME_BYTES = 1 << 31
MAX_PARTS = 1 << 20      # buffers in one message: far more than any value needs


class CodecError(ValueError):
    """A value that has no data-only encoding, or a malformed message."""


class Handle:
    """An object that lives in the worker, known here only by number, type name and repr."""

    __slots__ = ("id", "type_name", "text")

    def __init__(self, id: int, type_name: str, text: str) -> None:
        self.id, self.type_name, self.text = id, type_name, text

    def __repr__(self) -> str:
        return f"<{self.type_name} object in the worker #{self.id}>"

    def __eq__(self, other: object) -> bool:  # identity of the remote object, nothing more
        return isinstance(other, Handle) and other.id == self.id

    def __hash__(self) -> int:
        return hash(("handle", self.id))


class View:
    """An array that crosses as a view of a contiguous base: ``base[index]``, then ``.transpose(axes)``.

    Arrays normally cross as contiguous copies; a suite sends a ``View`` to give the learner's
    code a non-contiguous array (a strided slice, a transpose) that is still a view of memory on
    the other side, e.g. to ask whether a result shares it. ``index`` holds slices and ints.
    """

    __slots__ = ("base", "index", "axes")

    def __init__(self, base: Any, index: tuple = (), axes: tuple[int, ...] | None = None) -> None:
        import numpy as np

        self.base = np.ascontiguousarray(base)
        self.index = tuple(index) if isinstance(index, tuple) else (index,)
        self.axes = None if axes is None else tuple(int(a) for a in axes)
        self.array  # an index that does not fit the base fails here, not in the worker

    @property
    def array(self) -> Any:
        """The view itself, on this side (what an oracle should be given)."""
        return _take_view(self.base, self.index, self.axes)

    def __repr__(self) -> str:
        return f"View(shape={self.array.shape}, index={self.index!r}, axes={self.axes!r})"


def _take_view(base: Any, index: tuple, axes: Any) -> Any:
    """``base[index]``, transposed by ``axes`` when given: a view, never a copy."""
    view = base[index]
    return view if axes is None else view.transpose(axes)


def _encode_index(item: Any) -> Any:
    if isinstance(item, slice):
        return [None if v is None else int(v) for v in (item.start, item.stop, item.step)]
    return int(item)


def _decode_index(item: Any) -> Any:
    if isinstance(item, list) and len(item) == 3 and all(v is None or type(v) is int for v in item):
        return slice(*item)
    if type(item) is int:
        return item
    raise CodecError(f"malformed view index {item!r}")


def _is_numpy(value: Any) -> bool:
    np = sys.modules.get("numpy")
    return np is not None and isinstance(value, (np.ndarray, np.generic))


def is_tensor(value: Any) -> bool:
    """A torch tensor, without importing torch where nothing has."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


class Encoder:
    """Turns a value into a JSON-able tree, collecting array bytes in ``buffers``.

    ``to_handle`` is given objects that are not data; the worker keeps them and returns a
    handle, the grader side raises instead (it never needs to send live objects).
    """

    def __init__(self, to_handle: Callable[[Any], Handle] | None = None) -> None:
        self.buffers: list[bytes] = []
        self.to_handle = to_handle

    def encode(self, value: Any, depth: int = 0) -> Any:
        if depth > 64:
            raise CodecError("value nested more than 64 levels deep")
        kind = type(value)
        if value is None or kind is bool or kind is str:
            return value
        if kind is int:
            return value if -(2**63) <= value < 2**63 else {"$": "bigint", "v": str(value)}
        if kind is float:
            return value if math.isfinite(value) else {"$": "float", "v": repr(value)}
        if kind is complex:
            return {"$": "complex", "re": self.encode(value.real), "im": self.encode(value.imag)}
        if kind is list:
            return [self.encode(v, depth + 1) for v in value]
        if kind is tuple:
            return {"$": "tuple", "items": [self.encode(v, depth + 1) for v in value]}
        if kind is dict:
            return {"$": "dict", "items": [[self.encode(k, depth + 1), self.encode(v, depth + 1)]
                                           for k, v in value.items()]}
        if isinstance(value, Handle):
            return {"$": "handle", "id": value.id}
        if isinstance(value, View):
            return {"$": "view", "base": self._numpy(value.base),
                    "index": [_encode_index(i) for i in value.index],
                    "axes": None if value.axes is None else list(value.axes)}
        if _is_numpy(value):
            return self._numpy(value)
        if is_tensor(value):
            return self._tensor(value)
        if isinstance(value, BaseException):
            return {"$": "exception", **describe_exception(value)}
        if self.to_handle is not None:
            h = self.to_handle(value)
            return {"$": "handle", "id": h.id, "type": h.type_name, "repr": h.text}
        raise CodecError(f"cannot send a value of type {type(value).__name__}")

    def _buffer(self, data: bytes) -> int:
        self.buffers.append(data)
        return len(self.buffers) - 1

    def _numpy(self, value: Any) -> dict:
        import numpy as np

        scalar = isinstance(value, np.generic)
        arr = np.asarray(value)
        if arr.dtype.hasobject or arr.dtype.fields is not None:
            raise CodecError(f"cannot send an array of dtype {arr.dtype}")
        out = {"$": "ndarray", "dtype": arr.dtype.str, "shape": list(arr.shape),
               "buf": self._buffer(np.ascontiguousarray(arr).tobytes())}
        if scalar:
            out["scalar"] = True
        else:
            out["meta"] = {"type": type(value).__name__, "strides": list(value.strides),
                           "writeable": bool(value.flags.writeable),
                           "c_contiguous": bool(value.flags.c_contiguous)}
        return out

    def _tensor(self, value: Any) -> dict:
        import torch

        t = value.detach()
        if t.is_sparse or t.layout != torch.strided:
            raise CodecError("cannot send a sparse tensor")
        if t.is_complex() or t.dtype in (torch.bfloat16,):
            cpu = t.to("cpu", torch.float32 if t.dtype == torch.bfloat16 else t.dtype)
        else:
            cpu = t.cpu()
        data = cpu.contiguous().numpy().tobytes() if cpu.numel() else b""
        return {"$": "tensor", "dtype": str(value.dtype).replace("torch.", ""),
                "shape": list(value.shape), "device": str(value.device),
                "requires_grad": bool(value.requires_grad),
                "parameter": isinstance(value, torch.nn.Parameter),
                "type": type(value).__name__, "buf": self._buffer(data)}


class Decoder:
    """The inverse of :class:`Encoder`. ``from_handle`` maps handle ids to live objects (worker side)."""

    def __init__(self, buffers: list[bytes], from_handle: Callable[[int], Any] | None = None,
                 tensor_device: Callable[[str], str] | None = None,
                 restore_layout: bool = False) -> None:
        self.buffers = buffers
        self.from_handle = from_handle
        self.tensor_device = tensor_device or (lambda device: device)
        # The worker asks for this: a strided, transposed or read-only input reaches the
        # learner's code as such, not as the contiguous copy that travelled.
        self.restore_layout = restore_layout

    def decode(self, tree: Any) -> Any:
        """The value of ``tree``; ``CodecError`` for anything malformed, whoever sent it."""
        try:
            return self._decode(tree)
        except CodecError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise CodecError(f"malformed value: {type(exc).__name__}: {exc}") from None

    def _decode(self, tree: Any) -> Any:
        if isinstance(tree, list):
            return [self._decode(v) for v in tree]
        if not isinstance(tree, dict):
            return tree
        tag = tree.get("$")
        if tag == "tuple":
            return tuple(self._decode(v) for v in tree["items"])
        if tag == "dict":
            return {_hashable(self._decode(k)): self._decode(v) for k, v in tree["items"]}
        if tag == "float":
            return float(tree["v"])
        if tag == "bigint":
            return int(tree["v"])
        if tag == "complex":
            return complex(self._decode(tree["re"]), self._decode(tree["im"]))
        if tag == "ndarray":
            return self._numpy(tree)
        if tag == "view":
            return self._view(tree)
        if tag == "tensor":
            return self._tensor(tree)
        if tag == "handle":
            if self.from_handle is not None:
                return self.from_handle(tree["id"])
            return Handle(tree["id"], tree.get("type", "object"), tree.get("repr", ""))
        if tag == "exception":
            return RemoteException(tree["type"], tree["message"], tree.get("traceback", ""))
        raise CodecError(f"unknown tag {tag!r}")

    def _numpy(self, tree: dict) -> Any:
        import numpy as np

        dtype = np.dtype(tree["dtype"])
        if dtype.hasobject:
            raise CodecError("object arrays are not data")
        arr = np.frombuffer(self.buffers[tree["buf"]], dtype=dtype).reshape(tree["shape"]).copy()
        if tree.get("scalar"):
            return arr[()]
        return _with_layout(np, arr, tree.get("meta") or {}) if self.restore_layout else arr

    def _view(self, tree: dict) -> Any:
        base = self._numpy(tree["base"])
        index = tuple(_decode_index(i) for i in tree.get("index", []))
        axes = tree.get("axes")
        try:
            return _take_view(base, index, None if axes is None else [int(a) for a in axes])
        except (IndexError, ValueError, TypeError) as exc:
            raise CodecError(f"malformed view: {exc}") from None

    def _tensor(self, tree: dict) -> Any:
        import numpy as np
        import torch

        dtype = getattr(torch, tree["dtype"])
        if not isinstance(dtype, torch.dtype):
            raise CodecError(f"unknown tensor dtype {tree['dtype']!r}")
        wire = torch.float32 if dtype == torch.bfloat16 else dtype
        np_dtype = torch.empty((), dtype=wire).numpy().dtype
        arr = np.frombuffer(self.buffers[tree["buf"]], dtype=np_dtype).reshape(tree["shape"]).copy()
        t = torch.from_numpy(arr).to(dtype)
        device = self.tensor_device(tree["device"])
        if device != "cpu":
            t = t.to(device)
        if tree.get("parameter"):
            return torch.nn.Parameter(t, requires_grad=tree.get("requires_grad", True))
        return t.requires_grad_(True) if tree.get("requires_grad") and t.is_floating_point() else t


class RemoteException(Exception):
    """An exception raised on the other side, carried as its type name, message and traceback text."""

    def __init__(self, type_name: str, message: str, traceback_text: str = "") -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name, self.message, self.traceback_text = type_name, message, traceback_text


def _with_layout(np: Any, arr: Any, meta: dict) -> Any:
    """``arr`` laid out in memory with the sender's strides (zero and negative ones too) and
    its read-only flag; unchanged when the layout is unusual or would cost far more memory."""
    strides = meta.get("strides")
    if strides is not None and not meta.get("c_contiguous", True) and arr.size > 0 \
            and len(strides) == arr.ndim and all(s % arr.itemsize == 0 for s in strides):
        low = sum(s * (n - 1) for s, n in zip(strides, arr.shape) if s < 0) // arr.itemsize
        high = sum(s * (n - 1) for s, n in zip(strides, arr.shape) if s > 0) // arr.itemsize
        if high - low + 1 <= 4 * arr.size + 4096:
            base = np.empty(high - low + 1, dtype=arr.dtype)
            view = np.lib.stride_tricks.as_strided(base[-low:], arr.shape, strides)
            view[...] = arr   # in a broadcast view (zero strides) aliases get the same value
            arr = view
    if meta.get("writeable") is False:
        arr.flags.writeable = False
    return arr


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def describe_exception(exc: BaseException, tb_text: str = "") -> dict:
    try:
        message = str(exc)
    except Exception:  # a learner's exception whose __str__ itself fails
        message = "<the exception's message could not be read>"
    return {"type": type(exc).__name__, "message": message[:truncation.EXCEPTION_MESSAGE_CHARS],
            "traceback": tb_text[-truncation.TRACEBACK_CHARS:]}


def pack_frame(header: Any, buffers: list[bytes] = ()) -> bytes:
    """One message as bytes: the header as JSON, then each buffer, all length-prefixed."""
    head = json.dumps({"h": header, "n": len(buffers)}).encode()
    parts = [_HEADER.pack(len(head)), head]
    for buf in buffers:
        parts += [_HEADER.pack(len(buf)), buf]
    return b"".join(parts)


def write_frame(stream: BinaryIO, header: Any, buffers: list[bytes] = ()) -> None:
    stream.write(pack_frame(header, buffers))
    stream.flush()


def read_frame(stream: BinaryIO) -> tuple[Any, list[bytes]]:
    """Read one message written by :func:`write_frame`; ``EOFError`` when the peer is gone."""
    return unpack_frame(lambda size: _read_exact(stream, size))


def unpack_frame(read_exact: Callable[[int], bytes]) -> tuple[Any, list[bytes]]:
    """Parse one message from ``read_exact(n)``, which returns exactly n bytes or raises."""
    def part() -> bytes:
        (size,) = _HEADER.unpack(read_exact(_HEADER.size))
        if size > MAX_FRAME_BYTES:
            raise CodecError(f"message part of {size} bytes is over the limit")
        return read_exact(size)

    try:
        head = json.loads(part())
        count = int(head["n"])
        if not 0 <= count <= MAX_PARTS:
            raise CodecError(f"a message of {count} parts")
        return head["h"], [part() for _ in range(count)]
    except (ValueError, KeyError, TypeError) as exc:
        raise CodecError(f"malformed message: {exc}") from None


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
