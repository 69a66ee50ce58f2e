"""The checks' reference values kept on disk by the isolated grader's workers: read back exactly as
computed, computed once, and computed again whenever the file cannot serve."""

from __future__ import annotations

import importlib
import os
import time

import numpy as np
import pytest

from autograder import reference_values
from autograder.assignment import Assignment
from autograder.runner import CHECKS
from conftest import COURSE


@pytest.fixture(autouse=True)
def no_folder(monkeypatch):
    """Each test starts as a process that keeps nothing on disk, as under plain nbgrader."""
    monkeypatch.setattr(reference_values, "_folder", None)


def counted(value):
    """A reference function of no arguments returning `value`, and how often it ran."""
    runs = []

    def compute():
        runs.append(1)
        return value

    compute.__qualname__ = f"compute_{id(runs)}"
    return reference_values.kept(compute), runs


def same(a, b) -> bool:
    """Equal values of the same types, arrays of the same dtype, shape and writeability."""
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b) and a.flags.writeable == b.flags.writeable)
    return type(a) is type(b) and a == b


def a_value():
    frozen = np.arange(6, dtype=np.float32).reshape(2, 3)
    frozen.setflags(write=False)
    return (frozen, np.array([1.5, -2.25]), 17, 0.1, (np.int64(3) * np.ones(2, dtype=np.int64), True))


def test_without_a_folder_a_value_is_computed_once_per_process():
    value = a_value()
    kept, runs = counted(value)
    assert kept() is kept() and len(runs) == 1


def test_a_kept_value_reads_back_exactly_and_is_not_computed_again(tmp_path):
    reference_values.keep_in(tmp_path / "rubric")
    kept, runs = counted(a_value())
    computed = kept()
    kept.cache_clear()  # as a new worker of the next run
    assert same(kept(), computed) and len(runs) == 1


@pytest.mark.parametrize("damage", [b"", b"not a zip file", None])
def test_a_damaged_file_is_computed_again_and_replaced(tmp_path, damage):
    reference_values.keep_in(tmp_path / "rubric")
    kept, runs = counted(a_value())
    computed = kept()
    [path] = (tmp_path / "rubric").iterdir()
    path.write_bytes(damage if damage is not None else path.read_bytes()[:200])
    kept.cache_clear()
    assert same(kept(), computed) and len(runs) == 2
    kept.cache_clear()
    assert same(kept(), computed) and len(runs) == 2


def test_a_folder_that_cannot_be_written_keeps_nothing_and_grades_on(tmp_path):
    blocked = tmp_path / "a file"
    blocked.write_text("")
    reference_values.keep_in(blocked / "rubric")
    kept, runs = counted(a_value())
    assert same(kept(), a_value()) and len(runs) == 1


def test_the_values_of_rubrics_unused_for_a_month_are_removed(tmp_path):
    folders = {name: reference_values.folder_for(tmp_path / "jax-1", name * 64) for name in "abc"}
    for name in "ab":
        reference_values.keep_in(folders[name])
        kept, _ = counted(a_value())
        kept()
    month_ago = time.time() - reference_values.UNUSED_FOR - 60
    os.utime(folders["a"], (month_ago, month_ago))
    reference_values.keep_in(folders["c"])
    assert folders["b"].is_dir() and folders["c"].is_dir() and not folders["a"].exists()


def test_what_cannot_be_kept_is_refused_not_kept_wrong(tmp_path):
    reference_values.keep_in(tmp_path / "rubric")
    kept, _ = counted([1, 2, 3])  # a list would come back a tuple
    with pytest.raises(TypeError):
        kept()


def test_every_value_the_checks_keep_reads_back_as_computed(tmp_path):
    """Each check's reference function, computed, kept and read back: the same arrays, dtypes and
    numbers the checks compare students with (an epoch number stays an int, say)."""
    assignment = Assignment.load(COURSE, "intro_ml")
    modules = [importlib.import_module("autograder.checks.given_data")]
    modules += [importlib.import_module(f"autograder.checks.test_{q.grade_id}") for q in assignment.questions
                if (CHECKS / f"test_{q.grade_id}.py").exists()]
    functions = [f for m in modules for f in vars(m).values()
                 if callable(f) and getattr(f, "__wrapped__", None) is not None and hasattr(f, "cache_clear")
                 and f.__module__ == m.__name__]
    assert len(functions) >= 8
    computed = {}
    for function in functions:
        function.cache_clear()
        computed[function] = function()  # no folder yet: as plain nbgrader computes them
    reference_values.keep_in(tmp_path / "rubric")
    for function in functions:
        function.cache_clear()
        function()  # computed and written
        function.cache_clear()
    assert len(list((tmp_path / "rubric").iterdir())) == len(functions)
    for function in functions:
        assert same(function(), computed[function]), function.__qualname__
        function.cache_clear()
