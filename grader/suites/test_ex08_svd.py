"""Hidden suite for ex08_svd: low_rank, pca, compression_ratio.

The oracles are computed here, independently of the reference: ``np.linalg.svd`` for the
best rank-k approximation and the Eckart-Young error ``sqrt(sum(s[k:] ** 2))`` it must reach;
for PCA the eigendecomposition of the covariance (``np.linalg.eigh`` of ``c.T @ c``), another
route to the same components, with the kit's sign convention applied here; and the counting
formula ``k * (m + n + 1) / (m * n)``. Results are float64. A low-rank result is compared
with rtol 1e-7. PCA components and projections get rtol and atol 1e-6: a learner may take the
eigenvectors of the covariance instead of the SVD, which squares the condition number, and on
these spread-out spectra (singular values falling by 1.6x per component) the trailing
components then agree to about 1e-8; every mistake diagnosed here moves entries by 1e-2 or more.

Lesson facts, computed (the source page prints other figures): A = [[1,2,3],...,[10,11,12]]
has singular values [25.462, 1.2907, ~1e-15]; the rank-1 approximation's largest error is
0.8098, its Frobenius error 1.2907 = s[1]; the variance split is 99.74 % / 0.26 % (squares),
not the page's 95.2 % / 4.8 % (singular values).

When a result is wrong the feedback says which classic mistake it behaves like, from the
values: data not centred, U's columns (one entry per sample) instead of Vt's rows, Vt's
columns, ratios from sigma instead of sigma squared or over the k kept values only, a
component or a projected column with the opposite sign (the convention is named), projected
data that were not centred, and, from the exception, the full_matrices=True factors that
cannot line up on a non-square matrix.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from grader.checks.constraints import Forbidden
from grader.checks.diagnose import describe
from grader.checks.expect import (CheckFailed, expect, expect_array, expect_number, expect_raises,
                                  expect_without, fail, result_of)
from grader.data import load_mnist
from grader.practice.svd_digits import NOTE as SVD_DIGITS_NOTE

# The report of a run that graded ex08 (started, loadable) ends with a pointer to svd-digits.
pytestmark = pytest.mark.exercise("ex08_svd", note=SVD_DIGITS_NOTE)

# Lesson facts (the source page: "1.72" and a variance split from sigma are wrong).
A = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]])
A_SINGULAR = (25.462, 1.2907)
RANK1_MAX_ERROR = 0.8098
X_LESSON = np.array([[1.0, 2.2], [2.0, 3.8], [3.0, 6.1], [4.0, 7.9]])   # near y = 2x
RTOL, ATOL = 1e-7, 1e-9           # low_rank
PCA_TOL = 1e-6                    # pca: rtol and atol (see the docstring)

LIBRARY_PCA = Forbidden(
    "a library PCA",
    frozenset(("sklearn.decomposition.PCA sklearn.decomposition.TruncatedSVD"
               " sklearn.decomposition.IncrementalPCA sklearn.decomposition.KernelPCA"
               " sklearn.utils.extmath.randomized_svd torch.pca_lowrank torch.svd_lowrank"
               " scipy.sparse.linalg.svds").split()),
    hint="centre the data and use np.linalg.svd",
)

# -- feedback: the diagnoses ---------------------------------------------------------------------
FULL_MATRICES = ("raised on a non-square {shape} matrix but works on square ones: np.linalg.svd "
                 "returns U of shape (m, m) and Vt of shape (n, n) unless full_matrices=False, "
                 "while s has only min(m, n) = {r} entries, so U, diag(s) and Vt do not line up. "
                 "It raised: {error}")
NO_SIGMA = ("the result is U[:, :k] @ Vt[:k] without the singular values: each rank-1 piece is "
            "s[i] * outer(U[:, i], Vt[i])")
SMALLEST = ("the result keeps the k smallest singular values: np.linalg.svd sorts them largest "
            "first, and the best approximation keeps the largest")
OFF_BY_ONE = "the result has rank {got}, not k = {k}: keep exactly the first k singular values"
EY_MISSED = ("||a - low_rank(a, {k})|| = {got:.6g} in the Frobenius norm, but the best rank-{k} "
             "approximation misses by only sqrt(sum(s[{k}:] ** 2)) = {want:.6g} (Eckart-Young)")
NOT_CENTRED = ("the components are those of x itself, not of the centred data: subtract the "
               "mean of each column (x - x.mean(axis=0)) before the SVD; otherwise the first "
               "component mostly points at the mean")
U_NOT_VT = ("components has shape {got}: one entry per sample, as U's columns have. The "
            "components are the rows of Vt, one entry per feature: shape ({k}, {d})")
VT_COLUMNS = ("the components are columns of Vt; they are its rows, Vt[:k] (Vt is V "
              "transposed, so the rows of Vt are the columns of V)")
COMPONENTS_TRANSPOSED = "components has shape {got}: one row per component, shape ({k}, {d})"
SIGN_FLIP = ("component{s} {which} {has} the opposite sign to the kit's convention. A singular "
             "vector's sign is arbitrary, so the kit fixes it: flip each component so that its "
             "largest-magnitude entry is positive (the first such entry on a tie), and flip its "
             "column of projected with it")
RATIO_SIGMA = ("explained_variance_ratio is s / sum(s): the variance along a component grows "
               "with the square of its singular value, so use s[:k] ** 2 / sum(s ** 2)")
RATIO_K_ONLY = ("explained_variance_ratio divides by the variance of the k kept components only; "
                "divide by the total, sum(s ** 2) over all singular values")
RATIO_VARIANCE = ("explained_variance_ratio holds the variances themselves (s ** 2 / (N - 1)), "
                  "not the fractions of the total: divide s[:k] ** 2 by sum(s ** 2)")
PROJECTED_SIGN = ("column{s} {which} of projected {has} the opposite sign: flip the projected "
                  "column together with its component (or compute centred @ components.T after "
                  "flipping)")
PROJECTED_NOT_CENTRED = "projected is x @ components.T; project the centred data: (x - mean) @ components.T"
PROJECTED_NO_SIGMA = "projected is U[:, :k]; the coordinates are U[:, :k] * s[:k] (= centred @ components.T)"
COUNTS_NO_SIGMA = ("counts k * (m + n) numbers: the k singular values are stored too, "
                   "k * (m + n + 1)")
RATIO_INVERTED = "the ratio is upside down: stored numbers over the original m * n, below 1 when it saves"
NOT_A_TRIPLE = "expected a tuple (components, explained_variance_ratio, projected), got {got}"

HINTS_LOW_RANK = (
    "The SVD writes a as a sum of rank-1 pieces, largest singular value first; keep the first k.",
    "Take the thin SVD (full_matrices=False), keep the first k columns of U, the first k "
    "singular values and the first k rows of Vt, and multiply them back together (scaling "
    "U's columns by s does what diag(s) does).",
)
HINTS_PCA = (
    "PCA is the SVD of the centred data: the rows of Vt are the components, and s squared "
    "measures the variance along each.",
    "Centre with the column means; take the thin SVD of the centred data; keep the first k "
    "rows of Vt and apply the sign rule; square the singular values for the ratio (over the "
    "sum of all the squares); project the centred data onto the kept components.",
)
HINTS_SIGNS = (
    "np.linalg.svd may return a component or its negative: both are right, so the kit asks "
    "for one of them.",
    "For each component find where its largest absolute value sits (an argmax along the row) "
    "and multiply the row by the sign of the entry there; flip projected's column with it.",
)
HINTS_RATIO = (
    "Variance is a square: a direction stretched by s has variance proportional to s ** 2.",
    "Square the singular values first, then divide the first k squares by the sum of all of them.",
)
HINTS_COUNT = (
    "Count what a rank-k factorisation keeps: the first k columns of U, k singular values and "
    "the first k rows of Vt.",
    "Add up the sizes of the three kept pieces and divide by the size of the matrix; return a float.",
)
HINTS_ERRORS = (
    "Check the inputs first and raise ValueError before any SVD runs.",
    "Name the bad value and the shape in the message, as the docstring's example does.",
)


# -- inputs and oracles --------------------------------------------------------------------------
def _svd(a):
    return np.linalg.svd(np.asarray(a, dtype=np.float64), full_matrices=False)


def _best(a, k):
    u, s, vt = _svd(a)
    return (u[:, :k] * s[:k]) @ vt[:k]


def _dropped(a, k) -> float:
    s = np.linalg.svd(np.asarray(a, dtype=np.float64), compute_uv=False)
    return float(np.sqrt((s[k:] ** 2).sum()))


def _signs_fixed(components):
    i = np.abs(components).argmax(axis=1)
    return components * np.sign(components[np.arange(len(components)), i])[:, None]


def _pca(x, k, *, centre=True):
    """PCA by the eigendecomposition of c.T @ c: another route than the SVD to the same answer."""
    x = np.asarray(x, dtype=np.float64)
    c = x - x.mean(axis=0) if centre else x
    w, v = np.linalg.eigh(c.T @ c)
    order = np.argsort(w)[::-1][:k]
    components = _signs_fixed(v[:, order].T)
    return components, w[order] / w.sum(), c @ components.T


def _matrix(rng, m, n, *, scales=None):
    """A random (m, n) matrix with well-separated singular values."""
    r = min(m, n)
    u, _ = np.linalg.qr(rng.standard_normal((m, r)))
    v, _ = np.linalg.qr(rng.standard_normal((n, r)))
    s = scales if scales is not None else np.sort(rng.uniform(1, 10, r))[::-1] * 1.5 ** -np.arange(r)
    return (u * s) @ v.T


def _data(rng, n, d, *, offset=5.0):
    """N samples of D correlated features far from 0, with no near-ties among the magnitudes
    of a component's entries (the sign convention must not hinge on rounding)."""
    while True:
        mixing = rng.standard_normal((d, d)) * 1.6 ** -np.arange(d)[:, None]
        x = rng.standard_normal((n, d)) @ mixing + offset * rng.uniform(0.5, 1.5, d)
        components = _pca(x, min(n - 1, d))[0]
        top = np.sort(np.abs(components), axis=1)
        if d == 1 or (top[:, -1] - top[:, -2] > 1e-3).all():
            return x


