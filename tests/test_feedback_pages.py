"""Feedback pages and the class report, as a student and an instructor see them in a real browser.

A small class is graded once by the real command line: a perfect notebook, the seed's transposed
surface, a student who also scatters y against x, one who writes HTML into an axis label and adds the
gradient, and a file that is not a notebook. A grader then gives one hand grade in the gradebook,
as formgrader does, and `rebuild_all` builds every page without grading again. Headless Chromium
opens each page; the tests assert what a person would see. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import notebook_hash
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from autograder import drawing
from autograder.class_report import rebuild_all
from autograder.feedback import write_feedback
from autograder.gradebook import opened, session
from autograder.plain import Axes, Figure, Line
from conftest import make_course, nbgrader
from hostile import BY_NAME as HOSTILE_BY_NAME
from submissions import BY_NAME, SEED_LANDSCAPE, Submission, write

ASSIGNMENT = "intro_ml"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
HTML_LABEL = "<img src=x onerror=alert(1)>"
HAND_GRADE = 1.5
HAND_COMMENT = "Right about the <b>structure</b> & the partial derivatives; say what the arrays are."

CLASS = {
    "ada": BY_NAME["model"],
    "alan": BY_NAME["seed_landscape"],
    "grace": Submission(
        "grace", "scatters y against x, and copies the seed's transposed surface",
        {"plot_data": BY_NAME["scatter_swapped"].answers["plot_data"], "loss_landscape": SEED_LANDSCAPE},
    ),
    "mallory": Submission(
        "mallory", "labels the x axis with HTML, and adds the gradient instead of subtracting it",
        {
            "plot_data": f"plt.scatter(x, y)\nplt.plot(x, 3*x + 2)\nplt.xlabel({HTML_LABEL!r})\nplt.ylabel('y')\nplt.show()",
            "one_epoch": BY_NAME["sign_flip"].answers["one_epoch"],
        },
    ),
}
NOT_A_NOTEBOOK = "notebookless"
COPIER = "barbara"  # copied three answer cells to try again in the copies (hostile.copied_answer_cells)
STUDENTS = [*CLASS, COPIER, NOT_A_NOTEBOOK]
PLOTTED = ("plot_data", "plot_fit", "loss_landscape")
BROWSER_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")


@dataclass(frozen=True)
class Built:
    course: Path

    def feedback(self, student: str) -> Path:
        return self.course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"

    @property
    def report(self) -> Path:
        return self.course / "reports" / ASSIGNMENT / "index.html"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    course = make_course(tmp_path_factory.mktemp("feedback"))
    for student, submission in CLASS.items():
        write(submission, course / "submitted" / student / ASSIGNMENT)
    copier = course / "submitted" / COPIER / ASSIGNMENT
    copier.mkdir(parents=True)
    (copier / f"{ASSIGNMENT}.ipynb").write_bytes(HOSTILE_BY_NAME["copied_answer_cells"].content())
    broken = course / "submitted" / NOT_A_NOTEBOOK / ASSIGNMENT
    broken.mkdir(parents=True)
    (broken / f"{ASSIGNMENT}.ipynb").write_text("my answers are in the attached PDF")
    for student in STUDENTS:  # what `nbgrader collect` leaves beside each submission
        folder = course / "submitted" / student / ASSIGNMENT
        (folder / "timestamp.txt").write_text("2026-11-20 09:00:00.000000 UTC")
        (folder / "submission_secret.txt").write_text(secrets.token_hex(32))
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--workers", "2"],
                         cwd=course, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    with Gradebook(db_url(course)) as gradebook:  # a grader marks ada's explanation in formgrader
        grade = gradebook.find_grade("gradient_tuple", ASSIGNMENT, ASSIGNMENT, "ada")
        grade.manual_score = HAND_GRADE
        grade.needs_manual_grade = False
        gradebook.find_comment("gradient_tuple", ASSIGNMENT, ASSIGNMENT, "ada").manual_comment = HAND_COMMENT
        gradebook.db.commit()
    rebuild_all(course, ASSIGNMENT)
    return Built(course)


@pytest.fixture(scope="module")
def browser():
    options = Options()
    for flag in BROWSER_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def db_url(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


def gradebook_scores(course: Path, student: str) -> dict[str, tuple[float | None, float]]:
    """{answer grade id: (score, or None while a hand grade is pending; max score)}, straight from nbgrader."""
    with Gradebook(db_url(course)) as gradebook:
        grades = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student).grades
        return {
            grade.name.removesuffix("_test"): (
                None if grade.needs_manual_grade and grade.manual_score is None else grade.score,
                grade.max_score,
            )
            for grade in grades
        }


def shown(score: float | None, max_score: float) -> str:
    return f"{'–' if score is None else f'{score:g}'} / {max_score:g} point{'' if max_score == 1 else 's'}"


def open_page(driver, path: Path, width: int = 1100, screenshot: str = "") -> None:
    """Load the page at a window width, tall enough to hold all of it; keep a screenshot if named."""
    driver.set_window_size(width, 900)
    driver.get(path.as_uri())
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(height + 150, 16000))
    if screenshot:
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / f"{screenshot}.png"))


def sections(driver) -> dict[str, object]:
    return {s.get_attribute("id").removeprefix("q-"): s for s in driver.find_elements(By.CSS_SELECTOR, "section.question")}


def all_pages(built: Built) -> dict[str, Path]:
    return {f"feedback_{s}": built.feedback(s) for s in STUDENTS} | {"class_report": built.report}


@pytest.mark.parametrize("student", STUDENTS)
def test_the_feedback_page_shows_each_score_the_gradebook_holds(built, browser, student):
    expected = gradebook_scores(built.course, student)
    open_page(browser, built.feedback(student))
    found = {grade_id: s.find_element(By.CSS_SELECTOR, "h2 .score").text for grade_id, s in sections(browser).items()}
    assert found == {grade_id: shown(*score) for grade_id, score in expected.items()}
    autograded = [score for grade_id, score in expected.items() if grade_id != "gradient_tuple"]
    total = browser.find_element(By.CSS_SELECTOR, "header .total").text
    assert total == shown(sum(s for s, _ in autograded), sum(m for _, m in autograded))


def test_the_hand_graded_answer_shows_its_hand_grade_once_given_and_waits_otherwise(built, browser):
    open_page(browser, built.feedback("ada"))
    explanation = sections(browser)["gradient_tuple"].text
    assert f"{HAND_GRADE:g} / 2 points" in explanation and "graded by hand" in explanation
    assert HAND_COMMENT in explanation  # the grader's comment, shown as the text it is
    open_page(browser, built.feedback("alan"))
    assert "waiting to be graded by hand" in sections(browser)["gradient_tuple"].text


@pytest.mark.parametrize("page", ["feedback_ada", "feedback_alan", "feedback_grace", "feedback_mallory",
                                  "feedback_notebookless", "class_report"])
def test_every_image_loads_with_a_real_size(built, browser, page):
    open_page(browser, all_pages(built)[page], screenshot=page)
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])")
    assert images
    assert all(complete and width > 0 and height > 0 for _, complete, width, height in images), images
    if page.startswith("feedback"):  # each plotted answer: the student's figure (if any) and the reference
        assert sum("asked for" in alt for alt, *_ in images) == len(PLOTTED)


def test_each_plotted_answer_shows_the_students_figure_beside_the_reference(built, browser):
    open_page(browser, built.feedback("alan"))
    for grade_id in PLOTTED:
        captions = [c.text for c in sections(browser)[grade_id].find_elements(By.TAG_NAME, "figcaption")]
        assert captions == ["Your figure, as the grader read it", "What was asked for, drawn from the model solution"]
    open_page(browser, built.feedback(NOT_A_NOTEBOOK))
    for grade_id in PLOTTED:
        assert "found no figure" in sections(browser)[grade_id].text


@pytest.mark.parametrize("student, grade_id, named", [
    ("alan", "loss_landscape", "the surface is drawn transposed"),
    ("grace", "plot_data", "x and y are swapped"),
    ("mallory", "one_epoch", "moved beta uphill"),
    ("mallory", "plot_data", "label the axes x and y"),
    (NOT_A_NOTEBOOK, None, "the file is not a notebook"),
])
def test_the_page_names_the_mistake_in_the_checks_words(built, browser, student, grade_id, named):
    open_page(browser, built.feedback(student))
    where = sections(browser)[grade_id] if grade_id else browser.find_element(By.TAG_NAME, "header")
    assert named in where.text


def test_an_html_label_is_shown_as_text_not_markup(built, browser):
    open_page(browser, built.feedback("mallory"))
    assert HTML_LABEL in sections(browser)["plot_data"].text
    assert browser.execute_script("return document.querySelectorAll('img:not([src^=\"data:image/png\"])').length") == 0


@pytest.mark.parametrize("page", ["feedback_ada", "feedback_alan", "feedback_grace", "feedback_mallory",
                                  "feedback_notebookless", "class_report"])
def test_a_page_gives_away_nothing_of_the_grader(built, page):
    text = all_pages(built)[page].read_text()
    secrets_of_the_grader = ["Traceback", str(built.course), "HIDDEN TESTS", "def test_", "pytest",
                             "checks/test_", "solutions/", "Model answer", "Rubric", "0-d `float32`"]
    assert [s for s in secrets_of_the_grader if s in text] == []


@pytest.mark.parametrize("page", ["feedback_mallory", "class_report"])
def test_a_page_fits_a_phone_screen(built, browser, page):
    open_page(browser, all_pages(built)[page], width=390, screenshot=f"{page}_phone")
    wide, screen = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert wide <= screen
    assert browser.find_element(By.CSS_SELECTOR, 'meta[name="viewport"]')


def test_the_class_report_agrees_with_the_gradebook(built, browser):
    open_page(browser, built.report)
    scores = {student: gradebook_scores(built.course, student) for student in STUDENTS}
    for row in browser.find_elements(By.CSS_SELECTOR, "#students tbody tr"):
        student = row.get_attribute("data-student")
        autograded = sum(s for g, (s, _) in scores[student].items() if g != "gradient_tuple")
        assert row.find_element(By.CSS_SELECTOR, ".total").text == f"{autograded:g}"
    assert {r.get_attribute("data-student") for r in browser.find_elements(By.CSS_SELECTOR, "#students tbody tr")} \
        == set(STUDENTS)
    means = {row.find_element(By.TAG_NAME, "code").text: row.find_element(By.CSS_SELECTOR, ".mean").text
             for row in browser.find_elements(By.CSS_SELECTOR, "#questions tbody tr")}
    for grade_id in ("plot_data", "one_epoch", "loss_landscape"):
        assert means[grade_id] == f"{np.mean([scores[s][grade_id][0] for s in STUDENTS]):.2f}"


def test_the_class_report_counts_a_mistake_two_students_made_once_with_both_names(built, browser):
    open_page(browser, built.report)
    rows = [r for r in browser.find_elements(By.CSS_SELECTOR, "#mistakes tbody tr") if "drawn transposed" in r.text]
    assert len(rows) == 1
    assert rows[0].find_element(By.CSS_SELECTOR, ".count").text == "2"
    assert "alan, grace" in rows[0].text


def test_the_class_report_says_which_submission_could_not_be_graded_and_why(built, browser):
    open_page(browser, built.report)
    rows = browser.find_elements(By.CSS_SELECTOR, "#ungraded tbody tr")
    assert [r.text.split()[0] for r in rows] == [NOT_A_NOTEBOOK]
    assert "the file is not a notebook" in rows[0].text


def test_the_class_report_lists_the_graders_notes_by_student_and_question(built, browser):
    """The copies barbara made are named there, and her own page says the same beside each question."""
    open_page(browser, built.report)
    rows = [r.find_elements(By.TAG_NAME, "td") for r in browser.find_elements(By.CSS_SELECTOR, "#notes tbody tr")]
    noted = HOSTILE_BY_NAME["copied_answer_cells"].notes
    assert sorted((r[0].text, r[1].text) for r in rows) == sorted((COPIER, grade_id) for grade_id in noted)
    assert all("copies of this answer cell" in r[2].text for r in rows)
    open_page(browser, built.feedback(COPIER))
    for grade_id, words in noted.items():
        notes = sections(browser)[grade_id].find_elements(By.CSS_SELECTOR, "p.note")
        assert any(words.replace("`", "") in n.text for n in notes), grade_id


def test_each_student_in_the_class_report_links_to_their_feedback_page(built, browser):
    open_page(browser, built.report)
    links = {a.text: a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#students tbody a")}
    assert set(links) == set(STUDENTS)
    for student, href in links.items():
        browser.get(href)
        assert browser.find_element(By.TAG_NAME, "h1").text == f"Feedback for {student}"


def test_a_page_written_through_a_runs_open_gradebook_shows_a_hand_grade_given_meanwhile(built, browser, tmp_path):
    """A run keeps one gradebook open for all its pages: each page must still read what formgrader
    committed since the page before, not what that gradebook's last session saw."""
    course = tmp_path / "course"
    shutil.copytree(built.course, course, symlinks=True)
    with opened(course) as run:
        open_page(browser, write_feedback(course, ASSIGNMENT, "alan", run))
        assert "waiting to be graded by hand" in sections(browser)["gradient_tuple"].text
        with Gradebook(db_url(course)) as formgrader:
            grade = formgrader.find_grade("gradient_tuple", ASSIGNMENT, ASSIGNMENT, "alan")
            grade.manual_score = 0.5
            grade.needs_manual_grade = False
            formgrader.find_comment("gradient_tuple", ASSIGNMENT, ASSIGNMENT, "alan").manual_comment = "Say why."
            formgrader.db.commit()
        page = write_feedback(course, ASSIGNMENT, "alan", run)
    open_page(browser, page)
    explanation = sections(browser)["gradient_tuple"].text
    assert "0.5 / 2 points" in explanation and "graded by hand" in explanation and "Say why." in explanation


