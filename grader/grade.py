"""Grading one submission: find its notebooks, run each (sandboxed), score, return results.

The pipeline, one way: execute (sandbox) -> extract (plain data) -> check -> score; the
report modules then only format a `SubmissionResult`. Every failure becomes an outcome for
the questions it affects; `grade_submission` does not raise on bad input.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader import __version__
from grader.judge import reference as ref_cache
from grader.judge.assignments import Assignment, load as load_assignment
from grader.judge.catalogue import Exercise, with_hidden_checks
from grader.kernel.execute import Execution, FetchPlan, execute_notebook
from grader.inputs.nofollow import Skipped, shown, walk
from grader.inputs.notebook import NotebookUnreadable, cell_tags, heading_level, locate_questions, read_notebook
from grader.judge.outcomes import Outcome, QuestionResult, SubmissionResult
from grader.kernel.plaindata import Answer
from grader.kernel.sandbox import KernelOptions, Limits, SandboxMode
from grader.judge.score import build_plan, missing_exercise, score_exercise

@dataclass
class GradingConfig:
    sandbox: SandboxMode
    limits: Limits = field(default_factory=Limits)
    solutions_dir: Path | None = None
    hidden_dir: Path | None = None
    cache_dir: Path = field(default_factory=ref_cache.default_cache_dir)
    profile: str = "full"  # "quick": subsets and fewer epochs (self-checks, tests); "full": the course's
    # A file of reference answers (reference.write_store): used instead of running solutions,
    # where the reference was run elsewhere (a Dask worker, a Gradescope container).
    references: Path | None = None
    # An installed assignment's name or an assignment package's folder; None: the only one installed.
    assignment: str | None = None

    def assignment_package(self) -> Assignment:
        return load_assignment(self.assignment)

    def catalogue(self) -> dict[str, Exercise]:
        return with_hidden_checks(self.assignment_package().exercises, self.hidden_dir)

    def to_dict(self) -> dict:
        """Plain data, to hand the configuration to a worker process."""
        return {"sandbox": [self.sandbox.enabled, self.sandbox.reason], "limits": asdict(self.limits),
                "solutions_dir": _str(self.solutions_dir), "hidden_dir": _str(self.hidden_dir),
                "cache_dir": str(self.cache_dir), "profile": self.profile, "references": _str(self.references),
                "assignment": self.assignment}

    @classmethod
    def from_dict(cls, d: dict) -> "GradingConfig":
        return cls(sandbox=SandboxMode(*d["sandbox"]), limits=Limits(**d["limits"]),
                   solutions_dir=_path(d["solutions_dir"]), hidden_dir=_path(d["hidden_dir"]),
                   cache_dir=Path(d["cache_dir"]), profile=d["profile"], references=_path(d.get("references")),
                   assignment=d.get("assignment"))

    def fingerprint(self) -> str:
        """Changes whenever a result graded under this configuration could differ."""
        h = hashlib.sha256(json.dumps({"profile": self.profile, "version": __version__,
                                       "sandbox": self.sandbox.enabled,
                                       "assignment": self.assignment_package().name}, sort_keys=True).encode())
        if self.references is not None and self.references.is_file():
            h.update(self.references.read_bytes())
        for folder in (self.hidden_dir, self.solutions_dir):
            if folder is not None and folder.is_dir():
                _hash_folder(h, folder)
        return h.hexdigest()

    def kernel_options(self) -> KernelOptions:
        """The profile and the read-only data sets every kernel of this run is given."""
        return KernelOptions(profile=self.profile, data=tuple(kernel_data_sets(self.cache_dir).items()))


def kernel_data_sets(cache_dir: Path) -> dict[str, Path]:
    """Data sets for the kernel, by name. MNIST: the training split only (held-out digits stay
    with the grader); absent when no copy of MNIST can be found."""
    try:
        from grader.inputs.mnist import kernel_data_dir
    except ImportError:
        return {}
    found = kernel_data_dir(cache_dir)
    return {"mnist": found} if found is not None else {}


def _hash_folder(h, folder: Path) -> None:
    for f in sorted(folder.rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(f.name.encode() + f.read_bytes())


def folder_fingerprint(folder: Path) -> str | None:
    """A hash of a folder's files (hidden checks, solutions), as the configuration's
    fingerprint sees them; None when it is not a folder."""
    if not folder.is_dir():
        return None
    h = hashlib.sha256()
    _hash_folder(h, folder)
    return h.hexdigest()


def _str(p: Path | None) -> str | None:
    return None if p is None else str(p)


def _path(s: str | None) -> Path | None:
    return None if s is None else Path(s)


def default_solutions_dir(assignment: str | None = None) -> Path | None:
    """$ITMAL_SOLUTIONS, else the assignment's own solutions (in a checkout)."""
    if os.environ.get("ITMAL_SOLUTIONS"):
        return Path(os.environ["ITMAL_SOLUTIONS"])
    return load_assignment(assignment).solutions