def _lists(indices) -> tuple[str, str, str]:
    s = "s" if len(indices) > 1 else ""
    which = ", ".join(map(str, indices[:-1])) + (" and " if len(indices) > 1 else "") + str(indices[-1])
    return s, which, "have" if len(indices) > 1 else "has"


def _close(got, want, rtol=1e-6, atol=1e-8) -> bool:
    return (isinstance(got, np.ndarray) and got.shape == want.shape
            and bool(np.allclose(got, want, rtol=rtol, atol=atol)))


def _works_on_square(fn, a, k) -> bool:
    r = min(a.shape)
    square = np.asarray(a, dtype=np.float64)[:r, :r]
    try:
        got = result_of(fn, square, k, call="")
    except CheckFailed:
        return False
    got = got[0] if isinstance(got, tuple) else got
    return isinstance(got, np.ndarray) and got.shape[-1] == r


def _call(fn, a, k, *, call, inputs=None, hint=None):
    """The learner's result; an exception on a non-square input that square ones do not
    raise is diagnosed as full_matrices=True."""
    try:
        return result_of(fn, a, k, call=call, inputs=inputs, hint=hint)
    except CheckFailed as failed:
        a = np.asarray(a)
        if a.ndim == 2 and a.shape[0] != a.shape[1] and "\n  raised " in failed.feedback \
                and _works_on_square(fn, a, k):
            error = failed.feedback.split("\n  raised ", 1)[1].split("\n")[0]
            fail(call, FULL_MATRICES.format(shape=a.shape, r=min(a.shape), error=error),
                 inputs=inputs, hint="np.linalg.svd with full_matrices=False: the thin SVD, "
                                     "whatever the shape of a")
        raise


