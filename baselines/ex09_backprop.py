"""Speed baselines of ex09_backprop: what the speed checks time the learner against.

Each is what the exercise forbids: ``torch.autograd`` doing the same backward pass (through
``F.cross_entropy``, through ``x @ w + b``, and through the whole SimpleMnist for a training
step), never the reference solution's method, so it gives no answer away and ships with the
student kit (README, "Speed targets"). Same module and function names and signatures as the
exercise; timed on the speed cases' inputs only.
"""

import torch
import torch.nn.functional as F

PARAMETERS = ("l1_w", "l1_b", "l2_w", "l2_b")


def cross_entropy_backward(logits, targets):
    z = logits.detach().requires_grad_()
    (grad,) = torch.autograd.grad(F.cross_entropy(z, targets), [z])
    return grad


def linear_backward(x, w, grad_out):
    x, w = x.detach().requires_grad_(), w.detach().requires_grad_()
    b = torch.zeros(w.shape[1], dtype=w.dtype, device=w.device, requires_grad=True)
    return torch.autograd.grad(x @ w + b, [x, w, b], grad_out)


def train_step(params, x, y, lr):
    p = {k: params[k].detach().requires_grad_() for k in PARAMETERS}
    hidden = torch.relu(x.reshape(len(x), -1) @ p["l1_w"] + p["l1_b"])
    loss = F.cross_entropy(hidden @ p["l2_w"] + p["l2_b"], y)
    grads = torch.autograd.grad(loss, [p[k] for k in PARAMETERS])
    with torch.no_grad():
        return {k: params[k] - lr * g for k, g in zip(PARAMETERS, grads)}, float(loss)
