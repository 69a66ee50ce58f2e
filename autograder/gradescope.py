"""Grading on Gradescope: the bundle that builds Gradescope's image, and the run that grades one upload.

`build_bundle` zips Gradescope's two scripts (`gradescope_files/setup.sh` and `run_autograder`) with
the parts of the course the engine reads: the assignment's source and release, `autograder/`,
`solutions/`, `nbgrader_config.py` and the pinned `requirements.txt`; never submissions, grades or
tests. `run` grades the uploaded notebook with `engine.grade_submission`, the call that
`python -m autograder grade` makes for each student, and writes Gradescope's `results.json`, built
from the kit's own (`record.results_json`), so names, scores and statuses are the kit's.

What students see follows the contract's split between public and hidden checks. Each test cell
(question) `n` gives two entries:

* `<grade id>_test`, numbered `n`, `visible`, with the points: the kit's feedback (the score, then
  each rubric line passed or failed), except that a failed hidden check's message is replaced by a
  pointer to the next entry;
* `<grade id>_test: details`, numbered `n.1` so that it sits under its question, `after_published`,
  without points: those messages. They quote the hidden inputs and the reference's values, so they
  wait until the instructor publishes the grades.

Every question gets both entries, so every student sees the same layout. Gradescope hides the total
from a student while some entry is hidden from them: each question's points show at once, the total
once grades are published. Everything is Markdown (`md`): the summary, and each test's output, which
is the kit's plain text in a code block that nothing in it can close, so a student's error message
is shown as written and never rendered as links, images or headings. stdout, the run's log, is for
instructors only, and so is `extra_data`, which Gradescope stores without showing: the kit's record
of the submission (its digest, any problem, every check), plus whether the kernel was sandboxed.

Gradescope runs each submission in a container of its own. Inside it the kernel is still sandboxed by
bubblewrap when the container lets bwrap create namespaces (Docker's default seccomp profile often
does not), which one try per run finds out; otherwise the notebook runs unsandboxed, as `nobody`
rather than Gradescope's root, with the course's files but its environment private to root (so it
can neither read nor change the checks and solutions, nor write the results), and the summary
says so.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import replace
from pathlib import Path

from autograder import record, sandbox
from autograder.assignment import Assignment, CourseIncomplete
from autograder.engine import Graded, grade_submission, ungradable
from autograder.pending import submission_digest
from autograder.restore import Ungradable, shown
from autograder.sandbox import Limits

COURSE = Path(__file__).resolve().parents[1]  # in the bundle: /autograder/source
TEMPLATES = Path(__file__).resolve().parent / "gradescope_files"
SCRIPTS = ("setup.sh", "run_autograder")
STUDENT = "gradescope"  # Graded needs a name; Gradescope knows who submitted
# Gradescope shows no results at all when a run outlives its timeout (10 minutes unless the
# instructor raises it): stop the notebook well before, so that results.json is always written.
LIMITS = replace(Limits(), submission_seconds=480.0)
NOT_YET = "(why: shown when grades are published, under the details of this question)"


# ------------------------------------------------------------ the bundle


def build_bundle(course: Path, assignment: str, out: Path) -> Path:
    """Write `out/<assignment>_gradescope.zip`, the autograder to upload to Gradescope; return its path."""
    Assignment.load(course, assignment)  # refuses, saying why, an assignment without its release
    files = {name: TEMPLATES / name for name in SCRIPTS}
    files |= {name: course / name for name in ("nbgrader_config.py", "requirements.txt")}
    for name, path in files.items():
        if not path.is_file():
            raise CourseIncomplete(f"{path} is missing, and the Gradescope bundle needs it")
    for folder in (f"source/{assignment}", f"release/{assignment}", "autograder", "solutions"):
        for path in (course / folder).rglob("*"):
            relative = path.relative_to(course)
            if path.is_file() and not _build_leftover(relative):
                files[relative.as_posix()] = path
    out.mkdir(parents=True, exist_ok=True)
    bundle = out / f"{assignment}_gradescope.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        for name, path in sorted(files.items()):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # the same course, the same zip
            info.external_attr = (0o755 if name in SCRIPTS else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return bundle


def _build_leftover(relative: Path) -> bool:
    return relative.suffix == ".pyc" or any(part in ("__pycache__", ".ipynb_checkpoints") for part in relative.parts)


# ------------------------------------------------------------ one submission


def bundled_assignment(course: Path) -> str:
    """The assignment a bundle grades: the only folder in its source/."""
    names = sorted(p.name for p in (course / "source").iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(names) != 1:
        raise RuntimeError(f"expected one assignment in {course / 'source'}, found {names}")
    return names[0]


def find_notebook(submission: Path, name: str) -> Path:
    """The notebook to grade: `name` at the top of the upload, else anywhere, else the only notebook.

    Students upload a file, a zip or a GitHub repository, so the notebook may sit in a folder or carry
    another name; copies that tools leave behind (`.ipynb_checkpoints/`, `__MACOSX/`) do not count.
    """
    notebooks = sorted(
        path for path in submission.rglob("*.ipynb")
        if path.is_file() and not any(part.startswith(".") or part == "__MACOSX"
                                      for part in path.relative_to(submission).parts)
    )
    named = [path for path in notebooks if path.name == name]
    if submission / name in named:
        return _not_a_link(submission, submission / name)
    for candidates in (named, notebooks):
        if len(candidates) == 1:
            return _not_a_link(submission, candidates[0])
    if not notebooks:
        raise Ungradable(f"no notebook was submitted: upload {name}")
    found = ", ".join(shown(str(path.relative_to(submission))) for path in notebooks)
    raise Ungradable(f"{len(notebooks)} notebooks were submitted ({found}) and it is unclear which to grade: "
                     f"submit only {name}")


def _not_a_link(submission: Path, notebook: Path) -> Path:
    """`notebook`, unless it is a link: one to the course's own source notebook (uploads may hold links,
    GitHub's do) would have the instructor's solution graded, read by root. (`rglob` does not enter
    linked folders, so only the file itself can be one.)"""
    if notebook.is_symlink():
        raise Ungradable(f"{shown(str(notebook.relative_to(submission)))} is a symbolic link, not a notebook: "
                         "upload the notebook file itself")
    return notebook


def sandbox_trouble() -> str:
    """Why bubblewrap cannot sandbox a kernel in this container, or "" when it can.

    Found by trying the engine's own bwrap command line on `python -c pass`: when that runs, the
    kernels will start too.
    """
    with tempfile.TemporaryDirectory() as workdir, tempfile.TemporaryDirectory() as ipc:
        try:
            tried = subprocess.run(
                sandbox.command(Path(workdir), Path(ipc), ["-c", "pass"], None),
                capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
            )
        except sandbox.SandboxUnavailable as error:
            return error.reason
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bubblewrap could not start ({error})"
    if tried.returncode != 0:
        why = (tried.stderr.strip().splitlines() or [f"exit status {tried.returncode}"])[-1]
        return f"bubblewrap cannot create a sandbox in this container ({why[:300]})"
    return ""


def run(root: Path = Path("/autograder")) -> int:
    """Grade `root/submission/` with the course this module belongs to; write `root/results/results.json`."""
    started = time.monotonic()
    assignment = Assignment.load(COURSE, bundled_assignment(COURSE))
    trouble = sandbox_trouble()
    if trouble and sandbox.nobody_can_run_kernels():
        hide_the_course(COURSE)
    notes = []
    try:
        notebook = find_notebook(root / "submission", assignment.notebook)
    except Ungradable as error:
        graded, digest, graded_file = ungradable(assignment, STUDENT, str(error)), "missing", "nothing"
    else:
        graded_file = shown(notebook.relative_to(root / "submission").as_posix())
        if graded_file != assignment.notebook:
            notes.append(f"Graded {_code(graded_file)} as {_code(assignment.notebook)}.")
        graded, digest = _grade(assignment, notebook, sandboxed=not trouble)
    if trouble:
        user = "as the unprivileged user nobody" if sandbox.nobody_can_run_kernels() else "as the grader's own user"
        notes.append(f"The notebook ran without bubblewrap's sandbox ({user}): {_plain(trouble)}. "
                     "Gradescope runs each submission in a container of its own.")
    results = gradescope_results(assignment, graded, digest, notes, time.monotonic() - started)
    results["extra_data"]["sandboxed"] = not trouble
    write_results(root / "results" / "results.json", results)
    print(f"graded {graded_file}: {graded.score:g} / {assignment.autograded_points:g} in {results['execution_time']} s, "
          + ("sandboxed" if not trouble else f"WITHOUT the sandbox ({trouble})")
          + (f"; {graded.problem}" if graded.problem else ""))
    return 0


def write_results(destination: Path, results: dict) -> None:
    """Rename a finished file into place: Gradescope never reads half a results.json, and a link left
    at that name (by a notebook that could write there) is replaced, not followed."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=destination.parent, prefix=".results-",
                                     delete=False) as file:
        json.dump(results, file, indent=2)
    os.replace(file.name, destination)


