"""A grading worker process: one submission after another, each in a fresh kernel of a warm sandbox.

It imports only what grading needs (not the gradebook, nor the pages): the main process records.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.util import Finalize
from pathlib import Path

from autograder import reference_values, sandbox
from autograder.assignment import Assignment
from autograder.engine import Graded, grade_submission
from autograder.kernel import Kernel
from autograder.sandbox import Limits
from autograder.warm_sandbox import WarmSandbox

_worker: dict = {}


def start(course: str, assignment: str, limits: Limits, sandboxed: bool, jax_cache: str, spare_kernels: bool,
          rubric: str) -> None:
    """Load what every grading in this worker needs, once; die with the main process.

    A sandboxed worker keeps a warm sandbox (see `warm_sandbox.py`), which forks the first kernel
    (JAX and matplotlib imported) while the worker does its own imports. Later kernels are forked as
    their submission arrives: the pool has it queued already, so starting earlier would gain
    nothing, and no kernel is left unused at the end. None of these is warmed up: each one's
    submission is waiting for it (the first one's too, queued as the worker starts), and a warm-up
    only adds the computations this notebook does not need (it compiles those it uses anyway).
    With `spare_kernels` the worker keeps two sandboxes and uses them in turn, so that the next
    kernel warms up while the current submission runs: faster when cores are spare, for another
    sandbox and another kernel's memory per worker.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: a killed grader leaves no worker behind
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    for signum in (signal.SIGTERM, signal.SIGHUP):  # the main process's handlers, if it forked this one
        signal.signal(signum, signal.SIG_DFL)
    fonts = sandbox.font_cache()
    # the sandbox's imports run while this worker does its own
    sandboxes = [WarmSandbox(limits, fonts, Path(jax_cache))] if sandboxed else [None]
    sandbox.use_jax_cache_here(Path(jax_cache))  # the reference's compilations, kept across runs
    reference_values.keep_in(reference_values.folder_for(Path(jax_cache), rubric))  # and its values
    import solutions.intro_ml  # noqa: F401 (JAX and the reference, imported once per worker)

    # Last in, first run at exit: JAX's own exit handler empties every cache it filled, about a
    # second of CPU per worker at the end of each run, for a process that ends anyway. The sandboxes
    # are closed before (by the finalizer below), and every result has been sent by then.
    atexit.register(os._exit, 0)

    _worker.update(
        assignment=Assignment.load(Path(course), assignment),
        limits=limits,
        sandboxed=sandboxed,
        fonts=fonts,
        jax_cache=Path(jax_cache),
        starter=ThreadPoolExecutor(1),
        sandboxes=sandboxes,
        ahead=spare_kernels,
    )
    _worker["spare"] = _worker["starter"].submit(_new_kernel, sandboxes[0], False)  # waited for at once
    Finalize(None, _close, exitpriority=10)


def _new_kernel(warm: WarmSandbox | None, ahead: bool) -> tuple[Kernel, WarmSandbox | None]:
    """The next kernel, forked in `warm` (or a process of its own without the sandbox); warmed up
    only when started `ahead` of its submission."""
    given_cells = _worker["assignment"].given_code if ahead else None
    kernel = Kernel(_worker["limits"], given_cells, _worker["sandboxed"], _worker["fonts"], _worker["jax_cache"],
                    warm=warm)
    return kernel, warm


def _prepare_next(used: WarmSandbox | None) -> None:
    """Start warming the next submission's kernel, in a sandbox other than `used` if there is one."""
    sandboxes = _worker["sandboxes"]
    if _worker["sandboxed"] and _worker["ahead"] and len(sandboxes) == 1:
        sandboxes.append(WarmSandbox(_worker["limits"], _worker["fonts"], _worker["jax_cache"]))
    following = next((warm for warm in sandboxes if warm is not used), sandboxes[0])
    _worker["spare"] = _worker["starter"].submit(_new_kernel, following, True)


def _close() -> None:
    spare = _worker.pop("spare", None)
    try:
        if spare is not None:
            spare.result(timeout=120)[0].close()
    except Exception:
        pass
    for warm in _worker["sandboxes"]:
        if warm is not None:
            warm.close()


def _kernel_for_submission() -> tuple[Kernel | None, WarmSandbox | None]:
    """The kernel warmed ahead, or one started now; no kernel if it cannot start (`grade_submission`
    then tries once more itself, and says so if it cannot either)."""
    spare = _worker.pop("spare", None)
    try:
        return spare.result() if spare is not None else _new_kernel(_worker["sandboxes"][0], False)
    except Exception:
        return None, None


def grade(student: str, submission_dir: str) -> Graded:
    """Grade one submission; its time counts the wait for its kernel too (with `spare_kernels`, a
    kernel warmed up while the submission before it ran; otherwise one forked for it, not warmed up)."""
    started = time.monotonic()
    kernel, used = _kernel_for_submission()
    if _worker["ahead"]:
        try:
            _prepare_next(used)
        except BaseException:
            if kernel is not None:
                kernel.close()
            raise
    graded = grade_submission(_worker["assignment"], student, Path(submission_dir), _worker["limits"],
                              _worker["sandboxed"], _worker["fonts"], kernel=kernel, jax_cache=_worker["jax_cache"],
                              new_kernel=lambda: _new_kernel(used or _worker["sandboxes"][0], False)[0])
    graded.seconds = time.monotonic() - started
    return graded
