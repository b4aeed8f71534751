"""Perceptron (L09): the Qa score against the reference run's (shipped in the public reference
store), the Qd parity of Perceptron and its SGDClassifier twin, both also judged on moons the
student's code never saw. Qa's model against the reference's is instructor-only, and so are its
moons: hidden/journal2/perceptron.py builds that check with the seed (`qa_model_check`)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from sklearn.datasets import make_moons

from grader.judge.checks import check_agreement, check_close, check_reported
from grader.kernel.requests import Predict, recompute, value
from grader.judge.catalogue import INSTRUCTOR, Check, Exercise, Question, figure, text_answer


# The twins of Qd need only agree with each other: their moons may be public (no labels used).
TWINS_SEED = 20261124


@lru_cache(maxsize=4)
def held_out_moons(seed: int = TWINS_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Moons drawn with a seed the course never used; only the features enter the kernel."""
    return make_moons(n_samples=400, noise=0.1, random_state=seed)


def predict_on_held_out(model: str, seed: int = TWINS_SEED) -> Predict:
    return Predict(key=f"{model}.predict(held-out)", model=model, features=held_out_moons(seed)[0])


def score_of(model: str):
    """The request that recomputes `model.score(X_test, y_test)` in the student's kernel."""
    return recompute(f"{model}.score", "X_test", "y_test")


def reported_score(ev, name: str, model: str) -> float:
    """`name` as reported, once it agrees with `model.score(X_test, y_test)` recomputed."""
    request = score_of(model)
    got = ev.answer(name)
    check_reported(name, request.key, ev.answer(request.key), got)
    return got


def score_matches_reference(ev) -> None:
    got = reported_score(ev, "score_qa", "model_qa")
    check_close("score_qa", ev.reference("score_qa"), got, rtol=0.0, atol=1e-9)


def qa_model_matches_reference(ev) -> None:
    key = "model_qa.predict(held-out)"
    check_agreement("model_qa vs the reference Perceptron on unseen moons", ev.reference(key), ev.answer(key))


def qa_model_check(seed: int) -> Check:
    """model_qa predicts like the reference Perceptron on the moons of the instructor's `seed`."""
    return Check("model_qa predicts like the reference on unseen data", qa_model_matches_reference,
                 needs=(predict_on_held_out("model_qa", seed),), judged_by=INSTRUCTOR)


def scores_identical(ev) -> None:
    """Both scores are the models' own (recomputed here), and they are identical: equal numbers
    typed in for two models that disagree earn nothing."""
    perceptron = reported_score(ev, "PerceptronScore", "PerceptronModel")
    sgd = reported_score(ev, "SGDScore", "SGDModel")
    check_close("SGDScore vs PerceptronScore", perceptron, sgd, rtol=0.0, atol=0.0)


def twins_predict_alike(ev) -> None:
    check_agreement("SGDModel vs PerceptronModel on unseen moons",
                    ev.answer("PerceptronModel.predict(held-out)"), ev.answer("SGDModel.predict(held-out)"))


EXERCISE = Exercise(
    name="perceptron",
    title="Perceptron",
    questions=(
        Question("perceptron.qa", "Default Perceptron on the moons", 2, (
            Check("score_qa equals the reference run's", score_matches_reference,
                  needs=(value("score_qa"), score_of("model_qa")),
                  public_reference=("score_qa",)),  # public: the score ships in the public store
            text_answer()),
                 hidden_weight=1.0),  # instructor-only: model_qa on held-out moons (hidden/journal2/perceptron.py)
        Question("perceptron.qb", "Decision boundary", 1, (figure(),)),
        Question("perceptron.qc", "The XOR problem", 1, (text_answer(),)),
        Question("perceptron.qd", "Perceptron and its SGDClassifier twin", 3, (
            Check("SGDScore and PerceptronScore are the models' own scores, and identical", scores_identical,
                  needs=(value("SGDScore"), value("PerceptronScore"), score_of("SGDModel"),
                         score_of("PerceptronModel")), weight=1.0),
            Check("SGDModel and PerceptronModel predict identically on unseen data", twins_predict_alike,
                  needs=(predict_on_held_out("SGDModel"), predict_on_held_out("PerceptronModel")), weight=1.0),
            text_answer())),
    ),
)
