"""Reading a CSV sheet as a person's spreadsheet saved it (the manual sheet, a roster):
`,` or `;` separated, decimal point or comma, with or without the BOM Excel adds."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path


def sheet_text(path: Path) -> str:
    """UTF-8 with or without a BOM; else Windows-1252 (an older Excel's "CSV (semicolon
    separated)")."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_sheet(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header (names stripped) and the rows. The separator is `;` where the header holds
    more of them than commas (a Danish, German or French spreadsheet), else `,`."""
    text = sheet_text(path)
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = list(reader)
    if not rows:
        return [], []
    fields = [f.strip() for f in rows[0]]
    return fields, [dict(zip(fields, (cell for cell in row))) for row in rows[1:] if any(c.strip() for c in row)]


def sheet_number(text: str) -> float:
    """A number as a person types it: `1.5`, `1,5` (decimal comma), `1.000,5`, ` 2 `."""
    text = text.strip().replace("\u00a0", "").replace(" ", "")
    if "," in text:
        text = text.replace(".", "").replace(",", ".") if "." in text else text.replace(",", ".")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


ROSTER_COLUMNS = ["submission", "student_id", "name", "email", "lms"]


class SheetError(ValueError):
    """A sheet the instructor gave cannot be used; the message says why, in one line."""


@dataclass(frozen=True)
class Student:
    """One row of a roster: who handed in `submission` (a group has a row per member).
    `student_id` is the LMS's id for the student (Brightspace OrgDefinedId, Canvas user ID,
    Moodle participant number) or any id for the plain CSV export."""
    submission: str
    student_id: str
    name: str = ""
    lms: str = ""
    email: str = ""


def read_roster(path: Path) -> list[Student]:
    """A roster CSV: `submission` (the group's or submission's name, as the grader names its
    output folder or as it was handed in) and `student_id`; `name`, `email` optional."""
    fields, rows = read_sheet(path)
    lower = {f.lower(): f for f in fields}
    missing = [c for c in ("submission", "student_id") if c not in lower]
    if missing:
        raise SheetError(f"{path.name} lacks the columns {', '.join(missing)} (a roster needs submission, student_id)")
    from grader.outputs.inert import csv_uncell  # the grader's own rosters guard formulas

    students = []
    for row in rows:
        get = lambda c: csv_uncell((row.get(lower.get(c, ""), "") or "").strip())  # noqa: E731
        if get("submission") and get("student_id"):
            students.append(Student(get("submission"), get("student_id"), get("name"), get("lms"), get("email")))
    return students
