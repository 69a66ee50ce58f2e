"""Which submissions a run grades: those in `submitted/` not recorded yet in their present form,
under the present rubric.

It needs nothing of nbgrader, whose import takes the main process over a second: the grader decides
what to grade, and starts its workers on it, before it loads the gradebook's libraries.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

RESULTS = "results.json"  # written last for a graded submission; it holds the digest of what was graded
GRADER = Path(__file__).resolve().parent  # this package: the checks and the code that runs them


def submissions(course: Path, assignment: str, students: tuple[str, ...]) -> list[tuple[str, Path]]:
    found = sorted(p.parent.name for p in (course / "submitted").glob(f"*/{assignment}") if p.is_dir())
    if students:
        missing = [s for s in students if s not in found]
        if missing:
            raise SystemExit(f"no submission of {assignment} for: {', '.join(missing)}")
        found = [s for s in found if s in students]
    return [(student, course / "submitted" / student / assignment) for student in found]


def submission_digest(submission_dir: Path, notebook: str) -> str:
    path = submission_dir / notebook
    if not path.is_file():
        return "missing"
    with path.open("rb") as file:  # in pieces: a submitted file may be far larger than memory allows
        return hashlib.file_digest(file, "sha256").hexdigest()


def submission_time(submission_dir: Path) -> str | None:
    """The time `nbgrader collect` wrote in `timestamp.txt`, as written, if any."""
    try:
        return (submission_dir / "timestamp.txt").read_text(errors="replace").strip()[:100] or None
    except OSError:
        return None


def rubric_digest(course: Path, assignment: str) -> str:
    """The SHA-256 of what decides a score besides the submission: the assignment's source and release
    notebooks (points, given cells, public checks), the checks and the grader's code that runs them,
    the reference solutions and the course's nbgrader configuration (its late-submission rule). A
    submission recorded under another rubric is graded again, so that a check fixed after a first
    run reaches every student."""
    paths = [*sorted((course / "source" / assignment).glob("*.ipynb")),
             *sorted((course / "release" / assignment).glob("*.ipynb")),
             *sorted(GRADER.rglob("*.py")),
             *sorted((course / "solutions").glob("*.py")),
             course / "nbgrader_config.py"]
    digest = hashlib.sha256()
    for path in paths:
        try:
            content = path.read_bytes()
        except OSError:
            content = b""
        # Named within the course (the grader's files within its folder): a course moved or copied
        # elsewhere keeps its rubric, and its grades.
        name = path.relative_to(GRADER.parent if path.is_relative_to(GRADER) else course)
        digest.update(f"{name.as_posix()}\0{len(content)}\0".encode() + content)
    return digest.hexdigest()


def why_grade(course: Path, assignment: str, student: str, digest: str, rubric: str) -> str | None:
    """None if this very submission, sent at the same time, was graded under this rubric and recorded
    completely before; "rubric" if only the rubric changed since; else "new" (never graded, changed,
    or sent again later: its lateness may have changed)."""
    path = course / "autograded" / student / assignment / RESULTS
    try:
        recorded = json.loads(path.read_text())["extra_data"]
        same = (recorded["submission_sha256"] == digest
                and recorded.get("submitted_at") == submission_time(course / "submitted" / student / assignment))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "new"
    if not same:
        return "new"
    return None if recorded.get("rubric_sha256") == rubric else "rubric"
