"""Every benchmark of issue 6 in one run; writes BENCHMARKS.md at the repository root.

    benchmarks/setup_anchors.sh        # once: nbgrader + otter-grader in benchmarks/.venv-anchors
    ITMAL_MNIST_DIR=../shared/data/mnist .venv/bin/python benchmarks/run_all.py [--quick] [--only SECTION,...]

Sections (all by default): overhead, throughput, caches, anchors, scaling. `--quick` runs small
sizes (to try the script; its figures are not the ones to report); `--out FILE` writes
elsewhere than BENCHMARKS.md. Each figure is a ratio of runs taken in the same invocation,
interleaved where it matters (A B A B ...), so that a load that drifts hits both sides alike.

Everything runs in the quick grading profile, with a fresh grader cache folder (a temporary
one) whose reference answers are computed once before any "ours" timing (warm), except in
the cache section, which times the cold run on purpose. MNIST must be found (ITMAL_MNIST_DIR,
or the places grader.mnist looks): without it the MNIST exercises' reference runs fail and
every batch retries them, which would distort the timings, so the script refuses to run.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from rich.console import Console  # noqa: E402

from grader.runners.batch import grade_batch  # noqa: E402
from grader.grade import (GradingConfig, default_solutions_dir, grade_submission,  # noqa: E402
                          kernel_data_sets, reference_answers)
from grader.outputs.progress import BatchProgress  # noqa: E402
from grader.kernel.sandbox import SandboxMode, choose  # noqa: E402

SECTIONS = ("overhead", "throughput", "caches", "anchors", "scaling")
SMALL_NOTEBOOK = "perceptron"


@dataclass
class Sizes:
    repeats: int = 3                 # overhead: interleaved repetitions (medians reported)
    journal: tuple[str, ...] = ()    # overhead: the exercises of "the whole Journal 2" (all when empty)
    batch: int = 20                  # throughput: submissions
    anchors: int = 10                # anchors: submissions per tool
    scaling: tuple[int, ...] = (5, 10, 20, 40)
    cache_exercises: tuple[str, ...] = ()  # caches: the reference runs timed cold and warm (all when empty)
    mnist_repeat: int = 5


FULL = Sizes()
QUICK = Sizes(repeats=1, journal=("neurons", "regularizers", "perceptron"), batch=4, anchors=2, scaling=(2, 4),
              cache_exercises=("neurons", "perceptron"), mnist_repeat=1)


@dataclass
class Report:
    quick: bool
    sections: dict[str, list[str]] = field(default_factory=dict)
    verdicts: list[tuple[str, str, str, str]] = field(default_factory=list)  # target, measured, met?, section


def quiet(n: int) -> BatchProgress:
    return BatchProgress(total=n, console=Console(file=io.StringIO()))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def fmt_s(x: float) -> str:
    return f"{x:.2f} s" if x < 10 else f"{x:.1f} s"


# ---------------------------------------------------------------------------- machine
def machine_lines(config: GradingConfig, sandbox_on: SandboxMode) -> list[str]:
    model = "unknown"
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                          if line.startswith("MemTotal")))
        mem = f"{mem_kb / 2**20:.1f} GiB"
    except (OSError, StopIteration):
        mem = "unknown"
    os_name = platform.platform()
    try:
        pretty = next(line.split("=", 1)[1].strip('"') for line in Path("/etc/os-release").read_text().splitlines()
                      if line.startswith("PRETTY_NAME="))
        os_name = f"{pretty}, {platform.system()} {platform.release()}"
    except (OSError, StopIteration):
        pass

    def v(pkg: str) -> str:
        for name in (pkg, f"{pkg}-cpu"):  # TensorFlow is installed as tensorflow-cpu here
            try:
                return importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                pass
        return "-"

    ours = ", ".join(f"{p} {v(p)}" for p in ("itmal-grader", "nbclient", "jupyter_client", "ipykernel", "numpy",
                                             "scikit-learn", "tensorflow", "pyzmq"))
    from anchors import tool_versions

    anchors = tool_versions()
    anchor_line = (", ".join(f"{k} {val}" for k, val in anchors.items()) if anchors
                   else "not installed (run benchmarks/setup_anchors.sh)")
    bwrap = shutil.which("bwrap")
    bwrap_v = subprocess.run([bwrap, "--version"], capture_output=True, text=True).stdout.strip() if bwrap else "-"
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return [
        f"- CPUs: `nproc` {len(os.sched_getaffinity(0))} ({os.cpu_count()} online), {model}",
        f"- memory: {mem}; OS: {os_name}",
        f"- Python {platform.python_version()} ({sys.executable})",
        f"- ours: {ours}",
        f"- anchors (benchmarks/.venv-anchors): {anchor_line}",
        f"- sandbox: {sandbox_on.describe()} ({bwrap_v}); grading profile `{config.profile}`",
        f"- MNIST: {os.environ.get('ITMAL_MNIST_DIR') or 'found by grader.mnist'} (kernel copy built in the "
        "benchmark's temporary cache folder)",
        f"- commit {commit}{' + uncommitted changes' if dirty else ''}",
    ]


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


MAX_LOAD_PER_CORE = 1.5  # above this, other work skews every ratio: a verdict is only provisional


def load_per_core() -> float | None:
    """The 1-minute load average per online core (None where /proc is unreadable)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0]) / (os.cpu_count() or 1)
    except (OSError, ValueError, IndexError):
        return None


