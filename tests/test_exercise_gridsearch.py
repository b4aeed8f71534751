"""Grid search (L07): the course helpers, the search invariants on plain data, and end to end with
real sandboxed kernels (quick profile; skipped when MNIST cannot be found, which Qd needs)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import ASSIGNMENT, by_id, EXAMPLES, fails, PlainEvidence, SOLUTIONS
from grader_journal2.gridsearch import (LEADERBOARD_METRIC, LEADERBOARD_MODEL, parse_report,
                                         qb_grid_is_large_enough, qc_random_search_settings, qd_scikit_learn_model,
                                         search_is_consistent)
from grader_journal2.libitmal import utils
from grader.grade import grade_submission
from grader.judge.outcomes import Outcome

QUESTIONS = {"gridsearch.qa", "gridsearch.qb", "gridsearch.qc", "gridsearch.qd"}
def fitted_search(var: str, report: str, search, text: str) -> dict:
    """The plain answers the grader fetches about a fitted search."""
    return {f"repr({var})": repr(search), f"{var}.scoring": search.scoring,
            f"{var}.best_score_": float(search.best_score_), f"{var}.best_index_": int(search.best_index_),
            f"{var}.cv_results_['mean_test_score']": search.cv_results_["mean_test_score"],
            f"repr({var}.best_params_)": repr(search.best_params_),
            f"repr({var}.best_estimator_)": repr(search.best_estimator_), report: text,
            f"{var}.n_iter": getattr(search, "n_iter", None), f"{var}.random_state": getattr(search, "random_state", None)}


# --- the course helpers ----------------------------------------------------------------------

def test_load_and_setup_data_gives_the_course_splits(capsys):
    X_train, X_test, y_train, y_test = utils.LoadAndSetupData("iris")
    assert X_train.shape == (105, 4) and X_test.shape == (45, 4) and y_train.shape == (105,)
    X_train, X_test, *_ = utils.LoadAndSetupData("moon")
    assert X_train.shape == (3500, 2) and X_test.shape == (1500, 2)
    assert "DATA: moon.." in capsys.readouterr().out
    with pytest.raises(ValueError, match="not understood"):
        utils.LoadAndSetupData("cifar")
    assert utils.currmode == "moon"  # a failed call keeps the last mode


def test_full_report_prints_the_search_and_returns_the_course_string(capsys):
    from sklearn import svm
    from sklearn.model_selection import GridSearchCV

    X_train, X_test, y_train, y_test = utils.LoadAndSetupData("iris")
    grid = GridSearchCV(svm.SVC(gamma="scale"), {"kernel": ("linear", "rbf"), "C": [1, 10]}, cv=5,
                        scoring="f1_micro").fit(X_train, y_train)
    best, model = utils.FullReport(grid, X_test, y_test, 0.5)
    assert best == "best: dat=iris, score=0.97143, model=SVC(C=1,kernel='linear')"
    assert model is grid.best_estimator_
    out = capsys.readouterr().out
    for line in ("SEARCH TIME: 0.50 sec", "best index=0", "Detailed classification report:",
                 "CTOR for best model: SVC(C=1, kernel='linear')"):
        assert line in out
    assert re.search(r"\[ 0\]: 0\.971 \(\+/-0\.0\d\d\) for \{'C': 1, 'kernel': 'linear'\}", out)
    assert re.search(r"\[ 3\]: 0\.971 \(\+/-0\.0\d\d\) for \{'C': 10, 'kernel': 'rbf'\}", out)
    grid.scoring = "accuracy"
    with pytest.raises(AssertionError, match="scoring='f1_micro'"):
        utils.FullReport(grid, X_test, y_test, 0.5)


# --- on plain data ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sgd_searches():
    """Qb's grid and Qc's random search as the solution fits them, and the seed's 3-parameter grid."""
    import warnings

    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    X_train, X_test, y_train, y_test = utils.LoadAndSetupData("iris")
    grid = {"loss": ["hinge", "log_loss"], "penalty": ["l2", "l1"], "alpha": np.array([1e-4, 1e-2]),
            "average": [False, True], "fit_intercept": [True, False]}
    seed = {"alpha": [0.5, 1.0, 10.0], "average": [True, False], "n_iter_no_change": [1]}
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, space in (("grid", grid), ("seed", seed)):
            search = GridSearchCV(SGDClassifier(random_state=42), space, cv=3, scoring="f1_micro").fit(X_train, y_train)
            out[name] = (search, utils.FullReport(search, X_test, y_test, 0.1)[0])
        for name, n_iter in (("random", 20), ("random10", 10)):
            search = RandomizedSearchCV(SGDClassifier(random_state=42), grid, n_iter=n_iter, random_state=42, cv=3,
                                        scoring="f1_micro").fit(X_train, y_train)
            out[name] = (search, utils.FullReport(search, X_test, y_test, 0.1)[0])
    return out


