"""The reference answers of `intro_ml`, in JAX.

Every check in `autograder/` compares a student's work with what these functions compute, so the
maths of the assignment lives here and nowhere else. The given cells of the notebook state the same
data and formulas for the student; `tests/test_solutions.py` keeps the two in agreement.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

LEARNING_RATE = 0.1
EPOCHS = 50
BETA_START = (1.0, 1.0)


@functools.cache
def data() -> tuple[jax.Array, jax.Array]:
    """The notebook's straight line with jitter: x and y of shape (100,).

    Made once per process (JAX arrays cannot be changed in place): every check of every
    submission reads it.
    """
    rng = jax.random.PRNGKey(0)
    rng, new_key = jax.random.split(rng)
    x = jax.random.normal(rng, (100,))
    jitter = jax.random.normal(new_key, (100,))
    return x, 3 * x + 2 + 0.5 * jitter


def true_line(x):
    """The "perfect" line the data was made from, y = 3x + 2."""
    return 3 * x + 2


def least_squares(x, y) -> tuple[jax.Array, jax.Array]:
    """(beta_0, beta_1), the closed-form least-squares fit of y = beta_0 + beta_1 * x."""
    n = len(x)
    beta_1 = (n * jnp.sum(x * y) - jnp.sum(x) * jnp.sum(y)) / (n * jnp.sum(x**2) - jnp.sum(x) ** 2)
    beta_0 = (jnp.sum(y) - beta_1 * jnp.sum(x)) / n
    return beta_0, beta_1


def x2(beta):
    """The toy function of the gradient section: the squared length of a pair."""
    x, y = beta
    return x**2 + y**2


def network(beta, x):
    """The straight-line model y = b0 + b1 * x."""
    b0, b1 = beta
    return b0 + b1 * x


def loss(params, x, y):
    """Mean squared error of the straight-line model."""
    return jnp.mean((network(params, x) - y) ** 2)


grad_of_loss = jax.grad(loss)


def one_epoch(beta, x, y):
    """One step of gradient descent on `loss` with the notebook's learning rate."""
    return jnp.asarray(beta) - LEARNING_RATE * grad_of_loss(jnp.asarray(beta), x, y)


def trajectory(x, y, beta_start=BETA_START, epochs: int = EPOCHS) -> jax.Array:
    """The parameters before the first step and after every step: shape (epochs + 1, 2).

    The step is compiled once (`jax.jit`) rather than traced anew at every epoch, as the notebook does.
    """
    step = jax.jit(one_epoch)
    history = [jnp.asarray(beta_start, dtype=jnp.float32)]
    for _ in range(epochs):
        history.append(step(history[-1], x, y))
    return jnp.stack(history)


def landscape_ranges() -> tuple[jax.Array, jax.Array]:
    """(b_range, m_range): the intercepts and slopes at which the loss landscape is drawn."""
    return jnp.linspace(-4, 4, 20), jnp.linspace(-8, 8, 20)


def loss_fn(x, y, m, b):
    """The landscape's loss at slope m and intercept b."""
    return jnp.mean((y - m * x - b) ** 2)


def loss_grid(x, y, m_range, b_range) -> jax.Array:
    """losses[i, j] = loss_fn(x, y, m_range[i], b_range[j]), vectorised with `jax.vmap`."""
    over_b = jax.vmap(loss_fn, in_axes=(None, None, None, 0))
    over_m_and_b = jax.vmap(over_b, in_axes=(None, None, 0, None))
    return over_m_and_b(x, y, jnp.asarray(m_range), jnp.asarray(b_range))


def loss_at_points(x, y, m, b) -> jax.Array:
    """The loss at each pair (m[k], b[k]): how the grader reads a drawn surface's vertices."""
    return jax.vmap(loss_fn, in_axes=(None, None, 0, 0))(x, y, jnp.asarray(m), jnp.asarray(b))
