"""The release: exactly what nbgrader makes of the source, leaking nothing, with every test failing."""

from __future__ import annotations

import json
import re
import runpy

import nbformat
import numpy as np
import pytest

from conftest import COURSE, nbgrader
from solutions import intro_ml as ref
from submissions import BY_NAME, write

RELEASE = COURSE / "release" / "intro_ml"


def test_release_is_what_generate_assignment_makes_of_the_source_now(course):
    nbgrader(course, "generate_assignment", "intro_ml", "--force")
    generated = sorted(p.relative_to(course / "release") for p in (course / "release").rglob("*") if p.is_file())
    committed = sorted(p.relative_to(COURSE / "release") for p in RELEASE.rglob("*") if p.is_file())
    assert generated == committed
    for relative in generated:
        assert (course / "release" / relative).read_bytes() == (COURSE / "release" / relative).read_bytes(), (
            f"release/{relative} is stale: run `nbgrader generate_assignment intro_ml --force`"
        )


def release_text() -> str:
    return (RELEASE / "intro_ml.ipynb").read_text()


@pytest.mark.parametrize(
    "secret",
    ["BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "autograder", "import solutions", "from solutions",
     "in_notebook", "score(", "vmap", "gradient_tuple.md", "_grading_agent"],
)
def test_release_leaks_no_solution_or_hidden_test(secret):
    assert secret not in release_text()


def test_release_leaks_no_reference_value():
    text = release_text()
    x, y = ref.data()
    fit = np.asarray(ref.least_squares(x, y))
    final = np.asarray(ref.trajectory(x, y))[-1]
    grid = np.asarray(ref.loss_grid(x, y, *reversed(ref.landscape_ranges())))
    for value in [*fit, *final, grid[0, 0], grid[10, 10]]:
        for digits in (4, 5, 6):
            assert f"{value:.{digits}f}" not in text


def test_release_answer_cells_are_stubs_and_outputs_are_empty():
    nb = nbformat.read(RELEASE / "intro_ml.ipynb", as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        if meta.get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source
        if meta.get("solution") and cell.cell_type == "markdown":
            assert cell.source == "YOUR ANSWER HERE"


def test_source_notebook_passes_nbgrader_validate(course):
    result = nbgrader(course, "validate", "source/intro_ml/intro_ml.ipynb")
    assert "Success! Your notebook passes all the tests." in result.stdout, result.stdout + result.stderr


def test_release_fails_every_test_while_the_stubs_are_in_place(course):
    result = nbgrader(course, "validate", "--invert", "release/intro_ml/intro_ml.ipynb")
    assert "Success! The notebook does not pass any tests." in result.stdout, result.stdout + result.stderr


def test_contract_cells_are_in_place_with_their_points():
    nb = json.loads((COURSE / "source" / "intro_ml" / "intro_ml.ipynb").read_text())
    cells = [c for c in nb["cells"] if "nbgrader" in c["metadata"]]
    meta = {c["metadata"]["nbgrader"]["grade_id"]: (c, c["metadata"]["nbgrader"]) for c in cells}
    tests = {gid: m["points"] for gid, (c, m) in meta.items() if m["grade"] and not m["solution"]}
    assert tests == {
        "plot_data_test": 2, "least_squares_test": 3, "plot_fit_test": 2, "x2_25_test": 1,
        "grad_of_loss_test": 1, "one_epoch_test": 3, "training_loop_test": 2, "loss_landscape_test": 3,
    }
    manual = meta["gradient_tuple"]
    assert manual[0]["cell_type"] == "markdown" and manual[1]["points"] == 2 and manual[1]["solution"]
    order = [c["metadata"]["nbgrader"]["grade_id"] for c in cells]
    for test_id in tests:
        answer = test_id.removesuffix("_test")
        assert meta[answer][1]["solution"] and not meta[answer][1]["grade"]
        between = order[order.index(answer) + 1 : order.index(test_id)]
        assert between in ([], ["fit"]), f"{test_id} should follow its answer cell"
    for given in ("imports", "data", "x2", "network", "loss", "landscape_setup", "fit"):
        assert meta[given][1]["locked"] and not meta[given][1]["solution"]


def test_every_check_is_worth_points_that_add_up_to_its_test_cell():
    nb = nbformat.read(COURSE / "source" / "intro_ml" / "intro_ml.ipynb", as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not (meta.get("grade") and cell.cell_type == "code"):
            continue
        grade_id = meta["grade_id"].removesuffix("_test")
        module = (COURSE / "autograder" / "checks" / f"test_{grade_id}.py").read_text()
        points = [float(p) for p in re.findall(r"@pytest\.mark\.points\(([\d.]+)\)", module)]
        tests = re.findall(r"^def test_", module, flags=re.M)
        assert len(points) == len(tests) > 0
        assert sum(points) == meta["points"], grade_id


def test_sample_class_is_what_its_script_makes_of_the_corpus_and_release_now(tmp_path):
    """The demo grades these notebooks: made from an older release, they would show students old public checks."""
    script = runpy.run_path(str(COURSE / "scripts" / "make_sample_class.py"))  # defines, writes nothing
    for student, submission in script["SAMPLE_CLASS"].items():
        made = write(BY_NAME[submission], tmp_path / student)
        assert made.read_bytes() == (COURSE / "sample_class" / student / "intro_ml.ipynb").read_bytes(), (
            f"sample_class/{student} is stale: run `python scripts/make_sample_class.py`"
        )
