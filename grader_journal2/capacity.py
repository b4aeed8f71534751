"""Capacity (L05): the cross-validated MSEs are recomputed by the grader from the student's own
X, y, so a hand-in whose numbers do not follow from its own data is caught (the seed hand-in
reported 0.25 / 0.01 / 21826 for degrees 1 / 4 / 15; today's libraries give 0.408 / 0.0432 / 0.22)."""

from __future__ import annotations

import warnings

import numpy as np

from grader.judge.checks import CheckFailed, as_numbers, check_close, wrong
from grader.kernel.requests import value
from grader.judge.catalogue import Check, Exercise, Question, text_answer

DEGREES = (1, 4, 15)
BEST_DEGREE = 4
CV_FOLDS = 10
# The grader refits on whatever arrives; bound the work a hand-in can ask of it.
MAX_SAMPLES = 10_000
MAX_DEGREE = 20


def relative_tolerance(degree: int) -> float:
    """rtol for a score recomputed in the same environment as the student's kernel.

    Up to degree ~7 the least-squares problem is well conditioned and the grader's numbers
    agree with the kernel's to ~1e-12. A degree-15 polynomial on x in [0, 1) is not: its
    cross-validated MSE depends on the least-squares solver (2019's libraries gave ~1.8e8,
    scikit-learn 1.9 gives 0.22). Refitting in the same environment still agrees to ~1e-10
    (perturbing x by 1e-9 moves it by ~1e-7), so 1 % leaves room for BLAS threading and
    summation order while a number that does not follow from the data (21826) is far off.
    """
    return 1e-6 if degree <= 7 else 1e-2


