"""Loop-based anti-solution of ex06 for `make bench`: correct results, one Python pass per row.

Each function does the per-row work with tensor operations, the way a first attempt often
looks; the grader must fail every one of them on speed (and on the vectorization check).
"""

import torch


def pairwise_sq_dists(x, y):
    dtype = torch.promote_types(x.dtype, y.dtype)
    dtype = dtype if dtype.is_floating_point else torch.get_default_dtype()
    x, y = x.to(dtype), y.to(dtype)
    rows = [((row - y) ** 2).sum(dim=1) for row in x]
    return torch.stack(rows) if rows else torch.zeros(x.shape[0], y.shape[0], dtype=dtype, device=x.device)


def softmax(x, dim=-1):
    if not x.dtype.is_floating_point:
        x = x.to(torch.get_default_dtype())
    moved = x.movedim(dim, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    out = torch.empty_like(flat)
    for i in range(flat.shape[0]):
        e = (flat[i] - flat[i].max()).exp()
        out[i] = e / e.sum()
    return out.reshape(moved.shape).movedim(-1, dim)


def normalize_channels(images, mean, std):
    dtype = images.dtype if images.dtype.is_floating_point else torch.get_default_dtype()
    mean = torch.as_tensor(mean, dtype=dtype, device=images.device)
    std = torch.as_tensor(std, dtype=dtype, device=images.device)
    out = torch.empty(images.shape, dtype=dtype, device=images.device)
    for i, image in enumerate(images):
        out[i] = (image.to(dtype) - mean[:, None, None]) / std[:, None, None]
    return out


def knn_predict(train_x, train_y, test_x, k=1):
    out = torch.empty(test_x.shape[0], dtype=torch.int64, device=test_x.device)
    train_y = train_y.to(test_x.device)
    for i, row in enumerate(test_x):
        d = ((train_x - row) ** 2).sum(dim=1)
        labels = train_y[d.topk(k, largest=False, sorted=True).indices].tolist()
        counts = {label: labels.count(label) for label in labels}
        best = max(counts.values())
        out[i] = next(label for label in labels if counts[label] == best)
    return out
