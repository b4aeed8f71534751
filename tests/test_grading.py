"""End to end with real sandboxed kernels: reference, stubs, and samples named by their outcome."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import nbformat
import pytest

from conftest import ASSIGNMENT, SOLUTIONS, TEST_LIMITS, by_id, insert_cell_after, replace_cells
from grader.grade import grade_submission
from grader.judge.outcomes import Outcome
from grader.outputs.report import gradescope_results


def test_reference_solutions_score_full_marks_with_hidden_checks(config):
    result = grade_submission(SOLUTIONS, config)
    assert {q.id.split(".")[0] for q in result.questions} == set(config.catalogue())
    bad = {q.id: q.feedback() for q in result.questions if q.outcome is not Outcome.PASSED}
    assert bad == {}
    assert result.points == result.max_points and result.verdict == "pass"
    assert any(c.hidden for q in result.questions for c in q.checks), "hidden checks were not loaded"


def test_untouched_stubs_score_zero_and_every_question_is_missing(config):
    result = grade_submission(ASSIGNMENT, config)
    assert result.points == 0
    assert {q.id: q.outcome for q in result.questions} == {q.id: Outcome.MISSING for q in result.questions}


def test_omega_including_the_bias_fails_only_regularizers_qa(config, sample):
    path = sample("regularizers-omega-includes-bias", "regularizers", lambda nb: replace_cells(
        nb, "regularizers.qa", "import numpy as np\ndef Omega(w):\n    return float(np.sum(np.asarray(w) ** 2))\n",
        which=0))
    q = by_id(grade_submission(path, config))
    assert set(q) == {"regularizers.qa", "regularizers.qb", "regularizers.qc", "regularizers.qd"}
    assert q["regularizers.qa"].outcome is Outcome.WRONG and q["regularizers.qa"].points == 0
    feedback = q["regularizers.qa"].feedback(show_hidden=True)
    assert "Omega(w_a): expected 13, got 14" in feedback and "differ by 1" in feedback
    # hidden checks fail too, but a student's view never shows their inputs
    assert "hidden check: wrong answer" in q["regularizers.qa"].feedback(show_hidden=False)
    assert "7.5" not in q["regularizers.qa"].feedback(show_hidden=False)
    for other in ("regularizers.qb", "regularizers.qc", "regularizers.qd"):
        assert q[other].outcome is Outcome.PASSED


def test_cell_error_fails_dependent_question_with_traceback_and_later_cells_still_run(config, sample):
    path = sample("gradient-descent-qb-raises", "gradient_descent", lambda nb: replace_cells(
        nb, "gradient_descent.qb", "theta_sgd = undefined_helper(X_b, y)\n", which=0))
    q = by_id(grade_submission(path, config))
    assert q["gradient_descent.qb"].outcome is Outcome.CODE_FAILED
    assert "NameError" in q["gradient_descent.qb"].feedback() and "undefined_helper" in q["gradient_descent.qb"].feedback()
    assert q["gradient_descent.qa"].outcome is Outcome.PASSED
    assert q["gradient_descent.qd"].outcome is Outcome.PASSED


def test_sigint_ignoring_loop_times_out_only_its_question_within_the_notebook_limit(config, sample):
    loop = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"
    path = sample("perceptron-qc-loop-ignores-sigint-times-out", "perceptron",
                  lambda nb: insert_cell_after(nb, "perceptron.qb", loop))
    cfg = replace(config, limits=replace(TEST_LIMITS, cell_timeout=5, notebook_timeout=60, interrupt_grace=2))
    started = time.monotonic()
    q = by_id(grade_submission(path, cfg))
    assert time.monotonic() - started < 60
    assert q["perceptron.qb"].outcome is Outcome.TIMED_OUT
    assert "ignored the interrupt" in q["perceptron.qb"].feedback()
    # earlier and later questions are graded: the kernel was restarted and replayed
    for other in ("perceptron.qa", "perceptron.qc", "perceptron.qd"):
        assert q[other].outcome is Outcome.PASSED, q[other].feedback()


def test_notebook_time_limit_kills_the_kernel_and_stops_the_rest(config, sample):
    path = sample("perceptron-sleeps-past-notebook-limit", "perceptron",
                  lambda nb: insert_cell_after(nb, "perceptron.qa", "import time\ntime.sleep(10**6)\n"))
    cfg = replace(config, limits=replace(TEST_LIMITS, cell_timeout=60, notebook_timeout=12))
    started = time.monotonic()
    q = by_id(grade_submission(path, cfg))
    assert time.monotonic() - started < 40
    assert q["perceptron.qa"].outcome is not Outcome.PASSED  # its last cell is the sleeper
    assert q["perceptron.qd"].outcome is Outcome.TIMED_OUT
    assert "time limit" in q["perceptron.qd"].feedback()
    assert not any(x.outcome is Outcome.PASSED for x in q.values() if x.id != "perceptron.qc")


@pytest.mark.parametrize("killer, words", [
    ("import os\nos._exit(0)\n", "exited with status 0"),
    ("import ctypes\nctypes.string_at(0)\n", "segmentation fault"),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", "SIGKILL"),
])
def test_kernel_killed_mid_run_is_reported_never_passed(config, sample, killer, words):
    name = "perceptron-qd-kernel-dies"
    path = sample(name, "perceptron", lambda nb: replace_cells(nb, "perceptron.qd", killer, which=-1))
    q = by_id(grade_submission(path, config))
    qd = q["perceptron.qd"]
    assert qd.outcome is Outcome.KERNEL_DIED
    # only the text answer, which no kernel can take away, keeps its point
    assert [c.outcome for c in qd.checks if c.name != "text answer"] == [Outcome.KERNEL_DIED] * 2
    assert qd.points == 1
    assert words in qd.feedback()
    assert q["perceptron.qa"].outcome is Outcome.PASSED


def test_grading_twice_gives_identical_results_json(config, sample):
    path = sample("gradient-descent-correct", "gradient_descent")
    docs = [json.dumps(gradescope_results(grade_submission(path, config)), sort_keys=True) for _ in range(2)]
    assert docs[0] == docs[1]


def test_unreadable_and_foreign_notebooks_are_outcomes_not_crashes(config, tmp_path):
    (tmp_path / "perceptron.ipynb").write_text("{ this is not json")
    (tmp_path / "holiday-photos.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    result = grade_submission(tmp_path, config)
    q = by_id(result)
    assert q["perceptron.qa"].outcome is Outcome.MISSING
    assert "not a valid Jupyter notebook" in q["perceptron.qa"].feedback()
    assert q["regularizers.qa"].outcome is Outcome.MISSING
    assert "no notebook for this exercise" in q["regularizers.qa"].feedback()
    assert any("holiday-photos" in n for n in result.notes)


def test_the_submitted_notebook_file_is_never_modified(config, sample):
    path = sample("regularizers-correct", "regularizers")
    before = path.read_bytes()
    grade_submission(path, config)
    assert path.read_bytes() == before


def test_questions_are_found_by_headings_when_students_lose_the_tags(config, sample):
    def drop_tags(nb):
        for cell in nb.cells:
            cell.metadata.pop("tags", None)
        return nb

    path = sample("regularizers-tags-lost-still-graded", "regularizers", drop_tags)
    result = grade_submission(path, config)
    assert result.points == result.max_points, [q.feedback() for q in result.questions]


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_a_kernel_that_cannot_start_is_a_grader_error_and_the_run_is_not_final(config, sample, monkeypatch, warm):
    import grader.kernel.manager
    import grader.kernel.zygote

    def no_fork(self, argv, stdout_fd):
        raise grader.kernel.zygote.ZygoteFailed("the zygote did not fork a kernel")

    # warm: the zygote fails too, and the cold start it falls back on is the broken one
    monkeypatch.setattr(grader.kernel.zygote.Zygote, "fork_kernel", no_fork)
    monkeypatch.setattr(grader.kernel.manager.GraderKernelManager, "format_kernel_cmd",
                        lambda self, extra_arguments=None: ["/bin/sh", "-c", "echo broken-kernel >&2; exit 1"])
    result = grade_submission(sample("perceptron-grader-broken", "perceptron"), replace(config, warm_kernels=warm))
    assert not result.final
    q = by_id(result)
    qd = q["perceptron.qd"]
    assert qd.outcome is Outcome.GRADER_ERROR
    # no free points from the checks that broke; the text answer, judged without a kernel, counts
    assert [c.outcome for c in qd.checks if c.name != "text answer"] == [Outcome.GRADER_ERROR] * 2
    assert qd.points == 1
    assert q["perceptron.qc"].outcome is Outcome.PASSED
    assert any("broken-kernel" in n for n in result.notes)


def test_a_wait_on_the_kernel_that_hangs_is_stopped_as_a_grader_error(config, sample, monkeypatch):
    import asyncio

    import grader.kernel.execute

    async def hangs(self, i):  # as a lost message in a library's await would
        await asyncio.Event().wait()

    monkeypatch.setattr(grader.kernel.execute._Runner, "run_cell", hangs)
    monkeypatch.setattr(grader.kernel.execute, "HANG_BACKSTOP", 3.0)
    cfg = replace(config, limits=replace(TEST_LIMITS, notebook_timeout=5))
    started = time.monotonic()
    result = grade_submission(sample("perceptron-grader-hangs", "perceptron"), cfg)
    assert time.monotonic() - started < 60
    assert not result.final
    assert by_id(result)["perceptron.qd"].outcome is Outcome.GRADER_ERROR
    assert any("hung; stopped after 8 s" in n for n in result.notes), result.notes


def test_two_unanswered_sub_questions_send_the_journal_back(config, sample):
    def leave_two_answers_empty(nb):
        for cell in nb.cells:
            if set(cell.metadata.get("tags", [])) & {"regularizers.qc.answer", "regularizers.qd.answer"}:
                cell.source = "YOUR ANSWER HERE"
        return nb

    one = grade_submission(sample("regularizers-one-answer-empty-passes", "regularizers",
                                  lambda nb: replace_cells(nb, "regularizers.qd.answer", "")), config)
    assert one.unanswered == ["regularizers.qd"] and one.verdict == "pass"
    two = grade_submission(sample("regularizers-two-answers-empty-resubmit", "regularizers",
                                  leave_two_answers_empty), config)
    assert two.unanswered == ["regularizers.qc", "regularizers.qd"] and two.verdict == "resubmit"
    assert "Journal verdict: resubmit" in gradescope_results(two)["output"]


def test_one_combined_notebook_holding_several_exercises_is_run_once_and_graded_for_each(config, tmp_path):
    """Some groups hand in one notebook with every exercise; questions are found by tags, and
    by the exercise's heading plus question headings when the tags are lost."""
    combined = nbformat.v4.new_notebook()
    for name in ("regularizers", "perceptron"):
        part = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
        combined.cells += part.cells
    for i, cell in enumerate(combined.cells):
        cell.id = f"c{i}"
    nbformat.write(combined, tmp_path / "journal2-group07.ipynb")
    result = grade_submission(tmp_path / "journal2-group07.ipynb", config)
    assert [q.id.split(".")[0] for q in result.questions] == ["regularizers"] * 4 + ["perceptron"] * 4
    assert result.points == result.max_points, [q.feedback() for q in result.questions]

    for cell in combined.cells:
        cell.metadata.pop("tags", None)
    (tmp_path / "untagged").mkdir()
    nbformat.write(combined, tmp_path / "untagged" / "journal2-group08.ipynb")
    untagged = grade_submission(tmp_path / "untagged" / "journal2-group08.ipynb", config)
    assert {q.id: q.outcome for q in untagged.questions if q.id.startswith("regularizers")} == {
        "regularizers.qa": Outcome.PASSED, "regularizers.qb": Outcome.PASSED,
        "regularizers.qc": Outcome.PASSED, "regularizers.qd": Outcome.PASSED}
