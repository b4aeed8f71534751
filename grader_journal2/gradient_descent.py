"""Gradient descent (L05): every theta is judged against least squares on the student's own data."""

from __future__ import annotations

import numpy as np

from grader.judge.checks import check_close, wrong
from grader.kernel.requests import value
from grader.judge.catalogue import Check, Exercise, Question, figure, text_answer

DATA = (value("X_b"), value("y"))


def least_squares(ev) -> np.ndarray:
    """The exact minimiser for the student's own X_b, y: the answer every method approaches."""
    X_b = np.asarray(ev.answer("X_b"), dtype=float)
    y = np.asarray(ev.answer("y"), dtype=float).reshape(-1)
    if X_b.ndim != 2 or X_b.shape[1] != 2 or X_b.shape[0] != y.size:
        raise wrong(f"X_b should be an (m, 2) matrix matching y's {y.size} samples; got shape {X_b.shape}")
    if not np.allclose(X_b[:, 0], 1.0):
        raise wrong("the first column of X_b should be the bias column of ones")
    return np.linalg.lstsq(X_b, y, rcond=None)[0]


def theta_check(name: str, *, atol: float, weight: float = 2.0) -> Check:
    def run(ev):
        check_close(name, least_squares(ev), ev.answer(name), atol=atol, rtol=0.0)

    return Check(f"{name} matches least squares (±{atol:g})", run, needs=(*DATA, value(name)), weight=weight)


def sgd_regressor_check(ev) -> None:
    intercept = np.asarray(ev.answer("sgd_reg.intercept_"), dtype=float).reshape(-1)
    coef = np.asarray(ev.answer("sgd_reg.coef_"), dtype=float).reshape(-1)
    check_close("SGDRegressor [intercept_, coef_]", least_squares(ev), np.r_[intercept, coef], atol=0.1, rtol=0.0)


EXERCISE = Exercise(
    name="gradient_descent",
    title="Gradient descent",
    questions=(
        Question("gradient_descent.qa", "Batch gradient descent", 3, (
            theta_check("theta_gd", atol=1e-6), text_answer())),
        Question("gradient_descent.qb", "Stochastic gradient descent", 3, (
            theta_check("theta_sgd", atol=0.1),
            Check("SGDRegressor matches least squares (±0.1)", sgd_regressor_check,
                  needs=(*DATA, value("sgd_reg.intercept_"), value("sgd_reg.coef_")), weight=2.0),
            text_answer())),
        Question("gradient_descent.qd", "Mini-batch gradient descent", 2, (
            theta_check("theta_mb", atol=0.1), text_answer())),
        Question("gradient_descent.qe", "Paths in parameter space", 2, (figure(), text_answer())),
    ),
)
