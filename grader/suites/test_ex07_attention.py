"""Hidden suite for ex07_attention: causal_mask, scaled_dot_product_attention, split_heads,
merge_heads, multi_head_attention.

The oracles are PyTorch's own, computed here in float64 on the CPU: ``torch.softmax`` of the
scaled, masked scores for the weights, ``F.scaled_dot_product_attention`` for the output, and
a ``view``/``permute`` head split feeding ``F.scaled_dot_product_attention`` for
multi-head attention (the reference tests add ``nn.MultiheadAttention``). A float32 result
is compared with rtol 1e-4 / atol 1e-5 (a softmax and two products of float32 rounding, far
below what any mistake moves), a float64 one with rtol 1e-9.

When the weights are wrong the feedback says which classic mistake they behave like, by
recomputing the mistake here and comparing: no 1/sqrt(d) scale (too peaked: the feedback
gives the mean largest weight of a row, learner's and expected), dividing by d, a softmax
over the queries (the columns sum to 1, the rows do not), the mask applied after the softmax
(rows no longer sum to 1), masked scores set to 0 instead of -inf, scores computed as
k @ q^T (transposed weights). Code that works on 2-D q, k, v but raises with leading batch or
head axes transposes the wrong pair of axes (``k.T``, ``transpose(1, 2)``). A head split
that reshapes straight to (B, H, L, D/H) is recognised from its values.

Speed: ``multi_head_attention`` is timed against the reference on many short sequences,
x (64, 8, 32) with 4 heads, where a loop over batch items and heads costs most. The
vectorization checks (no line runs more often when B, H and L grow) catch loops that the
timing would not, such as a loop over the 4 heads alone.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.checks.constraints import SOFTMAX, Forbidden
from grader.checks.diagnose import describe
from grader.checks.expect import (CheckFailed, expect, expect_array, expect_raises, expect_without,
                                  fail, result_of)
from grader.checks.vectorized import expect_vectorized
from grader.engine.timing import SpeedCase

pytestmark = pytest.mark.exercise("ex07_attention")
MODULE = "ex07_attention"

# The source lesson's shapes: 32 sentences of 128 tokens, 64 numbers per head, 12 heads.
LESSON_B, LESSON_L, LESSON_D_HEAD, LESSON_HEADS = 32, 128, 64, 12
LESSON_D = LESSON_HEADS * LESSON_D_HEAD   # 768

LIBRARY_ATTENTION = Forbidden(
    "a library attention",
    frozenset((
        "torch.nn.functional.scaled_dot_product_attention torch._C._nn.scaled_dot_product_attention"
        " torch.nn.MultiheadAttention torch.nn.modules.activation.MultiheadAttention"
        " torch.nn.functional.multi_head_attention_forward torch._native_multi_head_attention"
        " torch._scaled_dot_product_attention_math torch._scaled_dot_product_flash_attention_for_cpu"
        " torch.nn.Transformer torch.nn.TransformerEncoderLayer torch.nn.TransformerDecoderLayer"
    ).split()),
    hint="write the steps yourself: q @ k^T / sqrt(d), a softmax over the keys, then @ v",
)
ATTENTION_RULES = (LIBRARY_ATTENTION, SOFTMAX)
ATTENTION_RUNTIME = frozenset({
    "scaled_dot_product_attention", "multi_head_attention_forward", "_native_multi_head_attention",
    "_scaled_dot_product_attention_math", "_scaled_dot_product_flash_attention_for_cpu",
    "softmax", "log_softmax", "_softmax", "_log_softmax", "softmin", "gumbel_softmax"})
# What copies a tensor (split_heads must not): reshape and transpose of a contiguous x never do.
COPIES = frozenset({"contiguous", "clone", "copy_", "stack", "cat", "concat", "concatenate",
                    "hstack", "vstack", "dstack", "repeat", "tile", "empty", "zeros", "empty_like",
                    "zeros_like", "new_empty", "new_zeros", "index_select", "gather", "take"})

# -- feedback: the diagnoses ---------------------------------------------------------------------
NO_SCALE = ("the weights are softmax(q @ k^T) without the 1/sqrt(d) scale (d = {d}): too peaked, "
            "the largest weight of a row is {got:.2f} on average where it should be {want:.2f}")
DIVIDED_BY_D = ("the weights are softmax(q @ k^T / d): divided by d = {d} instead of sqrt(d) = "
                "{root:g}, so too flat: the largest weight of a row is {got:.2f} on average where "
                "it should be {want:.2f}")
WRONG_AXIS = ("the rows of weights do not sum to 1 (row {row} sums to {total:.3f}) but its columns "
              "do: the softmax ran over the queries (dim=-2) instead of the keys (the last axis)")
ROWS_NOT_ONE = ("the rows of weights must sum to 1 over the keys (the last axis); row {row} sums to "
                "{total:.3f}")
MASK_AFTER = ("the mask was applied after the softmax: the masked weights are 0, but the rows no "
              "longer sum to 1 (row {row} sums to {total:.3f})")
MASK_ZERO_FILL = ("the masked scores were set to 0, which is a score like any other: the masked "
                  "keys still get weight (exp(0) = 1 before normalising)")
MASK_RAISED = ("raised {error} for a mask in which every row has at least one True: True means "
               "'may attend' (causal_mask is True where j <= i), and only a row that is all False "
               "is an error")
MASKED_NOT_ZERO = "masked keys got weight: the largest weight where the mask is False is {worst:.3g}"
WEIGHTS_TRANSPOSED = ("weights has shape {got}, the transpose of {want}: the scores are q @ k^T, "
                      "one row per query and one column per key")
WRONG_AXES = ("it works on 2-D q, k, v (one sequence) but not with leading batch or head axes "
              "(here q has shape {shape}): the transpose of k must swap only its last two axes, "
              "whatever comes before them; k.T reverses all axes and transpose(0, 1) or (1, 2) "
              "swap the wrong pair. It raised: {error}")
HINT_OUT = "the weights are right, so out = weights @ v: (..., Lq, Lk) @ (..., Lk, dv)"
NOT_A_PAIR = "expected a tuple (out, weights) of two tensors, got {got}"
FULLY_MASKED_RETURNED = ("returned instead of raising ValueError: query row 1 has every key masked, "
                         "so its softmax is 0 / 0{nan}; say which row it is in a ValueError")
NOT_STABLE = ("the weights hold {bad} for scores of size 1e4: exp() overflowed; subtract each row's "
              "maximum before exp (the shift cancels in the ratio)")
SPLIT_NO_TRANSPOSE = ("the heads are cut by a reshape straight to (B, H, L, D/H): that cuts the "
                      "sequence into {h} pieces, not the features of each position. Reshape to "
                      "(B, L, H, D/H), then swap axes 1 and 2")
MERGE_NO_TRANSPOSE = ("merge_heads reshapes (B, H, L, D/H) straight to (B, L, D): swap axes 1 and 2 "
                      "back first, so that each position gets its own heads' features")
MHA_SPLIT = ("the output is what heads split by a reshape straight to (B, H, L, D/H) give: that "
             "cuts the sequence into {h} pieces instead of the features; reshape to (B, L, H, D/H) "
             "and swap axes 1 and 2 (and swap them back before merging)")
MHA_NO_SCALE = "the output is what attention without the 1/sqrt(d) scale gives (d = D/H = {d})"
MHA_NOT_CAUSAL = "causal=True, but the output is that of attention without the causal mask"
MHA_TRANSPOSED_W = ("the output is what x @ w.T gives: the kit's layers multiply x @ w, with w of "
                    "shape (in, out) as in ex04")
MHA_NO_W_O = "the output is the merged heads without the final product @ w_o"
MHA_BLAMES_SDPA = ("multi_head_attention is built on your scaled_dot_product_attention, which is "
                   "not right yet on (B, H, L, d) heads with a causal mask; fix it first:")
SPLIT_COPIES = ("split_heads copies the data (it called {names}): a reshape to (B, L, H, D/H) and a "
                "transpose are both views of x, so no copy is needed")

HINT_SCORES = ("weights = softmax(q @ k^T / sqrt(d)) over the last axis, and out = weights @ v; "
               "d is q.shape[-1]")
HINT_DEVICE = "keep everything on the device of q: new tensors get device=q.device"
HINT_DTYPE = "keep the dtype of q (float32 stays float32): no .double() or .float() on the way"
HINT_MERGE = "swap axes 1 and 2 back, then join the heads' features of each position"
HINTS_SCORES = (
    "Three steps: scores from q and k, a softmax of each row of scores, then the weighted "
    "sum of the values. Check each step's shape: (..., Lq, Lk) for the scores.",
    "Check the steps in order on a small input: the scores have shape (..., Lq, Lk) and are "
    "divided by sqrt(d), d = q.shape[-1]; the softmax runs along the last axis (keepdim=True "
    "keeps its max and sum broadcastable); the last step is a second matrix product.",
)
HINTS_MASK = (
    "A masked key must get no weight, and every row must still sum to 1: so the mask acts on "
    "the scores, before the softmax, not on the weights after it.",
    "Give the masked scores the value -inf before the softmax (a masked fill with the negated "
    "mask): exp(-inf) = 0, so they drop out and the rest still sums to 1. True in the mask "
    "means 'may attend'.",
)
HINTS_AXES = (
    "With a batch (and head) axis in front, q and k are 3-D or 4-D: the scores still pair the "
    "last two axes only.",
    "k.transpose(-2, -1) swaps the last two axes whatever the number of dimensions; k.T or "
    "k.transpose(1, 2) do not.",
)
HINTS_SPLIT = (
    "Head h of a position holds that position's features h*D/H to (h+1)*D/H: the split cuts "
    "the last axis, the sequence stays whole.",
    "Two steps: a reshape that cuts only the last axis into H pieces of D/H, keeping B and L "
    "where they are, then a transpose that moves the head axis in front of L.",
)
HINTS_MHA = (
    "Project with x @ w_q, x @ w_k and x @ w_v, split each into heads, attend once over all "
    "heads, merge the heads, multiply by w_o.",
    "Build on your own functions: three projections (x times each weight), split_heads on "
    "each, one scaled_dot_product_attention for all heads (with the causal mask when asked), "
    "merge_heads, and a last product with w_o.",
)
HINTS_VECTORIZED = (
    "The batch and head axes are just leading axes of one tensor: torch.matmul and your "
    "softmax treat them all at once.",
    "Remove the Python loop: q @ k.transpose(-2, -1) works on (B, H, L, d) as it does on (L, d).",
)
HINTS_CONSTRAINT = (
    "This exercise asks for attention written out: the library's attention and softmax do the "
    "work you are learning to do.",
    "Write the softmax yourself: shift each row of scores by its maximum, exponentiate, and "
    "divide by the row's sum.",
)
HINTS_ERRORS = (
    "Check the shapes at the top of the function and raise ValueError with the shapes in the "
    "message, before any product runs.",
    "Name both shapes (or both numbers) in the message, as the docstring's example does.",
)


# -- inputs and oracles --------------------------------------------------------------------------
def _randn(rng, *shape, dtype=torch.float32, device="cpu", scale=1.0) -> torch.Tensor:
    return (torch.from_numpy(rng.standard_normal(shape)) * scale).to(dtype).to(device)


def _tol(dtype: torch.dtype) -> dict:
    return {"rtol": 1e-4, "atol": 1e-5} if dtype == torch.float32 else {"rtol": 1e-9, "atol": 1e-11}


def _cpu64(*tensors):
    return [t.detach().cpu().to(torch.float64) for t in tensors]


def _scores(q, k):
    q64, k64 = _cpu64(q, k)
    return q64 @ k64.transpose(-2, -1)


def _masked(scores, mask, fill=float("-inf")):
    return scores if mask is None else scores.masked_fill(~mask.cpu(), fill)


def _attention(q, k, v, mask=None):
    """(out, weights) in q's dtype and device: weights by torch.softmax, out by torch's own
    scaled_dot_product_attention, both in float64 on the CPU."""
    q64, k64, v64 = _cpu64(q, k, v)
    weights = torch.softmax(_masked(_scores(q, k) / math.sqrt(q.shape[-1]), mask), dim=-1)
    out = F.scaled_dot_product_attention(q64, k64, v64,
                                         attn_mask=None if mask is None else mask.cpu())
    return out.to(q.dtype).to(q.device), weights.to(q.dtype).to(q.device)


def _mha(x, w_q, w_k, w_v, w_o, n_heads, causal=False, *, split_by_reshape=False,
         merge_by_reshape=False, scale=None, transpose_w=False, skip_w_o=False):
    """Multi-head attention in float64 with torch's attention; the keywords recompute the
    classic mistakes for the diagnoses."""
    x64, *ws = _cpu64(x, w_q, w_k, w_v, w_o)
    if transpose_w:
        ws = [w.T for w in ws]
    b, length, d = x64.shape
    h = n_heads
    heads = ((lambda t: t.reshape(b, h, length, d // h)) if split_by_reshape else
             (lambda t: t.view(b, length, h, d // h).permute(0, 2, 1, 3)))
    q, k, v = (heads(x64 @ w) for w in ws[:3])
    out = F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)
    merged = out.reshape(b, length, d) if merge_by_reshape else out.permute(0, 2, 1, 3).reshape(b, length, d)
    result = merged if skip_w_o else merged @ ws[3]
    return result.to(x.dtype).to(x.device)


def _mha_args(rng, b, length, d, h, *, dtype=torch.float32, device="cpu", causal=False):
    x = _randn(rng, b, length, d, dtype=dtype, device=device)
    ws = [_randn(rng, d, d, dtype=dtype, device=device, scale=d ** -0.5) for _ in range(4)]
    return (x, *ws, h, causal)


def _close(got, want, rtol=1e-3, atol=1e-5) -> bool:
    got, want = got.detach().cpu().double(), want.detach().cpu().double()
    return got.shape == want.shape and bool(torch.allclose(got, want, rtol=rtol, atol=atol,
                                                           equal_nan=True))


def _first_bad_row(sums: torch.Tensor) -> tuple[int, float]:
    flat = sums.reshape(-1, sums.shape[-1]) if sums.ndim > 1 else sums[None]
    bad = (flat - 1).abs() > 1e-3
    r, i = (int(t) for t in bad.nonzero()[0]) if bad.any() else (0, 0)
    return i, float(flat[r, i])


# -- calling the learner, and what their result means ---------------------------------------------
def _pair(got, call):
    ok = (isinstance(got, (tuple, list)) and len(got) == 2
          and all(isinstance(t, torch.Tensor) for t in got))
    expect(ok, call, NOT_A_PAIR.format(got=describe(got)),
           hint="return out, weights (a tuple): out first")
    return got


def _attend(ex, q, k, v, mask=None, *, call, inputs=None):
    """The learner's (out, weights); when it raises on batched input but works on one
    2-D slice, the feedback says that it transposes the wrong pair of axes."""
    args = (q, k, v) if mask is None else (q, k, v, mask)
    try:
        return _pair(result_of(ex.scaled_dot_product_attention, *args, call=call, inputs=inputs,
                               hint=HINT_SCORES), call)
    except CheckFailed as failed:
        if q.ndim > 2 and "\n  raised " in failed.feedback and _works_on_one_matrix(ex, q, k, v, mask):
            error = failed.feedback.split("\n  raised ", 1)[1].split("\n")[0]
            fail(call, WRONG_AXES.format(shape=tuple(q.shape), error=error), hint=HINTS_AXES[1])
        raise


def _works_on_one_matrix(ex, q, k, v, mask) -> bool:
    lead = (0,) * (q.ndim - 2)
    q2, k2, v2 = q[lead], k[lead], v[lead]
    m2 = None if mask is None else mask[(0,) * (mask.ndim - 2)]
    args = (q2, k2, v2) if m2 is None else (q2, k2, v2, m2)
    try:
        got = result_of(ex.scaled_dot_product_attention, *args, call="")
    except CheckFailed:
        return False
    if not (isinstance(got, (tuple, list)) and len(got) == 2 and isinstance(got[1], torch.Tensor)):
        return False
    return _close(got[1], _attention(q2, k2, v2, m2)[1])


def _diagnose_weights(got: torch.Tensor, q, k, v, mask) -> str | None:
    """Which classic mistake the weights behave like; None when none fits."""
    want = _attention(q, k, v, mask)[1].cpu().double()
    got = got.detach().cpu().double()
    if got.shape != want.shape:
        transposed = want.shape[:-2] + (want.shape[-1], want.shape[-2])
        if got.shape == transposed and want.shape[-1] != want.shape[-2]:
            return WEIGHTS_TRANSPOSED.format(got=tuple(got.shape), want=tuple(want.shape))
        return None
    d = q.shape[-1]
    scores = _scores(q, k)
    peak = lambda w: float(w.amax(dim=-1).mean())   # noqa: E731 (how peaked the rows are)
    if _close(got, torch.softmax(_masked(scores, mask), dim=-1)):
        return NO_SCALE.format(d=d, got=peak(got), want=peak(want))
    if d > 1 and _close(got, torch.softmax(_masked(scores / d, mask), dim=-1)):
        return DIVIDED_BY_D.format(d=d, root=math.sqrt(d), got=peak(got), want=peak(want))
    several = _several_mistakes(got, scores, mask, d)
    if several:
        return several
    scaled = scores / math.sqrt(d)
    if mask is not None:
        after = torch.softmax(scaled, dim=-1) * mask.cpu()
        if _close(got, after):
            return MASK_AFTER.format(**_row_sum(got))
        if _close(got, torch.softmax(_masked(scaled, mask, 0.0), dim=-1)):
            return MASK_ZERO_FILL
        blocked = got.masked_select(~mask.cpu().expand(got.shape))
        if blocked.numel() and float(blocked.abs().max()) > 1e-6:
            return MASKED_NOT_ZERO.format(worst=float(blocked.abs().max()))
    sums = got.sum(dim=-1)
    if not torch.allclose(sums, torch.ones_like(sums), atol=1e-3):
        columns = got.sum(dim=-2)
        if torch.allclose(columns, torch.ones_like(columns), atol=1e-3):
            return WRONG_AXIS.format(**_row_sum(got))
        return ROWS_NOT_ONE.format(**_row_sum(got))
    return None


# The classic mistakes of the weights as independent choices, for learners who make several
# at once (no scale and the softmax over the queries, say): every combination of two or more.
SCALE_MISTAKES = {"sqrt": None, "none": "no 1/sqrt(d) scale (d = {d})",
                  "d": "divided by d = {d} instead of sqrt(d)"}
MASK_MISTAKES = {"before": None, "after": "the mask applied after the softmax (masked weights "
                 "set to 0, rows no longer summing to 1)",
                 "zero": "masked scores set to 0 instead of -inf"}
AXIS_MISTAKES = {-1: None, -2: "the softmax over the queries (dim=-2) instead of the keys (the last axis)"}
SEVERAL_MISTAKES = "the weights behave like attention with {count} mistakes at once:"


def _several_mistakes(got: torch.Tensor, scores: torch.Tensor, mask, d: int) -> str | None:
    """The combination of two or more classic mistakes the weights match, named; None if none."""
    divisors = {"sqrt": math.sqrt(d), "none": 1.0, "d": float(d)}
    for scale, scale_text in SCALE_MISTAKES.items():
        for how, mask_text in (MASK_MISTAKES.items() if mask is not None else [("before", None)]):
            for axis, axis_text in AXIS_MISTAKES.items():
                texts = [t.format(d=d) for t in (scale_text, mask_text, axis_text) if t]
                if len(texts) < 2 or (scale == "d" and d == 1):
                    continue
                scaled = scores / divisors[scale]
                if how == "after":
                    weights = torch.softmax(scaled, dim=axis) * mask.cpu()
                else:
                    weights = torch.softmax(_masked(scaled, mask, 0.0 if how == "zero" else float("-inf")),
                                            dim=axis)
                if _close(got, weights):
                    return "\n  ".join([SEVERAL_MISTAKES.format(count=len(texts))]
                                        + [f"- {t}" for t in texts])
    return None


def _row_sum(weights) -> dict:
    row, total = _first_bad_row(weights.sum(dim=-1))
    return {"row": row, "total": total}


def _expect_attention(got, q, k, v, mask=None, *, call, inputs=None, hint=HINT_SCORES):
    out, weights = got
    want_out, want_w = _attention(q, k, v, mask)
    tol = _tol(q.dtype)
    same_kind = weights.dtype == want_w.dtype and weights.device.type == want_w.device.type
    if same_kind and not _close(weights, want_w, **tol):
        why = _diagnose_weights(weights, q, k, v, mask)
        if why:
            fail(call, why, inputs=inputs, hint=hint)
    for name, got_t, want_t, why in (("weights", weights, want_w, hint), ("out", out, want_out, HINT_OUT)):
        expect(not isinstance(got_t, torch.Tensor) or got_t.device.type == want_t.device.type,
               f"{call}: {name}", f"wrong device: expected the result on {want_t.device.type}, got "
               f"it on {got_t.device}", inputs=inputs, hint=HINT_DEVICE)
        expect_array(got_t, want_t, call=f"{call}: {name}", inputs=inputs, hint=why,
                     dtype_hint=HINT_DTYPE, **tol)


# -- causal_mask -----------------------------------------------------------------------------------
LESSON_MASK = torch.tensor([[True, False, False, False], [True, True, False, False],
                            [True, True, True, False], [True, True, True, True]])


@pytest.mark.check(points=1, hints=(
    "Row i of the mask is position i; column j says whether i may look at j: the past and "
    "itself, never the future.",
    "Compare a column of positions with a row of positions (broadcasting builds the (L, L) "
    "table); the comparison that is True where j <= i is the mask.",
))
def test_causal_mask_lesson_example(ex):
    got = result_of(ex.causal_mask, 4, call="causal_mask(4)")
    expect(isinstance(got, torch.Tensor), "causal_mask(4)",
           f"expected a bool tensor, got {describe(got)}")
    expect(got.dtype == torch.bool, "causal_mask(4)",
           f"expected a bool tensor (True = may look), got {str(got.dtype).replace('torch.', '')}",
           hint="a comparison such as i >= j gives bool; do not convert it to float")
    if tuple(got.shape) == (4, 4):
        if torch.equal(got, LESSON_MASK.T):
            fail("causal_mask(4)", "your mask is True where j >= i: position i would see the "
                 "future. Row i must be True for columns j <= i")
        if torch.equal(got, LESSON_MASK.tril(-1)):
            fail("causal_mask(4)", "the diagonal is False: position i may look at itself "
                 "(j <= i, not j < i)")
        if torch.equal(got, ~LESSON_MASK):
            fail("causal_mask(4)", "your mask is the complement: True must mark what position i "
                 "may look at (j <= i), not what it may not")
    expect_array(got, LESSON_MASK, call="causal_mask(4)", hint="True where j <= i")


@pytest.mark.check(points=1, hints=(
    "The mask must have the asked size and live on the asked device.",
    "torch.arange(length, device=device) builds the positions where they are needed.",
), visibility="hidden")
def test_causal_mask_sizes_and_device(ex, device):
    for length in (0, 1, 2, 7, 33):
        got = result_of(ex.causal_mask, length, device=device, call=f"causal_mask({length}, device={device!r})")
        want = torch.ones(length, length, dtype=torch.bool).tril().to(device)
        expect_array(got, want, call=f"causal_mask({length}, device={device!r})",
                     hint="True where j <= i, on the device asked for")
    got = result_of(ex.causal_mask, np.int64(3), call="causal_mask(np.int64(3))")
    expect_array(got, LESSON_MASK[:3, :3], call="causal_mask(np.int64(3))",
                 hint="a NumPy integer is an integer too (operator.index)")


@pytest.mark.check(points=1, hints=HINTS_ERRORS, role="errors")
def test_causal_mask_rejects_bad_length(ex):
    expect(isinstance(result_of(ex.causal_mask, 2, call="causal_mask(2)"), torch.Tensor),
           "causal_mask(2)", "expected a tensor")
    expect_raises(ValueError, ex.causal_mask, -1, call="causal_mask(-1)", mentions=("-1",))
    expect_raises(ValueError, ex.causal_mask, 2.5, call="causal_mask(2.5)", mentions=("2.5",))


# -- scaled_dot_product_attention ----------------------------------------------------------------------
@pytest.mark.check(points=2, hints=HINTS_SCORES)
def test_scaled_dot_product_attention_lesson_example(ex, rng):
    """The source page's shapes: (32, 128, 64) queries and keys give (32, 128, 128) weights."""
    q, k, v = (_randn(rng, LESSON_B, LESSON_L, LESSON_D_HEAD) for _ in range(3))
    call = "scaled_dot_product_attention(q, k, v) with q, k, v of shape (32, 128, 64)"
    _expect_attention(_attend(ex, q, k, v, call=call), q, k, v, call=call)


