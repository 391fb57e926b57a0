"""The reference solution of ex09_backprop, checked against independent oracles.

The oracles: ``torch.autograd`` (for every gradient), per-sample outer products added up in
a loop (for ``linear_backward``), and one step of ``torch.optim.SGD`` on ex04's reference
``SimpleMnist`` (for ``train_step``), so a mistake in the reference cannot hide behind the
suite that grades learners against it. The lesson's derivative, f'(2) = 3, is computed
here. The suite's tolerances are checked too: a learner's einsum / one-hot / log-softmax
version passes them.
"""

from __future__ import annotations

import doctest
import importlib.util
import inspect
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from solutions import ex04_simple_mnist, ex09_backprop as sol
from suite_modules import load_suite

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
DEVICES = ["cpu", pytest.param("cuda", marks=requires_cuda)]
DTYPES = [torch.float32, torch.float64]
FUNCTIONS = ["linear_backward", "relu_backward", "cross_entropy_backward", "train_step"]
SEED = 20240909


suite = load_suite("ex09_backprop")


def randn(*shape, dtype=torch.float32, device="cpu", seed=SEED, scale=1.0):
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=generator, dtype=torch.float64) * scale).to(dtype).to(device)


def tolerance(dtype):
    return {"rtol": 1e-5, "atol": 1e-5} if dtype == torch.float32 else {"rtol": 1e-10, "atol": 1e-12}


def init_params(seed=SEED):
    generator = torch.Generator().manual_seed(seed)
    return {name: torch.randn(*shape, generator=generator) / shape[0] for name, shape in sol.PARAMETERS.items()}


# -- the module as a whole -------------------------------------------------------------------


