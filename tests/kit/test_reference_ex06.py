"""The reference solution of ex06_vectorize, checked against independent oracles.

The oracles are PyTorch's own routines (torch.cdist, torch.softmax), a broadcast
difference, an explicit loop over channels and a brute-force k-nearest-neighbour vote in
plain Python, so a mistake in the reference cannot hide behind the suite that grades
learners against it. CUDA cases run only where a GPU is present.
"""

import ast
import doctest
import importlib.util
import inspect

import numpy as np
import pytest
import torch

from solutions import ex06_vectorize as sol

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
DEVICES = ["cpu", pytest.param("cuda", marks=requires_cuda)]
DTYPES = [torch.float32, torch.float64]
FUNCTIONS = ["pairwise_sq_dists", "softmax", "normalize_channels", "knn_predict"]
SEED = 20240606


def randn(*shape, dtype=torch.float32, device="cpu", seed=SEED, offset=0.0):
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=generator, dtype=torch.float64) + offset).to(dtype).to(device)


def assert_names_shapes(excinfo, *shapes):
    for shape in shapes:
        assert str(tuple(shape)) in str(excinfo.value), f"{shape} not named in {excinfo.value}"


# -- the module as a whole -------------------------------------------------------------------


def test_docstring_examples_hold():
    result = doctest.testmod(sol, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


@pytest.fixture(scope="module")
def stub(pristine):
    """The stub as committed (a learner may have filled in exercises/ex06_vectorize.py)."""
    spec = importlib.util.spec_from_file_location("pristine_ex06_vectorize",
                                                  pristine / "exercises" / "ex06_vectorize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", FUNCTIONS)
def test_stub_mirrors_the_solution_and_is_not_started(name, stub):
    learner, reference = getattr(stub, name), getattr(sol, name)
    assert inspect.signature(learner) == inspect.signature(reference)
    assert inspect.getdoc(learner) == inspect.getdoc(reference)
    assert stub.__doc__ == sol.__doc__
    arguments = {
        "pairwise_sq_dists": (torch.zeros(1, 1), torch.zeros(1, 1)),
        "softmax": (torch.zeros(2),),
        "normalize_channels": (torch.zeros(1, 1, 1, 1), [0.0], [1.0]),
        "knn_predict": (torch.zeros(1, 1), torch.zeros(1, dtype=torch.int64), torch.zeros(1, 1)),
    }[name]
    with pytest.raises(NotImplementedError, match=f"^ex06_vectorize.{name}: not implemented yet$"):
        learner(*arguments)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_solution_has_no_python_loops(name):
    tree = ast.parse(inspect.getsource(getattr(sol, name)))
    loops = (ast.For, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
    assert not [type(node).__name__ for node in ast.walk(tree) if isinstance(node, loops)]


# -- pairwise_sq_dists -----------------------------------------------------------------------


def cdist_oracle(x, y):
    return torch.cdist(x.double().cpu(), y.double().cpu()) ** 2


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, m, d", [(1, 1, 1), (1, 6, 3), (5, 1, 3), (7, 9, 1), (30, 40, 16), (64, 50, 784)])
def test_pairwise_matches_cdist(n, m, d, dtype, device):
    x, y = randn(n, d, dtype=dtype, device=device), randn(m, d, dtype=dtype, device=device, seed=SEED + 1)
    before = x.clone(), y.clone()
    result = sol.pairwise_sq_dists(x, y)
    assert result.shape == (n, m) and result.dtype == dtype and result.device == x.device
    tolerance = 1e-4 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(result.double().cpu(), cdist_oracle(x, y), rtol=tolerance, atol=tolerance * d)
    assert (result >= 0).all()
    assert torch.equal(x, before[0]) and torch.equal(y, before[1])


def test_pairwise_stays_accurate_far_from_the_origin():
    # MNIST-like: every coordinate far from 0, so ||x||^2 is huge next to the distances.
    x, y = randn(20, 784, offset=100.0), randn(30, 784, seed=SEED + 1, offset=100.0)
    torch.testing.assert_close(sol.pairwise_sq_dists(x, y).double(), cdist_oracle(x, y), rtol=1e-4, atol=1e-2)


def test_pairwise_of_a_set_with_itself_has_a_zero_diagonal():
    x = randn(50, 32, offset=3.0)
    result = sol.pairwise_sq_dists(x, x)
    assert (result >= 0).all()
    assert result.diagonal().abs().max() < 1e-3
    torch.testing.assert_close(result, result.T, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("n, m, d", [(0, 3, 2), (3, 0, 2), (2, 3, 0)])
def test_pairwise_empty_sizes(n, m, d):
    result = sol.pairwise_sq_dists(torch.ones(n, d), torch.zeros(m, d))
    assert result.shape == (n, m)
    assert torch.equal(result, torch.full((n, m), float(d)))


def test_pairwise_promotes_dtypes():
    x32, y64 = randn(3, 4), randn(5, 4, dtype=torch.float64, seed=SEED + 1)
    assert sol.pairwise_sq_dists(x32, y64).dtype == torch.float64
    ints = sol.pairwise_sq_dists(torch.tensor([[0, 0], [1, 2]]), torch.tensor([[3, 4]]))
    assert ints.dtype == torch.get_default_dtype()
    assert torch.equal(ints, torch.tensor([[25.0], [8.0]]))


def test_pairwise_gradient_matches_the_broadcast_difference():
    x = randn(6, 5, dtype=torch.float64).requires_grad_()
    y = randn(4, 5, dtype=torch.float64, seed=SEED + 1).requires_grad_()
    weights = randn(6, 4, dtype=torch.float64, seed=SEED + 2)
    (sol.pairwise_sq_dists(x, y) * weights).sum().backward()
    got = x.grad.clone(), y.grad.clone()
    x.grad = y.grad = None
    (((x[:, None, :] - y[None, :, :]) ** 2).sum(-1) * weights).sum().backward()
    torch.testing.assert_close(got[0], x.grad)
    torch.testing.assert_close(got[1], y.grad)


@pytest.mark.parametrize(
    "x_shape, y_shape", [((3, 4), (5, 3)), ((3,), (5, 3)), ((2, 3, 4), (5, 4)), ((3, 4), (4,))]
)
def test_pairwise_rejects_bad_shapes(x_shape, y_shape):
    with pytest.raises(ValueError) as excinfo:
        sol.pairwise_sq_dists(torch.zeros(x_shape), torch.zeros(y_shape))
    assert_names_shapes(excinfo, x_shape, y_shape)


# -- softmax ---------------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape, dim", [((5,), -1), ((5,), 0), ((3, 4), 0), ((3, 4), 1), ((3, 4), -1), ((2, 3, 4), 1),
                   ((1, 1), -1), ((4, 1), 1), ((1, 7), 0), ((), 0)]
)
def test_softmax_matches_torch(shape, dim, dtype, device):
    x = randn(*shape, dtype=dtype, device=device) * 3
    before = x.clone()
    result = sol.softmax(x, dim=dim)
    assert result.shape == x.shape and result.dtype == dtype and result.device == x.device
    torch.testing.assert_close(result, torch.softmax(x, dim=dim))
    assert torch.equal(x, before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_is_finite_for_huge_logits(dtype):
    x = torch.tensor([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4], [-1e4, -1e4, -1e4], [1e4, 1e4 - 1, 0.0]], dtype=dtype)
    result = sol.softmax(x)
    assert torch.isfinite(result).all()
    torch.testing.assert_close(result, torch.softmax(x, dim=-1))
    torch.testing.assert_close(result.sum(-1), torch.ones(4, dtype=dtype))
    scaled = randn(8, 10, dtype=dtype) * 1e4
    torch.testing.assert_close(sol.softmax(scaled, dim=0), torch.softmax(scaled, dim=0))


def test_softmax_edge_inputs():
    assert sol.softmax(torch.zeros(3, 0)).shape == (3, 0)
    assert sol.softmax(torch.zeros(0, 3), dim=0).shape == (0, 3)
    ints = torch.tensor([[1, 2, 3]])
    torch.testing.assert_close(sol.softmax(ints), torch.softmax(ints.float(), dim=-1))
    assert torch.isnan(sol.softmax(torch.full((2,), float("-inf")))).all()  # as torch.softmax
    with pytest.raises(IndexError):
        sol.softmax(torch.zeros(2, 3), dim=2)


def test_softmax_gradient_matches_torch():
    x = randn(4, 6, dtype=torch.float64).requires_grad_()
    weights = randn(4, 6, dtype=torch.float64, seed=SEED + 1)
    (sol.softmax(x, dim=1) * weights).sum().backward()
    ours = x.grad.clone()
    x.grad = None
    (torch.softmax(x, dim=1) * weights).sum().backward()
    torch.testing.assert_close(ours, x.grad)


# -- normalize_channels ----------------------------------------------------------------------


def normalize_oracle(images, mean, std):
    out = torch.empty(images.shape, dtype=torch.float64)
    for c in range(images.shape[1]):
        out[:, c] = (images[:, c].double().cpu() - float(mean[c])) / float(std[c])
    return out


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 1, 1, 1), (3, 1, 2, 2), (1, 3, 1, 1), (0, 3, 2, 2)])
def test_normalize_matches_a_loop_over_channels(shape, dtype, device):
    images = randn(*shape, dtype=dtype, device=device)
    channels = shape[1]
    mean = randn(channels, dtype=dtype, device=device, seed=SEED + 1)
    std = randn(channels, dtype=dtype, device=device, seed=SEED + 2).abs() + 0.5
    before = images.clone()
    result = sol.normalize_channels(images, mean, std)
    assert result.shape == images.shape and result.dtype == dtype and result.device == images.device
    torch.testing.assert_close(result.double().cpu(), normalize_oracle(images, mean.cpu(), std.cpu()),
                               rtol=1e-5 if dtype == torch.float32 else 1e-12, atol=1e-6)
    assert torch.equal(images, before)