@pytest.mark.check(points=1, hints=HINTS_SCORES)
def test_scaled_dot_product_attention_small_example(ex):
    """The docstring's example, small enough to check by hand."""
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    v = torch.tensor([[10.0], [20.0]])
    call = "scaled_dot_product_attention(q, k, v)"
    inputs = {"q": q, "k": k, "v": v}
    _expect_attention(_attend(ex, q, k, v, call=call, inputs=inputs), q, k, v, call=call,
                      inputs=inputs)


@pytest.mark.check(points=2, hints=HINTS_AXES, visibility="hidden")
def test_scaled_dot_product_attention_random(ex, rng, device):
    for lead, lq, lk, d, dv in (((), 1, 1, 1, 1), ((), 3, 5, 4, 2), ((2,), 4, 4, 8, 8),
                                ((3,), 5, 2, 3, 6), ((2, 3), 6, 7, 4, 5), ((1, 2, 2), 3, 3, 2, 3)):
        for dtype in (torch.float32, torch.float64):
            q = _randn(rng, *lead, lq, d, dtype=dtype, device=device)
            k = _randn(rng, *lead, lk, d, dtype=dtype, device=device)
            v = _randn(rng, *lead, lk, dv, dtype=dtype, device=device)
            call = (f"scaled_dot_product_attention(q, k, v) on {str(dtype)[6:]} q {tuple(q.shape)}, "
                    f"k {tuple(k.shape)}, v {tuple(v.shape)}")
            _expect_attention(_attend(ex, q, k, v, call=call), q, k, v, call=call,
                              hint=HINT_DEVICE if device != "cpu" else HINT_SCORES)
    # Leading axes that broadcast, as in torch.matmul: one k and v for every head.
    q = _randn(rng, 2, 3, 4, 5, device=device)
    k, v = _randn(rng, 2, 1, 6, 5, device=device), _randn(rng, 2, 1, 6, 2, device=device)
    call = "scaled_dot_product_attention(q, k, v) with q (2, 3, 4, 5) and k, v (2, 1, 6, ...)"
    _expect_attention(_attend(ex, q, k, v, call=call), q, k, v, call=call,
                      hint="use torch.matmul for both products: it broadcasts leading axes")


