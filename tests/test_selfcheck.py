"""Issue 14: the students' self-check. The public reference store (built by one command, plain
values only), the in-notebook `check()` in a real kernel, and its messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from conftest import ASSIGNMENT, REPO, SOLUTIONS, read, replace_cells
from grader.inputs.notebook import is_self_check_cell, without_self_checks
from grader.kernel.execute import cell_label
from grader.judge import public_store
from grader.judge.assignments import load as load_assignment
from grader.judge.outcomes import Outcome
from grader.runners import incell

JOURNAL2 = load_assignment("journal2")
SHIPPED = JOURNAL2.public_store


def _solution_code_lines(exercises) -> list[str]:
    """Every substantial line of the solutions' code cells (what must never ship)."""
    lines = []
    for name in exercises:
        for cell in read(SOLUTIONS / f"{name}.ipynb").cells:
            if cell.cell_type == "code":
                lines += [ln.strip() for ln in cell.source.splitlines() if len(ln.strip()) >= 16]
    return lines


def _holds_only_the_listed_plain_values(store: dict) -> None:
    for name, questions in store["values"].items():
        assert {q: sorted(k) for q, k in questions.items()} == {
            q: sorted(k) for q, k in public_store.listed_keys(JOURNAL2.exercises[name]).items()}
        for answers in questions.values():
            for a in answers.values():
                assert set(a) <= {"status", "value", "array"}
                if "array" in a:
                    assert np.dtype(a["array"]["dtype"]).kind in "biuf"
                else:
                    assert isinstance(a["value"], (int, float, str, list, dict))
                    assert not isinstance(a["value"], str) or len(a["value"]) <= public_store.MAX_TEXT
    text = json.dumps(store)
    leaked = [ln for ln in _solution_code_lines(store["values"]) if ln in text]
    assert not leaked, f"solution code in the public store: {leaked[:3]}"


def test_public_store_builds_in_one_command_and_holds_no_solution_code(tmp_path, cache_dir):
    out = tmp_path / "public_reference.json"
    done = subprocess.run(
        [sys.executable, "-m", "grader.runners.cli", "build-public-store", "--exercises", "perceptron",
         "--out", str(out), "--solutions", str(SOLUTIONS)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "ITMAL_CACHE_DIR": str(cache_dir)})
    assert done.returncode == 0, done.stdout + done.stderr
    store = json.loads(out.read_text())
    assert store["profile"] == "quick" and list(store["values"]) == ["perceptron"]
    _holds_only_the_listed_plain_values(store)
    # read back as a self-check reads it: the score the course's text prints
    score = public_store.read(out, "perceptron", "quick")["perceptron.qa"]["score_qa"].value
    assert 0.5 < score <= 1.0
    assert public_store.read(out, "perceptron", "full") is None  # made for another profile: not used


def test_the_shipped_store_covers_every_listed_value_and_holds_no_solution_code():
    store = json.loads(SHIPPED.read_text())
    wanted = {name for name, ex in JOURNAL2.exercises.items() if public_store.listed_keys(ex)}
    assert set(store["values"]) == wanted
    _holds_only_the_listed_plain_values(store)


def test_the_package_ships_the_store_the_stubs_and_every_module():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    setup = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {str(p.parent.relative_to(REPO)).replace("/", ".")
               for top in ("grader", "grader_journal2", "itmal_grader") for p in (REPO / top).rglob("*.py")}
    assert set(setup["packages"]) == folders | {"grader_journal2.stubs"}  # a new module folder is listed
    assert setup["package-dir"] == {"grader_journal2.stubs": "assignments/journal2"}
    assert setup["package-data"]["grader_journal2"] == ["public_reference.json"]
    assert SHIPPED.parent == REPO / "grader_journal2"


# --------------------------------------------------------------------------------------------
# check() in a notebook, with a real kernel
# --------------------------------------------------------------------------------------------

WRONG_OMEGA = "def Omega(w):\n    return float(np.sum(np.asarray(w, dtype=float) ** 2))  # the bias too\n"
RIGHT_OMEGA = "def Omega(w):\n    return float(np.sum(np.asarray(w, dtype=float)[1:] ** 2))\ncheck('regularizers.qa')\n"


def _outputs(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def test_check_in_a_notebook_reports_a_wrong_omega_with_the_graders_message(tmp_path):
    nb = replace_cells(read(ASSIGNMENT / "regularizers.ipynb"), "regularizers.qa", WRONG_OMEGA)
    nb.cells.append(nbformat.v4.new_code_cell(RIGHT_OMEGA))
    checks = [i for i, c in enumerate(nb.cells) if is_self_check_cell(c)]
    assert checks, "the stub has a self-check cell after regularizers.qa"
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    wrong, right = _outputs(nb.cells[checks[0]]), _outputs(nb.cells[-1])
    assert "regularizers.qa (The penalty Omega): 0/1.2857 points checked here" in wrong
    # the batch grader's own words: expected, got and by how much
    assert "Omega(w_a): wrong answer: Omega(w_a): expected 13, got 14; they differ by 1" in wrong
    assert "hidden checks: not checked here" in wrong
    assert "1.2857/1.2857 points checked here" in right and "wrong answer" not in right
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
                and c is nb.cells[checks[0]]]


