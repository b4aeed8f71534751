"""An LMS's "download all submissions" zip, split into one submission per student or group.

Each LMS names what it puts in the zip by a fixed pattern; the zip is split only when every
entry follows one LMS's pattern (apart from the files that LMS adds itself), so an ordinary
zip of one group's notebooks stays one submission. The patterns, as the LMSs write them
(sources: each LMS's documentation and its own code where public):

- Canvas ("Download Submissions", submissions.zip; Canvas guides, "How do I download all
  student submissions for an assignment?"): flat files `<sortablename>[_LATE]_<userid>_
  <attachmentid>_<filename>`, the name lower-case letters without spaces (`doejane`).
- Moodle (mod/assign locallib.php `download_submissions`; docs.moodle.org, "Assignment
  settings: Download submissions in folders"): `<Full Name>_<participantid>_assignsubmission_
  file_<filename>`, or, in folders, `<Full Name>_<participantid>_assignsubmission_file/<file>`;
  group submissions prefix the group's name (`Group 1-Jane Doe_...`), blind marking uses
  `Participant_<id>_...`.
- Brightspace (D2L community, "Download assignment submissions"): `<subid>-<userid> - <Name> -
  <Mon d, yyyy hmm AM> - <filename>` (or the same as a folder), plus an `index.html`; each
  attempt is kept, so only the latest one of each person counts.
- Blackboard Learn ("Assignment File Download"; Blackboard help, "Download assignments"):
  `<Assignment>_<username>_attempt_<yyyy-mm-dd-hh-mm-ss>_<filename>`, plus one
  `<Assignment>_<username>_attempt_<date>.txt` of submission details per attempt; only the
  latest attempt counts.

Entries are unpacked with the checks of `submissions.extract_zip` (sizes, links, `..`); a
zip a student handed in inside the bulk zip is unpacked into that student's folder the same
way.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from grader.inputs.submissions import Submission, SubmissionRejected, extract_zip, submission_name

# Canvas: letters only in the name, ids of two digits or more, never a folder (checked below)
BULK_SCALE = 50  # a whole class's zip may hold 50 times the files and bytes one submission may

_CANVAS = re.compile(r"(?P<name>[a-z]+)(?:_late)?_(?P<id>\d{2,})_(?P<att>\d{2,})_(?P<file>.+)", re.I)
_MOODLE = re.compile(r"(?P<name>[^/]+?)_(?P<id>\d+)_assignsubmission_(?:file|onlinetext)(?:_(?P<file>.*))?")
_BRIGHTSPACE = re.compile(r"(?P<sub>\d+)-(?P<id>\d+) - (?P<name>.+?) - (?P<date>[A-Z][a-z]{2} \d{1,2}, \d{4} "
                          r"\d{3,4} [AP]M)(?: - (?P<file>.+))?")
_BLACKBOARD = re.compile(r"(?P<item>.+?)_(?P<id>[^_/]+)_attempt_(?P<date>\d{4}(?:-\d{2}){5})(?:_(?P<file>.+)|\.txt)")


@dataclass
class Owner:
    """One student's or group's part of a bulk zip."""
    lms: str
    student_id: str
    name: str
    when: str = ""  # the attempt's date, where the LMS keeps several
    files: list[tuple[str, PurePosixPath]] = field(default_factory=list)  # (member, path in the submission)

    @property
    def folder(self) -> str:
        """A clean folder name made of the person's name and id: `doe-jane_12345`."""
        ascii_name = unicodedata.normalize("NFKD", self.name).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40].strip("-") or "student"
        return f"{slug}_{re.sub(r'[^a-z0-9]+', '-', self.student_id.lower()).strip('-')[:20] or 'id'}"


def _brightspace_date(text: str) -> datetime:
    return datetime.strptime(text, "%b %d, %Y %I%M %p")


