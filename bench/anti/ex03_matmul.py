"""Loop-based anti-solution of ex03's matmul for `make bench`: one dot product per entry.

Two Python loops over the result's rows and columns, each entry a vectorized row-times-column
sum: far quicker than three scalar loops, and still the speed target must fail it.
"""

import numpy as np


def matmul(a, b):
    a, b = np.asarray(a), np.asarray(b)
    out = np.zeros((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            out[i, j] = (a[i, :] * b[:, j]).sum()
    return out
