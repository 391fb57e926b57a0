"""Numeric feedback: describe values and say precisely how a result differs from the expected one.

Everything here runs on the grader's side on decoded data; nothing the learner returns is
trusted to compare itself (an object that claims equality with everything is just an object).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from grader.isolation.codec import Handle, is_tensor
from grader.isolation.proxies import RemoteObject

SMALL = 12  # arrays with at most this many elements are shown in full
WRONG_DTYPE = "wrong dtype"
WRONG_SHAPE = "wrong shape"
WRONG_DEVICE = "wrong device"
WRONG_TYPE = "expected a"          # a result of the wrong type: "expected a float64 array ..."


def describe(value: Any) -> str:
    """A short description: 'float64 array (3, 4)', 'float 3.5', 'float32 tensor (2,) on cpu'."""
    if isinstance(value, np.ndarray):
        kind = "array" if type(value) is np.ndarray else f"{type(value).__name__} (ndarray subclass)"
        return f"{value.dtype} {kind} {tuple(value.shape)}"
    if is_tensor(value):
        return f"{str(value.dtype).replace('torch.', '')} tensor {tuple(value.shape)} on {value.device}"
    if isinstance(value, np.generic):
        return f"NumPy {value.dtype} scalar {value.item()!r}"
    if isinstance(value, bool):
        return f"bool {value}"
    if isinstance(value, (int, float)):
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, (tuple, list)):
        if len(value) <= 8 and all(isinstance(v, (int, float, np.integer)) for v in value):
            return f"{type(value).__name__} {tuple(value) if isinstance(value, tuple) else value}"
        return f"{type(value).__name__} of {len(value)} items"
    if isinstance(value, (Handle, RemoteObject)):
        return f"an object of type {value.type_name}"
    if value is None:
        return "None"
    return f"{type(value).__name__}"


def show(value: Any) -> str:
    """The value itself when it is small, else its description."""
    arr = _as_array(value)
    if arr is not None and arr.size <= SMALL:
        return np.array2string(arr, separator=", ", precision=6, suppress_small=True).replace("\n", "")
    if isinstance(value, (numbers.Number, np.generic)):
        return repr(float(value)) if isinstance(value, (float, np.floating)) else repr(value)
    return describe(value)


def _as_array(value: Any) -> np.ndarray | None:
    if isinstance(value, np.ndarray):
        return value
    if is_tensor(value):
        return value.detach().cpu().numpy()
    return None


def compare_number(got: Any, expected: float, *, rtol: float = 1e-7, atol: float = 1e-9) -> str | None:
    """None when ``got`` is a real number close to ``expected``; else what is wrong."""
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (numbers.Real, np.integer, np.floating)):
        return f"expected a single number ({type(expected).__name__}), got {describe(got)}"
    g = float(got)
    if math.isnan(expected) and math.isnan(g):
        return None
    if math.isclose(g, expected, rel_tol=rtol, abs_tol=atol):
        return None
    return f"expected {expected!r}, got {g!r} (error {abs(g - expected):.3g})"


def compare_arrays(got: Any, expected: Any, *, rtol: float = 1e-7, atol: float = 1e-9,
                   check_dtype: bool = True) -> str | None:
    """None when ``got`` matches ``expected`` (an ndarray or tensor); else a diagnosis.

    The diagnosis names the first thing that is wrong: the type, the shape, the dtype, the
    device, then the values (how many differ, the first mismatching index, the largest error).
    """
    want_tensor = is_tensor(expected)
    if want_tensor and not is_tensor(got):
        return f"{WRONG_TYPE}{_n(describe(expected))} {describe(expected)}, got {describe(got)}"
    if not want_tensor:
        if not isinstance(got, np.ndarray):
            return f"{WRONG_TYPE}{_n(describe(expected))} {describe(expected)}, got {describe(got)}"
        if type(got) is not np.ndarray:
            return (f"expected a plain NumPy array, got {describe(got)}; "
                    f"return np.ndarray itself, not a subclass")
    if tuple(got.shape) != tuple(expected.shape):
        return f"{WRONG_SHAPE}: expected {tuple(expected.shape)}, got {tuple(got.shape)}"
    if want_tensor and got.device.type != expected.device.type:
        return f"{WRONG_DEVICE}: expected the result on {expected.device.type}, got it on {got.device}"
    if check_dtype and got.dtype != expected.dtype:
        return f"{WRONG_DTYPE}: expected {_dtype(expected)}, got {_dtype(got)}"
    return compare_values(_as_array(got), _as_array(expected), rtol=rtol, atol=atol)


def _n(word: str) -> str:
    """The "n" of "an" before a vowel: "expected an int64 array", "expected a float64 array"."""
    return "n" if word[:1].lower() in "aeiou" else ""


def _dtype(value: Any) -> str:
    return str(value.dtype).replace("torch.", "")


def compare_values(got: np.ndarray, expected: np.ndarray, *, rtol: float, atol: float) -> str | None:
    # Strings such as "1" would pass a float conversion; numbers are wanted, whatever check_dtype says.
    if expected.dtype.kind in "biufc" and got.dtype.kind not in "biufc":
        return f"expected numbers, got an array of {got.dtype} values"
    if got.dtype.kind in "biu" and expected.dtype.kind in "biu":
        close = got == expected
    else:
        try:
            close = np.isclose(got.astype(np.float64), expected.astype(np.float64),
                               rtol=rtol, atol=atol, equal_nan=True)
        except (TypeError, ValueError):
            return f"values could not be compared ({got.dtype} vs {expected.dtype})"
    if bool(np.all(close)):
        return None
    bad = np.argwhere(~close)
    first = tuple(int(i) for i in bad[0])
    with np.errstate(invalid="ignore"):
        err = np.abs(got.astype(np.float64) - expected.astype(np.float64))[~close]
    # Over the mismatches only: an inf or nan where a number belongs is the largest error.
    worst = (f"{err.max():.3g}" if np.isfinite(err).all() else
             "inf" if np.isinf(err).any() else "nan")
    where = f"[{', '.join(map(str, first))}]" if first else "the single value"
    return (f"values differ at {len(bad)} of {expected.size} positions; first at {where}: "
            f"expected {expected[first].item()!r}, got {got[first].item()!r}; max abs error {worst}")


def describe_inputs(inputs: dict[str, Any]) -> str:
    return ", ".join(f"{name}: {show(value)}" for name, value in inputs.items())
