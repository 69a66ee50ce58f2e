"""`python -m autograder grade`: honest and hostile submissions, graded in sandboxes, score by the contract.

One class (the honest corpus and the hostile one) is graded once by the real command line in a fresh
course copy with only `submitted/` added; the tests then read what it left behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import course_lock, pending, sandbox
from autograder.sandbox import Limits
from conftest import (COURSE, LIMITS, UNDECODABLE_STUDENT, grade, jax_keeps_compilations, make_course, nbgrader,
                      results, submit)
from hostile import FILLS_ITS_SOCKETS_DIRECTORY, HOGS_MEMORY_IN_MANY_PROCESSES, HOSTILE, LINGERING, SECRETS, notes_missing
from submissions import BY_NAME as HONEST_BY_NAME
from submissions import EXPECTED_FULL, STDERR_WRITERS, SUBMISSIONS, UNFINISHED_ANSWERS, Submission, model_answers, write

CLASS = {s.name: s for s in SUBMISSIONS} | {h.name: h for h in HOSTILE}


def graders_dirs() -> list[tuple[Path, str, str]]:
    """The kernels' sockets' directories, inboxes and cgroups there are, each with its kind and the pid
    of the grader process that made it."""
    return [(path, *path.name.split("-")[1:3]) for path in sandbox.graders_dirs()]


def models_submitted(tmp_path: Path, names: list[str]) -> Path:
    """A fresh course in which each of `names` submitted the model answers."""
    course = make_course(tmp_path / "course")
    for name in names:
        write(HONEST_BY_NAME["model"], course / "submitted" / name / "intro_ml")
    return course


def start_grading(course: Path, *args: str, stderr=subprocess.PIPE) -> subprocess.Popen:
    """`grade` running in a session of its own, its output read as it comes."""
    return subprocess.Popen([sys.executable, "-m", "autograder", "grade", "intro_ml", *LIMITS, *args], cwd=course,
                            stdout=subprocess.PIPE, stderr=stderr, text=True, start_new_session=True)


@pytest.mark.parametrize("name", list(CLASS))
def test_every_submission_scores_by_the_contract(graded_class, name):
    course, _ = graded_class
    found = results(course, name)
    scores = {t["name"].removesuffix("_test"): t["score"] for t in found["tests"]}
    assert scores == CLASS[name].expected(), CLASS[name].story
    assert sum(t["max_score"] for t in found["tests"]) == 17
    assert [t["name"] for t in found["tests"]] == [f"{g}_test" for g in EXPECTED_FULL]
    assert found["score"] == sum(scores.values())
    for test in found["tests"]:
        assert test["status"] == ("passed" if test["score"] == test["max_score"] else "failed")
        assert test["output"].strip()


@pytest.mark.parametrize("name", list(CLASS))
def test_the_gradebook_holds_the_same_scores(graded_class, name):
    course, _ = graded_class
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for grade_id, expected in CLASS[name].expected().items():
            assert gradebook.find_grade(f"{grade_id}_test", "intro_ml", "intro_ml", name).score == expected
        manual = gradebook.find_grade("gradient_tuple", "intro_ml", "intro_ml", name)
        assert manual.needs_manual_grade or manual.score == 0


def printed_table(stdout: str) -> tuple[list[str], dict[str, list[str]]]:
    """The table a grading run prints at the end: its header's words, and each student's row."""
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("student "))
    return lines[header].split(), {line.split()[0]: line.split()[1:] for line in lines[header + 1:] if line.strip()}


def test_the_table_printed_at_the_end_is_the_gradebooks_scores(graded_class):
    """One row per student, one column per question in the notebook's order, `-` while a hand grade is due."""
    _, run = graded_class
    header, rows = printed_table(run.stdout)
    questions = [*EXPECTED_FULL][:4] + ["gradient_tuple"] + [*EXPECTED_FULL][4:]
    assert header == ["student", *questions, "autograded"]
    assert set(rows) == set(CLASS)
    for name, row in rows.items():
        expected = CLASS[name].expected()
        shown = dict(zip(questions, row))
        assert {q: float(shown[q]) for q in expected} == expected, name
        assert shown["gradient_tuple"] in ("-", "0"), name  # waits for a hand grade, or was left blank
        assert float(row[-1]) == sum(expected.values()), name


@pytest.mark.parametrize("hostile", [h for h in HOSTILE if h.says], ids=lambda h: h.name)
def test_feedback_says_what_went_wrong(graded_class, hostile):
    course, _ = graded_class
    outputs = [t["output"] for t in results(course, hostile.name)["tests"] if t["score"] < t["max_score"]]
    assert outputs and hostile.says in outputs[0]


