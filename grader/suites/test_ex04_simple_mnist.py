"""Hidden suite for ex04_simple_mnist: get_weights, SimpleMnist, predict, accuracy, fit.

The learner's model lives in the worker; the suite holds it by handle (``RemoteObject``) and
fetches its parameters as data. The oracles are computed here, never by the learner's code:

- the forward pass is ``relu(x @ l1_w + l1_b) @ l2_w + l2_b`` in float64 on the learner's own
  parameters, fetched from the model;
- ``predict`` and ``accuracy`` against ``argmax`` of the learner's logits;
- ``fit`` by the held-out accuracy of the trained model on the 1,000 embedded digits, with
  the argmax taken here from the logits the learner's model returns.

When ``forward`` disagrees, the feedback says which classic mistake it behaves like: a
network that is affine in its input (no ReLU), hidden activations that are the negative
part, a bias that is never added. A low held-out accuracy is explained from behaviour too:
gradients that pile up across steps (no ``zero_grad``), a model that ``fit`` never changed.
One trained model is shared by the fit checks of one grading run (training is the only
costly step, well under a second on one core).
"""

from __future__ import annotations

import ast
import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch

from grader.checks.constraints import LINEAR
from grader.checks.expect import CheckFailed, expect, expect_array, expect_without, fail, result_of
from grader.data import load_mnist
from grader.errors import LearnerError, LearnerRaised, NotStarted
from grader.isolation.proxies import RemoteObject
from grader.practice.predictions import FIT_TIMEOUT_S, NOTE as PREDICTIONS_NOTE

# The report of a run that graded ex04 (started, loadable) ends with a pointer to show-predictions.
pytestmark = pytest.mark.exercise("ex04_simple_mnist", note=PREDICTIONS_NOTE)

SPEC_SHAPES = {"l1_w": (784, 256), "l1_b": (256,), "l2_w": (256, 10), "l2_b": (10,)}
N_PARAMETERS = 203_530
SHAPES_TEXT = "l1_w (784, 256), l1_b (256,), l2_w (256, 10), l2_b (10,)"

# fit: calibrated with the reference (Adam, lr 5e-3, batch 64) over 20 seeds, 2 epochs on the
# 4,000 training digits: held-out accuracy mean 0.927, min 0.905; 0.06 s per epoch on one idle
# core, 0.15 s beside two CPU-bound processes. README "SimpleMnist on real digits".
FIT_EPOCHS = 2
FIT_THRESHOLD = 0.85
# The thresholds a course may change (course.toml [thresholds.ex04_simple_mnist]); the checks
# read them through the `course` fixture.
THRESHOLDS = {"fit_accuracy": FIT_THRESHOLD}
BATCH_SIZE = 64
RUNTIME_LINEAR = frozenset({"linear"})

# Tolerances of the forward oracle: float32 logits of size ~0.1 carry errors ~1e-8; the
# mistakes below move them by 1e-4 or more.
RTOL, ATOL = 1e-5, 1e-6

LINEAR_NETWORK = ("your network is linear: is the ReLU missing? f(a) + f(b) - f(0) equals "
                  "f(a + b) for every input, which only a network without a non-linearity does")
NEGATIVE_PART = ("the hidden activations are the negative part: your forward keeps x * (x < 0); "
                 "ReLU keeps the positive part, x * (x > 0)")
BIAS_NOT_ADDED = "forward does not add the bias {name}: add it after the matmul (+ self.{name})"
SOFTMAX_APPLIED = "forward returns probabilities (softmax of the logits): return the raw logits"
SAME_VALUE = ("{name} holds one value ({value:g}) everywhere: every digit then gets the same "
              "logits, and the forward pass cannot be checked on such a model. Create the "
              "parameters with get_weights (standard normal values divided by dims[0])")
NO_BIAS = "SimpleMnist has no {name}: a forgotten bias? Create it with get_weights{shape}"
TRANSPOSED = ("{name} has shape {got}, the transpose of {want}: the layers multiply x (N, 784) "
              "@ l1_w (784, 256), then h (N, 256) @ l2_w (256, 10). Expected shapes: " + SHAPES_TEXT)
WRONG_SHAPE = "{name} has shape {got}, expected {want}. Expected shapes: " + SHAPES_TEXT
PLAIN_TENSOR = ("{names}: plain tensors, not nn.Parameter, so model.parameters() does not list "
                "them and the optimizer cannot see them: wrap them in nn.Parameter "
                "(get_weights should return nn.Parameter(...))")
