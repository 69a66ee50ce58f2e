"""How a check sees a student: one narrow interface that returns plain data.

A check may ask for a value by name, call one of the student's functions on inputs it chooses, or
read the figures a graded cell drew. Nothing else of the student's kernel is reachable, so the same
checks run inside the notebook (plain `nbgrader autograde`) and outside it (the isolated grader),
where every answer crosses a process boundary as JSON decoded by `plain.py`.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Protocol

import numpy as np

from autograder.plain import BadReply, Figure, decode, decode_figures, parse_reply


class NotDefined(Exception):
    """The notebook never defined the name a check asked for."""

    def __init__(self, name: str):
        super().__init__(f"`{name}` is not defined: did its cell run without an error?")
        self.name = name


class KernelDied(RuntimeError):
    """The kernel stopped answering: it crashed, exited, ran out of memory or was killed."""


class StudentRaised(Exception):
    """The student's function raised an exception when a check called it."""

    def __init__(self, name: str, message: str):
        super().__init__(f"calling `{name}` raised {message}")
        self.name = name


class Student(Protocol):
    def value(self, name: str) -> Any:
        """The plain value of a global of the notebook (after the graded cell ran)."""

    def call(self, name: str, *args: Any) -> Any:
        """The plain value returned by the notebook's function `name` called with `args`."""

    def figures(self, grade_id: str) -> list[Figure]:
        """The figures drawn by the answer cell `grade_id`."""


def encode_args(args: tuple) -> str:
    """Arguments for `call`, as JSON the agent turns into JAX arrays, numbers and lists."""

    def encode(item: Any) -> Any:
        if isinstance(item, (list, tuple)):
            return [encode(part) for part in item]
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            return item
        array = np.asarray(item, dtype=np.float64)
        return {"__array__": {"dtype": "float", "shape": list(array.shape), "data": array.ravel().tolist()}}

    return json.dumps([encode(arg) for arg in args])


def value_of(reply_text: str | bytes, name: str) -> Any:
    """Decode the agent's reply to `value` or `call`, raising what the check should report."""
    reply = parse_reply(reply_text)
    if "missing" in reply:
        raise NotDefined(name)
    if "raised" in reply:
        raise StudentRaised(name, str(reply["raised"])[:2000])
    if "error" in reply:
        raise BadReply(str(reply["error"])[:2000])
    if "value" not in reply:
        raise BadReply("the reply has no value")
    return decode(reply["value"])


def figures_of(reply_text: str | bytes) -> list[Figure]:
    reply = parse_reply(reply_text)
    if "figures" not in reply:
        raise BadReply("the reply has no figures")
    return decode_figures(reply["figures"])


class InKernelStudent:
    """The student as seen from a test cell of their own notebook (the plain nbgrader path).

    The answers still go through the agent's JSON so that checks get exactly the data the
    isolated grader would give them.
    """

    def __init__(self) -> None:
        self._agent = sys.modules["_grading_agent"]

    def value(self, name: str) -> Any:
        return value_of(self._agent.value(name), name)

    def call(self, name: str, *args: Any) -> Any:
        return value_of(self._agent.call(name, encode_args(args)), name)

    def figures(self, grade_id: str) -> list[Figure]:
        # A test cell runs right after its answer cell, so the last cell's figures are the answer's.
        return figures_of(self._agent.figures())
