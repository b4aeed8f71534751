"""What a submission is on disk: a folder of notebooks, a zip of them, or one notebook.

Zips are hostile until proven otherwise: entries with absolute paths, `..`, links or device
files, too many files or too many bytes (a zip bomb) are refused with a reason, and the
submission is graded as unreadable instead of taking the batch down. Folders are read
through `nofollow`: a link or special file in one is skipped with a note, never followed.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import stat
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.inputs.nofollow import NotAFile, opened, shown, walk

MAX_ZIP_FILES = 500
MAX_ZIP_BYTES = 200 * 2**20
MAX_ZIP_RATIO = 200  # uncompressed / compressed, per entry


class SubmissionRejected(Exception):
    """The submission cannot be opened safely; the message says why, for the student."""


@dataclass(frozen=True)
class Submission:
    name: str  # the output folder's name: safe, stable, distinct (see submission_name)
    source: Path  # what was handed in: a folder, a .zip or a .ipynb
    handed_in: str = ""  # the file or folder name as handed in (printable; undecodable bytes as \\xNN)

    @property
    def kind(self) -> str:
        if self.source.is_dir():
            return "folder"
        return "zip" if self.source.suffix.lower() == ".zip" else "notebook"


# Output names that the batch itself writes beside the submissions' folders (or that an
# operating system reserves); compared without case.
RESERVED_NAMES = frozenset({"gradebook.csv", "leaderboard.csv", "summary.html", "manual.csv", "manual-latest.csv",
                            "lms-students.csv", "roster.csv", "grader-settings.json"})
_WINDOWS_DEVICES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                              *(f"lpt{i}" for i in range(10))})
_CLEAN = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?")
HASH_SEPARATOR = "~"  # never in a clean name, so a hashed name never equals a clean one


def original_name(path: Path) -> str:
    """The file or folder name as handed in (`.` or `..` on the command line: the folder's)."""
    return path.name if path.name not in ("", ".", "..") else path.resolve().name


def submission_name(path: Path) -> str:
    """The name of a submission's output folder: a function of its file or folder name alone
    (stable across runs, whatever else is on the command line), safe on every file system, and
    distinct for distinct names. A clean name (lower-case letters, digits, `.`, `_`, `-`;
    starts and ends with a letter or digit; at most 64 characters; not one of the batch's own
    output files) is kept as it is, extension included (`group01`, `group02.zip`). Any other
    name becomes a readable stem plus `~` and a hash of the exact original name
    (`Group_01~3f2a9c0d1b7e`, `submission~...` for a name with no Latin letters): `~` never
    occurs in a clean name, and different originals hash differently."""
    original = original_name(path)
    base = original.split(".")[0]
    if (_CLEAN.fullmatch(original) and original not in RESERVED_NAMES and base not in _WINDOWS_DEVICES):
        return original
    stem = original.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    stem = "".join(c for c in unicodedata.normalize("NFKD", stem) if not unicodedata.combining(c))
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:40].strip("._-") or "submission"
    digest = hashlib.sha256(os.fsencode(original)).hexdigest()[:12]
    return f"{stem}{HASH_SEPARATOR}{digest}"


def discover(paths: list[Path]) -> tuple[list[Submission], list[str]]:
    """Submissions from the command line; unknown files are ignored with a note. A path given
    twice is graded once. Two different submissions with one name (`a/group1` and `b/group1`)
    are both left ungraded with a note: which one the outputs would describe is ambiguous."""
    notes: list[str] = []
    found: dict[str, list[tuple[Path, str]]] = {}
    seen: set[Path] = set()
    for path in paths:
        if not path.exists():
            notes.append(f"{path}: no such file or folder; ignored")
            continue
        if not path.is_file() and not path.is_dir():  # a FIFO would block whoever reads it
            notes.append(f"{path.name}: not a regular file (a FIFO, socket or device); ignored")
            continue
        if path.is_file() and path.suffix.lower() not in (".zip", ".ipynb"):
            notes.append(f"{path.name}: not a notebook, zip or folder; ignored")
            continue
        resolved = path.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        found.setdefault(submission_name(path), []).append((path, _printable(original_name(path))))
    subs: list[Submission] = []
    for name, entries in found.items():
        if len(entries) > 1:
            notes.append(f"{len(entries)} submissions are named {entries[0][1]} "
                         f"({', '.join(str(p) for p, _ in entries)}): none of them graded; rename them apart")
            continue
        (path, handed_in), = entries
        subs.append(Submission(name, path, handed_in))
    return subs, notes


