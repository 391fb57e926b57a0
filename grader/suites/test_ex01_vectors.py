"""Hidden suite for ex01_vectors: dot, norm, unit, cosine_similarity."""

import numpy as np
import pytest

from grader.checks.constraints import LINALG_NORM, MATMUL_FAMILY
from grader.checks.expect import (MATMUL_RUNTIME, expect, expect_array, expect_number, expect_raises,
                                  expect_without)

pytestmark = pytest.mark.exercise("ex01_vectors")

A = np.array([1.0, 2.0, 3.0])
B = np.array([4.0, 5.0, 6.0])


def _vectors(rng, n, dtype):
    if np.dtype(dtype).kind == "i":
        return rng.integers(-50, 50, n).astype(dtype), rng.integers(-50, 50, n).astype(dtype)
    return rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)


# -- dot ----------------------------------------------------------------------------------------
@pytest.mark.check(points=1, hints=(
    "The dot product pairs a[0] with b[0], a[1] with b[1], ..., multiplies each pair and adds "
    "the products: for [1, 2, 3] and [4, 5, 6] that is 4 + 10 + 18 = 32.",
    "NumPy does the pairing for you: a * b multiplies element by element and gives a new "
    "array of the products.",
    "Add the products up with .sum(), and return float(...) of that so a Python number comes back.",
))
def test_dot_lesson_example(ex):
    expect_number(ex.dot(A, B), 32.0, call="dot([1, 2, 3], [4, 5, 6])")


@pytest.mark.check(points=2, visibility="hidden")
def test_dot_random_vectors(ex, rng):
    for n in (1, 7, 100, 10_000):
        for dtype in (np.float64, np.int64):
            a, b = _vectors(rng, n, dtype)
            want = float(np.dot(a.astype(np.float64), b.astype(np.float64)))
            expect_number(ex.dot(a, b), want, call="dot(a, b)", inputs={"a": a, "b": b},
                          rtol=1e-9, atol=1e-9)


@pytest.mark.check(points=1)
def test_dot_returns_a_number(ex):
    got = ex.dot(A, B)
    expect(isinstance(got, (float, np.floating)) and not isinstance(got, np.ndarray),
           "dot([1, 2, 3], [4, 5, 6])", f"expected a float, got {type(got).__name__}",
           hint="return float(...) of the sum, not an array")


@pytest.mark.check(points=1, visibility="hidden")
def test_dot_edge_cases(ex, rng):
    expect_number(ex.dot(np.zeros(0), np.zeros(0)), 0.0, call="dot of two empty vectors")
    base = rng.standard_normal(20)
    a, b = base[::2], base[1::2]   # strided, not contiguous
    expect_number(ex.dot(a, b), float(np.dot(a, b)), call="dot(a[::2], a[1::2])",
                  inputs={"a": a, "b": b}, rtol=1e-9)
    expect_number(ex.dot([1, 2, 3], [10, 20, 30]), 140.0, call="dot([1, 2, 3], [10, 20, 30]) on lists")


@pytest.mark.check(points=1, hints=(
    "Look at the inputs before computing: a.ndim says how many axes an array has, a.shape "
    "gives their sizes (lists become arrays with np.asarray).",
    "Raise ValueError when either input is not 1-D or the shapes differ, and put both "
    "shapes in the message, as the docstring shows.",
), role="errors")
def test_dot_rejects_bad_shapes(ex):
    expect_raises(ValueError, ex.dot, np.ones(3), np.ones(4), call="dot(a, b)",
                  inputs={"a": np.ones(3), "b": np.ones(4)}, mentions=("(3,)", "(4,)"))
    m = np.ones((2, 3))
    expect_raises(ValueError, ex.dot, m, m, call="dot(m, m) with 2-D m", mentions=("(2, 3)",))


@pytest.mark.check(points=2, kind="constraint", hints=(
    "The point is to build the product yourself: a * b multiplies element-wise.",))
def test_dot_without_matmul(ex, source):
    traced = ex.dot.call(A, B, probe=["trace"])
    expect_without(source, "dot", MATMUL_FAMILY, trace=traced.extra.get("trace"),
                   runtime_names=MATMUL_RUNTIME, hint="multiply element-wise with * and .sum()")