NOT_A_MODULE = "SimpleMnist() is a {type}, not an nn.Module: write class SimpleMnist(nn.Module)"
FLATTEN = "flatten each digit to 784 values first: x.reshape(len(x), -1)"
ZERO_GRAD = ("does fit call optimizer.zero_grad() before each backward()? The gradients "
             "fit leaves behind are {ratio:.1f} times one step's gradient: they pile up "
             "across steps")
ZERO_GRAD_SOURCE = ("fit never mentions zero_grad: does it call optimizer.zero_grad() before "
                    "each backward()?")
UNCHANGED = ("fit did not change the model's parameters: train the model passed in, with an "
             "optimizer over model.parameters()")
LOSS_FLAT = "the loss did not go down: mean of the first 10 batches {first:.3f}, last 10 {last:.3f}"
# What the per-batch losses show when the model does not learn well enough, and what helps.
LOSSES_NOT_FINITE = ("the loss became {value} at batch {index} of {count}: the training blew up "
                     "(steps far too large for the optimizer, or a log of 0)")
LOSSES_DIVERGE = ("the loss grew: mean of the first 10 batches {first:.3f}, last 10 {last:.3f}; "
                  "the steps overshoot")
LOSSES_STUCK = ("the loss barely moved: mean of the first 10 batches {first:.3f}, last 10 "
                "{last:.3f} ({change:+.1%}) over {count} batches; the updates are too small to "
                "learn in {epochs} epochs")
LOSSES_SLOW = ("the loss went down (mean of the first 10 batches {first:.3f}, last 10 {last:.3f}) "
               "but not far enough: it learns too slowly")
HINT_LR_TOO_HIGH = ("lower the learning rate (the default lr=5e-3 suits Adam; plain SGD takes "
                    "about 0.1), and compute the loss from the raw logits with F.cross_entropy")
HINT_LR_TOO_LOW = ("the default learning rate lr=5e-3 is Adam's: with torch.optim.SGD it is far too "
                   "small (SGD needs about 0.1); use torch.optim.Adam with the lr fit is given, or "
                   "a larger lr for SGD")
HINT_LOOP = ("every batch: logits, F.cross_entropy(logits, labels), zero the gradients, "
             "backward(), step(); and a fresh random order each epoch")
SGD_NAMES = ("SGD", "sgd")
EMPTY_OPTIMIZER = ("the model registers no parameters (plain tensors, not nn.Parameter), so the "
                   "optimizer cannot see them: wrap them in nn.Parameter")
PREDICTIONS_HINT = ("`make predictions` draws your model's predictions on held-out digits "
                    "into build/ex04_predictions.png")

# -- hints, gentlest first (`grader hint` shows them one at a time) ----------------------------
HINTS_WEIGHTS = (
    "get_weights makes one trainable tensor: random values of the asked shape, scaled down, "
    "registered so that an optimizer can find it.",
    "torch.randn(*dims) makes a tensor of shape dims; nn.Parameter(...) wraps it so that a "
    "model registers it (float32, requires_grad=True).",
)
HINTS_SCALE = (
    "The values are standard normal (torch.randn, mean 0), then made smaller.",
    "Divide by dims[0], the first dimension: the number of inputs of the layer.",
)
HINTS_PARAMETERS = (
    "The network has exactly four parameters, named as in the docstring, with the shapes that "
    "(N, 784) @ (784, 256) and (N, 256) @ (256, 10) need.",
    "Store each get_weights(...) result as an attribute in __init__ (self.l1_w = ...), after "
    "super().__init__().",
)
HINTS_FORWARD = (
    "The forward pass is the lesson's: a linear layer, ReLU, a second linear layer; the output "
    "is the raw logits.",
    "A layer is torch.matmul(x, w) plus its bias; between the two layers ReLU keeps the "
    "positive part: h * (h > 0).",
)
HINTS_FLATTEN = (
    "A digit may arrive as (28, 28) or (1, 28, 28): the first layer needs 784 numbers per digit.",
    FLATTEN,
)
HINTS_LINEAR = (
    "nn.Linear and F.linear do the layer for you; the exercise is to write it as the lesson "
    "does.",
    LINEAR.hint,
)
HINTS_PREDICT = (
    "The predicted digit is the position of the largest of the 10 logits of each row.",
    "Take the argmax over the class axis (dim=1) of the model's logits, inside a torch.no_grad() "
    "block; argmax already returns int64.",
)
HINTS_ACCURACY = (
    "Accuracy is the share of inputs whose predicted digit equals the label: the number of "
    "matches divided by N.",
    "Compare the predictions with y element-wise; the mean of the matches (as numbers, not "
    "booleans) is the fraction, and .item() turns a one-element tensor into the Python float "
    "the docstring promises.",
)
HINTS_FIT = (
    "Training repeats one small step per mini-batch: measure how wrong the logits are, "
    "backpropagate, let the optimizer nudge the parameters.",
    "Per batch, in this order: logits from the model, F.cross_entropy of logits and labels, "
    "optimizer.zero_grad(), loss.backward(), optimizer.step(); a new torch.randperm order "
    "each epoch.",
    "The optimizer decides how fast it learns: the default lr=5e-3 suits torch.optim.Adam over "
    "model.parameters(); plain SGD needs a learning rate of about 0.1.",
)
HINTS_LOSSES = (
    "fit returns one number per mini-batch, in order: epochs * ceil(N / batch_size) of them.",
    "Append loss.item() for every batch; the last batch may be smaller than batch_size.",
)


