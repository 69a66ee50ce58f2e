"""Hostile and broken submissions for the isolated grader, each with the score it must still get.

Answers not named here are the model's, so each case shows that exactly its own damage is contained.
`SECRETS` are strings that no graded output may contain: they only exist in the course directory.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from submissions import BY_NAME as HONEST
from submissions import EXPECTED_FULL, Submission, model_answers, notebook

# Fragments of the course's hidden files; a graded notebook showing any of them has leaked.
SECRETS = (
    "def reference_fit",  # autograder/checks/test_least_squares.py
    "HIDDEN_DATA_SETS",
    "def loss_at_points",  # solutions/intro_ml.py
    "Model answer",  # solutions/gradient_tuple.md
    "SQLite format 3",  # gradebook.db
    "test_least_squares.py",
    "gradient_tuple.md",
)
# A root grader on a machine with cgroup v1's memory controller caps what a sandbox holds in all.
MEMORY_CAPPED = os.getuid() == 0 and Path("/sys/fs/cgroup/memory/cgroup.procs").is_file()
# Arguments of processes a submission tries to leave running; none may exist after grading.
LINGERING = ("987654", "987653", "987652", "987651")


@dataclass(frozen=True)
class Hostile:
    name: str
    story: str
    answers: dict[str, str] = field(default_factory=dict)
    lost: dict[str, float] = field(default_factory=dict)
    mutate: Callable | None = None  # edits the whole notebook after the answers are in (or returns the file)
    raw: bytes | None = None  # a file that is not (quite) a notebook
    says: str = ""  # words the feedback of the first question that lost points must contain
    notes: dict[str, str] = field(default_factory=dict)  # grade id -> words of the grader's note its test ends with
    ungradable: bool = False
    file: bytes = b"intro_ml.ipynb"  # the name it is submitted under (bytes: it need not be UTF-8)

    def expected(self) -> dict[str, float]:
        if self.ungradable:
            return {grade_id: 0 for grade_id in EXPECTED_FULL}
        return {grade_id: self.lost.get(grade_id, full) for grade_id, full in EXPECTED_FULL.items()}

    def content(self) -> bytes:
        if self.raw is not None:
            return self.raw
        nb = notebook(Submission(self.name, self.story, self.answers))
        if self.mutate is not None:
            nb = self.mutate(copy.deepcopy(nb))
        return nb if isinstance(nb, bytes) else nbformat.writes(nb).encode()


def notes_missing(hostile: Hostile, graded: Path) -> list[str]:
    """The grader's notes on how answers were found (`restore.notes_in`) that are not where they belong
    in a graded folder: at the end of the test's feedback in results.json, and just above the answer
    in the graded notebook, where formgrader shows it."""
    outputs = {t["name"]: t["output"] for t in json.loads((graded / "results.json").read_text())["tests"]}
    cells = nbformat.read(graded / "intro_ml.ipynb", as_version=4).cells
    missing = []
    for grade_id, words in hostile.notes.items():
        _, noted, note = outputs[f"{grade_id}_test"].rpartition("\n  Note: ")
        if not noted or words not in note:
            missing.append(f"{grade_id}_test's feedback: {outputs[f'{grade_id}_test']!r}")
        answer = next(i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
        above = cells[answer - 1].source
        if not (above.startswith("**Grader's note:**") and words.lower() in above.lower()):  # a capital there
            missing.append(f"above the {grade_id} answer: {above[:200]!r}")
    return missing


def _cells(nb, grade_id):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]


def edit_locked_cells(nb):
    """Rewrite the data, the loss and a test cell, and give that test cell 100 points."""
    _cells(nb, "data")[0].source = "x = jnp.zeros(100)\ny = jnp.zeros(100)"
    _cells(nb, "loss")[0].source = "def loss(params, x, y):\n    return 0.0"
    test = _cells(nb, "least_squares_test")[0]
    test.source = "3.0"
    test.metadata["nbgrader"]["points"] = 100
    return nb


def delete_given_and_test_cells(nb):
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in
                ("data", "network", "plot_data_test", "one_epoch_test")]
    return nb


def delete_answer_cell(nb):
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "least_squares"]
    return nb


PROCESS_BOMB = """
import subprocess
started = []
try:
    for _ in range(5000):
        started.append(subprocess.Popen(['sleep', '987651']))
