"""Kernels forked one after another in the same warm sandbox: nothing of one submission reaches the next.

One worker grades, in this order, a submission that leaves traces everywhere it can write (files in
every writable directory, locked directories, changed permissions, POSIX and System V shared
memory, a process in its own session, symlinks planted where the grader will write the next
connection files), two that look for those traces, one that kills the sandbox's forker, two
model answers, and one that lowers more computations than one shared MLIR context is used for.
With spare kernels a worker uses its two sandboxes in turn, so each later submission runs where an
earlier one did.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder import sandbox
from autograder.kernel import Kernel, RemoteStudent
from autograder.sandbox import Limits
from autograder.warm_sandbox import WarmSandbox
from conftest import make_course
from submissions import EXPECTED_FULL, Submission, notebook

MARK = "poison-4242"
SYSV_KEY = 0x4242
LEAVES_TRACES = rf"""
import os, subprocess
from multiprocessing import shared_memory
MARK = {MARK!r}
SYSV_KEY = {SYSV_KEY}
for folder in ['/tmp', '/tmp/matplotlib', '/dev', '/dev/shm', os.path.expanduser('~'), '.']:
    try:
        with open(os.path.join(folder, MARK), 'w') as f:
            f.write('left behind')
    except OSError as error:
        print('could not write in', folder, type(error).__name__)
os.makedirs(f'/tmp/{{MARK}}-dir/inner', exist_ok=True)
open(f'/tmp/{{MARK}}-dir/inner/file', 'w').write('x')
os.chmod(f'/tmp/{{MARK}}-dir/inner', 0)
os.chmod(f'/tmp/{{MARK}}-dir', 0)
os.chmod('/tmp/matplotlib', 0)
os.chmod('/tmp', 0o500)
memory = shared_memory.SharedMemory(name=MARK + '-shm', create=True, size=64)
import ctypes
ctypes.CDLL(None).shmget(SYSV_KEY, 4096, 0o1000 | 0o600)  # IPC_CREAT: System V memory, kept by the kernel
import ipykernel.connect
sockets = os.path.dirname(ipykernel.connect.get_connection_file())
planted = 0
for n in range(1, 30):
    for name in [f'kernel-{{n}}.json'] + [f'k{{n}}-{{port}}' for port in range(1, 6)]:
        try:
            os.symlink(f'/tmp/{{MARK}}-host-{{n}}', os.path.join(sockets, name))
            planted += 1
        except OSError:
            pass
daemon = subprocess.Popen(['python', '-c', 'import time; time.sleep(424242)'], start_new_session=True)
print('LEFT', planted, 'symlinks and process', daemon.pid)
print('FORKER STARTED', open('/proc/2/stat').read().rsplit(')', 1)[1].split()[19])
"""

LOOKS_FOR_TRACES = rf"""
import json, os
MARK = {MARK!r}
SYSV_KEY = {SYSV_KEY}
found = []
for top in ['/tmp', '/dev', os.path.expanduser('~'), '.']:
    for root, dirs, files in os.walk(top):
        found += [os.path.join(root, name) for name in dirs + files if MARK in name]
lingering = []
for pid in os.listdir('/proc'):
    if pid.isdigit():
        try:
            if b'424242' in open(f'/proc/{{pid}}/cmdline', 'rb').read():
                lingering.append(int(pid))
        except OSError:
            pass
forker = set()  # pid 2 is the forker: its command pipes and memory
for path, mode in [('/proc/2/fd/0', 'rb'), ('/proc/2/fd/1', 'wb'), ('/proc/2/mem', 'rb'), ('/proc/2/environ', 'rb')]:
    try:
        open(path, mode).close()
        forker.add('opened ' + path)
    except OSError as error:
        forker.add(type(error).__name__)
