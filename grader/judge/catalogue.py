"""The shape of the catalogue: exercises hold questions, questions hold weighted checks.

A check declares the requests it needs from the kernel (`needs`) and a function that
judges the fetched plain data (`run`, given an `Evidence`). The same catalogue serves
the student's `pytest`, the instructor's batch and the project's own tests.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from grader.kernel.requests import Request


# Who can judge a check (Check.judged_by):
PUBLIC = "public"  # the student's self-check runs it, exactly as the instructor's run does
INSTRUCTOR = "instructor"  # only the instructor's run: it needs the reference solution's answers
JUDGED_BY = (PUBLIC, INSTRUCTOR)

# What a student's self-check says of a check it leaves to the instructor.
LEFT_TO_INSTRUCTOR = "judged only by the instructor's run (it needs the reference solution's answers)"
HIDDEN_LEFT_TO_INSTRUCTOR = "judged only by the instructor's run (hidden checks, not shipped with the assignment)"
HIDDEN_SLOT = "hidden checks"


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable  # (Evidence) -> None, raises CheckFailed
    needs: tuple[Request, ...] = ()
    weight: float = 1.0
    hidden: bool = False
    # "code": judged on what the question's cells computed or showed; "text": on the
    # answer cell alone, so a crash in the code does not touch it.
    judges: str = "code"
    # PUBLIC (the default): the student's self-check judges it as the instructor's run does.
    # INSTRUCTOR: only the instructor's run judges it; declare this for every check that
    # reads `ev.reference(...)` (the reference answers do not ship with the assignment).
    # Without a reference run it is not run at all: "not checked here", its points shown
    # as left to the instructor. Hidden checks are instructor-only whatever this says.
    judged_by: str = PUBLIC
    # The reference run's values a PUBLIC check reads (`ev.reference(key)`): plain numbers or
    # arrays that ship with the assignment in its public reference store (`grader
    # build-public-store`), so a student's self-check judges the check too. Never solution code.
    public_reference: tuple[str, ...] = ()

    def __post_init__(self):
        if self.judged_by not in JUDGED_BY:
            raise ValueError(f"check {self.name!r}: judged_by must be one of {JUDGED_BY}, not {self.judged_by!r}")
        if self.public_reference and self.judged_by != PUBLIC:
            raise ValueError(f"check {self.name!r}: only a public check ships reference values")

    @property
    def instructor_only(self) -> bool:
        """Judged only by the instructor's run: hidden, or needing the reference solution."""
        return self.hidden or self.judged_by == INSTRUCTOR


@dataclass(frozen=True)
class Question:
    id: str
    title: str
    points: float
    checks: tuple[Check, ...]
    # The total weight of the checks in the hidden folder (HIDDEN_CHECKS and INSTRUCTOR_CHECKS)
    # for this question. They do not ship with the assignment, so a self-check cannot run them;
    # declaring their weight here lets it show their share of the points as left to the
    # instructor instead of handing it to the public checks. tests/test_catalogue_judged_by.py
    # checks it against hidden/.
    hidden_weight: float = 0.0
    # Optional in the course ("[OPTIONAL]" in the stub): graded as any other, but left
    # unanswered it does not count towards sending the journal back.
    optional: bool = False
    # A function question: right on some inputs by coincidence is not right. Its points come
    # only when every check passes, the given inputs' and the hidden ones' alike.
    all_or_nothing: bool = False


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    questions: tuple[Question, ...]
    # Data sets the notebook needs from the grader (e.g. "mnist"); without them the exercise
    # is a grader error, never the student's failure.
    data: tuple[str, ...] = ()
    # Other names a student may give its heading in a whole journal (beside the title, the
    # name and the stub's first heading), e.g. the course's old notebook name.
    aliases: tuple[str, ...] = ()

    @property
    def notebook(self) -> str:
        """The notebook's file name in the assignment and solution folders."""
        return f"{self.name}.ipynb"

    def question(self, qid: str) -> Question:
        return next(q for q in self.questions if q.id == qid)

    def with_extra_checks(self, extra: dict[str, list[Check]]) -> "Exercise":
        """This exercise with more checks (the instructor's hidden ones) added to questions."""
        questions = tuple(
            replace(q, checks=q.checks + tuple(extra.get(q.id, ()))) for q in self.questions
        )
        return replace(self, questions=questions)


