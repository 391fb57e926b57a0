"""Hidden suite for ex09_backprop: linear_backward, relu_backward, cross_entropy_backward,
train_step.

The oracle is ``torch.autograd``, run here in the grader (never in the learner's worker), in
float64 on the float32 inputs the learner got: ``torch.autograd.grad`` of ``x @ w + b``
against ``grad_out``, of ``torch.relu``, of ``F.cross_entropy`` (mean over the batch), and of
the whole SimpleMnist loss for ``train_step``. ``train_step`` is judged by the gradient its
update implies, ``(p - new_p) / lr``, against autograd's: within 1e-4 of the largest entry
of each gradient (the reference's float32 arithmetic stays within 1.2e-6 over 20 seeds and
batches of 1, 7 and 64), and by the loss it reports (within 1e-5 of float64's).

Training: 100 steps of ``train_step`` with lr 0.5 on shuffled batches of 256 of the 4,000
embedded training digits (6.4 epochs), from ex04's initialisation ``randn(*dims) / dims[0]``,
driven from here, seeded by ``--seed``. Measured with the reference over seeds 0-19: held-out
accuracy 0.932 on average, 0.911 at worst, 0.942 at best; the threshold is ex04's 0.85. A
forgotten division by the batch size (steps 256 times too large) ends at 0.100-0.103 (seeds
0-2), ReLU's gradient on the wrong side at 0.65-0.68 (seeds 0-1). Each step sends the 203,530
parameters to the worker and back, so the step count is what a grading run pays for: 200
steps of 128 at lr 0.3 (0.936-0.945 over seeds 0-4) cost twice the round trips for the same
6.4 epochs.

When a gradient is wrong the feedback says which classic mistake it behaves like, from the
values: a gradient N times too large (the batch mean forgotten; the factor is named), grad_w
transposed, the bias gradient summed over the features instead of the batch (or averaged),
ReLU's gradient passed where x < 0 or at x == 0, the ReLU mask taken from grad_out, a
one-hot never subtracted, the sign flipped. A wrong ``train_step`` is traced back to the
helper that is wrong.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.checks.constraints import Forbidden
from grader.checks.diagnose import describe
from grader.checks.expect import (CheckFailed, expect, expect_array, expect_raises, expect_without,
                                  fail, result_of)
from grader.checks.vectorized import expect_vectorized
from grader.data import load_mnist
from grader.engine.timing import SpeedCase

pytestmark = pytest.mark.exercise("ex09_backprop")
MODULE = "ex09_backprop"

PARAMETERS = {"l1_w": (784, 256), "l1_b": (256,), "l2_w": (256, 10), "l2_b": (10,)}
TRAIN_STEPS, TRAIN_LR, BATCH = 100, 0.5, 256
ACCURACY_THRESHOLD = 0.85          # ex04's
GRAD_TOL = 1e-4                    # of the largest entry of each gradient (see the docstring)
LOSS_TOL = 1e-5
CHECK_LR = 0.5                     # a large step, so that (p - new) / lr keeps its digits

AUTOGRAD = Forbidden(
    "autograd",
    frozenset((
        "torch.autograd.grad torch.autograd.backward torch.Tensor.backward torch.func"
        " torch.autograd.functional.jacobian torch.autograd.functional.vjp"
        " torch.autograd.functional.jvp torch.autograd.functional.hessian"
        " torch.autograd.functional.vhp torch.autograd.functional.hvp"
        " functorch.grad functorch.vjp functorch.jacrev functorch.jacfwd functorch.make_functional"
        # the graph autograd records, walked by hand: every torch.autograd name, the switches
        # that turn recording on, and a result's grad_fn (the graph's entry point)
        " torch.autograd torch.enable_grad torch.set_grad_enabled torch.Tensor.requires_grad_"
        " torch.Tensor.grad_fn torch.Tensor.retain_grad torch.Tensor.register_hook"
    ).split()),
    frozenset({"backward", "grad_fn", "next_functions", "requires_grad_", "retain_grad",
               "register_hook", "enable_grad", "set_grad_enabled"}),
    hint="write the gradients as matrix products: grad_w = x.T @ grad_out, and so on",
)
AUTOGRAD_RUNTIME = frozenset({"backward", "grad", "vjp", "jvp", "jacobian", "hessian", "vhp",
                              "hvp", "jacrev", "jacfwd", "requires_grad_", "retain_grad",
                              "register_hook", "grad_fn", "next_functions"})

# -- feedback: the diagnoses ---------------------------------------------------------------------
FACTOR_N = ("{what} is N = {n} times the expected one: the loss is the mean over the batch, "
            "so its gradient is divided by the batch size N = {n}")
FACTOR_1_OVER_N = ("{what} is 1/N = 1/{n} of the expected one: the batch size is divided out "
                   "twice (once is right, in cross_entropy_backward)")
FACTOR = "{what} is {r:.4g} times the expected one (the direction is right, the size is not)"
SIGN = "{what} has the opposite sign: the gradient of the loss points uphill, training steps against it"
GRAD_W_TRANSPOSED = ("grad_w is transposed: it must have w's shape {want} (x.T @ grad_out, "
                     "(in, N) @ (N, out)), got {got}")
GRAD_X_TRANSPOSED = ("grad_x is transposed: it must have x's shape {want} (grad_out @ w.T, "
                     "(N, out) @ (out, in)), got {got}")
BIAS_AXIS = ("grad_b is summed over the wrong axis: the bias is added to every row of the "
             "batch, so its gradient adds up grad_out's rows (axis 0), one entry per output: "
             "shape {want}, got {got}")
BIAS_MEAN = ("grad_b is the mean over the batch, N = {n} times too small: the batch mean is "
             "already in grad_out; sum its rows")
RELU_NEGATIVE = ("the gradient passes where x < 0 and stops where x > 0: ReLU's slope is 1 "
                 "for x > 0 and 0 for x < 0 (keep grad_out where x > 0)")
RELU_AT_ZERO = ("at x == 0 the gradient must be 0 (PyTorch's convention for ReLU): keep "
                "grad_out where x > 0, not x >= 0")
RELU_FROM_GRAD = ("the mask comes from grad_out, not from x: ReLU stops the gradient where its "
                  "input x was not positive")
RELU_TIMES_X = "the result is grad_out * relu(x): multiply by ReLU's slope (0 or 1), not by its value"
NO_ONEHOT = ("the gradient is softmax(logits) / N without subtracting the one-hot targets: "
             "each row must sum to 0")
NOT_A_TRIPLE = "expected a tuple (grad_x, grad_w, grad_b) of three tensors, got {got}"
NOT_A_STEP = "expected a tuple (new_params, loss): a dict of four tensors and a float, got {got}"
STEP_BLAMES = "train_step builds on your {function}, which is not right yet: {why}"
STEP_GRADIENT = ("the update of {name} implies a gradient (p - new_p) / lr that differs from "
                 "autograd's: largest difference {err:.3g}, {rel:.2g} of the gradient's largest entry")
LOSS_WRONG = ("the loss returned is {got!r}; the mean cross-entropy of the logits before the "
              "update is {want:.6g}")
DIVERGED = ("the loss became {value} at step {step}: the steps are far too large (is a gradient "
            "N times too big?)")
ACCURACY_LOW = ("held-out accuracy {acc:.3f} after {steps} steps of train_step (lr {lr}, "
                "batches of {batch}), below {threshold}")

HINT_DEVICE = "work on the device of the inputs: new tensors get device=x.device"
HINT_DTYPE = "keep the inputs' dtype (float32 stays float32): no .double() or .float() on the way"
HINTS_LINEAR = (
    "Each gradient has the shape of what it is the gradient of: grad_x like x (N, in), grad_w "
    "like w (in, out), grad_b like the bias (out,). Let the shapes place the transposes.",
    "grad_w pairs x with grad_out across the batch, (in, N) times (N, out); grad_x pairs "
    "grad_out with w across the outputs, (N, out) times (out, in); grad_b adds up grad_out's rows.",
)
HINTS_RELU = (
    "ReLU's slope is 1 where its input was positive and 0 elsewhere; the gradient is "
    "grad_out times that slope.",
    "Multiply grad_out by a mask built from x (the input, not grad_out) that is 1 where x is "
    "strictly positive and 0 elsewhere.",
)
HINTS_CE = (
    "The gradient of the mean cross-entropy with respect to the logits is (probabilities - "
    "one-hot) / N: each row sums to 0.",
    "A softmax of each row; then subtract 1 at each row's target class (index the rows and "
    "the targets together, no loop); then divide everything by the batch size.",
)
HINTS_STEP = (
    "Forward, keeping z1 = x @ l1_w + l1_b, h = relu(z1) and the logits; backward from the "
    "logits with your three functions; then p - lr * grad for each parameter.",
    "Go back through the forward pass in reverse: cross_entropy_backward on the logits, "
    "linear_backward of the second layer (its input is h), relu_backward with z1, "
    "linear_backward of the first layer (its input is x); each parameter gets its own gradient.",
)
HINTS_CONSTRAINT = (
    "This exercise is the backward pass itself: autograd would compute what you are asked "
    "to write.",
    "Remove .backward() and torch.autograd.grad: the gradients come from your three "
    "functions and matrix products.",
)
HINTS_VECTORIZED = (
    "A batch is one matrix: the products sum over the samples for you.",
    "No loop over rows: one matrix product adds up every sample's outer product, and one "
    "indexed subtraction with the row numbers and the targets makes every one-hot.",
)
HINTS_ERRORS = (
    "Check the inputs' shapes first and raise ValueError before any product runs.",
    "Name the shapes (or the bad value) in the message, as the docstring's example does.",
)


# -- inputs and oracles --------------------------------------------------------------------------
def _randn(rng, *shape, dtype=torch.float32, device="cpu", scale=1.0) -> torch.Tensor:
    return (torch.from_numpy(rng.standard_normal(shape)) * scale).to(dtype).to(device)


def _tol(want: torch.Tensor) -> dict:
    """A gradient is a sum of many terms that can cancel: the absolute tolerance follows the
    size of its largest entry (float32 sums of 784 terms keep about 5 digits of it)."""
    scale = float(want.detach().abs().max()) if want.numel() else 0.0
    if want.dtype == torch.float32:
        return {"rtol": 1e-5, "atol": 2e-5 * scale + 1e-7}
    return {"rtol": 1e-10, "atol": 1e-12 * scale + 1e-14}


def _linear_grads(x, w, grad_out):
    x64, w64 = x.detach().cpu().double().requires_grad_(), w.detach().cpu().double().requires_grad_()
    b64 = torch.zeros(w.shape[1], dtype=torch.float64, requires_grad=True)
    y = x64 @ w64 + b64
    grads = torch.autograd.grad(y, [x64, w64, b64], grad_out.detach().cpu().double())
    return [g.to(x.dtype).to(x.device) for g in grads]


def _relu_grad(x, grad_out):
    x64 = x.detach().cpu().double().requires_grad_()
    (g,) = torch.autograd.grad(torch.relu(x64), [x64], grad_out.detach().cpu().double())
    return g.to(grad_out.dtype).to(grad_out.device)


def _ce_grad(logits, targets):
    z = logits.detach().cpu().double().requires_grad_()
    (g,) = torch.autograd.grad(F.cross_entropy(z, targets.cpu().long()), [z])
    return g.to(logits.dtype).to(logits.device)


def _forward(p, x):
    h = torch.relu(x.reshape(len(x), -1) @ p["l1_w"] + p["l1_b"])
    return h @ p["l2_w"] + p["l2_b"]


def _forward64(params, x):
    return _forward({k: v.detach().cpu().double() for k, v in params.items()}, x.cpu().double())


def _step_grads(params, x, y):
    p = {k: v.detach().cpu().double().requires_grad_() for k, v in params.items()}
    loss = F.cross_entropy(_forward(p, x.cpu().double()), y.cpu().long())
    grads = torch.autograd.grad(loss, [p[k] for k in PARAMETERS])
    return dict(zip(PARAMETERS, grads)), float(loss.detach())


def _init_params(generator) -> dict[str, torch.Tensor]:
    """ex04's initialisation: randn(*dims) / dims[0]."""
    return {name: torch.randn(*shape, generator=generator) / shape[0] for name, shape in PARAMETERS.items()}


