"""plot_data: the scatter of x against y and the solid line y = 3x + 2, axes labelled x and y."""

import numpy as np
import pytest

from autograder import plots
from autograder.compare import Wrong, label_is, require
from autograder.checks.given_data import notebook_data, reads_the_notebooks_data
from solutions import intro_ml as ref

GRADE_ID = "plot_data"
COVERAGE = 0.8


def labels_hint(axes, every) -> str:
    """What is wrong with the labels of `axes`, which holds what was asked, among all the cell's axes."""
    if label_is(axes.xlabel, "y") and label_is(axes.ylabel, "x"):
        return "the axis labels are swapped: the x axis should be labelled x and the y axis y."
    if any(plots.labelled(other, "x", "y") for other in every if other is not axes):
        return f"the labels x and y are on other axes ({plots.SHOW_ENDS_A_FIGURE}): label the axes that show them."
    return f"label the axes x and y (found x label {axes.xlabel!r} and y label {axes.ylabel!r})."


@pytest.mark.points(1)
@reads_the_notebooks_data
def test_the_100_data_points_are_drawn_in_axes_labelled_x_and_y(student):
    """The 100 data points drawn in an axes labelled x / y."""
    x, y = notebook_data()
    figures = student.figures(GRADE_ID)
    axes = plots.axes_of(figures)
    nothing = "The cell drew no figure: scatter x against y with plt.scatter(x, y)."
    require(bool(axes), plots.not_found(figures, nothing))
    showing = [a for a in axes if plots.shows_points(a, x, y)]
    if not showing:
        if any(plots.shows_points(a, y, x) for a in axes):
            raise Wrong("x and y are swapped: the points are drawn as (y, x). Use plt.scatter(x, y).")
        if any(plots.joins_points(a, x, y) for a in axes):
            raise Wrong(plots.DATA_AS_A_LINE)
        raise Wrong(plots.not_found(
            figures,
            "No axes shows the 100 data points (x[i], y[i]) as points: use plt.scatter(x, y), "
            "or plt.plot(x, y, 'o') with markers and no line.",
        ))
    if not any(plots.labelled(a, "x", "y") for a in showing):
        raise Wrong("The data points are drawn, but " + labels_hint(showing[0], axes))


@pytest.mark.points(1)
@reads_the_notebooks_data
def test_a_solid_line_on_y_equals_3x_plus_2_spans_the_data(student):
    """A solid line on y = 3x + 2 in that axes, covering at least 80% of the data's x-range."""
    x, y = notebook_data()
    low, high = x.min(), x.max()
    figures = student.figures(GRADE_ID)
    axes = every = plots.axes_of(figures)
    require(bool(axes), plots.not_found(figures, "The cell drew no figure: draw the line y = 3x + 2 with plt.plot."))
    # "That axes" is the one holding the data, when the cell drew them (swapped x and y included: the
    # first point already takes that mistake); a cell that drew no data keeps this point for its line.
    with_data = [a for a in axes if plots.shows_points(a, x, y) or plots.shows_points(a, y, x)]
    on_line = [(a, line) for a in with_data or axes for line in plots.lines_on(a, ref.true_line)]
    if with_data and not on_line and plots.lines_elsewhere(axes, with_data, ref.true_line):
        raise Wrong(
            "The line y = 3x + 2 is drawn in other axes than the data points: draw both in the same "
            f"axes ({plots.SHOW_ENDS_A_FIGURE})."
        )
    axes = with_data or axes
    good = [
        (a, line) for a, line in on_line
        if line.solid and plots.coverage(line, low, high) >= COVERAGE and plots.labelled(a, "x", "y")
    ]
    if good:
        return
    if not on_line:
        if any(plots.line_on(line, lambda v: (v - 2) / 3) for a in axes for line in a.lines):
            raise Wrong("x and y are swapped in the line: it is drawn as x = 3y + 2. Plot (x, 3*x + 2).")
        drawn = [line for a in axes for line in a.lines]
        if not drawn and any(plots.points_on(a, ref.true_line) for a in axes):
            raise Wrong("y = 3x + 2 is drawn as points (markers without a line): draw it as a solid line, "
                        "e.g. plt.plot(x, 3*x + 2, '-').")
        if not drawn:
            raise Wrong("No line is drawn: add the solid line y = 3x + 2, e.g. plt.plot(x, 3*x + 2).")
        raise Wrong("No drawn line lies on y = 3x + 2" + _fitted_equation(drawn[0]) + ".")
    axes_found, line = on_line[0]
    if not line.solid:
        raise Wrong(
            f"The line y = 3x + 2 should be solid, but it is drawn with line style {line.linestyle!r}"
            + ("" if line.drawstyle == "default" else f" and draw style {line.drawstyle!r}")
            + "."
        )
    share = plots.coverage(line, low, high)
    if share < COVERAGE:
        raise Wrong(
            f"The line y = 3x + 2 covers only {share:.0%} of the data's x-range "
            f"({low:.2f} to {high:.2f}); draw it across at least {COVERAGE:.0%} of it."
        )
    raise Wrong("The line y = 3x + 2 is drawn, but " + labels_hint(axes_found, every))


def _fitted_equation(line) -> str:
    xy = line.xy[np.all(np.isfinite(line.xy), axis=1)]
    if len(xy) < 2 or np.ptp(xy[:, 0]) == 0:
        return ""
    slope, intercept = np.polyfit(xy[:, 0], xy[:, 1], 1)
    return f" (the first line drawn is close to y = {slope:.3g}x + {intercept:.3g})"
