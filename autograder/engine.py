"""Grading one submission: run its restored notebook in a sandboxed kernel and check each question.

Cells run in order. At each test cell, its public checks run in the kernel as the notebook shows
them (an error or anything on stderr there scores the cell zero, as under nbgrader), then the
question's hidden checks run here, in the grader's process, asking the kernel only for plain data
(under nbgrader they run inside the test cell, so what the kernel writes to stderr meanwhile, from a
stream the student's code kept, scores the cell zero too).
Every way a submission can fail has a name and a message; none of them stops the class.

A cell that stops the kernel (it kills it, or runs past its time and ignores the interrupt) costs
only what depends on it: a new kernel runs the cells that had finished again, and the notebook goes
on without that cell, at most RESTARTS times per submission and within its overall time limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder.assignment import Assignment, Question, cell_meta
from autograder.kernel import Kernel, KernelDied, RemoteStudent
from autograder.restore import MAX_NOTEBOOK_BYTES, Ungradable, notes_in, read_submission, restore, shown
from autograder.runner import report, run_checks
from autograder.sandbox import Limits

RESTARTS = 2  # new kernels one submission may get after a cell or a check stopped its kernel


@dataclass
class TestOutcome:
    """One test cell's result, as `results.json` and the gradebook record it."""

    test_id: str
    score: float
    max_score: float
    output: str
    checks: list[dict] = field(default_factory=list)  # per check: rubric, points, earned, message

    @property
    def status(self) -> str:
        return "passed" if self.score >= self.max_score else "failed"


@dataclass
class Graded:
    student: str
    tests: list[TestOutcome]
    notebook: NotebookNode | None  # the notebook as it ran, with outputs; None if it could not run
    problem: str = ""  # why some or all of the submission could not be graded
    seconds: float = 0.0
    figures: dict[str, list] = field(default_factory=dict)  # grade id -> plain data of what it drew

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)


def ungradable(assignment: Assignment, student: str, reason: str) -> Graded:
    """Zero for every question, each saying why: what `results.json` holds for a non-notebook."""
    tests = [TestOutcome(q.test_id, 0.0, q.points, f"Not graded: {reason}.") for q in assignment.questions]
    return Graded(student, tests, None, reason)


def grade_submission(
    assignment: Assignment,
    student: str,
    submission_dir: Path,
    limits: Limits,
    sandboxed: bool = True,
    fonts: Path | None = None,
    kernel: Kernel | None = None,
    jax_cache: Path | None = None,
    new_kernel: Callable[[], Kernel] | None = None,
) -> Graded:
    """Grade one submission, in `kernel` if one was started ahead (it is closed afterwards either way).

    `new_kernel` starts a kernel when there is none or the notebook stopped one (a worker's forks one
    in its warm sandbox); by default a kernel in a sandbox of its own, not warmed up: nothing waits for it.
    """
    started = time.monotonic()
    path = submission_dir / assignment.notebook
    try:
        if path.is_symlink():  # it could lead to any file the grader may read, the solutions too
            raise Ungradable(f"{assignment.notebook} is a symbolic link, not a notebook: submit the file itself")
        if path.exists() and not path.is_file():  # a folder, a named pipe (reading it would wait forever)
            raise Ungradable(f"{assignment.notebook} is not a file but a {_kind(path)}: submit the notebook file itself")
        if not path.is_file():
            others = sorted(shown(p.name) for p in submission_dir.glob("*.ipynb"))
            hint = f" (found {', '.join(others)})" if others else ""
            raise Ungradable(f"no notebook named {assignment.notebook} was submitted{hint}")
        with path.open("rb") as file:  # no more than the largest notebook read_submission accepts
            notebook = restore(assignment, read_submission(file.read(MAX_NOTEBOOK_BYTES + 1)))
    except Ungradable as error:
        if kernel is not None:
            kernel.close()
        return ungradable(assignment, student, str(error))
    start = new_kernel or (lambda: Kernel(limits, None, sandboxed, fonts, jax_cache))

    def fresh() -> Kernel:
        """A new kernel with the submitted notebook in its working directory."""
        started = start()
        try:
            started.receive(path, assignment.notebook)
        except BaseException:
            started.close_quietly()
            raise
        return started

    try:
        if kernel is None or not kernel.alive():
            if kernel is not None:
                kernel.close()
            kernel = start()
        with kernel:
            kernel.receive(path, assignment.notebook)
            graded = _run(assignment, student, notebook, kernel, limits, fresh)
    except KernelDied as error:
        graded = ungradable(assignment, student, f"the notebook's kernel could not start ({error})")
    graded.seconds = time.monotonic() - started
    return graded


def _kind(path: Path) -> str:
    return "folder" if path.is_dir() else "named pipe" if path.is_fifo() else "socket or device"


