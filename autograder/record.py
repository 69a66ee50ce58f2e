"""Recording a graded submission: nbgrader's gradebook, the graded notebook and `results.json`.

The gradebook is written first, in one transaction, and `results.json` last, by renaming a finished
folder into place: a run killed at any moment leaves each student either fully recorded or not at
all (and then graded again on the next run), never half. Only automatic scores are written, so a
manual grade or comment given in formgrader survives any number of re-gradings.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import warnings
from datetime import datetime
from pathlib import Path

import nbformat
from nbgrader import utils as nbgrader_utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import AssignLatePenalties
from sqlalchemy.exc import SAWarning
from traitlets.config import Config
from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

from autograder import gradebook as course_gradebook
from autograder.assignment import Assignment, cell_meta
from autograder.engine import Graded
from autograder.pending import RESULTS, submission_time

FIGURES = "figures.json"  # the figures each graded answer drew, as plain data, for feedback pages


def ensure_gradebook(course: Path, assignment: str) -> None:
    """Create the gradebook's record of the assignment (as `nbgrader generate_assignment` does) if missing."""
    with course_gradebook.session(course) as gradebook:
        try:
            if gradebook.find_assignment(assignment).notebooks:
                return
        except MissingEntry:
            pass
    subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--log-level=ERROR"],
        cwd=course, check=True, capture_output=True, timeout=600,
    )


def results_json(graded: Graded, digest: str | None, grader: str = "isolated grader",
                 submitted_at: str | None = None, rubric: str | None = None) -> dict:
    """Gradescope's results format, one test per test cell.

    `digest` is the submitted notebook's SHA-256 when the isolated grader recorded everything about
    it (a later run skips it then, unless `submitted_at`, its `timestamp.txt`, or `rubric`, the
    digest of the checks, solutions and points it was graded under, changed); None when plain
    `nbgrader autograde` graded it.
    """
    return {
        "score": graded.score,
        "output": graded.problem or "Graded.",
        "tests": [
            {
                "name": test.test_id,
                "score": test.score,
                "max_score": test.max_score,
                "status": test.status,
                "output": test.output,
            }
            for test in graded.tests
        ],
        "extra_data": {
            "grader": grader,
            "submission_sha256": digest,
            "submitted_at": submitted_at,
            "rubric_sha256": rubric,
            "problem": graded.problem,
            "seconds": round(graded.seconds, 2),
            "checks": {test.test_id: test.checks for test in graded.tests},
        },
    }


def record(course: Path, assignment: Assignment, graded: Graded, digest: str, rubric: str,
           gradebook: Gradebook | None = None) -> None:
    """Record one graded submission, in the run's `gradebook` if given (see autograder.gradebook)."""
    sent = submission_time(course / "submitted" / graded.student / assignment.name)
    with course_gradebook.session(course, gradebook) as opened:
        late = _record_gradebook(assignment, graded, opened, _parsed(sent))
    if late:
        _assign_late_penalty(course, assignment, graded)
    _record_files(course, assignment, graded, digest, sent, rubric)


def _parsed(sent: str | None) -> datetime | None:
    """When the student submitted, read as nbgrader reads `timestamp.txt`: what `nbgrader autograde`
    records as the submission's time (not the grading's), from which lateness is counted."""
    try:
        return nbgrader_utils.parse_utc(sent) if sent else None
    except (ValueError, OverflowError, TypeError):  # unreadable: as if none
        return None


@functools.cache
def _late_penalties(course: Path) -> AssignLatePenalties:
    """nbgrader's own late-submission step, configured as the course configures it
    (`c.LateSubmissionPlugin.penalty_method`, or a plugin of its own), its log kept off the console."""
    try:
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    except ConfigFileNotFound:  # nbgrader runs on its defaults then, and so does this
        config = Config()
    quiet = logging.getLogger("autograder.late_penalties")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    return AssignLatePenalties(config=config, log=quiet)


def _assign_late_penalty(course: Path, assignment: Assignment, graded: Graded) -> None:
    """The penalty `nbgrader autograde` gives a late submission (none unless the course sets one).
    Only for a late one: for one on time, nbgrader's step would open the gradebook again only to
    reset the penalty, which `_record_gradebook` does in its transaction."""
    resources = {"nbgrader": {"notebook": assignment.notebook.removesuffix(".ipynb"), "assignment": assignment.name,
                              "student": graded.student, "db_url": course_gradebook.db_url(course)}}
    _late_penalties(course).preprocess(nbformat.v4.new_notebook(), resources)


def manual_scores(assignment: Assignment, graded: Graded) -> dict[str, float | None]:
    """Each hand-graded answer's automatic score, as nbgrader gives it: 0 if left as released, else None."""
    scores = {grade_id: 0.0 for grade_id in assignment.manual}
    for cell in graded.notebook.cells if graded.notebook is not None else []:
        grade_id = cell_meta(cell).get("grade_id")
        if grade_id in assignment.manual:
            scores[grade_id], _ = nbgrader_utils.determine_grade(cell)
    return scores


