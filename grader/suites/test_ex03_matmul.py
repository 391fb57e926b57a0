"""Hidden suite for ex03_matmul: matvec, matmul, matmul_loops, batched_matmul.

The oracle is ``np.matmul`` (values and result dtype) and the lesson's hand-checked products.
Random cases are deliberately non-square: a transposed result or broadcasting over the wrong
axes can match on square inputs and only shows as a wrong shape or wrong values otherwise.
The constraint checks first require the traced call to return the right product, so a
function that returns nothing useful earns no constraint points either.
"""

import numpy as np
import pytest

from grader.checks.constraints import MATMUL_FAMILY
from grader.checks.expect import (MATMUL_RUNTIME, expect_array, expect_raises, expect_right_when_timed,
                                  expect_without)
from grader.checks.tolerance import tolerance
from grader.checks.vectorized import expect_vectorized
from grader.engine.timing import SpeedCase

pytestmark = pytest.mark.exercise("ex03_matmul")

# Lesson facts. SPEC's printed m @ n is a stale notebook output; this is the true product.
M = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
C = np.array([10, 20, 30])
N = np.array([[10, 40], [20, 0], [30, -5]])
M_C = np.array([140, 320, 500])
M_N = np.array([[140, 25], [320, 130], [500, 235]])
BATCH_A = np.stack([M, 2 * M])
BATCH_B = np.stack([N, N])
BATCH_AB = np.stack([M_N, 2 * M_N])

DTYPES = (np.int64, np.float32, np.float64)
# (n, k, p): size-1 and non-square shapes; the size-0 ones are in the edge-case checks.
SHAPES = ((1, 1, 1), (1, 4, 1), (4, 1, 3), (2, 3, 4), (4, 3, 2), (5, 7, 3), (3, 7, 5),
          (1, 6, 9), (9, 6, 1), (16, 9, 11), (40, 25, 30))
EMPTY_SHAPES = ((0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0), (2, 0, 0))
LOOP_SHAPES = ((1, 1, 1), (2, 3, 4), (4, 3, 2), (5, 8, 3), (8, 8, 8))
LOOP_TIMEOUT_S = 2.0   # three loops over at most 8 x 8 x 8 entries take milliseconds

HINT_MATVEC = "m * v stretches v over every row of m; add up along each row (axis=1)"
HINT_MATMUL = ("line the factors up as (n, k, 1) and (1, k, p), multiply, and sum over the "
               "shared k axis")
HINT_DTYPE = "keep the dtype np.matmul gives: do not convert integer inputs to float"
HINT_BATCH = "keep the batch axis in front: (B, n, k, 1) times (B, 1, k, p), summed over k"

