"""Plain `nbgrader autograde` against `python -m autograder grade`, side by side on one machine.

    .venv/bin/python benchmarks/grade_speed.py --copies 24 [--mixed]

Makes a class of N copies of a correct submission (with --mixed: plus a few common mistakes and one
notebook that hangs). First the kit grades one copy on its own, untimed: what it makes once per
rubric and keeps (JAX's compilations, the checks' reference values and pictures) is then made on a
machine where nothing has graded yet, rather than by the first timed run alone. Then it grades the
class in fresh course copies with the kit's sandboxed grader as it runs by default (also writing
every feedback page and the class report, which `nbgrader autograde` does not do), then with
nbgrader (the baseline), then with the kit's default once more, then with `--no-pages` (the same
work as nbgrader's), then with `--spare-kernels` (a second sandbox per worker warming the next
kernel). The default's figures are those of its two runs together (wall time: their mean), one just
before nbgrader's and one just after: the machine's speed drifts within minutes, and a steady drift
then changes the ratio nbgrader's run takes against them not at all. It prints per-submission
medians, wall times, throughput, the ratios, each way's peak memory (the grader and every process it
started), and whether nbgrader and the kit gave every student the same score on every question.

Memory is reported twice: the proportional set size (PSS, each shared page divided among the
processes sharing it: the memory the run really occupies) and the plain sum of resident sizes
(RSS, which counts a page shared by ten processes ten times). Reading every process's memory map
costs CPU (2 to 3 s over a 24-copy run of the kit, which keeps both cores busy and has ten processes
to read), so the kit's timed runs are not sampled: each of its three ways is run once more, in a
course of its own, for its peak memory. nbgrader's one run is both timed and sampled: it runs one
kernel at a time, so the sampling costs it little and uses a core it leaves idle.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import psutil

COURSE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(COURSE / "tests"))

from conftest import make_course  # noqa: E402
from hostile import BY_NAME as HOSTILE  # noqa: E402
from submissions import BY_NAME, write  # noqa: E402

MIXED = ("sign_flip", "seed_landscape", "scatter_swapped", "numpy_style", "history_without_start")
CELL_TIMEOUT = 10  # seconds, for both graders, so that the hanging notebook costs them the same


def build_class(course: Path, copies: int, mixed: bool) -> list[str]:
    students = []
    for i in range(copies):
        students.append(f"correct_{i:03d}")
        write(BY_NAME["model"], course / "submitted" / students[-1] / "intro_ml")
    if mixed:
        for name in MIXED:
            students.append(name)
            write(BY_NAME[name], course / "submitted" / name / "intro_ml")
        folder = course / "submitted" / "hangs" / "intro_ml"
        folder.mkdir(parents=True)
        (folder / "intro_ml.ipynb").write_bytes(HOSTILE["infinite_loop_in_cell"].content())
        students.append("hangs")
    return students


def proportional_size(pid: int) -> int:
    """The process's PSS in bytes (from smaps_rollup), or 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class PeakMemory:
    """The largest total PSS and RSS of a process and all its descendants, sampled every 0.25 s.

    (Reading every process's memory map costs CPU, taken from the run it measures: not too often.)
    """

    def __init__(self, process: subprocess.Popen):
        self.peak = 0
        self.peak_rss = 0
        self._root = psutil.Process(process.pid)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._running = True
        self._thread.start()

    def _sample(self) -> None:
        while self._running:
            try:
                tree = [self._root, *self._root.children(recursive=True)]
                rss = 0
                for proc in tree:
                    try:
                        rss += proc.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, sum(proportional_size(proc.pid) for proc in tree))
                self.peak_rss = max(self.peak_rss, rss)
            except psutil.Error:
                return
            time.sleep(0.25)

    def stop(self) -> tuple[int, int]:
        self._running = False
        self._thread.join()
        return self.peak, self.peak_rss


def run(command: list[str], course: Path, sampled: bool) -> tuple[float, tuple[int, int] | None, str]:
    """Wall time, peak memory (if `sampled`, else None) and output of one run of `command` in `course`."""
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "JAX_PLATFORMS": "cpu"}
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=course, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    memory = PeakMemory(process) if sampled else None
    output, _ = process.communicate()
    elapsed = time.monotonic() - started
    peak = memory.stop() if memory is not None else None
    if process.returncode != 0:
        raise SystemExit(f"{command[2:4]} failed:\n{output[-3000:]}")
    return elapsed, peak, output


def run_kit(command: list[str], course: Path, students: list[str]) -> tuple[float, list[float]]:
    """Wall time and each submission's seconds (from its results.json) of one timed kit run."""
    elapsed, _, _ = run(command, course, sampled=False)
    each = [json.loads((course / "autograded" / s / "intro_ml" / "results.json").read_text())["extra_data"]["seconds"]
            for s in students]
    return elapsed, each


