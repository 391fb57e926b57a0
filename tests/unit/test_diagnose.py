"""Numeric feedback: each diagnosis names the first thing wrong, precisely."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grader.checks.diagnose import compare_arrays, compare_number, describe, show


def test_matching_arrays_pass():
    assert compare_arrays(np.arange(4.0), np.arange(4.0)) is None
    assert compare_arrays(np.array([1.0, np.nan]), np.array([1.0, np.nan])) is None
    assert compare_arrays(np.array([1.0 + 1e-12]), np.array([1.0])) is None
    assert compare_arrays(np.zeros((0, 3)), np.zeros((0, 3))) is None
    assert compare_arrays(torch.ones(2, 3), torch.ones(2, 3)) is None


def test_shape_is_reported_first():
    msg = compare_arrays(np.zeros((2, 3), dtype=np.float32), np.zeros((3, 2)))
    assert msg == "wrong shape: expected (3, 2), got (2, 3)"
    assert compare_arrays(np.zeros(3), np.zeros((3, 1))) == "wrong shape: expected (3, 1), got (3,)"


def test_dtype_is_reported_before_values():
    msg = compare_arrays(np.arange(3.0), np.arange(3) + 1)
    assert msg == "wrong dtype: expected int64, got float64"
    assert compare_arrays(np.arange(3.0), np.arange(3), check_dtype=False) is None
    msg = compare_arrays(torch.zeros(2, dtype=torch.float64), torch.zeros(2))
    assert msg == "wrong dtype: expected float32, got float64"


def test_device_is_reported_for_tensors():
    msg = compare_arrays(torch.zeros(2, device="meta"), torch.zeros(2))
    assert msg.startswith("wrong device: expected the result on cpu, got it on meta")


def test_first_mismatch_index_and_max_error():
    got = np.array([[1.0, 2.0], [3.5, 9.0]])
    want = np.array([[1.0, 2.0], [3.0, 4.0]])
    msg = compare_arrays(got, want)
    assert msg == ("values differ at 2 of 4 positions; first at [1, 0]: "
                   "expected 3.0, got 3.5; max abs error 5")


def test_integer_arrays_are_compared_exactly():
    msg = compare_arrays(np.array([140, 100]), np.array([140, 101]))
    assert msg == "values differ at 1 of 2 positions; first at [1]: expected 101, got 100; max abs error 1"
    big = np.array([2**53 + 1], dtype=np.int64)
    assert compare_arrays(big - 1, big) is not None    # exact, not via float64


def test_zero_d_mismatch_names_the_single_value():
    msg = compare_arrays(np.array(2.0), np.array(3.0))
    assert "first at the single value: expected 3.0, got 2.0" in msg


def test_non_finite_mismatches_are_the_largest_error():
    assert compare_arrays(np.array([np.inf, 1.0]), np.array([1.0, 1.0])).endswith("max abs error inf")
    assert compare_arrays(np.array([1.0, np.nan]), np.array([1.0, 2.0])).endswith("max abs error nan")
    msg = compare_arrays(np.array([1.0, 7.0, np.inf]), np.array([1.0, 2.0, np.inf]))
    assert msg.endswith("max abs error 5") and "1 of 3" in msg


def test_tolerances_apply():
    got, want = np.array([1.001]), np.array([1.0])
    assert compare_arrays(got, want) is not None
    assert compare_arrays(got, want, rtol=1e-2) is None
    assert compare_arrays(got, want, rtol=0, atol=1e-2) is None


def test_wrong_types_are_named():
    assert compare_arrays([1.0, 2.0], np.zeros(2)) == "expected a float64 array (2,), got list [1.0, 2.0]"
    assert compare_arrays(3.0, np.zeros(())) == "expected a float64 array (), got float 3.0"
    assert compare_arrays(np.zeros(2), torch.zeros(2)) == (
        "expected a float32 tensor (2,) on cpu, got float64 array (2,)")
    assert compare_arrays(torch.zeros(2), np.zeros(2)).startswith("expected a float64 array (2,)")
    assert compare_arrays(None, np.zeros(2)) == "expected a float64 array (2,), got None"


def test_ndarray_subclasses_are_rejected():
    class Liar(np.ndarray):
        def __eq__(self, other):
            return np.ones(np.shape(self), dtype=bool)

    liar = np.zeros(2).view(Liar)
    msg = compare_arrays(liar, np.ones(2))
    assert msg.startswith("expected a plain NumPy array, got float64 Liar (ndarray subclass) (2,)")
    assert "not a subclass" in msg
    assert compare_arrays(np.ma.array([1.0]), np.array([1.0])) is not None


def test_compare_number():
    assert compare_number(1.5, 1.5) is None
    assert compare_number(np.float32(0.5), 0.5) is None
    assert compare_number(np.int64(3), 3.0) is None
    assert compare_number(1.0 + 1e-12, 1.0) is None
    assert compare_number(float("nan"), float("nan")) is None
    assert compare_number(2.0, 1.0) == "expected 1.0, got 2.0 (error 1)"
    assert compare_number(1.0, float("nan")) is not None
    assert compare_number(1.01, 1.0, rtol=0.1) is None


@pytest.mark.parametrize("value, kind", [
    (True, "bool True"), (np.bool_(False), "NumPy bool scalar False"),
    (np.array(1.0), "float64 array ()"), ([1.0], "list [1.0]"), ("1.0", "str"), (None, "None"),
    (torch.tensor(1.0), "float32 tensor () on cpu"),
])
def test_compare_number_refuses_non_numbers(value, kind):
    assert compare_number(value, 1.0) == f"expected a single number (float), got {kind}"


def test_show_and_describe():
    assert show(np.array([1.0, 2.5])) == "[1. , 2.5]"
    assert show(np.zeros((20, 20))) == "float64 array (20, 20)"   # big inputs are not pasted
    assert describe(np.float32(2.0)) == "NumPy float32 scalar 2.0"
    assert describe((1, 2)) == "tuple (1, 2)"