def _run(nb, exercises: list[Exercise], config: GradingConfig):
    """Execute a notebook once for every exercise it holds; fetch all their answers."""
    plan = FetchPlan()
    located: dict[str, dict] = {}
    for exercise in exercises:
        region = exercise_region(nb, exercise) if len(exercises) > 1 else None
        located[exercise.name] = locate_questions(nb, [q.id for q in exercise.questions], region)
        build_plan(exercise, located[exercise.name], plan)
    execution = execute_notebook(nb, plan, limits=config.limits, sandbox=config.sandbox,
                                 support_files=config.assignment_package().support_files,
                                 options=config.kernel_options())
    return located, execution


def _plan_description(plan: FetchPlan) -> list:
    return sorted((q, r.key, r.expression(), json.dumps(r.inputs())) for q, r in plan.requests())


def _solution(exercise: Exercise, config: GradingConfig) -> tuple[Path, object, Path] | None:
    """The exercise's solution notebook (path, contents) and the cache file of its answers."""
    if config.solutions_dir is None:
        return None
    solution = config.solutions_dir / exercise.notebook
    if not solution.is_file():
        return None
    nb = read_notebook(solution)
    located = locate_questions(nb, [q.id for q in exercise.questions])
    key = ref_cache.cache_key(exercise, solution, _plan_description(build_plan(exercise, located, FetchPlan())),
                              config.assignment_package().support_files, config.profile)
    return solution, nb, config.cache_dir / "reference" / f"{exercise.name}-{config.profile}-{key[:24]}.json"


def reference_cached(exercise: Exercise, config: GradingConfig) -> bool:
    """Whether `reference_answers` can answer without running the solution."""
    if config.references is not None:
        return True
    solution = _solution(exercise, config)
    return solution is None or ref_cache.load(solution[2]) is not None


def reference_answers(exercise: Exercise, config: GradingConfig) -> dict[str, dict[str, Answer]] | None:
    """The reference solution's answers for `exercise`: from the configured store, else from
    the cache or by running the solution once."""
    if config.references is not None:
        stored = ref_cache.read_store(config.references)
        if exercise.name not in stored:
            raise RuntimeError(f"{config.references.name} holds no reference answers for {exercise.name}")
        return stored[exercise.name]
    solution = _solution(exercise, config)
    if solution is None:
        return None
    path, nb, cache_file = solution
    cached = ref_cache.load(cache_file)
    if cached is not None:
        return cached
    _, execution = _run(nb, [exercise], config)
    failed = [c for c in execution.cells.values() if c.status != "ok"]
    if failed:
        c = failed[0]
        raise RuntimeError(f"the reference solution {path.name} failed in cell {c.index + 1}: "
                           f"{c.status} {c.ename} {c.evalue} {c.reason}")
    ref_cache.store(cache_file, execution.answers)
    return execution.answers


def exercises_in(nb, path: Path, catalogue: dict[str, Exercise]) -> list[str]:
    """Which exercises a notebook holds: its metadata, else its tags (a combined notebook may
    hold several), else its file name, else the exercise titles among its headings."""
    meta = nb.metadata.get("itmal", {}) if isinstance(nb.metadata.get("itmal"), dict) else {}
    if meta.get("exercise") in catalogue:
        return [meta["exercise"]]
    tagged: list[str] = []
    for cell in nb.cells:
        for tag in cell_tags(cell):
            name = tag.split(".")[0]
            if name in catalogue and name not in tagged:
                tagged.append(name)
    if tagged:
        return tagged
    by_name = identify_exercise_by_name(path, catalogue)
    if by_name:
        return [by_name]
    return [name for name, ex in catalogue.items() if exercise_region(nb, ex) is not None]


def exercise_region(nb, exercise: Exercise) -> tuple[int, int] | None:
    """The cells of a combined notebook under the heading that names `exercise`: from that
    heading to the next heading of the same or a higher level."""
    for i, cell in enumerate(nb.cells):
        level = heading_level(cell)
        if level and exercise.title.lower() in cell.source.split("\n", 1)[0].lower():
            end = next((j for j in range(i + 1, len(nb.cells))
                        if 0 < heading_level(nb.cells[j]) <= level), len(nb.cells))
            return i, end
    return None


def find_notebooks(path: Path) -> tuple[list[Path], list[Skipped]]:
    """The notebooks of a submission, and what was skipped: `path` itself when it is a file
    (the instructor named it); in a folder, the regular .ipynb files below it, reached without
    following a link (links and special files are skipped; hidden folders never entered)."""
    if not path.is_dir():
        return [path], []
    listing = walk(path)
    return [path / rel for rel in listing.files if rel.lower().endswith(".ipynb")], listing.skipped


