"""Which submissions a run grades: those in `submitted/` not recorded yet in their present form.

It needs nothing of nbgrader, whose import takes the main process over a second: the grader decides
what to grade, and starts its workers on it, before it loads the gradebook's libraries.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

RESULTS = "results.json"  # written last for a graded submission; it holds the digest of what was graded


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


def already_graded(course: Path, assignment: str, student: str, digest: str) -> bool:
    """Whether this very submission was graded and recorded completely before."""
    path = course / "autograded" / student / assignment / RESULTS
    try:
        recorded = json.loads(path.read_text())
        return recorded["extra_data"]["submission_sha256"] == digest
    except (OSError, ValueError, KeyError, TypeError):
        return False