# -- hints, gentlest first (`grader hint` shows them one at a time) ----------------------------
HINTS_MATVEC = (
    "Entry i of m @ v is the dot product of row i of m with v: multiply, then add up.",
    "m * v multiplies v into every row of m at once (broadcasting); the sum that follows must "
    "run along each row, not down the columns.",
    HINT_MATVEC,
)
HINTS_EMPTY = (
    "A sum over nothing is 0: with k = 0 every entry of the product is 0, and n = 0 (or p = 0) "
    "gives an empty result of the right shape.",
    "Broadcasting and .sum(axis=...) handle empty axes by themselves; code that indexes [0] or "
    "loops to build the result is what breaks on them.",
)
HINTS_DTYPE = (
    "np.matmul keeps the dtype of its inputs: int64 times int64 is int64, float32 stays float32, "
    "and mixed inputs give np.result_type(a, b).",
    HINT_DTYPE + " (np.zeros without dtype= is float64; .sum(dtype=...) can keep the dtype)",
)
HINTS_SHAPES = (
    "Check the inputs before computing: how many dimensions each has, and whether the inner "
    "sizes agree.",
    "Raise ValueError naming both shapes (f\"... {a.shape} and {b.shape}\"), as the "
    "docstring's example message does.",
)
HINTS_WITHOUT = (
    "The point is to build the product yourself from broadcasting and a sum.",
    "@, np.matmul, np.dot, .dot, np.einsum and their relatives are the matmul family this "
    "exercise replaces; multiply element-wise and sum instead.",
)
HINTS_MATMUL = (
    "Entry (i, j) of a @ b adds a[i, t] * b[t, j] over the shared index t: all n * p dot "
    "products at once are one broadcast multiplication and one sum.",
    "Give a a trailing axis and b a leading one so that the shared k axis meets: (n, k, 1) "
    "and (1, k, p) multiply to (n, k, p).",
    HINT_MATMUL,
)
HINTS_STRIDED = (
    "Transposed, reversed or sliced inputs are arrays like any other; only their memory "
    "layout differs.",
    "Index with the array's axes (a[:, :, None]), never with assumptions about its memory "
    "(ravel and reshape of a view, strides).",
)
HINTS_VECTORIZED = (
    "A loop over the rows of a runs more lines the more rows there are: vectorized code runs "
    "the same lines whatever the size.",
    "Replace the loop by one broadcast product over all rows at once, then one sum.",
)
HINTS_SPEED = (
    "The target is a fixed factor of np.matmul's time on the same input; only whole-array "
    "operations come close.",
    "One broadcast multiplication and one sum over the k axis, no Python loop over rows or "
    "entries.",
)
HINTS_LOOPS = (
    "Three nested loops: over the rows i of a, the columns j of b, and the shared index t.",
    "Entry (i, j) adds up a[i, t] * b[t, j] over t; start from an array of zeros of the "
    "product's shape and dtype.",
)
HINTS_LOOPS_WITHOUT = (
    "matmul_loops is the slow baseline: every multiplication happens in your loops.",
    "Multiply single entries (a[i, t] * b[t, j]) and add them up yourself; .dot, @ and "
    "np.dot of rows hand the inner loop back to NumPy.",
)
HINTS_BATCH = (
    "Each item i of the batch is its own matrix product, a[i] @ b[i]; the batch axis pairs "
    "item with item and is never summed over.",
    "The same broadcast as matmul, with the batch axis kept in front of both factors.",
    HINT_BATCH,
)
HINTS_BATCH_SHAPES = (
    "Both inputs are 3-D, with the same batch size and matching inner sizes.",
    "Check ndim == 3, the batch sizes and the inner dimensions, and raise ValueError naming "
    "both shapes.",
)


def _matrix(rng, shape, dtype):
    if np.dtype(dtype).kind == "i":
        return rng.integers(-20, 21, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _tolerance(dtype, k: int = 1) -> dict:
    # The learner's sum runs in another order than BLAS: k products of rounding each
    # (grader/checks/tolerance.py); integers are exact.
    return tolerance(dtype, terms=k)


def _expect_product(got, a, b, *, call, hint=None):
    want = np.matmul(a, b)
    expect_array(got, want, call=call, inputs={"a": a, "b": b},
                 hint=hint, dtype_hint=HINT_DTYPE, **_tolerance(want.dtype, a.shape[-1]))


# -- matvec -------------------------------------------------------------------------------------
@pytest.mark.check(points=1, hints=HINTS_MATVEC)
def test_matvec_lesson_example(ex):
    expect_array(ex.matvec(M, C), M_C, call="matvec(m, c)", inputs={"m": M, "c": C},
                 hint=HINT_MATVEC, dtype_hint=HINT_DTYPE)


@pytest.mark.check(points=1, hints=HINTS_MATVEC, visibility="hidden")
def test_matvec_random_matrices(ex, rng):
    for n, k, _ in SHAPES:
        for dtype in DTYPES:
            m, v = _matrix(rng, (n, k), dtype), _matrix(rng, k, dtype)
            want = np.matmul(m, v)
            expect_array(ex.matvec(m, v), want, call=f"matvec(m, v) on {np.dtype(dtype)} "
                         f"m of shape {(n, k)}", inputs={"m": m, "v": v},
                         hint=HINT_MATVEC, dtype_hint=HINT_DTYPE,
                         **_tolerance(dtype, k))


@pytest.mark.check(points=1, hints=HINTS_EMPTY, visibility="hidden")
def test_matvec_edge_cases(ex, rng):
    for n, k in ((0, 3), (3, 0), (0, 0)):
        m, v = np.ones((n, k)), np.ones(k)
        expect_array(ex.matvec(m, v), np.matmul(m, v), call=f"matvec(m, v) on m of shape {(n, k)}",
                     hint="an empty sum is 0: k = 0 gives zeros, n = 0 an empty result")
    base = _matrix(rng, (5, 12), np.float64)
    m, v = base[:, ::3], base[1, ::2][:4]          # strided views, not contiguous
    expect_array(ex.matvec(m, v), np.matmul(m, v), call="matvec(m[:, ::3], v[::2])",
                 inputs={"m": m, "v": v}, **_tolerance(np.float64, 4))
    mixed = np.matmul(M, C.astype(np.float64))
    expect_array(ex.matvec(M, C.astype(np.float64)), mixed, call="matvec(int m, float c)",
                 dtype_hint="mixed inputs give np.result_type(m, v), here float64")


@pytest.mark.check(points=1, hints=HINTS_SHAPES, role="errors")
def test_matvec_rejects_bad_shapes(ex):
    expect_raises(ValueError, ex.matvec, M, np.ones(4), call="matvec(m, v) on v of length 4",
                  inputs={"m": M}, mentions=("(3, 3)", "(4,)"))
    expect_raises(ValueError, ex.matvec, np.ones(3), C, call="matvec(m, v) with a 1-D m",
                  mentions=("(3,)",), hint="check m.ndim == 2 and v.ndim == 1 first")


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_WITHOUT)
def test_matvec_without_matmul(ex, source):
    traced = ex.matvec.call(M, C, probe=["trace"])
    expect_array(traced.value, M_C, call="matvec(m, c)", hint=HINT_MATVEC, dtype_hint=HINT_DTYPE)
    expect_without(source, "matvec", MATMUL_FAMILY, trace=traced.extra.get("trace"),
                   runtime_names=MATMUL_RUNTIME, hint=HINT_MATVEC)


