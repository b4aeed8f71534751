"""Reading a submitted notebook: bounded, validated, every problem a message for the student.

Finding the work in it (which exercises, which cells per question) is `locate.py`'s.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import nbformat

from grader.inputs.nofollow import NotAFile, opened, read_at_most, shown

MAX_NOTEBOOK_BYTES = 50 * 2**20
ANSWER_PLACEHOLDER = "YOUR ANSWER HERE"
CODE_PLACEHOLDER = "YOUR CODE HERE"


class NotebookUnreadable(Exception):
    """The file is not a notebook the grader can run; the message says why, for a student.
    It never quotes the file: a refused file may be someone else's (a link, a secret)."""


def read_notebook(path: Path, root: Path | None = None) -> nbformat.NotebookNode:
    """Load and validate a notebook, upgrading old formats; raise NotebookUnreadable. With
    `root` (the folder handed in), nothing between `root` and the file may be a link."""
    name = shown(path.name)
    try:
        with opened(path, root) as (fd, st):
            if st.st_size > MAX_NOTEBOOK_BYTES:
                raise NotebookUnreadable(_too_big(name, st.st_size))
            data = read_at_most(fd, MAX_NOTEBOOK_BYTES)
    except NotAFile as exc:
        raise NotebookUnreadable(str(exc)) from None
    except OSError as exc:
        raise NotebookUnreadable(f"cannot read {name}: {exc.strerror}") from None
    if len(data) > MAX_NOTEBOOK_BYTES:  # it grew after the fstat
        raise NotebookUnreadable(_too_big(name, len(data)))
    return parse_notebook(data, name)


def _too_big(name: str, size: int) -> str:
    return (f"{name} is {size / 2**20:.0f} MB; notebooks over {MAX_NOTEBOOK_BYTES // 2**20} MB "
            "are not graded (clear large outputs before handing in)")


def parse_notebook(data: bytes, name: str) -> nbformat.NotebookNode:
    """A notebook from a file's bytes. Every message says what is wrong and where, in the
    grader's words: nbformat's and jsonschema's messages may quote the file, so none is passed on."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookUnreadable(f"{name} is not UTF-8 text (byte {exc.start}); is it a notebook?") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookUnreadable(f"{name} is not a valid Jupyter notebook: it is not valid JSON "
                                 f"({_json_problem(exc.msg)} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise NotebookUnreadable(f"{name} is not a valid Jupyter notebook: its JSON is nested too deeply") from None
    major = doc.get("nbformat") if isinstance(doc, dict) else None
    if type(major) is not int or major not in nbformat.versions:
        raise NotebookUnreadable(f"{name} is not a valid Jupyter notebook: it is JSON, but has no "
                                 f"'nbformat' version the grader knows ({', '.join(map(str, nbformat.versions))})")
    try:
        with warnings.catch_warnings():  # duplicate cell ids: nbformat renumbers them, and says so
            warnings.simplefilter("ignore")
            nb = nbformat.versions[major].to_notebook_json(doc, minor=doc.get("nbformat_minor", 0))
            nb = nbformat.convert(nb, 4)
            nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise NotebookUnreadable(f"{name} does not follow the notebook format: {_schema_problem(exc)}") from None
    except Exception:  # nbformat raises many types for malformed structure; none of their texts is shown
        raise NotebookUnreadable(f"{name} is not a valid Jupyter notebook: its nbformat {major} structure "
                                 "cannot be read") from None
    if not nb.cells:
        raise NotebookUnreadable(f"{name} has no cells")
    return nb


def _json_problem(msg: str) -> str:
    """The json module's own words ("Expecting value"), which name no content; else generic."""
    return msg if re.fullmatch(r"[A-Za-z ',:\\-]{1,60}", msg) else "malformed JSON"


_SAFE_KEY = re.compile(r"[A-Za-z0-9_.+/-]{1,40}")


def _schema_problem(exc) -> str:
    """Where (the field path) and what (the schema rule), never the offending value."""
    where = "/".join(str(p) if isinstance(p, int) or _SAFE_KEY.fullmatch(str(p)) else "…"
                     for p in exc.absolute_path) or "the top level"
    rule, expected = exc.validator, exc.validator_value
    if rule == "required" and isinstance(exc.instance, dict) and isinstance(expected, list):
        missing = [f for f in expected if isinstance(f, str) and f not in exc.instance and _SAFE_KEY.fullmatch(f)]
        return f"{where} lacks the field(s) {', '.join(repr(f) for f in missing) or 'it needs'}"
    if rule == "type" and isinstance(expected, (str, list)):
        return f"{where} should be of type {expected if isinstance(expected, str) else ' or '.join(map(str, expected))}"
    words = {"enum": "has a value the format does not allow", "const": "has a value the format does not allow",
             "additionalProperties": "has fields the format does not allow", "pattern": "is not in the expected form",
             "minItems": "has too few items", "maxItems": "has too many items", "oneOf": "matches none of the "
             "forms the format allows", "anyOf": "matches none of the forms the format allows"}
    return f"{where} {words.get(rule, 'breaks a rule of the format')}"


def cell_tags(cell) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


# A cell that only imports or calls the in-notebook self-check (`check("perceptron.qa")`): the
# grader does not run it, so grading never depends on it (a student may delete it, or keep it
# without its import cell).
_SELF_CHECK_LINE = re.compile(r"""^\s*(from\s+itmal_grader\s+import\s+check|check\(\s*(["'][\w.]*["'])?\s*\)\s*;?)?\s*(#.*)?$""")


def is_self_check_cell(cell) -> bool:
    source = cell.get("source", "") if cell.get("cell_type") == "code" else ""
    lines = source.splitlines() if isinstance(source, str) else []
    matches = [_SELF_CHECK_LINE.match(line) for line in lines]
    return all(matches) and any(m.group(1) for m in matches)  # comments alone are not a self-check


def without_self_checks(nb) -> nbformat.NotebookNode:
    """A copy of `nb` whose self-check cells are empty (cell numbers stay as they are)."""
    copy = nbformat.from_dict(nb)
    for cell in copy.cells:
        if is_self_check_cell(cell):
            cell.source = ""
    return copy
