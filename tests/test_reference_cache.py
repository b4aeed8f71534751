"""The reference answers' cache and store: a zip of JSON with each array as .npy bytes, read
back exactly, and never trusted further than plain data."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import grader.grade
from grader.grade import reference_answers
from grader.judge import reference
from grader.kernel.plaindata import Answer

ANSWERS = {
    "q.a": {
        "w": Answer("ok", value=np.arange(12, dtype=np.float32).reshape(3, 4) / 7),
        "labels": Answer("ok", value=np.array([True, False, True])),
        "scalar array": Answer("ok", value=np.array(2.5)),
        "empty": Answer("ok", value=np.zeros((0, 784))),
        "ids": Answer("ok", value=np.array([3, -1, 2**40], dtype=np.int64)),
    },
    "q.b": {
        "repr(model)": Answer("ok", value="Perceptron(eta0=0.1) \u00e6\u00f8\u00e5"),
        "shape": Answer("ok", value=[60000, 784]),
        "score": Answer("ok", value=0.9123456789012345),
        "nothing": Answer("ok", value=None),
        "broken": Answer("error", message="NameError: name 'clf' is not defined"),
    },
}


def assert_same(got: dict, expected: dict) -> None:
    assert got.keys() == expected.keys()
    for q in expected:
        assert got[q].keys() == expected[q].keys(), q
        for k, a in expected[q].items():
            b = got[q][k]
            assert (b.status, b.message) == (a.status, a.message), (q, k)
            if isinstance(a.value, np.ndarray):
                assert isinstance(b.value, np.ndarray) and b.value.dtype == a.value.dtype, (q, k)
                assert b.value.shape == a.value.shape and np.array_equal(b.value, a.value), (q, k)
            else:
                assert b.value == a.value and type(b.value) is type(a.value), (q, k)


def test_a_cache_file_is_a_zip_of_json_and_npy_read_back_exactly(tmp_path):
    path = tmp_path / "x.zip"
    reference.store(path, ANSWERS)
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        plain = json.loads(zf.read("answers.json"))
        first = np.load(io.BytesIO(zf.read(plain["q.a"]["w"]["npy"])), allow_pickle=False)
    assert {n for n in names if n.endswith(".npy")} == {f"arrays/{i}.npy" for i in range(5)}
    assert np.array_equal(first, ANSWERS["q.a"]["w"].value)  # plain .npy: numpy reads it as it is
    assert_same(reference.load(path), ANSWERS)


@pytest.mark.parametrize("spoil", ["truncated", "not a zip", "array outside", "pickled array", "no answers"])
def test_a_cache_that_cannot_be_read_is_no_cache(tmp_path, spoil):
    path = tmp_path / "x.zip"
    reference.store(path, ANSWERS)
    data = path.read_bytes()
    if spoil == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif spoil == "not a zip":
        path.write_text(json.dumps({"q.a": {}}))  # the old JSON cache
    else:
        with zipfile.ZipFile(path, "w") as zf:
            if spoil == "array outside":
                zf.writestr("answers.json", json.dumps({"q": {"k": {"status": "ok", "message": "", "npy": "../x.npy"}}}))
                zf.writestr("../x.npy", b"")
            elif spoil == "pickled array":
                buf = io.BytesIO()
                np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
                zf.writestr("answers.json", json.dumps({"q": {"k": {"status": "ok", "message": "", "npy": "arrays/0.npy"}}}))
                zf.writestr("arrays/0.npy", buf.getvalue())
            else:
                zf.writestr("arrays/0.npy", b"")
    assert reference.load(path) is None


def test_a_store_holds_exercises_and_reads_each_on_its_own(tmp_path):
    path = tmp_path / "references.zip"
    other = {"o.a": {"x": Answer("ok", value=np.ones(3))}}
    reference.write_store(path, {"first": ANSWERS, "second": other})
    assert reference.store_exercises(path) == ["first", "second"]
    assert_same(reference.read_store(path, "first"), ANSWERS)
    assert_same(reference.read_store(path, "second"), other)
    assert reference.read_store(path, "third") is None
    # arrays of different exercises never collide: each under its exercise's folder
    with zipfile.ZipFile(path) as zf:
        assert "first/arrays/0.npy" in zf.namelist() and "second/arrays/0.npy" in zf.namelist()


def test_a_real_reference_run_is_cached_as_a_zip_and_loaded_without_running_again(config, monkeypatch):
    exercise = config.catalogue()["perceptron"]
    answers = reference_answers(exercise, config)
    cache_file = grader.grade._solution(exercise, config)[2]
    assert cache_file.name.endswith(".zip") and zipfile.is_zipfile(cache_file)
    arrays = [a.value for qa in answers.values() for a in qa.values() if isinstance(a.value, np.ndarray)]
    assert arrays, "perceptron's reference has arrays (the weights): they go in as .npy"

    def no_run(*args, **kwargs):
        raise AssertionError("the cached reference must not run again")

    monkeypatch.setattr(grader.grade, "_run", no_run)
    assert_same(reference_answers(exercise, config), answers)