def student_data(ev, x_key: str = "X", y_key: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """The student's own X (one feature) and y as float arrays, validated."""
    X = as_numbers(x_key, ev.answer(x_key))
    y = as_numbers(y_key, ev.answer(y_key)).reshape(-1)
    if X.ndim > 2 or (X.ndim == 2 and X.shape[1] != 1):
        raise wrong(f"{x_key} should hold one feature (shape (m,) or (m, 1)); got shape {X.shape}")
    X = X.reshape(-1)
    if X.size != y.size:
        raise wrong(f"{x_key} and {y_key} should hold the same number of samples; got {X.size} and {y.size}")
    if not CV_FOLDS <= X.size <= MAX_SAMPLES:
        raise wrong(f"{x_key} should hold between {CV_FOLDS} and {MAX_SAMPLES} samples; got {X.size}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise wrong(f"{x_key} or {y_key} contains NaN or infinity")
    return X, y


def polynomial_pipeline(degree: int):
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import PolynomialFeatures

    return Pipeline([
        ("polynomial_features", PolynomialFeatures(degree=degree, include_bias=False)),
        ("linear_regression", LinearRegression()),
    ])


def recompute(X: np.ndarray, y: np.ndarray, degrees, what: str) -> np.ndarray:
    """Per degree: "cv_mse" (-mean of the 10-fold neg MSE scores, as the course computes
    score_mean) or "train_mse" (the pipeline fitted on all of X, y, scored on it)."""
    from sklearn.model_selection import cross_val_score

    Z = X.reshape(-1, 1)
    out = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for degree in degrees:
                pipeline = polynomial_pipeline(int(degree))
                if what == "cv_mse":
                    scores = cross_val_score(pipeline, Z, y, scoring="neg_mean_squared_error", cv=CV_FOLDS)
                    out.append(-float(np.mean(scores)))
                else:
                    pipeline.fit(Z, y)
                    out.append(float(np.mean((y - pipeline.predict(Z)) ** 2)))
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        raise wrong(f"the scores could not be recomputed from your X, y: {type(exc).__name__}: {exc}") from None
    return np.array(out)


def numbers(values) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in np.asarray(values, dtype=float).reshape(-1)) + "]"


def check_follows_from_data(what: str, name: str, expected: np.ndarray, got, degrees, *,
                            how: str = f"{CV_FOLDS}-fold CV", hints=()) -> None:
    """`got` equals the grader's recomputation `expected` (one value per degree, rtol per degree);
    otherwise 'your reported <what> do not follow from your own data' with expected, got and the
    difference, plus the first hint (a predicate on the got values, a text) that applies."""
    arr = as_numbers(name, got).reshape(-1)
    if arr.size != len(degrees):
        raise wrong(f"{name} should hold one value per degree of {list(degrees)}, {len(degrees)} numbers; "
                    f"got {arr.size}")
    # one rtol per degree; check_close applies the tolerance rule element by element
    rtol = np.array([relative_tolerance(int(d)) for d in degrees])
    try:
        check_close(f"{name} (recomputed by the grader from your X, y: degrees {list(degrees)}, {how})",
                    expected, arr, rtol=rtol, atol=1e-12)
    except CheckFailed as exc:
        hint = next((text for applies, text in hints if np.all(np.isfinite(arr)) and applies(arr, expected)), "")
        raise wrong(f"your reported {what} do not follow from your own data: {exc.message}"
                    + (f". {hint}" if hint else "")) from None


def student_degrees(ev):
    """The student's `degrees` as a list of ints, or None when it is not usable."""
    try:
        degrees = as_numbers("degrees", ev.answer("degrees")).reshape(-1)
    except CheckFailed:
        return None
    if degrees.size == 0 or not np.all(np.isfinite(degrees)) or np.any(degrees != np.round(degrees)):
        return None
    return [int(d) for d in degrees]


def opposite_sign(got, expected) -> bool:
    return bool(np.allclose(got, -expected, rtol=1e-2, atol=1e-12))


def scores_follow_from_data(ev) -> None:
    X, y = student_data(ev)
    hints = [(opposite_sign, "Your values have the opposite sign: cross_val_score with "
              "scoring='neg_mean_squared_error' returns minus the MSE of each fold, so "
              "score_mean = -scores.mean()")]
    mine = student_degrees(ev)
    if mine is not None and mine != list(DEGREES):
        hints.append((lambda got, exp: True,
                      f"Your degrees are {mine}; the exercise asks for {list(DEGREES)}"))
    check_follows_from_data("scores", "score_means", recompute(X, y, DEGREES, "cv_mse"), ev.answer("score_means"),
                            DEGREES, hints=hints)


def medium_degree_is_best(ev) -> None:
    means = as_numbers("score_means", ev.answer("score_means")).reshape(-1)
    mine = student_degrees(ev)
    degrees = mine if mine is not None and len(mine) == means.size else list(DEGREES)
    if means.size != len(degrees) or means.size == 0:
        raise wrong(f"score_means should hold one value per degree of {degrees}; got {means.size}")
    if not np.all(np.isfinite(means)):
        raise wrong(f"score_means contains NaN or infinity: {numbers(means)}")
    best = degrees[int(np.argmin(means))]
    if best != BEST_DEGREE:
        hint = ""
        if np.all(means < 0):
            hint = (" All your score_means are negative, which an MSE cannot be: "
                    "score_mean = -scores.mean() turns the 'neg' scores back into MSEs.")
        raise wrong(f"the degree with the lowest score_mean (cross-validated MSE): expected {BEST_DEGREE}, "
                    f"got {best} (score_means {numbers(means)} for degrees {degrees}).{hint}")


EXERCISE = Exercise(
    name="capacity",
    title="Capacity, under- and overfitting",
    questions=(
        Question("capacity.qa", "Polynomial fitting via code review", 3, (
            Check("score_means follow from your own X, y", scores_follow_from_data,
                  needs=(value("X"), value("y"), value("degrees"), value("score_means")), weight=2.0),
            Check("degree 4 has the lowest score_mean", medium_degree_is_best,
                  needs=(value("degrees"), value("score_means"))),
            text_answer())),
        Question("capacity.qb", "Capacity and under/overfitting", 1, (text_answer(),)),
        Question("capacity.qc", "[optional] The score method", 0.5, (text_answer(),), optional=True),
    ),
)