except OSError as error:
    print('stopped after', len(started), 'processes:', type(error).__name__)
"""


def process_bomb_at_the_end(nb):
    nb.cells.append(nbformat.v4.new_code_cell(PROCESS_BOMB))
    return nb


def scratch_cells(nb):
    """Add cells of one's own: a helper the answer below uses, and a markdown note."""
    index = nb.cells.index(_cells(nb, "x2")[0])
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell("def pair_for(total):\n    return (0.0, total ** 0.5)"))
    nb.cells.insert(index + 2, nbformat.v4.new_markdown_cell("My own notes."))
    return nb


def x64_before_the_data(nb):
    """64-bit floats enabled in a cell of one's own at the top: the given data cell then draws other
    random numbers, and every answer computed on them differs from the reference's."""
    nb.cells.insert(0, nbformat.v4.new_code_cell("import jax\njax.config.update('jax_enable_x64', True)"))
    return nb


def mangled_around_the_cells(nb):
    """What an editor or a merge can leave: outputs and counts that are no such thing, metadata that
    is not a mapping, an entry in the cell list that is not a cell. Every cell's code is intact."""
    data = json.loads(nbformat.writes(nb))
    for cell in data["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = "<<<<<<< HEAD", "7"
    data["cells"][0]["metadata"] = "lost in a merge"
    data["cells"].insert(1, 42)
    data["metadata"] = ["not", "a", "mapping"]
    return json.dumps(data).encode()  # no longer a notebook nbformat would write


def copied_cell_ids(nb):
    """Cells copied around in an editor: most share one id, the rest have none (a 4.5 notebook
    needs one on every cell, each different)."""
    data = json.loads(nbformat.writes(nb))
    for index, cell in enumerate(data["cells"]):
        if index % 3:
            cell["id"] = "copied-cell"
        else:
            del cell["id"]
    return json.dumps(data).encode()


def copied_answer_cells(nb):
    """Answer cells copied (metadata and all) to try again in the copy: the first tries stay above.
    And one copied below its test cell, for a try the student left there (the notebook ran its test
    on the answer above it; nbgrader alone would grade the copy)."""
    for grade_id, first_try in (("least_squares", "def least_squares(x, y):\n    return 0.0, 0.0"),
                                ("plot_data", "plt.scatter(x, y)")):
        answer = _cells(nb, grade_id)[0]
        attempt = copy.deepcopy(answer)
        attempt.source, attempt.id = first_try, f"{grade_id}-first-try"  # Jupyter gives a copy an id of its own
        nb.cells.insert(nb.cells.index(answer), attempt)
    below = copy.deepcopy(_cells(nb, "x2_25")[0])
    below.source, below.id = "beta_25 = (1.0, 1.0)  # another try", "x2_25-below-its-test"
    nb.cells.insert(nb.cells.index(_cells(nb, "x2_25_test")[0]) + 1, below)
    return nb


def metadata_lost(nb):
    """Every cell without metadata: the release pasted cell by cell into a notebook made afresh, or
    saved by an editor that drops cell metadata (nbgrader issues #424, #1398)."""
    for cell in nb.cells:
        cell.metadata = {}
    return nb


DRAW_FIT = "def draw_fit(b0, b1):\n    plt.scatter(x, y)\n    plt.plot(x, 3*x + 2)\n    plt.plot(x, b0 + b1*x)\n    plt.show()"
LANDSCAPE_GRID = "losses = jnp.array([[loss_fn(x, y, m, b) for b in b_range] for m in m_range])"
LANDSCAPE_PLOT = """B, M = jnp.meshgrid(b_range, m_range)
ax = plt.figure().add_subplot(projection='3d')
ax.plot_surface(B, M, losses)
ax.set_xlabel('b'); ax.set_ylabel('m'); ax.set_zlabel('loss')
plt.show()"""


def metadata_lost_around_own_cells(nb):
    """As `metadata_lost`, with cells of the student's own around the answers: a helper that the
    plot_fit answer calls before it, the landscape's grid and its plot in two cells, a note after."""
    plot_fit = nb.cells.index(_cells(nb, "plot_fit")[0])
    nb.cells.insert(plot_fit, nbformat.v4.new_code_cell(DRAW_FIT))
    landscape = nb.cells.index(_cells(nb, "loss_landscape")[0])
    nb.cells.insert(landscape, nbformat.v4.new_code_cell(LANDSCAPE_GRID))
    nb.cells.insert(landscape + 2, nbformat.v4.new_markdown_cell("A bowl, as expected."))
    return metadata_lost(nb)


def foreign_kernelspec(nb):
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    nb.metadata["language_info"] = {"name": "R"}
    return nb


def with_saved_outputs(nb):
    """As a notebook is saved after training for hours with a progress line per step."""
    line = "Step 0, loss 0.2437 and beta [2.0141 3.0019]\n"
    _cells(nb, "training_loop")[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text=[line] * 660_000)]
    return nb