def _close(got, want, rtol=1e-5, atol=1e-7) -> bool:
    return (isinstance(got, torch.Tensor) and got.shape == want.shape
            and bool(torch.allclose(got.detach().cpu().double(), want.detach().cpu().double(),
                                    rtol=rtol, atol=atol)))


def _factor(got, want, n, what) -> str | None:
    """A gradient that points the right way but has the wrong size (or sign): which factor."""
    g, w = got.detach().cpu().double().flatten(), want.detach().cpu().double().flatten()
    if g.shape != w.shape or float(w.norm()) == 0 or float(g.norm()) == 0:
        return None
    cosine = float(g @ w / (g.norm() * w.norm()))
    r = float(g.norm() / w.norm())
    if cosine < -0.9999 and math.isclose(r, 1, rel_tol=1e-3):
        return SIGN.format(what=what)
    if cosine < 0.9999 or math.isclose(r, 1, rel_tol=1e-3):
        return None
    if n > 1 and math.isclose(r, n, rel_tol=1e-3):
        return FACTOR_N.format(what=what, n=n)
    if n > 1 and math.isclose(r, 1 / n, rel_tol=1e-3):
        return FACTOR_1_OVER_N.format(what=what, n=n)
    return FACTOR.format(what=what, r=r)


def _expect_tensor(got, want, *, call, inputs=None, hint=None):
    """``got`` equals autograd's ``want``; a wrong device or dtype gets a hint of its own."""
    if isinstance(got, torch.Tensor) and got.shape == want.shape and got.device.type != want.device.type:
        fail(call, f"wrong device: expected the result on {want.device.type}, got it on {got.device}",
             inputs=inputs, hint=HINT_DEVICE)
    expect_array(got, want, call=call, inputs=inputs, hint=hint, dtype_hint=HINT_DTYPE, **_tol(want))


