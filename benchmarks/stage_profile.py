"""Where one submission's grading time goes, stage by stage (issue 16, "profile first").

    ITMAL_MNIST_DIR=../shared/data/mnist .venv/bin/python benchmarks/stage_profile.py [--repeats 3]
        [--exercises perceptron,...] [--no-sandbox] [--cold-kernels] [--out FILE.md]

Grades (1) the small notebook (`perceptron`) and (2) the whole Journal 2 reference, quick
profile, `--repeats` times each, with the grader's own functions wrapped by timers (nothing in
the package changes for this). Reference answers are computed once beforehand (warm cache), as
in a batch. Stages, in the order a notebook meets them:

- worker start: a fresh Python importing the grader (what a batch worker pays once)
- zygote start: the warm kernels' sandbox and the course stack's imports (once per worker)
- sandbox + kernel process: bubblewrap and the ipykernel process, until its sockets exist
- kernel ready: the client's kernel_info round trip (the kernel finished importing ipykernel)
- startup code: the seeding and import guard (`STARTUP_CODE`; it imports numpy)
- first code cell: the notebook's own imports, typically (numpy, sklearn, matplotlib, TF)
- other cells: the rest of the student's code
- fetches: the grader's requests for answers, visible and hidden
- kernel stop: killing the kernel and its sandbox
- checks + scoring: the catalogue's checks on plain data, in the grader
- outputs: results.json, feedback.html and grading.json for the submission
- other: what the wrapped stages do not cover (finding notebooks, locating questions, ...)

Notebooks one at a time (lanes=1), so that stages add up. Medians over the repeats; each
stage is a sum over a run's notebooks. The load average is
printed with every table: figures taken above 1.5 per core are provisional.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import grader.grade as grade  # noqa: E402
from grader.kernel import execute, manager  # noqa: E402
from grader.outputs import report  # noqa: E402
from grader.kernel.sandbox import choose  # noqa: E402

STAGES = ("sandbox + kernel process", "kernel ready", "startup code", "first code cell", "other cells",
          "fetches", "kernel stop", "checks + scoring", "outputs", "other")
SMALL = "perceptron"


class Timers:
    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.depth = 0  # a stage inside a stage (fetch inside fetch_hidden) counts once

    @contextmanager
    def stage(self, name: str):
        outer = self.depth == 0
        self.depth += 1
        started = time.perf_counter()
        try:
            yield
        finally:
            self.depth -= 1
            if outer:
                self.totals[name] += time.perf_counter() - started


TIMERS = Timers()


def _wrap_async(owner, attr: str, stage) -> None:
    original = getattr(owner, attr)

    @functools.wraps(original)
    async def timed(self, *args, **kwargs):
        with TIMERS.stage(stage(self, *args) if callable(stage) else stage):
            return await original(self, *args, **kwargs)

    setattr(owner, attr, timed)


def _wrap_sync(owner, attr: str, stage: str) -> None:
    original = getattr(owner, attr)

    @functools.wraps(original)
    def timed(*args, **kwargs):
        with TIMERS.stage(stage):
            return original(*args, **kwargs)

    setattr(owner, attr, timed)


def _first_code_cell(runner, i: int) -> str:
    first = next(j for j, c in enumerate(runner.nb.cells) if c.cell_type == "code" and c.source.strip())
    return "first code cell" if i == first else "other cells"


def instrument() -> None:
    _wrap_async(manager.GraderKernelManager, "start", "sandbox + kernel process")
    _wrap_async(execute._LimitedClient, "async_start_new_kernel_client", "kernel ready")
    original_raw = execute._Runner.raw_execute

    async def raw_execute(self, code, timeout, **kwargs):
        if code is manager.STARTUP_CODE or code == execute.STARTUP_CODE:
            with TIMERS.stage("startup code"):
                return await original_raw(self, code, timeout, **kwargs)
        return await original_raw(self, code, timeout, **kwargs)

    execute._Runner.raw_execute = raw_execute
    _wrap_async(execute._Runner, "run_cell", _first_code_cell)
    _wrap_async(execute._Runner, "fetch", "fetches")
    _wrap_async(execute._Runner, "fetch_hidden", "fetches")
    _wrap_async(execute._Runner, "stop", "kernel stop")
    _wrap_sync(grade, "score_exercise", "checks + scoring")


def worker_start_seconds() -> float:
    """A fresh interpreter importing what a batch worker imports."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import grader.grade, grader.runners.batch"], check=True,
                   cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    return time.perf_counter() - started


