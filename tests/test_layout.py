"""The package's layout is a rule, not a habit: stages import one way, the engine names no
assignment, and a second assignment is graded by the CLI and by pytest with no engine edit."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

pytest_plugins = ["pytester"]

GRADER = REPO / "grader"
STAGES = ("kernel", "inputs", "judge", "outputs", "runners")
# What each stage may import of the grader (besides itself, grader.files and grader.__init__).
ALLOWED = {
    "kernel": set(),
    "inputs": {"judge"},  # MNIST's cache folder is the reference cache's
    "judge": {"kernel", "inputs"},  # plain-data types: Answer, Request, Execution; notebook cells
    "outputs": {"judge"},
    "runners": {"grade", "kernel", "inputs", "judge", "outputs"},
    "grade": {"kernel", "inputs", "judge"},
}
TINY = REPO / "tests" / "assignments" / "tiny"
TINY_SOLUTIONS = REPO / "tests" / "assignments" / "tiny_solutions"
TINY_SUBMISSIONS = REPO / "tests" / "assignments" / "tiny_submissions"


def _grader_imports(path: Path) -> set[str]:
    """Every module of the grader (or any other top-level package) that `path` imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def _stage(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "grader" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in (*STAGES, "grade") else None


def test_stages_import_only_downstream_and_no_assignment():
    wrong = []
    for path in sorted(GRADER.rglob("*.py")):
        rel = path.relative_to(GRADER)
        own = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        if own not in ALLOWED:
            continue
        for module in _grader_imports(path):
            if module.split(".")[0] not in ("grader",) and module.split(".")[0].startswith("grader"):
                wrong.append(f"{rel}: imports the assignment {module}")
            stage = _stage(module)
            if stage is not None and stage != own and stage not in ALLOWED[own]:
                wrong.append(f"{rel} ({own}) imports {module} ({stage})")
    assert not wrong, "\n".join(wrong)


def test_the_import_rule_test_catches_an_upward_import(tmp_path):
    """The rule above is not vacuous: an upward import is found."""
    assert _stage("grader.outputs.report") == "outputs"
    bad = tmp_path / "bad.py"
    bad.write_text("from grader.outputs.report import print_result\n")
    assert "grader.outputs.report" in _grader_imports(bad)
    assert "outputs" not in ALLOWED["judge"] and "runners" not in ALLOWED["kernel"]


def _env(cache_dir) -> dict:
    return {**os.environ, "ITMAL_CACHE_DIR": str(cache_dir), "COLUMNS": "300"}


def test_a_second_assignment_is_graded_by_the_cli(tmp_path, cache_dir):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "grader.runners.cli", "grade", *sorted(map(str, TINY_SUBMISSIONS.iterdir())),
           "--out", str(out), "--assignment", str(TINY), "--solutions", str(TINY_SOLUTIONS), "--jobs", "2",
           "--profile", "quick"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(cache_dir), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    right = json.loads((out / "right" / "results.json").read_text())
    wrong = json.loads((out / "wrong" / "results.json").read_text())
    assert {t["number"]: (t["score"], t["max_score"]) for t in right["tests"]} == {
        "squares.qa": (2, 2), "squares.qb": (1, 1)}
    assert {t["number"]: t["score"] for t in wrong["tests"]} == {"squares.qa": 0, "squares.qb": 0}
    qa = next(t for t in wrong["tests"] if t["number"] == "squares.qa")
    assert "squares" in qa["output"] and "expected" in qa["output"]
    header = (out / "gradebook.csv").read_text().splitlines()[0]
    assert "squares.qa" in header and "gradient_descent" not in header


def test_a_second_assignment_is_graded_by_pytest(pytester, cache_dir, monkeypatch):
    monkeypatch.setenv("ITMAL_CACHE_DIR", str(cache_dir))
    nb = pytester.path / "squares.ipynb"
    nb.write_bytes((TINY_SUBMISSIONS / "wrong" / "squares.ipynb").read_bytes())
    run = pytester.runpytest_subprocess("--itmal", f"--itmal-assignment={TINY}",
                                        f"--itmal-solutions={TINY_SOLUTIONS}", "--itmal-results=r.json")
    run.assert_outcomes(failed=2)
    results = json.loads((pytester.path / "r.json").read_text())
    assert [t["number"] for t in results["tests"]] == ["squares.qa", "squares.qb"]


def test_an_unknown_assignment_is_a_clear_error(tmp_path):
    from grader.judge.assignments import UnknownAssignment, load

    with pytest.raises(UnknownAssignment, match="installed: .*journal2"):
        load("no-such-assignment")
    with pytest.raises(UnknownAssignment, match="no __init__.py"):
        load(tmp_path)

