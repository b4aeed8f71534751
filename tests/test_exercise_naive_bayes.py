"""Naive Bayes on MNIST (L06): held-out digits scored by the grader, reported metrics recomputed.

Checks on plain data first; then end to end with real sandboxed kernels (quick profile), skipped
when MNIST cannot be found ($ITMAL_MNIST_DIR, else <repo>/../shared/data/mnist)."""

from __future__ import annotations


import numpy as np

from conftest import ASSIGNMENT, by_id, EXAMPLES, fails, PlainEvidence, replace_cells, SOLUTIONS
from grader_journal2.common import dict_keys_from_repr, require_at_least
from grader_journal2.naive_bayes import (MISMATCH, metrics_follow_from_predictions, models_are_the_asked_for_kinds,
                                          recompute_metrics)
from grader.grade import grade_submission
from grader.judge.outcomes import Outcome

QUESTIONS = {"naive_bayes.qa", "naive_bayes.qb"}
def predictions(seed: int = 0, n: int = 600) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_test = rng.integers(0, 10, n).astype(np.uint8)
    good = np.where(rng.random(n) < 0.8, y_test, rng.integers(0, 10, n)).astype(np.uint8)
    bad = np.where(rng.random(n) < 0.4, y_test, (y_test + 1) % 10).astype(np.uint8)
    return y_test, bad, good


def reported(y_test, y_pred_gnb, y_pred_mnb, average="weighted", **override):
    answers = {"average": average, "y_test": y_test, "y_pred_gnb": y_pred_gnb, "y_pred_mnb": y_pred_mnb,
               "gnb.predict(X_test)": y_pred_gnb, "mnb.predict(X_test)": y_pred_mnb}
    for model, y_pred in (("gnb", y_pred_gnb), ("mnb", y_pred_mnb)):
        for metric, v in recompute_metrics(y_test, y_pred, average).items():
            answers[f"{metric}_{model}"] = v
    answers.update(override)
    return PlainEvidence(**answers)


# --- on plain data ---------------------------------------------------------------------------

def test_metrics_computed_from_the_students_own_predictions_pass():
    y_test, gnb, mnb = predictions()
    for average in ("micro", "macro", "weighted"):
        metrics_follow_from_predictions(reported(y_test, gnb, mnb, average))


def test_precision_with_swapped_arguments_is_named_with_expected_got_difference():
    y_test, gnb, mnb = predictions()
    from sklearn.metrics import precision_score

    swapped = precision_score(gnb, y_test, average="weighted", zero_division=0)
    err = fails(metrics_follow_from_predictions, reported(y_test, gnb, mnb, precision_gnb=swapped))
    assert err.outcome is Outcome.WRONG
    assert err.message.startswith(MISMATCH)
    right = recompute_metrics(y_test, gnb, "weighted")["precision"]
    assert f"precision_gnb: expected {right:.6g}, got {swapped:.6g}, difference {swapped - right:.3g}" in err.message
    assert "true labels y_test first" in err.message
    assert "mnb" not in err.message.split("precision_gnb", 1)[1].split("(", 1)[0]


def test_every_wrong_metric_is_listed_and_an_unknown_average_is_refused():
    y_test, gnb, mnb = predictions()
    err = fails(metrics_follow_from_predictions, reported(y_test, gnb, mnb, f1_mnb=0.5, accuracy_gnb=1.0))
    assert "accuracy_gnb: expected" in err.message and "f1_mnb: expected" in err.message
    ev = reported(y_test, gnb, mnb)
    ev.answers["average"] = "binary"
    err = fails(metrics_follow_from_predictions, ev)
    assert "average: expected one of 'micro', 'macro', 'weighted', got 'binary'" in err.message
    ev = reported(y_test, gnb, mnb)
    ev.answers["y_pred_gnb"] = gnb[:-1]
    err = fails(metrics_follow_from_predictions, ev)
    assert "y_pred_gnb: expected 600 predictions" in err.message


def test_model_kinds_are_read_from_their_repr_and_none_is_missing():
    models_are_the_asked_for_kinds(PlainEvidence(**{"repr(gnb)": "GaussianNB()", "repr(mnb)": "MultinomialNB(alpha=0.5)"}))
    err = fails(models_are_the_asked_for_kinds, PlainEvidence(**{"repr(gnb)": "GaussianNB()", "repr(mnb)": "GaussianNB()"}))
    assert err.outcome is Outcome.WRONG and "mnb: expected a MultinomialNB, got 'GaussianNB'" in err.message
    err = fails(models_are_the_asked_for_kinds, PlainEvidence(**{"repr(gnb)": "None", "repr(mnb)": "None"}))
    assert err.outcome is Outcome.MISSING


def test_dict_keys_are_parsed_from_a_repr_never_evaluated(tmp_path):
    marker = tmp_path / "evaluated"
    text = "{'alpha': np.float64(0.1), 'loss': 'hinge', 'x': __import__('pathlib').Path(%r).touch()}" % str(marker)
    assert dict_keys_from_repr("best_params_", text) == ["alpha", "loss", "x"]
    assert not marker.exists()
    assert "should be a dict" in fails(dict_keys_from_repr, "best_params_", "[1, 2]").message


def test_threshold_message_names_expected_got_and_difference():
    err = fails(require_at_least, "mnb's accuracy on held-out digits", 0.55, 0.835, 0.03)
    assert err.message == ("mnb's accuracy on held-out digits: expected at least 0.8050 (the reference solution's "
                           "0.8350 minus 0.03), got 0.5500; difference -0.2550")
    require_at_least("x", 0.81, 0.835, 0.03)