def zygote_start_seconds(config) -> float | None:
    """Starting one zygote (sandbox + the course stack's imports): once per worker process."""
    try:
        from grader.kernel import zygote
        from grader.kernel.manager import SEED
        from grader.kernel.sandbox import SANDBOX_HOME, kernel_environment
    except ImportError:  # a grader without warm kernels
        return None
    if not (config.warm_kernels and zygote.available(config.sandbox.enabled)):
        return None
    options = config.kernel_options()
    z = zygote.Zygote(config.limits, options, config.assignment_package().support_files,
                      kernel_environment(Path(SANDBOX_HOME), SEED, True, options))
    started = time.perf_counter()
    z.start()
    seconds = time.perf_counter() - started
    z.stop()
    return seconds


def one_run(path: Path, config, out: Path, exercises: set[str] | None) -> dict[str, float]:
    TIMERS.totals.clear()
    started = time.perf_counter()
    result = grade.grade_submission(path, config, only=exercises)
    with TIMERS.stage("outputs"):
        report.write_submission_outputs(result, out, {"name": result.name})
    total = time.perf_counter() - started
    bad = [f"{q.id}: {q.feedback()}" for q in result.questions
           if q.outcome.value in ("grader_error", "kernel_died", "timed_out")]
    if bad:
        raise SystemExit(f"grading {path.name} failed, not a profile: {bad}")
    stages = dict(TIMERS.totals)
    stages["other"] = total - sum(stages.values())
    stages["total"] = total
    return stages


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def table(title: str, runs: list[dict[str, float]], worker: float, zygote: float | None) -> list[str]:
    med = {s: statistics.median(r.get(s, 0.0) for r in runs) for s in (*STAGES, "total")}
    once = f"worker start {worker:.2f} s" + (f", zygote start {zygote:.2f} s" if zygote is not None else "")
    lines = [f"**{title}** (median of {len(runs)}; once per worker, not in the total: {once})",
             "", "| stage | seconds | share |", "| --- | ---: | ---: |"]
    for s in STAGES:
        lines.append(f"| {s} | {med[s]:.2f} | {100 * med[s] / med['total']:.0f}% |")
    lines.append(f"| **total per submission** | **{med['total']:.2f}** | 100% |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--exercises", default="", help="the journal's exercises (default: all)")
    ap.add_argument("--no-sandbox", action="store_true")
    ap.add_argument("--cold-kernels", action="store_true", help="every kernel started afresh (no zygote)")
    ap.add_argument("--out", type=Path, help="also write the tables to this Markdown file")
    args = ap.parse_args()

    cache = Path(tempfile.mkdtemp(prefix="itmal-profile-cache-"))
    os.environ["ITMAL_CACHE_DIR"] = str(cache)
    # One notebook at a time (lanes=1): stages are sums of wrapped calls, which side-by-side
    # notebooks would overlap. run_all.py times the journal side by side.
    config = grade.GradingConfig(profile="quick", cache_dir=cache, solutions_dir=grade.default_solutions_dir(),
                                 sandbox=choose(require=False, disable=args.no_sandbox), lanes=1)
    if args.cold_kernels:
        config = dataclasses.replace(config, warm_kernels=False)
    grade.kernel_data_sets(cache)  # the MNIST kernel copy, built once (not what this measures)
    catalogue = config.catalogue()
    names = [n for n in args.exercises.split(",") if n] or list(catalogue)
    for n in names:  # warm: the reference runs are not what a submission pays
        grade.reference_answers(catalogue[n], config)
    instrument()
    solutions = config.solutions_dir
    work = Path(tempfile.mkdtemp(prefix="itmal-profile-"))
    try:
        journal = work / "journal"
        journal.mkdir()
        for n in names:
            shutil.copy(solutions / catalogue[n].notebook, journal / catalogue[n].notebook)
        small = journal / catalogue[SMALL].notebook
        load_before = loadavg()
        worker = statistics.median(worker_start_seconds() for _ in range(args.repeats))
        zygote = zygote_start_seconds(config)
        small_runs = [one_run(small, config, work / f"out-s{i}", None) for i in range(args.repeats)]
        journal_runs = [one_run(journal, config, work / f"out-j{i}", set(names)) for i in range(args.repeats)]
        load_after = loadavg()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
    per_core = max(float(load_before.split()[0]), float(load_after.split()[0])) / (os.cpu_count() or 1)
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    lines = [f"Commit {commit}; sandbox: {config.sandbox.describe()}; {os.cpu_count()} cores; load average "
             f"before {load_before}, after {load_after}"
             + ("" if per_core <= 1.5 else " (**provisional**: over 1.5 per core)"), "",
             *table(f"small notebook (`{SMALL}.ipynb`)", small_runs, worker, zygote), "",
             *table(f"Journal 2 reference, quick profile ({len(names)} notebooks)", journal_runs, worker, zygote)]
    print("\n".join(lines))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
