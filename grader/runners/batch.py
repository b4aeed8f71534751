"""Grading many submissions: in parallel worker processes (reused, one submission at a time
each), resumable.

A submission counts as done when DIR/<name>/grading.json exists with the same submission
fingerprint, a final result, and every exercise asked for graded under this configuration's
fingerprint; re-running the same command skips it (unless --force). A run for some exercises
(`exercises`) re-grades only those: the submission's other exercises keep their earlier
results when these were graded from the same hand-in, and are left out otherwise. Each
result is written atomically by its worker as soon as it is done, so an interrupted or
killed batch loses nothing already finished. The reference solutions
run once, in this process, before any worker starts; workers find them in the cache.

The batch's own files (gradebook.csv, leaderboard.csv, manual.csv, summary.html) cover every
submission graded into DIR, whichever run graded it: they are rebuilt from each submission
folder's grading.json, so grading one late group into the same DIR keeps every other row.
A command line that cannot be graded (a missing path, nothing gradable, --jobs below 1, an
--out that cannot be written) stops before anything is graded or written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import multiprocessing
import os
import re
import signal
import stat
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from grader.files import write_text_atomic
from grader.outputs.gradebook import apply_manual, gradebook_csv, leaderboard_csv, manual_csv, read_manual
from grader.judge import reference as reference_store
from grader.grade import GradingConfig, reference_answers, reference_cached
from grader.outputs.html import summary_page
from grader.outputs.inert import label
from grader.judge.outcomes import Outcome, SubmissionResult
from grader.outputs.progress import BatchProgress
from grader.outputs.report import read_grading, write_submission_outputs
from grader.judge.score import missing_exercise
from grader.inputs.submissions import HASH_SEPARATOR, Submission, discover, fingerprint, submission_name
from grader.runners.bulk import split_lms_downloads
from grader.kernel import cgroups
from grader.lanes import run_side_by_side
from grader.runners.worker import serve, with_kept


@dataclass
class BatchReport:
    graded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # the grader (not the student) failed
    notes: list[str] = field(default_factory=list)
    results: list[SubmissionResult] = field(default_factory=list)  # this command line's submissions
    book: list[SubmissionResult] = field(default_factory=list)  # every submission in the output folder


class BatchInputError(ValueError):
    """The command line cannot be graded as given; nothing was graded or written."""


class PrimingInterrupted(KeyboardInterrupt):
    """Ctrl-C while the reference solutions ran, before any submission was graded."""


def _gradable(path: Path) -> bool:
    if path.is_dir():
        return any(path.iterdir())
    return path.suffix.lower() in (".zip", ".ipynb")


def check_inputs(paths: list[Path], out: Path, jobs: int) -> None:
    """Refuse, before anything is graded or written, a command line that is surely a mistake:
    --jobs below 1, a path that does not exist (a typo), nothing gradable at all (only empty
    folders or files that are neither notebook nor zip), or an --out that cannot be written.
    A stray file beside real submissions (a README in `submissions/*`) is only a note, later."""
    if jobs < 1:
        raise BatchInputError(f"--jobs must be at least 1, not {jobs}")
    if not paths:
        raise BatchInputError("no submission given")
    missing = [p for p in paths if not p.exists()]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise BatchInputError(f"no such file or folder: {missing[0]}{more}; nothing was graded")
    if not any(_gradable(p) for p in paths):
        if len(paths) == 1:
            what = "an empty folder" if paths[0].is_dir() else "not a notebook, zip or folder"
            raise BatchInputError(f"nothing to grade: {paths[0]} is {what}")
        raise BatchInputError(f"nothing to grade: none of the {len(paths)} paths is a notebook, a zip or a folder "
                              "with files in it")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".itmal-write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise BatchInputError(f"cannot write to --out {out}: {exc.strerror or exc}") from None


def _graded_under(meta: dict, names) -> dict[str, str]:
    """Exercise -> the configuration fingerprint it was last graded under (a result saved
    before per-exercise bookkeeping was graded whole, under meta["config"])."""
    per = meta.get("exercises")
    if isinstance(per, dict):
        return {k: v for k, v in per.items() if isinstance(v, str)}
    return {name: meta.get("config") for name in names}


def _up_to_date(directory: Path, submission_fp: str, config_fp: str, wanted: list[str]) -> bool:
    saved = read_grading(directory)
    if saved is None:
        return False
    result, meta = saved
    under = _graded_under(meta, wanted)
    return (meta.get("submission") == submission_fp and result.final
            and all(under.get(name) == config_fp for name in wanted))


def _kept(directory: Path, submission_fp: str, config: GradingConfig, wanted: list[str]) -> dict:
    """What a run for the exercises `wanted` keeps of a submission's earlier result: its other
    exercises' questions (plain data, for the worker) and the fingerprints they were graded
    under; nothing when the earlier result was graded from another hand-in."""
    saved = read_grading(directory)
    if saved is None or saved[1].get("submission") != submission_fp:
        return {"questions": [], "exercises": {}}
    result, meta = saved
    catalogue = config.catalogue()
    exercise_of = {q.id: ex.name for ex in catalogue.values() for q in ex.questions}
    under = _graded_under(meta, catalogue)
    keep = [q for q in result.questions if exercise_of.get(q.id) in under and exercise_of[q.id] not in wanted]
    return {"questions": [q.to_dict() for q in keep], "exercises": {exercise_of[q.id]: under[exercise_of[q.id]]
                                                                    for q in keep}}


def _worker_failed(sub: Submission, why: str, config: GradingConfig, job: dict) -> SubmissionResult:
    """A result that says the grader failed: scores 0 and is not final, so it is re-graded."""
    questions = [q for ex in config.catalogue().values()
                 for q in missing_exercise(ex, f"the grader failed on this submission: {why}", Outcome.GRADER_ERROR)]
    result = SubmissionResult(name=sub.name, questions=questions, sandbox=config.sandbox.describe(), notes=[why],
                              source=sub.handed_in)
    return with_kept(result, job, config)


def _forkserver():
    """Workers are forked from a server that has imported the grader once (about a second of
    imports per worker saved)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["grader.runners.worker"])
    return ctx