forker = sorted(forker)
system_v = [row.split()[0] for row in open('/proc/sysvipc/shm').read().splitlines()[1:]]
found += ['System V memory'] if str(SYSV_KEY) in system_v else []
modes = {{path: oct(os.stat(path).st_mode & 0o777) for path in ['/tmp', '/tmp/matplotlib']}}
print('SNOOP ' + json.dumps({{'found': found, 'lingering': lingering, 'forker': forker, 'modes': modes}}))
print('FORKER STARTED', open('/proc/2/stat').read().rsplit(')', 1)[1].split()[19])
"""

KILLS_THE_FORKER = "import os, signal\nos.kill(2, signal.SIGKILL)"

# More distinct computations than one MLIR context made by the forker is used for (256).
LOWERS_MANY = """
import jax
from jax._src.interpreters import mlir
before = mlir.make_ir_context()
values = [float(jax.jit(lambda v, k=k: v * k)(2.0)) for k in range(300)]
after = mlir.make_ir_context()
print('LOWERED', values == [2.0 * k for k in range(300)], after is mlir.make_ir_context(), after is not before)
"""

# Graded in this order by one worker.
CLASS = {
    "a_leaves_traces": LEAVES_TRACES,
    "b_looks_for_traces": LOOKS_FOR_TRACES,
    "c_looks_for_traces": LOOKS_FOR_TRACES,
    "d_kills_the_forker": KILLS_THE_FORKER,
    "e_model": None,
    "f_model": None,
    "g_lowers_many": LOWERS_MANY,
}


def with_last_cell(name: str, code: str | None) -> nbformat.NotebookNode:
    nb = notebook(Submission(name, "a model answer, then one more cell of its own"))
    if code is not None:
        nb.cells.append(nbformat.v4.new_code_cell(code))
    return nb


@pytest.fixture(scope="module", params=[[], ["--spare-kernels"]], ids=["one_sandbox", "spare_kernels"])
def graded(tmp_path_factory, request) -> Path:
    course = make_course(tmp_path_factory.mktemp("warm"))
    for name, code in CLASS.items():
        folder = course / "submitted" / name / "intro_ml"
        folder.mkdir(parents=True)
        nbformat.write(with_last_cell(name, code), folder / "intro_ml.ipynb")
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", "intro_ml", "--workers", "1", "--no-pages",
                          *request.param],
                         cwd=course, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return course


def scores(course: Path, name: str) -> dict[str, float]:
    results = json.loads((course / "autograded" / name / "intro_ml" / "results.json").read_text())
    return {test["name"].removesuffix("_test"): test["score"] for test in results["tests"]}


def printed(course: Path, name: str, prefix: str) -> str:
    """What the submission's own last cell printed on the line starting with `prefix`."""
    nb = nbformat.read(course / "autograded" / name / "intro_ml" / "intro_ml.ipynb", as_version=4)
    for output in nb.cells[-1].outputs:
        for line in output.get("text", "").splitlines():
            if line.startswith(prefix):
                return line.removeprefix(prefix)
    raise AssertionError(f"{name} printed no {prefix!r}: {nb.cells[-1].outputs}")


def snoop(course: Path, name: str) -> dict:
    return json.loads(printed(course, name, "SNOOP "))


def test_the_traces_were_really_left(graded):
    """Otherwise finding nothing afterwards would prove nothing."""
    planted, _, _, _, pid = printed(graded, "a_leaves_traces", "LEFT ").split()
    assert int(planted) > 0 and int(pid) > 0


@pytest.mark.parametrize("name", ["b_looks_for_traces", "c_looks_for_traces"])
def test_the_next_submissions_find_nothing_left_behind(graded, name):
    seen = snoop(graded, name)
    assert seen["found"] == []
    assert seen["lingering"] == []
    assert seen["modes"] == {"/tmp": "0o755", "/tmp/matplotlib": "0o755"}


@pytest.mark.parametrize("name", ["b_looks_for_traces", "c_looks_for_traces"])
def test_a_kernel_cannot_look_into_the_forker(graded, name):
    assert snoop(graded, name)["forker"] == ["PermissionError"]


def test_the_sandbox_was_cleaned_not_replaced(graded):
    """The submission two after the poisoner ran in the very sandbox it poisoned (same forker), so
    what the snoopers did not find was removed by the reset, not thrown away with a new sandbox."""
    assert printed(graded, "c_looks_for_traces", "FORKER STARTED ") == printed(graded, "a_leaves_traces", "FORKER STARTED ")


def test_planted_symlinks_never_lead_the_grader_to_write_outside(graded):
    assert not list(Path("/tmp").glob(f"{MARK}-host-*"))


