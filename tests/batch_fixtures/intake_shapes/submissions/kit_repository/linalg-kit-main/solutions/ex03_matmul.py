"""Exercise 03: Matrix multiplication from broadcasting.

Entry (i, j) of the product ``a @ b`` is the dot product of row i of ``a`` with
column j of ``b``, so the inner sizes must agree: (n, k) times (k, p) gives
(n, p).  Broadcasting computes all of those dot products at once: line the two
factors up so that their shared k axis meets, multiply element-wise and sum over
k.  For a matrix times a vector this is ``(m * v).sum(axis=1)``, with ``v``
stretched over every row of ``m``.  The same pattern with a leading batch axis
gives the (B, n, p) scores of attention, and three nested Python loops show how
much work broadcasting hands over to NumPy.
"""

import numpy as np


def matvec(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Return the matrix-vector product ``m @ v``, computed by broadcasting and a sum.

    ``m`` has shape (n, k) and ``v`` shape (k,); the result has shape (n,), and
    its entry i is the dot product of row i of ``m`` with ``v``.  Its dtype is
    the one ``np.matmul`` gives, ``np.result_type(m, v)`` (int64 for int64
    inputs, float32 for float32 inputs); k = 0 gives zeros.

    Raises:
        ValueError: if ``m`` is not 2-D or ``v`` is not 1-D, or if their k
            differ; the message names both shapes, e.g.
            ``matvec: cannot multiply shapes (3, 3) and (4,): inner dimensions 3 and 4 differ``.

    Not allowed: the matmul family (``@``, ``np.matmul``, ``np.dot``,
    ``ndarray.dot``, ``np.vdot``, ``np.inner``, ``np.outer``, ``np.tensordot``,
    ``np.einsum``, ``np.linalg.multi_dot``, ...).

    >>> m = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    >>> c = np.array([10, 20, 30])
    >>> matvec(m, c)
    array([140, 320, 500])
    """
    m = np.asarray(m)
    v = np.asarray(v)
    if m.ndim != 2 or v.ndim != 1:
        raise ValueError(
            f"matvec: m must be 2-D and v 1-D, got shapes {m.shape} and {v.shape}"
        )
    if m.shape[1] != v.shape[0]:
        raise ValueError(
            f"matvec: cannot multiply shapes {m.shape} and {v.shape}: "
            f"inner dimensions {m.shape[1]} and {v.shape[0]} differ"
        )
    # Summing in the result dtype matches np.matmul (e.g. int8 stays int8, bool uses "or").
    return (m * v).sum(axis=1, dtype=np.result_type(m, v))


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the matrix product ``a @ b``, computed by broadcasting and a sum.

    ``a`` has shape (n, k) and ``b`` shape (k, p); the result has shape (n, p),
    and its entry (i, j) is the dot product of row i of ``a`` with column j of
    ``b``.  Its dtype is the one ``np.matmul`` gives, ``np.result_type(a, b)``;
    k = 0 gives zeros.  Timed: it must stay within a fixed factor of the time
    ``np.matmul`` takes on the same input, so no Python loops over entries.

    Raises:
        ValueError: if ``a`` or ``b`` is not 2-D, or if the inner dimensions
            differ; the message names both shapes, e.g.
            ``matmul: cannot multiply shapes (2, 3) and (4, 5): inner dimensions 3 and 4 differ``.

    Not allowed: the matmul family, as in ``matvec``.

    >>> m = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    >>> n = np.array([[10, 40], [20, 0], [30, -5]])
    >>> matmul(m, n)
    array([[140,  25],
           [320, 130],
           [500, 235]])
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(
            f"matmul: a and b must be 2-D arrays, got shapes {a.shape} and {b.shape}"
        )
    if a.shape[1] != b.shape[0]:
        raise ValueError(
            f"matmul: cannot multiply shapes {a.shape} and {b.shape}: "
            f"inner dimensions {a.shape[1]} and {b.shape[0]} differ"
        )
    # (n, k, 1) * (1, k, p) -> (n, k, p); summing over k leaves (n, p).
    return (a[:, :, None] * b[None, :, :]).sum(axis=1, dtype=np.result_type(a, b))


def matmul_loops(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the matrix product ``a @ b``, computed with three nested Python loops.

    The slow baseline that ``matmul`` is compared with: loop over the rows i of
    ``a``, the columns j of ``b`` and the shared index t, adding up
    ``a[i, t] * b[t, j]``.  Same shapes, dtype (``np.result_type(a, b)``) and
    errors as ``matmul`` (the message starts with ``matmul_loops:``).  Graded
    on small inputs only.

    Raises:
        ValueError: if ``a`` or ``b`` is not 2-D, or if the inner dimensions
            differ; the message names both shapes.

    Not allowed: the matmul family, as in ``matvec``.

    >>> m = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    >>> n = np.array([[10, 40], [20, 0], [30, -5]])
    >>> matmul_loops(m, n)
    array([[140,  25],
           [320, 130],
           [500, 235]])
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(
            f"matmul_loops: a and b must be 2-D arrays, got shapes {a.shape} and {b.shape}"
        )
    if a.shape[1] != b.shape[0]:
        raise ValueError(
            f"matmul_loops: cannot multiply shapes {a.shape} and {b.shape}: "
            f"inner dimensions {a.shape[1]} and {b.shape[0]} differ"
        )
    rows, inner = a.shape
    cols = b.shape[1]
    result = np.zeros((rows, cols), dtype=np.result_type(a, b))
    for i in range(rows):
        for j in range(cols):
            total = result.dtype.type(0)
            for t in range(inner):
                total = total + a[i, t] * b[t, j]
            result[i, j] = total
    return result


def batched_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the batch of matrix products ``a[i] @ b[i]``, computed by broadcasting.

    ``a`` has shape (B, n, k) and ``b`` shape (B, k, p) with the same batch size
    B; the result has shape (B, n, p) and ``result[i] == matmul(a[i], b[i])``.
    This is the shape of the attention scores of a batch of sequences.  The
    dtype is ``np.result_type(a, b)``, as ``np.matmul`` gives; k = 0 gives zeros.

    Raises:
        ValueError: if ``a`` or ``b`` is not 3-D, or if the batch sizes or the
            inner dimensions differ; the message names both shapes, e.g.
            ``batched_matmul: cannot multiply shapes (2, 3, 4) and (2, 5, 6): inner dimensions 4 and 5 differ``.

    Not allowed: the matmul family, as in ``matvec``.

    >>> m = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    >>> n = np.array([[10, 40], [20, 0], [30, -5]])
    >>> batched_matmul(np.stack([m, 2 * m]), np.stack([n, n]))
    array([[[ 140,   25],
            [ 320,  130],
            [ 500,  235]],
    <BLANKLINE>
           [[ 280,   50],
            [ 640,  260],
            [1000,  470]]])
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim != 3 or b.ndim != 3:
        raise ValueError(
            f"batched_matmul: a and b must be 3-D arrays, got shapes {a.shape} and {b.shape}"
        )
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"batched_matmul: cannot multiply shapes {a.shape} and {b.shape}: "
            f"batch sizes {a.shape[0]} and {b.shape[0]} differ"
        )
    if a.shape[2] != b.shape[1]:
        raise ValueError(
            f"batched_matmul: cannot multiply shapes {a.shape} and {b.shape}: "
            f"inner dimensions {a.shape[2]} and {b.shape[1]} differ"
        )
    # (B, n, k, 1) * (B, 1, k, p) -> (B, n, k, p); summing over k leaves (B, n, p).
    return (a[:, :, :, None] * b[:, None, :, :]).sum(axis=2, dtype=np.result_type(a, b))
