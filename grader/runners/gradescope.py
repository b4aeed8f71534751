"""Gradescope: `grader export-gradescope --out autograder.zip`, and the entry point that runs
inside Gradescope's container (`python -m grader.runners.gradescope run --root /autograder`).

The zip holds, at its root:

* ``setup.sh`` – run once by Gradescope, as root, with internet, when it builds the image:
  installs bubblewrap, a Python of the exporter's version (with uv), the grader from
  ``grader-src/`` with its dependencies pinned to the exporter's versions (``constraints.txt``),
  and, when an exported exercise needs it, MNIST (checksummed) into the grader's cache.
* ``run_autograder`` – run for every submission: grades ``/autograder/submission`` and writes
  ``/autograder/results/results.json``.
* ``autograder.json`` – the manifest: profile, exercises, limits, the exporter's versions.
* ``references.zip`` – the reference run's answers, plain data (a reference store, see
  `reference.write_store`); the container never runs a solution.
* ``hidden/`` – the hidden checks; ``grader-src/`` – the grader's own source.

Never in it: the solution notebooks (the exporter refuses any ``.ipynb``), MNIST, caches.

The data flow is one way: the exporter runs each solution (or takes it from the reference
cache) and writes its answers into the store; the container reads the store through
`GradingConfig.references` and grades exactly as `grader grade` does.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shlex
import shutil
import stat
import sys
import tempfile
import traceback
import warnings
import zipfile
from dataclasses import asdict
from pathlib import Path

from grader import __version__
from grader.judge import reference as ref_store
from grader.judge.assignments import Assignment, registered
from grader.grade import GradingConfig, grade_submission, reference_answers
from grader.judge.outcomes import Outcome, SubmissionResult
from grader.kernel.sandbox import Limits, SandboxUnavailable, choose
from grader.judge.score import missing_exercise
from grader.outputs.inert import terminal_text, visible

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # grader/
CHECKOUT = PACKAGE_DIR.parent
MANIFEST = "autograder.json"
STORE = "references.zip"
FORMAT = 1

# Paths inside the container; run_autograder's ITMAL_AUTOGRADER_ROOT / _PYTHON override them.
DEFAULT_ROOT = "/autograder"


class ExportError(Exception):
    """The autograder cannot be exported; the message says why and what to do."""


# --------------------------------------------------------------------------------------------
# Export (the instructor's machine)


def _pinned_requirements() -> list[str]:
    """`name==version` for every installed distribution the grader depends on, directly or
    not (markers evaluated here), so the container computes with the libraries the reference
    answers were computed with. Used as pip constraints: a pin for a package the container
    does not need is ignored."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    todo = ["itmal-grader"]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in pins:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        pins[name] = dist.version
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    pins.pop("itmal-grader", None)
    return [f"{n}=={v}" for n, v in sorted(pins.items())]


def _package_files(folder: Path) -> dict[str, bytes]:
    return {f"grader-src/{folder.name}/{f.relative_to(folder).as_posix()}": f.read_bytes()
            for f in sorted(folder.rglob("*"))
            if f.is_file() and "__pycache__" not in f.parts and f.suffix not in (".pyc", ".pyo")}


def _source_files(assignment: Assignment) -> dict[str, bytes]:
    """The grader package, the assignment's package, and what installing them needs
    (pyproject.toml, README.md)."""
    files: dict[str, bytes] = {}
    checkout = (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / "README.md").is_file()
    if checkout:
        for name in ("pyproject.toml", "README.md"):
            files[f"grader-src/{name}"] = (CHECKOUT / name).read_bytes()
    else:  # an installed grader (pip install, tox): its own metadata says how to install it
        files["grader-src/pyproject.toml"] = _installed_pyproject(assignment).encode()
    files.update(_package_files(PACKAGE_DIR))
    files.update(_package_files(PACKAGE_DIR.parent / "itmal_grader"))  # the in-notebook check(), a listed package
    if assignment.package_dir is None:
        raise ExportError(f"the assignment {assignment.name} does not say where its package is (package_dir)")
    files.update(_package_files(assignment.package_dir))
    # where the pyproject's packaging finds the stubs: the checkout's package-dir, or the package itself
    stubs_at = f"assignments/{assignment.name}" if checkout else f"{assignment.package_dir.name}/stubs"
    files.update({f"grader-src/{stubs_at}/{name}": data for name, data in _stub_notebooks(assignment).items()})
    return files


