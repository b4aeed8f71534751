"""Tables for the instructor: the gradebook, the Search Quest leaderboard, and the sheet of
text answers to grade by hand (and merging it back).

Every cell passes through `inert.csv_cell`: a student's text, file name or model description
can never start a spreadsheet formula (manual.csv is opened in a spreadsheet by design).
`read_manual` undoes it with `csv_uncell`, so the keys match and the comments read back are
the comments written. Names and answers also have control, escape and bidi characters made
visible (`inert.visible`): a sheet shown in a terminal or a spreadsheet hides nothing. `submission` is the output folder's name (the key); `handed_in` is the
file or folder name the submission came as."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from grader.judge.outcomes import LEADERBOARD_METRIC, LEADERBOARD_MODEL, SubmissionResult
from grader.outputs.inert import csv_cell, csv_uncell, visible
from grader.outputs.points import points as pts
from grader.sheets import read_sheet, sheet_number

MANUAL_COLUMNS = ["submission", "handed_in", "question", "max_points", "text", "points", "comment"]
MANUAL_KEYS = ["submission", "question", "max_points", "points"]  # what --manual needs of a sheet


def _csv(rows: list[list]) -> str:
    """Every cell made safe for a spreadsheet, whoever wrote it."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([[csv_cell(cell) for cell in row] for row in rows])
    return buf.getvalue()


def gradebook_csv(results: list[SubmissionResult], questions: list[str] = ()) -> str:
    """One row per submission, one column per question (`questions` first, so a question no row
    was graded on yet still has its column): importable into an LMS grade centre."""
    if not results:
        return _csv([["submission", "handed_in", "total", "max_points", "verdict", "final"]])
    ordered = sorted(results, key=lambda r: r.name)
    # every question of every row (rows graded under different assignments may differ); a
    # question a row was not graded on is left blank, never a 0
    qids = list(dict.fromkeys([*questions, *(q.id for r in ordered for q in r.questions)]))
    rows = [["submission", "handed_in", *qids, "total", "max_points", "verdict", "final"]]
    for r in ordered:
        points = {q.id: q.points for q in r.questions}
        rows.append([r.name, visible(r.source), *(pts(points[q]) if q in points else "" for q in qids),
                     pts(r.points), pts(r.max_points), r.verdict, "yes" if r.final else "no"])
    return _csv(rows)


def leaderboard_csv(results: list[SubmissionResult]) -> str:
    """The MNIST Search Quest, ranked by f1_micro measured by the grader on held-out digits."""
    entries = []
    for r in results:
        for q in r.questions:
            if LEADERBOARD_METRIC in q.metrics:
                entries.append((float(q.metrics[LEADERBOARD_METRIC]), r.name, visible(r.source),
                                visible(q.metrics.get(LEADERBOARD_MODEL, ""))))
    entries.sort(key=lambda e: (-e[0], e[1]))
    rows = [["rank", "submission", "handed_in", "f1_micro_held_out", "model"]]
    rows += [[i, name, source, f"{score:.5f}", model] for i, (score, name, source, model) in enumerate(entries, 1)]
    return _csv(rows)


def manual_rows(results: list[SubmissionResult]) -> list[list]:
    """Every text answer, with the points it is worth, for the instructor to fill in."""
    rows = []
    for r in sorted(results, key=lambda r: r.name):
        for q in r.questions:
            for c in q.checks:
                if c.name == "text answer":
                    rows.append([r.name, visible(r.source), q.id, pts(q.check_max_points(c)),
                                 visible(q.answer_text, multiline=True),
                                 "" if c.manual_credit is None else pts(c.manual_credit * q.check_max_points(c)),
                                 c.manual_comment])
    return rows


def manual_csv(results: list[SubmissionResult]) -> str:
    return _csv([MANUAL_COLUMNS, *manual_rows(results)])


class ManualSheetError(ValueError):
    pass


def read_manual(path: Path) -> dict[tuple[str, str], tuple[float, str]]:
    """(submission, question) -> (points, comment) for every row the instructor filled in.
    Reads the sheet as the instructor's spreadsheet saved it: `,` or `;` separated, decimal
    point or comma, with or without a BOM. A row's maximum is the one the sheet shows (two
    decimals): typing it gives full marks."""
    grades: dict[tuple[str, str], tuple[float, str]] = {}
    fields, rows = read_sheet(path)
    missing = set(MANUAL_KEYS) - set(fields)
    if missing:
        raise ManualSheetError(f"{path.name} lacks the columns {', '.join(sorted(missing))}")
    for n, row in enumerate(rows, 2):
        row = {k: csv_uncell(row.get(k) or "") for k in fields}
        if not row["points"].strip():
            continue
        try:
            points = sheet_number(row["points"])
            maximum = sheet_number(row["max_points"])
        except ValueError:
            raise ManualSheetError(f"{path.name} line {n}: points {row['points']!r} is not a number") from None
        if not 0 <= points <= maximum:
            raise ManualSheetError(f"{path.name} line {n}: {pts(points)} points is outside 0..{pts(maximum)}")
        grades[(row["submission"], row["question"])] = (points, (row.get("comment") or "").strip())
    return grades


def apply_manual(result: SubmissionResult, grades: dict[tuple[str, str], tuple[float, str]]) -> bool:
    """Put the instructor's points on the text-answer checks; True if anything changed."""
    changed = False
    for q in result.questions:
        if (result.name, q.id) not in grades:
            continue
        points, comment = grades[(result.name, q.id)]
        for c in q.checks:
            if c.name == "text answer":
                maximum = q.check_max_points(c)
                # the sheet shows the maximum to two decimals (1/3 of a point: 0.33): typed, it is full marks
                credit = 1.0 if points >= float(pts(maximum)) else points / maximum if maximum else 0.0
                if c.manual_credit != credit or c.manual_comment != comment:
                    c.manual_credit, c.manual_comment = credit, comment
                    changed = True
    return changed
