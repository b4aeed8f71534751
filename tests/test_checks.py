"""Check functions: they pass right answers and explain wrong ones with expected, got and the gap."""

import numpy as np
import pytest

from grader.judge.checks import (CheckFailed, wrong, check_agreement, check_between, check_close, check_equal, check_figure,
                           check_text_answered)
from grader.judge.outcomes import Outcome


def fails(fn, *a, **kw) -> CheckFailed:
    with pytest.raises(CheckFailed) as info:
        fn(*a, **kw)
    return info.value


def test_close_accepts_within_the_tolerance_rule_and_either_shape():
    check_close("theta", [[4.0], [3.0]], np.array([4.0 + 5e-7, 3.0]), atol=1e-6, rtol=0)
    check_close("x", 100.0, 100.0 + 5e-6, rtol=1e-7, atol=0)


def test_close_failure_reports_expected_got_and_difference():
    err = fails(check_close, "theta_gd", [4.2, 2.77], [3.9, 2.77], atol=1e-6, rtol=0)
    assert err.outcome is Outcome.WRONG
    assert "expected [4.2, 2.77]" in err.message and "got [3.9, 2.77]" in err.message
    assert "differ by 0.3" in err.message and "position 0" in err.message


def test_close_wrong_size_and_nan():
    assert "holds 3" in fails(check_close, "t", [1, 2], [1, 2, 3]).message
    assert "NaN" in fails(check_close, "t", [1, 2], [np.nan, 2]).message
    assert "infinity" in fails(check_close, "t", 1.0, np.inf).message


def test_close_refuses_non_numbers():
    assert "text" in fails(check_close, "s", 1.0, "1.0").message
    assert "boolean" in fails(check_close, "s", 1.0, True).message


def test_equal_and_agreement():
    check_equal("labels", np.array([1, 2]), np.array([1, 2]))
    assert "1 of 2 values differ" in fails(check_equal, "labels", np.array([1, 2]), np.array([1, 3])).message
    check_agreement("twins", [0, 1, 1], [0, 1, 1])
    err = fails(check_agreement, "twins", [0, 1, 1, 0], [0, 1, 0, 0])
    assert "75.0%" in err.message and "short by 25.0%" in err.message


def test_between_reports_the_shortfall():
    check_between("acc", 0.96, low=0.95)
    err = fails(check_between, "acc", 0.90, low=0.95)
    assert "below the required 0.95" in err.message and "short by 0.05" in err.message


def test_figure_and_text():
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    check_figure("figure", [png])
    assert fails(check_figure, "figure", []).outcome is Outcome.MISSING
    check_text_answered("answer", "The learning rate scales every step taken.")
    assert fails(check_text_answered, "answer", "").outcome is Outcome.MISSING
    assert "2 word(s)" in fails(check_text_answered, "answer", "too short").message


# --- whatever a student's value is, a check ends in CheckFailed, never in another exception ---

@pytest.mark.parametrize("got, words", [
    (10**400, "too large for a floating-point number"),
    ([1.0, 10**400], "too large for a floating-point number"),
    (10**100_000, "an integer of"),  # str() of it would raise: the message must not
    (1 + 2j, "complex"),
    (np.array([1 + 1j]), "complex"),
    ([[1.0, 2.0], [3.0]], "should be numeric"),
    ({"a": 1.0}, "should be numeric"),
    (np.array([True, False]), "boolean"),
    (np.bool_(True), "boolean"),
], ids=lambda v: type(v).__name__ if not isinstance(v, str) else v[:20])
def test_odd_student_values_are_wrong_answers_never_other_exceptions(got, words):
    err = fails(check_close, "x", 1.0, got)
    assert err.outcome is Outcome.WRONG and words in err.message, err.message


@pytest.mark.parametrize("got", [np.longdouble("0.5"), np.float16(0.5), np.array(0.5), np.array([[0.5]], dtype=">f8")])
def test_plain_numeric_types_count_as_the_numbers_they_are(got):
    check_close("x", 0.5, got)
    check_between("x", got, low=0.4, high=0.6)


def test_equal_and_agreement_survive_huge_and_ragged_values():
    assert "an integer of" in fails(check_equal, "n", 3, 10**100_000).message
    assert "not a flat list" in fails(check_agreement, "p", [1, 2], [[1], [2, 3]]).message


def _score(run, student, reference):
    from grader.judge.catalogue import Check, Question
    from grader.judge.score import score_question
    from grader.kernel.execute import Execution
    from grader.kernel.plaindata import Answer
    import nbformat

    q = Question("q", "Q", 1.0, (Check("c", run),))
    ex = Execution(cells={}, answers={"q": {"v": Answer("ok", value=student)}}, events=[], sandbox="",
                   seconds=0.0, notebook=nbformat.v4.new_notebook())
    ref = None if reference is None else {"v": Answer("ok", value=reference)}
    return score_question(q, ex, None, ref).checks[0]


def test_a_check_that_crashes_on_the_students_value_is_a_wrong_answer_not_a_grader_error():
    def fragile(ev):  # a check written for numbers, meeting something else
        if float(ev.answer("v")[0]) != 1.0:
            raise wrong("not one")

    for student in ([], {"a": 1}, [10**400], "text"):
        cr = _score(fragile, student, [1.0])
        assert cr.outcome is Outcome.WRONG, cr.message
        assert "v is not a usable answer" in cr.message


def test_a_check_that_crashes_on_the_reference_too_stays_a_grader_error():
    def broken(ev):
        ev.answer("v")
        raise KeyError("the grader's own table")

    assert _score(broken, [1.0], [1.0]).outcome is Outcome.GRADER_ERROR
    assert _score(broken, [1.0], None).outcome is Outcome.GRADER_ERROR  # no reference: cannot tell

    def grader_fault(ev):
        from grader.judge.score import GraderError
        x = ev.answer("v")
        if x == [1.0]:
            raise GraderError("the grader's MNIST is missing")
        raise ValueError("on the student's value")

    assert _score(grader_fault, [2.0], [1.0]).outcome is Outcome.GRADER_ERROR