# -- matmul -------------------------------------------------------------------------------------
@pytest.mark.check(points=1, hints=HINTS_MATMUL)
def test_matmul_lesson_example(ex):
    expect_array(ex.matmul(M, N), M_N, call="matmul(m, n)", inputs={"m": M, "n": N},
                 hint=HINT_MATMUL, dtype_hint=HINT_DTYPE)


@pytest.mark.check(points=2, hints=HINTS_MATMUL, visibility="hidden")
def test_matmul_random_matrices(ex, rng):
    for n, k, p in SHAPES:
        for dtype in DTYPES:
            a, b = _matrix(rng, (n, k), dtype), _matrix(rng, (k, p), dtype)
            _expect_product(ex.matmul(a, b), a, b,
                            call=f"matmul(a, b) on {np.dtype(dtype)} shapes {(n, k)} and {(k, p)}",
                            hint=HINT_MATMUL)


@pytest.mark.check(points=1, hints=HINTS_EMPTY, role="form")
def test_matmul_empty_dimensions(ex, rng):
    for n, k, p in EMPTY_SHAPES:
        a, b = _matrix(rng, (n, k), np.float64), _matrix(rng, (k, p), np.float64)
        _expect_product(ex.matmul(a, b), a, b, call=f"matmul(a, b) on shapes {(n, k)} and {(k, p)}",
                        hint="an empty sum is 0: k = 0 gives an (n, p) array of zeros")


@pytest.mark.check(points=1, hints=HINTS_STRIDED, visibility="hidden")
def test_matmul_strided_inputs(ex, rng):
    base = _matrix(rng, (6, 10), np.float64)
    other = _matrix(rng, (4, 5), np.float64)
    cases = (("matmul(a[:, ::2], b.T)", base[:, ::2], other.T),
             ("matmul(a.T, a) of a Fortran-ordered a", np.asfortranarray(base).T,
              np.asfortranarray(base)),
             ("matmul(a[::-1], b[:, 1:])", base[::-1, :5], other.T[:, 1:]))
    for call, a, b in cases:
        _expect_product(ex.matmul(a, b), a, b, call=call,
                        hint="index with the array's axes, not its memory layout")


@pytest.mark.check(points=1, hints=HINTS_DTYPE)
def test_matmul_keeps_the_dtype(ex, rng):
    for da, db in ((np.int64, np.int64), (np.float32, np.float32), (np.int64, np.float64),
                   (np.float32, np.float64)):
        a, b = _matrix(rng, (3, 4), da), _matrix(rng, (4, 2), db)
        _expect_product(ex.matmul(a, b), a, b, hint=HINT_DTYPE,
                        call=f"matmul(a, b) on {np.dtype(da)} a and {np.dtype(db)} b")