def fake_test_cells(nb):
    """Add cells claiming to be graded tests worth points, and an extra cell anywhere."""
    fake = nbformat.v4.new_code_cell("1000.0")
    fake.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus_test", "points": 1000, "locked": True,
                                 "solution": False, "schema_version": 3, "task": False}
    nb.cells.insert(3, fake)
    return nb


LOOK_FOR_SECRETS = r"""
import os, sys, glob
found = []
for root in ['/', '/work', '/root', '/home', '/opt', '/srv', os.path.expanduser('~'), '..', '../..']:
    # the relative roots made absolute, or the walk would go down '../../usr' and '../../proc'
    for path, dirs, files in os.walk(os.path.abspath(root)):
        # Python's own libraries hold nothing of the course: not read, nor walked (a long walk would
        # only meet the cell's time limit on a busy machine)
        if path.startswith(('/proc', '/sys', '/usr', '/dev')) or path.count('/') > 8 or 'site-packages' in path or 'lib/python' in path:
            dirs[:] = []
            continue
        for name in files:
            if name.endswith(('.py', '.md', '.db', '.json')):
                try:
                    found.append(path + '/' + name + ':' + open(os.path.join(path, name), errors='replace').read(3000))
                except OSError:
                    pass
for pid in os.listdir('/proc'):
    if pid.isdigit():
        for what in ('cmdline', 'environ', 'cwd'):
            try:
                found.append(open(f'/proc/{pid}/{what}', errors='replace').read() if what != 'cwd' else os.readlink(f'/proc/{pid}/cwd'))
            except OSError:
                pass
found.append(repr(dict(os.environ)))
found.append(repr(sys.path))
for guess in ['solutions', 'autograder']:
    try:
        __import__(guess)
        found.append('imported ' + guess)
    except ImportError:
        pass
print('\n'.join(found)[:90000])
"""

# Whatever of the course the search found, where a grader quotes it: the message of a failing check.
LEAK_IN_AN_ERROR = r"""
leak = [f for f in found if any(w in f for w in ('autograder', 'solution', 'test_', 'HIDDEN', 'SQLite'))]
def grad_of_loss(params, x, y):
    raise RuntimeError('found: ' + ' | '.join(leak)[:3000])
"""

# Without a sandbox on Gradescope, the disk is open: walk it, and every process's working directory,
# for Gradescope's layout (`.../autograder/source/`, the bundle), and quote what it holds in an error.
# Only that layout counts: the machine running the tests has other copies of the course, which a
# Gradescope container does not.
LOOK_FOR_THE_BUNDLE = r"""
import os
found = []
tops = ['/'] + [f'/proc/{pid}/cwd' for pid in os.listdir('/proc') if pid.isdigit()]
for top in tops:
    for path, dirs, files in os.walk(top):
        if path.startswith(('/proc/', '/sys', '/usr', '/dev')) and not top.startswith('/proc'):
            dirs[:] = []
            continue
        if path.count('/') > 10 or 'site-packages' in path or 'lib/python' in path:
            dirs[:] = []
            continue
        if '/autograder/source' in path + os.path.realpath(path):
            found.append(path + '/ holds ' + ', '.join(sorted(dirs + files)))
            for name in files:
                try:
                    found.append(path + '/' + name + ':' + open(os.path.join(path, name), errors='replace').read(300))
                except OSError:
                    pass
def grad_of_loss(params, x, y):
    raise RuntimeError('found: ' + ' | '.join(found)[:3000])
"""

