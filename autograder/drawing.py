"""Pictures for the feedback pages and the class report, drawn by the grader with matplotlib (Agg).

A student's figure is redrawn from the plain data the checks read (points, lines and their style,
labels, surface vertices), never by running the student's code again, so the page shows exactly
what was graded. The reference figures are drawn from `solutions/`. Every picture is a PNG in
memory; figures are made without pyplot, which keeps no state between pictures.

Drawing is most of a feedback page's cost, and the pictures repeat: the grader redraws what an answer
drew in its own style (colours are not recorded), so every correct answer to a plotting question
makes the same picture. A student's picture is therefore drawn once per distinct figure and run.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import math
import os
import tempfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import mpl_toolkits.mplot3d  # noqa: F401 (registers the "3d" projection)
import numpy as np
from matplotlib.figure import Figure as Canvas
from matplotlib.lines import Line2D

from autograder import sandbox
from autograder.plain import Axes, Figure

SIZE = (4.8, 3.6)  # inches; at DPI, 480 x 360 pixels, sharp enough on a phone and small inline
DPI = 100
LABEL_CHARS = 80  # longer labels are cut in a picture (the checks read them whole)
# Room for ticks, axis labels and a title around the plots. Fixed rather than "tight": fitting the
# layout to the text draws every picture twice, and a class's feedback pages hold hundreds of them.
MARGINS = dict(left=0.15, right=0.96, bottom=0.14, top=0.9, wspace=0.35, hspace=0.45)


def png(draw: Callable[[Canvas], None], size: tuple[float, float] = SIZE, fitted: bool = False) -> bytes:
    """`draw` on a fresh figure, as PNG; `fitted` fits the layout to long tick labels (slower)."""
    canvas = Canvas(figsize=size, dpi=DPI, layout="tight" if fitted else None)
    if not fitted:
        canvas.subplots_adjust(**MARGINS)
    draw(canvas)
    buffer = io.BytesIO()
    canvas.savefig(buffer, format="png")
    return buffer.getvalue()


def student_png(figure: Figure) -> bytes:
    """The student's figure as the grader recorded it, drawn once for all the figures equal to it."""
    key = fingerprint(figure)
    picture = _drawn.pop(key, None) or _draw_student(figure)
    _drawn[key] = picture  # the most recently used last
    if len(_drawn) > KEPT_PICTURES:
        del _drawn[next(iter(_drawn))]
    return picture


KEPT_PICTURES = 64  # a picture is some 20-50 kB
_drawn: dict[bytes, bytes] = {}  # fingerprint -> picture, least recently used first


def _draw_student(figure: Figure) -> bytes:
    """Labels are first drawn as matplotlib would (with `$...$` mathtext); a label that mathtext cannot
    parse only fails when the picture is saved, and then the figure is drawn again with plain labels."""
    try:
        return png(lambda canvas: _draw_recorded(canvas, figure, math_text=True))
    except ValueError:
        return png(lambda canvas: _draw_recorded(canvas, figure, math_text=False))


def fingerprint(figure: Figure) -> bytes:
    """A digest of everything a recorded figure holds: equal for two figures exactly when they are equal."""
    digest = hashlib.sha256()

    def feed(value) -> None:
        if isinstance(value, np.ndarray) and not value.dtype.hasobject:
            digest.update(f"array {value.dtype.str} {value.shape}:".encode())
            digest.update(np.ascontiguousarray(value).tobytes())
        elif dataclasses.is_dataclass(value):
            digest.update(f"{type(value).__name__}({len(dataclasses.fields(value))}:".encode())
            for field in dataclasses.fields(value):
                feed(getattr(value, field.name))
        elif isinstance(value, tuple):
            digest.update(f"tuple({len(value)}:".encode())
            for item in value:
                feed(item)
        elif isinstance(value, (str, bool, int, float)):
            digest.update(f"{type(value).__name__} {value!r}:".encode())
        else:
            raise TypeError(f"a recorded figure holds no {type(value).__name__}")

    feed(figure)
    return digest.digest()


