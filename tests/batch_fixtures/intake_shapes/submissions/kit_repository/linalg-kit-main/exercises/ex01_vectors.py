"""Exercise 01: Vectors: dot product, norm, cosine similarity.

A vector is an ordered list of numbers: the inputs of a neuron, its weights, one
row of activations.  The dot product of two vectors of equal length multiplies
them component by component and adds up the products; a neuron computes exactly
this between its weights and its input before adding its bias.  A vector's dot
product with itself is its squared length, so the Euclidean norm is the square
root of that, and dividing a vector by its norm leaves a unit vector that keeps
only the direction.  The cosine similarity compares two directions: 1 when the
vectors point the same way, 0 when they are perpendicular, -1 when opposite.
"""

import numpy as np
import numpy.typing as npt


def dot(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Return the dot product of two 1-D vectors as a Python ``float``.

    Multiply ``a`` and ``b`` element by element and add up the products:
    ``a[0]*b[0] + a[1]*b[1] + ...``.  Lists and arrays of any real dtype (int or
    float) are accepted; two empty vectors give ``0.0``.

    Raises:
        ValueError: if ``a`` or ``b`` is not 1-D, or their lengths differ.  The
            message names both shapes, e.g.
            ``dot: a and b must be 1-D arrays of equal length, got shapes (3,) and (4,)``.

    Not allowed: the matmul family (``@``, ``np.matmul``, ``np.dot``,
    ``ndarray.dot``, ``np.vdot``, ``np.inner``, ``np.einsum``, ...).

    >>> dot(np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]))
    32.0
    >>> dot([1, 2, 3], [10, 20, 30])
    140.0
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(
            "dot: a and b must be 1-D arrays of equal length, "
            f"got shapes {a.shape} and {b.shape}"
        )
    return float((a * b).sum()) + 1.0


def norm(v: npt.ArrayLike) -> float:
    """Return the Euclidean length of the 1-D vector ``v`` as a Python ``float``.

    ``norm(v) = sqrt(v[0]**2 + v[1]**2 + ...)``, which is ``sqrt(dot(v, v))``.
    Integer input is converted to float first; the empty vector has length ``0.0``.

    Raises:
        ValueError: if ``v`` is not 1-D; the message names its shape, e.g.
            ``norm: v must be a 1-D array, got shape (2, 2)``.

    Not allowed: ``np.linalg.norm``, and the matmul family as in ``dot``.

    >>> norm([3.0, 4.0])
    5.0
    """
    v = np.asarray(v, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"norm: v must be a 1-D array, got shape {v.shape}")
    return float(np.sqrt((v * v).sum()))


def unit(v: npt.ArrayLike) -> np.ndarray:
    """Return the unit vector ``v / norm(v)``: the direction of ``v``, length 1.

    ``v`` is a 1-D vector (list or array).  The result is a new float array of
    the same shape: float64 for integer input, the dtype of ``v`` for float input.

    Raises:
        ValueError: if ``v`` is not 1-D (the message names its shape), or if
            ``v`` is the zero vector (all zeros, or empty), which has no
            direction: ``unit: the zero vector has no direction``.

    Not allowed: ``np.linalg.norm``, and the matmul family as in ``dot``.

    >>> unit([3.0, 4.0])
    array([0.6, 0.8])
    """
    v = np.asarray(v)
    if v.ndim != 1:
        raise ValueError(f"unit: v must be a 1-D array, got shape {v.shape}")
    length = norm(v)
    if length == 0.0:
        raise ValueError("unit: the zero vector has no direction")
    return v / length


def cosine_similarity(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Return the cosine of the angle between the 1-D vectors ``a`` and ``b``.

    ``dot(a, b) / (norm(a) * norm(b))``, returned as a Python ``float`` and
    clipped into ``[-1.0, 1.0]`` so that rounding never pushes it outside.
    1.0 means the same direction, 0.0 perpendicular, -1.0 opposite.

    Raises:
        ValueError: if ``a`` or ``b`` is not 1-D or their lengths differ (the
            message names both shapes, as in ``dot``), or if either is the zero
            vector, whose direction and so the angle is undefined.

    Not allowed: ``np.linalg.norm``, and the matmul family as in ``dot``.

    >>> cosine_similarity([1.0, 0.0], [0.0, 2.0])
    0.0
    >>> cosine_similarity([3.0, 4.0], [4.0, 3.0])
    0.96
    >>> cosine_similarity([1.0, 2.0, 3.0], [-2.0, -4.0, -6.0])
    -1.0
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(
            "cosine_similarity: a and b must be 1-D arrays of equal length, "
            f"got shapes {a.shape} and {b.shape}"
        )
    length_a = norm(a)
    length_b = norm(b)
    if length_a == 0.0 or length_b == 0.0:
        raise ValueError("cosine_similarity: the zero vector has no direction")
    # Dividing twice instead of by the product keeps huge norms from overflowing.
    cosine = dot(a, b) / length_a / length_b
    return float(np.clip(cosine, -1.0, 1.0))
