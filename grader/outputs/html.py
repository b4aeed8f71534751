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
from collections import Counter
from html import escape

from grader.judge.outcomes import Outcome, SubmissionResult
from grader.outputs.inert import label, visible

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .3em .6em; text-align: left; }
.passed { color: #17702a; } .wrong, .code_failed { color: #b00020; } .missing { color: #9a6700; }
.timed_out, .kernel_died { color: #7b1fa2; } .grader_error, .not_checked { color: #555; }
pre { background: #f6f8fa; padding: .6em; white-space: pre-wrap; word-break: break-word; }
img { max-width: 100%; border: 1px solid #ddd; margin: .3em 0; }
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


def feedback_page(result: SubmissionResult) -> str:
    """Per question: outcome, points, the message, and the student's own figures."""
    rows = "".join(
        f"<tr><td><a href=\"#{_h(q.id)}\">{_h(q.id)}</a></td><td>{q.points:g} / {q.max_points:g}</td>"
        f"<td class=\"{q.outcome.value}\">{_h(q.outcome.label)}</td></tr>"
        for q in result.questions)
    parts = [
        f"<h1>Feedback: {_label(result)}</h1>",
        f"<p><strong>{result.points:g} / {result.max_points:g} points</strong> &middot; journal verdict: "
        f"<span class=\"verdict-{result.verdict}\">{_h(result.verdict)}</span>"
        + ("" if result.final else " &middot; <strong>not final: the grader failed on some checks</strong>")
        + "</p>",
        f"<table><tr><th>question</th><th>points</th><th>outcome</th></tr>{rows}</table>",
    ]
    for q in result.questions:
        parts.append(f"<h2 id=\"{_h(q.id)}\">{_h(q.id)}: {_h(q.title)} &middot; "
                     f"<span class=\"{q.outcome.value}\">{_h(q.outcome.label)}</span>, "
                     f"{q.points:g} / {q.max_points:g}</h2>")
        feedback = q.feedback(show_hidden=False)
        if feedback:
            parts.append(f"<pre>{_h(feedback)}</pre>")
        for png in q.figures:
            if _png_ok(png):
                parts.append(f"<img alt=\"figure of {_h(q.id)}\" src=\"data:image/png;base64,{png}\">")
        if q.answer_text:
            parts.append(f"<p><em>Your answer:</em></p><pre>{_h(q.answer_text)}</pre>")
    if result.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_h(n)}</li>" for n in result.notes) + "</ul>")
    parts.append(f"<p><small>{_h(result.sandbox)}</small></p>")
    return _page(f"Feedback: {label(result.name, result.source)}", "\n".join(parts))


def _distribution_png(results: list[SubmissionResult]) -> str:
    """One small histogram per question of the points it got across the batch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    questions = [(q.id, q.max_points) for q in results[0].questions]
    cols = 4
    rows = max(1, (len(questions) + cols - 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.2 * rows), squeeze=False)
    for ax in axes.ravel()[len(questions):]:
        ax.axis("off")
    for ax, (qid, maximum) in zip(axes.ravel(), questions):
        points = [next((q.points for q in r.questions if q.id == qid), 0.0) for r in results]
        ax.hist(points, bins=10, range=(0, maximum or 1), color="#3b6ea5")
        ax.set_title(qid, fontsize=9)
        ax.set_xlim(0, maximum or 1)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _message_kind(message: str) -> str:
    """A failure message with its numbers blanked, so alike failures are counted together."""
    first = message.strip().split("\n", 1)[0]
    return re.sub(r"-?\d[\d.e+-]*", "#", first)[:160]


def summary_page(results: list[SubmissionResult], seconds: dict[str, float]) -> str:
    """Score distributions per question, the commonest failures, the slowest submissions."""
    if not results:
        return _page("Batch summary", "<h1>Batch summary</h1><p>No submissions.</p>")
    totals = sorted(r.points for r in results)
    maximum = results[0].max_points
    full = sum(r.points == r.max_points for r in results)
    resubmit = sum(r.verdict == "resubmit" for r in results)
    not_final = [_label(r) for r in results if not r.final]
    labels = {r.name: _label(r) for r in results}
    failures: Counter = Counter()
    for r in results:
        for q in r.questions:
            for c in q.checks:
                if c.outcome not in (Outcome.PASSED, Outcome.NOT_CHECKED):
                    failures[(q.id, c.outcome.label, "hidden check" if c.hidden else _message_kind(c.message))] += 1
    common = "".join(f"<tr><td>{n}</td><td>{_h(qid)}</td><td>{_h(kind)}</td><td>{_h(msg)}</td></tr>"
                     for (qid, kind, msg), n in failures.most_common(15))
    slow = sorted(seconds.items(), key=lambda kv: -kv[1])[:10]
    slowest = "".join(f"<tr><td>{labels.get(name) or _name(name)}</td><td>{s:.1f} s</td></tr>" for name, s in slow)
    body = [
        "<h1>Batch summary</h1>",
        f"<p>{len(results)} submissions &middot; full marks: {full} &middot; resubmit: {resubmit} &middot; "
        f"median {statistics.median(totals):g} / {maximum:g} points</p>",
    ]
    if not_final:
        body.append(f"<p><strong>Not final (grader errors, re-grade these):</strong> {', '.join(not_final)}</p>")
    if len(results) > 1:
        body.append("<p>Code and text the submissions share: <a href=\"similarity.html\">similarity report</a> "
                    "(evidence to review; it changes no score).</p>")
    body += [
        "<h2>Points per question</h2>",
        f"<img alt=\"score distributions\" src=\"data:image/png;base64,{_distribution_png(results)}\">",
        "<h2>Commonest failures</h2>",
        f"<table><tr><th>count</th><th>question</th><th>outcome</th><th>message</th></tr>{common}</table>"
        if common else "<p>None.</p>",
        "<h2>Slowest submissions</h2>",
        f"<table><tr><th>submission</th><th>grading time</th></tr>{slowest}</table>" if slowest else "<p>-</p>",
    ]
    return _page("Batch summary", "\n".join(body))
