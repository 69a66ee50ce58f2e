"""Which submitted cell is which, before anything runs: the cases the graded corpus cannot tell apart.

The corpus (`hostile.py`: `metadata_lost`, `metadata_lost_around_own_cells`, `scratch_cells`, ...)
grades whole notebooks end to end; these read only the notebook that `restore` makes of one.
"""

from __future__ import annotations

import copy
import warnings

import nbformat
import pytest

from autograder.assignment import Assignment, cell_meta
from autograder.restore import grade_ids, notes_in, restore
from conftest import COURSE
from submissions import BY_NAME, model_answers, notebook

ASSIGNMENT = Assignment.load(COURSE, "intro_ml")


def without_metadata(cells):
    cells = copy.deepcopy(cells)
    for cell in cells:
        cell.metadata = {}
    return cells


def answer_source(restored, grade_id: str) -> str:
    return next(c.source for c in restored.cells if cell_meta(c).get("grade_id") == grade_id)


@pytest.fixture(scope="module")
def model():
    return notebook(BY_NAME["model"])


def test_cells_without_metadata_are_known_by_their_place_in_the_release(model):
    """Every cell of a metadata-less copy of the model gets the grade id it had, test cells that read
    alike (plot_data_test and plot_fit_test) in the release's order."""
    assert grade_ids(ASSIGNMENT, without_metadata(model.cells)) == [cell_meta(c).get("grade_id") for c in model.cells]


def test_the_answer_is_the_last_of_the_students_cells_before_the_test_cell(model):
    cells = without_metadata(model.cells)
    plot_fit = next(i for i, c in enumerate(model.cells) if cell_meta(c).get("grade_id") == "plot_fit")
    cells.insert(plot_fit, nbformat.v4.new_code_cell("def helper(): pass"))
    cells.insert(plot_fit + 2, nbformat.v4.new_markdown_cell("my note"))
    restored = restore(ASSIGNMENT, nbformat.v4.new_notebook(cells=cells))
    assert answer_source(restored, "plot_fit") == model_answers()["plot_fit"]
    order = [c.source for c in restored.cells]
    assert order.index("def helper(): pass") < order.index(model_answers()["plot_fit"]) < order.index("my note")


def test_two_answers_lost_between_the_same_cells_are_not_guessed(model):
    """With the test cell and the text between them gone too, which of two cells answers which question
    would be a guess: both stay the student's own cells, run where they stood, and the questions keep
    the release's stubs."""
    test = next(i for i, c in enumerate(model.cells) if cell_meta(c).get("grade_id") == "grad_of_loss_test")
    cells = without_metadata(model.cells[:test] + model.cells[test + 2:])  # the test cell and the text after it
    ids = grade_ids(ASSIGNMENT, cells)
    assert "grad_of_loss" not in ids and "one_epoch" not in ids
    assert {"plot_fit", "x2_25", "training_loop"} <= set(ids)  # each alone in its gap: found
    restored = restore(ASSIGNMENT, nbformat.v4.new_notebook(cells=cells))
    for grade_id in ("grad_of_loss", "one_epoch"):
        assert answer_source(restored, grade_id) == _release_source(grade_id)
        assert model_answers()[grade_id] in [c.source for c in restored.cells]


def test_a_cell_with_its_metadata_is_never_displaced(model):
    """Only lost answers are looked for: a kept answer cell stays the answer, whatever stands near it."""
    cells = copy.deepcopy(model.cells)
    plot_fit = next(i for i, c in enumerate(cells) if cell_meta(c).get("grade_id") == "plot_fit")
    cells.insert(plot_fit + 1, nbformat.v4.new_code_cell("plt.show()"))
    restored = restore(ASSIGNMENT, nbformat.v4.new_notebook(cells=cells))
    assert answer_source(restored, "plot_fit") == model_answers()["plot_fit"]


def test_of_an_answer_copied_the_last_copy_before_the_test_cell_is_the_answer(model):
    """The copies before it and after the test cell are the student's own cells, run where they stood."""
    cells = copy.deepcopy(model.cells)
    answer = next(i for i, c in enumerate(cells) if cell_meta(c).get("grade_id") == "least_squares")
    early, late = copy.deepcopy(cells[answer]), copy.deepcopy(cells[answer])
    early.source, late.source = "first_try = 1", "after_the_test = 1"
    early.id, late.id = "early", "late"
    cells.insert(answer + 4, late)  # after the given fit cell, the test cell and the text below it
    cells.insert(answer, early)
    restored = restore(ASSIGNMENT, nbformat.v4.new_notebook(cells=cells))
    order = [c.source for c in restored.cells]
    assert answer_source(restored, "least_squares") == model_answers()["least_squares"]
    assert order.index("first_try = 1") < order.index(model_answers()["least_squares"])
    assert order.index(_release_source("least_squares_test")) < order.index("after_the_test = 1")


