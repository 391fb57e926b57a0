"""Hidden suite for ex06_vectorize: pairwise_sq_dists, softmax, normalize_channels, knn_predict.

Oracles are independent of the kit's solution: ``torch.cdist`` (in float64), ``torch.softmax``,
per-channel arithmetic written out channel by channel in NumPy, and a plain-Python k-NN vote.
Every function has three more checks beside correctness:

- ``<function>_vectorized`` (constraint, no noise): no line of the learner's code runs more
  often when the rows grow (grader/vectorized.py);
- ``<function>_speed[cpu]`` / ``[cuda]`` (timing): within ``SPEED[...].target`` times the
  time of its baseline (``baselines/ex06_vectorize.py``: the library routine the function
  may not use) on the same inputs (grader/engine/timing.py; the README's "Speed targets"
  says how the targets were chosen). The timed inputs have many short rows: the shape where a
  Python loop over rows costs most and moving the outputs between processes costs least.

Tests that take ``device`` run on the CPU and on CUDA; without a GPU the CUDA ones are skipped
and say so.
"""

import numpy as np
import pytest
import torch

from grader.checks.constraints import CDIST, SOFTMAX
from grader.checks.diagnose import compare_arrays
from grader.checks.expect import (expect, expect_array, expect_raises, expect_right_when_timed,
                                  expect_without)
from grader.checks.tolerance import tolerance
from grader.checks.vectorized import expect_vectorized
from grader.engine.timing import SpeedCase

pytestmark = pytest.mark.exercise("ex06_vectorize")
MODULE = "ex06_vectorize"

CDIST_RUNTIME = frozenset({"cdist", "_cdist_forward", "_euclidean_dist", "pdist", "pairwise_distance"})
SOFTMAX_RUNTIME = frozenset({"softmax", "log_softmax", "_softmax", "_log_softmax", "softmin",
                             "gumbel_softmax"})
KNN_ACCURACY = 0.92   # for k = 1 and k = 3; the reference scores 0.942 (k=1) and 0.949 (k=3)
# The thresholds a course may change (course.toml [thresholds.ex06_vectorize]), read through
# the `course` fixture.
THRESHOLDS = {"knn_accuracy": KNN_ACCURACY}

HINT_EXPANSION = ("||x - y||^2 = ||x||^2 + ||y||^2 - 2 x.y: row norms plus one matrix product "
                  "x @ y.T, clamped at 0")
HINT_STABLE = "subtract the maximum along dim before exp: the result is the same, and exp cannot overflow"
HINT_CHANNELS = "view mean and std as (1, C, 1, 1): mean[None, :, None, None] meets every pixel of its channel"
HINT_VOTE = ("take the k smallest distances per row (topk(largest=False)), count each label's "
             "votes, and let the nearest neighbour decide a tie")
HINT_DEVICE = "build new tensors with device=x.device and return the result where the inputs live"
HINT_KEEPDIM = ("the maximum (or the sum) along dim lost its axis: x.amax(dim) has one axis fewer "
                "than x, so it lines up with the wrong axis when you subtract (or divide); keep "
                "the axis with keepdim=True")
HINT_WRONG_DIM = "the softmax ran along another axis than dim: reduce along dim itself (max and sum)"
SOFTMAX_OVERFLOW = ("the result holds nan or inf where the softmax is finite: exp() overflowed "
                    "(float32 overflows above about 88)")
INT_TO_FLOAT = "integer inputs give a float32 result (the default float dtype)"