@pytest.mark.parametrize(("name", "grade_id", "how"), UNFINISHED_ANSWERS)
def test_a_question_whose_answer_cell_did_not_finish_ends_its_feedback_with_how(graded_class, name, grade_id, how):
    """Often the reason it lost points: an import of a package the course lacks, or an error before the
    answer's last line, leaves undefined the names its checks read."""
    course, _ = graded_class
    output = {t["name"]: t["output"] for t in results(course, name)["tests"]}[f"{grade_id}_test"]
    last = output.splitlines()[-1]
    if how is None:
        assert "did not finish" not in output
    else:
        assert last.startswith(f"  Note: your answer cell did not finish: {how}") and last.endswith(".")


@pytest.mark.parametrize(("name", "grade_id", "points", "quoted"), STDERR_WRITERS)
def test_a_test_cell_that_wrote_to_stderr_quotes_what_it_wrote_as_nbgrader_grades_it(graded_class, name, grade_id,
                                                                                       points, quoted):
    """The same zero as under nbgrader, and the same words, whose quote is the first line written to
    stderr: by the public checks, or by a hidden check's call through the stream a logging handler kept."""
    course, _ = graded_class
    output = {t["name"]: t["output"] for t in results(course, name)["tests"]}[f"{grade_id}_test"]
    assert output.startswith(f"{grade_id}: 0 / {points} points\n")
    assert f"your code wrote to stderr ({quoted}" in output and "Print progress with print()" in output


@pytest.mark.parametrize(("name", "said", "skipped"), [
    ("kernel_kills_itself", "grading went on in a new kernel after your answer cell of training_loop stopped the kernel",
     {"training_loop"}),
    ("kills_its_kernel_on_hidden_data", "grading went on in a new kernel after the kernel stopped while the checks "
                                        "of grad_of_loss were asking it for answers", set()),
    ("kills_its_kernel_in_every_cell", "and again after your answer cell of grad_of_loss stopped the kernel "
                                       "(the kernel died while running the cell); then your answer cell of one_epoch",
     {"x2_25", "grad_of_loss"}),
    # the test and given cells are the assignment's: the kernel stopped in them, for what they called
    ("kills_its_kernel_when_called", "grading went on in a new kernel after the kernel stopped in the test cell of "
                                     "grad_of_loss (the kernel died while running the cell), and again after the "
                                     "kernel stopped in the test cell of one_epoch (the kernel died while running "
                                     "the cell); then the kernel stopped in the given cell `beta = jnp.array([1.0, 1.0])`",
     {"grad_of_loss_test", "one_epoch_test"}),
])
def test_a_stopped_kernel_is_named_with_the_cell_that_stopped_it_and_the_run_goes_on(graded_class, name, said, skipped):
    """The results name the cell; the graded notebook shows it, unnumbered, as the one a new kernel went on without."""
    course, _ = graded_class
    graded = results(course, name)
    assert said in graded["output"] and graded["extra_data"]["problem"] == graded["output"]
    notebook = nbformat.read(course / "autograded" / name / "intro_ml" / "intro_ml.ipynb", as_version=4)
    went_on_without = {c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells if c.cell_type == "code"
                       and c.execution_count is None and any("a new kernel ran the cells before it again"
                                                             in o.get("text", "") for o in c.outputs)}
    assert went_on_without == skipped


@pytest.mark.parametrize("hostile", [h for h in HOSTILE if h.notes], ids=lambda h: h.name)
def test_an_answer_not_found_as_released_says_how_it_was_graded(graded_class, hostile):
    """In its test's feedback and, for formgrader, just above the answer in the graded notebook."""
    course, _ = graded_class
    assert notes_missing(hostile, course / "autograded" / hostile.name / "intro_ml") == []


@pytest.mark.parametrize(("name", "added"), [("model", []), ("scratch_cells", ["code", "markdown"])])
def test_the_graded_notebook_is_the_release_with_the_students_own_cells_once(graded_class, name, added):
    """What formgrader and nbgrader's feedback show: the release's text once, the student's additions too."""
    course, _ = graded_class
    graded = nbformat.read(course / "autograded" / name / "intro_ml" / "intro_ml.ipynb", as_version=4)
    release = nbformat.read(course / "release" / "intro_ml" / "intro_ml.ipynb", as_version=4)
    marked = [c for c in graded.cells if "grade_id" in c.metadata.get("nbgrader", {})]
    mine = [c for c in graded.cells if "nbgrader" not in c.metadata and c.source not in {r.source for r in release.cells}]
    assert [c.cell_type for c in mine] == added
    assert len(graded.cells) == len(release.cells) + len(added)
    assert [c.source for c in graded.cells if c not in marked and c not in mine] == \
        [c.source for c in release.cells if "grade_id" not in c.metadata.get("nbgrader", {})]


