"""Who judges each check (issue 14): every check is public or instructor-only, declared in the
catalogue, and a self-check's points add up honestly. No kernels here: fast."""

from __future__ import annotations

import inspect
import types

import pytest

from conftest import HIDDEN, REPO
from grader.judge.assignments import load as load_assignment
from grader.judge.catalogue import HIDDEN_SLOT, INSTRUCTOR, PUBLIC, Check, load_hidden_checks, with_hidden_checks
from grader.judge.outcomes import CheckResult, Outcome, QuestionResult

EXERCISES = load_assignment("journal2").exercises

# The decisions, as a reader of the catalogue finds them (judged_by=INSTRUCTOR): each of these
# compares with the reference solution's answers on held-out data, which a student never has.
INSTRUCTOR_ONLY = {
    "gridsearch.qd": {"m_mnist's f1_micro on held-out digits is close to the reference's or better"},
    "naive_bayes.qa": {"gnb (GaussianNB) is as accurate as the reference on held-out digits",
                       "mnb (MultinomialNB) is as accurate as the reference on held-out digits"},
}
# Public checks that read reference values the assignment ships (Check.public_reference).
SHIPPED_REFERENCE = {
    "perceptron.qa": {"score_qa"},
    "gridsearch.qa": {"grid_tuned.best_params_", "grid_tuned.best_score_", "b0"},
    "generalization_error.qb": {"mse_train", "mse_val"},
    "pca.qa": {"score_raw", "score_reduced"},
    "pca.qb": {"score_noisy"},
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
def test_a_check_that_reads_the_reference_is_instructor_only_or_names_the_shipped_values(qid, check):
    declared = check.judged_by == INSTRUCTOR or bool(check.public_reference)
    assert _reads_reference(check.run, set()) == declared, (
        f"{qid}: {check.name!r} is declared {check.judged_by} (ships {check.public_reference}) but "
        f"{'reads' if _reads_reference(check.run, set()) else 'does not read'} ev.reference")


def test_the_shipped_reference_values_are_the_documented_ones():
    shipped = {}
    for qid, c in _all_checks():
        shipped.setdefault(qid, set()).update(c.public_reference)
    assert {q: k for q, k in shipped.items() if k} == SHIPPED_REFERENCE
    with pytest.raises(ValueError):
        Check("x", lambda ev: None, judged_by=INSTRUCTOR, public_reference=("x",))


def test_the_instructor_only_checks_are_the_documented_ones():
    declared = {}
    for qid, c in _all_checks():
        if c.judged_by == INSTRUCTOR:
            declared.setdefault(qid, set()).add(c.name)
    expected = dict(INSTRUCTOR_ONLY)
    for q in ("mlp_mnist.qa", "mlp_mnist.qb"):  # held-out accuracy bars
        expected[q] = declared.get(q, set())
        assert len(expected[q]) == 1 and "reference" in inspect.getsource(
            next(c.run for i, c in _all_checks() if i == q and c.judged_by == INSTRUCTOR))
    assert declared == expected


def test_declared_hidden_weights_match_the_instructors_hidden_checks():
    hidden = load_hidden_checks(HIDDEN, EXERCISES)
    weights = {qid: sum(c.weight for c in checks) for qid, checks in hidden.items()}
    declared = {q.id: q.hidden_weight for ex in EXERCISES.values() for q in ex.questions if q.hidden_weight}
    assert weights == declared
    assert all(c.instructor_only for checks in hidden.values() for c in checks)


# Instructor-only checks whose inputs (held-out moons) must not be derivable from what a student
# installs: they live in the hidden folder, with their seeds (issue 14).
SEEDED_IN_HIDDEN = {"perceptron.qa": {"model_qa predicts like the reference on unseen data"},
                    "mlp_moon.qa": {"model_sgd bends its boundary around unseen moons (accuracy at least 0.92)"},
                    "mlp_moon.qc": {"model_tuned bends its boundary around unseen moons (accuracy at least 0.92)"}}


def test_held_out_seeds_live_only_with_the_hidden_checks():
    import ast

    instructor = {}
    seeds = []
    for path in sorted(HIDDEN.glob("*.py")):
        tree = ast.parse(path.read_text())
        seeds += [n.value.value for n in tree.body if isinstance(n, ast.Assign)
                  and any(getattr(t, "id", "") == "HELD_OUT_SEED" for t in n.targets)]
    for qid, checks in load_hidden_checks(HIDDEN, EXERCISES).items():
        for c in checks:
            if not c.hidden:
                assert c.judged_by == INSTRUCTOR and c.weight > 0
                instructor.setdefault(qid, set()).add(c.name)
    assert instructor == SEEDED_IN_HIDDEN and len(seeds) == 2
    shipped = [p for d in ("grader_journal2", "assignments") for p in (REPO / d).rglob("*") if p.is_file()]
    for seed in seeds:
        assert not [p for p in shipped if str(seed).encode() in p.read_bytes()], seed


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