def _stub_notebooks(assignment: Assignment) -> dict[str, bytes]:
    """The handed-out stubs (public): the bundled grader tells given code from a student's with them."""
    if assignment.stubs is None:
        return {}
    return {f.name: f.read_bytes() for f in sorted(assignment.stubs.glob("*.ipynb")) if f.is_file()}


def _installed_pyproject(assignment: Assignment) -> str:
    """A pyproject.toml for the installed grader package, from its distribution metadata."""
    from importlib import metadata

    try:
        requires = metadata.requires("itmal-grader") or []
    except metadata.PackageNotFoundError as exc:
        raise ExportError("export needs itmal-grader installed (or a checkout of it)") from exc
    from packaging.requirements import Requirement

    deps = [r for r in requires if "extra" not in str(Requirement(r).marker or "")]  # not the optional extras
    return "\n".join([
        "[build-system]", 'requires = ["setuptools>=69"]', 'build-backend = "setuptools.build_meta"', "",
        "[project]", 'name = "itmal-grader"', f'version = "{__version__}"', 'requires-python = ">=3.10"',
        f"dependencies = {json.dumps(deps)}", "",
        "[project.scripts]", 'grader = "grader.runners.cli:main"', "",
        "[project.entry-points.pytest11]", 'itmal_grader = "grader.runners.plugin"', "",
        '[project.entry-points."itmal_grader.assignments"]',
        f'{assignment.name} = "{assignment.package_dir.name}:ASSIGNMENT"', "",
        "[tool.setuptools.packages.find]", f'include = ["grader*", "{assignment.package_dir.name}*"]', "",
        "[tool.setuptools.package-data]", f'"{assignment.package_dir.name}.stubs" = ["*.ipynb"]', ""])


