"""Speed baselines of ex07_attention: what the speed checks time the learner against.

Each is the library routine the exercise forbids (the library's softmax, and PyTorch's fused
``F.scaled_dot_product_attention``), never the reference solution's method, so it gives no
answer away and ships with the student kit (README, "Speed targets"). Same module and
function names and signatures as the exercise; timed on the speed cases' inputs only.
"""

import math

import torch
import torch.nn.functional as F


def scaled_dot_product_attention(q, k, v, mask=None):
    scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return torch.matmul(weights, v), weights


def multi_head_attention(x, w_q, w_k, w_v, w_o, n_heads, causal=False):
    b, length, d = x.shape
    q, k, v = ((x @ w).view(b, length, n_heads, d // n_heads).transpose(1, 2)
               for w in (w_q, w_k, w_v))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    return out.transpose(1, 2).reshape(b, length, d) @ w_o