# -- the diagnoses, one per function -------------------------------------------------------------
def _triple(got, call):
    ok = isinstance(got, (tuple, list)) and len(got) == 3 and all(isinstance(t, torch.Tensor) for t in got)
    expect(ok, call, NOT_A_TRIPLE.format(got=describe(got)), hint="return grad_x, grad_w, grad_b")
    return got


def _linear_problem(got, x, w, grad_out, wants=None) -> str | None:
    grad_x, grad_w, grad_b = got
    want_x, want_w, want_b = wants or _linear_grads(x, w, grad_out)
    n = x.shape[0]
    if tuple(grad_w.shape) != tuple(want_w.shape) and tuple(grad_w.shape) == tuple(want_w.shape)[::-1]:
        return GRAD_W_TRANSPOSED.format(want=tuple(want_w.shape), got=tuple(grad_w.shape))
    if want_w.shape[0] == want_w.shape[1] and not _close(grad_w, want_w) and _close(grad_w, want_w.T):
        return GRAD_W_TRANSPOSED.format(want=tuple(want_w.shape), got="w's shape, but its values transposed")
    if tuple(grad_x.shape) != tuple(want_x.shape) and tuple(grad_x.shape) == tuple(want_x.shape)[::-1]:
        return GRAD_X_TRANSPOSED.format(want=tuple(want_x.shape), got=tuple(grad_x.shape))
    if want_x.shape[0] == want_x.shape[1] and not _close(grad_x, want_x) and _close(grad_x, want_x.T):
        return GRAD_X_TRANSPOSED.format(want=tuple(want_x.shape), got="x's shape, but its values transposed")
    row_sums = grad_out.detach().sum(dim=1)
    if tuple(grad_b.shape) == tuple(row_sums.shape) and tuple(grad_b.shape) != tuple(want_b.shape):
        return BIAS_AXIS.format(want=tuple(want_b.shape), got=tuple(grad_b.shape))
    if _close(grad_b, row_sums) and not _close(grad_b, want_b):
        return BIAS_AXIS.format(want=tuple(want_b.shape), got="the sums of grad_out's rows")
    if n > 1 and _close(grad_b, want_b / n) and not _close(grad_b, want_b):
        return BIAS_MEAN.format(n=n)
    for what, g, want in (("grad_x", grad_x, want_x), ("grad_w", grad_w, want_w), ("grad_b", grad_b, want_b)):
        why = _factor(g, want, n, what)
        if why:
            return why
    return None


