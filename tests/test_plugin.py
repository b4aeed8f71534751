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


@pytest.mark.slow  # every exercise twice (TensorFlow, MNIST): about 9 minutes on 2 cores
def test_self_check_of_the_typical_mistakes_is_honest(workdir, tmp_path, monkeypatch, config):
    """Issue 14: a student's self-check (no solutions, no hidden checks) of the typical-mistakes
    example never shows as passed a question that the instructor's run marks wrong through a
    public check, and its points checked here plus those left to the instructor make the maximum."""
    import xml.etree.ElementTree as ET
    from dataclasses import replace

    from conftest import EXAMPLES, TEST_LIMITS
    from grader.grade import grade_submission
    from grader.judge.outcomes import Outcome

    example = EXAMPLES / "group02-typical-mistakes"
    empty = tmp_path / "no-solutions-here"
    empty.mkdir()
    monkeypatch.setenv("ITMAL_SOLUTIONS", str(empty))
    monkeypatch.delenv("ITMAL_HIDDEN_CHECKS", raising=False)
    for nb in example.glob("*.ipynb"):
        shutil.copy(nb, workdir.path)
    run = workdir.runpytest_subprocess("--itmal-results", "r.json", "--junitxml", "j.xml")
    out = run.stdout.str()
    doc = json.loads((workdir.path / "r.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    here = {t["number"]: t for t in doc["tests"]}
    items = {}
    for case in ET.parse(workdir.path / "j.xml").iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        items[case.get("name")] = kinds[0] if kinds else "passed"

    # The instructor's run of the same notebooks: solutions and hidden checks, every check runs.
    keras = replace(config, limits=replace(TEST_LIMITS, cell_timeout=120, notebook_timeout=400))
    instructor = grade_submission(example, keras)
    catalogue = keras.catalogue()
    public = {(q.id, c.name) for ex in catalogue.values() for q in ex.questions for c in q.checks
              if not c.instructor_only}

    assert set(here) == {q.id for q in instructor.questions}
    wrong_by_public = []
    for q in instructor.questions:
        mine = here[q.id]
        assert mine["max_score"] == q.max_points
        failed_public = [c.name for c in q.checks if c.outcome is not Outcome.PASSED and (q.id, c.name) in public]
        if failed_public:
            wrong_by_public.append(q.id)
            assert mine["extra_data"]["outcome"] not in ("passed", "partly_checked"), (q.id, failed_public, mine)
            assert items[q.id] == "failure", (q.id, failed_public, items[q.id])
        outcome = mine["extra_data"]["outcome"]
        # pytest's verdict agrees with the table: passed (or passed here), skipped, or failed
        assert items[q.id] == {"passed": "passed", "partly_checked": "passed",
                               "not_checked": "skipped"}.get(outcome, "failure"), (q.id, outcome)
        if outcome == "passed":
            assert mine["extra_data"]["judged_only_by_instructor"] == 0
        # nothing a check left to the instructor could earn is counted here
        assert mine["score"] <= q.max_points - mine["extra_data"]["judged_only_by_instructor"] + 1e-9
    assert wrong_by_public, "the example should hold mistakes public checks find"
    # The two questions: no longer "passed" here.
    assert here["mlp_moon.qa"]["extra_data"]["outcome"] != "passed"
    assert here["perceptron.qa"]["extra_data"]["outcome"] != "passed"

    # The summary line, in the terminal: points checked here + points left to the instructor == max.
    line = next(l for l in out.splitlines() if l.startswith("checked here: "))
    got, checked_max = (float(x) for x in line.split()[2].split("/"))
    left = float(line.split("; ")[1].split()[0])
    left_list = line.split("(")[-1].rstrip(")").split(", ")
    assert round(checked_max + left, 4) == instructor.max_points
    assert got == round(sum(t["score"] for t in doc["tests"]), 4)
    assert sorted(left_list) == sorted(t["number"] for t in doc["tests"]
                                       if t["extra_data"]["judged_only_by_instructor"])
    assert "perceptron.qa" in left_list and "mlp_mnist.qa" in left_list and "regularizers.qa" in left_list
