"""The settings a batch grades under: given by the instructor, or pinned in the output folder.

A setting is *given* by, first found: a command-line flag; a configuration file
(`grader.toml` beside the submissions, over `[tool.itmal-grader]` in ./pyproject.toml);
the environment ($ITMAL_ASSIGNMENT, $ITMAL_SOLUTIONS, $ITMAL_HIDDEN_CHECKS). One not given
is the one pinned in the output folder, else the default.

The first run into an output folder pins the settings that decide grades (PINNED), with
fingerprints of the solutions' and hidden checks' files, in DIR/grader-settings.json. A later
run whose given settings differ from the pin, or whose pinned folders' files have changed,
stops before grading with one line naming each difference: a run that forgot
`--hidden-checks` grades with the pinned ones, but one that says otherwise must say whether
it means it this once (--force; the pin stays) or from now on (--reconfigure; re-pinned).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from grader import __version__
from grader.files import write_json_atomic
from grader.grade import folder_fingerprint
from grader.judge.assignments import UnknownAssignment, load as load_assignment
from grader.kernel.sandbox import Limits

PIN_NAME = "grader-settings.json"
PIN_FORMAT = "itmal-grader-settings/1"
PINNED = ("assignment", "solutions", "hidden-checks", "profile", "cell-timeout", "notebook-timeout", "sandbox")
FOLDERS = ("solutions", "hidden-checks")  # pinned with a fingerprint of their files
PROFILES = ("quick", "full")
SANDBOX = ("required", "preferred", "off")
ENV = {"assignment": "ITMAL_ASSIGNMENT", "solutions": "ITMAL_SOLUTIONS", "hidden-checks": "ITMAL_HIDDEN_CHECKS"}
# What a configuration file may set (the `grade` flags' names), and as what.
FILE_KEYS = {"assignment": "a string", "solutions": "a string", "hidden-checks": "a string",
             "profile": "a string", "cell-timeout": "a number", "notebook-timeout": "a number",
             "require-sandbox": "true or false", "no-sandbox": "true or false", "jobs": "an integer",
             "out": "a string", "exercises": "a list of strings", "cluster": "a string"}
_PATH_KEYS = ("solutions", "hidden-checks", "out")  # relative to the file's folder
PYPROJECT_TABLE = "tool.itmal-grader"
BESIDE = "grader.toml"


class SettingsError(ValueError):
    """One line: what is wrong with the settings and how to go on; nothing was graded."""


@dataclass(frozen=True)
class Given:
    value: object
    where: str  # how the instructor said it: "--profile", "grader.toml", "$ITMAL_HIDDEN_CHECKS"


@dataclass
class Settled:
    values: dict  # PINNED key -> value (folders as absolute path strings, or None)
    others: dict[str, object]  # jobs, out, exercises, cluster: this run's only, never pinned
    notes: list[str] = field(default_factory=list)
    pin: dict | None = None  # to write once nothing else stops the run (`write_pin`)
    pin_path: Path | None = None


def write_pin(run: Settled) -> None:
    """Pin the settings `settle` decided to pin: atomically (a reader sees the old pin or the new)."""
    if run.pin is not None:
        write_json_atomic(run.pin_path, run.pin)


def _typed(key: str, value: object) -> bool:
    kind = FILE_KEYS[key]
    if kind == "a string":
        return isinstance(value, str)
    if kind == "a number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "an integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "true or false":
        return isinstance(value, bool)
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror or exc}") from None


def _from_file(path: Path, table: dict, where: str) -> dict[str, Given]:
    given = {}
    for key, value in table.items():
        if key not in FILE_KEYS:
            raise SettingsError(f"{where}: unknown key '{key}' (known: {', '.join(FILE_KEYS)})")
        if not _typed(key, value):
            raise SettingsError(f"{where}: '{key}' must be {FILE_KEYS[key]}, not {value!r}")
        if key in _PATH_KEYS or (key == "assignment" and (path.parent / value).is_dir()):
            value = str(path.parent / value)  # a relative path is relative to the file
        given[key] = Given(value, f"{where}: {key}")
    return _with_sandbox(given)


def file_settings(paths: list[Path], cwd: Path) -> tuple[dict[str, Given], list[str]]:
    """The settings of the configuration files, and the files read (`grader.toml` beside
    the submissions, i.e. in the common parent of the paths given, over ./pyproject.toml's
    `[tool.itmal-grader]`)."""
    given: dict[str, Given] = {}
    read: list[str] = []
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        tool = _read_toml(pyproject).get("tool")
        table = tool.get("itmal-grader") if isinstance(tool, dict) else None
        if table is not None:
            where = f"{pyproject} [{PYPROJECT_TABLE}]"
            if not isinstance(table, dict):
                raise SettingsError(f"{where}: must be a table of settings")
            given.update(_from_file(pyproject, table, where))
            read.append(where)
    if paths:
        beside = Path(os.path.commonpath([str(p.absolute().parent) for p in paths])) / BESIDE
        if beside.is_file():
            given.update(_from_file(beside, _read_toml(beside), str(beside)))
            read.append(str(beside))
    return given, read


def _with_sandbox(given: dict[str, Given]) -> dict[str, Given]:
    """require-sandbox / no-sandbox of one source as one setting, `sandbox`."""
    required, off = given.pop("require-sandbox", None), given.pop("no-sandbox", None)
    if required and required.value and off and off.value:
        raise SettingsError(f"{required.where} and {off.where} contradict each other")
    if off and off.value:
        given["sandbox"] = Given("off", off.where)
    elif required and required.value:
        given["sandbox"] = Given("required", required.where)
    elif required or off:  # set to false: the default, said on purpose
        given["sandbox"] = Given("preferred", (required or off).where)
    return given


def cli_settings(args) -> dict[str, Given]:
    """The flags given on the command line (argparse defaults are None: not given)."""
    given = {}
    for key in ("assignment", "solutions", "hidden-checks", "profile", "cell-timeout", "notebook-timeout",
                "jobs", "out", "exercises", "cluster"):
        value = getattr(args, key.replace("-", "_"))
        if value is not None:
            given[key] = Given(str(value) if isinstance(value, Path) else value, f"--{key}")
    flags = {"require-sandbox": args.require_sandbox, "no-sandbox": args.no_sandbox}
    given.update({k: Given(True, f"--{k}") for k, on in flags.items() if on})
    return _with_sandbox(given)


def env_settings() -> dict[str, Given]:
    return {key: Given(os.environ[var], f"${var}") for key, var in ENV.items() if os.environ.get(var)}


def _canonical(key: str, given: Given) -> object:
    value = given.value
    if key in FOLDERS:
        return str(Path(value).resolve())
    if key == "assignment":
        return str(Path(value).resolve()) if Path(value).is_dir() else value
    if key == "profile" and value not in PROFILES:
        raise SettingsError(f"{given.where}: profile must be one of {', '.join(PROFILES)}, not {value!r}")
    if key in ("cell-timeout", "notebook-timeout"):
        if not value > 0:
            raise SettingsError(f"{given.where}: must be more than 0 seconds, not {value!r}")
        return float(value)
    return value


def _default(key: str, values: dict) -> object:
    if key == "solutions":
        folder = load_assignment(values["assignment"]).solutions
        return None if folder is None else str(Path(folder).resolve())
    limits = Limits()
    return {"assignment": None, "hidden-checks": None, "profile": "full", "sandbox": "preferred",
            "cell-timeout": limits.cell_timeout, "notebook-timeout": limits.notebook_timeout}[key]


def _show(value: object) -> str:
    if value is None:
        return "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def read_pin(path: Path) -> dict | None:
    """The pinned settings, or None when there is no pin; a pin that cannot be used is a
    SettingsError (never a traceback)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read the pinned settings {path}: {getattr(exc, 'strerror', None) or exc}; "
                            "fix it, or run with --reconfigure to pin this run's settings") from None
    try:
        pin = json.loads(text)
        settings, prints = pin["settings"], pin["fingerprints"]
        valid = (pin["format"] == PIN_FORMAT and isinstance(pin["assignment_name"], str)
                 and set(PINNED) <= set(settings) and set(FOLDERS) <= set(prints)
                 and all(settings[k] is None or isinstance(settings[k], str) for k in ("assignment", *FOLDERS))
                 and all(prints[k] is None or isinstance(prints[k], str) for k in FOLDERS)
                 and settings["profile"] in PROFILES and settings["sandbox"] in SANDBOX
                 and all(isinstance(settings[k], (int, float)) and not isinstance(settings[k], bool)
                         for k in ("cell-timeout", "notebook-timeout")))
    except (ValueError, TypeError, KeyError):
        valid = False
    if not valid:
        raise SettingsError(f"the pinned settings {path} are corrupt or not the grader's; restore them, or run "
                            "with --reconfigure to pin this run's settings")
    return pin


