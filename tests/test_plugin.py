"""The pytest plugin as students and instructors use it, run in a real pytest subprocess."""

from __future__ import annotations

import json
import shutil

import jsonschema
import pytest

from conftest import ASSIGNMENT, REPO, SOLUTIONS

pytest_plugins = ["pytester"]
SCHEMA = json.loads((REPO / "tests" / "gradescope_schema.json").read_text())


@pytest.fixture
def workdir(pytester, cache_dir, monkeypatch):
    monkeypatch.setenv("ITMAL_CACHE_DIR", str(cache_dir))
    monkeypatch.delenv("ITMAL_SOLUTIONS", raising=False)
    shutil.copy(ASSIGNMENT / "pytest.ini", pytester.path / "pytest.ini")
    return pytester


def test_reference_notebook_gives_one_passing_test_per_question_and_a_points_table(workdir):
    shutil.copy(SOLUTIONS / "perceptron.ipynb", workdir.path)
    run = workdir.runpytest_subprocess(f"--itmal-solutions={SOLUTIONS}", "--itmal-results", "results.json")
    run.assert_outcomes(passed=4)
    out = run.stdout.str()
    assert "points per question" in out and "TOTAL" in out and "7/7" in out
    doc = json.loads((workdir.path / "results.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    assert doc["score"] == 7 and [t["number"] for t in doc["tests"]] == [
        "perceptron.qa", "perceptron.qb", "perceptron.qc", "perceptron.qd"]


def test_untouched_stub_fails_every_question_as_missing(workdir):
    shutil.copy(ASSIGNMENT / "regularizers.ipynb", workdir.path)
    run = workdir.runpytest_subprocess()
    run.assert_outcomes(failed=4)
    out = run.stdout.str()
    # regularizers.qa's hidden checks (weight 4 of 7) are not loaded here: their share of its
    # 3 points is left to the instructor's run, not handed to the public checks.
    assert ("missing (not attempted): 0/1.2857 points checked here, 1.7143 more judged only by the "
            "instructor's run") in out
    assert "not implemented yet" in out and "TOTAL" in out and "0/4.2857" in out
    assert "checked here: 0/4.2857 points; 1.7143 more points are judged only by the instructor's run" in out


def test_without_solutions_reference_checks_are_left_to_the_instructor(workdir, tmp_path, monkeypatch):
    # A student has only the assignment folder: no solutions/ beside the grader.
    monkeypatch.setenv("ITMAL_SOLUTIONS", str(tmp_path / "no-solutions-here"))
    shutil.copy(SOLUTIONS / "perceptron.ipynb", workdir.path)
    run = workdir.runpytest_subprocess("--itmal-results", "r.json")
    # perceptron.qa's two reference checks are the instructor's: its text answer passes here,
    # so the question passes what is checked here and says the rest is left to the instructor.
    run.assert_outcomes(passed=4)
    out = run.stdout.str()
    assert "passed here; rest judged by the instructor" in out
    assert ("checked here: 5.6667/5.6667 points; 1.3333 more points are judged only by the "
            "instructor's run (perceptron.qa)") in out
    doc = json.loads((workdir.path / "r.json").read_text())
    # not scored here, not failed: the points left to the instructor are not earned here either
    assert doc["score"] == 5.6667


def test_points_survive_pytest_xdist(workdir):
    shutil.copy(SOLUTIONS / "regularizers.ipynb", workdir.path)
    shutil.copy(ASSIGNMENT / "perceptron.ipynb", workdir.path)
    run = workdir.runpytest_subprocess("-n", "2", f"--itmal-solutions={SOLUTIONS}", "--itmal-results", "r.json")
    run.assert_outcomes(passed=4, failed=4)
    doc = json.loads((workdir.path / "r.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    assert len(doc["tests"]) == 8 and doc["score"] == 4.2857  # hidden checks not loaded: 1.7143 left
    assert "4.2857/11.2857" in run.stdout.str()


def test_notebook_option_grades_a_notebook_anywhere(workdir, tmp_path):
    nb = tmp_path / "elsewhere" / "my_regularizers.ipynb"
    nb.parent.mkdir()
    shutil.copy(SOLUTIONS / "regularizers.ipynb", nb)
    (workdir.path / "pytest.ini").unlink()
    run = workdir.runpytest_subprocess(f"--itmal-notebook={nb}", f"--itmal-hidden-checks={REPO / 'hidden' / 'journal2'}")
    run.assert_outcomes(passed=4)


def test_plugin_is_inert_without_its_option(workdir):
    (workdir.path / "pytest.ini").unlink()
    shutil.copy(SOLUTIONS / "perceptron.ipynb", workdir.path)
    workdir.makepyfile(test_plain="def test_one():\n    assert True\n")
    run = workdir.runpytest_subprocess()
    run.assert_outcomes(passed=1)


def test_student_text_in_failures_reaches_the_terminal_inert(workdir):
    """A student's error message holding rich markup and terminal escapes (colour, a window
    title, a clear-screen, a bidi override) is shown literally in pytest's failure report."""
    from conftest import read, replace_cells
    import nbformat

    nb = replace_cells(read(SOLUTIONS / "regularizers.ipynb"), "regularizers.qa",
                       "raise ValueError('[/] [bold]boom[/bold] \\x1b[2J \\x1b]0;pwned\\x07 \\u202e')", which=0)
    nbformat.write(nb, workdir.path / "regularizers.ipynb")
    run = workdir.runpytest_subprocess(f"--itmal-solutions={SOLUTIONS}")
    out = run.stdout.str()
    assert "TOTAL" in out and "[/] [bold]boom[/bold]" in out
    for raw in ("\x1b[2J", "\x1b]0;pwned", "\x07", "\u202e"):
        assert raw not in out
    assert "\\x1b[2J" in out
