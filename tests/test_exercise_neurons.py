"""Neurons (L09): two text answers, judged for presence only."""

from __future__ import annotations

import pytest

from conftest import ASSIGNMENT, EXAMPLES, SOLUTIONS, by_id
from grader.grade import grade_submission
from grader.inputs.notebook import ANSWER_PLACEHOLDER
from grader.judge.outcomes import Outcome

QUESTIONS = {"neurons.qa", "neurons.qb"}


def set_answer(nb, qid: str, text: str):
    cells = [c for c in nb.cells if f"{qid}.answer" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1
    cells[0].source = text
    return nb


def test_solution_scores_full_marks(config):
    result = grade_submission(SOLUTIONS / "neurons.ipynb", config)
    assert {q.id for q in result.questions} == QUESTIONS
    assert {q.id: q.feedback() for q in result.questions if q.outcome is not Outcome.PASSED} == {}
    assert result.points == result.max_points == 1


def test_stub_scores_zero_and_every_question_is_missing(config):
    result = grade_submission(ASSIGNMENT / "neurons.ipynb", config)
    assert result.points == 0
    assert {q.id: q.outcome for q in result.questions} == {q: Outcome.MISSING for q in QUESTIONS}


def test_neurons_qb_answer_left_as_placeholder(config, sample):
    path = sample("neurons-qb-answer-left-as-placeholder", "neurons",
                  lambda nb: set_answer(nb, "neurons.qb", ANSWER_PLACEHOLDER))
    q = by_id(grade_submission(path, config))
    assert q["neurons.qb"].outcome is Outcome.MISSING and q["neurons.qb"].points == 0
    assert "YOUR ANSWER HERE" in q["neurons.qb"].feedback()
    assert q["neurons.qa"].outcome is Outcome.PASSED and q["neurons.qa"].points == 0.5


def test_neurons_qa_answer_too_short_group02_style(config, sample):
    path = sample("neurons-qa-answer-too-short", "neurons", lambda nb: set_answer(nb, "neurons.qa", "Electrical spikes."))
    q = by_id(grade_submission(path, config))
    assert q["neurons.qa"].outcome is Outcome.MISSING
    assert "2 word(s); at least 5" in q["neurons.qa"].feedback()
    assert q["neurons.qb"].outcome is Outcome.PASSED


def test_group02_forgot_the_cognition_answer(config):
    q = by_id(grade_submission(EXAMPLES / "group02-typical-mistakes" / "neurons.ipynb", config))
    assert q["neurons.qa"].outcome is Outcome.PASSED
    assert q["neurons.qb"].outcome is Outcome.MISSING
    assert q["neurons.qb"].points == pytest.approx(0)
