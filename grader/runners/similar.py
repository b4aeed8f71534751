"""`grader similarity OUT`: the similarity report of every submission graded into OUT.

Reads what the grader saved (each submission's grading.json: its code cells and text answers
as plain data) and the assignment's stub notebooks; runs no student code.
"""

from __future__ import annotations

from pathlib import Path

from grader.inputs.notebook import NotebookUnreadable, read_notebook
from grader.judge.assignments import Assignment, UnknownAssignment, load
from grader.judge.outcomes import SubmissionResult
from grader.files import write_text_atomic
from grader.outputs.similarity import Base, Comparison, SimilaritySettings, compare, entry_of
from grader.outputs.similarity_report import similarity_csv, similarity_page
from grader.runners.batch import graded_submissions


def stub_sources(assignment: Assignment, notes: list[str]) -> dict[str, tuple[list[str], list[str]]]:
    """Per exercise, the code cells and the markdown cells of its stub notebook."""
    found: dict[str, tuple[list[str], list[str]]] = {}
    if assignment.stubs is None:
        notes.append(f"{assignment.name} names no stub notebooks: what they hand out is not left out")
        return found
    for name, exercise in assignment.exercises.items():
        try:
            nb = read_notebook(assignment.stubs / exercise.notebook)
        except NotebookUnreadable as exc:
            notes.append(f"{name}: its stub could not be read ({exc}); nothing of it is left out")
            continue
        found[name] = ([c.source for c in nb.cells if c.cell_type == "code"],
                       [c.source for c in nb.cells if c.cell_type == "markdown"])
    return found


def write_similarity(out: Path, assignment: str | None, settings: SimilaritySettings, notes: list[str],
                     results: list[SubmissionResult] | None = None) -> Comparison | None:
    """similarity.csv and similarity.html in `out`, over `results` (default: every submission
    graded into `out`); None (with a note) under two submissions."""
    if results is None:
        graded = graded_submissions(out, notes)
        if graded is None:
            return None
        results = [result for result, _ in graded]
    if len(results) < 2:
        notes.append(f"{out}: {len(results)} graded submission(s); the similarity report needs two")
        return None
    try:
        stubs = stub_sources(load(assignment), notes)
    except UnknownAssignment as exc:
        notes.append(f"no stub left out: {exc}")
        stubs = {}
    comparison = compare([entry_of(result) for result in results], Base.of(stubs, settings), settings)
    page_notes = [n for n in notes if "stub" in n]
    write_text_atomic(out / "similarity.csv", similarity_csv(comparison))
    write_text_atomic(out / "similarity.html", similarity_page(comparison, page_notes))
    return comparison