# -- low_rank ------------------------------------------------------------------------------------
def _expect_low_rank(ex, a, k, *, call, inputs=None):
    got = _call(ex.low_rank, a, k, call=call, inputs=inputs, hint=HINTS_LOW_RANK[1])
    want = _best(a, k)
    scale = max(1.0, float(np.abs(want).max(initial=0)))
    if isinstance(got, np.ndarray) and got.shape == want.shape and got.dtype == np.float64 \
            and not np.allclose(got, want, rtol=RTOL, atol=ATOL * scale):
        u, s, vt = _svd(a)
        r = len(s)
        if k and _close(got, u[:, :k] @ vt[:k]):
            fail(call, NO_SIGMA, inputs=inputs, hint=HINTS_LOW_RANK[1])
        if 0 < k < r and _close(got, (u[:, r - k:] * s[r - k:]) @ vt[r - k:]):
            fail(call, SMALLEST, inputs=inputs, hint=HINTS_LOW_RANK[1])
        for other in (k - 1, k + 1):
            if 0 <= other <= r and other != k and _close(got, _best(a, other)):
                fail(call, OFF_BY_ONE.format(got=other, k=k), inputs=inputs, hint=HINTS_LOW_RANK[1])
        error = float(np.linalg.norm(np.asarray(a, dtype=np.float64) - got))
        if np.isfinite(error) and error > _dropped(a, k) * (1 + 1e-6) + 1e-9:
            fail(call, EY_MISSED.format(k=k, got=error, want=_dropped(a, k)), inputs=inputs,
                 hint=HINTS_LOW_RANK[1])
    expect_array(got, want, call=call, inputs=inputs, rtol=RTOL, atol=ATOL * scale,
                 hint=HINTS_LOW_RANK[1], dtype_hint="convert a to float64 first (np.asarray and np.array take a dtype=)")
    return got


