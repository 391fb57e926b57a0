"""Exercise 07: Attention: three matrix products and a softmax.

A transformer layer lets every position of a sequence look at the others. Each position
asks a question (its query, a vector of size d), offers a label (its key, size d) and
carries content (its value, size dv). How much position i listens to position j is the
dot product of query i with key j, so for a whole sequence the scores are one matrix
product:

    scores = q @ k^T          (Lq, d) @ (d, Lk) -> (Lq, Lk): one row per query

Dot products of d random entries grow like sqrt(d), and a softmax of large numbers is
nearly one-hot, so the scores are divided by sqrt(d) first. The softmax of each row
turns scores into weights that are positive and sum to 1 (over the keys, the last axis),
and the output of each query is the weighted mean of the values, a second product:

    weights = softmax(q @ k^T / sqrt(d))      out = weights @ v   (Lq, dv)

With a batch of sequences every tensor gets leading axes, (B, L, d), and the products
are batched: ``k.transpose(-2, -1)`` swaps only the last two axes, whatever comes
before them. The source lesson's example: queries and keys of shape (32, 128, 64), 32
sentences of 128 tokens with 64 numbers per token, give scores of shape (32, 128, 128),
one 128 x 128 map per sentence.

A mask says which keys each query may see. In a language model position i must not see
the future, so the causal mask is True where j <= i. Masked scores are set to -inf
*before* the softmax; exp(-inf) = 0, so they get no weight and the rest still sums to 1.

Multi-head attention runs H attentions side by side on slices of the features: the
model size D is split into H heads of D/H numbers each. The lesson's 12 heads of 64 make
D = 768. Reshape (B, L, D) to (B, L, H, D/H) and swap axes 1 and 2 to get (B, H, L, D/H):
the heads become one more batch axis, and one batched attention serves them all. A
reshape straight to (B, H, L, D/H) would cut the sequence into H pieces instead of the
features. After attention the heads are put back side by side and mixed by w_o.

The rules: work on the device of the inputs and return results there; no Python loop
over batch items, heads or positions; write the softmax yourself (subtract the row
maximum, exponentiate, divide by the sum). ``F.scaled_dot_product_attention``,
``nn.MultiheadAttention`` and every library softmax are not allowed. Matrix products
(``torch.matmul``, ``@``) are.
"""

from __future__ import annotations

import math

import torch


def causal_mask(length: int, device: torch.device | str | None = None) -> torch.Tensor:
    """The causal mask of a sequence of ``length`` positions: True where j <= i.

    Entry (i, j) says whether position i may look at position j: a position sees itself
    and everything before it, never what comes after. The result is a bool tensor of
    shape (length, length) on ``device`` (default: the CPU); ``length`` 0 gives an empty
    (0, 0) mask. Build it from a comparison of two broadcast ``torch.arange`` vectors.

    Raises:
        ValueError: if ``length`` is not an integer >= 0; the message names it.

    >>> causal_mask(4)
    tensor([[ True, False, False, False],
            [ True,  True, False, False],
            [ True,  True,  True, False],
            [ True,  True,  True,  True]])
    """
    if isinstance(length, bool) or not hasattr(length, "__index__") or length.__index__() < 0:
        raise ValueError(f"causal_mask: length must be an integer >= 0, got {length!r}")
    positions = torch.arange(length.__index__(), device=device)
    return positions[:, None] >= positions[None, :]


def scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention of queries ``q`` over keys ``k`` and values ``v``: ``(out, weights)``.

    ``q`` has shape (..., Lq, d), ``k`` (..., Lk, d) and ``v`` (..., Lk, dv), with any
    number of leading (batch, head) axes that broadcast as in ``torch.matmul``.
    ``weights = softmax(q @ k^T / sqrt(d))`` over the last axis (the keys), shape
    (..., Lq, Lk): every row is >= 0 and sums to 1. ``out = weights @ v``, shape
    (..., Lq, dv). Both have the dtype and device of ``q``.

    ``mask`` (optional) is a bool tensor that broadcasts to (..., Lq, Lk), True where
    query i may look at key j (``causal_mask`` is one). Masked keys are excluded *before*
    the softmax, so their weights are exactly 0 and each row still sums to 1. The
    softmax is stable: subtract each row's maximum before ``exp``, so scores of 1e4 give
    finite weights.

    Raises:
        ValueError: if an input has fewer than 2 dimensions; if q and k differ in d, or
            k and v in Lk, or Lk or d is 0 (the message names the shapes); if q, k and v
            are not of one floating dtype; if ``mask`` is not a bool tensor that
            broadcasts to the scores' shape; and if a row of the mask is all False, which
            would give that query nothing to attend to (0 / 0): the message names the
            row, e.g. ``scaled_dot_product_attention: query row 1 has every key masked
            (mask[1] is all False)``.

    Not allowed: ``F.scaled_dot_product_attention``, ``nn.MultiheadAttention``, and
    ``torch.softmax``, ``F.softmax``, ``F.log_softmax``, ``Tensor.softmax``; no Python
    loop over the batch, heads or positions.

    >>> q = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    >>> k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> v = torch.tensor([[10.0], [20.0]])
    >>> out, weights = scaled_dot_product_attention(q, k, v)
    >>> weights
    tensor([[0.6698, 0.3302],
            [0.1956, 0.8044]])
    >>> out
    tensor([[13.3024],
            [18.0443]])
    >>> out, weights = scaled_dot_product_attention(q, k, v, causal_mask(2))
    >>> weights
    tensor([[1.0000, 0.0000],
            [0.1956, 0.8044]])
    """
    name = "scaled_dot_product_attention"
    shapes = f"q {tuple(q.shape)}, k {tuple(k.shape)} and v {tuple(v.shape)}"
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(f"{name}: q, k and v need at least 2 dimensions (..., L, d), got {shapes}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"{name}: q and k must have the same feature size d, got {shapes}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{name}: k and v must have the same length Lk, got {shapes}")
    if k.shape[-2] == 0 or q.shape[-1] == 0:
        raise ValueError(f"{name}: there must be at least one key and d >= 1, got {shapes}")
    if not q.dtype.is_floating_point or not q.dtype == k.dtype == v.dtype:
        raise ValueError(f"{name}: q, k and v must share one floating dtype, got "
                         f"{q.dtype}, {k.dtype} and {v.dtype}")
    scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    if mask is not None:
        mask = torch.as_tensor(mask, device=scores.device)
        if mask.dtype != torch.bool:
            raise ValueError(f"{name}: mask must be a bool tensor (True = may attend), got {mask.dtype}")
        try:
            fits = torch.broadcast_shapes(mask.shape, scores.shape) == scores.shape
        except RuntimeError:
            fits = False
        if not fits:
            raise ValueError(f"{name}: a mask of shape {tuple(mask.shape)} does not broadcast to "
                             f"the scores' shape {tuple(scores.shape)}")
        empty = ~mask.any(dim=-1)
        if empty.any():
            where = empty.nonzero()[0].tolist()
            index = ", ".join(map(str, where))
            raise ValueError(f"{name}: query row {where[-1]} has every key masked "
                             f"(mask[{index}] is all False)")
        scores = scores.masked_fill(~mask, float("-inf"))
    # Every row keeps at least one finite score, so its maximum is finite and exp() of the
    # shifted scores lies in (0, 1], with exactly 0 for the masked keys.
    scores = scores - scores.amax(dim=-1, keepdim=True)
    e = scores.exp()
    weights = e / e.sum(dim=-1, keepdim=True)
    return torch.matmul(weights, v), weights


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Cut the features of ``x`` into ``n_heads`` heads: (B, L, D) -> (B, H, L, D/H).

    Head h of position l holds ``x[b, l, h * D/H:(h + 1) * D/H]``: reshape to
    (B, L, H, D/H), then swap axes 1 and 2 so that the heads become a batch axis. The
    result is a view of ``x`` whenever ``x`` is laid out contiguously (no copy: no
    ``.contiguous()``, ``clone``, ``stack`` or ``cat``).

    Raises:
        ValueError: if ``x`` is not 3-D (the message names its shape), if ``n_heads`` is
            not an integer >= 1, or if D is not divisible by ``n_heads``; the message
            names both, e.g. ``split_heads: the model size D = 10 is not divisible by
            n_heads = 4``.

    >>> x = torch.arange(8.0).reshape(1, 2, 4)   # B = 1, L = 2, D = 4
    >>> split_heads(x, 2)                        # head 0: features 0-1, head 1: 2-3
    tensor([[[[0., 1.],
              [4., 5.]],
    <BLANKLINE>
             [[2., 3.],
              [6., 7.]]]])
    """
    if x.ndim != 3:
        raise ValueError(f"split_heads: x must be 3-D (B, L, D), got shape {tuple(x.shape)}")
    if isinstance(n_heads, bool) or not hasattr(n_heads, "__index__") or n_heads.__index__() < 1:
        raise ValueError(f"split_heads: n_heads must be an integer >= 1, got {n_heads!r}")
    n_heads = n_heads.__index__()
    batch, length, d_model = x.shape
    if d_model % n_heads:
        raise ValueError(f"split_heads: the model size D = {d_model} is not divisible by "
                         f"n_heads = {n_heads}")
    return x.reshape(batch, length, n_heads, d_model // n_heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """Put the heads back side by side: (B, H, L, D/H) -> (B, L, D), undoing ``split_heads``.

    Swap axes 1 and 2 back, then reshape: ``merge_heads(split_heads(x, h))`` equals
    ``x``. (Here a copy cannot always be avoided: after the swap the numbers of one
    position are no longer next to each other in memory, and ``reshape`` copies when it
    has to.)

    Raises:
        ValueError: if ``x`` is not 4-D; the message names its shape.

    >>> x = torch.arange(8.0).reshape(1, 2, 4)
    >>> torch.equal(merge_heads(split_heads(x, 2)), x)
    True
    """
    if x.ndim != 4:
        raise ValueError(f"merge_heads: x must be 4-D (B, H, L, D/H), got shape {tuple(x.shape)}")
    batch, n_heads, length, d_head = x.shape
    return x.transpose(1, 2).reshape(batch, length, n_heads * d_head)


def multi_head_attention(
    x: torch.Tensor,
    w_q: torch.Tensor,
    w_k: torch.Tensor,
    w_v: torch.Tensor,
    w_o: torch.Tensor,
    n_heads: int,
    causal: bool = False,
) -> torch.Tensor:
    """Multi-head self-attention of the sequences ``x`` (B, L, D): the result is (B, L, D).

    The projections are matrix products, as in the kit's layers (``x @ w``): queries
    ``x @ w_q``, keys ``x @ w_k`` and values ``x @ w_v``, each (B, L, D), split into
    ``n_heads`` heads with ``split_heads``; one ``scaled_dot_product_attention`` over all
    heads at once (with ``causal_mask(L)`` when ``causal`` is true); the heads merged back
    with ``merge_heads`` and mixed by ``@ w_o``. No biases. The result has the dtype and
    device of ``x``. Timed: it must stay within a fixed factor of the reference solution.

    Raises:
        ValueError: if ``x`` is not 3-D or L is 0, if a weight is not of shape (D, D) (the
            message names the weight and both shapes), or if D is not divisible by
            ``n_heads`` (the message names both).

    Not allowed: as in ``scaled_dot_product_attention``; no loop over the heads either.

    >>> x = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])    # B = 1, L = 2, D = 2
    >>> eye = torch.eye(2)
    >>> multi_head_attention(x, eye, eye, eye, eye, n_heads=1, causal=True)
    tensor([[[1.0000, 0.0000],
             [0.3302, 0.6698]]])
    """
    if x.ndim != 3 or x.shape[1] == 0:
        raise ValueError(f"multi_head_attention: x must be 3-D (B, L, D) with L >= 1, got "
                         f"shape {tuple(x.shape)}")
    d_model = x.shape[-1]
    for name, w in (("w_q", w_q), ("w_k", w_k), ("w_v", w_v), ("w_o", w_o)):
        if tuple(w.shape) != (d_model, d_model):
            raise ValueError(f"multi_head_attention: {name} has shape {tuple(w.shape)}; "
                             f"x of shape {tuple(x.shape)} needs ({d_model}, {d_model})")
    q = split_heads(torch.matmul(x, w_q), n_heads)
    k = split_heads(torch.matmul(x, w_k), n_heads)
    v = split_heads(torch.matmul(x, w_v), n_heads)
    mask = causal_mask(x.shape[1], device=x.device) if causal else None
    out, _ = scaled_dot_product_attention(q, k, v, mask)
    return torch.matmul(merge_heads(out), w_o)
