"""The reference solution of ex04_simple_mnist, checked against PyTorch's own layers.

The oracle for ``forward`` is ``F.linear`` and ``F.relu``, and the training check uses the
embedded MNIST digits held out from training, so a mistake in the solution cannot hide
behind the suite that grades learners against it.
"""

from __future__ import annotations

import ast
import doctest
import inspect
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from grader.data import load_mnist
from solutions import ex04_simple_mnist as ex04

PARAMETER_SHAPES = {"l1_w": (784, 256), "l1_b": (256,), "l2_w": (256, 10), "l2_b": (10,)}
N_PARAMETERS = 203_530
ONE_EPOCH_MIN_ACCURACY = 0.85


@pytest.fixture(scope="module")
def digits():
    return load_mnist()


@pytest.fixture
def model() -> ex04.SimpleMnist:
    torch.manual_seed(0)
    return ex04.SimpleMnist()


def oracle(model: ex04.SimpleMnist, x: torch.Tensor) -> torch.Tensor:
    hidden = F.relu(F.linear(x.reshape(len(x), 784), model.l1_w.T, model.l1_b))
    return F.linear(hidden, model.l2_w.T, model.l2_b)


def test_docstring_examples_hold() -> None:
    result = doctest.testmod(ex04, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_get_weights_is_randn_over_first_dim() -> None:
    torch.manual_seed(1)
    weights = ex04.get_weights(30, 4)
    torch.manual_seed(1)
    assert isinstance(weights, nn.Parameter) and weights.requires_grad
    assert weights.dtype == torch.float32
    assert torch.equal(weights, torch.randn(30, 4) / 30)
    assert ex04.get_weights(7).shape == (7,)


def test_parameters_names_shapes_and_count(model) -> None:
    named = dict(model.named_parameters())
    assert {name: tuple(p.shape) for name, p in named.items()} == PARAMETER_SHAPES
    assert all(type(getattr(model, name)) is nn.Parameter for name in PARAMETER_SHAPES)
    assert sum(p.numel() for p in model.parameters()) == N_PARAMETERS
    assert list(model.children()) == []  # no nn.Linear (or any other) submodule


@pytest.mark.parametrize("shape", [(5, 784), (5, 28, 28), (5, 1, 28, 28)])
def test_forward_matches_linear_relu_linear(model, shape) -> None:
    torch.manual_seed(2)
    x = torch.randn(shape)
    logits = model(x)
    assert logits.shape == (5, 10) and logits.dtype == torch.float32
    torch.testing.assert_close(logits, oracle(model, x), rtol=1e-5, atol=1e-5)


def test_forward_takes_a_non_contiguous_batch(model) -> None:
    x = torch.randn(3, 28, 28).transpose(1, 2)
    torch.testing.assert_close(model(x), oracle(model, x.contiguous()), rtol=1e-5, atol=1e-5)


def test_gradients_reach_all_four_parameters(model) -> None:
    torch.manual_seed(3)
    F.cross_entropy(model(torch.randn(8, 784)), torch.randint(0, 10, (8,))).backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_solution_uses_no_linear_layer() -> None:
    tree = ast.parse(inspect.getsource(ex04))
    names = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    names |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert not names & {"Linear", "linear"}


def test_predict_is_int64_argmax_without_grad(model) -> None:
    x = torch.randn(6, 1, 28, 28)
    predictions = ex04.predict(model, x)
    assert predictions.shape == (6,) and predictions.dtype == torch.int64
    assert not predictions.requires_grad and predictions.grad_fn is None
    assert torch.equal(predictions, oracle(model, x).argmax(dim=1))


def test_accuracy_is_the_fraction_correct(model) -> None:
    x = torch.randn(8, 784)
    labels = ex04.predict(model, x).clone()
    labels[:3] = (labels[:3] + 1) % 10
    result = ex04.accuracy(model, x, labels)
    assert type(result) is float and result == pytest.approx(5 / 8)


def test_fit_returns_one_float_per_batch_and_repeats_under_a_seed() -> None:
    x, y = torch.randn(150, 784), torch.randint(0, 10, (150,))
    runs = []
    for _ in range(2):
        torch.manual_seed(4)
        model = ex04.SimpleMnist()
        before = model.l1_w.detach().clone()
        runs.append(ex04.fit(model, x, y, epochs=2, batch_size=64))
        assert not torch.equal(model.l1_w, before)  # trained in place
    losses = runs[0]
    assert len(losses) == 2 * math.ceil(150 / 64)
    assert all(type(loss) is float and math.isfinite(loss) for loss in losses)
    assert runs[0] == runs[1]


def test_one_epoch_reaches_held_out_accuracy(digits) -> None:
    torch.manual_seed(0)
    model = ex04.SimpleMnist()
    losses = ex04.fit(model, digits.train_x, digits.train_y, epochs=1)
    assert len(losses) == math.ceil(4000 / 64)
    assert sum(losses[-10:]) < sum(losses[:10])
    assert ex04.accuracy(model, digits.test_x, digits.test_y) >= ONE_EPOCH_MIN_ACCURACY
