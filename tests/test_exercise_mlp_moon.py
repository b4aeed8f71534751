"""Keras MLP on the moons (L09): models judged on unseen moons against a fixed bar (a seed study
of the course's Adam model, benchmarks/moons_seed_study.py); the one-hot encoding and the categorical accuracy against the student's own data.

End to end with real sandboxed kernels and real TensorFlow (quick profile), plus the checks on
plain data."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import nbformat
import numpy as np
import pytest

from conftest import ASSIGNMENT, SOLUTIONS, TEST_LIMITS, by_id, read
from grader_journal2.mlp_moon import (ADAM_WORST_SEED, BAR, BASELINE_ON_TEST, STRAIGHT_LINE, accuracy, categorical_accuracy_is_argmax_accuracy,
                                       class_labels, course_test_split, held_out_accuracy_check, held_out_moons,
                                       model_answer, on_held_out, onehot_matches_labels, trained_with_sgd)
from grader.judge.checks import CheckFailed
from grader.grade import grade_submission, reference_answers
from grader.judge.outcomes import Outcome
from grader.kernel.plaindata import Answer
from grader.judge.score import Evidence

QUESTIONS = {"mlp_moon.qa", "mlp_moon.qb", "mlp_moon.qc"}
SEED = 7  # any seed: the instructor's lives with the hidden checks


def patch_cell(nb, tag: str, old: str, new: str):
    """Replace `old` (exactly once) in the one code cell tagged `tag`."""
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", []) and c.cell_type == "code"]
    assert len(cells) == 1 and cells[0].source.count(old) == 1, (tag, old)
    cells[0].source = cells[0].source.replace(old, new)
    return nb


def evidence(answers: dict, reference: dict | None = None) -> Evidence:
    wrap = lambda d: {k: v if isinstance(v, Answer) else Answer("ok", value=v) for k, v in d.items()}  # noqa: E731
    return Evidence(None, wrap(answers), None if reference is None else wrap(reference), [], "")


def one_hot_scores(labels: np.ndarray, flip: int = 0) -> np.ndarray:
    """Softmax-like outputs predicting `labels`, with the first `flip` predictions wrong."""
    pred = labels.copy()
    pred[:flip] = 1 - pred[:flip]
    return np.eye(2, dtype=np.float32)[pred] * 0.8 + 0.1


def fails(fn, ev) -> CheckFailed:
    with pytest.raises(CheckFailed) as info:
        fn(ev)
    return info.value


# --- on plain data ---------------------------------------------------------------------------

def test_class_labels_take_the_argmax_or_threshold_a_single_score_and_reject_other_shapes():
    assert class_labels("m", [[0.2, 0.8], [0.9, 0.1]], 2).tolist() == [1, 0]
    assert class_labels("m", [[0.7], [0.2]], 2).tolist() == [1, 0]
    assert class_labels("m", [7, 2, 1], 3, n_classes=10).tolist() == [7, 2, 1]  # a classifier's labels
    err = pytest.raises(CheckFailed, class_labels, "model_sgd.predict", np.zeros((3, 2)), 4).value
    assert err.outcome is Outcome.WRONG and "shape (4, number of classes)" in err.message and "(3, 2)" in err.message


def test_held_out_moons_are_not_the_course_data_and_accuracy_counts_argmax_hits():
    X, y = held_out_moons(SEED)
    assert X.shape == (1000, 2) and set(np.unique(y)) == {0, 1}
    assert not np.allclose(X[:600], course_test_split()[0])
    assert accuracy("m", one_hot_scores(y, flip=50), y) == pytest.approx(0.95)


def test_held_out_check_holds_a_fixed_bar_between_a_straight_line_and_adam():
    assert STRAIGHT_LINE < BAR < ADAM_WORST_SEED  # figures of benchmarks/moons_seed_study.py
    y = held_out_moons(SEED)[1]
    check = held_out_accuracy_check("model_sgd", seed=SEED, hint="HINT")
    assert len(check.needs) == 1  # no reference run: a bar that does not move
    key = "model_sgd.predict(unseen moons)"
    check.run(evidence({key: one_hot_scores(y, flip=70)}))  # 0.93 passes
    err = fails(check.run, evidence({key: one_hot_scores(y, flip=130)}))  # 0.87: a straight line
    assert err.outcome is Outcome.WRONG
    assert f"is 0.87, below the required {BAR:.4g} (short by 0.05)" in err.message
    assert f"The course's Adam model reaches at least {ADAM_WORST_SEED}" in err.message
    assert f"a straight boundary about {STRAIGHT_LINE}. HINT" in err.message


def test_a_model_still_none_is_missing_not_failed_code():
    answer = Answer("error", message="AttributeError: 'NoneType' object has no attribute 'predict'")
    err = pytest.raises(CheckFailed, model_answer, evidence({"k": answer}), "k", "model_sgd").value
    assert err.outcome is Outcome.MISSING and "model_sgd is still None" in err.message
    other = Answer("error", message="ValueError: Input 0 of layer is incompatible")
    assert pytest.raises(CheckFailed, model_answer, evidence({"k": other}), "k", "m").value.outcome is Outcome.CODE_FAILED


def test_sgd_check_names_the_optimizer_it_found():
    trained_with_sgd(evidence({"model_sgd.optimizer.__class__.__name__": "SGD"}))
    err = fails(trained_with_sgd, evidence({"model_sgd.optimizer.__class__.__name__": "Adam"}))
    assert "expected optimizer SGD, got Adam" in err.message
    sklearn = Answer("error", message="AttributeError: 'MLPClassifier' object has no attribute 'optimizer'")
    err = fails(trained_with_sgd, evidence({"model_sgd.optimizer.__class__.__name__": sklearn}))
    assert err.outcome is Outcome.WRONG and "should be a Keras model" in err.message


def test_onehot_check_reports_a_wrong_shape_and_wrong_rows():
    y = np.array([0, 1, 1, 0])
    onehot_matches_labels(evidence({"y_train": y, "y_train_onehot": np.eye(2)[y]}))
    err = fails(onehot_matches_labels, evidence({"y_train": y, "y_train_onehot": y.reshape(-1, 1)}))
    assert "should have shape (4, 2), but it has shape (4, 1)" in err.message
    err = fails(onehot_matches_labels, evidence({"y_train": y, "y_train_onehot": np.eye(2)[1 - y]}))
    assert "8 of 8 values differ" in err.message


# --- end to end, real kernels ----------------------------------------------------------------

class Gradings:
    """Grade this module's notebooks two at a time (two kernels side by side keep the module's
    TensorFlow runs within a few minutes), each once; a test waits for its own result.

    Only the notebooks of the selected tests are graded, in the order of the tests. The
    reference solution runs first, once (every grading needs it)."""

    def __init__(self, config, exercise: str, jobs: dict[str, Path], workers: int = 2):
        reference_answers(config.catalogue()[exercise], config)
        self._pool = ThreadPoolExecutor(max_workers=workers)
        self._futures = {name: self._pool.submit(grade_submission, path, config) for name, path in jobs.items()}

    def __call__(self, name: str):
        return self._futures[name].result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def write_sample(folder: Path, name: str, exercise: str, edit) -> Path:
    """A solution notebook changed by `edit(nb)`, saved as `<name>.ipynb` (its expected outcome)."""
    path = folder / f"{name}.ipynb"
    nbformat.write(edit(read(SOLUTIONS / f"{exercise}.ipynb")), path)
    return path


def selected_jobs(request, job_of_test: dict[str, str]) -> list[str]:
    """The jobs of this module's tests that pytest will run, in their order."""
    names = [item.name for item in request.session.items if item.module is request.module]
    return list(dict.fromkeys(job_of_test[n] for n in names if n in job_of_test))


