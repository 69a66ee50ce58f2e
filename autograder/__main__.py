"""Command line of the course's grader: `python -m autograder COMMAND`, run from the course root."""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
from pathlib import Path

from autograder import course_lock
from autograder.assignment import CourseIncomplete
from autograder.grade_class import GradebookUnreadable, Options, gradebook_knows, main_grade
from autograder.sandbox import Limits

EX_TEMPFAIL = 75  # sysexits.h: another run has the course; try again later


def positive(convert):
    """An argparse type: a finite number above 0 (a limit of 0 would fail every submission, and record it)."""

    def parse(text: str):
        value = convert(text)
        if not (value > 0 and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"must be a number more than 0, not {text}")
        return value

    parse.__name__ = convert.__name__  # argparse names it in "invalid float value: 'x'"
    return parse


def run_grade(course: Path, args: argparse.Namespace) -> int:
    limits = Limits(
        cell_seconds=args.cell_timeout,
        submission_seconds=args.timeout,
        memory_bytes=int(args.memory * 2**30),
        processes=args.processes,
        file_bytes=int(args.file_size * 2**20),
        scratch_bytes=int(args.scratch_size * 2**20),
        output_bytes=args.output_size,
    )
    options = Options(args.assignment, tuple(args.student), args.workers, args.force, not args.no_sandbox,
                      not args.no_pages, limits, args.spare_kernels)
    mode = "quiet" if args.quiet else "json" if args.json else "auto"
    status = main_grade(course, options, mode)
    if status == 0 and mode == "auto" and gradebook_knows(course / "gradebook.db", args.assignment):
        from autograder.scores import print_scores

        print_scores(course, args.assignment)
    return status


def run_pages(course: Path, args: argparse.Namespace) -> int:
    from autograder.class_report import rebuild_all

    rebuild_all(course, args.assignment)
    print(f"feedback/*/{args.assignment}/ and reports/{args.assignment}/index.html rebuilt")
    return 0


def run_scores(course: Path, args: argparse.Namespace) -> int:
    from autograder.scores import print_scores

    print_scores(course, args.assignment)
    return 0


def graded_yet(course: Path, assignment: str) -> bool:
    """For `pages` and `scores`: whether there is anything to show, said on stderr when there is not."""
    try:
        if gradebook_knows(course / "gradebook.db", assignment):
            return True
        print(f"error: nothing of {assignment} is graded here yet: run `python -m autograder grade "
              f"{assignment}` first", file=sys.stderr)
    except GradebookUnreadable as error:
        print(f"error: {error}", file=sys.stderr)
    return False


def main(argv: list[str] | None = None) -> int:
    try:
        return run(argv)
    except CourseIncomplete as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def run(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser("grade", help="grade submitted/*/ASSIGNMENT in sandboxed kernels")
    grade.add_argument("assignment")
    grade.add_argument("--student", action="append", default=[], help="grade only this student (repeatable)")
    grade.add_argument("--workers", type=positive(int), default=os.cpu_count() or 1, help="submissions graded at once")
    grade.add_argument("--force", action="store_true", help="grade again submissions already graded")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run student code without bubblewrap, with your own permissions (as nobody if "
                            "you are root; trusted code only)")
    defaults = Limits()
    limit_options = {  # option: (type, default, help)
        "--cell-timeout": (float, defaults.cell_seconds, "seconds per cell"),
        "--timeout": (float, defaults.submission_seconds, "seconds per submission"),
        "--memory": (float, defaults.memory_bytes / 2**30, "GiB per submission"),
        "--processes": (int, defaults.processes, "processes per submission"),
        "--file-size": (float, defaults.file_bytes / 2**20, "MiB per file written"),
        "--scratch-size": (float, defaults.scratch_bytes / 2**20,
                           "MiB a submission may store in its home, /tmp and /dev/shm, each (they are memory)"),
        "--output-size": (int, defaults.output_bytes, "characters of output kept per cell"),
    }
    for option, (kind, default, explained) in limit_options.items():
        grade.add_argument(option, type=positive(kind), default=default, help=explained)
    grade.add_argument("--no-pages", action="store_true", help="skip the feedback pages and the class report")
    grade.add_argument("--spare-kernels", action="store_true",
                       help="warm each worker's next kernel while the current submission runs (about 0.5 GiB "
                            "more per worker)")
    shown = grade.add_mutually_exclusive_group()
    shown.add_argument("--quiet", action="store_true", help="print nothing but errors")
    shown.add_argument("--json", action="store_true", help="print one JSON object per event, for scripts")

    bundle = commands.add_parser("gradescope", help="build ASSIGNMENT_gradescope.zip, an autograder to upload to Gradescope")
    bundle.add_argument("assignment")
    bundle.add_argument("--out", type=Path, default=Path("."), help="folder to write the zip in")

    pages = commands.add_parser("pages", help="rebuild the feedback pages and the class report without grading")
    pages.add_argument("assignment")

    scores = commands.add_parser("scores", help="print each student's score per question from the gradebook")
    scores.add_argument("assignment")

    args = parser.parse_args(argv)
    course = Path.cwd()
    # nbgrader runs the `alembic` command beside its Python to create a gradebook: make it findable
    # when the environment is not activated.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    if not (course / "source" / args.assignment).is_dir():
        print(f"error: no source/{args.assignment}/ here: run this from the course root", file=sys.stderr)
        return 2
    # Each command imports what only it needs: `grade` starts its workers before it loads nbgrader.
    if args.command == "gradescope":
        from autograder.gradescope import build_bundle

        print(build_bundle(course, args.assignment, args.out))
        return 0
    if args.command == "scores":
        return run_scores(course, args) if graded_yet(course, args.assignment) else 1
    try:  # grade and pages write the course's grades, pages and report
        with course_lock.holding(course):
            if args.command == "grade":
                return run_grade(course, args)
            return run_pages(course, args) if graded_yet(course, args.assignment) else 1
    except course_lock.CourseBusy as error:
        print(f"error: {error}", file=sys.stderr)
        return EX_TEMPFAIL


if __name__ == "__main__":
    try:
        status = main()
        # What the command did is written; Python's teardown would then collect the whole heap (the
        # gradebook's and the pages' libraries) several times over, about 0.4 s, the last of a run.
        gc.freeze()
        sys.exit(status)
    except BrokenPipeError:  # the output's reader left (`... scores | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(128 + 13)  # as if killed by SIGPIPE
