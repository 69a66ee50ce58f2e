"""The class's scores per question, read back from nbgrader's gradebook, as a table for a terminal."""

from __future__ import annotations

from pathlib import Path

from nbgrader.api import MissingEntry

from autograder.gradebook import session


def class_scores(course: Path, assignment: str) -> tuple[list[str], dict[str, dict[str, float | None]], dict[str, float]]:
    """(grade ids in notebook order, {student: {grade id: score, or None if not graded yet}},
    {student: late-submission penalty, as the course's rule set it when the submission was graded})."""
    with session(course) as gradebook:
        notebook = gradebook.find_assignment(assignment).notebooks[0]
        grade_ids = [cell.name for cell in sorted(notebook.grade_cells, key=_cell_order(notebook))]
        table, penalties = {}, {}
        for submission in gradebook.assignment_submissions(assignment):
            penalties[submission.student_id] = submission.late_submission_penalty or 0.0
            row = {}
            for grade_id in grade_ids:
                try:
                    grade = gradebook.find_grade(grade_id, notebook.name, assignment, submission.student_id)
                except MissingEntry:
                    row[grade_id] = None
                    continue
                row[grade_id] = None if grade.needs_manual_grade else grade.score
            table[submission.student_id] = row
    return grade_ids, dict(sorted(table.items())), penalties


def _cell_order(notebook):
    order = {cell.name: index for index, cell in enumerate(notebook.source_cells)}
    return lambda cell: order.get(cell.name, len(order))


def format_table(grade_ids: list[str], table: dict[str, dict[str, float | None]], penalties: dict[str, float]) -> str:
    """One row per student: each question's score (`-` while a manual grade is pending) and the total;
    when the course's late-submission rule took points from anyone, the penalty and what is left."""
    headers = [g.removesuffix("_test") for g in grade_ids]
    late = any(penalties.values())
    totals = ["autograded"] + (["late penalty", "score"] if late else [])
    width = max([len("student")] + [len(s) for s in table])
    lines = ["  ".join(["student".ljust(width), *headers, *totals])]
    for student, row in table.items():
        cells = [("-" if row[g] is None else f"{row[g]:g}").rjust(len(h)) for g, h in zip(grade_ids, headers)]
        total = sum(v for v in row.values() if v is not None)
        penalty = penalties.get(student, 0.0)
        sums = [total] + ([penalty, total - penalty] if late else [])
        lines.append("  ".join([student.ljust(width), *cells, *(f"{v:g}".rjust(len(h)) for v, h in zip(sums, totals))]))
    return "\n".join(lines)


def print_scores(course: Path, assignment: str) -> None:
    print(format_table(*class_scores(course, assignment)))
