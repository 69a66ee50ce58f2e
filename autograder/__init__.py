"""The checks of the course's assignments and the machinery that runs them.

One grading, in the order it happens:

* `kernel_agent.py`: the only grader code inside the student's kernel; records figures, answers
  requests with plain data.
* `student.py`: the narrow interface through which checks see a student; `plain.py` decodes what
  crosses it.
* `checks/test_<grade id>.py`: the hidden checks, one pytest module per question, comparing the
  student with `solutions/` using `compare.py` and `plots.py`.
* `runner.py`: runs one question's checks and turns the outcome into points and feedback.
* `in_notebook.py`: the hidden part of each notebook test cell, for plain `nbgrader autograde`.

After grading, for people to read (`class_report.rebuild_all` rebuilds them all without grading again):

* `outcome.py`: reads back one student's scores (gradebook), checks' words and figures (`results.json`).
* `drawing.py`: redraws the recorded figures and the reference ones, and the report's charts.
* `feedback.py`: each student's page, `feedback/<student>/<assignment>/<notebook>.html`.
* `class_report.py`: the instructors' `reports/<assignment>/index.html`.
"""
