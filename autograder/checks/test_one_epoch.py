"""one_epoch: one step of gradient descent, beta - 0.1 * gradient, returning the new beta."""

import numpy as np
import pytest

from autograder.compare import Wrong, as_numbers, close_to, matches, read_only, show, uses_the_notebooks_data
from autograder.student import Student
from autograder.reference_values import kept
from solutions import intro_ml as ref

# (beta, number of points, slope, offset, epoch number)
HIDDEN_STEPS = (
    ((1.0, 1.0), 100, 3.0, 2.0, 0),
    ((0.0, -2.0), 100, 1.5, -1.0, 3),
    ((4.0, 0.5), 100, -2.0, 0.5, 17),
)


@kept
def hidden_cases() -> tuple[tuple, ...]:
    """(beta, x, y, epoch, the reference step, the gradient) of each hidden step: the same for every submission."""
    rng = np.random.default_rng(11)
    cases = []
    for beta, n, slope, offset, epoch in HIDDEN_STEPS:
        x = rng.standard_normal(n).astype(np.float32)
        y = (offset + slope * x + 0.4 * rng.standard_normal(n)).astype(np.float32)
        beta = np.asarray(beta, dtype=np.float32)
        step = np.asarray(ref.one_epoch(beta, x, y), dtype=np.float64)
        gradient = np.asarray(ref.grad_of_loss(beta, x, y), dtype=np.float64)
        cases.append((*read_only(beta, x, y), epoch, *read_only(step, gradient)))
    return tuple(cases)


def steps_on_the_students_gradient(student: Student, beta: np.ndarray, x: np.ndarray, y: np.ndarray,
                                   found: np.ndarray) -> bool:
    """Whether `found` is beta - 0.1 * the student's own grad_of_loss: the right step on a wrong
    gradient, a mistake grad_of_loss's check has already named. Only a hint hangs on it: whatever
    stops the call (an error, a hang cut short, a kernel gone) leaves the message without it."""
    try:
        gradient = as_numbers(student.call("grad_of_loss", beta, x, y), "grad_of_loss", (2,))
    except Exception:
        return False
    return matches(found, beta - ref.LEARNING_RATE * gradient)


def diagnose(student: Student, beta: np.ndarray, x: np.ndarray, y: np.ndarray, found: np.ndarray,
             gradient: np.ndarray) -> str:
    """Name the mistake: a wrong gradient taken from grad_of_loss (asked first, as that mistake is
    grad_of_loss's, whatever form it takes: its sign, its size, the notebook's data), the notebook's
    data used instead of the arguments, or a step that is another multiple of the gradient than -0.1."""
    if steps_on_the_students_gradient(student, beta, x, y, found):
        return (
            f" one_epoch takes the step beta - {ref.LEARNING_RATE} * grad_of_loss(beta, x, y) as it should, "
            "but grad_of_loss does not return the gradient of loss (see its check), so the step is off too."
        )
    if matches(found, ref.one_epoch(beta, *ref.data())):
        return uses_the_notebooks_data("one_epoch")
    if matches(found, beta + ref.LEARNING_RATE * gradient):
        return (
            " one_epoch moved beta uphill: the update should subtract the gradient "
            f"(beta - {ref.LEARNING_RATE} * g), not add it."
        )
    if matches(found, gradient) or matches(found, ref.LEARNING_RATE * gradient):
        return " one_epoch returned the gradient (or the step), not the updated beta."
    if matches(found, beta):
        return (" one_epoch returned beta unchanged: did it return the value before the update, or is its "
                "learning rate 0 (in Python, 1 // 10 is 0)?")
    usable = np.abs(gradient) > 1e-3
    if usable.any():
        rates = (beta - found)[usable] / gradient[usable]
        if np.all(close_to(rates, rates[0])) and rates[0] > 0:
            return (
                f" The step is beta - {rates[0]:.3g} * gradient: the learning rate should be "
                f"{ref.LEARNING_RATE}."
            )
    return ""


@pytest.mark.points(3)
def test_one_epoch_takes_the_reference_step_on_hidden_inputs(student):
    """`one_epoch` matches the reference step beta - 0.1 * grad on every hidden (beta, x, y)."""
    for beta, x, y, epoch, expected, gradient in hidden_cases():
        found = student.call("one_epoch", beta, x, y, epoch)
        found = as_numbers(found, f"one_epoch(beta={show(beta)}, x, y, {epoch})")
        if found.shape != (2,):
            raise Wrong(f"one_epoch should return the new beta (two numbers), but it returned shape {found.shape}.")
        if not matches(found, expected):
            raise Wrong(
                f"From beta = {show(beta)}, one_epoch returned {show(found)} but one step of gradient "
                f"descent gives {show(expected)}." + diagnose(student, beta.astype(np.float64), x, y, found, gradient)
            )
