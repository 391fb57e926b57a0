"""Hidden suite for ex02_broadcasting: broadcast_shape, expand_dims, broadcast_to."""

import dataclasses

import numpy as np
import pytest

from grader.checks.constraints import BROADCAST_HELPERS, EXPAND_DIMS, TILE_REPEAT
from grader.checks.expect import (expect, expect_array, expect_equal, expect_raises, expect_without,
                                  fail, result_of)
from grader.isolation.codec import View

pytestmark = pytest.mark.exercise("ex02_broadcasting")

# The lesson's worked example.
M = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
C = np.array([10, 20, 30])
M_PLUS_ROW = np.array([[11, 22, 33], [14, 25, 36], [17, 28, 39]])     # m + expand_dims(c, 0)
M_PLUS_COLUMN = np.array([[11, 12, 13], [24, 25, 26], [37, 38, 39]])  # m + expand_dims(c, 1)

# SPEC forbids np.broadcast_to and np.broadcast_arrays in broadcast_to (not np.broadcast_shapes).
STRETCHING_HELPERS = dataclasses.replace(BROADCAST_HELPERS, dotted=frozenset(
    d for d in BROADCAST_HELPERS.dotted if d.rsplit(".", 1)[-1] in
    ("broadcast_to", "broadcast_arrays", "broadcast_tensors")),
    hint="make the view yourself: np.lib.stride_tricks.as_strided with zero strides")

ALIGN_HINT = ("line the shapes up from the right; a missing leading dimension counts as 1, "
              "and a size 1 takes the other size (even 0)")
NEGATIVE_AXIS_HINT = ("a negative axis counts from the end of the result, which has a.ndim + 1 "
                      "dimensions: -1 appends the new axis last, -(a.ndim + 1) puts it first")
VIEW_HINT = ("a[:, None]-style indexing and a.reshape(...) return views of a; np.array(a), "
             "a.copy() and np.ascontiguousarray(a) make copies")


# -- inputs -------------------------------------------------------------------------------------
def _random_shape(rng, max_ndim=4):
    ndim = int(rng.integers(0, max_ndim + 1))
    return tuple(int(s) for s in rng.choice([0, 1, 1, 2, 3, 4, 5], size=ndim,
                                            p=[0.05, 0.25, 0.1, 0.2, 0.2, 0.1, 0.1]))


def _operand_of(rng, shape):
    """A shape that broadcasts to ``shape``: a suffix of it, with some sizes replaced by 1."""
    keep = int(rng.integers(0, len(shape) + 1))
    suffix = shape[len(shape) - keep:]
    return tuple(1 if rng.random() < 0.3 else s for s in suffix)


def _dtype(rng, *choices):
    return choices[int(rng.integers(len(choices)))]


def _values(rng, shape, dtype):
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-9, 10, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _strided(rng, shape, dtype):
    """A non-contiguous view of ``shape`` in the worker: every 2nd or 3rd element of a bigger
    base along its last axis, then transposed (axes reversed)."""
    ndim = len(shape)
    axes = tuple(range(ndim))[::-1]
    inner = [0] * ndim
    for i, ax in enumerate(axes):
        inner[ax] = shape[i]
    step = int(rng.integers(2, 4))
    base = _values(rng, tuple(inner[:-1]) + (inner[-1] * step,), dtype)
    return View(base, (slice(None),) * (ndim - 1) + (slice(None, None, step),), axes)


def _clashing_pair(rng):
    shape = _random_shape(rng, 4) or (3,)
    a, b = _operand_of(rng, shape), _operand_of(rng, shape)
    size_a, size_b = (int(s) for s in rng.choice([0, 2, 3, 4, 5, 6], size=2, replace=False))
    a, b = a + (size_a,), b + (size_b,)   # the last dimensions clash
    return (a, b) if rng.random() < 0.5 else (b, a)


# -- broadcast_shape ----------------------------------------------------------------------------
@pytest.mark.check(points=1)
def test_broadcast_shape_lesson_examples(ex):
    for a, b, want in (((3, 3), (3,), (3, 3)), ((3, 1), (1, 3), (3, 3)),
                       ((256, 256, 3), (3,), (256, 256, 3)),
                       ((3, 3), (1, 3), (3, 3)), ((3, 3), (3, 1), (3, 3))):
        call = f"broadcast_shape({a}, {b})"
        expect_equal(result_of(ex.broadcast_shape, a, b, call=call, hint=ALIGN_HINT), want,
                     call=call, hint=ALIGN_HINT)


