"""The kit's two steps in plain `nbgrader autograde`, so that it grades as the isolated grader does.

`nbgrader_config.py` adds them to nbgrader's pipeline of preprocessors:

* `RestoreCells`, among the sanitizing steps before nbgrader's own DeduplicateIds and
  OverwriteCells: the release's given and test cells with the student's answers, as `restore.py`
  makes them for the isolated grader. nbgrader alone puts back the source of a locked cell the
  student edited, but not one the student deleted (a notebook without its data cell loses most of
  its points), and of an answer cell copied it keeps the last copy, even one after the test cell.
  The locked cells then take their source from the gradebook, hidden checks included, as
  OverwriteCells would make them; it would otherwise warn for every test cell of every student
  that its checksum "has changed", since the release's cells lack their hidden parts (nbgrader
  #1961), and an instructor could no longer tell those warnings from any other.
* `WriteResults`, last, on the notebook nbgrader has just executed: `results.json` beside the graded
  notebook. Each test cell's score is read the way nbgrader's SaveAutoGrades reads it
  (`determine_grade`: the cell's value, or zero after an error or any stderr), its feedback is the
  report the hidden checks printed, with the isolated grader's notes (how an answer cell that did
  not finish ended, how an answer was found), and the file goes to nbgrader's own writer through
  `resources["outputs"]`. A submission nbgrader fails to grade is removed by nbgrader, file and all.
"""

from __future__ import annotations

import json
from pathlib import Path

from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Unicode

from autograder.assignment import Assignment, Question, cell_meta
from autograder.engine import Graded, TestOutcome, unfinished_note, with_note, wrote_to_stderr, zero_outcome
from autograder.kernel import error_line, ran_too_long
from autograder.record import RESULTS, results_json
from autograder.restore import notes_in, restore


class _CourseStep(NbGraderPreprocessor):
    """A step that knows the assignment as the isolated grader does, from the course's directory."""

    course = Unicode(help="the course's root directory").tag(config=True)

    def assignment(self, resources: dict) -> Assignment:
        return Assignment.load(Path(self.course), resources["nbgrader"]["assignment"])


class RestoreCells(_CourseStep):
    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        nb = restore(self.assignment(resources), nb)
        where = resources["nbgrader"]
        with Gradebook(where["db_url"]) as gradebook:
            for cell in nb.cells:
                grade_id = cell_meta(cell).get("grade_id")
                if grade_id and cell_meta(cell).get("locked"):
                    try:
                        cell.source = gradebook.find_source_cell(grade_id, where["notebook"], where["assignment"]).source
                    except MissingEntry:  # OverwriteCells says so
                        pass
        return nb, resources


class WriteResults(_CourseStep):
    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        cells = {cell_meta(cell).get("grade_id"): cell for cell in nb.cells if cell.cell_type == "code"}
        questions, notes = self.assignment(resources).questions, notes_in(nb)
        cell_timeout = Execute(config=self.config).timeout  # the limit nbgrader's Execute step ran cells under
        tests = [outcome(question, cells.get(question.test_id)) for question in questions]
        for test, question in zip(tests, questions):
            if test.score < test.max_score:
                test.output += unfinished_note(answer_error(cells.get(question.grade_id), cell_timeout))
            test.output += with_note(notes.get(question.grade_id))
        graded = Graded(resources["nbgrader"]["student"], tests, notebook=None)
        results = results_json(graded, digest=None, grader="nbgrader autograde")
        del results["extra_data"]["seconds"], results["extra_data"]["checks"]  # nbgrader tells neither
        resources.setdefault("outputs", {})[RESULTS] = json.dumps(results, indent=2).encode()
        return nb, resources


def outcome(question: Question, cell: NotebookNode | None) -> TestOutcome:
    if cell is None:
        return zero_outcome(question, "Not graded: this test cell is missing from the notebook.")
    score, _ = utils.determine_grade(cell)
    for output in cell.outputs:  # in the order determine_grade reads them
        if output.output_type == "execute_result":
            break
        if output.output_type == "error":
            return zero_outcome(question, f"A public check of this cell failed: {error_line(output)}")
        if output.output_type == "stream" and output.name == "stderr":
            return zero_outcome(question, wrote_to_stderr(output.get("text", "")))
    printed = "".join(o.text for o in cell.outputs if o.output_type == "stream")
    return TestOutcome(question.test_id, float(score or 0.0), question.points, hidden_report(question, printed))


def answer_error(cell: NotebookNode | None, cell_timeout: float | None) -> str | None:
    """How the student's answer cell ended if with an error: its last error output, since after a
    time-out nbgrader adds its own, `CellTimeoutError` (no message), to the interrupted cell's
    `KeyboardInterrupt`; that one is said in words, as the isolated grader says it."""
    errors = [output for output in cell.outputs if output.output_type == "error"] if cell is not None else []
    if not errors:
        return None
    if errors[-1].get("ename") == "CellTimeoutError" and cell_timeout:
        return ran_too_long(cell_timeout)
    return error_line(errors[-1])


def hidden_report(question: Question, printed: str) -> str:
    """The hidden checks' report: what the cell printed from its last line naming the question on.

    Before it, the public checks may have run the student's code, which prints what it likes.
    """
    lines = printed.rstrip("\n").split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith(f"{question.grade_id}: ")]
    return "\n".join(lines[starts[-1]:]) if starts else printed.strip() or f"{question.grade_id}: no report"
