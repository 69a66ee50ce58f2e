"""The notebook that actually runs: the release's locked cells with the student's answers in place.

As nbgrader does by checksum, given and test cells are restored from the release whatever the
student did to them (edited, deleted, re-typed, metadata changed); the student's answer cells are
kept, a missing one is the release's stub (and scores zero); cells the student added run where
they stood, after the cell before them (the release's own text cells, which carry no grade id, are
recognised by their text and kept once). The student's kernelspec is ignored.

A cell is known by its nbgrader metadata, and when it has lost it (answers pasted into a fresh
notebook, an editor that drops cell metadata: nbgrader issues #424, #1398) by where it stands
among the release's cells; of an answer cell copied to try again, the last copy is the answer and
the others are the student's own cells; see `grade_ids`. Each answer not found as released (by
its place, among copies, turned into Markdown, or not at all) gets a grader's note just above it,
which both graders also add to its test's feedback (`notes_in`).
"""

from __future__ import annotations

import copy
import json
import warnings
from collections import Counter, defaultdict

import nbformat
from nbformat import NotebookNode

from autograder.assignment import Assignment, cell_meta

# As large an upload as Gradescope accepts. Saved outputs count (the size is known before anything is
# read) though grading drops them: a notebook saved after a long, chatty run is still graded.
MAX_NOTEBOOK_BYTES = 100 << 20


class Ungradable(Exception):
    """The submission cannot be graded at all; the message says why, for the student."""


def shown(name: str) -> str:
    """A name read from the disk, as text: bytes in it that are not UTF-8 (which Python keeps as lone
    surrogates, and no page, JSON reader or gradebook accepts) become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def read_submission(raw: bytes) -> NotebookNode:
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise Ungradable(f"the notebook is larger than {MAX_NOTEBOOK_BYTES >> 20} MiB")
    try:
        text = raw.decode("utf-8-sig")  # some editors start the file with a byte order mark
        data = json.loads(text, object_pairs_hook=_without_outputs)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise Ungradable(f"the file is not a notebook: it is not valid JSON ({str(error)[:200]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells", data.get("worksheets")), list):
        raise Ungradable("the file is not a notebook: it has no list of cells")
    try:
        # nbformat repairs missing and repeated cell ids, warning about each on the grader's console
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return nbformat.reads(json.dumps(_what_grading_reads(data)), as_version=4)
    except Exception as error:
        detail = (str(error).strip().splitlines() or [""])[0][:200]
        raise Ungradable(f"the file is not a readable notebook ({type(error).__name__}: {detail})") from None


def _without_outputs(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object as read, but with its outputs emptied as soon as its cell is read, so that the
    outputs of at most one cell are in memory at once (of a 100 MiB notebook, that is most of it).
    This is for memory only; `_what_grading_reads` still gives every code cell its empty outputs."""
    return {key: [] if key == "outputs" else value for key, value in pairs}


def _what_grading_reads(data: dict) -> dict:
    """The notebook without what grading never reads: outputs and execution counts are dropped
    (every cell runs again) and mangled metadata emptied, so that a notebook whose cells are intact
    is graded even when an editor, an extension or a merge left the rest invalid."""
    if not isinstance(data.get("cells"), list):
        return data  # an older notebook (worksheets): nbformat converts it as it is
    if not isinstance(data.get("metadata"), dict):
        data["metadata"] = {}
    cells = [cell for cell in data["cells"] if isinstance(cell, dict)]
    for cell in cells:
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = {}
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    data["cells"] = cells
    return data


