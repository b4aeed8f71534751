"""Build every Journal 2 notebook of the grader from one source of truth.

    python solutions/journal2/make_notebooks.py          # (re)write all notebooks
    python solutions/journal2/make_notebooks.py --run    # ... then execute them and report

Each exercise is defined once, as a list of cells, in its own module `nbsrc/<exercise>.py`
(NAME, CELLS, and the group02 MISTAKES / MISTAKE_ANSWERS); this script finds them all. Code cells may contain solution
regions:

    given code                  <- in the stub and in the solution
    #@solution
    reference code              <- only in the solution
    #@stub
    stub code                   <- only in the stub (default: "# YOUR CODE HERE" and
    #@end                          "raise NotImplementedError()", at the marker's indentation)

From those definitions this script writes

    assignments/journal2/<exercise>.ipynb        student stubs
    solutions/journal2/<exercise>.ipynb          reference solutions
    examples/submissions/group01-correct/        the solutions, as a hand-in
    examples/submissions/group02-typical-mistakes/  the solutions with typical mistakes patched in

Contract with the grader: notebook metadata ``itmal.exercise``; a question's code cells are
tagged with its id (``perceptron.qa``), its text answer cell with ``<id>.answer`` (placeholder
``YOUR ANSWER HERE`` in stubs), setup cells with ``<exercise>.setup``. Notebooks are written
without outputs and with deterministic cell ids, so re-running this script is a no-op.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbsrc import load_exercises  # noqa: E402
from nbsrc._cells import ANSWER_PLACEHOLDER, render_code  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ASSIGNMENTS = REPO / "assignments" / "journal2"
SOLUTIONS = REPO / "solutions" / "journal2"
EXAMPLES = REPO / "examples" / "submissions"
sys.path.insert(0, str(REPO))
from grader.kernel.execute import copy_support_files  # noqa: E402
from grader_journal2 import SUPPORT_FILES  # noqa: E402  # the course helpers (libitmal)




# The course's order of exercises; every module in nbsrc/ is one of them.
EXERCISE_MODULES = load_exercises()
EXERCISES = {m.NAME: m.CELLS for m in EXERCISE_MODULES}


@dataclass(frozen=True)
class Variant:
    """A submission derived from the solutions: code patches and the students' own answers."""

    # exercise -> cell key -> [(old, new)] replacements, each old text occurring exactly once
    patches: dict[str, dict[str, list[tuple[str, str]]]]
    # question id -> answer text; None leaves the placeholder, "" leaves the cell empty
    answers: dict[str, str | None]


GROUP01_CORRECT = Variant(patches={}, answers={})
GROUP02_TYPICAL_MISTAKES = Variant(
    patches={m.NAME: m.MISTAKES for m in EXERCISE_MODULES},
    answers={q: a for m in EXERCISE_MODULES for q, a in m.MISTAKE_ANSWERS.items()},
)


# --------------------------------------------------------------------------------------------
# Building notebooks
# --------------------------------------------------------------------------------------------

def patched(source: str, replacements: list[tuple[str, str]], where: str) -> str:
    for old, new in replacements:
        count = source.count(old)
        assert count == 1, f"{where}: expected {old!r} exactly once, found it {count} times"
        source = source.replace(old, new)
    return source


def build_notebook(exercise: str, mode: str, variant: Variant | None = None) -> nbformat.NotebookNode:
    """mode: "stub" or "solution"; a variant patches the solution (mode must be "solution")."""
    assert mode in ("stub", "solution")
    assert variant is None or mode == "solution"
    patches = variant.patches.get(exercise, {}) if variant else {}
    unused = set(patches)
    cells = []
    keys = set()
    for spec in EXERCISES[exercise]:
        assert spec.key not in keys, f"{exercise}: duplicate cell key {spec.key}"
        keys.add(spec.key)
        if spec.kind == "markdown":
            cell = new_markdown_cell(spec.source)
        elif spec.kind == "answer":
            text = spec.source if mode == "solution" else ANSWER_PLACEHOLDER
            if variant is not None and spec.qid in variant.answers:
                text = variant.answers[spec.qid]
                text = ANSWER_PLACEHOLDER if text is None else text
            cell = new_markdown_cell(text)
        else:
            source = render_code(spec.source, mode)
            if spec.key in patches:
                source = patched(source, patches[spec.key], f"{exercise}/{spec.key}")
                unused.discard(spec.key)
            cell = new_code_cell(source)
        cell.id = f"{exercise.replace('_', '-')}-{spec.key}"
        if spec.tags:
            cell.metadata["tags"] = list(spec.tags)
        cells.append(cell)
    assert not unused, f"{exercise}: patches for unknown cells {sorted(unused)}"
    if mode == "stub":
        cells = with_self_check_cells(exercise, cells)
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "itmal": {"exercise": exercise},
    })
    nbformat.validate(nb)
    return nb


