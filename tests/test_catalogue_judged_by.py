"""Who judges each check (issue 14): every check is public or instructor-only, declared in the
catalogue, and a self-check's points add up honestly. No kernels here: fast."""

from __future__ import annotations

import inspect
import types

import pytest

from conftest import HIDDEN
from grader.judge.assignments import load as load_assignment
from grader.judge.catalogue import HIDDEN_SLOT, INSTRUCTOR, PUBLIC, Check, load_hidden_checks, with_hidden_checks
from grader.judge.outcomes import CheckResult, Outcome, QuestionResult

EXERCISES = load_assignment("journal2").exercises

# The decisions, as a reader of the catalogue finds them (judged_by=INSTRUCTOR): each of these
# reads the reference solution's answers, which do not ship with the assignment.
INSTRUCTOR_ONLY = {
    "perceptron.qa": {"score_qa equals the reference run's", "model_qa predicts like the reference on unseen data"},
    "gridsearch.qa": {"grid_tuned finds the reference run's best parameters and score",
                      "b0 is FullReport's result, as in the reference run"},
    "gridsearch.qd": {"m_mnist's f1_micro on held-out digits is close to the reference's or better"},
    "naive_bayes.qa": {"gnb (GaussianNB) is as accurate as the reference on held-out digits",
                       "mnb (MultinomialNB) is as accurate as the reference on held-out digits"},
    "generalization_error.qb": {"mse_train and mse_val match the reference run"},
    "pca.qa": {"score_raw and score_reduced match the reference run's"},
    "pca.qb": {"score_denoised beats score_noisy (which matches the reference run's)"},
}


def _reads_reference(fn, seen: set) -> bool:
    """Whether `fn`, or a function of the assignment or the judge it calls, reads `.reference`."""
    if id(fn) in seen:
        return False
    seen.add(id(fn))
    codes = [fn.__code__]
    found = []
    while codes:
        code = codes.pop()
        if "reference" in code.co_names:
            return True
        codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
        found += [fn.__globals__.get(n) for n in code.co_names]
    found += [c.cell_contents for c in (fn.__closure__ or ()) if not _empty(c)]
    return any(isinstance(f, types.FunctionType) and f.__module__.startswith(("grader_journal2", "grader.judge.checks"))
               and _reads_reference(f, seen) for f in found)


def _empty(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return True
    return False


def _all_checks():
    return [(q.id, c) for ex in EXERCISES.values() for q in ex.questions for c in q.checks]


def test_every_check_is_public_or_instructor_only():
    assert {c.judged_by for _, c in _all_checks()} <= {PUBLIC, INSTRUCTOR}
    with pytest.raises(ValueError):
        Check("x", lambda ev: None, judged_by="students")


@pytest.mark.parametrize("qid,check", _all_checks(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_a_check_that_reads_the_reference_is_declared_instructor_only(qid, check):
    assert _reads_reference(check.run, set()) == (check.judged_by == INSTRUCTOR), (
        f"{qid}: {check.name!r} is declared {check.judged_by} but "
        f"{'reads' if _reads_reference(check.run, set()) else 'does not read'} ev.reference")


def test_the_instructor_only_checks_are_the_documented_ones():
    declared = {}
    for qid, c in _all_checks():
        if c.judged_by == INSTRUCTOR:
            declared.setdefault(qid, set()).add(c.name)
    expected = dict(INSTRUCTOR_ONLY)
    for q in ("mlp_mnist.qa", "mlp_mnist.qb"):  # held-out accuracy bars (mlp_moon's are fixed: public)
        expected[q] = declared.get(q, set())
        assert len(expected[q]) == 1 and "reference" in inspect.getsource(
            next(c.run for i, c in _all_checks() if i == q and c.judged_by == INSTRUCTOR))
    assert declared == expected


def test_declared_hidden_weights_match_the_instructors_hidden_checks():
    hidden = load_hidden_checks(HIDDEN, EXERCISES)
    weights = {qid: sum(c.weight for c in checks) for qid, checks in hidden.items()}
    declared = {q.id: q.hidden_weight for ex in EXERCISES.values() for q in ex.questions if q.hidden_weight}
    assert weights == declared
    assert all(c.hidden for checks in hidden.values() for c in checks)


def test_hidden_checks_not_loaded_leave_an_instructor_only_slot_of_their_weight():
    without = with_hidden_checks(EXERCISES, None)["regularizers"].question("regularizers.qa")
    slot = [c for c in without.checks if c.name == HIDDEN_SLOT]
    assert len(slot) == 1 and slot[0].weight == 4.0 and slot[0].hidden and slot[0].instructor_only
    loaded = with_hidden_checks(EXERCISES, HIDDEN)["regularizers"].question("regularizers.qa")
    assert HIDDEN_SLOT not in [c.name for c in loaded.checks] and sum(c.hidden for c in loaded.checks) == 4


def _question(*outcomes_weights, max_points=3.0) -> QuestionResult:
    return QuestionResult("x.qa", "X", max_points,
                          [CheckResult(f"c{i}", o, weight=w) for i, (o, w) in enumerate(outcomes_weights)])


def test_points_left_to_the_instructor_are_not_earned_here_and_add_up_to_the_maximum():
    q = _question((Outcome.NOT_CHECKED, 2.0), (Outcome.PASSED, 1.0), (Outcome.PASSED, 1.0))
    assert q.outcome is Outcome.PARTLY_CHECKED
    assert (q.points, q.checked_max_points, q.unchecked_points) == (1.5, 1.5, 1.5)
    q = _question((Outcome.NOT_CHECKED, 1.0), (Outcome.PASSED, 1.0), (Outcome.PASSED, 1.0), max_points=2.0)
    assert q.points == q.checked_max_points == 1.3333 and q.unchecked_points == 0.6667
    assert q.checked_max_points + q.unchecked_points == q.max_points


def test_a_failed_public_check_is_never_hidden_behind_checks_left_to_the_instructor():
    q = _question((Outcome.NOT_CHECKED, 2.0), (Outcome.WRONG, 1.0), (Outcome.PASSED, 1.0))
    assert q.outcome is Outcome.WRONG and q.points == 0.75 and q.unchecked_points == 1.5


def test_a_question_with_only_instructor_checks_is_not_checked_and_scores_nothing_here():
    q = _question((Outcome.NOT_CHECKED, 1.0), (Outcome.NOT_CHECKED, 2.0))
    assert q.outcome is Outcome.NOT_CHECKED and q.points == 0 and q.unchecked_points == 3.0


def test_when_every_check_runs_points_are_as_before():
    q = _question((Outcome.PASSED, 2.0), (Outcome.WRONG, 1.0))
    assert q.outcome is Outcome.WRONG and q.points == 2.0 and q.unchecked_points == 0
    assert q.check_max_points(q.checks[0]) == 2.0