def _match(names: list[str]) -> list[Owner] | None:
    """The owners of a bulk zip's entries, by the first LMS whose pattern every entry follows."""
    for lms, pattern, extras in (("Canvas", _CANVAS, ()), ("Moodle", _MOODLE, ()),
                                 ("Brightspace", _BRIGHTSPACE, ("index.html",)), ("Blackboard", _BLACKBOARD, ())):
        owners: dict[tuple[str, str], Owner] = {}
        for member in names:
            path = PurePosixPath(member)
            if member in extras:
                continue
            top, rest = path.parts[0], PurePosixPath(*path.parts[1:]) if len(path.parts) > 1 else None
            m = pattern.fullmatch(top)
            if m is None or (lms == "Canvas" and rest is not None):
                break
            if rest is None and not m.group("file"):
                if lms == "Blackboard" and top.endswith(".txt"):
                    continue  # Blackboard's submission details: not handed in
                break
            when = m.groupdict().get("date") or ""
            owner = owners.setdefault((m.group("id"), when), Owner(lms, m.group("id"), m.groupdict().get("name") or m.group("id"), when))
            owner.files.append((member, rest if rest is not None else PurePosixPath(m.group("file"))))
        else:
            if owners:
                return _latest(list(owners.values()))
    return None


def _latest(owners: list[Owner]) -> list[Owner]:
    """One attempt per person: the latest (Brightspace and Blackboard keep every attempt)."""
    def when(o: Owner):
        return _brightspace_date(o.when) if o.lms == "Brightspace" else o.when

    best: dict[str, Owner] = {}
    for o in owners:
        if o.student_id not in best or when(o) > when(best[o.student_id]):
            best[o.student_id] = o
    return list(best.values())


def bulk_owners(zip_path: Path) -> list[Owner] | None:
    """The students or groups of an LMS bulk download, or None for any other zip."""
    import zipfile

    try:
        with zipfile.ZipFile(zip_path) as zf:
            names = [i.filename for i in zf.infolist()
                     if not i.is_dir() and "__MACOSX" not in PurePosixPath(i.filename).parts
                     and not PurePosixPath(i.filename).name.startswith(".")]
    except (zipfile.BadZipFile, OSError, ValueError):
        return None  # graded as a zip: its own checks say what is wrong with it
    return _match(names) if names else None


@dataclass(frozen=True)
class SplitSubmission:
    submission: Submission
    lms: str
    student_id: str
    name: str


def split_bulk_zip(zip_path: Path, staging: Path, notes: list[str]) -> list[SplitSubmission] | None:
    """Unpack an LMS bulk zip into `staging/<owner>/`, one folder per student or group; None
    when `zip_path` is no such zip. Unpacked afresh each run, so the folders hold exactly what
    the zip holds."""
    owners = bulk_owners(zip_path)
    if owners is None:
        return None
    if staging.exists():
        shutil.rmtree(staging)
    unpacked = staging / ".all"
    try:
        extract_zip(zip_path, unpacked, scale=BULK_SCALE)
    except SubmissionRejected as exc:
        notes.append(f"{zip_path.name}: looks like a {owners[0].lms} download but cannot be unpacked: {exc}")
        return []
    split = []
    taken: set[str] = set()
    for owner in sorted(owners, key=lambda o: (o.folder, o.student_id)):
        if owner.folder in taken:  # two ids that clean to one folder name: never merged
            notes.append(f"{zip_path.name}: two students' files would share the folder {owner.folder}; "
                         f"{owner.student_id} left out, grade it apart")
            continue
        taken.add(owner.folder)
        folder = staging / owner.folder
        for member, rel in owner.files:
            target = folder.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            source = unpacked.joinpath(*PurePosixPath(member).parts)
            if rel.suffix.lower() == ".zip":  # the student's own zip: unpacked, checked alike
                try:
                    extract_zip(source, folder)
                    continue
                except SubmissionRejected as exc:
                    notes.append(f"{owner.folder}: {exc}")
            shutil.move(str(source), target)
        split.append(SplitSubmission(Submission(submission_name(folder), folder, f"{owner.name} ({owner.lms} "
                                                f"{owner.student_id})"), owner.lms, owner.student_id, owner.name))
    shutil.rmtree(unpacked)
    notes.append(f"{zip_path.name}: a {owners[0].lms} download; split into {len(split)} submissions, one per "
                 "student or group")
    return split
