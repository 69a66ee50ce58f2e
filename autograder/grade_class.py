"""Grading a class: find the submissions, grade them in parallel worker processes, record each one.

Workers only grade (each starts a fresh sandboxed kernel per submission and runs the checks); the
main process alone writes the gradebook and the results, one submission at a time, so that parallel
grading never races on the gradebook and an interrupted run loses at most the submissions in flight.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import signal
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.util import Finalize
from pathlib import Path

from autograder import record, sandbox
from autograder.assignment import Assignment
from autograder.class_report import write_class_report
from autograder.engine import Graded, grade_submission, start_kernel, ungradable
from autograder.feedback import write_feedback
from autograder.kernel import AGENT_SOURCE, Kernel
from autograder.progress import Progress
from autograder.sandbox import Limits


@dataclass(frozen=True)
class Options:
    assignment: str
    students: tuple[str, ...] = ()  # empty: everyone in submitted/
    workers: int = os.cpu_count() or 1
    force: bool = False
    sandboxed: bool = True
    pages: bool = True  # write each student's feedback page and the class report
    limits: Limits = Limits()


def submissions(course: Path, assignment: str, students: tuple[str, ...]) -> list[tuple[str, Path]]:
    found = sorted(p.parent.name for p in (course / "submitted").glob(f"*/{assignment}") if p.is_dir())
    if students:
        missing = [s for s in students if s not in found]
        if missing:
            raise SystemExit(f"no submission of {assignment} for: {', '.join(missing)}")
        found = [s for s in found if s in students]
    return [(student, course / "submitted" / student / assignment) for student in found]


_worker: dict = {}


def prime_jax_cache(assignment: Assignment, options: Options, cache: Path) -> None:
    """Fill JAX's compilation cache once, from a kernel of the grader's that runs no student code.

    Every student kernel then reads the compiled computations instead of compiling them again,
    which is most of what a notebook's first run of JAX costs.
    """
    marker = cache / ("primed-" + hashlib.sha256(
        (AGENT_SOURCE + "\n".join(assignment.given_code)).encode()).hexdigest()[:16])
    if marker.exists():
        return
    cache.mkdir(parents=True, exist_ok=True)
    kernel = start_kernel(assignment, options.limits, options.sandboxed, sandbox.font_cache(), cache, prime=True)
    kernel.close()
    marker.touch()


def _start_worker(course: str, assignment: str, limits: Limits, sandboxed: bool, jax_cache: str) -> None:
    """Load what every grading in this worker needs, once; die with the main process.

    Each worker keeps one spare kernel starting in the background (sandboxed, JAX and matplotlib
    imported, the first compilations done), so that the next submission does not wait for it.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: a killed grader leaves no worker behind
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    import solutions.intro_ml  # noqa: F401 (JAX and the reference, imported once per worker)

    _worker.update(
        assignment=Assignment.load(Path(course), assignment),
        limits=limits,
        sandboxed=sandboxed,
        fonts=sandbox.font_cache(),
        jax_cache=Path(jax_cache),
        starter=ThreadPoolExecutor(1),
    )
    _worker["spare"] = _worker["starter"].submit(_new_kernel)
    Finalize(None, _close_spare, exitpriority=10)


def _new_kernel() -> Kernel:
    return start_kernel(_worker["assignment"], _worker["limits"], _worker["sandboxed"], _worker["fonts"],
                        _worker["jax_cache"])


def _close_spare() -> None:
    try:
        _worker.pop("spare").result(timeout=120).close()
    except Exception:
        pass


def _grade(student: str, submission_dir: str) -> Graded:
    try:
        kernel = _worker.pop("spare").result()
    except Exception:
        kernel = None  # grade_submission starts one itself, and says so if it cannot
    _worker["spare"] = _worker["starter"].submit(_new_kernel)
    return grade_submission(_worker["assignment"], student, Path(submission_dir), _worker["limits"],
                            _worker["sandboxed"], _worker["fonts"], kernel=kernel, jax_cache=_worker["jax_cache"])


def grade_class(course: Path, options: Options, progress_mode: str = "auto") -> list[Graded]:
    if options.sandboxed:
        sandbox.bubblewrap()  # refuses, with the reason, before anything starts
    assignment = Assignment.load(course, options.assignment)
    progress = Progress(assignment, progress_mode)
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    record.ensure_gradebook(course, options.assignment, db_url)
    record.clear_leftovers(course, options.assignment)
    todo = []
    for student, folder in submissions(course, options.assignment, options.students):
        digest = record.submission_digest(folder, assignment.notebook)
        if not options.force and record.already_graded(course, assignment, student, digest):
            progress.skipped(student)
            continue
        todo.append((student, folder, digest))
    if not todo:
        progress.say("nothing to grade")
        return []
    graded_all = []
    workers = max(1, min(options.workers, len(todo)))
    progress.start(len(todo), workers, options.sandboxed)
    jax_cache = sandbox.default_jax_cache()
    prime_jax_cache(assignment, options, jax_cache)
    context = get_context("spawn")
    initargs = (str(course), options.assignment, options.limits, options.sandboxed, str(jax_cache))
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=initargs) as pool:
        pending = {pool.submit(_grade, student, str(folder)): (student, digest) for student, folder, digest in todo}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    student, digest = pending.pop(future)
                    try:
                        graded = future.result()
                    except Exception as error:  # the grader failed, not the student: grade again next run
                        graded = ungradable(assignment, student, f"the grader failed ({type(error).__name__}: {error})")
                        digest = ""
                    record.record(course, assignment, graded, db_url, digest)
                    graded_all.append(graded)
                    progress.graded(graded)
                    if options.pages:
                        _write_page(course, options.assignment, student, progress)
        except KeyboardInterrupt:
            for future in pending:
                future.cancel()
            progress.say("interrupted: the submissions graded so far are recorded; run again to finish the class")
            raise
    progress.summary(graded_all)
    if options.pages:
        report = write_class_report(course, options.assignment)
        progress.say(f"feedback pages in feedback/*/{options.assignment}/, class report in {report.relative_to(course)}")
    return graded_all


def _write_page(course: Path, assignment: str, student: str, progress: Progress) -> None:
    """A feedback page that cannot be written is reported, and never stops the grading."""
    try:
        write_feedback(course, assignment, student)
    except Exception as error:
        progress.say(f"warning: no feedback page for {student} ({type(error).__name__}: {error})")


def main_grade(course: Path, options: Options, progress_mode: str = "auto") -> int:
    try:
        grade_class(course, options, progress_mode)
    except sandbox.SandboxUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