def test_the_grading_command_starts_its_workers_before_importing_jax_or_nbgrader():
    """The workers and their kernels import JAX; the main process would spend a second or more of a
    run's start on it, and on nbgrader, with the workers waiting (the checks import the solutions,
    and so JAX, only where they run)."""
    code = "import sys, autograder.__main__; print(sorted(m for m in ('jax', 'nbgrader', 'solutions') if m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", code], cwd=COURSE, capture_output=True, text=True, timeout=120, check=True)
    assert run.stdout.strip() == "[]"


def test_an_ungradable_file_still_gets_results_with_the_reason(graded_class):
    course, _ = graded_class
    found = results(course, "invalid_json")
    assert found["score"] == 0
    assert all("not valid JSON" in t["output"] for t in found["tests"])


def test_the_grader_prints_no_warning_meant_for_a_notebooks_author(graded_class):
    """nbformat warns about a notebook's cell ids (and repairs them) on stderr: the instructor's
    console would get a line per cell of every such submission."""
    _, run = graded_class
    assert "nbformat" not in run.stderr and "Warning" not in run.stderr, run.stderr[-2000:]


def test_a_student_folder_whose_name_is_not_utf8_is_skipped_with_a_warning(graded_class):
    course, run = graded_class
    assert "warning: skipped submitted/student \ufffd/: its name is not UTF-8 text" in run.stdout + run.stderr
    assert not (course / "autograded" / os.fsdecode(UNDECODABLE_STUDENT)).exists()


def test_every_student_graded_gets_a_feedback_page_and_a_row_in_the_class_report(graded_class):
    course, _ = graded_class
    report = (course / "reports" / "intro_ml" / "index.html").read_text(encoding="utf-8")
    for name in CLASS:
        assert (course / "feedback" / name / "intro_ml" / "intro_ml.html").is_file(), name
        assert f'data-student="{name}"' in report, name


def test_nothing_of_the_course_directory_shows_in_any_output(graded_class):
    course, run = graded_class
    for path in (course / "autograded").rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            for secret in (*SECRETS, str(course), str(Path(__file__).resolve().parents[1])):
                assert secret not in text, f"{path.relative_to(course)} shows {secret!r}"
    assert "imported solutions" not in (course / "autograded" / "looks_for_solutions" / "intro_ml" / "intro_ml.ipynb").read_text()


def test_no_process_of_a_submission_outlives_the_run(graded_class):
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    for marker in LINGERING:
        assert marker not in processes
    assert sandbox.SOCKETS_PREFIX not in processes  # in the arguments of every kernel and forker


def test_a_process_bomb_hits_the_process_limit(graded_class):
    course, _ = graded_class
    notebook = (course / "autograded" / "process_bomb" / "intro_ml" / "intro_ml.ipynb").read_text()
    found = re.search(r"stopped after (\d+) processes", notebook)
    assert found and int(found.group(1)) < Limits().processes


def test_processes_of_one_notebook_cannot_hold_more_memory_together_than_the_cap(tmp_path):
    """Where the grader can cap a sandbox's memory (root, cgroup v1), one of eight 1 GiB processes is killed."""
    course = make_course(tmp_path / "course")
    hog = HOGS_MEMORY_IN_MANY_PROCESSES
    submit(course, hog.name, hog.content())
    run = grade(course, "--cell-timeout", "60")
    assert run.returncode == 0, run.stderr[-2000:]
    scores = {t["name"].removesuffix("_test"): t["score"] for t in results(course, hog.name)["tests"]}
    assert scores == hog.expected(), hog.story


def test_files_written_beside_the_kernels_sockets_are_bounded_and_gone_for_the_next_student(tmp_path):
    """The one directory of the grader's a kernel may write to is in memory, under the sandbox's cap.

    Graded with one worker: the next submission runs in the same warm sandbox right after.
    """
    course = make_course(tmp_path / "course")
    filler = FILLS_ITS_SOCKETS_DIRECTORY
    submit(course, "a_" + filler.name, filler.content())
    write(HONEST_BY_NAME["model"], course / "submitted" / "b_model" / "intro_ml")
    run = grade(course, "--workers", "1", "--memory", "2", "--cell-timeout", "60")
    assert run.returncode == 0, run.stderr[-2000:]
    for name, expected in (("a_" + filler.name, filler.expected()), ("b_model", EXPECTED_FULL)):
        scores = {t["name"].removesuffix("_test"): t["score"] for t in results(course, name)["tests"]}
        assert scores == expected, name


def test_fake_results_and_gradebooks_go_nowhere(graded_class):
    course, _ = graded_class
    assert not (course / "autograded" / "fake_results").exists()
    assert sorted(p.name for p in (course / "autograded").iterdir()) == sorted(CLASS)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        assert sorted(s.id for s in gradebook.students) == sorted(CLASS)


