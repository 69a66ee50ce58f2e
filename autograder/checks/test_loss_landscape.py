"""loss_landscape: the 20 x 20 grid of losses, drawn as a 3D surface with b across and m deep."""

import numpy as np
import pytest

from autograder import plots
from autograder.compare import Wrong, as_numbers, close_to, label_is, matches, read_only, require
from autograder.checks.given_data import notebook_data, reads_the_notebooks_data
from autograder.reference_values import kept
from solutions import intro_ml as ref

GRADE_ID = "loss_landscape"


@kept
def reference_grid() -> np.ndarray:
    x, y = ref.data()
    b_range, m_range = ref.landscape_ranges()
    return np.asarray(ref.loss_grid(x, y, m_range, b_range), dtype=np.float64)


def loss_at(m: np.ndarray, b: np.ndarray) -> np.ndarray:
    x, y = notebook_data()
    return np.asarray(ref.loss_at_points(x, y, m.astype(np.float32), b.astype(np.float32)), dtype=np.float64)


@pytest.mark.points(2)
@reads_the_notebooks_data
def test_losses_is_the_grid_of_losses_over_m_and_b(student):
    """`losses` matches the reference grid: losses[i, j] = loss_fn(x, y, m_range[i], b_range[j])."""
    expected = reference_grid()
    losses = as_numbers(student.value("losses"), "`losses`")
    require(losses.shape == expected.shape, f"`losses` should have shape {expected.shape}, not {losses.shape}.")
    if matches(losses, expected):
        return
    if matches(losses.T, expected):
        raise Wrong(
            "`losses` is transposed: losses[i, j] should be the loss at m_range[i] and b_range[j] "
            "(rows follow m, columns follow b)."
        )
    if matches(losses, grid_with_m_and_b_swapped()):
        raise Wrong(
            "`losses` holds the loss with slope and intercept swapped: loss_fn takes (x, y, m, b), the slope "
            "first, while loss takes params = (b, m), the intercept first. losses[i, j] should be "
            "loss_fn(x, y, m_range[i], b_range[j])."
        )
    raise Wrong("`losses` does not match loss_fn(x, y, m_range[i], b_range[j]) at every grid point.")


@kept
def grid_with_m_and_b_swapped() -> np.ndarray:
    """losses[i, j] = loss_fn(x, y, b_range[j], m_range[i]): the mistake of a call with its slope and
    intercept in each other's place (or loss(jnp.array([m, b]), x, y))."""
    b_range, m_range = (np.asarray(r, dtype=np.float64) for r in ref.landscape_ranges())
    b_grid, m_grid = np.meshgrid(b_range, m_range)
    return read_only(loss_at(m=b_grid.ravel(), b=m_grid.ravel()).reshape(b_grid.shape))[0]


def grid_indices(values: np.ndarray, grid: np.ndarray) -> np.ndarray | None:
    """The index of each value in the grid, or None when some value is not on it."""
    index = np.abs(values[:, None] - grid[None, :]).argmin(axis=1)
    return index if np.all(close_to(values, grid[index])) else None


def diagnose_surface(vertices: np.ndarray) -> str:
    b, m, z = vertices.T
    b_range, m_range = (np.asarray(r, dtype=np.float64) for r in ref.landscape_ranges())
    i, j = grid_indices(b, b_range), grid_indices(m, m_range)
    if np.all(close_to(z, loss_at(m=b, b=m))):
        if i is not None and j is not None:  # the axes hold b and m as they should: the heights do not
            return ("each height is the loss with slope and intercept swapped (see the check of `losses`): "
                    "the height over (b, m) should be loss_fn(x, y, m, b).")
        return "m is on the x axis and b on the y axis: put b on the x axis and m on the y axis."
    if i is not None and j is not None and np.all(i == j):
        return (
            "b and m change together along the surface, as when plot_surface gets the 1-D ranges: "
            "give it the 2-D grids of jnp.meshgrid(b_range, m_range)."
        )
    if i is not None and j is not None and np.all(close_to(z, reference_grid()[i, j])):
        return (
            "the surface is drawn transposed: each height belongs to the swapped (m, b). "
            "With m_mesh, b_mesh = jnp.meshgrid(m_range, b_range), plot losses.T, "
            "or build the mesh with jnp.meshgrid(b_range, m_range)."
        )
    return "some surface heights are not the loss at that (m, b)."


@pytest.mark.points(1)
@reads_the_notebooks_data
def test_the_surface_shows_the_loss_at_every_vertex_with_labels_b_m_loss(student):
    """Every drawn surface vertex (X=b, Y=m, Z) is the reference loss at (m, b); labels b, m, loss."""
    figures = student.figures(GRADE_ID)
    axes = [a for a in plots.axes_of(figures, "3d") if a.surfaces]
    require(bool(axes), plots.not_found(figures, "No 3D surface was drawn: use ax.plot_surface on a 3D axes."))
    for a in axes:
        for vertices in a.surfaces:
            finite = vertices[np.all(np.isfinite(vertices), axis=1)]
            require(len(finite) > 0, "The surface has no vertices.")
            b, m, z = finite.T
            if not np.all(close_to(z, loss_at(m=m, b=b))):
                raise Wrong("The surface is wrong: " + diagnose_surface(finite))
        labels = {"x": a.xlabel, "y": a.ylabel, "z": a.zlabel}
        wanted = {"x": "b", "y": "m", "z": "loss"}
        wrong = [f"{k} label {labels[k]!r} (should be {v!r})" for k, v in wanted.items() if not label_is(labels[k], v)]
        require(not wrong, "The surface is right, but the axes have " + ", ".join(wrong) + ".")
