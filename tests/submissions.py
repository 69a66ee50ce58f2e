"""A corpus of student-style submissions, each with the score per question the contract gives it.

Every submission is the release notebook with some answer cells filled in: by default with the model
answers of the source notebook, otherwise with the code written here. `EXPECTED_FULL` is the
contract's points per test cell; a submission lists only the questions where it loses points.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

COURSE = Path(__file__).resolve().parents[1]
SOURCE = COURSE / "source" / "intro_ml" / "intro_ml.ipynb"
RELEASE = COURSE / "release" / "intro_ml" / "intro_ml.ipynb"

EXPECTED_FULL = {
    "plot_data": 2,
    "least_squares": 3,
    "plot_fit": 2,
    "x2_25": 1,
    "grad_of_loss": 1,
    "one_epoch": 3,
    "training_loop": 2,
    "loss_landscape": 3,
}

EXPLANATION = (
    "grad_of_x2 returns a tuple because beta was a tuple: the gradient has the same structure as the "
    "argument, one partial derivative (2x, 2y) per entry. The objects are JAX arrays (0-d float32)."
)


@dataclass(frozen=True)
class Submission:
    name: str
    story: str  # what the student did, in a sentence
    answers: dict[str, str] = field(default_factory=dict)  # grade id -> the answer cell's code
    lost: dict[str, float] = field(default_factory=dict)  # grade id -> the score where it is not full
    from_model: bool = True  # answers not given here are the model's; else the release's stubs

    def expected(self) -> dict[str, float]:
        return {grade_id: self.lost.get(grade_id, full) for grade_id, full in EXPECTED_FULL.items()}


def model_answers() -> dict[str, str]:
    """The source notebook's solutions, without nbgrader's markers: what a perfect student writes."""
    answers = {}
    for cell in nbformat.read(SOURCE, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            lines = [line for line in cell.source.splitlines() if not re.match(r"\s*### (BEGIN|END) SOLUTION", line)]
            answers[meta["grade_id"]] = "\n".join(lines)
    return answers


def notebook(submission: Submission) -> nbformat.NotebookNode:
    """The release notebook with this submission's answers in its answer cells."""
    nb = copy.deepcopy(nbformat.read(RELEASE, as_version=4))
    answers = (model_answers() if submission.from_model else {}) | submission.answers
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution"):
            continue
        if cell.cell_type == "markdown":
            if submission.from_model:
                cell.source = EXPLANATION
        elif meta["grade_id"] in answers:
            cell.source = answers[meta["grade_id"]]
    return nb


def write(submission: Submission, folder: Path) -> Path:
    """Write the submission as `folder/intro_ml.ipynb`, as nbgrader's `submitted/<student>/intro_ml/`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "intro_ml.ipynb"
    nbformat.write(notebook(submission), path)
    return path


NUMPY_STYLE = {
    "plot_data": """
import numpy as np
xs = np.asarray(x)
plt.scatter(xs, np.asarray(y))
grid = np.linspace(xs.min(), xs.max(), 50)
plt.plot(grid, 3*grid + 2, 'k-')
plt.xlabel('x')
plt.ylabel('y')
plt.show()
""",
    "least_squares": """