def test_docstring_examples_hold():
    result = doctest.testmod(sol, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.fixture(scope="module")
def stub(pristine):
    """The stub as committed (a learner may have filled in exercises/ex09_backprop.py)."""
    spec = importlib.util.spec_from_file_location("pristine_ex09_backprop",
                                                  pristine / "exercises" / "ex09_backprop.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", FUNCTIONS)
def test_stub_mirrors_the_solution_and_is_not_started(name, stub):
    learner, reference = getattr(stub, name), getattr(sol, name)
    assert inspect.signature(learner) == inspect.signature(reference)
    assert inspect.getdoc(learner) == inspect.getdoc(reference)
    assert stub.__doc__ == sol.__doc__ and stub.PARAMETERS == sol.PARAMETERS
    arguments = {
        "linear_backward": (torch.zeros(1, 2), torch.zeros(2, 3), torch.zeros(1, 3)),
        "relu_backward": (torch.zeros(2), torch.zeros(2)),
        "cross_entropy_backward": (torch.zeros(1, 2), torch.tensor([0])),
        "train_step": (init_params(), torch.zeros(1, 784), torch.tensor([0]), 0.1),
    }[name]
    with pytest.raises(NotImplementedError, match=f"^ex09_backprop.{name}: not implemented yet$"):
        learner(*arguments)


# -- the lesson's derivative -----------------------------------------------------------------


def test_the_lesson_derivative_f_prime_of_2_is_3():
    def f(x):
        return x ** 3 - 4 * x ** 2 + 7 * x - 1

    x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(f(x), [x])
    assert float(grad) == 3.0 == 3 * 2 ** 2 - 8 * 2 + 7
    assert (f(2.001) - f(1.999)) / 0.002 == pytest.approx(3.000001, abs=1e-9)


# -- linear_backward ---------------------------------------------------------------------------


def autograd_linear(x, w, grad_out):
    x, w = x.double().requires_grad_(), w.double().requires_grad_()
    b = torch.zeros(w.shape[1], dtype=torch.float64, requires_grad=True)
    return torch.autograd.grad(x @ w + b, [x, w, b], grad_out.double())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, fan_in, fan_out", [(1, 1, 1), (1, 4, 3), (6, 6, 6), (7, 3, 5), (64, 784, 256)])
def test_linear_backward_matches_autograd(n, fan_in, fan_out, dtype, device):
    x = randn(n, fan_in, dtype=dtype, device=device)
    w = randn(fan_in, fan_out, dtype=dtype, device=device, seed=SEED + 1, scale=fan_in ** -0.5)
    g = randn(n, fan_out, dtype=dtype, device=device, seed=SEED + 2)
    got = sol.linear_backward(x, w, g)
    for mine, theirs, like in zip(got, autograd_linear(x.cpu(), w.cpu(), g.cpu()), (x, w, w[0])):
        assert mine.shape == like.shape and mine.dtype == dtype and mine.device.type == device
        scale = float(theirs.abs().max())
        torch.testing.assert_close(mine.cpu().double(), theirs, rtol=1e-5, atol=2e-5 * scale)


def test_grad_w_is_the_sum_of_per_sample_outer_products():
    x, g = randn(9, 4, dtype=torch.float64), randn(9, 3, dtype=torch.float64, seed=SEED + 1)
    _, grad_w, grad_b = sol.linear_backward(x, randn(4, 3, dtype=torch.float64), g)
    looped = sum(torch.outer(x[n], g[n]) for n in range(9))
    torch.testing.assert_close(grad_w, looped)
    torch.testing.assert_close(grad_b, sum(g[n] for n in range(9)))


@pytest.mark.parametrize("shapes, named", [
    (((4, 3), (2, 5), (4, 5)), ("(4, 3)", "(2, 5)")),
    (((4, 3), (3, 5), (4, 6)), ("(4, 6)",)),
    (((3,), (3, 5), (4, 5)), ("(3,)",)),
])
def test_linear_backward_rejects_bad_shapes(shapes, named):
    with pytest.raises(ValueError) as excinfo:
        sol.linear_backward(*(torch.ones(s) for s in shapes))
    for text in named:
        assert text in str(excinfo.value)


# -- relu_backward -----------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_backward_matches_autograd_including_zeros(dtype, device):
    x = randn(8, 16, dtype=dtype, device=device)
    x[x.abs() < 0.3] = 0.0
    g = randn(8, 16, dtype=dtype, device=device, seed=SEED + 1)
    xr = x.detach().clone().requires_grad_()
    (want,) = torch.autograd.grad(torch.relu(xr), [xr], g)
    got = sol.relu_backward(x, g)
    assert torch.equal(got, want) and got.dtype == dtype
    assert (got[x == 0] == 0).all() and (x == 0).any()


def test_relu_backward_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        sol.relu_backward(torch.ones(3), torch.ones(4))


# -- cross_entropy_backward --------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, classes", [(1, 2), (3, 5), (64, 10), (100, 3)])
def test_cross_entropy_backward_matches_autograd(n, classes, dtype, device):
    logits = randn(n, classes, dtype=dtype, device=device, scale=3.0)
    targets = torch.from_numpy(np.random.default_rng(SEED).integers(0, classes, n)).to(device)
    z = logits.detach().clone().requires_grad_()
    (want,) = torch.autograd.grad(F.cross_entropy(z, targets), [z])
    got = sol.cross_entropy_backward(logits, targets)
    assert got.dtype == dtype and got.device.type == device
    torch.testing.assert_close(got, want, **tolerance(dtype))
    torch.testing.assert_close(got.sum(dim=1), torch.zeros(n, dtype=dtype, device=device), **tolerance(dtype))


def test_cross_entropy_backward_is_finite_for_huge_logits_and_takes_int32_targets():
    got = sol.cross_entropy_backward(torch.tensor([[1e4, 0.0, -1e4]]), torch.tensor([1], dtype=torch.int32))
    torch.testing.assert_close(got, torch.tensor([[1.0, -1.0, 0.0]]))


@pytest.mark.parametrize("targets, named", [
    (torch.tensor([0, 4, 1]), "4"), (torch.tensor([0, -1, 1]), "-1"), (torch.tensor([0, 1]), "(2,)"),
    (torch.tensor([0.0, 1.0, 2.0]), "float"),
])
def test_cross_entropy_backward_rejects_bad_targets(targets, named):
    with pytest.raises(ValueError, match=named.replace("(", r"\(").replace(")", r"\)")):
        sol.cross_entropy_backward(torch.ones(3, 4), targets)


# -- train_step --------------------------------------------------------------------------------


def sgd_step_on_simple_mnist(params, x, y, lr):
    """One step of torch.optim.SGD on ex04's reference SimpleMnist holding the same numbers."""
    model = ex04_simple_mnist.SimpleMnist()
    with torch.no_grad():
        for name, value in params.items():
            getattr(model, name).copy_(value)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return {name: getattr(model, name).detach() for name in params}, float(loss.detach())


@pytest.mark.parametrize("n", [1, 7, 64])
def test_train_step_matches_sgd_on_simple_mnist(n):
    params = init_params(SEED + n)
    before = {k: v.clone() for k, v in params.items()}
    x, y = randn(n, 784), torch.from_numpy(np.random.default_rng(n).integers(0, 10, n))
    new, loss = sol.train_step(params, x, y, 0.5)
    want, want_loss = sgd_step_on_simple_mnist(params, x, y, 0.5)
    assert type(loss) is float and loss == pytest.approx(want_loss, abs=1e-5)
    for name in params:
        assert new[name].shape == params[name].shape and new[name].dtype == torch.float32
        torch.testing.assert_close(new[name], want[name], rtol=1e-5, atol=1e-6)
        assert torch.equal(params[name], before[name])          # the input is left unchanged
        assert not new[name].requires_grad


def test_train_step_accepts_images_and_parameters_that_require_grad():
    params = {k: torch.nn.Parameter(v) for k, v in init_params().items()}
    x, y = randn(3, 28, 28), torch.tensor([1, 2, 3])
    new, loss = sol.train_step(params, x, y, 0.1)
    flat, flat_loss = sol.train_step(params, x.reshape(3, 784), y, 0.1)
    assert loss == flat_loss and all(torch.equal(new[k], flat[k]) for k in new)
    assert not any(v.requires_grad for v in new.values())


def test_train_step_reaches_the_suites_accuracy_on_the_digits():
    from grader.data import load_mnist

    digits = load_mnist()
    generator = torch.Generator().manual_seed(0)
    params = suite._init_params(generator)
    order, pos = torch.randperm(4000, generator=generator), 0
    for _ in range(suite.TRAIN_STEPS):
        if pos + suite.BATCH > 4000:
            order, pos = torch.randperm(4000, generator=generator), 0
        idx = order[pos:pos + suite.BATCH]
        pos += suite.BATCH
        params, _ = sol.train_step(params, digits.train_x[idx], digits.train_y[idx], suite.TRAIN_LR)
    accuracy = float((suite._forward64(params, digits.test_x).argmax(1) == digits.test_y).double().mean())
    assert accuracy > 0.92 > suite.ACCURACY_THRESHOLD       # the suite's seed 0: 0.945


@pytest.mark.parametrize("change, named", [
    (lambda p: {k: v for k, v in p.items() if k != "l1_b"}, "l1_b"),
    (lambda p: dict(p, l2_w=p["l2_w"].T), "(256, 10)"),
])
def test_train_step_names_a_bad_parameter(change, named):
    with pytest.raises(ValueError, match=named.replace("(", r"\(").replace(")", r"\)")):
        sol.train_step(change(init_params()), torch.ones(2, 784), torch.tensor([0, 1]), 0.1)


# -- the suite admits correct alternatives, and its baselines compute the same ---------------


def alternative():
    def linear_backward(x, w, grad_out):
        return (torch.einsum("no,io->ni", grad_out, w), torch.einsum("ni,no->io", x, grad_out),
                grad_out.sum(0))

    def relu_backward(x, grad_out):
        return torch.where(x > 0, grad_out, torch.zeros_like(grad_out))

    def cross_entropy_backward(logits, targets):
        one_hot = F.one_hot(targets.long(), logits.shape[1]).to(logits.dtype)
        return (F.log_softmax(logits, dim=1).exp() - one_hot) / len(logits)

    def train_step(params, x, y, lr):
        return sol.train_step(params, x, y, lr)   # the step itself is the reference's

    return SimpleNamespace(linear_backward=linear_backward, relu_backward=relu_backward,
                           cross_entropy_backward=cross_entropy_backward, train_step=train_step)


def test_the_suite_admits_an_einsum_one_hot_learner():
    learner = alternative()
    rng = np.random.default_rng(SEED)
    for n, fan_in, fan_out in ((1, 4, 3), (64, 784, 256), (64, 256, 10)):
        x, w, g = suite._randn(rng, n, fan_in), suite._randn(rng, fan_in, fan_out, scale=fan_in ** -0.5), \
            suite._randn(rng, n, fan_out)
        suite._expect_linear(learner, x, w, g, call="alternative")
    for n in (1, 64, 100):
        logits, targets = suite._randn(rng, n, 10, scale=3.0), torch.from_numpy(rng.integers(0, 10, n))
        suite._expect_ce(learner, logits, targets, call="alternative")
    suite._expect_relu(learner, torch.tensor([-1.0, 0.0, 2.0]), torch.tensor([1.0, 2.0, 3.0]), call="alternative")
    params = suite._init_params(torch.Generator().manual_seed(1))
    suite._expect_step(learner, params, suite._randn(rng, 64, 784), torch.from_numpy(rng.integers(0, 10, 64)),
                       call="alternative")