LEAVE_PROCESSES = r"""
import subprocess, os, time
subprocess.Popen(['sleep', '987654'], start_new_session=True)
subprocess.Popen(['setsid', 'sleep', '987653'])  # a session of its own, out of the kernel's
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp('sleep', ['sleep', '987652'])
    os._exit(0)
"""

# Writes up to 1 GiB of files where it works, in /tmp and in /dev/shm (the last two are memory), and
# answers x2_25 rightly only if every one of the three places refused it before that.
FILL_SCRATCH = r"""
import os
refused = []
chunk = b'\0' * (1 << 20)
for where in ('.', '/tmp', '/dev/shm'):
    try:
        for i in range(64):
            with open(f'{where}/fill-{i}', 'wb') as f:
                for _ in range(16):
                    f.write(chunk)
    except OSError:
        refused.append(where)
print('refused in', refused)
beta_25 = (3.0, 4.0) if len(refused) == 3 else (1.0, 1.0)
"""

# Eight processes that each fill 1 GiB (each within the 4 GiB a process may address) and hold it for
# a while; x2_25 is answered rightly only if one of them is killed first (then the rest are ended).
HOG_IN_MANY_PROCESSES = r"""
import os, signal, time
children = []
for i in range(8):
    pid = os.fork()
    if pid == 0:
        block = b'\1' * (1 << 30)
        time.sleep(3)
        os._exit(0)
    children.append(pid)
killed = False
for _ in children:
    pid, status = os.wait()
    if os.WIFSIGNALED(status):
        killed = True
        for other in children:
            try:
                os.kill(other, signal.SIGKILL)
            except ProcessLookupError:
                pass
print('a process was killed' if killed else 'all eight held their GiB')
beta_25 = (3.0, 4.0) if killed else (1.0, 1.0)
"""

# Files written beside the kernel's own sockets, in the one directory of the grader's it may write
# to (ZeroMQ makes sockets there); x2_25 is answered rightly only if the writing is refused before
# 3 GiB. Where the grader caps a sandbox's memory, the kernel may be killed for it instead.
FILL_SOCKETS_DIRECTORY = r"""
import os
from ipykernel.kernelapp import IPKernelApp
where = os.path.dirname(IPKernelApp.instance().abs_connection_file)
chunk = b'\0' * (1 << 20)
written, refused = 0, False
try:
    for i in range(192):
        with open(os.path.join(where, f'fill-{i}'), 'wb') as f:
            for _ in range(16):
                f.write(chunk)
                written += 1
except OSError:
    refused = True
print(f'wrote {written} MiB beside the sockets, then', 'was refused' if refused else 'stopped')
beta_25 = (3.0, 4.0) if refused else (1.0, 1.0)
"""

WRITE_FAKE_RESULTS = r"""
import json, os, sqlite3
fake = {'score': 17, 'tests': []}
targets = ['results.json', '../results.json', '/tmp/results.json', os.path.expanduser('~/gradebook.db'),
               '../../autograded/fake_results/intro_ml/results.json', '../../../gradebook.db',
               '/work/' + 'main/gradebook.db']
for target in targets:
    try:
        os.makedirs(os.path.dirname(target) or '.', exist_ok=True)
        with open(target, 'w') as f:
            json.dump(fake, f)
        print('wrote file number', targets.index(target))
    except OSError as e:
        print('could not write file number', targets.index(target), type(e).__name__)
"""

