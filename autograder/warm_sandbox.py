"""A long-lived grading sandbox whose forker starts a fresh kernel for each submission in turn.

Starting a sandboxed Python that imports ipykernel, JAX and matplotlib costs about two seconds of
CPU per submission. A worker instead keeps one sandbox, whose first process (`kernel_forker.py`)
has imported all that once, and asks it for a kernel per submission: a fork, ready in a fraction
of a second. Between two submissions the forker kills every other process of the sandbox and
empties every directory a kernel could write, so a submission finds nothing of the one before;
if anything survives, or the forker stops answering, the whole sandbox is thrown away and a new one
started. Only one kernel lives in a sandbox at a time.
"""

from __future__ import annotations

import json
import os
import select
import time
from pathlib import Path

from autograder import sandbox
from autograder.sandbox import Limits

FORKER_SOURCE = (Path(__file__).resolve().parent / "kernel_forker.py").read_text()
MAX_ANSWER = 4096  # bytes in one line from the forker


class ForkerFailed(RuntimeError):
    """The forker did not answer as it should: its sandbox is not trusted any more."""


class ForkedKernelProcess:
    """A kernel forked in a warm sandbox, seen from the grader: alive or not, and how to end it."""

    def __init__(self, owner: WarmSandbox, host_pid: int | None):
        self._owner = owner
        self._pid = host_pid

    def alive(self) -> bool:
        if self._pid is None:
            return False
        try:
            state = Path(f"/proc/{self._pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state not in ("Z", "X")

    def stop(self) -> None:
        """End the kernel and everything it started, and clean the sandbox for the next one."""
        self._pid = None
        self._owner.reset()


class WarmSandbox:
    """One sandbox, its forker and its private directories, for one grading worker."""

    def __init__(self, limits: Limits, fonts: Path | None, jax_cache: Path | None):
        self._limits, self._fonts, self._jax_cache = limits, fonts, jax_cache
        self.workdir = sandbox.inbox_dir()
        self.ipc = sandbox.sockets_dir()
        self._forks = 0
        self._process = None
        self._start()

    def _start(self) -> None:
        """Start the sandbox; its forker's imports go on while the grader does other things."""
        command = sandbox.command(self.workdir, self.ipc, ["-c", FORKER_SOURCE, str(self.ipc)], self._fonts,
                                  self._jax_cache, scratch_bytes=self._limits.scratch_bytes)
        self._process, self._cgroups = sandbox.start(command, self._limits, pipes=True)
        self._buffer = b""
        self._ready = False

    def _wait_until_ready(self) -> None:
        if not self._ready:
            self._answer("ready", timeout=120)
            self._ready = True

    def connection_file(self) -> tuple[Path, str]:
        """A new connection file's path and the socket prefix to write in it, unique in this sandbox."""
        self._forks += 1
        return self.ipc / f"kernel-{self._forks}.json", str(self.ipc / f"k{self._forks}")

    def fork(self, argv: list[str]) -> ForkedKernelProcess:
        """A kernel started with `argv`, in a sandbox that is empty but for the grader's files.

        A forker that cannot fork is replaced once; if the new one cannot either, ForkerFailed.
        """
        for attempt in (1, 2):
            try:
                if self._process.poll() is not None:
                    raise ForkerFailed("the sandbox ended")
                self._wait_until_ready()
                self._send({"fork": argv})
                pid = self._answer("pid", timeout=30)
                return ForkedKernelProcess(self, self._host_pid(int(pid)))
            except ForkerFailed:
                if attempt == 2:
                    raise
                self._restart()

    def reset(self) -> None:
        """Kill the kernel and all it started, and empty the sandbox; a new sandbox if that fails."""
        try:
            if self._process.poll() is not None:
                raise ForkerFailed("the sandbox ended")
            self._wait_until_ready()
            self._send({"reset": True})
            if self._answer("clean", timeout=30) is not True:
                raise ForkerFailed("something of the last submission survived")
            for folder in (self.workdir, self.ipc):  # nothing runs in the sandbox now: empty them
                sandbox.empty(folder)
        except (ForkerFailed, OSError):
            self._restart()

    def close(self) -> None:
        self._stop_sandbox()
        sandbox.remove(self.workdir)
        sandbox.remove(self.ipc)

    # ------------------------------------------------------------ the forker's pipes

    def _restart(self) -> None:
        self._stop_sandbox()
        for folder in (self.workdir, self.ipc):
            sandbox.empty(folder)
        self._start()

    def _stop_sandbox(self) -> None:
        if self._process is not None:
            for pipe in (self._process.stdin, self._process.stdout):
                try:
                    pipe.close()
                except OSError:
                    pass
            sandbox.stop(self._process, self._cgroups)

    def _send(self, message: dict) -> None:
        try:
            self._process.stdin.write(json.dumps(message).encode() + b"\n")
            self._process.stdin.flush()
        except OSError as error:
            raise ForkerFailed(f"the forker is gone ({error})") from None

    def _answer(self, key: str, timeout: float):
        """The value of `key` in the forker's next line, read within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        fd = self._process.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ForkerFailed(f"the forker did not answer within {timeout:g} s")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, MAX_ANSWER)
                if not chunk:
                    raise ForkerFailed("the forker ended")
                self._buffer += chunk
                if len(self._buffer) > MAX_ANSWER:
                    raise ForkerFailed("the forker's answer is too long")
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
            return message[key]
        except (ValueError, KeyError, TypeError):
            raise ForkerFailed(f"the forker answered {line[:100]!r}") from None

    def _host_pid(self, namespace_pid: int) -> int | None:
        """The grader's view of a sandbox process known inside by `namespace_pid`."""
        todo = [self._process.pid]
        while todo:
            pid = todo.pop()
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("NSpid:"):
                    ids = line.split()[1:]
                    if len(ids) > 1 and int(ids[-1]) == namespace_pid:
                        return pid
            todo += [int(child) for child in children]
        return None
