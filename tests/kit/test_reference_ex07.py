"""The reference solution of ex07_attention, checked against independent oracles.

The oracles are PyTorch's own: ``torch.tril`` for the causal mask, ``torch.softmax`` and
``F.scaled_dot_product_attention`` for attention, explicit per-head slicing for the head
split, and ``nn.MultiheadAttention`` for multi-head attention, so a mistake in the reference
cannot hide behind the suite that grades learners against it. The suite's own tolerances
are checked here too: correct alternatives a learner may write (einsum scores, a softmax
through logsumexp, a mask filled with the dtype's minimum) pass them. CUDA cases run only
where a GPU is present.
"""

from __future__ import annotations

import ast
import doctest
import importlib.util
import inspect
import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from solutions import ex07_attention as sol
from suite_modules import load_suite

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
DEVICES = ["cpu", pytest.param("cuda", marks=requires_cuda)]
DTYPES = [torch.float32, torch.float64]
FUNCTIONS = ["causal_mask", "scaled_dot_product_attention", "split_heads", "merge_heads",
             "multi_head_attention"]
SEED = 20240707


suite = load_suite("ex07_attention")


def randn(*shape, dtype=torch.float32, device="cpu", seed=SEED, scale=1.0):
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=generator, dtype=torch.float64) * scale).to(dtype).to(device)


def tolerance(dtype):
    return {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-10, "atol": 1e-12}


def torch_attention(q, k, v, mask=None):
    """Weights by torch.softmax, output by torch's own fused attention, in float64."""
    q64, k64, v64 = (t.double() for t in (q, k, v))
    scores = q64 @ k64.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    out = F.scaled_dot_product_attention(q64, k64, v64, attn_mask=mask)
    return out, torch.softmax(scores, dim=-1)


# -- the module as a whole -------------------------------------------------------------------


def test_docstring_examples_hold():
    result = doctest.testmod(sol, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


@pytest.fixture(scope="module")
def stub(pristine):
    """The stub as committed (a learner may have filled in exercises/ex07_attention.py)."""
    spec = importlib.util.spec_from_file_location("pristine_ex07_attention",
                                                  pristine / "exercises" / "ex07_attention.py")
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
        "causal_mask": (3,),
        "scaled_dot_product_attention": (torch.zeros(2, 2), torch.zeros(2, 2), torch.zeros(2, 2)),
        "split_heads": (torch.zeros(1, 2, 4), 2),
        "merge_heads": (torch.zeros(1, 2, 2, 2),),
        "multi_head_attention": (torch.zeros(1, 2, 2), *(torch.eye(2),) * 4, 1),
    }[name]
    with pytest.raises(NotImplementedError, match=f"^ex07_attention.{name}: not implemented yet$"):
        learner(*arguments)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_solution_has_no_python_loops_over_the_data(name):
    tree = ast.parse(inspect.getsource(getattr(sol, name)))
    loops = [node for node in ast.walk(tree)
             if isinstance(node, (ast.For, ast.While, ast.ListComp, ast.GeneratorExp))]
    # multi_head_attention checks its four weights' shapes in a loop over the four names.
    assert all(isinstance(node, ast.For) and name == "multi_head_attention" for node in loops)


# -- lesson facts ----------------------------------------------------------------------------


def test_lesson_shapes_32_sentences_of_128_tokens():
    q, k, v = randn(32, 128, 64), randn(32, 128, 64, seed=SEED + 1), randn(32, 128, 64, seed=SEED + 2)
    out, weights = sol.scaled_dot_product_attention(q, k, v)
    assert weights.shape == (32, 128, 128) and out.shape == (32, 128, 64)
    x = randn(2, 128, 768)
    heads = sol.split_heads(x, 12)
    assert heads.shape == (2, 12, 128, 64)         # 12 heads of 64 numbers: D = 768


def test_the_scale_keeps_the_weights_from_being_one_hot():
    """Why 1/sqrt(d): without it the lesson-sized weights are nearly one-hot."""
    q, k = randn(32, 128, 64), randn(32, 128, 64, seed=SEED + 1)
    scaled = torch.softmax(q @ k.transpose(-2, -1) / 8, dim=-1).amax(dim=-1).mean()
    unscaled = torch.softmax(q @ k.transpose(-2, -1), dim=-1).amax(dim=-1).mean()
    assert scaled < 0.15 and unscaled > 0.6