@pytest.mark.check(points=1, hints=HINTS_SHAPES, role="errors")
def test_matmul_rejects_bad_shapes(ex):
    a, b = np.ones((2, 3)), np.ones((4, 5))
    expect_raises(ValueError, ex.matmul, a, b, call="matmul(a, b) with shapes (2, 3) and (4, 5)",
                  mentions=("(2, 3)", "(4, 5)"))
    expect_raises(ValueError, ex.matmul, M, np.ones(3), call="matmul(m, v) with a 1-D v",
                  mentions=("(3,)",), hint="check that both inputs are 2-D first")
    expect_raises(ValueError, ex.matmul, np.ones((2, 3, 3)), M, call="matmul(a, m) with a 3-D a",
                  mentions=("(2, 3, 3)",), hint="check that both inputs are 2-D first")


@pytest.mark.check(points=2, kind="constraint", hints=HINTS_WITHOUT)
def test_matmul_without_matmul(ex, source):
    traced = ex.matmul.call(M, N, probe=["trace"])
    expect_array(traced.value, M_N, call="matmul(m, n)", hint=HINT_MATMUL, dtype_hint=HINT_DTYPE)
    expect_without(source, "matmul", MATMUL_FAMILY, trace=traced.extra.get("trace"),
                   runtime_names=MATMUL_RUNTIME, hint=HINT_MATMUL)


# -- matmul speed target ------------------------------------------------------------------------
# The timing (grader/engine/timing.py; README "Speed targets") catches loops over entries; a
# loop over rows with a vectorized inner product can be as quick as the (n, k, p) broadcast, so
# the vectorization check (no line runs more often when n and p grow) is what catches that one.
# Target 7 times np.matmul (baselines/ex03_matmul.py), from `make bench` (20 verdicts, 2 busy
# processes, workers forked by the pool): the broadcast solution 1.78 (worst 1.94), bench/anti's
# loop over entries 30.2 (best 25.2); 7 is their geometric middle, a factor 3.6 from the worst
# of each. (13, set when every worker started its own interpreter, left 6.7 and 1.9.)
SPEED = {"matmul": SpeedCase(
    "ex03_matmul", "matmul", lambda rng: (rng.standard_normal((32, 32)), rng.standard_normal((32, 32))),
    lambda args: np.matmul(*args), target=7.0, inputs="a (32, 32) and b (32, 32) float64",
    rtol=1e-9, atol=1e-9, hint=HINT_MATMUL, baseline="np.matmul")}


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_VECTORIZED)
def test_matmul_vectorized(ex, source):
    rng = np.random.default_rng(3)
    small = (rng.standard_normal((4, 5)), rng.standard_normal((5, 3)))
    large = (rng.standard_normal((16, 5)), rng.standard_normal((5, 12)))
    expect_vectorized(ex.matmul, small, large, function="matmul", root=source.path.parent,
                      sizes=("(4, 5) x (5, 3)", "(16, 5) x (5, 12)"), extra_rows=21, hint=HINT_MATMUL)


@pytest.mark.check(points=2, kind="timing", hints=HINTS_SPEED)
def test_matmul_speed(ex, speed, rng, settings):
    if settings.timing:   # a wrong result is a wrong result, not a matter of speed
        expect_right_when_timed(ex, SPEED["matmul"], rng)
    speed.check(SPEED["matmul"], "cpu")


# -- matmul_loops -------------------------------------------------------------------------------
def _loop_timeout(settings) -> float:
    return min(LOOP_TIMEOUT_S, settings.limits.call_timeout_s)


@pytest.mark.check(points=1, hints=HINTS_LOOPS)
def test_matmul_loops_lesson_example(ex, settings):
    got = ex.matmul_loops.call(M, N, timeout=_loop_timeout(settings)).value
    expect_array(got, M_N, call="matmul_loops(m, n)", inputs={"m": M, "n": N},
                 hint="entry (i, j) adds up a[i, t] * b[t, j] over t", dtype_hint=HINT_DTYPE)


