"""Finding the work in a notebook wherever a student put it.

Which exercises a notebook holds: its metadata (`itmal.exercise`), its cell tags and its file
name are hints; its content decides too. An exercise whose heading, stub question headings,
setup cell or tags are present is graded, even when the metadata names another one (a whole
journal pasted into one notebook), and `Found.how` says how it was found.

Where each question lives: the cells tagged with its id, and everything between its heading
(`## Qa ...`, `**Qa)**`) and the next question's heading. Its text answer is whatever the
student wrote there that is neither the stub's prompt nor a placeholder: in the tagged answer
cell, in a new cell under an untouched `YOUR ANSWER HERE`, or typed into the question's own cell.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.inputs.notebook import cell_tags
from grader.inputs.stubs import PLACEHOLDERS, Stub, cell_heading, normalized, question_letter
from grader.judge.catalogue import Exercise

# Words a heading may carry beside an exercise's title: '# ITMAL Journal 2, exercise 3: Regularizers (L07)'
_FILLERS = frozenset({"itmal", "journal", "exercise", "exercises", "opgave", "the", "a", "an", "of", "on", "in",
                      "and", "part", "with", "og", "af"})
_NUMBERING = re.compile(r"l?\d+")
TITLE_SIMILAR = 0.85  # a heading this close to a title (difflib ratio) names it, typos and all
STUB_HEADING_WORDS = 3  # a stub question heading this long is distinctive enough to mark its exercise


@dataclass(frozen=True)
class Found:
    """An exercise a notebook holds: how it was found, and its cells (start, end)."""

    name: str
    how: tuple[str, ...]
    hinted: bool  # named by the metadata, the tags or the file name
    region: tuple[int, int]


def identify_exercise_by_name(path: Path, catalogue: dict[str, Exercise]) -> str | None:
    stem = path.stem.lower().replace("-", "_").replace(" ", "_")
    matches = [n for n in catalogue if n in stem]
    return max(matches, key=len) if matches else None


def _words(text: str) -> str:
    return " ".join(w for w in normalized(text).split() if w not in _FILLERS and not _NUMBERING.fullmatch(w))


def _title_keys(exercise: Exercise, stub: Stub | None) -> set[str]:
    keys = {exercise.title, exercise.name.replace("_", " "), *exercise.aliases}
    if stub is not None and stub.title:
        keys.add(stub.title)
    return {k for k in map(_words, keys) if k}


def _title_match(heading: str, keys: set[str]) -> int:
    """How strongly `heading` names an exercise with these title keys: the matched key's length, 0 for not."""
    words = _words(heading)
    best = 0
    for key in keys:
        inside = re.search(rf"\b{re.escape(key)}\b", words) and len(words.split()) - len(key.split()) <= 1
        if inside or difflib.SequenceMatcher(None, words, key).ratio() >= TITLE_SIMILAR:
            best = max(best, len(key))
    return best


def _anchors(nb, catalogue: dict[str, Exercise], stubs: dict[str, Stub | None]) -> dict[str, dict[str, int]]:
    """For each exercise, where its content shows: {how: first cell index}."""
    keys = {name: _title_keys(ex, stubs.get(name)) for name, ex in catalogue.items()}
    found: dict[str, dict[str, int]] = {}

    def mark(name: str, how: str, i: int) -> None:
        found.setdefault(name, {}).setdefault(how, i)

    for i, cell in enumerate(nb.cells):
        for tag in cell_tags(cell):
            if tag.split(".")[0] in catalogue:
                mark(tag.split(".")[0], "its tags", i)
        if cell.get("cell_type") == "code":
            source = normalized(cell.source)
            for name, stub in stubs.items():
                if stub is not None and source and source in stub.setup:
                    mark(name, "its setup cell", i)
            continue
        first, letter = cell_heading(cell)
        if first and question_letter(first) is None:
            scores = {name: _title_match(first, k) for name, k in keys.items()}
            best = max(scores.values(), default=0)
            winners = [n for n, s in scores.items() if s == best]
            if best and len(winners) == 1:
                mark(winners[0], f"the heading {first.strip().lstrip('#').strip()[:60]!r}", i)
        if letter:
            line = normalized(next(l for l in cell.source.splitlines() if question_letter(l)))
            if len(line.split()) >= STUB_HEADING_WORDS:
                for name, stub in stubs.items():
                    q = stub.questions.get(letter) if stub is not None else None
                    if q is not None and difflib.SequenceMatcher(None, line, q.heading).ratio() >= TITLE_SIMILAR:
                        mark(name, "its questions' headings", i)
    return found


def _has_questions(nb, region: tuple[int, int]) -> bool:
    return any(cell_heading(nb.cells[i])[1] for i in range(*region))