def _printable(name: str) -> str:
    """A file name as text any output can hold: bytes that are not UTF-8 become `\\xNN`."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def fingerprint(source: Path) -> str:
    """A hash of everything handed in: changes when any file of the submission changes. Read
    as grading reads it: links and special files count by their names only (never followed,
    never opened: a FIFO would block), hidden folders not at all."""
    h = hashlib.sha256()
    if source.is_dir():
        listing = walk(source)
        files, root = [source / rel for rel in listing.files], source
        for entry in listing.skipped:
            h.update(f"skipped {entry.rel}: {entry.why}\n".encode(errors="surrogateescape"))
    else:
        files, root = [source], None
    for f in files:
        h.update(f.relative_to(root or source.parent).as_posix().encode(errors="surrogateescape"))
        try:
            with opened(f, root) as (fd, _):
                for chunk in iter(lambda: os.read(fd, 1 << 20), b""):
                    h.update(chunk)
        except NotAFile as exc:  # swapped since the walk: graded as refused, so hashed as such
            h.update(str(exc).encode(errors="surrogateescape"))
    return h.hexdigest()


def _safe_member(info: zipfile.ZipInfo) -> PurePosixPath | None:
    """The member's relative path, or None for directories; raises for unsafe entries."""
    name = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise SubmissionRejected(f"the zip contains a link ({shown(name)}); links are not allowed")
    kind = stat.S_IFMT(mode)  # 0 when the zip tool recorded permissions only
    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        raise SubmissionRejected(f"the zip contains a special file ({shown(name)})")
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
        raise SubmissionRejected(f"the zip entry {shown(name)!r} points outside the zip")
    if info.is_dir():
        return None
    return path


def extract_zip(zip_path: Path, dest: Path, root: Path | None = None, *, scale: int = 1) -> Path:
    """Extract a zip into `dest` safely; return `dest`. With `root` (a folder handed in that
    holds the zip), no step from `root` to the zip may be a link. Messages name entries (the
    student's names) but never quote what is in them. `scale`: the limits on files and bytes
    times this (an LMS's zip of a whole class)."""
    try:
        with opened(zip_path, root) as (fd, _), os.fdopen(os.dup(fd), "rb") as fh, zipfile.ZipFile(fh) as zf:
            _extract(zf, dest, MAX_ZIP_FILES * scale, MAX_ZIP_BYTES * scale)
    except NotAFile as exc:
        raise SubmissionRejected(str(exc)) from None
    except (zipfile.BadZipFile, ValueError, OverflowError, struct.error, EOFError):  # texts may carry its bytes
        raise SubmissionRejected(f"{shown(zip_path.name)} is not a readable zip file (damaged, or not a zip)") from None
    return dest


# Errors of the grader's own file system while unpacking: a grader fault, not a rejection.
_GRADER_FAULTS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EACCES, errno.EPERM})


def _extract(zf: zipfile.ZipFile, dest: Path, max_files: int, max_bytes: int) -> None:
    infos = zf.infolist()
    if len(infos) > max_files:
        raise SubmissionRejected(f"the zip holds {len(infos)} files (at most {max_files})")
    total = sum(i.file_size for i in infos)
    if total > max_bytes:
        raise SubmissionRejected(
            f"the zip unpacks to {total / 2**20:.0f} MB (at most {max_bytes // 2**20} MB)")
    for info in infos:
        rel = _safe_member(info)
        if rel is None or "__MACOSX" in rel.parts:
            continue
        name = shown(info.filename)
        if info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO:
            raise SubmissionRejected(f"{name} is compressed {info.file_size // info.compress_size}:1,"
                                     " like a zip bomb")
        target = dest.joinpath(*rel.parts)
        written = 0
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                # never trust the sizes in the header: count what really comes out
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    written += len(chunk)
                    if written > info.file_size or written > max_bytes:
                        raise SubmissionRejected(f"{name} unpacks to more than it declares")
                    out.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
            # damaged, encrypted or an unknown compression; the library's text is not shown
            raise SubmissionRejected(f"{name} in the zip cannot be unpacked (damaged, encrypted, or compressed "
                                     "in a way the grader does not read)") from None
        except (ValueError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno in _GRADER_FAULTS:
                raise  # the grader's own disk: not the student's doing
            # a NUL byte, a name too long, a file and a folder of one name: the student's names
            raise SubmissionRejected(f"{name} in the zip cannot be unpacked: its name is not a usable file "
                                     "name (or a file and a folder share it)") from None


def materialize(sub: Submission, workdir: Path) -> Path:
    """A path the grader can read notebooks from: the folder or notebook itself, or the
    zip extracted into `workdir` (which the caller removes)."""
    if sub.kind != "zip":
        return sub.source
    dest = workdir / sub.name
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    return extract_zip(sub.source, dest)
