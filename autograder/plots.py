"""Reading a student's figures by the contract's rules: points, lines on an equation, labels.

Scatter collections and `plot` calls with markers and no line count as points; a line is any drawn
line in data coordinates (an `axline` counts, and covers every x).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from autograder.compare import close_to, label_is
from autograder.plain import Axes, Figure, Line

# The contract counts only points as data: a line through them is the plot of a curve.
DATA_AS_A_LINE = ("The data are drawn as a line joining the points (as plt.plot(x, y) draws them): draw them "
                  "as points alone, with plt.scatter(x, y) or plt.plot(x, y, 'o').")


# Why a cell's artists may be in other axes than each other: under the inline backend (nbgrader's,
# and the grader's in effect) `plt.show()` closes the figure it shows.
SHOW_ENDS_A_FIGURE = "plt.show() ends a figure, and what the cell draws after it goes on a new one"


def axes_of(figures: Iterable[Figure], projection: str = "2d") -> list[Axes]:
    return [axes for figure in figures for axes in figure.axes if axes.projection == projection]


def not_found(figures: Iterable[Figure], message: str) -> str:
    """`message` (what a check did not find), unless a figure of the cell could not be read: then why.

    A figure too big to send reaches the grader without its axes; saying "nothing was drawn" would
    blame the student for what the grader could not read.
    """
    errors = [figure.error for figure in figures if figure.error]
    return f"A figure of this cell could not be read: {errors[0]}." if errors else message


def labelled(axes: Axes, xlabel: str, ylabel: str) -> bool:
    return label_is(axes.xlabel, xlabel) and label_is(axes.ylabel, ylabel)


def _same_points(found: np.ndarray, x: np.ndarray, y: np.ndarray) -> bool:
    if found.shape != (len(x), 2):
        return False
    expected = np.column_stack([x, y])
    order_found = np.lexsort((found[:, 1], found[:, 0]))
    order_expected = np.lexsort((expected[:, 1], expected[:, 0]))
    return bool(np.all(close_to(found[order_found], expected[order_expected])))


def shows_points(axes: Axes, x: np.ndarray, y: np.ndarray) -> bool:
    """The axes shows exactly the points (x[i], y[i]), in one artist or spread over several."""
    if any(_same_points(points, x, y) for points in axes.points):
        return True
    return bool(axes.points) and _same_points(np.vstack(axes.points), x, y)


def joins_points(axes: Axes, x: np.ndarray, y: np.ndarray) -> bool:
    """A drawn line runs through exactly the points (x[i], y[i]): `plt.plot(x, y)`, the data drawn as
    a line (with or without markers) where the contract asks for points."""
    return any(_same_points(line.xy, x, y) for line in axes.lines)


def line_on(line: Line, equation: Callable[[np.ndarray], np.ndarray]) -> bool:
    """Every vertex of the line lies on y = equation(x), and it spans more than one x."""
    xy = line.xy[np.all(np.isfinite(line.xy), axis=1)]
    if len(xy) < 2 or np.ptp(xy[:, 0]) == 0:
        return False
    return bool(np.all(close_to(xy[:, 1], equation(xy[:, 0]))))


def coverage(line: Line, low: float, high: float) -> float:
    """The fraction of the interval [low, high] of x that the line spans."""
    if line.infinite:
        return 1.0
    xs = line.xy[:, 0][np.isfinite(line.xy[:, 0])]
    if high <= low or len(xs) == 0:
        return 0.0
    overlap = min(high, xs.max()) - max(low, xs.min())
    return max(0.0, overlap) / (high - low)


def lines_on(axes: Axes, equation: Callable[[np.ndarray], np.ndarray]) -> list[Line]:
    return [line for line in axes.lines if line_on(line, equation)]


def lines_elsewhere(every: Iterable[Axes], these: list[Axes], equation: Callable[[np.ndarray], np.ndarray]) -> bool:
    """A line on y = equation(x) is drawn, but in other axes than `these` (those with the data)."""
    return any(lines_on(a, equation) for a in every if not any(a is b for b in these))


def points_on(axes: Axes, equation: Callable[[np.ndarray], np.ndarray]) -> bool:
    """Some set of points (a scatter, or markers without a line) lies all on y = equation(x): a line
    the student meant to draw, drawn as dots."""
    for points in axes.points:
        xy = points[np.all(np.isfinite(points), axis=1)]
        if len(xy) >= 2 and np.ptp(xy[:, 0]) > 0 and np.all(close_to(xy[:, 1], equation(xy[:, 0]))):
            return True
    return False
