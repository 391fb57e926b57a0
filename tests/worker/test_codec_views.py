"""codec.View (non-contiguous arrays for the learner's code) and the worker's array_meta probe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader.isolation import codec
from learner_pool import open_learner, write_modules

LEARNER = '''
import numpy as np

def same(a):
    return a

def copied(a):
    return np.array(a)

def stretched(a, shape):
    return np.lib.stride_tricks.as_strided(a, shape, (0,) + a.strides, writeable=False)
'''


def _roundtrip(value):
    enc = codec.Encoder()
    tree = enc.encode(value)
    return codec.Decoder(enc.buffers).decode(tree)


def test_view_arrives_as_the_same_non_contiguous_view():
    base = np.arange(24.0).reshape(4, 6)
    view = codec.View(base, (slice(None), slice(1, None, 2)), axes=(1, 0))
    got = _roundtrip(view)
    assert np.array_equal(got, view.array) and got.shape == (3, 4)
    assert not got.flags.c_contiguous and got.base is not None
    assert got.strides == view.array.strides


def test_view_index_that_does_not_fit_fails_on_the_sending_side():
    with pytest.raises(IndexError):
        codec.View(np.zeros(3), (slice(None), slice(None)))


def test_malformed_view_is_a_codec_error():
    enc = codec.Encoder()
    tree = enc.encode(codec.View(np.zeros((2, 2))))
    tree["index"] = ["nope"]
    with pytest.raises(codec.CodecError):
        codec.Decoder(enc.buffers).decode(tree)


@pytest.fixture
def learner(tmp_path: Path):
    with open_learner(write_modules(tmp_path / "submission", views_mod=LEARNER), ["views_mod"]) as lrn:
        yield lrn.module("views_mod")


def test_shares_memory_and_array_meta_see_the_worker_side_view(learner):
    view = codec.View(np.arange(12.0), (slice(None, None, 3),))
    same = learner.same.call(view, probe=["shares_memory", "array_meta"])
    assert same.extra["shares_memory"] == [True]
    assert same.extra["array_meta"]["strides"] == [24] and same.extra["array_meta"]["writeable"]
    copy = learner.copied.call(view, probe=["shares_memory", "array_meta"])
    assert copy.extra["shares_memory"] == [False] and copy.extra["array_meta"]["owndata"]


def test_array_meta_reports_zero_strides_and_read_only(learner):
    got = learner.stretched.call(np.arange(3.0), (4, 3), probe=["array_meta"])
    assert np.array_equal(got.value, np.tile(np.arange(3.0), (4, 1)))
    assert got.extra["array_meta"] == {"shape": [4, 3], "strides": [0, 8], "writeable": False,
                                       "owndata": False, "c_contiguous": False}
    assert learner.same.call(5, probe=["array_meta"]).extra["array_meta"] is None