class _Worker:
    """A worker process (worker.serve) and the batch's ends of its pipes."""

    def __init__(self, ctx):
        fd, self.log = tempfile.mkstemp(prefix="itmal-worker-", suffix=".log")
        os.close(fd)
        self.jobs, theirs = ctx.Pipe()
        lifeline, self.keep = ctx.Pipe(duplex=False)  # the worker dies when `keep` closes (with us)
        self.owner = uuid.uuid4().hex[:12]  # names the control groups its kernels get
        self.proc = ctx.Process(target=serve, args=(theirs, self.log, lifeline, self.owner), daemon=False)
        self.proc.start()
        theirs.close()
        lifeline.close()
        self.last = False  # it graded its last job and ends

    def grade(self, job: dict, timeout: float) -> tuple[bool, str, bool]:
        """(graded, why not, timed out): (True, "", False) when the worker graded the job;
        else the worker is dead or killed."""
        offset = os.path.getsize(self.log)
        try:
            self.jobs.send(job)
            if self.jobs.poll(timeout):
                reply = self.jobs.recv()
                if reply in ("done", "last"):
                    self.last = reply == "last"
                    return True, "", False
            else:
                self.kill()
                return False, f"grading took longer than {timeout:.0f} s", True
        except (EOFError, OSError):
            pass
        self.kill()  # a worker that died leaves no kernel of its session behind
        return False, _why_worker_failed(self.proc.exitcode, _tail(self.log, offset)), False

    def signal_kill(self) -> None:
        """SIGKILL the worker's session (its kernels' sandboxes die with it) and the worker."""
        for kill in (os.killpg, os.kill):  # os.kill too: a worker not yet in a session of its own
            try:
                kill(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def kill(self) -> None:
        self.signal_kill()
        self.proc.join()

    def retire(self) -> None:
        """Ends the worker (asked to, or killed after a grace period) and removes what it
        left: its log, and the control groups of kernels it had no chance to remove."""
        if self.proc.exitcode is None:
            try:
                self.jobs.send(None)
            except OSError:
                pass
            self.proc.join(10)
            if self.proc.exitcode is None:
                self.kill()
        cgroups.remove_left_by(self.owner)
        for end in (self.jobs, self.keep):
            end.close()
        with contextlib.suppress(OSError):
            os.unlink(self.log)


class _Workers:
    """Worker processes, each grading one submission after another until it says its job
    was its last (worker.serve); a worker that fails or runs out of time is killed with its
    kernels and replaced. On interrupt, kills every one."""

    def __init__(self):
        self.idle: list[_Worker] = []
        self.running: set[_Worker] = set()
        self.lock = threading.Lock()
        self.stopping = False
        self.ctx = _forkserver()

    def run(self, job: dict, timeout: float) -> tuple[bool, str, bool]:
        """As _Worker.grade, on an idle worker or a new one."""
        with self.lock:
            if self.stopping:
                return False, "the batch was interrupted", False
            worker = self.idle.pop() if self.idle else None
        if worker is None:
            worker = _Worker(self.ctx)
        with self.lock:
            self.running.add(worker)
            if self.stopping:
                worker.signal_kill()
        ok = False
        try:
            ok, why, timed_out = worker.grade({**job, "env": dict(os.environ)}, timeout)
        finally:
            with self.lock:
                self.running.discard(worker)
                keep = ok and not self.stopping and not worker.last
                if keep:
                    self.idle.append(worker)
        if not keep:
            worker.retire()
        return ok, why, timed_out

    def kill_all(self) -> None:
        with self.lock:
            self.stopping = True
            running, idle, self.idle = list(self.running), self.idle, []
        for worker in running:
            worker.signal_kill()  # its thread in `run` sees it die and retires it
        for worker in idle:
            worker.kill()
            worker.retire()

    def close(self) -> None:
        """After the batch: every idle worker ends and cleans up after itself."""
        with self.lock:
            self.stopping = True
            idle, self.idle = self.idle, []
        for worker in idle:
            worker.retire()


def _why_worker_failed(code: int | None, err: str) -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
        return f"its worker process was killed by {name}" + (" (out of memory?)" if -code == signal.SIGKILL else "")
    lines = err.strip().splitlines()
    return lines[-1] if lines else f"its worker process exited with status {code}"


def _tail(path: str, since: int = 0, size: int = 2000) -> str:
    """The last `size` bytes the worker wrote after offset `since` (this job's)."""
    with open(path, "rb") as f:
        f.seek(max(since, os.path.getsize(path) - size))
        return f.read().decode(errors="replace")


class _LocalRunner:
    """Grades jobs on this machine, `jobs` at a time in as many worker processes; yields
    (job, saved-or-None, why) as workers finish."""

    def __init__(self, jobs: int):
        self.workers = _Workers()
        self.pool = ThreadPoolExecutor(max_workers=max(1, jobs))

    def grade(self, jobs: list[tuple[dict, Submission]], timeout: float, started):
        def attempt(job):
            ok, why, timed_out = self.workers.run(job, timeout)
            saved = read_grading(Path(job["out"])) if ok else None
            if ok and saved is None:
                why = "its worker wrote no readable result"
            return saved, why, timed_out

        def one(job):
            started(job["name"])
            saved, why, timed_out = attempt(job)
            # A worker that failed (not one that ran out of time) gets one more try: the cause
            # may be the machine's (the OOM killer, a full disk), not the submission's.
            if saved is None and not timed_out and not self.workers.stopping:
                saved, why, _ = attempt(job)
                why = f"{why} (twice)"
            return saved, why

        futures = {self.pool.submit(one, job): job for job, _ in jobs}
        for future in as_completed(futures):
            job = futures[future]
            saved, why = future.result()
            yield job, saved, why

    def close(self) -> None:
        """Nothing new starts, running workers die; finished results stay."""
        self.workers.kill_all()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def finish(self) -> None:
        """After the last result: the idle workers end and clean up after themselves."""
        self.pool.shutdown(wait=True)
        self.workers.close()


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def grade_batch(paths: list[Path], out: Path, config: GradingConfig, *, jobs: int, force: bool = False,
                manual: Path | None = None, progress: BatchProgress | None = None,
                cluster: str | None = None, exercises: list[str] | None = None,
                on_result: Callable[[SubmissionResult], None] | None = None,
                say: Callable[[str], None] = _say) -> BatchReport:
    """Grade every submission not yet graded under this configuration; locally with `jobs`
    workers, or on the Dask cluster at address `cluster`. `exercises`: only these (default:
    all); `on_result`: called with each result as it is done; `say`: cold-start progress."""
    check_inputs(paths, out, jobs)
    if cluster is None:  # `jobs` kernels at once here: each kernel's thread pools get their share
        config = dataclasses.replace(config, jobs=jobs)
    try:  # a sheet that cannot be used stops the run before grading, not after
        grades = read_manual(manual) if manual is not None else {}
    except OSError as exc:
        raise BatchInputError(f"cannot read --manual {manual}: {exc.strerror or exc}") from None
    report = BatchReport()
    subs, report.notes = discover(paths)
    subs = split_lms_downloads(subs, out, report.notes)  # an LMS's zip of a class: one per student
    config_fp = config.fingerprint()
    wanted = list(exercises) if exercises is not None else list(config.catalogue())
    todo: list[tuple[dict, Submission]] = []
    for sub in subs:
        sub_fp = fingerprint(sub.source)
        if not force and _up_to_date(out / sub.name, sub_fp, config_fp, wanted):
            report.skipped.append(sub.name)
            continue
        kept = _kept(out / sub.name, sub_fp, config, wanted) if exercises is not None else None
        under = {**(kept["exercises"] if kept else {}), **{name: config_fp for name in wanted}}
        job = {"config": config.to_dict(), "name": sub.name, "handed_in": sub.handed_in,
               "source": str(sub.source.resolve()), "exercises": exercises, "keep": kept,
               "out": str((out / sub.name).resolve()),
               "meta": {"submission": sub_fp, "config": config_fp, "exercises": under}}
        todo.append((job, sub))
    try:
        with _interruptible():
            references = _prime_references(config, report, wanted, say) if todo else b""
    except KeyboardInterrupt:
        raise PrimingInterrupted() from None
    progress = progress or BatchProgress(total=len(todo), skipped=len(report.skipped))
    # A worker may take its notebooks' time limits, plus starting up and the reference check.
    timeout = config.limits.notebook_timeout * max(1, len(wanted)) + 120
    if cluster is not None:
        from grader.runners.cluster import ClusterRunner  # Dask only when asked for

        runner = ClusterRunner(cluster, config, references)
    else:
        runner = _LocalRunner(jobs)
    subs_by_name = {sub.name: sub for _, sub in todo}
    labels = {sub.name: label(sub.name, sub.handed_in) for sub in subs}
    try:
        with progress:
            for job, saved, why in runner.grade(todo, timeout, lambda name: progress.started(labels[name])):
                name = job["name"]
                if saved is None:
                    result = _worker_failed(subs_by_name[name], why, config, job)
                    write_submission_outputs(result, out / name, {**job["meta"], "seconds": 0})
                    report.failed.append(name)
                else:
                    result, meta = saved
                    if cluster is not None:  # the coordinator writes what the cluster sends back
                        write_submission_outputs(result, out / name, meta)
                report.graded.append(name)
                progress.done(labels[name], result)
                if on_result is not None:
                    if grades:
                        apply_manual(result, grades)
                    on_result(result)
    except BaseException:  # Ctrl-C, or an error of ours: running workers die, results written stay
        runner.close()
        raise
    runner.finish()
    questions = [q.id for ex in config.catalogue().values() for q in ex.questions]
    _write_batch_outputs(out, [s.name for s in subs], grades, report, questions)
    return report


def _prime_references(config: GradingConfig, report: BatchReport, wanted: list[str],
                      say: Callable[[str], None]) -> bytes:
    """Run (or load) the reference solution of every exercise `wanted` once, before the workers
    need it; return their answers as a reference store's bytes (what a cluster's workers get
    instead of the solutions). Exercises whose data the grader lacks are skipped: their questions are a grader
    error anyway, and their references would only fail, again and again. Each solution that is
    not cached yet is announced with `say` before it runs (a cold start takes minutes)."""
    available = dict(config.kernel_options().data)
    answers = {}
    catalogue = config.catalogue()
    exercises = [catalogue[name] for name in wanted]
    ready = [e for e in exercises if not set(e.data) - set(available)]
    cold = [e.name for e in ready if not _cached(e, config)]
    started = time.monotonic()
    if cold:
        say(f"cold start: running {len(cold)} reference solution(s) once (cached for later runs); "
            "Ctrl-C stops")
    for exercise in exercises:
        lacking = sorted(set(exercise.data) - set(available))
        if lacking:
            report.notes.append(f"{exercise.name}: not graded, the grader has no copy of {', '.join(lacking)} "
                                "(set ITMAL_MNIST_DIR; see the README)")
    # Before any worker starts, the cores are the solutions': side by side, as one submission's
    # notebooks run (grades do not depend on it; the cache key does not either).
    priming = dataclasses.replace(config, jobs=1)

    def prime(exercise) -> tuple[object, str]:
        if exercise.name in cold:
            say(f"reference solution {cold.index(exercise.name) + 1}/{len(cold)}: {exercise.name} "
                f"({time.monotonic() - started:.0f} s so far)")
        try:
            return reference_answers(exercise, priming), ""
        except Exception as exc:
            return None, f"{exercise.name}: the reference run failed: {exc}"

    for exercise, (found, failure) in zip(ready, run_side_by_side([functools.partial(prime, e) for e in ready],
                                                                  priming.notebooks_at_once())):
        if failure:
            report.notes.append(failure)
        elif found is not None:
            answers[exercise.name] = found
    if cold:
        say(f"reference solutions ready after {time.monotonic() - started:.0f} s")
    return reference_store.store_bytes(answers)


@contextlib.contextmanager
def _interruptible():
    """Ctrl-C raises KeyboardInterrupt right where it lands, even in a kernel's event loop:
    asyncio.run would otherwise take SIGINT over (it only cancels its task, which the
    execution code may absorb as a failed run, and the batch would go on grading)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        # Landing inside a task (a kernel poll), the interrupt is stored on that task too, and
        # asyncio would log it at exit as "never retrieved", traceback and all. The run stops.
        logging.getLogger("asyncio").disabled = True
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _cached(exercise, config: GradingConfig) -> bool:
    try:
        return reference_cached(exercise, config)
    except Exception:  # a solution that cannot be read: its run fails below, with a note
        return False


_HASHED_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,38}[A-Za-z0-9])?" + re.escape(HASH_SEPARATOR)
                          + r"[0-9a-f]{12}")


def _submission_folder_name(name: str) -> bool:
    """A name `submission_name` could have made: a clean name (kept as it is) or stem~hash."""
    return submission_name(Path(name)) == name or _HASHED_NAME.fullmatch(name) is not None


def graded_submissions(out: Path, notes: list[str]) -> list[tuple[SubmissionResult, dict]] | None:
    """Every submission graded into `out`, by folder name: the direct subfolders (never a link)
    named as the grader names them, holding a grading.json (a regular file, never a link) that
    the grader wrote for that folder. Anything else in `out` is not ours and left alone; a
    grading.json that cannot be read is left out with a note, never a crash. None (and a note)
    when `out` itself cannot be listed."""
    try:
        entries = sorted(os.scandir(out), key=lambda e: e.name)
    except OSError as exc:
        notes.append(f"{out}: cannot list the output folder ({exc.strerror or exc}); its tables were not rebuilt")
        return None
    found = []
    for entry in entries:
        if not _submission_folder_name(entry.name) or not entry.is_dir(follow_symlinks=False):
            continue
        folder = Path(entry.path)
        try:
            mode = os.lstat(folder / "grading.json").st_mode
        except FileNotFoundError:
            continue  # not graded (yet): a worker writes grading.json last
        except OSError as exc:
            notes.append(f"{entry.name}/grading.json: cannot be read ({exc.strerror or exc}); left out of the tables")
            continue
        if not stat.S_ISREG(mode):
            notes.append(f"{entry.name}/grading.json: not a regular file; left out of the tables")
            continue
        saved = read_grading(folder)
        if saved is None:
            notes.append(f"{entry.name}/grading.json: unreadable or corrupt; left out of the tables "
                         "(grade that submission again with --force)")
            continue
        result, meta = saved
        if result.name != entry.name or not isinstance(meta, dict) or not {"submission", "config"} <= set(meta):
            notes.append(f"{entry.name}/grading.json: not written by the grader for this folder; left out of the tables")
            continue
        found.append((result, meta))
    return found


def _write_batch_outputs(out: Path, names: list[str], grades: dict, report: BatchReport,
                         questions: list[str] = ()) -> None:
    """Rebuild the batch's tables from every submission graded into `out` (not only `names`,
    this command line's), merging the instructor's manual points into each."""
    graded = graded_submissions(out, report.notes)
    if graded is None:  # never an empty gradebook over a full one
        return
    results, seconds = [], {}
    for result, meta in graded:
        if grades and apply_manual(result, grades):
            write_submission_outputs(result, out / result.name, meta)
        results.append(result)
        try:
            seconds[result.name] = float(meta.get("seconds", 0))
        except (TypeError, ValueError):
            seconds[result.name] = 0.0
    by_name = {r.name: r for r in results}
    report.results = [by_name[name] for name in names if name in by_name]
    report.book = results
    write_text_atomic(out / "gradebook.csv", gradebook_csv(results, questions))
    write_text_atomic(out / "leaderboard.csv", leaderboard_csv(results))
    write_text_atomic(out / "summary.html", summary_page(results, seconds))
    sheet = out / "manual.csv"
    if not sheet.exists():  # never overwrite the instructor's filled-in sheet
        write_text_atomic(sheet, manual_csv(results))
    else:
        write_text_atomic(out / "manual-latest.csv", manual_csv(results))
