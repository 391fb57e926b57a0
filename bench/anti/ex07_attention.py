"""Loop-based anti-solution of ex07 for `make bench`: correct results, one Python pass per
sequence (and per head), each pass vectorized. It is how a first attempt often looks; the
grader must fail it on speed (and on the vectorization checks).
"""

import math

import torch


def causal_mask(length, device=None):
    positions = torch.arange(length, device=device)
    return positions[:, None] >= positions[None, :]


def _one(q, k, v, mask):
    scores = q @ k.T / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    e = (scores - scores.amax(dim=-1, keepdim=True)).exp()
    weights = e / e.sum(dim=-1, keepdim=True)
    return weights @ v, weights


def scaled_dot_product_attention(q, k, v, mask=None):
    lead = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    q = q.expand(*lead, *q.shape[-2:]).reshape(-1, *q.shape[-2:])
    k = k.expand(*lead, *k.shape[-2:]).reshape(-1, *k.shape[-2:])
    v = v.expand(*lead, *v.shape[-2:]).reshape(-1, *v.shape[-2:])
    if mask is not None:
        mask = mask.expand(*lead, q.shape[-2], k.shape[-2]).reshape(-1, q.shape[-2], k.shape[-2])
    outs, weights = [], []
    for i in range(q.shape[0]):
        o, w = _one(q[i], k[i], v[i], None if mask is None else mask[i])
        outs.append(o)
        weights.append(w)
    out = torch.stack(outs).reshape(*lead, q.shape[-2], v.shape[-1])
    return out, torch.stack(weights).reshape(*lead, q.shape[-2], k.shape[-2])


def split_heads(x, n_heads):
    b, length, d = x.shape
    return x.reshape(b, length, n_heads, d // n_heads).transpose(1, 2)


def merge_heads(x):
    b, h, length, dh = x.shape
    return x.transpose(1, 2).reshape(b, length, h * dh)


def multi_head_attention(x, w_q, w_k, w_v, w_o, n_heads, causal=False):
    b, length, d = x.shape
    dh = d // n_heads
    mask = causal_mask(length, device=x.device) if causal else None
    out = torch.empty_like(x)
    for i in range(b):
        q, k, v = x[i] @ w_q, x[i] @ w_k, x[i] @ w_v
        heads = []
        for h in range(n_heads):
            cols = slice(h * dh, (h + 1) * dh)
            heads.append(_one(q[:, cols], k[:, cols], v[:, cols], mask)[0])
        out[i] = torch.cat(heads, dim=1) @ w_o
    return out