def _hidden_files(hidden_dir: Path | None) -> dict[str, bytes]:
    if hidden_dir is None:
        return {}
    return {f"hidden/{f.relative_to(hidden_dir).as_posix()}": f.read_bytes() for f in sorted(hidden_dir.rglob("*"))
            if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc"}


def _refuse_notebooks(files: dict[str, bytes], stubs: dict[str, bytes]) -> None:
    given = set(stubs.values())  # the hand-out's own stubs, byte for byte, are public
    notebooks = [n for n, data in files.items() if n.lower().endswith(".ipynb") and data not in given]
    if notebooks:  # e.g. a hidden-checks folder that holds solutions: never ship them
        raise ExportError(f"refusing to put notebooks into the autograder: {', '.join(notebooks)}")


def setup_script(python: str, needs_mnist: bool) -> str:
    mnist = ""
    if needs_mnist:
        mnist = """
# MNIST for the grader's cache (checksummed; the zip does not carry it). The kernel gets the
# training split only; the test split stays with the grader as held-out digits.
ITMAL_CACHE_DIR="$CACHE" "$ROOT/venv/bin/python" - <<'EOF'
from pathlib import Path
import os
from grader.inputs.mnist_files import download
from grader.inputs.mnist import held_out, kernel_data_dir
download(None, allow=True)   # into $ITMAL_CACHE_DIR/mnist
cache = Path(os.environ["ITMAL_CACHE_DIR"])
assert kernel_data_dir(cache) is not None
held_out(cache_dir=cache)
EOF
"""
    return f"""#!/usr/bin/env bash
# Gradescope runs this once, as root and with internet, when it builds the autograder's image.
# Made by `grader export-gradescope` (itmal-grader {__version__}).
set -euxo pipefail
ROOT="${{ITMAL_AUTOGRADER_ROOT:-{DEFAULT_ROOT}}}"
SOURCE="$ROOT/source"
CACHE="$ROOT/cache"

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# bubblewrap: the student's kernel's sandbox; python3-venv: a venv to install uv into
apt-get install -y -qq bubblewrap ca-certificates python3 python3-venv

# uv gets the Python version the reference answers were computed with ({python}).
python3 -m venv "$ROOT/uv-env"
"$ROOT/uv-env/bin/pip" install -q uv
UV="$ROOT/uv-env/bin/uv"
export UV_PYTHON_INSTALL_DIR="$ROOT/python"
"$UV" venv --python {shlex.quote(python)} "$ROOT/venv"
# The grader and its dependencies, pinned to the exporter's versions.
"$UV" pip install --compile-bytecode --python "$ROOT/venv/bin/python" \\
    --constraint "$SOURCE/constraints.txt" "$SOURCE/grader-src"
"$ROOT/venv/bin/python" -c "import grader.runners.gradescope"
mkdir -p "$CACHE"
{mnist}"""


RUN_AUTOGRADER = f"""#!/usr/bin/env bash
# Gradescope runs this (copied to /autograder/run_autograder) for every submission: grade
# $ROOT/submission, write $ROOT/results/results.json. Made by `grader export-gradescope`.
# ITMAL_AUTOGRADER_ROOT (default {DEFAULT_ROOT}) and ITMAL_AUTOGRADER_PYTHON (default
# $ROOT/venv/bin/python, what setup.sh installs) override the paths, e.g. to test the bundle.
set -euo pipefail
ROOT="${{ITMAL_AUTOGRADER_ROOT:-{DEFAULT_ROOT}}}"
PYTHON="${{ITMAL_AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}}"
export ITMAL_CACHE_DIR="${{ITMAL_CACHE_DIR:-$ROOT/cache}}"
unset ITMAL_HIDDEN_CHECKS ITMAL_SOLUTIONS  # the bundle's own, nothing else
cd "$ROOT"
exec "$PYTHON" -m grader.runners.gradescope run --root "$ROOT"
"""


def collect_references(config: GradingConfig, names: list[str]) -> dict:
    """Every named exercise's reference answers (cached, or by running its solution once);
    ExportError when one cannot be had: a bundle must never grade without its reference."""
    catalogue = config.catalogue()
    available = dict(config.kernel_options().data)
    answers = {}
    for name in names:
        exercise = catalogue[name]
        lacking = sorted(set(exercise.data) - set(available))
        if lacking:
            raise ExportError(f"{name}: its reference run needs {', '.join(lacking)}, which this machine "
                              "lacks (set ITMAL_MNIST_DIR; see the README), or leave it out with --exercises")
        try:
            found = reference_answers(exercise, config)
        except Exception as exc:
            raise ExportError(f"{name}: the reference run failed: {exc}") from exc
        if found is None:
            raise ExportError(f"{name}: no reference solution {exercise.notebook} in {config.solutions_dir}")
        answers[name] = found
    return answers


def export(out: Path, config: GradingConfig, *, exercises: list[str] | None = None,
           require_sandbox: bool = False) -> dict:
    """Write the Gradescope autograder zip to `out`; return its manifest."""
    if config.references is not None:
        raise ExportError("export from the solutions, not from a reference store")
    if config.solutions_dir is None or not config.solutions_dir.is_dir():
        raise ExportError(f"no reference solutions folder ({config.solutions_dir}); give --solutions")
    if config.hidden_dir is None and os.environ.get("ITMAL_HIDDEN_CHECKS"):
        # the catalogue would load them from the environment: the bundle must carry them
        config = dataclasses.replace(config, hidden_dir=Path(os.environ["ITMAL_HIDDEN_CHECKS"]))
    catalogue = config.catalogue()
    names = list(catalogue) if not exercises else exercises
    unknown = [n for n in names if n not in catalogue]
    if unknown:
        raise ExportError(f"unknown exercises: {', '.join(unknown)} (known: {', '.join(catalogue)})")
    names = [n for n in catalogue if n in names]  # the course's order, no repeats
    assignment = config.assignment_package()
    bundled = {**_source_files(assignment), **_hidden_files(config.hidden_dir)}
    _refuse_notebooks(bundled, _stub_notebooks(assignment))  # before the (long) reference runs
    references = collect_references(config, names)
    store_buf = Path(tempfile.mkdtemp(prefix="itmal-export-")) / STORE
    try:
        ref_store.write_store(store_buf, references)
        store = store_buf.read_bytes()
    finally:
        shutil.rmtree(store_buf.parent, ignore_errors=True)
    python = ".".join(map(str, sys.version_info[:2]))
    needs = sorted({d for n in names for d in catalogue[n].data})
    manifest = {"format": FORMAT, "grader_version": __version__, "profile": config.profile, "exercises": names,
                "limits": asdict(config.limits), "require_sandbox": require_sandbox, "python": python,
                "data": needs, "hidden_checks": config.hidden_dir is not None,
                "assignment": {"name": assignment.name, "package": assignment.package_dir.name}, "versions": ref_store._versions()}
    files: dict[str, bytes] = {
        "setup.sh": setup_script(python, "mnist" in needs).encode(),
        "run_autograder": RUN_AUTOGRADER.encode(),
        MANIFEST: json.dumps(manifest, indent=1, sort_keys=True).encode(),
        STORE: store,
        "constraints.txt": ("\n".join(_pinned_requirements()) + "\n").encode(),
        **bundled,
    }
    _refuse_notebooks(files, _stub_notebooks(assignment))  # again, for everything
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # same inputs, same bytes
            executable = name in ("setup.sh", "run_autograder")
            info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    os.replace(tmp, out)
    return manifest


# --------------------------------------------------------------------------------------------
# Run (inside Gradescope's container)


def _submission_path(submission: Path, workdir: Path) -> tuple[Path | None, str]:
    """The folder to grade: the submission folder; or, when it holds no notebook but a zip,
    that zip unpacked (with the checks every handed-in zip gets). (None, why) if unreadable.
    Found as grading finds files: no link followed, no special file opened."""
    from grader.inputs.nofollow import walk
    from grader.inputs.submissions import SubmissionRejected, extract_zip

    files = walk(submission).files
    if any(f.lower().endswith(".ipynb") for f in files):
        return submission, ""
    zips = [f for f in files if f.lower().endswith(".zip")]
    if not zips:
        return submission, ""
    try:
        return extract_zip(submission / zips[0], workdir / "unzipped", root=submission), ""
    except SubmissionRejected as exc:
        return None, str(exc)


def _environment_notes(manifest: dict) -> list[str]:
    here = ref_store._versions()
    there = manifest.get("versions", {})
    return [f"{lib}: reference answers computed with {there[lib]}, this container has {here.get(lib, 'none')}"
            for lib in sorted(there) if here.get(lib) != there[lib]]


def _assignment_spec(manifest: dict, source: Path) -> str:
    """The installed assignment of the manifest's name, else its package as shipped."""
    wanted = manifest["assignment"]
    if wanted["name"] in registered():
        return wanted["name"]
    return str(source / "grader-src" / wanted["package"])


def grade_here(root: Path) -> tuple[dict, SubmissionResult]:
    """Grade root/submission with the bundle in root/source; return results.json's document."""
    from grader.outputs.report import gradescope_results

    source = root / "source"
    manifest = json.loads((source / MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise RuntimeError(f"{MANIFEST} has format {manifest.get('format')}; this grader reads {FORMAT}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # said below, and in every result's output
        sandbox = choose(require=manifest["require_sandbox"])
    hidden = source / "hidden"
    config = GradingConfig(sandbox=sandbox, limits=Limits(**manifest["limits"]), solutions_dir=None,
                           hidden_dir=hidden if hidden.is_dir() else None, cache_dir=ref_store.default_cache_dir(),
                           profile=manifest["profile"], references=source / STORE,
                           assignment=_assignment_spec(manifest, source))
    only = set(manifest["exercises"])
    with tempfile.TemporaryDirectory(prefix="itmal-gradescope-") as tmp:
        path, why = _submission_path(root / "submission", Path(tmp))
        if path is None:
            catalogue = config.catalogue()
            questions = [q for n in manifest["exercises"]
                         for q in missing_exercise(catalogue[n], f"the submission could not be opened: {why}",
                                                   Outcome.MISSING)]
            result = SubmissionResult(name="submission", questions=questions, sandbox=sandbox.describe(), notes=[why])
        else:
            result = grade_submission(path, config, only=only)
    result.name = "submission"
    document = gradescope_results(result, show_hidden=False)
    if not result.final:
        document["output"] += ("\nThe grader could not judge some checks (not your fault): this score is not "
                               "final; your instructor will re-grade it.")
    return document, result


def run(root: Path) -> int:
    from grader.files import write_json_atomic

    try:
        document, result = grade_here(root)
    except SandboxUnavailable as exc:
        print(f"error: this autograder was exported with --require-sandbox: {exc}", flush=True)
        return 1
    except Exception:
        # No results.json: Gradescope then shows that the autograder failed, never a 0 as a grade.
        traceback.print_exc()
        return 1
    write_json_atomic(root / "results" / "results.json", document)
    # stdout is for the instructor (results.json sets stdout_visibility hidden)
    manifest = json.loads((root / "source" / MANIFEST).read_text())
    print(f"itmal-grader {__version__}: {result.points:g} / {result.max_points:g} points, {result.sandbox}")
    for note in _environment_notes(manifest):
        print(f"note: environment differs from the export: {note}")
    for note in result.notes:  # student text (file names in the zip, messages): controls made visible
        print(f"note: {visible(note, multiline=True)}")
    if not result.final:
        print("NOT FINAL: the grader failed on some checks; re-run this submission")
    return 0


def export_command(args, console) -> int:
    """`grader export-gradescope` (see cli.py)."""
    from rich.text import Text

    from grader.grade import default_solutions_dir

    try:
        sandbox = choose(require=False, disable=args.no_sandbox)  # the solutions are trusted
        config = GradingConfig(sandbox=sandbox,
                               limits=Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout),
                               solutions_dir=args.solutions or default_solutions_dir(args.assignment),
                               hidden_dir=args.hidden_checks, profile=args.profile, assignment=args.assignment)
        names = [n for n in re.split(r"[,\s]+", args.exercises or "") if n]
        manifest = export(args.out, config, exercises=names or None, require_sandbox=args.require_sandbox)
    except ExportError as exc:
        console.print(Text.assemble(("error:", "bold red"), " ", terminal_text(exc, multiline=True)))
        return 2
    console.print(terminal_text(f"wrote {args.out}: {len(manifest['exercises'])} exercises ({', '.join(manifest['exercises'])}), "
                  f"profile {manifest['profile']}, Python {manifest['python']}, "
                  f"hidden checks: {'yes' if manifest['hidden_checks'] else 'none'}; no solution notebooks"))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m grader.runners.gradescope",
                                description="Inside Gradescope's container: grade the submission.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="grade ROOT/submission, write ROOT/results/results.json")
    r.add_argument("--root", type=Path, default=Path(DEFAULT_ROOT))
    args = p.parse_args(argv)
    return run(args.root)


if __name__ == "__main__":
    sys.exit(main())
