"""Hidden suite for ex02_broadcasting: broadcast_shape, expand_dims, broadcast_to."""

import dataclasses

import numpy as np
import pytest

from grader.checks.constraints import BROADCAST_HELPERS, EXPAND_DIMS, SHAPES_ONLY, TILE_REPEAT
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

# -- hints, gentlest first (`grader hint` shows them one at a time) ----------------------------
HINTS_ALIGN = (
    "Write the two shapes one above the other, aligned on the right, as the lesson does: "
    "(256, 256, 3) over (3,). Each column must fit.",
    "Pad the shorter shape on the left with 1s until both have the same length, then compare "
    "position by position: equal sizes stay, and a 1 takes the other size.",
    ALIGN_HINT,
)
HINTS_MISSING = (
    "A shape that is shorter than the other has its missing dimensions on the left, and they "
    "count as 1: (4,) against (5, 4) is (1, 4) against (5, 4).",
    "Pad the shorter shape with 1s in front ((1,) * (difference) + shape) before comparing; "
    "() is a scalar and fits anything.",
)
HINTS_ZERO = (
    "A size of 0 is a size like any other: a 1 stretches to 0 as it stretches to 5.",
    "The result takes the other size when one of them is 1, not the larger one: 1 against 0 "
    "gives 0, and 0 against 0 gives 0.",
)
HINTS_CLASH = (
    "Two sizes at the same position that differ, with neither of them 1, cannot be broadcast; "
    "neither can a size that is negative or not a whole number.",
    "Raise ValueError as soon as a pair clashes (or a size is not a non-negative int), and name "
    "both shapes and the clashing sizes in the message, as the docstring's example does.",
)
HINTS_RULE_YOURSELF = (
    "np.broadcast_shapes and its relatives apply the rule for you; the exercise is to apply it "
    "yourself.",
    "Pad the shorter shape with 1s on the left and compare the sizes position by position, in "
    "a loop or a comprehension over zip(...).",
)
HINTS_EXPAND = (
    "The result has one more dimension than a, of size 1, at position axis; the data does not "
    "change.",
    "Indexing with None inserts a size-1 axis where the None stands: a[None] in front, "
    "a[:, None] after the first axis; build that index for any axis.",
)
HINTS_NEGATIVE = (
    "A negative axis counts from the end of the result, which has a.ndim + 1 dimensions.",
    NEGATIVE_AXIS_HINT,
)
HINTS_VIEW = (
    "A view shares a's memory: writing to it writes to a, and nothing is copied.",
    VIEW_HINT,
)
HINTS_AXIS_RANGE = (
    "An axis past either end of the result is an error, and so is an axis that is not a "
    "single whole number.",
    "Valid axes run from -(a.ndim + 1) to a.ndim: raise ValueError naming the axis and that "
    "range outside it, and TypeError when axis is not an int.",
)
HINTS_EXPAND_WITHOUT = (
    "np.expand_dims does the whole job; the exercise is to insert the axis yourself.",
    "Insert the axis by indexing with None (a[:, None]) or with a.reshape(...) to the new shape.",
)
HINTS_STRETCH = (
    "Line a's shape up with the target from the right: new leading axes and axes where a has "
    "size 1 are stretched, every other size stays as it is.",
    "Build the view with np.lib.stride_tricks.as_strided(a, shape=..., strides=...): stretched "
    "axes repeat the same memory.",
    ALIGN_HINT,
)
HINTS_STRIDES = (
    "Stretching copies nothing: a stretched axis reads the same memory again at every step.",
    "Give np.lib.stride_tricks.as_strided a stride of 0 for every new axis and every size-1 axis "
    "that grows, and a's own stride for every other axis.",
)
HINTS_READ_ONLY = (
    "In a stretched view one element of a appears many times, so writing to one position "
    "would change a whole row of the view.",
    "as_strided takes writeable=False; or set result.flags.writeable = False before returning.",
)
HINTS_TO_ERRORS = (
    "A size other than 1 never changes, the target may not have fewer dimensions than a, and "
    "a negative target size is an error.",
    "Check each aligned pair (and the target's sizes) before building the view; raise "
    "ValueError naming a's shape and the target.",
)
HINTS_TO_WITHOUT = (
    "np.broadcast_to, np.tile and np.repeat do the stretching for you (the last two by copying).",
    "Make the view yourself with np.lib.stride_tricks.as_strided and zero strides.",
)


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
@pytest.mark.check(points=1, hints=HINTS_ALIGN)
def test_broadcast_shape_lesson_examples(ex):
    for a, b, want in (((3, 3), (3,), (3, 3)), ((3, 1), (1, 3), (3, 3)),
                       ((256, 256, 3), (3,), (256, 256, 3)),
                       ((3, 3), (1, 3), (3, 3)), ((3, 3), (3, 1), (3, 3))):
        call = f"broadcast_shape({a}, {b})"
        expect_equal(result_of(ex.broadcast_shape, a, b, call=call, hint=ALIGN_HINT), want,
                     call=call, hint=ALIGN_HINT)


