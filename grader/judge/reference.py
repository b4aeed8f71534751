"""The reference solution's answers: executed once per environment, cached by content hash.

The key covers everything that could change the reference's numbers: the solution notebook's
bytes, the requests asked of it, the course helpers, and the versions of Python and the
numeric libraries. Only plain data is cached, never objects: a zip of the answers' JSON with
each array beside it as `.npy` bytes (read with allow_pickle=False), so that pca's 150 000
numbers load as bytes, not as 3.5 MB of JSON text.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import platform
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np

from grader.judge.catalogue import Exercise
from grader.files import write_bytes_atomic
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


CACHE_SUFFIX = ".zip"
_ANSWERS = "answers.json"


def _npy(value: np.ndarray) -> bytes | None:
    """The array as .npy bytes, or None where its dtype is not plain (it goes as JSON then)."""
    buf = io.BytesIO()
    try:
        np.save(buf, value, allow_pickle=False)
    except ValueError:
        return None
    return buf.getvalue()


def _pack(zf: zipfile.ZipFile, prefix: str, answers: dict[str, dict[str, Answer]]) -> None:
    """`answers` into `zf` under `prefix`: answers.json, and arrays/N.npy for each array."""
    plain: dict[str, dict[str, dict]] = {}
    arrays = 0
    for q, qa in answers.items():
        for k, a in qa.items():
            data = _npy(a.value) if isinstance(a.value, np.ndarray) else None
            if data is None:
                plain.setdefault(q, {})[k] = a.to_dict()
                continue
            name = f"arrays/{arrays}.npy"
            arrays += 1
            zf.writestr(prefix + name, data, compress_type=zipfile.ZIP_STORED)
            plain.setdefault(q, {})[k] = {"status": a.status, "message": a.message, "npy": name}
    zf.writestr(prefix + _ANSWERS, json.dumps(plain, sort_keys=True))


def _unpack(zf: zipfile.ZipFile, prefix: str) -> dict[str, dict[str, Answer]]:
    found: dict[str, dict[str, Answer]] = {}
    for q, qa in json.loads(zf.read(prefix + _ANSWERS)).items():
        for k, d in qa.items():
            if "npy" not in d:
                found.setdefault(q, {})[k] = Answer.from_dict(d)
                continue
            if not str(d["npy"]).startswith("arrays/"):
                raise ValueError(f"{q} {k}: not an array of this file")
            value = np.load(io.BytesIO(zf.read(prefix + d["npy"])), allow_pickle=False)
            found.setdefault(q, {})[k] = Answer(d["status"], value=value, message=d.get("message", ""))
    return found


def _zip_bytes(write) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        write(zf)
    return buf.getvalue()


def load(cache_file: Path) -> dict[str, dict[str, Answer]] | None:
    """The cached answers, or None where there are none (or they cannot be read: run again)."""
    try:
        with zipfile.ZipFile(cache_file) as zf:
            return _unpack(zf, "")
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, TypeError, AttributeError):
        return None


def store(cache_file: Path, answers: dict[str, dict[str, Answer]]) -> None:
    """Write atomically: a crash mid-write never leaves a half cache behind."""
    write_bytes_atomic(cache_file, _zip_bytes(lambda zf: _pack(zf, "", answers)))


# A store: the reference answers of several exercises in one zip, for graders that must not run
# (or do not have) the solutions: <exercise>/answers.json and <exercise>/arrays/N.npy. Each
# exercise is read only when it is graded.

def store_bytes(by_exercise: dict[str, dict[str, dict[str, Answer]]]) -> bytes:
    def write(zf: zipfile.ZipFile) -> None:
        for name in sorted(by_exercise):
            _pack(zf, f"{name}/", by_exercise[name])
    return _zip_bytes(write)


def write_store(path: Path, by_exercise: dict[str, dict[str, dict[str, Answer]]]) -> None:
    write_bytes_atomic(path, store_bytes(by_exercise))


def store_exercises(path: Path) -> list[str]:
    """The exercises a store holds."""
    with zipfile.ZipFile(path) as zf:
        return sorted(n[: -len(_ANSWERS) - 1] for n in zf.namelist() if n.count("/") == 1 and n.endswith("/" + _ANSWERS))


def read_store(path: Path, exercise: str) -> dict[str, dict[str, Answer]] | None:
    """`exercise`'s answers in the store at `path`, or None where it holds none."""
    path = Path(path)
    return _read_store(str(path), path.stat().st_mtime_ns, exercise)


@functools.lru_cache(maxsize=16)  # read once per grader process, not once per submission
def _read_store(path: str, mtime_ns: int, exercise: str) -> dict[str, dict[str, Answer]] | None:
    with zipfile.ZipFile(path) as zf:
        if f"{exercise}/{_ANSWERS}" not in zf.namelist():
            return None
        return _unpack(zf, f"{exercise}/")
