"""Shared fixtures: throw-away copies of the course in which nbgrader and the grader really run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

COURSE = Path(__file__).resolve().parents[1]
COURSE_PARTS = ("source", "release", "autograder", "solutions", "nbgrader_config.py")


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