# -- hints, gentlest first (`grader hint` shows them one at a time) ----------------------------
HINTS_DISTS = (
    "Entry (i, j) is the squared length of x[i] - y[j]: every row of x against every row of y.",
    "Expand the square: ||x[i]||^2 + ||y[j]||^2 - 2 x[i].y[j]; the last term for all pairs is one "
    "matrix product of x with y transposed, and the norms broadcast as a column and a row.",
    HINT_EXPANSION,
)
HINTS_NEGATIVE = (
    "A squared distance is never negative, but the expansion's rounding can leave -1e-5 where "
    "the distance is 0.",
    "Clamp the result at 0 (clamp_min) as the last step.",
)
HINTS_DISTS_EDGES = (
    "Empty inputs give an empty (N, M) result, D = 0 gives zeros, and integer rows give floats.",
    "Whole-tensor operations handle empty axes by themselves; convert integer input to the "
    "default float dtype before computing.",
)
HINTS_DISTS_ERRORS = (
    "Both inputs are 2-D with the same number of features D (and on the same device).",
    "Check ndim and the feature sizes before computing, and raise ValueError naming both shapes.",
)
HINTS_CDIST = (
    "torch.cdist computes the distances for you; the exercise is to build them from a matrix "
    "product.",
    HINT_EXPANSION,
)
HINTS_ROW_LOOP = (
    "A loop over the rows runs its body once per row: vectorized code runs the same lines "
    "whatever the number of rows.",
    "Replace the loop by whole-tensor operations: broadcasting, one matrix product, and "
    "reductions along an axis.",
)
HINTS_DISTS_SPEED = (
    "The target is a fixed factor of torch.cdist's time on many short rows; only whole-tensor "
    "operations come close.",
    HINT_EXPANSION,
)
HINTS_SOFTMAX = (
    "softmax(x) = exp(x) divided by the sum of exp(x) along dim: positive numbers that sum to "
    "1 along dim.",
    "Reduce along dim and keep that axis (keepdim=True), so that the max and the sum broadcast "
    "back over x.",
    HINT_STABLE,
)
HINTS_STABLE = (
    "exp() of 1e4 overflows to inf, and inf / inf is nan: the naive formula breaks on large "
    "logits.",
    HINT_STABLE + " (keep the axis: keepdim=True)",
)
HINTS_SOFTMAX_DTYPES = (
    "A floating input keeps its dtype; an integer input is computed in the default float "
    "dtype (float32).",
    "Convert integer input to the default float dtype (torch.get_default_dtype(), or .float()) "
    "before exp; leave float inputs as they are.",
)
HINTS_SOFTMAX_WITHOUT = (
    "torch.softmax and F.softmax do the work for you; the exercise is to write it.",
    "Shift by the maximum along dim, exponentiate, and divide by the sum along dim yourself.",
)
HINTS_SOFTMAX_SPEED = (
    "The target is a fixed factor of torch.softmax's time; a few whole-tensor operations come "
    "close, a loop over rows does not.",
    "One max, one exp, one sum and one division over the whole tensor, along dim.",
)
HINTS_CHANNELS = (
    "Each channel c has its own mean[c] and std[c], and they apply to every pixel of that "
    "channel in every image.",
    HINT_CHANNELS,
)
HINTS_UINT8 = (
    "uint8 arithmetic wraps around (0 - 1 is 255): integer images must become floats first.",
    "Convert integer images to the default float dtype (float32) before subtracting, and build "
    "mean and std in that dtype.",
)
HINTS_CHANNELS_ERRORS = (
    "The images are 4-D (N, C, H, W), and mean and std have one entry per channel.",
    "Check images.ndim and the shapes of mean and std (after torch.as_tensor) against C, and "
    "raise ValueError naming the shapes.",
)
HINTS_CHANNEL_LOOP = (
    "A loop over the images or over the channels runs its body once per image or channel; "
    "broadcasting does all of them at once.",
    HINT_CHANNELS,
)
HINTS_CHANNELS_SPEED = (
    "The target is a fixed factor of a batch-norm call's time on many small images.",
    "One subtraction and one division over the whole batch, with mean and std viewed as "
    "(1, C, 1, 1).",
)
HINTS_KNN = (
    "For each test row: the distances to every training row, the k nearest of them, and a vote "
    "among their labels.",
    "Your pairwise_sq_dists of the test rows against the training rows gives all distances "
    "at once; topk(k, largest=False) along the training axis picks the nearest.",
    HINT_VOTE,
)
HINTS_KNN_DTYPE = (
    "Labels come back as int64, on the device of test_x, whatever the dtype of train_y.",
    "Move train_y to test_x's device and index it with the neighbours' positions; .long() makes "
    "int64 labels.",
)
HINTS_KNN_ERRORS = (
    "Bad shapes, a k that is not between 1 and the number of training points, and labels of "
    "the wrong shape are errors.",
    "Check the shapes, the feature sizes and 1 <= k <= N first, and raise ValueError naming the "
    "shapes or k and N.",
)
HINTS_KNN_CDIST = (
    "knn_predict builds on your own pairwise_sq_dists, not on a library distance routine.",
    "Get the distances from your own pairwise_sq_dists, test rows against training rows.",
)
HINTS_KNN_SPEED = (
    "The target is a fixed factor of cdist + topk on 512 queries: only whole-tensor operations "
    "come close.",
    "One distance matrix, one topk over it and a vote without a loop over the queries "
    "(count votes with one_hot or scatter_add).",
)


