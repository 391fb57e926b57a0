"""Hidden suite for ex01_vectors: dot, norm, unit, cosine_similarity."""

import numpy as np
import pytest

from grader.checks import causes
from grader.checks.constraints import LINALG_NORM, MATMUL_FAMILY
from grader.checks.diagnose import describe
from grader.checks.expect import (MATMUL_RUNTIME, expect, expect_array, expect_number, expect_raises,
                                  expect_without, result_of)

pytestmark = pytest.mark.exercise("ex01_vectors")

A = np.array([1.0, 2.0, 3.0])
B = np.array([4.0, 5.0, 6.0])

# -- hints, gentlest first (`grader hint` shows them one at a time) ----------------------------
HINTS_DOT = (
    "The dot product pairs a[0] with b[0], a[1] with b[1], ..., multiplies each pair and adds "
    "the products: for [1, 2, 3] and [4, 5, 6] that is 4 + 10 + 18 = 32.",
    "NumPy does the pairing for you: a * b multiplies element by element and gives a new "
    "array of the products.",
    "Add the products up with .sum(), and return float(...) of that so a Python number comes back.",
)
HINTS_DOT_EDGES = (
    "Two empty vectors have no products to add: an empty sum is 0.0. Lists and strided views "
    "arrive too.",
    "np.asarray(a) turns a list into an array and leaves an array (a view included) as it is; "
    "a * b and .sum() then work on any of them.",
)
HINTS_FLOAT = (
    "The docstring promises a Python float: not a NumPy scalar such as np.float64, not an array.",
    "float(...) turns a NumPy number (or a one-element array) into a Python float; return that.",
)
HINTS_DOT_SHAPES = (
    "Look at the inputs before computing: a.ndim says how many axes an array has, a.shape "
    "gives their sizes (lists become arrays with np.asarray).",
    "Raise ValueError when either input is not 1-D or the shapes differ, and put both "
    "shapes in the message, as the docstring shows.",
)
HINTS_DOT_WITHOUT = (
    "The point is to build the product yourself, from element-wise operations.",
    "Multiply with * (element by element) and add up with .sum(); @, np.dot and their "
    "relatives do the whole product, which is what this exercise replaces.",
)
HINTS_NORM = (
    "The length of [3, 4] is Pythagoras: the square root of 3**2 + 4**2.",
    "That sum of squares is the dot product of v with itself, and dot is already written.",
)
HINTS_NORM_WITHOUT = (
    "np.linalg.norm does the work this exercise asks you to do.",
    "The length is the square root of dot(v, v): np.sqrt of your own dot, or ** 0.5.",
)
HINTS_NORM_SHAPES = (
    "A norm here is the length of one vector, and a 2-D array is not one vector.",
    "After np.asarray(v), check v.ndim and raise ValueError naming v.shape when it is not 1.",
)
HINTS_UNIT = (
    "A unit vector keeps the direction and has length 1: divide every entry by the length.",
    "Divide v by norm(v), which is already written. Division makes a new array, float64 for "
    "integer input and v's own dtype for float input; an in-place /= would change v itself.",
)
HINTS_UNIT_ZERO = (
    "Which way does [0, 0, 0] point? Nowhere, so there is no unit vector to return.",
    "Compute the norm first; when it is 0, raise ValueError instead of dividing.",
)
HINTS_COSINE = (
    "The cosine of the angle is the dot product with the lengths divided out; dot and norm "
    "above already do the work.",
    "Divide dot(a, b) by norm(a) * norm(b), then clip the result into [-1, 1] with np.clip.",
)
HINTS_COSINE_RANGE = (
    "Rounding can make the ratio come out as 1.0000000000000002 for two parallel vectors, "
    "just outside the range a cosine can have.",
    "Clip the ratio into [-1, 1] (np.clip) before returning it as a float.",
)
HINTS_COSINE_ERRORS = (
    "A zero vector has no direction, so there is no angle; vectors of different lengths "
    "cannot be compared.",
    "Check the shapes as dot does, and the two norms before dividing; raise ValueError for "
    "either problem.",
)


def _vectors(rng, n, dtype):
    if np.dtype(dtype).kind == "i":
        return rng.integers(-50, 50, n).astype(dtype), rng.integers(-50, 50, n).astype(dtype)
    return rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)


def _expect_python_float(got, call):
    expect(type(got) is float, call, f"expected a Python float, got {describe(got)}",
           hint=causes.RETURNED_NONE if got is None else HINTS_FLOAT[1])


