"""A submission's files, walked and opened without ever following a link.

Everything below the path the instructor named is the student's. A link in it (to the
solutions, to another group's notebook, to /etc/shadow) would make the grader read what was
never handed in; a FIFO would block it; a device or socket is not a file at all. So:

- `walk` lists a folder through directory file descriptors, each step opened with
  O_NOFOLLOW, and looks at every entry with lstat: regular files are listed, links and
  special files are skipped with a note for the student;
- `opened` opens a file the same way (every step below the root O_NOFOLLOW, the file itself
  also O_NONBLOCK) and accepts it only if fstat says it is a regular file: a link swapped in
  after the walk is refused at the open, and a FIFO cannot block;
- hidden entries (.git, .ipynb_checkpoints, macOS's ._ files) and __MACOSX are not part of a
  submission: never listed, never entered.

The root itself is taken as given (the instructor's choice), link or not.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_ENTRIES = 10_000  # a folder of a million files is not a submission
MAX_DEPTH = 32
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class NotAFile(Exception):
    """The path is not a regular file of the submission; the message says why, for a student."""


def shown(name: str, limit: int = 120) -> str:
    """A student's file name as it may appear in a message: printable, one line, bounded."""
    clean = "".join(c if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF else "?" for c in name)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISLNK(mode):
        return "a link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


@dataclass(frozen=True)
class Skipped:
    """An entry of a folder submission that is not graded, and why."""

    rel: str  # relative to the submission, '/'-separated
    why: str  # "a link", "a FIFO (named pipe)", ...

    @property
    def note(self) -> str:
        if self.why == "a link":
            return f"{shown(self.rel)} is a link; links are not graded, hand in the file itself"
        if self.why.startswith("a "):
            return f"{shown(self.rel)} is {self.why}, not a file; it is not graded, hand in the file itself"
        return f"{shown(self.rel)}: {self.why}"


@dataclass
class Listing:
    files: list[str] = field(default_factory=list)  # regular files, relative, '/'-separated, sorted
    skipped: list[Skipped] = field(default_factory=list)


def _hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def walk(root: Path) -> Listing:
    """Every regular file below `root` (a folder), never following a link."""
    listing = Listing()
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)  # the root as given
    try:
        _walk(fd, "", 0, listing)
    finally:
        os.close(fd)
    listing.files.sort()
    return listing


def _walk(dir_fd: int, prefix: str, depth: int, listing: Listing) -> None:
    try:
        with os.scandir(dir_fd) as it:
            names = sorted(e.name for e in it if not _hidden(e.name))
    except OSError:
        listing.skipped.append(Skipped(prefix.rstrip("/") or ".", "this folder could not be read; not graded"))
        return
    for name in names:
        rel = prefix + name
        if len(listing.files) + len(listing.skipped) >= MAX_ENTRIES:
            listing.skipped.append(Skipped(prefix or ".", f"more than {MAX_ENTRIES} files; the rest are not graded"))
            return
        try:
            mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
        except OSError:
            continue  # gone since the listing
        if stat.S_ISREG(mode):
            listing.files.append(rel)
        elif not stat.S_ISDIR(mode):
            listing.skipped.append(Skipped(rel, kind(mode)))
        elif depth >= MAX_DEPTH:
            listing.skipped.append(Skipped(rel, f"folders nested over {MAX_DEPTH} deep are not graded"))
        else:
            try:
                sub = _open(name, _DIR_FLAGS, dir_fd)
            except NotAFile as exc:  # swapped for a link since the lstat, or unreadable
                listing.skipped.append(Skipped(rel, exc.why))
                continue
            try:
                _walk(sub, rel + "/", depth + 1, listing)
            finally:
                os.close(sub)


class _Refused(NotAFile):
    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


@contextmanager
def opened(path: Path, root: Path | None = None) -> Iterator[tuple[int, os.stat_result]]:
    """(fd, stat) of the regular file `path`. With `root`, `path` lies below it and no step
    from `root` to the file may be a link; without, `path` is the instructor's own choice and
    may be one. Raises NotAFile (a link, FIFO, device, folder, unreadable) with the reason."""
    path = Path(path)
    if root is None:
        dir_fd, names, last_flags = None, [str(path)], _FILE_FLAGS & ~os.O_NOFOLLOW
    else:
        names = list(PurePosixPath(path.relative_to(root).as_posix()).parts)
        if not names or ".." in names:
            raise NotAFile(f"{shown(path.name)} is not a file of the submission")
        dir_fd, last_flags = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC), _FILE_FLAGS
    n = 0
    try:
        for n, name in enumerate(names[:-1]):
            step = _open(name, _DIR_FLAGS, dir_fd)
            os.close(dir_fd)
            dir_fd = step
        n = len(names) - 1
        fd = _open(names[-1], last_flags, dir_fd)
    except _Refused as exc:  # named by the step that is not what it should be
        raise NotAFile(Skipped(path.name if root is None else "/".join(names[: n + 1]), exc.why).note) from None
    finally:
        if dir_fd is not None:
            os.close(dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotAFile(Skipped(path.name if root is None else "/".join(names), kind(st.st_mode)).note)
        yield fd, st
    finally:
        os.close(fd)


def _open(name: str, flags: int, dir_fd: int | None) -> int:
    """os.open; a failure raises NotAFile whose `why` says what the entry is."""
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # O_NOFOLLOW met a link, or not a folder
            try:
                raise _Refused(kind(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)) from None
            except OSError:
                pass
        raise _Refused(f"cannot be read ({exc.strerror})") from None


def read_at_most(fd: int, limit: int) -> bytes:
    """Up to `limit` + 1 bytes (one more than allowed tells the caller it is too big)."""
    chunks, left = [], limit + 1
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
