"""Gradient descent (L05): every theta is judged against least squares on the student's own data,
and must be the end of the path the student's own loop recorded; the Qe figure by the paths it draws."""

from __future__ import annotations

import numpy as np

from grader.judge.checks import CheckFailed, as_numbers, check_close, check_figure, check_reported, wrong
from grader.kernel.requests import value
from grader.judge.catalogue import Check, Exercise, Question, text_answer

DATA = (value("X_b"), value("y"))


def least_squares(ev) -> np.ndarray:
    """The exact minimiser for the student's own X_b, y: the answer every method approaches."""
    X_b = np.asarray(ev.answer("X_b"), dtype=float)
    y = np.asarray(ev.answer("y"), dtype=float).reshape(-1)
    if X_b.ndim != 2 or X_b.shape[1] != 2 or X_b.shape[0] != y.size:
        raise wrong(f"X_b should be an (m, 2) matrix matching y's {y.size} samples; got shape {X_b.shape}")
    if not np.allclose(X_b[:, 0], 1.0):
        raise wrong("the first column of X_b should be the bias column of ones")
    return np.linalg.lstsq(X_b, y, rcond=None)[0]


def path_points(ev, path: str) -> np.ndarray:
    """The thetas the student's own loop appended to `path`, as an (n, 2) array."""
    points = as_numbers(path, ev.answer(path))
    if points.size == 0 or points.size % 2:
        raise wrong(f"{path} should hold every theta your loop visited (each of shape (2, 1)); "
                    f"it holds {points.size} number(s)")
    return points.reshape(-1, 2)


def theta_check(name: str, path: str, *, atol: float, weight: float = 2.0, one_step_allowed: bool = False) -> Check:
    """theta matches least squares, and it is where the student's own path ends: a theta
    typed in (least squares copied from somewhere) earns nothing."""
    def run(ev):
        check_close(name, least_squares(ev), ev.answer(name), atol=atol, rtol=0.0)
        points = path_points(ev, path)
        # Batch GD is deterministic: a loop that appends theta before its update ends one step
        # (as long as the one before it, give or take) short of its theta, which is honest work.
        # Stochastic steps vary too much to tell that from a typed-in value: there the path must
        # end with the theta reported, as the stub asks (append every theta visited).
        last_step = float(np.abs(points[-1] - points[-2]).max()) if one_step_allowed and len(points) > 1 else 0.0
        check_reported(name, f"the last theta of your loop ({path}[-1])", points[-1], ev.answer(name),
                       atol=max(1e-12, 1.5 * last_step))

    return Check(f"{name} matches least squares (±{atol:g}) and ends your {path}", run,
                 needs=(*DATA, value(name), value(path)), weight=weight)


PATHS = ("theta_path_bgd", "theta_path_sgd", "theta_path_mgd")


def paths_behind_figure(ev) -> None:
    """The Qe figure draws the three paths: each must really move through parameter space (a
    path whose thetas all coincide, e.g. one array updated in place and appended every step,
    plots as one point)."""
    check_figure("figure", ev.figures())
    problems = []
    for path in PATHS:
        try:
            points = path_points(ev, path)
        except CheckFailed as exc:
            problems.append(exc.message)
            continue
        if np.unique(points, axis=0).shape[0] < 2:
            problems.append(f"{path}, plotted in the figure, is a single point: all its {points.shape[0]} "
                            f"thetas are {points[0]}. Append a new theta each step (theta = theta - eta * "
                            f"gradients), not the same array updated in place (theta -= ...)")
    if problems:
        raise wrong("; ".join(problems))


def sgd_regressor_check(ev) -> None:
    intercept = np.asarray(ev.answer("sgd_reg.intercept_"), dtype=float).reshape(-1)
    coef = np.asarray(ev.answer("sgd_reg.coef_"), dtype=float).reshape(-1)
    check_close("SGDRegressor [intercept_, coef_]", least_squares(ev), np.r_[intercept, coef], atol=0.1, rtol=0.0)


EXERCISE = Exercise(
    name="gradient_descent",
    title="Gradient descent",
    questions=(
        Question("gradient_descent.qa", "Batch gradient descent", 3, (
            theta_check("theta_gd", "theta_path_bgd", atol=1e-6, one_step_allowed=True), text_answer())),
        Question("gradient_descent.qb", "Stochastic gradient descent", 3, (
            theta_check("theta_sgd", "theta_path_sgd", atol=0.1),
            Check("SGDRegressor matches least squares (±0.1)", sgd_regressor_check,
                  needs=(*DATA, value("sgd_reg.intercept_"), value("sgd_reg.coef_")), weight=2.0),
            text_answer())),
        Question("gradient_descent.qd", "Mini-batch gradient descent", 2, (
            theta_check("theta_mb", "theta_path_mgd", atol=0.1), text_answer())),
        Question("gradient_descent.qe", "Paths in parameter space", 2, (
            Check("figure of the three theta paths, each a real path", paths_behind_figure,
                  needs=tuple(value(p) for p in PATHS)),
            text_answer())),
    ),
)
