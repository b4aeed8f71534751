"""Generalization error (L05): Qb's curves against the reference run and best_epoch against the
student's own validation curve; Qd's RMSEs recomputed from the student's own data.

End to end with real sandboxed kernels (quick profile), plus the checks on plain data."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import ASSIGNMENT, SOLUTIONS, by_id
from grader_journal2.generalization_error import (QD_DEGREES, best_epoch_is_argmin_of_own_val_curve,
                                                   qd_rmse_check)
from grader_journal2.capacity import recompute
from grader.judge.checks import CheckFailed
from grader.grade import grade_submission
from grader.judge.outcomes import Outcome

QUESTIONS = {"generalization_error.qa", "generalization_error.qb", "generalization_error.qc",
             "generalization_error.qd"}


class PlainEvidence:
    def __init__(self, **answers):
        self.answers = answers

    def answer(self, key):
        return self.answers[key]


def patch_cell(nb, tag: str, old: str, new: str):
    """Replace `old` (exactly once among the cells tagged `tag`) by `new`."""
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", []) and old in c.source]
    assert len(cells) == 1 and cells[0].source.count(old) == 1, f"{old!r} not once in cells tagged {tag}"
    cells[0].source = cells[0].source.replace(old, new)
    return nb


def fails(fn, *args) -> CheckFailed:
    with pytest.raises(CheckFailed) as info:
        fn(*args)
    return info.value


# --- on plain data ---------------------------------------------------------------------------

def test_best_epoch_hints_name_the_train_curve_and_counting_from_one():
    mse_train = np.linspace(10, 1, 20)
    mse_val = np.r_[np.linspace(10, 2, 12), np.linspace(2.5, 4, 8)]
    ev = dict(n_epochs=20, mse_train=mse_train, mse_val=mse_val)
    best_epoch_is_argmin_of_own_val_curve(PlainEvidence(**ev, best_epoch=11))
    err = fails(best_epoch_is_argmin_of_own_val_curve, PlainEvidence(**ev, best_epoch=19))
    assert "expected 11, got 19" in err.message and "lowest point of mse_train" in err.message
    err = fails(best_epoch_is_argmin_of_own_val_curve, PlainEvidence(**ev, best_epoch=12))
    assert "differ by 1 epoch" in err.message and "counted from 0" in err.message
    err = fails(best_epoch_is_argmin_of_own_val_curve, PlainEvidence(**{**ev, "mse_val": mse_val[:10]}, best_epoch=9))
    assert "expected 20 values" in err.message


def test_qd_reports_mse_instead_of_rmse_with_a_hint():
    np.random.seed(0)
    X = np.sort(np.random.rand(30))
    y = np.cos(1.5 * np.pi * X) + np.random.randn(30) * 0.1
    cv_mse = recompute(X, y, QD_DEGREES, "cv_mse")
    np.testing.assert_allclose(np.sqrt(cv_mse), [0.64, 0.24, 0.14, 0.21, 0.31, 0.34, 0.44], atol=0.005)
    check = qd_rmse_check("rmses_validation", "validation RMSEs")
    check.run(PlainEvidence(X=X, y=y, rmses_validation=np.sqrt(cv_mse)))
    err = fails(check.run, PlainEvidence(X=X, y=y, rmses_validation=cv_mse))
    assert "your reported validation RMSEs do not follow from your own data" in err.message
    assert "MSEs, not the RMSEs" in err.message


# --- end to end ------------------------------------------------------------------------------

def test_solution_scores_full_marks(config):
    result = grade_submission(SOLUTIONS / "generalization_error.ipynb", config)
    assert {q.id for q in result.questions} == QUESTIONS
    assert {q.id: q.feedback() for q in result.questions if q.outcome is not Outcome.PASSED} == {}
    assert result.points == result.max_points == 6.5


def test_stub_scores_zero_and_every_question_is_missing(config):
    result = grade_submission(ASSIGNMENT / "generalization_error.ipynb", config)
    assert result.points == 0
    assert {q.id: q.outcome for q in result.questions} == {q: Outcome.MISSING for q in QUESTIONS}


def test_generalization_error_best_epoch_off_by_one(config, sample):
    path = sample("generalization-error-best-epoch-off-by-one", "generalization_error", lambda nb: patch_cell(
        nb, "generalization_error.qb", "best_epoch = int(np.argmin(mse_val))",
        "best_epoch = int(np.argmin(mse_val)) + 1  # epochs counted from 1"))
    result = grade_submission(path, config)
    q = by_id(result)
    qb = q["generalization_error.qb"]
    assert qb.outcome is Outcome.WRONG
    assert [c.name for c in qb.checks if c.outcome is not Outcome.PASSED] == ["best_epoch is the argmin of your own mse_val"]
    assert qb.points == pytest.approx(3 * 4 / 5)
    found = re.search(r"expected (\d+), got (\d+); they differ by 1 epoch", qb.feedback())
    assert found and int(found[2]) == int(found[1]) + 1, qb.feedback()  # 239 and 240 with scikit-learn 1.9
    for other in QUESTIONS - {"generalization_error.qb"}:
        assert q[other].outcome is Outcome.PASSED, q[other].feedback()


def test_generalization_error_curves_differ_from_reference_run(config, sample):
    # a learning rate twice the course's: best_epoch is still right for its own curve
    path = sample("generalization-error-curves-differ-from-reference", "generalization_error", lambda nb: patch_cell(
        nb, "generalization_error.qb", "eta0=0.0005", "eta0=0.001"))
    q = by_id(grade_submission(path, config))
    qb = q["generalization_error.qb"]
    assert qb.outcome is Outcome.WRONG
    assert [c.name for c in qb.checks if c.outcome is not Outcome.PASSED] == ["mse_train and mse_val match the reference run"]
    assert qb.points == pytest.approx(3 * 3 / 5)
    feedback = qb.feedback()
    assert "mse_train (the reference run's curve): expected [" in feedback  # [11.8494, ... today
    assert "got [" in feedback and "differ by" in feedback
    assert q["generalization_error.qd"].outcome is Outcome.PASSED


def test_generalization_error_qd_mse_instead_of_rmse(config, sample):
    path = sample("generalization-error-qd-mse-instead-of-rmse", "generalization_error", lambda nb: patch_cell(
        nb, "generalization_error.qd", "rmse_validation = sqrt(-scores.mean())", "rmse_validation = -scores.mean()"))
    q = by_id(grade_submission(path, config))
    qd = q["generalization_error.qd"]
    assert qd.outcome is Outcome.WRONG
    assert [c.name for c in qd.checks if c.outcome is not Outcome.PASSED] == [
        "rmses_validation (10-fold CV RMSEs) follow from your own X, y"]
    assert qd.points == pytest.approx(2 * 2 / 3, abs=1e-4)
    feedback = qd.feedback()
    assert "your reported validation RMSEs do not follow from your own data" in feedback
    assert "expected [0.638537" in feedback and "got [0.407729" in feedback and "differ by" in feedback
    assert "MSEs, not the RMSEs" in feedback
    assert q["generalization_error.qb"].outcome is Outcome.PASSED