def test_an_answer_cell_whose_kind_changed_is_kept(model):
    """A written answer turned into a code cell is still the answer, as text for the hand grader; an
    answer's code turned into Markdown never ran in the student's notebook: kept as text, not run."""
    cells = copy.deepcopy(model.cells)
    written = next(c.source for c in cells if cell_meta(c).get("grade_id") == "gradient_tuple")
    for cell in cells:
        if cell_meta(cell).get("grade_id") == "gradient_tuple":
            cell.update(cell_type="code", outputs=[], execution_count=None)
        if cell_meta(cell).get("grade_id") == "x2_25":
            cell.cell_type = "markdown"
            del cell["outputs"], cell["execution_count"]
    restored = restore(ASSIGNMENT, nbformat.v4.new_notebook(cells=cells))
    assert answer_source(restored, "gradient_tuple") == written != _release_source("gradient_tuple")
    assert next(c for c in restored.cells if cell_meta(c).get("grade_id") == "gradient_tuple").cell_type == "markdown"
    assert answer_source(restored, "x2_25") == _release_source("x2_25")
    shown = [c for c in restored.cells if c.source == model_answers()["x2_25"]]
    assert [c.cell_type for c in shown] == ["markdown"]


def test_cells_the_student_added_have_ids_unique_in_the_notebook_and_the_same_every_time(model):
    """By the hundred thousand (nbformat's random eight-digit ids would repeat among them), in a notebook
    that nbformat accepts without correcting anything; grading the same notebook again makes the same."""
    submission = copy.deepcopy(model)
    added = nbformat.from_dict([{"cell_type": "code", "id": "same", "metadata": {}, "source": "pass",
                                 "outputs": [], "execution_count": None}] * 100_000)
    submission.cells[10:10] = added
    restored = restore(ASSIGNMENT, submission)
    ids = [c.id for c in restored.cells]
    assert len(ids) == len(set(ids)) == len(model.cells) + 100_000
    assert [c.id for c in restore(ASSIGNMENT, submission).cells] == ids
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nbformat.validate(restored)


def _lose_metadata(cells):
    return without_metadata(cells)


def _copy_least_squares(cells):
    answer = next(i for i, c in enumerate(cells) if cell_meta(c).get("grade_id") == "least_squares")
    first_try = copy.deepcopy(cells[answer])
    first_try.id, first_try.source = "first-try", "# first try"
    cells.insert(answer, first_try)
    return cells


def _x2_25_as_markdown(cells):
    cell = next(c for c in cells if cell_meta(c).get("grade_id") == "x2_25")
    cell.cell_type = "markdown"
    del cell["outputs"], cell["execution_count"]
    return cells


def _delete_one_epoch(cells):
    return [c for c in cells if cell_meta(c).get("grade_id") != "one_epoch"]


@pytest.mark.parametrize(("change", "grade_id", "words"), [
    (_lose_metadata, "least_squares", "the cell starting `def least_squares(x, y):` is graded as this answer: it had lost"),
    (_copy_least_squares, "least_squares", "your notebook has 2 copies of this answer cell: the one starting `def least_squares"),
    (_x2_25_as_markdown, "x2_25", "your answer cell became a markdown cell, so it never ran"),
    (_delete_one_epoch, "one_epoch", "your notebook has no cell marked as this answer"),
], ids=lambda v: getattr(v, "__name__", None))
def test_an_answer_not_found_as_released_gets_a_note_just_above_it(model, change, grade_id, words):
    """Where formgrader and the feedback show it, and for the graders' results; only for the answers
    concerned (with the metadata of every cell lost, each answer was found by its place)."""
    restored = restore(ASSIGNMENT, nbformat.v4.new_notebook(cells=change(copy.deepcopy(model.cells))))
    notes = notes_in(restored)
    assert set(notes) == (ASSIGNMENT.answer_ids if change is _lose_metadata else {grade_id})
    assert notes[grade_id].startswith(words)
    answer = next(i for i, c in enumerate(restored.cells) if cell_meta(c).get("grade_id") == grade_id)
    above = restored.cells[answer - 1]
    assert above.cell_type == "markdown" and above.source.startswith("**Grader's note:** ") and words[1:] in above.source
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nbformat.validate(restored)


def test_an_answer_found_as_released_gets_no_note_and_a_student_cannot_write_one(model):
    cells = copy.deepcopy(model.cells)
    forged = nbformat.v4.new_markdown_cell("**Grader's note:** all correct", metadata={"autograder_note": "x2_25", "note": "ok"})
    cells.insert(3, forged)
    restored = restore(ASSIGNMENT, nbformat.v4.new_notebook(cells=cells))
    assert notes_in(restored) == {}
    assert restore(ASSIGNMENT, model).cells == [c for c in restored.cells if c.source != forged.source]


def _release_source(grade_id: str) -> str:
    return next(c.source for c in ASSIGNMENT.release.cells if cell_meta(c).get("grade_id") == grade_id)
