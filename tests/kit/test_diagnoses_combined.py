"""Behavioural diagnoses survive two mistakes at once (issue 14, point 10).

Each classic mistake of ex04's forward pass and of ex07's attention weights is recomputed
here, alone and in every combination, and the suite's own diagnosis must name every mistake
in it: a forward pass missing both biases is "two mistakes", not the generic "values differ".
The golden fixtures ex04_both_biases_missing, ex04_no_relu_no_bias and
ex07_no_scale_and_wrong_axis show the same through the grader.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from suite_modules import load_suite

ex04 = load_suite("ex04_simple_mnist")
ex07 = load_suite("ex07_attention")


def _weights(rng):
    shapes = ex04.SPEC_SHAPES
    return {name: torch.from_numpy(rng.standard_normal(shape) / shape[0]) for name, shape in shapes.items()}


FORWARD_MISTAKES = list(itertools.product(ex04.RELU_MISTAKES, (True, False), (True, False), (False, True)))


@pytest.mark.parametrize("relu, b1, b2, softmax", [m for m in FORWARD_MISTAKES if m != ("relu", True, True, False)])
def test_every_combination_of_forward_mistakes_is_named(relu, b1, b2, softmax):
    rng = np.random.default_rng(0)
    w, x = _weights(rng), ex04._randn(rng, 37, 784)
    text, fn = ex04.RELU_MISTAKES[relu]
    got = ex04._oracle(x, w, relu=fn, b1=b1, b2=b2)
    got = torch.softmax(got, dim=1) if softmax else got
    named = ex04._diagnose_forward(None, w, x, got.to(torch.float32), rng)
    expected = [t for t in (text, None if b1 else ex04.BIAS_NOT_ADDED.format(name="l1_b"),
                            None if b2 else ex04.BIAS_NOT_ADDED.format(name="l2_b"),
                            ex04.SOFTMAX_APPLIED if softmax else None) if t]
    assert named is not None
    for phrase in expected:
        assert phrase in named, (phrase, named)
    if len(expected) > 1:
        assert ex04.SEVERAL_MISTAKES.format(count=len(expected)) in named


ATTENTION_MISTAKES = [m for m in itertools.product(ex07.SCALE_MISTAKES, ex07.MASK_MISTAKES, ex07.AXIS_MISTAKES)
                      if sum(1 for part, table in zip(m, (ex07.SCALE_MISTAKES, ex07.MASK_MISTAKES,
                                                             ex07.AXIS_MISTAKES)) if table[part]) >= 2]


@pytest.mark.parametrize("scale, how, axis", ATTENTION_MISTAKES)
def test_every_pair_of_attention_mistakes_is_named(scale, how, axis):
    rng = np.random.default_rng(1)
    q, k, v = (ex07._randn(rng, 2, 6, 4) for _ in range(3))
    mask = torch.ones(6, 6, dtype=torch.bool).tril()
    d = q.shape[-1]
    scores = ex07._scores(q, k) / {"sqrt": math.sqrt(d), "none": 1.0, "d": float(d)}[scale]
    if how == "after":
        weights = torch.softmax(scores, dim=axis) * mask
    else:
        weights = torch.softmax(ex07._masked(scores, mask, 0.0 if how == "zero" else float("-inf")), dim=axis)
    named = ex07._diagnose_weights(weights.to(torch.float32), q, k, v, mask)
    texts = [t.format(d=d) for t in (ex07.SCALE_MISTAKES[scale], ex07.MASK_MISTAKES[how],
                                     ex07.AXIS_MISTAKES[axis]) if t]
    assert named is not None and all(t in named for t in texts), (texts, named)