def _assignment_name(spec: str | None, where: str) -> str:
    try:
        return load_assignment(spec).name
    except UnknownAssignment as exc:
        raise SettingsError(f"{where}: {exc}") from None


def settle(given: dict[str, Given], out: Path, *, force: bool = False, reconfigure: bool = False) -> Settled:
    """This run's settings: `given` over the pin in `out` (if any) over the defaults; marks
    them to be pinned (`write_pin`) on a first run or with `reconfigure`. Raises SettingsError when a given setting or a
    pinned folder's files differ from the pin, unless `force` (grade with them this once) or
    `reconfigure` (pin them)."""
    pin_path = out / PIN_NAME
    try:
        pin = read_pin(pin_path)
    except SettingsError:
        if not reconfigure:
            raise
        pin = None
    pinned = pin["settings"] if pin else {}
    values: dict = {}
    differ: list[str] = []
    from_pin: list[str] = []
    for key in PINNED:
        if key in given:
            values[key] = _canonical(key, given[key])
            if pin is None:
                continue
            same = (_assignment_name(values[key], given[key].where) == pin["assignment_name"]
                    if key == "assignment" else values[key] == pinned[key])
            if not same:
                differ.append(f"{given[key].where} {_show(values[key])} (pinned: {_show(pinned[key])})")
        elif pin is not None:
            values[key] = pinned[key]
            if values[key] != _default(key, values):
                from_pin.append(f"{key} {_show(values[key])}")
        else:
            values[key] = _default(key, values)
    name = _assignment_name(values["assignment"], given["assignment"].where if "assignment" in given
                            else "the pinned assignment" if pin else "assignment")
    prints = {}
    for key in FOLDERS:
        if values[key] is None:
            prints[key] = None
            continue
        prints[key] = folder_fingerprint(Path(values[key]))
        if prints[key] is None:
            where = given[key].where if key in given else f"{key} pinned in {pin_path}"
            raise SettingsError(f"{where}: no such folder: {values[key]}")
        if pin is not None and values[key] == pinned[key] and prints[key] != pin["fingerprints"][key]:
            differ.append(f"the files in {key} {values[key]} changed since they were pinned")
    if differ and not (force or reconfigure):
        raise SettingsError(
            f"these settings differ from those pinned with the grades in {pin_path}: {'; '.join(differ)}. "
            "Leave them out to grade with the pinned settings, add --reconfigure to pin the new ones "
            "(what they change is re-graded), or --force to grade with them this once")
    run = Settled(values=values, others={k: g.value for k, g in given.items() if k not in PINNED}, pin_path=pin_path)
    if from_pin:
        run.notes.append(f"grading with the settings pinned in {pin_path}: {', '.join(from_pin)}")
    if pin is None or (reconfigure and differ):
        run.pin = {"format": PIN_FORMAT, "grader_version": __version__, "settings": values, "fingerprints": prints,
                   "assignment_name": name}
        run.notes.append(f"settings pinned in {pin_path}" + (" (re-pinned)" if pin is not None else ""))
    elif differ:
        run.notes.append(f"--force: grading with settings that differ from those pinned in {pin_path} "
                         "(the pin stays as it was)")
    return run


def given_settings(args, paths: list[Path], cwd: Path) -> tuple[dict[str, Given], list[str]]:
    """Everything the instructor gave: the environment, under the configuration files, under
    the flags; and the files read."""
    from_files, read = file_settings(paths, cwd)
    return {**env_settings(), **from_files, **cli_settings(args)}, read