@pytest.mark.check(points=2, hints=HINTS_MASK)
def test_scaled_dot_product_attention_with_mask(ex, rng, device):
    length = 5
    causal = torch.ones(length, length, dtype=torch.bool).tril().to(device)
    q, k, v = (_randn(rng, 2, length, 4, device=device) for _ in range(3))
    call = "scaled_dot_product_attention(q, k, v, causal_mask(5)) with q, k, v of shape (2, 5, 4)"
    got = _attend_masked(ex, q, k, v, causal, call=call)
    _expect_attention(got, q, k, v, causal, call=call, hint=HINTS_MASK[1])
    blocked = got[1].detach().cpu().masked_select(~causal.cpu().expand(got[1].shape))
    expect(bool((blocked == 0).all()), call, "masked keys must get weight exactly 0, not just "
           "a small one", hint=HINTS_MASK[1])
    # A random mask of shape (B, 1, Lq, Lk), broadcast over the heads; every row keeps a key.
    allowed = torch.from_numpy(rng.random((2, 1, 4, 6)) < 0.5)
    allowed[..., 0] = True
    q = _randn(rng, 2, 3, 4, 8, device=device)
    k, v = _randn(rng, 2, 3, 6, 8, device=device), _randn(rng, 2, 3, 6, 3, device=device)
    call = "scaled_dot_product_attention(q, k, v, mask) with q (2, 3, 4, 8) and a mask (2, 1, 4, 6)"
    got = _attend_masked(ex, q, k, v, allowed.to(device), call=call)
    _expect_attention(got, q, k, v, allowed.to(device), call=call, hint=HINTS_MASK[1])


