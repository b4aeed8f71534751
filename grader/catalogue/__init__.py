"""The catalogue of Journal 2: every exercise, its questions, points and checks.

Hidden checks (the instructor's, not shipped with the assignment) are Python files in a
directory given by `--hidden-checks DIR` or `ITMAL_HIDDEN_CHECKS`; each defines
`HIDDEN_CHECKS = {question id: [Check, ...]}`, added to the public checks.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import importlib
import pkgutil

from .base import Check, Exercise, Question

# Journal 2 in the course's order. Every module of this package that defines EXERCISE is an
# exercise; one not named here sorts after these.
COURSE_ORDER = [
    "gradient_descent", "capacity", "generalization_error", "naive_bayes", "regularizers",
    "gridsearch", "pca", "neurons", "perceptron", "mlp_moon", "mlp_mnist",
]


def _discover() -> dict[str, Exercise]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if isinstance(getattr(module, "EXERCISE", None), Exercise):
            found.append(module.EXERCISE)
    order = {name: i for i, name in enumerate(COURSE_ORDER)}
    return {e.name: e for e in sorted(found, key=lambda e: (order.get(e.name, len(order)), e.name))}


EXERCISES: dict[str, Exercise] = _discover()


def load_hidden_checks(directory: Path | None) -> dict[str, list[Check]]:
    """Read hidden checks from `directory` (or $ITMAL_HIDDEN_CHECKS); {} when there are none."""
    if directory is None and os.environ.get("ITMAL_HIDDEN_CHECKS"):
        directory = Path(os.environ["ITMAL_HIDDEN_CHECKS"])
    if directory is None:
        return {}
    if not directory.is_dir():
        raise FileNotFoundError(f"hidden checks directory not found: {directory}")
    extra: dict[str, list[Check]] = {}
    for path in sorted(directory.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"itmal_hidden_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for qid, checks in getattr(module, "HIDDEN_CHECKS", {}).items():
            extra.setdefault(qid, []).extend(checks)
    unknown = [q for q in extra if not any(q.startswith(e + ".") for e in EXERCISES)]
    if unknown:
        raise ValueError(f"hidden checks name unknown questions: {', '.join(unknown)}")
    return extra


def exercises(hidden_dir: Path | None = None) -> dict[str, Exercise]:
    """All exercises, with hidden checks added when a directory of them is given."""
    extra = load_hidden_checks(hidden_dir)
    return {name: ex.with_extra_checks(extra) for name, ex in EXERCISES.items()}


__all__ = ["EXERCISES", "Check", "Exercise", "Question", "exercises", "load_hidden_checks"]