# -- causal_mask -----------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("length", [0, 1, 2, 5, 64])
def test_causal_mask_is_the_lower_triangle(length, device):
    got = sol.causal_mask(length, device=device)
    assert got.dtype == torch.bool and got.device.type == device
    assert torch.equal(got.cpu(), torch.tril(torch.ones(length, length, dtype=torch.bool)))


@pytest.mark.parametrize("bad", [-1, 2.5, "3", True, None])
def test_causal_mask_rejects_bad_lengths(bad):
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        sol.causal_mask(bad)


# -- scaled_dot_product_attention ------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lead, lq, lk, d, dv", [((), 1, 1, 1, 1), ((), 3, 5, 4, 2), ((2,), 4, 4, 8, 8),
                                               ((2, 3), 6, 7, 4, 5), ((1, 2, 2), 3, 3, 2, 3)])
def test_attention_matches_torch(lead, lq, lk, d, dv, dtype, device):
    q = randn(*lead, lq, d, dtype=dtype, device=device)
    k = randn(*lead, lk, d, dtype=dtype, device=device, seed=SEED + 1)
    v = randn(*lead, lk, dv, dtype=dtype, device=device, seed=SEED + 2)
    out, weights = sol.scaled_dot_product_attention(q, k, v)
    want_out, want_w = torch_attention(q, k, v)
    assert out.dtype == weights.dtype == dtype and out.device.type == device
    torch.testing.assert_close(weights.double(), want_w, **tolerance(dtype))
    torch.testing.assert_close(out.double(), want_out, **tolerance(dtype))
    torch.testing.assert_close(weights.sum(-1).double(), torch.ones(*lead, lq, dtype=torch.float64,
                                                                    device=device), **tolerance(dtype))


@pytest.mark.parametrize("device", DEVICES)
def test_attention_with_masks_matches_torch(device):
    q, k, v = (randn(2, 3, 5, 4, device=device, seed=SEED + i) for i in range(3))
    causal = sol.causal_mask(5, device=device)
    rng = np.random.default_rng(SEED)
    random_mask = torch.from_numpy(rng.random((2, 1, 5, 5)) < 0.5).to(device)
    random_mask[..., 2] = True
    for mask in (causal, random_mask):
        out, weights = sol.scaled_dot_product_attention(q, k, v, mask)
        want_out, want_w = torch_attention(q, k, v, mask)
        torch.testing.assert_close(weights.double(), want_w, **tolerance(torch.float32))
        torch.testing.assert_close(out.double(), want_out, **tolerance(torch.float32))
        assert (weights.masked_select(~mask.expand(weights.shape)) == 0).all()


def test_attention_broadcasts_leading_axes_as_matmul_does():
    q, k, v = randn(2, 3, 4, 5), randn(2, 1, 6, 5, seed=SEED + 1), randn(1, 6, 2, seed=SEED + 2)
    out, weights = sol.scaled_dot_product_attention(q, k, v)
    want_out, want_w = torch_attention(q, k.expand(2, 3, 6, 5), v.expand(2, 3, 6, 2))
    torch.testing.assert_close(out.double(), want_out, **tolerance(torch.float32))
    torch.testing.assert_close(weights.double(), want_w, **tolerance(torch.float32))


def test_attention_is_stable_for_huge_scores():
    q, k, v = randn(4, 8, scale=300.0), randn(5, 8, seed=SEED + 1, scale=300.0), randn(5, 3, seed=SEED + 2)
    out, weights = sol.scaled_dot_product_attention(q, k, v)
    assert torch.isfinite(weights).all() and torch.isfinite(out).all()
    torch.testing.assert_close(weights.double(), torch_attention(q, k, v)[1], rtol=1e-5, atol=1e-6)


