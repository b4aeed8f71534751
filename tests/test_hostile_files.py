"""A submission is files, never links (issue 11): links and special files in a folder
submission are skipped with a note, the exercise they would give is missing with that reason,
the rest is graded, and no output ever shows a byte of a file that was refused or unparsable.

The hostile folders (tests/hostile/corpus.py) are graded by the real batch, and its outputs
read back as an instructor or a student would read them.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import signal
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import by_id
from grader.grade import reference_answers
from grader.inputs.notebook import NotebookUnreadable, parse_notebook, read_notebook
from grader.inputs.submissions import SubmissionRejected, extract_zip, fingerprint
from grader.judge.outcomes import Outcome
from grader.judge.reference import write_store
from grader.runners.batch import grade_batch
from hostile import corpus
from test_batch import quiet_progress

BATCH_SECONDS = 180  # a blocked open would never end: the alarm turns it into a failure


@contextmanager
def deadline(seconds: int):
    def expired(*_):
        raise TimeoutError(f"still running after {seconds} s: something blocked")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


BUILDERS = [corpus.link_to_the_solution_earns_nothing, corpus.link_to_another_groups_notebook_earns_nothing,
            corpus.link_to_a_secret_file_shows_nothing_of_it, corpus.dangling_link_is_missing,
            corpus.link_to_a_folder_of_solutions_earns_nothing,
            corpus.fifo_notebook_does_not_block_the_rest_is_graded,
            corpus.invalid_json_is_unreadable_and_never_quoted]


@pytest.fixture(scope="module")
def batch(config, tmp_path_factory):
    """Every folder case graded in one batch: (out folder, {case: submission folder}, seconds)."""
    root = tmp_path_factory.mktemp("hostile-files")
    subs = {build.__name__: build(root / "in") for build in BUILDERS}
    out = root / "out"
    # Only regularizers is ever graded here: its reference alone, as a store (the batch would
    # otherwise run every exercise's reference first)
    store = root / "references.zip"
    write_store(store, {"regularizers": reference_answers(config.catalogue()["regularizers"], config)})
    config = dataclasses.replace(config, references=store)
    started = time.monotonic()
    with deadline(BATCH_SECONDS):
        report = grade_batch(list(subs.values()), out, config, jobs=2, progress=quiet_progress(len(subs)))
    assert report.failed == [], report.failed
    return out, {case: path.name for case, path in subs.items()}, time.monotonic() - started


def outputs(out: Path, name: str) -> dict[str, str]:
    """Every file the batch wrote for one submission, and the shared gradebook, as text."""
    files = {p.name: p.read_text(errors="replace") for p in (out / name).iterdir() if p.is_file()}
    files["gradebook.csv"] = (out / "gradebook.csv").read_text()
    return files


def results(out: Path, name: str) -> dict[str, dict]:
    doc = json.loads((out / name / "results.json").read_text())
    return {t["number"]: t for t in doc["tests"]} | {"": doc}


def row(out: Path, name: str) -> dict[str, str]:
    with open(out / "gradebook.csv", newline="") as f:
        return next(r for r in csv.DictReader(f) if r["submission"] == name)


def all_text(out: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in out.rglob("*") if p.is_file())


def fragments(texts: list[str]) -> list[str]:
    """Plain runs of words from each text (HTML escaping leaves them alone)."""
    found = [max(re.findall(r"[A-Za-z ,]{25,}", t), key=len, default="").strip() for t in texts]
    return [f for f in found if len(f) >= 20]


def assert_exercise_missing_because(out: Path, name: str, exercise: str, words: str):
    doc = results(out, name)[""]
    tests = [t for t in doc["tests"] if t["number"].startswith(exercise + ".")]
    assert tests, doc
    for t in tests:
        assert t["score"] == 0, t
        assert words in t["output"], t["output"]
    assert float(row(out, name)["total"]) == doc["score"]


def test_a_link_to_the_solution_earns_nothing_and_copies_none_of_its_answers(batch):
    out, names, _ = batch
    name = names["link_to_the_solution_earns_nothing"]
    assert_exercise_missing_because(out, name, "regularizers",
                                    "regularizers.ipynb is a link; links are not graded, hand in the file itself")
    assert float(row(out, name)["total"]) == 0
    answers = fragments(corpus.solution_text_answers())
    assert len(answers) == 3
    for text in outputs(out, name).values():
        for answer in answers:
            assert answer not in text


def test_a_link_to_another_groups_notebook_earns_nothing(batch):
    out, names, _ = batch
    name = names["link_to_another_groups_notebook_earns_nothing"]
    assert_exercise_missing_because(out, name, "regularizers", "is a link")
    assert float(row(out, name)["total"]) == 0
    assert corpus.OTHER_GROUP_MARKER not in all_text(out)


def test_a_link_to_a_secret_file_shows_nothing_of_it(batch):
    out, names, _ = batch
    name = names["link_to_a_secret_file_shows_nothing_of_it"]
    assert_exercise_missing_because(out, name, "perceptron", "perceptron.ipynb is a link")
    assert corpus.SECRET_MARKER[:20] not in all_text(out)
    assert "root:$6$" not in all_text(out)


def test_a_dangling_link_is_missing_with_its_reason(batch):
    out, names, _ = batch
    assert_exercise_missing_because(out, names["dangling_link_is_missing"], "regularizers", "is a link")


def test_a_link_to_a_folder_is_not_entered(batch):
    out, names, _ = batch
    name = names["link_to_a_folder_of_solutions_earns_nothing"]
    assert float(row(out, name)["total"]) == 0
    assert "journal2 is a link; links are not graded" in results(out, name)[""]["output"]
    for text in outputs(out, name).values():
        for answer in fragments(corpus.solution_text_answers()):
            assert answer not in text


def test_a_fifo_does_not_block_and_the_rest_is_graded(batch):
    out, names, seconds = batch
    name = names["fifo_notebook_does_not_block_the_rest_is_graded"]
    assert seconds < BATCH_SECONDS
    assert_exercise_missing_because(out, name, "perceptron", "perceptron.ipynb is a FIFO (named pipe)")
    doc = results(out, name)
    for q in ("regularizers.qa", "regularizers.qb"):
        assert doc[q]["score"] == doc[q]["max_score"] > 0, doc[q]


def test_invalid_json_is_described_by_line_and_column_never_quoted(batch):
    out, names, _ = batch
    name = names["invalid_json_is_unreadable_and_never_quoted"]
    assert_exercise_missing_because(out, name, "regularizers", "is not valid JSON")
    assert "at line 2, column 3" in (out / name / "results.json").read_text()
    assert corpus.INVALID_JSON_MARKER not in all_text(out)


# --- the mechanism, without a kernel -------------------------------------------------------------

def test_fingerprint_neither_follows_links_nor_blocks_on_a_fifo(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("one")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "a.ipynb").write_text("{}")
    (sub / "link.ipynb").symlink_to(secret)
    os.mkfifo(sub / "pipe.ipynb")
    (sub / ".git").mkdir()
    (sub / ".git" / "HEAD").write_text("ref")
    with deadline(10):
        before = fingerprint(sub)
        secret.write_text("two")  # what a link points to is not handed in
        (sub / ".git" / "HEAD").write_text("other")  # nor are hidden folders
        assert fingerprint(sub) == before
        (sub / "a.ipynb").write_text('{"x": 1}')
        assert fingerprint(sub) != before


def test_a_link_swapped_in_after_the_walk_is_refused_at_the_open(tmp_path):
    root = tmp_path / "sub"
    (root / "part").mkdir(parents=True)
    (root / "x.ipynb").symlink_to(corpus.SOLUTION)
    with pytest.raises(NotebookUnreadable, match="x.ipynb is a link"):
        read_notebook(root / "x.ipynb", root)
    # a folder on the way that became a link is refused too
    (root / "part").rmdir()
    (root / "part").symlink_to(corpus.SOLUTION.parent, target_is_directory=True)
    with pytest.raises(NotebookUnreadable, match="part is a link"):
        read_notebook(root / "part" / "regularizers.ipynb", root)
    os.mkfifo(root / "fifo.ipynb")
    with deadline(10), pytest.raises(NotebookUnreadable, match="FIFO"):
        read_notebook(root / "fifo.ipynb", root)


M = corpus.INVALID_JSON_MARKER


@pytest.mark.parametrize("data", [
    f"{M}".encode(), f'{{"cells": "{M}'.encode(), f'"{M}"'.encode(), f'{{"nbformat": "{M}"}}'.encode(),
    f'{{"nbformat": 4, "nbformat_minor": 5, "metadata": {{}}, "cells": "{M}"}}'.encode(),
    f'{{"nbformat": 4, "nbformat_minor": 5, "metadata": {{}}, "{M}": 1, "cells": []}}'.encode(),
    f'{{"nbformat": 4, "nbformat_minor": 5, "metadata": {{}}, "cells": [{{"cell_type": "{M}", "source": "", '
    f'"metadata": {{}}, "id": "a"}}]}}'.encode(),
    f'{{"nbformat": 4, "nbformat_minor": 5, "metadata": {{"kernelspec": "{M}"}}, "cells": []}}'.encode(),
    f'{{"nbformat": 3, "nbformat_minor": 0, "metadata": {{}}, "worksheets": "{M}"}}'.encode(),
    b"[" * 100_000 + M.encode(),
], ids=["text", "unterminated", "string", "version", "cells", "extra-key", "cell-type", "kernelspec", "v3",
        "deep"])
def test_no_notebook_error_quotes_the_file(data):
    with pytest.raises(NotebookUnreadable) as info:
        parse_notebook(data, "x.ipynb")
    assert M not in str(info.value) and "x.ipynb" in str(info.value), str(info.value)


def test_no_zip_error_quotes_what_is_in_the_zip(tmp_path):
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("regularizers.ipynb", (M + " ") * 2000)
    raw = bytearray(damaged.read_bytes())
    start = raw.index(b"regularizers.ipynb") + len("regularizers.ipynb")
    raw[start + 4: start + 40] = bytes(36)  # the deflated stream, broken
    damaged.write_bytes(bytes(raw))
    (tmp_path / "garbage.zip").write_bytes(b"PK\x05\x06" + M.encode() * 10)
    for path in (damaged, tmp_path / "garbage.zip"):
        dest = tmp_path / f"out-{path.stem}"
        dest.mkdir()
        with pytest.raises(SubmissionRejected) as info:
            extract_zip(path, dest)
        assert M not in str(info.value), str(info.value)


def test_grade_submission_names_a_link_in_the_notes(config, tmp_path):
    sub = corpus.dangling_link_is_missing(tmp_path)
    result = grade_submission_quietly(sub, config)
    assert any("regularizers.ipynb is a link" in n for n in result.notes), result.notes
    assert by_id(result)["regularizers.qa"].outcome is Outcome.MISSING


def grade_submission_quietly(path, config):
    from grader.grade import grade_submission

    return grade_submission(path, config)


def test_the_cluster_packs_only_regular_notebooks_and_names_what_it_skipped(tmp_path):
    pytest.importorskip("distributed")
    from grader.inputs.submissions import Submission
    from grader.runners.cluster import pack

    sub = corpus.fifo_notebook_does_not_block_the_rest_is_graded(tmp_path)
    (sub / "journal2").symlink_to(corpus.SOLUTION.parent, target_is_directory=True)
    (sub / "gradient_descent.ipynb").symlink_to(corpus.SOLUTION)
    with deadline(10):
        suffix, payload, skipped = pack(Submission("x", sub))
    with zipfile.ZipFile(__import__("io").BytesIO(payload)) as zf:
        assert zf.namelist() == ["regularizers.ipynb"]
    assert sorted(rel for rel, _ in skipped) == ["gradient_descent.ipynb", "journal2", "perceptron.ipynb"]


def test_the_gradescope_runner_does_not_follow_a_link_to_a_zip(tmp_path):
    from grader.runners.gradescope import _submission_path

    outside = tmp_path / "outside.zip"
    with zipfile.ZipFile(outside, "w") as zf:
        zf.write(corpus.SOLUTION, "regularizers.ipynb")
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "mine.zip").symlink_to(outside)
    path, why = _submission_path(submission, tmp_path / "work")
    assert path == submission and why == ""
    assert not (tmp_path / "work" / "unzipped").exists()


@pytest.mark.parametrize("names", [["a", "a/b.ipynb"], ["x" * 300 + ".ipynb"], ["a/b.ipynb", "a"]])
def test_zip_entry_names_the_file_system_refuses_are_a_clear_refusal(tmp_path, names):
    """A file and a folder of one name, a name too long: the student's names, so a refusal
    with a reason, never a grader error. (zipfile itself cuts a name at a NUL byte.)"""
    path = tmp_path / "names.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            zf.writestr(zipfile.ZipInfo(name), "{}")
    with pytest.raises(SubmissionRejected, match="not a usable file name"):
        extract_zip(path, tmp_path / "out")
