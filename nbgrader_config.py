"""nbgrader's configuration for this course; run nbgrader's commands from this directory."""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (nbgrader provides it)

# nbgrader creates the gradebook by running `alembic`, found on PATH: let `.venv/bin/nbgrader` work
# without the environment being activated.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

COURSE = Path(__file__).resolve().parent

c.CourseDirectory.root = str(COURSE)
c.CourseDirectory.course_id = "intro_ml_jax"
c.CourseDirectory.db_url = f"sqlite:///{COURSE / 'gradebook.db'}"

# Every kernel nbgrader starts (validate, autograde) first pins JAX to the CPU, lets the hidden test
# cells import the checks and solutions of this course, and starts recording what each cell draws:
# the inline backend closes figures at the end of a cell, so a later test cell could not see them.
_KERNEL_START = (
    "__import__('os').environ.setdefault('JAX_PLATFORMS', 'cpu'); "
    f"__import__('sys').path.append({str(COURSE)!r}); "
    f"exec(compile(open({str(COURSE / 'autograder' / 'kernel_agent.py')!r}).read(), 'kernel_agent', 'exec'), "
    "{'__name__': '_grading_agent'}); "
    "__import__('_grading_agent').install()"
)
c.Execute.extra_arguments = [
    "--HistoryManager.hist_file=:memory:",
    f"--IPKernelApp.exec_lines=[{_KERNEL_START!r}]",
]
c.Execute.timeout = 60  # seconds per cell; the seed's notebook needs well under one

# The kit's own steps (autograder/nbgrader_steps.py), so that plain nbgrader grades as the isolated
# grader does: the release's cells restored, deleted ones too, before nbgrader reads the grade ids
# (its DeduplicateIds would keep the last copy of a copied answer cell wherever it stands, and hide
# that there were copies) and overwrites the locked cells from the gradebook; and results.json
# written last, from the scores nbgrader has just saved.
if str(COURSE) not in sys.path:
    sys.path.insert(0, str(COURSE))
from nbgrader.converters import Autograde  # noqa: E402
from nbgrader.preprocessors import DeduplicateIds  # noqa: E402

_sanitize = Autograde.class_traits()["sanitize_preprocessors"].default()
_sanitize.insert(_sanitize.index(DeduplicateIds), "autograder.nbgrader_steps.RestoreCells")
c.Autograde.sanitize_preprocessors = _sanitize
c.Autograde.autograde_preprocessors = [*Autograde.class_traits()["autograde_preprocessors"].default(),
                                       "autograder.nbgrader_steps.WriteResults"]
c.RestoreCells.course = c.WriteResults.course = str(COURSE)

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# release/ is committed, so in a fresh clone `nbgrader generate_assignment intro_ml` would find it
# and skip the assignment, leaving the gradebook without it (and autograde with nothing to grade
# against). Regenerating is cheap and gives exactly the committed release (a test keeps it so).
c.GenerateAssignment.force = True
