"""The data-only codec: every encodable value survives a round trip, nothing else gets through."""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest
import torch

from grader.isolation import codec
def round_trip(value, **decoder_options):
    enc = codec.Encoder()
    tree = enc.encode(value)
    header, buffers = codec.unpack_frame(_reader(codec.pack_frame({"v": tree}, enc.buffers)))
    return codec.Decoder(buffers, **decoder_options).decode(header["v"])


def _reader(data: bytes):
    view = memoryview(data)
    pos = 0

    def read_exact(n: int) -> bytes:
        nonlocal pos
        if pos + n > len(view):
            raise EOFError("short frame")
        chunk = bytes(view[pos:pos + n])
        pos += n
        return chunk

    return read_exact


@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 2**63 - 1, -(2**63), 2**200, -(3**90), 0.1, -0.0, 1e308,
    "", "text with ünïcode and \n newlines", 1 + 2j, [], (), {},
    [1, [2, [3, (4, 5)]]], ((1, 2), (3, (4,))), {"a": 1, 2: "b", (1, 2): [3], None: {"x": (1,)}},
    {"nested": {"deeper": {"deepest": [1.5, "s", (True, None)]}}},
], ids=repr)
def test_plain_values_round_trip(value):
    got = round_trip(value)
    assert got == value and type(got) is type(value)
    if isinstance(value, float):
        assert math.copysign(1, got) == math.copysign(1, value)


def test_containers_keep_their_types_all_the_way_down():
    value = {"t": (1, [2, (3,)]), "l": [(4, 5)]}
    got = round_trip(value)
    assert type(got["t"]) is tuple and type(got["t"][1]) is list and type(got["t"][1][1]) is tuple
    assert type(got["l"][0]) is tuple


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")], ids=repr)
def test_non_finite_floats_round_trip(value):
    got = round_trip(value)
    assert type(got) is float
    assert (math.isnan(got) and math.isnan(value)) or got == value


def test_frames_are_valid_json_headers_even_with_nan():
    enc = codec.Encoder()
    tree = enc.encode([float("nan"), float("inf")])
    json.loads(json.dumps(tree, allow_nan=False))   # no bare NaN/Infinity tokens


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int64, np.int32, np.int8,
                                   np.uint8, np.bool_, np.complex128])
def test_arrays_round_trip_with_dtype_and_shape(dtype):
    arr = (np.arange(24).reshape(2, 3, 4) % 5).astype(dtype)
    got = round_trip(arr)
    assert type(got) is np.ndarray and got.dtype == arr.dtype and got.shape == arr.shape
    np.testing.assert_array_equal(got, arr)


def test_special_arrays_round_trip():
    for arr in (np.zeros((0, 3)), np.zeros((2, 0, 4), dtype=np.int32), np.array(3.5),
                np.array([np.nan, np.inf, -np.inf]), np.array(["ab", "c"]),
                np.arange(6, dtype=">i4").reshape(2, 3)):
        got = round_trip(arr)
        assert type(got) is np.ndarray and got.shape == arr.shape and got.dtype == arr.dtype
        np.testing.assert_array_equal(got, arr)


def test_zero_d_array_stays_an_array_and_scalars_stay_scalars():
    got = round_trip(np.array(7))
    assert type(got) is np.ndarray and got.shape == () and got == 7
    for scalar in (np.float64(1.25), np.float32(-2.5), np.int64(-3), np.int8(7), np.bool_(True),
                   np.uint16(65535), np.complex64(1 - 1j)):
        got = round_trip(scalar)
        assert type(got) is type(scalar) and got == scalar


@pytest.mark.parametrize("make", [
    lambda base: base[:, ::2], lambda base: base.T, lambda base: base[::-1, ::-3],
    lambda base: np.asfortranarray(base), lambda base: base[1:, 2],
    lambda base: np.broadcast_to(base[0], (4, 7)),
], ids=["step", "transpose", "negative", "fortran", "column", "broadcast"])
def test_non_contiguous_arrays_keep_their_values(make):
    view = make(np.arange(35.0).reshape(5, 7))
    got = round_trip(view)
    np.testing.assert_array_equal(got, view)
    assert got.flags.c_contiguous      # the grader side gets a plain contiguous copy


