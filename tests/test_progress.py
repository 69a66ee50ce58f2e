"""What the person waiting for a grading run sees: a bar with an honest ETA, a line per submission, a summary."""

from __future__ import annotations

import io
import json
import os

import pytest

from autograder.assignment import Assignment
from autograder import engine
from autograder.engine import Graded
from autograder.progress import Progress
from conftest import COURSE

ASSIGNMENT = Assignment.load(COURSE, "intro_ml")


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def graded(student: str, lost: dict[str, float] | None = None) -> Graded:
    lost = lost or {}
    tests = [engine.TestOutcome(q.test_id, lost.get(q.grade_id, q.points), q.points, "") for q in ASSIGNMENT.questions]
    return Graded(student, tests, notebook=None, seconds=2.8)


def run(mode: str, lost: dict[str, dict[str, float]]) -> tuple[str, str]:
    out, err, clock = io.StringIO(), io.StringIO(), Clock()
    progress = Progress(ASSIGNMENT, mode, out, err, clock=clock)
    progress.start(len(lost), workers=2, sandboxed=True)
    for student, lost_points in lost.items():
        clock.now += 10.0
        progress.graded(graded(student, lost_points))
    progress.summary([graded(student, lost_points) for student, lost_points in lost.items()])
    return out.getvalue(), err.getvalue()


CLASS = {"ada": {}, "alan": {"loss_landscape": 2}, "barbara": {"one_epoch": 0, "training_loop": 0}}
LARGER_CLASS = CLASS | {"edsger": {}, "grace": {"plot_data": 1}, "linus": {}}


def test_the_eta_follows_the_pace_of_results_not_the_slow_start():
    """Two workers: the first results after 9 s, both at once; then one every 1.4 s."""
    clock = Clock()
    progress = Progress(ASSIGNMENT, "quiet", clock=clock)
    progress.start(24, workers=2, sandboxed=True)
    for done, at in enumerate([9.0, 9.1, 11.8, 11.9, 14.6, 14.7, 17.4], start=1):
        clock.now = at
        progress.graded(graded(f"student{done}"))
        if done <= 2:
            assert progress.eta() is None  # the workers' first results say nothing of the pace yet
    assert progress.eta() == pytest.approx(1.4 * (24 - 7), rel=0.01)


def test_the_bar_goes_to_stderr_and_the_results_to_stdout():
    out, err = run("bar", LARGER_CLASS)  # a result every 10 s
    assert "graded barbara: 12 / 17" in out and "[" not in out
    bars = [bar.strip() for bar in err.split("\r") if bar.strip()]
    assert bars[:3] == ["[..............................] 0/6 graded, estimating",
                        "[#####.........................] 1/6 graded, estimating",
                        "[##########....................] 2/6 graded, estimating"]
    assert bars[3:] == ["[###############...............] 3/6 graded, ETA 0:30",
                        "[####################..........] 4/6 graded, ETA 0:20",
                        "[#########################.....] 5/6 graded, ETA 0:10"]


def test_a_pipe_gets_one_line_per_submission_and_the_summary_table():
    out, err = run("lines", CLASS)
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == "grading 3 submission(s) of intro_ml with 2 worker(s)"
    assert [line.split(":")[0] for line in lines[1:4]] == ["graded ada", "graded alan", "graded barbara"]
    table = {line.split()[0]: line for line in lines[5:]}
    assert table["question"].split() == ["question", "mean", "score", "lost", "points"]
    assert table["one_epoch"].split() == ["one_epoch", "2.00", "/", "3", "1", "of", "3"]
    assert table["loss_landscape"].split() == ["loss_landscape", "2.67", "/", "3", "1", "of", "3"]
    assert table["plot_data"].split()[-3:] == ["0", "of", "3"]


def test_quiet_prints_nothing():
    assert run("quiet", CLASS) == ("", "")


def test_json_gives_one_object_per_line_with_each_score_and_the_summary():
    out, err = run("json", CLASS)
    events = [json.loads(line) for line in out.splitlines()]
    assert err == "" and [e["event"] for e in events] == ["start", "graded", "graded", "graded", "summary"]
    assert events[3]["score"] == 12 and events[3]["tests"]["one_epoch_test"] == 0
    assert events[-1]["questions"]["training_loop"] == {"mean": round(4 / 3, 3), "points": 2.0, "lost_points": 1}


@pytest.mark.parametrize("mode", ["lines", "json"])
def test_a_reader_that_leaves_early_silences_the_run_without_stopping_it(mode):
    """`grade ... | less`, quit after the first screen: the run must go on recording, printing nowhere."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "w") as out:
        progress = Progress(ASSIGNMENT, mode, out, io.StringIO(), clock=Clock())
        progress.start(2, workers=2, sandboxed=True)  # the first write meets the closed pipe
        progress.graded(graded("ada"))
        progress.graded(graded("alan"))
        progress.summary([graded("ada"), graded("alan")])
        assert os.path.samefile(f"/proc/self/fd/{out.fileno()}", os.devnull)