def evidence(searches, **names):
    answers = {}
    for var, (key, report) in names.items():
        answers.update(fitted_search(var, report, *searches[key]))
    return PlainEvidence(**answers)


def test_invariants_hold_for_real_searches_even_with_numpy_values_in_the_grid(sgd_searches):
    ev = evidence(sgd_searches, grid_tuned_sgd=("grid", "b_sgd"), random_tuned=("random", "b_random"))
    qb_grid_is_large_enough(ev)
    search_is_consistent(ev, "grid_tuned_sgd", "b_sgd", "iris", "SGDClassifier")
    search_is_consistent(ev, "random_tuned", "b_random", "iris", "SGDClassifier")
    qc_random_search_settings(ev)


def test_the_seeds_three_hyperparameters_are_too_few(sgd_searches):
    err = fails(qb_grid_is_large_enough, evidence(sgd_searches, grid_tuned_sgd=("seed", "b_sgd")))
    assert err.outcome is Outcome.WRONG
    assert ("grid_tuned_sgd searches 3 hyperparameter(s) (alpha, average, n_iter_no_change): expected at least 4, "
            "got 3; difference -1") in err.message


def test_random_search_with_the_default_n_iter_is_named(sgd_searches):
    ev = evidence(sgd_searches, grid_tuned_sgd=("grid", "b_sgd"), random_tuned=("random10", "b_random"))
    err = fails(qc_random_search_settings, ev)
    assert "random_tuned.n_iter: expected 20, got 10; difference -10" in err.message


def test_a_doctored_report_or_best_score_is_caught(sgd_searches):
    ev = evidence(sgd_searches, grid_tuned_sgd=("grid", "b_sgd"))
    ev.answers["b_sgd"] = ev.answers["b_sgd"].replace("dat=iris", "dat=moon")
    assert "expected the data mode dat=iris, got dat=moon" in fails(
        search_is_consistent, ev, "grid_tuned_sgd", "b_sgd", "iris", "SGDClassifier").message
    ev = evidence(sgd_searches, grid_tuned_sgd=("grid", "b_sgd"))
    ev.answers["grid_tuned_sgd.best_score_"] = 0.99
    err = fails(search_is_consistent, ev, "grid_tuned_sgd", "b_sgd", "iris", "SGDClassifier")
    assert "best_score_ vs cv_results_['mean_test_score'][best_index_]: expected" in err.message
    assert "got 0.99" in err.message and "differ by" in err.message


def test_report_strings_are_parsed_and_foreign_models_refused():
    parts = parse_report("b", "best: dat=mnist, score=0.91200, model=Pipeline(knn__n_neighbors=5,pca__n_components=30)")
    assert parts == {"dat": "mnist", "score": "0.91200", "cls": "Pipeline",
                     "params": "knn__n_neighbors=5,pca__n_components=30"}
    assert "expected FullReport's" in fails(parse_report, "b", "0.95 with KNN").message
    ok = PlainEvidence(**{"repr(m_mnist)": "Pipeline(steps=[('knn', KNeighborsClassifier())])",
                          "m_mnist.__class__.__module__": "sklearn.pipeline"})
    qd_scikit_learn_model(ok)
    keras = PlainEvidence(**{"repr(m_mnist)": "<Sequential name=sequential, built=True>",
                             "m_mnist.__class__.__module__": "keras.src.models.sequential"})
    assert "got one from module 'keras.src.models.sequential'" in fails(qd_scikit_learn_model, keras).message
    wrapped = PlainEvidence(**{"repr(m_mnist)": "Pipeline(steps=[('clf', KerasClassifier(model=...))])",
                               "m_mnist.__class__.__module__": "sklearn.pipeline"})
    assert "got keras inside it" in fails(qd_scikit_learn_model, wrapped).message


# --- end to end, real kernels ----------------------------------------------------------------

