"""PCA (L08): the fitted PCAs are checked against the student's own data, on fingerprints fetched
as plain arrays (column means, variances, a few rows; never the whole data sets):

* fitted on the training data: pca.mean_ equals X_train's column means and n_samples_ is
  len(X_train). The classic mistake, `pca.fit_transform(X_test)` (the seed hand-in), leaves
  pca.mean_ equal to X_test's column means, and is named as such;
* the test data transformed with that PCA: the first rows of X_test_reduced equal
  (X_test[rows] - mean_) @ components_.T (a second PCA fitted on the test data fails here);
* the component count is what PCA(0.95) keeps on the student's X_train, recomputed by the grader
  from the total variance of X_train (its column variances) and the fitted explained_variance_;
* scores against the reference run (same profile) within a tolerance; in the noise task, the
  PCA-reduced data must beat the noisy pixels (the question asks for a count that helps)."""

from __future__ import annotations

import numpy as np

from grader.judge.checks import as_numbers, check_close, wrong
from grader.kernel.requests import Call, value
from grader.judge.catalogue import Check, Exercise, Question, text_answer
from grader_journal2.common import fitted_object, repr_request

VARIANCE = 0.95
ROWS = [0, 1, 2]  # rows of X_test / X_test_reduced compared after the grader's own transform
# How far a score may be from the reference run's (same data, same classifier, same profile):
# room for BLAS threading and another solver's last digits, not for a different model.
SCORE_ATOL = {"score_raw": 0.01, "score_reduced": 0.02, "score_noisy": 0.02}
FIT_ON_TEST = ("Fit the PCA on the training data only (pca.fit_transform(X_train)) and only transform the "
               "test data with it (pca.transform(X_test)): a PCA fitted on the test data gives the test digits "
               "other axes than the classifier was trained on, and lets the test data leak into the model.")


def column_stat(array: str, stat: str) -> Call:
    """array.mean(0) / array.var(0): one number per column, fetched as an array."""
    return Call(key=f"{array}.{stat}(axis=0)", function=f"{array}.{stat}", args=(0,))


def rows(array: str) -> Call:
    return Call(key=f"{array}[{ROWS}]", function=f"{array}.__getitem__", args=(ROWS,))


def pca_needs(pca: str, train: str, test: str, test_reduced: str) -> tuple:
    return (repr_request(pca), value(f"{pca}.n_samples_"), value(f"{pca}.mean_"), value(f"{pca}.components_"),
            value(f"{pca}.whiten"), value(f"{pca}.explained_variance_"), value(f"{train}.shape"),
            value(f"{test}.shape"), column_stat(train, "mean"), column_stat(test, "mean"), rows(test),
            rows(test_reduced))