def restore(assignment: Assignment, submission: NotebookNode) -> NotebookNode:
    """The release notebook with the student's answers and extra cells, ready to run."""
    answer_ids = assignment.answer_ids
    release_types = {g: c.cell_type for c in assignment.release.cells if (g := cell_meta(c).get("grade_id"))}
    release_ids = set(release_types)
    # The release's cells without a grade id (its text between the questions), as the student got them
    unmarked = Counter((c.cell_type, _source(c)) for c in assignment.release.cells if not cell_meta(c).get("grade_id"))
    answers: dict[str, NotebookNode] = {}
    extras: dict[str | None, list[NotebookNode]] = defaultdict(list)
    anchor, added = None, 0
    submitted = [c for c in submission.cells if isinstance(c, dict) and c.get("cell_type") in ("code", "markdown", "raw")]
    for cell, grade_id in zip(submitted, grade_ids(assignment, submitted)):
        if grade_id in answer_ids and grade_id not in answers and _may_answer(cell, release_types[grade_id]):
            answers[grade_id] = cell
            anchor = grade_id
        elif grade_id in release_ids and grade_id not in answer_ids:
            anchor = grade_id  # a given or test cell: restored from the release below
        elif unmarked[text := (cell.cell_type, _source(cell))] > 0:
            unmarked[text] -= 1  # the release's own text: it is there already
        else:
            added += 1
            extras[anchor].append(_plain_cell(cell, added))
    notes = _notes(assignment, submitted, answers)
    cells = list(extras[None])
    for release_cell in assignment.release.cells:
        grade_id = cell_meta(release_cell).get("grade_id")
        if grade_id in notes:
            cells.append(_note_cell(grade_id, notes[grade_id]))
        cell = copy.deepcopy(release_cell)
        if grade_id in answers:
            cell.source = str(answers[grade_id].get("source", ""))
        cells.append(cell)
        if grade_id is not None:
            cells.extend(extras[grade_id])
    notebook = copy.deepcopy(assignment.release)
    notebook.cells = cells
    return notebook


def _notes(assignment: Assignment, submitted: list[NotebookNode], answers: dict[str, NotebookNode]) -> dict[str, str]:
    """For each answer not graded from the one cell the release marked for it, what happened, in words
    for the student and for whoever reads the graded notebook: which cell was taken, or why none."""
    marked_as = defaultdict(list)
    for cell in submitted:
        marked_as[cell_meta(cell).get("grade_id")].append(cell)
    notes = {}
    for grade_id in assignment.answer_ids:
        marked = marked_as[grade_id]
        answer = answers.get(grade_id)
        if answer is None and marked:
            notes[grade_id] = (f"your answer cell became a {marked[-1].cell_type} cell, so it never ran: it is kept "
                               "as your text, and the release's empty answer cell ran in its place.")
        elif answer is None:
            notes[grade_id] = ("your notebook has no cell marked as this answer (deleted, or it lost nbgrader's "
                               "metadata where the grader could not tell which cell it is): the release's empty "
                               "answer cell ran in its place.")
        elif cell_meta(answer).get("grade_id") != grade_id:
            notes[grade_id] = (f"the cell starting `{_first_line(answer)}` is graded as this answer: it had lost "
                               f"nbgrader's metadata, and it is your last {answer.cell_type} cell between the "
                               "cells given around this answer.")
        elif len(copies := [c for c in marked if c.cell_type == answer.cell_type]) > 1:
            notes[grade_id] = (f"your notebook has {len(copies)} copies of this answer cell: the one starting "
                               f"`{_first_line(answer)}`, the last before the notebook goes on, is graded; "
                               "the others ran as your own cells, where they stood.")
    return notes


NOTE_KEY = "autograder_note"  # in a note cell's metadata: the grade id of the answer it is about


def _note_cell(grade_id: str, note: str) -> NotebookNode:
    """A Markdown cell just above the answer in the graded notebook, where formgrader and nbgrader's
    feedback show it; `notes_in` hands the same words to each grader's results."""
    return NotebookNode(id=f"note-{grade_id}", cell_type="markdown", source=f"**Grader's note:** {note[0].upper()}{note[1:]}",
                        metadata=NotebookNode({NOTE_KEY: grade_id, "note": note}))


def notes_in(notebook: NotebookNode) -> dict[str, str]:
    """The restored notebook's notes, by the grade id of the answer each is about."""
    return {c.metadata[NOTE_KEY]: c.metadata["note"] for c in notebook.cells if NOTE_KEY in c.get("metadata", {})}


def _first_line(cell: NotebookNode) -> str:
    line = next((line.strip() for line in _source(cell).splitlines() if line.strip()), "")
    line = line.replace("`", "'")  # it is quoted as Markdown code
    return line if len(line) <= 60 else line[:57] + "..."


def _may_answer(cell: NotebookNode, kind: str) -> bool:
    """A written answer counts as text whatever its cell became (a keystroke turns a cell into code);
    code turned into text never ran in the student's notebook: it stays their own cell, not run."""
    return cell.cell_type == kind or kind == "markdown"


