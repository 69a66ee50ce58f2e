"""Running the checks of one question against one student, and saying what happened.

Both grading paths end here: a test cell of the notebook (plain nbgrader) and the isolated grader
call `run_checks(grade_id, student)` and get one `CheckResult` per test of `checks/test_<grade id>.py`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import inspect
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autograder.checks import given_data
from autograder.compare import Wrong
from autograder.plain import BadReply
from autograder.student import KernelDied, NotDefined, Student, StudentRaised

CHECKS = Path(__file__).resolve().parent / "checks"


@dataclass(frozen=True)
class CheckResult:
    test: str  # the test's function name
    rubric: str  # what the check awards points for, from its docstring
    points: float
    earned: float
    message: str = ""  # why points were lost, for the student; empty when the check passed

    @property
    def passed(self) -> bool:
        return self.earned == self.points


def message_for(error: BaseException) -> str:
    """What the student reads when a check raised."""
    if isinstance(error, (Wrong, NotDefined, StudentRaised)):
        return str(error)
    if isinstance(error, BadReply):
        return f"The grader could not read your answer: {error}."
    if isinstance(error, TimeoutError):
        return f"Your code took too long to answer the check ({error})."
    if isinstance(error, KernelDied):
        return f"Your notebook's kernel stopped while this question was being checked ({error}): no answer could come."
    return f"The check could not be completed ({type(error).__name__}: {str(error)[:300]})."


@dataclass(frozen=True)
class Check:
    name: str
    rubric: str
    points: float
    function: Callable[[Student], object]


@functools.cache
def checks_of(grade_id: str) -> tuple[Check, ...]:
    """The tests of `checks/test_<grade_id>.py`, in the order they are written; loaded once per process.

    The modules are written for pytest (`@pytest.mark.points(n)`, a `student` argument), and run
    here directly: starting pytest for every question of every submission cost more than the
    checks themselves. Anything beyond that subset of pytest is refused, not silently ignored.
    """
    if not (CHECKS / f"test_{grade_id}.py").is_file():
        raise FileNotFoundError(f"no checks for {grade_id!r}: test_{grade_id}.py is missing")
    module = importlib.import_module(f"autograder.checks.test_{grade_id}")
    checks = []
    for name, function in vars(module).items():
        if not (name.startswith("test_") and inspect.isfunction(function)):
            continue
        marks = getattr(function, "pytestmark", [])
        points = [mark.args[0] for mark in marks if mark.name == "points"]
        if len(points) != 1 or len(marks) != 1:
            raise RuntimeError(f"{module.__name__}.{name} needs exactly one mark, @pytest.mark.points(n)")
        if list(inspect.signature(function).parameters) != ["student"]:
            raise RuntimeError(f"{module.__name__}.{name} must take exactly one argument, `student`")
        rubric = (function.__doc__ or name).strip().splitlines()[0]
        checks.append(Check(name, rubric, float(points[0]), function))
    if not checks:
        raise RuntimeError(f"{module.__name__} has no checks")
    return tuple(checks)


class _Nowhere(io.TextIOBase):
    """Where what checks print goes. One for the process's life, never freed: in a kernel (plain
    nbgrader), a thread the notebook left printing may start a print while a check has this as
    `sys.stdout` and finish it after the check; Python 3.11's `print()` holds its stream by a borrowed
    reference (CPython issue 130163), so a stream freed after each check would be written to freed."""

    def write(self, text):
        return len(text)


_NOWHERE = _Nowhere()


def run_checks(grade_id: str, student: Student) -> list[CheckResult]:
    """Run every check of one question against the student; what they print is swallowed."""
    results = []
    for check in checks_of(grade_id):
        try:
            with contextlib.redirect_stdout(_NOWHERE), contextlib.redirect_stderr(_NOWHERE):
                check.function(student)
        except Exception as error:
            results.append(CheckResult(check.name, check.rubric, check.points, 0.0, message_for(error)))
        else:
            results.append(CheckResult(check.name, check.rubric, check.points, check.points))
    failed = [i for i, (check, result) in enumerate(zip(checks_of(grade_id), results))
              if not result.passed and given_data.reads_it(check.function)]
    if failed and (note := given_data.changed(student)):
        first = results[failed[0]]
        results[failed[0]] = dataclasses.replace(first, message=f"{first.message} {note}".strip())
    return results


def report(grade_id: str, results: list[CheckResult]) -> str:
    """The feedback text of one question: the score, then one line per check."""
    earned = sum(r.earned for r in results)
    total = sum(r.points for r in results)
    lines = [f"{grade_id}: {earned:g} / {total:g} points"]
    for result in results:
        mark = "passed" if result.passed else "failed"
        lines.append(f"  [{mark}] {result.rubric} ({result.earned:g}/{result.points:g})")
        if result.message:
            lines.append(f"      {result.message}")
    return "\n".join(lines)
