"""Keras MLP on MNIST (L09/mlp_mnist): the student's models are judged on official MNIST test
digits that never enter the kernel with their labels (`grader.mnist.held_out`), fed to them
through the student's own `preprocess(X)` (raw pixels in, the model's inputs out; pixels / 255
where a notebook has none), against the accuracy of the reference solution's model of the same
question on the same digits (same environment, same profile). A model is judged as its author
built it, however it scales; its predicted class scores count by their argmax.

Names the notebook must define (see solutions/journal2/nbsrc/mlp_mnist.py):
  Qa  preprocess(X), X_train_scaled (preprocess(X_train)), model_mnist (a fitted Keras model,
      10 outputs)
  Qb  model_deep (a fitted Keras model, same inputs/outputs), y_pred_deep (its predicted digits
      for X_test_scaled), score_deep (its accuracy on the test data); the given y_test
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from grader.judge.checks import CheckFailed, as_numbers, check_between, check_close, wrong
from grader.kernel.requests import Call, Predict, encode_input, value
from grader.judge.catalogue import INSTRUCTOR, Check, Exercise, Question, text_answer
from grader_journal2.common import check_own_predictions, own_predictions_request
from grader_journal2.mlp_moon import accuracy, model_answer

# How far below the reference solution's model (same question, same held-out digits) a model may stay.
MARGIN = 0.03
# How far score_deep may be from the accuracy of y_pred_deep (float32 metrics round).
REPORT_TOLERANCE = 1e-4
HELD_OUT_SIZE = 2000
WHY_SCALE = ("Why scaling matters: raw pixels are 0..255, so the weighted sums into the first layer are "
             "in the hundreds; tanh and sigmoid neurons saturate where their gradient is almost zero, and "
             "the gradient steps become huge, so training diverges or gets stuck. Divide the pixels by 255 "
             "(X.astype(np.float32) / 255) or standardize them, in your preprocess(X), and use it for every "
             "input the model sees: the grader feeds your model preprocess(held-out digits).")


@lru_cache(maxsize=1)
def held_out_digits() -> tuple[np.ndarray, np.ndarray]:
    """The first HELD_OUT_SIZE official MNIST test digits as raw pixel rows (uint8, 0..255; the
    student's preprocess scales them), and their labels, which stay in the grader."""
    from grader.inputs import mnist

    images, labels = mnist.held_out(HELD_OUT_SIZE)
    return np.ascontiguousarray(images), np.asarray(labels, dtype=np.int64)


def held_out_labels() -> np.ndarray:
    from grader.judge.score import GraderError  # not at import time: grader.score imports the catalogue

    try:
        return held_out_digits()[1]
    except FileNotFoundError as exc:
        raise GraderError(f"the grader's copy of the MNIST test digits was not found: {exc}") from None


@dataclass(frozen=True, eq=False)
class PredictOnHeldOutDigits(Predict):
    """`model.predict(preprocess(digits))` on the raw held-out digits, through the student's own
    `preprocess` (pixels / 255, as the course always prescribed, where a notebook defines none).
    The digits are loaded only when a plan is executed (so that the catalogue imports without
    MNIST). Without MNIST it sends no digits, and the check that needs the labels reports a
    grader error."""

    def inputs(self) -> list[dict]:
        try:
            features = held_out_digits()[0]
        except FileNotFoundError:
            features = np.zeros((0, 784), dtype=np.uint8)
        return [encode_input(features)]

    def expression(self) -> str:
        scale = '(globals().get("preprocess") or (lambda X: X.astype("float32") / 255))'
        return f"{self.model}.predict({scale}(*__itmal_inputs))"


def on_held_out(model: str) -> PredictOnHeldOutDigits:
    return PredictOnHeldOutDigits(key=f"{model}.predict(preprocess(held-out digits))", model=model)


def held_out_accuracy_check(model: str, *, hint: str, weight: float = 2.0) -> Check:
    request = on_held_out(model)

    def run(ev):
        labels = held_out_labels()
        got = accuracy(f"{model}.predict", model_answer(ev, request.key, model), labels, 10)
        ref = accuracy("the reference model", ev.reference(request.key), labels, 10)
        try:
            check_between(f"{model}'s accuracy on {labels.size} held-out MNIST digits", got, low=ref - MARGIN)
        except CheckFailed as exc:
            raise wrong(f"{exc.message}. Expected at least the reference solution's accuracy on the same "
                        f"digits ({ref:.4g}) minus {MARGIN}; got {got:.4g}, a difference of {ref - got:.3g}. "
                        f"{hint}") from None

    return Check(f"{model} is about as accurate as the reference on held-out digits (at most {MARGIN} less)",
                 run, needs=(request,), weight=weight,
                 judged_by=INSTRUCTOR)  # its bar is the reference model's accuracy


# Raw pixels have a mean of about 33 and a standard deviation of about 79; pixels / 255 about
# 0.13 and 0.31, standardized ones 0 and under 1. Any sound scaling lies far inside this bound.
SMALL_SCALE = 5.0


def inputs_scaled(ev) -> None:
    """X_train_scaled is on a small scale (any sound scaling: / 255, min-max, standardized), not
    the raw 0..255 pixels: its mean and standard deviation are at most SMALL_SCALE."""
    for stat in ("mean", "std"):
        name = f"X_train_scaled.{stat}()"
        got = model_answer(ev, name, "X_train_scaled")
        try:
            check_between(name, got, low=-SMALL_SCALE if stat == "mean" else 0.0, high=SMALL_SCALE)
        except CheckFailed as exc:
            raise wrong(f"{exc.message}. X_train_scaled should be your preprocess(X_train): pixels "
                        f"scaled to small numbers, e.g. divided by 255 into [0, 1]. {WHY_SCALE}") from None


def reported_accuracy_matches(ev) -> None:
    """score_deep is the accuracy of the student's own predictions y_pred_deep against y_test, and
    y_pred_deep is model_deep's own (recomputed from model_deep and X_test_scaled)."""
    y_test = np.asarray(as_numbers("y_test", ev.answer("y_test"))).reshape(-1)
    y_pred = as_numbers("y_pred_deep", ev.answer("y_pred_deep"))
    if y_pred.shape != y_test.shape:
        raise wrong(f"y_pred_deep should hold one predicted digit per test digit, shape {y_test.shape} like "
                    f"y_test; it has shape {y_pred.shape} (take the argmax of model_deep.predict(X_test_scaled) "
                    f"along axis 1)")
    check_own_predictions(ev, "y_pred_deep", "model_deep", "X_test_scaled")
    measured = float(np.mean(y_pred == y_test))
    got = as_numbers("score_deep", ev.answer("score_deep"))
    if got.size == 1 and 1.0 < float(got.reshape(-1)[0]) <= 100.0:
        raise wrong(f"score_deep is {float(got.reshape(-1)[0]):.4g}: report the accuracy as a fraction "
                    f"(expected {measured:.4g}, the accuracy of y_pred_deep against y_test), not as a percentage")
    try:
        check_close("score_deep", measured, got, rtol=0.0, atol=REPORT_TOLERANCE)
    except CheckFailed as exc:
        raise wrong(f"{exc.message}. score_deep should be model_deep's accuracy on your test data: the share "
                    f"of y_pred_deep equal to y_test, which the grader computed from those two arrays.") from None


EXERCISE = Exercise(
    name="mlp_mnist",
    title="Keras MLP on MNIST",
    data=("mnist",),
    questions=(
        Question("mlp_mnist.qa", "A Keras MLP on scaled MNIST", 4, (
            held_out_accuracy_check("model_mnist", hint=WHY_SCALE.replace(
                "Why scaling matters", "If your model was fitted on unscaled pixels: why scaling matters")),
            Check("X_train_scaled is on a small scale (not raw pixels)", inputs_scaled,
                  needs=(Call(key="X_train_scaled.mean()", function="X_train_scaled.mean"),
                         Call(key="X_train_scaled.std()", function="X_train_scaled.std"))),
            text_answer())),
        Question("mlp_mnist.qb", "A deeper MLP: the best accuracy", 3, (
            held_out_accuracy_check("model_deep", hint="Train it longer, or change its layers or optimizer; "
                                    "fit it on X_train_scaled (your preprocess(X_train))."),
            Check("y_pred_deep is model_deep's own, and score_deep its accuracy against y_test", reported_accuracy_matches,
                  needs=(value("y_test"), value("y_pred_deep"), value("score_deep"),
                         own_predictions_request("model_deep", "X_test_scaled"))),
            text_answer())),
    ),
)