def grade_submission(path: Path, config: GradingConfig, *, only: set[str] | None = None,
                     skipped: Iterable[Skipped] = ()) -> SubmissionResult:
    """Grade a notebook or a folder of notebooks. A single notebook is graded for the
    exercises it holds; a folder for every exercise (those without a notebook: 'missing').
    `skipped`: entries already refused before `path` was made (a folder packed for a cluster)."""
    catalogue = config.catalogue()
    notes: list[str] = []
    owner: dict[str, Path] = {}  # exercise -> the notebook graded for it
    notebooks: dict[Path, object] = {}
    unreadable: dict[str, str] = {}
    found, refused = find_notebooks(path)
    for entry in [*skipped, *refused]:
        notes.append(entry.note)
        guess = identify_exercise_by_name(Path(entry.rel), catalogue) if entry.rel.lower().endswith(".ipynb") else None
        if guess:  # the exercise it would have given is missing, with this reason
            unreadable.setdefault(guess, entry.note)
    root = path if path.is_dir() else None
    for nb_path in found:
        try:
            nb = read_notebook(nb_path, root)
        except NotebookUnreadable as exc:
            guess = identify_exercise_by_name(nb_path, catalogue)
            if guess:
                unreadable[guess] = str(exc)
            notes.append(str(exc))
            continue
        names = exercises_in(nb, nb_path, catalogue)
        if not names:
            notes.append(f"{shown(nb_path.name)}: not one of this assignment's notebooks; ignored")
        for name in names:
            if name in owner:
                notes.append(f"{shown(nb_path.name)}: a second notebook for '{name}'; "
                             f"graded {shown(owner[name].name)} instead")
            else:
                owner[name] = nb_path
                notebooks[nb_path] = nb
    if only is not None:
        wanted = only
    elif not path.is_dir():
        wanted = set(owner) | set(unreadable)
    else:
        wanted = set(catalogue)
    by_exercise: dict[str, list[QuestionResult]] = {}
    seconds: list[float] = []
    for nb_path, nb in notebooks.items():
        held = [catalogue[n] for n in catalogue if owner.get(n) == nb_path and n in wanted]
        if held:
            by_exercise.update(grade_notebook(nb, held, config, notes, seconds))
    questions: list[QuestionResult] = []
    for name, exercise in catalogue.items():
        if name not in wanted:
            continue
        if name in by_exercise:
            questions += by_exercise[name]
        elif name in unreadable:
            # nothing gradable was handed in for these questions: missing, with the reason
            questions += missing_exercise(exercise, f"the notebook could not be read: {unreadable[name]}")
        else:
            questions += missing_exercise(
                exercise, f"no notebook for this exercise was handed in (expected {exercise.notebook})")
    return SubmissionResult(name=path.stem if path.is_file() else path.name, questions=questions,
                            sandbox=config.sandbox.describe(), notes=notes, seconds=round(sum(seconds), 2))


def identify_exercise_by_name(path: Path, catalogue: dict[str, Exercise]) -> str | None:
    stem = path.stem.lower().replace("-", "_").replace(" ", "_")
    matches = [n for n in catalogue if n in stem]
    return max(matches, key=len) if matches else None


def grade_notebook(nb, exercises: list[Exercise], config: GradingConfig,
                   notes: list[str], seconds: list[float]) -> dict[str, list[QuestionResult]]:
    """Run one notebook once and score every exercise it holds; add its kernel's time
    (without hidden requests) to `seconds`."""
    available = dict(config.kernel_options().data)
    results: dict[str, list[QuestionResult]] = {}
    for exercise in [e for e in exercises if set(e.data) - set(available)]:
        lacking = ", ".join(sorted(set(exercise.data) - set(available)))
        results[exercise.name] = missing_exercise(
            exercise, f"the grader has no copy of {lacking}: set ITMAL_MNIST_DIR to a folder with the MNIST "
                      "files (see the README); this is not the student's fault", Outcome.GRADER_ERROR)
    exercises = [e for e in exercises if e.name not in results]
    if not exercises:
        return results
    references = {}
    for exercise in exercises:
        try:
            references[exercise.name] = reference_answers(exercise, config)
        except Exception as exc:
            notes.append(f"{exercise.name}: reference run failed, reference checks not judged: {exc}")
            references[exercise.name] = {}
    located, execution = _run(nb, exercises, config)
    seconds.append(execution.seconds)
    notes += [f"{', '.join(e.name for e in exercises)}: {event}" for event in execution.events]
    results.update({e.name: score_exercise(e, execution, located[e.name], references[e.name]) for e in exercises})
    return results


__all__ = ["GradingConfig", "grade_submission", "Execution"]