# --- end to end, real kernels ----------------------------------------------------------------

def test_reference_solution_scores_full_marks(mnist_config):
    result = grade_submission(SOLUTIONS / "naive_bayes.ipynb", mnist_config)
    q = by_id(result)
    assert set(q) == QUESTIONS
    assert {k: v.feedback() for k, v in q.items() if v.outcome is not Outcome.PASSED} == {}
    assert result.points == result.max_points == 6


def test_untouched_stub_scores_zero_and_every_question_is_missing(mnist_config):
    result = grade_submission(ASSIGNMENT / "naive_bayes.ipynb", mnist_config)
    assert result.points == 0
    assert {q.id: q.outcome for q in result.questions} == {q: Outcome.MISSING for q in QUESTIONS}


def test_a_copy_pasted_gaussian_for_mnb_loses_qa_on_held_out_digits(mnist_config, sample):
    path = sample("naive-bayes-mnb-is-a-copy-pasted-gaussian", "naive_bayes", lambda nb: replace_cells(
        nb, "naive_bayes.qa", "gnb = GaussianNB()\ngnb.fit(X_train, y_train)\ny_pred_gnb = gnb.predict(X_test)\n"
        "mnb = GaussianNB()\nmnb.fit(X_train, y_train)\ny_pred_mnb = mnb.predict(X_test)\n"))
    q = by_id(grade_submission(path, mnist_config))
    qa = q["naive_bayes.qa"]
    assert qa.outcome is Outcome.WRONG
    assert qa.points == 1.5  # the kind (weight 1) and mnb held-out (2) checks of 6 fail
    feedback = qa.feedback()
    assert "mnb: expected a MultinomialNB, got 'GaussianNB'" in feedback
    assert "mnb's accuracy on held-out digits: expected at least" in feedback
    assert "got 0.5" in feedback and "difference -0.2" in feedback
    assert q["naive_bayes.qb"].outcome is Outcome.PASSED  # its metrics follow from its own predictions


def test_group02_precision_with_swapped_arguments_loses_only_qb(mnist_config):
    q = by_id(grade_submission(EXAMPLES / "group02-typical-mistakes" / "naive_bayes.ipynb", mnist_config))
    assert q["naive_bayes.qa"].outcome is Outcome.PASSED
    qb = q["naive_bayes.qb"]
    assert qb.outcome is Outcome.WRONG and qb.points == 1  # the text answer keeps its point
    feedback = qb.feedback()
    assert MISMATCH in feedback
    assert "precision_gnb: expected 0.6" in feedback and ", got 0.7" in feedback and "difference 0.0" in feedback
    assert "true labels y_test first" in feedback


def test_predictions_that_are_not_class_labels_are_the_students_error_not_the_graders():
    y_test, gnb, mnb = predictions()
    ev = reported(y_test, gnb, mnb)
    ev.answers["y_pred_mnb"] = np.linspace(0, 9.5, y_test.size)
    err = fails(metrics_follow_from_predictions, ev)
    assert err.outcome is Outcome.WRONG and "y_test and y_pred_mnb should hold class labels" in err.message
    ev.answers["y_pred_mnb"] = np.full(y_test.size, np.nan)
    assert "y_pred_mnb contains NaN" in fails(metrics_follow_from_predictions, ev).message


# --- a model whose predict gives class probabilities (as Keras' do) is judged on their argmax --

def test_class_scores_count_by_their_argmax():
    from grader_journal2.common import predicted_labels

    scores = np.eye(10)[[7, 2, 1]] * 0.9 + 0.01
    assert predicted_labels("m.predict", scores, 3).tolist() == [7, 2, 1]
    assert predicted_labels("m.predict", np.array([7, 2, 1]), 3).tolist() == [7, 2, 1]
    err = fails(predicted_labels, "m.predict", np.eye(10)[[7, 2]], 3)
    assert "expected 3 predictions (one per held-out digit), got 20" in err.message


def test_a_model_predicting_probabilities_is_judged_on_their_argmax(mnist_config, sample):
    path = sample("naive-bayes-gnb-predicts-probabilities", "naive_bayes", lambda nb: replace_cells(
        nb, "naive_bayes.qa",
        "class ProbabilisticNB(GaussianNB):\n"
        "    def predict(self, X):  # class probabilities, one column per digit, like a Keras model\n"
        "        return self.predict_proba(X)\n\n"
        "gnb = ProbabilisticNB()\ngnb.fit(X_train, y_train)\ny_pred_gnb = gnb.predict(X_test).argmax(axis=1)\n"
        "mnb = MultinomialNB()\nmnb.fit(X_train, y_train)\ny_pred_mnb = mnb.predict(X_test)\n"))
    qa = by_id(grade_submission(path, mnist_config))["naive_bayes.qa"]
    held_out = next(c for c in qa.checks if c.name.startswith("gnb ") and "held-out" in c.name)
    assert held_out.outcome is Outcome.PASSED, held_out.message
    assert "predictions" not in qa.feedback()


def test_predictions_typed_in_or_from_another_model_do_not_count():
    y_test, gnb, mnb = predictions()
    ev = reported(y_test, y_test.copy(), mnb)  # y_pred_gnb = y_test: every metric a perfect 1.0
    ev.answers["gnb.predict(X_test)"] = gnb
    err = fails(metrics_follow_from_predictions, ev)
    assert err.outcome is Outcome.WRONG
    assert "y_pred_gnb differs from gnb.predict(X_test), which the grader recomputed from your model" in err.message
