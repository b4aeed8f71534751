"""Keras MLP on MNIST (L09): models judged on official MNIST test digits that never enter the
kernel with their labels, against the reference run's models on the same digits.

End to end with real sandboxed kernels, real TensorFlow and the real MNIST (quick profile: 6000
training digits), plus the checks on plain data. The MNIST tests are skipped, with the reason,
when the data cannot be found ($ITMAL_MNIST_DIR, else ../shared/data/mnist beside the repo)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import ASSIGNMENT, SOLUTIONS, TEST_LIMITS, by_id, mnist_folder
from grader_journal2.mlp_mnist import (HELD_OUT_SIZE, MARGIN, REPORT_TOLERANCE, held_out_accuracy_check,
                                        held_out_digits, inputs_scaled, on_held_out, reported_accuracy_matches)
from grader.judge.checks import CheckFailed
from grader.judge.outcomes import Outcome
from grader.kernel.plaindata import Answer
from grader.judge.score import Evidence
from test_exercise_mlp_moon import Gradings, patch_cell, selected_jobs, write_sample

QUESTIONS = {"mlp_mnist.qa", "mlp_mnist.qb"}
_found, NO_MNIST = mnist_folder()
MNIST_DIR = Path(_found) if _found else None
needs_mnist = pytest.mark.skipif(MNIST_DIR is None, reason=NO_MNIST or "MNIST not found")


@pytest.fixture(scope="module")
def mnist_env(cache_dir):
    """The grader finds MNIST (kernels: the training split; checks: the held-out test split),
    with its .npy caches in the session's cache folder rather than the user's."""
    if MNIST_DIR is None:
        pytest.skip(NO_MNIST)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ITMAL_MNIST_DIR", str(MNIST_DIR))
        mp.setenv("ITMAL_CACHE_DIR", str(cache_dir))
        held_out_digits.cache_clear()
        yield
    held_out_digits.cache_clear()


def evidence(answers: dict, reference: dict | None = None) -> Evidence:
    wrap = lambda d: {k: v if isinstance(v, Answer) else Answer("ok", value=v) for k, v in d.items()}  # noqa: E731
    return Evidence(None, wrap(answers), None if reference is None else wrap(reference), [], "")


def scores_for(labels: np.ndarray, wrong: int) -> np.ndarray:
    """Softmax-like outputs of 10 classes predicting `labels`, the first `wrong` of them wrong."""
    pred = labels.copy()
    pred[:wrong] = (pred[:wrong] + 1) % 10
    return np.eye(10, dtype=np.float32)[pred]


def fails(fn, ev) -> CheckFailed:
    with pytest.raises(CheckFailed) as info:
        fn(ev)
    return info.value


# --- on plain data ---------------------------------------------------------------------------

@needs_mnist
def test_held_out_digits_are_the_raw_official_test_split_for_the_students_preprocess(mnist_env):
    X, y = held_out_digits()
    assert X.shape == (HELD_OUT_SIZE, 784) and X.dtype == np.uint8
    assert X.min() == 0 and X.max() == 255
    request = on_held_out("model_mnist")
    assert request.expression().startswith('model_mnist.predict((globals().get("preprocess") or')
    assert y.shape == (HELD_OUT_SIZE,) and set(np.unique(y)) == set(range(10))
    assert y[:5].tolist() == [7, 2, 1, 0, 4]  # the official test split starts 7 2 1 0 4
    assert on_held_out("model_mnist").inputs()[0]["npy"]  # sent to the kernel as .npy bytes


@needs_mnist
def test_held_out_check_compares_with_the_reference_model_and_explains_scaling(mnist_env):
    y = held_out_digits()[1]
    check = held_out_accuracy_check("model_mnist", hint="HINT")
    key = on_held_out("model_mnist").key
    reference = {key: scores_for(y, wrong=200)}  # 0.9
    check.run(evidence({key: scores_for(y, wrong=250)}, reference))  # 0.875 >= 0.87
    err = fails(check.run, evidence({key: scores_for(y, wrong=1300)}, reference))  # 0.35
    assert err.outcome is Outcome.WRONG
    assert f"is 0.35, below the required {0.9 - MARGIN:.4g} (short by 0.52)" in err.message
    assert "Expected at least the reference solution's accuracy on the same digits (0.9)" in err.message
    assert "got 0.35, a difference of 0.55. HINT" in err.message


def test_unscaled_inputs_fail_with_why_scaling_matters_and_any_sound_scaling_passes():
    inputs_scaled(evidence({"X_train_scaled.mean()": 0.13, "X_train_scaled.std()": 0.31}))  # / 255
    inputs_scaled(evidence({"X_train_scaled.mean()": 0.0, "X_train_scaled.std()": 0.86}))  # StandardScaler
    err = fails(inputs_scaled, evidence({"X_train_scaled.mean()": 33.3, "X_train_scaled.std()": 78.6}))
    assert "X_train_scaled.mean() is 33.3, above the allowed 5 (over by 28.3)" in err.message
    assert "Why scaling matters" in err.message and "/ 255" in err.message and "preprocess" in err.message
    none = Answer("error", message="AttributeError: 'NoneType' object has no attribute 'mean'")
    assert fails(inputs_scaled, evidence({"X_train_scaled.mean()": none})).outcome is Outcome.MISSING


def test_reported_accuracy_is_the_share_of_the_students_own_predictions():
    y_test = np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=np.uint8)
    y_pred = np.array([3, 1, 4, 1, 5, 9, 0, 0])  # 6 of 8 right
    ok = {"y_test": y_test, "y_pred_deep": y_pred, "model_deep.predict(X_test_scaled)": np.eye(10)[y_pred]}
    reported_accuracy_matches(evidence({**ok, "score_deep": 0.75 + REPORT_TOLERANCE / 2}))
    percent = fails(reported_accuracy_matches, evidence({**ok, "score_deep": 75.0}))
    assert "report the accuracy as a fraction (expected 0.75" in percent.message
    loss = fails(reported_accuracy_matches, evidence({**ok, "score_deep": 0.21}))
    assert "score_deep: expected 0.75, got 0.21; they differ by 0.54" in loss.message
    assert "the share of y_pred_deep equal to y_test" in loss.message
    scores = fails(reported_accuracy_matches, evidence({**ok, "y_pred_deep": np.eye(10)[y_pred], "score_deep": 0.75}))
    assert "shape (8,) like y_test; it has shape (8, 10)" in scores.message and "argmax" in scores.message
    typed = fails(reported_accuracy_matches, evidence({**ok, "y_pred_deep": y_test, "score_deep": 1.0}))
    assert "y_pred_deep differs from model_deep.predict(X_test_scaled), which the grader recomputed" in typed.message


# --- end to end, real kernels ----------------------------------------------------------------

NOT_SCALED = "mlp-mnist-inputs-not-scaled"
QB_LOSS = "mlp-mnist-qb-reports-the-loss-as-accuracy"
STANDARDIZED = "mlp-mnist-standard-scaler-in-preprocess"

SAMPLES = {
    # Qa's classic: the pixels go in as 0..255; this group only scaled them from Qb on
    NOT_SCALED: lambda nb: patch_cell(
        patch_cell(nb, "mlp_mnist.qa", "return X.astype(np.float32) / 255", "return X.astype(np.float32)"),
        "mlp_mnist.qb", "EPOCHS_DEEP =",
        "def preprocess(X):\n    return X.astype(np.float32) / 255\n\n"
        "X_train_scaled, X_test_scaled = preprocess(X_train), preprocess(X_test)\n"
        "EPOCHS_DEEP ="),
    # a sound scaling of its own: standardized pixels, the same scaler inside preprocess
    STANDARDIZED: lambda nb: patch_cell(
        nb, "mlp_mnist.qa", "    return X.astype(np.float32) / 255",
        "    return scaler.transform(X.astype(np.float32))\n\n"
        "from sklearn.preprocessing import StandardScaler\n"
        "scaler = StandardScaler().fit(X_train.astype(np.float32))"),
    # Keras' evaluate returns [loss, accuracy]; the two were swapped
    QB_LOSS: lambda nb: patch_cell(nb, "mlp_mnist.qb", "loss_deep, score_deep = model_deep.evaluate",
                                   "score_deep, loss_deep = model_deep.evaluate"),
}

JOB_OF_TEST = {
    "test_solution_scores_full_marks": "solution",
    "test_stub_scores_zero_and_every_question_is_missing": "stub",
    "test_mlp_mnist_inputs_not_scaled": NOT_SCALED,
    "test_mlp_mnist_qb_reports_the_loss_as_accuracy": QB_LOSS,
    "test_mlp_mnist_standard_scaler_model_gets_credit": STANDARDIZED,
}


@pytest.fixture(scope="module")
def graded(request, config, tmp_path_factory, mnist_env):
    """Results of the module's notebooks, graded in the quick profile (~25 s a notebook), two at
    a time, with room for TensorFlow on a busy machine."""
    keras_config = replace(config, limits=replace(TEST_LIMITS, cell_timeout=120, notebook_timeout=400))
    folder = tmp_path_factory.mktemp("mlp-mnist-samples")
    paths = {"solution": SOLUTIONS / "mlp_mnist.ipynb", "stub": ASSIGNMENT / "mlp_mnist.ipynb"}
    jobs = {}
    for name in selected_jobs(request, JOB_OF_TEST):
        jobs[name] = paths[name] if name in paths else write_sample(folder, name, "mlp_mnist", SAMPLES[name])
    gradings = Gradings(keras_config, "mlp_mnist", jobs)
    yield gradings
    gradings.close()


@needs_mnist
def test_solution_scores_full_marks(graded):
    result = graded("solution")
    assert {q.id for q in result.questions} == QUESTIONS
    assert {q.id: q.feedback() for q in result.questions if q.outcome is not Outcome.PASSED} == {}
    assert result.points == result.max_points == 7


@needs_mnist
def test_stub_scores_zero_and_every_question_is_missing(graded):
    result = graded("stub")
    assert result.points == 0
    assert {q.id: q.outcome for q in result.questions} == {q: Outcome.MISSING for q in QUESTIONS}
    assert "model_mnist is still None" in by_id(result)["mlp_mnist.qa"].feedback()


@needs_mnist
def test_mlp_mnist_inputs_not_scaled(graded):
    q = by_id(graded(NOT_SCALED))
    qa = q["mlp_mnist.qa"]
    assert qa.outcome is Outcome.WRONG and qa.points == pytest.approx(1.0)  # only the text answer counts
    feedback = qa.feedback()
    assert "X_train_scaled.mean() is 33" in feedback and "above the allowed 5" in feedback
    assert f"model_mnist's accuracy on {HELD_OUT_SIZE} held-out MNIST digits is 0." in feedback
    assert "Expected at least the reference solution's accuracy" in feedback and "a difference of 0." in feedback
    assert "Why scaling matters" in feedback and "saturate" in feedback
    assert q["mlp_mnist.qb"].outcome is Outcome.PASSED, q["mlp_mnist.qb"].feedback()


@needs_mnist
def test_mlp_mnist_qb_reports_the_loss_as_accuracy(graded):
    q = by_id(graded(QB_LOSS))
    qb = q["mlp_mnist.qb"]
    assert qb.outcome is Outcome.WRONG and qb.points == pytest.approx(3 * 3 / 4)
    feedback = qb.feedback()
    assert "score_deep: expected 0.9" in feedback and ", got 0." in feedback and "they differ by" in feedback
    assert f"more than the {REPORT_TOLERANCE:g} allowed" in feedback
    assert "model_deep's accuracy on your test data: the share of y_pred_deep equal to y_test" in feedback
    assert q["mlp_mnist.qa"].outcome is Outcome.PASSED, q["mlp_mnist.qa"].feedback()


@needs_mnist
def test_mlp_mnist_standard_scaler_model_gets_credit(graded):
    """A model trained on StandardScaler features is judged through the student's own
    preprocess, as its author built it: full marks (fed pixels / 255, it scored 0/4)."""
    q = by_id(graded(STANDARDIZED))
    assert {i: r.feedback() for i, r in q.items() if r.outcome is not Outcome.PASSED} == {}