def _digits(settings):
    return _load_digits(settings.data_dir)


@functools.cache
def _load_digits(data_dir: str | None):
    return load_mnist(root=data_dir)


def _randn(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))


# -- getting the learner's model and its parameters ------------------------------------------
def _new_model(ex) -> RemoteObject:
    model = result_of(ex.SimpleMnist, call="SimpleMnist()")
    if not isinstance(model, RemoteObject) or model.type_name != "SimpleMnist":
        fail("SimpleMnist()", f"expected a SimpleMnist model, got {type(model).__name__}")
    return model


def _registered(model: RemoteObject) -> dict[str, Any]:
    """``dict(model.named_parameters())``, read in the worker and sent back as data."""
    try:
        pairs = model.method_list("named_parameters")
    except NotStarted:
        raise
    except LearnerRaised as exc:
        if exc.is_a(AttributeError):
            fail("SimpleMnist()", NOT_A_MODULE.format(type=model.type_name))
        fail("model.named_parameters()", f"raised {exc.type_name}: {exc.message}")
    return {name: p for name, p in pairs}


def _attribute(model: RemoteObject, name: str) -> Any:
    try:
        return getattr(model, name)
    except NotStarted:
        raise
    except LearnerRaised as exc:
        if exc.is_a(AttributeError):
            return None
        raise


def _weights(model: RemoteObject) -> dict[str, torch.Tensor]:
    """The four tensors the forward oracle needs, by attribute; wrong shapes fail with the
    expected ones named."""
    out = {}
    for name, want in SPEC_SHAPES.items():
        value = _attribute(model, name)
        if value is None:
            problem = (NO_BIAS.format(name=name, shape=want) if name.endswith("_b")
                       else WRONG_SHAPE.format(name=name, got="(missing)", want=want))
            fail("SimpleMnist()", problem)
        if not isinstance(value, torch.Tensor):
            kind = value.type_name if isinstance(value, RemoteObject) else type(value).__name__
            fail("SimpleMnist()", f"{name} is a {kind}, expected a tensor of shape {want}",
                 hint="no nn.Linear: create it with get_weights")
        _expect_shape(name, tuple(value.shape))
        out[name] = value.detach().to(torch.float64)
    return out


def _expect_varied(w: dict[str, torch.Tensor]) -> None:
    """A model whose weight matrix holds one value everywhere gives every digit the same
    logits: a forward pass that computes nothing would match it, so it proves nothing."""
    for name in ("l1_w", "l2_w"):
        if w[name].numel() and bool((w[name] == w[name].flatten()[0]).all()):
            fail("SimpleMnist()", SAME_VALUE.format(name=name, value=float(w[name].flatten()[0])))


def _expect_shape(name: str, got: tuple) -> None:
    want = SPEC_SHAPES[name]
    if got == want:
        return
    text = TRANSPOSED if len(want) == 2 and got == want[::-1] else WRONG_SHAPE
    fail("SimpleMnist()", text.format(name=name, got=got, want=want))


