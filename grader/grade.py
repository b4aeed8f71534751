"""Grading one submission: find its notebooks, run each (sandboxed), score, return results.

The pipeline, one way: execute (sandbox) -> extract (plain data) -> check -> score; the
report modules then only format a `SubmissionResult`. Every failure becomes an outcome for
the questions it affects; `grade_submission` does not raise on bad input.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader import __version__
from grader.judge import public_store
from grader.judge import reference as ref_cache
from grader.judge.assignments import Assignment, load as load_assignment
from grader.judge.catalogue import Exercise, with_hidden_checks
from grader.kernel import zygote
from grader.kernel.execute import Execution, FetchPlan, execute_notebook
from grader.inputs import duplicates
from grader.inputs.nofollow import Skipped, shown, walk
from grader.inputs.locate import Found, find_exercises, identify_exercise_by_name, locate_questions
from grader.inputs.notebook import NotebookUnreadable, read_notebook, without_self_checks
from grader.inputs.stubs import Stub, load_stub
from grader.judge.outcomes import Outcome, QuestionResult, SubmissionResult
from grader.kernel.plaindata import Answer
from grader.kernel.requests import describe_inputs
from grader.kernel.sandbox import KernelOptions, Limits, SandboxMode
from grader.judge.score import build_plan, missing_exercise, score_exercise
from grader.lanes import run_side_by_side

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
    # Kernels forked from a zygote that imported the course stack once (kernel/zygote.py),
    # where the sandbox runs as root; False: every kernel starts cold.
    warm_kernels: bool = True
    # Submissions graded at once on this machine (--jobs).
    jobs: int = 1
    # Notebooks of one submission run at once (lanes.py); None: as many as this run's share of
    # the cores (cores // jobs, at most MAX_LANES). Each kernel's thread pools get its share.
    lanes: int | None = None

    def assignment_package(self) -> Assignment:
        return load_assignment(self.assignment)

    def catalogue(self) -> dict[str, Exercise]:
        return with_hidden_checks(self.assignment_package().exercises, self.hidden_dir)

    def to_dict(self) -> dict:
        """Plain data, to hand the configuration to a worker process."""
        return {"sandbox": [self.sandbox.enabled, self.sandbox.reason], "limits": asdict(self.limits),
                "solutions_dir": _str(self.solutions_dir), "hidden_dir": _str(self.hidden_dir),
                "cache_dir": str(self.cache_dir), "profile": self.profile, "references": _str(self.references),
                "assignment": self.assignment, "warm_kernels": self.warm_kernels, "jobs": self.jobs,
                "lanes": self.lanes}

    @classmethod
    def from_dict(cls, d: dict) -> "GradingConfig":
        return cls(sandbox=SandboxMode(*d["sandbox"]), limits=Limits(**d["limits"]),
                   solutions_dir=_path(d["solutions_dir"]), hidden_dir=_path(d["hidden_dir"]),
                   cache_dir=Path(d["cache_dir"]), profile=d["profile"], references=_path(d.get("references")),
                   assignment=d.get("assignment"), warm_kernels=d.get("warm_kernels", True),
                   jobs=d.get("jobs", 1), lanes=d.get("lanes"))

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

    def notebooks_at_once(self) -> int:
        """How many of a submission's notebooks run side by side. One without the sandbox: an
        unsandboxed kernel does not die with the grader, and a lane's kernel may outlive Ctrl-C."""
        if not self.sandbox.enabled:
            return 1
        if self.lanes is not None:
            return max(1, self.lanes)
        return max(1, min(MAX_LANES, _cores() // max(1, self.jobs)))

    def kernel_options(self) -> KernelOptions:
        """The profile and the read-only data sets every kernel of this run is given, and its
        share of the cores: they are shared by `jobs` submissions, each running its lanes."""
        share = max(1, self.jobs) * self.notebooks_at_once()
        return KernelOptions(profile=self.profile, data=tuple(kernel_data_sets(self.cache_dir).items()),
                             threads=max(1, _cores() // share))


# A journal's notebooks side by side, at most: each kernel may take a few GiB (Limits.memory_total).
MAX_LANES = 4


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


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


def stubs(config: GradingConfig) -> dict[str, Stub | None]:
    """The assignment's stub of each exercise (None where it has none)."""
    named = tuple((name, ex.notebook) for name, ex in config.catalogue().items())
    return dict(_read_stubs(config.assignment_package().stubs, named))


@functools.lru_cache(maxsize=8)
def _read_stubs(folder: Path | None, named: tuple[tuple[str, str], ...]) -> tuple[tuple[str, Stub | None], ...]:
    """Read once per process: the handed-out stubs do not change while grading."""
    return tuple((name, load_stub(folder, notebook)) for name, notebook in named)


def _run(nb, exercises: list[Exercise], config: GradingConfig, regions: dict[str, tuple[int, int]] | None = None,
         self_check: set[str] = frozenset()):
    """Execute a notebook once for every exercise it holds; fetch all their answers (for the
    exercises in `self_check`, which have no reference run, only what public checks need)."""
    plan = FetchPlan()
    located: dict[str, dict] = {}
    given = stubs(config)
    for exercise in exercises:
        located[exercise.name] = locate_questions(nb, [q.id for q in exercise.questions],
                                                  (regions or {}).get(exercise.name), given.get(exercise.name))
        build_plan(exercise, located[exercise.name], plan, self_check=exercise.name in self_check)
    execution = execute_notebook(without_self_checks(nb), plan, limits=config.limits, sandbox=config.sandbox,
                                 support_files=config.assignment_package().support_files,
                                 options=config.kernel_options(), warm=config.warm_kernels)
    return located, execution


def _plan_description(plan: FetchPlan) -> list:
    return sorted((q, r.key, r.expression(), json.dumps(describe_inputs(r.inputs()))) for q, r in plan.requests())


def _solution(exercise: Exercise, config: GradingConfig) -> tuple[Path, object, Path] | None:
    """The exercise's solution notebook (path, contents) and the cache file of its answers."""
    if config.solutions_dir is None:
        return None
    solution = config.solutions_dir / exercise.notebook
    if not solution.is_file():
        return None
    nb = read_notebook(solution)
    located = locate_questions(nb, [q.id for q in exercise.questions], stub=stubs(config).get(exercise.name))
    key = ref_cache.cache_key(exercise, solution, _plan_description(build_plan(exercise, located, FetchPlan())),
                              config.assignment_package().support_files, config.profile)
    return solution, nb, config.cache_dir / "reference" / f"{exercise.name}-{config.profile}-{key[:24]}{ref_cache.CACHE_SUFFIX}"


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
        stored = ref_cache.read_store(config.references, exercise.name)
        if stored is None:
            raise RuntimeError(f"{config.references.name} holds no reference answers for {exercise.name}")
        return stored
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
    exercises it holds; a folder for every exercise (those without a notebook: 'missing'). Its
    notebooks run side by side (`config.notebooks_at_once()`); results and notes come in the
    notebooks' order either way. `skipped`: entries already refused before `path` was made (a
    folder packed for a cluster)."""
    catalogue = config.catalogue()
    notes: list[str] = []
    owner: dict[str, Path] = {}  # exercise -> the notebook graded for it
    notebooks: dict[Path, object] = {}
    loaded: dict[Path, object] = {}
    unreadable: dict[str, str] = {}
    found, refused = find_notebooks(path)
    given = stubs(config)
    claims: list[tuple[Found, duplicates.Candidate]] = []
    regions: dict[Path, dict[str, tuple[int, int]]] = {}
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
        held = find_exercises(nb, nb_path, catalogue, given)
        if not held:
            notes.append(f"{shown(nb_path.name)}: not one of this assignment's notebooks; ignored")
        rel = nb_path.relative_to(root).as_posix() if root is not None else nb_path.name
        for f in held:
            exercise = catalogue[f.name]
            located = locate_questions(nb, [q.id for q in exercise.questions], f.region if len(held) > 1 else None,
                                       given.get(f.name))
            claims.append((f, duplicates.Candidate(nb_path, shown(rel), duplicates.is_canonical(nb_path, exercise.notebook),
                                                   duplicates.answered_questions(nb, located))))
        loaded[nb_path] = nb
    choices: list[dict] = []
    for name in catalogue:  # several notebooks for one exercise: the stated rule (duplicates.py)
        mine = [(f, c) for f, c in claims if f.name == name]
        # A notebook named for the exercise (metadata, tags, file name) owns it before one that
        # only holds its headings: a folder of one notebook per exercise stays graded as handed in.
        hinted = [(f, c) for f, c in mine if f.hinted] or mine
        if not hinted:
            continue
        chosen, ignored = duplicates.choose([c for _, c in hinted])
        owner[name] = chosen.path
        notebooks[chosen.path] = loaded[chosen.path]
        regions.setdefault(chosen.path, {})[name] = next(f.region for f, c in hinted if c is chosen)
        if ignored:
            choices.append(duplicates.choice_record(name, chosen, ignored))
    for nb_path in notebooks:
        notes += _how_found(nb_path, [f for f, c in claims if c.path == nb_path and owner.get(f.name) == nb_path])
    if only is not None:
        wanted = only
    elif not path.is_dir():
        wanted = set(owner) | set(unreadable)
    else:
        wanted = set(catalogue)
    by_exercise: dict[str, list[QuestionResult]] = {}
    seconds: list[float] = []
    runs = [functools.partial(_grade_notebook_alone, nb, held, config, regions.get(nb_path))
            for nb_path, nb in notebooks.items()
            if (held := [catalogue[n] for n in catalogue if owner.get(n) == nb_path and n in wanted])]
    lanes = config.notebooks_at_once()
    order = _longest_first([run.args[0] for run in runs]) if lanes > 1 else list(range(len(runs)))
    done = dict(zip(order, run_side_by_side([runs[i] for i in order], lanes)))
    for i in range(len(runs)):  # in the notebooks' order, however they ran
        graded, run_notes, run_seconds = done[i]
        by_exercise.update(graded)
        notes += run_notes
        seconds += run_seconds
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
                            sandbox=config.sandbox.describe(), notes=notes, seconds=round(sum(seconds), 2),
                            choices=[c for c in choices if c["exercise"] in wanted])


def _longest_first(nbs: list) -> list[int]:
    """The order to start notebooks side by side: those that train neural networks (they
    import TensorFlow or Keras) first, since the longest started first finish soonest."""
    heavy = [i for i, nb in enumerate(nbs)
             if zygote.wanted_by([c.source for c in nb.cells if c.cell_type == "code"])]
    return heavy + [i for i in range(len(nbs)) if i not in heavy]


def _grade_notebook_alone(nb, exercises: list[Exercise], config: GradingConfig,
                          regions: dict[str, tuple[int, int]] | None):
    """grade_notebook with notes and seconds of its own (it may run in a lane)."""
    notes: list[str] = []
    seconds: list[float] = []
    return grade_notebook(nb, exercises, config, notes, seconds, regions), notes, seconds


def _how_found(nb_path: Path, held: list[Found]) -> list[str]:
    """A note for a notebook graded for several exercises: each, and how it was found there (its
    metadata, tags and name may say less than its headings do)."""
    if len(held) < 2:
        return []
    said = "; ".join(f"{f.name} (by {' and '.join(f.how)})" for f in held)
    return [f"{shown(nb_path.name)} holds {len(held)} exercises, each graded: {said}"]


def grade_notebook(nb, exercises: list[Exercise], config: GradingConfig, notes: list[str], seconds: list[float],
                   regions: dict[str, tuple[int, int]] | None = None) -> dict[str, list[QuestionResult]]:
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
    self_check = {name for name, ref in references.items() if ref is None}
    located, execution = _run(nb, exercises, config, regions, self_check)
    seconds.append(execution.seconds)
    notes += [f"{', '.join(e.name for e in exercises)}: {event}" for event in execution.events]
    store = config.assignment_package().public_store
    results.update({e.name: score_exercise(e, execution, located[e.name], references[e.name],
                                           public_store.read(store, e.name, config.profile)
                                           if e.name in self_check else None)
                    for e in exercises})
    return results


__all__ = ["GradingConfig", "grade_submission", "Execution"]
