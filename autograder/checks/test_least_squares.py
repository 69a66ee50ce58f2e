"""least_squares: the closed-form fit, on the notebook's data and on data sets the student never saw."""

import numpy as np
import pytest

from autograder.compare import Wrong, as_numbers, matches, read_only, show, uses_the_notebooks_data
from autograder.checks.given_data import reads_the_notebooks_data
from autograder.reference_values import kept
from solutions import intro_ml as ref

# (points, slope, offset, centre of x, spread of x, noise): other sizes, slopes, offsets, non-centred x
HIDDEN_DATA_SETS = (
    (7, -1.5, 4.0, 3.0, 2.0, 0.3),
    (250, 0.25, -3.0, 5.0, 3.0, 1.0),
    (37, 10.0, 0.5, -2.0, 0.5, 0.2),
    (3, 2.0, 1.0, 1.0, 1.0, 0.0),
)


@kept
def hidden_cases() -> tuple[tuple[np.ndarray, ...], ...]:
    """(x, y, the reference fit) of each hidden data set: the same for every submission."""
    rng = np.random.default_rng(2024)
    cases = []
    for n, slope, offset, centre, spread, noise in HIDDEN_DATA_SETS:
        x = (centre + spread * rng.standard_normal(n)).astype(np.float32)
        y = (offset + slope * x + noise * rng.standard_normal(n)).astype(np.float32)
        cases.append(read_only(x, y, reference_fit(x, y)))
    return tuple(cases)


def reference_fit(x, y) -> np.ndarray:
    return np.asarray(ref.least_squares(x, y), dtype=np.float64)


def fit_counting(n: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The closed form with `n` typed in for the number of points: what a fit written for the
    notebook's 100 points gives on another data set (a mistake to recognise, not a reference)."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    beta_1 = (n * np.sum(x * y) - np.sum(x) * np.sum(y)) / (n * np.sum(x**2) - np.sum(x) ** 2)
    return np.array([(np.sum(y) - beta_1 * np.sum(x)) / n, beta_1])


def mixed_normalisations(found: np.ndarray, expected: np.ndarray, n: int) -> str:
    """The hint for a slope off by n / (n - 1) either way: a covariance and a variance taken with
    different denominators (`jnp.cov` divides by n - 1, `jnp.var` and `jnp.std` by n)."""
    if any(matches(found[1:], expected[1:] * factor) for factor in (n / (n - 1), (n - 1) / n)):
        return (
            " The slope is off by the factor n / (n - 1): jnp.cov divides by n - 1 but jnp.var by n; "
            "use the same denominator for both (ddof)."
        )
    return ""


def intercept_only(found: np.ndarray, expected: np.ndarray) -> str:
    """The hint for a right slope beside a wrong intercept: the intercept's formula, often its
    parentheses (sum(y) - beta_1 * sum(x) / n divides only the second term)."""
    if matches(found[1:], expected[1:]) and not matches(found[:1], expected[:1]):
        return (" The slope beta_1 is right but the intercept beta_0 is not: "
                "beta_0 = (sum(y) - beta_1 * sum(x)) / n, mind the parentheses.")
    return ""


def formula_or_arguments(student) -> str:
    """The hint for a fit wrong on a hidden data set in no way named above: a formula wrong on the
    notebook's data too, or else a function that reads more of the notebook than its arguments.
    Whatever stops the call on the notebook's data (an error, a hang cut short) leaves the second."""
    try:
        on_the_notebooks_data = as_numbers(student.call("least_squares", *ref.data()), "least_squares", (2,))
    except Exception:
        on_the_notebooks_data = None
    if on_the_notebooks_data is not None and not matches(on_the_notebooks_data, notebook_fit()):
        return " It does not give the fit of the notebook's data either: check its formula against the closed form."
    return " Does your function use its arguments x and y (not the notebook's globals), and len(x) for n?"


@kept
def notebook_fit() -> np.ndarray:
    return read_only(reference_fit(*ref.data()))[0]


@pytest.mark.points(1)
@reads_the_notebooks_data
def test_beta_0_and_beta_1_match_the_fit_of_the_notebook_data(student):
    """`beta_0` and `beta_1` match the reference fit of the notebook's data."""
    expected = notebook_fit()
    found = np.array([as_numbers(student.value(name), f"`{name}`", ()) for name in ("beta_0", "beta_1")])
    if matches(found, expected):
        return
    if matches(found[::-1], expected):
        raise Wrong(
            f"beta_0 and beta_1 are swapped: beta_0 is the intercept (expected {show(expected[0])}) "
            f"and beta_1 the slope (expected {show(expected[1])})."
        )
    raise Wrong(f"(beta_0, beta_1) should be {show(expected)}, but they are {show(found)}."
                + (mixed_normalisations(found, expected, len(ref.data()[0])) or intercept_only(found, expected)))


@pytest.mark.points(2)
def test_least_squares_fits_hidden_data_sets(student):
    """`least_squares` matches the reference on every one of several hidden data sets."""
    for x, y, expected in hidden_cases():
        found = as_numbers(student.call("least_squares", x, y), "What least_squares(x, y) returns", (2,))
        where = f"On a hidden data set of {len(x)} points around x = {x.mean():.2f}"
        if matches(found[::-1], expected) and not matches(found, expected):
            raise Wrong(f"{where}, least_squares returned (beta_1, beta_0): return the intercept first.")
        if not matches(found, expected):
            notebook_n = len(ref.data()[0])
            if matches(found, ref.least_squares(*ref.data())):
                hint = uses_the_notebooks_data("least_squares")
            elif matches(found, fit_counting(notebook_n, x, y)):
                hint = f" That is the fit counting n = {notebook_n} points: use n = len(x), the size of the data given."
            else:
                hint = (mixed_normalisations(found, expected, len(x)) or intercept_only(found, expected)
                        or formula_or_arguments(student))
            raise Wrong(f"{where}, least_squares returned {show(found)} but the fit is {show(expected)}.{hint}")
