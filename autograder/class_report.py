"""The class report for instructors, and rebuilding every page of an assignment after grading.

`reports/<assignment>/index.html` answers what an instructor asks after a grading run: how the
scores spread, which questions went badly, which mistakes were common (to address in class), where
the grader had to decide something itself (the grader's notes), which submissions could not be
graded and why, and where each student's feedback page is.
"""

from __future__ import annotations

import html
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from nbgrader.api import Gradebook

from autograder import drawing
from autograder.feedback import html_page, image, page_path, score_class, words, write_feedback
from autograder.gradebook import opened
from autograder.outcome import StudentOutcome, read_outcomes, students

MISTAKES_SHOWN = 15


@dataclass(frozen=True)
class QuestionSummary:
    grade_id: str
    max_score: float
    scores: tuple[float, ...]  # of the students graded on it (hand-graded answers only once graded)
    waiting: int  # students still waiting for a hand grade

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.scores) if self.scores else None

    @property
    def pass_rate(self) -> float | None:
        """The share of graded students with full points."""
        return sum(s >= self.max_score for s in self.scores) / len(self.scores) if self.scores else None


@dataclass(frozen=True)
class Mistake:
    """One kind of failed check, with the students who made it."""

    grade_id: str
    rubric: str  # the check that failed, or "" for a public check of the test cell
    example: str  # one student's message
    students: tuple[str, ...]


def summarize(outcomes: list[StudentOutcome]) -> list[QuestionSummary]:
    if not outcomes:
        return []
    summaries = []
    for index, question in enumerate(outcomes[0].questions):
        found = [o.questions[index] for o in outcomes]
        scores = tuple(q.score for q in found if q.score is not None)
        summaries.append(QuestionSummary(question.grade_id, question.max_score, scores, len(found) - len(scores)))
    return summaries


