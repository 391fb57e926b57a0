"""What went wrong, read from the evidence, and the hint that fits it.

A check's own hint is about the idea it tests (line the shapes up from the right, sum over
k); it is the right hint when the values are wrong. When something else is wrong (the dtype,
the device, a result of the wrong type, ``None``, an exception in the learner's code, memory)
the hint is chosen here from what is actually wrong, so a dtype problem never gets the
axis hint. ``expect.py`` and the plugin's ``classify`` both ask here.
"""

from __future__ import annotations

import re
from typing import Any

from grader.checks import diagnose

# -- hints for a wrong result -------------------------------------------------------------------
RETURNED_NONE = ("the function returned None: does every path through it end in "
                 "`return <result>`? (A function without a return statement returns None.)")
WRONG_TYPE_ARRAY = ("return a NumPy array (np.asarray(...) turns a list or a number into one), "
                    "as the docstring says")
WRONG_TYPE_TENSOR = "return a torch tensor, as the docstring says (torch.as_tensor(...) turns data into one)"
DTYPE = ("the dtype is {got} where {expected} is expected: find the step that changes it "
         "(np.zeros, np.ones and / give float64; .float() and .double() change a tensor's "
         "dtype; integer input may need converting to a float dtype first, but not otherwise)")
DTYPE_VALUES_RIGHT = "the values are right; only the dtype is off"
DEVICE = ("create new tensors on the inputs' device (device=x.device) and return the result "
          "there; .cpu() or a tensor built without device= moves it")
SHAPE = ("the shape is off: check the axis of each reduction (sum, max, mean over which "
         "axis?) and the order of the factors; print the .shape of each step on a small input")

# -- hints for an exception in the learner's code -----------------------------------------------
RAISED_NAME = ("a name is used that the code never defines: a typo, a variable from another "
               "function, or a helper or import left out of the file?")
RAISED_NONE = ("a value used here is None: a function (yours, or a helper) returned None "
               "where it should return a result; check its return statements")
RAISED_SHAPES = ("two shapes do not line up: print the .shape of each operand of that line on "
                 "a small input. A reduction drops its axis unless you keep it (keepdim=True "
                 "in torch, keepdims=True in NumPy), which is often what breaks broadcasting")
RAISED_DTYPE = ("two dtypes meet that do not mix: bring them to one dtype first "
                "(.to(x.dtype) for tensors, .astype(...) for arrays)")
RAISED_INDEX = ("an index or axis is out of range: compare it with the input's shape "
                "(a.ndim axes, numbered from 0 or from -1 backwards)")
RAISED_ARGUMENTS = ("a call gets arguments it does not take: compare it with that function's "
                    "signature (the docstring shows how it is called)")
RAISED_ZERO = "a division by zero: which input makes the denominator 0, and what does the docstring ask then?"
RAISED_RECURSION = "the function calls itself (directly or through another) without end"
RAISED_VALUE_ON_GOOD_INPUT = ("it raised ValueError on a valid input: is a check in your code "
                              "stricter than the docstring's rules?")
MEMORY = "memory limit of {mb} MiB exceeded: the code tried to allocate {size} at once"
MEMORY_NO_LIMIT = "out of memory: the code tried to allocate {size} at once"
MEMORY_HINT = ("an intermediate much larger than the inputs and the result is the likely cause, "
               "such as an (N, M, D) array from x[:, None, :] - y[None, :, :]; build the result "
               "from smaller pieces (for distances, ||x||^2 + ||y||^2 - 2 x @ y.T needs only (N, M))")

_OUT_OF_MEMORY = re.compile(r"can't allocate memory|out of memory|Unable to allocate|"
                            r"CUDA error: out of memory|MemoryError", re.I)
_BYTES = re.compile(r"allocate (\d+) bytes|allocate ([\d.]+ [KMGT]iB)|Tried to allocate ([\d.]+ [KMGT]iB)")
_SHAPES = re.compile(r"could not be broadcast|must match the size|shapes cannot be multiplied|"
                     r"size mismatch|mismatch in its core dimension|operands could not|"
                     r"Expected size|shape mismatch|cannot reshape|invalid for input of size|"
                     r"doesn't match the broadcast shape|not aligned", re.I)
_DTYPES = re.compile(r"expected scalar type|dtype|Cannot cast|can't be cast|found (Double|Float|Long)|"
                     r"result type \w+ can't|not implemented for '(Long|Int|Byte|Bool)'", re.I)
_INDEX = re.compile(r"out of range|out of bounds|Dimension out of range|index \d+ is out", re.I)
_ARGUMENTS = re.compile(r"positional argument|keyword argument|takes \d+|missing \d+ required|"
                        r"unexpected keyword|received an invalid combination of arguments", re.I)


def hint_for_result(problem: str, got: Any, expected: Any, *, hint: str | None = None,
                    dtype_hint: str | None = None, shape_hint: str | None = None) -> str | None:
    """The hint for a result ``compare_arrays`` or ``compare_number`` found wrong with
    ``problem``: the check's own ``hint`` when the values are wrong, else the one that fits."""
    if got is None:
        return RETURNED_NONE
    if problem.startswith(diagnose.WRONG_DTYPE):
        return dtype_hint or DTYPE.format(expected=_dtype(expected), got=_dtype(got))
    if problem.startswith(diagnose.WRONG_SHAPE):
        return shape_hint or hint or SHAPE
    if problem.startswith(diagnose.WRONG_DEVICE):
        return DEVICE
    if problem.startswith(diagnose.WRONG_TYPE):
        if diagnose.is_tensor(expected):
            return WRONG_TYPE_TENSOR
        return hint if not hasattr(expected, "shape") else WRONG_TYPE_ARRAY
    return hint


def hint_for_raised(type_name: str, message: str) -> str | None:
    """The hint for an exception the learner's code raised, from its type and message; None
    when nothing about it points at a cause (the check's own hint then)."""
    text = f"{type_name}: {message}"
    if is_out_of_memory(type_name, message):
        return MEMORY_HINT
    if type_name in ("NameError", "UnboundLocalError"):
        return RAISED_NAME
    if "NoneType" in message:
        return RAISED_NONE
    if type_name == "RecursionError":
        return RAISED_RECURSION
    if type_name == "ZeroDivisionError":
        return RAISED_ZERO
    if _SHAPES.search(text):
        return RAISED_SHAPES
    if _DTYPES.search(text):
        return RAISED_DTYPE
    if type_name in ("IndexError", "AxisError") or _INDEX.search(text):
        return RAISED_INDEX
    if type_name == "TypeError" and _ARGUMENTS.search(text):
        return RAISED_ARGUMENTS
    return None


def is_out_of_memory(type_name: str, message: str) -> bool:
    """PyTorch's allocator failing, or NumPy's MemoryError: the worker's memory limit."""
    return type_name == "MemoryError" or (type_name in ("RuntimeError", "OutOfMemoryError")
                                          and bool(_OUT_OF_MEMORY.search(message)))


def memory_text(message: str, memory_mb: float | None) -> str:
    """The kit's words for an allocation that failed: the limit and the size asked for."""
    match = _BYTES.search(message)
    size = "more than the limit"
    if match and match.group(1):
        size = _size(int(match.group(1)))
    elif match:
        size = match.group(2) or match.group(3)
    if memory_mb:
        return MEMORY.format(mb=f"{memory_mb:g}", size=size)
    return MEMORY_NO_LIMIT.format(size=size)


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _dtype(value: Any) -> str:
    dtype = getattr(value, "dtype", None)
    return str(dtype).replace("torch.", "") if dtype is not None else type(value).__name__
