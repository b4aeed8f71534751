"""What the assignment's stubs say, so that what a student wrote can be told from what was given.

A stub notebook (the one students start from) holds, per question, a heading and a prompt, and
placeholders where the answer goes. Locating work compares a submission's cells against these:
a line of the prompt is not an answer, wherever the student left it; a heading that is the stub's
question heading marks that exercise even when every tag and all metadata are gone.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from grader.inputs.notebook import ANSWER_PLACEHOLDER, CODE_PLACEHOLDER, NotebookUnreadable, cell_tags, read_notebook

PLACEHOLDERS = (ANSWER_PLACEHOLDER, CODE_PLACEHOLDER)
SIMILAR = 0.9  # a line this close to a stub line (difflib ratio) is the stub's, lightly edited

_QUESTION = re.compile(r"^\s*(?:#{1,6}\s*(?:\*\*|__)?|\*\*|__)\s*Q([a-z])\b", re.IGNORECASE)
_HEADING_LINE = re.compile(r"^\s*#{1,6}\s")


def normalized(text: str) -> str:
    """Lower case, accents and markup gone, words single-spaced: 'Naïve **Bayes**!' -> 'naive bayes'."""
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def question_letter(line: str) -> str | None:
    """'qa' for a question heading line ('## Qa ...', '**Qa)**', '### Qa:'), else None."""
    m = _QUESTION.match(line)
    return f"q{m.group(1).lower()}" if m else None


def cell_heading(cell) -> tuple[str | None, str | None]:
    """(the first heading line, the question letter it or a following heading line names) of a
    markdown cell that opens with headings; (None, None) for any other cell."""
    if cell.get("cell_type") != "markdown":
        return None, None
    first = None
    for line in cell.source.splitlines():
        if not line.strip():
            continue
        letter = question_letter(line)
        if letter:
            return first or line, letter
        if not _HEADING_LINE.match(line):
            return first, None
        first = first or line
    return first, None


@dataclass(frozen=True)
class StubQuestion:
    heading: str  # the stub's question heading line, normalized ('qa using a perceptron on the moon data')
    prompt: frozenset[str] = frozenset()  # normalized lines of the stub's markdown for this question


@dataclass(frozen=True)
class Stub:
    title: str  # the stub's first heading, normalized
    questions: dict[str, StubQuestion] = field(default_factory=dict)  # by question letter ('qa')
    setup: frozenset[str] = frozenset()  # normalized sources of its setup cells

    def is_prompt(self, letter: str, line: str) -> bool:
        """`line` is the stub's text for question `letter` (or a placeholder), not the student's."""
        text = normalized(line)
        if not text or any(text == normalized(p) for p in PLACEHOLDERS):
            return True
        q = self.questions.get(letter)
        if q is None:
            return False
        if text in q.prompt:
            return True
        return any(difflib.SequenceMatcher(None, text, p).ratio() >= SIMILAR for p in q.prompt
                   if abs(len(p) - len(text)) <= len(text) * (1 - SIMILAR) * 2)


def stub_of(nb) -> Stub:
    """The stub's title, question headings, prompts and setup cells."""
    title, letter = "", None
    questions: dict[str, tuple[str, set[str]]] = {}
    setup = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            if any(t.endswith(".setup") for t in cell_tags(cell)):
                setup.add(normalized(cell.source))
            continue
        if cell.cell_type != "markdown":
            continue
        first, found = cell_heading(cell)
        if first and not title:
            title = normalized(first)
        if found:
            letter = found
            questions[letter] = (normalized(next(line for line in cell.source.splitlines() if question_letter(line))),
                                 set())
        if letter and not any(t.endswith(".answer") for t in cell_tags(cell)):
            questions[letter][1].update(normalized(line) for line in cell.source.splitlines() if normalized(line))
    return Stub(title, {k: StubQuestion(h, frozenset(p)) for k, (h, p) in questions.items()}, frozenset(setup))


@lru_cache(maxsize=64)
def _load(path: Path, mtime: float) -> Stub | None:
    try:
        return stub_of(read_notebook(path))
    except NotebookUnreadable:
        return None


def load_stub(folder: Path | None, notebook: str) -> Stub | None:
    """The stub `notebook` in `folder` (the assignment's stubs), or None where there is none."""
    if folder is None:
        return None
    path = folder / notebook
    try:
        return _load(path, path.stat().st_mtime)
    except OSError:
        return None
