"""Generalization error (L05): Qb's per-epoch MSE curves against the reference run (SGD with a
fixed random_state is deterministic in one environment) and best_epoch against the argmin of the
student's own validation curve; Qd's RMSEs recomputed by the grader from the student's own X, y."""

from __future__ import annotations

import numpy as np

from grader.judge.checks import as_numbers, check_close, wrong
from grader.kernel.requests import value
from grader.judge.catalogue import Check, Exercise, Question, text_answer
from grader_journal2.capacity import check_follows_from_data, student_data, recompute as recompute_mse

QD_DEGREES = tuple(range(1, 8))
# Qb: the student's kernel and the reference run execute the same code in the same environment
# (same libraries, OPENBLAS_NUM_THREADS=1 in every kernel), so the curves agree to the last few
# bits; 1e-6 allows a different but equivalent MSE formula (np.mean((y - p)**2)).
CURVE_RTOL, CURVE_ATOL = 1e-6, 1e-9


def epoch_curve(ev, name: str) -> np.ndarray:
    """One of the student's per-epoch MSE arrays, with one finite value per epoch."""
    n_epochs = as_numbers("n_epochs", ev.answer("n_epochs"))
    if n_epochs.size != 1 or n_epochs.reshape(-1)[0] != int(n_epochs.reshape(-1)[0]):
        raise wrong(f"n_epochs should be a whole number; got {ev.answer('n_epochs')!r}")
    n = int(n_epochs.reshape(-1)[0])
    curve = as_numbers(name, ev.answer(name))
    if curve.ndim != 1 or curve.size != n:
        raise wrong(f"{name} should be an array with one MSE per epoch: expected {n} values "
                    f"(n_epochs), got shape {curve.shape}")
    if not np.all(np.isfinite(curve)):
        raise wrong(f"{name} contains NaN or infinity")
    if np.any(curve < 0):
        raise wrong(f"{name} contains negative values, which a mean squared error cannot be "
                    f"(first at epoch {int(np.argmax(curve < 0))})")
    return curve


def curves_have_one_value_per_epoch(ev) -> None:
    epoch_curve(ev, "mse_train")
    epoch_curve(ev, "mse_val")


def best_epoch_is_argmin_of_own_val_curve(ev) -> None:
    mse_val = epoch_curve(ev, "mse_val")
    got = as_numbers("best_epoch", ev.answer("best_epoch")).reshape(-1)
    if got.size != 1 or not np.isfinite(got[0]) or got[0] != round(got[0]):
        raise wrong(f"best_epoch should be one whole number, an index into mse_val; got {ev.answer('best_epoch')!r}")
    best, expected = int(got[0]), int(np.argmin(mse_val))
    if best == expected:
        return
    hint = ""
    try:
        if best == int(np.argmin(epoch_curve(ev, "mse_train"))):
            hint = (" That is the lowest point of mse_train: the best model is chosen on the validation "
                    "set, since the training error keeps falling as the model overfits.")
    except Exception:  # a broken mse_train only loses its hint here; its own check reports it
        pass
    if not hint and best == expected + 1:
        hint = " Epochs are counted from 0 here: mse_val[0] is the error after the first epoch."
    raise wrong(f"best_epoch should be the epoch with the lowest mse_val (the argmin of your own mse_val): "
                f"expected {expected}, got {best}; they differ by {abs(best - expected)} epoch(s).{hint}")


def curves_match_reference(ev) -> None:
    for name in ("mse_train", "mse_val"):
        check_close(f"{name} (the reference run's curve)", ev.reference(name), ev.answer(name),
                    rtol=CURVE_RTOL, atol=CURVE_ATOL)


def _squared(got, expected) -> bool:
    return bool(np.allclose(got, expected ** 2, rtol=1e-4))


def qd_rmse_check(name: str, what: str) -> Check:
    """`name` (one RMSE per degree 1..7) equals the grader's recomputation from the student's
    X, y. An invariant on the student's own data, robust to library versions: degrees up to 7
    are well conditioned, so kernel and grader agree to ~1e-12."""
    kind = "train_mse" if name == "rmses_training" else "cv_mse"

    def run(ev):
        X, y = student_data(ev)
        expected = np.sqrt(recompute_mse(X, y, QD_DEGREES, kind))
        hints = [(_squared, "These are the MSEs, not the RMSEs: take the square root")]
        how = "fitted on all of X, y" if kind == "train_mse" else "10-fold CV"
        check_follows_from_data(what, name, expected, ev.answer(name), QD_DEGREES, how=how, hints=hints)

    label = "training RMSEs" if kind == "train_mse" else "10-fold CV RMSEs"
    return Check(f"{name} ({label}) follow from your own X, y", run,
                 needs=(value("X"), value("y"), value(name)))


EXERCISE = Exercise(
    name="generalization_error",
    title="Generalization error",
    questions=(
        Question("generalization_error.qa", "Figure 5.3: training and generalization error", 1, (text_answer(),)),
        Question("generalization_error.qb", "The MSE-epoch plot", 3, (
            Check("mse_train and mse_val hold one MSE per epoch", curves_have_one_value_per_epoch,
                  needs=(value("n_epochs"), value("mse_train"), value("mse_val"))),
            Check("best_epoch is the argmin of your own mse_val", best_epoch_is_argmin_of_own_val_curve,
                  needs=(value("n_epochs"), value("mse_train"), value("mse_val"), value("best_epoch"))),
            Check("mse_train and mse_val match the reference run", curves_match_reference,
                  needs=(value("mse_train"), value("mse_val")), weight=2.0,
                  public_reference=("mse_train", "mse_val")),  # public: the curves ship in the public store
            text_answer())),
        Question("generalization_error.qc", "[optional] Early stopping", 0.5, (text_answer(),), optional=True),
        Question("generalization_error.qd", "The RMSE-capacity plot", 2, (
            qd_rmse_check("rmses_training", "training RMSEs"),
            qd_rmse_check("rmses_validation", "validation RMSEs"),
            text_answer())),
    ),
)
