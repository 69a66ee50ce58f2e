"""The grader's only code inside a student's kernel: it records figures and answers with plain data.

This file is executed as source text when the kernel starts (it imports nothing of the course, so it
works in a sandbox that cannot see the course directory). It registers itself as the module
`_grading_agent`, which keeps it out of the student's namespace, and then:

* records, after every cell the student's notebook runs, the figures that cell drew or showed, as
  plain data (labels, scatter points, lines and their style, 3D surface vertices), since the inline
  backend closes figures at the end of each cell;
* answers three requests, always with JSON text: `value(name)`, `call(name, args)` and
  `figures(count)`.

Nothing here decides a score: everything it says is untrusted data that the grader checks.
"""

import contextlib
import io
import json
import sys
import threading
import time
import types

MAX_NUMBERS = 200_000  # numbers in one reply; a 20x20 surface needs about 5,000
MAX_TEXT = 2_000  # characters of any string in a reply
MAX_DEPTH = 6
MAX_CELL_OUTPUT = 1_000_000  # characters a cell may print; the grader's messages have a size limit
# Seconds a thread other than the notebook's waits on each print past that: Python's switch interval,
# what a thread waiting for the interpreter's lock waits anyway; 100 prints a second are plenty for
# text that is dropped.
CUT_THREAD_PAUSE = 0.005

_state = {"figures": [], "by_count": {}, "last": [], "printed": 0, "running": []}


# ---------------------------------------------------------------- plain data


class _Budget:
    """Counts the numbers put into one reply, so that no reply can grow without bound."""

    def __init__(self):
        self.left = MAX_NUMBERS

    def take(self, n):
        self.left -= n
        if self.left < 0:
            raise OverflowError("reply too large")


def _encode_array(value, budget):
    import numpy as np

    array = np.asarray(value)
    budget.take(array.size)
    if array.dtype.kind == "c":
        return {
            "__array__": {
                "dtype": "complex",
                "shape": list(array.shape),
                "real": _floats(array.real),
                "imag": _floats(array.imag),
            }
        }
    if array.dtype.kind == "b":
        return {"__array__": {"dtype": "bool", "shape": list(array.shape), "data": array.ravel().tolist()}}
    if array.dtype.kind in "iuf":
        return {"__array__": {"dtype": "float", "shape": list(array.shape), "data": _floats(array)}}
    return {"__object__": "array of " + str(array.dtype)[:50]}


def _floats(array):
    return [float(v) for v in array.astype("float64").ravel()]


def to_plain(value, budget=None, depth=0):
    """A JSON-ready description of `value`: numbers, strings, lists and tagged arrays only."""
    budget = budget or _Budget()
    if depth > MAX_DEPTH:
        return {"__object__": "nested too deeply"}
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        budget.take(1)
        return value if abs(value) < 2**53 else float(value)
    if isinstance(value, float):
        budget.take(1)
        return value
    if isinstance(value, complex):
        budget.take(2)
        return {"__complex__": [value.real, value.imag]}
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, (list, tuple)):
        budget.take(1)
        return [to_plain(item, budget, depth + 1) for item in value]
    if callable(value) and not hasattr(value, "shape"):
        return {"__object__": type(value).__name__[:100], "callable": True}
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        try:
            return _encode_array(value, budget)
        except OverflowError:
            raise
        except Exception as error:  # a broken array-like is still an answer: describe it
            return {"__object__": type(value).__name__[:100], "error": str(error)[:MAX_TEXT]}
    return {"__object__": type(value).__name__[:100]}


def from_plain_args(args):
    """Turn the grader's plain arguments into what a notebook function expects: JAX float32 arrays."""
    import jax.numpy as jnp
    import numpy as np

    def decode(item):
        if isinstance(item, dict) and "__array__" in item:
            spec = item["__array__"]
            return jnp.asarray(np.asarray(spec["data"], dtype=np.float32).reshape(spec["shape"]))
        if isinstance(item, list):
            return [decode(part) for part in item]
        return item

    return [decode(arg) for arg in args]


