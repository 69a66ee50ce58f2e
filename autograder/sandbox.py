"""A student's kernel in a bubblewrap sandbox: what it may see, what it may use, and how it ends.

The sandbox has no network, its own PID namespace (so every process a submission starts dies with
it), an unprivileged user, a private home holding only the student's notebook, a private /tmp and
/dev/shm, and read-only access to the Python environment and the system's libraries: nothing else
of the course directory (no `autograder/`, `solutions/`, gradebook or other students). Memory, file
size and, where the machine allows, the number of processes are limited. The home, /tmp and /dev/shm
are small in-memory file systems of a fixed size each: unbounded, a notebook writing files in a loop
filled several GiB of memory (or of the grader's disk, for the home) in seconds.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib


@dataclass(frozen=True)
class Limits:
    """What one submission may use. The defaults suit this assignment on a laptop CPU."""

    cell_seconds: float = 60.0
    submission_seconds: float = 600.0
    memory_bytes: int = 4 << 30  # per process; for a root grader, plus the scratch space, per sandbox
    processes: int = 512  # processes and threads: JAX alone starts a few dozen threads
    file_bytes: int = 64 << 20
    scratch_bytes: int = 256 << 20  # the home, /tmp and /dev/shm, each: in memory, and all a kernel may write
    output_bytes: int = 100_000  # text kept per cell in the graded notebook
    reply_bytes: int = 8 << 20  # largest message the grader accepts from a kernel


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create a sandbox here: `reason`, then what the grader can do."""

    def __init__(self, reason: str, advice: str):
        super().__init__(f"{reason}, so {advice}")
        self.reason = reason


def bubblewrap() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed",
            "student code cannot be isolated. Install the Debian package `bubblewrap` (scripts/setup.sh "
            "does), or pass --no-sandbox to run submissions unisolated, with your own permissions (as "
            "nobody if you are root).",
        )
    if _too_old(path):
        raise SandboxUnavailable(
            f"{path} is older than bubblewrap 0.8.0 (it has no --size)",
            "the sandbox's home, /tmp and /dev/shm could not be given a size and a notebook could fill "
            "the machine's memory with files. Install bubblewrap 0.8.0 or newer (Debian 12, Ubuntu "
            "24.04), or pass --no-sandbox to run submissions unisolated, with your own permissions (as "
            "nobody if you are root).",
        )
    return path


@functools.cache
def _too_old(bwrap: str) -> bool:
    """Whether `bwrap --help` runs and lists no --size; a bwrap that cannot run says why when used."""
    try:
        shown = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return shown.returncode == 0 and "--size" not in shown.stdout + shown.stderr


# One thread per kernel for XLA: the notebook's arrays are tiny, parallel workers already keep every
# core busy, and idle thread pools spinning beside them cost about a tenth of a class's grading time.
XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

SANDBOX_VENV = "/opt/venv"  # where the course's virtual environment appears inside the sandbox
NOBODY = 65534  # the kernel's user, in the sandbox and, for a root grader, outside it too


def _python_binds() -> tuple[list[str], str]:
    """Binds for the kernel's Python, and the interpreter to run there.

    The course's virtual environment lives in the course directory; inside the sandbox it appears
    at /opt/venv, so that not even the course directory's path is visible to student code.
    """
    interpreter = Path(sys.executable).resolve()
    roots = {Path(sys.base_prefix).resolve(), interpreter.parent.parent}
    args: list[str] = []
    for root in sorted(roots):
        args += ["--ro-bind", str(root), str(root)]
    if sys.prefix != sys.base_prefix:
        args += ["--ro-bind", str(Path(sys.prefix).resolve()), SANDBOX_VENV]
        return args, f"{SANDBOX_VENV}/bin/python"
    return args, str(interpreter)


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for path in ("/etc/ld.so.cache", "/etc/alternatives", "/etc/fonts", "/etc/localtime"):
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


def font_cache() -> Path | None:
    """Matplotlib's font list, made once by the grader, so that kernels need not rebuild it."""
    from matplotlib import font_manager

    font_manager.fontManager  # noqa: B018 (building it writes the cache)
    matches = sorted(Path(matplotlib.get_cachedir()).glob("fontlist-*.json"))
    return matches[-1] if matches else None


SANDBOX_JAX_CACHE = "/opt/jax-cache"
SANDBOX_HOME = "/home/student"  # the kernel's working directory
SANDBOX_INBOX = "/home/inbox"  # the grader's files for the kernel, read-only: the notebook is copied home from here