def _relu_problem(got, x, grad_out) -> str | None:
    if not isinstance(got, torch.Tensor) or got.shape != x.shape:
        return None
    g = grad_out.detach().cpu().double()
    xc = x.detach().cpu()
    variants = ((RELU_NEGATIVE, g * (xc < 0)), (RELU_AT_ZERO, g * (xc >= 0)),
                (RELU_FROM_GRAD, g * (g > 0)), (RELU_TIMES_X, g * torch.relu(xc.double())))
    for text, value in variants:
        if _close(got, value) and not _close(value, _relu_grad(x, grad_out)):
            return text
    return None


def _ce_problem(got, logits, targets) -> str | None:
    want = _ce_grad(logits, targets)
    if not isinstance(got, torch.Tensor) or got.shape != want.shape:
        return None
    n = logits.shape[0]
    probs = torch.softmax(logits.detach().cpu().double(), dim=1)
    if _close(got, probs / n) or _close(got, probs):
        return NO_ONEHOT
    return _factor(got, want, n, "the gradient")


def _expect_linear(ex, x, w, grad_out, *, call, inputs=None):
    got = _triple(result_of(ex.linear_backward, x, w, grad_out, call=call, inputs=inputs,
                            hint=HINTS_LINEAR[1]), call)
    wants = _linear_grads(x, w, grad_out)
    if not all(_close(g, want, **_tol(want)) for g, want in zip(got, wants)):
        why = _linear_problem(got, x, w, grad_out, wants)
        if why:
            fail(call, why, inputs=inputs, hint=HINTS_LINEAR[1])
    for name, g, want in zip(("grad_x", "grad_w", "grad_b"), got, wants):
        _expect_tensor(g, want, call=f"{call}: {name}", inputs=inputs, hint=HINTS_LINEAR[1])
    return got


def _expect_relu(ex, x, grad_out, *, call, inputs=None):
    got = result_of(ex.relu_backward, x, grad_out, call=call, inputs=inputs, hint=HINTS_RELU[1])
    why = _relu_problem(got, x, grad_out)
    if why:
        fail(call, why, inputs=inputs, hint=HINTS_RELU[1])
    want = _relu_grad(x, grad_out)
    _expect_tensor(got, want, call=call, inputs=inputs, hint=HINTS_RELU[1])
    return got


def _expect_ce(ex, logits, targets, *, call, inputs=None):
    got = result_of(ex.cross_entropy_backward, logits, targets, call=call, inputs=inputs,
                    hint=HINTS_CE[1])
    why = _ce_problem(got, logits, targets)
    if why:
        fail(call, why, inputs=inputs, hint=HINTS_CE[1])
    want = _ce_grad(logits, targets)
    _expect_tensor(got, want, call=call, inputs=inputs, hint=HINTS_CE[1])
    return got


