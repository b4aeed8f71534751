"""Capacity (L05): the scores a hand-in reports must follow from its own X, y; degree 4 is best.

End to end with real sandboxed kernels (quick profile), plus the recomputation on plain data."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ASSIGNMENT, EXAMPLES, SOLUTIONS, by_id, insert_cell_after
from grader_journal2.capacity import (DEGREES, medium_degree_is_best, recompute, relative_tolerance,
                                       scores_follow_from_data, student_data)
from grader.judge.checks import CheckFailed
from grader.grade import grade_submission
from grader.judge.outcomes import Outcome

QUESTIONS = {"capacity.qa", "capacity.qb", "capacity.qc"}


class PlainEvidence:
    """Answers as the grader would have fetched them, without a kernel."""

    def __init__(self, **answers):
        self.answers = answers

    def answer(self, key):
        return self.answers[key]


def course_data(n_samples: int = 30) -> tuple[np.ndarray, np.ndarray]:
    np.random.seed(0)
    X = np.sort(np.random.rand(n_samples))
    y = np.cos(1.5 * np.pi * X) + np.random.randn(n_samples) * 0.1
    return X, y


def fails(fn, *args) -> CheckFailed:
    with pytest.raises(CheckFailed) as info:
        fn(*args)
    return info.value


# --- on plain data ---------------------------------------------------------------------------

def test_recomputed_scores_are_todays_course_numbers_and_degree_4_is_best():
    X, y = course_data()
    scores = recompute(X, y, DEGREES, "cv_mse")
    np.testing.assert_allclose(scores[:2], [0.40773, 0.043209], rtol=1e-4)
    assert 0.1 < scores[2] < 1.0  # 0.22 with scikit-learn 1.9; 1.8e8 in 2019
    assert DEGREES[int(np.argmin(scores))] == 4
    assert relative_tolerance(15) > relative_tolerance(4)


def test_seed_hand_ins_scores_do_not_follow_from_its_data_and_the_message_says_so():
    X, y = course_data()
    err = fails(scores_follow_from_data, PlainEvidence(X=X, y=y, degrees=[1, 4, 15], score_means=[0.25, 0.01, 21826.29]))
    assert err.outcome is Outcome.WRONG
    assert err.message.startswith("your reported scores do not follow from your own data")
    assert "expected [0.407729, 0.0432087, " in err.message and "got [0.25, 0.01, 21826.3]" in err.message
    assert "differ by 2.18e+04 at position 2" in err.message
    # the seed's own numbers still name degree 4 as the best: only the recomputation catches them
    medium_degree_is_best(PlainEvidence(degrees=[1, 4, 15], score_means=[0.25, 0.01, 21826.29]))


def test_hints_for_a_flipped_sign_and_a_wrong_degree_list():
    X, y = course_data()
    right = recompute(X, y, DEGREES, "cv_mse")
    flipped = fails(scores_follow_from_data, PlainEvidence(X=X, y=y, degrees=[1, 4, 15], score_means=list(-right)))
    assert "opposite sign" in flipped.message
    wrong_degrees = list(recompute(X, y, (1, 3, 15), "cv_mse"))
    err = fails(scores_follow_from_data, PlainEvidence(X=X, y=y, degrees=[1, 3, 15], score_means=wrong_degrees))
    assert "Your degrees are [1, 3, 15]" in err.message and "position 1" in err.message
    best = fails(medium_degree_is_best, PlainEvidence(degrees=[1, 3, 15], score_means=wrong_degrees))
    assert "expected 4, got 3" in best.message
    negative = fails(medium_degree_is_best, PlainEvidence(degrees=[1, 4, 15], score_means=list(-right)))
    assert "expected 4, got 1" in negative.message and "negative" in negative.message


def test_student_data_is_validated_before_the_grader_refits_on_it():
    X, y = course_data()
    assert student_data(PlainEvidence(X=X.reshape(-1, 1), y=y.reshape(-1, 1)))[0].shape == (30,)
    assert "same number of samples" in fails(student_data, PlainEvidence(X=X, y=y[:20])).message
    assert "one feature" in fails(student_data, PlainEvidence(X=np.c_[X, X], y=y)).message
    huge = np.zeros(10**6)
    assert "between 10 and 10000 samples" in fails(student_data, PlainEvidence(X=huge, y=huge)).message
    assert "NaN" in fails(student_data, PlainEvidence(X=np.r_[X[:-1], np.nan], y=y)).message


# --- end to end ------------------------------------------------------------------------------

def test_solution_scores_full_marks(config):
    result = grade_submission(SOLUTIONS / "capacity.ipynb", config)
    assert {q.id for q in result.questions} == QUESTIONS
    assert {q.id: q.feedback() for q in result.questions if q.outcome is not Outcome.PASSED} == {}
    assert result.points == result.max_points == 4.5


def test_stub_scores_zero_and_every_question_is_missing(config):
    result = grade_submission(ASSIGNMENT / "capacity.ipynb", config)
    assert result.points == 0
    assert {q.id: q.outcome for q in result.questions} == {q: Outcome.MISSING for q in QUESTIONS}
    assert "NotImplementedError" in by_id(result)["capacity.qa"].feedback()


def test_capacity_scores_not_from_own_data(config, sample):
    # the seed hand-in's numbers, typed in: they match neither its data nor any library version
    path = sample("capacity-scores-not-from-own-data", "capacity", lambda nb: insert_cell_after(
        nb, "capacity.qa", "score_means = [0.25, 0.01, 21826.29]\n"))
    result = grade_submission(path, config)
    q = by_id(result)
    qa = q["capacity.qa"]
    assert qa.outcome is Outcome.WRONG
    assert qa.points == pytest.approx(3 * 2 / 4)  # the recomputation check (weight 2 of 4) failed
    assert [c.name for c in qa.checks if c.outcome is not Outcome.PASSED] == ["score_means follow from your own X, y"]
    feedback = qa.feedback()
    assert "your reported scores do not follow from your own data" in feedback
    assert "expected [0.407729" in feedback and "got [0.25, 0.01, 21826.3]" in feedback and "differ by" in feedback
    assert q["capacity.qb"].outcome is q["capacity.qc"].outcome is Outcome.PASSED
    assert result.points == pytest.approx(4.5 - 1.5)


def test_capacity_scores_with_flipped_sign_group02(config):
    # group02's typical mistake: score_mean = scores.mean(), without the minus
    result = grade_submission(EXAMPLES / "group02-typical-mistakes" / "capacity.ipynb", config)
    q = by_id(result)
    qa = q["capacity.qa"]
    assert qa.outcome is Outcome.WRONG
    assert qa.points == pytest.approx(3 * 1 / 4)  # only the text answer is left
    assert "opposite sign" in qa.feedback() and "expected 4, got 1" in qa.feedback()
    assert q["capacity.qb"].outcome is q["capacity.qc"].outcome is Outcome.PASSED