def hide_the_course(course: Path) -> None:
    """Leave `nobody`, who runs an unsandboxed notebook, the course's Python environment and nothing
    else of it: not the checks and their hidden inputs, nor the solutions (root, grading, still reads them)."""
    course.chmod(0o711)  # nobody may pass through to .venv, not list what is here
    for entry in course.iterdir():
        if entry.name != ".venv" and not entry.is_symlink():
            entry.chmod(entry.stat().st_mode & 0o700)


def _grade(assignment: Assignment, notebook: Path, sandboxed: bool) -> tuple[Graded, str]:
    """Grade the upload under the name the engine expects; also the kit's digest of what was graded."""
    with tempfile.TemporaryDirectory(prefix="gradescope-") as staging:
        folder = Path(staging)
        shutil.copyfile(notebook, folder / assignment.notebook)
        digest = submission_digest(folder, assignment.notebook)
        try:
            graded = grade_submission(assignment, STUDENT, folder, LIMITS, sandboxed, sandbox.font_cache())
        except Exception as error:  # the grader failed, not the student: say so, and still give results
            graded = ungradable(assignment, STUDENT, f"the grader failed ({type(error).__name__}: {error})")
    return graded, digest


# ------------------------------------------------------------ results.json


def gradescope_results(assignment: Assignment, graded: Graded, digest: str, notes: list[str], seconds: float) -> dict:
    """Gradescope's results.json for a graded submission: the kit's results, split by visibility."""
    kit = record.results_json(graded, digest)
    checks = kit["extra_data"]["checks"]
    tests = []
    for number, test in enumerate(kit["tests"], start=1):
        failed = [check for check in checks[test["name"]] if check["message"]]
        common = {"status": test["status"], "name_format": "text", "output_format": "md",
                  "tags": [test["name"].removesuffix("_test")]}
        output = test["output"]
        for check in failed:
            output = output.replace(check["message"], NOT_YET)
        tests.append({"name": test["name"], "number": str(number), "score": test["score"],
                      "max_score": test["max_score"], "output": verbatim(output), "visibility": "visible", **common})
        tests.append({"name": f"{test['name']}: details", "number": f"{number}.1",
                      "output": verbatim(_details(checks[test["name"]])), "visibility": "after_published",
                      **common})
    return {
        "score": kit["score"],
        "execution_time": round(seconds),
        "output": _summary(assignment, graded, notes),
        "output_format": "md",
        "test_output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": kit["extra_data"],
    }