def find_exercises(nb, path: Path, catalogue: dict[str, Exercise],
                   stubs: dict[str, Stub | None] | None = None) -> list[Found]:
    """Every exercise the notebook holds, by its hints (metadata, tags, file name) and by its
    content (headings, stub question headings, setup cells), in the notebook's order."""
    stubs = stubs or {}
    hows: dict[str, list[str]] = {}
    meta = nb.metadata.get("itmal", {}) if isinstance(nb.metadata.get("itmal"), dict) else {}
    if isinstance(meta.get("exercise"), str) and meta["exercise"] in catalogue:
        hows[meta["exercise"]] = ["its metadata"]
    anchors = _anchors(nb, catalogue, stubs)
    by_name = identify_exercise_by_name(path, catalogue)
    if by_name:
        hows.setdefault(by_name, []).append("its file name")
    hinted = set(hows) | {n for n, a in anchors.items() if "its tags" in a}
    starts = sorted((min(a.values()), n) for n, a in anchors.items())
    end = len(nb.cells)
    regions = {n: (start, starts[k + 1][0] if k + 1 < len(starts) else end) for k, (start, n) in enumerate(starts)}
    for name, how in anchors.items():
        if set(how) <= {h for h in how if h.startswith("the heading")} and not _has_questions(nb, regions[name]):
            continue  # a title alone, with no question under it, is a mention, not an exercise
        hows.setdefault(name, []).extend(how)
    if len(hows) <= 1:
        return [Found(n, tuple(h), n in hinted, (0, end)) for n, h in hows.items()]
    found = [Found(n, tuple(hows[n]), n in hinted, regions.get(n, (0, end))) for n in hows]
    return sorted(found, key=lambda f: (f.region[0] if f.name in regions else -1, f.name))


def exercises_in(nb, path: Path, catalogue: dict[str, Exercise], stubs: dict[str, Stub | None] | None = None) -> list[str]:
    return [f.name for f in find_exercises(nb, path, catalogue, stubs)]


@dataclass
class QuestionCells:
    """Where one question lives: its code cells, the cells its text answer came from, the answer."""

    code: list[int] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    text: str = ""
    found_by: str = "tags"


def _letter(qid: str) -> str:
    return qid.rsplit(".", 1)[-1].lower()  # "perceptron.qa" -> "qa"


def locate_questions(nb, question_ids: list[str], region: tuple[int, int] | None = None,
                     stub: Stub | None = None) -> dict[str, QuestionCells]:
    """Map each question id to its cells: those tagged with it, and those under its heading
    within `region` (the exercise's part of a notebook that holds several)."""
    located: dict[str, QuestionCells] = {q: QuestionCells() for q in question_ids}
    for i, cell in enumerate(nb.cells):
        for tag in cell_tags(cell):
            if tag in located and cell.cell_type == "code":
                located[tag].code.append(i)
            elif tag.endswith(".answer") and tag[: -len(".answer")] in located:
                located[tag[: -len(".answer")]].answers.append(i)
    start_region, end_region = region or (0, len(nb.cells))
    headings = [(i, cell_heading(nb.cells[i])[1]) for i in range(start_region, end_region)]
    headings = [(i, letter) for i, letter in headings if letter]
    by_letter = {_letter(q): q for q in question_ids}
    spans: dict[str, tuple[int, int]] = {}
    for n, (start, letter) in enumerate(headings):
        qid = by_letter.get(letter)
        if qid is not None and qid not in spans:
            spans[qid] = (start, headings[n + 1][0] if n + 1 < len(headings) else end_region)
    for qid, qc in located.items():
        span = spans.get(qid)
        if span is not None:
            if not qc.code and not qc.answers:
                qc.found_by = "heading"
            # Every code cell under the heading, except one the student tagged for another question.
            qc.code = sorted(set(qc.code) | {i for i in range(*span) if nb.cells[i].cell_type == "code"
                                             and not _tagged_elsewhere(nb.cells[i], qid, located)})
        qc.text = _written(nb, qc, _letter(qid), span, stub, qid)
    return located


def _tagged_elsewhere(cell, qid: str, located: dict[str, QuestionCells]) -> bool:
    return any(tag in located and tag != qid for tag in cell_tags(cell))


def _written(nb, qc: QuestionCells, letter: str, span: tuple[int, int] | None, stub: Stub | None, qid: str) -> str:
    """The student's own text for one question: the tagged answer cells, and every markdown
    line under its heading that is neither the stub's prompt nor a placeholder."""
    cells = set(qc.answers)
    if span is not None:
        cells |= {i for i in range(*span) if nb.cells[i].cell_type == "markdown"
                  and not any(t.endswith(".answer") and t != f"{qid}.answer" for t in cell_tags(nb.cells[i]))}
    blocks, used = [], []
    for i in sorted(cells):
        lines = nb.cells[i].source.splitlines()
        is_heading_cell = span is not None and i == span[0]
        if is_heading_cell:
            if stub is None:
                continue  # without the stub, the question's own cell is taken for the prompt
            lines = lines[next(k for k, line in enumerate(lines) if question_letter(line)) + 1:]
        lines = [_without_placeholders(line) for line in lines]
        kept = [line for line in lines if not _given(line, letter, stub)]
        text = "\n".join(kept).strip()
        if text:
            blocks.append(text)
            used.append(i)
    qc.answers = used or qc.answers
    return "\n\n".join(blocks)


def _without_placeholders(line: str) -> str:
    for p in PLACEHOLDERS:
        line = line.replace(p, "")
    return line


def _given(line: str, letter: str, stub: Stub | None) -> bool:
    """The line came with the stub (its prompt, a placeholder), or is blank."""
    if stub is not None:
        return stub.is_prompt(letter, line)
    text = normalized(line)
    return not text or any(text == normalized(p) for p in PLACEHOLDERS)


def answer_text(nb, cells: QuestionCells) -> str:
    """The student's text answer, prompt and placeholders removed ('' if there is none)."""
    return cells.text
