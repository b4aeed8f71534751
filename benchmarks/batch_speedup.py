"""Batch throughput: the same submissions graded with 1 worker and with 2 (target: >= 1.8x).

    .venv/bin/python benchmarks/batch_speedup.py [--submissions 10]

Each submission is the reference regularizers + perceptron notebooks (the other exercises
are absent, so they cost nothing); the reference cache is primed first so both runs do the
same work. Prints a markdown table to paste into benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.runners.batch import grade_batch  # noqa: E402
from grader.grade import GradingConfig, default_solutions_dir  # noqa: E402
from grader.outputs.progress import BatchProgress  # noqa: E402
from grader.kernel.sandbox import choose  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=10)
    args = parser.parse_args()
    solutions = default_solutions_dir()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subs = []
        for i in range(args.submissions):
            d = tmp / "in" / f"group{i:02d}"
            d.mkdir(parents=True)
            for name in ("regularizers.ipynb", "perceptron.ipynb"):
                shutil.copy(solutions / name, d / name)
            subs.append(d)
        config = GradingConfig(sandbox=choose(require=False), solutions_dir=solutions, profile="quick",
                               cache_dir=tmp / "cache")
        quiet = lambda n: BatchProgress(total=n, console=Console(file=io.StringIO()))  # noqa: E731
        grade_batch(subs[:1], tmp / "warmup", config, jobs=1, progress=quiet(1))  # primes the reference cache
        times = {}
        for jobs in (1, 2):
            start = time.monotonic()
            report = grade_batch(subs, tmp / f"out{jobs}", config, jobs=jobs, progress=quiet(len(subs)))
            times[jobs] = time.monotonic() - start
            assert not report.failed and len(report.graded) == len(subs)
    speedup = times[1] / times[2]
    print(f"| submissions | 1 worker | 2 workers | speed-up | target 1.8x |")
    print(f"| ---: | ---: | ---: | ---: | --- |")
    print(f"| {args.submissions} | {times[1]:.1f} s | {times[2]:.1f} s | {speedup:.2f}x | "
          f"{'met' if speedup >= 1.8 else 'missed'} |")
    print(f"\nmachine: {os.cpu_count()} CPUs, Python {platform.python_version()}, sandbox: {config.sandbox.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