# -- inputs and oracles -------------------------------------------------------------------------
def _randn(rng, *shape, dtype=torch.float32, device="cpu"):
    return torch.from_numpy(rng.standard_normal(shape)).to(dtype).to(device)


def _sq_dists(x, y):
    want = torch.cdist(x.double().cpu(), y.double().cpu()).square()
    dtype = torch.promote_types(x.dtype, y.dtype)
    return want.to(dtype if dtype.is_floating_point else torch.float32).to(x.device)


def _softmax(x, dim=-1):
    return torch.softmax(x.double(), dim=dim).to(x.dtype)


def _normalized(images, mean, std):
    """Channel by channel in float64 NumPy, the way one would on paper."""
    imgs = images.cpu().double().numpy()
    out = np.empty_like(imgs)
    for c in range(imgs.shape[1]):
        out[:, c] = (imgs[:, c] - float(mean[c])) / float(std[c])
    dtype = images.dtype if images.dtype.is_floating_point else torch.float32
    return torch.from_numpy(out).to(dtype).to(images.device)


def _knn(train_x, train_y, test_x, k):
    """Plain-Python k-NN: nearest first (stable, so equal distances keep index order), the
    most votes win, a tie goes to the label whose nearest voter is closest."""
    tx, ty, qx = train_x.double().cpu().numpy(), train_y.cpu().numpy(), test_x.double().cpu().numpy()
    out = []
    for q in qx:
        order = np.argsort(((tx - q) ** 2).sum(axis=1), kind="stable")[:k]
        labels = [int(ty[i]) for i in order]
        counts = {label: labels.count(label) for label in labels}
        best = max(counts.values())
        out.append(next(label for label in labels if counts[label] == best))
    return torch.tensor(out, dtype=torch.int64, device=test_x.device)


def _separated_knn_args(rng, n_train, n_test, d, classes=10):
    """Training points spread out, test points close to one of them: one clear nearest neighbour."""
    train_x = _randn(rng, n_train, d)
    train_y = torch.from_numpy(rng.integers(0, classes, n_train))
    pick = torch.from_numpy(rng.integers(0, n_train, n_test))
    test_x = train_x[pick] + 0.01 * _randn(rng, n_test, d)
    return train_x, train_y, test_x


def _nearest_label(train_x, train_y, test_x, k=1):
    nearest = torch.cdist(test_x.double(), train_x.double()).argmin(dim=1)
    return train_y.to(test_x.device)[nearest].long()


# -- speed targets: the cases the timing checks (and `make bench`) run ---------------------------
# Each target is a ratio to the function's baseline (baselines/ex06_vectorize.py), set near the
# geometric middle of the solutions' and bench/anti's row loops' ratios, measured by `make bench`
# with 2 busy processes (30 verdicts each; median, and worst: highest for the solution, lowest
# for the loop): pairwise_sq_dists 0.99 (1.24) vs 45 (25), target 6; softmax 0.40 (0.60) vs 40
# (26), target 4; normalize_channels 1.04 (2.02) vs 34 (24), target 6; knn_predict 0.94 (1.24)
# vs 21 (12), target 4. README, "Speed targets".
def _speed_knn_args(rng):
    return (*_separated_knn_args(rng, 256, 512, 16), 1)


SPEED = {
    "pairwise_sq_dists": SpeedCase(
        MODULE, "pairwise_sq_dists", lambda rng: (_randn(rng, 1024, 16), _randn(rng, 16, 16)),
        lambda args: _sq_dists(*args), target=6.0, inputs="x (1024, 16) and y (16, 16) float32",
        rtol=1e-4, atol=1e-3, hint=HINT_EXPANSION, baseline="torch.cdist(x, y).square()"),
    "softmax": SpeedCase(
        MODULE, "softmax", lambda rng: (_randn(rng, 2048, 10) * 3,), lambda args: _softmax(*args),
        target=4.0, inputs="x (2048, 10) float32", **tolerance(torch.float32, magnitude=16.0),
        hint="one max, one exp, one sum and one division over the whole tensor, along dim",
        baseline="torch.softmax"),
    "normalize_channels": SpeedCase(
        MODULE, "normalize_channels",
        lambda rng: (_randn(rng, 1024, 3, 4, 4), torch.tensor([0.5, 0.4, 0.3]),
                     torch.tensor([0.2, 0.25, 0.3])),
        lambda args: _normalized(*args), target=6.0,
        inputs="images (1024, 3, 4, 4) float32, mean and std (3,)", rtol=1e-5, atol=1e-5,
        hint=HINT_CHANNELS, baseline="F.batch_norm"),
    "knn_predict": SpeedCase(
        MODULE, "knn_predict", _speed_knn_args, lambda args: _nearest_label(*args), target=4.0,
        inputs="train_x (256, 16), test_x (512, 16) float32, k=1", hint=HINT_VOTE,
        baseline="torch.cdist with topk"),
}