def grade_ids(assignment: Assignment, cells: list[NotebookNode]) -> list[str | None]:
    """The grade id of each submitted cell: its metadata's, or, for a cell without one, the release's.

    A given or test cell that lost its metadata is known by its text, as released. An answer cell that
    lost it is the last cell of the answer's type, other than the release's own text, between the
    release cells around that answer (in nbgrader's layout, just before its test cell; the cells
    before it in that gap are the student's own and run before it, as they did), when both are found
    in order and no other answer is lost between them. The release's stub then no longer runs after
    the student's answer and undoes it. Of an answer cell copied, the last copy before the release's
    next cell is the answer. Anything else stays a cell the student added.
    """
    release = assignment.release.cells
    release_ids = [cell_meta(c).get("grade_id") for c in release]
    release_texts = [_text(c) for c in release]
    known = set(release_ids) - {None}
    ids = [g if (g := cell_meta(c).get("grade_id")) in known else None for c in cells]
    texts = [_text(c) for c in cells]
    locked = defaultdict(list)  # text -> grade ids, in the release's order (two test cells may read alike)
    for text, grade_id in zip(release_texts, release_ids):
        if grade_id and grade_id not in assignment.answer_ids:
            locked[text].append(grade_id)
    present = set(ids)
    for i, text in enumerate(texts):
        if ids[i] is None and text in locked:
            ids[i] = next((g for g in locked[text] if g not in present), None)
            present.add(ids[i])
    found = _found_in(release_texts, release_ids, ids, texts)
    lost = [r for r, g in enumerate(release_ids) if g in assignment.answer_ids and found[r] is None]
    own_text = {text for text, g in zip(release_texts, release_ids) if g is None}
    for r in lost:
        before = max((b for b in range(r) if found[b] is not None), default=None)
        after = min((a for a in range(r + 1, len(release)) if found[a] is not None), default=None)
        if any((before is None or before < m) and (after is None or m < after) for m in lost if m != r):
            continue  # two answers lost between the same cells: which is which would be a guess
        between = range(0 if before is None else found[before] + 1, len(cells) if after is None else found[after])
        kind = release[r].cell_type
        theirs = [i for i in between if ids[i] is None and texts[i] not in own_text and cells[i].cell_type == kind]
        if theirs:
            ids[theirs[-1]] = release_ids[r]
    _keep_copies_of_answers(release, release_ids, assignment.answer_ids, cells, ids, found)
    return ids


def _keep_copies_of_answers(
    release: list[NotebookNode], release_ids: list, answer_ids: frozenset[str], cells: list[NotebookNode],
    ids: list, found: list,
) -> None:
    """A student who copied an answer cell and went on in the copy: the answer is the last copy before
    the release's next cell (what the student's notebook ran last before going on), and the other
    copies run where they stood, as the student's own cells, instead of being dropped."""
    for r, grade_id in enumerate(release_ids):
        if grade_id not in answer_ids or found[r] is None:
            continue
        copies = [i for i, g in enumerate(ids) if g == grade_id and cells[i].cell_type == release[r].cell_type]
        following = [found[a] for a in range(r + 1, len(release)) if found[a] is not None and found[a] > found[r]]
        next_cell = min(following, default=len(cells))
        before_next = [i for i in copies if i < next_cell]
        for i in copies:
            if before_next and i != before_next[-1]:
                ids[i] = None


def _found_in(release_texts: list, release_ids: list, ids: list, texts: list) -> list[int | None]:
    """Where each release cell is among the submitted ones, if anywhere: a cell with a grade id where
    that id first is, a text cell at the next unmarked cell with its text."""
    first: dict[str | None, int] = {}
    for i, grade_id in enumerate(ids):
        first.setdefault(grade_id, i)
    found, cursor = [], 0
    for text, grade_id in zip(release_texts, release_ids):
        if grade_id is not None:
            found.append(first.get(grade_id))
        else:
            found.append(next((i for i in range(cursor, len(texts)) if ids[i] is None and texts[i] == text), None))
        if found[-1] is not None:
            cursor = found[-1] + 1
    return found


def _text(cell: NotebookNode) -> tuple[str, str]:
    return cell.cell_type, _source(cell).strip()


def _source(cell: NotebookNode) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _plain_cell(cell: NotebookNode, number: int) -> NotebookNode:
    """The `number`th cell the student added: its source only, with no nbgrader metadata it could fake.

    Made as nbformat's `new_*_cell` make it, but without their schema check of each cell (a third of
    a millisecond: minutes of the grader's time for a notebook of a million cells), and with an id
    unique in the notebook (nbformat's random ones repeat among a hundred thousand cells)."""
    plain = NotebookNode(id=f"student-{number}", cell_type=cell.cell_type, metadata=NotebookNode(), source=_source(cell))
    if cell.cell_type == "code":
        plain.update(execution_count=None, outputs=[])
    return plain
