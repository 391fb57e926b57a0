"""The reference solution of ex08_svd, checked against independent oracles and the lesson facts.

The oracles: the Eckart-Young theorem (the error of the best rank-k approximation is the
root of the dropped squared singular values, and its remaining singular values are 0), a
sum of rank-1 outer products, the eigendecomposition of the covariance (``np.cov``,
``np.linalg.eigh``) for PCA, and a count of the factor arrays' sizes for the compression
ratio. The lesson facts are computed here, including the ones the source page gets wrong.
The suite's checks themselves admit correct alternatives (a loop of outer products, PCA
from the covariance's eigenvectors).
"""

from __future__ import annotations

import doctest
import importlib.util
import inspect
from types import SimpleNamespace

import numpy as np
import pytest

from solutions import ex08_svd as sol
from suite_modules import load_suite

FUNCTIONS = ["low_rank", "pca", "compression_ratio"]
SEED = 20240808
A = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]], dtype=float)


suite = load_suite("ex08_svd")


@pytest.fixture
def rng():
    return np.random.default_rng(SEED)


# -- the module as a whole -------------------------------------------------------------------


def test_docstring_examples_hold():
    result = doctest.testmod(sol, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


@pytest.fixture(scope="module")
def stub(pristine):
    """The stub as committed (a learner may have filled in exercises/ex08_svd.py)."""
    spec = importlib.util.spec_from_file_location("pristine_ex08_svd",
                                                  pristine / "exercises" / "ex08_svd.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", FUNCTIONS)
def test_stub_mirrors_the_solution_and_is_not_started(name, stub):
    learner, reference = getattr(stub, name), getattr(sol, name)
    assert inspect.signature(learner) == inspect.signature(reference)
    assert inspect.getdoc(learner) == inspect.getdoc(reference)
    assert stub.__doc__ == sol.__doc__
    arguments = {"low_rank": (A, 1), "pca": (A, 1), "compression_ratio": ((4, 3), 1)}[name]
    with pytest.raises(NotImplementedError, match=f"^ex08_svd.{name}: not implemented yet$"):
        learner(*arguments)


# -- lesson facts, with the source page's errors ---------------------------------------------


def test_the_lesson_matrix_has_rank_2_and_these_singular_values():
    s = np.linalg.svd(A, compute_uv=False)
    np.testing.assert_allclose(s[:2], [25.4624074360364, 1.29066167576123], rtol=1e-12)
    assert s[2] < 1e-13 and np.linalg.matrix_rank(A) == 2
    assert abs(s[1] - 1.72) > 0.4            # the page's "1.72e+00" is no singular value of A
    assert np.round(s, 2).tolist() == [25.46, 1.29, 0.0]   # what sigma.round(2) really prints


def test_the_rank_1_approximation_misses_by_s1_and_at_most_0_8098():
    approx = sol.low_rank(A, 1)
    error = A - approx
    assert np.abs(error).max() == pytest.approx(0.8097903342847, rel=1e-9)
    assert np.unravel_index(np.abs(error).argmax(), A.shape) == (0, 0)
    assert np.linalg.norm(error) == pytest.approx(1.29066167576123, rel=1e-9)   # = s[1]
    assert np.linalg.norm(error) / np.linalg.norm(A) == pytest.approx(0.0506, abs=1e-4)


def test_the_variance_split_uses_squares_not_the_singular_values():
    s = np.linalg.svd(A, compute_uv=False)
    page = 100 * s / s.sum()                   # what the page computes
    true = 100 * s ** 2 / (s ** 2).sum()
    np.testing.assert_allclose(page[:2], [95.18, 4.82], atol=0.01)
    np.testing.assert_allclose(true[:2], [99.74, 0.26], atol=0.01)
    np.testing.assert_allclose(sol.pca(A, 2)[1].sum(), 1.0)   # A's centred rows lie on a line


def test_the_lesson_pca_example_near_y_equals_2x():
    x = np.array([[1.0, 2.2], [2.0, 3.8], [3.0, 6.1], [4.0, 7.9]])
    components, ratio, projected = sol.pca(x, 2)
    np.testing.assert_allclose(components[0], [0.4569318, 0.88950173], atol=1e-8)
    np.testing.assert_allclose(ratio, [0.99928171, 0.00071829], atol=1e-8)
    raw = np.linalg.svd(x - x.mean(axis=0))[2]
    assert raw[1, 0] < 0 < components[1, 0]     # the convention flips the raw second component


def test_mnist_variance_shares_on_the_training_digits():
    """The figures of the README and of `make svd-digits`."""
    from grader.data import load_mnist

    x = load_mnist().train_x.numpy().astype(np.float64)
    ratio = sol.pca(x, 50)[1]
    shares = [round(float(ratio[:k].sum()), 3) for k in (1, 5, 20, 50)]
    assert shares == [0.098, 0.334, 0.648, 0.829]


# -- low_rank ----------------------------------------------------------------------------------


@pytest.mark.parametrize("m, n", [(5, 5), (8, 3), (3, 8), (20, 12), (1, 6), (6, 1)])
def test_low_rank_meets_eckart_young(m, n, rng):
    a = rng.standard_normal((m, n))
    s = np.linalg.svd(a, compute_uv=False)
    for k in range(min(m, n) + 1):
        approx = sol.low_rank(a, k)
        assert approx.shape == a.shape and approx.dtype == np.float64
        assert np.linalg.norm(a - approx) == pytest.approx(np.sqrt((s[k:] ** 2).sum()), rel=1e-9, abs=1e-12)
        assert np.linalg.matrix_rank(approx, tol=1e-9) == k
    np.testing.assert_allclose(sol.low_rank(a, min(m, n)), a, atol=1e-12)


def test_low_rank_equals_the_sum_of_the_first_k_outer_products(rng):
    a = rng.standard_normal((7, 5))
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    for k in range(6):
        want = sum((s[i] * np.outer(u[:, i], vt[i]) for i in range(k)), np.zeros(a.shape))
        np.testing.assert_allclose(sol.low_rank(a, k), want, atol=1e-12)


def test_no_rank_k_matrix_is_closer(rng):
    a = rng.standard_normal((6, 4))
    best = np.linalg.norm(a - sol.low_rank(a, 2))
    for _ in range(200):
        other = rng.standard_normal((6, 2)) @ rng.standard_normal((2, 4))
        assert np.linalg.norm(a - other) >= best


def test_low_rank_converts_inputs_to_float64():
    assert sol.low_rank([[3, 0], [0, 1]], 1).tolist() == [[3.0, 0.0], [0.0, 0.0]]
    assert sol.low_rank(A.astype(np.float32), 1).dtype == np.float64


@pytest.mark.parametrize("a, k, named", [(A, 4, ("4", "(4, 3)")), (A, -1, ("-1",)), (A, 1.0, ("1.0",)),
                                         (np.ones(4), 1, ("(4,)",))])
def test_low_rank_rejects_bad_input(a, k, named):
    with pytest.raises(ValueError) as excinfo:
        sol.low_rank(a, k)
    for text in named:
        assert text in str(excinfo.value)


# -- pca ---------------------------------------------------------------------------------------


def covariance_pca(x, k):
    """PCA from np.cov's eigenvectors, with the kit's sign convention."""
    values, vectors = np.linalg.eigh(np.cov(x, rowvar=False))
    order = np.argsort(values)[::-1][:k]
    components = vectors[:, order].T
    flip = np.sign(components[np.arange(k), np.abs(components).argmax(axis=1)])
    components = components * flip[:, None]
    return components, values[order] / values.sum(), (x - x.mean(axis=0)) @ components.T


@pytest.mark.parametrize("n, d, k", [(10, 3, 3), (40, 6, 2), (7, 12, 5), (200, 20, 20)])
def test_pca_matches_the_covariance_eigenvectors(n, d, k, rng):
    x = suite._data(rng, n, d)
    got = sol.pca(x, k)
    for g, w in zip(got, covariance_pca(x, k)):
        assert g.dtype == np.float64
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-9)
    components, ratio, projected = got
    np.testing.assert_allclose(components @ components.T, np.eye(k), atol=1e-12)
    assert (np.diff(ratio) <= 0).all() and ratio.sum() <= 1 + 1e-12
    largest = components[np.arange(k), np.abs(components).argmax(axis=1)]
    assert (largest > 0).all()