# Two inputs per function for the vectorization checks: only the rows (samples) grow.
LOOP_INPUTS = {
    "pairwise_sq_dists": (lambda rng, n: (_randn(rng, n, 4), _randn(rng, n - 1, 4)), 6, 24),
    "softmax": (lambda rng, n: (_randn(rng, n, 5),), 6, 24),
    "normalize_channels": (lambda rng, n: (_randn(rng, n, 3, 2, 2), [0.1, 0.2, 0.3], [1.0, 2.0, 0.5]), 3, 12),
    "knn_predict": (lambda rng, n: (*_separated_knn_args(rng, 2 * n, n, 4), 3), 6, 24),
}


def _timed(ex, speed, rng, settings, device, function):
    """A speed target: first one call on the timed kind of input must be right (a wrong
    result is a wrong result, not a matter of speed), then the timing."""
    if settings.timing and not (device == "cuda" and not torch.cuda.is_available()):
        expect_right_when_timed(ex, SPEED[function], rng, device)
    speed.check(SPEED[function], device)


def _softmax_tolerance(x: torch.Tensor) -> dict:
    """A correct softmax computed another way (exp(x - logsumexp(x)), say) differs by the
    rounding of logits of size |x| (grader/checks/tolerance.py)."""
    magnitude = float(x.abs().max()) if x.numel() else 1.0
    return tolerance(x.dtype if x.dtype.is_floating_point else torch.get_default_dtype(),
                     magnitude=magnitude)


def _softmax_mistake(got, x: torch.Tensor, dim: int) -> str | None:
    """The hint for a softmax that matches a known mistake: the max or the sum without its
    axis (no keepdim), another axis, or an overflow."""
    if not torch.is_tensor(got) or got.shape != x.shape:
        return None
    xd, g = x.double().cpu(), got.detach().double().cpu()
    variants = []
    try:
        e = (xd - xd.amax(dim=dim)).exp()
        variants += [(e / e.sum(dim=dim, keepdim=True), HINT_KEEPDIM), (e / e.sum(dim=dim), HINT_KEEPDIM)]
    except RuntimeError:      # the lost axis does not broadcast: the learner's code raised too
        pass
    try:
        e = (xd - xd.amax(dim=dim, keepdim=True)).exp()
        variants.append((e / e.sum(dim=dim), HINT_KEEPDIM))
    except RuntimeError:
        pass
    variants += [(torch.softmax(xd, other), HINT_WRONG_DIM) for other in range(x.ndim)
                 if other != dim % max(x.ndim, 1)]
    for value, hint in variants:
        if value.shape == g.shape and torch.allclose(g, value, rtol=1e-4, atol=1e-6, equal_nan=True):
            return hint
    if bool(torch.isfinite(torch.softmax(xd, dim)).all()) and not bool(torch.isfinite(g).all()):
        return SOFTMAX_OVERFLOW + "; " + HINT_STABLE
    return None


def _expect_softmax(got, x, dim, *, call, inputs=None, hint=None, dtype_hint=None):
    """``got`` is softmax(x, dim), within the rounding a correct method may have; a known
    mistake gets its own hint."""
    want = _softmax(x, dim)
    problem = compare_arrays(got, want, **_softmax_tolerance(x))
    if problem is not None and not problem.startswith("wrong dtype"):
        hint = _softmax_mistake(got, x, dim) or hint or HINTS_SOFTMAX[1]
    expect_array(got, want, call=call, inputs=inputs, hint=hint, dtype_hint=dtype_hint,
                 **_softmax_tolerance(x))


def _expect_no_row_loop(ex, source, function):
    make, small, large = LOOP_INPUTS[function]
    rng = np.random.default_rng(6)
    expect_vectorized(getattr(ex, function), make(rng, small), make(rng, large),
                      function=function, root=source.path.parent,
                      sizes=(f"{small} rows", f"{large} rows"), extra_rows=large - small)