def _oracle(x: torch.Tensor, w: dict[str, torch.Tensor], *, relu=torch.relu,
            b1: bool = True, b2: bool = True) -> torch.Tensor:
    z = x.reshape(len(x), -1).to(torch.float64) @ w["l1_w"] + (w["l1_b"] if b1 else 0)
    return relu(z) @ w["l2_w"] + (w["l2_b"] if b2 else 0)


def _close(got: torch.Tensor, want: torch.Tensor) -> bool:
    return got.shape == want.shape and torch.allclose(got.to(torch.float64), want, rtol=RTOL, atol=ATOL)


def _logits(model: RemoteObject, x: torch.Tensor, *, call: str, hint: str | None = None) -> torch.Tensor:
    got = result_of(model, x, call=call, inputs={"x": x}, hint=hint)
    expect(isinstance(got, torch.Tensor), call, f"expected a tensor of logits, got "
           f"{type(got).__name__}", inputs={"x": x}, hint=hint)
    expect(tuple(got.shape) == (len(x), 10), call, f"expected logits of shape ({len(x)}, 10), "
           f"got shape {tuple(got.shape)}", inputs={"x": x}, hint=hint)
    return got.detach()


# The classic mistakes of a forward pass, each a change to the oracle; a learner may make
# several at once (both biases missing, no ReLU and no bias), so every combination is tried.
RELU_MISTAKES = {"relu": (None, torch.relu), "negative": (NEGATIVE_PART, lambda z: z * (z < 0)),
                 "none": (LINEAR_NETWORK, lambda z: z)}
SEVERAL_MISTAKES = "your forward behaves like the network with {count} mistakes at once:"


def _diagnose_forward(model: RemoteObject, w: dict, x: torch.Tensor, got: torch.Tensor,
                      rng: np.random.Generator) -> str | None:
    """Which classic mistakes ``forward`` behaves like, from its outputs; None if none fits.
    Every combination of a wrong activation (none, or the negative part), a bias never added
    (either or both) and a softmax on the output is recomputed here and compared."""
    for count in (1, 2, 3, 4):
        for mistakes in _combinations(w, x, count):
            texts, want = mistakes
            if _close(got, want):
                if len(texts) == 1:
                    return texts[0]
                return "\n  ".join([SEVERAL_MISTAKES.format(count=len(texts))]
                                    + [f"- {t}" for t in texts])
    if _is_affine(model, rng):
        return LINEAR_NETWORK
    return None


def _combinations(w: dict, x: torch.Tensor, count: int):
    """(the mistakes' texts, the logits they give) for every combination of ``count`` mistakes."""
    for relu_name, (relu_text, relu) in RELU_MISTAKES.items():
        for b1 in (True, False):
            for b2 in (True, False):
                for softmax in (False, True):
                    texts = [t for t in (relu_text,
                                         None if b1 else BIAS_NOT_ADDED.format(name="l1_b"),
                                         None if b2 else BIAS_NOT_ADDED.format(name="l2_b"),
                                         SOFTMAX_APPLIED if softmax else None) if t]
                    if len(texts) != count:
                        continue
                    logits = _oracle(x, w, relu=relu, b1=b1, b2=b2)
                    yield texts, torch.softmax(logits, dim=1) if softmax else logits


def _is_affine(model: RemoteObject, rng: np.random.Generator) -> bool:
    """f(a) + f(b) - f(0) = f(a + b) for every input: a network without a non-linearity."""
    a, b = _randn(rng, 8, 784), _randn(rng, 8, 784)
    batch = torch.cat([a, b, a + b, torch.zeros(8, 784)])
    out = _logits(model, batch, call="SimpleMnist()(x)").to(torch.float64)
    fa, fb, fab, f0 = out[:8], out[8:16], out[16:24], out[24:]
    spread = (fa - f0).abs().max() + (fb - f0).abs().max()
    return bool(spread > 0 and (fa + fb - f0 - fab).abs().max() <= 1e-3 * spread)


