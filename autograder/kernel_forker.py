"""Inside a grading sandbox: import the kernel's libraries once, then fork a fresh kernel per submission.

A new Python that imports ipykernel, JAX and matplotlib spends about two seconds of CPU before a
student's first cell can run: more than the whole notebook then takes. This process pays that once
per sandbox and then forks: each kernel starts as a copy of it, with everything imported and
nothing of any student in it. It never runs student code itself. It is executed as source text
(the sandbox cannot see the course directory) and obeys one JSON line at a time on stdin:

* `{"fork": [argv...]}`: fork an IPython kernel started with `argv`; answers `{"pid": n}`.
* `{"reset": true}`: kill every process of the sandbox but this one, put the home, /tmp and /dev
  back as they were, remove System V IPC objects; answers `{"clean": true}`, or `{"clean": false}`
  if something survived (the grader then throws the whole sandbox away). The grader itself empties
  the two directories it bound in (its read-only inbox and the sockets'); the sockets' directory
  lies under /dev/shm or /tmp, and its path inside the sandbox is this program's argument.

Nothing of JAX's runtime starts before a fork (its thread pools would not survive one): kernels
initialise it themselves, from the read-only compilation cache. What can be made without a thread
is made here once: the imports, a first figure, and the MLIR context JAX lowers computations in.
"""

import ctypes
import gc
import json
import os
import signal
import stat
import sys
import time

# The sandbox's own writable directories (the sockets' directory, bound in below one, is the grader's to empty).
SCRATCH = ("/home/student", "/tmp", "/dev")  # the home is sandbox.SANDBOX_HOME (this file imports nothing of the course)
GRADER_DIRS = frozenset(sys.argv[1:])  # bound in by the grader, which writes there while kernels run
PR_SET_DUMPABLE = 4
IPC_RMID = 0

_libc = ctypes.CDLL(None, use_errno=True)


def prepare():
    """Import what every kernel needs, without starting a thread or JAX's runtime."""
    # Not dumpable: a kernel, though it runs as the same user, cannot ptrace this process or read
    # its memory and file descriptors through /proc, so no submission can tamper with the next one.
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    import sqlite3  # noqa: F401 (this and the IPython, ipykernel modules: all a kernel imports as it starts)

    import IPython  # noqa: F401
    import IPython.core.completerlib  # noqa: F401
    import IPython.core.oinspect  # noqa: F401
    import IPython.extensions.storemagic  # noqa: F401
    import ipykernel.debugger  # noqa: F401
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    import jax  # noqa: F401
    import jax.numpy  # noqa: F401
    import matplotlib.pyplot as plt
    import matplotlib_inline.backend_inline  # noqa: F401
    import mpl_toolkits.mplot3d  # noqa: F401
    import numpy  # noqa: F401

    share_mlir_contexts()

    figure = plt.figure()
    figure.add_subplot(1, 2, 1).plot([0, 1], [0, 1])
    figure.add_subplot(1, 2, 2, projection="3d")
    plt.close(figure)


def share_mlir_contexts(lowerings=256):
    """Let JAX lower up to `lowerings` computations in one MLIR context, made here, before a kernel exists.

    JAX makes a new context, loading its dialects, for every computation it lowers: about 6 ms each,
    and a notebook's first run lowers a hundred or more. The lowered code is the same in any context;
    a context only grows with what is lowered in it, so after `lowerings` a kernel starts another.
    """
    from jax._src.interpreters import mlir

    make = mlir.make_ir_context
    current = {"context": make(), "left": lowerings}

    def make_ir_context():
        if current["left"] == 0:
            current["context"], current["left"] = make(), lowerings
        current["left"] -= 1
        return current["context"]

    mlir.make_ir_context = make_ir_context


def fork(argv):
    if len(os.listdir("/proc/self/task")) != 1:  # a thread would not survive the fork, nor its locks
        raise RuntimeError("the forker has started a thread: it cannot fork safely")
    pid = os.fork()
    if pid:
        return pid
    try:  # the kernel: from here on this process belongs to a submission
        os.setsid()  # its own process group, which is what an interrupt signals
        _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)  # the forker's command pipes are gone from the kernel
        os.close(devnull)
        os.chdir("/home/student")
        import numpy

        numpy.random.seed()  # a fresh process would not share the forker's random state
        from ipykernel import kernelapp

        kernelapp.launch_new_instance(argv=argv)
    finally:
        os._exit(0)