# -- pairwise_sq_dists --------------------------------------------------------------------------
@pytest.mark.check(points=1, hints=HINTS_DISTS)
def test_pairwise_sq_dists_lesson_example(ex):
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([[1.0, 0.0], [3.0, 4.0]])
    expect_array(ex.pairwise_sq_dists(x, y), torch.tensor([[1.0, 25.0], [1.0, 13.0]]),
                 call="pairwise_sq_dists(x, y)", inputs={"x": x, "y": y}, rtol=1e-6, atol=1e-6)


@pytest.mark.check(points=2, hints=HINTS_DISTS, visibility="hidden")
def test_pairwise_sq_dists_random(ex, rng, device):
    for n, m, d in ((1, 1, 1), (5, 3, 2), (3, 7, 10), (40, 25, 8), (64, 1, 30)):
        for dtype in (torch.float32, torch.float64):
            x, y = _randn(rng, n, d, dtype=dtype, device=device), _randn(rng, m, d, dtype=dtype, device=device)
            # The expansion cancels terms of size ||x||^2 ~ d: its rounding grows with d.
            expect_array(ex.pairwise_sq_dists(x, y), _sq_dists(x, y), call="pairwise_sq_dists(x, y)",
                         inputs={"x": x, "y": y}, **tolerance(dtype, terms=d, magnitude=4.0),
                         hint=HINT_EXPANSION)


@pytest.mark.check(points=1, hints=HINTS_NEGATIVE)
def test_pairwise_sq_dists_never_negative(ex, rng, device):
    x = _randn(rng, 50, 20, device=device) * 100
    y = torch.cat([x, x + 1e-3])
    got = ex.pairwise_sq_dists(x, y)
    expect_array(got, _sq_dists(x, y), call="pairwise_sq_dists(x, y) of nearly equal rows",
                 rtol=1e-3, atol=10.0)
    expect(bool((got >= 0).all()), "pairwise_sq_dists(x, y) of nearly equal rows",
           f"{int((got < 0).sum())} entries are negative (smallest {float(got.min()):.3g}); "
           f"a squared distance cannot be", hint=HINTS_NEGATIVE[1])


@pytest.mark.check(points=1, hints=HINTS_DISTS_EDGES, visibility="hidden")
def test_pairwise_sq_dists_edge_cases(ex, device):
    for n, m, d in ((0, 3, 2), (3, 0, 2), (2, 3, 0)):
        x, y = torch.ones(n, d, device=device), torch.ones(m, d, device=device)
        expect_array(ex.pairwise_sq_dists(x, y), torch.zeros(n, m, device=device),
                     call=f"pairwise_sq_dists of shapes ({n}, {d}) and ({m}, {d})")
    xi = torch.tensor([[0, 0], [3, 4]])
    expect_array(ex.pairwise_sq_dists(xi, xi), torch.tensor([[0.0, 25.0], [25.0, 0.0]]),
                 call="pairwise_sq_dists of int64 rows", rtol=1e-6, dtype_hint=INT_TO_FLOAT)


@pytest.mark.check(points=1, hints=HINTS_DISTS_ERRORS, role="errors")
def test_pairwise_sq_dists_rejects_bad_shapes(ex):
    expect_raises(ValueError, ex.pairwise_sq_dists, torch.ones(3, 2), torch.ones(4, 5),
                  call="pairwise_sq_dists(x, y) with shapes (3, 2) and (4, 5)", mentions=("(3, 2)", "(4, 5)"))
    expect_raises(ValueError, ex.pairwise_sq_dists, torch.ones(3), torch.ones(4, 3),
                  call="pairwise_sq_dists(x, y) with a 1-D x", mentions=("(3,)",))


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_CDIST)
def test_pairwise_sq_dists_without_cdist(ex, source):
    x, y = torch.tensor([[0.0, 0.0], [1.0, 1.0]]), torch.tensor([[1.0, 0.0], [3.0, 4.0]])
    traced = ex.pairwise_sq_dists.call(x, y, probe=["trace"])
    expect_without(source, "pairwise_sq_dists", CDIST, trace=traced.extra.get("trace"),
                   runtime_names=CDIST_RUNTIME, hint=HINT_EXPANSION)


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_ROW_LOOP)
def test_pairwise_sq_dists_vectorized(ex, source):
    _expect_no_row_loop(ex, source, "pairwise_sq_dists")