class _Json(str):
    """JSON text that displays as itself, so the grader reads it from a `text/plain` reply as is."""

    def __repr__(self):
        return str.__str__(self)

    def _repr_pretty_(self, printer, cycle):
        printer.text(str.__str__(self))


def _reply(payload):
    try:
        return _Json(json.dumps(payload, allow_nan=True))
    except OverflowError:
        return _Json(json.dumps({"error": "the reply is too large to send"}))
    except Exception as error:
        return _Json(json.dumps({"error": "the reply could not be encoded: " + type(error).__name__}))


# ---------------------------------------------------------------- requests


def _namespace():
    shell = _shell()
    return shell.user_ns if shell is not None else {}


def value(name):
    """JSON text: {"value": plain} or {"missing": name}."""
    namespace = _namespace()
    if name not in namespace:
        return _reply({"missing": name})
    try:
        with _as_in_a_test_cell():
            plain = to_plain(namespace[name])  # an object of the student's may print as it converts
        return _reply({"value": plain})
    except OverflowError:
        return _reply({"error": f"`{name}` is too large to send to the grader"})


def call(name, args_json):
    """JSON text: {"value": plain} with what `name(*args)` returned, or {"raised": message}.

    What the function prints is swallowed and what it draws is closed after it (`_as_in_a_test_cell`).
    """
    namespace = _namespace()
    function = namespace.get(name)
    if function is None:
        return _reply({"missing": name})
    if not callable(function):
        return _reply({"raised": f"`{name}` is a {type(function).__name__}, not a function"})
    try:
        args = from_plain_args(json.loads(args_json))
        with _as_in_a_test_cell():
            plain = to_plain(function(*args))
        return _reply({"value": plain})
    except OverflowError:
        return _reply({"error": f"what `{name}` returned is too large to send to the grader"})
    except BaseException as error:  # SystemExit and KeyboardInterrupt from student code included
        if isinstance(error, KeyboardInterrupt):
            raise
        return _reply({"raised": f"{type(error).__name__}: {str(error)[:MAX_TEXT]}"})


@contextlib.contextmanager
def _as_in_a_test_cell():
    """Student code run for a check: under nbgrader the checks run inside a test cell, so

    * what it prints to `sys.stdout` or `sys.stderr` is swallowed: progress lines are not part of the
      answer (a stream the student's code kept, such as a `logging` handler's, still writes to the
      kernel's, as it would in the cell; the grader reads that stderr);
    * the figures it makes are closed after it, as the inline backend closes them at the end of that
      cell: left open, the next cell's `plt.plot` would draw on one of them, not on a new figure of
      its own, and that cell would seem to have drawn nothing.
    """
    tracked = _state["figures"]
    made_before = len(tracked)
    try:
        with contextlib.redirect_stdout(_NOWHERE), contextlib.redirect_stderr(_NOWHERE):
            yield
    finally:
        made = tracked[made_before:]
        del tracked[made_before:]
        if made and not _keeps_figures_for_display():
            import matplotlib.pyplot as plt

            for figure in made:
                plt.close(figure)


def figures(count=None):
    """JSON text: {"figures": [...]} drawn by the cell with that execution count (default: the last)."""
    snapshots = _state["last"] if count is None else _state["by_count"].get(count, [])
    return _reply({"figures": snapshots})


class _Nowhere(io.TextIOBase):
    """Where what the grader's calls print goes.

    One for the kernel's whole life, never freed: a thread the notebook left printing may start a
    print while a call has this as `sys.stdout` and finish it after the call has put the cell's stream
    back. Python 3.11's `print()` holds the stream it writes to by a borrowed reference (CPython issue
    130163): a stream made for one call and freed after it would be written to after being freed,
    killing the thread with "I/O operation on uninitialized object", or the kernel.
    """

    def write(self, text):
        return len(text)


_NOWHERE = _Nowhere()


# ---------------------------------------------------------------- figures


def _label(text):
    return str(text)[:200]


def _in_data_coordinates(axes, transform):
    try:
        return transform == axes.transData
    except Exception:
        return False