def _attend_masked(ex, q, k, v, mask, *, call):
    try:
        return _attend(ex, q, k, v, mask, call=call)
    except CheckFailed as failed:
        if "raised ValueError" in failed.feedback:
            fail(call, MASK_RAISED.format(error=failed.feedback.split("\n  raised ", 1)[1].split("\n")[0]),
                 hint=HINTS_MASK[1])
        raise


@pytest.mark.check(points=1, hints=(
    "A query whose keys are all masked has nothing to attend to: its softmax is 0 / 0.",
    "Before the softmax, find the rows where mask.any(dim=-1) is False and raise ValueError "
    "naming the first one ('query row 1 ...').",
), role="errors")
def test_scaled_dot_product_attention_rejects_fully_masked_row(ex, rng):
    q, k, v = _randn(rng, 3, 4), _randn(rng, 4, 4), _randn(rng, 4, 2)
    mask = torch.tensor([[True, False, False, False], [False, False, False, False],
                         [True, True, True, False]])
    _expect_fully_masked(ex, (q, k, v, mask), "scaled_dot_product_attention(q, k, v, mask) "
                         "with mask row 1 all False", "row 1")
    batched = torch.ones(2, 3, 4, dtype=torch.bool)
    batched[1, 2] = False
    _expect_fully_masked(ex, (q.expand(2, 3, 4), k.expand(2, 4, 4), v.expand(2, 4, 2), batched),
                         "scaled_dot_product_attention(q, k, v, mask) with mask[1, 2] all False",
                         "row 2")


