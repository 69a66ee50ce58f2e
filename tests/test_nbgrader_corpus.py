"""The corpus graded end to end by plain `nbgrader autograde`: every question scores as the contract says.

Also the hostile notebooks that only rearrange cells: nbgrader, with the kit's `RestoreCells` step,
restores them as the isolated grader does and gives the same scores. For each notebook of both
corpora (`conftest.py` grades each once per session), nbgrader leaves the `results.json` the
isolated grader leaves, word for word.
"""

from __future__ import annotations

import nbformat
import pytest
from nbgrader.api import Gradebook

from conftest import RESTORED, make_course, nbgrader, results, submit
from hostile import BY_NAME as HOSTILE_BY_NAME
from hostile import notes_missing
from submissions import EXPECTED_FULL, STDERR_WRITERS, SUBMISSIONS, UNFINISHED_ANSWERS


def test_corpus_has_a_mistake_for_every_question():
    """The corpus covers every question with at least one submission that loses points on it."""
    for grade_id in SUBMISSIONS[0].expected():
        assert any(s.expected()[grade_id] < SUBMISSIONS[0].expected()[grade_id] for s in SUBMISSIONS), grade_id


@pytest.mark.parametrize("submission", SUBMISSIONS + RESTORED, ids=lambda s: s.name)
def test_nbgrader_scores_each_question_by_the_contract(graded, submission):
    course = graded[submission.name]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        found = {
            grade_id: gradebook.find_grade(f"{grade_id}_test", "intro_ml", "intro_ml", submission.name).score
            for grade_id in submission.expected()
        }
        manual = gradebook.find_grade("gradient_tuple", "intro_ml", "intro_ml", submission.name)
        assert manual.max_score == 2 and (manual.needs_manual_grade or manual.score == 0)
    assert found == submission.expected(), submission.story



@pytest.mark.parametrize("submission", SUBMISSIONS + RESTORED, ids=lambda s: s.name)
def test_nbgrader_and_the_isolated_grader_leave_the_same_results_word_for_word(graded, graded_class, submission):
    """The contract's "the same checks decide the score whichever way the notebook is graded", and more:
    every test's score, status and feedback, the grader's notes included, and the problem if any."""
    isolated, _ = graded_class

    def compared(found):
        return found["score"], found["tests"], found["extra_data"]["problem"]

    assert compared(results(graded[submission.name], submission.name)) == compared(results(isolated, submission.name))

def test_nbgrader_finds_nothing_to_put_back_after_the_kits_restoring(autograded):
    """The kit's RestoreCells has put every locked cell back as the gradebook holds it, hidden checks
    included: nbgrader's OverwriteCells warns about no cell of any submission, honest or hostile, where
    without it every test cell with hidden checks "has changed" for every student (nbgrader #1961)."""
    courses, log = autograded
    assert "Converting notebook" in log and len(courses) == len(SUBMISSIONS + RESTORED)
    changed = [line for line in log.splitlines() if "has changed!" in line or "does not exist in the database" in line]
    assert changed == []


@pytest.mark.parametrize("submission", SUBMISSIONS + RESTORED, ids=lambda s: s.name)
def test_nbgrader_writes_results_json_as_the_contract_says(graded, submission):
    """Plain nbgrader leaves the same results.json as the isolated grader: a test per test cell, in order."""
    found = results(graded[submission.name], submission.name)
    expected = submission.expected()
    assert [test["name"] for test in found["tests"]] == [f"{grade_id}_test" for grade_id in EXPECTED_FULL]
    assert found["score"] == sum(expected.values())
    for test, (grade_id, score) in zip(found["tests"], expected.items()):
        assert (test["score"], test["max_score"]) == (score, EXPECTED_FULL[grade_id]), submission.story
        assert test["status"] == ("passed" if score == EXPECTED_FULL[grade_id] else "failed")
        assert test["output"].startswith(f"{grade_id}: {score:g} / {EXPECTED_FULL[grade_id]:g} points\n")
    # the kit's grader does not take nbgrader's file for its own: it grades the submission again
    assert found["extra_data"]["submission_sha256"] is None


@pytest.mark.parametrize(
    "name, grade_id, words",
    [
        ("beta_25_number", "x2_25", "beta_25 should be a pair of two numbers"),
        ("gradient_summed", "grad_of_loss", "grad_of_loss should return one number per parameter"),
        ("value_and_grad_as_gradient", "grad_of_loss", "grad_of_loss should return one number per parameter: the gradient only"),
        ("one_epoch_returns_the_loss_too", "one_epoch", "one_epoch should return the new beta (two numbers), and nothing else"),
        ("one_epoch_returns_nothing", "one_epoch", "one_epoch should return the new beta (two numbers), and nothing else"),
        ("untouched_release", "plot_data", "The cell above still raises NotImplementedError"),
    ],
)
def test_a_failed_public_check_gives_its_own_message(graded, name, grade_id, words):
    output = {test["name"]: test["output"] for test in results(graded[name], name)["tests"]}[f"{grade_id}_test"]
    assert output.startswith(f"{grade_id}: 0 / ") and f"A public check of this cell failed: AssertionError: {words}" in output