def gist(message: str) -> str:
    """What makes two messages the same mistake: the same words once the student's own numbers and
    quoted names are set aside ("found x label 'X'" and "found x label 'time'" are one mistake;
    "moved beta uphill" and "used a learning rate of 0.01" after the same numbers are two)."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", " ".join(message.split()))
    return re.sub(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?!\w)", "#", text)


def common_mistakes(outcomes: list[StudentOutcome]) -> list[Mistake]:
    """Failed checks grouped by question, check and gist, most frequent first.

    A test cell whose public check failed has no checks, only a note; it counts by that note.
    Questions not graded at all are left out: the submission's problem is reported on its own.
    """
    groups: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
    order: dict[str, int] = {}
    for outcome in outcomes:
        for index, question in enumerate(outcome.questions):
            order.setdefault(question.grade_id, index)
            said = [(c.rubric, c.message) for c in question.checks if not c.passed and c.message]
            if not question.checks and not question.full and not question.by_hand:
                said += [("", note) for note in question.notes[:1] if not note.startswith("Not graded")]
            for rubric, message in said:
                groups[(question.grade_id, rubric, gist(message))].append((outcome.student, message))
    mistakes = [
        Mistake(grade_id, rubric, found[0][1], tuple(dict.fromkeys(student for student, _ in found)))
        for (grade_id, rubric, _), found in groups.items()
    ]
    return sorted(mistakes, key=lambda m: (-len(m.students), order[m.grade_id], m.rubric, m.example))


def write_class_report(course: Path, assignment: str, gradebook: Gradebook | None = None) -> Path:
    """Write `reports/<assignment>/index.html` from the gradebook (the run's, if given) and the recorded results."""
    outcomes = read_outcomes(course, assignment, students(course, assignment, gradebook), figures=False,
                             shared=gradebook)
    path = course / "reports" / assignment / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "\n".join([
        _overview(outcomes, assignment),
        _questions(summarize(outcomes)),
        _mistakes(common_mistakes(outcomes)),
        _graders_notes(outcomes),
        _ungraded(outcomes),
        _students(outcomes, course, assignment, path.parent),
    ])
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(html_page(f"{assignment}: class report", body), encoding="utf-8")
    staging.replace(path)
    return path


def rebuild_all(course: Path, assignment: str) -> None:
    """Rebuild every student's feedback page and the class report, without grading anything again."""
    with opened(course) as gradebook:
        for student in students(course, assignment, gradebook):
            write_feedback(course, assignment, student, gradebook)
        write_class_report(course, assignment, gradebook)


def _overview(outcomes: list[StudentOutcome], assignment: str) -> str:
    totals = [o.autograded_score for o in outcomes]
    out_of = outcomes[0].autograded_max if outcomes else 0.0
    facts = f"{len(outcomes)} submission(s)"
    if totals:
        facts += (f"; autograded score: mean {statistics.fmean(totals):.1f}, "
                  f"median {statistics.median(totals):g} of {out_of:g}")
    picture = image(drawing.histogram_png(totals, out_of), "Histogram of the autograded scores") if totals else ""
    return (f'<header>\n<p class="kicker">{html.escape(assignment)} · class report</p>\n'
            f"<h1>Class report: {html.escape(assignment)}</h1>\n<p>{facts}.</p>\n"
            f'<figure class="histogram">{picture}<figcaption>How many students got each autograded score.'
            "</figcaption></figure>\n</header>")


def _questions(summaries: list[QuestionSummary]) -> str:
    rows = []
    for s in summaries:
        mean = "–" if s.mean is None else f"{s.mean:.2f}"
        rate = "–" if s.pass_rate is None else f"{s.pass_rate:.0%}"
        waiting = f" ({s.waiting} waiting for a hand grade)" if s.waiting else ""
        rows.append(f'<tr><td><code>{html.escape(s.grade_id)}</code>{waiting}</td><td class="num">{s.max_score:g}</td>'
                    f'<td class="num mean">{mean}</td><td class="num pass-rate">{rate}</td></tr>')
    graded = [s for s in summaries if s.scores]
    chart = image(drawing.questions_png([s.grade_id for s in graded], [s.mean / s.max_score for s in graded],
                                        [s.pass_rate for s in graded]), "Mean score and pass rate per question")
    return (
        '<section id="questions">\n<h2>Per question</h2>\n'
        "<p>Mean points and pass rate (the share of students with full points) over the submissions graded "
        "on each question; a submission that could not be graded counts as zero.</p>\n"
        '<div class="table"><table>\n<thead><tr><th>question</th><th class="num">points</th>'
        '<th class="num">mean</th><th class="num">pass rate</th></tr></thead>\n'
        f"<tbody>{''.join(rows)}</tbody></table></div>\n"
        f"<figure>{chart}<figcaption>Mean score and pass rate per question.</figcaption></figure>\n</section>"
    )


def _mistakes(mistakes: list[Mistake]) -> str:
    if not mistakes:
        return '<section id="mistakes">\n<h2>Most common mistakes</h2>\n<p>No check failed.</p>\n</section>'
    rows = [
        f'<tr><td class="num count">{len(m.students)}</td><td><code>{html.escape(m.grade_id)}</code></td>'
        f"<td>{words(m.rubric) if m.rubric else 'a public check'}</td><td class=\"mistake\">{words(m.example)}</td>"
        f"<td>{html.escape(', '.join(m.students))}</td></tr>"
        for m in mistakes[:MISTAKES_SHOWN]
    ]
    more = f"<p>…and {len(mistakes) - MISTAKES_SHOWN} rarer ones.</p>" if len(mistakes) > MISTAKES_SHOWN else ""
    return (
        '<section id="mistakes">\n<h2>Most common mistakes</h2>\n'
        "<p>Failed checks grouped by what their message says, setting aside each student's own numbers and "
        "names (one student's message shown).</p>\n"
        '<div class="table"><table>\n<thead><tr><th class="num">students</th><th>question</th><th>check</th>'
        f"<th>mistake</th><th>who</th></tr></thead>\n<tbody>{''.join(rows)}</tbody></table></div>\n{more}</section>"
    )


def _graders_notes(outcomes: list[StudentOutcome]) -> str:
    """What the grader did or saw beside the checks, for the teacher to look at: answers found other
    than by their cell's metadata (or not found), answer cells that did not finish."""
    rows = [
        f"<tr><td>{html.escape(o.student)}</td><td><code>{html.escape(q.grade_id)}</code></td>"
        f"<td>{words(text[:1].upper() + text[1:])}</td></tr>"
        for o in outcomes for q in o.questions for note in q.notes if (text := note.removeprefix("Note: ")) != note
    ]
    if not rows:
        return '<section id="notes">\n<h2>Grader\'s notes</h2>\n<p>None.</p>\n</section>'
    return (
        '<section id="notes">\n<h2>Grader\'s notes</h2>\n'
        "<p>Answers the grader found other than by their cell's nbgrader metadata (a note stands above each in "
        "the graded notebook) or did not find, and answer cells that did not finish: worth a look.</p>\n"
        '<div class="table"><table>\n<thead><tr><th>student</th><th>question</th><th>note</th></tr></thead>\n'
        f"<tbody>{''.join(rows)}</tbody></table></div>\n</section>"
    )


def _ungraded(outcomes: list[StudentOutcome]) -> str:
    rows = []
    for o in outcomes:
        if o.problem:
            rows.append(f"<tr><td>{html.escape(o.student)}</td><td>{html.escape(o.problem)}</td></tr>")
        elif not o.recorded:
            rows.append(f"<tr><td>{html.escape(o.student)}</td><td>no results.json: scores only "
                        "(graded by plain <code>nbgrader autograde</code>, or the file is missing)</td></tr>")
    if not rows:
        return '<section id="ungraded">\n<h2>Submissions that could not be graded</h2>\n<p>None.</p>\n</section>'
    return (
        '<section id="ungraded">\n<h2>Submissions that could not be graded</h2>\n'
        "<p>Fully or in part. Every question that did not run scores zero.</p>\n"
        '<div class="table"><table>\n<thead><tr><th>student</th><th>why</th></tr></thead>\n'
        f"<tbody>{''.join(rows)}</tbody></table></div>\n</section>"
    )


def _students(outcomes: list[StudentOutcome], course: Path, assignment: str, here: Path) -> str:
    if not outcomes:
        return '<section id="students">\n<h2>Students</h2>\n<p>No submissions yet.</p>\n</section>'
    heads = "".join(f'<th class="num"><code>{html.escape(q.grade_id)}</code></th>' for q in outcomes[0].questions)
    rows = []
    for o in outcomes:
        page = page_path(course, assignment, o.student, o.notebook)
        name = html.escape(o.student)
        if page.is_file():
            link = "/".join(quote(part) for part in page.relative_to(course).parts)
            name = f'<a href="{"../" * len(here.relative_to(course).parts)}{link}">{name}</a>'
        cells = "".join(f'<td class="num {score_class(q)}">{"–" if q.score is None else f"{q.score:g}"}</td>'
                        for q in o.questions)
        flag = " ⚠" if o.problem else ""
        rows.append(f'<tr data-student="{html.escape(o.student)}"><td>{name}{flag}</td>'
                    f'<td class="num total">{o.autograded_score:g}</td>{cells}</tr>')
    out_of = outcomes[0].autograded_max
    return (
        '<section id="students">\n<h2>Students</h2>\n'
        f"<p>Autograded total (of {out_of:g}) and points per question; – waits for a hand grade; "
        "⚠ could not be graded (see above). Each name links to the student's feedback page.</p>\n"
        f'<div class="table"><table>\n<thead><tr><th>student</th><th class="num">autograded</th>{heads}</tr></thead>\n'
        f"<tbody>{''.join(rows)}</tbody></table></div>\n</section>"
    )
