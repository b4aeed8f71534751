"""Naive Bayes on MNIST (L06): the grader scores the student's two fitted models on held-out
digits itself (the official MNIST test split, which never enters the kernel with its labels),
against thresholds from the reference run; the metrics the student reports must equal those the
grader recomputes with sklearn.metrics from the student's own y_test and predictions."""

from __future__ import annotations


import numpy as np

from grader.judge.checks import as_numbers, wrong
from grader.kernel.requests import value
from grader.judge.catalogue import INSTRUCTOR, Check, Exercise, Question, text_answer
from grader_journal2.common import (accuracy, check_own_predictions, fitted_object, held_out_score,
                                    own_predictions_request, predict_digits, repr_request, require_at_least)

# --------------------------------------------------------------------------------------------
# Qa: the models
# --------------------------------------------------------------------------------------------

# Held-out accuracy may fall this far below the reference's before it counts as wrong: room
# for another split or subset of the training digits, not for a different or broken model.
ACCURACY_MARGIN = 0.03
MODELS = {"gnb": "GaussianNB", "mnb": "MultinomialNB"}


def models_are_the_asked_for_kinds(ev) -> None:
    for model, cls in MODELS.items():
        text = fitted_object(ev, model)
        if f"{cls}(" not in text:
            raise wrong(f"{model}: expected a {cls}, got {text.split('(', 1)[0]!r} ({text[:100]})")


def held_out_accuracy_check(model: str) -> Check:
    cls = MODELS[model]

    def run(ev):
        fitted_object(ev, model)
        got, ref = held_out_score(f"{model}.predict", model, ev, accuracy)
        require_at_least(f"{model}'s accuracy on held-out digits", got, ref, ACCURACY_MARGIN,
                         hint=f" ({model} should be a fitted {cls} taking raw 0..255 pixel rows, like X_train)")

    return Check(f"{model} ({cls}) is as accurate as the reference on held-out digits", run,
                 needs=(repr_request(model), predict_digits(model)), weight=2.0,
                 judged_by=INSTRUCTOR)  # its bar is the reference's accuracy


# --------------------------------------------------------------------------------------------
# Qb: the reported metrics
# --------------------------------------------------------------------------------------------

AVERAGES = ("micro", "macro", "weighted")
METRICS = ("accuracy", "precision", "f1")
MISMATCH = "reported metrics differ from those recomputed from your own predictions"


def recompute_metrics(y_true: np.ndarray, y_pred: np.ndarray, average: str) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score, precision_score

    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(precision_score(y_true, y_pred, average=average, zero_division=0)),
        "f1": float(f1_score(y_true, y_pred, average=average, zero_division=0)),
    }


def labels(name: str, got) -> np.ndarray:
    arr = (got if isinstance(got, np.ndarray) else as_numbers(name, got)).reshape(-1)
    if arr.size == 0:
        raise wrong(f"{name} is empty")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise wrong(f"{name} contains NaN or infinity")
    return arr


def metrics_follow_from_predictions(ev) -> None:
    average = ev.answer("average")
    if average not in AVERAGES:
        raise wrong(f"average: expected one of {', '.join(map(repr, AVERAGES))}, got {average!r}")
    y_test = labels("y_test", ev.answer("y_test"))
    problems = []
    for model in MODELS:
        y_pred = labels(f"y_pred_{model}", ev.answer(f"y_pred_{model}"))
        if y_pred.shape != y_test.shape:
            raise wrong(f"y_pred_{model}: expected {y_test.size} predictions (one per test digit), "
                        f"got {y_pred.size}")
        try:
            expected = recompute_metrics(y_test, y_pred, average)
            swapped = recompute_metrics(y_pred, y_test, average)
        except ValueError as exc:  # e.g. continuous numbers instead of class labels
            raise wrong(f"y_test and y_pred_{model} should hold class labels (digits 0..9): {exc}") from None
        check_own_predictions(ev, f"y_pred_{model}", model, "X_test")
        for metric in METRICS:
            name = f"{metric}_{model}"
            reported = as_numbers(name, ev.answer(name)).reshape(-1)
            if reported.size != 1:
                raise wrong(f"{name} should be a single number, got {reported.size} numbers")
            got = float(reported[0])
            want = expected[metric]
            if not (np.isfinite(got) and abs(got - want) <= 1e-9 + 1e-6 * abs(want)):
                hint = ""
                if np.isfinite(got) and abs(got - swapped[metric]) <= 1e-9 + 1e-6 * abs(swapped[metric]):
                    hint = (f" ({name} is what you get with y_pred_{model} first: sklearn.metrics "
                            f"take the true labels y_test first, then the predictions)")
                problems.append(f"{name}: expected {want:.6g}, got {got:.6g}, difference {got - want:.3g}{hint}")
    if problems:
        raise wrong(f"{MISMATCH} (average={average!r}): " + "; ".join(problems))


METRIC_NAMES = tuple(f"{m}_{model}" for model in MODELS for m in METRICS)

EXERCISE = Exercise(
    name="naive_bayes",
    title="Naive Bayes on MNIST",
    data=("mnist",),
    questions=(
        Question("naive_bayes.qa", "GaussianNB and MultinomialNB on MNIST", 3, (
            Check("gnb is a GaussianNB and mnb a MultinomialNB", models_are_the_asked_for_kinds,
                  needs=(repr_request("gnb"), repr_request("mnb"))),
            held_out_accuracy_check("gnb"),
            held_out_accuracy_check("mnb"),
            text_answer())),
        Question("naive_bayes.qb", "Metrics of the two classifiers", 3, (
            Check("y_pred_* are the models' own, and the reported metrics equal those recomputed from them",
                  metrics_follow_from_predictions, weight=2.0,
                  needs=(value("average"), value("y_test"), value("y_pred_gnb"), value("y_pred_mnb"),
                         *(own_predictions_request(m, "X_test") for m in MODELS),
                         *(value(m) for m in METRIC_NAMES))),
            text_answer())),
    ),
)
