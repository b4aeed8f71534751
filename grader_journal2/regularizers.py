"""Regularizers (L07): Omega is called on vectors chosen by the grader; Qb-Qd are text."""

from __future__ import annotations

import numpy as np

from grader.judge.checks import check_close
from grader.kernel.requests import Call
from grader.judge.catalogue import Check, Exercise, Question, text_answer


def omega_reference(w) -> float:
    """The L2 penalty without the bias term w[0], in float64 whatever the input dtype."""
    w = np.asarray(w, dtype=float).reshape(-1)
    return float(np.sum(w[1:] ** 2))


def omega_check(label: str, w: np.ndarray, *, hidden: bool = False, weight: float = 1.0) -> Check:
    """Omega(w) is one number, the bias-free squared norm of w (relative tolerance 1e-9): a
    1x1 matrix (an outer product on a vector of two) is not the scalar the question asks for."""
    key = f"Omega({label})"

    def run(ev):
        check_close(key, omega_reference(w), ev.answer(key), rtol=1e-9, atol=1e-12, scalar=True)

    return Check(key, run, needs=(Call(key=key, function="Omega", args=(w,)),), weight=weight, hidden=hidden)


GIVEN_VECTORS = {
    "w_a": np.array([1.0, 2.0, -3.0]),
    "w_b": np.array([1e10, -3e10]),
    "w_c": np.array([0.1, 0.2, -0.3, 0.0]),
}

EXERCISE = Exercise(
    name="regularizers",
    title="Regularizers",
    questions=(
        Question("regularizers.qa", "The penalty Omega", 3,
                 tuple(omega_check(label, w) for label, w in GIVEN_VECTORS.items()),
                 hidden_weight=4.0,  # hidden/journal2/regularizers.py: four vectors, weight 1 each
                 all_or_nothing=True),  # a function right on some vectors only is wrong in general
        Question("regularizers.qb", "Ridge, Lasso and ElasticNet: the role of alpha", 1, (text_answer(),)),
        Question("regularizers.qc", "The three penalties", 1, (text_answer(),)),
        Question("regularizers.qd", "MSE against the penalty; scaling", 1, (text_answer(),)),
    ),
)