def nbgrader_durations(log: str) -> list[float]:
    """Per-submission seconds, from the timestamps of nbgrader's log lines."""
    stamps = [datetime.strptime(m, "%Y-%m-%d %H:%M:%S.%f")
              for m in re.findall(r"^(\S+ \S+) .*Autograding ", log, flags=re.M)]
    stamps.append(datetime.strptime(re.findall(r"^(\S+ \S+) ", log, flags=re.M)[-1], "%Y-%m-%d %H:%M:%S.%f"))
    return [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:])]


def scores(course: Path, students: list[str]) -> dict[str, dict[str, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_assignment("intro_ml").notebooks[0]
        return {s: {c.name: gradebook.find_grade(c.name, "intro_ml", "intro_ml", s).score
                    for c in notebook.grade_cells if c.name.endswith("_test")} for s in students}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=24)
    parser.add_argument("--mixed", action="store_true", help="add common mistakes and a notebook that hangs")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()
    ways = {"kit": [], "kit_no_pages": ["--no-pages"], "kit_spare_kernels": ["--spare-kernels"]}
    with tempfile.TemporaryDirectory() as tmp:
        courses = {}
        for tool in ("kit_before", "nbgrader", *ways, *(f"{way}_memory" for way in ways)):
            courses[tool] = make_course(Path(tmp) / tool)
            students = build_class(courses[tool], args.copies, args.mixed)
            subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "intro_ml", "--log-level=ERROR"],
                           cwd=courses[tool], check=True, capture_output=True,
                           env=os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"})
        print(f"class: {len(students)} submissions ({args.copies} correct copies"
              + (f", {len(MIXED)} with mistakes, 1 that hangs" if args.mixed else "") + ")")
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
              f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}")

        kit = [sys.executable, "-m", "autograder", "grade", "intro_ml", "--quiet", f"--workers={args.workers}",
               f"--cell-timeout={CELL_TIMEOUT}"]
        # What the kit makes once per rubric and keeps (JAX's compilations, the checks' reference values
        # and pictures) is made before any timed run: on a machine where nothing has graded yet, the
        # first run would make it, and that run alone would pay for it.
        warm_course = make_course(Path(tmp) / "warm_up")
        build_class(warm_course, 1, mixed=False)
        warm_up, _, _ = run(kit, warm_course, sampled=False)
        print(f"warm-up, not timed with the rest: one copy graded by the kit in {warm_up:.1f} s, making what the "
              "kit keeps per rubric if nothing had made it yet")
        before = run_kit(kit, courses["kit_before"], students)
        nb_time, nb_peak, nb_log = run(
            [sys.executable, "-m", "nbgrader", "autograde", "intro_ml", "--create",
             f"--Execute.timeout={CELL_TIMEOUT}", "--log-level=INFO",
             "--Application.log_format=%(asctime)s.%(msecs)03d %(message)s"], courses["nbgrader"], sampled=True)
        runs = {"nbgrader": (nb_time, nbgrader_durations(nb_log))}
        peaks = {"nbgrader": nb_peak}
        for way, extra in ways.items():
            runs[way] = run_kit(kit + extra, courses[way], students)
        after = runs["kit"]
        runs["kit"] = ((before[0] + after[0]) / 2, before[1] + after[1])
        for way, extra in ways.items():  # after every timed run: the sampling's CPU slows none of them
            peaks[way] = run(kit + extra, courses[f"{way}_memory"], sampled=True)[1]
        same = all(scores(courses["nbgrader"], students) == scores(courses[tool], students)
                   for tool in courses if tool != "nbgrader")

    n = len(students)
    columns = {"nbgrader": "nbgrader autograde", "kit": "autograder grade", "kit_no_pages": "... --no-pages",
               "kit_spare_kernels": "... --spare-kernels"}
    rows = [("", *columns.values())]
    rows.append(("wall time", *(f"{runs[t][0]:.1f} s" for t in columns)))
    rows.append(("median per submission", *(f"{statistics.median(runs[t][1]):.2f} s" for t in columns)))
    rows.append(("throughput", *(f"{n / runs[t][0] * 60:.1f} / min" for t in columns)))
    rows.append(("ratio to nbgrader", *(f"{runs['nbgrader'][0] / runs[t][0]:.1f}x" for t in columns)))
    rows.append(("peak memory (PSS)", *(f"{peaks[t][0] / 2**30:.2f} GiB" for t in columns)))
    rows.append(("peak memory (RSS sum)", *(f"{peaks[t][1] / 2**30:.2f} GiB" for t in columns)))
    rows.append(("workers, sandbox", "1, none", *[f"{args.workers}, bubblewrap"] * 3))
    for label, *cells in rows:
        print(f"{label:<24}" + "".join(f"{cell:<22}" for cell in cells))
    print(f"(the default: {before[0]:.1f} s just before nbgrader, {after[0]:.1f} s just after; kit medians are per "
          "submission inside one of the parallel workers, from the wait for its kernel to its result; the kit's "
          "peak memory is from a run of its own, sampled, after the timed ones)")
    print(f"same score on every question for every student: {same}")


if __name__ == "__main__":
    main()
