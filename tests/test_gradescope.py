"""The Gradescope bundle: what the zip holds, and a results.json that follows Gradescope's specification
with the kit's own scores.

The bundle is built once from the real course and unzipped into a simulated `/autograder` per upload,
which is graded as `run_autograder` grades it: `python -m autograder.gradescope run` from the
unzipped source, with this environment's Python instead of the one `setup.sh` would install. The
uploads are graded at once; one of them in a container whose bubblewrap cannot create a sandbox.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mistune
import nbformat
import pytest

from autograder import gradescope, sandbox
from autograder.restore import Ungradable
from conftest import COURSE
from hostile import BY_NAME as HOSTILE_BY_NAME
from hostile import LINGERING, LOOKS_FOR_THE_BUNDLE, SECRETS
from submissions import BY_NAME as HONEST_BY_NAME
from submissions import EXPECTED_FULL, notebook

# https://gradescope-autograders.readthedocs.io/en/latest/specs/#output-format
TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
            "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
             "visibility", "extra_data"}
FORMATS = {"text", "simple_format", "html", "md", "ansi"}
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
STATUSES = {"passed", "failed"}

NO_NAMESPACES = "bwrap: No permissions to create new namespace"
# What a student could put in an error message or a file name hoping Gradescope's Markdown renders it.
MARKUP = "[full marks](x.example) ![](t.png) <img src=x onerror=alert(1)> **all points** `ok`"


@dataclass(frozen=True)
class Upload:
    name: str  # a submission of tests/submissions.py or tests/hostile.py
    file: str  # what the student called it
    sandbox_works: bool = True


UPLOADS = {
    upload.name: upload
    for upload in (
        Upload("model", "intro_ml.ipynb"),
        Upload("sign_flip", "Copy of intro_ml.ipynb", sandbox_works=False),
        Upload("invalid_json", "intro_ml.ipynb"),
        Upload("tampers_with_the_grader", "intro_ml.ipynb", sandbox_works=False),
        Upload("looks_for_the_bundle", "intro_ml.ipynb", sandbox_works=False),
        Upload("leaves_processes_behind", "intro_ml.ipynb", sandbox_works=False),
    )
}


HOSTILE = HOSTILE_BY_NAME | {LOOKS_FOR_THE_BUNDLE.name: LOOKS_FOR_THE_BUNDLE}


def content(name: str) -> bytes:
    if name in HOSTILE:
        return HOSTILE[name].content()
    return nbformat.writes(notebook(HONEST_BY_NAME[name])).encode()


def expected(name: str) -> dict[str, float]:
    return (HOSTILE.get(name) or HONEST_BY_NAME[name]).expected()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return gradescope.build_bundle(COURSE, "intro_ml", tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="module")
def autograder_roots(bundle, tmp_path_factory) -> Iterator[dict[str, Path]]:
    """Each upload's simulated /autograder, once graded there; all are graded at once.

    Where bubblewrap fails, the tree is where anyone may reach it, as Gradescope's /autograder is
    (pytest's own temporary directories are private to their owner).
    """
    running = {}
    public = []
    for upload in UPLOADS.values():
        if upload.sandbox_works:
            where = tmp_path_factory.mktemp(upload.name)
        else:
            where = Path(tempfile.mkdtemp(prefix=f"gradescope-{upload.name}-"))
            where.chmod(0o755)
            public.append(where)
        root = where / "autograder"
        with zipfile.ZipFile(bundle) as archive:
            archive.extractall(root / "source")
        (root / "submission").mkdir()
        (root / "submission" / upload.file).write_bytes(content(upload.name))
        (root / "results").mkdir()
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"JAX_PLATFORMS": "cpu"}
        if not upload.sandbox_works:  # bwrap is installed, but the container forbids its namespaces
            fake = where / "bin"
            fake.mkdir()
            (fake / "bwrap").write_text(f"#!/bin/sh\necho '{NO_NAMESPACES}' >&2\nexit 1\n")
            (fake / "bwrap").chmod(0o755)
            env["PATH"] = f"{fake}{os.pathsep}{env['PATH']}"
        log = (root / "results" / "stdout").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "autograder.gradescope", "run", "--root", str(root)],
            cwd=root / "source", env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        running[upload.name] = (root, process, log)
    for name, (root, process, log) in running.items():
        status = process.wait(timeout=600)
        log.close()
        assert status == 0, (root / "results" / "stdout").read_text()[-3000:]
    yield {name: root for name, (root, _, _) in running.items()}
    for where in public:
        shutil.rmtree(where)


@pytest.fixture(scope="module")
def graded(autograder_roots) -> dict[str, dict]:
    """results.json of each upload."""
    return {name: json.loads((root / "results" / "results.json").read_text())
            for name, root in autograder_roots.items()}


def assert_follows_gradescope_spec(results: dict) -> None:
    """Every key one the specification names, with the type and values it allows."""
    assert set(results) <= TOP_KEYS, set(results) - TOP_KEYS
    assert isinstance(results["score"], (int, float)) and not isinstance(results["score"], bool)
    assert isinstance(results.get("execution_time", 0), (int, float))
    assert isinstance(results.get("output", ""), str)
    for key in ("output_format", "test_output_format", "test_name_format"):
        assert results.get(key, "text") in FORMATS
    for key in ("visibility", "stdout_visibility"):
        assert results.get(key, "visible") in VISIBILITIES
    assert isinstance(results.get("extra_data", {}), dict)
    for entry in results.get("leaderboard", []):
        assert isinstance(entry["name"], str) and isinstance(entry["value"], (int, float, str))
        assert entry.get("order", "desc") in {"asc", "desc"}
    assert isinstance(results["tests"], list) and results["tests"]
    for test in results["tests"]:
        assert set(test) <= TEST_KEYS, set(test) - TEST_KEYS
        for key in ("score", "max_score"):
            assert isinstance(test.get(key, 0), (int, float)) and not isinstance(test.get(key, 0), bool)
        assert test.get("status", "passed") in STATUSES
        for key in ("name", "number", "output"):
            assert isinstance(test.get(key, ""), str)
        for key in ("name_format", "output_format"):
            assert test.get(key, "text") in FORMATS
        assert test.get("visibility", "visible") in VISIBILITIES
        assert isinstance(test.get("tags", []), list) and all(isinstance(tag, str) for tag in test.get("tags", []))
        assert isinstance(test.get("extra_data", {}), dict)
        if "score" in test and "max_score" in test:
            assert test["status"] == ("passed" if test["score"] >= test["max_score"] else "failed")
    assert results["score"] == sum(test.get("score", 0) for test in results["tests"])


def rendered(markdown: str) -> str:
    """The HTML a CommonMark renderer makes of `markdown`."""
    return mistune.html(markdown).strip()


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def scored(results: dict) -> list[dict]:
    return [test for test in results["tests"] if "max_score" in test]


# ------------------------------------------------------------ the zip


def test_the_zip_holds_gradescopes_two_scripts_and_the_course_the_engine_reads(bundle):
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        requirements = archive.read("requirements.txt")
    for script in ("setup.sh", "run_autograder"):
        assert script in names and modes[script] & stat.S_IXUSR, f"{script} must be executable at the zip's top"
    for part in ("source/intro_ml/intro_ml.ipynb", "release/intro_ml/intro_ml.ipynb", "autograder/engine.py",
                 "autograder/gradescope.py", "autograder/checks/test_one_epoch.py", "solutions/intro_ml.py",
                 "nbgrader_config.py"):
        assert part in names
    assert requirements == (COURSE / "requirements.txt").read_bytes()


def test_the_zip_holds_no_submissions_grades_tests_or_environment(bundle):
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"setup.sh", "run_autograder", "requirements.txt", "nbgrader_config.py",
                    "source", "release", "autograder", "solutions"}
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_setup_installs_the_pinned_requirements_and_run_autograder_runs_the_gradescope_grader(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(tmp_path, members=["setup.sh", "run_autograder"])
    setup = (tmp_path / "setup.sh").read_text()
    run = (tmp_path / "run_autograder").read_text()
    for script in ("setup.sh", "run_autograder"):
        assert subprocess.run(["bash", "-n", str(tmp_path / script)]).returncode == 0, f"{script} is not valid bash"
    assert setup.startswith("#!") and run.startswith("#!")
    assert "apt-get install -y -qq bubblewrap" in setup
    assert "-m venv .venv" in setup
    assert ".venv/bin/python -m pip install" in setup and "-r requirements.txt" in setup
    assert "cd /autograder/source" in run
    assert ".venv/bin/python -m autograder.gradescope run" in run


# ------------------------------------------------------------ results.json


@pytest.mark.parametrize("name", list(UPLOADS))
def test_results_follow_gradescopes_specification(graded, name):
    results = graded[name]
    assert_follows_gradescope_spec(results)
    assert results["output_format"] == results["test_output_format"] == "md"
    assert results["stdout_visibility"] == "hidden"
    for test in results["tests"]:
        assert test["output_format"] == "md"
        assert rendered(test["output"]).startswith("<pre><code"), "each output is the kit's text, as written"


@pytest.mark.parametrize("name", list(UPLOADS))
def test_every_question_scores_what_the_kit_gives_it(graded, name):
    results = graded[name]
    scores = {test["name"].removesuffix("_test"): test["score"] for test in scored(results)}
    assert scores == expected(name)
    assert [test["name"] for test in scored(results)] == [f"{grade_id}_test" for grade_id in EXPECTED_FULL]
    assert sum(test["max_score"] for test in scored(results)) == 17
    assert results["score"] == sum(expected(name).values())


def test_a_perfect_submission_scores_17(graded):
    assert graded["model"]["score"] == 17
    assert all(test["status"] == "passed" for test in graded["model"]["tests"])


@pytest.mark.parametrize("name", list(UPLOADS))
def test_each_question_shows_its_points_now_and_its_hidden_details_once_published(graded, name):
    tests = graded[name]["tests"]
    assert len(tests) == 2 * len(EXPECTED_FULL)
    for question, details in zip(tests[::2], tests[1::2]):
        assert question["visibility"] == "visible" and "max_score" in question
        assert details["visibility"] == "after_published" and "score" not in details
        assert details["name"] == f"{question['name']}: details"
        assert details["number"] == f"{question['number']}.1"
        assert details["status"] == question["status"]


def test_why_a_hidden_check_failed_waits_for_publication(graded):
    tests = {test["name"]: test for test in graded["sign_flip"]["tests"]}
    assert "uphill" in tests["one_epoch_test: details"]["output"]
    assert gradescope.NOT_YET in tests["one_epoch_test"]["output"]
    for test in graded["sign_flip"]["tests"]:
        if test["visibility"] == "visible":
            assert "uphill" not in test["output"] and "the reference trajectory has" not in test["output"]


def test_an_upload_that_is_no_notebook_scores_zero_and_says_why(graded):
    results = graded["invalid_json"]
    assert results["score"] == 0
    assert "Not graded: the file is not a notebook: it is not valid JSON" in results["output"]
    assert all("not valid JSON" in test["output"] for test in scored(results))


def test_a_renamed_notebook_is_graded_and_the_summary_names_it(graded):
    assert "Graded `Copy of intro_ml.ipynb` as `intro_ml.ipynb`." in graded["sign_flip"]["output"]
    assert "Graded `" not in graded["model"]["output"]


def test_where_bubblewrap_cannot_sandbox_the_notebook_still_runs_and_the_summary_says_so(graded):
    assert graded["sign_flip"]["extra_data"]["sandboxed"] is False
    assert "without bubblewrap's sandbox" in graded["sign_flip"]["output"]
    assert NO_NAMESPACES in graded["sign_flip"]["output"]
    assert graded["model"]["extra_data"]["sandboxed"] is True
    assert "sandbox" not in graded["model"]["output"]


@pytest.mark.skipif(os.getuid() != 0, reason="only a root grader can run a kernel as another user")
def test_without_bubblewrap_a_root_grader_runs_the_notebook_as_nobody(autograder_roots, graded):
    """Gradescope grades as root: unsandboxed, the notebook still cannot touch the grader or its results."""
    root = autograder_roots["tampers_with_the_grader"]
    assert not list(root.rglob("TAMPERED")), "the notebook wrote into the grader's directories"
    for hidden in ("solutions/intro_ml.py", "autograder/checks/test_least_squares.py", "release"):
        as_nobody = [*sandbox.nobody_prefix(), "ls", root / "source" / hidden]
        assert subprocess.run(as_nobody, capture_output=True).returncode != 0, f"nobody can read {hidden}"
    assert "ran without bubblewrap's sandbox (as the unprivileged user nobody)" in graded["sign_flip"]["output"]
    assert graded["tampers_with_the_grader"]["extra_data"]["sandboxed"] is False


def test_unsandboxed_a_notebook_finds_nothing_of_the_course_to_quote_in_its_feedback(graded):
    """What a student sees on Gradescope is results.json: a failing check quotes the error they raised.
    The walk lists and quotes whatever it can of the bundle (`autograder/source`): nothing, not a name."""
    quoted = json.dumps(graded["looks_for_the_bundle"])
    assert "RuntimeError: found: " in quoted, "the error is quoted: the channel is open"
    assert "autograder/source" not in quoted and "source/ holds" not in quoted
    for secret in (*SECRETS, "def grade_submission", "### BEGIN HIDDEN TESTS"):
        assert secret not in quoted, secret


def test_unsandboxed_no_process_of_a_notebook_outlives_its_grading(autograder_roots):
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    for marker in LINGERING:
        assert marker not in processes


def test_an_upload_without_a_notebook_still_gets_results(tmp_path):
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "intro_ml.py").write_text("print('wrong file')\n")
    assert gradescope.run(tmp_path) == 0
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert_follows_gradescope_spec(results)
    assert results["score"] == 0
    assert "no notebook was submitted" in results["output"]
    assert all("no notebook was submitted" in test["output"] for test in scored(results))


@pytest.mark.parametrize("files", [[f"{MARKUP}.ipynb"], [f"{MARKUP}.ipynb", "intro.ipynb"]])
def test_file_names_in_the_summary_are_shown_as_written(tmp_path, files):
    (tmp_path / "submission").mkdir()
    for file in files:
        (tmp_path / "submission" / file).write_text("not a notebook")
    assert gradescope.run(tmp_path) == 0
    page = rendered(json.loads((tmp_path / "results" / "results.json").read_text())["output"])
    assert not re.search(r"<(a|img)\b", page) and page.count("<strong>") == 1, page  # only the score is bold
    assert MARKUP in text_of(page)


def test_a_file_name_that_is_not_utf8_still_gives_results_any_json_reader_accepts(tmp_path):
    (tmp_path / "submission").mkdir()
    for name in (b"intro_ml \xff.ipynb", b"notes.ipynb"):
        (tmp_path / "submission" / os.fsdecode(name)).write_text("{}")
    assert gradescope.run(tmp_path) == 0
    results = json.loads((tmp_path / "results" / "results.json").read_bytes().decode("utf-8"))
    json.dumps(results, ensure_ascii=False).encode("utf-8")  # no lone surrogate anywhere
    assert "(intro_ml \ufffd.ipynb, notes.ipynb)" in results["output"]


def test_results_replace_a_link_left_in_their_place(tmp_path):
    (tmp_path / "results").mkdir()
    target = tmp_path / "elsewhere.txt"
    target.write_text("untouched")
    (tmp_path / "results" / "results.json").symlink_to(target)
    gradescope.write_results(tmp_path / "results" / "results.json", {"score": 0})
    assert target.read_text() == "untouched"
    assert json.loads((tmp_path / "results" / "results.json").read_text()) == {"score": 0}
    assert [p.name for p in (tmp_path / "results").iterdir()] == ["results.json"]


# ------------------------------------------------------------ the pieces


@pytest.mark.parametrize("text", ["plain", MARKUP, f"```\n# 17/17\n{MARKUP}\n````", "`" * 9 + "\n```text"])
def test_a_test_output_is_shown_exactly_as_the_kit_wrote_it(text):
    page = rendered(gradescope.verbatim(text))
    assert page.count("<pre>") == 1 and page.startswith("<pre><code") and page.endswith("</code></pre>")
    assert text_of(page) == text + "\n"


@pytest.mark.parametrize(
    ("files", "graded_file"),
    [
        (["intro_ml.ipynb", "notes.ipynb"], "intro_ml.ipynb"),
        (["homework/intro_ml.ipynb", "scratch.ipynb"], "homework/intro_ml.ipynb"),
        (["Copy of intro_ml.ipynb", ".ipynb_checkpoints/x-checkpoint.ipynb", "__MACOSX/._x.ipynb"],
         "Copy of intro_ml.ipynb"),
        (["intro_ml.ipynb", "old/intro_ml.ipynb"], "intro_ml.ipynb"),
    ],
)
def test_the_notebook_to_grade_is_the_one_named_in_the_contract_or_else_the_only_one(tmp_path, files, graded_file):
    for file in files:
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / file).write_text("{}")
    assert gradescope.find_notebook(tmp_path, "intro_ml.ipynb") == tmp_path / graded_file


@pytest.mark.parametrize(
    ("files", "says"),
    [([], "no notebook was submitted"), (["a.ipynb", "b.ipynb"], "2 notebooks were submitted (a.ipynb, b.ipynb)")],
)
def test_no_notebook_or_several_unnamed_ones_cannot_be_graded(tmp_path, files, says):
    for file in files:
        (tmp_path / file).write_text("{}")
    with pytest.raises(Ungradable, match=f"^{re.escape(says)}"):
        gradescope.find_notebook(tmp_path, "intro_ml.ipynb")


@pytest.mark.parametrize("link", ["intro_ml.ipynb", "homework/intro_ml.ipynb", "anything.ipynb"])
def test_a_link_to_the_course_source_notebook_is_not_graded(tmp_path, link):
    """Uploads can hold symbolic links (GitHub's do); one to the instructor's notebook must not earn its points."""
    source_notebook = COURSE / "source" / "intro_ml" / "intro_ml.ipynb"
    (tmp_path / "submission" / link).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "submission" / link).symlink_to(source_notebook)
    assert gradescope.run(tmp_path) == 0
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results["score"] == 0
    assert f"Not graded: {link} is a symbolic link, not a notebook" in results["output"]


def test_a_linked_folder_is_not_searched_for_notebooks(tmp_path):
    (tmp_path / "homework").symlink_to(COURSE / "source" / "intro_ml")
    with pytest.raises(Ungradable, match="^no notebook was submitted"):
        gradescope.find_notebook(tmp_path, "intro_ml.ipynb")


def test_bubblewrap_is_tried_once_and_its_refusal_is_the_reason(tmp_path, monkeypatch):
    assert gradescope.sandbox_trouble() == "", "bubblewrap should work on the machine that runs the tests"
    monkeypatch.setenv("PATH", str(tmp_path))
    assert gradescope.sandbox_trouble() == "bubblewrap (bwrap) is not installed"
    (tmp_path / "bwrap").write_text(f"#!/bin/sh\necho '{NO_NAMESPACES}' >&2\nexit 1\n")
    (tmp_path / "bwrap").chmod(0o755)
    assert gradescope.sandbox_trouble() == f"bubblewrap cannot create a sandbox in this container ({NO_NAMESPACES})"