def test_graded_submissions_are_skipped_and_manual_grades_survive_regrading(graded_class):
    course, _ = graded_class
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        grade_ = gradebook.find_grade("gradient_tuple", "intro_ml", "intro_ml", "model")
        grade_.manual_score = 1.5
        comment = gradebook.find_comment("gradient_tuple", "intro_ml", "intro_ml", "model")
        comment.manual_comment = "Good on pytrees; say what the objects are."
        gradebook.db.commit()
    again = grade(course)
    assert again.returncode == 0 and "nothing to grade" in again.stdout
    forced = grade(course, "--force", "--student", "model", "--student", "tuple_style")
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert "graded model: 17 / 17" in forced.stdout and "graded tuple_style: 17 / 17" in forced.stdout
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        grade_ = gradebook.find_grade("gradient_tuple", "intro_ml", "intro_ml", "model")
        assert grade_.manual_score == 1.5 and grade_.score == 1.5
        comment = gradebook.find_comment("gradient_tuple", "intro_ml", "intro_ml", "model")
        assert comment.manual_comment == "Good on pytrees; say what the objects are."
        assert len(gradebook.find_assignment("intro_ml").submissions) == len(CLASS)


def test_a_check_fixed_after_grading_reaches_every_student_on_the_next_run(tmp_path):
    """Skipping what was graded holds under the same rubric only: an edited check grades everyone again."""
    course = make_course(tmp_path / "course")
    write(HONEST_BY_NAME["seed_landscape"], course / "submitted" / "seed" / "intro_ml")
    first = grade(course, "--no-pages")
    assert first.returncode == 0 and "graded seed: 16 / 17" in first.stdout, first.stderr[-2000:]
    assert "nothing to grade" in grade(course, "--no-pages").stdout
    checks = course / "autograder" / "checks" / "test_loss_landscape.py"
    checks.write_text(checks.read_text().replace("the surface is drawn transposed", "b and m are swapped on the surface"))
    again = grade(course, "--no-pages")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "1 submission(s) graded before under another rubric" in again.stdout
    assert "graded seed: 16 / 17" in again.stdout
    output = {t["name"]: t["output"] for t in results(course, "seed")["tests"]}["loss_landscape_test"]
    assert "b and m are swapped on the surface" in output and "drawn transposed" not in output


def test_a_course_moved_to_another_folder_keeps_its_rubric(tmp_path):
    """The rubric is what decides the scores, not where the course lies: a copy named otherwise would
    otherwise grade everyone again (and the isolated grader's workers compute their reference values
    again)."""
    here, there = make_course(tmp_path / "fall"), make_course(tmp_path / "elsewhere" / "spring")
    assert pending.rubric_digest(here, "intro_ml") == pending.rubric_digest(there, "intro_ml")
    config = there / "nbgrader_config.py"
    config.write_text(config.read_text() + "\n# a change\n")
    assert pending.rubric_digest(here, "intro_ml") != pending.rubric_digest(there, "intro_ml")


SUBMITTED_AT = {"ada": "2026-11-20 09:00:00.000000 UTC", "alan": "2026-11-26 10:00:00.000000 UTC", "grace": None}
DUE = datetime(2026, 11, 26, 0, 0)  # nbgrader keeps times in UTC, without a time zone