# -- linear_backward -----------------------------------------------------------------------------
LESSON_X = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
LESSON_W = torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 3.0]])
LESSON_GRAD_OUT = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])


@pytest.mark.check(points=1, hints=HINTS_LINEAR)
def test_linear_backward_lesson_example(ex, rng):
    _expect_linear(ex, LESSON_X, LESSON_W, LESSON_GRAD_OUT, call="linear_backward(x, w, grad_out)",
                   inputs={"x": LESSON_X, "w": LESSON_W, "grad_out": LESSON_GRAD_OUT})
    x, w, g = _randn(rng, 5, 3), _randn(rng, 3, 4), _randn(rng, 5, 4)
    _expect_linear(ex, x, w, g, call="linear_backward(x, w, grad_out) with x (5, 3), w (3, 4)")


@pytest.mark.check(points=2, hints=HINTS_LINEAR, visibility="hidden")
def test_linear_backward_matches_autograd(ex, rng, device):
    for n, fan_in, fan_out in ((1, 1, 1), (1, 4, 3), (6, 6, 6), (7, 3, 5), (64, 784, 256), (64, 256, 10)):
        for dtype in (torch.float32, torch.float64):
            x = _randn(rng, n, fan_in, dtype=dtype, device=device)
            w = _randn(rng, fan_in, fan_out, dtype=dtype, device=device, scale=fan_in ** -0.5)
            g = _randn(rng, n, fan_out, dtype=dtype, device=device)
            _expect_linear(ex, x, w, g, call=f"linear_backward on {str(dtype)[6:]} x {(n, fan_in)}, "
                           f"w {(fan_in, fan_out)}")


@pytest.mark.check(points=1, hints=HINTS_ERRORS, role="errors")
def test_linear_backward_rejects_bad_shapes(ex, rng):
    x, w, g = _randn(rng, 4, 3), _randn(rng, 3, 5), _randn(rng, 4, 5)
    _expect_linear(ex, x, w, g, call="linear_backward(x, w, grad_out)")
    expect_raises(ValueError, ex.linear_backward, x, _randn(rng, 2, 5), g, mentions=("(4, 3)", "(2, 5)"),
                  call="linear_backward with x (4, 3) and w (2, 5)")
    expect_raises(ValueError, ex.linear_backward, x, w, _randn(rng, 4, 6), mentions=("(4, 6)",),
                  call="linear_backward with grad_out (4, 6) for y (4, 5)")
    expect_raises(ValueError, ex.linear_backward, _randn(rng, 3), w, g, mentions=("(3,)",),
                  call="linear_backward with a 1-D x")


# -- relu_backward -------------------------------------------------------------------------------
@pytest.mark.check(points=1, hints=HINTS_RELU)
def test_relu_backward_lesson_example(ex):
    x, g = torch.tensor([-2.0, 0.0, 3.0]), torch.tensor([10.0, 20.0, 30.0])
    _expect_relu(ex, x, g, call="relu_backward(x, grad_out)", inputs={"x": x, "grad_out": g})
    x = torch.tensor([[1.5, -0.5], [0.0, 2.0]])
    g = torch.tensor([[-1.0, 4.0], [5.0, -2.0]])
    _expect_relu(ex, x, g, call="relu_backward(x, grad_out)", inputs={"x": x, "grad_out": g})


@pytest.mark.check(points=1, hints=HINTS_RELU, visibility="hidden")
def test_relu_backward_matches_autograd(ex, rng, device):
    for shape in ((1,), (7,), (4, 5), (64, 256), (2, 3, 4)):
        for dtype in (torch.float32, torch.float64):
            x = _randn(rng, *shape, dtype=dtype, device=device)
            x[x.abs() < 0.2] = 0.0                      # exact zeros: the slope there is 0
            g = _randn(rng, *shape, dtype=dtype, device=device)
            _expect_relu(ex, x, g, call=f"relu_backward on {str(dtype)[6:]} x of shape {shape}, "
                         f"some entries exactly 0")
    expect_raises(ValueError, ex.relu_backward, torch.ones(3), torch.ones(4), mentions=("(3,)", "(4,)"),
                  call="relu_backward with x (3,) and grad_out (4,)", hint=HINTS_ERRORS[1])


# -- cross_entropy_backward -----------------------------------------------------------------------
LESSON_LOGITS = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
LESSON_TARGETS = torch.tensor([0, 2])


@pytest.mark.check(points=1, hints=HINTS_CE)
def test_cross_entropy_backward_lesson_example(ex, rng):
    _expect_ce(ex, LESSON_LOGITS, LESSON_TARGETS, call="cross_entropy_backward(logits, targets)",
               inputs={"logits": LESSON_LOGITS, "targets": LESSON_TARGETS})
    logits, targets = _randn(rng, 16, 10), torch.from_numpy(rng.integers(0, 10, 16))
    _expect_ce(ex, logits, targets, call="cross_entropy_backward(logits, targets) for a batch of 16")


