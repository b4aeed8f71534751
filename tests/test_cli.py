"""`grader grade` on the bundled example submissions, as the README's quick start runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema

from conftest import EXAMPLES, HIDDEN, REPO

SCHEMA = json.loads((REPO / "tests" / "gradescope_schema.json").read_text())


def test_grade_examples_writes_results_json_per_submission(tmp_path, cache_dir):
    env_cmd = [sys.executable, "-m", "grader.runners.cli", "grade", *sorted(map(str, EXAMPLES.iterdir())),
               "--out", str(tmp_path), "--hidden-checks", str(HIDDEN), "--profile", "quick", "--jobs", "2"]
    import os

    env = {**os.environ, "ITMAL_CACHE_DIR": str(cache_dir), "COLUMNS": "300"}
    done = subprocess.run(env_cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    correct = json.loads((tmp_path / "group01-correct" / "results.json").read_text())
    mistakes = json.loads((tmp_path / "group02-typical-mistakes" / "results.json").read_text())
    for doc in (correct, mistakes):
        jsonschema.validate(doc, SCHEMA)
    assert all(t["status"] == "passed" for t in correct["tests"])
    assert correct["score"] == sum(t["max_score"] for t in correct["tests"])
    failed = {t["number"]: t for t in mistakes["tests"] if t["status"] == "failed"}
    # each exercise's typical mistake (solutions/journal2/nbsrc/*.py: MISTAKES, MISTAKE_ANSWERS)
    assert set(failed) == {
        "gradient_descent.qa", "gradient_descent.qe", "capacity.qa", "generalization_error.qb",
        "naive_bayes.qb", "regularizers.qa", "gridsearch.qb", "pca.qa", "neurons.qb",
        "perceptron.qc", "perceptron.qd", "mlp_moon.qa", "mlp_moon.qc", "mlp_mnist.qa", "mlp_mnist.qb"}
    assert "fitted on the test data" in failed["pca.qa"]["output"]
    assert "theta_gd" in failed["gradient_descent.qa"]["output"] and "expected" in failed["gradient_descent.qa"]["output"]
    # hidden checks show in results.json only as passed/failed, never their inputs
    assert "hidden check: wrong answer" in failed["regularizers.qa"]["output"]
    assert "7.5" not in failed["regularizers.qa"]["output"]
    assert f"group01-correct: {correct['score']:g} / {correct['score']:g} points, pass" in " ".join(done.stdout.split())
    assert "Journal verdict: resubmit" in mistakes["output"]
    assert (tmp_path / "group01-correct" / "answers.md").read_text().count("## ") >= 20
    assert (tmp_path / "gradebook.csv").read_text().count("\n") == 3