def test_attention_gradient_matches_torch():
    q, k, v = (randn(2, 4, 3, dtype=torch.float64, seed=SEED + i).requires_grad_() for i in range(3))
    out, _ = sol.scaled_dot_product_attention(q, k, v, sol.causal_mask(4))
    got = torch.autograd.grad(out.sum(), [q, k, v])
    want = torch.autograd.grad(F.scaled_dot_product_attention(q, k, v, is_causal=True).sum(), [q, k, v])
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w)


@pytest.mark.parametrize("mask, row", [
    (torch.tensor([[True, False], [False, False], [True, True]]), "row 1"),
    (torch.tensor([[[True, True], [True, True], [True, True]],
                   [[True, False], [True, True], [False, False]]]), "row 2"),
])
def test_a_fully_masked_row_is_an_error_naming_the_row(mask, row):
    q, k, v = randn(2, 3, 4), randn(2, 2, 4, seed=SEED + 1), randn(2, 2, 1, seed=SEED + 2)
    with pytest.raises(ValueError, match=row):
        sol.scaled_dot_product_attention(q, k, v, mask)


@pytest.mark.parametrize("shapes, named", [
    (((2, 3, 4), (2, 5, 3), (2, 5, 6)), ("(2, 3, 4)", "(2, 5, 3)")),
    (((2, 3, 4), (2, 5, 4), (2, 6, 6)), ("(2, 5, 4)", "(2, 6, 6)")),
    (((4,), (5, 4), (5, 2)), ("(4,)",)),
    (((3, 4), (0, 4), (0, 2)), ("(0, 4)",)),
])
def test_attention_rejects_bad_shapes(shapes, named):
    with pytest.raises(ValueError) as excinfo:
        sol.scaled_dot_product_attention(*(torch.ones(s) for s in shapes))
    for text in named:
        assert text in str(excinfo.value)


