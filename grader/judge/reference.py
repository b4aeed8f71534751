"""The reference solution's answers: executed once per environment, cached by content hash.

The key covers everything that could change the reference's numbers: the solution notebook's
bytes, the requests asked of it, the course helpers, and the versions of Python and the
numeric libraries. Only plain data is cached (JSON), never objects.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
from importlib import metadata
from pathlib import Path

from grader.judge.catalogue import Exercise
from grader.files import write_text_atomic
from grader.kernel.manager import STARTUP_CODE
from grader.kernel.plaindata import Answer

LIBRARIES = ("numpy", "scikit-learn", "scipy", "tensorflow-cpu", "tensorflow", "keras", "ipykernel", "itmal-grader")


def default_cache_dir() -> Path:
    if os.environ.get("ITMAL_CACHE_DIR"):
        return Path(os.environ["ITMAL_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "itmal-grader")


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "machine": platform.machine()}
    for lib in LIBRARIES:
        try:
            found[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            pass
    return found


def _tree_digest(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
        h.update(f.relative_to(path).as_posix().encode() if path.is_dir() else path.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def cache_key(exercise: Exercise, solution: Path, plan_desc: list, helpers: dict[str, Path], profile: str) -> str:
    h = hashlib.sha256()
    h.update(profile.encode())
    h.update(solution.read_bytes())
    h.update(json.dumps(plan_desc, sort_keys=True).encode())
    for name, path in helpers.items():
        h.update(name.encode() + _tree_digest(path).encode())
    h.update(json.dumps(_versions(), sort_keys=True).encode())
    h.update(STARTUP_CODE.encode())  # how every kernel starts (imports, seeds) shapes its answers
    h.update(exercise.name.encode())
    return h.hexdigest()


def load(cache_file: Path) -> dict[str, dict[str, Answer]] | None:
    try:
        data = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        return None
    return {q: {k: Answer.from_dict(a) for k, a in answers.items()} for q, answers in data.items()}


def store(cache_file: Path, answers: dict[str, dict[str, Answer]]) -> None:
    """Write atomically: a crash mid-write never leaves a half cache behind."""
    write_text_atomic(cache_file, json.dumps(to_plain(answers)))


# A store: the reference answers of several exercises in one JSON file, for graders that must
# not run (or do not have) the solutions: {exercise: {question: {key: answer}}}, plain data.

def to_plain(answers: dict[str, dict[str, Answer]]) -> dict:
    return {q: {k: a.to_dict() for k, a in qa.items()} for q, qa in answers.items()}


def write_store(path: Path, by_exercise: dict[str, dict[str, dict[str, Answer]]]) -> None:
    write_text_atomic(path, json.dumps({name: to_plain(answers) for name, answers in by_exercise.items()},
                                       sort_keys=True))


def read_store(path: Path) -> dict[str, dict[str, dict[str, Answer]]]:
    path = Path(path)
    return _read_store(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)  # read once per grader process, not once per exercise
def _read_store(path: str, mtime_ns: int) -> dict[str, dict[str, dict[str, Answer]]]:
    data = json.loads(Path(path).read_text())
    return {name: {q: {k: Answer.from_dict(a) for k, a in qa.items()} for q, qa in answers.items()}
            for name, answers in data.items()}
