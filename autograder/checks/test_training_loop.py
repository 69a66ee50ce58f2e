"""training_loop: 50 epochs of one_epoch from beta = (1, 1), keeping every beta in beta_history."""

import numpy as np
import pytest

from autograder.compare import Wrong, as_numbers, close_to, require, show
from autograder.checks.given_data import reads_the_notebooks_data
from autograder.reference_values import kept
from solutions import intro_ml as ref

TOLERANCE_TO_FIT = 0.05


@kept
def reference_history() -> np.ndarray:
    return np.asarray(ref.trajectory(*ref.data()), dtype=np.float64)


@kept
def least_squares_fit() -> np.ndarray:
    return np.asarray(ref.least_squares(*ref.data()), dtype=np.float64)


@pytest.mark.points(1)
@reads_the_notebooks_data
def test_beta_history_holds_the_51_steps_of_the_reference_trajectory(student):
    """`beta_history` has 51 entries matching the reference trajectory."""
    expected = reference_history()
    history = as_numbers(student.value("beta_history"), "`beta_history`")
    if history.ndim != 2 or history.shape[1] != 2:
        raise Wrong(f"`beta_history` should be a list of parameter pairs, but it has shape {history.shape}.")
    if len(history) != len(expected):
        hint = ""
        if len(history) == len(expected) - 1:
            if np.all(close_to(history, expected[:-1])):
                hint = (" The last beta, after the final epoch, is missing: append each new beta after its step "
                        "(and the start before the loop).")
            else:
                hint = " Did you leave out the starting beta = (1, 1)?"
        elif len(history) > 1 and np.all(close_to(history[:len(expected)], expected[:len(history)])):
            hint = (f" It follows the reference trajectory for {len(history) - 1} epochs: run {ref.EPOCHS}, "
                    f"as range({ref.EPOCHS}) does.")
        raise Wrong(
            f"`beta_history` has {len(history)} {'entry' if len(history) == 1 else 'entries'}; "
            f"it should have {len(expected)}: "
            f"the start and one per epoch for {ref.EPOCHS} epochs.{hint}"
        )
    agree = np.all(close_to(history, expected), axis=1)
    if not agree.all():
        first = int(np.argmin(agree))
        hint = ""
        if np.all(close_to(history, expected[0])):
            hint = " beta never left the start: does one_epoch return the updated beta, with a step that is not 0?"
        elif np.all(close_to(history[1:], expected[1])):
            hint = (" Every entry after the start is the first step from the start: keep the new beta, "
                    "beta = one_epoch(beta, x, y, i), so that each epoch goes on from the last.")
        elif np.all(close_to(history, history[-1])):
            hint = " Every entry is the same: did you append the same array, updated in place, each time?"
        elif first > 0 and np.all(close_to(history[first:], history[first - 1])):
            hint = " It stops changing: did you append the same array each time instead of the new beta?"
        elif first == 1:
            hint = " The start is right but the first step is not: the checks of one_epoch and grad_of_loss say why."
        elif first == 0:
            hint = (
                f" Start from beta = jnp.array([{', '.join(map(str, ref.BETA_START))}]): the 10-epoch loop "
                "above leaves beta elsewhere."
            )
        raise Wrong(
            f"`beta_history[{first}]` is {show(history[first])} but the reference trajectory has "
            f"{show(expected[first])} there.{hint}"
        )


@pytest.mark.points(1)
@reads_the_notebooks_data
def test_beta_is_the_last_step_and_near_the_least_squares_fit(student):
    """`beta` equals `beta_history[-1]` and lies within 0.05 of the reference least-squares fit."""
    beta = as_numbers(student.value("beta"), "`beta`", (2,))
    history = as_numbers(student.value("beta_history"), "`beta_history`")
    require(
        history.ndim == 2 and history.shape[1] == 2 and len(history) > 0,
        "`beta_history` should be a list of parameter pairs ending with the final beta.",
    )
    require(
        bool(np.all(np.isfinite(beta))),
        f"`beta` is {show(beta)}: the training diverged, its steps growing until the numbers overflowed. "
        "Is the gradient averaged over the points, as `loss` is, and the learning rate 0.1?",
    )
    require(
        bool(np.all(close_to(beta, history[-1]))),
        f"`beta` is {show(beta)} but the last entry of beta_history is {show(history[-1])}: they should be equal.",
    )
    fit = least_squares_fit()
    distance = float(np.linalg.norm(beta - fit))
    require(
        distance <= TOLERANCE_TO_FIT,
        f"After training, beta is {show(beta)}, {distance:.3g} away from the least-squares fit "
        f"{show(fit)}; it should be within {TOLERANCE_TO_FIT}.",
    )
