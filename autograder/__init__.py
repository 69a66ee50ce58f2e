"""The checks of the course's assignments and the machinery that runs them.

One grading by the isolated grader (`python -m autograder grade`), in the order it happens:

* `course_lock.py`: one run at a time writes a course's grades; a second is refused untouched.
* `pending.py`: which submissions need grading (those not recorded yet as they are now).
* `assignment.py`: what the grader knows of an assignment (release cells, questions, points).
* `restore.py`: the submission read strictly, its locked cells restored from the release.
* `sandbox.py`, `kernel.py`: a fresh kernel in a bubblewrap sandbox, spoken to over IPC sockets.
* `warm_sandbox.py`, `kernel_forker.py`: a long-lived sandbox that forks each submission's kernel
  from a process with everything imported, and wipes what the last one left.
* `kernel_agent.py`: the only grader code inside the student's kernel; records figures, answers
  requests with plain data.
* `student.py`: the narrow interface through which checks see a student; `plain.py` decodes what
  crosses it.
* `checks/test_<grade id>.py`: the hidden checks, one pytest module per question, comparing the
  student with `solutions/` using `compare.py` and `plots.py`.
* `runner.py`: runs one question's checks and turns the outcome into points and feedback.
* `engine.py`: grades one submission, cell by cell; `record.py` writes gradebook and results.
* `gradebook.py`: nbgrader's gradebook, opened once for all a run records and reads back.
* `grade_class.py`, `progress.py`: a whole class in parallel workers, and what the person waiting sees.

Under plain `nbgrader autograde`, `in_notebook.py` is the hidden part of each test cell: the same
checks, run inside the student's kernel; `nbgrader_steps.py` adds the kit's restoring of cells and
its `results.json` to nbgrader's pipeline. `gradescope.py` packs the same engine for Gradescope.

After grading, for people to read (`class_report.rebuild_all` rebuilds them all without grading again):

* `outcome.py`: reads back one student's scores (gradebook), checks' words and figures (`results.json`).
* `drawing.py`: redraws the recorded figures and the reference ones, and the report's charts.
* `feedback.py`: each student's page, `feedback/<student>/<assignment>/<notebook>.html`.
* `class_report.py`: the instructors' `reports/<assignment>/index.html`.
"""

import sys

# jsonschema imports rfc3987_syntax, when it is installed, to validate IRIs; building its grammar
# costs two seconds of CPU in every process that reads a notebook. No notebook schema has an IRI,
# so the grader's processes go without it.
sys.modules.setdefault("rfc3987_syntax", None)
