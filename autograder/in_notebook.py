"""The hidden part of each test cell under plain `nbgrader autograde`: run the checks, print why.

`score(grade_id)` is the cell's last expression, so nbgrader reads the points it returns as the
cell's partial credit. It never raises and never writes to stderr, either of which would make
nbgrader give the cell zero whatever the checks said (nbgrader #1904).

Here the checks share the student's process, and with it JAX's configuration: a notebook that turned
on 64-bit floats would make the reference's `PRNGKey(0)` draw other data than the given cells drew.
The checks therefore run in 32 bits, as the given cells and the isolated grader's process do, and
with at least Python's default recursion limit: JAX needs that depth to trace the reference, and a
notebook that lowered the limit after its last answer would otherwise lose points for right answers.
"""

from __future__ import annotations

import contextlib
import sys

import jax

from autograder.runner import report, run_checks
from autograder.student import InKernelStudent


DEFAULT_RECURSION_LIMIT = 1000


@contextlib.contextmanager
def recursion_limit_at_least(limit: int):
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


def score(grade_id: str) -> float:
    with (contextlib.redirect_stderr(sys.stdout), jax.enable_x64(False),
          recursion_limit_at_least(DEFAULT_RECURSION_LIMIT)):
        try:
            results = run_checks(grade_id, InKernelStudent())
        except Exception as error:  # the grader's own failure must not read as the student's
            print(f"{grade_id}: the checks could not run ({type(error).__name__}: {error}); 0 points.")
            return 0.0
    print(report(grade_id, results))
    return float(sum(r.earned for r in results))