def test_normalize_accepts_sequences_and_integer_images():
    images = torch.arange(2 * 3 * 2 * 2, dtype=torch.uint8).reshape(2, 3, 2, 2)
    mean, std = [0.49, 0.48, 0.45], (0.25, 0.24, 0.26)  # CIFAR-like statistics
    result = sol.normalize_channels(images, mean, std)
    assert result.dtype == torch.get_default_dtype()
    torch.testing.assert_close(result.double(), normalize_oracle(images, mean, std))
    as_numpy = sol.normalize_channels(images.float(), np.array(mean), np.array(std))
    torch.testing.assert_close(as_numpy, result)


@pytest.mark.parametrize(
    "images_shape, mean_shape, std_shape",
    [((2, 3, 4, 4), (2,), (3,)), ((2, 3, 4, 4), (3,), (4,)), ((2, 3, 4, 4), (1, 3), (3,)), ((3, 4, 4), (3,), (3,))],
)
def test_normalize_rejects_mismatched_channels(images_shape, mean_shape, std_shape):
    with pytest.raises(ValueError) as excinfo:
        sol.normalize_channels(torch.zeros(images_shape), torch.zeros(mean_shape), torch.ones(std_shape))
    assert_names_shapes(excinfo, images_shape)


# -- knn_predict -----------------------------------------------------------------------------


