"""One run at a time writes a course's grades: a second is refused before it touches anything.

Two grading runs at once (a second terminal, an overlapping cron job) would grade the same
submissions twice, race to create the gradebook ("table student already exists"), and each would
remove the other's half-written results as a killed run's leftovers. The lock is an flock(2) on a
file in the course root, which the operating system releases when the run ends, however it ends:
a killed run leaves no stale lock. Plain `nbgrader autograde` does not know it; run that alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

LOCK_FILE = ".autograder.lock"  # holds the pid of the run that has it, for the message below


class CourseBusy(RuntimeError):
    """Another run is writing this course's grades; nothing was done, try again when it is over."""


@contextlib.contextmanager
def holding(course: Path):
    path = course / LOCK_FILE
    flags = os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
    try:
        fd = os.open(path, os.O_RDWR | flags, 0o644)
    except PermissionError:  # another user's lock file: flock needs no write access
        fd = os.open(path, os.O_RDONLY | flags)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            who = f"process {holder}" if holder.isdigit() else "another process"
            raise CourseBusy(
                f"another grading run ({who}) is working on this course; nothing was done: "
                "wait for it to finish (or stop it), then run this again"
            ) from None
        with contextlib.suppress(OSError):  # read-only: the lock holds without the pid
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
