"""Draw the two illustrations the notebook shows, into source/intro_ml/ (run once; the PNGs are committed).

The seed notebook referred to pictures it did not carry; these redraw what its text describes: the
residuals of a straight-line fit, and gradient descent stepping down a loss curve.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "source" / "intro_ml"


def residuals() -> None:
    rng = np.random.default_rng(3)
    x = np.linspace(0, 10, 12)
    y = 1.0 + 0.8 * x + rng.normal(0, 1.0, x.size)
    slope, intercept = np.polyfit(x, y, 1)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.vlines(x, y, intercept + slope * x, colors="tab:gray", linestyles=":", label="residuals $r_i$")
    ax.scatter(x, y, zorder=3, label="data $(x_i, y_i)$")
    ax.plot(x, intercept + slope * x, color="tab:red", label=r"$f(x) = \beta_0 + \beta_1 x$")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(OUT / "segmented-least-squares-n.png", dpi=100)


def gradient_descent() -> None:
    beta = np.linspace(-3, 3, 200)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(beta, beta**2, color="tab:blue")
    steps = [2.6]
    for _ in range(5):
        steps.append(steps[-1] - 0.3 * 2 * steps[-1])
    steps = np.array(steps)
    ax.plot(steps, steps**2, "o--", color="tab:red", label=r"$\beta \leftarrow \beta - \eta \nabla L$")
    ax.annotate("start", (steps[0], steps[0] ** 2), textcoords="offset points", xytext=(-35, 5))
    ax.annotate(r"minimum: $\partial L / \partial \beta = 0$", (0, 0), textcoords="offset points", xytext=(-60, 25))
    ax.set_xlabel(r"$\beta$")
    ax.set_ylabel(r"$L(\beta)$")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(OUT / "GD_Diagram.png", dpi=100)


if __name__ == "__main__":
    residuals()
    gradient_descent()
