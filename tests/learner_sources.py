"""Small learner modules that more than one tier of the kit's tests grades or reads."""

# A loop over rows in ``total`` (lines 5-6 run once per row) and one over a fixed count in
# ``fine`` (never counted against it): the vectorization check's two cases.
LOOPY = """\
import numpy as np

def total(a):
    out = []
    for row in a:
        out.append(row.sum())
    return np.array(out)

def fine(a):
    for _ in range(3):
        a = a + 0
    return a.sum(axis=1)
"""
