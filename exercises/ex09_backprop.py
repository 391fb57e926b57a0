"""Exercise 09: Backpropagation as matrix products.

A gradient says how much a result changes when an input is nudged. For one variable it
is the derivative: f(x) = x^3 - 4x^2 + 7x - 1 has f'(x) = 3x^2 - 8x + 7, so f'(2) = 3, and
indeed (f(2.001) - f(1.999)) / 0.002 = 3.000001. Training a network needs the gradient of
the loss with respect to every weight, and ``loss.backward()`` computes it with the chain
rule, one layer at a time, from the loss back to the input. Here you write that backward
pass yourself, and find that it is made of the same matrix products as the forward pass.

For a linear layer ``y = x @ w + b`` on a batch, x (N, in), w (in, out), b (out,), with
``grad_out`` the gradient of the loss with respect to y, shape (N, out):

    grad_x = grad_out @ w.T         (N, out) @ (out, in) -> (N, in)    for the layer below
    grad_w = x.T @ grad_out         (in, N) @ (N, out)   -> (in, out)  w's own shape
    grad_b = grad_out.sum(axis=0)   (out,): b is added to every row, so its rows add up

Each gradient has the shape of what it is the gradient of, and that alone tells you where
the transposes go. ``grad_w`` sums the per-sample outer products ``x[n]^T grad_out[n]``
over the batch: the product does that sum in one go.

ReLU passes the gradient where its input was positive and stops it elsewhere: the slope
of max(0, x) is 1 for x > 0 and 0 for x < 0 (and, by PyTorch's convention, 0 at x = 0).

The loss is the mean cross-entropy of the logits over the batch, and its gradient with
respect to the logits is unusually simple: ``(softmax(logits) - one_hot(targets)) / N``.
The division by N is the "mean": without it every step is N times too large.

Put together for the SimpleMnist network of ex04, ``relu(x @ l1_w + l1_b) @ l2_w + l2_b``,
one step of training is a forward pass that keeps its intermediate results, a backward pass
from the logits down to ``l1_w``, and an update ``w - lr * grad`` of every parameter.

The rules: no autograd. ``.backward()``, ``torch.autograd.grad``, ``torch.autograd.backward``,
``torch.func`` and ``functorch`` are not allowed; matrix products, ``torch.softmax`` and
``F.cross_entropy`` (for the loss's value) are. Work on the device of the inputs, with no
Python loop over the samples of a batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: F401 (F.cross_entropy gives the loss's value)

PARAMETERS = {"l1_w": (784, 256), "l1_b": (256,), "l2_w": (256, 10), "l2_b": (10,)}


def linear_backward(
    x: torch.Tensor, w: torch.Tensor, grad_out: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The gradients of a linear layer ``y = x @ w + b``: ``(grad_x, grad_w, grad_b)``.

    ``x`` has shape (N, in), ``w`` (in, out) and ``grad_out``, the gradient of the loss with
    respect to y, (N, out). Returns ``grad_x = grad_out @ w.T`` of shape (N, in),
    ``grad_w = x.T @ grad_out`` of shape (in, out) and ``grad_b``, the sum of ``grad_out``
    over the batch (its rows), of shape (out,). Each has the shape of ``x``, ``w`` and the
    bias; the dtype and device of the inputs. Matrix products, no loop over the batch.

    Raises:
        ValueError: if the inputs are not 2-D or their shapes do not fit together; the
            message names the shapes, e.g. ``linear_backward: x (4, 3) and w (2, 5) do not
            fit: x has 3 columns, w has 2 rows``.

    >>> x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])        # N = 2 samples, 2 inputs
    >>> w = torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 3.0]])
    >>> grad_out = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    >>> grad_x, grad_w, grad_b = linear_backward(x, w, grad_out)
    >>> grad_x
    tensor([[1., 0.],
            [2., 4.]])
    >>> grad_w
    tensor([[1., 3., 3.],
            [2., 4., 4.]])
    >>> grad_b
    tensor([1., 1., 1.])
    """
    raise NotImplementedError("ex09_backprop.linear_backward: not implemented yet")


