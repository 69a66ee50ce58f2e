"""Grading a class: find the submissions, grade them in parallel worker processes, record each one.

Workers only grade (each starts a fresh sandboxed kernel per submission and runs the checks); the
main process alone writes the gradebook and the results, one submission at a time, so that parallel
grading never races on the gradebook and an interrupted run loses at most the submissions in flight.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import signal
import sqlite3
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING

from autograder import pending, sandbox, worker
from autograder.assignment import Assignment
from autograder.engine import Graded, grade_submission, ungradable
from autograder.kernel import AGENT_SOURCE, Kernel
from autograder.progress import Progress
from autograder.restore import shown
from autograder.runner import CHECKS
from autograder.sandbox import Limits

if TYPE_CHECKING:  # imported late at run time: see _open_gradebook
    from nbgrader.api import Gradebook


@dataclass(frozen=True)
class Options:
    assignment: str
    students: tuple[str, ...] = ()  # empty: everyone in submitted/
    workers: int = os.cpu_count() or 1
    force: bool = False
    sandboxed: bool = True
    pages: bool = True  # write each student's feedback page and the class report
    limits: Limits = Limits()
    spare_kernels: bool = False  # warm the next kernel during a submission, in a second sandbox per worker


def prime_jax_cache(course: Path, assignment: Assignment, options: Options, cache: Path, progress: Progress) -> None:
    """Grade the instructor's own solution first, in a kernel allowed to fill JAX's compilation cache.

    That kernel runs no student code: the source notebook and the checks, on the notebook's shapes
    and on every hidden input. Student kernels then read those compiled computations instead of
    compiling them again, which is most of what JAX costs a notebook's first run. It is also a
    check of the rubric: a solution that does not earn every point is reported before grading.
    """
    sources = [sandbox.XLA_FLAGS, AGENT_SOURCE, (course / "source" / assignment.name / assignment.notebook).read_text(),
               *(path.read_text() for path in sorted(CHECKS.glob("test_*.py")))]
    marker = cache / ("primed-" + hashlib.sha256("\n".join(sources).encode()).hexdigest()[:16])
    if marker.exists():
        return
    sandbox.use_jax_cache_here(cache)  # the checks run here: their compilations are kept too
    kernel = Kernel(options.limits, assignment.given_code, options.sandboxed, sandbox.font_cache(), cache, prime=True)
    solution = grade_submission(assignment, "the source notebook", course / "source" / assignment.name,
                                options.limits, options.sandboxed, kernel=kernel, jax_cache=cache)
    if solution.score < assignment.autograded_points:
        lost = ", ".join(f"{t.test_id} {t.score:g}/{t.max_score:g}" for t in solution.tests if t.status != "passed")
        progress.say(f"warning: the source notebook's own solution does not earn every point ({lost}); "
                     "check the solution cells and autograder/checks/ before trusting these grades")
        return
    marker.touch()


class GradebookUnreadable(RuntimeError):
    """gradebook.db exists but SQLite cannot read it: nothing is graded, the file is left as it is."""


def check_gradebook(path: Path) -> None:
    """Refuse a gradebook SQLite cannot read before any worker starts (nbgrader would fail on it later).

    A missing one is fine: it is created. Read-only and with the standard library, so that this
    check costs nothing of nbgrader's import and cannot change the file.
    """
    if not path.exists():
        return
    try:
        with _read_only(path) as db:
            db.execute("SELECT name FROM sqlite_master").fetchall()
    except sqlite3.Error as error:
        raise GradebookUnreadable(
            f"{path.name} cannot be read as a gradebook ({error}); nothing was graded and the file is "
            "unchanged: restore it from a backup, or move it away to start a new gradebook"
        ) from None


def _read_only(path: Path) -> contextlib.closing[sqlite3.Connection]:
    return contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True))


def gradebook_knows(path: Path, assignment: str) -> bool:
    """Whether the gradebook holds the assignment, so that there are scores to show: asked read-only,
    since nbgrader's Gradebook would create an empty gradebook just to find nothing in it."""
    check_gradebook(path)
    if not path.exists():
        return False
    with _read_only(path) as db:
        try:
            return db.execute("SELECT 1 FROM assignment WHERE name = ?", (assignment,)).fetchone() is not None
        except sqlite3.Error:  # no such table: an empty database
            return False