@pytest.mark.parametrize("make", [
    lambda base: base[:, ::2], lambda base: base.T, lambda base: base[::-1, ::-3],
    lambda base: np.broadcast_to(base[0], (4, 7)),
], ids=["step", "transpose", "negative", "broadcast"])
def test_worker_side_decoding_restores_the_layout(make):
    view = make(np.arange(35.0).reshape(5, 7))
    got = round_trip(view, restore_layout=True)
    np.testing.assert_array_equal(got, view)
    assert got.strides == view.strides
    assert got.flags.c_contiguous == view.flags.c_contiguous
    assert got.flags.writeable == view.flags.writeable


def test_read_only_flag_travels_to_the_worker():
    arr = np.arange(4.0)
    arr.flags.writeable = False
    assert not round_trip(arr, restore_layout=True).flags.writeable
    assert round_trip(arr).flags.writeable      # grader-side copies are ordinary arrays


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64, torch.bool,
                                   torch.float16, torch.bfloat16, torch.uint8])
def test_tensors_round_trip(dtype):
    t = (torch.arange(12).reshape(3, 4) % 3).to(dtype)
    got = round_trip(t)
    assert isinstance(got, torch.Tensor) and got.dtype == dtype and got.shape == t.shape
    assert got.device.type == "cpu" and not got.requires_grad
    assert torch.equal(got, t)


def test_tensor_requires_grad_and_parameter_flags_round_trip():
    t = torch.randn(2, 3, requires_grad=True)
    got = round_trip(t)
    assert got.requires_grad and type(got) is torch.Tensor and torch.equal(got, t.detach())
    p = torch.nn.Parameter(torch.randn(4))
    got = round_trip(p)
    assert isinstance(got, torch.nn.Parameter) and got.requires_grad
    frozen = torch.nn.Parameter(torch.randn(4), requires_grad=False)
    assert not round_trip(frozen).requires_grad


def test_tensor_edge_cases_round_trip():
    for t in (torch.zeros(0, 5), torch.tensor(2.5), torch.randn(4, 6).T, torch.randn(5)[::2]):
        got = round_trip(t)
        assert got.shape == t.shape and got.dtype == t.dtype and torch.equal(got, t)


def test_tensor_device_is_carried_and_can_be_mapped():
    enc = codec.Encoder()
    tree = enc.encode(torch.ones(2))
    assert tree["device"] == "cpu"
    tree["device"] = "cuda:0"   # as a GPU worker would send it
    seen = []
    got = codec.Decoder(enc.buffers, tensor_device=lambda d: seen.append(d) or "cpu").decode(tree)
    assert seen == ["cuda:0"] and got.device.type == "cpu"


def test_handles_round_trip_by_identity():
    kept = {}

    def keep(obj):
        kept[len(kept) + 1] = obj
        return codec.Handle(len(kept), type(obj).__name__, repr(obj)[:50])

    class Model:
        def __repr__(self):
            return "Model()"

    model = Model()
    enc = codec.Encoder(to_handle=keep)
    tree = enc.encode({"model": model, "n": 3})
    got = codec.Decoder(enc.buffers).decode(tree)
    handle = got["model"]
    assert isinstance(handle, codec.Handle) and handle.type_name == "Model" and handle.text == "Model()"
    assert got["n"] == 3
    # sent back, the handle turns into the live object again on the worker side
    enc2 = codec.Encoder()
    back = codec.Decoder(enc2.buffers, from_handle=kept.__getitem__).decode(enc2.encode([handle]))
    assert back == [model] and back[0] is model


def test_exceptions_travel_as_text():
    got = round_trip(ValueError("shapes (2, 3) and (4,)"))
    assert isinstance(got, codec.RemoteException)
    assert got.type_name == "ValueError" and got.message == "shapes (2, 3) and (4,)"