def test_kernels_lower_in_the_forkers_mlir_context_and_move_on_to_new_ones(graded):
    assert printed(graded, "g_lowers_many", "LOWERED ") == "True True True"  # right, shared, renewed


@pytest.mark.parametrize("name", list(CLASS))
def test_every_submission_is_graded_on_its_own_merits(graded, name):
    assert scores(graded, name) == EXPECTED_FULL


def test_removing_a_kernels_directory_never_follows_a_link_swapped_in_for_it(tmp_path):
    """A directory a kernel owned may have become a link to somewhere else by the time it is removed."""
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "locked").mkdir(parents=True)
    (elsewhere / "precious").write_text("keep")
    (elsewhere / "locked").chmod(0o500)
    modes = {path: path.stat().st_mode for path in (elsewhere, elsewhere / "locked")}
    swapped = tmp_path / f"{sandbox.INBOX_PREFIX}1-swapped"
    swapped.symlink_to(elsewhere)
    sandbox.remove(swapped)
    assert not swapped.is_symlink() and (elsewhere / "precious").read_text() == "keep"
    assert {path: path.stat().st_mode for path in modes} == modes

    kernels_own = tmp_path / f"{sandbox.INBOX_PREFIX}1-locked"
    (kernels_own / "inner").mkdir(parents=True)
    (kernels_own / "inner" / "file").write_text("x")
    (kernels_own / "inner").chmod(0)
    sandbox.remove(kernels_own)
    assert not kernels_own.exists()


@contextlib.contextmanager
def warm_sandbox(cell_seconds: float):
    """A sandbox of the grader's own, warm, and the limits its kernels run under."""
    limits = Limits(cell_seconds=cell_seconds)
    warm = WarmSandbox(limits, sandbox.font_cache(), sandbox.default_jax_cache())
    try:
        yield limits, warm
    finally:
        warm.close()


def test_a_kernel_runs_its_first_cell_at_once_without_a_warm_up():
    """A kernel's IOPub subscription connects after the kernel starts publishing; a cell sent before
    it did would lose its end and seem to run until its time limit (a third of the kernels did, before
    the grader waited for IOPub too, when nothing ran between the start and the first cell)."""
    with warm_sandbox(cell_seconds=5) as (limits, warm):
        for _ in range(8):
            with Kernel(limits, None, warm=warm) as kernel:
                ran = kernel.execute("1 + 1")
                assert (ran.status, ran.outputs[-1]["data"]["text/plain"]) == ("ok", "2")


def test_a_thread_left_printing_waits_once_its_cells_output_is_cut():
    """A thread printing in a loop, its output cut, would spin and hold the interpreter from the
    notebook's cells and the grader's calls; from the cut on it waits on each print instead. In the
    second of a cell that sleeps it fills at most the cell's output (about 2,300 prints of 440
    characters), then prints a few times: without the wait, hundreds of thousands of times."""
    with warm_sandbox(cell_seconds=30) as (limits, warm), Kernel(limits, None, warm=warm) as kernel:
        started = kernel.execute("import threading, time\nprints = [0]\ndef chatter():\n    while True:\n"
                                 "        print('still here ' * 40)\n        prints[0] += 1\n"
                                 "threading.Thread(target=chatter, daemon=True).start()")
        slept = kernel.execute("before = prints[0]\ntime.sleep(1)\nduring = prints[0] - before")
        assert (started.status, slept.status) == ("ok", "ok")
        during = int(kernel.ask("during").text)
        assert 0 < during < 3_000, during
        assert any("output cut" in output.get("text", "") for output in slept.outputs)


def test_an_answer_brings_what_a_kept_stream_wrote_to_stderr_and_swallows_sys_stderr():
    """Under nbgrader a check's call runs in the test cell with `sys.stderr` sent to stdout, but a
    stream kept before (a logging handler's) still writes to stderr, which fails the cell: the
    grader hears of the second, not of the first."""
    with warm_sandbox(cell_seconds=30) as (limits, warm), Kernel(limits, None, warm=warm) as kernel:
        defined = kernel.execute("import sys\nkept = sys.stderr\ndef noisy(n):\n"
                                 "    print('swallowed', file=sys.stderr)\n    print('kept', n, file=kept)\n    return n\n"
                                 "def quiet(n):\n    print('swallowed', file=sys.stderr)\n    return n")
        assert defined.status == "ok"
        student = RemoteStudent(kernel, {}, deadline=time.monotonic() + 600)
        assert student.call("quiet", 1) == 1 and student.stderr == ""
        assert student.call("noisy", 2) == 2 and student.stderr == "kept 2\n"


