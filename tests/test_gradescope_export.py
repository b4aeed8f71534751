"""`grader export-gradescope`: the zip, and its run_autograder graded in a temporary folder laid
out like Gradescope's /autograder (setup.sh's network installs are not run: run_autograder is
pointed at this venv's Python through ITMAL_AUTOGRADER_PYTHON)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import jsonschema
import nbformat
import pytest

from grader.judge.reference import read_store, store_exercises, write_store
from grader.kernel.plaindata import Answer
from grader.runners import gradescope
from grader_journal2 import EXERCISES
from grader.runners.cli import main as cli_main
from grader.runners.gradescope import ExportError, export

from conftest import HIDDEN, REPO, SOLUTIONS, read

SCHEMA = json.loads((Path(__file__).parent / "gradescope_schema.json").read_text())
EXPORTED = ["neurons", "perceptron"]  # cheap exercises keep the test fast


def points_of(*names: str) -> float:
    return sum(q.points for n in names for q in EXERCISES[n].questions)


@pytest.fixture(scope="module")
def bundle(config, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "autograder.zip"
    assert cli_main(["export-gradescope", "--out", str(out), "--exercises", ",".join(EXPORTED), "--profile", "quick",
                     "--hidden-checks", str(HIDDEN), "--solutions", str(SOLUTIONS),
                     "--cell-timeout", str(config.limits.cell_timeout),
                     "--notebook-timeout", str(config.limits.notebook_timeout)]) == 0
    return out


def autograder_root(tmp: Path, bundle: Path) -> Path:
    """A folder laid out as Gradescope lays out /autograder after setup.sh."""
    root = tmp / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    (root / "results").mkdir()
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission_metadata.json").write_text(json.dumps({"id": 1, "users": [{"name": "Test Student"}]}))
    return root


def run_autograder(root: Path, cache_dir: Path, **env_extra: str) -> tuple[subprocess.CompletedProcess, dict | None]:
    env = {**os.environ, "ITMAL_AUTOGRADER_ROOT": str(root), "ITMAL_AUTOGRADER_PYTHON": sys.executable,
           "ITMAL_CACHE_DIR": str(cache_dir), **env_extra}
    done = subprocess.run(["bash", str(root / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=300)
    results = root / "results" / "results.json"
    document = json.loads(results.read_text()) if results.is_file() else None
    if document is not None:
        jsonschema.validate(document, SCHEMA)
    return done, document


def by_number(document: dict) -> dict[str, dict]:
    return {t["number"]: t for t in document["tests"]}


def test_zip_carries_the_grader_hidden_checks_and_references_but_no_notebooks(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("autograder.json"))
        zf.extract("references.zip", tmp_path)
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
    assert {"setup.sh", "run_autograder", "autograder.json", "references.zip", "constraints.txt"} <= names
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    # the only notebooks are the hand-out's stubs, byte for byte (the grader tells given code by them)
    with zipfile.ZipFile(bundle) as zf:
        notebooks = {n: zf.read(n) for n in names if n.endswith(".ipynb")}
    assert notebooks == {f"grader-src/assignments/journal2/{p.name}": p.read_bytes()
                         for p in (REPO / "assignments" / "journal2").glob("*.ipynb")}
    assert not [n for n in names if "solutions" in n or "mnist" in n.lower() and not n.endswith((".py", ".ipynb"))]
    assert "hidden/regularizers.py" in names
    package = REPO / "grader"
    expected = {f"grader-src/grader/{p.relative_to(package).as_posix()}" for p in package.rglob("*.py")
                if "__pycache__" not in p.parts}
    assert expected <= names and "grader-src/pyproject.toml" in names
    assert manifest["exercises"] == EXPORTED and manifest["profile"] == "quick"
    store = tmp_path / "references.zip"  # read as the container reads it
    assert store_exercises(store) == sorted(EXPORTED)
    perceptron = read_store(store, "perceptron")
    assert "perceptron.qa" in perceptron and all(isinstance(a, Answer) for a in perceptron["perceptron.qa"].values())
    assert set(perceptron) <= {q.id for q in EXERCISES["perceptron"].questions}


def test_setup_sh_installs_the_bundled_grader_with_pinned_requirements(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(tmp_path)
    setup = (tmp_path / "setup.sh").read_text()
    subprocess.run(["bash", "-n", str(tmp_path / "setup.sh")], check=True)
    subprocess.run(["bash", "-n", str(tmp_path / "run_autograder")], check=True)
    assert "apt-get install" in setup and "bubblewrap" in setup
    assert f"venv --python {sys.version_info.major}.{sys.version_info.minor} " in setup
    assert '--constraint "$SOURCE/constraints.txt" "$SOURCE/grader-src"' in setup
    assert "download(" not in setup  # no exported exercise needs MNIST
    pins = dict(line.split("==") for line in (tmp_path / "constraints.txt").read_text().split())
    for lib in ("numpy", "scikit-learn", "ipykernel", "nbclient", "rich"):
        assert pins[lib] == metadata.version(lib)
    assert "itmal-grader" not in pins
    # the bundled source builds into a wheel holding the package and the course helpers
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-c", f"from setuptools import build_meta; build_meta.build_wheel({str(wheels)!r})"],
                   cwd=tmp_path / "grader-src", check=True, capture_output=True)
    (wheel,) = wheels.glob("itmal_grader-*.whl")
    inside = set(zipfile.ZipFile(wheel).namelist())
    assert {"grader/runners/gradescope.py", "grader/inputs/mnist_files.py", "grader_journal2/libitmal/utils.py",
            "grader_journal2/stubs/perceptron.ipynb"} <= inside


def test_an_installed_grader_bundles_itself_from_its_own_metadata(tmp_path, monkeypatch):
    """Exported from a pip-installed grader (no checkout around it, as under tox): the bundled
    source gets a pyproject.toml made from the package's metadata, which still builds a wheel
    with the package, the course helpers and the runtime dependencies (not the extras)."""
    monkeypatch.setattr(gradescope, "CHECKOUT", tmp_path / "not-a-checkout")
    source = tmp_path / "src"
    from grader_journal2 import ASSIGNMENT

    for name, data in gradescope._source_files(ASSIGNMENT).items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(data)
    project = (source / "grader-src" / "pyproject.toml").read_text()
    assert '"numpy>=' in project and "dask" not in project and "jsonschema" not in project
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-c", f"from setuptools import build_meta; build_meta.build_wheel({str(wheels)!r})"],
                   cwd=source / "grader-src", check=True, capture_output=True)
    (wheel,) = wheels.glob("itmal_grader-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        assert {"grader/runners/gradescope.py", "grader/inputs/mnist_files.py", "grader_journal2/libitmal/utils.py",
                "grader_journal2/stubs/perceptron.ipynb"} <= set(zf.namelist())
        meta = next(zf.read(n).decode() for n in zf.namelist() if n.endswith("METADATA"))
        entry_points = next(zf.read(n).decode() for n in zf.namelist() if n.endswith("entry_points.txt"))
    assert "[itmal_grader.assignments]" in entry_points and "journal2 = grader_journal2:ASSIGNMENT" in entry_points
    assert "Requires-Dist: nbclient" in meta and "Requires-Dist: dask" not in meta


def test_setup_sh_fetches_mnist_when_an_exercise_needs_it(tmp_path):
    script = tmp_path / "setup.sh"
    script.write_text(gradescope.setup_script("3.11", needs_mnist=True))
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    assert "download(None, allow=True)" in text and 'ITMAL_CACHE_DIR="$CACHE"' in text


def test_correct_submission_gets_the_points_of_its_exercises(bundle, tmp_path, cache_dir):
    root = autograder_root(tmp_path, bundle)
    for name in EXPORTED:
        shutil.copy(SOLUTIONS / f"{name}.ipynb", root / "submission")
    done, document = run_autograder(root, cache_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert document is not None
    assert document["score"] == pytest.approx(points_of(*EXPORTED))
    assert all(t["status"] == "passed" for t in document["tests"]), document
    assert {t["number"].split(".")[0] for t in document["tests"]} == set(EXPORTED)  # only the exported ones
    assert "not final" not in document["output"]
    assert "points" in done.stdout  # the instructor's log (stdout is hidden from students)


@pytest.mark.slow  # minutes of kernels: the slow run (.ci/run) covers it
def test_partial_submission_zip_scores_what_it_holds(bundle, tmp_path, cache_dir):
    """A folder holding only a zip of some of the notebooks: the zip is unpacked (safely) and
    the exercise it lacks is missing."""
    root = autograder_root(tmp_path, bundle)
    with zipfile.ZipFile(root / "submission" / "work.zip", "w") as zf:
        zf.write(SOLUTIONS / "perceptron.ipynb", "my work/perceptron.ipynb")
    done, document = run_autograder(root, cache_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert document["score"] == pytest.approx(points_of("perceptron"))
    tests = by_number(document)
    for q in EXERCISES["neurons"].questions:
        assert tests[q.id]["score"] == 0 and tests[q.id]["extra_data"]["outcome"] == "missing"
        assert "no notebook" in tests[q.id]["output"]


@pytest.mark.slow  # minutes of kernels: the slow run (.ci/run) covers it
def test_broken_submission_scores_zero_with_a_message(bundle, tmp_path, cache_dir):
    root = autograder_root(tmp_path, bundle)
    (root / "submission" / "neurons.ipynb").write_text('{"cells": [ this is not json')
    nb = read(SOLUTIONS / "perceptron.ipynb")
    nb.cells = [c for c in nb.cells if c.cell_type == "code"]  # no text answers; every cell raises
    for cell in nb.cells:
        cell.source = 'raise RuntimeError("broken on purpose")'
    nbformat.write(nb, root / "submission" / "perceptron.ipynb")
    done, document = run_autograder(root, cache_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert document["score"] == 0
    tests = by_number(document)
    assert all(t["status"] == "failed" for t in tests.values())
    assert "could not be read" in tests["neurons.qa"]["output"]
    assert "broken on purpose" in tests["perceptron.qa"]["output"]


@pytest.mark.slow  # minutes of kernels: the slow run (.ci/run) covers it
def test_a_reference_missing_from_the_store_is_a_grader_error_not_a_pass(bundle, tmp_path, cache_dir):
    root = autograder_root(tmp_path, bundle)
    store = root / "source" / "references.zip"
    write_store(store, {k: read_store(store, k) for k in store_exercises(store) if k != "perceptron"})
    shutil.copy(SOLUTIONS / "perceptron.ipynb", root / "submission")
    done, document = run_autograder(root, cache_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    qa = by_number(document)["perceptron.qa"]  # judged against the reference run
    assert qa["extra_data"]["outcome"] == "grader_error" and qa["status"] == "failed"
    assert "not final" in document["output"]
    assert "holds no reference answers for perceptron" in done.stdout
    assert "NOT FINAL" in done.stdout


def test_no_results_when_the_bundle_is_broken(tmp_path, bundle, cache_dir):
    """A grader failure is Gradescope's "autograder failed", never a 0 recorded as a grade."""
    root = autograder_root(tmp_path, bundle)
    (root / "source" / "autograder.json").write_text("{}")
    done, document = run_autograder(root, cache_dir)
    assert done.returncode != 0 and document is None