def verbatim(text: str) -> str:
    """`text` as a Markdown code block, shown exactly as written: its fence is longer than any run of
    backticks inside, so no line of a student's message can end the block and be rendered."""
    fence = _fence(text, 3)
    return f"{fence}text\n{text}\n{fence}"


def _code(text: str) -> str:
    """`text` on one line as inline Markdown code: a file name from the upload may hold backticks."""
    text, fence = " ".join(text.split()), _fence(text, 1)
    return f"`{text}`" if fence == "`" else f"{fence} {text} {fence}"


def _fence(text: str, shortest: int) -> str:
    return "`" * max(shortest, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))


def _plain(text: str) -> str:
    """`text` as one Markdown paragraph that renders as written: a problem can quote the upload's
    file names, which must not become links, images, HTML or code."""
    return re.sub(r"([\\`*\[\]<>])", r"\\\1", " ".join(text.split()))


def _details(checks: list[dict]) -> str:
    """What the hidden checks of one question said: each failed check's rubric line and message."""
    failed = [check for check in checks if check["message"]]
    if failed:
        return "\n\n".join(f"{check['rubric']} ({check['earned']:g}/{check['points']:g})\n  {check['message']}"
                           for check in failed)
    if checks:
        return "Every hidden check passed."
    return "No hidden check ran for this question: the entry above says why."


def _summary(assignment: Assignment, graded: Graded, notes: list[str]) -> str:
    paragraphs = [f"**Autograded: {graded.score:g} / {assignment.autograded_points:g} points.**"]
    if graded.problem:
        paragraphs.append(("Not graded: " if graded.notebook is None else "Grading stopped early: ")
                          + _plain(graded.problem) + ".")
    paragraphs.append("Each question below shows its points and the parts of its rubric it met. Why a hidden "
                      "check failed is shown when grades are published.")
    if assignment.manual:
        by_hand = ", ".join(f"`{grade_id}` ({points:g} points)" for grade_id, points in assignment.manual.items())
        paragraphs.append(f"Graded by hand, not here: {by_hand}.")
    return "\n\n".join(paragraphs + notes)


# ------------------------------------------------------------ command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope",
                                     description="What Gradescope's run_autograder runs for each submission.")
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("run", help="grade ROOT/submission/ into ROOT/results/results.json")
    grade.add_argument("--root", type=Path, default=Path("/autograder"), help="Gradescope's autograder folder")
    args = parser.parse_args(argv)
    return run(args.root)


if __name__ == "__main__":
    sys.exit(main())