# Without a sandbox (Gradescope's containers often forbid one), the grader's processes are visible:
# find Gradescope's layout (source/ beside results/), read the solutions, write there, fake the results.
# Only marker files and that layout, so that a failure harms nothing else.
TAMPER_WITH_THE_GRADER = r"""
import json, os
def places(pid):  # where a process works, and any --root it was given (command lines are public)
    try:
        yield os.readlink(f'/proc/{pid}/cwd')
    except OSError:
        pass
    try:
        words = open(f'/proc/{pid}/cmdline').read().split('\0')
        yield os.path.join(words[words.index('--root') + 1], 'source')
    except (OSError, ValueError, IndexError):
        pass
leaked = []
for where in {place for pid in os.listdir('/proc') if pid != str(os.getpid()) for place in places(pid)}:
    results = os.path.join(os.path.dirname(where), 'results')
    if not (os.path.isdir(where + '/autograder') and os.path.isdir(results)):
        continue
    for name in ('solutions/intro_ml.py', 'autograder/checks/test_least' + '_squares.py'):  # not a secret itself
        try:
            leaked.append(open(os.path.join(where, name)).read()[:200])
        except OSError:
            pass
    for target in (where, where + '/autograder', where + '/solutions', results):
        try:
            with open(target + '/TAMPERED', 'x') as f:
                f.write('a submission wrote here')
            print('tampered with', target)
        except OSError:
            pass
    try:
        with open(results + '/results.json', 'w') as f:
            json.dump({'score': 1000, 'tests': []}, f)
    except OSError:
        pass
if leaked:  # the feedback shows a failed cell's error: the hidden files with it
    raise RuntimeError('\n'.join(leaked))
"""

# Graded on its own, with time for the kernel to reclaim memory before it kills (test_isolated_grader).
HOGS_MEMORY_IN_MANY_PROCESSES = Hostile(
    "hogs_memory_in_many_processes", "fills 1 GiB in each of eight processes at once",
    {"x2_25": HOG_IN_MANY_PROCESSES}, lost={} if MEMORY_CAPPED else {"x2_25": 0},
)


def _filled_sockets_directory_loses() -> dict[str, float]:
    """The sockets' directory is in /dev/shm: where the memory cgroup caps the sandbox, the kernel
    is killed in the x2_25 cell (a new kernel goes on without it); elsewhere /dev/shm's size refuses
    the files if it is smaller than 3 GiB (without /dev/shm they go to disk)."""
    if MEMORY_CAPPED:
        return {"x2_25": 0}
    shm = Path("/dev/shm")
    return {} if shm.is_dir() and shutil.disk_usage(shm).free < 3 << 30 else {"x2_25": 0}


FILLS_ITS_SOCKETS_DIRECTORY = Hostile(
    "fills_its_sockets_directory", "writes 3 GiB of files beside its own Jupyter sockets",
    {"x2_25": FILL_SOCKETS_DIRECTORY}, lost=_filled_sockets_directory_loses(),
)

# Graded only by the Gradescope bundle's tests, unsandboxed.
LOOKS_FOR_THE_BUNDLE = Hostile(
    "looks_for_the_bundle", "walks the disk for Gradescope's autograder/source and quotes it in an error",
    {"grad_of_loss": LOOK_FOR_THE_BUNDLE}, {"grad_of_loss": 0, "one_epoch": 0, "training_loop": 0}, says="RuntimeError",
)

