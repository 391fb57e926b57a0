"""The reference solutions of the NumPy exercises, checked against independent oracles.

The oracles are NumPy's own functions (np.dot, np.linalg.norm, np.broadcast_shapes,
np.expand_dims, np.broadcast_to, np.matmul, ...) and the lesson facts of SPEC.md, so a
mistake in a solution cannot hide behind the suites that grade learners against it.
"""

import doctest

import numpy as np
import pytest

from solutions import ex01_vectors, ex02_broadcasting, ex03_matmul, ex05_health_states

# Lesson facts (SPEC.md, "Lesson facts").
M = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
C = np.array([10, 20, 30])
N = np.array([[10, 40], [20, 0], [30, -5]])

RNG_SEED = 20240521


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(RNG_SEED)


def assert_names_shapes(excinfo: pytest.ExceptionInfo, *shapes: tuple) -> None:
    message = str(excinfo.value)
    for shape in shapes:
        assert str(tuple(shape)) in message, f"{shape} not named in {message!r}"


@pytest.mark.parametrize(
    "module", [ex01_vectors, ex02_broadcasting, ex03_matmul, ex05_health_states]
)
def test_docstring_examples_hold(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


# --- ex01_vectors -------------------------------------------------------------------------

VECTOR_PAIRS = {
    "float": (np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])),
    "int": (np.array([1, 2, 3]), np.array([10, 20, 30])),
    "lists": ([1.5, -2.0], [4.0, 0.25]),
    "float32": (np.arange(5, dtype=np.float32), np.ones(5, dtype=np.float32)),
    "strided": (np.arange(10.0)[::2], np.arange(15.0)[::3]),
    "size1": (np.array([-3.0]), np.array([7.0])),
    "empty": (np.zeros(0), np.zeros(0)),
}


@pytest.mark.parametrize("a, b", VECTOR_PAIRS.values(), ids=VECTOR_PAIRS.keys())
def test_dot_matches_np_dot(a, b) -> None:
    result = ex01_vectors.dot(a, b)
    assert type(result) is float
    assert result == pytest.approx(float(np.dot(a, b)), rel=1e-6)


def test_dot_random_and_lesson(rng) -> None:
    a, b = rng.standard_normal((2, 1000))
    assert ex01_vectors.dot(a, b) == pytest.approx(np.dot(a, b), rel=1e-12)
    assert ex01_vectors.dot([1, 2, 3], [4, 5, 6]) == 32.0
    assert ex01_vectors.dot(M[0], C) == 140.0


@pytest.mark.parametrize(
    "shape_a, shape_b", [((3,), (4,)), ((2, 2), (4,)), ((3,), (3, 1)), ((), (1,)), ((0,), (1,))]
)
def test_dot_rejects_bad_shapes(shape_a, shape_b) -> None:
    with pytest.raises(ValueError) as excinfo:
        ex01_vectors.dot(np.ones(shape_a), np.ones(shape_b))
    assert_names_shapes(excinfo, shape_a, shape_b)


def test_dot_message_example() -> None:
    with pytest.raises(ValueError, match=r"got shapes \(3,\) and \(4,\)"):
        ex01_vectors.dot([1, 2, 3], [1, 2, 3, 4])


@pytest.mark.parametrize(
    "v",
    [[3.0, 4.0], np.array([1, -2, 2]), np.arange(12.0)[::3], np.array([5.0]), np.zeros(0),
     np.float32([0.5, 0.25])],
    ids=["3-4-5", "int", "strided", "size1", "empty", "float32"],
)
def test_norm_matches_linalg_norm(v) -> None:
    result = ex01_vectors.norm(v)
    assert type(result) is float
    assert result == pytest.approx(float(np.linalg.norm(v)), rel=1e-6)


def test_norm_of_large_integers_does_not_overflow() -> None:
    v = np.array([2**40, 2**40], dtype=np.int64)
    assert ex01_vectors.norm(v) == pytest.approx(float(np.linalg.norm(v)), rel=1e-12)


def test_norm_rejects_matrix() -> None:
    with pytest.raises(ValueError) as excinfo:
        ex01_vectors.norm(np.ones((2, 2)))
    assert_names_shapes(excinfo, (2, 2))