def text_answer(min_words: int = 5, weight: float = 1.0) -> Check:
    """The question's answer cell holds a real answer (graded by hand later)."""
    from grader.judge.checks import check_text_answered

    return Check("text answer", lambda ev: check_text_answered("text answer", ev.text(), min_words=min_words),
                 weight=weight, judges="text")


def figure(weight: float = 1.0) -> Check:
    """The question's code cells showed a figure."""
    from grader.judge.checks import check_figure

    return Check("figure", lambda ev: check_figure("figure", ev.figures()), weight=weight)


def load_hidden_checks(directory: Path | None, exercises: dict[str, Exercise]) -> dict[str, list[Check]]:
    """Read hidden checks from `directory` (or $ITMAL_HIDDEN_CHECKS); {} when there are none.

    Hidden checks (the instructor's, not shipped with the assignment) are Python files; each
    defines `HIDDEN_CHECKS = {question id: [Check, ...]}` (hidden: feedback says only passed or
    failed) and/or `INSTRUCTOR_CHECKS` (judged_by=INSTRUCTOR, full feedback: checks whose inputs,
    such as a held-out data seed, must not ship), added to the public checks."""
    if directory is None and os.environ.get("ITMAL_HIDDEN_CHECKS"):
        directory = Path(os.environ["ITMAL_HIDDEN_CHECKS"])
    if directory is None:
        return {}
    if not directory.is_dir():
        raise FileNotFoundError(f"hidden checks directory not found: {directory}")
    extra: dict[str, list[Check]] = {}
    for path in sorted(directory.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"itmal_hidden_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for qid, checks in getattr(module, "HIDDEN_CHECKS", {}).items():
            extra.setdefault(qid, []).extend(checks)
        for qid, checks in getattr(module, "INSTRUCTOR_CHECKS", {}).items():
            odd = [c.name for c in checks if c.hidden or c.judged_by != INSTRUCTOR]
            if odd:
                raise ValueError(f"{path.name}: INSTRUCTOR_CHECKS must be judged_by=INSTRUCTOR, not hidden: {odd}")
            extra.setdefault(qid, []).extend(checks)
    unknown = [q for q in extra if not any(q.startswith(e + ".") for e in exercises)]
    if unknown:
        raise ValueError(f"hidden checks name unknown questions: {', '.join(unknown)}")
    return extra


def _hidden_not_loaded(ev) -> None:
    from grader.judge.score import NoReference  # not at import time: score imports the catalogue

    raise NoReference(HIDDEN_LEFT_TO_INSTRUCTOR)


def hidden_slot(weight: float) -> Check:
    """Stands in for a question's hidden checks where they are not loaded (a student's
    self-check): never run there, "not checked here", worth the hidden checks' weight."""
    return Check(HIDDEN_SLOT, _hidden_not_loaded, weight=weight, hidden=True, judged_by=INSTRUCTOR)


def with_hidden_checks(exercises: dict[str, Exercise], hidden_dir: Path | None = None) -> dict[str, Exercise]:
    """The exercises, with hidden checks added when a directory of them is given. A question
    that declares hidden checks (`hidden_weight`) but got none gets their slot instead."""
    extra = load_hidden_checks(hidden_dir, exercises)
    for ex in exercises.values():
        for q in ex.questions:
            if q.hidden_weight and not extra.get(q.id):
                extra[q.id] = [hidden_slot(q.hidden_weight)]
    return {name: ex.with_extra_checks(extra) for name, ex in exercises.items()}
