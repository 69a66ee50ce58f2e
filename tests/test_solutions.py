"""`solutions/` agrees with the seed's own formulas, with the notebook's given cells and with jax.grad."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import nbformat
import numpy as np
import pytest

from autograder.checks.test_least_squares import hidden_cases
from autograder.compare import matches
from conftest import COURSE
from solutions import intro_ml as ref


@pytest.fixture(scope="module")
def given_cells() -> dict:
    """The namespace the notebook's locked given cells build, run here without any answer."""
    namespace: dict = {}
    nb = nbformat.read(COURSE / "source" / "intro_ml" / "intro_ml.ipynb", as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") in ("imports", "data", "x2", "network", "loss", "landscape_setup"):
            exec(cell.source, namespace)
    return namespace


def test_data_is_the_notebooks(given_cells):
    x, y = ref.data()
    assert np.array_equal(x, given_cells["x"]) and np.array_equal(y, given_cells["y"])
    assert x.shape == y.shape == (100,)


def test_landscape_ranges_and_loss_fn_are_the_notebooks(given_cells):
    b_range, m_range = ref.landscape_ranges()
    assert np.array_equal(b_range, given_cells["b_range"]) and np.array_equal(m_range, given_cells["m_range"])
    x, y = ref.data()
    assert ref.loss_fn(x, y, 1.5, -0.5) == given_cells["loss_fn"](x, y, 1.5, -0.5)
    assert ref.loss((0.3, 2.0), x, y) == given_cells["loss"]((0.3, 2.0), x, y)
    assert ref.x2((3.0, 4.0)) == given_cells["x2"]((3.0, 4.0)) == 25.0


def test_least_squares_is_the_seeds_closed_form():
    x, y = ref.data()
    # the seed's cell, verbatim
    n = len(x)
    beta_1 = ((n*jnp.sum(x*y) - jnp.sum(x)*jnp.sum(y))
              /
                (n*jnp.sum(x**2) - jnp.sum(x)**2)
    )
    beta_0 = (jnp.sum(y) - beta_1*jnp.sum(x))/n
    assert matches(np.asarray(ref.least_squares(x, y)), [beta_0, beta_1])
    assert matches(np.asarray(ref.least_squares(x, y)), np.polyfit(np.asarray(x, float), np.asarray(y, float), 1)[::-1])


def test_gradient_and_step_follow_jax_grad_and_the_seeds_update():
    x, y = ref.data()
    beta = jnp.array([1.0, 1.0])
    g = jax.grad(lambda p: jnp.mean((p[0] + p[1] * x - y) ** 2))(beta)
    assert matches(np.asarray(ref.grad_of_loss(beta, x, y)), g)
    stepped = beta
    stepped -= 0.1 * g  # the seed's one_epoch
    assert matches(np.asarray(ref.one_epoch(beta, x, y)), stepped)


def test_trajectory_is_the_seeds_50_epoch_loop_and_converges():
    x, y = ref.data()
    beta = jnp.array([1.0, 1.0])
    history = [beta]
    for _ in range(50):
        beta = beta - 0.1 * jax.grad(ref.loss)(beta, x, y)
        history.append(beta.copy())
    trajectory = np.asarray(ref.trajectory(x, y))
    assert trajectory.shape == (51, 2) and matches(trajectory, np.stack(history))
    assert np.linalg.norm(trajectory[-1] - np.asarray(ref.least_squares(x, y))) < 0.01


def test_loss_grid_is_the_seeds_double_loop():
    x, y = ref.data()
    b_range, m_range = ref.landscape_ranges()
    seed = jnp.array([[ref.loss_fn(x, y, m, b) for b in b_range] for m in m_range])
    grid = ref.loss_grid(x, y, m_range, b_range)
    assert grid.shape == (20, 20) and matches(np.asarray(grid), seed)
    m, b = np.meshgrid(np.asarray(m_range), np.asarray(b_range), indexing="ij")
    assert matches(np.asarray(ref.loss_at_points(x, y, m.ravel(), b.ravel())).reshape(20, 20), seed)


@pytest.mark.parametrize("index", range(4))
def test_every_correct_way_to_fit_agrees_on_the_hidden_data_sets(index):
    """The contract's tolerance must not punish float32 or float64, formula or solver."""
    x, y, _ = hidden_cases()[index]
    reference = np.asarray(ref.least_squares(x, y), dtype=np.float64)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    design = jnp.stack([jnp.ones_like(x), x], 1)
    centred = np.sum((x64 - x64.mean()) * (y64 - y64.mean())) / np.sum((x64 - x64.mean()) ** 2)
    answers = {
        "float64 centred": (y64.mean() - centred * x64.mean(), centred),
        "polyfit": tuple(np.polyfit(x64, y64, 1)[::-1]),
        "float32 lstsq": tuple(np.asarray(jnp.linalg.lstsq(design, y)[0])),
        "float32 normal equations": tuple(np.asarray(jnp.linalg.solve(design.T @ design, design.T @ y))),
    }
    for name, answer in answers.items():
        assert matches(np.asarray(answer, dtype=np.float64), reference), name