@pytest.mark.check(points=1)
def test_broadcast_shape_missing_dims_count_as_one(ex):
    for a, b in (((5, 4), (4,)), ((4,), (5, 4)), ((8, 1, 6, 1), (7, 1, 5)), ((4, 1), (8, 4, 3)),
                 ((), (3, 4)), ((2, 3, 4), ()), ((15, 3, 5), (15, 1, 5))):
        call = f"broadcast_shape({a}, {b})"
        expect_equal(result_of(ex.broadcast_shape, a, b, call=call, hint=ALIGN_HINT),
                     np.broadcast_shapes(a, b), call=call, hint=ALIGN_HINT)


@pytest.mark.check(points=1, visibility="hidden")
def test_broadcast_shape_zero_sizes(ex):
    for a, b in (((0,), (1,)), ((1,), (0,)), ((1, 0), (3, 1)), ((0,), (0,)), ((2, 0), (0,)),
                 ((0, 1), (1, 5)), ((4, 0, 1), (1, 7))):
        call = f"broadcast_shape({a}, {b})"
        expect_equal(result_of(ex.broadcast_shape, a, b, call=call), np.broadcast_shapes(a, b),
                     call=call, hint="a size 1 stretches to the other size, also to 0: the result "
                                     "is not the larger of the two")


@pytest.mark.check(points=1, visibility="hidden")
def test_broadcast_shape_random_shapes(ex, rng):
    for _ in range(150):
        shape = _random_shape(rng, 5)
        a, b = _operand_of(rng, shape), _operand_of(rng, shape)
        if rng.random() < 0.5:
            a, b = b, a
        call = f"broadcast_shape({a}, {b})"
        got = result_of(ex.broadcast_shape, a, b, call=call, hint=ALIGN_HINT)
        expect_equal(got, np.broadcast_shapes(a, b), call=call, hint=ALIGN_HINT)
        expect(all(type(s) is int for s in got), call,
               f"expected a tuple of Python ints, got sizes of type "
               f"{sorted({type(s).__name__ for s in got})}", hint="convert each size with int(...)")


@pytest.mark.check(points=1, role="errors")
def test_broadcast_shape_rejects_clashes(ex, rng):
    expect_raises(ValueError, ex.broadcast_shape, (2, 7), (5,), call="broadcast_shape((2, 7), (5,))",
                  mentions=("7", "5"), hint="name the two sizes that clash (and the shapes)")
    expect_raises(ValueError, ex.broadcast_shape, (4, 3, 1), (9, 1, 1),
                  call="broadcast_shape((4, 3, 1), (9, 1, 1))", mentions=("4", "9"),
                  hint="name the two sizes that clash (and the shapes)")
    for a, b in (((3,), (0,)), ((2, 3), (3, 2)), ((1, 3), (4, 1, 2)), *(_clashing_pair(rng)
                                                                          for _ in range(20))):
        expect_raises(ValueError, ex.broadcast_shape, a, b, call=f"broadcast_shape({a}, {b})",
                      hint="two sizes that differ and are both not 1 cannot be broadcast: "
                           "raise ValueError")


@pytest.mark.check(points=1, kind="constraint")
def test_broadcast_shape_without_helpers(ex, source):
    call = "broadcast_shape((3, 1), (1, 3))"
    expect_equal(result_of(ex.broadcast_shape, (3, 1), (1, 3), call=call), (3, 3), call=call)
    expect_without(source, "broadcast_shape", BROADCAST_HELPERS,
                   hint="apply the rule yourself: pad the shorter shape with 1s and compare")


# -- expand_dims --------------------------------------------------------------------------------
@pytest.mark.check(points=1)
def test_expand_dims_lesson_example(ex):
    for axis, total in ((0, M_PLUS_ROW), (1, M_PLUS_COLUMN)):
        got = result_of(ex.expand_dims, C, axis, call=f"expand_dims(c, {axis})", inputs={"c": C})
        expect_array(got, np.expand_dims(C, axis), call=f"expand_dims(c, {axis})",
                     inputs={"c": C}, hint="the result has one more dimension, of size 1, at axis")
        expect_array(M + got, total, call=f"m + expand_dims(c, {axis})", inputs={"m": M, "c": C})


@pytest.mark.check(points=1, visibility="hidden")
def test_expand_dims_random_arrays(ex, rng):
    for _ in range(40):
        shape = _random_shape(rng, 4)
        a = _values(rng, shape, _dtype(rng, np.float64, np.int64, np.float32, np.uint8))
        axis = int(rng.integers(0, a.ndim + 1))
        call = f"expand_dims(a, {axis})"
        expect_array(result_of(ex.expand_dims, a, axis, call=call, inputs={"a": a}),
                     np.expand_dims(a, axis), call=call, inputs={"a": a},
                     hint="insert a size-1 axis at that position; keep the dtype")