def _expect_fully_masked(ex, args, call, row):
    fn = ex.scaled_dot_product_attention
    try:
        got = result_of(fn, *args, call=call)
    except CheckFailed:
        expect_raises(ValueError, fn, *args, call=call, mentions=(row,),
                      hint=f"name the row in the message: '... query {row} has every key masked'")
        return
    weights = got[1] if isinstance(got, (tuple, list)) and len(got) == 2 else None
    has_nan = isinstance(weights, torch.Tensor) and bool(torch.isnan(weights).any())
    fail(call, FULLY_MASKED_RETURNED.format(nan=": your weights hold nan there" if has_nan else ""),
         hint="look for mask rows without a True before the softmax, and raise ValueError "
              "naming the first")


@pytest.mark.check(points=1, hints=HINTS_ERRORS, role="errors")
def test_scaled_dot_product_attention_rejects_bad_input(ex, rng):
    q, k, v = _randn(rng, 2, 3, 4), _randn(rng, 2, 5, 4), _randn(rng, 2, 5, 6)
    _expect_attention(_attend(ex, q, k, v, call="scaled_dot_product_attention(q, k, v)"), q, k, v,
                      call="scaled_dot_product_attention(q, k, v)")
    fn = ex.scaled_dot_product_attention
    expect_raises(ValueError, fn, q, _randn(rng, 2, 5, 3), v, mentions=("(2, 3, 4)", "(2, 5, 3)"),
                  call="scaled_dot_product_attention with q (2, 3, 4) and k (2, 5, 3): d differs")
    expect_raises(ValueError, fn, q, k, _randn(rng, 2, 6, 6), mentions=("(2, 5, 4)", "(2, 6, 6)"),
                  call="scaled_dot_product_attention with k (2, 5, 4) and v (2, 6, 6): Lk differs")
    expect_raises(ValueError, fn, torch.ones(4), k, v, mentions=("(4,)",),
                  call="scaled_dot_product_attention with a 1-D q")
    expect_raises(ValueError, fn, q, k, v, torch.ones(3, 5), call="scaled_dot_product_attention "
                  "with a float mask", mentions=("bool",), hint="a mask is a bool tensor")
    expect_raises(ValueError, fn, q, k, v, torch.ones(3, 4, dtype=torch.bool),
                  call="scaled_dot_product_attention with a (3, 4) mask for (2, 3, 5) scores",
                  mentions=("(3, 4)",))
    expect_raises(ValueError, fn, q, k.double(), v, call="scaled_dot_product_attention with a "
                  "float32 q and a float64 k", mentions=("float64",))