def array_of(ev, key: str, ndim: int) -> np.ndarray:
    arr = as_numbers(key, ev.answer(key))
    if arr.ndim != ndim:
        raise wrong(f"{key} should be an array with {ndim} dimension(s), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise wrong(f"{key} contains NaN or infinity")
    return arr


def n_rows(ev, array: str) -> int:
    shape = ev.answer(f"{array}.shape")
    if not (isinstance(shape, list) and shape and all(type(d) is int for d in shape)):
        raise wrong(f"{array} should be a 2-D array of samples, got shape {shape!r}")
    return shape[0]


def close_to(a: np.ndarray, b: np.ndarray) -> tuple[bool, float]:
    """(a equals b up to float error, the largest difference)."""
    if a.shape != b.shape:
        return False, float("inf")
    diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    return diff <= 1e-6 * max(1.0, float(np.max(np.abs(b))) if b.size else 1.0), diff


def fitted_on_training_data(pca: str, train: str, test: str, test_reduced: str):
    def run(ev) -> None:
        fitted_object(ev, pca)
        mean = array_of(ev, f"{pca}.mean_", 1)
        m_train = array_of(ev, f"{train}.mean(axis=0)", 1)
        m_test = array_of(ev, f"{test}.mean(axis=0)", 1)
        n_train, n_test = n_rows(ev, train), n_rows(ev, test)
        n_samples = ev.answer(f"{pca}.n_samples_")
        on_train, d_train = close_to(mean, m_train)
        on_test, _ = close_to(mean, m_test)
        if (on_test and not on_train) or (n_samples == n_test != n_train and not on_train):
            what = f"{test}'s column means" if on_test else "other column means"
            gap = f"; difference {n_samples - n_train} samples" if type(n_samples) is int else ""
            raise wrong(f"{pca} was fitted on the test data: expected {pca}.mean_ to be {train}'s column means "
                        f"and n_samples_ = len({train}) = {n_train}, got {what} (they differ from {train}'s by up "
                        f"to {d_train:.3g}) and n_samples_ = {n_samples!r}{gap}. " + FIT_ON_TEST)
        if not on_train or n_samples != n_train:
            raise wrong(f"{pca} was not fitted on {train}: expected mean_ = {train}.mean(axis=0) and n_samples_ = "
                        f"{n_train}, got a mean_ that differs from it by up to {d_train:.3g} and n_samples_ = "
                        f"{n_samples!r}. Fit it on {train} as given (pixels 0..1, no other preprocessing).")
        # the test data must be transformed with this PCA, not with one fitted on the test data
        components = array_of(ev, f"{pca}.components_", 2)
        if components.shape[1] != mean.size:
            raise wrong(f"{pca}.components_ should have {mean.size} columns, got shape {components.shape}")
        x = array_of(ev, f"{test}[{ROWS}]", 2)
        if x.shape != (len(ROWS), mean.size):
            raise wrong(f"{test}[{ROWS}] should have shape {(len(ROWS), mean.size)}, got {x.shape}")
        expected = (x - mean) @ components.T
        if ev.answer(f"{pca}.whiten") is True:
            variance = array_of(ev, f"{pca}.explained_variance_", 1)
            if variance.size != components.shape[0] or np.any(variance <= 0):
                raise wrong(f"{pca}.explained_variance_ should hold {components.shape[0]} positive numbers, "
                            f"got shape {variance.shape}")
            expected = expected / np.sqrt(variance)
        got = array_of(ev, f"{test_reduced}[{ROWS}]", 2)
        if got.shape != expected.shape:
            raise wrong(f"{test_reduced} should hold {components.shape[0]} components per test digit "
                        f"({pca}.transform({test})), got rows of shape {got.shape[1:]}")
        ok, diff = close_to(got, expected)
        if not ok:
            raise wrong(f"{test_reduced} is not {pca}.transform({test}): expected {np.round(expected[0, :3], 4)} ... "
                        f"in its first row, got {np.round(got[0, :3], 4)} ...; difference up to {diff:.3g}. "
                        + FIT_ON_TEST)

    return Check(f"{pca} was fitted on {train}, and {test} transformed with it", run,
                 needs=pca_needs(pca, train, test, test_reduced), weight=2.0)


def components_for_variance(explained_variance: np.ndarray, column_variances: np.ndarray, n: int,
                            share: float = VARIANCE) -> tuple[int | None, float]:
    """(how many components PCA(share) keeps, given its explained_variance_ (ddof=1) and the
    data's column variances (ddof=0) of n samples; the variance kept by the components given).
    None when the given components keep less than `share`: PCA would have kept more."""
    total = float(np.sum(column_variances)) * n / (n - 1) if n > 1 else 0.0
    if not total > 0:
        return None, 0.0
    cumulative = np.cumsum(explained_variance) / total
    kept = float(cumulative[-1]) if cumulative.size else 0.0
    if kept <= share:
        return None, kept
    return int(np.searchsorted(cumulative, share, side="right") + 1), kept


def component_count_check(ev) -> None:
    fitted_object(ev, "pca")
    n_train = n_rows(ev, "X_train")
    variances = array_of(ev, "X_train.var(axis=0)", 1)
    explained = array_of(ev, "pca.explained_variance_", 1)
    n_samples = ev.answer("pca.n_samples_")
    if n_samples != n_train:
        raise wrong(f"pca.n_components_ cannot be judged on X_train: pca was fitted on {n_samples!r} samples, "
                    f"X_train holds {n_train} (fit it on X_train)")
    got = ev.answer("pca.n_components_")
    if type(got) is not int:
        raise wrong(f"pca.n_components_ should be a whole number, got {got!r}")
    expected, kept = components_for_variance(explained, variances, n_train)
    # where the cumulative share lies within float error of 0.95, either count is PCA's answer
    cumulative = np.cumsum(explained) / (float(np.sum(variances)) * n_train / max(n_train - 1, 1) or 1.0)
    borderline = {int(i) + d for i in np.flatnonzero(np.abs(cumulative - VARIANCE) < 1e-9) for d in (1, 2)}
    if expected is not None and got in borderline | {expected}:
        return
    if expected is None:
        raise wrong(f"pca keeps {got} components with {kept:.2%} of X_train's variance: expected PCA(n_components="
                    f"{VARIANCE}) to keep at least {VARIANCE:.0%}; difference {kept - VARIANCE:.2%}")
    if got != expected:
        raise wrong(f"pca.n_components_: expected {expected} (what PCA(n_components={VARIANCE}) keeps on your "
                    f"X_train), got {got}; difference {got - expected}")


def scores_match_reference(*names: str):
    def run(ev) -> None:
        for name in names:
            check_close(name, ev.reference(name), ev.answer(name), rtol=0.0, atol=SCORE_ATOL[name])

    return run


def times_measured(ev) -> None:
    for name in ("time_raw", "time_reduced"):
        t = as_numbers(name, ev.answer(name)).reshape(-1)
        if t.size != 1 or not np.isfinite(t[0]) or t[0] <= 0:
            raise wrong(f"{name} should be the training time in seconds (a positive number), got {t.tolist()}")


def denoising_helps(ev) -> None:
    denoised = float(as_numbers("score_denoised", ev.answer("score_denoised")).reshape(-1)[0])
    check_close("score_noisy", ev.reference("score_noisy"), ev.answer("score_noisy"), rtol=0.0,
                atol=SCORE_ATOL["score_noisy"])
    noisy = float(as_numbers("score_noisy", ev.answer("score_noisy")).reshape(-1)[0])
    if not denoised > noisy:
        raise wrong(f"score_denoised should beat score_noisy (find a component count that helps): expected more "
                    f"than {noisy:.4f}, got {denoised:.4f}; difference {denoised - noisy:.4f}")


EXERCISE = Exercise(
    name="pca",
    title="Dimensionality reduction with PCA",
    data=("mnist",),
    questions=(
        Question("pca.qa", "Speed up by compression", 4, (
            fitted_on_training_data("pca", "X_train", "X_test", "X_test_reduced"),
            Check(f"pca keeps the components PCA(n_components={VARIANCE}) needs on X_train", component_count_check,
                  needs=(repr_request("pca"), value("pca.n_samples_"), value("pca.n_components_"),
                         value("pca.explained_variance_"),
                         value("X_train.shape"), column_stat("X_train", "var"))),
            Check("score_raw and score_reduced match the reference run's", scores_match_reference(
                "score_reduced", "score_raw"), needs=(value("score_reduced"), value("score_raw")),
                  public_reference=("score_reduced", "score_raw")),  # public: the scores ship in the public store
            Check("time_raw and time_reduced are measured", times_measured,
                  needs=(value("time_reduced"), value("time_raw")), weight=0.5),
            text_answer())),
        Question("pca.qb", "Noise reduction", 3, (
            fitted_on_training_data("pca_noisy", "X_train_noisy", "X_test_noisy", "X_test_denoised"),
            Check("score_denoised beats score_noisy (which matches the reference run's)", denoising_helps,
                  needs=(value("score_denoised"), value("score_noisy")),
                  public_reference=("score_noisy",)),  # public: the score ships in the public store
            text_answer())),
        Question("pca.qc", "PCA -> t-SNE features", 1, (text_answer(),)),
    ),
)