def test_pca_projected_variances_are_the_explained_variances(rng):
    x = suite._data(rng, 300, 5)
    _, ratio, projected = sol.pca(x, 5)
    total = ((x - x.mean(axis=0)) ** 2).sum()
    np.testing.assert_allclose((projected ** 2).sum(axis=0) / total, ratio, rtol=1e-10)


@pytest.mark.parametrize("x, k, named", [(A, 0, ("0",)), (A, 4, ("4", "(4, 3)")), (np.arange(5.0), 1, ("(5,)",)),
                                         (np.ones((4, 3)), 1, ("(4, 3)",))])
def test_pca_rejects_bad_input(x, k, named):
    with pytest.raises(ValueError) as excinfo:
        sol.pca(x, k)
    for text in named:
        assert text in str(excinfo.value)


# -- compression_ratio -------------------------------------------------------------------------


@pytest.mark.parametrize("shape, k", [((4096, 4096), 8), ((4000, 784), 50), ((4, 3), 2), ((28, 28), 0),
                                      ((5, 7), 5)])
def test_compression_ratio_counts_the_factor_arrays(shape, k, rng):
    m, n = shape
    if m * n <= 10_000:
        u, s, vt = np.linalg.svd(rng.standard_normal(shape), full_matrices=False)
        stored = u[:, :k].size + s[:k].size + vt[:k].size
    else:
        stored = m * k + k + k * n
    got = sol.compression_ratio(shape, k)
    assert type(got) is float and got == pytest.approx(stored / (m * n), rel=1e-15)


