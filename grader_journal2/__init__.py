"""Journal 2 of the ITMAL course: every exercise, its questions, points and checks, and the
course helpers (`libitmal`) its notebooks import.

An assignment package for the grader (see grader/judge/assignments.py): registered under the
entry point group `itmal_grader.assignments` as `journal2`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grader.inputs import mnist_files
from grader.judge.assignments import Assignment, discover_exercises

HERE = Path(__file__).resolve().parent

# Journal 2 in the course's order. Every module of this package that defines EXERCISE is an
# exercise; one not named here sorts after these.
COURSE_ORDER = [
    "gradient_descent", "capacity", "generalization_error", "naive_bayes", "regularizers",
    "gridsearch", "pca", "neurons", "perceptron", "mlp_moon", "mlp_mnist",
]

EXERCISES = discover_exercises(sys.modules[__name__], COURSE_ORDER)

# The course helpers, as notebooks import them (`from libitmal import ...`); their MNIST reader
# is the grader's own (self-contained: it runs in the kernel too).
SUPPORT_FILES = {"libitmal": HERE / "libitmal", "libitmal/mnist.py": Path(mnist_files.__file__)}

_checkout_solutions = HERE.parent / "solutions" / "journal2"
# The stubs as handed out: the checkout's, or (installed from a wheel) the copy the package ships.
_checkout_stubs = HERE.parent / "assignments" / "journal2"
_stubs = next((d for d in (_checkout_stubs, HERE / "stubs") if d.is_dir()), None)

ASSIGNMENT = Assignment(
    name="journal2",
    title="ITMAL Journal 2",
    exercises=EXERCISES,
    support_files=SUPPORT_FILES,
    solutions=_checkout_solutions if _checkout_solutions.is_dir() else None,
    package_dir=HERE,
    stubs=_stubs,
)

__all__ = ["ASSIGNMENT", "EXERCISES", "SUPPORT_FILES"]
