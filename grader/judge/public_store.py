"""The public reference store: the few reference values public checks compare against.

Made by the instructor's tooling (`grader build-public-store`) from a run of the solutions;
shipped inside the assignment package (`public_reference.json`), so that a student's self-check
judges those checks as the instructor's run does. It holds only the values the catalogue lists
(`Check.public_reference`), as plain numbers, arrays and short texts: never solution code,
never an answer a check does not name.

{"profile": "quick", "versions": {...}, "values": {exercise: {question: {key: answer}}}}
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Callable

import numpy as np

from grader.files import write_text_atomic
from grader.judge.catalogue import Exercise
from grader.kernel.plaindata import Answer

FILE_NAME = "public_reference.json"
MAX_TEXT = 2000  # a value the course prints (a report line), not a program


def listed_keys(exercise: Exercise) -> dict[str, list[str]]:
    """{question id: the reference keys its public checks read}, in catalogue order."""
    keys: dict[str, list[str]] = {}
    for q in exercise.questions:
        for c in q.checks:
            for key in c.public_reference:
                if key not in keys.setdefault(q.id, []):
                    keys[q.id].append(key)
    return {q: k for q, k in keys.items() if k}


def _plain(key: str, ans: Answer) -> dict:
    """The stored form of one reference value: numbers, arrays of numbers or a short text."""
    if ans is None or not ans.ok or ans.value is None:
        raise ValueError(f"the reference run has no usable {key}")
    v = ans.value
    if isinstance(v, np.ndarray):
        if v.dtype.kind not in "biuf":
            raise ValueError(f"{key}: an array of {v.dtype} is not a plain value")
    elif isinstance(v, str):
        if len(v) > MAX_TEXT:
            raise ValueError(f"{key}: a text of {len(v)} characters is too long for the public store")
    elif not isinstance(v, (bool, int, float, list, dict)):
        raise ValueError(f"{key}: a {type(v).__name__} is not a plain value")
    d = Answer("ok", v).to_dict()
    d.pop("message", None)
    return d


def build(exercises: dict[str, Exercise], reference_for: Callable[[Exercise], dict | None],
          profile: str, versions: dict[str, str]) -> dict:
    """The store's content: for every exercise with listed keys, those values of its reference
    run (`reference_for(exercise)`: {question: {key: Answer}})."""
    values: dict[str, dict] = {}
    for name, exercise in exercises.items():
        wanted = listed_keys(exercise)
        if not wanted:
            continue
        answers = reference_for(exercise)
        if answers is None:
            raise FileNotFoundError(f"no reference solution for {name}")
        values[name] = {q: {k: _plain(k, answers.get(q, {}).get(k)) for k in keys} for q, keys in wanted.items()}
    return {"profile": profile, "versions": versions, "values": values}


def write(path: Path, store: dict) -> None:
    write_text_atomic(path, json.dumps(store, sort_keys=True, indent=1) + "\n")


def read(path: Path | None, exercise: str, profile: str) -> dict[str, dict[str, Answer]] | None:
    """{question: {key: Answer}} of `exercise` from the store at `path`; None where there is no
    store, it does not cover the exercise, or it was made for another profile."""
    if path is None or not Path(path).is_file():
        return None
    data = _load(str(path), Path(path).stat().st_mtime_ns)
    if data.get("profile") != profile or exercise not in data.get("values", {}):
        return None
    return {q: {k: Answer.from_dict({"status": "ok", **a}) for k, a in qa.items()}
            for q, qa in data["values"][exercise].items()}


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int) -> dict:
    return json.loads(Path(path).read_text())