@pytest.mark.check(points=2, kind="timing", hints=HINTS_DISTS_SPEED)
def test_pairwise_sq_dists_speed(ex, speed, rng, settings, device):
    _timed(ex, speed, rng, settings, device, "pairwise_sq_dists")


# -- softmax ------------------------------------------------------------------------------------
@pytest.mark.check(points=1, hints=HINTS_SOFTMAX)
def test_softmax_lesson_example(ex):
    x = torch.tensor([1.0, 2.0, 3.0])
    _expect_softmax(ex.softmax(x), x, -1, call="softmax([1, 2, 3])")


@pytest.mark.check(points=2, hints=HINTS_SOFTMAX, visibility="hidden")
def test_softmax_random(ex, rng, device):
    for shape, dim in (((7,), 0), ((4, 6), -1), ((4, 6), 0), ((3, 4, 5), 1), ((2, 3, 4), -3),
                       ((5, 1), 1), ((64, 10), -1)):
        for dtype in (torch.float32, torch.float64):
            x = _randn(rng, *shape, dtype=dtype, device=device) * 4
            _expect_softmax(ex.softmax(x, dim), x, dim, call=f"softmax(x, dim={dim})",
                            inputs={"x": x})
    x = _randn(rng, 3, 4, device=device)
    _expect_softmax(ex.softmax(x), x, -1, call="softmax(x) with the default dim", inputs={"x": x},
                    hint="the default dim is -1, the last axis")


@pytest.mark.check(points=2, hints=HINTS_STABLE)
def test_softmax_is_stable(ex, device):
    x = torch.tensor([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4], [1e4, 1e4, 0.0]], device=device)
    got = ex.softmax(x, 1)
    _expect_softmax(got, x, 1, call="softmax(x, dim=1) of logits +-1e4", inputs={"x": x})
    expect(bool(torch.isfinite(got).all()) and bool(torch.allclose(
               got.sum(1), torch.ones(3, device=device), **_softmax_tolerance(x))),
           "softmax(x, dim=1) of logits +-1e4", "the rows must be finite and sum to 1", hint=HINT_STABLE)


@pytest.mark.check(points=1, hints=HINTS_SOFTMAX_DTYPES)
def test_softmax_dtypes(ex, device):
    x = torch.tensor([[1, 2, 3]], device=device)
    _expect_softmax(ex.softmax(x), x.float(), -1, call="softmax of an int64 tensor",
                    dtype_hint="compute integer input in the default float dtype (float32)")
    x = torch.tensor([0.5, -1.0], dtype=torch.float64, device=device)
    _expect_softmax(ex.softmax(x), x, -1, call="softmax of a float64 tensor",
                    dtype_hint="a floating input keeps its dtype")


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_SOFTMAX_WITHOUT)
def test_softmax_without_library_softmax(ex, source):
    traced = ex.softmax.call(torch.tensor([1.0, 2.0, 3.0]), probe=["trace"])
    expect_without(source, "softmax", SOFTMAX, trace=traced.extra.get("trace"),
                   runtime_names=SOFTMAX_RUNTIME, hint=HINTS_SOFTMAX_WITHOUT[1])


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_ROW_LOOP)
def test_softmax_vectorized(ex, source):
    _expect_no_row_loop(ex, source, "softmax")


@pytest.mark.check(points=2, kind="timing", hints=HINTS_SOFTMAX_SPEED)
def test_softmax_speed(ex, speed, rng, settings, device):
    _timed(ex, speed, rng, settings, device, "softmax")


# -- normalize_channels -------------------------------------------------------------------------
@pytest.mark.check(points=1, hints=HINTS_CHANNELS)
def test_normalize_channels_lesson_example(ex):
    images = torch.tensor([[[[1.0, 3.0]], [[10.0, 30.0]]]])
    expect_array(ex.normalize_channels(images, [2.0, 20.0], [1.0, 10.0]),
                 torch.tensor([[[[-1.0, 1.0]], [[-1.0, 1.0]]]]),
                 call="normalize_channels(images, [2, 20], [1, 10])", rtol=1e-6, hint=HINT_CHANNELS)


