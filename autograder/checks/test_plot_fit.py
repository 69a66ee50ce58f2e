"""plot_fit: the data, the real line and the student's fitted line in one axes."""

import pytest

from autograder import plots
from autograder.compare import Wrong, as_numbers, require, show
from autograder.checks.given_data import notebook_data, reads_the_notebooks_data
from solutions import intro_ml as ref

GRADE_ID = "plot_fit"


def axes_with_data(student):
    """The axes of the cell that show the data points, and all of its axes."""
    x, y = notebook_data()
    figures = student.figures(GRADE_ID)
    axes = plots.axes_of(figures)
    nothing = "The cell drew no figure: plot the data, the real line and the fitted line."
    require(bool(axes), plots.not_found(figures, nothing))
    showing = [a for a in axes if plots.shows_points(a, x, y)]
    if not showing:
        if any(plots.shows_points(a, y, x) for a in axes):
            raise Wrong("x and y are swapped: the points are drawn as (y, x). Use plt.scatter(x, y).")
        if any(plots.joins_points(a, x, y) for a in axes):
            raise Wrong(plots.DATA_AS_A_LINE)
        no_data = "No axes shows the 100 data points (x[i], y[i]) as points: use plt.scatter(x, y)."
        raise Wrong(plots.not_found(figures, no_data))
    return showing, axes


@pytest.mark.points(1)
@reads_the_notebooks_data
def test_the_data_and_the_real_line_are_drawn(student):
    """The data points and a line on y = 3x + 2."""
    showing, every = axes_with_data(student)
    if any(plots.lines_on(a, ref.true_line) for a in showing):
        return
    if any(plots.points_on(a, ref.true_line) for a in showing):
        raise Wrong("The real line y = 3x + 2 is drawn as points (a scatter, or markers without a line): "
                    "draw it as a line, with plt.plot(x, 3*x + 2).")
    if plots.lines_elsewhere(every, showing, ref.true_line):
        raise Wrong(f"The line y = 3x + 2 is drawn in other axes than the data points ({plots.SHOW_ENDS_A_FIGURE}): "
                    "draw the data and the lines in one plot.")
    raise Wrong("The data points are drawn, but no line on y = 3x + 2 is drawn with them.")


@pytest.mark.points(1)
@reads_the_notebooks_data
def test_a_separate_line_shows_the_students_own_fit(student):
    """A second, separate line beside the real line: y = beta_0 + beta_1 x, with the student's own beta_0, beta_1."""
    beta_0 = float(as_numbers(student.value("beta_0"), "`beta_0`", ()))
    beta_1 = float(as_numbers(student.value("beta_1"), "`beta_1`", ()))

    def fitted(x):
        return beta_0 + beta_1 * x

    showing, every = axes_with_data(student)
    # The fit is there to be compared with the real line: it belongs in the axes that shows both the
    # data and the real line. Where no axes does, that point is lost already, not a second time here.
    with_real = [a for a in showing if plots.lines_on(a, ref.true_line)]
    for axes in with_real or showing:
        real = plots.lines_on(axes, ref.true_line)
        for line in plots.lines_on(axes, fitted):
            if any(other is not line for other in real) or not any(other is line for other in real):
                return
    if any(plots.lines_on(a, fitted) for a in showing if not any(a is b for b in with_real)):
        raise Wrong("Your fitted line is not in the axes of the real line: draw the data, the real line "
                    "and your fit in one plot, so that they can be compared.")
    if any(plots.lines_on(a, fitted) for a in showing):
        raise Wrong("Only one line is drawn: draw the real line and your fitted line as two separate lines.")
    if plots.lines_elsewhere(every, showing, fitted):
        raise Wrong(f"Your fitted line is drawn in other axes than the data points ({plots.SHOW_ENDS_A_FIGURE}): "
                    "draw the data, the real line and your fit in one plot, so that they can be compared.")
    if any(plots.points_on(a, fitted) for a in with_real or showing):
        raise Wrong(f"Your fit y = {show(beta_0)} + {show(beta_1)} x is drawn as points (a scatter, or markers "
                    "without a line): draw it as a line, with plt.plot(x, beta_0 + beta_1*x).")
    raise Wrong(
        f"No line with the data lies on your fit y = {show(beta_0)} + {show(beta_1)} x: "
        "draw it with plt.plot(x, beta_0 + beta_1*x)."
    )