@pytest.mark.check(points=1, hints=HINTS_LOOPS, visibility="hidden")
def test_matmul_loops_small_random(ex, rng, settings):
    for n, k, p in LOOP_SHAPES + ((2, 0, 3),):
        for dtype in (np.int64, np.float64):
            a, b = _matrix(rng, (n, k), dtype), _matrix(rng, (k, p), dtype)
            got = ex.matmul_loops.call(a, b, timeout=_loop_timeout(settings)).value
            _expect_product(got, a, b,
                            call=f"matmul_loops(a, b) on {np.dtype(dtype)} shapes "
                                 f"{(n, k)} and {(k, p)}")


@pytest.mark.check(points=1, hints=HINTS_SHAPES, role="errors")
def test_matmul_loops_rejects_bad_shapes(ex):
    expect_raises(ValueError, ex.matmul_loops, np.ones((2, 3)), np.ones((4, 5)),
                  call="matmul_loops(a, b) with shapes (2, 3) and (4, 5)",
                  mentions=("(2, 3)", "(4, 5)"))
    expect_raises(ValueError, ex.matmul_loops, np.ones(3), M, call="matmul_loops(v, m) with a 1-D v",
                  mentions=("(3,)",), hint="check that both inputs are 2-D first")


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_LOOPS_WITHOUT)
def test_matmul_loops_without_matmul(ex, source, settings):
    traced = ex.matmul_loops.call(M, N, timeout=_loop_timeout(settings), probe=["trace"])
    expect_array(traced.value, M_N, call="matmul_loops(m, n)", hint=HINTS_LOOPS[1])
    expect_without(source, "matmul_loops", MATMUL_FAMILY, trace=traced.extra.get("trace"),
                   runtime_names=MATMUL_RUNTIME, hint=HINTS_LOOPS_WITHOUT[1])


# -- batched_matmul -----------------------------------------------------------------------------
@pytest.mark.check(points=1, hints=HINTS_BATCH)
def test_batched_matmul_lesson_example(ex):
    expect_array(ex.batched_matmul(BATCH_A, BATCH_B), BATCH_AB,
                 call="batched_matmul(stack([m, 2 * m]), stack([n, n]))", hint=HINT_BATCH,
                 dtype_hint=HINT_DTYPE)


@pytest.mark.check(points=2, hints=HINTS_BATCH, visibility="hidden")
def test_batched_matmul_random_batches(ex, rng):
    for batch, (n, k, p) in ((1, (3, 4, 2)), (2, (1, 1, 1)), (3, (2, 5, 4)), (4, (5, 3, 1)),
                             (5, (7, 6, 3)), (2, (0, 3, 2)), (3, (2, 0, 4)), (0, (2, 3, 4)),
                             (8, (16, 12, 10))):
        for dtype in DTYPES:
            a = _matrix(rng, (batch, n, k), dtype)
            b = _matrix(rng, (batch, k, p), dtype)
            _expect_product(ex.batched_matmul(a, b), a, b, hint=HINT_BATCH,
                            call=f"batched_matmul(a, b) on {np.dtype(dtype)} shapes "
                                 f"{a.shape} and {b.shape}")


@pytest.mark.check(points=1, hints=HINTS_BATCH_SHAPES, role="errors")
def test_batched_matmul_rejects_bad_shapes(ex):
    cases = ((np.ones((2, 3, 4)), np.ones((2, 5, 6)), ("(2, 3, 4)", "(2, 5, 6)")),
             (np.ones((2, 3, 4)), np.ones((3, 4, 5)), ("(2, 3, 4)", "(3, 4, 5)")),
             (np.ones((3, 4)), np.ones((4, 5)), ("(3, 4)",)))
    for a, b, mentions in cases:
        expect_raises(ValueError, ex.batched_matmul, a, b, mentions=mentions,
                      call=f"batched_matmul(a, b) with shapes {a.shape} and {b.shape}",
                      hint="check ndim == 3, the batch sizes and the inner dimensions")


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_WITHOUT)
def test_batched_matmul_without_matmul(ex, source):
    traced = ex.batched_matmul.call(BATCH_A, BATCH_B, probe=["trace"])
    expect_array(traced.value, BATCH_AB, call="batched_matmul(stack([m, 2 * m]), stack([n, n]))",
                 hint=HINT_BATCH, dtype_hint=HINT_DTYPE)
    expect_without(source, "batched_matmul", MATMUL_FAMILY, trace=traced.extra.get("trace"),
                   runtime_names=MATMUL_RUNTIME, hint=HINT_BATCH)