@pytest.mark.check(points=2, hints=HINTS_CE, visibility="hidden")
def test_cross_entropy_backward_matches_autograd(ex, rng, device):
    for n, classes in ((1, 2), (3, 5), (64, 10), (100, 3)):
        for dtype in (torch.float32, torch.float64):
            logits = _randn(rng, n, classes, dtype=dtype, device=device, scale=3.0)
            targets = torch.from_numpy(rng.integers(0, classes, n)).to(device)
            _expect_ce(ex, logits, targets, call=f"cross_entropy_backward on {str(dtype)[6:]} "
                       f"logits ({n}, {classes})")
    logits = torch.tensor([[1e4, 0.0, -1e4], [0.0, 0.0, 0.0]], device=device)
    _expect_ce(ex, logits, torch.tensor([1, 0], device=device),
               call="cross_entropy_backward of logits +-1e4")
    _expect_ce(ex, _randn(rng, 5, 4, device=device), torch.tensor([0, 1, 2, 3, 0], dtype=torch.int32,
               device=device), call="cross_entropy_backward with int32 targets")


@pytest.mark.check(points=1, hints=HINTS_ERRORS, role="errors")
def test_cross_entropy_backward_rejects_bad_targets(ex, rng):
    logits = _randn(rng, 3, 4)
    _expect_ce(ex, logits, torch.tensor([0, 3, 1]), call="cross_entropy_backward(logits, targets)")
    fn = ex.cross_entropy_backward
    expect_raises(ValueError, fn, logits, torch.tensor([0, 4, 1]), mentions=("4",),
                  call="cross_entropy_backward with target 4 for 4 classes (0..3)")
    expect_raises(ValueError, fn, logits, torch.tensor([0, 1]), mentions=("(2,)",),
                  call="cross_entropy_backward with 2 targets for 3 rows")
    expect_raises(ValueError, fn, logits, torch.tensor([0.0, 1.0, 2.0]), mentions=("float",),
                  call="cross_entropy_backward with float targets")


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_VECTORIZED)
def test_cross_entropy_backward_vectorized(ex, source):
    rng = np.random.default_rng(11)

    def make(n):
        return _randn(rng, n, 5), torch.from_numpy(rng.integers(0, 5, n))

    small, large = make(6), make(24)
    _expect_ce(ex, *large, call="cross_entropy_backward(logits, targets) for 24 rows")
    expect_vectorized(ex.cross_entropy_backward, small, large, function="cross_entropy_backward",
                      root=source.path.parent, sizes=("6 rows", "24 rows"), extra_rows=18,
                      hint=HINTS_VECTORIZED[1])


# -- train_step ----------------------------------------------------------------------------------
def _step(ex, params, x, y, lr, *, call, inputs=None):
    try:
        got = result_of(ex.train_step, params, x, y, lr, call=call, inputs=inputs, hint=HINTS_STEP[1])
    except CheckFailed as failed:
        why = _helper_problem(ex)
        if why:
            raised = failed.feedback.split("\n  raised ", 1)[-1].split("\n")[0]
            fail(call, f"{why}\n  (it raised {raised})", inputs=inputs, hint=HINTS_STEP[1])
        raise
    ok = (isinstance(got, (tuple, list)) and len(got) == 2 and isinstance(got[0], dict)
          and all(isinstance(got[0].get(k), torch.Tensor) for k in PARAMETERS))
    expect(ok, call, NOT_A_STEP.format(got=describe(got) if not isinstance(got, (tuple, list))
                                       else f"({', '.join(describe(v) for v in got)})"),
           hint="return {'l1_w': ..., 'l1_b': ..., 'l2_w': ..., 'l2_b': ...}, float(loss)")
    new, loss = got
    for name, shape in PARAMETERS.items():
        expect(tuple(new[name].shape) == shape, call, f"new_params[{name!r}] has shape "
               f"{tuple(new[name].shape)}, expected {shape}", hint=HINTS_STEP[1])
    return new, loss


def _helper_problem(ex) -> str | None:
    """The first of the learner's three helpers that is wrong on a small probe, and why."""
    rng = np.random.default_rng(12)
    x, w, g = _randn(rng, 5, 3), _randn(rng, 3, 4), _randn(rng, 5, 4)
    probes = (("cross_entropy_backward", lambda call: _expect_ce(
                  ex, _randn(rng, 6, 4), torch.tensor([0, 1, 2, 3, 0, 1]), call=call),
               "cross_entropy_backward(logits, targets) on a batch of 6"),
              ("linear_backward", lambda call: _expect_linear(ex, x, w, g, call=call),
               "linear_backward(x, w, grad_out) with x (5, 3), w (3, 4)"),
              ("relu_backward", lambda call: _expect_relu(ex, torch.tensor([-1.0, 0.0, 2.0, 0.5]),
                                                          torch.tensor([3.0, 4.0, 5.0, -6.0]), call=call),
               "relu_backward(x, grad_out) with x [-1, 0, 2, 0.5]"))
    for function, probe, call in probes:
        try:
            probe(call)
        except CheckFailed as failed:
            lines = [ln.strip() for ln in failed.feedback.split("\n") if not ln.strip().startswith("hint:")]
            return STEP_BLAMES.format(function=function, why=": ".join(lines[:1] + [" ".join(lines[1:])]))
    return None