def relu_backward(x: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    """The gradient through ``relu(x)``: ``grad_out`` where ``x > 0``, else 0.

    ``x`` is the input of the ReLU (not its output) and ``grad_out`` the gradient of the
    loss with respect to the ReLU's output, of the same shape. The slope is 1 for x > 0
    and 0 for x < 0; at x = 0 it is 0, as in PyTorch. The result has the shape, dtype and
    device of ``grad_out``.

    Raises:
        ValueError: if ``x`` and ``grad_out`` differ in shape; the message names both.

    >>> relu_backward(torch.tensor([-2.0, 0.0, 3.0]), torch.tensor([10.0, 20.0, 30.0]))
    tensor([ 0.,  0., 30.])
    """
    raise NotImplementedError("ex09_backprop.relu_backward: not implemented yet")


def cross_entropy_backward(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The gradient of the mean cross-entropy loss with respect to ``logits``.

    ``logits`` has shape (N, C), ``targets`` holds the right class of each row, integers
    0..C-1 of shape (N,). The loss is ``F.cross_entropy(logits, targets)``, the mean over
    the batch of ``-log softmax(logits)[n, targets[n]]``, and its gradient is
    ``(softmax(logits) - one_hot(targets)) / N``, shape (N, C), with the dtype and device
    of ``logits``. Each row sums to 0. Build the one-hot rows without a loop (index with
    ``torch.arange(N)`` and ``targets``, or ``F.one_hot``).

    Raises:
        ValueError: if ``logits`` is not 2-D or has no rows, or ``targets`` is not an
            integer tensor of shape (N,) with values in 0..C-1; the message names the
            shapes or the bad target.

    >>> logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> cross_entropy_backward(logits, torch.tensor([0, 2]))
    tensor([[-0.1065,  0.0533,  0.0533],
            [ 0.1667,  0.1667, -0.3333]])
    """
    raise NotImplementedError("ex09_backprop.cross_entropy_backward: not implemented yet")


def train_step(
    params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor, lr: float
) -> tuple[dict[str, torch.Tensor], float]:
    """One step of gradient descent for ex04's SimpleMnist, gradients by hand: ``(new_params, loss)``.

    ``params`` holds the network's tensors by name: ``l1_w`` (784, 256), ``l1_b`` (256,),
    ``l2_w`` (256, 10) and ``l2_b`` (10,). ``x`` is a batch of digits (N, 784) (images of
    28 x 28 are flattened), ``y`` its labels (N,). The forward pass is ex04's,
    ``relu(x @ l1_w + l1_b) @ l2_w + l2_b``; the loss is the mean cross-entropy of the
    logits. Backward with ``cross_entropy_backward``, ``linear_backward`` and
    ``relu_backward``, then every parameter moves against its gradient:
    ``new = p - lr * grad``.

    Returns a new dict with the four updated tensors (the dtype and device of the old ones;
    ``params`` itself is left unchanged) and the loss *before* the update as a Python float.

    Raises:
        ValueError: if a parameter is missing or has the wrong shape (the message names it
            and the expected shape), or if ``x`` and ``y`` do not hold the same number of
            samples.

    Not allowed: autograd (``.backward()``, ``torch.autograd.grad``, ``torch.func``).

    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> params = {name: torch.randn(*shape) / shape[0] for name, shape in PARAMETERS.items()}
    >>> x, y = torch.randn(8, 784), torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])
    >>> new_params, loss = train_step(params, x, y, lr=0.1)
    >>> round(loss, 2), sorted(new_params)
    (2.33, ['l1_b', 'l1_w', 'l2_b', 'l2_w'])
    >>> train_step(new_params, x, y, lr=0.1)[1] < loss
    True
    """
    raise NotImplementedError("ex09_backprop.train_step: not implemented yet")
