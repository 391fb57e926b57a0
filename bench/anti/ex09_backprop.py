"""Loop-based anti-solution of ex09 for `make bench`: correct gradients, one Python pass per
sample of the batch, each pass vectorized (an outer product per sample, a one-hot row per
sample). It is how a first attempt often looks; the grader must fail it on speed (and on the
vectorization checks).
"""

import torch
import torch.nn.functional as F

PARAMETERS = {"l1_w": (784, 256), "l1_b": (256,), "l2_w": (256, 10), "l2_b": (10,)}


def linear_backward(x, w, grad_out):
    grad_x = torch.empty_like(x)
    grad_w = torch.zeros_like(w)
    grad_b = torch.zeros(w.shape[1], dtype=w.dtype, device=w.device)
    for n in range(x.shape[0]):
        grad_x[n] = w @ grad_out[n]
        grad_w += torch.outer(x[n], grad_out[n])
        grad_b += grad_out[n]
    return grad_x, grad_w, grad_b


def relu_backward(x, grad_out):
    return grad_out * (x > 0)


def cross_entropy_backward(logits, targets):
    n = logits.shape[0]
    grad = torch.empty_like(logits)
    for i in range(n):
        row = (logits[i] - logits[i].max()).exp()
        row = row / row.sum()
        row[targets[i]] -= 1
        grad[i] = row / n
    return grad


def train_step(params, x, y, lr):
    p = params
    x = x.reshape(len(x), -1)
    with torch.no_grad():
        z1 = x @ p["l1_w"] + p["l1_b"]
        h = z1 * (z1 > 0)
        logits = h @ p["l2_w"] + p["l2_b"]
        loss = F.cross_entropy(logits, y)
        grad_logits = cross_entropy_backward(logits, y)
        grad_h, grad_l2_w, grad_l2_b = linear_backward(h, p["l2_w"], grad_logits)
        grad_z1 = relu_backward(z1, grad_h)
        _, grad_l1_w, grad_l1_b = linear_backward(x, p["l1_w"], grad_z1)
        grads = {"l1_w": grad_l1_w, "l1_b": grad_l1_b, "l2_w": grad_l2_w, "l2_b": grad_l2_b}
        return {name: p[name] - lr * grads[name] for name in PARAMETERS}, float(loss)
