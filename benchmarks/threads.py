"""Thread pools per kernel (issue 16): with 2 kernels at once on this machine, each kernel's
BLAS and TensorFlow pools sized to its share of the cores (cores / 2) vs to all cores.

    ITMAL_MNIST_DIR=../shared/data/mnist .venv/bin/python benchmarks/threads.py [--exercises mlp_moon,mlp_mnist]

Two worker processes grade the same solution notebooks at the same time, warm reference cache,
quick profile; the figure is the wall time until both are done (median of --repeats), and
whether every fetched answer is the same under both sizes (the thread count must not change
a grade).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.grade import GradingConfig, default_solutions_dir, grade_submission, reference_answers  # noqa: E402
from grader.kernel.sandbox import choose  # noqa: E402


def _grade(args) -> tuple[float, list]:
    path, config = args
    started = time.perf_counter()
    result = grade_submission(path, config)
    return time.perf_counter() - started, [(q.id, q.points, q.metrics) for q in result.questions]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exercises", default="mlp_moon,mlp_mnist")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    cache = Path(tempfile.mkdtemp(prefix="itmal-threads-"))
    work = Path(tempfile.mkdtemp(prefix="itmal-threads-work-"))
    try:
        base = GradingConfig(sandbox=choose(require=False), solutions_dir=default_solutions_dir(), profile="quick",
                             cache_dir=cache)
        catalogue = base.catalogue()
        names = args.exercises.split(",")
        for n in names:
            reference_answers(catalogue[n], base)
        folder = work / "submission"
        folder.mkdir()
        for n in names:
            shutil.copy(base.solutions_dir / catalogue[n].notebook, folder / catalogue[n].notebook)
        sizes = {"share (cores / 2)": replace(base, jobs=2), "all cores": replace(base, jobs=1)}
        times: dict[str, list[float]] = {k: [] for k in sizes}
        answers: dict[str, list] = {}
        ctx = multiprocessing.get_context("forkserver")
        with ctx.Pool(2, maxtasksperchild=None) as pool:
            for _ in range(args.repeats):
                for label, config in sizes.items():  # interleaved: a drifting load hits both
                    started = time.perf_counter()
                    done = pool.map(_grade, [(folder, config), (folder, config)])
                    times[label].append(time.perf_counter() - started)
                    answers.setdefault(label, done[0][1])
        load = open("/proc/loadavg").read().split()[:3]
        print(f"{cores} cores; 2 workers at once; exercises {', '.join(names)}; load average {' '.join(load)}")
        print("| kernel thread pools | threads per kernel | both submissions done (median) | spread |")
        print("| --- | ---: | ---: | --- |")
        for label, config in sizes.items():
            t = times[label]
            print(f"| {label} | {config.kernel_options().threads} | {statistics.median(t):.1f} s | "
                  f"{min(t):.1f}–{max(t):.1f} s |")
        same = answers["share (cores / 2)"] == answers["all cores"]
        print(f"same points and metrics under both sizes: {same}")
        if not same:
            for a, b in zip(*answers.values()):
                if a != b:
                    print("  differs:", a, b)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