def knn_oracle(train_x, train_y, test_x, k):
    """Brute force: sort by (distance, index), count the k labels, break ties by nearness."""
    predictions = []
    for row in test_x.double().tolist():
        dists = [(sum((a - b) ** 2 for a, b in zip(row, other)), i) for i, other in enumerate(train_x.double().tolist())]
        labels = [int(train_y[i]) for _, i in sorted(dists)[:k]]
        best = max(labels.count(label) for label in labels)
        predictions.append(next(label for label in labels if labels.count(label) == best))
    return torch.tensor(predictions, dtype=torch.int64)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 30])
def test_knn_matches_brute_force(k, dtype, device):
    train_x, test_x = randn(30, 4, dtype=dtype, device=device), randn(25, 4, dtype=dtype, device=device, seed=SEED + 1)
    train_y = torch.randint(0, 4, (30,), generator=torch.Generator().manual_seed(SEED)).to(device)
    result = sol.knn_predict(train_x, train_y, test_x, k=k)
    assert result.shape == (25,) and result.dtype == torch.int64 and result.device == test_x.device
    assert torch.equal(result.cpu(), knn_oracle(train_x.cpu(), train_y.cpu(), test_x.cpu(), k))


def test_knn_ties_go_to_the_nearest_neighbour():
    train_x = torch.tensor([[0.0], [1.0], [10.0], [11.0]])
    train_y = torch.tensor([0, 0, 1, 1])
    assert sol.knn_predict(train_x, train_y, torch.tensor([[5.4], [5.6]]), k=2).tolist() == [0, 1]
    assert sol.knn_predict(train_x, train_y, torch.tensor([[5.4], [5.6]]), k=4).tolist() == [0, 1]
    # k = 1 and two training points at the same distance: the lower index wins.
    twins = torch.tensor([[1.0], [1.0], [-1.0]])
    assert sol.knn_predict(twins, torch.tensor([7, 3, 5]), torch.tensor([[1.0], [0.0]]), k=1).tolist() == [7, 7]


def test_knn_keeps_the_label_values_and_accepts_integer_kinds():
    train_x, test_x = randn(12, 3), randn(6, 3, seed=SEED + 1)
    labels = torch.tensor([-5, 1000, 3, -5, 3, 3, 1000, -5, 7, 7, 3, -5], dtype=torch.int32)
    result = sol.knn_predict(train_x, labels, test_x, k=np.int64(3))
    assert result.dtype == torch.int64
    assert torch.equal(result, knn_oracle(train_x, labels, test_x, 3))
    empty = sol.knn_predict(train_x, labels, torch.zeros(0, 3), k=2)
    assert empty.shape == (0,) and empty.dtype == torch.int64


@pytest.mark.parametrize("k", [0, -1, 13, True, 1.5, "3", None])
def test_knn_rejects_bad_k(k):
    with pytest.raises(ValueError, match="k"):
        sol.knn_predict(randn(12, 3), torch.zeros(12, dtype=torch.int64), randn(2, 3), k=k)


@pytest.mark.parametrize(
    "train_shape, labels, test_shape",
    [((12, 3), torch.zeros(12, dtype=torch.int64), (2, 4)),
     ((12, 3), torch.zeros(11, dtype=torch.int64), (2, 3)),
     ((12, 3), torch.zeros(12), (2, 3)),
     ((12,), torch.zeros(12, dtype=torch.int64), (2, 3))],
)
def test_knn_rejects_bad_shapes(train_shape, labels, test_shape):
    with pytest.raises(ValueError) as excinfo:
        sol.knn_predict(torch.zeros(train_shape), labels, torch.zeros(test_shape), k=1)
    assert_names_shapes(excinfo, train_shape)


@pytest.mark.slow
def test_knn_classifies_the_embedded_digits():
    data = pytest.importorskip("grader.data").load_mnist()
    predictions = sol.knn_predict(data.train_x, data.train_y, data.test_x, k=3)
    assert (predictions == data.test_y).double().mean() > 0.88
