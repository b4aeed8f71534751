"""The shape of the catalogue: exercises hold questions, questions hold weighted checks.

A check declares the requests it needs from the kernel (`needs`) and a function that
judges the fetched plain data (`run`, given an `Evidence`). The same catalogue serves
the student's `pytest`, the instructor's batch and the project's own tests.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from ..requests import Request


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


@dataclass(frozen=True)
class Question:
    id: str
    title: str
    points: float
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    questions: tuple[Question, ...]
    # Data sets the notebook needs from the grader (e.g. "mnist"); without them the exercise
    # is a grader error, never the student's failure.
    data: tuple[str, ...] = ()

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
    from ..checks import check_text_answered

    return Check("text answer", lambda ev: check_text_answered("text answer", ev.text(), min_words=min_words),
                 weight=weight, judges="text")


def figure(weight: float = 1.0) -> Check:
    """The question's code cells showed a figure."""
    from ..checks import check_figure

    return Check("figure", lambda ev: check_figure("figure", ev.figures()), weight=weight)