def guarded(verdict: str, worst_load: float | None) -> str:
    """A met/missed verdict taken on a loaded (or unknown) machine is marked provisional."""
    if verdict not in ("met", "missed"):
        return verdict
    if worst_load is None:
        return f"provisional ({verdict}; load unknown)"
    if worst_load > MAX_LOAD_PER_CORE:
        return f"provisional ({verdict}; load {worst_load:.2f} per core > {MAX_LOAD_PER_CORE})"
    return verdict


# ---------------------------------------------------------------------------- overhead
def plain_execute(path: Path, config: GradingConfig) -> float:
    """Plain nbclient on one notebook, in a process of its own (plain_nbclient.py says why):
    the seconds its execution took. Its output goes to files, not pipes: processes the
    notebook left (joblib's workers idle for minutes) hold them open after it exits."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "plain_nbclient.py"), str(path),
                               json.dumps(config.to_dict())], stdout=out, stderr=err, check=False)
        out.seek(0)
        err.seek(0)
        if done.returncode != 0:
            raise RuntimeError(f"plain nbclient on {path.name} failed: {err.read()[-2000:].decode(errors='replace')}")
        return float(out.read().decode().split()[-1])


def grade_one(path: Path, config: GradingConfig) -> float:
    start = time.monotonic()
    result = grade_submission(path, config)
    elapsed = time.monotonic() - start
    bad = [q.id for q in result.questions if q.outcome.value in ("grader_error", "kernel_died", "timed_out", "code_failed")]
    if bad:
        raise RuntimeError(f"grading {path.name}: grader error in {bad}")
    return elapsed


def overhead(config_off: GradingConfig, config_on: GradingConfig | None, sizes: Sizes, report: Report) -> None:
    """Plain nbclient against the grader: sandbox off (cold kernels: warm ones need the sandbox),
    and sandbox on with cold and with warm kernels (the default). Targets: a small notebook at
    most +10% over plain (issue 6); the whole journal at most 0.8× plain (issue 16), judged on
    the default, sandbox on with warm kernels, where bubblewrap runs."""
    solutions = config_off.solutions_dir
    catalogue = config_off.catalogue()
    journal = sizes.journal or tuple(catalogue)
    cases = [(f"small notebook (`{SMALL_NOTEBOOK}.ipynb`)", (SMALL_NOTEBOOK,), 1.10),
             (f"Journal 2 reference, quick profile ({len(journal)} notebooks)", journal, 0.80)]
    config_cold = replace(config_on, warm_kernels=False) if config_on is not None else None
    lines = ["Plain = `nbclient` executing the notebook in an ipykernel of the same Python, unsandboxed "
             "(same kernel environment and working files as the grader's kernel), one notebook after "
             "another. Ours = `grade_submission` (reference answers cached), on each notebook alone: sandbox "
             "off (cold kernels), and sandbox on with cold and with warm kernels (each kernel forked from a "
             "zygote that imported the course stack once per grading process; its start, once per worker, "
             "falls in the untimed first pass); and, for the journal, on the submission's folder, as a "
             "submission is graded (the default): its notebooks side by side in as many lanes as the "
             f"cores allow ({config_on.notebooks_at_once() if config_on else 1} here), each kernel's thread "
             "pools sized to its share of the cores. Runs interleaved (plain, off, on cold, on warm, side by "
             f"side, plain, ...), {sizes.repeats} repetition(s), medians; ratios are ours / plain.", "",
             "| notebook(s) | plain nbclient | ours, sandbox off | ours, sandbox on, cold | ours, sandbox on, warm, "
             "one at a time | ours, sandbox on, warm, side by side (default) | target | verdict |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for label, names, target in cases:
        paths = [solutions / catalogue[n].notebook for n in names]
        runs: dict[str, list[float]] = {"plain": [], "off": [], "cold": [], "warm": [], "together": []}
        configs = {"off": config_off, "cold": config_cold, "warm": config_on}
        folder = None
        if len(paths) > 1 and config_on is not None:  # the journal as one submission: a folder of its notebooks
            folder = Path(tempfile.mkdtemp(prefix="itmal-journal-"))
            for path in paths:
                shutil.copy(path, folder / path.name)
        for path in paths:  # one untimed pass: OS caches, .pyc files, the reference cache and the zygote warm
            plain_execute(path, config_off)
            for config in configs.values():
                if config is not None:
                    grade_one(path, config)
        if folder is not None:
            grade_one(folder, config_on)  # every lane's zygote started (and TensorFlow loaded where asked)
        for r in range(sizes.repeats):
            log(f"overhead: {label}, repetition {r + 1}/{sizes.repeats}")
            runs["plain"].append(sum(plain_execute(p, config_off) for p in paths))
            for kind, config in configs.items():
                if config is not None:
                    runs[kind].append(sum(grade_one(p, config) for p in paths))
            if folder is not None:
                runs["together"].append(grade_one(folder, config_on))
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            runs["together"] = runs["warm"]  # one notebook: nothing to run beside it
        mp = statistics.median(runs["plain"])

        def cell(kind: str) -> str:
            return f"{fmt_s(statistics.median(runs[kind]))} ({statistics.median(runs[kind]) / mp:.2f}×)" \
                if runs[kind] else "n/a (no bubblewrap)"

        judged = "together" if runs["together"] else "off"
        ratio = statistics.median(runs[judged]) / mp
        met = "met" if ratio <= target else "missed"
        lines.append(f"| {label} | {fmt_s(mp)} | {cell('off')} | {cell('cold')} | {cell('warm')} | {cell('together')} "
                     f"| ≤ {target:.2f}× | {met} |")
        report.verdicts.append((f"overhead, {label}: ≤ {target:.2f}× plain nbclient "
                                f"({'sandbox on, warm kernels, as a submission' if judged == 'together' else 'SANDBOX OFF'})",
                                f"{ratio:.2f}×", met, "overhead"))
        if sizes.repeats > 1:
            spread = [f"{fmt_s(min(runs[k]))}–{fmt_s(max(runs[k]))}" if runs[k] else "" for k in runs]
            lines.append(f"|  ↳ spread (min–max) | {' | '.join(spread)} | | |")
    report.sections["overhead"] = lines


# ---------------------------------------------------------------------------- batches
def make_submissions(root: Path, n: int, solutions: Path, names=("regularizers", "perceptron")) -> list[Path]:
    subs = []
    for i in range(n):
        d = root / f"group{i:02d}"
        d.mkdir(parents=True)
        for name in names:
            shutil.copy(solutions / f"{name}.ipynb", d / f"{name}.ipynb")
        subs.append(d)
    return subs


def timed_batch(subs: list[Path], out: Path, config: GradingConfig, jobs: int) -> float:
    start = time.monotonic()
    rep = grade_batch(subs, out, config, jobs=jobs, progress=quiet(len(subs)))
    elapsed = time.monotonic() - start
    if rep.failed or len(rep.graded) != len(subs):
        raise RuntimeError(f"batch of {len(subs)} with {jobs} job(s): graded {len(rep.graded)}, failed {rep.failed}")
    return elapsed


def throughput(config: GradingConfig, sizes: Sizes, tmp: Path, report: Report) -> None:
    """Workers scale: 1 against 2, each running one notebook at a time (lanes=1: with the
    default, one worker alone already runs a submission's notebooks side by side on the cores
    that a second worker would take). The default for one worker is timed too."""
    subs = make_submissions(tmp / "tp-in", sizes.batch, config.solutions_dir)
    one_lane = replace(config, lanes=1)
    timed_batch(subs[:1], tmp / "tp-warm", one_lane, 1)
    log(f"throughput: {sizes.batch} submissions, 1 worker")
    one = timed_batch(subs, tmp / "tp-1", one_lane, 1)
    log(f"throughput: {sizes.batch} submissions, 2 workers")
    two = timed_batch(subs, tmp / "tp-2", one_lane, 2)
    log(f"throughput: {sizes.batch} submissions, 1 worker, lanes as the cores allow (default)")
    lanes = timed_batch(subs, tmp / "tp-1l", config, 1)
    speedup = one / two
    met = "met" if speedup >= 1.8 else "missed"
    report.sections["throughput"] = [
        f"{sizes.batch} submissions, each the reference `regularizers` and `perceptron` notebooks; "
        f"`grade_batch` with 1 worker, then 2 workers, each running one notebook at a time (lanes=1); "
        f"{config.sandbox.describe().split(' (')[0]}; reference answers cached. Last, 1 worker with its "
        f"default lanes ({replace(config, jobs=1).notebooks_at_once()} here: a submission's notebooks side by side).", "",
        "| submissions | 1 worker | 2 workers | speed-up | target ≥ 1.8× | 1 worker, default lanes |",
        "| ---: | ---: | ---: | ---: | --- | ---: |",
        f"| {sizes.batch} | {fmt_s(one)} ({fmt_s(one / sizes.batch)}/submission) | {fmt_s(two)} "
        f"({fmt_s(two / sizes.batch)}/submission) | {speedup:.2f}× | {met} | {fmt_s(lanes)} "
        f"({one / lanes:.2f}× the speed of one lane) |"]
    report.verdicts.append(("throughput: 2 workers ≥ 1.8× 1 worker", f"{speedup:.2f}×", met, "throughput"))


def scaling(config: GradingConfig, sizes: Sizes, tmp: Path, report: Report) -> None:
    top = max(sizes.scaling)
    pool = make_submissions(tmp / "sc-in", top, config.solutions_dir, names=("regularizers",))
    timed_batch(pool[:1], tmp / "sc-warm", config, 1)
    rows = []
    for n in sizes.scaling:
        log(f"scaling: {n} submissions")
        rows.append((n, timed_batch(pool[:n], tmp / f"sc-{n}", config, 1) / n))
    base = rows[0][1]
    worst = max(per / base for _, per in rows)
    met = "met" if worst <= 1.15 else "missed"
    lines = ["Batches of N submissions (each the reference `regularizers` notebook), `grade_batch` with 1 "
             "worker, a fresh output folder each; seconds per submission, and relative to the smallest batch. "
             "Flat means within ±15% (run-to-run noise on a shared machine is about that).", "",
             "| submissions | total | per submission | vs smallest |", "| ---: | ---: | ---: | ---: |"]
    lines += [f"| {n} | {fmt_s(per * n)} | {fmt_s(per)} | {per / base:.2f}× |" for n, per in rows]
    report.sections["scaling"] = lines
    report.verdicts.append((f"scaling: time per submission flat from {rows[0][0]} to {rows[-1][0]} (≤ 1.15×)",
                            f"largest {worst:.2f}× the smallest batch's", met, "scaling"))


# ---------------------------------------------------------------------------- caches
def caches(config: GradingConfig, sizes: Sizes, tmp: Path, report: Report) -> None:
    catalogue = config.catalogue()
    names = sizes.cache_exercises or tuple(catalogue)
    cold_cfg = GradingConfig(sandbox=config.sandbox, solutions_dir=config.solutions_dir, profile=config.profile,
                             cache_dir=tmp / "cold-cache")
    mnist = kernel_data_sets(config.cache_dir).get("mnist")
    if mnist is not None:  # the MNIST kernel copy is not what this measures: build it first
        kernel_data_sets(cold_cfg.cache_dir)
    log(f"caches: reference runs cold ({len(names)} exercises)")
    start = time.monotonic()
    for n in names:
        reference_answers(catalogue[n], cold_cfg)
    cold = time.monotonic() - start
    warm_times = []
    for _ in range(5):
        start = time.monotonic()
        for n in names:
            reference_answers(catalogue[n], cold_cfg)
        warm_times.append(time.monotonic() - start)
    warm = statistics.median(warm_times)
    lines = ["| what | not cached | cached | ratio |", "| --- | ---: | ---: | ---: |",
             f"| reference answers, {len(names)} exercises ({'all' if not sizes.cache_exercises else ', '.join(names)}): "
             f"run the solutions vs load the cache | {fmt_s(cold)} | {1000 * warm:.0f} ms | {cold / warm:.0f}× |"]
    report.verdicts.append(("caches: reference run cached vs not (no target; the ratio)", f"{cold / warm:.0f}×",
                            "—", "caches"))
    from grader_journal2.libitmal import mnist as lib_mnist
    from mnist_load import cold as mnist_cold
    from mnist_load import first_load_fn, warm as mnist_warm

    idx_dir = Path(os.environ.get("ITMAL_MNIST_DIR", ""))
    if os.environ.get("ITMAL_MNIST_DIR") and set(lib_mnist.available_splits(idx_dir)) == {"train", "test"}:
        log("caches: MNIST")
        first = statistics.median(mnist_cold(first_load_fn(idx_dir, "train"), sizes.mnist_repeat))
        cached = statistics.median(mnist_warm(first_load_fn(idx_dir, "train"),
                                              lambda c: lib_mnist.load_arrays(c, "train"), max(3, sizes.mnist_repeat)))
        lines.append(f"| MNIST training split (60000 × 784): IDX files (gunzip, parse, write .npy) vs the .npy cache | "
                     f"{1000 * first:.0f} ms | {1000 * cached:.1f} ms | {first / cached:.0f}× |")
        report.verdicts.append(("caches: MNIST from cache vs IDX (no target; the ratio)", f"{first / cached:.0f}×",
                                "—", "caches"))
    else:
        lines.append("| MNIST | not measured: ITMAL_MNIST_DIR does not name the IDX files | | |")
    lines += ["", "Cached reference answers: a median of 5 loads. MNIST: medians of "
              f"{sizes.mnist_repeat} cold loads (a new empty cache folder each) and of cached loads "
              "(`benchmarks/mnist_load.py` has the finer breakdown)."]
    report.sections["caches"] = lines


# ---------------------------------------------------------------------------- anchors
def anchors(config_on: GradingConfig | None, config_off: GradingConfig, sizes: Sizes, report: Report) -> None:
    import anchors as anchor_mod

    # ours runs every check it has, the instructor's hidden ones included (as nbgrader runs its hidden tests)
    config = replace(config_on or config_off, hidden_dir=REPO / "hidden" / "journal2")
    log(f"anchors: {sizes.anchors} submissions per tool")
    res = anchor_mod.measure(sizes.anchors, config)
    ours = res["ours"]["per_submission"]
    lines = ["The same three-question notebook (gradient-descent `theta_gd`, `Omega`, perceptron parity; the "
             f"same student code and tests, see `benchmarks/anchors.py`), {sizes.anchors} identical submissions "
             "per tool, graded one after another. nbgrader: one `nbgrader autograde` over all submissions; "
             "otter: one `otter run` (no Docker) per submission; ours: `grade_batch` with 1 worker, "
             f"{config.sandbox.describe().split(' (')[0].lower()}, hidden checks on, reference answers cached. "
             "Ours must give each of the three questions full points, else the section fails. Wall time divided "
             "by the number of submissions.", "",
             "| tool | per submission | ours faster by | score of each submission | target: ours ≥ 2× faster |",
             "| --- | ---: | ---: | --- | --- |",
             f"| ours ({'sandbox on' if config.sandbox.enabled else 'SANDBOX OFF'}) | {fmt_s(ours)} | | "
             f"{res['ours']['score']} | |"]
    for tool in ("nbgrader", "otter"):
        r = res[tool]
        if "error" in r:
            lines.append(f"| {tool} | failed | | {r['error'][:300].replace(chr(10), ' ').replace('|', '/')} | not measured |")
            report.verdicts.append((f"anchors: ours ≥ 2× faster per submission than {tool}", "not measured",
                                    "not measured", "anchors"))
            continue
        ratio = r["per_submission"] / ours
        met = "met" if ratio >= 2 and config.sandbox.enabled else "missed"
        lines.append(f"| {tool} | {fmt_s(r['per_submission'])} | {ratio:.2f}× | {r['score']} | {met} |")
        report.verdicts.append((f"anchors: ours ≥ 2× faster per submission than {tool} (sandbox on)",
                                f"{ratio:.2f}×", met, "anchors"))
    report.sections["anchors"] = lines


# ---------------------------------------------------------------------------- BENCHMARKS.md
NOTES = {
    # filled in after a run by hand where a target is missed: see BENCHMARKS.md's "Notes" section,
    # which run_all.py keeps (everything below the marker line is preserved across runs).
}
KEEP_MARKER = "<!-- notes below this line are kept when run_all.py rewrites this file -->"


def write(report: Report, out: Path, machine: list[str], load_before: str, load_after: str, took: float,
          worst_load: float | None) -> None:
    kept = ""
    if out.exists():
        text = out.read_text()
        if KEEP_MARKER in text:
            kept = text.split(KEEP_MARKER, 1)[1].strip("\n")
    titles = {"overhead": "1. Overhead: plain nbclient vs grading", "throughput": "2. Throughput: 1 worker vs 2",
              "caches": "3. Caches", "anchors": "4. The anchors: nbgrader and otter-grader vs ours",
              "scaling": "5. Scaling: time per submission vs batch size"}
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    md = ["# Benchmarks", "",
          f"Generated by `benchmarks/run_all.py{' --quick' if report.quick else ''}` on {now} "
          f"({took / 60:.1f} min). Regenerate: see README.md, \"Benchmarks\". Figures are ratios of runs "
          "taken in the same invocation; absolute seconds depend on the machine and its load.", ""]
    if report.quick:
        md += ["> **`--quick` run: small sizes, for trying the script. These are not the figures to report.**", ""]
    md += ["## Machine", "", *machine, f"- load average (1, 5, 15 min): {load_before} before, {load_after} after; highest 1-minute load "
           f"per core at a section's start or the end: {'unknown' if worst_load is None else f'{worst_load:.2f}'} "
           f"(above {MAX_LOAD_PER_CORE}, verdicts are provisional)", "",
           "## Targets", "", "| target | measured | verdict |", "| --- | --- | --- |"]
    md += [f"| {t} | {m} | {guarded(v, worst_load)} |" for t, m, v, _ in report.verdicts]
    md.append("")
    for key in SECTIONS:
        if key in report.sections:
            md += [f"## {titles[key]}", "", *report.sections[key], ""]
    md += [KEEP_MARKER, "", kept or "## Notes\n\n(none yet)", ""]
    out.write_text("\n".join(md))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to try the script")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {SECTIONS}")
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--repeats", type=int, default=None, help="overhead: interleaved repetitions (default 3)")
    parser.add_argument("--no-sandbox", action="store_true", help="grade unsandboxed throughout (the sandbox-on figures are then missing)")
    args = parser.parse_args()
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {sorted(unknown)}; choose from {SECTIONS}")
    sizes = QUICK if args.quick else FULL
    if args.repeats:
        sizes = replace(sizes, repeats=args.repeats)
    solutions = default_solutions_dir()
    if solutions is None:
        sys.exit("no reference solutions (solutions/journal2 or $ITMAL_SOLUTIONS)")
    started = time.monotonic()
    load_before = loadavg()
    with tempfile.TemporaryDirectory(prefix="itmal-bench-") as tmp:
        tmp = Path(tmp)
        cache = tmp / "cache"
        if "mnist" not in kernel_data_sets(cache):
            sys.exit("MNIST not found: set ITMAL_MNIST_DIR to a folder holding the four MNIST IDX files "
                     "(e.g. ../shared/data/mnist). Without it the MNIST exercises' reference runs fail and are "
                     "retried by every batch, which distorts the timings.")
        sandbox_on = choose(require=False, disable=args.no_sandbox)
        off = SandboxMode(False, "sandbox off for the overhead comparison (same kernel kind as plain nbclient)")
        config_off = GradingConfig(sandbox=off, solutions_dir=solutions, profile="quick", cache_dir=cache)
        config_on = (GradingConfig(sandbox=sandbox_on, solutions_dir=solutions, profile="quick", cache_dir=cache)
                     if sandbox_on.enabled else None)
        config = config_on or config_off
        if config_on is None:
            log(f"WARNING: {sandbox_on.describe()}: every 'sandbox on' figure is missing")
        # warm the reference cache once for every exercise: every "ours" timing below is cache-warm
        log("priming the reference cache (every exercise, quick profile)")
        for exercise in config.catalogue().values():
            reference_answers(exercise, config)
        report = Report(quick=args.quick)
        loads = [load_per_core()]
        for section in SECTIONS:
            if section not in wanted:
                continue
            log(f"section {section}")
            loads.append(load_per_core())
            if section == "overhead":
                overhead(config_off, config_on, sizes, report)
            elif section == "throughput":
                throughput(config, sizes, tmp, report)
            elif section == "caches":
                caches(config, sizes, tmp, report)
            elif section == "anchors":
                anchors(config_on, config_off, sizes, report)
            elif section == "scaling":
                scaling(config, sizes, tmp, report)
        machine = machine_lines(config, sandbox_on)
    loads.append(load_per_core())
    worst_load = None if None in loads else max(loads)
    write(report, args.out, machine, load_before, loadavg(), time.monotonic() - started, worst_load)
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