def test_what_a_piece_of_a_run_left_uncommitted_is_not_committed_by_the_next(built, tmp_path):
    """A recording that fails half-way through the run's open gradebook leaves nothing behind that
    the next student's recording would then commit with its own."""
    course = tmp_path / "course"
    shutil.copytree(built.course, course, symlinks=True)
    before = gradebook_scores(course, "ada")["plot_data"]
    with opened(course) as run:
        with pytest.raises(RuntimeError), session(course, run) as gradebook:
            gradebook.find_grade("plot_data_test", ASSIGNMENT, ASSIGNMENT, "ada").auto_score = 0.0
            raise RuntimeError("the disk filled up")
        with session(course, run) as gradebook:
            gradebook.find_grade("plot_data_test", ASSIGNMENT, ASSIGNMENT, "alan")
            gradebook.db.commit()
    assert before[0] > 0 and gradebook_scores(course, "ada")["plot_data"] == before


def test_nbgrader_release_feedback_hands_each_page_to_its_student(built, tmp_path):
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    nbgrader(built.course, "release_feedback", ASSIGNMENT, f"--Exchange.root={exchange}", timeout=120)
    for student in STUDENTS:
        secret = (built.course / "submitted" / student / ASSIGNMENT / "submission_secret.txt").read_text()
        # what `nbgrader fetch_feedback` looks for: the hash of the secret and the notebook's name
        released = exchange / "intro_ml_jax" / "feedback" / f"{notebook_hash(secret=secret, notebook_id=ASSIGNMENT)}.html"
        assert released.read_bytes() == built.feedback(student).read_bytes()