@pytest.mark.check(points=1, hints=(
    "exp() of a score above about 88 overflows float32 to inf, and inf / inf is nan.",
    "Subtract each row's maximum (amax(dim=-1, keepdim=True)) from the scores before exp: "
    "the result is the same and every exp() is at most 1.",
), visibility="hidden")
def test_scaled_dot_product_attention_is_stable(ex, rng):
    q, k, v = _randn(rng, 2, 4, 8, scale=300.0), _randn(rng, 2, 5, 8, scale=300.0), _randn(rng, 2, 5, 3)
    call = "scaled_dot_product_attention(q, k, v) with scores of size 1e4"
    out, weights = _attend(ex, q, k, v, call=call)
    bad = (~torch.isfinite(weights)).sum()
    expect(int(bad) == 0, call, NOT_STABLE.format(bad=f"{int(bad)} non-finite values"),
           hint="subtract the row maximum before exp")
    _expect_attention((out, weights), q, k, v, call=call)


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_CONSTRAINT)
def test_scaled_dot_product_attention_without_library_attention(ex, source):
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    v = torch.tensor([[10.0], [20.0]])
    traced = ex.scaled_dot_product_attention.call(q, k, v, probe=["trace"])
    call = "scaled_dot_product_attention(q, k, v)"
    _expect_attention(_pair(traced.value, call), q, k, v, call=call)
    expect_without(source, "scaled_dot_product_attention", ATTENTION_RULES,
                   trace=traced.extra.get("trace"), runtime_names=ATTENTION_RUNTIME,
                   hint=HINTS_CONSTRAINT[1])


def _sdpa_loop_inputs(rng, b, h, length):
    q, k, v = (_randn(rng, b, h, length, 4) for _ in range(3))
    return q, k, v, torch.ones(length, length, dtype=torch.bool).tril()


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_VECTORIZED)
def test_scaled_dot_product_attention_vectorized(ex, source):
    rng = np.random.default_rng(7)
    small, large = _sdpa_loop_inputs(rng, 2, 2, 3), _sdpa_loop_inputs(rng, 4, 3, 6)
    call = "scaled_dot_product_attention(q, k, v, causal_mask(6)) with q (4, 3, 6, 4)"
    _expect_attention(_attend(ex, *large[:3], large[3], call=call), *large[:3], large[3], call=call)
    expect_vectorized(ex.scaled_dot_product_attention, small, large,
                      function="scaled_dot_product_attention", root=source.path.parent,
                      sizes=("B=2, H=2, L=3", "B=4, H=3, L=6"), extra_rows=2,
                      hint=HINTS_VECTORIZED[1])