def _record_gradebook(assignment: Assignment, graded: Graded, gradebook: Gradebook, timestamp: datetime | None) -> bool:
    """Record the automatic scores; whether the submission is late (its penalty is then nbgrader's
    to give). A penalty recorded before is reset, as `nbgrader autograde` resets it."""
    with warnings.catch_warnings():
        # nbgrader's own update_or_create_submission trips a harmless SQLAlchemy autoflush warning
        warnings.simplefilter("ignore", SAWarning)
        gradebook.update_or_create_student(graded.student)
        when = {"timestamp": timestamp} if timestamp else {}  # none: the one recorded before stays, as in nbgrader
        gradebook.update_or_create_submission(assignment.name, graded.student, **when)
        notebook = assignment.notebook.removesuffix(".ipynb")
        manual = manual_scores(assignment, graded)
        scores = {test.test_id: test.score for test in graded.tests} | manual
        for grade_id, score in scores.items():
            grade = gradebook.find_grade(grade_id, notebook, assignment.name, graded.student)
            grade.auto_score = score
            grade.needs_manual_grade = grade.manual_score is not None or score is None
        for grade_id, score in manual.items():
            comment = gradebook.find_comment(grade_id, notebook, assignment.name, graded.student)
            comment.auto_comment = "No response." if score == 0 else None
        gradebook.find_submission_notebook(notebook, assignment.name, graded.student).late_submission_penalty = None
        late = gradebook.find_submission(assignment.name, graded.student).total_seconds_late > 0
        gradebook.db.commit()
    return late


def _record_files(course: Path, assignment: Assignment, graded: Graded, digest: str, sent: str | None,
                  rubric: str) -> None:
    student_dir = course / "autograded" / graded.student
    student_dir.mkdir(parents=True, exist_ok=True)
    final = student_dir / assignment.name
    staging = Path(tempfile.mkdtemp(prefix=f".{assignment.name}-", dir=student_dir))
    try:
        # The files beside the notebook, as `nbgrader autograde` keeps them: the student's (the
        # `timestamp.txt` of collect, a picture of their own), then the assignment's (the pictures
        # its text shows in formgrader), which win.
        _copy_files(course / "submitted" / graded.student / assignment.name, staging)
        _copy_files(course / "source" / assignment.name, staging)
        if graded.notebook is not None:
            nbformat.write(graded.notebook, staging / assignment.notebook)
        (staging / FIGURES).write_text(json.dumps(graded.figures))
        (staging / RESULTS).write_text(json.dumps(results_json(graded, digest, submitted_at=sent, rubric=rubric), indent=2))
        staging.chmod(0o777 & ~_umask())  # mkdtemp's 0o700 would hide it from the course's other graders
    except BaseException:  # a full disk: the last results stay in place, and no half-written copy beside them
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if final.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{assignment.name}-old-", dir=student_dir))
        final.rename(retired / "graded")
        staging.rename(final)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        staging.rename(final)


COPIED_AT_MOST = 100 * 2**20  # bytes of files kept beside one graded notebook (nbgrader's max_dir_size)
NOT_COPIED = {".ipynb_checkpoints", "__pycache__", "feedback", RESULTS, FIGURES}  # and notebooks, as nbgrader


def _copy_files(folder: Path, into: Path) -> None:
    """Copy the regular files under `folder`, but notebooks, into `into`, at the same relative paths.

    A submission's folder is the student's: a link is never followed (it could lead to any file the
    grader may read), nor is anything but a regular file opened (a named pipe would block), and no
    more than COPIED_AT_MOST bytes are copied in all.
    """
    budget = COPIED_AT_MOST
    for top, folders, files in os.walk(folder):  # os.walk lists linked folders but never enters them
        folders[:] = sorted(name for name in folders if name not in NOT_COPIED and not (Path(top) / name).is_symlink())
        for name in sorted(files):
            path = Path(top) / name
            if name in NOT_COPIED or name.endswith((".ipynb", ".pyc")):
                continue
            try:
                source = open(path, "rb", opener=_no_follow)
            except OSError:  # a link, or gone since it was listed
                continue
            with source:
                size = os.fstat(source.fileno())
                if not stat.S_ISREG(size.st_mode) or size.st_size > budget:
                    continue
                budget -= size.st_size
                target = into / path.relative_to(folder)
                if target.is_dir():  # the student's folder where the assignment has a file
                    shutil.rmtree(target)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.unlink(missing_ok=True)  # the assignment's file replaces the student's of that name
                with open(target, "xb") as copy:
                    shutil.copyfileobj(source, copy)


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def clear_leftovers(course: Path, assignment: str) -> None:
    """Remove staging folders that a killed run left behind."""
    for leftover in (course / "autograded").glob(f"*/.{assignment}-*"):
        shutil.rmtree(leftover, ignore_errors=True)