@pytest.mark.check(points=1, hints=HINTS_MISSING)
def test_broadcast_shape_missing_dims_count_as_one(ex):
    for a, b in (((5, 4), (4,)), ((4,), (5, 4)), ((8, 1, 6, 1), (7, 1, 5)), ((4, 1), (8, 4, 3)),
                 ((), (3, 4)), ((2, 3, 4), ()), ((15, 3, 5), (15, 1, 5))):
        call = f"broadcast_shape({a}, {b})"
        expect_equal(result_of(ex.broadcast_shape, a, b, call=call, hint=ALIGN_HINT),
                     np.broadcast_shapes(a, b), call=call, hint=ALIGN_HINT)


@pytest.mark.check(points=1, hints=HINTS_ZERO, visibility="hidden")
def test_broadcast_shape_zero_sizes(ex):
    for a, b in (((0,), (1,)), ((1,), (0,)), ((1, 0), (3, 1)), ((0,), (0,)), ((2, 0), (0,)),
                 ((0, 1), (1, 5)), ((4, 0, 1), (1, 7))):
        call = f"broadcast_shape({a}, {b})"
        expect_equal(result_of(ex.broadcast_shape, a, b, call=call), np.broadcast_shapes(a, b),
                     call=call, hint="a size 1 stretches to the other size, also to 0: the result "
                                     "is not the larger of the two")


@pytest.mark.check(points=1, hints=HINTS_ALIGN, visibility="hidden")
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


@pytest.mark.check(points=1, hints=HINTS_CLASH, role="errors")
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
    # The docstring's other errors: a size that is negative or not an integer.
    for a, b in (((2, -1), (2, 1)), ((3,), (-3,)), ((2.0, 3), (3,)), ((3,), (1.5,))):
        expect_raises(ValueError, ex.broadcast_shape, a, b, call=f"broadcast_shape({a}, {b})",
                      hint="a size is a non-negative whole number: raise ValueError for any other")


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_RULE_YOURSELF)
def test_broadcast_shape_without_helpers(ex, source):
    call = "broadcast_shape((3, 1), (1, 3))"
    expect_equal(result_of(ex.broadcast_shape, (3, 1), (1, 3), call=call), (3, 3), call=call)
    expect_without(source, "broadcast_shape", SHAPES_ONLY, hint=HINTS_RULE_YOURSELF[1])


# -- expand_dims --------------------------------------------------------------------------------
@pytest.mark.check(points=1, hints=HINTS_EXPAND)
def test_expand_dims_lesson_example(ex):
    for axis, total in ((0, M_PLUS_ROW), (1, M_PLUS_COLUMN)):
        got = result_of(ex.expand_dims, C, axis, call=f"expand_dims(c, {axis})", inputs={"c": C})
        expect_array(got, np.expand_dims(C, axis), call=f"expand_dims(c, {axis})",
                     inputs={"c": C}, hint="the result has one more dimension, of size 1, at axis")
        expect_array(M + got, total, call=f"m + expand_dims(c, {axis})", inputs={"m": M, "c": C})