def test_attention_rejects_bad_masks_and_dtypes():
    q, k, v = torch.ones(2, 3, 4), torch.ones(2, 5, 4), torch.ones(2, 5, 6)
    with pytest.raises(ValueError, match="bool"):
        sol.scaled_dot_product_attention(q, k, v, torch.ones(3, 5))
    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        sol.scaled_dot_product_attention(q, k, v, torch.ones(3, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"\(4, 2, 3, 5\)"):
        sol.scaled_dot_product_attention(q, k, v, torch.ones(4, 2, 3, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="float64"):
        sol.scaled_dot_product_attention(q, k.double(), v)


# -- split_heads and merge_heads ---------------------------------------------------------------


@pytest.mark.parametrize("b, length, d, h", [(1, 1, 1, 1), (1, 2, 4, 2), (2, 5, 12, 3), (2, 128, 768, 12)])
def test_split_heads_matches_slicing_per_head(b, length, d, h):
    x = randn(b, length, d)
    got = sol.split_heads(x, h)
    want = torch.stack([x[:, :, i * (d // h):(i + 1) * (d // h)] for i in range(h)], dim=1)
    assert torch.equal(got, want)
    assert got.data_ptr() == x.data_ptr() and got._base is x    # a view, no copy
    assert torch.equal(sol.merge_heads(got), x)
    assert torch.equal(sol.merge_heads(got.contiguous()), x)


def test_split_heads_of_a_strided_x_still_works():
    x = randn(2, 6, 8)[:, ::2]
    torch.testing.assert_close(sol.merge_heads(sol.split_heads(x, 4)), x)


@pytest.mark.parametrize("d, h", [(10, 4), (6, 4), (5, 2)])
def test_split_heads_names_d_and_the_heads(d, h):
    with pytest.raises(ValueError, match=f"D = {d} .* n_heads = {h}"):
        sol.split_heads(torch.ones(1, 2, d), h)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_split_heads_rejects_bad_head_counts(bad):
    with pytest.raises(ValueError):
        sol.split_heads(torch.ones(1, 2, 4), bad)


def test_split_and_merge_reject_wrong_ranks():
    with pytest.raises(ValueError, match=r"\(3, 8\)"):
        sol.split_heads(torch.ones(3, 8), 2)
    with pytest.raises(ValueError, match=r"\(3, 8, 2\)"):
        sol.merge_heads(torch.ones(3, 8, 2))


# -- multi_head_attention ----------------------------------------------------------------------


def torch_mha(x, w_q, w_k, w_v, w_o, n_heads, causal):
    """nn.MultiheadAttention with the same weights (it computes x @ W.T, so W = w.T), no biases."""
    d = x.shape[-1]
    layer = torch.nn.MultiheadAttention(d, n_heads, bias=False, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        layer.in_proj_weight.copy_(torch.cat([w_q.T, w_k.T, w_v.T]).double())
        layer.out_proj.weight.copy_(w_o.T.double())
    blocked = ~sol.causal_mask(x.shape[1]) if causal else None    # its bool mask: True = blocked
    out, _ = layer(*(x.double(),) * 3, attn_mask=blocked, need_weights=False)
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("b, length, d, h", [(1, 1, 2, 1), (2, 3, 4, 2), (3, 5, 12, 3), (2, 9, 16, 4),
                                             (2, 16, 96, 12)])
def test_multi_head_attention_matches_nn_multihead_attention(b, length, d, h, causal, dtype):
    x = randn(b, length, d, dtype=dtype)
    ws = [randn(d, d, dtype=dtype, seed=SEED + i, scale=d ** -0.5) for i in range(1, 5)]
    got = sol.multi_head_attention(x, *ws, h, causal)
    assert got.dtype == dtype and got.shape == (b, length, d)
    torch.testing.assert_close(got.double(), torch_mha(x, *ws, h, causal), **tolerance(dtype))


@pytest.mark.parametrize("device", DEVICES)
def test_multi_head_attention_stays_on_the_device(device):
    x = randn(2, 4, 8, device=device)
    ws = [randn(8, 8, device=device, seed=SEED + i) for i in range(1, 5)]
    assert sol.multi_head_attention(x, *ws, 2, True).device.type == device


def test_multi_head_attention_rejects_bad_weights_and_heads():
    x, eye = torch.ones(2, 3, 6), torch.eye(6)
    with pytest.raises(ValueError, match=r"w_k has shape \(6, 4\)"):
        sol.multi_head_attention(x, eye, torch.ones(6, 4), eye, eye, 2)
    with pytest.raises(ValueError, match="D = 6 .* n_heads = 4"):
        sol.multi_head_attention(x, eye, eye, eye, eye, 4)
    with pytest.raises(ValueError, match=r"\(2, 0, 6\)"):
        sol.multi_head_attention(torch.ones(2, 0, 6), eye, eye, eye, eye, 2)


# -- the suite's oracles and tolerances admit correct alternatives ------------------------------


def alternative_attention(q, k, v, mask=None):
    """einsum scores, the mask as the dtype's minimum, a softmax through logsumexp."""
    scores = torch.einsum("...qd,...kd->...qk", q, k) * q.shape[-1] ** -0.5
    if mask is not None:
        scores = torch.where(mask, scores, torch.finfo(scores.dtype).min)
    weights = torch.exp(scores - torch.logsumexp(scores, dim=-1, keepdim=True))
    return weights @ v, weights


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_correct_alternative_passes_the_suites_tolerance(dtype):
    q, k, v = (randn(4, 2, 16, 64, dtype=dtype, seed=SEED + i) for i in range(3))
    mask = sol.causal_mask(16)
    got = alternative_attention(q, k, v, mask)
    suite._expect_attention(got, q, k, v, mask, call="alternative")       # raises if not
    heads = randn(2, 3, 8, 4, dtype=dtype).permute(0, 2, 1, 3)
    merged = heads.contiguous().view(2, 8, 12)                             # another merge_heads
    assert torch.equal(merged, sol.merge_heads(heads.permute(0, 2, 1, 3)))


def test_the_suites_oracles_agree_with_the_reference():
    rng = np.random.default_rng(SEED)
    q, k, v = (suite._randn(rng, 2, 5, 4) for _ in range(3))
    mask = sol.causal_mask(5)
    suite._expect_attention(sol.scaled_dot_product_attention(q, k, v, mask), q, k, v, mask, call="reference")
    args = suite._mha_args(rng, 3, 6, 12, 3, causal=True)
    torch.testing.assert_close(sol.multi_head_attention(*args), suite._mha(*args), rtol=1e-5, atol=1e-6)
