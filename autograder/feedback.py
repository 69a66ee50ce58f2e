"""Each student's feedback page: the score per question, what each check found, and the figures.

The page goes where nbgrader keeps feedback, `feedback/<student>/<assignment>/<notebook>.html`: that
is the name `nbgrader release_feedback` hands out and `nbgrader fetch_feedback` looks for (it finds
a student's page by the notebook's name), and release copies only that one file, so the figures are
inside it as data URIs. Release also needs the submission's `timestamp.txt` and
`submission_secret.txt` beside the page; they are copied from the submission when nbgrader collected it.

Everything shown is either the grader's own words or escaped: labels, comments and anything else
that came from a student's notebook is text, never markup, and the page runs no script at all.
"""

from __future__ import annotations

import base64
import html
import re
import shutil
from pathlib import Path

from nbgrader.api import Gradebook

from autograder import drawing
from autograder.outcome import QuestionOutcome, StudentOutcome, read_outcome

RELEASE_FILES = ("timestamp.txt", "submission_secret.txt")  # what `release_feedback` reads beside a page
GRADER_FAULTS = ("the grader failed", "the checks could not run")  # the grader's trouble, not the student's
GRADER_FAULT_WORDS = ("The grader itself ran into a problem here, not your notebook. "
                      "Your instructor can see it and will grade this part again.")

CSS = """
:root { color-scheme: light; --ok: #1a7f37; --bad: #b42318; --wait: #8a6100; --line: #d0d7de; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1f2328; background: #f6f8fa; }
main { max-width: 70rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: 0.2rem 0 0.5rem; overflow-wrap: anywhere; }
h2 { font-size: 1.25rem; margin: 0 0 0.5rem; display: flex; flex-wrap: wrap; gap: 0.25rem 0.75rem;
     align-items: baseline; }
section, header { background: #fff; border: 1px solid var(--line); border-radius: 8px;
                  padding: 1rem; margin: 0 0 1rem; }
.kicker { color: #59636e; margin: 0; }
.score { font-weight: 600; white-space: nowrap; }
.full { color: var(--ok); } .partial, .none { color: var(--bad); } .pending { color: var(--wait); }
.problem { border-color: var(--bad); background: #fff5f5; }
ul.checks { list-style: none; padding: 0; margin: 0 0 0.5rem; }
ul.checks li { padding: 0.4rem 0 0.4rem 1.6rem; position: relative; border-top: 1px solid #eef1f4; }
ul.checks li::before { position: absolute; left: 0.2rem; font-weight: 700; }
ul.checks li.passed::before { content: "\\2713"; color: var(--ok); }
ul.checks li.failed::before { content: "\\2717"; color: var(--bad); }
.message { margin: 0.2rem 0 0; overflow-wrap: anywhere; }
.note, .comment { background: #f6f8fa; border-left: 3px solid var(--line); padding: 0.4rem 0.6rem;
                  overflow-wrap: anywhere; white-space: pre-wrap; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 18rem), 1fr));
           gap: 0.75rem; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 0.5rem; background: #fff; }
figure img { display: block; max-width: 100%; height: auto; }
.figures img { width: 100%; }
figcaption { font-size: 0.9rem; color: #59636e; }
.placeholder { min-height: 6rem; display: flex; align-items: center; justify-content: center;
               color: #59636e; text-align: center; }
.table { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.92em;
       background: #eff1f3; border-radius: 4px; padding: 0 0.2em; overflow-wrap: anywhere; }
td code, td a { white-space: nowrap; overflow-wrap: normal; }
a { color: #0550ae; }
"""

# No scripts, no outside requests: images are data URIs and styles are inline.
POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def html_page(title: str, body: str) -> str:
    """A complete page around already-escaped `body`, readable from a phone to a desktop."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{POLICY}\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def words(text: str) -> str:
    """Plain text as HTML: escaped, with `code` in backticks shown as code, as the checks write it."""
    return re.sub(r"`([^`\n]+)`", r"<code>\1</code>", html.escape(text))


def image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def points(score: float | None, max_score: float) -> str:
    """"1.5 / 2 points"; a dash for a score still to be given."""
    unit = "point" if max_score == 1 else "points"
    return f"{'–' if score is None else f'{score:g}'} / {max_score:g} {unit}"


def score_class(question: QuestionOutcome) -> str:
    if question.score is None:
        return "pending"
    return "full" if question.full else ("partial" if question.score > 0 else "none")


def page_path(course: Path, assignment: str, student: str, notebook: str) -> Path:
    return course / "feedback" / student / assignment / f"{notebook}.html"


def write_feedback(course: Path, assignment: str, student: str, gradebook: Gradebook | None = None) -> Path:
    """Write the student's feedback page from the gradebook (the run's, if given) and the recorded
    results; return its path."""
    outcome = read_outcome(course, assignment, student, gradebook)
    path = page_path(course, assignment, student, outcome.notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    for name in RELEASE_FILES:
        for folder in (course / "autograded" / student / assignment, course / "submitted" / student / assignment):
            if (folder / name).is_file():
                shutil.copyfile(folder / name, path.parent / name)
                break
    staging = path.with_name(f".{path.name}.tmp")
    try:
        staging.write_text(feedback_html(outcome, assignment, course), encoding="utf-8")
        staging.replace(path)  # a student never fetches half a page
    finally:
        staging.unlink(missing_ok=True)  # nor a half-written one beside it, when the disk is full
    return path


def feedback_html(outcome: StudentOutcome, assignment: str, course: Path) -> str:
    parts = [_header(outcome, assignment, course)]
    parts += [_question(question, outcome, course) for question in outcome.questions]
    return html_page(f"{assignment}: feedback for {outcome.student}", "\n".join(parts))


def for_student(text: str, course: Path) -> str:
    """Grader text fit for a student: the grader's own failures in plain words, no course paths."""
    if any(fault in text for fault in GRADER_FAULTS):
        return GRADER_FAULT_WORDS
    text = text.split("Traceback (most recent call last)")[0]
    for root in sorted({str(course), str(course.resolve())}, key=len, reverse=True):
        text = text.replace(root, "…")
    return text.strip()


