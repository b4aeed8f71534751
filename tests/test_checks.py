"""Check functions: they pass right answers and explain wrong ones with expected, got and the gap."""

import numpy as np
import pytest

from grader.judge.checks import (CheckFailed, check_agreement, check_between, check_close, check_equal, check_figure,
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