def jax_cache_env(cache: Path | None, writable: bool) -> dict[str, str]:
    """JAX's persistent compilation cache: compiled once, read by every kernel after.

    Student kernels only read it (a huge minimum compile time means they never try to write);
    only the grader's own priming kernel, which runs no student code, writes to it.
    """
    if cache is None:
        return {}
    return {
        "JAX_COMPILATION_CACHE_DIR": str(cache),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0" if writable else "1e9",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1",
    }


def default_jax_cache() -> Path:
    from importlib.metadata import version

    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "intro_ml_autograder" / f"jax-{version('jax')}"


def use_jax_cache_here(cache: Path) -> None:
    """Let this grader process (it runs no student code) read and fill JAX's compilation cache."""
    import jax

    cache.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(cache))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


def command(
    workdir: Path,
    ipc_dir: Path,
    kernel_args: list[str],
    fonts: Path | None,
    jax_cache: Path | None = None,
    prime: bool = False,
    scratch_bytes: int = Limits.scratch_bytes,
) -> list[str]:
    """The bwrap command line that runs `python kernel_args...` in the sandbox; `workdir` is its inbox."""
    args = [
        bubblewrap(),
        "--unshare-all",  # network, PID, IPC, UTS and cgroup namespaces, and a user namespace
        "--die-with-parent",
        "--new-session",
        "--cap-drop", "ALL",
        "--uid", str(NOBODY), "--gid", str(NOBODY),
        "--hostname", "sandbox",
        *_system_binds(),
        "--proc", "/proc",
        "--dev", "/dev",
        *_tmpfs("/dev/shm", scratch_bytes),
        *_tmpfs("/tmp", scratch_bytes),
        "--dir", "/tmp/matplotlib",
    ]
    python_binds, python = _python_binds()
    args += python_binds
    if fonts is not None:
        args += ["--ro-bind", str(fonts), f"/tmp/matplotlib/{fonts.name}"]
    if jax_cache is not None:
        args += ["--bind" if prime else "--ro-bind", str(jax_cache), SANDBOX_JAX_CACHE]
    args += [
        *_tmpfs(SANDBOX_HOME, scratch_bytes, perms="0700"),
        "--ro-bind", str(workdir), SANDBOX_INBOX,
        "--bind", str(ipc_dir), str(ipc_dir),
        "--remount-ro", "/",  # only the home, /tmp, /dev/shm and the sockets are writable
        "--chdir", SANDBOX_HOME,
        "--clearenv",
        "--setenv", "HOME", SANDBOX_HOME,
        "--setenv", "PATH", kernel_path(python),
        "--setenv", "LANG", "C.UTF-8",
        "--setenv", "JAX_PLATFORMS", "cpu",
        "--setenv", "MPLBACKEND", "agg",  # figures are recorded as data; nothing is rendered
        "--setenv", "MPLCONFIGDIR", "/tmp/matplotlib",
        "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
        "--setenv", "OPENBLAS_NUM_THREADS", "1",
        "--setenv", "XLA_FLAGS", XLA_FLAGS,
    ]
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # this machine's workarounds, if any
        if name in os.environ:
            args += ["--setenv", name, os.environ[name]]
    if jax_cache is not None:
        for name, value in jax_cache_env(Path(SANDBOX_JAX_CACHE), prime).items():
            args += ["--setenv", name, value]
    return [*args, "--", python, *kernel_args]


def _tmpfs(path: str, size: int, perms: str | None = None) -> list[str]:
    """An empty in-memory file system of `size` bytes at `path` (bubblewrap 0.8 or newer)."""
    return ["--size", str(size), *(["--perms", perms] if perms else []), "--tmpfs", path]