def test_a_figure_with_a_label_matplotlib_cannot_parse_is_still_drawn():
    figure = Figure(axes=(
        Axes("2d", xlabel=r"$\frac{", ylabel="y" * 500,
             lines=(Line(np.array([[0.0, 0.0], [1.0, 1.0]]), "not a style", "not a marker", infinite=True),)),
        Axes("3d", xlabel="b", surfaces=(np.array([[0.0, 0.0, 1.0], [1.0, 1.0, 2.0]]),)),
    ))
    assert drawing.student_png(figure).startswith(b"\x89PNG")


def scatter_and_line(**changes) -> Figure:
    """A plot_data-like figure; `changes` replace fields of its axes."""
    x = np.linspace(0.0, 1.0, 100)
    axes = Axes("2d", xlabel="x", ylabel="y", points=(np.stack([x, 3 * x + 2], axis=1),),
                lines=(Line(np.array([[0.0, 2.0], [1.0, 5.0]]), "-", ""),))
    return Figure(axes=(dataclasses.replace(axes, **changes),))


@pytest.mark.parametrize("changes", [
    dict(xlabel="X"),
    dict(title="x"),
    dict(points=(scatter_and_line().axes[0].points[0][:50], scatter_and_line().axes[0].points[0][50:])),
    dict(points=(scatter_and_line().axes[0].points[0] + np.array([0.0, 1e-12]),)),
    dict(lines=(Line(np.array([[0.0, 2.0], [1.0, 5.0]]), "--", ""),)),
    dict(lines=(Line(np.array([[0.0, 2.0], [1.0, 5.0]]), "-", "", infinite=True),)),
    dict(projection="3d"),
])
def test_a_figure_that_differs_in_anything_recorded_gets_a_picture_of_its_own(changes):
    figure, other = scatter_and_line(), scatter_and_line(**changes)
    assert drawing.fingerprint(figure) != drawing.fingerprint(other)
    assert drawing.fingerprint(figure) == drawing.fingerprint(scatter_and_line())
    assert drawing.student_png(other) == drawing._draw_student(other)