def _run(assignment: Assignment, student: str, notebook: NotebookNode, kernel: Kernel, limits: Limits,
         fresh: Callable[[], Kernel]) -> Graded:
    questions = {q.test_id: q for q in assignment.questions}
    outcomes: dict[str, TestOutcome] = {}
    answer_cells: dict[str, int | None] = {}
    answer_trouble: dict[str, str] = {}  # grade id -> how its answer cell ended, when not well
    deadline = time.monotonic() + limits.submission_seconds
    problem = ""
    stopped: list[str] = []  # how each kernel that a new one replaced stopped
    finished: list[tuple[str | None, str]] = []  # (grade id, code) of the cells that ran to their end
    current = kernel
    student_view = RemoteStudent(kernel, answer_cells, deadline)
    notes = notes_in(notebook)  # answers found other than by their metadata, or not found

    def take_over(culprit: str, index: int) -> bool:
        """Go on in a new kernel after `culprit` stopped the current one; if none may or can, say why."""
        nonlocal current, problem
        current = _restarted(current, finished, fresh, answer_cells, deadline, limits, len(stopped),
                             unchecked=_tests_after(notebook.cells, index, questions))
        if current is None:
            problem = (_went_on(stopped) + "; then " if stopped else "") + culprit
            return False
        stopped.append(culprit)
        student_view.kernel = current
        return True

    try:
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            grade_id = cell_meta(cell).get("grade_id")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                problem = f"the notebook ran for more than {limits.submission_seconds:g} s in all and was stopped"
                break
            try:
                ran = current.execute(cell.source, timeout=min(limits.cell_seconds, remaining))
            except KernelDied as error:
                why = f"the kernel stopped while running this cell ({error})"
                if grade_id in assignment.answer_ids:
                    answer_trouble[grade_id] = why
                if grade_id in questions:
                    outcomes[grade_id] = zero_outcome(questions[grade_id], f"Not graded: {why}.")
                if not take_over(_stopped_in(cell, grade_id, assignment, questions, error), index):
                    cell.outputs = [_text_output(f"[grader] {problem}")]
                    break
                cell.outputs = [_text_output(f"[grader] {why}; a new kernel ran the cells before it again, "
                                             "and the notebook went on without it")]
                cell.execution_count = None
                continue
            cell.outputs = [nbformat.from_dict(output) for output in ran.outputs]
            cell.execution_count = ran.execution_count
            if ran.status == "timeout":
                cell.outputs.append(_text_output(f"[grader] {ran.error}"))
            else:  # a cell stopped once is not run again in a new kernel
                finished.append((grade_id, cell.source))
            if grade_id in assignment.answer_ids:
                answer_cells[grade_id] = ran.execution_count
                if ran.status != "ok":
                    answer_trouble[grade_id] = ran.error
            if grade_id in questions:
                outcome = _check(questions[grade_id], ran, student_view)
                if outcome.score < outcome.max_score:
                    outcome.output += unfinished_note(answer_trouble.get(questions[grade_id].grade_id))
                outcome.output += with_note(notes.get(questions[grade_id].grade_id))
                outcomes[grade_id] = outcome
                cell.outputs.append(_text_output(outcome.output))
                cell.outputs.append(_score_output(outcome.score, ran.execution_count))
                asking = f"the kernel stopped while the checks of {questions[grade_id].grade_id} were asking it for answers"
                if not current.alive() and not take_over(asking, index):
                    break
    finally:
        if current is not None and current is not kernel:
            current.close_quietly()
    if stopped and not problem:  # said at the top of the results: the questions' scores hold what it cost
        problem = _went_on(stopped)
    for question in assignment.questions:
        if question.test_id not in outcomes:
            reason = problem or "this test cell did not run"
            outcomes[question.test_id] = zero_outcome(question, f"Not graded: {reason}.")
    tests = [outcomes[q.test_id] for q in assignment.questions]
    return Graded(student, tests, notebook, problem, figures=student_view.drawn)


def _restarted(stopped: Kernel, finished: list[tuple[str | None, str]], fresh: Callable[[], Kernel],
               answer_cells: dict[str, int | None], deadline: float, limits: Limits, restarts: int,
               unchecked: bool) -> Kernel | None:
    """A new kernel in which the cells that had `finished` ran again (their outputs are not kept, the
    answers' figures are the new ones); None when none may or can take over, or no question is left
    to check."""
    stopped.close_quietly()
    if restarts >= RESTARTS or not unchecked or time.monotonic() >= deadline:
        return None
    try:
        kernel = fresh()
    except Exception:  # no kernel can start: the submission ends here, as if none was tried
        return None
    try:
        for grade_id, code in finished:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KernelDied("no time left")
            again = kernel.execute(code, timeout=min(limits.cell_seconds, remaining))
            if again.status == "timeout":
                raise KernelDied("a cell that had finished did not finish again")
            if grade_id in answer_cells:
                answer_cells[grade_id] = again.execution_count
    except KernelDied:
        kernel.close_quietly()
        return None
    return kernel