SGD_TOO_FEW_EPOCHS = "mlp-moon-sgd-left-at-35-epochs-misses-adam"
QB_LOSS = "mlp-moon-qb-loss-taken-for-categorical-accuracy"
QC_RELU = "mlp-moon-qc-relu-output-gets-stuck"

SAMPLES = {
    # group02's mistake: only the optimizer was switched; plain SGD(0.1) for 35 epochs keeps a
    # straight boundary (about 0.87 on unseen moons against Adam's 0.94)
    SGD_TOO_FEW_EPOCHS: lambda nb: patch_cell(
        patch_cell(nb, "mlp_moon.qa", "SGD(learning_rate=0.3, momentum=0.9)", "SGD(learning_rate=0.1)"),
        "mlp_moon.qa", "EPOCHS_SGD = profile.choose(quick=40, full=150)", "EPOCHS_SGD = EPOCHS"),
    # the first of Keras' scores is the loss, not the categorical accuracy
    QB_LOSS: lambda nb: patch_cell(
        nb, "mlp_moon.qb", "loss, score_categorical, mse, mae = model.evaluate(X_test, y_test_binary, verbose=0)",
        "score_categorical = score[0]  # the first of the scores"),
    # the course's warning: a relu output breaks the cross-entropy (NaN loss), the model guesses
    QC_RELU: lambda nb: patch_cell(
        nb, "mlp_moon.qc", 'Dense(units=2, activation="softmax")', 'Dense(units=2, activation="relu")'),
}

JOB_OF_TEST = {
    "test_solution_scores_full_marks": "solution",
    "test_stub_scores_zero_and_every_question_is_missing": "stub",
    "test_mlp_moon_sgd_left_at_35_epochs_misses_adam": SGD_TOO_FEW_EPOCHS,
    "test_mlp_moon_qb_loss_taken_for_categorical_accuracy": QB_LOSS,
    "test_mlp_moon_qc_relu_output_gets_stuck": QC_RELU,
}


