"""Notebook sources, one module per exercise (see ../make_notebooks.py)."""

from __future__ import annotations

import importlib
import pkgutil

# The course's order; an exercise module not listed here sorts after these.
COURSE_ORDER = [
    "gradient_descent", "capacity", "generalization_error", "naive_bayes", "regularizers",
    "gridsearch", "pca", "neurons", "perceptron", "mlp_moon", "mlp_mnist",
]


def load_exercises() -> list:
    mods = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)
            if not m.name.startswith("_")]
    order = {name: i for i, name in enumerate(COURSE_ORDER)}
    return sorted(mods, key=lambda m: (order.get(m.NAME, len(order)), m.NAME))
