"""Reading a submitted notebook and finding where each question lives in it.

Cells are tagged in the stubs: a question's code cells carry its id (`perceptron.qa`), its
text answer cell carries `<id>.answer`. Students lose tags (copying cells, other editors),
so a question whose tags are gone falls back to the markdown heading that names it
(`Qa`, `### Qa)`, ...) and the cells that follow it up to the next question heading.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

MAX_NOTEBOOK_BYTES = 50 * 2**20
ANSWER_PLACEHOLDER = "YOUR ANSWER HERE"


class NotebookUnreadable(Exception):
    """The file is not a notebook the grader can run; the message says why, for a student."""


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Load and validate a notebook, upgrading old formats; raise NotebookUnreadable."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise NotebookUnreadable(f"cannot read {path.name}: {exc.strerror}") from None
    if size > MAX_NOTEBOOK_BYTES:
        raise NotebookUnreadable(
            f"{path.name} is {size / 2**20:.0f} MB; notebooks over {MAX_NOTEBOOK_BYTES // 2**20} MB "
            "are not graded (clear large outputs before handing in)"
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookUnreadable(f"{path.name} is not UTF-8 text (byte {exc.start}); is it a notebook?") from None
    try:
        with warnings.catch_warnings():  # duplicate cell ids: nbformat renumbers them, and says so
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises many types for malformed JSON/structure
        raise NotebookUnreadable(f"{path.name} is not a valid Jupyter notebook: {str(exc)[:300]}") from None
    try:
        with warnings.catch_warnings():  # duplicate cell ids: nbformat renumbers them, and says so
            warnings.simplefilter("ignore")
            nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise NotebookUnreadable(f"{path.name} does not follow the notebook format: {exc.message[:300]}") from None
    if not nb.cells:
        raise NotebookUnreadable(f"{path.name} has no cells")
    return nb


def cell_tags(cell) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


_HEADING = re.compile(r"^\s*#{1,6}\s*(?:\*\*)?\s*(Q[a-z])\b", re.IGNORECASE)


def _question_letter(qid: str) -> str:
    return qid.rsplit(".", 1)[-1].lower()  # "perceptron.qa" -> "qa"


@dataclass
class QuestionCells:
    """Where one question lives: indices of its code cells and of its text answer cell."""

    code: list[int] = field(default_factory=list)
    answer: int | None = None
    found_by: str = "tags"


def heading_level(cell) -> int:
    """1-6 for a markdown cell that starts with a heading, else 0."""
    if cell.get("cell_type") != "markdown":
        return 0
    m = re.match(r"^\s*(#{1,6})\s", cell.source)
    return len(m.group(1)) if m else 0


def locate_questions(nb, question_ids: list[str], region: tuple[int, int] | None = None) -> dict[str, QuestionCells]:
    """Map each question id to its cells: by tags, else by the heading that names it (within
    `region`, the exercise's part of a combined notebook, when given)."""
    located: dict[str, QuestionCells] = {q: QuestionCells() for q in question_ids}
    for i, cell in enumerate(nb.cells):
        for tag in cell_tags(cell):
            if tag in located and cell.cell_type == "code":
                located[tag].code.append(i)
            elif tag.endswith(".answer") and tag[: -len(".answer")] in located:
                located[tag[: -len(".answer")]].answer = i
    untagged = [q for q, c in located.items() if not c.code and c.answer is None]
    if untagged:
        _locate_by_headings(nb, untagged, located, region or (0, len(nb.cells)))
    return located


def _locate_by_headings(nb, question_ids: list[str], located: dict[str, QuestionCells],
                        region: tuple[int, int]) -> None:
    headings: list[tuple[int, str]] = []
    start_region, end_region = region
    for i in range(start_region, end_region):
        cell = nb.cells[i]
        if cell.cell_type == "markdown":
            m = _HEADING.match(cell.source)
            if m:
                headings.append((i, m.group(1).lower()))
    for n, (start, letter) in enumerate(headings):
        end = headings[n + 1][0] if n + 1 < len(headings) else end_region
        for q in question_ids:
            if _question_letter(q) != letter or located[q].code or located[q].answer is not None:
                continue
            qc = QuestionCells(found_by="heading")
            for i in range(start + 1, end):
                cell = nb.cells[i]
                if cell.cell_type == "code":
                    qc.code.append(i)
                elif qc.answer is None and cell.cell_type == "markdown" and not _HEADING.match(cell.source):
                    qc.answer = i
            located[q] = qc


def answer_text(nb, cells: QuestionCells) -> str:
    """The student's text answer with the placeholder removed ('' if there is none)."""
    if cells.answer is None:
        return ""
    text = nb.cells[cells.answer].source
    return text.replace(ANSWER_PLACEHOLDER, "").strip()