class RecordingFailed(RuntimeError):
    """The grader could not write what it graded (a full disk, a folder it may not write): the run
    stops there, what it recorded before stays as it is, and the next run grades the rest."""


def _first_line(error: BaseException) -> str:
    """The gist of an error: SQLAlchemy's go on with the SQL statement and a link."""
    return f"{type(error).__name__}: {error}".splitlines()[0]


def grade_class(course: Path, options: Options, progress_mode: str = "auto") -> list[Graded]:
    if options.sandboxed:
        sandbox.bubblewrap()  # refuses, with the reason, before anything starts
    check_gradebook(course / "gradebook.db")
    sandbox.remove_orphaned_dirs()
    assignment = Assignment.load(course, options.assignment)
    progress = Progress(assignment, progress_mode)
    todo, skipped, rubric_changed = [], [], 0
    rubric = pending.rubric_digest(course, options.assignment)
    for student, folder in pending.submissions(course, options.assignment, options.students):
        if shown(student) != student:
            progress.say(f"warning: skipped submitted/{shown(student)}/: its name is not UTF-8 text, "
                         "which nbgrader's gradebook needs for a student id")
            continue
        digest = pending.submission_digest(folder, assignment.notebook)
        why = pending.why_grade(course, options.assignment, student, digest, rubric)
        if not options.force and why is None:
            progress.skipped(student)
            skipped.append(student)
            continue
        rubric_changed += why == "rubric"
        todo.append((student, folder, digest))
    if rubric_changed and not options.force:
        progress.rubric_changed(rubric_changed)
    if not todo:
        if options.pages:
            _write_missing_pages(course, assignment, skipped, progress)
        where = f": no submissions of {options.assignment} in submitted/ (`nbgrader collect` puts them there)"
        progress.say("nothing to grade" + ("" if skipped else where))
        return []
    workers = max(1, min(options.workers, len(todo)))
    progress.start(len(todo), workers, options.sandboxed)
    jax_cache = sandbox.default_jax_cache()
    prime_jax_cache(course, assignment, options, jax_cache, progress)
    context = _workers_start_method()
    initargs = (str(course), options.assignment, options.limits, options.sandboxed, str(jax_cache),
                options.spare_kernels, rubric)
    with (ProcessPoolExecutor(workers, mp_context=context, initializer=worker.start, initargs=initargs) as pool,
          contextlib.ExitStack() as run):
        futures = {pool.submit(worker.grade, student, str(folder)): (student, digest) for student, folder, digest in todo}
        try:
            gradebook = _open_gradebook(course, options.assignment, run)
            graded_all = _record_as_graded(course, assignment, options, futures, rubric, progress, gradebook)
        except BaseException as error:
            for future in futures:
                future.cancel()
            if isinstance(error, KeyboardInterrupt):
                by = f" by {error}" if isinstance(error, Stopped) else ""
                progress.say(f"interrupted{by}: the submissions graded so far are recorded; "
                             "run again to finish the class")
            raise
        # The workers close their sandboxes while the report is written. Not `shutdown(wait=False)`:
        # at exit, Python 3.11 wakes a pool's thread without a lock, and if that thread is closing
        # its pipe just then, prints "Bad file descriptor"; this waits for the pool before returning.
        closing = threading.Thread(target=pool.shutdown)
        closing.start()
        try:
            progress.summary(graded_all)
            if options.pages:
                _write_pages_and_report(course, assignment, skipped, options.assignment, progress, gradebook)
        finally:
            closing.join()
    return graded_all


def _workers_start_method():
    """Workers forked from this process, which has imported most of what they need (about half a
    second of CPU each to import again); started afresh where a fork would be unsafe: when JAX runs
    here (priming its cache started its thread pools, which a fork does not copy) or another thread."""
    if "jax" in sys.modules or threading.active_count() > 1:
        return get_context("spawn")
    return get_context("fork")


