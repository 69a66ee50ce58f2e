"""Running the checks of one question against one student, with pytest, and saying what happened.

Both grading paths end here: a test cell of the notebook (plain nbgrader) and the isolated grader
call `run_checks(grade_id, student)` and get one `CheckResult` per test of `checks/test_<grade id>.py`.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.compare import Wrong
from autograder.plain import BadReply
from autograder.student import NotDefined, Student, StudentRaised

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
    return f"The check could not be completed ({type(error).__name__}: {str(error)[:300]})."


class _CollectResults:
    """A pytest plugin that hands the student to every check and records each check's outcome."""

    def __init__(self, student: Student):
        self._student = student
        self.results: list[CheckResult] = []
        self.collection_errors: list[str] = []

    @pytest.fixture
    def student(self) -> Student:
        return self._student

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        failed_setup = call.when == "setup" and report.failed
        if call.when != "call" and not failed_setup:
            return
        marker = item.get_closest_marker("points")
        points = float(marker.args[0]) if marker else 0.0
        rubric = (item.function.__doc__ or item.name).strip().splitlines()[0]
        if report.passed:
            self.results.append(CheckResult(item.name, rubric, points, points))
        else:
            error = call.excinfo.value if call.excinfo else RuntimeError("failed")
            self.results.append(CheckResult(item.name, rubric, points, 0.0, message_for(error)))

    def pytest_collectreport(self, report):
        if report.failed:
            self.collection_errors.append(str(report.longrepr)[-500:])


def run_checks(grade_id: str, student: Student) -> list[CheckResult]:
    """Run `checks/test_<grade_id>.py` against the student; pytest's own output is swallowed."""
    module = CHECKS / f"test_{grade_id}.py"
    if not module.is_file():
        raise FileNotFoundError(f"no checks for {grade_id!r}: {module.name} is missing")
    plugin = _CollectResults(student)
    args = [
        str(module),
        "-c", str(CHECKS / "pytest.ini"),
        "--rootdir", str(CHECKS),
        "-p", "no:cacheprovider",
        # these plugins collect garbage several times per run: seconds with JAX's heap, for nothing here
        "-p", "no:unraisableexception",
        "-p", "no:threadexception",
        "-p", "no:faulthandler",
        "--capture=sys",  # what student code prints during a check stays out of the report
        "-q",
    ]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        pytest.main(args, plugins=[plugin])
    if plugin.collection_errors or not plugin.results:
        raise RuntimeError(f"the checks of {grade_id!r} could not run: {' '.join(plugin.collection_errors)}")
    return plugin.results


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