# -- split_heads and merge_heads -------------------------------------------------------------------
def _heads(x, h):
    b, length, d = x.shape
    return x.view(b, length, h, d // h).permute(0, 2, 1, 3)


def _expect_split(got, x, h, *, call):
    want = _heads(x, h)
    if isinstance(got, torch.Tensor) and tuple(got.shape) == tuple(want.shape) and not torch.equal(got, want):
        b, length, d = x.shape
        if torch.equal(got, x.reshape(b, h, length, d // h)):
            fail(call, SPLIT_NO_TRANSPOSE.format(h=h), hint=HINTS_SPLIT[1])
    expect_array(got, want, call=call, hint=HINTS_SPLIT[1])


@pytest.mark.check(points=1, hints=HINTS_SPLIT)
def test_split_heads_lesson_example(ex, rng):
    """The lesson's sizes: 12 heads of 64 numbers, D = 768, for 2 sentences of 128 tokens."""
    x = _randn(rng, 2, LESSON_L, LESSON_D)
    call = "split_heads(x, 12) with x of shape (2, 128, 768)"
    got = result_of(ex.split_heads, x, LESSON_HEADS, call=call)
    _expect_split(got, x, LESSON_HEADS, call=call)
    small = torch.arange(8.0).reshape(1, 2, 4)
    _expect_split(result_of(ex.split_heads, small, 2, call="split_heads(x, 2)"), small, 2,
                  call="split_heads(arange(8).reshape(1, 2, 4), 2)")


@pytest.mark.check(points=1, kind="constraint", hints=(
    "A view shares the memory of x: reshape and transpose of a contiguous tensor copy nothing.",
    "Leave out .contiguous(), .clone(), torch.stack and torch.cat: a reshape and a transpose "
    "are all it takes, and both return views.",
), role="method")
def test_split_heads_returns_a_view(ex, rng):
    x = _randn(rng, 2, 5, 12)
    traced = ex.split_heads.call(x, 3, probe=["trace"])
    _expect_split(traced.value, x, 3, call="split_heads(x, 3) with x of shape (2, 5, 12)")
    used = sorted(set((traced.extra.get("trace") or {}).get("torch", {})) & COPIES)
    expect(not used, "split_heads(x, 3)", SPLIT_COPIES.format(names=", ".join(used)),
           hint="return the reshaped and transposed view as it is, without copying it")


@pytest.mark.check(points=1, hints=(
    "merge_heads undoes split_heads: the features of head h go back to positions h*D/H to "
    "(h+1)*D/H of each position.",
    "Undo split_heads in reverse order: first move the head axis back behind L, then join "
    "the last two axes into one.",
))
def test_merge_heads_undoes_split_heads(ex, rng):
    for b, length, d, h in ((1, 2, 4, 2), (2, 5, 12, 3), (3, 7, 8, 8), (2, LESSON_L, LESSON_D, LESSON_HEADS)):
        heads = _randn(rng, b, h, length, d // h)
        call = f"merge_heads(x) with x of shape {(b, h, length, d // h)}"
        got = result_of(ex.merge_heads, heads, call=call)
        want = heads.permute(0, 2, 1, 3).reshape(b, length, d)
        if isinstance(got, torch.Tensor) and tuple(got.shape) == (b, length, d) and h > 1 \
                and torch.equal(got, heads.reshape(b, length, d)) and not torch.equal(got, want):
            fail(call, MERGE_NO_TRANSPOSE, hint=HINT_MERGE)
        expect_array(got, want, call=call, hint=HINT_MERGE)
        x = _randn(rng, b, length, d)
        split = result_of(ex.split_heads, x, h, call=f"split_heads(x, {h})")
        # The split comes back as a contiguous copy; merging it must give x again.
        back = result_of(ex.merge_heads, split, call=f"merge_heads(split_heads(x, {h}))")
        expect_array(back, x, call=f"merge_heads(split_heads(x, {h})) with x of shape {(b, length, d)}",
                     hint="merge_heads must undo split_heads exactly")


@pytest.mark.check(points=1, hints=HINTS_ERRORS, role="errors")
def test_split_heads_rejects_bad_input(ex, rng):
    x = _randn(rng, 2, 3, 10)
    _expect_split(result_of(ex.split_heads, x, 5, call="split_heads(x, 5)"), x, 5,
                  call="split_heads(x, 5) with x of shape (2, 3, 10)")
    expect_raises(ValueError, ex.split_heads, x, 4, mentions=("10", "4"),
                  call="split_heads(x, 4) with D = 10", hint="name D and n_heads in the message")
    expect_raises(ValueError, ex.split_heads, _randn(rng, 3, 8), 2, mentions=("(3, 8)",),
                  call="split_heads(x, 2) with a 2-D x")
    expect_raises(ValueError, ex.merge_heads, _randn(rng, 3, 8, 2), mentions=("(3, 8, 2)",),
                  call="merge_heads(x) with a 3-D x")


# -- multi_head_attention ------------------------------------------------------------------------
def _expect_mha(ex, args, *, call):
    try:
        got = result_of(ex.multi_head_attention, *args, call=call, hint=HINTS_MHA[1])
    except CheckFailed:
        _blame_attention(ex, call)
        raise
    want = _mha(*args)
    tol = _tol(args[0].dtype)
    if isinstance(got, torch.Tensor) and got.shape == want.shape and got.dtype == want.dtype \
            and not _close(got, want, **tol):
        x, w_q, w_k, w_v, w_o, h, causal = args
        variants = [(MHA_SPLIT.format(h=h), dict(split_by_reshape=True, merge_by_reshape=True)),
                    (MHA_SPLIT.format(h=h), dict(split_by_reshape=True)),
                    (MERGE_NO_TRANSPOSE, dict(merge_by_reshape=True)),
                    (MHA_NO_SCALE.format(d=x.shape[-1] // h), dict(scale=1.0)),
                    (MHA_TRANSPOSED_W, dict(transpose_w=True)),
                    (MHA_NO_W_O, dict(skip_w_o=True))]
        for text, mistake in variants:
            if _close(got, _mha(*args, **mistake)):
                fail(call, text, hint=HINTS_MHA[1])
        if causal and _close(got, _mha(*args[:-1], False)):
            fail(call, MHA_NOT_CAUSAL, hint="pass causal_mask(L, device=x.device) as the mask")
        _blame_attention(ex, call)
    expect_array(got, want, call=call, hint=HINTS_MHA[1], **tol)


def _blame_attention(ex, call):
    """When the learner's own scaled_dot_product_attention is wrong on (B, H, L, d) heads with
    a causal mask, say so: multi-head attention is built on it."""
    rng = np.random.default_rng(9)
    q, k, v = (_randn(rng, 2, 3, 4, 4) for _ in range(3))
    mask = torch.ones(4, 4, dtype=torch.bool).tril()
    probe = "scaled_dot_product_attention(q, k, v, causal_mask(4)) on heads of shape (2, 3, 4, 4)"
    try:
        _expect_attention(_attend(ex, q, k, v, mask, call=probe), q, k, v, mask, call=probe)
    except CheckFailed as failed:
        inner = [line for line in failed.feedback.split("\n") if not line.strip().startswith("hint:")]
        fail(call, MHA_BLAMES_SDPA + "\n  " + "\n  ".join(inner), hint=HINTS_MHA[1])


@pytest.mark.check(points=2, hints=HINTS_MHA)
def test_multi_head_attention_lesson_example(ex, rng):
    """The lesson's 12 heads of 64 (D = 768) on 2 sentences of 128 tokens, causal."""
    args = _mha_args(rng, 2, LESSON_L, LESSON_D, LESSON_HEADS, causal=True)
    _expect_mha(ex, args, call="multi_head_attention(x, w_q, w_k, w_v, w_o, n_heads=12, "
                "causal=True) with x of shape (2, 128, 768)")


@pytest.mark.check(points=2, hints=HINTS_MHA, visibility="hidden")
def test_multi_head_attention_random(ex, rng, device):
    for b, length, d, h in ((1, 1, 2, 1), (2, 3, 4, 2), (3, 5, 12, 3), (2, 9, 16, 4), (4, 6, 8, 8)):
        for dtype in (torch.float32, torch.float64):
            for causal in (False, True):
                args = _mha_args(rng, b, length, d, h, dtype=dtype, device=device, causal=causal)
                _expect_mha(ex, args, call=f"multi_head_attention on {str(dtype)[6:]} x of shape "
                            f"{(b, length, d)}, n_heads={h}, causal={causal}")


@pytest.mark.check(points=1, hints=(
    "With causal=True, position t sees positions 0..t only: what comes later cannot change "
    "its output.",
    "Pass causal_mask(L, device=x.device) to scaled_dot_product_attention when causal is true.",
), visibility="hidden")
def test_multi_head_attention_causal_ignores_the_future(ex, rng):
    x, *ws, h, _ = _mha_args(rng, 2, 8, 12, 3)
    later = x.clone()
    later[:, 5:] = _randn(rng, 2, 3, 12)
    call = "multi_head_attention(x, ..., n_heads=3, causal=True)"
    _expect_mha(ex, (x, *ws, h, True), call=call)
    a = result_of(ex.multi_head_attention, x, *ws, h, True, call=call)
    b = result_of(ex.multi_head_attention, later, *ws, h, True,
                  call=call + " with positions 5-7 of x changed")
    expect(isinstance(b, torch.Tensor) and b.shape == a.shape, call, "expected a tensor of shape (2, 8, 12)")
    expect(bool(torch.allclose(a[:, :5], b[:, :5], rtol=1e-5, atol=1e-6)), call,
           "changing positions 5-7 changed the output at positions 0-4: they saw the future",
           hint="the causal mask must reach the attention of every head")


@pytest.mark.check(points=1, hints=HINTS_ERRORS, role="errors")
def test_multi_head_attention_rejects_bad_input(ex, rng):
    x, w_q, w_k, w_v, w_o, _, _ = _mha_args(rng, 2, 3, 6, 2)
    _expect_mha(ex, (x, w_q, w_k, w_v, w_o, 2, False), call="multi_head_attention(x, ..., n_heads=2)")
    fn = ex.multi_head_attention
    expect_raises(ValueError, fn, x, w_q, _randn(rng, 6, 4), w_v, w_o, 2, mentions=("(6, 4)",),
                  call="multi_head_attention with w_k of shape (6, 4) for D = 6",
                  hint="check that every weight is (D, D) and name the one that is not")
    expect_raises(ValueError, fn, x, w_q, w_k, w_v, w_o, 4, mentions=("6", "4"),
                  call="multi_head_attention(x, ..., n_heads=4) with D = 6")


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_CONSTRAINT)
def test_multi_head_attention_without_library_attention(ex, source, rng):
    args = _mha_args(rng, 2, 4, 8, 2, causal=True)
    _expect_mha(ex, args, call="multi_head_attention(x, ..., n_heads=2, causal=True)")
    traced = ex.multi_head_attention.call(*args, probe=["trace"])
    expect_without(source, "multi_head_attention", ATTENTION_RULES,
                   trace=traced.extra.get("trace"), runtime_names=ATTENTION_RUNTIME,
                   hint=HINTS_CONSTRAINT[1])


@pytest.mark.check(points=1, kind="constraint", hints=HINTS_VECTORIZED)
def test_multi_head_attention_vectorized(ex, source):
    rng = np.random.default_rng(8)
    small, large = _mha_args(rng, 2, 3, 8, 2, causal=True), _mha_args(rng, 4, 6, 12, 3, causal=True)
    _expect_mha(ex, large, call="multi_head_attention(x, ..., n_heads=3, causal=True) with x (4, 6, 12)")
    expect_vectorized(ex.multi_head_attention, small, large, function="multi_head_attention",
                      root=source.path.parent, sizes=("B=2, L=3, H=2", "B=4, L=6, H=3"),
                      extra_rows=2, hint=HINTS_VECTORIZED[1])


# -- speed -----------------------------------------------------------------------------------------
def _speed_mha_args(rng):
    return _mha_args(rng, 64, 8, 32, 4, causal=True)


SPEED = {
    "multi_head_attention": SpeedCase(
        MODULE, "multi_head_attention", _speed_mha_args, lambda args: _mha(*args), target=5.0,
        inputs="x (64, 8, 32) float32, 4 heads, causal", rtol=1e-4, atol=1e-5,
        hint="one batched attention for all sequences and heads: no loop over them",
        baseline="F.scaled_dot_product_attention between the same projections"),
    "scaled_dot_product_attention": SpeedCase(
        MODULE, "scaled_dot_product_attention",
        lambda rng: (*(_randn(rng, 256, 8, 8) for _ in range(3)),
                     torch.ones(8, 8, dtype=torch.bool).tril()),
        lambda args: _attention(*args), target=3.0,
        inputs="q, k, v (256, 8, 8) float32, a causal mask", rtol=1e-4, atol=1e-5,
        hint="one batched product for all the batch: no loop over it",
        baseline="torch.softmax-based attention"),
}


@pytest.mark.check(points=2, kind="timing", hints=HINTS_VECTORIZED)
def test_multi_head_attention_speed(speed, device):
    speed.check(SPEED["multi_head_attention"], device)


@pytest.mark.check(points=1, kind="timing", hints=HINTS_VECTORIZED)
def test_scaled_dot_product_attention_speed(speed, device):
    speed.check(SPEED["scaled_dot_product_attention"], device)