@pytest.mark.parametrize(("name", "grade_id", "how"), UNFINISHED_ANSWERS)
def test_a_question_whose_answer_cell_did_not_finish_ends_its_feedback_with_how(graded, name, grade_id, how):
    """Often the reason it lost points: an import of a package the course lacks, or an error before the
    answer's last line, leaves undefined the names its checks read."""
    output = {test["name"]: test["output"] for test in results(graded[name], name)["tests"]}[f"{grade_id}_test"]
    last = output.splitlines()[-1]
    if how is None:
        assert "did not finish" not in output
    else:
        assert last.startswith(f"  Note: your answer cell did not finish: {how}") and last.endswith(".")


def test_an_answer_cell_stopped_at_the_time_limit_is_said_in_words(tmp_path):
    """nbgrader records a cell stopped at its `Execute.timeout` as a `CellTimeoutError` without a
    message; the note of the question says what happened, as the isolated grader says it."""
    course = make_course(tmp_path / "course")
    nbgrader(course, "generate_assignment", "intro_ml", timeout=300)
    hangs = HOSTILE_BY_NAME["infinite_loop_in_cell"]  # in the answer cell of plot_data
    submit(course, hangs.name, hangs.content())
    nbgrader(course, "autograde", "intro_ml", "--create", "--Execute.timeout=10", timeout=600)
    output = {test["name"]: test["output"] for test in results(course, hangs.name)["tests"]}["plot_data_test"]
    assert output.startswith("plot_data: 0 / 2 points\n")
    assert output.splitlines()[-1] == "  Note: your answer cell did not finish: the cell ran for more than 10 s and was stopped."


@pytest.mark.parametrize(("name", "grade_id", "points", "quoted"), STDERR_WRITERS)
def test_a_test_cell_that_wrote_to_stderr_quotes_what_it_wrote(graded, name, grade_id, points, quoted):
    """nbgrader fails a test cell that writes to stderr, in its public checks or, through a stream the
    student's code kept, in its hidden ones: the feedback says so and shows the first line."""
    output = {test["name"]: test["output"] for test in results(graded[name], name)["tests"]}[f"{grade_id}_test"]
    assert output.startswith(f"{grade_id}: 0 / {points} points\n")
    assert f"your code wrote to stderr ({quoted}" in output and "Print progress with print()" in output


@pytest.mark.parametrize("hostile", [h for h in RESTORED if h.notes], ids=lambda h: h.name)
def test_an_answer_not_found_as_released_says_how_it_was_graded(graded, hostile):
    """The isolated grader's note, in results.json and above the answer in nbgrader's graded notebook."""
    assert notes_missing(hostile, graded[hostile.name] / "autograded" / hostile.name / "intro_ml") == []


def test_results_json_of_nbgrader_leaves_out_what_the_student_code_printed(graded):
    """one_epoch prints a line per call, also in its test cell's public check: the feedback is the report."""
    output = {test["name"]: test["output"] for test in results(graded["model"], "model")["tests"]}["one_epoch_test"]
    assert "Step 0, loss" in feedback(graded, "model", "one_epoch")
    assert output.startswith("one_epoch: 3 / 3 points") and "Step" not in output