def _draw_recorded(canvas: Canvas, figure: Figure, math_text: bool) -> None:
    if not figure.axes:
        canvas.text(0.5, 0.5, "an empty figure", ha="center", va="center", color="grey")
        return
    columns = math.ceil(math.sqrt(len(figure.axes)))
    rows = math.ceil(len(figure.axes) / columns)
    for index, recorded in enumerate(figure.axes, start=1):
        three_d = recorded.projection == "3d"
        axes = canvas.add_subplot(rows, columns, index, projection="3d" if three_d else None)
        if three_d:
            _draw_surfaces(axes, recorded)
        else:
            _draw_2d(axes, recorded)
        for setter, text in ((axes.set_xlabel, recorded.xlabel), (axes.set_ylabel, recorded.ylabel),
                             (axes.set_title, recorded.title)):
            setter(_short(text), parse_math=math_text)
        if three_d:
            axes.set_zlabel(_short(recorded.zlabel), parse_math=math_text)


def _draw_2d(axes, recorded: Axes) -> None:
    for points in recorded.points:
        axes.scatter(points[:, 0], points[:, 1], s=12)
    for line in recorded.lines:
        style = dict(
            linestyle=line.linestyle if line.linestyle in Line2D.lineStyles else "-",
            marker=line.marker if line.marker in Line2D.markers else None,
            drawstyle=line.drawstyle if line.drawstyle in Line2D.drawStyles else "default",
        )
        if line.infinite and len(line.xy) >= 2:
            axes.axline(tuple(line.xy[0]), tuple(line.xy[1]), linestyle=style["linestyle"])
        else:
            axes.plot(line.xy[:, 0], line.xy[:, 1], **style)


def _draw_surfaces(axes, recorded: Axes) -> None:
    """Each surface from its vertices, one height per (x, y): as a mesh when the points fill a grid
    (what `plot_surface` draws), else triangulated, else as points."""
    for vertices in recorded.surfaces:
        finite = vertices[np.all(np.isfinite(vertices), axis=1)]
        _, first = np.unique(finite[:, :2], axis=0, return_index=True)
        x, y, z = finite[np.sort(first)].T
        xs, ys = np.unique(x), np.unique(y)
        if len(x) > 3 and len(xs) * len(ys) == len(x):
            heights = np.empty((len(ys), len(xs)))
            heights[np.searchsorted(ys, y), np.searchsorted(xs, x)] = z
            axes.plot_surface(*np.meshgrid(xs, ys), heights, cmap="viridis", linewidth=0.2)
            continue
        try:
            axes.plot_trisurf(x, y, z, cmap="viridis", linewidth=0.2)
        except (ValueError, RuntimeError):  # too few or collinear points to triangulate
            axes.scatter(x, y, z, s=4)


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


@functools.cache  # the same for every student
def reference_png(grade_id: str) -> bytes | None:
    """What the question asks for, drawn from the reference solution; None for an unplotted question.

    Kept on disk between runs (see `_kept`): drawing them needs JAX in the grader's main process,
    whose import and first computations cost more than the rest of a page.
    """
    draw = _REFERENCES.get(grade_id)
    if draw is None:
        return None
    kept = _kept(grade_id)
    try:
        return kept.read_bytes()
    except OSError:
        pass
    picture = png(draw)
    _keep(picture, kept)
    return picture


def _keep(picture: bytes, path: Path) -> None:
    """Write `picture` at `path` whole or not at all, even with two runs drawing at once; a cache
    that cannot be written only means drawing it again next time."""
    partial = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".drawing-", delete=False) as file:
            partial = Path(file.name)
            file.write(picture)
        os.replace(partial, path)
    except OSError:
        if partial is not None:
            partial.unlink(missing_ok=True)


def _kept(grade_id: str) -> Path:
    """Where a reference picture is kept: named after everything it is drawn from (this file, the
    solutions, the versions of the libraries drawing and computing it), so any change draws it anew.
    Beside JAX's cache, not in it: a student's kernel reads that one."""
    solutions = Path(__file__).resolve().parents[1] / "solutions" / "intro_ml.py"
    sources = Path(__file__).read_bytes() + solutions.read_bytes()
    versions = " ".join(version(name) for name in ("matplotlib", "numpy", "jax", "jaxlib"))
    digest = hashlib.sha256(sources + versions.encode()).hexdigest()[:16]
    return sandbox.default_jax_cache().parent / "reference-figures" / f"{grade_id}-{digest}.png"


