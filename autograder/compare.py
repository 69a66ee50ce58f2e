"""Comparing a student's values with the reference, and saying what is wrong in a student's words.

"Matches" is the contract's rule: equal within float32 tolerance (relative 1e-4, absolute 1e-4)
after converting to NumPy, whether the student gave a JAX array, a NumPy array, a float, a tuple or
a list.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.plain import Opaque

RTOL = 1e-4
ATOL = 1e-4


class Wrong(AssertionError):
    """A check failed; the message is what the student reads."""


def read_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arrays, made unwritable: a check computes its hidden inputs and their reference values
    once per process, and every submission that process grades then shares them."""
    for array in arrays:
        array.setflags(write=False)
    return arrays


def as_numbers(value: Any, what: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """`value` as a float64 array of real numbers, or a `Wrong` that says what it is instead."""
    if isinstance(value, Opaque):
        raise Wrong(f"{what} should hold numbers, but it is a {value.type_name}.")
    if value is None or isinstance(value, str):
        raise Wrong(f"{what} should hold numbers, but it is {value!r}.")
    try:
        array = np.asarray(value)
    except ValueError:
        raise Wrong(f"{what} should be numbers in a regular shape, but its parts have different sizes.") from None
    if array.dtype == object:
        kinds = sorted({type(v).__name__ for v in np.ravel(np.asarray(value, dtype=object))})
        raise Wrong(f"{what} should hold only numbers, but it holds {', '.join(kinds)}.")
    if array.dtype.kind == "c":
        raise Wrong(f"{what} should hold real numbers, but it holds complex numbers.")
    if array.dtype.kind == "b":
        raise Wrong(f"{what} should hold numbers, but it holds True/False values.")
    if array.dtype.kind in "US":
        example = f" such as {str(array.flat[0])!r}" if array.size else ""
        raise Wrong(f"{what} should hold numbers, but it holds text{example}: write numbers without quotes.")
    if array.dtype.kind not in "iuf":
        raise Wrong(f"{what} should hold numbers, but it holds values of type {array.dtype}.")
    array = array.astype(np.float64)
    if shape is not None and array.shape != shape:
        if array.size == int(np.prod(shape)) and array.ndim != len(shape):
            array = array.reshape(shape)
        else:
            raise Wrong(f"{what} should have shape {shape}, but it has shape {array.shape}.")
    return array


def matches(found: np.ndarray, expected: Any) -> bool:
    expected = np.asarray(expected, dtype=np.float64)
    if found.shape != expected.shape:
        return False
    return bool(np.all(np.isfinite(found)) and np.allclose(found, expected, rtol=RTOL, atol=ATOL))


def close_to(found: Any, expected: Any) -> np.ndarray:
    """Element-wise "matches", for values already known to be numbers of broadcastable shapes."""
    found = np.asarray(found, dtype=np.float64)
    return np.isfinite(found) & np.isclose(found, np.asarray(expected, dtype=np.float64), rtol=RTOL, atol=ATOL)


def show(value: Any) -> str:
    """A short, readable rendering of numbers for a feedback message."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return f"{float(array):.4g}"
    if array.size <= 4:
        return "(" + ", ".join(f"{v:.4g}" for v in array.ravel()) + ")"
    return f"an array of shape {array.shape}"


def label_is(text: str, expected: str) -> bool:
    """Axis labels compare case-insensitively and stripped, with `$...$` mathtext allowed."""
    text = text.strip()
    if len(text) >= 2 and text.startswith("$") and text.endswith("$"):
        text = text[1:-1].strip()
    return text.lower() == expected.lower()


def uses_the_notebooks_data(function: str) -> str:
    """What to tell a student whose function gave, on a check's data, what it gives on the notebook's
    x and y: it reads the notebook's globals, not its arguments."""
    return (
        f" That is its result on the notebook's x and y: {function} should use its own arguments x and y "
        "(the checks call it on other data)."
    )


def require(condition: bool, message: str) -> None:
    if not condition:
        raise Wrong(message)
