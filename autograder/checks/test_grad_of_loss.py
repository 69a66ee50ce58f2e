"""grad_of_loss: the gradient of `loss` with respect to `params`."""

import numpy as np
import pytest

from autograder.compare import Wrong, as_numbers, matches, read_only, show, uses_the_notebooks_data
from autograder.reference_values import kept
from solutions import intro_ml as ref

# (params, number of points, slope, offset): points where the gradient is checked
HIDDEN_POINTS = (
    ((0.5, -1.0), 100, 2.0, 1.0),
    ((1.0, 1.0), 100, 3.0, 2.0),
    ((-3.0, 4.5), 100, -0.5, 0.25),
)


@kept
def hidden_cases() -> tuple[tuple[np.ndarray, ...], ...]:
    """(params, x, y, the reference gradient) at each hidden point: the same for every submission."""
    rng = np.random.default_rng(7)
    cases = []
    for params, n, slope, offset in HIDDEN_POINTS:
        x = rng.standard_normal(n).astype(np.float32)
        y = (offset + slope * x + 0.3 * rng.standard_normal(n)).astype(np.float32)
        params = np.asarray(params, dtype=np.float32)
        cases.append(read_only(params, x, y, np.asarray(ref.grad_of_loss(params, x, y), dtype=np.float64)))
    return tuple(cases)


def diagnose(params: np.ndarray, found: np.ndarray, expected: np.ndarray, n: int) -> str:
    """Name the usual mistakes: a sign, the two parts swapped, a lost factor 2, a sum in place of the mean,
    the notebook's data."""
    if matches(-found, expected):
        return " The sign is flipped: the gradient points uphill, where the loss grows."
    if matches(found[::-1], expected):
        return (" The two partial derivatives are swapped: the first is with respect to params[0], the "
                "intercept, the second with respect to params[1], the slope.")
    if matches(2 * found, expected):
        return " It is half the gradient: the derivative of (pred - y)**2 is 2 (pred - y)."
    if matches(found / n, expected):
        return " It is n times the gradient: `loss` takes the mean, not the sum."
    if matches(found, ref.grad_of_loss(params, *ref.data())):
        return uses_the_notebooks_data("grad_of_loss")
    return ""


@pytest.mark.points(1)
def test_grad_of_loss_matches_jax_grad_at_hidden_points(student):
    """`grad_of_loss` matches `jax.grad` of the reference loss at several hidden (params, x, y)."""
    for params, x, y, expected in hidden_cases():
        found = student.call("grad_of_loss", params, x, y)
        found = as_numbers(found, f"grad_of_loss(params={show(params)}, x, y)")
        if found.shape != (2,):
            if found.size == 1:
                raise Wrong(
                    "grad_of_loss returned a single number: that looks like the loss itself. "
                    "It should return the gradient, one number for each of the two parameters."
                )
            if found.shape == (1, 2) and matches(found[0], expected):
                raise Wrong(
                    "grad_of_loss returned the gradient inside a tuple of one, as jax.grad(loss, argnums=(0,)) "
                    "does: return the array itself, as jax.grad(loss) gives it (one_epoch cannot subtract a tuple)."
                )
            raise Wrong(f"grad_of_loss should return two numbers, but it returned shape {found.shape}.")
        if not matches(found, expected):
            raise Wrong(
                f"At params = {show(params)}, grad_of_loss returned {show(found)} but the gradient is "
                f"{show(expected)}." + diagnose(params, found, expected, len(x))
            )