def test_unit(rng) -> None:
    v = rng.standard_normal(50)
    original = v.copy()
    result = ex01_vectors.unit(v)
    np.testing.assert_allclose(result, v / np.linalg.norm(v), rtol=1e-12)
    assert np.linalg.norm(result) == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_array_equal(v, original)
    assert not np.shares_memory(result, v)


def test_unit_dtypes() -> None:
    assert ex01_vectors.unit(np.array([3, 4])).dtype == np.float64
    np.testing.assert_array_equal(ex01_vectors.unit([3, 4]), [0.6, 0.8])
    assert ex01_vectors.unit(np.float32([3, 4])).dtype == np.float32
    np.testing.assert_allclose(ex01_vectors.unit(np.arange(8.0)[1::2]),
                               np.arange(8.0)[1::2] / np.linalg.norm(np.arange(8.0)[1::2]))


@pytest.mark.parametrize("v", [np.zeros(3), np.zeros(0), [0, 0]], ids=["zeros", "empty", "int"])
def test_unit_rejects_zero_vector(v) -> None:
    with pytest.raises(ValueError, match="zero vector"):
        ex01_vectors.unit(v)


def test_unit_rejects_matrix() -> None:
    with pytest.raises(ValueError) as excinfo:
        ex01_vectors.unit(np.ones((1, 3)))
    assert_names_shapes(excinfo, (1, 3))


def test_cosine_similarity_matches_oracle(rng) -> None:
    for _ in range(20):
        a, b = rng.standard_normal((2, 7))
        expected = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
        result = ex01_vectors.cosine_similarity(a, b)
        assert type(result) is float
        assert result == pytest.approx(expected, abs=1e-12)


