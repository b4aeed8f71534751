"""The students' self-check inside a notebook:

    from itmal_grader import check
    check("perceptron.qd")   # one question; check("perceptron"): one exercise; check(): this notebook's

It runs the question's public checks on the notebook's live variables and prints the points
and each check's result, with the same messages as the grader (grader/runners/incell.py).
"""

from __future__ import annotations


def check(what: str | None = None) -> None:
    """Check a question ("perceptron.qd"), an exercise ("perceptron") or, with no argument,
    every question of this notebook, and print the result."""
    from grader.runners.incell import check as run_check

    run_check(what)


__all__ = ["check"]
