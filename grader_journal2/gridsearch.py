"""Grid search (L07): Qa's SVC search on iris against the reference run; Qb's and Qc's SGD searches
by invariants on what the kernel's search objects hold (grid size and hyperparameter names from
cv_results_/best_params_, best_score_ = mean_test_score[best_index_], FullReport's string); Qd's
Search Quest scored by the grader itself on held-out MNIST digits and recorded for the leaderboard.

Fitted searches never cross the trust boundary: the grader fetches plain attributes (numbers,
texts, the mean_test_score array) and the repr() of dicts and estimators, which it parses but never
evaluates."""

from __future__ import annotations

import re

import numpy as np

from grader.judge.checks import as_numbers, check_close, check_equal, wrong
from grader.judge.outcomes import LEADERBOARD_METRIC, LEADERBOARD_MODEL
from grader.kernel.requests import Call, value
from grader.judge.catalogue import INSTRUCTOR, Check, Exercise, Question, text_answer
from .common import (dict_keys_from_repr, fitted_object, held_out_score, predict_digits, repr_request,
                          require_at_least)

SCORING = "f1_micro"
# Qb: "at least four or five different hyperparameters", each searched over two or more values
MIN_HYPERPARAMETERS = 4
# Qc: the course's RandomizedSearchCV(random_state=42, n_iter=20)
RANDOM_N_ITER = 20
RANDOM_STATE = 42
# Qd: the held-out f1_micro may fall this far below the reference's Search Quest model
QUEST_MARGIN = 0.10

_BEST = re.compile(r"^best: dat=(?P<dat>\S+), score=(?P<score>\S+), "
                   r"model=(?P<cls>[A-Za-z_][A-Za-z0-9_]*)\((?P<params>.*)\)$", re.DOTALL)


# --------------------------------------------------------------------------------------------
# Requests on a fitted search
# --------------------------------------------------------------------------------------------

def mean_test_scores(search: str) -> Call:
    """cv_results_['mean_test_score'] (one number per candidate), fetched as an array."""
    return Call(key=f"{search}.cv_results_['mean_test_score']", function=f"{search}.cv_results_.get",
                args=("mean_test_score",))


def search_needs(search: str, report: str) -> tuple:
    return (repr_request(search), value(f"{search}.best_score_"), value(f"{search}.best_index_"),
            mean_test_scores(search), value(f"{search}.scoring"), value(report))


def candidate_scores(ev, search: str) -> np.ndarray:
    key = f"{search}.cv_results_['mean_test_score']"
    scores = as_numbers(key, ev.answer(key))
    if scores.ndim != 1 or scores.size == 0:
        raise wrong(f"{search}.cv_results_['mean_test_score'] should hold one score per candidate; "
                    f"got shape {scores.shape}")
    return scores


def single_number(name: str, got) -> float:
    arr = as_numbers(name, got).reshape(-1)
    if arr.size != 1:
        raise wrong(f"{name} should be a single number, got {arr.size} numbers")
    return float(arr[0])


def parse_report(name: str, text) -> dict[str, str]:
    """FullReport's 'best: dat=<mode>, score=<0.5f>, model=<Class>(k=v,...)' in its parts."""
    if not isinstance(text, str):
        raise wrong(f"{name} should be the text FullReport returns first, got {type(text).__name__}")
    m = _BEST.match(text.strip())
    if m is None:
        raise wrong(f"{name}: expected FullReport's 'best: dat=..., score=..., model=...(...)', got {text[:200]!r}")
    return m.groupdict()


def search_is_consistent(ev, search: str, report: str, dat: str, cls: str | None = None) -> None:
    """scoring='f1_micro'; best_score_ is mean_test_score[best_index_]; the report string is
    FullReport's for this search (data mode, score to 5 decimals, class of the estimator)."""
    fitted_object(ev, search)
    scoring = ev.answer(f"{search}.scoring")
    if scoring != SCORING:
        raise wrong(f"{search}.scoring: expected {SCORING!r} (the course compares searches by it), got {scoring!r}")
    scores = candidate_scores(ev, search)
    best_index = ev.answer(f"{search}.best_index_")
    if type(best_index) is not int or not 0 <= best_index < scores.size:
        raise wrong(f"{search}.best_index_: expected an index into its {scores.size} candidates, got {best_index!r}")
    best_score = single_number(f"{search}.best_score_", ev.answer(f"{search}.best_score_"))
    check_close(f"{search}.best_score_ vs cv_results_['mean_test_score'][best_index_]", scores[best_index],
                best_score, rtol=1e-9, atol=1e-12)
    parts = parse_report(report, ev.answer(report))
    if parts["dat"] != dat:
        raise wrong(f"{report}: expected the data mode dat={dat}, got dat={parts['dat']} "
                    f"(call LoadAndSetupData('{dat}') before the search)")
    if parts["score"] != f"{best_score:0.5f}":
        raise wrong(f"{report}: expected score={best_score:0.5f} ({search}.best_score_), got score={parts['score']}")
    if cls is not None and parts["cls"] != cls:
        raise wrong(f"{report}: expected a search over an {cls}, got model={parts['cls']}(...)")