def _expect_step(ex, params, x, y, *, call):
    new, loss = _step(ex, params, x, y, CHECK_LR, call=call)
    grads, want_loss = _step_grads(params, x, y)
    n = len(x)
    for name in PARAMETERS:
        implied = (params[name].double() - new[name].detach().cpu().double()) / CHECK_LR
        err = float((implied - grads[name]).abs().max())
        scale = float(grads[name].abs().max())
        if not err <= GRAD_TOL * scale + 1e-12:
            why = _helper_problem(ex) or _factor(implied, grads[name], n, f"the update of {name}")
            fail(call, why or STEP_GRADIENT.format(name=name, err=err, rel=err / max(scale, 1e-300)),
                 hint=HINTS_STEP[1])
    expect(isinstance(loss, float) and not isinstance(loss, bool), call,
           f"the loss must be a Python float, got {describe(loss)}", hint="float(loss) or loss.item()")
    expect(abs(loss - want_loss) <= LOSS_TOL, call, LOSS_WRONG.format(got=loss, want=want_loss),
           hint="the loss is the mean cross-entropy (F.cross_entropy) of the logits and the labels, "
                "computed before the update")


@pytest.mark.check(points=3, hints=HINTS_STEP)
def test_train_step_matches_autograd(ex, rng, settings):
    for n in (1, 7, 64):
        params = _init_params(torch.Generator().manual_seed(int(rng.integers(1 << 31))))
        x, y = _randn(rng, n, 784), torch.from_numpy(rng.integers(0, 10, n))
        _expect_step(ex, params, x, y, call=f"train_step(params, x, y, lr={CHECK_LR}) on a random "
                     f"batch of {n} (SimpleMnist's parameters, ex04's initialisation)")
    digits = _digits(settings)
    params = _init_params(torch.Generator().manual_seed(3))
    _expect_step(ex, params, digits.train_x[:64], digits.train_y[:64],
                 call=f"train_step(params, x, y, lr={CHECK_LR}) on the first 64 training digits")


def _digits(settings):
    return _load_digits(settings.data_dir)


@functools.cache
def _load_digits(data_dir: str | None):
    return load_mnist(root=data_dir)


@pytest.mark.check(points=3, hints=(
    "If train_step matches autograd, a few hundred steps train the network: make the "
    "autograd comparison pass first.",
    "Check that each update is p - lr * grad, with the gradient of the *mean* loss over the "
    "batch, and that the loss comes back as a float.",
))
def test_train_step_reaches_held_out_accuracy(ex, seed, settings, check):
    digits = _digits(settings)
    generator = torch.Generator().manual_seed(seed)
    params = _init_params(generator)
    n = len(digits.train_x)
    order, pos = torch.randperm(n, generator=generator), 0
    call = (f"{TRAIN_STEPS} steps of train_step(params, x, y, lr={TRAIN_LR}) on batches of "
            f"{BATCH} of the 4,000 training digits")
    for step in range(1, TRAIN_STEPS + 1):
        if pos + BATCH > n:
            order, pos = torch.randperm(n, generator=generator), 0
        idx = order[pos:pos + BATCH]
        pos += BATCH
        params, loss = _step(ex, params, digits.train_x[idx], digits.train_y[idx], TRAIN_LR,
                             call=f"train_step at step {step} of {TRAIN_STEPS}")
        if not (isinstance(loss, float) and math.isfinite(loss)):
            why = _helper_problem(ex)
            fail(call, DIVERGED.format(value=loss, step=step) + (f"\n  {why}" if why else ""),
                 hint=HINTS_STEP[1])
    logits = _forward64(params, digits.test_x)
    acc = float((logits.argmax(dim=1) == digits.test_y).double().mean())
    if acc >= ACCURACY_THRESHOLD:
        check.notes.append(f"held-out accuracy after {TRAIN_STEPS} steps: {acc:.3f} on 1,000 digits")
        return
    why = _helper_problem(ex)
    fail(call, ACCURACY_LOW.format(acc=acc, steps=TRAIN_STEPS, lr=TRAIN_LR, batch=BATCH,
                                   threshold=ACCURACY_THRESHOLD) + (f"\n  {why}" if why else ""),
         hint=HINTS_STEP[1])


