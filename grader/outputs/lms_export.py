"""Grades for an LMS: a file each LMS imports as it is, one row per student (a group's points
go to each of its members through the roster).

The columns are the ones each LMS documents for its grade import:
- Brightspace (D2L, "Importing grades"; the Grades_Sample_Import_File.csv): `OrgDefinedId`,
  `<item> Points Grade` (with `<Numeric MaxPoints:N>` so the import can create the item),
  a text item `<item> verdict Text Grade <Text>`, and the closing `End-of-Line Indicator` column
  holding `#`.
- Canvas (Canvas guides, "How do I import grades in the Gradebook?"): `Student`, `ID`,
  `SIS User ID`, `SIS Login ID`, `Section`, then one column per assignment, named
  `<assignment> (<assignment id>)` for an existing one (without the id Canvas creates it),
  and a second row `Points Possible` that gives the maximum; the verdict goes in a second
  column as Canvas's `complete` / `incomplete`.
- Moodle (assignment "Offline grading worksheet": Download grading worksheet, then Upload
  grading worksheet): `Identifier` (`Participant <id>`), `Full name`, `Email address`,
  `Grade`, `Maximum Grade`, `Feedback comments` (the verdict).
- csv: a plain table for anything else.

Points are written with a decimal point and at most two decimals; every cell passes
through `csv_cell` (student names are text from the LMS).
"""

from __future__ import annotations

import csv
import io

from grader.judge.outcomes import SubmissionResult
from grader.outputs.inert import csv_cell, visible
from grader.outputs.points import points
from grader.sheets import ROSTER_COLUMNS, Student

FORMATS = ("brightspace", "canvas", "moodle", "csv")


def _csv(rows: list[list], *, lineterminator: str = "\n") -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=lineterminator).writerows([[csv_cell(c) for c in row] for row in rows])
    return buf.getvalue()


def roster_csv(students: list[Student]) -> str:
    return _csv([ROSTER_COLUMNS, *([s.submission, s.student_id, visible(s.name), visible(s.email), s.lms]
                                   for s in students)])


def _grade(result: SubmissionResult | None) -> str:
    """Blank where there is no final result: an LMS import then leaves that grade alone."""
    return points(result.points) if result is not None and result.final else ""


def _verdict(result: SubmissionResult | None, passed: str, resubmit: str) -> str:
    if result is None or not result.final:
        return ""
    return passed if result.verdict == "pass" else resubmit


def export_grades(fmt: str, rows: list[tuple[Student, SubmissionResult | None]], *, item: str,
                  maximum: float, canvas_id: str = "") -> str:
    """The file for `fmt`, one row per student of the roster, in the roster's order."""
    if fmt == "brightspace":
        header = ["OrgDefinedId", f"{item} Points Grade <Numeric MaxPoints:{points(maximum)}>",
                  f"{item} verdict Text Grade <Text>", "End-of-Line Indicator"]
        return _csv([header, *([s.student_id, _grade(r), _verdict(r, "pass", "resubmit"), "#"] for s, r in rows)])
    if fmt == "canvas":
        column = f"{item} ({canvas_id})" if canvas_id else item
        header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column, f"{item} verdict"]
        possible = ["    Points Possible", "", "", "", "", points(maximum), ""]
        return _csv([header, possible, *([visible(s.name), s.student_id, "", "", "", _grade(r),
                                          _verdict(r, "complete", "incomplete")] for s, r in rows)])
    if fmt == "moodle":
        header = ["Identifier", "Full name", "Email address", "Grade", "Maximum Grade", "Feedback comments"]
        return _csv([header, *([f"Participant {s.student_id}", visible(s.name), visible(s.email), _grade(r),
                                points(maximum), _verdict(r, "Journal verdict: pass",
                                                          "Journal verdict: resubmit")] for s, r in rows)])
    if fmt == "csv":
        header = ["student_id", "name", "submission", "points", "max_points", "verdict", "final"]
        return _csv([header, *([s.student_id, visible(s.name), s.submission, _grade(r), points(maximum),
                                _verdict(r, "pass", "resubmit"), "" if r is None else ("yes" if r.final else "no")]
                               for s, r in rows)])
    raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