def swept_hyperparameters(ev, search: str) -> list[str]:
    return dict_keys_from_repr(f"{search}.best_params_", ev.answer(f"repr({search}.best_params_)"))


# --------------------------------------------------------------------------------------------
# Qa: SVC on iris, against the reference run
# --------------------------------------------------------------------------------------------

def qa_matches_reference(ev) -> None:
    fitted_object(ev, "grid_tuned")
    check_equal("grid_tuned.best_params_", ev.reference("grid_tuned.best_params_"),
                ev.answer("grid_tuned.best_params_"))
    check_close("grid_tuned.best_score_", ev.reference("grid_tuned.best_score_"), ev.answer("grid_tuned.best_score_"),
                rtol=0.0, atol=1e-9)


def qa_report_matches_reference(ev) -> None:
    search_is_consistent(ev, "grid_tuned", "b0", "iris", "SVC")
    check_equal("b0", ev.reference("b0"), ev.answer("b0"))


# --------------------------------------------------------------------------------------------
# Qb: an SGDClassifier grid with at least four hyperparameters
# --------------------------------------------------------------------------------------------

def qb_grid_is_large_enough(ev) -> None:
    text = fitted_object(ev, "grid_tuned_sgd")
    if not text.startswith("GridSearchCV("):
        raise wrong(f"grid_tuned_sgd: expected a GridSearchCV, got {text.split('(', 1)[0]!r}")
    estimator = ev.answer("repr(grid_tuned_sgd.best_estimator_)")
    if not isinstance(estimator, str) or not estimator.startswith("SGDClassifier("):
        raise wrong(f"grid_tuned_sgd.best_estimator_: expected an SGDClassifier, got {str(estimator)[:100]!r}")
    names = swept_hyperparameters(ev, "grid_tuned_sgd")
    if len(names) < MIN_HYPERPARAMETERS:
        raise wrong(f"grid_tuned_sgd searches {len(names)} hyperparameter(s) ({', '.join(names)}): expected at "
                    f"least {MIN_HYPERPARAMETERS}, got {len(names)}; difference {len(names) - MIN_HYPERPARAMETERS}")
    n = candidate_scores(ev, "grid_tuned_sgd").size
    least = 2 ** MIN_HYPERPARAMETERS
    if n < least:
        raise wrong(f"grid_tuned_sgd's grid holds {n} candidates: expected at least {least} (at least "
                    f"{MIN_HYPERPARAMETERS} hyperparameters with two or more values each), got {n}; "
                    f"difference {n - least}")


def qb_search_is_consistent(ev) -> None:
    search_is_consistent(ev, "grid_tuned_sgd", "b_sgd", "iris", "SGDClassifier")


QB_GRID_NEEDS = (repr_request("grid_tuned_sgd"), repr_request("grid_tuned_sgd.best_estimator_"),
                 repr_request("grid_tuned_sgd.best_params_"), mean_test_scores("grid_tuned_sgd"))


# --------------------------------------------------------------------------------------------
# Qc: RandomizedSearchCV(random_state=42, n_iter=20) over the same space
# --------------------------------------------------------------------------------------------

def qc_random_search_settings(ev) -> None:
    text = fitted_object(ev, "random_tuned")
    if not text.startswith("RandomizedSearchCV("):
        raise wrong(f"random_tuned: expected a RandomizedSearchCV, got {text.split('(', 1)[0]!r}")
    check_equal("random_tuned.random_state", RANDOM_STATE, ev.answer("random_tuned.random_state"))
    n_iter = ev.answer("random_tuned.n_iter")
    if n_iter != RANDOM_N_ITER:
        raise wrong(f"random_tuned.n_iter: expected {RANDOM_N_ITER}, got {n_iter!r}"
                    + (f"; difference {n_iter - RANDOM_N_ITER}" if type(n_iter) is int else ""))
    fitted_object(ev, "grid_tuned_sgd")
    grid_names = sorted(swept_hyperparameters(ev, "grid_tuned_sgd"))
    names = sorted(swept_hyperparameters(ev, "random_tuned"))
    if names != grid_names:
        raise wrong(f"random_tuned should search the same hyperparameters as grid_tuned_sgd: expected "
                    f"{', '.join(grid_names)}, got {', '.join(names)}")
    # a space of lists smaller than n_iter is searched completely (scikit-learn warns)
    expected = min(RANDOM_N_ITER, candidate_scores(ev, "grid_tuned_sgd").size)
    n = candidate_scores(ev, "random_tuned").size
    if n != expected:
        raise wrong(f"random_tuned tried {n} candidates: expected {expected}, got {n}; difference {n - expected}")


