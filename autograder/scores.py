"""The class's scores per question, read back from nbgrader's gradebook, as a table for a terminal."""

from __future__ import annotations

from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry


def class_scores(db_url: str, assignment: str) -> tuple[list[str], dict[str, dict[str, float | None]]]:
    """(grade ids in notebook order, {student: {grade id: score, or None if not graded yet}})."""
    with Gradebook(db_url) as gradebook:
        notebook = gradebook.find_assignment(assignment).notebooks[0]
        grade_ids = [cell.name for cell in sorted(notebook.grade_cells, key=_cell_order(notebook))]
        table = {}
        for submission in gradebook.assignment_submissions(assignment):
            row = {}
            for grade_id in grade_ids:
                try:
                    grade = gradebook.find_grade(grade_id, notebook.name, assignment, submission.student_id)
                except MissingEntry:
                    row[grade_id] = None
                    continue
                row[grade_id] = None if grade.needs_manual_grade else grade.score
            table[submission.student_id] = row
    return grade_ids, dict(sorted(table.items()))


def _cell_order(notebook):
    order = {cell.name: index for index, cell in enumerate(notebook.source_cells)}
    return lambda cell: order.get(cell.name, len(order))


def format_table(grade_ids: list[str], table: dict[str, dict[str, float | None]]) -> str:
    """One row per student: each question's score (`-` while a manual grade is pending) and the total."""
    headers = [g.removesuffix("_test") for g in grade_ids]
    width = max([len("student")] + [len(s) for s in table])
    lines = ["student".ljust(width) + "  " + "  ".join(headers) + "  autograded"]
    for student, row in table.items():
        cells = [("-" if row[g] is None else f"{row[g]:g}").rjust(len(h)) for g, h in zip(grade_ids, headers)]
        total = sum(v for v in row.values() if v is not None)
        lines.append(student.ljust(width) + "  " + "  ".join(cells) + f"  {total:g}".rjust(len("  autograded")))
    return "\n".join(lines)


def print_scores(course: Path, assignment: str) -> None:
    grade_ids, table = class_scores(f"sqlite:///{course / 'gradebook.db'}", assignment)
    print(format_table(grade_ids, table))
