"""Speed baseline of ex03_matmul: what ``matmul``'s speed check times the learner against.

A baseline is the library routine the exercise forbids, never the reference solution's
method, so it gives no answer away: it ships with the student kit, and the learner's ratio
is measured against the same code on both sides (README, "Speed targets"). Same module and
function names and signatures as the exercise.
"""

import numpy as np


def matmul(a, b):
    return np.matmul(a, b)
