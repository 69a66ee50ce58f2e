"""The checks' reference values: computed once per process, and kept on disk by the isolated grader.

Each check module computes what it compares students with (the fit of hidden data sets, the
gradient at hidden points, the loss grid...) from `solutions/`, in JAX: about a second of CPU in a
fresh process, most of it JAX tracing and compiling, which every worker of every run paid again
before its first verdict. The values depend only on the rubric and on JAX, so the grader's workers
keep them in a folder named after both (`keep_in`), and the next worker reads them back instead.

Only the grader's own processes read or write that folder; nothing is ever unpickled from it. Under
plain `nbgrader autograde` the checks run inside the student's kernel, with the instructor's rights,
where a notebook could rewrite such a file for everyone graded after it: there, as in the tests, no
folder is set and the values are computed in each process, as `functools.cache` would.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

UNUSED_FOR = 30 * 24 * 3600  # seconds after which the values of a rubric no run used are removed
_folder: Path | None = None  # the folder of this rubric's values, once `keep_in` has set it


def folder_for(cache_root: Path, rubric: str) -> Path:
    """Where the values of `rubric` are kept, under `cache_root` (JAX's cache, named by its version)."""
    return cache_root.parent / "reference-values" / f"{cache_root.name}-{rubric[:16]}"


def keep_in(folder: Path) -> None:
    """Read and write this process's reference values in `folder`; those of rubrics unused for a
    month go (a few kilobytes each: two courses graded in turn keep theirs)."""
    global _folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)
        for other in folder.parent.iterdir():
            if other.is_dir() and time.time() - other.stat().st_mtime > UNUSED_FOR:
                shutil.rmtree(other, ignore_errors=True)
    except OSError:
        return  # a folder it cannot write: the values are computed here, as without one
    _folder = folder


def kept(function: Callable[[], Any]) -> Callable[[], Any]:
    """A check's reference function of no arguments, computed once per process, or read back from
    the folder `keep_in` set. Its value is a NumPy array, a number, or a tuple of these."""

    @functools.cache
    def wrapper():
        path = _folder / f"{function.__module__}.{function.__qualname__}.npz" if _folder else None
        if path is not None and path.exists():
            try:
                return _load(path)
            except Exception:  # whatever is wrong with the file (a disk error, say), compute them again
                pass
        value = function()
        if path is not None:
            _save(path, value)
        return value

    return functools.update_wrapper(wrapper, function)


def _save(path: Path, value: Any) -> None:
    """Written beside its final name, then renamed: a reader finds the whole file or none."""
    arrays: list[np.ndarray] = []
    structure = _flatten(value, arrays)
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as file:
            np.savez(file, *arrays, structure=np.array(json.dumps(structure)))
        os.replace(file.name, path)
    except OSError:  # a full disk: the next process computes them again
        Path(file.name).unlink(missing_ok=True)


def _load(path: Path) -> Any:
    with np.load(path, allow_pickle=False) as saved:
        structure = json.loads(str(saved["structure"]))
        return _unflatten(structure, [saved[f"arr_{i}"] for i in range(len(saved.files) - 1)])


def _flatten(value: Any, arrays: list[np.ndarray]) -> Any:
    """JSON that describes `value`, its arrays appended to `arrays` (their dtype and flags kept)."""
    if isinstance(value, tuple):
        return {"tuple": [_flatten(item, arrays) for item in value]}
    if isinstance(value, (bool, int, float)):
        return {type(value).__name__: value}
    if isinstance(value, np.ndarray):
        arrays.append(value)
        return {"array": len(arrays) - 1, "writeable": bool(value.flags.writeable)}
    raise TypeError(f"a reference value must be arrays, numbers or tuples of them, not {type(value).__name__}")


def _unflatten(structure: dict, arrays: list[np.ndarray]) -> Any:
    if "tuple" in structure:
        return tuple(_unflatten(item, arrays) for item in structure["tuple"])
    for kind in (bool, int, float):
        if kind.__name__ in structure:
            return kind(structure[kind.__name__])
    array = arrays[structure["array"]]
    array.setflags(write=structure["writeable"])
    return array