def test_reference_solution_scores_full_marks_and_records_the_search_quest(mnist_config):
    result = grade_submission(SOLUTIONS / "gridsearch.ipynb", mnist_config)
    q = by_id(result)
    assert set(q) == QUESTIONS
    assert {k: v.feedback() for k, v in q.items() if v.outcome is not Outcome.PASSED} == {}
    assert result.points == result.max_points == 10
    metrics = q["gridsearch.qd"].metrics
    assert 0.85 < metrics[LEADERBOARD_METRIC] <= 1.0
    assert metrics[LEADERBOARD_MODEL].startswith("best: dat=mnist, score=0.9")


def test_untouched_stub_scores_zero_and_every_question_is_missing(mnist_config):
    result = grade_submission(ASSIGNMENT / "gridsearch.ipynb", mnist_config)
    assert result.points == 0
    assert {q.id: q.outcome for q in result.questions} == {q: Outcome.MISSING for q in QUESTIONS}


def passed_except(q, qid):
    for other in QUESTIONS - {qid}:
        assert q[other].outcome is Outcome.PASSED, (other, q[other].feedback())


def test_qa_searched_on_the_test_data_differs_from_the_reference_run(mnist_config, sample):
    def edit(nb):
        cell = next(c for c in nb.cells if "gridsearch.qa" in c.metadata.get("tags", []))
        assert cell.source.count("grid_tuned.fit(X_train, y_train)") == 1
        cell.source = cell.source.replace("grid_tuned.fit(X_train, y_train)", "grid_tuned.fit(X_test, y_test)")
        return nb

    q = by_id(grade_submission(sample("gridsearch-qa-searched-on-test-data", "gridsearch", edit), mnist_config))
    qa = q["gridsearch.qa"]
    assert qa.outcome is Outcome.WRONG and qa.points == pytest.approx(2 / 3, abs=1e-4)
    feedback = qa.feedback()
    assert "grid_tuned.best_params_: expected {'C': 1, 'kernel': 'linear'}, got" in feedback
    assert """b0: expected "best: dat=iris, score=0.97143, model=SVC(C=1,kernel='linear')", got "best: dat=iris""" in feedback
    passed_except(q, "gridsearch.qa")


def test_group02_grid_of_three_hyperparameters_loses_only_qb(mnist_config):
    q = by_id(grade_submission(EXAMPLES / "group02-typical-mistakes" / "gridsearch.ipynb", mnist_config))
    qb = q["gridsearch.qb"]
    assert qb.outcome is Outcome.WRONG and qb.points == 1.5
    assert "searches 3 hyperparameter(s) (alpha, average, n_iter_no_change): expected at least 4, got 3; " \
           "difference -1" in qb.feedback()
    passed_except(q, "gridsearch.qb")


def test_qc_random_search_with_the_default_n_iter_loses_only_qc(mnist_config, sample):
    def edit(nb):
        cell = next(c for c in nb.cells if "gridsearch.qc" in c.metadata.get("tags", []))
        cell.source = cell.source.replace("random_state=42, n_iter=20, cv=CV", "random_state=42, cv=CV")
        return nb

    q = by_id(grade_submission(sample("gridsearch-qc-n-iter-left-at-default", "gridsearch", edit), mnist_config))
    qc = q["gridsearch.qc"]
    assert qc.outcome is Outcome.WRONG and qc.points == pytest.approx(4 / 3, abs=1e-4)
    assert "random_tuned.n_iter: expected 20, got 10; difference -10" in qc.feedback()
    passed_except(q, "gridsearch.qc")


def test_qd_pixels_scaled_outside_the_pipeline_fail_on_held_out_digits(mnist_config, sample):
    def edit(nb):
        cell = next(c for c in nb.cells if "gridsearch.qd" in c.metadata.get("tags", []))
        old = "X_search, y_search = X_train[:N_SEARCH], y_train[:N_SEARCH]"
        assert cell.source.count(old) == 1
        cell.source = cell.source.replace(old, old + "\nX_search, X_test = X_search / 255.0, X_test / 255.0")
        return nb

    q = by_id(grade_submission(sample("gridsearch-qd-scaled-outside-the-pipeline", "gridsearch", edit), mnist_config))
    qd = q["gridsearch.qd"]
    assert qd.outcome is Outcome.WRONG and qd.points == 1.8  # the held-out check (weight 2 of 5) fails
    feedback = qd.feedback()
    assert "m_mnist's f1_micro on held-out digits: expected at least" in feedback
    assert "got 0." in feedback and "difference -0." in feedback and "scale inside a Pipeline" in feedback
    assert qd.metrics[LEADERBOARD_METRIC] < 0.8  # recorded even when it fails the threshold
    passed_except(q, "gridsearch.qd")