@pytest.fixture(scope="module")
def graded(request, config, tmp_path_factory):
    """Results of the module's notebooks, graded in the quick profile with room for TensorFlow's
    import and training on a busy machine (the quick profile needs ~20 s a notebook)."""
    keras_config = replace(config, limits=replace(TEST_LIMITS, cell_timeout=120, notebook_timeout=400))
    folder = tmp_path_factory.mktemp("mlp-moon-samples")
    paths = {"solution": SOLUTIONS / "mlp_moon.ipynb", "stub": ASSIGNMENT / "mlp_moon.ipynb"}
    jobs = {}
    for name in selected_jobs(request, JOB_OF_TEST):
        jobs[name] = paths[name] if name in paths else write_sample(folder, name, "mlp_moon", SAMPLES[name])
    gradings = Gradings(keras_config, "mlp_moon", jobs)
    yield gradings
    gradings.close()


def test_solution_scores_full_marks(graded):
    result = graded("solution")
    assert {q.id for q in result.questions} == QUESTIONS
    assert {q.id: q.feedback() for q in result.questions if q.outcome is not Outcome.PASSED} == {}
    assert result.points == result.max_points == 7


def test_stub_scores_zero_and_every_question_is_missing(graded):
    result = graded("stub")
    assert result.points == 0
    assert {q.id: q.outcome for q in result.questions} == {q: Outcome.MISSING for q in QUESTIONS}
    assert "model_sgd is still None" in by_id(result)["mlp_moon.qa"].feedback()


def test_mlp_moon_sgd_left_at_35_epochs_misses_adam(graded):
    q = by_id(graded(SGD_TOO_FEW_EPOCHS))
    qa = q["mlp_moon.qa"]
    assert qa.outcome is Outcome.WRONG
    assert qa.points == pytest.approx(1.5)  # still SGD, text answered: only the accuracy check fails
    feedback = qa.feedback()
    assert "model_sgd's accuracy on 1000 unseen moons is 0.8" in feedback and "below the required 0.9" in feedback
    assert "The course's Adam model reaches at least" in feedback and "train longer" in feedback
    for other in ("mlp_moon.qb", "mlp_moon.qc"):
        assert q[other].outcome is Outcome.PASSED, q[other].feedback()


def test_mlp_moon_qb_loss_taken_for_categorical_accuracy(graded):
    q = by_id(graded(QB_LOSS))
    qb = q["mlp_moon.qb"]
    assert qb.outcome is Outcome.WRONG and qb.points == pytest.approx(2 * 2 / 3, abs=1e-3)
    feedback = qb.feedback()
    # the numbers depend on training; what must hold is how they relate
    found = re.search(r"score_categorical: expected ([0-9.]+), got ([0-9.]+); they differ by ([0-9.]+)", feedback)
    assert found, feedback
    expected, got, differ = map(float, found.groups())
    assert expected >= 0.9 and got < 0.5  # an accuracy against a cross-entropy loss
    assert differ == pytest.approx(expected - got, abs=2e-3)
    assert "Keras' categorical_accuracy of model on the test data" in feedback
    for other in ("mlp_moon.qa", "mlp_moon.qc"):
        assert q[other].outcome is Outcome.PASSED, q[other].feedback()


def test_mlp_moon_qc_relu_output_gets_stuck(graded):
    q = by_id(graded(QC_RELU))
    qc = q["mlp_moon.qc"]
    assert qc.outcome is Outcome.WRONG and qc.points == pytest.approx(1.0)  # figure and text still count
    feedback = qc.feedback()
    assert "model_tuned's accuracy on 1000 unseen moons is 0.5" in feedback and "short by 0.4" in feedback
    assert "a straight boundary about" in feedback and "output activation" in feedback
    for other in ("mlp_moon.qa", "mlp_moon.qb"):
        assert q[other].outcome is Outcome.PASSED, q[other].feedback()


def test_categorical_check_needs_the_course_test_split():
    X_test, y_test = course_test_split()
    assert X_test.shape == (600, 2) and BASELINE_ON_TEST.features.shape == (600, 2)
    scores = one_hot_scores(y_test, flip=6)
    categorical_accuracy_is_argmax_accuracy(evidence(
        {BASELINE_ON_TEST.key: scores, "score_categorical": 0.99, "score_argmax": 0.99}))
    err = fails(categorical_accuracy_is_argmax_accuracy, evidence(
        {BASELINE_ON_TEST.key: scores, "score_categorical": 0.99, "score_argmax": 0.5}))
    assert "score_argmax: expected 0.99, got 0.5" in err.message
