"""Requests and helpers shared by the MNIST exercises (naive_bayes, gridsearch, pca): the
held-out digits the grader judges students' models on, and safe reads of fitted objects."""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

import numpy as np

from grader.judge.checks import CheckFailed, as_numbers, wrong
from grader.judge.outcomes import Outcome
from grader.kernel.requests import Call, Predict, encode_input, recompute

# --------------------------------------------------------------------------------------------
# Held-out digits: the grader's own evaluation data (shared with gridsearch)
# --------------------------------------------------------------------------------------------

HELD_OUT_DIGITS = None  # all 10000 digits of the official test split


@functools.lru_cache(maxsize=2)
def held_out_digits(n: int | None = HELD_OUT_DIGITS) -> tuple[np.ndarray, np.ndarray]:
    """Images (uint8, raw pixels 0..255, shape (n, 784)) and labels of the held-out digits.
    Loaded on first use, so the catalogue imports without MNIST; FileNotFoundError without it."""
    from grader.inputs.mnist import held_out

    return held_out(n)


@functools.lru_cache(maxsize=2)
def _encoded_held_out(n: int | None) -> dict:
    return encode_input(np.ascontiguousarray(held_out_digits(n)[0]))


@dataclass(frozen=True, eq=False)
class PredictDigits(Predict):
    """`model.predict(X)` on the held-out digits (raw 0..255 pixel rows); the labels stay with
    the grader. The digits are read when the request is first sent, not at import."""

    n: int | None = HELD_OUT_DIGITS

    def inputs(self) -> list[dict]:
        return [_encoded_held_out(self.n)]


def predict_digits(model: str) -> PredictDigits:
    return PredictDigits(key=f"{model}.predict(held-out digits)", model=model)


def predicted_labels(name: str, got, n: int) -> np.ndarray:
    """A model's predictions for the n held-out digits, as class labels. A model whose predict
    gives one row of class scores per digit (Keras' probabilities) is judged on their argmax."""
    arr = got if isinstance(got, np.ndarray) else as_numbers(name, got)
    if arr.ndim == 2 and arr.shape[0] == n and arr.shape[1] >= 2:
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise wrong(f"{name}: the predicted class scores contain NaN or infinity")
        return arr.argmax(axis=1)
    arr = arr.reshape(-1)
    if arr.size != n:
        raise wrong(f"{name}: expected {n} predictions (one per held-out digit), got {arr.size}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise wrong(f"{name}: the predictions contain NaN or infinity")
    return arr


def own_predictions_request(model: str, features: str) -> Call:
    """`model.predict(features)` recomputed in the kernel on the student's own objects."""
    return recompute(f"{model}.predict", features)


def check_own_predictions(ev, name: str, model: str, features: str) -> np.ndarray:
    """The predictions `name` the student reports are `model.predict(features)` (as class labels),
    which the grader recomputed: predictions typed in or taken from another model do not count.
    Returns them as labels. At most 0.1% may differ (a float tie broken another way)."""
    reported = ev.answer(name)
    n = int(np.shape(as_numbers(name, reported))[0]) if np.ndim(as_numbers(name, reported)) else 1
    mine = predicted_labels(name, reported, n)
    key = own_predictions_request(model, features).key
    own = predicted_labels(key, ev.answer(key), n)
    differ = int(np.sum(mine != own))
    if differ > n // 1000:
        raise wrong(f"{name} differs from {key}, which the grader recomputed from your model, on {differ} of "
                    f"{n} inputs ({differ / n:.1%}): {name} should be your model's own predictions for {features}")
    return mine


def held_out_score(name: str, model: str, ev, score_fn) -> tuple[float, float]:
    """(student's, reference's) score on the held-out digits, computed by the grader. Without
    its copy of the digits, or with unusable reference predictions, the grader is at fault."""
    from grader.judge.score import GraderError  # not at import time: grader.score imports the catalogue

    try:
        _, labels = held_out_digits()
    except FileNotFoundError as exc:
        raise GraderError(f"the grader's copy of the MNIST test digits was not found: {exc}") from None
    key = f"{model}.predict(held-out digits)"
    try:
        got = score_fn(labels, predicted_labels(name, ev.answer(key), labels.size))
    except ValueError as exc:  # e.g. continuous numbers instead of class labels
        raise wrong(f"{name} should return class labels (digits 0..9) for the held-out digits: {exc}") from None
    try:
        reference = predicted_labels(f"the reference's {model}.predict", ev.reference(key), labels.size)
    except CheckFailed as exc:
        raise GraderError(exc.message) from None
    return float(got), float(score_fn(labels, reference))


def require_at_least(name: str, got: float, reference: float, margin: float, hint: str = "") -> None:
    """A threshold set from the reference run: got >= reference - margin."""
    low = reference - margin
    if not np.isfinite(got) or got < low:
        raise wrong(f"{name}: expected at least {low:.4f} (the reference solution's {reference:.4f} "
                    f"minus {margin:g}), got {got:.4f}; difference {got - low:.4f}{hint}")


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.asarray(y_true).reshape(-1) == np.asarray(y_pred).reshape(-1)))


def repr_request(name: str) -> Call:
    """The repr() of a kernel object, as text (for class names inside Pipelines, dict keys)."""
    return Call(key=f"repr({name})", function=f"{name}.__repr__")


def fitted_object(ev, name: str) -> str:
    """The repr of the object `name` (fetched with repr_request); MISSING while it is None."""
    text = ev.answer(f"repr({name})")
    if text == "None":
        raise CheckFailed(Outcome.MISSING, f"{name} is still None: this part has not been answered")
    if not isinstance(text, str):
        raise wrong(f"{name}: its repr() should be a text, got {type(text).__name__}")
    return text


def dict_keys_from_repr(name: str, text) -> list[str]:
    """The keys of a dict from its repr, parsed (never evaluated): "{'alpha': np.float64(0.1),
    'loss': 'hinge'}" -> ['alpha', 'loss']."""
    if not isinstance(text, str):
        raise wrong(f"{name} should be a dict, got {type(text).__name__}")
    try:
        node = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise wrong(f"{name} is not a readable dict: {text[:120]!r}") from None
    if not isinstance(node, ast.Dict) or not all(isinstance(k, ast.Constant) and isinstance(k.value, str)
                                                 for k in node.keys):
        raise wrong(f"{name} should be a dict with parameter names as keys, got {text[:120]!r}")
    return [k.value for k in node.keys]