# -- get_weights ----------------------------------------------------------------------------
@pytest.mark.check(points=1, hints=HINTS_WEIGHTS, role="form")
def test_get_weights_shapes(ex):
    for dims in ((784, 256), (256,), (10,), (3, 4, 5)):
        call = f"get_weights{dims if len(dims) > 1 else f'({dims[0]})'}"
        got = result_of(ex.get_weights, *dims, call=call)
        expect(isinstance(got, torch.Tensor), call, f"expected an nn.Parameter, got {type(got).__name__}")
        expect(tuple(got.shape) == dims, call, f"expected shape {dims}, got {tuple(got.shape)}")
        expect(got.dtype == torch.float32, call, f"expected float32, got {got.dtype}")
        expect(isinstance(got, torch.nn.Parameter), call,
               "expected an nn.Parameter, got a plain tensor" +
               (" (requires_grad=True is not enough)" if got.requires_grad else ""),
               hint="wrap the tensor in nn.Parameter: the optimizer only sees parameters the "
                    "model registers")
        expect(got.requires_grad, call, "the parameter does not require grad")


@pytest.mark.check(points=1, hints=HINTS_SCALE)
def test_get_weights_scale(ex):
    for dims in ((784, 256), (2000,), (50, 20, 10)):
        call = f"get_weights{dims if len(dims) > 1 else f'({dims[0]})'}"
        got = result_of(ex.get_weights, *dims, call=call)
        expect(isinstance(got, torch.Tensor) and tuple(got.shape) == dims, call,
               f"expected a tensor of shape {dims}")
        values = got.detach().to(torch.float64)
        std, mean, want = float(values.std()), float(values.mean()), 1.0 / dims[0]
        guesses = {"you did not divide": 1.0, "you divided by sqrt(dims[0])": dims[0] ** -0.5,
                   "you divided by the last dimension": 1.0 / dims[-1]}
        guess = next((text for text, s in guesses.items() if s != want and 0.9 < std / s < 1.1), None)
        expect(0.9 < std / want < 1.1, call,
               f"the values' standard deviation is {std:.3g}; randn(*dims) / dims[0] has "
               f"standard deviation 1/{dims[0]} = {want:.3g}" + (f" ({guess}?)" if guess else ""),
               hint="torch.randn(*dims) / dims[0]")
        # The sample mean of n draws of randn/d has standard deviation (1/d)/sqrt(n): allow 5 of
        # them (a false alarm about once in 1.7 million), far from torch.rand's mean of 0.5/d.
        expect(abs(mean) < 5 * want / values.numel() ** 0.5, call,
               f"the values' mean is {mean:.3g}; randn is centred on 0",
               hint="torch.randn (normal), not torch.rand (uniform on [0, 1))")


# -- SimpleMnist ----------------------------------------------------------------------------
@pytest.mark.check(points=2, hints=HINTS_PARAMETERS, role="form")
def test_simple_mnist_parameters(ex):
    model = _new_model(ex)
    params = _registered(model)
    plain = []
    for name, want in SPEC_SHAPES.items():
        if name in params:
            continue
        value = _attribute(model, name)
        if isinstance(value, torch.Tensor):
            plain.append(name)
        elif value is None and name.endswith("_b"):
            fail("SimpleMnist()", NO_BIAS.format(name=name, shape=want))
        else:
            fail("SimpleMnist()", f"model.named_parameters() has no {name}; it lists "
                 f"{sorted(params) or 'nothing'}. Expected: {SHAPES_TEXT}",
                 hint="no nn.Linear: create each parameter with get_weights")
    if plain:
        fail("SimpleMnist()", PLAIN_TENSOR.format(names=", ".join(plain)))
    extra = sorted(set(params) - set(SPEC_SHAPES))
    expect(not extra, "SimpleMnist()", f"unexpected parameters {extra}: the network has exactly "
           f"four, {SHAPES_TEXT}")
    for name in SPEC_SHAPES:
        _expect_shape(name, tuple(params[name].shape))
        expect(isinstance(params[name], torch.nn.Parameter), "SimpleMnist()",
               f"{name} is not an nn.Parameter")
    total = sum(p.numel() for p in params.values())
    expect(total == N_PARAMETERS, "SimpleMnist()", f"{total} numbers, expected {N_PARAMETERS}")


@pytest.mark.check(points=3, hints=HINTS_FORWARD)
def test_simple_mnist_forward(ex, rng):
    model = _new_model(ex)
    w = _weights(model)
    _expect_varied(w)
    for n in (1, 37):
        x = _randn(rng, n, 784)
        call = f"SimpleMnist()(x) on x of shape ({n}, 784)"
        got = _logits(model, x, call=call)
        expect(got.dtype == torch.float32, call, f"expected float32 logits, got {got.dtype}")
        if not _close(got, _oracle(x, w)):
            diagnosis = _diagnose_forward(model, w, x, got, rng)
            if diagnosis:
                fail(call, diagnosis, inputs={"x": x})
            expect_array(got.to(torch.float64), _oracle(x, w), call=call, inputs={"x": x},
                         rtol=RTOL, atol=ATOL,
                         hint="relu(x @ l1_w + l1_b) @ l2_w + l2_b, on the model's own parameters")