def with_self_check_cells(exercise: str, cells: list) -> list:
    """The stub's cells with one untagged self-check cell after each question's last code cell
    (grader/runners/incell.py). The grader never runs such cells; a student may delete them."""
    last = {}
    for i, cell in enumerate(cells):
        for tag in cell.metadata.get("tags", []):
            if cell.cell_type == "code" and tag.count(".") == 1 and not tag.endswith(".setup"):
                last[tag] = i
    after = {i: qid for qid, i in last.items()}
    out = []
    for i, cell in enumerate(cells):
        out.append(cell)
        if i in after:
            check = new_code_cell(f"from itmal_grader import check  # optional: your self-check of this question\n"
                                  f"check(\"{after[i]}\")")
            check.id = f"{exercise.replace('_', '-')}-{after[i].split('.')[1]}-check"
            out.append(check)
    return out


def targets() -> list[tuple[Path, str, str, Variant | None]]:
    """(path, exercise, mode, variant) for every notebook this script writes."""
    out = []
    for exercise in EXERCISES:
        name = f"{exercise}.ipynb"
        out.append((ASSIGNMENTS / name, exercise, "stub", None))
        out.append((SOLUTIONS / name, exercise, "solution", None))
        out.append((EXAMPLES / "group01-correct" / name, exercise, "solution", GROUP01_CORRECT))
        out.append((EXAMPLES / "group02-typical-mistakes" / name, exercise, "solution",
                    GROUP02_TYPICAL_MISTAKES))
    return out


def write_all() -> list[Path]:
    written = []
    for path, exercise, mode, variant in targets():
        nb = build_notebook(exercise, mode, variant)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = nbformat.writes(nb) + "\n"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


# --------------------------------------------------------------------------------------------
# Executing them (a check for the authors; the grader has its own, sandboxed runner)
# --------------------------------------------------------------------------------------------

ALLOWED_STUB_ERRORS = {"NotImplementedError", "TypeError", "AttributeError"}


def execute(path: Path, timeout: int = 120) -> tuple[float, list[tuple[int, str, str]], nbformat.NotebookNode]:
    """Run a copy of the notebook next to a copy of libitmal; return (seconds, errors, executed nb)."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        copy_support_files(SUPPORT_FILES, Path(tmp))
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": tmp}})
        start = time.monotonic()
        client.execute()
        seconds = time.monotonic() - start
    errors = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                errors.append((i, out["ename"], out["evalue"]))
    return seconds, errors, nb


def run_all(paths: list[Path]) -> int:
    failures = 0
    for path in paths:
        seconds, errors, nb = execute(path)
        figures = sum(1 for c in nb.cells for o in c.get("outputs", [])
                      if "image/png" in o.get("data", {}))
        rel = path.relative_to(REPO)
        stub = path.parent == ASSIGNMENTS
        bad = [e for e in errors if not (stub and e[1] in ALLOWED_STUB_ERRORS)]
        if "group02" in str(path):  # its wrong Omega makes the course's own asserts fail
            bad = [e for e in bad if e[1] != "AssertionError"]
        status = "ok" if not bad else "FAILED"
        failures += bool(bad)
        print(f"{status:6} {seconds:5.1f} s  {figures} figures  {rel}")
        for i, ename, evalue in errors:
            print(f"         cell {i}: {ename}: {evalue.splitlines()[0] if evalue else ''}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="store_true", help="execute every notebook after writing them")
    args = parser.parse_args(argv)
    paths = write_all()
    for path in paths:
        print(f"wrote  {path.relative_to(REPO)}")
    return run_all(paths) if args.run else 0


if __name__ == "__main__":
    sys.exit(main())
