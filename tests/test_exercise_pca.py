"""PCA (L08): fitted on the training data (the seed hand-in's pca.fit_transform(X_test) is named),
the component count recomputed from the student's own X_train, scores against the reference run.

Checks on plain data (real PCAs fitted here) first; then end to end with real sandboxed kernels
(quick profile), skipped when MNIST cannot be found."""

from __future__ import annotations


import pytest

from conftest import ASSIGNMENT, by_id, EXAMPLES, fails, PlainEvidence, SOLUTIONS
from grader_journal2.pca import (ROWS, component_count_check, components_for_variance, denoising_helps,
                                  fitted_on_training_data)
from grader.grade import grade_submission
from grader.judge.outcomes import Outcome

QUESTIONS = {"pca.qa", "pca.qb", "pca.qc"}
@pytest.fixture(scope="module")
def digits():
    """Digit-like data without MNIST: scikit-learn's 8x8 digits scaled to 0..1, split 75/25."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=42)


def answers_for(pca, X_train, X_test, X_test_reduced, names=("pca", "X_train", "X_test", "X_test_reduced")):
    p, tr, te, red = names
    return {f"repr({p})": repr(pca), f"{p}.n_samples_": int(pca.n_samples_), f"{p}.mean_": pca.mean_,
            f"{p}.components_": pca.components_, f"{p}.whiten": pca.whiten,
            f"{p}.explained_variance_": pca.explained_variance_, f"{p}.n_components_": int(pca.n_components_),
            f"{tr}.shape": list(X_train.shape), f"{te}.shape": list(X_test.shape),
            f"{tr}.mean(axis=0)": X_train.mean(0), f"{te}.mean(axis=0)": X_test.mean(0),
            f"{tr}.var(axis=0)": X_train.var(0), f"{te}[{ROWS}]": X_test[ROWS], f"{red}[{ROWS}]": X_test_reduced[ROWS]}


FITTED_ON_TRAIN = fitted_on_training_data("pca", "X_train", "X_test", "X_test_reduced").run


def test_a_pca_fitted_on_the_training_data_passes_whitened_or_not(digits):
    from sklearn.decomposition import PCA

    X_train, X_test, *_ = digits
    for whiten in (False, True):
        pca = PCA(n_components=0.95, whiten=whiten).fit(X_train)
        ev = PlainEvidence(**answers_for(pca, X_train, X_test, pca.transform(X_test)))
        FITTED_ON_TRAIN(ev)
        component_count_check(ev)


def test_the_seeds_fit_transform_of_the_test_data_is_named(digits):
    from sklearn.decomposition import PCA

    X_train, X_test, *_ = digits
    pca = PCA(n_components=0.95)
    pca.fit_transform(X_train)
    X_test_reduced = pca.fit_transform(X_test)  # the seed hand-in's line
    err = fails(FITTED_ON_TRAIN, PlainEvidence(**answers_for(pca, X_train, X_test, X_test_reduced)))
    assert err.outcome is Outcome.WRONG
    assert err.message.startswith("pca was fitted on the test data: expected pca.mean_ to be X_train's column "
                                  f"means and n_samples_ = len(X_train) = {len(X_train)}, got X_test's column means")
    assert f"n_samples_ = {len(X_test)}; difference {len(X_test) - len(X_train)} samples" in err.message
    assert "only transform the test data with it (pca.transform(X_test))" in err.message


def test_test_data_reduced_by_a_second_pca_is_named(digits):
    from sklearn.decomposition import PCA

    X_train, X_test, *_ = digits
    pca = PCA(n_components=20).fit(X_train)
    X_test_reduced = PCA(n_components=20).fit_transform(X_test)
    err = fails(FITTED_ON_TRAIN, PlainEvidence(**answers_for(pca, X_train, X_test, X_test_reduced)))
    assert "X_test_reduced is not pca.transform(X_test): expected" in err.message
    assert "got" in err.message and "difference up to" in err.message


def test_component_count_is_recomputed_from_the_students_training_data(digits):
    from sklearn.decomposition import PCA

    X_train, X_test, *_ = digits
    right = PCA(n_components=0.95).fit(X_train)
    expected, kept = components_for_variance(right.explained_variance_, X_train.var(0), len(X_train))
    assert expected == right.n_components_ and kept >= 0.95
    too_many = PCA(n_components=right.n_components_ + 5).fit(X_train)
    err = fails(component_count_check, PlainEvidence(**answers_for(too_many, X_train, X_test, too_many.transform(X_test))))
    assert (f"pca.n_components_: expected {right.n_components_} (what PCA(n_components=0.95) keeps on your X_train), "
            f"got {right.n_components_ + 5}; difference 5") in err.message
    too_few = PCA(n_components=0.9).fit(X_train)
    err = fails(component_count_check, PlainEvidence(**answers_for(too_few, X_train, X_test, too_few.transform(X_test))))
    assert "of X_train's variance: expected PCA(n_components=0.95) to keep at least 95%; difference -" in err.message


def test_denoising_must_beat_the_noisy_score():
    denoising_helps(PlainEvidence(score_denoised=0.63, score_noisy=0.56, **{"reference score_noisy": 0.56}))
    err = fails(denoising_helps, PlainEvidence(score_denoised=0.5, score_noisy=0.56, **{"reference score_noisy": 0.56}))
    assert "score_denoised should beat score_noisy (find a component count that helps): expected more than 0.5600, " \
           "got 0.5000; difference -0.0600" in err.message
    err = fails(denoising_helps, PlainEvidence(score_denoised=0.9, score_noisy=0.8, **{"reference score_noisy": 0.56}))
    assert "score_noisy: expected 0.56, got 0.8" in err.message


# --- end to end, real kernels ----------------------------------------------------------------

def test_reference_solution_scores_full_marks(mnist_config):
    result = grade_submission(SOLUTIONS / "pca.ipynb", mnist_config)
    q = by_id(result)
    assert set(q) == QUESTIONS
    assert {k: v.feedback() for k, v in q.items() if v.outcome is not Outcome.PASSED} == {}
    assert result.points == result.max_points == 8


def test_untouched_stub_scores_zero_and_every_question_is_missing(mnist_config):
    result = grade_submission(ASSIGNMENT / "pca.ipynb", mnist_config)
    assert result.points == 0
    assert {q.id: q.outcome for q in result.questions} == {q: Outcome.MISSING for q in QUESTIONS}


def test_group02_pca_fitted_on_test_data_as_in_the_seed_loses_qa(mnist_config):
    q = by_id(grade_submission(EXAMPLES / "group02-typical-mistakes" / "pca.ipynb", mnist_config))
    qa = q["pca.qa"]
    assert qa.outcome is Outcome.WRONG
    feedback = qa.feedback()
    assert "pca was fitted on the test data: expected pca.mean_ to be X_train's column means" in feedback
    assert "got X_test's column means" in feedback and "difference -" in feedback
    assert "score_reduced: expected" in feedback  # the classifier scores the test digits on the wrong axes
    assert qa.points <= 4 * 2.5 / 5.5 + 1e-9  # at most the component count, the times and the text remain
    for other in ("pca.qb", "pca.qc"):
        assert q[other].outcome is Outcome.PASSED, q[other].feedback()


def test_test_data_reduced_by_its_own_pca_loses_qa(mnist_config, sample):
    def edit(nb):
        cell = [c for c in nb.cells if "pca.qa" in c.metadata.get("tags", [])][-1]
        old = "X_test_reduced = pca.transform(X_test)"
        assert cell.source.count(old) == 1
        cell.source = cell.source.replace(old, "X_test_reduced = PCA(n_components=pca.n_components_).fit_transform(X_test)")
        return nb

    q = by_id(grade_submission(sample("pca-test-data-reduced-by-its-own-pca", "pca", edit), mnist_config))
    qa = q["pca.qa"]
    assert qa.outcome is Outcome.WRONG
    feedback = qa.feedback()
    assert "X_test_reduced is not pca.transform(X_test): expected" in feedback and "difference up to" in feedback
    assert "score_reduced: expected" in feedback and "got" in feedback and "differ by" in feedback
    assert qa.points == pytest.approx(4 * 2.5 / 5.5, abs=1e-3)  # the count, the times and the text remain
    for other in ("pca.qb", "pca.qc"):
        assert q[other].outcome is Outcome.PASSED, q[other].feedback()


def test_noisy_test_data_refitted_loses_only_qb(mnist_config, sample):
    def edit(nb):
        cell = [c for c in nb.cells if "pca.qb" in c.metadata.get("tags", [])][-1]
        old = "X_test_denoised = pca_noisy.transform(X_test_noisy)"
        assert cell.source.count(old) == 1
        cell.source = cell.source.replace(old, "X_test_denoised = pca_noisy.fit_transform(X_test_noisy)")
        return nb

    q = by_id(grade_submission(sample("pca-noisy-fitted-on-test-data", "pca", edit), mnist_config))
    qb = q["pca.qb"]
    assert qb.outcome is Outcome.WRONG and qb.points == 0.75  # only the text answer (1 of 4) remains
    feedback = qb.feedback()
    assert "pca_noisy was fitted on the test data" in feedback
    assert "score_denoised should beat score_noisy" in feedback and "difference -" in feedback
    for other in ("pca.qa", "pca.qc"):
        assert q[other].outcome is Outcome.PASSED, q[other].feedback()