def test_figures_close_as_under_the_inline_backend():
    """`plt.show()` closes what it shows, and a call of the student's code closes the figures it
    made: the next cell's `plt.plot` starts a figure of its own, which the grader then sees."""
    with warm_sandbox(cell_seconds=30) as (limits, warm), Kernel(limits, None, warm=warm) as kernel:
        shown = kernel.execute("import matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()\n"
                               "open_after_show = len(plt.get_fignums())\n"
                               "def draws():\n    plt.plot([0, 1], [1, 0])\n    return len(plt.get_fignums())")
        assert shown.status == "ok" and kernel.ask("open_after_show").text == "0"
        student = RemoteStudent(kernel, {}, deadline=time.monotonic() + 600)
        assert student.call("draws") == 1
        drawn = kernel.execute("plt.scatter([0, 1], [2, 3])")
        assert drawn.status == "ok"
        figures = RemoteStudent(kernel, {"scatter": drawn.execution_count}, time.monotonic() + 600).figures("scatter")
        assert [(points.tolist(), len(axes.lines)) for figure in figures for axes in figure.axes
                for points in axes.points] == [([[0.0, 2.0], [1.0, 3.0]], 0)]


def test_the_checks_of_a_question_ask_once_for_a_cells_figures_and_again_of_a_new_kernel():
    """What a finished cell drew was recorded when it ended: checks that each read it cost the kernel
    one request, not one each; a new kernel, which numbers the cells it runs anew, is asked again."""
    scatter = "import matplotlib.pyplot as plt\nplt.scatter({}, {})"

    def points(figures):
        return [p.tolist() for figure in figures for axes in figure.axes for p in axes.points]

    with warm_sandbox(cell_seconds=30) as (limits, warm):
        with Kernel(limits, None, warm=warm) as kernel:
            drawn = kernel.execute(scatter.format([0, 1], [2, 3]))
            student = RemoteStudent(kernel, {"scatter": drawn.execution_count}, time.monotonic() + 600)
            asked = []
            ask = kernel.ask
            kernel.ask = lambda expression, timeout=None: asked.append(expression) or ask(expression, timeout)
            assert points(student.figures("scatter")) == points(student.figures("scatter")) == [[[0.0, 2.0], [1.0, 3.0]]]
            assert len(asked) == 1
        with Kernel(limits, None, warm=warm) as replacing:
            redrawn = replacing.execute(scatter.format([5, 6], [7, 8]))
            assert redrawn.execution_count == drawn.execution_count
            student.kernel = replacing
            assert points(student.figures("scatter")) == [[[5.0, 7.0], [6.0, 8.0]]]


def test_a_thread_left_printing_outlives_the_graders_calls():
    """A call's prints are swallowed by making another stream `sys.stdout` for the call; a thread
    printing meanwhile may start a print during the call and end it after, and Python 3.11's `print()`
    holds its stream by a borrowed reference. With a stream made for each call and freed after it, the
    thread died within the first two calls ("I/O operation on uninitialized object", a traceback that
    then failed the next test cell's public check for stderr), or the kernel crashed."""
    with warm_sandbox(cell_seconds=30) as (limits, warm), Kernel(limits, None, warm=warm) as kernel:
        started = kernel.execute("import threading\ndef chatter():\n    while True:\n        print('still', 'here')\n"
                                 "thread = threading.Thread(target=chatter, daemon=True)\nthread.start()\n"
                                 "def work(n):\n    return sum(i * i for i in range(n))")
        assert started.status == "ok"
        student = RemoteStudent(kernel, {}, deadline=time.monotonic() + 600)
        for _ in range(60):
            assert student.call("work", 300_000) == sum(i * i for i in range(300_000))
        after = kernel.execute("import time\ntime.sleep(0.2)")  # the thread's prints fill its output
        assert (after.status, after.wrote_stderr) == ("ok", False)
        assert kernel.ask("thread.is_alive()").text == "True"