def lateness(course: Path) -> dict[str, tuple]:
    """Per student: the submission's time, seconds late, and the late penalty, as the gradebook has them."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {
            name: (submission.timestamp, submission.total_seconds_late,
                   gradebook.find_submission_notebook("intro_ml", "intro_ml", name).late_submission_penalty)
            for name in SUBMITTED_AT
            for submission in [gradebook.find_submission("intro_ml", name)]
        }


def test_submission_times_and_late_penalties_are_recorded_as_nbgrader_records_them(tmp_path):
    """The time `nbgrader collect` wrote, not the grading's; the course's own late-submission rule."""
    isolated = make_course(tmp_path / "isolated")
    with open(isolated / "nbgrader_config.py", "a") as config:
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    nbgrader(isolated, "generate_assignment", "intro_ml", "--force")
    with Gradebook(f"sqlite:///{isolated / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_assignment("intro_ml", duedate=DUE)
    plain = shutil.copytree(isolated, tmp_path / "nbgrader")  # the same release and gradebook
    for course in (isolated, plain):
        for name, when in SUBMITTED_AT.items():
            folder = course / "submitted" / name / "intro_ml"
            write(HONEST_BY_NAME["model"], folder)
            if when:
                (folder / "timestamp.txt").write_text(when)
    first = grade(isolated)
    assert first.returncode == 0
    nbgrader(plain, "autograde", "intro_ml", env=jax_keeps_compilations(tmp_path / "jax_cache"))
    recorded = lateness(isolated)
    assert recorded["ada"] == (datetime(2026, 11, 20, 9, 0), 0, None)
    assert recorded["alan"] == (datetime(2026, 11, 26, 10, 0), 36000, 17)  # "zero": the late score is taken away
    assert recorded["grace"][:2] == (None, 0)
    assert recorded == lateness(plain)
    header, rows = printed_table(first.stdout)
    assert header[-4:] == ["autograded", "late", "penalty", "score"]
    assert {name: row[-3:] for name, row in rows.items()} == {
        "ada": ["17", "0", "17"], "alan": ["17", "17", "0"], "grace": ["17", "0", "17"]}
    (isolated / "submitted" / "ada" / "intro_ml" / "timestamp.txt").write_text("2026-11-27 08:00:00 UTC")
    again = grade(isolated)  # the same notebook sent again, after the due date: graded again
    assert again.returncode == 0 and "graded ada: 17 / 17" in again.stdout, again.stderr[-3000:]
    assert "skipped alan" in again.stdout and "skipped grace" in again.stdout
    assert lateness(isolated)["ada"] == (datetime(2026, 11, 27, 8, 0), 115200, 17)


def test_the_graded_folder_keeps_the_files_nbgrader_keeps_and_follows_no_link(tmp_path):
    """Beside the graded notebook, as after `nbgrader autograde`: the student's other files, then the
    assignment's pictures (formgrader shows them in the notebook's text); never what a link leads to."""
    course = make_course(tmp_path / "course")
    folder = course / "submitted" / "ada" / "intro_ml"
    write(HONEST_BY_NAME["model"], folder)
    (folder / "timestamp.txt").write_text("2026-11-20 09:00:00.000000 UTC")
    (folder / "notes").mkdir()
    (folder / "notes" / "my_plot.png").write_bytes(b"a picture of the student's own")
    (folder / "GD_Diagram.png").write_bytes(b"the student's copy, replaced by the assignment's")
    (folder / "results.json").write_text('{"score": 17}')
    (folder / "solutions.py").symlink_to(COURSE / "solutions" / "intro_ml.py")
    (folder / "the_course").symlink_to(COURSE, target_is_directory=True)
    os.mkfifo(folder / "pipe")
    assert grade(course).returncode == 0
    graded = course / "autograded" / "ada" / "intro_ml"
    kept = sorted(str(path.relative_to(graded)) for path in graded.rglob("*"))
    assert kept == ["GD_Diagram.png", "figures.json", "intro_ml.ipynb", "notes", "notes/my_plot.png", "results.json",
                    "segmented-least-squares-n.png", "timestamp.txt"]
    for picture in ("GD_Diagram.png", "segmented-least-squares-n.png"):
        assert (graded / picture).read_bytes() == (course / "source" / "intro_ml" / picture).read_bytes()
    assert results(course, "ada")["score"] == 17  # the grader's results.json, not the student's
    assert graded.stat().st_mode & 0o777 == 0o777 & ~current_umask()  # not mkdtemp's 0o700


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_a_run_killed_half_way_and_restarted_grades_everyone_once(tmp_path):
    names = [f"student_{i}" for i in range(6)]
    course = models_submitted(tmp_path, names)
    run = start_grading(course, "--workers", "2", stderr=subprocess.STDOUT)
    graded = 0
    deadline = time.monotonic() + 600
    while graded < 2 and time.monotonic() < deadline:
        line = run.stdout.readline()
        graded += line.startswith("graded ")
    os.killpg(run.pid, signal.SIGKILL)
    run.wait(timeout=30)
    deadline = time.monotonic() + 30  # its workers die a moment later: restart once they are gone
    while any(Path("/proc", pid).exists() for _, _, pid in graders_dirs()) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = {kind for _, kind, _ in graders_dirs()}
    cgroups = os.getuid() == 0 and any(sandbox.CGROUPS.glob("*/cgroup.procs"))  # a root grader makes some
    expected = {"ipc", "inbox"} | ({"sandbox"} if cgroups else set())
    assert left == expected, f"the killed run left {left}, not {expected}: this test shows nothing"
    assert 2 <= len(list((course / "autograded").glob("*/intro_ml/results.json"))) < len(names)
    finish = grade(course)
    assert finish.returncode == 0, finish.stderr[-2000:]
    assert finish.stdout.count("skipped ") >= 2
    for name in names:
        assert sum(t["score"] for t in results(course, name)["tests"]) == 17
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        assert len(gradebook.find_assignment("intro_ml").submissions) == len(names)
        for name in names:
            assert gradebook.find_submission("intro_ml", name).score == 17
    assert not list((course / "autograded").glob("*/.intro_ml-*"))
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert sandbox.SOCKETS_PREFIX not in processes
    assert not graders_dirs(), "the killed run's sockets' directories, inboxes or cgroups are still there"


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP])
def test_a_run_stopped_by_kill_or_a_closed_terminal_ends_as_after_ctrl_c(tmp_path, stop):
    names = [f"student_{i}" for i in range(4)]
    course = models_submitted(tmp_path, names)
    run = start_grading(course, "--workers", "2")
    deadline = time.monotonic() + 600
    while not run.stdout.readline().startswith("graded ") and time.monotonic() < deadline:
        pass
    run.send_signal(stop)  # to the grader alone, as `kill` sends it
    out, errors = run.communicate(timeout=120)
    assert run.returncode == 128 + stop, errors[-3000:]
    assert f"interrupted by {stop.name}: the submissions graded so far are recorded" in out
    assert errors == ""  # before: no word, and a warning of leaked semaphores
    left = [path for path, _, pid in graders_dirs() if not Path("/proc", pid).exists()]  # its workers' are gone
    assert not left, f"its sandboxes were left behind: {left}"
    finish = grade(course)
    assert finish.returncode == 0, finish.stderr[-2000:]
    assert [results(course, name)["score"] for name in names] == [17] * len(names)


@pytest.fixture
def small_disk(tmp_path):
    """A file system of its own for a course, to fill up: a tmpfs, which only root may mount."""
    if os.getuid() != 0:
        pytest.skip("mounting a small file system to fill needs root (CI grades as root)")
    where = tmp_path / "disk"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(where)], check=True)
    yield where
    subprocess.run(["umount", "-l", str(where)], check=True)


def fill(disk: Path) -> Path:
    """Take every byte left on `disk`; remove the file returned to give them back."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    for chunk in (1 << 20, 1 << 12, 1):
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * chunk)
    os.close(fd)
    return filler


