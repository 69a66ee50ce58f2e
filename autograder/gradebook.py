"""nbgrader's gradebook, opened once for all a run records in it and reads back from it.

nbgrader's `Gradebook` makes a new SQLAlchemy engine each time it is opened: it reads the schema,
creates what is missing, and compiles every query it is then asked afresh, since the compiled
statements are kept by the engine. Recording 24 submissions and writing their pages opened it
twice per submission, and that took the main process more CPU than the rest of its work for them.
A run therefore opens one and gives each piece of work a session of its own, closed after it as
closing a `Gradebook` closes it: what the piece did not commit is rolled back, and the next one
reads what anyone else (formgrader, another run) committed meanwhile.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from nbgrader.api import Gradebook


def db_url(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


@contextlib.contextmanager
def opened(course: Path) -> Iterator[Gradebook]:
    """The course's gradebook, for a run to share between its pieces of work through `session`."""
    gradebook = Gradebook(db_url(course))
    try:
        yield gradebook
    finally:
        gradebook.close()
        gradebook.engine.dispose()


@contextlib.contextmanager
def session(course: Path, shared: Gradebook | None = None) -> Iterator[Gradebook]:
    """The gradebook for one piece of work: `shared`, a run's, whose session is closed after it, or
    one opened for this piece alone."""
    if shared is None:
        with opened(course) as gradebook:
            yield gradebook
        return
    try:
        yield shared
    finally:
        shared.close()