def test_a_students_traceback_shows_once_per_question_and_no_fetch_internals():
    def Omega(w):
        return 1 / 0

    result = incell.check("regularizers.qa", namespace={"Omega": Omega})[0]
    messages = [c.message for c in result.checks if c.outcome is Outcome.CODE_FAILED]
    assert len(messages) == 3
    assert "ZeroDivisionError" in messages[0] and "in Omega" in messages[0]
    assert all("(the traceback is shown under 'Omega(w_a)')" in m and "Traceback" not in m for m in messages[1:])
    assert not any("__itmal" in m or "<itmal-grader>" in m for m in messages)


def test_check_selects_a_question_an_exercise_or_the_notebooks_exercise(monkeypatch, capsys):
    class Scored:  # a model whose own score is the reported one (the check recomputes it)
        def score(self, X, y):
            return 0.5

    ns = {"score_qa": 0.5, "model_qa": Scored(), "X_test": np.zeros((2, 2)), "y_test": np.zeros(2)}
    assert [r.id for r in incell.check("perceptron", namespace=ns)] == [
        "perceptron.qa", "perceptron.qb", "perceptron.qc", "perceptron.qd"]
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/student/ITMAL/perceptron.ipynb")
    qa = incell.check(namespace=ns)[0]
    # the public store's score is compared; the held-out check and the text are left to others
    assert qa.checks[0].outcome is Outcome.WRONG and "expected 0.84, got 0.5" in qa.checks[0].message
    assert [c.outcome for c in qa.checks[1:]] == [Outcome.NOT_CHECKED, Outcome.NOT_CHECKED]
    assert "perceptron.qa (Default Perceptron on the moons): 0/0.6667 points checked here" in capsys.readouterr().out
    with pytest.raises(incell.UnknownQuestion, match="perceptron.qa, perceptron.qb"):
        incell.check("perceptron.qz", namespace=ns)
    monkeypatch.setenv("ITMAL_GRADING", "1")  # inside the grader's own run: nothing at all
    assert incell.check("perceptron", namespace=ns) == []


def test_the_grader_never_runs_self_check_cells():
    code = nbformat.v4.new_code_cell
    for src in ('check("perceptron.qa")', "from itmal_grader import check  # optional\ncheck('perceptron')",
                "check()", "check( 'x.qa' );"):
        assert is_self_check_cell(code(src)), src
    for src in ("", "# YOUR CODE HERE", "check(score_qa)", "x = check('a')", "import os; check('a')", "check('a')\nprint(1)"):
        assert not is_self_check_cell(code(src)), src
    nb = read(ASSIGNMENT / "perceptron.ipynb")
    blanked = without_self_checks(nb)
    assert len(blanked.cells) == len(nb.cells)  # cell numbers unchanged
    assert [c.source for c in blanked.cells if is_self_check_cell(c)] == []
    assert sum(1 for c, b in zip(nb.cells, blanked.cells) if c.source != b.source) == 3


def test_a_cell_is_named_as_jupyter_counts_code_cells():
    nb = read(ASSIGNMENT / "perceptron.ipynb")  # markdown, setup, markdown, qa, ...
    assert cell_label(3, nb) == "the 2nd code cell"
    assert cell_label(1, nb) == "the 1st code cell"


def test_the_batch_grader_names_the_failed_cell_as_jupyter_counts_and_shows_its_traceback_once(sample, config):
    from conftest import by_id
    from grader.grade import grade_submission

    path = sample("omega-cell-raises-before-defining-omega", "regularizers",
                  lambda nb: replace_cells(nb, "regularizers.qa", "raise ValueError('boom')\ndef Omega(w):\n    return 0.0\n"))
    qa = by_id(grade_submission(path, config))["regularizers.qa"]
    public = [c for c in qa.checks if not c.hidden]
    assert [c.outcome for c in public] == [Outcome.CODE_FAILED] * 3
    nb = read(path)
    index = next(i for i, c in enumerate(nb.cells) if "regularizers.qa" in c.metadata.get("tags", []))
    assert public[0].message.startswith(f"{cell_label(index, nb)} raised ValueError: boom")
    assert cell_label(index, nb) == "the 2nd code cell"
    feedback = qa.feedback()
    assert feedback.count("ValueError: boom") == 4  # three headlines, one traceback
    assert feedback.count("(the traceback is shown under 'Omega(w_a)')") == 2