@pytest.mark.check(points=1, hints=HINTS_FLATTEN, role="form")
def test_simple_mnist_forward_image_shapes(ex, rng):
    """Images give the logits of the same digits flattened (the values are the forward check's)."""
    model = _new_model(ex)
    for shape in ((1, 28, 28), (5, 28, 28), (1, 1, 28, 28), (5, 1, 28, 28)):
        x = _randn(rng, *shape)
        call = f"SimpleMnist()(x) on x of shape {shape}"
        got = _logits(model, x, call=call, hint=FLATTEN)
        flat = _logits(model, x.reshape(len(x), 784), call=f"SimpleMnist()(x.reshape({len(x)}, 784))")
        expect_array(got.to(torch.float64), flat.to(torch.float64), call=call, rtol=RTOL, atol=ATOL,
                     hint=f"expected the logits of x.reshape({len(x)}, 784); {FLATTEN}")


@pytest.mark.check(points=2, kind="constraint", hints=HINTS_LINEAR)
def test_simple_mnist_without_linear(ex, source, rng):
    expect_without(source, "SimpleMnist", LINEAR, hint=LINEAR.hint)
    model = _new_model(ex)
    x = _randn(rng, 4, 784)
    traced = result_of(model.call, x, probe=["trace"], call="SimpleMnist()(x)")
    expect(isinstance(traced.value, torch.Tensor) and tuple(traced.value.shape) == (4, 10),
           "SimpleMnist()(x)", "expected logits of shape (4, 10)")
    expect_without(source, "SimpleMnist", LINEAR, trace=traced.extra.get("trace"),
                   runtime_names=RUNTIME_LINEAR, hint=LINEAR.hint)


# -- predict and accuracy -------------------------------------------------------------------
@pytest.mark.check(points=1, hints=HINTS_PREDICT)
def test_predict(ex, rng):
    model = _new_model(ex)
    _expect_varied(_weights(model))
    x = _randn(rng, 40, 784)
    want = _logits(model, x, call="SimpleMnist()(x)").argmax(dim=1)
    got = result_of(ex.predict, model, x, call="predict(model, x)", inputs={"x": x})
    call = "predict(model, x) on x of shape (40, 784)"
    expect(isinstance(got, torch.Tensor), call, f"expected a tensor, got {type(got).__name__}")
    expect(tuple(got.shape) == (40,), call, f"expected shape (40,), one digit per input, got "
           f"{tuple(got.shape)}", hint="argmax over the 10 logits: dim=1")
    expect(got.dtype == torch.int64, call, f"expected int64 class indices, got {got.dtype}")
    expect(not got.requires_grad, call, "the result requires grad: compute it under torch.no_grad()")
    expect_array(got, want, call=call, hint="the predicted digit is the argmax of the model's logits")


@pytest.mark.check(points=1, hints=HINTS_ACCURACY)
def test_accuracy(ex, rng):
    model = _new_model(ex)
    x = _randn(rng, 50, 784)
    pred = _logits(model, x, call="SimpleMnist()(x)").argmax(dim=1)
    wrong = torch.from_numpy(rng.permutation(50)[:20])
    y = pred.clone()
    y[wrong] = (y[wrong] + 1) % 10
    for labels, want in ((y, 0.6), (pred, 1.0), ((pred + 3) % 10, 0.0)):
        call = f"accuracy(model, x, y) with {want:.0%} of y equal to the predictions"
        got = result_of(ex.accuracy, model, x, labels, call=call)
        expect(type(got) is float, call, f"expected a Python float, got {type(got).__name__}",
               hint="turn a one-element tensor into a float with .item()")
        expect(abs(got - want) < 1e-6, call, f"expected {want}, got {got!r}", hint=HINTS_ACCURACY[0])


# -- fit: one trained model, shared by the checks below ---------------------------------------
@dataclass
class _Run:
    model: RemoteObject | None
    losses: Any
    seconds: float
    before: torch.Tensor | None
    error: BaseException | None = None


