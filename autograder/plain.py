"""Plain data from a student's kernel, decoded strictly into what the checks read.

The kernel agent (`kernel_agent.py`) answers every request with JSON text. This module is the only
place that turns that text back into Python: lists, numbers, strings and NumPy arrays, plus small
dataclasses for figures. Nothing is evaluated or unpickled; anything malformed is a `BadReply`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAX_REPLY_BYTES = 8 * 1024 * 1024
MAX_NUMBERS = 200_000


class BadReply(Exception):
    """The kernel's answer is not what the agent sends: malformed, too large or tampered with."""


@dataclass(frozen=True)
class Opaque:
    """A value the kernel could only name, not send: a function, a module, some other object."""

    type_name: str
    callable: bool = False


@dataclass(frozen=True)
class Line:
    xy: np.ndarray  # shape (n, 2)
    linestyle: str
    marker: str
    drawstyle: str = "default"
    infinite: bool = False  # an `axline`: the two points define a line without ends

    @property
    def solid(self) -> bool:
        return self.linestyle in ("-", "solid") and self.drawstyle == "default"


@dataclass(frozen=True)
class Axes:
    projection: str
    xlabel: str = ""
    ylabel: str = ""
    zlabel: str = ""
    title: str = ""
    points: tuple[np.ndarray, ...] = ()  # each of shape (n, 2): scatter collections, marker-only lines
    lines: tuple[Line, ...] = ()
    surfaces: tuple[np.ndarray, ...] = ()  # each of shape (n, 3): vertices of a 3D surface


@dataclass(frozen=True)
class Figure:
    axes: tuple[Axes, ...] = ()
    error: str = ""


@dataclass
class _Budget:
    left: int = MAX_NUMBERS
    depth: int = 0

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise BadReply("the reply holds too many numbers")


def parse_reply(text: str | bytes) -> dict[str, Any]:
    """The JSON object of one reply, refusing anything too large or not an object."""
    if len(text) > MAX_REPLY_BYTES:
        raise BadReply(f"the reply is larger than {MAX_REPLY_BYTES} bytes")
    try:
        reply = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise BadReply(f"the reply is not JSON: {error}") from None
    if not isinstance(reply, dict):
        raise BadReply("the reply is not a JSON object")
    return reply


def decode(value: Any, budget: _Budget | None = None, depth: int = 0) -> Any:
    """A plain value: None, bool, int, float, complex, str, list, np.ndarray or Opaque."""
    budget = budget or _Budget()
    if depth > 8:
        raise BadReply("the reply is nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        budget.take(1)
        return value
    if isinstance(value, list):
        budget.take(1)
        return [decode(item, budget, depth + 1) for item in value]
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            return _decode_array(value["__array__"], budget)
        if set(value) == {"__complex__"}:
            real, imag = _numbers(value["__complex__"], 2)
            return complex(real, imag)
        if "__object__" in value:
            return Opaque(str(value["__object__"])[:100], bool(value.get("callable", False)))
    raise BadReply(f"unexpected value in reply: {str(value)[:80]}")


def _numbers(items: Any, count: int | None = None) -> list[float]:
    if not isinstance(items, list) or (count is not None and len(items) != count):
        raise BadReply("malformed list of numbers")
    if not all(isinstance(item, (int, float)) and not isinstance(item, bool) for item in items):
        raise BadReply("malformed list of numbers")
    return items


def _decode_array(spec: Any, budget: _Budget) -> np.ndarray:
    if not isinstance(spec, dict) or not isinstance(spec.get("shape"), list):
        raise BadReply("malformed array")
    shape = spec["shape"]
    if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n for n in shape):
        raise BadReply("malformed array shape")
    size = math.prod(shape)
    budget.take(size)
    dtype = spec.get("dtype")
    if dtype == "float":
        data = np.asarray(_numbers(spec.get("data"), size), dtype=np.float64)
    elif dtype == "bool":
        raw = spec.get("data")
        if not isinstance(raw, list) or len(raw) != size or not all(isinstance(b, bool) for b in raw):
            raise BadReply("malformed boolean array")
        data = np.asarray(raw, dtype=bool)
    elif dtype == "complex":
        real = np.asarray(_numbers(spec.get("real"), size), dtype=np.float64)
        imag = np.asarray(_numbers(spec.get("imag"), size), dtype=np.float64)
        data = real + 1j * imag
    else:
        raise BadReply("malformed array dtype")
    return data.reshape(shape)


def decode_figures(items: Any) -> list[Figure]:
    """The figures of one cell, as the agent described them."""
    if not isinstance(items, list):
        raise BadReply("figures must be a list")
    budget = _Budget()
    return [_decode_figure(item, budget) for item in items]


def _decode_figure(item: Any, budget: _Budget) -> Figure:
    if not isinstance(item, dict) or not isinstance(item.get("axes"), list):
        raise BadReply("malformed figure")
    return Figure(axes=tuple(_decode_axes(a, budget) for a in item["axes"]), error=_text(item.get("error", "")))


def _decode_axes(item: Any, budget: _Budget) -> Axes:
    if not isinstance(item, dict):
        raise BadReply("malformed axes")
    return Axes(
        projection="3d" if item.get("projection") == "3d" else "2d",
        xlabel=_text(item.get("xlabel", "")),
        ylabel=_text(item.get("ylabel", "")),
        zlabel=_text(item.get("zlabel", "")),
        title=_text(item.get("title", "")),
        points=tuple(_array_of_rows(p, 2, budget) for p in _list(item.get("points", []))),
        lines=tuple(_decode_line(line, budget) for line in _list(item.get("lines", []))),
        surfaces=tuple(_array_of_rows(s, 3, budget) for s in _list(item.get("surfaces", []))),
    )


def _decode_line(item: Any, budget: _Budget) -> Line:
    if not isinstance(item, dict):
        raise BadReply("malformed line")
    return Line(
        xy=_array_of_rows(item.get("xy"), 2, budget),
        linestyle=_text(item.get("linestyle", "")),
        marker=_text(item.get("marker", "")),
        drawstyle=_text(item.get("drawstyle", "default")),
        infinite=item.get("infinite") is True,
    )


def _array_of_rows(item: Any, width: int, budget: _Budget) -> np.ndarray:
    array = decode(item, budget)
    if not isinstance(array, np.ndarray) or array.dtype != np.float64:
        raise BadReply("malformed coordinates")
    if array.size % width:
        raise BadReply("malformed coordinates")
    return array.reshape(-1, width)


def _list(item: Any) -> list:
    if not isinstance(item, list):
        raise BadReply("malformed figure part")
    return item


def _text(item: Any) -> str:
    if not isinstance(item, str):
        raise BadReply("malformed text")
    return item[:2000]