def _describe_axes(axes):
    import numpy as np

    budget = _Budget()
    three_d = getattr(axes, "name", "") == "3d"
    described = {
        "projection": "3d" if three_d else "2d",
        "xlabel": _label(axes.get_xlabel()),
        "ylabel": _label(axes.get_ylabel()),
        "zlabel": _label(axes.get_zlabel()) if three_d else "",
        "title": _label(axes.get_title()),
        "points": [],
        "lines": [],
        "surfaces": [],
    }
    for collection in axes.collections:
        kind = type(collection).__name__
        if three_d and (kind == "Poly3DCollection" or getattr(collection, "_grading_wireframe", False)):
            vertices = _surface_vertices(collection)
            if vertices is not None:
                described["surfaces"].append(_encode_array(vertices, budget))
        elif not three_d and kind == "PathCollection":
            if not _in_data_coordinates(axes, collection.get_offset_transform()):
                continue
            offsets = np.ma.filled(np.ma.asarray(collection.get_offsets(), dtype=float), np.nan)
            described["points"].append(_encode_array(offsets.reshape(-1, 2), budget))
    if not three_d:
        for line in axes.lines:
            entry = _describe_line(line, axes, budget)
            if entry is not None:
                key = "lines" if entry["linestyle"] not in ("None", "", " ", "none") else "points"
                described[key].append(entry if key == "lines" else entry["xy"])
    return described


def _describe_line(line, axes, budget):
    import numpy as np

    style = str(line.get_linestyle())
    marker = str(line.get_marker())
    if type(line).__name__ == "AxLine":
        start = np.asarray(line._xy1, dtype=float)
        if line._xy2 is not None:
            end = np.asarray(line._xy2, dtype=float)
        else:
            end = start + np.array([1.0, float(line._slope)])
        xy = np.vstack([start, end])
        infinite = True
    else:
        if not _in_data_coordinates(axes, line.get_transform()):
            return None
        xy = np.ma.filled(np.ma.asarray(line.get_xydata(), dtype=float), np.nan).reshape(-1, 2)
        infinite = False
        if style in ("None", "", " ", "none") and marker in ("None", "", " ", "none"):
            return None  # invisible
    return {
        "xy": _encode_array(xy, budget),
        "linestyle": style,
        "marker": marker,
        "drawstyle": str(line.get_drawstyle()),
        "infinite": infinite,
    }


def _surface_vertices(collection):
    """Every vertex of a 3D polygon collection or wireframe, as rows (x, y, z) in data coordinates."""
    import numpy as np

    segments = getattr(collection, "_segments3d", None)  # a wireframe: the surface's grid lines
    if segments is not None:
        rows = [np.asarray(segment, dtype=float).reshape(-1, 3) for segment in segments]
        return np.concatenate(rows) if rows else None
    faces = getattr(collection, "_faces", None)
    if faces is not None:
        faces = np.asarray(faces, dtype=float)
        invalid = np.broadcast_to(np.asarray(collection._invalid_vertices, dtype=bool), faces.shape[:2])
        return faces[~invalid].reshape(-1, 3)
    vec = getattr(collection, "_vec", None)  # matplotlib before 3.10
    if vec is not None:
        vec = np.asarray(vec, dtype=float)
        return (vec[:3] / vec[3]).T
    return None


def _describe_figure(figure):
    try:
        return {"axes": [_describe_axes(axes) for axes in figure.get_axes()]}
    except OverflowError:
        return {"axes": [], "error": f"it holds more than {MAX_NUMBERS:,} numbers, more than the grader reads: "
                                     "draw it with fewer points (a 20x20 surface is about 5,000)"}
    except Exception as error:
        return {"axes": [], "error": f"the figure could not be read: {type(error).__name__}"}


def _track_new_figures():
    """Keep a reference to every figure made while a cell runs, even one the cell closes itself."""
    from matplotlib.figure import Figure

    if getattr(Figure.__init__, "_grading_agent", False):
        return
    original = Figure.__init__

    def tracking_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        _state["figures"].append(self)

    tracking_init._grading_agent = True
    Figure.__init__ = tracking_init