# -- dot ----------------------------------------------------------------------------------------
@pytest.mark.check(points=1, hints=HINTS_DOT)
def test_dot_lesson_example(ex):
    expect_number(ex.dot(A, B), 32.0, call="dot([1, 2, 3], [4, 5, 6])")


@pytest.mark.check(points=2, hints=HINTS_DOT, visibility="hidden")
def test_dot_random_vectors(ex, rng):
    for n in (1, 7, 100, 10_000):
        for dtype in (np.float64, np.int64):
            a, b = _vectors(rng, n, dtype)
            want = float(np.dot(a.astype(np.float64), b.astype(np.float64)))
            expect_number(ex.dot(a, b), want, call="dot(a, b)", inputs={"a": a, "b": b},
                          rtol=1e-9, atol=1e-9)


@pytest.mark.check(points=1, hints=HINTS_FLOAT, role="form")
def test_dot_returns_a_number(ex):
    _expect_python_float(ex.dot(A, B), "dot([1, 2, 3], [4, 5, 6])")
    _expect_python_float(ex.dot([1, 2, 3], [10, 20, 30]), "dot([1, 2, 3], [10, 20, 30]) on lists")


@pytest.mark.check(points=1, hints=HINTS_DOT_EDGES, visibility="hidden")
def test_dot_edge_cases(ex, rng):
    expect_number(ex.dot(np.zeros(0), np.zeros(0)), 0.0, call="dot of two empty vectors")
    base = rng.standard_normal(20)
    a, b = base[::2], base[1::2]   # strided, not contiguous
    expect_number(ex.dot(a, b), float(np.dot(a, b)), call="dot(a[::2], a[1::2])",
                  inputs={"a": a, "b": b}, rtol=1e-9)
    expect_number(ex.dot([1, 2, 3], [10, 20, 30]), 140.0, call="dot([1, 2, 3], [10, 20, 30]) on lists")


@pytest.mark.check(points=1, hints=HINTS_DOT_SHAPES, role="errors")
def test_dot_rejects_bad_shapes(ex):
    expect_raises(ValueError, ex.dot, np.ones(3), np.ones(4), call="dot(a, b)",
                  inputs={"a": np.ones(3), "b": np.ones(4)}, mentions=("(3,)", "(4,)"))
    m = np.ones((2, 3))
    expect_raises(ValueError, ex.dot, m, m, call="dot(m, m) with 2-D m", mentions=("(2, 3)",))


@pytest.mark.check(points=2, kind="constraint", hints=HINTS_DOT_WITHOUT)
def test_dot_without_matmul(ex, source):
    traced = ex.dot.call(A, B, probe=["trace"])
    expect_without(source, "dot", MATMUL_FAMILY, trace=traced.extra.get("trace"),
                   runtime_names=MATMUL_RUNTIME, hint=HINTS_DOT_WITHOUT[1])


# -- norm ---------------------------------------------------------------------------------------
@pytest.mark.check(points=1, hints=HINTS_NORM)
def test_norm_lesson_example(ex):
    got = ex.norm(np.array([3.0, 4.0]))
    expect_number(got, 5.0, call="norm([3, 4])", hint=HINTS_NORM[1])
    _expect_python_float(got, "norm([3, 4])")


@pytest.mark.check(points=1, hints=HINTS_NORM, visibility="hidden")
def test_norm_random_vectors(ex, rng):
    for n in (1, 3, 50, 5_000):
        v = rng.standard_normal(n) * 10
        expect_number(ex.norm(v), float(np.linalg.norm(v)), call="norm(v)", inputs={"v": v},
                      rtol=1e-9)
    v = rng.integers(-9, 9, 10)
    expect_number(ex.norm(v), float(np.linalg.norm(v)), call="norm(v) of integers",
                  inputs={"v": v}, rtol=1e-9)


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_NORM_WITHOUT)
def test_norm_without_linalg_norm(ex, source):
    ex.norm(np.array([3.0, 4.0]))
    expect_without(source, "norm", LINALG_NORM, hint=HINTS_NORM_WITHOUT[1])


@pytest.mark.check(points=1, hints=HINTS_NORM_SHAPES, role="errors")
def test_norm_rejects_bad_shapes(ex):
    m = np.ones((2, 2))
    expect_raises(ValueError, ex.norm, m, call="norm(m) with a 2-D m", inputs={"m": m},
                  mentions=("(2, 2)",), hint=HINTS_NORM_SHAPES[1])