def test_a_full_disk_stops_the_run_by_name_keeps_what_was_recorded_and_the_next_run_finishes(small_disk):
    course = make_course(small_disk / "course")
    write(HONEST_BY_NAME["model"], course / "submitted" / "ada" / "intro_ml")
    assert grade(course).returncode == 0
    recorded = results(course, "ada")
    for name in ("alan", "grace"):
        write(HONEST_BY_NAME["model"], course / "submitted" / name / "intro_ml")
    (course / "feedback" / "grace").mkdir()
    (course / "feedback" / "grace" / "intro_ml").write_text("a file where grace's page folder goes")
    filler = fill(small_disk)
    run = grade(course)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert re.search(r"error: could not record the grades of (alan|grace) \(.*(disk is full|No space left)", run.stderr)
    assert "the 0 submission(s) recorded before are intact" in run.stderr
    assert results(course, "ada") == recorded
    assert not list((course / "autograded").glob("*/.intro_ml-*")), "a half-written copy was left beside them"
    with sqlite3.connect(course / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    filler.unlink()
    run = grade(course)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "skipped ada" in run.stdout and "warning: no feedback page for grace" in run.stdout
    assert [results(course, name)["score"] for name in ("ada", "alan", "grace")] == [17, 17, 17]
    (course / "feedback" / "grace" / "intro_ml").unlink()
    run = grade(course)  # nothing left to grade, but grace's page is missing: written now
    assert run.returncode == 0 and "nothing to grade" in run.stdout, run.stderr[-3000:]
    assert (course / "feedback" / "grace" / "intro_ml" / "intro_ml.html").is_file()


def test_a_notebook_that_is_no_file_is_named_and_one_without_read_permission_is_graded(tmp_path):
    """A folder or a named pipe (which would block a reader) in the notebook's place gets its reason; a
    notebook whose permissions let nobody read it is graded as root's nbgrader would grade it."""
    course = make_course(tmp_path / "course")
    (course / "submitted" / "folder" / "intro_ml" / "intro_ml.ipynb").mkdir(parents=True)
    (course / "submitted" / "pipe" / "intro_ml").mkdir(parents=True)
    os.mkfifo(course / "submitted" / "pipe" / "intro_ml" / "intro_ml.ipynb")
    (write(HONEST_BY_NAME["model"], course / "submitted" / "locked" / "intro_ml")).chmod(0)
    run = grade(course, "--no-pages", "--workers", "2")
    assert run.returncode == 0, run.stderr[-2000:]
    for name, kind in (("folder", "folder"), ("pipe", "named pipe")):
        assert results(course, name)["score"] == 0
        assert f"intro_ml.ipynb is not a file but a {kind}" in results(course, name)["output"]
    if os.getuid() == 0:  # root may read any file (a grader that is not root cannot: "the grader failed")
        assert results(course, "locked")["score"] == 17


def test_a_limit_that_would_fail_everyone_is_refused_before_anything_is_graded(tmp_path):
    course = models_submitted(tmp_path, ["ada"])
    for option, value in (("--cell-timeout", "0"), ("--memory", "-1"), ("--workers", "0"), ("--timeout", "nan")):
        run = grade(course, option, value)
        assert run.returncode == 2 and f"argument {option}: must be a number more than 0, not {value}" in run.stderr
    assert not (course / "autograded").exists() and not (course / "gradebook.db").exists()


def test_while_another_run_holds_the_course_grading_is_refused_and_nothing_is_written(tmp_path):
    course = models_submitted(tmp_path, ["ada"])
    with open(course / course_lock.LOCK_FILE, "w") as other_run:  # as a run in another terminal holds it
        fcntl.flock(other_run, fcntl.LOCK_EX)
        other_run.write("4242\n")
        other_run.flush()
        for command in (["grade", "intro_ml", *LIMITS], ["pages", "intro_ml"]):
            run = subprocess.run([sys.executable, "-m", "autograder", *command], cwd=course,
                                 capture_output=True, text=True, timeout=120)
            assert run.returncode == 75, run.stderr
            assert "another grading run (process 4242) is working on this course; nothing was done" in run.stderr
            assert "Traceback" not in run.stderr
        assert not (course / "gradebook.db").exists() and not (course / "autograded").exists()
        assert not (course / "feedback").exists() and not (course / "reports").exists()
    run = grade(course)  # the other run has ended: its lock went with it
    assert run.returncode == 0, run.stderr[-3000:]
    assert results(course, "ada")["score"] == 17


def test_two_runs_started_together_grade_the_class_once_and_the_second_says_why_it_stopped(tmp_path):
    course = models_submitted(tmp_path, ["ada", "alan"])
    runs = [start_grading(course, "--no-pages") for _ in range(2)]
    outcomes = sorted((run.wait(timeout=600), run.communicate()[1]) for run in runs)
    (first, first_errors), (second, second_errors) = outcomes
    assert first == 0, first_errors[-3000:]  # without the lock both graded everyone, or one crashed on the gradebook
    assert second == 75 and "another grading run" in second_errors and "Traceback" not in second_errors
    assert [results(course, name)["score"] for name in ("ada", "alan")] == [17, 17]


def test_before_anything_is_collected_or_graded_each_command_says_so_and_creates_nothing(tmp_path):
    course = make_course(tmp_path / "course")
    for command in ("scores", "pages"):
        run = subprocess.run([sys.executable, "-m", "autograder", command, "intro_ml"], cwd=course,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr[-3000:]
        assert "nothing of intro_ml is graded here yet: run `python -m autograder grade intro_ml` first" in run.stderr
    run = grade(course)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert "nothing to grade: no submissions of intro_ml in submitted/" in run.stdout
    assert not (course / "gradebook.db").exists()


def test_a_course_without_its_release_is_refused_with_what_to_run(tmp_path):
    course = models_submitted(tmp_path, ["ada"])
    (course / "release" / "intro_ml" / "intro_ml.ipynb").unlink()
    for command in ("grade", "gradescope"):
        run = subprocess.run([sys.executable, "-m", "autograder", command, "intro_ml"], cwd=course,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr[-3000:]
        assert "intro_ml.ipynb is missing: run `nbgrader generate_assignment intro_ml`" in run.stderr
    assert not (course / "autograded").exists() and not (course / "gradebook.db").exists()


def test_an_unreadable_gradebook_is_refused_with_the_reason_and_left_as_it_was(tmp_path):
    course = models_submitted(tmp_path, ["someone"])
    garbage = b"this is not a database " * 100
    (course / "gradebook.db").write_bytes(garbage)
    run = grade(course, timeout=120)
    assert run.returncode == 2
    assert "gradebook.db cannot be read" in run.stderr and "Traceback" not in run.stderr
    assert (course / "gradebook.db").read_bytes() == garbage
    assert not (course / "autograded").exists()


def test_without_bubblewrap_the_grader_refuses_and_says_why(tmp_path):
    course = models_submitted(tmp_path, ["someone"])
    empty = tmp_path / "bin"
    empty.mkdir()
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", "intro_ml"], cwd=course,
                         capture_output=True, text=True, timeout=120, env=os.environ | {"PATH": str(empty)})
    assert run.returncode == 2
    assert "bubblewrap" in run.stderr and "--no-sandbox" in run.stderr
    assert not (course / "autograded").exists()


def test_with_a_bubblewrap_too_old_to_size_its_file_systems_the_grader_refuses_and_says_why(tmp_path):
    course = models_submitted(tmp_path, ["someone"])
    old = tmp_path / "bin"
    old.mkdir()
    (old / "bwrap").write_text("#!/bin/sh\necho 'usage: bwrap [OPTIONS...] [--] COMMAND [ARGS...]'\necho '    --tmpfs DEST'\n")
    (old / "bwrap").chmod(0o755)
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", "intro_ml"], cwd=course,
                         capture_output=True, text=True, timeout=120, env=os.environ | {"PATH": f"{old}:/usr/bin:/bin"})
    assert run.returncode == 2
    assert "older than bubblewrap 0.8.0" in run.stderr and "--no-sandbox" in run.stderr
    assert not (course / "autograded").exists()


def test_a_submitted_link_to_the_source_notebook_earns_nothing(tmp_path):
    course = make_course(tmp_path / "course")
    folder = course / "submitted" / "linker" / "intro_ml"
    folder.mkdir(parents=True)
    (folder / "intro_ml.ipynb").symlink_to(course / "source" / "intro_ml" / "intro_ml.ipynb")
    run = grade(course)
    assert run.returncode == 0, run.stderr[-2000:]
    found = results(course, "linker")
    assert found["score"] == 0
    assert all("intro_ml.ipynb is a symbolic link, not a notebook" in t["output"] for t in found["tests"])


def test_without_a_sandbox_the_notebook_runs_in_its_own_directory_and_never_as_root(tmp_path):
    course = make_course(tmp_path / "course")
    answer = ("import os\nprint(f'uid={os.getuid()} cwd={os.getcwd()}')\n"
              "open('written_by_the_notebook.txt', 'w').write('here')\nbeta_25 = (3.0, 4.0)")
    write(Submission("writes_here", "writes a file where it runs", {"x2_25": answer}), course / "submitted" / "s" / "intro_ml")
    run = grade(course, "--no-sandbox")
    assert run.returncode == 0, run.stderr[-2000:]
    assert results(course, "s")["score"] == 17
    assert not list(course.rglob("written_by_the_notebook.txt"))
    graded = (course / "autograded" / "s" / "intro_ml" / "intro_ml.ipynb").read_text()
    uid, cwd = re.search(r"uid=(\d+) cwd=(\S+)", graded).groups()
    assert not Path(cwd).is_relative_to(course)
    if os.getuid() == 0:
        assert uid == str(sandbox.NOBODY)


def test_no_sandbox_grades_the_same_when_asked_for_explicitly(tmp_path):
    course = make_course(tmp_path / "course")
    write(HONEST_BY_NAME["seed_landscape"], course / "submitted" / "trusted" / "intro_ml")
    run = grade(course, "--no-sandbox", "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    events = [json.loads(line) for line in run.stdout.splitlines()]
    assert events[0] == {"event": "start", "submissions": 1, "workers": 1, "sandboxed": False}
    graded = next(e for e in events if e["event"] == "graded")
    assert graded["student"] == "trusted" and graded["score"] == 16 and graded["tests"]["loss_landscape_test"] == 2
    assert events[-1]["event"] == "summary" and events[-1]["questions"]["loss_landscape"]["lost_points"] == 1


def test_the_time_limit_of_a_submission_bounds_its_checks_too(tmp_path):
    """Each call a check makes stays under the cell limit, yet one question's calls together would
    run far past the submission's limit: grading stops at it, and what was graded before keeps its
    points."""
    course = make_course(tmp_path / "course")
    slow = model_answers()["grad_of_loss"] + (
        "\nimport time\n_grad = grad_of_loss\n"
        "def grad_of_loss(params, x_, y_):\n"
        "    if x_.shape != x.shape or not bool((x_ == x).all()):\n"
        "        time.sleep(9.5)  # only on the checks' data, under the 10 s a call may take\n"
        "    return _grad(params, x_, y_)")
    write(Submission("slow_on_hidden_data", "slow on the checks' data", {"grad_of_loss": slow}),
          course / "submitted" / "slow" / "intro_ml")
    run = grade(course, "--cell-timeout", "10", "--timeout", "12")
    assert run.returncode == 0, run.stderr
    graded = results(course, "slow")
    # ~3 s of cells, then grad_of_loss's three hidden calls of 9.5 s each: 31 s without the bound
    assert graded["extra_data"]["seconds"] < 22
    assert "ran for more than 12 s in all" in graded["extra_data"]["problem"]
    scores = {t["name"].removesuffix("_test"): t["score"] for t in graded["tests"]}
    assert all(scores[grade_id] == EXPECTED_FULL[grade_id] for grade_id in ("plot_data", "least_squares", "plot_fit", "x2_25"))
    assert scores["one_epoch"] == 0
    said = "\n".join(t["output"] for t in graded["tests"])
    assert "12 s in all ran out" in said