HOSTILE = [
    Hostile("infinite_loop_in_cell", "loops forever in the first plotting cell",
            {"plot_data": "while True:\n    pass"}, {"plot_data": 0}, says="stopped"),
    Hostile("infinite_loop_in_function", "grad_of_loss never returns when called",
            {"grad_of_loss": "def grad_of_loss(params, x, y):\n    while True:\n        pass"},
            {"grad_of_loss": 0, "one_epoch": 0, "training_loop": 0}),
    Hostile("memory_hog", "allocates far more memory than allowed before answering",
            {"x2_25": "hog = [bytearray(1 << 30) for _ in range(16)]\nbeta_25 = (3.0, 4.0)"}, {"x2_25": 0}),
    Hostile("kernel_kills_itself", "kills its own kernel in the training cell",
            {"training_loop": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"},
            {"training_loop": 0}, says="the kernel stopped while running this cell"),
    Hostile("ignores_interrupts_in_a_cell", "loops forever in the first plotting cell, deaf to interrupts",
            {"plot_data": "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"},
            {"plot_data": 0}, says="did not respond to the interrupt"),
    Hostile("swallows_keyboard_interrupt", "retries the training forever behind a bare except",
            {"training_loop": "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n    except:\n        pass"},
            {"training_loop": 0}, says="the kernel stopped while running this cell"),
    Hostile("ignores_interrupts_in_a_function", "least_squares turns interrupts off and never returns",
            {"least_squares": "import signal\ndef least_squares(x, y):\n    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
             "    while True:\n        pass"},
            {"least_squares": 0, "plot_fit": 1}, says="beta_0 and beta_1 are not defined"),
    Hostile("kills_its_kernel_in_every_cell", "every answer from x2_25 on kills its own kernel",
            {grade_id: "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
             for grade_id in ("x2_25", "grad_of_loss", "one_epoch", "training_loop", "loss_landscape")},
            {"x2_25": 0, "grad_of_loss": 0, "one_epoch": 0, "training_loop": 0, "loss_landscape": 0},
            says="the kernel stopped while running this cell"),
    Hostile("segfaults_in_a_plot", "crashes its kernel with a segmentation fault in the fitted-line plot",
            {"plot_fit": "import ctypes\nctypes.string_at(0)"}, {"plot_fit": 0}, says="the kernel stopped"),
    Hostile("kills_its_kernel_on_hidden_data", "grad_of_loss kills its kernel when called on other data than x, y",
            {"grad_of_loss": model_answers()["grad_of_loss"] + "\nimport os, signal\n_grad = grad_of_loss\n"
             "def grad_of_loss(params, x_, y_):\n    if x_.shape != x.shape or not bool((x_ == x).all()):\n"
             "        os.kill(os.getpid(), signal.SIGKILL)\n    return _grad(params, x_, y_)"},
            {"grad_of_loss": 0, "one_epoch": 0}, says="kernel"),
    Hostile("kills_its_kernel_when_called", "grad_of_loss kills its kernel whenever it is called",
            {"grad_of_loss": "import os, signal\ndef grad_of_loss(params, x, y):\n    os.kill(os.getpid(), signal.SIGKILL)"},
            {"grad_of_loss": 0, "one_epoch": 0, "training_loop": 0, "loss_landscape": 0},
            says="the kernel stopped while running this cell"),
    Hostile("breaks_its_kernels_messages", "patches json so that its kernel can send no message",
            {"x2_25": "import json\n_real = json.dumps\njson.JSONEncoder.encode = lambda self, o: _real(0)\n"
             "beta_25 = (3.0, 4.0)"}, {"x2_25": 0}),
    Hostile("closes_its_output", "closes its standard output and error after drawing the landscape",
            {"loss_landscape": model_answers()["loss_landscape"] + "\nimport os, sys\nos.close(1)\nos.close(2)\n"
             "sys.stdout = sys.stderr = None"}, {"loss_landscape": 0}, says="stopped"),
    Hostile("asks_for_input", "reads beta_25 with input()",
            {"x2_25": "beta_25 = (float(input('beta_0? ')), 4.0)"}, {"x2_25": 0}, says="StdinNotImplementedError"),
    Hostile("prints_forever_from_a_thread", "leaves a thread printing for the rest of the notebook",
            {"x2_25": "import threading\nbeta_25 = (3.0, 4.0)\n"
             "def chatter():\n    while True:\n        print('still here ' * 40)\n"
             "threading.Thread(target=chatter, daemon=True).start()"}),
    Hostile("system_exit", "raises SystemExit after answering, and calls exit() at the end",
            {"x2_25": "beta_25 = (3.0, 4.0)\nraise SystemExit(0)",
             "loss_landscape": "import sys\nsys.exit(3)"}, {"loss_landscape": 0}),
    Hostile("monkeypatches_numpy_jax_builtins", "patches comparisons everywhere, then answers wrongly",
            {"least_squares": "import numpy as np, jax.numpy as jnp2\n"
             "np.allclose = lambda *a, **k: True\nnp.isclose = lambda a, b, **k: np.ones(np.shape(a), bool)\n"
             "np.isfinite = lambda a: np.ones(np.shape(a), bool)\njnp2.allclose = np.allclose\n"
             "np.testing.assert_allclose = lambda *a, **k: None\n"
             "def least_squares(x, y):\n    return (0.0, 0.0)"},
            {"least_squares": 0}),
    Hostile("fakes_the_agent", "replaces the grader's agent in its kernel with one that always agrees",
            {"x2_25": "import sys\nbeta_25 = 7\nagent = sys.modules['_grading_agent']\n"
             "agent.value = lambda name: '{\"value\": [3.0, 4.0]}'\n"
             "agent.call = lambda name, args: '{\"value\": 1e308}'\n"
             "agent.figures = lambda count=None: '{\"figures\": [{\"axes\": \"lots\"}]}'"},
            {"x2_25": 0, "grad_of_loss": 0, "one_epoch": 0, "training_loop": 0, "loss_landscape": 0}),
    Hostile("looks_for_solutions", "walks the disk, /proc and the environment for the hidden tests",
            {"x2_25": LOOK_FOR_SECRETS + "\nbeta_25 = (3.0, 4.0)"}),
    Hostile("leaks_through_feedback", "raises what it found of the course in an error the feedback quotes",
            {"grad_of_loss": LOOK_FOR_SECRETS + LEAK_IN_AN_ERROR},
            {"grad_of_loss": 0, "one_epoch": 0, "training_loop": 0}, says="RuntimeError"),
    Hostile("writes_fake_results", "writes results and gradebooks wherever it can",
            {"x2_25": WRITE_FAKE_RESULTS + "\nbeta_25 = (3.0, 4.0)"}),
    Hostile("tampers_with_the_grader", "writes into the grader's directories and fakes its results",
            {"x2_25": TAMPER_WITH_THE_GRADER + "\nbeta_25 = (3.0, 4.0)"}),
    Hostile("enormous_output", "prints tens of megabytes, then answers",
            {"plot_data": "print('x' * 30_000_000)\nfor i in range(200_000):\n    print(i)\n"
             "plt.scatter(x, y)\nplt.plot(x, 3*x + 2)\nplt.xlabel('x')\nplt.ylabel('y')\nplt.show()"}),
    Hostile("fills_its_scratch_space", "writes files of 16 MiB in its home, /tmp and /dev/shm until refused",
            {"x2_25": FILL_SCRATCH}),
    Hostile("leaves_processes_behind", "starts daemons meant to outlive the grading",
            {"x2_25": LEAVE_PROCESSES + "\nbeta_25 = (3.0, 4.0)"}),
    Hostile("process_bomb", "starts processes until something stops it, in a cell of its own at the end",
            mutate=process_bomb_at_the_end),
    Hostile("huge_return_value", "least_squares returns ten million numbers",
            {"least_squares": "def least_squares(x, y):\n    return jnp.zeros(10_000_000)\n"
             "beta_0, beta_1 = 2.0, 3.0"},
            {"least_squares": 0}),
    Hostile("edits_locked_cells", "rewrites the data, the loss and a test cell worth 100 points",
            mutate=edit_locked_cells),
    Hostile("deletes_given_and_test_cells", "deletes the data cell and two test cells", mutate=delete_given_and_test_cells),
    Hostile("deletes_an_answer_cell", "deletes the least_squares answer cell", mutate=delete_answer_cell,
            lost={"least_squares": 0, "plot_fit": 1}, notes={"least_squares": "no cell marked as this answer"}),
    Hostile("scratch_cells", "adds a cell of its own whose helper the next answer uses",
            {"x2_25": "beta_25 = pair_for(25)"}, mutate=scratch_cells),
    Hostile("x64_before_the_data", "enables 64-bit floats before the data cell, which then makes other data",
            mutate=x64_before_the_data, says="the notebook's `x` and `y` are no longer the data the given cell makes (a cell assigned to them",
            lost={"plot_data": 1, "least_squares": 2, "plot_fit": 0, "training_loop": 0, "loss_landscape": 0}),
    Hostile("mangled_around_the_cells", "intact cells, but garbage where outputs and metadata belong",
            mutate=mangled_around_the_cells),
    Hostile("copied_cell_ids", "cells that share one id or have none, as copying cells can leave them",
            mutate=copied_cell_ids),
    Hostile("copied_answer_cells", "answer cells copied to try again, the first tries left above",
            mutate=copied_answer_cells, notes={"plot_data": "2 copies of this answer cell",
                                               "least_squares": "the one starting `def least_squares(x, y):`",
                                               "x2_25": "2 copies of this answer cell: the one starting `beta_25 = "}),
    Hostile("metadata_lost", "every cell without its metadata, as pasted into a notebook made afresh",
            mutate=metadata_lost, notes={"one_epoch": "the cell starting `def one_epoch(beta, x, y, i_epoch):` is graded"}),
    Hostile("metadata_lost_around_own_cells", "no metadata, and cells of the student's own around the answers",
            {"plot_fit": "draw_fit(beta_0, beta_1)", "loss_landscape": LANDSCAPE_PLOT},
            mutate=metadata_lost_around_own_cells),
    Hostile("source_not_text", "a cell whose source holds a number", raw=json.dumps(
        {"cells": [{"cell_type": "code", "source": ["x = ", 5], "metadata": {}}], "metadata": {},
         "nbformat": 4, "nbformat_minor": 5}).encode(), ungradable=True, says="not a readable notebook"),
    Hostile("foreign_kernelspec", "claims to be an R notebook", mutate=foreign_kernelspec),
    Hostile("fake_test_cells", "adds a test cell of its own worth 1000 points", mutate=fake_test_cells),
    Hostile("hardcoded_answers", "types in rounded numbers instead of computing them",
            {"least_squares": "def least_squares(x, y):\n    return 2.0, 3.0\nbeta_0, beta_1 = 2.02, 2.98",
             "training_loop": "import numpy as np\nbeta = np.array([1.9, 2.99])\nbeta_history = [beta] * 51",
             "loss_landscape": "losses = jnp.ones((20, 20))"},
            {"least_squares": 0, "training_loop": 1, "loss_landscape": 0}),
    Hostile("invalid_json", "a notebook cut off half-way", raw=b'{"cells": [{"cell_type": "code", "sou',
            ungradable=True, says="not valid JSON"),
    Hostile("not_a_notebook", "a JSON file that is no notebook", raw=json.dumps({"answer": 42}).encode(),
            ungradable=True, says="no list of cells"),
    Hostile("oversized_notebook", "a notebook padded with 101 MiB of nothing",
            mutate=lambda nb: b'{"cells": [], "padding": "' + b" " * (101 << 20) + b'"}',  # made when asked for
            ungradable=True, says="larger than 100 MiB"),
    Hostile("saved_with_long_outputs", "the model answers, saved after a run that printed 35 MiB",
            mutate=with_saved_outputs),
    Hostile("empty_file", "an empty file", raw=b"", ungradable=True, says="not valid JSON"),
    Hostile("undecodable_file_name", "the notebook saved under a name whose bytes are not UTF-8",
            file=b"intro_ml \xff.ipynb", ungradable=True, says="(found intro_ml \ufffd.ipynb)"),
    Hostile("old_notebook_format", "the model answers, saved in nbformat 3 (worksheets) by an old tool",
            mutate=lambda nb: nbformat.writes(nbformat.convert(nb, 3), version=3).encode()),
    Hostile("byte_order_mark", "the model answers, saved by an editor that starts the file with a byte order mark",
            raw=b"\xef\xbb\xbf" + nbformat.writes(notebook(HONEST["model"])).replace("\n", "\r\n").encode()),
    Hostile("binary_garbage", "random bytes", raw=bytes(range(256)) * 10, ungradable=True, says="not valid JSON"),
]

BY_NAME = {h.name: h for h in HOSTILE}