# -- unit ---------------------------------------------------------------------------------------
@pytest.mark.check(points=1, hints=HINTS_UNIT)
def test_unit_random_vectors(ex, rng):
    for n, dtype in ((1, np.float64), (4, np.float64), (300, np.float64), (5, np.float32)):
        v = rng.standard_normal(n).astype(dtype)
        call = f"unit(v) on a {np.dtype(dtype)} v"
        result = result_of(ex.unit.call, v, probe=["shares_memory"], call=call, inputs={"v": v})
        expect_array(result.value, v / np.linalg.norm(v), call=call, inputs={"v": v},
                     rtol=1e-9 if dtype == np.float64 else 1e-6, atol=1e-12,
                     hint=HINTS_UNIT[1], dtype_hint="a float vector keeps its dtype: v / norm(v) does")
        expect(result.extra.get("shares_memory", [None])[0] is not True, call,
               "the result shares memory with v: it is v itself, changed in place, not a new array",
               inputs={"v": v}, hint=HINTS_UNIT[1])
    v = np.array([3, 4])
    expect_array(result_of(ex.unit, v, call="unit([3, 4]) of integers"), np.array([0.6, 0.8]),
                 call="unit([3, 4]) of integers", rtol=1e-9,
                 dtype_hint="integer input gives a float64 result")


@pytest.mark.check(points=1, hints=HINTS_UNIT_ZERO, role="errors")
def test_unit_zero_vector(ex):
    expect_raises(ValueError, ex.unit, np.zeros(3), call="unit([0, 0, 0])",
                  hint=HINTS_UNIT_ZERO[1])


# -- cosine similarity --------------------------------------------------------------------------
def _cosine(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.check(points=1, hints=HINTS_COSINE)
def test_cosine_similarity_directions(ex):
    for b, want, what in ((np.array([2.0, 4.0, 6.0]), 1.0, "same direction"),
                          (np.array([-1.0, -2.0, -3.0]), -1.0, "opposite directions"),
                          (np.array([3.0, 0.0, -1.0]), 0.0, "perpendicular")):
        call = f"cosine_similarity(a, b), {what}"
        got = ex.cosine_similarity(A, b)
        expect_number(got, want, call=call, inputs={"a": A, "b": b}, rtol=1e-9, atol=1e-12,
                      hint=HINTS_COSINE[1])
        _expect_python_float(got, call)


@pytest.mark.check(points=1, hints=HINTS_COSINE, visibility="hidden")
def test_cosine_similarity_random_vectors(ex, rng):
    for n in (2, 10, 1_000):
        a, b = rng.standard_normal(n), rng.standard_normal(n)
        expect_number(ex.cosine_similarity(a, b), _cosine(a, b), call="cosine_similarity(a, b)",
                      inputs={"a": a, "b": b}, rtol=1e-9, atol=1e-12)


@pytest.mark.check(points=1, hints=HINTS_COSINE_RANGE)
def test_cosine_similarity_stays_in_range(ex, rng):
    for _ in range(30):
        a = rng.standard_normal(rng.integers(2, 40))
        for b in (a * rng.uniform(0.1, 10), -a * rng.uniform(0.1, 10)):
            got = ex.cosine_similarity(a, b)
            expect_number(got, float(np.sign(b[0] / a[0])), call="cosine_similarity(a, c * a)",
                          inputs={"a": a}, rtol=1e-9, atol=1e-12, hint=HINTS_COSINE[1])
            expect(-1.0 <= float(got) <= 1.0, "cosine_similarity(a, c * a)",
                   f"expected a value in [-1, 1], got {float(got)!r}", inputs={"a": a},
                   hint=HINTS_COSINE_RANGE[1])


@pytest.mark.check(points=1, hints=HINTS_COSINE_ERRORS, role="errors")
def test_cosine_similarity_rejects_bad_input(ex):
    expect_raises(ValueError, ex.cosine_similarity, np.zeros(3), A,
                  call="cosine_similarity([0, 0, 0], a)", hint=HINTS_COSINE_ERRORS[1])
    expect_raises(ValueError, ex.cosine_similarity, A, np.ones(4),
                  call="cosine_similarity(a, b) of lengths 3 and 4", hint=HINTS_COSINE_ERRORS[1])