@pytest.mark.check(points=2, hints=HINTS_CHANNELS, visibility="hidden")
def test_normalize_channels_random(ex, rng, device):
    for n, c, h, w in ((1, 1, 1, 1), (2, 3, 4, 5), (5, 3, 8, 8), (3, 4, 2, 7), (1, 2, 28, 28)):
        for dtype in (torch.float32, torch.float64):
            images = _randn(rng, n, c, h, w, dtype=dtype, device=device) * 50 + 100
            mean = torch.from_numpy(rng.uniform(50, 150, c)).to(dtype).to(device)
            std = torch.from_numpy(rng.uniform(1, 60, c)).to(dtype).to(device)
            # (x - m) / s of values near 100 with s >= 1: a result of size ~1 from numbers of ~100.
            expect_array(ex.normalize_channels(images, mean, std), _normalized(images, mean, std),
                         call="normalize_channels(images, mean, std)",
                         inputs={"images": images, "mean": mean, "std": std},
                         **tolerance(dtype, magnitude=250.0), hint=HINT_CHANNELS)
    images = _randn(rng, 2, 3, 2, 2, device=device)
    expect_array(ex.normalize_channels(images, [0.1, 0.2, 0.3], (1.0, 2.0, 4.0)),
                 _normalized(images, [0.1, 0.2, 0.3], (1.0, 2.0, 4.0)),
                 call="normalize_channels(images, a list, a tuple)", rtol=1e-5, atol=1e-6,
                 hint="torch.as_tensor(mean, dtype=..., device=images.device) takes lists too")


@pytest.mark.check(points=1, hints=HINTS_UINT8)
def test_normalize_channels_uint8_images(ex, rng, device):
    images = torch.from_numpy(rng.integers(0, 256, (2, 3, 4, 4)).astype(np.uint8)).to(device)
    mean, std = [125.3, 123.0, 113.9], [63.0, 62.1, 66.7]
    expect_array(ex.normalize_channels(images, mean, std), _normalized(images, mean, std),
                 call="normalize_channels of uint8 images", rtol=1e-5, atol=1e-5,
                 hint="convert integer images to float32 first: uint8 arithmetic wraps around",
                 dtype_hint="integer images give float32 (the default float dtype); convert them "
                            "first: uint8 arithmetic wraps around")


@pytest.mark.check(points=1, hints=HINTS_CHANNELS_ERRORS, role="errors")
def test_normalize_channels_rejects_bad_shapes(ex):
    expect_raises(ValueError, ex.normalize_channels, torch.ones(3, 4, 4), [0.0] * 3, [1.0] * 3,
                  call="normalize_channels of a 3-D image", mentions=("(3, 4, 4)",))
    expect_raises(ValueError, ex.normalize_channels, torch.ones(2, 3, 4, 4), [0.0, 0.0], [1.0] * 3,
                  call="normalize_channels with 3 channels and 2 means", mentions=("(2,)",))


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_CHANNEL_LOOP)
def test_normalize_channels_vectorized(ex, source):
    _expect_no_row_loop(ex, source, "normalize_channels")
    # The docstring: no loop over channels either (the lesson broadcasts mean[None, :, None, None]).
    rng = np.random.default_rng(7)
    make = lambda c: (_randn(rng, 2, c, 2, 2), list(rng.uniform(-1, 1, c)), list(rng.uniform(1, 2, c)))
    expect_vectorized(ex.normalize_channels, make(3), make(12), function="normalize_channels",
                      root=source.path.parent, sizes=("3 channels", "12 channels"), extra_rows=9,
                      hint=HINT_CHANNELS, unit="channel")


@pytest.mark.check(points=2, kind="timing", hints=HINTS_CHANNELS_SPEED)
def test_normalize_channels_speed(ex, speed, rng, settings, device):
    _timed(ex, speed, rng, settings, device, "normalize_channels")


# -- knn_predict --------------------------------------------------------------------------------
@pytest.mark.check(points=1, hints=HINTS_KNN)
def test_knn_predict_lesson_example(ex):
    train_x = torch.tensor([[0.0], [1.0], [10.0], [11.0]])
    train_y = torch.tensor([0, 0, 1, 1])
    expect_array(ex.knn_predict(train_x, train_y, torch.tensor([[0.4], [10.6]]), 3),
                 torch.tensor([0, 1]), call="knn_predict(train_x, train_y, [[0.4], [10.6]], k=3)",
                 hint=HINT_VOTE, dtype_hint=HINTS_KNN_DTYPE[1])
    expect_array(ex.knn_predict(train_x, train_y, torch.tensor([[5.4]]), 2), torch.tensor([0]),
                 call="knn_predict(train_x, train_y, [[5.4]], k=2), a 1-1 tie",
                 hint="a tie goes to the label of the nearest neighbour")


