"""The tiny assignment's one exercise: square some numbers, then say why."""

import numpy as np

from grader.judge.catalogue import Check, Exercise, Question, text_answer
from grader.judge.checks import check_close
from grader.kernel.requests import value


def squares_match_reference(ev) -> None:
    check_close("squares", np.asarray(ev.reference("squares"), dtype=float), ev.answer("squares"), atol=1e-9)


EXERCISE = Exercise(
    name="squares",
    title="Squares",
    questions=(
        Question("squares.qa", "Square the numbers", 2, (
            Check("squares are the reference's", squares_match_reference, needs=(value("squares"),)),)),
        Question("squares.qb", "Explain", 1, (text_answer(min_words=3),)),
    ),
)