def feedback(graded, name: str, grade_id: str) -> str:
    nb = nbformat.read(graded[name] / "autograded" / name / "intro_ml" / "intro_ml.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == f"{grade_id}_test":
            return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    raise AssertionError(f"no test cell {grade_id}_test")


@pytest.mark.parametrize(
    "name, grade_id, words",
    [
        ("sign_flip", "one_epoch", "moved beta uphill"),
        ("slow_learning_rate", "one_epoch", "the learning rate should be 0.1"),
        ("seed_landscape", "loss_landscape", "transposed"),
        ("losses_transposed", "loss_landscape", "`losses` is transposed"),
        ("landscape_axes_swapped", "loss_landscape", "m is on the x axis"),
        ("landscape_slope_and_intercept_swapped", "loss_landscape", "`losses` holds the loss with slope and intercept swapped"),
        ("landscape_slope_and_intercept_swapped", "loss_landscape", "each height is the loss with slope and intercept swapped"),
        ("scatter_swapped", "plot_data", "x and y are swapped"),
        ("no_labels", "plot_data", "label the axes x and y"),
        ("labels_after_show", "plot_data", "the labels x and y are on other axes (plt.show() ends a figure"),
        ("shows_the_data_first", "plot_fit", "The line y = 3x + 2 is drawn in other axes than the data points "
                                             "(plt.show() ends a figure"),
        ("shows_the_data_first", "plot_fit", "Your fitted line is drawn in other axes than the data points"),
        ("dashed_true_line", "plot_data", "should be solid"),
        ("short_true_line", "plot_data", "covers only"),
        ("data_joined_by_a_line", "plot_data", "The data are drawn as a line joining the points"),
        ("true_line_as_dots", "plot_data", "y = 3x + 2 is drawn as points (markers without a line)"),
        ("fit_drawn_as_points", "plot_fit", "drawn as points (a scatter, or markers without a line)"),
        ("fit_returns_slope_first", "least_squares", "swapped"),
        ("fit_uses_globals", "least_squares", "least_squares should use its own arguments x and y"),
        ("intercept_without_parentheses", "least_squares", "The slope beta_1 is right but the intercept beta_0 is not"),
        ("denominator_typo", "least_squares", "It does not give the fit of the notebook's data either"),
        ("half_gradient", "grad_of_loss", "half the gradient"),
        ("half_gradient", "one_epoch", "as it should, but grad_of_loss does not return the gradient of loss"),
        ("gradient_summed_by_hand", "grad_of_loss", "n times the gradient"),
        ("gradient_summed_by_hand", "training_loop", "the training diverged"),
        ("gradient_sign_flipped_by_hand", "grad_of_loss", "The sign is flipped"),
        ("gradient_parts_swapped", "grad_of_loss", "The two partial derivatives are swapped"),
        ("gradient_sign_flipped_by_hand", "one_epoch", "as it should, but grad_of_loss does not return the gradient"),
        ("gradient_on_the_notebooks_data", "grad_of_loss", "grad_of_loss should use its own arguments x and y"),
        ("gradient_on_the_notebooks_data", "one_epoch", "as it should, but grad_of_loss does not return the gradient"),
        ("gradient_in_a_tuple", "grad_of_loss", "inside a tuple of one"),
        ("history_without_start", "training_loop", "leave out the starting beta"),
        ("history_without_the_last", "training_loop", "The last beta, after the final epoch, is missing"),
        ("history_aliased", "training_loop", "Every entry is the same"),
        ("twenty_epochs", "training_loop", "It follows the reference trajectory for 20 epochs: run 50"),
        ("fifty_one_epochs", "training_loop", "It follows the reference trajectory for 51 epochs: run 50"),
        ("beta_never_reassigned", "training_loop", "Every entry after the start is the first step from the start"),
        ("learning_rate_zero", "one_epoch", "is its learning rate 0"),
        ("learning_rate_zero", "training_loop", "beta never left the start"),
        ("beta_25_complex", "x2_25", "complex"),
        ("beta_25_strings", "x2_25", "it holds text"),
        ("fit_in_separate_figure", "plot_fit", "Your fitted line is drawn in other axes than the data points"),
        ("fit_line_hardcoded", "plot_fit", "No line with the data lies on your fit y = "),
        ("fit_beside_the_real_line", "plot_fit", "Your fitted line is not in the axes of the real line"),
        ("one_epoch_uses_globals", "one_epoch", "use its own arguments x and y"),
        ("fit_counts_100_points", "least_squares", "counting n = 100 points: use n = len(x)"),
        ("fit_by_covariance", "least_squares", "off by the factor n / (n - 1)"),
        ("training_not_restarted", "training_loop", "Start from beta = jnp.array([1.0, 1.0])"),
        ("surface_of_ranges", "loss_landscape", "give it the 2-D grids"),
        ("surface_too_fine", "loss_landscape", "could not be read: it holds more than 200,000 numbers"),
        ("x_reused_for_the_lines", "training_loop", "the notebook's `x` is no longer the data the given cell makes (a cell assigned to it"),
        ("x_reused_for_the_lines", "loss_landscape", "the notebook's `x` is no longer the data the given cell makes (a cell assigned to it"),
    ],
)
def test_feedback_names_the_mistake(graded, name, grade_id, words):
    assert words in feedback(graded, name, grade_id)


@pytest.mark.parametrize(("name", "grade_id"), [("no_labels", "plot_data"), ("sorted_together_unlabelled", "plot_data")])
def test_feedback_blames_the_data_only_where_a_cell_changed_it(graded, name, grade_id):
    """x and y sorted together are the same points: the missing labels are the mistake, not the data."""
    text = feedback(graded, name, grade_id)
    assert "label the axes x and y" in text and "no longer the data" not in text


def test_feedback_of_a_perfect_submission_lists_every_check_as_passed(graded):
    text = feedback(graded, "model", "least_squares")
    assert "least_squares: 3 / 3 points" in text and "[failed]" not in text