@pytest.mark.check(points=1, hints=HINTS_EXPAND, visibility="hidden")
def test_expand_dims_random_arrays(ex, rng):
    for _ in range(40):
        shape = _random_shape(rng, 4)
        a = _values(rng, shape, _dtype(rng, np.float64, np.int64, np.float32, np.uint8))
        axis = int(rng.integers(0, a.ndim + 1))
        call = f"expand_dims(a, {axis})"
        expect_array(result_of(ex.expand_dims, a, axis, call=call, inputs={"a": a}),
                     np.expand_dims(a, axis), call=call, inputs={"a": a},
                     hint="insert a size-1 axis at that position; keep the dtype")


@pytest.mark.check(points=2, hints=HINTS_NEGATIVE)
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


@pytest.mark.check(points=1, hints=HINTS_VIEW, role="method")
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


@pytest.mark.check(points=1, hints=HINTS_AXIS_RANGE, role="errors")
def test_expand_dims_rejects_axis_out_of_range(ex):
    for a, axis, name in ((C, 9, "c"), (C, -7, "c"), (M, 3, "m"), (M, -4, "m")):
        expect_raises(ValueError, ex.expand_dims, a, axis, call=f"expand_dims({name}, {axis})",
                      inputs={name: a}, mentions=(str(axis),),
                      hint="valid axes run from -(a.ndim + 1) to a.ndim; say which axis is wrong")
    for axis in (1.0, (0, 1), "1"):
        expect_raises(TypeError, ex.expand_dims, C, axis, call=f"expand_dims(c, {axis!r})",
                      inputs={"c": C}, hint="an axis that is not a single int is a TypeError "
                                             "(check isinstance(axis, int) first)")


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_EXPAND_WITHOUT)
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


@pytest.mark.check(points=1, hints=HINTS_STRETCH)
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


@pytest.mark.check(points=2, hints=HINTS_STRETCH, visibility="hidden")
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


@pytest.mark.check(points=1, hints=HINTS_STRIDES, role="method")
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


@pytest.mark.check(points=1, hints=HINTS_STRIDES, role="method")
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


@pytest.mark.check(points=1, hints=HINTS_READ_ONLY, role="method")
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


@pytest.mark.check(points=1, hints=HINTS_TO_ERRORS, role="errors")
def test_broadcast_to_rejects_incompatible_shapes(ex):
    expect_raises(ValueError, ex.broadcast_to, np.ones(7), (2, 5),
                  call="broadcast_to(an array of shape (7,), (2, 5))", mentions=("7", "5"),
                  hint="name the shapes (or the sizes) that do not fit")
    for shape, target, why in (((3,), (1,), "a size other than 1 never changes"),
                               ((2, 3), (3,), "the target may not have fewer dimensions"),
                               ((0,), (3,), "a size of 0 cannot become 3"),
                               ((3, 1), (4, 2, 2), "3 cannot become 2 (axis -2)"),
                               ((1,), (2, -1), "a size in the target is never negative")):
        expect_raises(ValueError, ex.broadcast_to, np.zeros(shape), target,
                      call=f"broadcast_to(an array of shape {shape}, {target})", hint=why)


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_TO_WITHOUT)
def test_broadcast_to_without_copying_helpers(ex, source):
    call = "broadcast_to(c, (3, 3))"
    traced = result_of(ex.broadcast_to.call, C, (3, 3), probe=["trace"], call=call, inputs={"c": C})
    expect_array(traced.value, np.broadcast_to(C, (3, 3)), call=call, inputs={"c": C})
    expect_without(source, "broadcast_to", [STRETCHING_HELPERS, TILE_REPEAT],
                   trace=traced.extra.get("trace"),
                   runtime_names={"broadcast_to", "broadcast_arrays", "tile", "repeat"},
                   hint=HINTS_TO_WITHOUT[1])