def others():
    """The processes of this sandbox other than its init and this forker."""
    me = os.getpid()
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) not in (1, me):
            found.append(int(name))
    return found


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_everything_else(seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(-1, signal.SIGKILL)  # everyone this user may signal, but init and the caller
        except ProcessLookupError:
            pass
        reap()
        if not others():
            return True
        time.sleep(0.01)
    return False


def _describe(path):
    info = os.lstat(path)
    kind = stat.S_IFMT(info.st_mode)
    return kind, stat.S_IMODE(info.st_mode), os.readlink(path) if stat.S_ISLNK(info.st_mode) else None


def _walk(top):
    """`os.walk(top)` without entering the grader's directories."""
    for root, dirs, files in os.walk(top):
        dirs[:] = [name for name in dirs if os.path.join(root, name) not in GRADER_DIRS]
        yield root, dirs, files


def snapshot():
    """Every path under the sandbox's own writable directories, as the sandbox started them."""
    seen = {}
    for top in SCRATCH:
        seen[top] = _describe(top)
        for root, dirs, files in _walk(top):
            for name in dirs + files:
                path = os.path.join(root, name)
                seen[path] = _describe(path)
    return seen


def restore_scratch(baseline):
    """Remove what kernels added to the scratch directories and undo what they changed.

    False if something cannot be put back as it was (the grader then starts a new sandbox).
    """
    clean = True
    for path, (kind, mode, _) in baseline.items():  # first, permissions back as they were
        try:
            if kind != stat.S_IFLNK and stat.S_IMODE(os.lstat(path).st_mode) != mode:
                os.chmod(path, mode)
        except OSError:
            clean = False
    for top in SCRATCH:
        for root, dirs, _ in _walk(top):  # then open up what a kernel may have locked
            for name in dirs:
                path = os.path.join(root, name)
                if path not in baseline and not os.path.islink(path):
                    os.chmod(path, 0o700)
        found = [os.path.join(root, name) for root, dirs, files in _walk(top) for name in dirs + files]
        for path in reversed(found):  # what is in a directory before the directory
            if path in baseline:
                continue
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    os.rmdir(path)
                else:
                    os.unlink(path)
            except OSError:
                clean = False
    for path, description in baseline.items():
        try:
            clean &= _describe(path) == description
        except OSError:
            clean = False
    return clean


def remove_ipc_objects():
    """System V shared memory, semaphore sets and message queues outlive the processes that made them."""
    removers = {
        "shm": lambda ident: _libc.shmctl(ident, IPC_RMID, None),
        "sem": lambda ident: _libc.semctl(ident, 0, IPC_RMID),
        "msg": lambda ident: _libc.msgctl(ident, IPC_RMID, None),
    }
    for kind, remove in removers.items():
        try:
            with open(f"/proc/sysvipc/{kind}") as table:
                rows = table.read().splitlines()[1:]  # the sandbox's own IPC namespace
        except OSError:
            continue
        for row in rows:
            fields = row.split()  # key, id, ...
            if len(fields) > 1:
                remove(int(fields[1]))


def reset(baseline):
    clean = kill_everything_else()
    clean &= restore_scratch(baseline)
    remove_ipc_objects()
    return clean


def answer(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def serve():
    if os.getpid() != 2:  # killing "everyone else" is only safe as the first process of its own PID namespace
        sys.exit("the kernel forker runs only as the command of a sandbox with its own PID namespace")
    prepare()
    gc.freeze()  # kernels' collections then leave the imported objects' pages shared with this process
    baseline = snapshot()
    answer({"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        reap()
        if "fork" in request:
            try:
                answer({"pid": fork([str(arg) for arg in request["fork"]])})
            except (RuntimeError, OSError) as error:
                answer({"error": str(error)})
        elif request.get("reset"):
            answer({"clean": reset(baseline)})


serve()
