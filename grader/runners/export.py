"""`grader export-grades DIR --format brightspace|canvas|moodle|csv --out FILE`: the grades
graded into DIR, as a file the LMS imports (grader/outputs/lms_export.py)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.text import Text

from grader.files import write_text_atomic
from grader.judge.outcomes import SubmissionResult
from grader.outputs.inert import terminal_text
from grader.outputs.lms_export import export_grades
from grader.runners.batch import graded_submissions
from grader.runners.bulk import LMS_ROSTER, ROSTER
from grader.sheets import SheetError, Student, read_roster


class ExportError(ValueError):
    pass


def students_and_results(out: Path, roster: Path | None, fmt: str,
                         notes: list[str]) -> tuple[list[tuple[Student, SubmissionResult | None]], float]:
    """Each student of the roster with their submission's result (None: none graded). The
    roster: --roster, else the one an LMS download left in DIR, else (for csv) one row per
    submission."""
    graded = graded_submissions(out, notes)
    if not graded:
        raise ExportError(f"no graded submissions in {out} (grade into it first: grader grade ... --out {out})")
    results = [r for r, _ in graded]
    maximum = max(r.max_points for r in results)
    for kept in (ROSTER, LMS_ROSTER):
        if roster is None and (out / kept).is_file():
            roster = out / kept
    if roster is None:
        if fmt != "csv":
            raise ExportError(f"--format {fmt} needs each student's id in the LMS: give --roster FILE "
                              "(columns submission, student_id, name)")
        return [(Student(r.name, r.name, r.source), r) for r in results], maximum
    try:
        students = read_roster(roster)
    except OSError as exc:
        raise ExportError(f"cannot read --roster {roster}: {exc.strerror or exc}") from None
    by_name: dict[str, SubmissionResult] = {}
    for r in results:
        by_name.setdefault(r.source, r)
        by_name[r.name] = r  # the output folder's name wins over a handed-in name
    rows = [(s, by_name.get(s.submission)) for s in students]
    for s, r in rows:
        if r is None:
            notes.append(f"{s.student_id} ({s.name}): no graded submission {s.submission!r}; grade left blank")
        elif not r.final:
            notes.append(f"{s.student_id} ({s.name}): {r.name} is not final (grader errors); grade left blank")
    rostered = {r.name for _, r in rows if r is not None}
    for r in results:
        if r.name not in rostered:
            notes.append(f"{r.name}: graded but not in the roster {roster.name}; not exported")
    return rows, maximum


def export_command(args, console: Console) -> int:
    errors = Console(stderr=True, soft_wrap=True)
    notes: list[str] = []
    try:
        rows, maximum = students_and_results(args.graded, args.roster, args.format, notes)
        text = export_grades(args.format, rows, item=args.item, maximum=maximum, canvas_id=args.canvas_assignment_id)
        write_text_atomic(args.out, text)
    except (ExportError, SheetError) as exc:
        errors.print(Text.assemble(("error:", "bold red"), " ", terminal_text(exc)))
        return 2
    for note in notes:
        errors.print(Text.assemble(("note:", "yellow"), " ", terminal_text(note, multiline=True)))
    graded = sum(1 for _, r in rows if r is not None and r.final)
    console.print(terminal_text(f"{args.format}: {len(rows)} students ({graded} with a grade) written to {args.out}"))
    return 0