def _track_displayed_figures(shell):
    """A figure an earlier cell made counts for a cell that draws on it and shows it (`display(fig)`,
    or `fig` as its last expression): the student sees it drawn there, with what that cell added."""
    from matplotlib.figure import Figure

    displays = shell.display_formatter  # a per-type printer would not do: the inline backend drops those
    original = displays.format
    if getattr(original, "_grading_agent", False):
        return

    def format(obj, *args, **kwargs):
        if isinstance(obj, Figure) and _state["running"] and all(made is not obj for made in _state["figures"]):
            _state["figures"].append(obj)
        return original(obj, *args, **kwargs)

    format._grading_agent = True
    displays.format = format


def _mark_wireframes():
    """A wireframe is the surface drawn as its grid lines; quiver arrows share its class, so mark it."""
    from mpl_toolkits.mplot3d import Axes3D

    if getattr(Axes3D.plot_wireframe, "_grading_agent", False):
        return
    original = Axes3D.plot_wireframe

    def plot_wireframe(self, *args, **kwargs):
        collection = original(self, *args, **kwargs)
        collection._grading_wireframe = True
        return collection

    plot_wireframe._grading_agent = True
    plot_wireframe.__doc__ = original.__doc__
    Axes3D.plot_wireframe = plot_wireframe


class _BoundedStream:
    """stdout or stderr, cut off after MAX_CELL_OUTPUT characters per cell.

    One enormous print would otherwise become one message too large for the grader to accept. A
    thread the notebook left printing in a loop would, once cut off, spin on prints that go nowhere
    and hold the interpreter's lock from the notebook's own cells and the grader's calls, making them
    several times slower (a first `jax.grad` past a cell's time limit on a busy machine); from then
    on, each of its prints waits a little instead, and nothing it printed is lost that was not already.
    """

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        text = str(text)
        left = MAX_CELL_OUTPUT - _state["printed"]
        _state["printed"] += len(text)
        if left > 0:
            self._stream.write(text[:left])
            if len(text) > left:
                self._stream.write(f"\n[output cut: a cell may print at most {MAX_CELL_OUTPUT} characters]\n")
        elif threading.current_thread() is not threading.main_thread():
            time.sleep(CUT_THREAD_PAUSE)
        return len(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _bound_output():
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, _BoundedStream):
            setattr(sys, name, _BoundedStream(stream))


def _pre_run_cell(info=None):
    """A cell starts. A cell run from inside it is part of it: `%%capture` runs its body that way."""
    if not _state["running"]:
        _state["figures"] = []
        _state["printed"] = 0
        _bound_output()
    _state["running"].append(info)


def _post_run_cell(result=None):
    running = _state["running"]
    # IPython skips pre_run_cell for a blank cell; a cell stopped before it had a result has none.
    if running and (result is None or running[-1] is getattr(result, "info", None)):
        running.pop()
    if running:
        return  # the figures of a cell run from inside another are the outer cell's
    made, _state["figures"] = _state["figures"], []
    snapshots = [_describe_figure(figure) for figure in made]
    _state["last"] = snapshots
    count = getattr(result, "execution_count", None)
    if count is not None:
        _state["by_count"][count] = snapshots
    if made and not _keeps_figures_for_display():
        import matplotlib.pyplot as plt

        plt.close("all")


def _keeps_figures_for_display():
    """The inline backend shows and closes figures itself; with Agg they would pile up."""
    import matplotlib

    return "inline" in matplotlib.get_backend()


