"""What grading left behind for one student, read back for the feedback pages and the class report.

Scores come from nbgrader's gradebook: both grading paths and formgrader write it, so a hand grade
given after autograding shows up without grading again. The words of each check, and the figures
each plotted answer drew, come from `results.json` and `figures.json` beside the graded notebook
(written by the isolated grader); a student graded without them still gets scores, only fewer words.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograder.gradebook import session
from autograder.plain import BadReply, Figure, decode_figures
from autograder.record import FIGURES, RESULTS


@dataclass(frozen=True)
class Check:
    """One hidden check of a question, as the student should read it."""

    rubric: str
    points: float
    earned: float
    message: str = ""  # why points were lost; empty when the check passed

    @property
    def passed(self) -> bool:
        return self.earned >= self.points


@dataclass(frozen=True)
class QuestionOutcome:
    grade_id: str  # the answer's grade id, e.g. "plot_data" (its test cell is "plot_data_test")
    max_score: float
    score: float | None  # None while a hand grade is still to be given
    by_hand: bool
    checks: tuple[Check, ...] = ()
    notes: tuple[str, ...] = ()  # what the grader said besides the checks, e.g. why it could not check
    comment: str = ""  # the comment in the gradebook: a grader's from formgrader, else nbgrader's own

    @property
    def full(self) -> bool:
        return self.score is not None and self.score >= self.max_score


@dataclass(frozen=True)
class StudentOutcome:
    student: str
    notebook: str  # the notebook's name without .ipynb: nbgrader names the feedback page after it
    questions: tuple[QuestionOutcome, ...]
    problem: str = ""  # why the submission could not be graded, or not all of it
    recorded: bool = True  # whether results.json was there to read
    figures: dict[str, list[Figure]] = field(default_factory=dict)  # grade id -> what the answer drew

    @property
    def autograded(self) -> tuple[QuestionOutcome, ...]:
        return tuple(q for q in self.questions if not q.by_hand)

    @property
    def autograded_score(self) -> float:
        return sum(q.score or 0.0 for q in self.autograded)

    @property
    def autograded_max(self) -> float:
        return sum(q.max_score for q in self.autograded)


def students(course: Path, assignment: str, shared: Gradebook | None = None) -> list[str]:
    """Every student with a submission of the assignment in the gradebook, sorted."""
    with session(course, shared) as gradebook:
        return sorted(s.student_id for s in gradebook.assignment_submissions(assignment))


def read_outcome(course: Path, assignment: str, student: str, shared: Gradebook | None = None) -> StudentOutcome:
    """The student's scores from the gradebook, with the checks' words and figures where recorded."""
    return read_outcomes(course, assignment, [student], shared=shared)[0]


def read_outcomes(course: Path, assignment: str, students: list[str], figures: bool = True,
                  shared: Gradebook | None = None) -> list[StudentOutcome]:
    """Each student's outcome, in order, from one reading of the gradebook.

    Per student it reads the submitted notebook with its grades and comments at once: looking up each
    question's grade and comment on its own took a class report most of its time. Without `figures`
    the recorded figures are left unread (the class report draws none of them; decoding them was
    the larger part of its reading). `shared`: a run's gradebook (see autograder.gradebook).
    """
    with session(course, shared) as gradebook:
        notebook = gradebook.find_assignment(assignment).notebooks[0]
        by_hand = {cell.name for cell in notebook.solution_cells}
        order = {cell.name: index for index, cell in enumerate(notebook.source_cells)}
        cells = [c.name for c in sorted(notebook.grade_cells, key=lambda c: order.get(c.name, len(order)))]
        return [_outcome(course, assignment, gradebook, notebook.name, cells, by_hand, student, figures)
                for student in students]


def _outcome(course: Path, assignment: str, gradebook: Gradebook, notebook: str, cells: list[str],
             by_hand: set[str], student: str, figures: bool) -> StudentOutcome:
    graded_dir = course / "autograded" / student / assignment
    results = _read_json(graded_dir / RESULTS)
    checks = results.get("extra_data", {}).get("checks", {}) if results else {}
    outputs = {t.get("name"): t.get("output", "") for t in results.get("tests", [])} if results else {}
    submitted = gradebook.find_submission_notebook(notebook, assignment, student)  # MissingEntry: never graded
    grades = {grade.name: grade for grade in submitted.grades}
    comments = {comment.name: comment.comment or "" for comment in submitted.comments}
    questions = []
    for name in cells:
        grade = grades.get(name)
        if grade is None:
            raise MissingEntry(f"no grade of {name} for {student}")
        manual = name in by_hand
        answer_id = name if manual else name.removesuffix("_test")
        pending = manual and grade.manual_score is None and grade.needs_manual_grade
        question_checks = tuple(_check(c) for c in checks.get(name, []))
        questions.append(QuestionOutcome(
            grade_id=answer_id,
            max_score=float(grade.max_score),
            score=None if pending else float(grade.score),
            by_hand=manual,
            checks=question_checks,
            notes=_notes(answer_id, outputs.get(name, ""), bool(question_checks)),
            comment=comments.get(answer_id, ""),
        ))
    problem = str(results.get("extra_data", {}).get("problem") or "") if results else ""
    return StudentOutcome(student, notebook, tuple(questions), problem, results is not None,
                          _read_figures(graded_dir / FIGURES) if figures else {})


def _read_json(path: Path) -> dict | None:
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _check(item: dict) -> Check:
    return Check(str(item.get("rubric", "")), float(item.get("points", 0)), float(item.get("earned", 0)),
                 str(item.get("message") or ""))


def _notes(grade_id: str, output: str, has_checks: bool) -> tuple[str, ...]:
    """The lines of a test's feedback text that its checks do not already say.

    With checks, only the notes the grader appends ("Note: your answer cell did not finish"); without
    any (a public check failed, the question was not graded), every line after the score line.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if lines and re.fullmatch(rf"{re.escape(grade_id)}: [\d.]+ / [\d.]+ points", lines[0]):
        lines = lines[1:]
    if has_checks:
        return tuple(line for line in lines if line.startswith("Note:"))
    return tuple(lines)


def _read_figures(path: Path) -> dict[str, list[Figure]]:
    """What each plotted answer drew; an unreadable entry counts as drawing nothing readable."""
    found = _read_json(path) or {}
    figures = {}
    for grade_id, items in found.items():
        try:
            figures[str(grade_id)] = decode_figures(items)
        except BadReply as error:
            figures[str(grade_id)] = [Figure(error=f"the grader could not read this figure ({error})")]
    return figures