@functools.cache  # JAX's cache configured once
def _reference():
    """The solutions, imported (with JAX) only when a reference picture must be drawn."""
    sandbox.use_jax_cache_here(sandbox.default_jax_cache())
    from solutions import intro_ml

    return intro_ml


def plotted(grade_id: str) -> bool:
    return grade_id in _REFERENCES


def _notebook_data(ref) -> tuple[np.ndarray, np.ndarray]:
    x, y = ref.data()
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _reference_plot_data(canvas: Canvas) -> None:
    ref = _reference()
    x, y = _notebook_data(ref)
    ends = np.array([x.min(), x.max()])
    axes = canvas.add_subplot()
    axes.scatter(x, y, s=12, label="data")
    axes.plot(ends, np.asarray(ref.true_line(ends)), "-", color="tab:red", label="y = 3x + 2")
    axes.set_xlabel("x")
    axes.set_ylabel("y")
    axes.legend()


def _reference_plot_fit(canvas: Canvas) -> None:
    ref = _reference()
    x, y = _notebook_data(ref)
    beta_0, beta_1 = (float(b) for b in ref.least_squares(x, y))
    ends = np.array([x.min(), x.max()])
    axes = canvas.add_subplot()
    axes.scatter(x, y, s=12, label="data")
    axes.plot(ends, np.asarray(ref.true_line(ends)), "-", label="real: y = 3x + 2")
    axes.plot(ends, beta_0 + beta_1 * ends, "--", label=f"fit: y = {beta_0:.2f} + {beta_1:.2f}x")
    axes.set_xlabel("x")
    axes.set_ylabel("y")
    axes.legend()


def _reference_loss_landscape(canvas: Canvas) -> None:
    ref = _reference()
    x, y = _notebook_data(ref)
    b_range, m_range = (np.asarray(r, dtype=np.float64) for r in ref.landscape_ranges())
    losses = np.asarray(ref.loss_grid(x, y, m_range, b_range), dtype=np.float64)
    b_mesh, m_mesh = np.meshgrid(b_range, m_range)  # losses[i, j] is at m_range[i], b_range[j]
    axes = canvas.add_subplot(projection="3d")
    axes.plot_surface(b_mesh, m_mesh, losses, cmap="viridis", linewidth=0.2)
    axes.set_xlabel("b")
    axes.set_ylabel("m")
    axes.set_zlabel("loss")


# The plotted questions, by grade id, and what the contract asks each to draw.
_REFERENCES: dict[str, Callable[[Canvas], None]] = {
    "plot_data": _reference_plot_data,
    "plot_fit": _reference_plot_fit,
    "loss_landscape": _reference_loss_landscape,
}


def histogram_png(totals: list[float], max_score: float) -> bytes:
    """How many students got each autograded total."""

    def draw(canvas: Canvas) -> None:
        axes = canvas.add_subplot()
        axes.hist(totals, bins=np.arange(-0.5, max_score + 1.5, 1.0), color="tab:blue", edgecolor="white")
        axes.set_xlim(-0.5, max_score + 0.5)
        axes.set_xlabel(f"autograded score (of {max_score:g})")
        axes.set_ylabel("students")
        axes.yaxis.get_major_locator().set_params(integer=True)

    return png(draw, (6.4, 3.2), fitted=True)


def questions_png(names: list[str], mean_shares: list[float], pass_rates: list[float]) -> bytes:
    """Per question: the mean score as a share of its points, and the share of students with full points."""

    def draw(canvas: Canvas) -> None:
        axes = canvas.add_subplot()
        rows = np.arange(len(names))
        axes.barh(rows - 0.2, np.asarray(mean_shares) * 100, height=0.4, label="mean score (% of points)")
        axes.barh(rows + 0.2, np.asarray(pass_rates) * 100, height=0.4, label="full points (% of students)")
        axes.set_yticks(rows, names)
        axes.invert_yaxis()
        axes.set_xlim(0, 100)
        axes.set_xlabel("%")
        axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, fontsize="small", frameon=False)

    return png(draw, (6.4, 0.45 * len(names) + 1.4), fitted=True)