@pytest.mark.check(points=2, hints=HINTS_KNN, visibility="hidden")
def test_knn_predict_brute_force(ex, rng, device):
    for n, m, d, k, classes in ((10, 4, 2, 1, 3), (30, 12, 5, 3, 4), (50, 20, 3, 5, 3),
                                (40, 15, 8, 4, 5), (8, 6, 2, 8, 2)):
        train_x, test_x = _randn(rng, n, d, device=device), _randn(rng, m, d, device=device)
        train_y = torch.from_numpy(rng.integers(0, classes, n)).to(device)
        expect_array(ex.knn_predict(train_x, train_y, test_x, k), _knn(train_x, train_y, test_x, k),
                     call=f"knn_predict(train_x, train_y, test_x, k={k})",
                     inputs={"train_x": train_x, "train_y": train_y, "test_x": test_x},
                     hint=HINT_VOTE)


@pytest.mark.check(points=2, hints=HINTS_KNN)
def test_knn_predict_mnist_accuracy(ex, course):
    from grader.data import load_mnist

    digits = load_mnist()
    threshold = course.threshold("knn_accuracy")
    for k in (1, 3):
        got = ex.knn_predict(digits.train_x, digits.train_y, digits.test_x, k)
        expect(torch.is_tensor(got) and tuple(got.shape) == tuple(digits.test_y.shape),
               f"knn_predict(4,000 MNIST digits, 1,000 held-out digits, k={k})",
               f"expected labels of shape {tuple(digits.test_y.shape)}, got "
               f"{getattr(got, 'shape', type(got).__name__)}")
        accuracy = float((got.cpu() == digits.test_y).double().mean())
        expect(accuracy >= threshold, f"knn_predict(4,000 MNIST digits, 1,000 held-out digits, k={k})",
               f"held-out accuracy {accuracy:.3f}, expected at least {threshold:.2f} "
               f"(the reference reaches about 0.94)", hint=HINT_VOTE)


@pytest.mark.check(points=1, hints=HINTS_KNN_DTYPE)
def test_knn_predict_dtype_and_device(ex, rng, device):
    train_x, train_y, test_x = _separated_knn_args(rng, 20, 7, 3)
    got = ex.knn_predict(train_x.to(device), train_y.to(device), test_x.to(device), 1)
    expect_array(got, _knn(train_x, train_y, test_x, 1).to(device),
                 call="knn_predict(train_x, train_y, test_x, k=1)", hint=HINT_VOTE,
                 dtype_hint="labels are int64, on the device of test_x")
    got = ex.knn_predict(train_x.to(device), train_y.to(torch.int32).to(device), test_x.to(device), 1)
    expect_array(got, _knn(train_x, train_y, test_x, 1).to(device),
                 call="knn_predict with int32 train_y", hint=HINT_VOTE,
                 dtype_hint="return int64 labels whatever the dtype of train_y (.long())")


@pytest.mark.check(points=1, hints=HINTS_KNN_ERRORS, role="errors")
def test_knn_predict_rejects_bad_input(ex):
    x, y = torch.ones(4, 2), torch.tensor([0, 1, 0, 1])
    expect_raises(ValueError, ex.knn_predict, x, y, torch.ones(3, 5),
                  call="knn_predict with feature sizes 2 and 5", mentions=("(4, 2)", "(3, 5)"))
    expect_raises(ValueError, ex.knn_predict, x, y, torch.ones(3, 2), 5,
                  call="knn_predict with k=5 and 4 training points", mentions=("5",))
    expect_raises(ValueError, ex.knn_predict, x, y, torch.ones(3, 2), 0,
                  call="knn_predict with k=0", mentions=("0",))


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_KNN_CDIST)
def test_knn_predict_without_cdist(ex, source):
    train_x, train_y = torch.tensor([[0.0], [1.0], [10.0], [11.0]]), torch.tensor([0, 0, 1, 1])
    traced = ex.knn_predict.call(train_x, train_y, torch.tensor([[0.4]]), 3, probe=["trace"])
    expect_without(source, "knn_predict", CDIST, trace=traced.extra.get("trace"),
                   runtime_names=CDIST_RUNTIME, hint=HINTS_KNN_CDIST[1])


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_ROW_LOOP)
def test_knn_predict_vectorized(ex, source):
    _expect_no_row_loop(ex, source, "knn_predict")


@pytest.mark.check(points=2, kind="timing", hints=HINTS_KNN_SPEED)
def test_knn_predict_speed(ex, speed, rng, settings, device):
    _timed(ex, speed, rng, settings, device, "knn_predict")
