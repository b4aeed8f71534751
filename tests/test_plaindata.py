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


def _npy_with_header(header: dict, data: bytes = b"", key="k") -> dict:
    """.npy bytes with a hand-written header: what a student's own kernel could send."""
    text = repr(header).encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    raw = b"\x93NUMPY\x01\x00" + (len(text) + pad + 1).to_bytes(2, "little") + text + b" " * pad + b"\n" + data
    return {"key": key, "status": "ok", "kind": "npy", "value": base64.b64encode(raw).decode()}


@pytest.mark.parametrize("header, data, why", [
    ({"descr": "<f8", "fortran_order": False, "shape": (2**37,)}, b"\0" * 8, "over 64 MB"),  # a terabyte
    ({"descr": "<f8", "fortran_order": False, "shape": (2**31, 2**31, 2**31)}, b"", "over 64 MB"),
    ({"descr": "<f8", "fortran_order": False, "shape": (4,)}, b"\0" * 8, "declares 32 bytes"),
    ({"descr": "<f8", "fortran_order": False, "shape": (1,)}, b"\0" * 16, "declares 8 bytes"),
    ({"descr": "<f8", "fortran_order": False, "shape": (-1,)}, b"\0" * 8, ""),
    ({"descr": [("a", "<f8"), ("b", "<i4")], "fortran_order": False, "shape": (1,)}, b"\0" * 12, "numbers were expected"),
    ({"descr": "|O", "fortran_order": False, "shape": (1,)}, b"\0" * 8, ""),
    ({"descr": "<c16", "fortran_order": False, "shape": (1,)}, b"\0" * 16, "numbers were expected"),
    ({"descr": "<f8", "fortran_order": "yes", "shape": (1,)}, b"\0" * 8, ""),
    ({"descr": "<f8", "fortran_order": False, "shape": (1.5,)}, b"\0" * 8, ""),
    ({"descr": "<f8", "shape": (1,)}, b"\0" * 8, "unreadable"),
])
def test_npy_header_is_checked_against_the_bytes_before_anything_is_allocated(header, data, why):
    ans = decode_answer(_npy_with_header(header, data), "k")
    assert ans.status == "invalid", ans
    assert why in ans.message


@pytest.mark.parametrize("arr", [
    np.arange(6, dtype=">i4").reshape(2, 3), np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    np.array([1.5, 2.5], dtype=np.float16), np.array([0.1], dtype=np.longdouble), np.array(3.0),
    np.array([True, False]), np.zeros((0, 3)),
])
def test_plain_numeric_arrays_of_any_byte_order_and_layout_round_trip(arr):
    ans = decode_answer(npy_payload(arr), "k")
    assert ans.ok, ans
    assert ans.value.dtype.isnative and ans.value.flags.c_contiguous and ans.value.flags.writeable
    np.testing.assert_array_equal(ans.value, arr)


def test_an_integer_beyond_float_range_is_not_a_usable_number():
    ans = decode_answer({"key": "k", "status": "ok", "kind": "json", "value": [1, 10**400]}, "k")
    assert ans.status == "invalid" and "too large for a floating-point number" in ans.message
