"""Shared fixtures: throw-away copies of the course in which nbgrader and the grader really run, and
the corpus graded in them each way, once per session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hostile import HOSTILE
from submissions import BY_NAME as HONEST_BY_NAME
from submissions import SUBMISSIONS, write

COURSE = Path(__file__).resolve().parents[1]
COURSE_PARTS = ("source", "release", "autograder", "solutions", "nbgrader_config.py")
LIMITS = ["--cell-timeout", "5", "--timeout", "180"]  # the isolated grader's, in the suite
UNDECODABLE_STUDENT = b"student \xff"  # a folder in submitted/ whose name no gradebook can store
SHARDS = 2  # two nbgrader processes side by side, one per core of the CI machine, each with its JAX cache
# Hostile notebooks that only rearrange cells: nbgrader must grade them as the isolated grader does
RESTORED = [h for h in HOSTILE if h.name in {"edits_locked_cells", "deletes_given_and_test_cells",
                                             "deletes_an_answer_cell", "scratch_cells", "fake_test_cells",
                                             "foreign_kernelspec", "copied_cell_ids", "metadata_lost",
                                             "metadata_lost_around_own_cells", "copied_answer_cells"}]


def make_course(where: Path) -> Path:
    """A fresh course directory holding what a clone has, without any grading state."""
    where.mkdir(parents=True, exist_ok=True)
    for part in COURSE_PARTS:
        source = COURSE / part
        if source.is_dir():
            shutil.copytree(source, where / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, where / part)
    return where


def jax_keeps_compilations(cache: Path) -> dict[str, str]:
    """The environment, with JAX keeping what it compiles in `cache` for the next kernel to read.

    Only for the suite's time when nbgrader grades several notebooks: each kernel compiles the same
    computations, and reading them back cut nbgrader's time per notebook by two fifths (11.7 s to
    6.8 s), with the same results. One cache per nbgrader process: JAX writes its entries unlocked.
    """
    return {**os.environ,
            "JAX_COMPILATION_CACHE_DIR": str(cache),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1"}


def nbgrader(course: Path, *args: str, timeout: float = 900, check: bool = True,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run one nbgrader command in the course, as an instructor would from its root."""
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return make_course(tmp_path / "course")


def grade(course: Path, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "grade", "intro_ml", *LIMITS, *args], cwd=course,
                          capture_output=True, text=True, timeout=timeout)


def results(course: Path, name: str) -> dict:
    """The results.json either grader left for `name` in `course`."""
    return json.loads((course / "autograded" / name / "intro_ml" / "results.json").read_text())


def submit(course: Path, name: str, content: bytes, file: bytes = b"intro_ml.ipynb") -> None:
    folder = course / "submitted" / name / "intro_ml"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / os.fsdecode(file)).write_bytes(content)


# The whole corpus graded once per session each way, by the isolated grader and by plain nbgrader
# (together some nine minutes on two cores): the tests of each grader read them, and one test sets
# the two side by side.


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The corpus, honest and hostile, graded by `python -m autograder grade` in one course."""
    course = make_course(tmp_path_factory.mktemp("isolated"))
    for submission in SUBMISSIONS:
        write(submission, course / "submitted" / submission.name / "intro_ml")
    for hostile in HOSTILE:
        submit(course, hostile.name, hostile.content(), hostile.file)
    write(HONEST_BY_NAME["model"], course / "submitted" / os.fsdecode(UNDECODABLE_STUDENT) / "intro_ml")
    run = grade(course, "--workers", "2")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return course, run


@pytest.fixture(scope="session")
def autograded(tmp_path_factory) -> tuple[dict[str, Path], str]:
    """The honest corpus and the hostile notebooks that only rearrange cells, graded by plain `nbgrader
    autograde` in course copies: each student's course directory, and what nbgrader logged."""
    released = make_course(tmp_path_factory.mktemp("nbgrader_release") / "course")
    nbgrader(released, "generate_assignment", "intro_ml", timeout=300)
    courses = {}
    processes = []
    for shard in range(SHARDS):
        where = tmp_path_factory.mktemp(f"nbgrader_shard{shard}")
        course = shutil.copytree(released, where / "course")  # the same release and gradebook
        for submission in SUBMISSIONS[shard::SHARDS]:
            write(submission, course / "submitted" / submission.name / "intro_ml")
            courses[submission.name] = course
        for hostile in RESTORED[shard::SHARDS]:
            submit(course, hostile.name, hostile.content())
            courses[hostile.name] = course
        processes.append(subprocess.Popen([sys.executable, "-m", "nbgrader", "autograde", "intro_ml", "--create"],
                                          cwd=course, env=jax_keeps_compilations(where / "jax_cache"),
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    logs = []
    for process in processes:
        output, _ = process.communicate(timeout=1800)
        assert process.returncode == 0, output[-3000:]
        logs.append(output)
    return courses, "".join(logs)


@pytest.fixture(scope="session")
def graded(autograded) -> dict[str, Path]:
    return autograded[0]