@pytest.fixture(scope="module")
def fit_runs() -> dict[str, _Run]:
    """Where the one training of a grading run is kept (a fixture: each run has its own)."""
    return {}


def _trained(ex, fit_runs: dict[str, _Run], seed: int, settings) -> _Run:
    """The learner's SimpleMnist after ``fit(model, train_x, train_y, epochs=2)``, trained once
    per grading run. A failure is kept too (a fit that hangs costs its time limit once)."""
    run = fit_runs.get("fit")
    if run is not None:
        if run.error is not None:
            raise run.error.with_traceback(None)
        return run
    digits = _digits(settings)
    try:
        # The worker's torch is seeded from --seed, so grading the same submission twice
        # trains the same model (skipped where the module has no torch to seed).
        ex.seed_torch(seed)
        model = _new_model(ex)
        before = _attribute(model, "l1_w")
        timeout = max(FIT_TIMEOUT_S, settings.limits.call_timeout_s)
        result = ex.fit.call(model, digits.train_x, digits.train_y, epochs=FIT_EPOCHS, timeout=timeout)
    except (LearnerError, CheckFailed) as exc:
        fit_runs["fit"] = _Run(None, None, 0.0, None, exc)
        raise
    run = _Run(model, result.value, result.seconds,
               before.detach().clone() if isinstance(before, torch.Tensor) else None)
    fit_runs["fit"] = run
    return run


def _fit_call() -> str:
    return f"fit(model, train_x, train_y, epochs={FIT_EPOCHS}) on the 4,000 training digits"


@pytest.mark.check(points=3, hints=HINTS_FIT)
def test_fit_reaches_held_out_accuracy(ex, fit_runs, seed, settings, check, rng, source, course):
    digits = _digits(settings)
    threshold = course.threshold("fit_accuracy")
    try:
        run = _trained(ex, fit_runs, seed, settings)
    except LearnerRaised as exc:
        if "empty parameter list" in exc.message:
            fail(_fit_call(), f"raised {exc.type_name}: {exc.message}",
                 hint=EMPTY_OPTIMIZER)
        raise
    logits = _logits(run.model, digits.test_x, call="model(test_x) after fit")
    acc = float((logits.argmax(dim=1) == digits.test_y).double().mean())
    if acc >= threshold:
        check.notes.append(f"held-out accuracy after fit: {acc:.3f} on 1,000 digits (fit took "
                           f"{run.seconds:.2f} s); {PREDICTIONS_HINT}")
        return
    check.notes.append(PREDICTIONS_HINT)
    problem = (f"held-out accuracy {acc:.3f} on the 1,000 embedded digits, below "
               f"{threshold:g}")
    reasons, hint = _fit_diagnoses(ex, run, rng, source)
    fail(_fit_call(), problem + "".join(f"\n  {r}" for r in reasons), hint=hint)


def _fit_diagnoses(ex, run: _Run, rng, source) -> tuple[list[str], str]:
    """What the model, a probe of the gradients and the losses fit returned show, and the hint
    that follows from it: a loop that never zeroes its gradients, a model fit never changed,
    and training that blew up, overshoots, barely moves or learns too slowly."""
    reasons, hint = [], None
    after = _attribute(run.model, "l1_w")
    if run.before is not None and isinstance(after, torch.Tensor) and torch.equal(after, run.before):
        reasons.append(UNCHANGED)
        hint = HINTS_FIT[1]
    ratio = _gradient_pile_up(ex, rng)
    if ratio is not None:
        reasons.append(ZERO_GRAD.format(ratio=ratio))
        hint = hint or HINTS_FIT[1]
    elif not _mentions_zero_grad(source):
        reasons.append(ZERO_GRAD_SOURCE)
        hint = hint or HINTS_FIT[1]
    shown, losses_hint = _losses_diagnosis(run.losses, source)
    if shown:
        reasons.append(shown)
        hint = hint or losses_hint
    return reasons, hint or HINT_LOOP