@pytest.mark.check(points=2, hints=HINTS_LOW_RANK)
def test_low_rank_lesson_example(ex):
    call = "low_rank(A, 1) for A = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]"
    got = _expect_low_rank(ex, A, 1, call=call)
    worst = float(np.abs(A - got).max())
    expect(abs(worst - RANK1_MAX_ERROR) < 1e-4, call, f"the largest error |A - low_rank(A, 1)| "
           f"should be {RANK1_MAX_ERROR} (at entry (0, 0)), got {worst:.4g}")
    got = _expect_low_rank(ex, A, 2, call="low_rank(A, 2)")
    expect(bool(np.allclose(got, A, atol=1e-9)), "low_rank(A, 2)",
           "A has rank 2 (its third singular value is 0 up to rounding), so its best rank-2 "
           "approximation is A itself")


@pytest.mark.check(points=2, hints=HINTS_LOW_RANK, visibility="hidden")
def test_low_rank_eckart_young(ex, rng):
    """The error of a rank-k approximation equals the dropped singular values, and no less."""
    for m, n in ((5, 5), (8, 3), (3, 8), (20, 12), (1, 6), (30, 30)):
        a = _matrix(rng, m, n)
        for k in sorted({0, 1, min(m, n) // 2, min(m, n) - 1, min(m, n)}):
            call = f"low_rank(a, {k}) with a of shape {(m, n)}"
            got = _expect_low_rank(ex, a, k, call=call)
            error, want = float(np.linalg.norm(a - got)), _dropped(a, k)
            expect(math.isclose(error, want, rel_tol=1e-7, abs_tol=1e-9), call,
                   f"||a - low_rank(a, {k})|| = {error:.10g}; Eckart-Young says it is "
                   f"sqrt(sum(s[{k}:] ** 2)) = {want:.10g}")
            if 0 < k < min(m, n):
                rest = np.linalg.svd(got, compute_uv=False)[k:]
                expect(bool((rest < 1e-8 * rest.size + 1e-9 * np.abs(a).max()).all()), call,
                       f"the result has rank above {k}: its singular values past the first "
                       f"{k} are {rest[:3]}")


@pytest.mark.check(points=1, hints=HINTS_LOW_RANK, visibility="hidden")
def test_low_rank_edge_cases(ex, rng):
    a = _matrix(rng, 4, 6)
    _expect_low_rank(ex, a, 0, call="low_rank(a, 0): an all-zero matrix")
    _expect_low_rank(ex, a, 4, call="low_rank(a, 4) with a of shape (4, 6): a itself")
    _expect_low_rank(ex, A.astype(np.float32), 1, call="low_rank(A as float32, 1): float64")
    _expect_low_rank(ex, [[3, 0], [0, 1]], 1, call="low_rank([[3, 0], [0, 1]], 1) of a list")
    _expect_low_rank(ex, np.asfortranarray(a)[:, ::2], 2, call="low_rank(a[:, ::2], 2), strided")


@pytest.mark.check(points=1, hints=HINTS_ERRORS, role="errors")
def test_low_rank_rejects_bad_input(ex):
    _expect_low_rank(ex, A, 1, call="low_rank(A, 1)")
    expect_raises(ValueError, ex.low_rank, A, 4, call="low_rank(A, 4) with A of shape (4, 3)",
                  mentions=("4", "(4, 3)"), hint="k can be at most min(m, n) = 3")
    expect_raises(ValueError, ex.low_rank, A, -1, call="low_rank(A, -1)", mentions=("-1",))
    expect_raises(ValueError, ex.low_rank, np.arange(4.0), 1, call="low_rank of a 1-D array",
                  mentions=("(4,)",))


# -- pca -----------------------------------------------------------------------------------------
def _triple(got, call):
    ok = isinstance(got, (tuple, list)) and len(got) == 3
    expect(ok, call, NOT_A_TRIPLE.format(got=describe(got)),
           hint="return components, explained_variance_ratio, projected")
    return got


def _expect_pca(ex, x, k, *, call, inputs=None, rtol=PCA_TOL, atol=PCA_TOL):
    got = _triple(_call(ex.pca, x, k, call=call, inputs=inputs, hint=HINTS_PCA[1]), call)
    components, ratio, projected = got
    want_c, want_r, want_p = _pca(x, k)
    n, d = np.shape(x)
    _check_components(components, x, k, want_c, call=call, inputs=inputs, rtol=rtol, atol=atol)
    _check_ratio(ratio, x, k, want_r, call=call, inputs=inputs)
    _check_projected(projected, x, want_c, want_p, call=call, inputs=inputs, rtol=rtol,
                     atol=atol * max(1.0, float(np.abs(want_p).max(initial=0))))
    return got


def _check_components(got, x, k, want, *, call, inputs, rtol, atol):
    n, d = np.shape(x)
    where = f"{call}: components"
    if isinstance(got, np.ndarray) and got.shape != want.shape:
        if got.shape in ((k, n), (n, k)) and n != d:
            fail(where, U_NOT_VT.format(got=got.shape, k=k, d=d), inputs=inputs, hint=HINTS_PCA[1])
        if got.shape == (d, k):
            fail(where, COMPONENTS_TRANSPOSED.format(got=got.shape, k=k, d=d), inputs=inputs)
    if isinstance(got, np.ndarray) and got.shape == want.shape and got.dtype == np.float64 \
            and not np.allclose(got, want, rtol=rtol, atol=atol):
        flipped = [i for i in range(k) if np.allclose(got[i], -want[i], rtol=rtol, atol=atol)]
        if flipped and np.allclose(np.abs(got), np.abs(want), rtol=rtol, atol=atol):
            s, which, has = _lists(flipped)
            fail(where, SIGN_FLIP.format(s=s, which=which, has=has), inputs=inputs, hint=HINTS_SIGNS[1])
        if _close(np.abs(got), np.abs(_pca(x, k, centre=False)[0])):
            fail(where, NOT_CENTRED, inputs=inputs, hint=HINTS_PCA[1])
        vt = _svd(np.asarray(x, dtype=np.float64) - np.mean(x, axis=0))[2]
        if d > 1 and _close(np.abs(got), np.abs(vt[:, :k].T)):
            fail(where, VT_COLUMNS, inputs=inputs, hint=HINTS_PCA[1])
    expect_array(got, want, call=where, inputs=inputs, rtol=rtol, atol=atol, hint=HINTS_PCA[1],
                 dtype_hint="return float64 arrays: convert x to float64 first (np.asarray takes a dtype=)")


def _check_ratio(got, x, k, want, *, call, inputs):
    where = f"{call}: explained_variance_ratio"
    if isinstance(got, np.ndarray) and got.shape == want.shape and got.dtype == np.float64 \
            and not np.allclose(got, want, rtol=1e-6, atol=1e-9):
        c = np.asarray(x, dtype=np.float64)
        s = _svd(c - c.mean(axis=0))[1]
        mistakes = ((RATIO_SIGMA, s[:k] / s.sum()), (RATIO_K_ONLY, s[:k] ** 2 / (s[:k] ** 2).sum()),
                    (RATIO_VARIANCE, s[:k] ** 2 / max(len(c) - 1, 1)),
                    (NOT_CENTRED, _pca(x, k, centre=False)[1]))
        for text, value in mistakes:
            if _close(got, value, rtol=1e-5):
                fail(where, text, inputs=inputs, hint=HINTS_RATIO[1])
    expect_array(got, want, call=where, inputs=inputs, rtol=1e-6, atol=1e-9, hint=HINTS_RATIO[1])


def _check_projected(got, x, want_c, want, *, call, inputs, rtol, atol):
    where = f"{call}: projected"
    if isinstance(got, np.ndarray) and got.shape == want.shape and got.dtype == np.float64 \
            and not np.allclose(got, want, rtol=rtol, atol=atol):
        flipped = [j for j in range(want.shape[1]) if np.allclose(got[:, j], -want[:, j], rtol=rtol, atol=atol)]
        if flipped and np.allclose(np.abs(got), np.abs(want), rtol=rtol, atol=atol):
            s, which, has = _lists(flipped)
            fail(where, PROJECTED_SIGN.format(s=s, which=which, has=has), inputs=inputs,
                 hint=HINTS_SIGNS[1])
        c = np.asarray(x, dtype=np.float64)
        if _close(np.abs(got), np.abs(c @ want_c.T)):
            fail(where, PROJECTED_NOT_CENTRED, inputs=inputs, hint=HINTS_PCA[1])
        u = _svd(c - c.mean(axis=0))[0]
        if _close(np.abs(got), np.abs(u[:, :want.shape[1]])):
            fail(where, PROJECTED_NO_SIGMA, inputs=inputs, hint=HINTS_PCA[1])
    expect_array(got, want, call=where, inputs=inputs, rtol=rtol, atol=atol, hint=HINTS_PCA[1])


@pytest.mark.check(points=2, hints=HINTS_PCA)
def test_pca_lesson_example(ex):
    """Four points near the line y = 2x: one component explains 99.93 % of the variance; the
    second component's raw SVD sign breaks the convention, so the flip is needed here."""
    call = "pca(x, 2) for x = [[1, 2.2], [2, 3.8], [3, 6.1], [4, 7.9]]"
    _expect_pca(ex, X_LESSON, 2, call=call, inputs=None)
    rows = np.array([[1.0, 2.0, 3.0, 4.0], [2.0, 1.0, 0.0, 5.0], [0.0, 3.0, 1.0, 1.0],
                     [4.0, 4.0, 2.0, 0.0], [1.0, 0.0, 5.0, 2.0]])
    _expect_pca(ex, rows, 3, call="pca(x, 3) for 5 samples of 4 features", inputs={"x": rows})


@pytest.mark.check(points=2, hints=HINTS_PCA, visibility="hidden")
def test_pca_random(ex, rng):
    for n, d, k in ((10, 3, 1), (10, 3, 3), (40, 6, 2), (7, 12, 5), (200, 20, 20), (60, 60, 10)):
        x = _data(rng, n, d)
        _expect_pca(ex, x, k, call=f"pca(x, {k}) with x of shape {(n, d)} (mean far from 0)")
    x = _data(rng, 30, 4).astype(np.float32)
    _expect_pca(ex, x, 2, call="pca(x, 2) with a float32 x: float64 results")


@pytest.mark.check(points=1, hints=HINTS_SIGNS)
def test_pca_sign_convention(ex, rng):
    """Data whose raw SVD gives components with a negative largest entry, on this NumPy."""
    x = _data(rng, 12, 5)
    while (_svd(x - x.mean(axis=0))[2][:3] == _pca(x, 3)[0]).all():
        x = _data(rng, 12, 5)
    components, _, projected = _expect_pca(ex, x, 3, call="pca(x, 3) with x of shape (12, 5)")
    largest = components[np.arange(3), np.abs(components).argmax(axis=1)]
    expect(bool((largest > 0).all()), "pca(x, 3)", "each component's largest-magnitude entry "
           "must be positive", hint=HINTS_SIGNS[1])


@pytest.mark.check(points=2, hints=HINTS_PCA, visibility="hidden")
def test_pca_mnist_digits(ex, check, settings):
    digits = load_mnist(root=settings.data_dir).test_x.numpy().astype(np.float64)
    call = "pca(x, 20) on the 1,000 held-out MNIST digits, x of shape (1000, 784)"
    _, ratio, _ = _expect_pca(ex, digits, 20, call=call)
    check.notes.append(f"the first 20 components explain {float(np.sum(ratio)):.1%} of the "
                       f"held-out digits' variance; `make svd-digits` draws digits rebuilt "
                       f"from 1, 5, 20 and 50 components")


@pytest.mark.check(points=1, hints=HINTS_ERRORS, role="errors")
def test_pca_rejects_bad_input(ex):
    _expect_pca(ex, X_LESSON, 1, call="pca(x, 1)")
    expect_raises(ValueError, ex.pca, X_LESSON, 0, call="pca(x, 0)", mentions=("0",))
    expect_raises(ValueError, ex.pca, X_LESSON, 3, call="pca(x, 3) with x of shape (4, 2)",
                  mentions=("3", "(4, 2)"))
    expect_raises(ValueError, ex.pca, np.arange(5.0), 1, call="pca of a 1-D x", mentions=("(5,)",))
    expect_raises(ValueError, ex.pca, np.ones((4, 3)), 1, call="pca(x, 1) with every row the same",
                  hint="no variance: sum(s ** 2) is 0, and the ratio would divide by it")


@pytest.mark.check(points=1, kind="constraint", hints=(
    "This exercise asks for PCA from the SVD: a library PCA does the work you are learning.",
    "Centre the data and call np.linalg.svd(centred, full_matrices=False); no sklearn.",
))
def test_pca_without_library_pca(ex, source):
    _expect_pca(ex, X_LESSON, 2, call="pca(x, 2)")
    expect_without(source, "pca", LIBRARY_PCA, hint="centre the data and use np.linalg.svd")


# -- compression_ratio ---------------------------------------------------------------------------
def _ratio(shape, k):
    m, n = shape
    return k * (m + n + 1) / (m * n)


def _expect_ratio(ex, shape, k, *, call):
    got = result_of(ex.compression_ratio, shape, k, call=call, hint=HINTS_COUNT[1])
    want = _ratio(shape, k)
    if isinstance(got, (int, float)) and not math.isclose(got, want, rel_tol=1e-9) and k:
        m, n = shape
        if math.isclose(got, k * (m + n) / (m * n), rel_tol=1e-9):
            fail(call, COUNTS_NO_SIGMA, hint=HINTS_COUNT[1])
        if got and math.isclose(got, 1 / want, rel_tol=1e-9):
            fail(call, RATIO_INVERTED, hint=HINTS_COUNT[1])
    expect_number(got, want, call=call, rtol=1e-9, hint=HINTS_COUNT[1])


@pytest.mark.check(points=2, hints=HINTS_COUNT)
def test_compression_ratio_lesson_example(ex):
    _expect_ratio(ex, (4096, 4096), 8, call="compression_ratio((4096, 4096), 8), a rank-8 adapter")
    _expect_ratio(ex, (4000, 784), 50, call="compression_ratio((4000, 784), 50), 4,000 digits "
                  "kept as 50 components")
    _expect_ratio(ex, (4, 3), 2, call="compression_ratio((4, 3), 2), the lesson's A: no saving")
    _expect_ratio(ex, (28, 28), 0, call="compression_ratio((28, 28), 0)")
    _expect_ratio(ex, [5, 7], 5, call="compression_ratio([5, 7], 5), the shape as a list")


@pytest.mark.check(points=1, hints=HINTS_ERRORS, role="errors")
def test_compression_ratio_rejects_bad_input(ex):
    _expect_ratio(ex, (10, 20), 3, call="compression_ratio((10, 20), 3)")
    expect_raises(ValueError, ex.compression_ratio, (10, 20), 11, mentions=("11",),
                  call="compression_ratio((10, 20), 11): k above min(m, n)")
    expect_raises(ValueError, ex.compression_ratio, (10, 20), -1, mentions=("-1",),
                  call="compression_ratio((10, 20), -1)")
    expect_raises(ValueError, ex.compression_ratio, (10, 0), 0, mentions=("(10, 0)",),
                  call="compression_ratio((10, 0), 0)")
    expect_raises(ValueError, ex.compression_ratio, (10,), 1, mentions=("(10,)",),
                  call="compression_ratio((10,), 1)")
