"""What a grading run tells the person (or script) waiting for it.

Four modes: a progress bar with an ETA on a terminal; one line per submission when the output is a
file or a pipe; `quiet` (nothing but errors); and `json` (one JSON object per line, for scripts).
At the end, a summary per question: mean score and how many submissions lost points on it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import TextIO

from autograder.assignment import Assignment
from autograder.engine import Graded


class Progress:
    def __init__(self, assignment: Assignment, mode: str = "auto", out: TextIO = sys.stdout, err: TextIO = sys.stderr,
                 clock=time.monotonic):
        if mode == "auto":
            mode = "bar" if err.isatty() else "lines"
        self.mode = mode
        self._assignment = assignment
        self._out, self._err = out, err
        self._total = 0
        self._clock = clock
        self._started = clock()
        self._workers = 1
        self._finished_at: list[float] = []  # when each result came, for the ETA

    def say(self, text: str) -> None:
        if self.mode in ("lines", "bar"):
            self._clear_bar()
            _print(text, self._out)
            self._draw_bar()

    def event(self, kind: str, **fields) -> None:
        if self.mode == "json":
            _print(json.dumps({"event": kind, **fields}), self._out)

    def start(self, total: int, workers: int, sandboxed: bool) -> None:
        self._total, self._started, self._workers = total, self._clock(), workers
        self._finished_at = []
        self.event("start", submissions=total, workers=workers, sandboxed=sandboxed)
        self.say(f"grading {total} submission(s) of {self._assignment.name} with {workers} worker(s)"
                 + ("" if sandboxed else ", WITHOUT the sandbox"))

    def skipped(self, student: str) -> None:
        self.event("skipped", student=student)
        self.say(f"skipped {student}: already graded (use --force to grade again)")

    def rubric_changed(self, submissions: int) -> None:
        self.event("rubric_changed", submissions=submissions)
        self.say(f"{submissions} submission(s) graded before under another rubric (checks, grader, "
                 "solutions, points or late rule): grading them again")

    @property
    def _done(self) -> int:
        return len(self._finished_at)

    def graded(self, graded: Graded) -> None:
        self._finished_at.append(self._clock())
        self.event(
            "graded", student=graded.student, score=graded.score, max_score=self._assignment.autograded_points,
            tests={t.test_id: t.score for t in graded.tests}, seconds=round(graded.seconds, 2),
            problem=graded.problem,
        )
        note = f" ({graded.problem})" if graded.problem else ""
        self.say(f"graded {graded.student}: {graded.score:g} / {self._assignment.autograded_points:g} "
                 f"in {graded.seconds:.1f} s{note}")

    def eta(self) -> float | None:
        """Seconds left, at the pace of the latest results: two per worker, once each has given one.

        The first results take far longer than the next (the workers and their sandboxes start), and
        the workers' first results come all at once, so neither says how fast the rest will come.
        """
        if self._done <= self._workers:
            return None
        recent = self._finished_at[-(2 * self._workers + 1):]
        per_submission = (recent[-1] - recent[0]) / (len(recent) - 1)
        return per_submission * (self._total - self._done)

    def _bar(self) -> str:
        width = 30
        filled = int(width * self._done / max(self._total, 1))
        eta = self.eta()
        left = "estimating" if eta is None else f"ETA {int(eta // 60)}:{int(eta % 60):02d}"
        return f"[{'#' * filled}{'.' * (width - filled)}] {self._done}/{self._total} graded, {left}"

    def _draw_bar(self) -> None:
        if self.mode == "bar" and self._total and self._done < self._total:
            _print(self._bar(), self._err, end="\r")

    def _clear_bar(self) -> None:
        if self.mode == "bar":
            _print(" " * 70, self._err, end="\r")

    def summary(self, graded_all: list[Graded]) -> None:
        """Per question: the mean score and how many submissions lost points on it."""
        if not graded_all:
            return
        rows = []
        for question in self._assignment.questions:
            scores = [next(t.score for t in g.tests if t.test_id == question.test_id) for g in graded_all]
            lost = sum(score < question.points for score in scores)
            rows.append((question.grade_id, sum(scores) / len(scores), question.points, lost))
        elapsed = self._clock() - self._started
        self.event("summary", submissions=len(graded_all), seconds=round(elapsed, 2),
                   questions={name: {"mean": round(mean, 3), "points": points, "lost_points": lost}
                              for name, mean, points, lost in rows})
        if self.mode in ("lines", "bar"):
            width = max(len(name) for name, *_ in rows)
            lines = [f"graded {len(graded_all)} submission(s) in {elapsed:.0f} s",
                     f"{'question'.ljust(width)}  mean score  lost points"]
            lines += [f"{name.ljust(width)}  {mean:>5.2f} / {points:g}  {lost} of {len(graded_all)}"
                      for name, mean, points, lost in rows]
            self.say("\n".join(lines))


def _print(text: str, stream: TextIO, end: str = "\n") -> None:
    """Print, unless whoever read the stream has gone (`grade ... | less` quit early, a terminal
    closed): the run then grades on (or stops, told so) with its output going nowhere, rather than
    failing half-way on a write."""
    try:
        print(text, end=end, file=stream, flush=True)
    except OSError:  # EPIPE for a pipe, EIO for a terminal that hung up
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())  # what is still buffered goes there too