def qc_search_is_consistent(ev) -> None:
    search_is_consistent(ev, "random_tuned", "b_random", "iris", "SGDClassifier")


# --------------------------------------------------------------------------------------------
# Qd: Search Quest on MNIST, judged on held-out digits
# --------------------------------------------------------------------------------------------

FORBIDDEN = ("keras", "tensorflow", "torch", "scikeras", "skorch", "jax")


def qd_scikit_learn_model(ev) -> None:
    text = fitted_object(ev, "m_mnist")
    module = ev.answer("m_mnist.__class__.__module__")
    if not isinstance(module, str) or not (module == "sklearn" or module.startswith("sklearn.")):
        raise wrong(f"m_mnist: expected a scikit-learn estimator (module sklearn.*), got one from module "
                    f"{module!r}; Keras, TensorFlow and other libraries are not allowed in the Search Quest")
    lowered = text.lower()
    found = [f for f in FORBIDDEN if f in lowered]
    if found:
        raise wrong(f"m_mnist: expected scikit-learn parts only, got {', '.join(found)} inside it: {text[:200]}")


def qd_search_is_consistent(ev) -> None:
    search_is_consistent(ev, "search_mnist", "b_mnist", "mnist")


def f1_micro(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average="micro"))


def qd_held_out_f1(ev) -> None:
    fitted_object(ev, "m_mnist")
    got, ref = held_out_score("m_mnist.predict", "m_mnist", ev, f1_micro)
    ev.record(LEADERBOARD_METRIC, round(got, 6))
    report = ev.answer("b_mnist")
    ev.record(LEADERBOARD_MODEL, report[:500] if isinstance(report, str) else "")
    require_at_least("m_mnist's f1_micro on held-out digits", got, ref, QUEST_MARGIN,
                     hint=" (the grader gives m_mnist raw 0..255 pixel rows, like X_train: scale inside a "
                          "Pipeline, not the data before the search)")


EXERCISE = Exercise(
    name="gridsearch",
    title="Hyperparameters and grid search",
    data=("mnist",),
    questions=(
        Question("gridsearch.qa", "GridSearchCV of an SVC on iris", 2, (
            Check("grid_tuned finds the reference run's best parameters and score", qa_matches_reference,
                  needs=(repr_request("grid_tuned"), value("grid_tuned.best_params_"),
                         value("grid_tuned.best_score_")),
                  public_reference=("grid_tuned.best_params_", "grid_tuned.best_score_")),  # public store
            Check("b0 is FullReport's result, as in the reference run", qa_report_matches_reference,
                  needs=search_needs("grid_tuned", "b0"), public_reference=("b0",)),  # public store
            text_answer())),
        Question("gridsearch.qb", "GridSearchCV of an SGDClassifier", 3, (
            Check(f"grid_tuned_sgd searches at least {MIN_HYPERPARAMETERS} hyperparameters of an SGDClassifier",
                  qb_grid_is_large_enough, needs=QB_GRID_NEEDS, weight=2.0),
            Check("best_score_, cv_results_ and b_sgd agree", qb_search_is_consistent,
                  needs=search_needs("grid_tuned_sgd", "b_sgd")),
            text_answer())),
        Question("gridsearch.qc", "RandomizedSearchCV over the same space", 2, (
            Check(f"random_tuned samples n_iter={RANDOM_N_ITER} candidates (random_state={RANDOM_STATE}) "
                  "of the same space", qc_random_search_settings,
                  needs=(repr_request("random_tuned"), value("random_tuned.random_state"),
                         value("random_tuned.n_iter"), repr_request("random_tuned.best_params_"),
                         mean_test_scores("random_tuned"), *QB_GRID_NEEDS)),
            Check("best_score_, cv_results_ and b_random agree", qc_search_is_consistent,
                  needs=search_needs("random_tuned", "b_random")),
            text_answer())),
        Question("gridsearch.qd", "Search Quest for MNIST", 3, (
            Check("m_mnist is a scikit-learn model (no Keras or TensorFlow)", qd_scikit_learn_model,
                  needs=(repr_request("m_mnist"), value("m_mnist.__class__.__module__"))),
            Check("search_mnist scored with f1_micro; best_score_, cv_results_ and b_mnist agree",
                  qd_search_is_consistent, needs=search_needs("search_mnist", "b_mnist")),
            Check("m_mnist's f1_micro on held-out digits is close to the reference's or better", qd_held_out_f1,
                  needs=(repr_request("m_mnist"), predict_digits("m_mnist"), value("b_mnist")), weight=2.0,
                  judged_by=INSTRUCTOR),
            text_answer())),
    ),
)