def _write_pages_and_report(course: Path, assignment: Assignment, skipped: list[str], name: str,
                            progress: Progress, gradebook: Gradebook) -> None:
    _write_missing_pages(course, assignment, skipped, progress, gradebook)
    from autograder.class_report import write_class_report  # late, as in _open_gradebook

    try:
        report = write_class_report(course, name, gradebook)
    except Exception as error:
        progress.say(f"warning: no class report ({_first_line(error)}); "
                     f"`python -m autograder pages {name}` writes it later")
    else:
        progress.say(f"feedback pages in feedback/*/{name}/, class report in {report.relative_to(course)}")


def _open_gradebook(course: Path, name: str, run: contextlib.ExitStack) -> Gradebook:
    """The gradebook, ready to record the assignment's grades, opened once for all of `run`.

    The workers have started when this runs: the gradebook's libraries are imported only now, while
    they start their sandboxes (nbgrader's import alone takes this process over a second, and
    the workers' first submissions then waited for it).
    """
    from autograder import gradebook, record

    # nbgrader's gradebook logs a database error (a full disk) with all its traceback, then raises
    # it: RecordingFailed says it in one line.
    logging.getLogger("tornado.application").disabled = True
    try:
        record.ensure_gradebook(course, name)
        record.clear_leftovers(course, name)
        return run.enter_context(gradebook.opened(course))
    except Exception as error:
        raise RecordingFailed(f"could not prepare the gradebook ({_first_line(error)}); "
                              "nothing was recorded") from error


def _record_as_graded(course: Path, assignment: Assignment, options: Options, futures: dict, rubric: str,
                      progress: Progress, gradebook: Gradebook) -> list[Graded]:
    """Record each submission as its worker finishes it, in the gradebook, `autograded/` and `feedback/`."""
    from autograder import record  # late, as in _open_gradebook

    graded_all = []
    waiting = dict(futures)
    while waiting:
        done, _ = wait(waiting, return_when=FIRST_COMPLETED)
        for future in done:
            student, digest = waiting.pop(future)
            try:
                graded = future.result()
            except Exception as error:  # the grader failed, not the student: grade again next run
                graded = ungradable(assignment, student, f"the grader failed ({type(error).__name__}: {error})")
                digest = ""
            try:
                record.record(course, assignment, graded, digest, rubric, gradebook)
            except Exception as error:
                raise RecordingFailed(
                    f"could not record the grades of {shown(student)} ({_first_line(error)}); the "
                    f"{len(graded_all)} submission(s) recorded before are intact: fix that and run again "
                    "to grade the rest"
                ) from error
            graded_all.append(graded)
            progress.graded(graded)
            if options.pages:
                _write_page(course, options.assignment, student, progress, gradebook)
    return graded_all


def _write_missing_pages(course: Path, assignment: Assignment, students: list[str], progress: Progress,
                         gradebook: Gradebook | None = None) -> None:
    """The pages of students graded before whose page could not be written then (a full disk)."""
    from autograder.feedback import page_path  # late, as in _open_gradebook

    notebook = Path(assignment.notebook).stem
    for student in students:
        if not page_path(course, assignment.name, student, notebook).exists():
            _write_page(course, assignment.name, student, progress, gradebook)


def _write_page(course: Path, assignment: str, student: str, progress: Progress, gradebook: Gradebook | None = None) -> None:
    """A feedback page that cannot be written is reported, and never stops the grading."""
    from autograder.feedback import write_feedback  # late, as in _open_gradebook

    try:
        write_feedback(course, assignment, student, gradebook)
    except Exception as error:
        progress.say(f"warning: no feedback page for {shown(student)} ({_first_line(error)}); "
                     "the next run writes it")


class Stopped(KeyboardInterrupt):
    """`kill` or a closed terminal (SIGTERM, SIGHUP): the run ends as after Ctrl-C, what it graded
    recorded and its sandboxes taken down, instead of dying with them left for the next run."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.status = 128 + signum


def _stop(signum: int, frame) -> None:
    raise Stopped(signum)


def main_grade(course: Path, options: Options, progress_mode: str = "auto") -> int:
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    try:
        grade_class(course, options, progress_mode)
    except (sandbox.SandboxUnavailable, GradebookUnreadable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RecordingFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Stopped as stopped:
        return stopped.status
    except KeyboardInterrupt:
        return 130
    return 0
