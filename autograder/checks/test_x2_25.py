"""x2_25: a pair beta_25 with x2(beta_25) = 25."""

import pytest

from autograder.compare import as_numbers, matches, require, show
from solutions import intro_ml as ref


@pytest.mark.points(1)
def test_beta_25_is_a_pair_whose_squares_sum_to_25(student):
    """`beta_25` is a pair of two real numbers whose squares sum to 25."""
    beta_25 = as_numbers(student.value("beta_25"), "`beta_25`")
    require(beta_25.shape == (2,), f"`beta_25` should be a pair of two numbers, but it has shape {beta_25.shape}.")
    total = float(ref.x2(beta_25))
    require(
        matches(as_numbers(total, "x2(beta_25)"), 25.0),
        f"x2(beta_25) is {show(total)}, not 25: pick two numbers whose squares add up to 25.",
    )
