"""Formatting results: Gradescope's results.json and the terminal table. No judging here."""

from __future__ import annotations

import re
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.files import write_json_atomic, write_text_atomic
from grader.judge.outcomes import Outcome, SubmissionResult
from grader.outputs.inert import label, terminal_text, visible
from grader.outputs.points import points, points_of

_STYLE = {
    Outcome.PASSED: "green",
    Outcome.WRONG: "red",
    Outcome.MISSING: "yellow",
    Outcome.CODE_FAILED: "red",
    Outcome.TIMED_OUT: "magenta",
    Outcome.KERNEL_DIED: "magenta",
    Outcome.NOT_CHECKED: "dim",
    Outcome.PARTLY_CHECKED: "dim green",
    Outcome.GRADER_ERROR: "cyan",
}


def question_label(q) -> str:
    """The question's headline for people. A question that earned some of its points is
    "partial credit", never "missing (not attempted)" because one part of it was."""
    if 0 < q.points < q.max_points:
        return "partial credit" if q.outcome is Outcome.PASSED else f"partial credit; a part: {q.outcome.label}"
    return q.outcome.label


def gradescope_test(qid: str, title: str, points: float, max_points: float, outcome: str, feedback: str) -> dict:
    """One question as a Gradescope test entry."""
    return {
        "name": f"{qid}: {title}",
        "number": qid,
        "score": points,
        "max_score": max_points,
        "status": "passed" if outcome == Outcome.PASSED.value else "failed",
        "output": f"{Outcome(outcome).label}\n{feedback}".strip(),
        "visibility": "visible",
        "extra_data": {"outcome": outcome},
    }


def gradescope_document(tests: list[dict], output: str = "") -> dict:
    """Gradescope's results.json. No timestamps or timings, so grading the same notebook
    twice writes the same bytes."""
    return {
        "score": round(sum(t["score"] for t in tests), 4),
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def gradescope_results(result: SubmissionResult, *, show_hidden: bool = False) -> dict:
    tests = [gradescope_test(q.id, q.title, q.points, q.max_points, q.outcome.value,
                             q.feedback(show_hidden=show_hidden)) for q in result.questions]
    verdict = f"Journal verdict: {result.verdict}"
    if result.unanswered:
        verdict += f" (unanswered: {', '.join(result.unanswered)})"
    head = [f"Submission: {visible(result.source)}"] if result.source else []
    chosen = [visible(f"Duplicate notebooks: {choice_text(c)}") for c in result.choices]
    return gradescope_document(tests, "\n".join([*head, verdict, *chosen, result.sandbox, *result.notes]))


def _md_literal(text: str) -> str:
    """Text a Markdown viewer shows as it is (no HTML, links or markup): a fenced block whose
    fence is longer than any run of backticks in it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def text_answers_markdown(result: SubmissionResult) -> str:
    """Every text answer of a submission, for the instructor to read and grade by hand. The
    student's text and names are shown literally, never rendered."""
    lines = [f"# Text answers: {result.name}", ""]
    if result.source:
        lines += ["Handed in as:", "", _md_literal(visible(result.source)), ""]
    for q in result.questions:
        if not any(c.name == "text answer" for c in q.checks):
            continue
        answer = _md_literal(visible(q.answer_text, multiline=True)) if q.answer_text else "*(no answer)*"
        lines += [f"## {q.id}: {q.title}", "", answer, ""]
    return "\n".join(lines)


def results_table(result: SubmissionResult, *, show_hidden: bool = True) -> Table:
    """The terminal table. Every cell is a rich Text (never markup) made `visible`: feedback
    carries student text (exception messages, names)."""
    table = Table(title=terminal_text(f"{label(result.name, result.source)}: "
                                      f"{points_of(result.points, result.max_points)} points, {result.verdict}"))
    table.add_column("question")
    table.add_column("points", justify="right")
    table.add_column("outcome")
    table.add_column("feedback", overflow="fold", max_width=80)
    for q in result.questions:
        first = q.feedback(show_hidden=show_hidden).split("\n")[0]
        table.add_row(terminal_text(q.id), f"{points(q.points)}/{points(q.max_points)}",
                      Text(question_label(q), style=_STYLE[q.outcome]), terminal_text(first[:300]))
    return table


def _described(entry: dict) -> str:
    what = [*(["canonical name"] if entry.get("canonical") else []), f"{entry.get('answered', 0)} answered"]
    return f"{entry.get('file', '?')} ({', '.join(what)})"


def choice_text(choice: dict) -> str:
    """One sentence for an exercise handed in as several notebooks: graded, ignored, why.
    Raw file names: make the sentence inert where it is shown."""
    ignored = ", ".join(_described(e) for e in choice.get("ignored", []))
    return (f"{choice.get('exercise', '?')}: graded {_described(choice.get('graded', {}))}; "
            f"ignored {ignored}; because {choice.get('why', '')}")


def print_result(result: SubmissionResult, console: Console | None = None) -> None:
    console = console or Console()
    if not result.sandbox.startswith("sandboxed"):
        console.print(terminal_text(f"WARNING: {result.sandbox}", "bold red"))
    console.print(results_table(result))
    for choice in result.choices:
        console.print(terminal_text(f"duplicate notebooks: {choice_text(choice)}", "yellow"))
    for note in result.notes:
        console.print(terminal_text(f"note: {note}", "dim", multiline=True))


def plain_lines(result: SubmissionResult, status: str = "") -> list[str]:
    """The result for a log (stdout that is not a terminal: CI, cron, `| tee`): a line for the
    submission, then one per question with its whole feedback on that line (its lines joined
    by " | "), nothing wrapped or cut; student text made `visible`."""
    head = f"{label(result.name, result.source)}: {result.points:g} / {result.max_points:g} points, {result.verdict}"
    lines = [visible(head + (f" ({status})" if status else ""))]
    if not result.sandbox.startswith("sandboxed"):
        lines.append(visible(f"{result.name}: WARNING: {result.sandbox}"))
    for q in result.questions:
        # hidden checks say only passed/failed, as in results.json: a log travels further than a terminal
        feedback = " | ".join(line.strip() for line in q.feedback(show_hidden=False).splitlines() if line.strip())
        line = f"{result.name} {q.id} {q.points:g}/{q.max_points:g} {q.outcome.label}"
        lines.append(visible(f"{line}: {feedback}" if feedback else line))
    lines += [visible(f"{result.name} note: {note}") for note in result.notes]
    return lines


def write_submission_outputs(result: SubmissionResult, directory: Path, meta: dict) -> None:
    """Everything about one graded submission, each file atomic; grading.json goes last and
    marks the submission as done (it carries the full result and `meta`: fingerprints, time)."""
    from grader.outputs.html import feedback_page

    write_json_atomic(directory / "results.json", gradescope_results(result, show_hidden=False))
    write_text_atomic(directory / "feedback.html", feedback_page(result))
    write_text_atomic(directory / "answers.md", text_answers_markdown(result))
    write_json_atomic(directory / "grading.json", {"meta": meta, "result": result.to_dict()})


def read_grading(directory: Path) -> tuple[SubmissionResult, dict] | None:
    """A submission's saved result and meta, or None if absent or unreadable."""
    import json

    try:
        data = json.loads((directory / "grading.json").read_text(encoding="utf-8"))
        return SubmissionResult.from_dict(data["result"]), data["meta"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