import numpy as np
def least_squares(x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x_mean, y_mean = x.mean(), y.mean()
    beta_1 = np.sum((x - x_mean)*(y - y_mean)) / np.sum((x - x_mean)**2)
    beta_0 = y_mean - beta_1*x_mean
    return beta_0, beta_1
""",
    "plot_fit": """
xs = np.sort(np.asarray(x))
plt.plot(np.asarray(x), np.asarray(y), 'o', label='data')
plt.plot(xs, 3*xs + 2, label='real')
plt.plot(xs, beta_0 + beta_1*xs, label='fit')
plt.legend()
plt.show()
""",
    "x2_25": "beta_25 = np.array([-4.0, 3.0])\nx2(beta_25)",
    "grad_of_loss": """
def grad_of_loss(params, x, y):
    b0, b1 = params
    x, y = np.asarray(x), np.asarray(y)
    residual = b0 + b1*x - y
    return np.array([2*np.mean(residual), 2*np.mean(residual*x)])
""",
    "one_epoch": """
def one_epoch(beta, x, y, i_epoch):
    beta = np.asarray(beta) - 0.1*np.asarray(grad_of_loss(beta, x, y))
    print(f'Step {i_epoch}, loss {loss(beta, x, y)} and beta {beta}')
    return beta
""",
    "training_loop": """
beta = np.array([1.0, 1.0])
beta_history = [beta]
for i in range(50):
    beta = one_epoch(beta, x, y, i)
    beta_history.append(beta)
""",
    "loss_landscape": """
losses = np.array([[loss_fn(x, y, m, b) for b in b_range] for m in m_range])
B, M = np.meshgrid(np.asarray(b_range), np.asarray(m_range))
fig = plt.figure()
ax = fig.add_subplot(projection='3d')
ax.plot_surface(B, M, losses, cmap='viridis')
ax.set_xlabel('B')
ax.set_ylabel('$m$')
ax.set_zlabel(' Loss ')
plt.show()
""",
}

TUPLE_STYLE = {
    "least_squares": """
def least_squares(x, y):
    n = len(x)
    sx, sy = float(jnp.sum(x)), float(jnp.sum(y))
    sxy, sxx = float(jnp.sum(x*y)), float(jnp.sum(x*x))
    b1 = (n*sxy - sx*sy) / (n*sxx - sx**2)
    return [(sy - b1*sx)/n, b1]
""",
    "x2_25": "beta_25 = [5, 0]",
    "grad_of_loss": """
grad_of_loss = jax.grad(loss)
""",
    "one_epoch": """
def one_epoch(beta, x, y, i_epoch):
    g0, g1 = grad_of_loss(beta, x, y)
    b0, b1 = beta
    new = (float(b0 - 0.1*g0), float(b1 - 0.1*g1))
    print(f'Step {i_epoch}, loss {loss(new, x, y)} and beta {new}')
    return new
""",
    "training_loop": """
beta = (1.0, 1.0)
beta_history = [beta]
for i in range(50):
    beta = one_epoch(beta, x, y, i)
    beta_history.append(beta)
""",
    "loss_landscape": """
# the seed's loop, and its meshgrid, with the surface drawn the right way round
losses = jnp.array([[loss_fn(x, y, m, b) for b in b_range] for m in m_range])
m_mesh, b_mesh = jnp.meshgrid(m_range, b_range)
fig = plt.figure()
ax = fig.add_subplot(111, projection='3d')
ax.plot_surface(b_mesh, m_mesh, losses.T)
ax.set_xlabel('b')
ax.set_ylabel('m')
ax.set_zlabel('loss')
plt.show()
""",
}

OBJECT_STYLE = {
    "plot_data": """
fig, ax = plt.subplots()
ax.scatter(x, y, marker='x', color='gray')
ax.axline((0, 2), slope=3, color='red')
ax.set_xlabel('$x$')
ax.set_ylabel('Y')
plt.show()
""",
    "least_squares": """
def least_squares(x, y):
    A = jnp.stack([jnp.ones_like(x), x], axis=1)
    coefficients, *_ = jnp.linalg.lstsq(A, y)
    return coefficients
""",
    "plot_fit": """
fig, ax = plt.subplots()
ax.plot(x, y, '.', label='data')
ax.axline((0, 2), slope=3, label='y = 3x + 2')
ax.axline((0, float(beta_0)), slope=float(beta_1), linestyle=':', color='k', label='fit')
ax.legend()
plt.show()
""",
    "x2_25": "beta_25 = jnp.array([0.0, -5.0])",
    "one_epoch": """
def one_epoch(beta, x, y, i_epoch):
    learning_rate = 0.1
    beta = beta - learning_rate * jnp.asarray(grad_of_loss(beta, x, y))
    print(f'Step {i_epoch}, loss {loss(beta, x, y)} and beta {beta}')
    return beta
""",
    "training_loop": """
beta = jnp.array([1.0, 1.0])
beta_history = [beta]
for i in range(50):
    beta_history.append(one_epoch(beta_history[-1], x, y, i))
beta = beta_history[-1]
""",
}

SEED_LANDSCAPE = """
losses = jnp.array([[loss_fn(x, y, m, b) for b in b_range] for m in m_range])
m_mesh, b_mesh = jnp.meshgrid(m_range, b_range)
fig = plt.figure()
ax = fig.add_subplot(111, projection='3d')
ax.plot_surface(b_mesh, m_mesh, losses)
ax.set_xlabel('b')
ax.set_ylabel('m')
ax.set_zlabel('loss')
plt.show()
"""

SUBMISSIONS = [
    Submission("model", "the source notebook's own solutions"),
    Submission("numpy_style", "NumPy instead of jax.numpy, an analytic gradient, the centred formula", NUMPY_STYLE),
    Submission("tuple_style", "lists and tuples instead of arrays; the seed's loop for the landscape", TUPLE_STYLE),
    Submission("object_style", "the object-oriented matplotlib API, axline, lstsq, markers as points", OBJECT_STYLE),
    Submission(
        "seed_landscape",
        "copies the seed's loss-landscape cell, whose surface is transposed",
        {"loss_landscape": SEED_LANDSCAPE},
        {"loss_landscape": 2},
    ),
    Submission(
        "losses_transposed",
        "builds losses over [b][m], and draws the surface consistently with it",
        {
            "loss_landscape": """
losses = jnp.array([[loss_fn(x, y, m, b) for m in m_range] for b in b_range])
m_mesh, b_mesh = jnp.meshgrid(m_range, b_range)
ax = plt.figure().add_subplot(projection='3d')
ax.plot_surface(b_mesh, m_mesh, losses)
ax.set_xlabel('b'); ax.set_ylabel('m'); ax.set_zlabel('loss')
plt.show()
"""
        },
        {"loss_landscape": 1},
    ),
    Submission(
        "landscape_axes_swapped",
        "puts m on the x axis of the surface",
        {
            "loss_landscape": """
losses = jnp.array([[loss_fn(x, y, m, b) for b in b_range] for m in m_range])
b_mesh, m_mesh = jnp.meshgrid(b_range, m_range)
ax = plt.figure().add_subplot(projection='3d')
ax.plot_surface(m_mesh, b_mesh, losses)
ax.set_xlabel('m'); ax.set_ylabel('b'); ax.set_zlabel('loss')
plt.show()
"""
        },
        {"loss_landscape": 2},
    ),
    Submission(
        "landscape_slope_and_intercept_swapped",
        "fills the grid with loss(jnp.array([m, b]), x, y): the slope where loss takes the intercept",
        {
            "loss_landscape": """
losses = jnp.array([[loss(jnp.array([m, b]), x, y) for b in b_range] for m in m_range])
b_mesh, m_mesh = jnp.meshgrid(b_range, m_range)
ax = plt.figure().add_subplot(projection='3d')
ax.plot_surface(b_mesh, m_mesh, losses)
ax.set_xlabel('b'); ax.set_ylabel('m'); ax.set_zlabel('loss')
plt.show()
"""
        },
        {"loss_landscape": 0},
    ),
    Submission(
        "landscape_wireframe",
        "draws the landscape as a wireframe, every other grid line, under contour lines and a gradient arrow",
        {
            "loss_landscape": """
losses = jnp.array([[loss_fn(x, y, m, b) for b in b_range] for m in m_range])
b_mesh, m_mesh = jnp.meshgrid(b_range, m_range)
ax = plt.figure().add_subplot(projection='3d')
ax.plot_wireframe(b_mesh, m_mesh, losses, rstride=2, cstride=2)
ax.contour(b_mesh, m_mesh, losses, zdir='z', offset=0)
ax.quiver(0, 0, 0, 1, 1, 0)
ax.set_xlabel('b'); ax.set_ylabel('m'); ax.set_zlabel('loss')
plt.show()
"""
        },
    ),
    Submission(
        "sign_flip",
        "adds the gradient instead of subtracting it",
        {
            "one_epoch": """
def one_epoch(beta, x, y, i_epoch):
    g = grad_of_loss(beta, x, y)
    beta += 0.1*g
    print(f'Step {i_epoch}, loss {loss(beta, x, y)} and beta {beta}')
    return beta
"""
        },
        {"one_epoch": 0, "training_loop": 0},
    ),
    Submission(
        "slow_learning_rate",
        "uses a learning rate of 0.01",
        {
            "one_epoch": """
def one_epoch(beta, x, y, i_epoch):
    g = grad_of_loss(beta, x, y)
    beta = beta - 0.01*g
    print(f'Step {i_epoch}, loss {loss(beta, x, y)} and beta {beta}')
    return beta
"""
        },
        {"one_epoch": 0, "training_loop": 0},
    ),
    Submission(
        "learning_rate_zero",
        "writes the learning rate as 1 // 10, which is 0: beta never moves",
        {
            "one_epoch": """
def one_epoch(beta, x, y, i_epoch, learning_rate=1 // 10):
    beta = beta - learning_rate * grad_of_loss(beta, x, y)
    print(f'Step {i_epoch}, loss {loss(beta, x, y)} and beta {beta}')
    return beta
"""
        },
        {"one_epoch": 0, "training_loop": 0},
    ),
    Submission(
        "half_gradient",
        "differentiates by hand and forgets the factor 2; training still converges",
        {
            "grad_of_loss": """
def grad_of_loss(params, x, y):
    b0, b1 = params
    r = b0 + b1*x - y
    return jnp.array([jnp.mean(r), jnp.mean(r*x)])
"""
        },
        {"grad_of_loss": 0, "one_epoch": 0, "training_loop": 1},
    ),
    Submission(
        "value_and_grad_as_gradient",
        "takes jax.value_and_grad for jax.grad: grad_of_loss returns (loss, gradient)",
        {"grad_of_loss": "grad_of_loss = jax.value_and_grad(loss)"},
        {"grad_of_loss": 0, "one_epoch": 0, "training_loop": 0},
    ),
    Submission(
        "one_epoch_returns_nothing",
        "one_epoch updates and prints but has no return, so the loop's beta becomes None",
        {"one_epoch": model_answers()["one_epoch"].removesuffix("\n    return beta")},
        {"one_epoch": 0, "training_loop": 0},
    ),
    Submission(
        "one_epoch_returns_the_loss_too",
        "one_epoch returns (beta, loss), which its own loop unpacks",
        {
            "one_epoch": """
def one_epoch(beta, x, y, i_epoch):
    beta = beta - 0.1*grad_of_loss(beta, x, y)
    current = loss(beta, x, y)
    print(f'Step {i_epoch}, loss {current}')
    return beta, current
""",
            "training_loop": """
beta = jnp.array([1.0, 1.0])
beta_history = [beta]
for i in range(50):
    beta, _ = one_epoch(beta, x, y, i)
    beta_history.append(beta)
""",
        },
        {"one_epoch": 0},
    ),
    Submission(
        "gradient_summed_by_hand",
        "differentiates by hand with sums where loss takes means: steps 100 times too long, training diverges",
        {
            "grad_of_loss": """
def grad_of_loss(params, x, y):
    r = params[0] + params[1]*x - y
    return jnp.array([2*jnp.sum(r), 2*jnp.sum(r*x)])
"""
        },
        {"grad_of_loss": 0, "one_epoch": 0, "training_loop": 0},
    ),
    Submission(
        "gradient_parts_swapped",
        "differentiates by hand and returns the slope's derivative first",
        {
            "grad_of_loss": """
def grad_of_loss(params, x, y):
    r = params[0] + params[1]*x - y
    return jnp.array([2*jnp.mean(r*x), 2*jnp.mean(r)])
"""
        },
        {"grad_of_loss": 0, "one_epoch": 0, "training_loop": 0},
    ),
    Submission(
        "gradient_sign_flipped_by_hand",
        "differentiates by hand with the residual y - prediction: a gradient pointing uphill, so training climbs",
        {
            "grad_of_loss": """
def grad_of_loss(params, x, y):
    residual = y - (params[0] + params[1]*x)
    return jnp.array([2*jnp.mean(residual), 2*jnp.mean(residual*x)])
"""
        },
        {"grad_of_loss": 0, "one_epoch": 0, "training_loop": 0},
    ),
    Submission(
        "gradient_on_the_notebooks_data",
        "grad_of_loss differentiates at the notebook's x and y, whatever it is given; the training is right",
        {
            "grad_of_loss": """
def grad_of_loss(params, xs, ys):
    return jax.grad(loss)(params, x, y)
"""
        },
        {"grad_of_loss": 0, "one_epoch": 0},
    ),
    Submission(
        "gradient_in_a_tuple",
        "asks jax.grad for argnums=(0,), which wraps the gradient in a tuple that one_epoch cannot subtract",
        {"grad_of_loss": "grad_of_loss = jax.grad(loss, argnums=(0,))"},
        {"grad_of_loss": 0, "one_epoch": 0, "training_loop": 0},
    ),
    Submission(
        "scatter_swapped",
        "scatters y against x",
        {"plot_data": "plt.scatter(y, x)\nplt.plot(x, 3*x + 2, '-')\nplt.xlabel('x')\nplt.ylabel('y')\nplt.show()"},
        {"plot_data": 1},
    ),
    Submission(
        "no_labels",
        "draws the right plot without axis labels",
        {"plot_data": "plt.scatter(x, y)\nplt.plot(x, 3*x + 2)\nplt.show()"},
        {"plot_data": 0},
    ),
    Submission(
        "labels_after_show",
        "labels the axes after plt.show(), which has ended the figure: the labels go on a new, empty one",
        {"plot_data": "plt.scatter(x, y)\nplt.plot(x, 3*x + 2)\nplt.show()\nplt.xlabel('x')\nplt.ylabel('y')"},
        {"plot_data": 0},
    ),
    Submission(
        "shows_the_data_first",
        "shows the data, then draws the real and fitted lines: two figures, as plt.show() ends the first",
        {"plot_fit": "plt.scatter(x, y, s=12)\nplt.show()\nx_line = jnp.linspace(x.min(), x.max(), 2)\n"
                     "plt.plot(x_line, 3*x_line + 2, '-')\nplt.plot(x_line, beta_0 + beta_1*x_line, '--')\nplt.show()"},
        {"plot_fit": 0},
    ),
    Submission(
        "draws_inside_least_squares",
        "least_squares draws its fitted line on every call, hidden checks' calls included, with no plt.show()",
        {"least_squares": """
def least_squares(x, y):
    n = len(x)
    beta_1 = (n*jnp.sum(x*y) - jnp.sum(x)*jnp.sum(y)) / (n*jnp.sum(x**2) - jnp.sum(x)**2)
    beta_0 = (jnp.sum(y) - beta_1*jnp.sum(x))/n
    plt.plot(x, beta_0 + beta_1*x, 'g.')
    return beta_0, beta_1
"""},
    ),
    Submission(
        "dashed_true_line",
        "draws the perfect line dashed",
        {"plot_data": "plt.scatter(x, y)\nplt.plot(x, 3*x + 2, 'r--')\nplt.xlabel('x')\nplt.ylabel('y')\nplt.show()"},
        {"plot_data": 1},
    ),
    Submission(
        "data_joined_by_a_line",
        "draws the data with plt.plot(x, y, 'o-'): markers joined by a zigzag line, not points alone",
        {"plot_data": "plt.plot(x, y, 'o-')\nplt.plot(x, 3*x + 2, '-')\nplt.xlabel('x')\nplt.ylabel('y')\nplt.show()"},
        {"plot_data": 1},
    ),
    Submission(
        "true_line_as_dots",
        "draws the perfect line with a marker format and no line style: dots on y = 3x + 2",
        {"plot_data": "plt.scatter(x, y)\nplt.plot(x, 3*x + 2, 'r.')\nplt.xlabel('x')\nplt.ylabel('y')\nplt.show()"},
        {"plot_data": 1},
    ),
    Submission(
        "short_true_line",
        "draws the perfect line over a small part of the data",
        {
            "plot_data": """
plt.scatter(x, y)
plt.plot([0, 0.5], [2, 3.5], '-')
plt.xlabel('x'); plt.ylabel('y')
plt.show()
"""
        },
        {"plot_data": 1},
    ),
    Submission(
        "true_line_beside_the_data",
        "draws the data and the perfect line side by side in two labelled axes",
        {
            "plot_data": """
fig, (left, right) = plt.subplots(1, 2)
left.scatter(x, y)
right.plot(x, 3*x + 2)
for axes in (left, right):
    axes.set_xlabel('x'); axes.set_ylabel('y')
plt.show()
"""
        },
        {"plot_data": 1},
    ),
    Submission(
        "true_line_without_data",
        "draws only the perfect line, in labelled axes, and no data",
        {"plot_data": "plt.plot(x, 3*x + 2)\nplt.xlabel('x')\nplt.ylabel('y')\nplt.show()"},
        {"plot_data": 1},
    ),
    Submission(
        "fit_returns_slope_first",
        "returns (beta_1, beta_0); the fit plot still uses the student's own values",
        {
            "least_squares": """
def least_squares(x, y):
    n = len(x)
    beta_1 = (n*jnp.sum(x*y) - jnp.sum(x)*jnp.sum(y)) / (n*jnp.sum(x**2) - jnp.sum(x)**2)
    beta_0 = (jnp.sum(y) - beta_1*jnp.sum(x))/n
    return beta_1, beta_0
"""
        },
        {"least_squares": 0},
    ),
    Submission(
        "fit_uses_globals",
        "least_squares ignores its arguments and fits the notebook's x and y",
        {
            "least_squares": """
def least_squares(a, b):
    n = len(x)
    beta_1 = (n*jnp.sum(x*y) - jnp.sum(x)*jnp.sum(y)) / (n*jnp.sum(x**2) - jnp.sum(x)**2)
    return (jnp.sum(y) - beta_1*jnp.sum(x))/n, beta_1
"""
        },
        {"least_squares": 1},
    ),
    Submission(
        "intercept_without_parentheses",
        "writes the intercept as sum(y) - beta_1*sum(x)/n, dividing only the second term",
        {
            "least_squares": """
def least_squares(x, y):
    n = len(x)
    beta_1 = (n*jnp.sum(x*y) - jnp.sum(x)*jnp.sum(y)) / (n*jnp.sum(x**2) - jnp.sum(x)**2)
    beta_0 = jnp.sum(y) - beta_1*jnp.sum(x)/n
    return beta_0, beta_1
"""
        },
        {"least_squares": 0},
    ),
    Submission(
        "denominator_typo",
        "types sum(x**2) for sum(x)**2 in the slope's denominator: nearly right on the notebook's centred data",
        {
            "least_squares": """
def least_squares(x, y):
    n = len(x)
    beta_1 = (n*jnp.sum(x*y) - jnp.sum(x)*jnp.sum(y)) / (n*jnp.sum(x**2) - jnp.sum(x**2))
    beta_0 = (jnp.sum(y) - beta_1*jnp.sum(x))/n
    return beta_0, beta_1
"""
        },
        {"least_squares": 0},
    ),
    Submission(
        "fit_line_hardcoded",
        "draws the fitted line with rounded numbers instead of beta_0 and beta_1",
        {
            "plot_fit": """
plt.scatter(x, y)
plt.plot(x, 3*x + 2, '-')
plt.plot(x, 2.05 + 2.9*x, '--')
plt.show()
"""
        },
        {"plot_fit": 1},
    ),
    Submission(
        "fit_drawn_as_points",
        "scatters the fitted values beta_0 + beta_1*x instead of drawing the fitted line",
        {
            "plot_fit": """
plt.scatter(x, y)
x_line = jnp.linspace(x.min(), x.max(), 2)
plt.plot(x_line, 3*x_line + 2)
plt.scatter(x, beta_0 + beta_1*x, color='red', s=4)
plt.show()
"""
        },
        {"plot_fit": 1},
    ),
    Submission(
        "fit_in_separate_figure",
        "draws the fitted line in a figure of its own, without the data",
        {
            "plot_fit": """
plt.scatter(x, y)
plt.plot(x, 3*x + 2)
plt.show()
plt.figure()
plt.plot(x, beta_0 + beta_1*x)
plt.show()
"""
        },
        {"plot_fit": 1},
    ),
    Submission(
        "fit_beside_the_real_line",
        "draws the data twice side by side, the real line in one axes and the fitted line in the other",
        {
            "plot_fit": """
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
x_line = jnp.linspace(x.min(), x.max(), 10)
for ax in (left, right):
    ax.scatter(x, y, s=5)
    ax.set_xlabel('x')
    ax.set_ylabel('y')
left.plot(x_line, 3*x_line + 2)
left.set_title('real')
right.plot(x_line, beta_0 + beta_1*x_line, 'r')
right.set_title('fit')
plt.show()
"""
        },
        {"plot_fit": 1},
    ),
    Submission(
        "history_without_start",
        "keeps only the 50 updated betas in beta_history",
        {
            "training_loop": """
beta = jnp.array([1.0, 1.0])
beta_history = []
for i in range(50):
    beta = one_epoch(beta, x, y, i)
    beta_history.append(beta)
"""
        },
        {"training_loop": 1},
    ),
    Submission(
        "history_without_the_last",
        "appends beta before each step, so beta_history holds the start and 49 steps but not the last",
        {
            "training_loop": """
beta = jnp.array([1.0, 1.0])
beta_history = []
for i in range(50):
    beta_history.append(beta)
    beta = one_epoch(beta, x, y, i)
"""
        },
        {"training_loop": 1},  # by then a step moves beta less than the tolerance: beta matches the last entry
    ),
    Submission(
        "history_aliased",
        "updates a NumPy beta in place and appends the same array 51 times",
        {
            "one_epoch": """
import numpy as np
def one_epoch(beta, x, y, i_epoch):
    beta = np.asarray(beta, dtype=float) if not isinstance(beta, np.ndarray) else beta
    beta -= 0.1*np.asarray(grad_of_loss(beta, x, y))
    print(f'Step {i_epoch}, loss {loss(beta, x, y)} and beta {beta}')
    return beta
""",
            "training_loop": """
beta = np.array([1.0, 1.0])
beta_history = [beta]
for i in range(50):
    beta = one_epoch(beta, x, y, i)
    beta_history.append(beta)
""",
        },
        {"training_loop": 1},
    ),
    Submission(
        "twenty_epochs",
        "trains for 20 epochs only",
        {
            "training_loop": """
beta = jnp.array([1.0, 1.0])
beta_history = [beta]
for i in range(20):
    beta = one_epoch(beta, x, y, i)
    beta_history.append(beta)
"""
        },
        {"training_loop": 1},
    ),
    Submission(
        "fifty_one_epochs",
        "trains for range(51): one epoch too many, 52 entries",
        {
            "training_loop": """
beta = jnp.array([1.0, 1.0])
beta_history = [beta]
for i in range(51):
    beta = one_epoch(beta, x, y, i)
    beta_history.append(beta)
"""
        },
        {"training_loop": 1},
    ),
    Submission(
        "beta_never_reassigned",
        "appends one_epoch(beta, ...) but never keeps it in beta: every epoch starts again from (1, 1)",
        {
            "training_loop": """
beta = jnp.array([1.0, 1.0])
beta_history = [beta]
for i in range(50):
    beta_history.append(one_epoch(beta, x, y, i))
"""
        },
        {"training_loop": 0},
    ),
    Submission("beta_25_wrong", "picks a pair whose squares sum to 50", {"x2_25": "beta_25 = (5.0, 5.0)"}, {"x2_25": 0}),
    Submission("beta_25_complex", "uses a complex number", {"x2_25": "beta_25 = (3 + 0j, 4)"}, {"x2_25": 0}),
    Submission("beta_25_number", "sets beta_25 to the number 25", {"x2_25": "beta_25 = 25"}, {"x2_25": 0}),
    Submission("beta_25_strings", "types the pair as text: x2 of it fails in the notebook",
               {"x2_25": "beta_25 = ('3', '4')"}, {"x2_25": 0}),
    Submission(
        "gradient_summed",
        "returns the sum of the gradient's components: one number, not one per parameter",
        {"grad_of_loss": "def grad_of_loss(params, x, y):\n    return jnp.sum(jax.grad(loss)(params, x, y))"},
        {"grad_of_loss": 0, "one_epoch": 0, "training_loop": 0},
    ),
    Submission(
        "noisy_stderr",
        "writes warnings to stderr from its answer cells and functions",
        {
            "grad_of_loss": """
import sys, warnings
_grad = jax.grad(loss)
def grad_of_loss(params, x, y):
    print('computing a gradient', file=sys.stderr)
    warnings.warn('this is a student warning')
    return _grad(params, x, y)
print('answer cell done', file=sys.stderr)
"""
        },
    ),
    Submission(
        "logs_its_progress",
        "prints one_epoch's progress line with logging, whose handler writes to the stderr it was made with",
        {
            "one_epoch": """
import logging
logging.basicConfig(level=logging.INFO)
def one_epoch(beta, x, y, i_epoch):
    beta = beta - 0.1 * grad_of_loss(beta, x, y)
    logging.info('Step %d, loss %s and beta %s', i_epoch, loss(beta, x, y), beta)
    return beta
"""
        },
        # nbgrader fails a test cell that writes to stderr, and one_epoch's test cell calls one_epoch
        lost={"one_epoch": 0},
    ),
    Submission(
        "logs_its_fit",
        "logs least_squares' result with logging: only the hidden checks call it, inside the test cell",
        {
            "least_squares": """
import logging
logging.basicConfig(level=logging.INFO, format='%(message)s')

def least_squares(x, y):
    n = len(x)
    beta_1 = (n*jnp.sum(x*y) - jnp.sum(x)*jnp.sum(y)) / (n*jnp.sum(x**2) - jnp.sum(x)**2)
    beta_0 = (jnp.sum(y) - beta_1*jnp.sum(x))/n
    logging.info('fitted beta_0 = %s, beta_1 = %s', beta_0, beta_1)
    return beta_0, beta_1
"""
        },
        # the hidden checks' calls swallow sys.stderr, not the stream the logging handler kept
        lost={"least_squares": 0},
    ),
    Submission(
        "enables_64_bit_floats",
        "switches JAX to 64-bit floats to fit more precisely; every answer after it computes in float64",
        {
            "least_squares": """
jax.config.update('jax_enable_x64', True)

def least_squares(x, y):
    x, y = jnp.asarray(x, dtype=jnp.float64), jnp.asarray(y, dtype=jnp.float64)
    n = len(x)
    beta_1 = (n*jnp.sum(x*y) - jnp.sum(x)*jnp.sum(y)) / (n*jnp.sum(x**2) - jnp.sum(x)**2)
    return (jnp.sum(y) - beta_1*jnp.sum(x))/n, beta_1
"""
        },
    ),
    Submission(
        "syntax_error_in_plot",
        "leaves a syntax error in the first plot; the rest is right",
        {"plot_data": "plt.scatter(x, y\nplt.xlabel('x')"},
        {"plot_data": 0},
    ),
    Submission(
        "stub_left_under_answer",
        "writes the fit above the stub's `raise NotImplementedError()` and leaves it in",
        {
            "grad_of_loss": "grad_of_loss = jax.grad(loss)\nraise NotImplementedError()",
        },
    ),
    Submission(
        "fit_counts_100_points",
        "types n = 100 into the closed form: right on the notebook's data only",
        {
            "least_squares": """
def least_squares(x, y):
    n = 100
    beta_1 = (n*jnp.sum(x*y) - jnp.sum(x)*jnp.sum(y)) / (n*jnp.sum(x**2) - jnp.sum(x)**2)
    return (jnp.sum(y) - beta_1*jnp.sum(x))/n, beta_1
"""
        },
        {"least_squares": 1},
    ),
    Submission(
        "fit_by_covariance",
        "divides jnp.cov (by n - 1) by jnp.var (by n): the slope is off by n / (n - 1)",
        {
            "least_squares": """
def least_squares(x, y):
    beta_1 = jnp.cov(x, y)[0, 1] / jnp.var(x)
    return jnp.mean(y) - beta_1*jnp.mean(x), beta_1
"""
        },
        {"least_squares": 0},
    ),
    Submission(
        "vmap_style",
        "draws the data as markers of plt.plot, solves the normal equations into an array, and vmaps "
        "the landscape over an 'ij' mesh with mathtext labels",
        {
            "plot_data": """
plt.figure()
plt.plot(x, y, '.', label='data')
ends = jnp.array([-3.0, 3.0])
plt.plot(ends, 3*ends + 2, '-', label='y = 3x + 2')
plt.xlabel(' x '); plt.ylabel('Y'); plt.legend(); plt.show()
""",
            "least_squares": """
def least_squares(x, y):
    X = jnp.stack([jnp.ones_like(x), x], axis=1)
    return jnp.linalg.solve(X.T @ X, X.T @ y)
""",
            "loss_landscape": """
losses = jax.vmap(lambda m: jax.vmap(lambda b: loss_fn(x, y, m, b))(b_range))(m_range)
M, B = jnp.meshgrid(m_range, b_range, indexing='ij')
ax = plt.figure(figsize=(6, 6)).add_subplot(111, projection='3d')
ax.plot_surface(B, M, losses, cmap='viridis')
ax.set_xlabel('$b$'); ax.set_ylabel('$m$'); ax.set_zlabel('Loss')
plt.show()
""",
        },
    ),
    Submission(
        "jit_style",
        "jits the gradient and the whole step, printing progress with jax.debug.print",
        {
            "grad_of_loss": "grad_of_loss = jax.jit(jax.grad(loss))",
            "one_epoch": """
@jax.jit
def one_epoch(beta, x, y, i_epoch):
    beta = beta - 0.1*grad_of_loss(beta, x, y)
    jax.debug.print('Step {i}, loss {l} and beta {b}', i=i_epoch, l=loss(beta, x, y), b=beta)
    return beta
""",
        },
    ),
    Submission(
        "script_style",
        "polyfit, value_and_grad with a global learning rate, a while loop stacked into an array, "
        "NumPy loops for the landscape, figures without plt.show, %matplotlib inline and savefig",
        {
            "plot_data": """%matplotlib inline
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
ax1.scatter(x, y, s=5)
ax1.plot([x.min(), x.max()], [3*x.min() + 2, 3*x.max() + 2], 'k-')
ax1.set_xlabel('X'); ax1.set_ylabel('Y')
ax2.hist(jitter)
plt.savefig('data.png')
""",
            "least_squares": "def least_squares(x, y):\n    b1, b0 = jnp.polyfit(x, y, 1)\n    return b0, b1",
            "plot_fit": """
plt.figure(figsize=(8, 5))
plt.plot(x, y, 'o')
plt.plot(x, 3*x + 2, label='real')
plt.plot(x, beta_0 + beta_1*x, label='fit')
plt.legend()
""",
            "one_epoch": """
learning_rate = 0.1
def one_epoch(beta, x, y, i_epoch):
    value, g = jax.value_and_grad(loss)(beta, x, y)
    new_beta = beta - learning_rate * g
    print(f'Step {i_epoch}, loss {loss(new_beta, x, y)} and beta {new_beta}')
    return new_beta
""",
            "training_loop": """
beta = jnp.array([1.0, 1.0])
hist = [beta]
i = 0
while i < 50:
    beta = one_epoch(beta, x, y, i)
    hist.append(beta)
    i += 1
beta_history = jnp.stack(hist)
""",
            "loss_landscape": """
import numpy as np
losses = np.zeros((20, 20))
for i, m in enumerate(m_range):
    for j, b in enumerate(b_range):
        losses[i, j] = loss_fn(x, y, m, b)
B, M = np.meshgrid(np.array(b_range), np.array(m_range))
fig = plt.figure(figsize=(10, 7))
ax = fig.add_subplot(projection='3d')
surface = ax.plot_surface(B, M, losses, cmap='viridis')
fig.colorbar(surface)
ax.set_xlabel('b'); ax.set_ylabel('m'); ax.set_zlabel('Loss')
ax.set_title('Loss landscape')
""",
        },
    ),
    Submission(
        "cell_magics",
        "%%capture to hide a plot's output (IPython runs the body as a cell of its own), "
        "%matplotlib widget from JupyterLab (no ipympl here), %%time on the training loop, %time on one line",
        {
            "plot_data": "%%capture\nplt.scatter(x, y)\nplt.plot(x, 3*x + 2, 'r-')\nplt.xlabel('x'); plt.ylabel('y')\nplt.show()\n",
            "plot_fit": "%matplotlib widget\nplt.scatter(x, y)\nplt.plot(x, 3*x + 2)\nplt.plot(x, beta_0 + beta_1*x)\nplt.show()\n",
            "x2_25": "%time beta_25 = (3.0, 4.0)",
            "training_loop": """%%time
beta = jnp.array([1.0, 1.0])
beta_history = [beta]
for i in range(50):
    beta = one_epoch(beta, x, y, i)
    beta_history.append(beta)
""",
        },
    ),
    Submission(
        "one_epoch_uses_globals",
        "one_epoch computes the gradient on the notebook's x and y, whatever it is given",
        {
            "one_epoch": """
def one_epoch(b, xs, ys, i_epoch):
    b = b - 0.1*grad_of_loss(b, x, y)
    print(f'Step {i_epoch}, loss {loss(b, x, y)} and beta {b}')
    return b
"""
        },
        {"one_epoch": 0},
    ),
    Submission(
        "training_not_restarted",
        "trains on from the beta the 10-epoch loop left",
        {
            "training_loop": """
beta_history = [beta]
for i in range(50):
    beta = one_epoch(beta, x, y, i)
    beta_history.append(beta)
"""
        },
        {"training_loop": 1},
    ),
    Submission(
        "surface_of_ranges",
        "gives plot_surface the 1-D ranges instead of a mesh",
        {
            "loss_landscape": """
losses = jnp.array([[loss_fn(x, y, m, b) for b in b_range] for m in m_range])
ax = plt.figure().add_subplot(projection='3d')
ax.plot_surface(b_range, m_range, losses)
ax.set_xlabel('b'); ax.set_ylabel('m'); ax.set_zlabel('loss')
plt.show()
"""
        },
        {"loss_landscape": 2},
    ),
    Submission(
        "surface_too_fine",
        "computes the 20x20 losses, then draws the landscape from a 300x300 grid at full resolution",
        {
            "loss_landscape": """
losses = jax.vmap(lambda m: jax.vmap(lambda b: loss_fn(x, y, m, b))(b_range))(m_range)
fine_b, fine_m = jnp.meshgrid(jnp.linspace(-4, 4, 300), jnp.linspace(-8, 8, 300))
fine = jax.vmap(jax.vmap(lambda m, b: loss_fn(x, y, m, b)))(fine_m, fine_b)
ax = plt.figure().add_subplot(projection='3d')
ax.plot_surface(fine_b, fine_m, fine, rstride=1, cstride=1)
ax.set_xlabel('b'); ax.set_ylabel('m'); ax.set_zlabel('loss')
plt.show()
"""
        },
        {"loss_landscape": 2},
    ),
    Submission(
        "sorted_together_unlabelled",
        "sorts x and y together to draw the line left to right, and forgets the axis labels",
        {"plot_data": "order = jnp.argsort(x)\nx, y = x[order], y[order]\nplt.scatter(x, y)\nplt.plot(x, 3*x + 2, 'r')\nplt.show()"},
        {"plot_data": 0},
    ),
    Submission(
        "x_reused_for_the_lines",
        "draws the lines of plot_fit over a new `x`, which the training and the landscape then use",
        {
            "plot_fit": """
plt.scatter(x, y)
x = jnp.linspace(x.min(), x.max(), 100)
plt.plot(x, 3*x + 2, label='real')
plt.plot(x, beta_0 + beta_1*x, label='fit')
plt.legend()
plt.show()
"""
        },
        {"training_loop": 0, "loss_landscape": 0},
    ),
    Submission(
        "element_loops",
        "sums element by element in Python loops, fills the landscape into a NumPy array cell by cell "
        "and draws it with plot_trisurf",
        {
            "least_squares": """
def least_squares(x, y):
    n = len(x)
    sx = sy = sxy = sxx = 0.0
    for i in range(n):
        sx += x[i]
        sy += y[i]
        sxy += x[i] * y[i]
        sxx += x[i] * x[i]
    beta_1 = (n * sxy - sx * sy) / (n * sxx - sx ** 2)
    beta_0 = (sy - beta_1 * sx) / n
    return beta_0, beta_1
""",
            "loss_landscape": """
import numpy as np
losses = np.zeros((20, 20))
bs, ms = [], []
for i in range(20):
    for j in range(20):
        losses[i, j] = float(loss_fn(x, y, m_range[i], b_range[j]))
        bs.append(float(b_range[j]))
        ms.append(float(m_range[i]))
ax = plt.figure().add_subplot(projection='3d')
ax.plot_trisurf(bs, ms, losses.ravel(), cmap='viridis')
ax.set_xlabel('b')
ax.set_ylabel('m')
ax.set_zlabel('loss')
plt.show()
""",
        },
    ),
    Submission(
        "shows_an_earlier_figure",
        "adds the fit to the figure of plot_data and shows that figure again, by display(fig)",
        {
            "plot_data": """
fig, ax = plt.subplots()
ax.scatter(x, y)
x_line = jnp.linspace(x.min(), x.max(), 2)
ax.plot(x_line, 3*x_line + 2, 'r-')
ax.set_xlabel('x')
ax.set_ylabel('y')
plt.show()
""",
            "plot_fit": "ax.plot(x_line, beta_0 + beta_1*x_line, 'g--', label='fit')\nax.legend()\ndisplay(fig)",
        },
    ),
    Submission(
        "shows_an_earlier_figure_as_the_last_value",
        "draws no figure in plot_data (left to show itself), then adds the fit to it and ends plot_fit with `fig`",
        {
            "plot_data": """
fig, ax = plt.subplots()
ax.scatter(x, y)
ax.plot([-3, 3], [-7, 11], 'r-')
ax.set_xlabel('x')
ax.set_ylabel('y')
""",
            "plot_fit": "ax.plot([-3, 3], [beta_0 - 3*beta_1, beta_0 + 3*beta_1], 'g--')\nfig",
        },
    ),
    Submission(
        "lowers_recursion_limit",
        "lowers Python's recursion limit after drawing the landscape, which every hidden check runs under",
        {"loss_landscape": model_answers()["loss_landscape"] + "\nimport sys\nsys.setrecursionlimit(60)"},
    ),
    Submission(
        "closes_its_figures",
        "closes every figure right after showing it, and all figures before drawing the fit",
        {
            "plot_data": model_answers()["plot_data"] + "\nplt.close()",
            "plot_fit": "plt.close('all')\n" + model_answers()["plot_fit"] + "\nplt.close('all')",
            "loss_landscape": model_answers()["loss_landscape"] + "\nplt.close(fig)",
        },
    ),
    Submission(
        "trains_with_tqdm",
        "wraps the training loop in tqdm's progress bar, which the course environment does not have",
        {
            "training_loop": """
from tqdm import tqdm
beta = jnp.array([1.0, 1.0])
beta_history = [beta]
for i in tqdm(range(50)):
    beta = one_epoch(beta, x, y, i)
    beta_history.append(beta)
"""
        },
        {"training_loop": 0},
    ),
    Submission(
        "untouched_release",
        "submits the release notebook without answering anything",
        lost={grade_id: 0 for grade_id in EXPECTED_FULL},
        from_model=False,
    ),
]

BY_NAME = {submission.name: submission for submission in SUBMISSIONS}

# Submissions whose code writes to stderr inside a test cell, which nbgrader fails whatever its checks
# say: (name, grade id, the question's points, the start of the first line written, as quoted).
STDERR_WRITERS = [
    ("logs_its_progress", "one_epoch", 3, "'INFO:root:Step 0, loss "),  # in the public check's call
    ("logs_its_fit", "least_squares", 3, "'fitted beta_0 = "),  # in the hidden checks' calls only
]

# Submissions with an answer cell that ended in an error: (name, grade id, how the cell ended, as the
# last line of the question's feedback quotes it; None where the question lost nothing, and says nothing).
UNFINISHED_ANSWERS = [
    ("trains_with_tqdm", "training_loop", "ModuleNotFoundError: No module named 'tqdm'"),
    ("one_epoch_returns_nothing", "training_loop", "AttributeError: 'NoneType' object has no attribute 'copy'"),
    ("syntax_error_in_plot", "plot_data", "SyntaxError: '(' was never closed"),
    ("untouched_release", "loss_landscape", "NotImplementedError."),  # the stub's error has no message
    ("stub_left_under_answer", "grad_of_loss", None),
]
