"""A second, tiny assignment: proof that the engine grades any assignment package, found by
folder (`--assignment tests/assignments/tiny`), with no edit to the engine."""

import sys
from pathlib import Path

from grader.judge.assignments import Assignment, discover_exercises

HERE = Path(__file__).resolve().parent

ASSIGNMENT = Assignment(
    name="tiny",
    title="Tiny test assignment",
    exercises=discover_exercises(sys.modules[__name__], ["squares"]),
    support_files={"tinyhelp.py": HERE / "tinyhelp.py"},
    solutions=HERE.parent / "tiny_solutions",
    package_dir=HERE,
)
