"""Exercise 08: SVD: low-rank approximation, PCA and compression.

Every matrix A of shape (m, n) factors as ``A = U @ diag(s) @ Vt``: the columns of U and
the rows of Vt are orthonormal directions, and the singular values s (r = min(m, n) of
them, largest first, never negative) say how much A stretches along each. Read it as a
sum of r rank-1 pieces, ``s[i] * outer(U[:, i], Vt[i])``, from the most important down.

* **Low rank.** Keep the first k pieces and drop the rest: that is the best rank-k
  approximation of A, and its error in the Frobenius norm (the root of the sum of
  squared entries) is exactly ``sqrt(s[k]**2 + ... + s[r-1]**2)``, the dropped singular
  values. No other rank-k matrix comes closer (the Eckart-Young theorem).
* **Compression.** The k pieces are stored as U[:, :k] (m * k numbers), s[:k] (k) and
  Vt[:k] (k * n): ``k * (m + n + 1)`` numbers instead of m * n. A 4096 x 4096 weight
  matrix at rank 8 keeps 0.39 % of its numbers: the idea behind low-rank adapters.
* **PCA.** Centre the data (subtract each column's mean), take the SVD: the rows of Vt
  are the principal components, the directions of largest variance, one entry per
  feature. The variance along component i is proportional to ``s[i] ** 2``, so the
  fraction it explains is ``s[i]**2 / sum(s**2)``, squares, not the singular values
  themselves. ``np.linalg.svd(x, full_matrices=False)`` gives the thin factors, U of
  shape (m, r); the default, ``full_matrices=True``, pads U to (m, m) and Vt to (n, n).

The lesson's matrix, computed (the source page prints wrong figures for it):
A = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]] has singular values
[25.462, 1.2907, 1.8e-15]. The last is zero up to rounding, so A has rank 2 (the page
says 1.72 for the second one, which no computation of this A gives). Its best rank-1
approximation misses A by 1.2907 = s[1] in the Frobenius norm and by 0.8098 at entry
(0, 0): 5 % of A, not the "very small" error the page claims, because A is not nearly
rank 1. The page also divides by ``sigma.sum()`` and reports 95.2 % and 4.8 % of the
variance; with squares the split is 99.74 % and 0.26 %.

A singular vector's sign is arbitrary (u and v can both flip), so two correct programs
can disagree. This kit fixes it: each principal component is flipped so that its
largest-magnitude entry is positive (the first such entry when several tie), and its
column of the projected data flips with it.

The rules: NumPy, with ``np.linalg.svd`` allowed (and matrix products); scikit-learn's
PCA and other library PCAs are not.
"""

from __future__ import annotations

import numpy as np


def low_rank(a: np.ndarray, k: int) -> np.ndarray:
    """The best rank-``k`` approximation of the matrix ``a``, from its SVD.

    Keep the k largest singular values and their vectors:
    ``U[:, :k] @ diag(s[:k]) @ Vt[:k]``. The result has the shape of ``a`` and dtype
    float64 (any real input is converted first). Its Frobenius error
    ``np.linalg.norm(a - result)`` equals ``sqrt(sum(s[k:] ** 2))``. ``k = 0`` gives
    zeros; ``k = min(m, n)`` gives ``a`` back (up to rounding).

    Raises:
        ValueError: if ``a`` is not 2-D (the message names its shape), or if ``k`` is not
            an integer with 0 <= k <= min(m, n); the message names k and the shape, e.g.
            ``low_rank: k must be an integer from 0 to min(m, n) = 3 for a of shape
            (4, 3), got 4``.

    >>> A = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]])
    >>> np.round(low_rank(A, 1), 4)
    array([[ 1.8098,  2.0608,  2.3119],
           [ 4.4186,  5.0314,  5.6443],
           [ 7.0273,  8.0021,  8.9768],
           [ 9.6361, 10.9727, 12.3093]])
    >>> round(float(np.abs(A - low_rank(A, 1)).max()), 4)
    0.8098
    >>> np.allclose(low_rank(A, 2), A)
    True
    """
    raise NotImplementedError("ex08_svd.low_rank: not implemented yet")


def pca(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Principal component analysis of the rows of ``x``: ``(components, ratio, projected)``.

    ``x`` has shape (N, D): N samples of D features. Centre it (subtract the mean of each
    column), take ``np.linalg.svd(centred, full_matrices=False)``, and return, all float64:

    * ``components``, shape (k, D): the first k rows of Vt, each flipped so that its
      largest-magnitude entry is positive (the first such entry on a tie);
    * ``explained_variance_ratio``, shape (k,): ``s[:k] ** 2 / sum(s ** 2)``, the fraction
      of the total variance along each component, largest first;
    * ``projected``, shape (N, k): the centred data in the components' coordinates,
      ``centred @ components.T`` (so a flipped component flips its column too).

    Raises:
        ValueError: if ``x`` is not 2-D (the message names its shape); if ``k`` is not an
            integer with 1 <= k <= min(N, D) (the message names k and the shape); if every
            row of ``x`` is the same, so there is no variance to explain.

    Not allowed: scikit-learn's ``PCA`` or another library PCA (``np.linalg.svd`` is fine).

    >>> x = np.array([[1.0, 2.2], [2.0, 3.8], [3.0, 6.1], [4.0, 7.9]])  # near y = 2x
    >>> components, ratio, projected = pca(x, 2)
    >>> np.round(components, 4)
    array([[ 0.4569,  0.8895],
           [ 0.8895, -0.4569]])
    >>> ratio.round(4).tolist()                       # fractions of the variance
    [0.9993, 0.0007]
    >>> np.round(projected[:, 0], 4)
    array([-3.176 , -1.2959,  1.2069,  3.265 ])
    """
    raise NotImplementedError("ex08_svd.pca: not implemented yet")


def compression_ratio(shape: tuple[int, int], k: int) -> float:
    """How much of an (m, n) matrix a rank-``k`` factorisation stores, as a fraction.

    The factors are U[:, :k] (m * k numbers), the k singular values and Vt[:k] (k * n):
    ``k * (m + n + 1)`` numbers, over the ``m * n`` of the matrix itself. Below 1 the
    factorisation is smaller; small matrices and large k do not compress at all. Returns
    a Python float.

    Raises:
        ValueError: if ``shape`` is not two positive integers, or ``k`` is not an integer
            with 0 <= k <= min(m, n); the message names them.

    >>> round(compression_ratio((4096, 4096), 8), 5)   # a rank-8 adapter of a 4096 x 4096 weight
    0.00391
    >>> round(compression_ratio((4000, 784), 50), 4)   # 4,000 digits kept as 50 components
    0.0763
    >>> round(compression_ratio((4, 3), 2), 4)         # the lesson's A: no saving
    1.3333
    """
    raise NotImplementedError("ex08_svd.compression_ratio: not implemented yet")