def test_cosine_similarity_special_angles() -> None:
    assert ex01_vectors.cosine_similarity([1.0, 0.0], [0.0, 2.0]) == 0.0
    assert ex01_vectors.cosine_similarity([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert ex01_vectors.cosine_similarity([1, 2, 3], [-2, -4, -6]) == pytest.approx(-1.0)
    assert ex01_vectors.cosine_similarity(np.arange(1.0, 7.0)[::2], [1.0, 3.0, 5.0]) == (
        pytest.approx(1.0)
    )


def test_cosine_similarity_stays_in_range(rng) -> None:
    for _ in range(200):
        a = rng.standard_normal(rng.integers(1, 30)) * 10.0 ** rng.integers(-5, 5)
        scale = rng.uniform(0.1, 100.0)
        assert -1.0 <= ex01_vectors.cosine_similarity(a, scale * a) <= 1.0
        assert -1.0 <= ex01_vectors.cosine_similarity(a, -scale * a) <= 1.0


@pytest.mark.parametrize("a, b", [([0.0, 0.0], [1.0, 2.0]), ([1.0, 2.0], [0, 0])])
def test_cosine_similarity_rejects_zero_vector(a, b) -> None:
    with pytest.raises(ValueError, match="zero vector"):
        ex01_vectors.cosine_similarity(a, b)


@pytest.mark.parametrize("shape_a, shape_b", [((3,), (4,)), ((2, 3), (2, 3))])
def test_cosine_similarity_rejects_bad_shapes(shape_a, shape_b) -> None:
    with pytest.raises(ValueError) as excinfo:
        ex01_vectors.cosine_similarity(np.ones(shape_a), np.ones(shape_b))
    assert_names_shapes(excinfo, shape_a, shape_b)


# --- ex02_broadcasting --------------------------------------------------------------------

COMPATIBLE_SHAPES = [
    ((3, 3), (3,)),
    ((3, 1), (1, 3)),
    ((256, 256, 3), (3,)),
    ((), ()),
    ((), (2, 3)),
    ((5,), ()),
    ((0,), (1,)),
    ((1,), (0,)),
    ((2, 0), (1, 0)),
    ((8, 1, 6, 1), (7, 1, 5)),
    ((1, 1), (1,)),
    ((4, 3), (4, 3)),
]


@pytest.mark.parametrize("shape_a, shape_b", COMPATIBLE_SHAPES, ids=str)
def test_broadcast_shape_matches_numpy(shape_a, shape_b) -> None:
    result = ex02_broadcasting.broadcast_shape(shape_a, shape_b)
    assert result == np.broadcast_shapes(shape_a, shape_b)
    assert type(result) is tuple
    assert all(type(size) is int for size in result)
    assert ex02_broadcasting.broadcast_shape(shape_b, shape_a) == result


def test_broadcast_shape_accepts_lists_and_numpy_ints() -> None:
    result = ex02_broadcasting.broadcast_shape([np.int64(2), 1], (np.int32(3),))
    assert result == (2, 3)
    assert all(type(size) is int for size in result)


@pytest.mark.parametrize(
    "shape_a, shape_b, clash",
    [
        ((3, 4), (5,), ("4", "5", "axis -1")),
        ((4, 2), (3,), ("2", "3", "axis -1")),
        ((2, 3, 4), (5, 1, 4), ("2", "5", "axis -3")),
        ((0,), (3,), ("0", "3", "axis -1")),
    ],
    ids=str,
)
def test_broadcast_shape_rejects_clashes(shape_a, shape_b, clash) -> None:
    with pytest.raises(ValueError):
        np.broadcast_shapes(shape_a, shape_b)  # the oracle agrees these clash
    with pytest.raises(ValueError) as excinfo:
        ex02_broadcasting.broadcast_shape(shape_a, shape_b)
    assert_names_shapes(excinfo, shape_a, shape_b)
    for word in clash:
        assert word in str(excinfo.value)


def test_broadcast_shape_message_example() -> None:
    with pytest.raises(ValueError, match=r"dimension 4 \(axis -1\) clashes with 5"):
        ex02_broadcasting.broadcast_shape((3, 4), (5,))


def test_broadcast_shape_rejects_negative_sizes() -> None:
    with pytest.raises(ValueError):
        ex02_broadcasting.broadcast_shape((-1, 3), (3,))


def _arrays_for_expand_dims() -> dict:
    base = np.arange(24.0).reshape(4, 6)
    return {
        "0-d": np.array(5.0),
        "1-d": C.copy(),
        "2-d": M.copy(),
        "size-1": np.array([7]),
        "size-0": np.zeros((2, 0, 3)),
        "strided": base[:, ::2],
        "transposed": base.T,
        "reversed": base[::-1],
    }


EXPAND_CASES = [
    (name, axis)
    for name, array in _arrays_for_expand_dims().items()
    for axis in range(-array.ndim - 1, array.ndim + 1)
]


@pytest.mark.parametrize("name, axis", EXPAND_CASES, ids=[f"{n}-axis{a}" for n, a in EXPAND_CASES])
def test_expand_dims_matches_numpy_and_is_a_view(name, axis) -> None:
    a = _arrays_for_expand_dims()[name]
    result = ex02_broadcasting.expand_dims(a, axis)
    expected = np.expand_dims(a, axis)
    assert result.shape == expected.shape
    assert result.dtype == a.dtype
    np.testing.assert_array_equal(result, expected)
    assert not result.flags.owndata
    if a.size:
        assert np.shares_memory(result, a)
        result[(0,) * result.ndim] = -1  # writing through the view reaches a
        assert a[(0,) * a.ndim] == -1


@pytest.mark.parametrize("shape, axis", [((3,), 2), ((3,), -3), ((), 1), ((), -2), ((2, 3), 3)])
def test_expand_dims_rejects_out_of_range_axes(shape, axis) -> None:
    with pytest.raises(ValueError):
        np.expand_dims(np.ones(shape), axis)  # the oracle agrees (AxisError is a ValueError)
    with pytest.raises(ValueError, match=str(axis)):
        ex02_broadcasting.expand_dims(np.ones(shape), axis)


def test_expand_dims_numpy_integer_axis_and_type_errors() -> None:
    assert ex02_broadcasting.expand_dims(C, np.int64(-1)).shape == (3, 1)
    with pytest.raises(TypeError):
        ex02_broadcasting.expand_dims(C, 1.0)
    with pytest.raises(TypeError):
        ex02_broadcasting.expand_dims(C, (0, 1))


def test_expand_dims_lesson_facts() -> None:
    np.testing.assert_array_equal(
        M + ex02_broadcasting.expand_dims(C, 0), [[11, 22, 33], [14, 25, 36], [17, 28, 39]]
    )
    np.testing.assert_array_equal(
        M + ex02_broadcasting.expand_dims(C, 1), [[11, 12, 13], [24, 25, 26], [37, 38, 39]]
    )


def _arrays_for_broadcast_to() -> dict:
    base = np.arange(24.0).reshape(4, 6)
    return {
        "row-to-matrix": (C.copy(), (3, 3)),
        "column": (C.reshape(3, 1).copy(), (3, 4)),
        "new-axes": (M.copy(), (2, 1, 3, 3)),
        "same-shape": (M.copy(), (3, 3)),
        "size1-to-size1": (np.ones((1, 1)), (1, 1)),
        "0-d": (np.array(2.5), (2, 3)),
        "0-d-to-0-d": (np.array(2.5), ()),
        "strided": (base[:, ::2], (2, 4, 3)),
        "transposed": (base.T, (6, 4)),
        "strided-column": (base[::2, :1], (2, 5)),
        "int-shape": (np.array([4]), 5),
        "float32": (np.float32([1.0, 2.0]), (3, 2)),
        "bool": (np.array([True, False]), (2, 2)),
    }


BROADCAST_TO_CASES = list(_arrays_for_broadcast_to())


@pytest.mark.parametrize("name", BROADCAST_TO_CASES)
def test_broadcast_to_matches_numpy_and_is_a_read_only_view(name) -> None:
    a, shape = _arrays_for_broadcast_to()[name]
    result = ex02_broadcasting.broadcast_to(a, shape)
    expected = np.broadcast_to(a, shape)
    assert result.shape == expected.shape
    assert result.dtype == a.dtype
    np.testing.assert_array_equal(result, expected)
    assert result.strides == expected.strides
    assert not result.flags.writeable
    assert np.shares_memory(result, a)
    if result.ndim:
        with pytest.raises(ValueError):
            result[(0,) * result.ndim] = 0


def test_broadcast_to_puts_zero_strides_on_stretched_axes() -> None:
    a = np.arange(6.0).reshape(2, 1, 3)
    result = ex02_broadcasting.broadcast_to(a, (4, 2, 5, 3))
    assert result.strides == (0, a.strides[0], 0, a.strides[2])


@pytest.mark.parametrize(
    "a_shape, shape",
    [((0,), (3, 0)), ((1,), (0,)), ((2, 1), (2, 0)), ((0, 1), (4, 0, 5)), ((3,), (0, 3))],
    ids=str,
)
def test_broadcast_to_size_zero(a_shape, shape) -> None:
    a = np.ones(a_shape)
    result = ex02_broadcasting.broadcast_to(a, shape)
    assert result.shape == np.broadcast_to(a, shape).shape == shape
    assert not result.flags.writeable


@pytest.mark.parametrize(
    "a_shape, shape",
    [((3,), (4,)), ((3,), (1,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 1), (3, 1)), ((0,), (3,))],
    ids=str,
)
def test_broadcast_to_rejects_incompatible_shapes(a_shape, shape) -> None:
    a = np.ones(a_shape)
    with pytest.raises(ValueError):
        np.broadcast_to(a, shape)  # the oracle agrees
    with pytest.raises(ValueError) as excinfo:
        ex02_broadcasting.broadcast_to(a, shape)
    assert_names_shapes(excinfo, a_shape, shape)


def test_broadcast_to_rejects_negative_sizes() -> None:
    with pytest.raises(ValueError):
        ex02_broadcasting.broadcast_to(np.ones(3), (-1, 3))


def test_broadcast_to_lesson_facts() -> None:
    np.testing.assert_array_equal(ex02_broadcasting.broadcast_to(C, (3, 3)), [C, C, C])
    np.testing.assert_array_equal(
        ex02_broadcasting.broadcast_to(ex02_broadcasting.expand_dims(C, 1), (3, 3)),
        [[10, 10, 10], [20, 20, 20], [30, 30, 30]],
    )


# --- ex03_matmul --------------------------------------------------------------------------

def _pair(rng, shape_a, shape_b, dtype):
    if np.dtype(dtype) == np.bool_:
        return rng.random(shape_a) < 0.5, rng.random(shape_b) < 0.5
    if np.issubdtype(dtype, np.integer):
        return (rng.integers(-9, 10, shape_a).astype(dtype),
                rng.integers(-9, 10, shape_b).astype(dtype))
    return rng.standard_normal(shape_a).astype(dtype), rng.standard_normal(shape_b).astype(dtype)


def assert_same_product(result, a, b) -> None:
    expected = np.matmul(a, b)
    assert result.shape == expected.shape
    assert result.dtype == expected.dtype == np.result_type(a, b)
    if np.issubdtype(expected.dtype, np.inexact):
        tol = 1e-4 if expected.dtype == np.float32 else 1e-10
        np.testing.assert_allclose(result, expected, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(result, expected)


DTYPES = [np.float64, np.float32, np.int64, np.int32, np.int8, np.bool_]
MATMUL_SHAPES = [(1, 1, 1), (3, 4, 5), (5, 1, 7), (4, 0, 3), (0, 3, 2), (3, 2, 0), (16, 33, 8)]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n, k", [(3, 3), (1, 5), (4, 1), (0, 3), (3, 0)], ids=str)
def test_matvec_matches_np_matmul(rng, n, k, dtype) -> None:
    m, v = _pair(rng, (n, k), (k,), dtype)
    assert_same_product(ex03_matmul.matvec(m, v), m, v)


def test_matvec_non_contiguous_mixed_and_lesson(rng) -> None:
    base = rng.standard_normal((6, 8))
    for m in (base[:, ::2], base.T[:4], base[::-1, 1:5]):
        v = rng.standard_normal(m.shape[1])
        assert_same_product(ex03_matmul.matvec(m, v), m, v)
    m, v = M.astype(np.int32), C.astype(np.float32)
    assert_same_product(ex03_matmul.matvec(m, v), m, v)
    np.testing.assert_array_equal(ex03_matmul.matvec(M, C), [140, 320, 500])
    np.testing.assert_array_equal(ex03_matmul.matvec(M, N[:, 0]), [140, 320, 500])
    np.testing.assert_array_equal(ex03_matmul.matvec(M, N[:, 1]), [25, 130, 235])


@pytest.mark.parametrize(
    "m_shape, v_shape", [((3, 3), (4,)), ((3,), (3,)), ((3, 3), (3, 1)), ((2, 3, 4), (4,))],
    ids=str,
)
def test_matvec_rejects_bad_shapes(m_shape, v_shape) -> None:
    with pytest.raises(ValueError) as excinfo:
        ex03_matmul.matvec(np.ones(m_shape), np.ones(v_shape))
    assert_names_shapes(excinfo, m_shape, v_shape)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n, k, p", MATMUL_SHAPES, ids=str)
def test_matmul_matches_np_matmul(rng, n, k, p, dtype) -> None:
    a, b = _pair(rng, (n, k), (k, p), dtype)
    assert_same_product(ex03_matmul.matmul(a, b), a, b)


def test_matmul_int8_wraps_like_np_matmul() -> None:
    a = np.full((2, 3), 100, dtype=np.int8)
    b = np.full((3, 2), 100, dtype=np.int8)
    assert_same_product(ex03_matmul.matmul(a, b), a, b)


def test_matmul_non_contiguous_mixed_and_lesson(rng) -> None:
    base = rng.standard_normal((8, 10))
    for a, b in [(base[:, ::2], base[:5, :3]), (base.T, base[:, ::3]), (base[::-2], base.T[::-1])]:
        assert_same_product(ex03_matmul.matmul(a, b), a, b)
    a, b = M.astype(np.int32), N.astype(np.float32)
    assert_same_product(ex03_matmul.matmul(a, b), a, b)
    assert_same_product(ex03_matmul.matmul(M, N), M, N)
    # SPEC's lesson fact "m @ n = [[140,100],[320,280],[500,460]]" does not hold for the n
    # it gives (the notebook printed a stale cell); these are the values np.matmul gives.
    np.testing.assert_array_equal(ex03_matmul.matmul(M, N), [[140, 25], [320, 130], [500, 235]])
    np.testing.assert_array_equal(ex03_matmul.matmul(M, N)[:, 0], [140, 320, 500])


MATMUL_BAD_SHAPES = [((2, 3), (4, 5)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3, 4), (4, 5))]


@pytest.mark.parametrize("function", [ex03_matmul.matmul, ex03_matmul.matmul_loops],
                         ids=["matmul", "matmul_loops"])
@pytest.mark.parametrize("shape_a, shape_b", MATMUL_BAD_SHAPES, ids=str)
def test_matmul_rejects_bad_shapes(function, shape_a, shape_b) -> None:
    with pytest.raises(ValueError) as excinfo:
        function(np.ones(shape_a), np.ones(shape_b))
    assert_names_shapes(excinfo, shape_a, shape_b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.bool_],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n, k, p", MATMUL_SHAPES[:6], ids=str)
def test_matmul_loops_matches_np_matmul(rng, n, k, p, dtype) -> None:
    a, b = _pair(rng, (n, k), (k, p), dtype)
    assert_same_product(ex03_matmul.matmul_loops(a, b), a, b)


def test_matmul_loops_non_contiguous_and_lesson(rng) -> None:
    base = rng.standard_normal((5, 6))
    assert_same_product(ex03_matmul.matmul_loops(base.T, base[:, ::2]), base.T, base[:, ::2])
    np.testing.assert_array_equal(ex03_matmul.matmul_loops(M, N), np.matmul(M, N))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.bool_],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize(
    "batch, n, k, p", [(2, 3, 4, 5), (1, 1, 1, 1), (3, 0, 2, 4), (2, 3, 0, 4), (0, 2, 3, 4)],
    ids=str,
)
def test_batched_matmul_matches_np_matmul(rng, batch, n, k, p, dtype) -> None:
    a, b = _pair(rng, (batch, n, k), (batch, k, p), dtype)
    assert_same_product(ex03_matmul.batched_matmul(a, b), a, b)


def test_batched_matmul_non_contiguous_and_lesson(rng) -> None:
    q = rng.standard_normal((4, 7, 2, 8))
    a = q[:, :, 0, :]                 # (4, 7, 8), strided
    b = q[:, :, 1, :].transpose(0, 2, 1)  # (4, 8, 7), transposed: attention scores q @ k^T
    assert_same_product(ex03_matmul.batched_matmul(a, b), a, b)
    result = ex03_matmul.batched_matmul(np.stack([M, 2 * M]), np.stack([N, N]))
    np.testing.assert_array_equal(result, [np.matmul(M, N), 2 * np.matmul(M, N)])


@pytest.mark.parametrize(
    "shape_a, shape_b",
    [((2, 3, 4), (2, 5, 6)), ((2, 3, 4), (3, 4, 5)), ((3, 4), (4, 5)), ((2, 3, 4), (4, 5))],
    ids=str,
)
def test_batched_matmul_rejects_bad_shapes(shape_a, shape_b) -> None:
    with pytest.raises(ValueError) as excinfo:
        ex03_matmul.batched_matmul(np.ones(shape_a), np.ones(shape_b))
    assert_names_shapes(excinfo, shape_a, shape_b)


# --- ex05_health_states -------------------------------------------------------------------

LESSON_STATE = [0.85, 0.10, 0.05, 0.0]


def test_given_constants() -> None:
    hs = ex05_health_states
    assert hs.STATES == ("asymptomatic", "symptomatic", "AIDS", "death")
    assert type(hs.STATES) is tuple
    expected = {
        "TRANSITIONS": [[0.90, 0.07, 0.02, 0.01], [0, 0.93, 0.05, 0.02],
                        [0, 0, 0.85, 0.15], [0, 0, 0, 1]],
        "DEMAND": [[6, 5, 3, 1], [3, 6, 2, 2], [3, 4, 3, 1]],
        "PRICES": [[1.50, 1.00], [2.00, 2.50], [5.00, 4.50], [16.00, 17.00]],
    }
    for name, values in expected.items():
        array = getattr(hs, name)
        assert isinstance(array, np.ndarray)
        assert array.dtype == np.float64, name
        np.testing.assert_array_equal(array, values)


def test_next_year_lesson_fact() -> None:
    result = ex05_health_states.next_year(LESSON_STATE, ex05_health_states.TRANSITIONS)
    assert result.shape == (4,)
    np.testing.assert_allclose(result, [0.765, 0.1525, 0.0645, 0.018], rtol=0, atol=1e-12)


def _random_stochastic(rng, n):
    t = rng.random((n, n))
    return t / t.sum(axis=1, keepdims=True)


def test_next_year_matches_np_matmul(rng) -> None:
    for n in (1, 2, 5, 9):
        t = _random_stochastic(rng, n)
        state = rng.random(n)
        state /= state.sum()
        result = ex05_health_states.next_year(state, t)
        np.testing.assert_allclose(result, np.matmul(state, t), rtol=1e-12, atol=1e-15)
        assert result.sum() == pytest.approx(1.0)
    # a transposed (non-contiguous) matrix and integer inputs
    t = _random_stochastic(rng, 4).T.copy().T
    np.testing.assert_allclose(ex05_health_states.next_year([0, 1, 0, 0], t), t[1])
    np.testing.assert_array_equal(
        ex05_health_states.next_year([0, 0, 0, 1], np.eye(4, dtype=int)), [0, 0, 0, 1]
    )


def test_next_year_accepts_sums_within_tolerance() -> None:
    t = ex05_health_states.TRANSITIONS.copy()
    t[0, 0] += 1e-12
    state = np.array(LESSON_STATE) + [1e-12, 0, 0, 0]
    ex05_health_states.next_year(state, t)


T = [[0.90, 0.07, 0.02, 0.01], [0, 0.93, 0.05, 0.02], [0, 0, 0.85, 0.15], [0, 0, 0, 1]]
BAD_NEXT_YEAR = {
    "not-square": (LESSON_STATE, [row[:3] for row in T], r"square.*\(4, 3\)"),
    "not-2-d": (LESSON_STATE, T[0], r"square.*\(4,\)"),
    "negative-entry": (LESSON_STATE, [[1.1, -0.1, 0, 0]] + T[1:], r"negative.*row 0, column 1"),
    "row-sum": (LESSON_STATE, [T[0], [0, 0.93, 0.03, 0.02]] + T[2:], r"row 1 .*sums to 0\.98"),
    "nan-row": (LESSON_STATE, [[np.nan, 0.07, 0.02, 0.01]] + T[1:], r"row 0 .*sums to nan"),
    "state-length": ([0.5, 0.5, 0.0], T, r"length 4.*\(3,\)"),
    "state-2-d": ([LESSON_STATE], T, r"length 4.*\(1, 4\)"),
    "state-negative": ([1.1, -0.1, 0.0, 0.0], T, r"state.*negative.*index 1"),
    "state-sum": ([0.8, 0.1, 0.0, 0.0], T, r"state sums to 0\.9"),
    "state-sum-off-by-1e-6": ([0.85, 0.10, 0.05, 1e-6], T, r"state sums to"),
}


@pytest.mark.parametrize("state, transitions, message", BAD_NEXT_YEAR.values(),
                         ids=BAD_NEXT_YEAR.keys())
def test_next_year_rejects_bad_input(state, transitions, message) -> None:
    with pytest.raises(ValueError, match=message):
        ex05_health_states.next_year(state, transitions)


def test_after_years_zero_returns_a_copy() -> None:
    state = np.array(LESSON_STATE)
    result = ex05_health_states.after_years(state, ex05_health_states.TRANSITIONS, 0)
    np.testing.assert_array_equal(result, state)
    assert result is not state
    assert not np.shares_memory(result, state)
    assert result.dtype == np.float64


def test_after_years_matches_matrix_power_and_repeated_steps(rng) -> None:
    t = ex05_health_states.TRANSITIONS
    state = np.array(LESSON_STATE)
    stepped = state.copy()
    for years in range(1, 12):
        stepped = np.matmul(stepped, t)
        result = ex05_health_states.after_years(state, t, years)
        np.testing.assert_allclose(result, stepped, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(
            result, np.matmul(state, np.linalg.matrix_power(t, years)), rtol=1e-12, atol=1e-15
        )
    np.testing.assert_allclose(
        ex05_health_states.after_years(LESSON_STATE, t, 1), [0.765, 0.1525, 0.0645, 0.018],
        atol=1e-12,
    )
    # death absorbs everyone in the long run
    assert ex05_health_states.after_years(state, t, np.int64(1000))[3] == pytest.approx(1.0)
    random_t = _random_stochastic(rng, 6)
    np.testing.assert_allclose(
        ex05_health_states.after_years(np.full(6, 1 / 6), random_t, 7),
        np.matmul(np.full(6, 1 / 6), np.linalg.matrix_power(random_t, 7)),
        rtol=1e-12,
    )


@pytest.mark.parametrize("years", [-1, 2.0, True, "3", None], ids=repr)
def test_after_years_rejects_bad_years(years) -> None:
    with pytest.raises(ValueError, match="years"):
        ex05_health_states.after_years(LESSON_STATE, ex05_health_states.TRANSITIONS, years)


def test_after_years_checks_inputs_even_for_zero_years() -> None:
    with pytest.raises(ValueError, match="sums to"):
        ex05_health_states.after_years([0.5, 0.0, 0.0, 0.0], ex05_health_states.TRANSITIONS, 0)


def test_shop_totals_lesson_fact() -> None:
    hs = ex05_health_states
    result = hs.shop_totals(hs.DEMAND, hs.PRICES)
    np.testing.assert_array_equal(result, [[50, 49], [58.5, 61], [43.5, 43.5]])
    assert result.dtype == np.float64


def test_shop_totals_matches_np_matmul(rng) -> None:
    demand = rng.integers(0, 10, (5, 7))
    prices = rng.uniform(0.5, 20, (7, 3))
    np.testing.assert_allclose(
        ex05_health_states.shop_totals(demand, prices), np.matmul(demand, prices), rtol=1e-12
    )
    prices_t = prices.T.copy().T  # Fortran order
    np.testing.assert_allclose(
        ex05_health_states.shop_totals(demand[:, :], prices_t), np.matmul(demand, prices_t)
    )
    np.testing.assert_array_equal(
        ex05_health_states.shop_totals(demand, prices[:, :0]), np.zeros((5, 0))
    )


@pytest.mark.parametrize(
    "demand_shape, prices_shape", [((3, 4), (3, 2)), ((4,), (4, 2)), ((3, 4), (4,))], ids=str
)
def test_shop_totals_rejects_bad_shapes(demand_shape, prices_shape) -> None:
    with pytest.raises(ValueError) as excinfo:
        ex05_health_states.shop_totals(np.ones(demand_shape), np.ones(prices_shape))
    assert_names_shapes(excinfo, demand_shape, prices_shape)


def test_cheapest_shop_lesson_fact() -> None:
    hs = ex05_health_states
    result = hs.cheapest_shop(hs.DEMAND, hs.PRICES)
    np.testing.assert_array_equal(result, [1, 0, 0])
    assert result.dtype == np.int64


def test_cheapest_shop_matches_argmin_and_breaks_ties_low(rng) -> None:
    demand = rng.integers(0, 10, (20, 6)).astype(float)
    prices = rng.uniform(1, 10, (6, 4))
    np.testing.assert_array_equal(
        ex05_health_states.cheapest_shop(demand, prices),
        np.argmin(np.matmul(demand, prices), axis=1),
    )
    same_prices = np.repeat(prices[:, :1], 3, axis=1)
    np.testing.assert_array_equal(ex05_health_states.cheapest_shop(demand, same_prices),
                                  np.zeros(20))
    tie_later = np.array([[2.0, 1.0, 1.0]])  # one item; shops 1 and 2 tie for cheapest
    np.testing.assert_array_equal(ex05_health_states.cheapest_shop([[3.0]], tie_later), [1])


def test_cheapest_shop_rejects_bad_input() -> None:
    hs = ex05_health_states
    with pytest.raises(ValueError) as excinfo:
        hs.cheapest_shop(np.ones((3, 4)), np.ones((3, 2)))
    assert_names_shapes(excinfo, (3, 4), (3, 2))
    with pytest.raises(ValueError, match="no shops"):
        hs.cheapest_shop(hs.DEMAND, hs.PRICES[:, :0])