@functools.cache
def nobody_can_run_kernels() -> bool:
    """Whether this grader, being root, can start an unsandboxed kernel as `nobody` instead of root.

    That needs util-linux's setpriv and a Python environment `nobody` may read (not one under a
    private home directory, say), which one try per process finds out.
    """
    if os.getuid() != 0 or shutil.which("setpriv") is None:
        return False
    try:
        tried = subprocess.run([*nobody_prefix(), sys.executable, "-c", "import ipykernel, jax, matplotlib"],
                               capture_output=True, timeout=120, cwd="/", env={"PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.TimeoutExpired):
        return False
    return tried.returncode == 0


def nobody_prefix() -> list[str]:
    """The command prefix that runs what follows as `nobody`, without groups or ways to regain privileges."""
    return [shutil.which("setpriv") or "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
            "--no-new-privs", "--"]


def unsandboxed_command(kernel_args: list[str], as_nobody: bool) -> list[str]:
    """Python running `kernel_args`, as the grader's user or, for a root grader, as `nobody`."""
    return [*(nobody_prefix() if as_nobody else []), sys.executable, *kernel_args]


SOCKETS_PREFIX = "autograder-ipc-"  # a sockets' directory's name: this, the pid of the process that made it, "-..."
INBOX_PREFIX = "autograder-inbox-"  # the same for the directory a kernel's submission is put in


def sockets_parent() -> Path:
    """Where kernels' sockets' directories are made: in memory (`/dev/shm`) where the machine has that.

    The kernel must be able to write in its directory (ZeroMQ makes its sockets by binding them),
    and a notebook that finds it could write files there as well. On disk those would have no bound
    but the disk; in memory they count against the sandbox's memory cgroup where the grader has one,
    and against `/dev/shm`'s own size otherwise; the grader empties the directory after every
    submission either way.
    """
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else Path(tempfile.gettempdir())


def _made_here(prefix: str, parent: Path) -> Path:
    """A new directory named after this process (see `remove_orphaned_dirs`)."""
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent))


def sockets_dir() -> Path:
    return _made_here(SOCKETS_PREFIX, sockets_parent())


def inbox_dir() -> Path:
    """A directory for the notebook a kernel runs: read-only in its sandbox, an unsandboxed kernel's home."""
    return _made_here(INBOX_PREFIX, Path(tempfile.gettempdir()))


def empty(folder: Path) -> None:
    """Remove everything in `folder` without following any link a kernel may have left there."""
    folder.chmod(0o700)
    for root, dirs, _ in os.walk(folder):  # open up directories a kernel locked, before entering them
        for name in dirs:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, 0o700)
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)


def remove(folder: Path) -> None:
    """`folder` and everything in it, quietly, as a clean-up.

    A link is removed, not followed. `shutil.rmtree` first: it never follows a link, even one a
    process swaps in while it works, and as root it removes whatever a kernel locked. A grader that
    is not root cannot enter a directory its kernel (the same user) locked: `empty` opens those up.
    """
    try:
        if folder.is_symlink():
            folder.unlink()
            return
        shutil.rmtree(folder)
        return
    except OSError:
        pass
    try:
        empty(folder)
        folder.rmdir()
    except OSError:
        pass


def remove_orphaned_dirs() -> None:
    """Remove the sockets' directories, inboxes and cgroups of grader processes that are gone.

    A grader killed outright (`kill -9`) cannot remove them: what a notebook left in a sockets'
    directory would hold memory until the machine restarts, every inbox keeps a copy of a
    submission, and every cgroup some of the kernel's memory. A directory of a live process, or not
    this user's (or, for root, nobody's: an unsandboxed kernel's), is left alone; so is a cgroup
    that still holds a process after it was killed (the next run tries again).
    """
    owners = {os.getuid(), NOBODY} if os.getuid() == 0 else {os.getuid()}
    for path in graders_dirs():
        try:
            info = path.lstat()
        except OSError:
            continue
        pid = path.name.split("-")[2]
        gone = pid.isdigit() and not Path(f"/proc/{pid}").exists()
        if gone and stat.S_ISDIR(info.st_mode) and info.st_uid in owners:
            if path.is_relative_to(CGROUPS):
                _remove_cgroup(path)
            else:
                remove(path)


def graders_dirs() -> list[Path]:
    """Every sockets' directory, inbox and cgroup of a grader on this machine, alive or gone; each name
    is a prefix "autograder-<kind>-", the pid of the grader process that made it, and "-..."."""
    return [*sockets_parent().glob(f"{SOCKETS_PREFIX}*"), *Path(tempfile.gettempdir()).glob(f"{INBOX_PREFIX}*"),
            *CGROUPS.glob(f"*/{CGROUP_PREFIX}*")]


def hand_over(*paths: Path) -> None:
    """Give `nobody` a kernel's working and socket directories (and what is already in them)."""
    for path in paths:
        os.chown(path, NOBODY, NOBODY)
        for entry in path.iterdir():
            os.chown(entry, NOBODY, NOBODY, follow_symlinks=False)


