"""The kernel-side encoder (requests._FETCH_TEMPLATE), run here in-process: plain numeric
types numpy gives a careless student arrive as the numbers they are, odd numbers are refused
with a reason. (The grader side checks again: the student owns the kernel.)"""

import numpy as np
import pytest
import IPython.display

from grader.kernel.plaindata import decode_answer
from grader.kernel.requests import ANSWER_MIME, fetch_code, value


def fetch_here(obj, monkeypatch):
    sent = []
    monkeypatch.setattr(IPython.display, "publish_display_data", lambda data, *a, **k: sent.append(data))
    exec(fetch_code(value("x"), "n"), {"x": obj})
    assert len(sent) == 1
    return decode_answer(sent[0][ANSWER_MIME], "x")


@pytest.mark.parametrize("obj, expected", [
    (np.longdouble("0.25"), 0.25), (np.float16(0.5), 0.5), (np.array(2.5), 2.5), (np.array(3), 3),
    (np.int8(-4), -4), (np.uint64(2**63), 2**63), (np.bool_(True), True), (np.array(1.5, dtype=">f8"), 1.5),
    (np.array(np.longdouble("1e4000")), float("inf")),
], ids=repr)
def test_plain_numpy_numbers_arrive_as_plain_numbers(obj, expected, monkeypatch):
    ans = fetch_here(obj, monkeypatch)
    assert ans.ok, ans
    assert ans.value == expected and type(ans.value) is type(expected)


@pytest.mark.parametrize("obj, words", [
    (10**400, "too large for a floating-point number"),
    ([1, 10**400], "too large for a floating-point number"),
    (1 + 2j, "complex"), (np.complex128(1j), "complex"), (np.array([1j]), "complex"),
], ids=lambda v: type(v).__name__)
def test_odd_numbers_are_refused_with_a_reason(obj, words, monkeypatch):
    ans = fetch_here(obj, monkeypatch)
    assert ans.status == "unsupported" and words in ans.message, ans


def test_longdouble_arrays_travel_as_arrays(monkeypatch):
    ans = fetch_here(np.array([0.5, 1.5], dtype=np.longdouble), monkeypatch)
    assert ans.ok and ans.value.tolist() == [0.5, 1.5]
