"""HTML pages: a feedback page per submission, and a summary of a batch for the instructor.

Pages are self-contained (figures inline as data URIs, no scripts, no external files), so
they can be mailed or uploaded as they are. Student text is always escaped (`_h`: quotes
too, so it is safe in attributes as well) with its control, escape and bidi characters made
visible; names are also isolated (`<bdi>`) from the text around them. Figures are
embedded only when they are base64 of a PNG. Hidden checks appear only as passed/failed,
never with their inputs.
"""

from __future__ import annotations

import base64
import io
import re
import statistics
from html import escape
from urllib.parse import quote

from markdown_it import MarkdownIt

from grader.judge.outcomes import Outcome, QuestionResult, SubmissionResult
from grader.outputs.inert import label, visible
from grader.outputs.points import points_of
from grader.outputs.report import choice_text, question_label

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .3em .6em; text-align: left; }
.passed { color: #17702a; } .wrong, .code_failed { color: #b00020; } .missing { color: #9a6700; }
.timed_out, .kernel_died { color: #7b1fa2; } .grader_error, .not_checked { color: #555; }
pre { background: #f6f8fa; padding: .6em; white-space: pre-wrap; word-break: break-word; }
img { max-width: 100%; border: 1px solid #ddd; margin: .3em 0; }
.answer { border-left: 3px solid #ccc; padding: 0 .8em; } .partial { color: #9a6700; }
.verdict-resubmit { color: #b00020; font-weight: bold; } .verdict-pass { color: #17702a; font-weight: bold; }
"""


def _h(text: object) -> str:
    """Text for HTML content or a quoted attribute value; controls, escape sequences and bidi
    or invisible characters shown as visible escapes (newlines and tabs kept)."""
    return escape(visible(text, multiline=True), quote=True)


def _name(text: str) -> str:
    """A name (a submission's, the file it was handed in as) for HTML: visible and escaped."""
    return f"<bdi>{_h(visible(text))}</bdi>"


def _label(result: SubmissionResult) -> str:
    return _name(result.name) + (f" (handed in as {_name(result.source)})"
                                 if result.source and result.source != result.name else "")


def _page(title: str, body: str, css: str = "") -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_h(visible(title))}</title><style>{_CSS}{css}</style></head>\n<body>\n{body}\n</body></html>\n")


def _png_ok(b64: str) -> bool:
    try:
        return base64.b64decode(b64, validate=True)[:8] == b"\x89PNG\r\n\x1a\n"
    except ValueError:
        return False


# Student Markdown: raw HTML off (shown as text), images off (pages load nothing from
# outside), links only to http(s) and mailto (never javascript:, data: or file:).
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).disable("image")
_MARKDOWN.validateLink = lambda url: re.match(r"(?i)\s*(https?:|mailto:)", url) is not None


def _markdown(text: str) -> str:
    """A student's text answer rendered as Markdown, inert: see `_MARKDOWN`. Controls and
    bidi characters are made visible first, as everywhere."""
    return _MARKDOWN.render(visible(text, multiline=True))


def _choices(result: SubmissionResult) -> str:
    if not result.choices:
        return ""
    items = "".join(f"<li>{_h(choice_text(c))}</li>" for c in result.choices)
    return ("<h2>Notebooks graded</h2><p>Some exercises were handed in as more than one notebook. The rule: "
            "the notebook with the exercise's own name is graded; between equals, the one with the most "
            f"answered questions.</p><ul>{items}</ul>")


def _status(q: QuestionResult) -> str:
    css = "partial" if 0 < q.points < q.max_points else q.outcome.value
    return f"<span class=\"{css}\">{_h(question_label(q))}</span>"


def feedback_page(result: SubmissionResult) -> str:
    """Per question: outcome, points, the message, and the student's own figures."""
    rows = "".join(
        f"<tr><td><a href=\"#{_h(q.id)}\">{_h(q.id)}</a></td><td>{points_of(q.points, q.max_points)}</td>"
        f"<td>{_status(q)}</td></tr>"
        for q in result.questions)
    parts = [
        f"<h1>Feedback: {_label(result)}</h1>",
        f"<p><strong>{points_of(result.points, result.max_points)} points</strong> &middot; journal verdict: "
        f"<span class=\"verdict-{result.verdict}\">{_h(result.verdict)}</span>"
        + ("" if result.final else " &middot; <strong>not final: the grader failed on some checks</strong>")
        + "</p>",
        _choices(result),
        f"<table><tr><th>question</th><th>points</th><th>outcome</th></tr>{rows}</table>",
    ]
    for q in result.questions:
        parts.append(f"<h2 id=\"{_h(q.id)}\">{_h(q.id)}: {_h(q.title)} &middot; {_status(q)}, "
                     f"{points_of(q.points, q.max_points)}</h2>")
        feedback = q.feedback(show_hidden=False)
        if feedback:
            parts.append(f"<pre>{_h(feedback)}</pre>")
        for png in q.figures:
            if _png_ok(png):
                parts.append(f"<img alt=\"figure of {_h(q.id)}\" src=\"data:image/png;base64,{png}\">")
        if q.answer_text:
            parts.append(f"<p><em>Your answer:</em></p><div class=\"answer\">{_markdown(q.answer_text)}</div>")
    if result.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_h(n)}</li>" for n in result.notes) + "</ul>")
    parts.append(f"<p><small>{_h(result.sandbox)}</small></p>")
    return _page(f"Feedback: {label(result.name, result.source)}", "\n".join(p for p in parts if p))


def _histogram(ax, values: list[float], maximum: float, title: str) -> None:
    """Counts of submissions per points bin: labelled axes, whole-number counts."""
    from matplotlib.ticker import MaxNLocator

    top = maximum or 1
    ax.hist(values, bins=min(10, max(2, int(top * 2))), range=(0, top), color="#3b6ea5", edgecolor="white")
    ax.set_title(title, fontsize=9)
    ax.set_xlim(0, top)
    ax.set_xlabel("points", fontsize=8)
    ax.set_ylabel("submissions", fontsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(labelsize=7)


def _distribution_png(results: list[SubmissionResult]) -> str:
    """The total, then one small histogram per question, of the points across the batch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    questions = list(dict.fromkeys((q.id, q.max_points) for r in results for q in r.questions))
    cols = 4
    rows = max(1, (len(questions) + 1 + cols - 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.5 * rows), squeeze=False)
    flat = axes.ravel()
    for ax in flat[len(questions) + 1:]:
        ax.axis("off")
    _histogram(flat[0], [r.points for r in results], max(r.max_points for r in results), "total")
    for ax, (qid, maximum) in zip(flat[1:], questions):
        got = [q.points for r in results for q in r.questions if q.id == qid]
        _histogram(ax, got, maximum, qid)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _message_kind(message: str) -> str:
    """A failure message with its numbers blanked (a key to group alike failures by, never
    shown: the page shows a real example instead)."""
    first = message.strip().split("\n", 1)[0]
    return re.sub(r"-?\d[\d.e+-]*", "#", first)


MAX_EXAMPLE = 2000  # characters of one example message on the summary page


def _common_failures(results: list[SubmissionResult]) -> list[tuple[int, str, str, str]]:
    """(submissions, question, outcome, one full example message), commonest first: a
    failure counts once per submission, however many of its checks failed alike."""
    seen: dict[tuple[str, str, str], tuple[set[str], str]] = {}
    for r in results:
        for q in r.questions:
            for c in q.checks:
                if c.outcome in (Outcome.PASSED, Outcome.NOT_CHECKED):
                    continue
                kind = "hidden check" if c.hidden else _message_kind(c.message)
                example = "(a hidden check: its inputs are not shown)" if c.hidden else c.message.strip()
                who, _ = seen.setdefault((q.id, c.outcome.label, kind), (set(), example))
                who.add(r.name)
    ranked = sorted(seen.items(), key=lambda kv: (-len(kv[1][0]), kv[0]))
    return [(len(who), qid, outcome, example) for (qid, outcome, _), (who, example) in ranked]


def _example(message: str) -> str:
    if len(message) <= MAX_EXAMPLE:
        return message
    cut = message.rfind(" ", 0, MAX_EXAMPLE)
    return message[:cut if cut > 0 else MAX_EXAMPLE] + " …"


def _submission_rows(results: list[SubmissionResult]) -> str:
    rows = []
    for r in sorted(results, key=lambda r: r.name):
        link = f"<a href=\"{_h(quote(r.name))}/feedback.html\">{_name(r.name)}</a>"
        handed = _name(r.source) if r.source and r.source != r.name else ""
        rows.append(f"<tr><td>{link}</td><td>{handed}</td><td>{points_of(r.points, r.max_points)}</td>"
                    f"<td class=\"verdict-{r.verdict}\">{_h(r.verdict)}</td><td>{'yes' if r.final else 'no'}</td></tr>")
    return ("<table><tr><th>submission</th><th>handed in as</th><th>points</th><th>verdict</th><th>final</th></tr>"
            + "".join(rows) + "</table>")


def summary_page(results: list[SubmissionResult], seconds: dict[str, float]) -> str:
    """Every submission (points, verdict, a link to its feedback page), score distributions,
    the commonest failures, the slowest submissions."""
    if not results:
        return _page("Batch summary", "<h1>Batch summary</h1><p>No submissions.</p>")
    totals = sorted(r.points for r in results)
    maximum = max(r.max_points for r in results)
    full = sum(r.points == r.max_points for r in results)
    resubmit = sum(r.verdict == "resubmit" for r in results)
    not_final = [_label(r) for r in results if not r.final]
    labels = {r.name: _label(r) for r in results}
    common = "".join(f"<tr><td>{n}</td><td>{_h(qid)}</td><td>{_h(kind)}</td><td><pre>{_h(_example(msg))}</pre></td></tr>"
                     for n, qid, kind, msg in _common_failures(results)[:15])
    slow = sorted(seconds.items(), key=lambda kv: -kv[1])[:10]
    slowest = "".join(f"<tr><td>{labels.get(name) or _name(name)}</td><td>{s:.1f} s</td></tr>" for name, s in slow)
    body = [
        "<h1>Batch summary</h1>",
        f"<p>{len(results)} submissions &middot; full marks: {full} &middot; resubmit: {resubmit} &middot; "
        f"median {points_of(statistics.median(totals), maximum)} points</p>",
    ]
    if not_final:
        body.append(f"<p><strong>Not final (grader errors, re-grade these):</strong> {', '.join(not_final)}</p>")
    if len(results) > 1:
        body.append("<p>Code and text the submissions share: <a href=\"similarity.html\">similarity report</a> "
                    "(evidence to review; it changes no score).</p>")
    body += [
        "<h2>Submissions</h2>",
        _submission_rows(results),
        "<h2>Points per question</h2>",
        f"<img alt=\"score distributions\" src=\"data:image/png;base64,{_distribution_png(results)}\">",
        "<h2>Commonest failures</h2>",
        "<p>Each failure counts once per submission, however many of its checks failed alike; one full message "
        "is shown as an example.</p>"
        f"<table><tr><th>submissions</th><th>question</th><th>outcome</th><th>example message</th></tr>{common}</table>"
        if common else "<p>None.</p>",
        "<h2>Slowest submissions</h2>",
        f"<table><tr><th>submission</th><th>grading time</th></tr>{slowest}</table>" if slowest else "<p>-</p>",
    ]
    return _page("Batch summary", "\n".join(body))
