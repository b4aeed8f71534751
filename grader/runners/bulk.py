"""LMS bulk downloads on the command line: each such zip becomes one submission per student
or group (grader/inputs/lms.py), unpacked under DIR/.lms/ (never graded into the tables as
a folder of its own), and who is who is kept in DIR/lms-students.csv, the roster that
`grader export-grades` uses when no --roster is given."""

from __future__ import annotations

from pathlib import Path

from grader.files import write_text_atomic
from grader.inputs.lms import split_bulk_zip
from grader.inputs.submissions import Submission
from grader.outputs.lms_export import roster_csv
from grader.sheets import Student, read_roster

LMS_ROSTER = "lms-students.csv"
ROSTER = "roster.csv"  # the --roster of `grader grade`, kept beside the grades


def split_lms_downloads(subs: list[Submission], out: Path, notes: list[str]) -> list[Submission]:
    """`subs` with every LMS bulk zip replaced by its students' submissions."""
    result: list[Submission] = []
    found: list[Student] = []
    for sub in subs:
        split = split_bulk_zip(sub.source, out / ".lms" / sub.name, notes) if sub.kind == "zip" else None
        if split is None:
            result.append(sub)
            continue
        result += [s.submission for s in split]
        found += [Student(s.submission.name, s.student_id, s.name, s.lms) for s in split]
    if found:
        sheet = out / LMS_ROSTER
        kept = [s for s in (read_roster(sheet) if sheet.is_file() else [])
                if s.submission not in {f.submission for f in found}]
        write_text_atomic(sheet, roster_csv(sorted(kept + found, key=lambda s: (s.submission, s.student_id))))
    return result
