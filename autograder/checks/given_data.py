"""Whether the notebook's `x` and `y` are still the data its given cell makes.

The checks of the questions computed on them (the plots, `beta_0` and `beta_1`, the training, the
landscape) compare with the reference on the given data. A notebook that changed them fails those
checks for a reason the checks' own messages cannot see: a cell of the student's reusing the name
`x` for the points of a line, a sort, 64-bit floats enabled before the data cell (JAX then draws
other random numbers). A check that reads them is marked `@reads_the_notebooks_data`, and the
runner adds `changed(student)` to the message of the first such check of a question that failed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from autograder.compare import Wrong, as_numbers, matches, read_only
from autograder.reference_values import kept
from autograder.student import NotDefined, Student


def reads_the_notebooks_data(check: Callable) -> Callable:
    """Mark a check whose result depends on the notebook's `x` and `y` (not a pytest mark: the
    runner allows one, the points)."""
    check.reads_the_notebooks_data = True
    return check


def reads_it(check: Callable) -> bool:
    return getattr(check, "reads_the_notebooks_data", False)


@kept
def notebook_data() -> tuple[np.ndarray, np.ndarray]:
    """The given cell's `x` and `y` (float32, as JAX draws them), exactly, in float64 NumPy arrays."""
    # Imported here: the runner imports this module, and the grader's main process imports the runner
    # but not JAX (a second or so of the run's start, and memory), which the solutions import.
    from solutions import intro_ml as ref

    return read_only(*(np.asarray(array, dtype=np.float64) for array in ref.data()))


def changed(student: Student) -> str:
    """What to tell the student if the notebook's `x` or `y` is no longer the given data; else ""."""
    given = dict(zip(("x", "y"), notebook_data()))
    found = {}
    for name in given:
        try:
            found[name] = as_numbers(student.value(name), f"`{name}`")
        except (Wrong, NotDefined):
            found[name] = None
        except Exception:  # the kernel could not say (it stopped, it took too long): no guess
            return ""
    if _same_points(found, given):
        return ""
    names = [name for name in given if found[name] is None or not matches(found[name], given[name])]
    which = " and ".join(f"`{name}`" for name in names)
    it, is_ = ("it", "is") if len(names) == 1 else ("them", "are")
    return (f"Note: the notebook's {which} {is_} no longer the data the given cell makes (a cell assigned to "
            f"{it}, sorted or reshaped {it}, or enabled 64-bit floats before the data cell), and this check "
            "compares with the given data. Use other names in your own cells.")


def _same_points(found: dict, given: dict) -> bool:
    """The same (x, y) pairs as given, in any order: x and y sorted together to draw a line change
    nothing any check reads."""
    if any(found[name] is None or found[name].shape != given[name].shape for name in given):
        return False
    order, given_order = np.lexsort((found["y"], found["x"])), np.lexsort((given["y"], given["x"]))
    return all(matches(found[name][order], given[name][given_order]) for name in given)
