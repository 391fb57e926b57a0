"""Speed baselines of ex06_vectorize: what the speed checks time the learner against.

Each is the library routine the exercise forbids (``torch.cdist``, ``torch.softmax``,
``F.batch_norm``, ``cdist`` with ``topk`` and ``mode``), never the reference solution's
method, so it gives no answer away and ships with the student kit (README, "Speed
targets"). Same module and function names and signatures as the exercise. They are timed
on the speed cases' inputs only (float32, k = 1), where each returns the exercise's answer.
"""

import torch
import torch.nn.functional as F


def pairwise_sq_dists(x, y):
    return torch.cdist(x, y).square()


def softmax(x, dim=-1):
    return torch.softmax(x, dim)


def normalize_channels(images, mean, std):
    mean = torch.as_tensor(mean, dtype=images.dtype, device=images.device)
    std = torch.as_tensor(std, dtype=images.dtype, device=images.device)
    return F.batch_norm(images, mean, std.square(), training=False, eps=0.0)


def knn_predict(train_x, train_y, test_x, k=1):
    nearest = torch.cdist(test_x, train_x).topk(k, dim=1, largest=False).indices
    return train_y.to(test_x.device)[nearest].mode(dim=1).values