# -- norm ---------------------------------------------------------------------------------------
@pytest.mark.check(points=1, hints=(
    "The length of [3, 4] is Pythagoras: the square root of 3**2 + 4**2.",
    "That sum of squares is the dot product of v with itself, and dot is already written.",
))
def test_norm_lesson_example(ex):
    expect_number(ex.norm(np.array([3.0, 4.0])), 5.0, call="norm([3, 4])")


@pytest.mark.check(points=1, visibility="hidden")
def test_norm_random_vectors(ex, rng):
    for n in (1, 3, 50, 5_000):
        v = rng.standard_normal(n) * 10
        expect_number(ex.norm(v), float(np.linalg.norm(v)), call="norm(v)", inputs={"v": v},
                      rtol=1e-9)
    v = rng.integers(-9, 9, 10)
    expect_number(ex.norm(v), float(np.linalg.norm(v)), call="norm(v) of integers",
                  inputs={"v": v}, rtol=1e-9)


@pytest.mark.check(points=1, kind="constraint")
def test_norm_without_linalg_norm(ex, source):
    ex.norm(np.array([3.0, 4.0]))
    expect_without(source, "norm", LINALG_NORM, hint="the norm is the square root of dot(v, v)")


# -- unit ---------------------------------------------------------------------------------------
@pytest.mark.check(points=1)
def test_unit_random_vectors(ex, rng):
    for n in (1, 4, 300):
        v = rng.standard_normal(n)
        expect_array(ex.unit(v), v / np.linalg.norm(v), call="unit(v)", inputs={"v": v},
                     rtol=1e-9, atol=1e-12)
    v = np.array([3, 4])
    expect_array(ex.unit(v), np.array([0.6, 0.8]), call="unit([3, 4]) of integers",
                 rtol=1e-9, hint="integer input gives a float64 result")


@pytest.mark.check(points=1, hints=(
    "Which way does [0, 0, 0] point? Nowhere, so there is no unit vector to return.",
    "Compute the norm first; when it is 0, raise ValueError instead of dividing.",
), role="errors")
def test_unit_zero_vector(ex):
    expect_raises(ValueError, ex.unit, np.zeros(3), call="unit([0, 0, 0])",
                  hint="the zero vector has no direction: raise ValueError")


# -- cosine similarity --------------------------------------------------------------------------
def _cosine(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.check(points=1, hints=(
    "The cosine of the angle is the dot product with the lengths divided out; dot and norm "
    "above already do the work.",
    "Divide dot(a, b) by norm(a) * norm(b), then clip the result into [-1, 1] with np.clip.",
))
def test_cosine_similarity_directions(ex):
    for b, want, what in ((np.array([2.0, 4.0, 6.0]), 1.0, "same direction"),
                          (np.array([-1.0, -2.0, -3.0]), -1.0, "opposite directions"),
                          (np.array([3.0, 0.0, -1.0]), 0.0, "perpendicular")):
        expect_number(ex.cosine_similarity(A, b), want, call=f"cosine_similarity(a, b), {what}",
                      inputs={"a": A, "b": b}, rtol=1e-9, atol=1e-12)


@pytest.mark.check(points=1, visibility="hidden")
def test_cosine_similarity_random_vectors(ex, rng):
    for n in (2, 10, 1_000):
        a, b = rng.standard_normal(n), rng.standard_normal(n)
        expect_number(ex.cosine_similarity(a, b), _cosine(a, b), call="cosine_similarity(a, b)",
                      inputs={"a": a, "b": b}, rtol=1e-9, atol=1e-12)


@pytest.mark.check(points=1)
def test_cosine_similarity_stays_in_range(ex, rng):
    for _ in range(30):
        a = rng.standard_normal(rng.integers(2, 40))
        for b in (a * rng.uniform(0.1, 10), -a * rng.uniform(0.1, 10)):
            got = ex.cosine_similarity(a, b)
            expect(-1.0 <= float(got) <= 1.0, "cosine_similarity(a, c * a)",
                   f"expected a value in [-1, 1], got {float(got)!r}", inputs={"a": a},
                   hint="rounding can push the ratio just past 1; clip it (np.clip)")


@pytest.mark.check(points=1, role="errors")
def test_cosine_similarity_rejects_bad_input(ex):
    expect_raises(ValueError, ex.cosine_similarity, np.zeros(3), A,
                  call="cosine_similarity([0, 0, 0], a)", hint="a zero vector has no direction")
    expect_raises(ValueError, ex.cosine_similarity, A, np.ones(4),
                  call="cosine_similarity(a, b) of lengths 3 and 4")