@pytest.mark.check(points=1, hints=HINTS_ERRORS, role="errors")
def test_train_step_rejects_bad_params(ex, rng):
    params = _init_params(torch.Generator().manual_seed(5))
    x, y = _randn(rng, 4, 784), torch.tensor([1, 2, 3, 4])
    _expect_step(ex, params, x, y, call="train_step(params, x, y, lr=0.5)")
    missing = {k: v for k, v in params.items() if k != "l1_b"}
    expect_raises(ValueError, ex.train_step, missing, x, y, 0.1, mentions=("l1_b",),
                  call="train_step with no 'l1_b' in params")
    wrong = dict(params, l2_w=params["l2_w"].T.contiguous())
    expect_raises(ValueError, ex.train_step, wrong, x, y, 0.1, mentions=("l2_w", "(256, 10)"),
                  call="train_step with l2_w of shape (10, 256)")
    expect_raises(ValueError, ex.train_step, params, x, torch.tensor([1, 2, 3]), 0.1,
                  mentions=("(4, 784)", "(3,)"), call="train_step with 4 digits and 3 labels")


@pytest.mark.check(points=2, kind="constraint", hints=HINTS_CONSTRAINT)
def test_train_step_without_autograd(ex, source, rng):
    params = _init_params(torch.Generator().manual_seed(6))
    x, y = _randn(rng, 8, 784), torch.from_numpy(rng.integers(0, 10, 8))
    _expect_step(ex, params, x, y, call="train_step(params, x, y, lr=0.5)")
    traced = ex.train_step.call(params, x, y, CHECK_LR, probe=["trace"])
    for function in ("train_step", "linear_backward", "relu_backward", "cross_entropy_backward"):
        expect_without(source, function, AUTOGRAD, trace=traced.extra.get("trace")
                       if function == "train_step" else None,
                       runtime_names=AUTOGRAD_RUNTIME, hint=HINTS_CONSTRAINT[1])


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_VECTORIZED)
def test_train_step_vectorized(ex, source):
    rng = np.random.default_rng(13)
    params = _init_params(torch.Generator().manual_seed(7))

    def make(n):
        return params, _randn(rng, n, 784), torch.from_numpy(rng.integers(0, 10, n)), 0.1

    small, large = make(6), make(24)
    _expect_step(ex, params, large[1], large[2], call="train_step(params, x, y, lr=0.5) on 24 digits")
    expect_vectorized(ex.train_step, small, large, function="train_step", root=source.path.parent,
                      sizes=("6 digits", "24 digits"), extra_rows=18, hint=HINTS_VECTORIZED[1])


# -- speed -----------------------------------------------------------------------------------------
def _speed_ce_args(rng):
    return _randn(rng, 2048, 10, scale=3.0), torch.from_numpy(rng.integers(0, 10, 2048))


def _speed_step_args(rng):
    params = _init_params(torch.Generator().manual_seed(int(rng.integers(1 << 31))))
    return params, _randn(rng, 1024, 784), torch.from_numpy(rng.integers(0, 10, 1024)), 0.1


def _step_oracle(args):
    params, x, y, lr = args
    grads, loss = _step_grads(params, x, y)
    return {k: (params[k].double() - lr * grads[k]).float() for k in PARAMETERS}, loss


SPEED = {
    "cross_entropy_backward": SpeedCase(
        MODULE, "cross_entropy_backward", _speed_ce_args, lambda args: _ce_grad(*args), target=5.0,
        inputs="logits (2048, 10) float32, 2048 targets", rtol=1e-5, atol=1e-7,
        hint="one softmax over the whole batch and one indexed subtraction for every one-hot",
        baseline="autograd through F.cross_entropy"),
    "linear_backward": SpeedCase(
        MODULE, "linear_backward",
        lambda rng: (_randn(rng, 1024, 16), _randn(rng, 16, 16, scale=0.25), _randn(rng, 1024, 16)),
        lambda args: tuple(_linear_grads(*args)), target=5.0,
        inputs="x (1024, 16), w (16, 16), grad_out (1024, 16) float32", rtol=1e-4, atol=1e-4,
        hint="three matrix products and a sum: no loop over the samples",
        baseline="autograd through x @ w + b"),
    "train_step": SpeedCase(
        MODULE, "train_step", _speed_step_args, _step_oracle, target=3.0,
        inputs="a batch of 1,024 digits, SimpleMnist's 203,530 parameters", rtol=1e-4, atol=2e-5,
        hint="matrix products over the whole batch: no loop over the samples",
        baseline="autograd on the same network"),
}


@pytest.mark.check(points=2, kind="timing", hints=HINTS_VECTORIZED)
def test_cross_entropy_backward_speed(speed, device):
    speed.check(SPEED["cross_entropy_backward"], device)


@pytest.mark.check(points=1, kind="timing", hints=HINTS_VECTORIZED)
def test_linear_backward_speed(speed, device):
    speed.check(SPEED["linear_backward"], device)


@pytest.mark.check(points=1, kind="timing", hints=HINTS_VECTORIZED)
def test_train_step_speed(speed, device):
    speed.check(SPEED["train_step"], device)
