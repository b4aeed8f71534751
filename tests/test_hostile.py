"""The hostile corpus (tests/hostile/corpus.py), case by case: each case gets the outcome its
name says, with a message a student understands, and never points its code did not earn.

Cases covered elsewhere: test_sandbox.py (network, secrets, writes outside scratch, memory and
fork bombs, floods, input()), test_grading.py (SIGINT-ignoring loop, notebook time limit,
os._exit/segfault/SIGKILL, invalid JSON, foreign notebooks), test_plaindata.py (rigged float,
malformed payloads), test_batch.py (zip traversal). `-m slow`: the 2 GB print flood.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import resource
import time

import pytest

from conftest import TEST_LIMITS, by_id, needs_sandbox
from grader.grade import grade_submission
from grader.judge.outcomes import Outcome
from grader.inputs.submissions import SubmissionRejected, extract_zip
from hostile import corpus
from test_sandbox import run_cells

QA = "regularizers.qa"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile")


def grade(path, config):
    return by_id(grade_submission(path, config))


def assert_wrong_without_points(q, *words):
    """regularizers.qa: a wrong answer, no check passed, the message says why."""
    assert q.outcome is Outcome.WRONG, q.feedback()
    assert q.points == 0, q.feedback()
    feedback = q.feedback()
    for w in words:
        assert w in feedback, feedback


def assert_others_full(q):
    for other in ("regularizers.qb", "regularizers.qc", "regularizers.qd"):
        assert q[other].outcome is Outcome.PASSED, q[other].feedback()


# --- lying values -------------------------------------------------------------------------

def test_ndarray_subclass_with_rigged_eq_arrives_as_its_numbers_and_is_wrong(config, folder):
    q = grade(corpus.ndarray_subclass_with_rigged_eq_is_wrong_answer(folder), config)
    # 14 is the bias-including Omega(w_a): the subclass's real numbers, not its claims
    assert_wrong_without_points(q[QA], "Omega(w_a): expected 13, got 14")
    assert_others_full(q)


def test_object_with_rigged_array_protocol_is_judged_by_what_it_converts_to(config, folder):
    q = grade(corpus.rigged_array_protocol_is_judged_by_its_array_wrong_answer(folder), config)
    assert_wrong_without_points(q[QA], "Omega(w_a): expected 13, got 14")


def test_billion_element_array_is_refused_in_the_kernel_quickly(config, folder):
    started = time.monotonic()
    q = grade(corpus.billion_element_array_is_not_a_usable_answer(folder), config)
    assert_wrong_without_points(q[QA], "not a usable answer", "1000000000 elements", "at most 64 MB")
    assert time.monotonic() - started < 60


def test_gigabyte_string_where_a_number_is_expected_is_not_a_usable_answer(config, folder):
    q = grade(corpus.gigabyte_string_is_not_a_usable_answer(folder), config)
    assert_wrong_without_points(q[QA], "not a usable answer", "a text of 1000000000 characters")
    assert_others_full(q)
    # the grader never held the string: its own peak memory stays far below 1 GB
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 900 * 1024


# --- tampering ----------------------------------------------------------------------------

def test_monkeypatched_numpy_and_sklearn_in_the_kernel_do_not_fool_the_grader(config, folder):
    q = grade(corpus.patched_numpy_and_sklearn_is_still_wrong_answer(folder), config)
    assert_wrong_without_points(q[QA], "Omega(w_a): expected 13, got 14")


def test_fake_answer_messages_from_cells_and_threads_are_ignored(config, folder):
    result = grade_submission(corpus.pre_emitted_and_sprayed_fake_answers_are_ignored_wrong_answer(folder), config)
    q = by_id(result)
    # The fakes carry the right values for the given vectors; only the genuine (wrong) answer,
    # sent in reply to the grader's request with its nonce, counts.
    assert_wrong_without_points(q[QA], "Omega(w_a): expected 13, got 14")
    assert_others_full(q)
    # the fakes did reach the grader inside its requests' replies, and were turned away
    assert any("not sent by the grader's request were ignored" in n for n in result.notes), result.notes


def test_replacing_the_kernel_side_fetch_helper_earns_nothing_it_could_not_hard_code(config, folder):
    q = grade(corpus.replaced_fetch_helper_fails_hidden_checks(folder), config)[QA]
    # A student owns the kernel, so a forged answer is the student's answer, no more: the
    # given vectors' known answers pass (as hard-coding them would); every hidden check fails.
    assert q.outcome is Outcome.WRONG
    hidden = [c for c in q.checks if c.hidden]
    assert hidden and all(c.outcome is Outcome.WRONG for c in hidden)
    assert q.points < q.max_points / 2


def test_fake_results_json_and_imitated_grader_output_change_nothing(config, folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    q = grade(corpus.fake_results_json_changes_nothing_stub_scores_zero(folder, out), config)
    assert all(x.points == 0 for x in q.values())
    assert q[QA].outcome is Outcome.MISSING
    if config.sandbox.enabled:  # the output directory is not even visible to the kernel
        assert not (out / "results.json").exists()
        assert not (folder / "results.json").exists()


# --- files and resources ------------------------------------------------------------------

def test_deleting_the_input_notebook_is_harmless(config, folder):
    path = corpus.deleting_the_input_notebook_is_harmless_full_marks(folder)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    q = grade(path, config)
    assert all(x.outcome is Outcome.PASSED for x in q.values()), [x.feedback() for x in q.values()]
    if config.sandbox.enabled:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before


@needs_sandbox
def test_thread_bomb_fails_its_cell_and_the_kernel_goes_on(config):
    ex = run_cells([corpus.THREAD_BOMB, "after = started"], config, fetch=("after",))
    assert ex.cells[0].status == "error", ex.cells[0]
    assert ex.cells[0].ename == "RuntimeError" and "thread" in ex.cells[0].evalue
    started = ex.answers["q"]["after"].value
    assert 0 < started <= TEST_LIMITS.processes
    assert ex.cells[1].status == "ok"


@needs_sandbox
def test_filling_the_scratch_disk_is_the_students_enospc_not_the_hosts(config, tmp_path):
    limits = dataclasses.replace(TEST_LIMITS, scratch_home=32 * 2**20)
    tmp_before = os.statvfs(tmp_path).f_bfree
    ex = run_cells([corpus.FILL_THE_DISK, "probe = open('after.txt', 'w').write('x') if False else 1"],
                   config, limits=limits, fetch=("written", "failure", "probe"))
    answers = ex.answers["q"]
    assert answers["failure"].value == 28  # ENOSPC, in the sandbox's own tmpfs
    assert answers["written"].value <= 32 * 2**20
    assert answers["probe"].value == 1
    # nothing of it landed on the host's disk (the grader's temporary files live there)
    assert os.statvfs(tmp_path).f_bfree >= tmp_before - (16 * 2**20) // os.statvfs(tmp_path).f_frsize


def test_thread_bomb_and_full_disk_in_a_notebook_cost_only_their_own_cells(config, folder):
    config = dataclasses.replace(config, limits=dataclasses.replace(config.limits, scratch_home=64 * 2**20))
    for build in (corpus.thread_bomb_fails_its_cell_full_marks_elsewhere,
                  corpus.filling_the_scratch_disk_fails_its_cell_full_marks_elsewhere):
        q = grade(build(folder), config)
        assert all(x.outcome is Outcome.PASSED for x in q.values()), [x.feedback() for x in q.values()]


# --- malformed notebooks --------------------------------------------------------------------

def test_nbformat_v3_notebook_is_upgraded_and_graded(config, folder):
    q = grade(corpus.nbformat_v3_is_upgraded_full_marks(folder), config)
    assert all(x.outcome is Outcome.PASSED for x in q.values()), [x.feedback() for x in q.values()]


def test_duplicate_cell_ids_are_renumbered_and_graded(config, folder):
    q = grade(corpus.duplicate_cell_ids_are_renumbered_full_marks(folder), config)
    assert all(x.outcome is Outcome.PASSED for x in q.values()), [x.feedback() for x in q.values()]


def test_200_mb_notebook_is_refused_by_its_size_before_it_is_read(config, folder):
    path = corpus.huge_notebook_is_unreadable(folder)
    started = time.monotonic()
    q = grade(path, config)
    assert time.monotonic() - started < 10  # refused by its size: never parsed
    assert q[QA].outcome is Outcome.MISSING and q[QA].points == 0
    assert "200 MB; notebooks over 50 MB are not graded" in q[QA].feedback()
    path.unlink()


def test_a_notebook_for_another_assignment_is_ignored_with_a_note(config, folder):
    path = corpus.another_assignments_notebook_is_ignored(folder)
    result = grade_submission(path, config)
    assert result.questions == [] or all(x.points == 0 for x in result.questions)
    assert any("not one of this assignment's notebooks" in n for n in result.notes)


# --- zips -----------------------------------------------------------------------------------

@pytest.mark.parametrize("build, words", [
    (corpus.zip_with_symlink_out_is_rejected, "the zip contains a link (solutions-link)"),
    (corpus.zip_bomb_is_rejected, "(at most 200 MB)"),
    (corpus.zip_bomb_lying_header_is_rejected, "data.bin"),
])
def test_hostile_zips_are_rejected_before_anything_is_written_outside(build, words, tmp_path):
    zpath = build(tmp_path)
    dest = tmp_path / "extracted"
    dest.mkdir()
    with pytest.raises(SubmissionRejected) as info:
        extract_zip(zpath, dest)
    assert words in str(info.value), str(info.value)
    assert not any(p.is_symlink() for p in dest.rglob("*"))
    assert sum(p.stat().st_size for p in dest.rglob("*") if p.is_file()) < 2 * 2**20


# --- slow -----------------------------------------------------------------------------------

@pytest.mark.slow
@needs_sandbox
def test_two_gigabyte_print_flood_is_cut_off_and_the_grader_stays_small(config):
    flood = "import sys\nline = 'x' * 1023 + '\\n'\nfor _ in range(2 * 2**20):\n    sys.stdout.write(line)\n"
    ex = run_cells([flood, "ok = 1"], config, limits=dataclasses.replace(TEST_LIMITS, cell_timeout=240,
                                                                       notebook_timeout=300), fetch=("ok",))
    assert ex.cells[0].status in ("ok", "error", "timeout")
    assert ex.answers["q"]["ok"].value == 1
    kept = sum(len(o.get("text", "")) for o in ex.notebook.cells[0].outputs)
    assert kept <= TEST_LIMITS.output_per_cell + 4096
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 1500 * 1024


@needs_sandbox
def test_a_cell_that_breaks_traceback_formatting_still_counts_as_failed(config):
    hide = ("ip = get_ipython()\n"
            "ip.InteractiveTB.structured_traceback = lambda *a, **k: 1 / 0\n"
            "raise ValueError('hidden')\n")
    ex = run_cells([hide, "after = 1"], config, fetch=("after",))
    assert ex.cells[0].status == "error" and ex.cells[0].ename == "ValueError", ex.cells[0]
    assert ex.answers["q"]["after"].value == 1


# --- nothing a student sends becomes a grader error ----------------------------------------

def assert_final_student_outcome(result, q):
    assert q[QA].outcome is not Outcome.GRADER_ERROR, q[QA].feedback()
    assert result.final, [x.feedback() for x in q.values()]


def test_an_answer_of_10_to_the_400_is_not_a_usable_answer(config, folder):
    result = grade_submission(corpus.huge_int_answer_is_not_a_usable_answer(folder), config)
    q = by_id(result)
    assert_wrong_without_points(q[QA], "not a usable answer", "too large for a floating-point number")
    assert_final_student_outcome(result, q)


def test_numpy_scalar_types_and_0d_arrays_count_as_the_numbers_they_are(config, folder):
    q = grade(corpus.numpy_scalar_types_are_numbers_full_marks(folder), config)
    assert q[QA].outcome is Outcome.PASSED, q[QA].feedback()


def test_malformed_kernel_messages_are_dropped_with_a_note_never_a_grader_error(config, folder):
    result = grade_submission(corpus.malformed_kernel_messages_are_dropped_wrong_answer(folder), config)
    q = by_id(result)
    assert_wrong_without_points(q[QA], "Omega(w_a): expected 13, got 14")
    assert_final_student_outcome(result, q)
    assert_others_full(q)
    notes = "\n".join(result.notes)
    for words in ("malformed kernel message(s) dropped", "nested more than", "more than 2000000 values",
                  "invalid signature", "not UTF-8", "malformed header", "not a JSON object"):
        assert words in notes, notes


def test_a_forged_npy_header_declaring_a_terabyte_is_not_a_usable_answer(config, folder):
    result = grade_submission(corpus.terabyte_npy_header_is_not_a_usable_answer(folder), config)
    q = by_id(result)
    assert_wrong_without_points(q[QA], "not a usable answer", "over 64 MB")
    assert_final_student_outcome(result, q)