@pytest.mark.parametrize("shape, k", [((10, 20), 11), ((10, 20), -1), ((10, 0), 0), ((10,), 1), ((2.0, 3), 1),
                                      ((10, 20), True)])
def test_compression_ratio_rejects_bad_input(shape, k):
    with pytest.raises(ValueError):
        sol.compression_ratio(shape, k)


# -- the suite admits correct alternatives -----------------------------------------------------


def test_the_suite_admits_a_loop_of_outer_products_and_a_covariance_pca(rng):
    def outer_products(a, k):
        a = np.asarray(a, dtype=float)
        u, s, vt = np.linalg.svd(a, full_matrices=False)
        out = np.zeros_like(a)
        for i in range(k):
            out += s[i] * np.outer(u[:, i], vt[i])
        return out

    learner = SimpleNamespace(low_rank=outer_products, pca=covariance_pca)
    for m, n in ((8, 3), (3, 8), (20, 12)):
        a = suite._matrix(rng, m, n)
        for k in range(min(m, n) + 1):
            suite._expect_low_rank(learner, a, k, call="alternative")
    for n, d, k in ((10, 3, 3), (40, 6, 2), (200, 20, 20)):
        suite._expect_pca(learner, suite._data(rng, n, d), k, call="alternative")


def test_the_suite_recognises_the_lesson_mistakes():
    """Spot checks of the diagnoses on hand-made mistakes (the golden fixtures run the rest)."""
    from grader.checks.expect import CheckFailed

    def sigma_ratio(x, k):
        c, r, p = sol.pca(x, k)
        s = np.linalg.svd(x - x.mean(axis=0), compute_uv=False)
        return c, s[:k] / s.sum(), p

    with pytest.raises(CheckFailed, match="explained_variance_ratio is s / sum"):
        suite._expect_pca(SimpleNamespace(pca=sigma_ratio), suite.X_LESSON, 2, call="mistake")
