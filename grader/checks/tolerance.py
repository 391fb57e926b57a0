"""How close a learner's floating-point result must come to the oracle's: tolerances that follow
the dtype's precision and the operation, so that every correct method passes.

Two correct methods differ by rounding, and rounding depends on the dtype (float32 keeps about
7 digits, float64 about 16) and on the operation: a sum of ``terms`` products can drift by a
few units in the last place per term, and a softmax computed in the log domain (a logsumexp)
loses ``|x| * eps`` on logits of size ``|x|`` because the logits themselves are stored to that
precision. The tolerances below allow ``SAFETY`` times that; every mistake the suites diagnose
moves a result by far more (a missing bias, a wrong axis, an overflow). Integers are exact.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SAFETY = 16


def eps(dtype: Any) -> float | None:
    """The machine epsilon of a NumPy or torch floating dtype; None for an exact one."""
    if hasattr(dtype, "is_floating_point"):          # a torch dtype
        import torch

        return float(torch.finfo(dtype).eps) if dtype.is_floating_point else None
    dtype = np.dtype(dtype)
    return float(np.finfo(dtype).eps) if dtype.kind in "fc" else None


def tolerance(dtype: Any, *, terms: int = 1, magnitude: float = 1.0) -> dict[str, float]:
    """``rtol`` and ``atol`` for comparing a result of ``dtype`` with an independent oracle.

    ``terms``: how many products one entry adds up (k of a matrix product, D of a distance);
    ``magnitude``: how large the numbers the result is computed from are (the largest
    |logit| of a softmax), when larger than the result itself."""
    e = eps(dtype)
    if e is None:
        return {"rtol": 0.0, "atol": 0.0}
    scale = SAFETY * e * max(1.0, float(magnitude))
    return {"rtol": scale * max(1.0, math.sqrt(terms)), "atol": scale * max(1, terms)}