def kernel_path(python: str) -> str:
    """A kernel's PATH, sandboxed or not: the environment's own programs and the system's, not the grader's."""
    return f"{Path(python).parent}:/usr/bin:/bin"


def unsandboxed_env(workdir: Path, jax_cache: Path | None = None, prime: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JPY_", "JUPYTER_", "JAX_"))}
    env.update(HOME=str(workdir), JAX_PLATFORMS="cpu", MPLBACKEND="agg", PYTHONDONTWRITEBYTECODE="1",
               XLA_FLAGS=XLA_FLAGS, PATH=kernel_path(sys.executable))
    env.update(jax_cache_env(jax_cache, prime))
    return env


def _limited(cmd: list[str], limits: Limits) -> list[str]:
    """`cmd` under resource limits, set by util-linux's prlimit (no Python runs between fork and exec).

    util-linux's choom also makes its processes the first the kernel kills when the machine runs out
    of memory, before the grader and its gradebook.
    """
    args = [
        shutil.which("prlimit") or "prlimit",
        f"--as={limits.memory_bytes}",
        f"--fsize={limits.file_bytes}",
        "--core=0",
    ]
    if os.getuid() != 0:  # root ignores RLIMIT_NPROC: a root grader uses a pids cgroup instead
        args.append(f"--nproc={limits.processes}")
    choom = shutil.which("choom")
    return [*args, "--", *([choom, "-n", "1000", "--"] if choom else []), *cmd]


CGROUPS = Path("/sys/fs/cgroup")  # cgroup v1's controllers, where the machine has them
CGROUP_PREFIX = "autograder-sandbox-"  # a sandbox's cgroup's name under each controller, as SOCKETS_PREFIX


def _cgroups(limits: Limits) -> tuple[Path, ...]:
    """For a root grader, the cgroups one sandbox runs in: what RLIMITs cannot bound.

    A pids cgroup caps its processes (root ignores RLIMIT_NPROC); a memory cgroup caps the memory
    they hold together, in-memory files included (RLIMIT_AS counts one process at a time, and a
    notebook may start hundreds).
    """
    if os.getuid() != 0:
        return ()
    settings = {
        "pids": ("pids.max", limits.processes),
        "memory": ("memory.limit_in_bytes", limits.memory_bytes + 3 * limits.scratch_bytes),
    }
    groups = []
    for controller, (name, value) in settings.items():
        if not (CGROUPS / controller / "cgroup.procs").is_file():
            continue
        try:
            group = _made_here(CGROUP_PREFIX, CGROUPS / controller)
        except OSError:
            continue
        try:
            (group / name).write_text(str(value))
        except OSError:
            group.rmdir()
            continue
        groups.append(group)
    return tuple(groups)


def start(
    cmd: list[str], limits: Limits, env: dict[str, str] | None = None, pipes: bool = False, cwd: Path | None = None
) -> tuple[subprocess.Popen, tuple[Path, ...]]:
    """Start `cmd` under the limits; the cgroups it runs in, if any, are returned with it.

    With `pipes`, the process's stdin and stdout are pipes to the caller (a forker's commands). An
    unsandboxed kernel gets its working directory as `cwd` (a sandbox sets its own).
    """
    groups = _cgroups(limits)
    cmd = _limited(cmd, limits)
    if groups:  # join the cgroups before exec, so that every descendant is counted
        join = " && ".join(f"echo $$ > {shlex.quote(str(group / 'cgroup.procs'))}" for group in groups)
        cmd = ["/bin/sh", "-c", join + ' && exec "$@"', "sh", *cmd]
    process = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
        stdout=subprocess.PIPE if pipes else subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # one process group to signal at the end, whatever the sandbox does
        env=env if env is not None else {"PATH": "/usr/bin:/bin"},
        cwd=cwd,
        close_fds=True,
    )
    return process, groups


def stop(process: subprocess.Popen, groups: tuple[Path, ...] = ()) -> None:
    """End the sandbox and everything in it: its PID namespace dies with bwrap's first process."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    for group in groups:
        for _ in range(50):
            if _remove_cgroup(group):
                break
            time.sleep(0.1)


def _remove_cgroup(group: Path) -> bool:
    """Kill what is left in `group` and remove it; False if it still holds a process (or cannot be read)."""
    try:
        for pid in (group / "cgroup.procs").read_text().split():
            os.kill(int(pid), signal.SIGKILL)
        group.rmdir()
        return True
    except (OSError, ValueError):
        return False