def _losses_diagnosis(losses, source) -> tuple[str | None, str | None]:
    """What the per-batch losses say about a training that did not reach the threshold."""
    if not (isinstance(losses, list) and len(losses) >= 20
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in losses)):
        return None, None
    bad = next((i for i, v in enumerate(losses) if not math.isfinite(v)), None)
    if bad is not None:
        return (LOSSES_NOT_FINITE.format(value=losses[bad], index=bad + 1, count=len(losses)),
                HINT_LR_TOO_HIGH)
    first, last = float(np.mean(losses[:10])), float(np.mean(losses[-10:]))
    change = (last - first) / first if first > 0 else 0.0
    if change > 0.05:
        return LOSSES_DIVERGE.format(first=first, last=last), HINT_LR_TOO_HIGH
    slow_optimizer = any(name in _fit_source(source) for name in SGD_NAMES)
    if change > -0.1:
        return (LOSSES_STUCK.format(first=first, last=last, change=change, count=len(losses),
                                    epochs=FIT_EPOCHS),
                HINT_LR_TOO_LOW if slow_optimizer else HINTS_FIT[2])
    return (LOSSES_SLOW.format(first=first, last=last),
            HINT_LR_TOO_LOW if slow_optimizer else HINTS_FIT[2])


def _fit_source(source) -> str:
    """fit's own source (the whole module's when fit cannot be found)."""
    try:
        fit = next((node for node in ast.walk(ast.parse(source.text))
                    if isinstance(node, ast.FunctionDef) and node.name == "fit"), None)
    except SyntaxError:
        fit = None
    return (ast.get_source_segment(source.text, fit) if fit is not None else None) or source.text


def _gradient_pile_up(ex, rng) -> float | None:
    """Evidence from behaviour that fit never zeroes the gradients: ``fit`` with ``lr=0`` on
    one batch for 3 epochs leaves the parameters where they were, so each step's gradient is
    the same g; zeroed before each backward, ``.grad`` ends as g; never zeroed, as 3 g.
    Returns the ratio when it is clearly more than 1, else None (including 'could not tell')."""
    try:
        model = _new_model(ex)
        x, y = _randn(rng, 32, 784), torch.from_numpy(rng.integers(0, 10, 32))
        ex.fit(model, x, y, epochs=3, lr=0.0, batch_size=32)
        grad = model.grad_of("l2_b")
        params = {name: getattr(model, name) for name in SPEC_SHAPES}
    except (LearnerError, CheckFailed):
        return None
    if not isinstance(grad, torch.Tensor) or not all(isinstance(p, torch.Tensor) for p in params.values()):
        return None
    w = {k: v.detach().to(torch.float64).requires_grad_(True) for k, v in params.items()}
    loss = torch.nn.functional.cross_entropy(_oracle(x, w), y)
    (g,) = torch.autograd.grad(loss, [w["l2_b"]])
    norm = float(g.norm())
    if norm == 0 or tuple(grad.shape) != tuple(g.shape):
        return None
    ratio = float(grad.to(torch.float64).norm()) / norm
    cosine = float(torch.nn.functional.cosine_similarity(grad.to(torch.float64), g, dim=0))
    return ratio if ratio > 1.5 and cosine > 0.99 else None


def _mentions_zero_grad(source) -> bool:
    """A supporting hint only: fit's source names zero_grad, set_to_none or clears .grad."""
    text = _fit_source(source)
    return any(word in text for word in ("zero_grad", "set_to_none", "grad = None", "grad.zero_"))


@pytest.mark.check(points=1, hints=HINTS_LOSSES)
def test_fit_returns_losses(ex, fit_runs, seed, settings):
    run = _trained(ex, fit_runs, seed, settings)
    losses, call = run.losses, _fit_call()
    want = math.ceil(len(_digits(settings).train_x) / BATCH_SIZE) * FIT_EPOCHS
    expect(isinstance(losses, list), call, f"expected a list of losses, got {type(losses).__name__}")
    expect(len(losses) == want, call, f"expected {want} losses (one per batch: ceil(4000 / 64) "
           f"x {FIT_EPOCHS} epochs), got {len(losses)}")
    kinds = sorted({type(v).__name__ for v in losses if type(v) is not float})
    expect(not kinds, call, f"expected Python floats, got {', '.join(kinds)}",
           hint="loss.item() turns the loss tensor into a float (and keeps no graph alive)")
    expect(all(math.isfinite(v) for v in losses), call, "some losses are not finite (nan or inf)")
    first, last = float(np.mean(losses[:10])), float(np.mean(losses[-10:]))
    expect(last < first, call, LOSS_FLAT.format(first=first, last=last))