def _header(outcome: StudentOutcome, assignment: str, course: Path) -> str:
    rows = []
    for question in outcome.questions:
        how = " (graded by hand)" if question.by_hand else ""
        rows.append(
            f'<tr><td><a href="#q-{html.escape(question.grade_id)}"><code>{html.escape(question.grade_id)}</code>'
            f'</a>{how}</td><td class="num score {score_class(question)}">'
            f"{points(question.score, question.max_score)}</td></tr>"
        )
    manual = [q for q in outcome.questions if q.by_hand]
    waiting = sum(q.max_score for q in manual if q.score is None)
    total = f'Autograded: <strong class="total">{points(outcome.autograded_score, outcome.autograded_max)}</strong>.'
    if manual and not waiting:
        score = outcome.autograded_score + sum(q.score or 0 for q in manual)
        out_of = outcome.autograded_max + sum(q.max_score for q in manual)
        total += f" With the answers graded by hand: <strong>{points(score, out_of)}</strong>."
    elif waiting:
        total += f" Answers graded by hand (worth {waiting:g} points) are still waiting for a grader."
    problem = ""
    if outcome.problem:
        problem = (f'<p class="problem note">There was a problem grading your notebook: '
                   f"{words(for_student(outcome.problem, course))}</p>")
    elif not outcome.recorded:
        problem = '<p class="note">The grader kept no detailed feedback for this submission: only the scores are shown.</p>'
    return (
        f'<header>\n<p class="kicker">{html.escape(assignment)} · feedback</p>\n'
        f"<h1>Feedback for {html.escape(outcome.student)}</h1>\n<p>{total}</p>\n{problem}\n"
        f'<div class="table"><table>\n<thead><tr><th>question</th><th class="num">score</th></tr></thead>\n'
        f"<tbody>\n{''.join(rows)}\n</tbody></table></div>\n</header>"
    )


def _question(question: QuestionOutcome, outcome: StudentOutcome, course: Path) -> str:
    grade_id = html.escape(question.grade_id)
    heading = (f'<h2><code>{grade_id}</code><span class="score {score_class(question)}">'
               f"{points(question.score, question.max_score)}</span></h2>")
    body = []
    if question.by_hand:
        state = "waiting to be graded by hand" if question.score is None else "graded by hand"
        body.append(f'<p class="by-hand">This answer is {state}.</p>')
    if question.checks:
        items = []
        for check in question.checks:
            mark = "passed" if check.passed else "failed"
            message = "" if check.passed else f'<p class="message">{words(for_student(check.message, course))}</p>'
            items.append(f'<li class="{mark}">{words(check.rubric)} '
                         f'<span class="pts">({check.earned:g}/{check.points:g})</span>{message}</li>')
        body.append(f'<ul class="checks">{"".join(items)}</ul>')
    for note in question.notes:
        if outcome.problem and note.startswith("Not graded"):
            note = "Not graded: see the problem at the top of this page."
        body.append(f'<p class="note">{words(for_student(note, course))}</p>')
    if question.comment:
        body.append(f'<p class="comment">Comment: {html.escape(question.comment)}</p>')
    if drawing.plotted(question.grade_id):
        body.append(_figures(question.grade_id, outcome))
    return f'<section class="question" id="q-{grade_id}">\n{heading}\n' + "\n".join(body) + "\n</section>"


def _figures(grade_id: str, outcome: StudentOutcome) -> str:
    """The student's figures beside the reference, or a box saying why there is nothing to show."""
    drawn = outcome.figures.get(grade_id, [])
    cells = []
    for number, figure in enumerate(drawn, start=1):
        caption = "Your figure" + (f" {number} of {len(drawn)}" if len(drawn) > 1 else "")
        if figure.error:
            content = f'<div class="placeholder">{html.escape(figure.error)}</div>'
        else:
            content = image(drawing.student_png(figure), f"{caption}, as the grader read it")
        cells.append(f"<figure>{content}<figcaption>{caption}, as the grader read it</figcaption></figure>")
    if not drawn:
        why = "found no figure drawn by this answer" if outcome.recorded else "kept no figures of this submission"
        cells.append(f'<figure><div class="placeholder">The grader {why}.</div><figcaption>Your figure</figcaption></figure>')
    asked = "What was asked for, drawn from the model solution"
    cells.append(f"<figure>{image(drawing.reference_png(grade_id), asked)}<figcaption>{asked}</figcaption></figure>")
    return f'<div class="figures">{"".join(cells)}</div>'
