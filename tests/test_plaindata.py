"""What crosses from the kernel is validated: rigged or oversized payloads become 'invalid'."""

import base64
import io

import numpy as np
import pytest

from grader.kernel.plaindata import MAX_TEXT, Answer, decode_answer


def npy_payload(arr, key="k"):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return {"key": key, "status": "ok", "kind": "npy", "value": base64.b64encode(buf.getvalue()).decode()}


def test_numeric_array_round_trips():
    ans = decode_answer(npy_payload(np.arange(6.0).reshape(2, 3)), "k")
    assert ans.ok and type(ans.value) is np.ndarray
    np.testing.assert_array_equal(ans.value, np.arange(6.0).reshape(2, 3))


def test_pickled_object_array_is_refused_not_unpickled():
    ans = decode_answer(npy_payload(np.array([{"a": 1}, None], dtype=object)), "k")
    assert ans.status == "invalid"
    assert "unreadable array" in ans.message or "dtype" in ans.message


def test_string_array_is_not_a_number():
    ans = decode_answer(npy_payload(np.array(["1.0", "2.0"])), "k")
    assert ans.status == "invalid" and "numbers were expected" in ans.message


@pytest.mark.parametrize("payload, why", [
    ("not a dict", "not a JSON object"),
    ({"key": "other", "status": "ok", "kind": "json", "value": 1}, "different request"),
    ({"key": "k", "status": "ok", "kind": "pickle", "value": "gASVAAAA"}, "unknown answer kind"),
    ({"key": "k", "status": "weird"}, "unknown answer status"),
    ({"key": "k", "status": "ok", "kind": "npy", "value": "!!!not base64!!!"}, "unreadable array"),
    ({"key": "k", "status": "ok", "kind": "json", "value": "x" * (MAX_TEXT + 1)}, "characters"),
])
def test_malformed_payloads_are_invalid(payload, why):
    ans = decode_answer(payload, "k")
    assert ans.status == "invalid"
    assert why in ans.message


def test_deeply_nested_json_is_invalid():
    v = []
    for _ in range(50):
        v = [v]
    assert decode_answer({"key": "k", "status": "ok", "kind": "json", "value": v}, "k").status == "invalid"


def test_error_payload_keeps_traceback_bounded():
    ans = decode_answer({"key": "k", "status": "error", "ename": "ValueError", "evalue": "bad",
                         "traceback": "x" * 100_000}, "k")
    assert ans.status == "error" and ans.message == "ValueError: bad" and len(ans.traceback) <= 6000


def test_answer_cache_form_round_trips():
    for a in (Answer("ok", value=np.array([[1, 2]], dtype=np.int32)), Answer("ok", value=0.25), Answer("missing", message="m")):
        b = Answer.from_dict(a.to_dict())
        assert b.status == a.status and b.message == a.message
        np.testing.assert_array_equal(np.asarray(b.value, dtype=object if b.value is None else None), np.asarray(a.value, dtype=object if a.value is None else None))