def _common_computations(given):
    """Operations students' answers use on the notebook's shapes (not any answer's values)."""
    import jax
    import jax.numpy as jnp
    import matplotlib.pyplot as plt

    x, y, loss, loss_fn = given["x"], given["y"], given["loss"], given["loss_fn"]
    b_range, m_range = given["b_range"], given["m_range"]
    n = len(x)
    for v in (x, y, x * y, x**2, x * 1.5 - 2.5):
        jnp.sum(v), jnp.mean(v), v.min(), v.max(), jnp.sum(v) ** 2, n * jnp.sum(v) / n - jnp.sum(v)
    beta = jnp.array([1.0, 1.0])
    step = beta - 0.1 * jax.grad(loss)(beta, x, y)
    step.copy(), loss(step, x, y), jnp.stack([beta, step]), step[0], step[1]
    over_b = jax.vmap(loss_fn, in_axes=(None, None, None, 0))
    jax.vmap(over_b, in_axes=(None, None, 0, None))(x, y, m_range, b_range)
    loss_fn(x, y, m_range[0], b_range[0]), jnp.array([[loss_fn(x, y, m_range[0], b_range[0])]])
    mesh = jnp.meshgrid(b_range, m_range)
    jnp.linspace(x.min(), x.max(), 2), jnp.linspace(x.min(), x.max(), 100)
    plt.figure().add_subplot(projection="3d").plot_surface(*mesh, jnp.ones((20, 20)))
    plt.figure().add_subplot().scatter(x, y)
    plt.close("all")


def warm_up(given_cells):
    """Do the notebook's first imports and compilations now, while the kernel waits for a submission.

    `given_cells` are the release's locked code cells; each runs in a throwaway namespace (the
    student's stays empty) and those that need a student's answer simply fail. JAX keeps what it
    compiled, so the student's identical computations later start warm.
    """
    namespace = {}
    with contextlib.redirect_stdout(_NOWHERE), contextlib.redirect_stderr(_NOWHERE):
        for source in given_cells:
            try:
                exec(compile(source, "<given cell>", "exec"), namespace)
            except Exception:
                pass
        try:
            _common_computations(namespace)
        except Exception:
            pass
    _state["figures"] = []


def _show_closes_figures():
    """Under nbgrader's inline backend `plt.show()` shows the open figures and closes them, so what a
    cell draws after it goes on a new figure; with the grader's Agg backend it would go on the same
    one, and a cell that shows its data points, then draws its lines, would pass here and fail there.
    Nothing to do where the kernel starts inline (plain nbgrader), which this must not slow down."""
    if _keeps_figures_for_display():
        return
    import matplotlib.pyplot as plt

    original = plt.show
    if getattr(original, "_grading_agent", False):
        return

    def show(*args, **kwargs):
        shown = original(*args, **kwargs)
        if not _keeps_figures_for_display():  # after `%matplotlib inline`, its own show has closed them
            plt.close("all")
        return shown

    show._grading_agent = True
    show.__doc__ = original.__doc__
    plt.show = show


def _tolerate_missing_backends(shell):
    """`%matplotlib widget` on a machine without ipympl would stop the student's cell before it drew
    anything; the grader never shows a figure, so a backend it lacks is noted and the cell goes on."""
    original = shell.find_line_magic("matplotlib")  # the magic itself, loaded if IPython had not yet
    if original is None or getattr(original, "_grading_agent", False):
        return

    def matplotlib(line=""):
        try:
            return original(line)
        except Exception as error:
            print(f"%matplotlib {line.strip()}: {error}; the grader keeps its own backend", file=sys.stderr)

    matplotlib._grading_agent = True
    matplotlib.__doc__ = original.__doc__
    shell.register_magic_function(matplotlib, "line", "matplotlib")


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def install():
    """Start recording figures; called once when the kernel starts, before any student code."""
    import warnings

    # With the Agg backend (the isolated grader renders nothing), plt.show() would warn on stderr.
    warnings.filterwarnings("ignore", message=".*non-interactive.*cannot be shown")
    _track_new_figures()
    _mark_wireframes()
    _show_closes_figures()
    shell = _shell()
    if shell is not None:
        shell.events.register("pre_run_cell", _pre_run_cell)
        shell.events.register("post_run_cell", _post_run_cell)
        _track_displayed_figures(shell)
        _tolerate_missing_backends(shell)


sys.modules.setdefault("_grading_agent", types.ModuleType("_grading_agent"))
_module = sys.modules["_grading_agent"]
for _name in ("install", "warm_up", "value", "call", "figures"):
    setattr(_module, _name, globals()[_name])