class _Opaque:
    pass


@pytest.mark.parametrize("value", [
    _Opaque(), {1, 2}, b"bytes", lambda: 1, np.array([object(), 1], dtype=object),
    np.zeros(2, dtype=[("x", "f8"), ("y", "i4")]), [1, [_Opaque()]], {"k": object()},
], ids=["object", "set", "bytes", "lambda", "object-array", "record-array", "nested", "dict-value"])
def test_non_data_is_refused_without_a_handle_maker(value):
    with pytest.raises(codec.CodecError):
        codec.Encoder().encode(value)


def test_object_array_is_refused_even_with_a_handle_maker():
    enc = codec.Encoder(to_handle=lambda obj: codec.Handle(1, "x", "x"))
    with pytest.raises(codec.CodecError, match="dtype object"):
        enc.encode(np.array([None, 1], dtype=object))


def test_too_deep_nesting_is_refused():
    value: list = []
    for _ in range(100):
        value = [value]
    with pytest.raises(codec.CodecError, match="nested"):
        codec.Encoder().encode(value)


def test_an_object_array_on_the_wire_is_refused():
    tree = {"$": "ndarray", "dtype": "|O", "shape": [1], "buf": 0}
    with pytest.raises(codec.CodecError):
        codec.Decoder([b"\0" * 8]).decode(tree)


@pytest.mark.parametrize("tree, buffers", [
    ({"$": "mystery"}, []),
    ({"$": "ndarray", "dtype": "<f8", "shape": [2], "buf": 3}, []),
    ({"$": "ndarray", "dtype": "<f8", "shape": [5], "buf": 0}, [b"\0" * 8]),
    ({"$": "ndarray", "dtype": "not a dtype", "shape": [1], "buf": 0}, [b"\0" * 8]),
    ({"$": "ndarray", "shape": [1], "buf": 0}, [b"\0" * 8]),
    ({"$": "tensor", "dtype": "Tensor", "shape": [1], "buf": 0, "device": "cpu"}, [b"\0" * 4]),
    ({"$": "tensor", "dtype": "no_such_dtype", "shape": [1], "buf": 0, "device": "cpu"}, [b""]),
    ({"$": "tuple"}, []),
    ({"$": "dict", "items": [[1]]}, []),
    ({"$": "bigint", "v": "12x"}, []),
    ({"$": "float", "v": "not a float"}, []),
], ids=["unknown-tag", "missing-buffer", "short-buffer", "bad-dtype", "no-dtype", "tensor-not-dtype",
        "unknown-tensor-dtype", "tuple-no-items", "dict-bad-pair", "bad-bigint", "bad-float"])
def test_malformed_values_raise_codec_error(tree, buffers):
    with pytest.raises(codec.CodecError):
        codec.Decoder(buffers).decode(tree)


def _part(data: bytes) -> bytes:
    return struct.pack("<Q", len(data)) + data


@pytest.mark.parametrize("data", [
    _part(b"not json"),
    _part(b"[1, 2]"),
    _part(b'{"h": 1}'),
    _part(b'{"h": 1, "n": "many"}'),
    _part(b"\xff\xfe"),
    struct.pack("<Q", codec.MAX_FRAME_BYTES + 1),
], ids=["not-json", "not-an-object", "no-count", "bad-count", "not-utf8", "oversized"])
def test_malformed_frames_raise_codec_error(data):
    with pytest.raises(codec.CodecError):
        codec.unpack_frame(_reader(data))


def test_truncated_frame_is_end_of_file():
    frame = codec.pack_frame({"x": 1}, [b"abcdef"])
    with pytest.raises(EOFError):
        codec.unpack_frame(_reader(frame[:-3]))


def test_frame_round_trip_with_buffers():
    header, buffers = codec.unpack_frame(_reader(codec.pack_frame({"op": "x"}, [b"", b"\0\1"])))
    assert header == {"op": "x"} and buffers == [b"", b"\0\1"]