def test_equal_figures_are_drawn_once(monkeypatch):
    drawn = []
    draw = drawing._draw_student
    monkeypatch.setattr(drawing, "_draw_student", lambda figure: drawn.append(figure) or draw(figure))
    monkeypatch.setattr(drawing, "_drawn", {})
    pictures = [drawing.student_png(scatter_and_line(title=title)) for title in ("a", "b", "a", "a", "b")]
    assert len(drawn) == 2 and [figure.axes[0].title for figure in drawn] == ["a", "b"]
    assert pictures[0] == pictures[2] == pictures[3] != pictures[1] == pictures[4]
    for title in range(drawing.KEPT_PICTURES + 10):
        drawing.student_png(scatter_and_line(title=str(title)))
    assert len(drawing._drawn) == drawing.KEPT_PICTURES


KEPT_REFERENCE_PROBE = """
import sys
from autograder import drawing
pictures = [drawing.reference_png(grade_id) for grade_id in ("plot_data", "plot_fit", "loss_landscape")]
print(sum(map(len, pictures)), "jax" in sys.modules)
"""


def test_the_reference_pictures_are_drawn_once_then_read_without_jax(tmp_path):
    """The main process draws them with JAX once; every later run reads them and never imports JAX."""
    def run() -> list[str]:
        env = {"PATH": str(Path(sys.executable).parent), "XDG_CACHE_HOME": str(tmp_path), "JAX_PLATFORMS": "cpu"}
        course = Path(drawing.__file__).resolve().parents[1]
        return subprocess.run([sys.executable, "-c", KEPT_REFERENCE_PROBE], cwd=course, env=env,
                              capture_output=True, text=True, check=True, timeout=120).stdout.split()

    drawn, read = run(), run()
    assert drawn[1] == "True" and read == [drawn[0], "False"]
    assert sorted(p.name.split("-")[0] for p in tmp_path.glob("intro_ml_autograder/reference-figures/*")) == [
        "loss_landscape", "plot_data", "plot_fit"]
    kept = next(tmp_path.glob("intro_ml_autograder/reference-figures/plot_fit-*"))
    assert kept.read_bytes() == drawing.reference_png("plot_fit")  # what was drawn, whole


def test_the_messages_a_student_reads_drop_course_paths_and_tracebacks(built):
    from autograder.feedback import for_student

    text = f"could not open {built.course}/autograder/x.py\nTraceback (most recent call last):\n  File ..."
    assert for_student(text, built.course) == "could not open …/autograder/x.py"
    assert "instructor" in for_student("plot_data: the checks could not run (RuntimeError: boom)", built.course)