@pytest.mark.check(points=2)
def test_expand_dims_negative_axes(ex, rng):
    for a, axis, name, want in ((C, -1, "c", C[:, None]), (M, -3, "m", M[None])):
        call = f"expand_dims({name}, {axis})"
        expect_array(result_of(ex.expand_dims, a, axis, call=call, inputs={name: a}), want,
                     call=call, inputs={name: a}, hint=NEGATIVE_AXIS_HINT)
    for _ in range(30):
        shape = _random_shape(rng, 4)
        a = _values(rng, shape, _dtype(rng, np.float64, np.int64))
        axis = int(rng.integers(-a.ndim - 1, 0))
        call = f"expand_dims(a, {axis})"
        expect_array(result_of(ex.expand_dims, a, axis, call=call, inputs={"a": a}),
                     np.expand_dims(a, axis), call=call, inputs={"a": a}, hint=NEGATIVE_AXIS_HINT)


@pytest.mark.check(points=1, role="method")
def test_expand_dims_returns_a_view(ex, rng):
    cases = [(C, 0, "c"), (M, 1, "m")]
    for _ in range(12):
        shape = tuple(int(s) for s in rng.integers(2, 5, int(rng.integers(1, 4))))
        view = _strided(rng, shape, _dtype(rng, np.float64, np.int64))
        cases.append((view, int(rng.integers(0, len(shape) + 1)), "a"))
    for a, axis, name in cases:
        arr = a.array if isinstance(a, View) else a
        call = f"expand_dims({name}, {axis})" + (" on a non-contiguous array"
                                                  if isinstance(a, View) else "")
        result = result_of(ex.expand_dims.call, a, axis, probe=["shares_memory"], call=call,
                           inputs={name: arr})
        expect_array(result.value, np.expand_dims(arr, axis), call=call, inputs={name: arr},
                     hint="work on the strided array as it is: a[..., None, ...] keeps its strides")
        expect(result.extra.get("shares_memory", [None])[0] is True, call,
               "the result does not share memory with the input: it is a copy, not a view",
               inputs={name: arr}, hint=VIEW_HINT)


@pytest.mark.check(points=1, role="errors")
def test_expand_dims_rejects_axis_out_of_range(ex):
    for a, axis, name in ((C, 9, "c"), (C, -7, "c"), (M, 3, "m"), (M, -4, "m")):
        expect_raises(ValueError, ex.expand_dims, a, axis, call=f"expand_dims({name}, {axis})",
                      inputs={name: a}, mentions=(str(axis),),
                      hint="valid axes run from -(a.ndim + 1) to a.ndim; say which axis is wrong")


@pytest.mark.check(points=1, kind="constraint")
def test_expand_dims_without_np_expand_dims(ex, source):
    call = "expand_dims(c, 1)"
    traced = result_of(ex.expand_dims.call, C, 1, probe=["trace"], call=call, inputs={"c": C})
    expect_array(traced.value, C[:, None], call=call, inputs={"c": C})
    expect_without(source, "expand_dims", EXPAND_DIMS, trace=traced.extra.get("trace"),
                   runtime_names={"expand_dims"},
                   hint="insert the axis by indexing with None, e.g. a[:, None]")


# -- broadcast_to -------------------------------------------------------------------------------
def _stretched_axes(a_shape, target):
    extra = len(target) - len(a_shape)
    return [i for i, size in enumerate(target)
            if size > 1 and (i < extra or a_shape[i - extra] == 1)]


@pytest.mark.check(points=1)
def test_broadcast_to_lesson_example(ex):
    call = "broadcast_to(c, (3, 3))"
    expect_array(result_of(ex.broadcast_to, C, (3, 3), call=call, inputs={"c": C}),
                 np.array([[10, 20, 30]] * 3), call=call, inputs={"c": C},
                 hint="every row is c: the new leading axis is stretched")
    column = C.reshape(3, 1)
    call = "broadcast_to(c[:, None], (3, 3))"
    expect_array(result_of(ex.broadcast_to, column, (3, 3), call=call, inputs={"c[:, None]": column}),
                 np.array([[10] * 3, [20] * 3, [30] * 3]), call=call, inputs={"c[:, None]": column},
                 hint="every column is c: the size-1 axis is stretched")


@pytest.mark.check(points=2, visibility="hidden")
def test_broadcast_to_random_shapes(ex, rng):
    for i in range(60):
        target = _random_shape(rng, 4)
        a_shape = _operand_of(rng, target)
        dtype = _dtype(rng, np.float64, np.int64, np.float32)
        a = _strided(rng, a_shape, dtype) if a_shape and i % 3 == 0 else _values(rng, a_shape, dtype)
        arr = a.array if isinstance(a, View) else a
        call = f"broadcast_to(a, {target})"
        expect_array(result_of(ex.broadcast_to, a, target, call=call, inputs={"a": arr}),
                     np.broadcast_to(arr, target), call=call, inputs={"a": arr}, hint=ALIGN_HINT)
    call = "broadcast_to(np.array([7]), 4)"
    expect_array(result_of(ex.broadcast_to, np.array([7]), 4, call=call), np.full(4, 7), call=call,
                 hint="an int n as the shape means (n,)")


