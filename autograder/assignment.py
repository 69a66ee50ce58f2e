"""What the grader knows of an assignment: its release cells, its questions and their points.

The cells a student runs come from `release/` (given cells, public checks, stubs), the points from
the test cells of `source/`, so nothing is restated here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import nbformat
from nbformat import NotebookNode


@dataclass(frozen=True)
class Question:
    """One autograded test cell and the answer cell it grades."""

    grade_id: str  # the answer cell, e.g. "least_squares"; its checks are checks/test_<grade_id>.py
    test_id: str  # the test cell, e.g. "least_squares_test"
    points: float


class CourseIncomplete(FileNotFoundError):
    """A file every command needs is not in the course (a release not generated, a partial copy)."""


@dataclass(frozen=True)
class Assignment:
    name: str
    notebook: str  # file name, e.g. "intro_ml.ipynb"
    release: NotebookNode
    questions: tuple[Question, ...]
    manual: dict[str, float]  # grade id -> points of each hand-graded answer

    @property
    def autograded_points(self) -> float:
        return sum(q.points for q in self.questions)

    @cached_property
    def answer_ids(self) -> frozenset[str]:
        """The grade ids of the answer cells; asked for at every cell of every submission, so made once."""
        return frozenset(cell_meta(c)["grade_id"] for c in self.release.cells if cell_meta(c).get("solution"))

    @property
    def given_code(self) -> list[str]:
        """The sources of the locked code cells the student cannot change (not the test cells)."""
        return [
            c.source for c in self.release.cells
            if c.cell_type == "code" and cell_meta(c).get("locked") and not cell_meta(c).get("grade")
        ]

    @classmethod
    def load(cls, course: Path, name: str) -> Assignment:
        source_dir = course / "source" / name
        notebooks = sorted(source_dir.glob("*.ipynb"))
        if len(notebooks) != 1:
            raise CourseIncomplete(f"expected one notebook in {source_dir}, found {len(notebooks)}")
        source = nbformat.read(notebooks[0], as_version=4)
        release_path = course / "release" / name / notebooks[0].name
        if not release_path.is_file():
            raise CourseIncomplete(f"{release_path} is missing: run `nbgrader generate_assignment {name}`")
        questions, manual = [], {}
        for cell in source.cells:
            meta = cell_meta(cell)
            if not meta.get("grade"):
                continue
            if meta.get("solution"):
                manual[meta["grade_id"]] = float(meta["points"])
            else:
                grade_id = meta["grade_id"].removesuffix("_test")
                questions.append(Question(grade_id, meta["grade_id"], float(meta["points"])))
        return cls(name, notebooks[0].name, nbformat.read(release_path, as_version=4), tuple(questions), manual)


def cell_meta(cell: NotebookNode) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}
