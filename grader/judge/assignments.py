"""The registry of assignments: what the engine grades, found without naming any of them.

An assignment is a Python package that defines `ASSIGNMENT = Assignment(...)`: its exercises
(the catalogue of checks), the support files every kernel gets (course helpers), and where
its reference solutions live in a checkout. The engine finds assignments through the entry
point group `itmal_grader.assignments` (`name = "package:ASSIGNMENT"` in the package's
pyproject.toml), or takes a package directory given by path (`--assignment DIR`), so a
course adds a journal by adding a package, never by editing the engine.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import pkgutil
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType

from grader.judge.catalogue import Exercise

ENTRY_POINT_GROUP = "itmal_grader.assignments"


@dataclass(frozen=True)
class Assignment:
    name: str
    title: str
    exercises: dict[str, Exercise]  # in the course's order
    # Copied into every kernel's scratch folder, in this order: {name there: file or folder}.
    support_files: dict[str, Path] = field(default_factory=dict)
    # The reference solutions when the grader runs from a checkout (None: none found).
    solutions: Path | None = None
    # The package's own folder (the Gradescope export ships it with the engine).
    package_dir: Path | None = None
    # The stub notebooks handed out (one per exercise, named as its `notebook`): prompts are told
    # from answers against them, and the similarity report leaves them out as MOSS a base file.
    stubs: Path | None = None

    @property
    def public_store(self) -> Path | None:
        """The public reference store shipped in the package (grader/judge/public_store.py)."""
        from grader.judge.public_store import FILE_NAME

        return None if self.package_dir is None else self.package_dir / FILE_NAME


class UnknownAssignment(LookupError):
    """No assignment of that name or path; the message lists what is installed."""


def discover_exercises(module: ModuleType, order: list[str] = ()) -> dict[str, Exercise]:
    """Every submodule of an assignment package that defines `EXERCISE`, in `order` (those not
    named there after, by name)."""
    found = []
    for info in pkgutil.iter_modules(module.__path__):
        sub = importlib.import_module(f"{module.__name__}.{info.name}")
        if isinstance(getattr(sub, "EXERCISE", None), Exercise):
            found.append(sub.EXERCISE)
    rank = {name: i for i, name in enumerate(order)}
    return {e.name: e for e in sorted(found, key=lambda e: (rank.get(e.name, len(rank)), e.name))}


def registered() -> dict[str, metadata.EntryPoint]:
    """The installed assignments, by name."""
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _from_directory(folder: Path) -> Assignment:
    init = folder / "__init__.py"
    if not init.is_file():
        raise UnknownAssignment(f"{folder} is not an assignment package (it has no __init__.py)")
    module_name = "itmal_assignment_" + hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, init, submodule_search_locations=[str(folder)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # before executing: its submodules import it
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
    return _assignment_of(module, str(folder))


def _assignment_of(module: ModuleType, where: str) -> Assignment:
    found = getattr(module, "ASSIGNMENT", None)
    if not isinstance(found, Assignment):
        raise UnknownAssignment(f"{where} defines no ASSIGNMENT = Assignment(...)")
    return found


_LOADED: dict[str, Assignment] = {}


def load(spec: str | os.PathLike | None = None) -> Assignment:
    """The assignment named `spec` (an installed name or a package folder); without one,
    $ITMAL_ASSIGNMENT, else the only installed assignment."""
    spec = str(spec) if spec is not None else os.environ.get("ITMAL_ASSIGNMENT") or None
    key = spec or ""
    if key in _LOADED:
        return _LOADED[key]
    installed = registered()
    if spec is None:
        if len(installed) != 1:
            names = ", ".join(sorted(installed)) or "none"
            raise UnknownAssignment(f"choose an assignment with --assignment (installed: {names})")
        spec = next(iter(installed))
    if spec in installed:
        value = installed[spec].load()
        found = value if isinstance(value, Assignment) else _assignment_of(value, spec)
    elif Path(spec).is_dir():
        found = _from_directory(Path(spec))
    else:
        names = ", ".join(sorted(installed)) or "none"
        raise UnknownAssignment(f"no assignment named {spec!r} (installed: {names}; or give a package folder)")
    _LOADED[key] = found
    return found


__all__ = ["Assignment", "ENTRY_POINT_GROUP", "UnknownAssignment", "discover_exercises", "load", "registered"]