@pytest.mark.check(points=1, role="method")
def test_broadcast_to_shares_memory(ex, rng):
    cases = [(C, (4, 3)), (C.reshape(3, 1), (2, 3, 5))]
    for _ in range(10):
        target = tuple(int(s) for s in rng.integers(1, 5, int(rng.integers(1, 4))))
        a_shape = _operand_of(rng, target) or (1,)
        cases.append((_strided(rng, a_shape, np.float64), target))
    for a, target in cases:
        arr = a.array if isinstance(a, View) else a
        call = f"broadcast_to(a, {target})"
        result = result_of(ex.broadcast_to.call, a, target, probe=["shares_memory"], call=call,
                           inputs={"a": arr})
        expect_array(result.value, np.broadcast_to(arr, target), call=call, inputs={"a": arr})
        expect(result.extra.get("shares_memory", [None])[0] is True, call,
               "the result does not share memory with a: it is a copy, not a view", inputs={"a": arr},
               hint="build the view with np.lib.stride_tricks.as_strided, giving a stride of 0 to "
                    "every stretched axis")


@pytest.mark.check(points=1, role="method")
def test_broadcast_to_zero_strides(ex, rng):
    cases = [(C, (3, 3)), (C.reshape(3, 1), (3, 3)), (np.ones((1, 4, 1)), (2, 3, 4, 5))]
    for _ in range(10):
        target = tuple(int(s) for s in rng.integers(1, 5, int(rng.integers(1, 5))))
        cases.append((_values(rng, _operand_of(rng, target), np.int64), target))
    for a, target in cases:
        call = f"broadcast_to(an array of shape {a.shape}, {target})"
        result = result_of(ex.broadcast_to.call, a, target, probe=["array_meta"], call=call,
                           inputs={"a": a})
        expect_array(result.value, np.broadcast_to(a, target), call=call, inputs={"a": a})
        strides = (result.extra.get("array_meta") or {}).get("strides") or []
        expect(len(strides) == len(target), call, "the result's strides could not be read")
        bad = [i for i in _stretched_axes(a.shape, target) if strides[i] != 0]
        if bad:
            fail(call, f"axis {bad[0]} is stretched, so its stride should be 0, but it is "
                       f"{strides[bad[0]]} (strides {tuple(strides)}): a stride of 0 reads the same "
                       f"memory again along the axis instead of copying it", inputs={"a": a},
               hint="give every new axis, and every size-1 axis that grows, a stride of 0")


@pytest.mark.check(points=1, role="method")
def test_broadcast_to_is_read_only(ex):
    for a, target in ((C, (3, 3)), (C.reshape(3, 1), (3, 3)), (np.ones(1), (5,))):
        call = f"broadcast_to(an array of shape {a.shape}, {target})"
        result = result_of(ex.broadcast_to.call, a, target, probe=["array_meta"], call=call)
        expect_array(result.value, np.broadcast_to(a, target), call=call)
        meta = result.extra.get("array_meta") or {}
        expect(meta.get("writeable") is False, call,
               "the result is writeable; writing to one element of a stretched view would change "
               "a whole row of it (and a), so it must be read-only",
               hint="pass writeable=False to as_strided, or set result.flags.writeable = False")


@pytest.mark.check(points=1, role="errors")
def test_broadcast_to_rejects_incompatible_shapes(ex):
    expect_raises(ValueError, ex.broadcast_to, np.ones(7), (2, 5),
                  call="broadcast_to(an array of shape (7,), (2, 5))", mentions=("7", "5"),
                  hint="name the shapes (or the sizes) that do not fit")
    for shape, target, why in (((3,), (1,), "a size other than 1 never changes"),
                               ((2, 3), (3,), "the target may not have fewer dimensions"),
                               ((0,), (3,), "a size of 0 cannot become 3"),
                               ((3, 1), (4, 2, 2), "3 cannot become 2 (axis -2)")):
        expect_raises(ValueError, ex.broadcast_to, np.zeros(shape), target,
                      call=f"broadcast_to(an array of shape {shape}, {target})", hint=why)


@pytest.mark.check(points=1, kind="constraint")
def test_broadcast_to_without_copying_helpers(ex, source):
    call = "broadcast_to(c, (3, 3))"
    traced = result_of(ex.broadcast_to.call, C, (3, 3), probe=["trace"], call=call, inputs={"c": C})
    expect_array(traced.value, np.broadcast_to(C, (3, 3)), call=call, inputs={"c": C})
    expect_without(source, "broadcast_to", [STRETCHING_HELPERS, TILE_REPEAT],
                   trace=traced.extra.get("trace"),
                   runtime_names={"broadcast_to", "broadcast_arrays", "tile", "repeat"})
