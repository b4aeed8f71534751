"""Which notebook counts when a submission holds several for one exercise.

Students hand in `regularizers.ipynb` beside `regularizers - Copy.ipynb`,
`regularizers (1).ipynb`, `regularizers-Copy1.ipynb` or `Copy of regularizers.ipynb`. The
rule, stated once: the notebook with the exercise's canonical name wins; between equals
(both canonical in different folders, or no canonical one), the one with the most answered
questions; then the shorter path, then the name, so the choice never depends on the order
a folder is listed in. "Answered" is read from the notebook without running it: a text
answer that is not the placeholder, or a code cell of the question that is not empty and
does not still raise NotImplementedError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePath

from grader.inputs.locate import QuestionCells, answer_text
from grader.inputs.notebook import is_self_check_cell

# What file managers, Jupyter and LMS re-uploads append to (or put before) a copy's name.
_COPY_MARKS = re.compile(
    r"""(?ix)
    ^copy[ _-]of[ _-]+                    # "Copy of regularizers" (Google Drive)
    | [ _-]*-[ _-]*copy(?:[ _-]*\(\d+\))?$   # "regularizers - Copy", "regularizers - Copy (2)" (Windows)
    | [ _-]+copy[ _-]*\d*$                 # "regularizers copy", "regularizers_copy2" (macOS, by hand)
    | -copy\d+$                           # "regularizers-Copy1" (Jupyter's "Make a Copy")
    | [ _-]*\(\d+\)$                       # "regularizers (1)" (browsers' downloads)
    | -\d+$                               # "regularizers-1" (Canvas re-upload)
    | [ _-]*-checkpoint$                  # "regularizers-checkpoint"
    """)


def canonical_stem(stem: str) -> str:
    """The stem without every copy mark (`regularizers - Copy (2)` -> `regularizers`)."""
    previous = None
    while previous != stem:
        previous, stem = stem, _COPY_MARKS.sub("", stem).strip()
    return stem


def is_canonical(path: PurePath, expected: str) -> bool:
    """The notebook carries the exercise's own name (`regularizers.ipynb`, any case), or,
    for a notebook found by its contents, a name with no copy mark."""
    if path.name.lower() == expected.lower():
        return True
    return PurePath(expected).stem.lower() not in path.stem.lower() and canonical_stem(path.stem) == path.stem


def answered_questions(nb, located: dict[str, QuestionCells]) -> int:
    count = 0
    for cells in located.values():
        code = [nb.cells[i].source for i in cells.code if i < len(nb.cells) and not is_self_check_cell(nb.cells[i])]
        if answer_text(nb, cells) or any(s.strip() and "NotImplementedError" not in s for s in code):
            count += 1
    return count


@dataclass(frozen=True)
class Candidate:
    """A notebook that holds an exercise, with what the rule looks at."""

    path: Path
    rel: str  # shown to people: the path inside the submission
    canonical: bool
    answered: int

    def key(self) -> tuple:
        return (not self.canonical, -self.answered, len(PurePath(self.rel).parts), self.rel)

    def describe(self) -> str:
        return f"{self.rel} ({'canonical name, ' if self.canonical else ''}{self.answered} answered)"

    def to_dict(self) -> dict:
        return {"file": self.rel, "canonical": self.canonical, "answered": self.answered}


def choose(candidates: list[Candidate]) -> tuple[Candidate, list[Candidate]]:
    """The notebook graded, and those ignored, by the rule above."""
    ranked = sorted(candidates, key=Candidate.key)
    return ranked[0], ranked[1:]


def reason(chosen: Candidate, ignored: list[Candidate]) -> str:
    """Which step of the rule decided, in words."""
    if chosen.canonical and not any(c.canonical for c in ignored):
        return "it has the exercise's own name"
    if chosen.answered > max(c.answered for c in ignored):
        return "it has the most answered questions"
    return "the notebooks are equal by name and answers; the first by path was taken"


def choice_record(exercise: str, chosen: Candidate, ignored: list[Candidate]) -> dict:
    """Plain data for the result (shown on the feedback page and in the terminal)."""
    return {"exercise": exercise, "graded": chosen.to_dict(), "ignored": [c.to_dict() for c in ignored],
            "why": reason(chosen, ignored)}