def test_export_refuses_notebooks_and_unknown_exercises(config, tmp_path):
    hidden = tmp_path / "hidden"
    shutil.copytree(HIDDEN, hidden)
    shutil.copy(SOLUTIONS / "perceptron.ipynb", hidden)
    with pytest.raises(ExportError, match="refusing to put notebooks"):
        export(tmp_path / "a.zip", dataclasses.replace(config, hidden_dir=hidden), exercises=["perceptron"])
    with pytest.raises(ExportError, match="unknown exercises: nope"):
        export(tmp_path / "a.zip", config, exercises=["nope"])
    assert not (tmp_path / "a.zip").exists()


@pytest.mark.slow  # minutes of kernels: the slow run (.ci/run) covers it
def test_without_bubblewrap_it_grades_unsandboxed_and_says_so_unless_the_sandbox_is_required(bundle, tmp_path,
                                                                                              cache_dir):
    no_bwrap = tmp_path / "bin"  # a PATH on which bwrap cannot be found
    no_bwrap.mkdir()
    (no_bwrap / "bash").symlink_to(shutil.which("bash"))
    root = autograder_root(tmp_path, bundle)
    shutil.copy(SOLUTIONS / "perceptron.ipynb", root / "submission")
    done, document = run_autograder(root, cache_dir, PATH=str(no_bwrap))
    assert done.returncode == 0, done.stdout + done.stderr
    assert document["score"] == pytest.approx(points_of("perceptron"))
    assert "NOT SANDBOXED" in document["output"] and "NOT SANDBOXED" in done.stdout

    manifest = root / "source" / "autograder.json"  # as exported with --require-sandbox
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "require_sandbox": True}))
    (root / "results" / "results.json").unlink()
    done, document = run_autograder(root, cache_dir, PATH=str(no_bwrap))
    assert done.returncode == 1 and document is None
    assert "--require-sandbox" in done.stdout