def _went_on(stopped: list[str]) -> str:
    return "grading went on in a new kernel after " + ", and again after ".join(stopped)


def _stopped_in(cell: NotebookNode, grade_id: str | None, assignment: Assignment, questions: dict[str, Question],
                error: KernelDied) -> str:
    """How the kernel stopped, said of the cell it stopped in. A given or test cell is the assignment's
    own code: what stopped the kernel there is the student's (a function the cell called, or what an
    earlier cell left running), so the kernel stopped in it rather than the cell stopping it."""
    which = _which(cell, grade_id, assignment, questions)
    if cell_meta(cell).get("locked"):
        return f"the kernel stopped in {which} ({error})"
    return f"{which} stopped the kernel ({error})"


def _which(cell: NotebookNode, grade_id: str | None, assignment: Assignment, questions: dict[str, Question]) -> str:
    """The cell, as a student finds it in the notebook."""
    if grade_id in assignment.answer_ids:
        return f"your answer cell of {grade_id}"
    if grade_id in questions:
        return f"the test cell of {questions[grade_id].grade_id}"
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return f"the {'given' if cell_meta(cell).get('locked') else 'added'} cell `{first[:60]}`"


def _tests_after(cells: list[NotebookNode], index: int, questions: dict[str, Question]) -> bool:
    """Whether a test cell comes after cell `index`: a new kernel is worth starting only for one."""
    return any(cell_meta(cell).get("grade_id") in questions for cell in cells[index + 1:])


def _check(question, ran, student_view) -> TestOutcome:
    if ran.status != "ok":
        return zero_outcome(question, f"A public check of this cell failed: {ran.error}")
    if ran.wrote_stderr:
        return zero_outcome(question, wrote_to_stderr(ran.stderr))
    student_view.stderr = ""
    try:
        results = run_checks(question.grade_id, student_view)
    except Exception as error:  # the grader's failure: say so rather than blame the student
        return TestOutcome(question.test_id, 0.0, question.points,
                           f"{question.grade_id}: the checks could not run ({type(error).__name__}: {error})")
    if student_view.stderr:  # the student's code, called by a hidden check, wrote to a stream it kept
        return zero_outcome(question, wrote_to_stderr(student_view.stderr))
    earned = min(sum(r.earned for r in results), question.points)
    checks = [dict(rubric=r.rubric, points=r.points, earned=r.earned, message=r.message) for r in results]
    return TestOutcome(question.test_id, earned, question.points, report(question.grade_id, results), checks)


def zero_outcome(question: Question, why: str) -> TestOutcome:
    """A test cell that earned nothing before its hidden checks could say anything: `why` says why."""
    return TestOutcome(question.test_id, 0.0, question.points,
                       f"{question.grade_id}: 0 / {question.points:g} points\n  {why}")


def wrote_to_stderr(text: str) -> str:
    """Why a test cell that wrote to stderr earns nothing (nbgrader's rule), quoting what it wrote.

    The test cells send warnings to stdout themselves, so what reaches stderr is mostly the student's
    code writing to a stream it kept: a `logging` handler holds the stderr of the moment it was made.
    """
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    quoted = f" ({first[:200]!r})" if first else ""
    return (f"While this test cell ran, your code wrote to stderr{quoted}, and nbgrader counts a test cell "
            "that writes to stderr as failed: none of its checks earn points. Print progress with print(); "
            "logging, for one, writes to stderr.")


def with_note(note: str | None) -> str:
    """A grader's note (a restore note, `restore.notes_in`, or how the answer cell ended) as a line at
    the end of a test's feedback, where the feedback pages and the class report find it; or nothing."""
    return f"\n  Note: {note}" if note else ""


def unfinished_note(trouble: str | None) -> str:
    """The note of a question that lost points whose answer cell did not finish (`trouble` says how),
    as `with_note` makes it: often the reason, as a missing package or an error before the answer's
    last line leaves the names the checks look for undefined."""
    return with_note(f"your answer cell did not finish: {trouble.rstrip('.')}.") if trouble else ""


def _text_output(text: str) -> dict:
    return nbformat.v4.new_output("stream", name="stdout", text=text + "\n")


def _score_output(score: float, execution_count: int | None) -> dict:
    """The cell's value, as nbgrader reads partial credit from it."""
    return nbformat.v4.new_output("execute_result", data={"text/plain": repr(float(score))},
                                  execution_count=execution_count)
