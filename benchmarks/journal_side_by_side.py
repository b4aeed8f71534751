"""Whole Journal 2 (quick profile): plain nbclient against ours, one notebook at a time and as
one submission's folder (its notebooks side by side, the default). A shorter cut of
run_all.py's overhead section (no sandbox-off and cold columns), for when that one is too long.

    ITMAL_MNIST_DIR=../shared/data/mnist .venv/bin/python benchmarks/journal_side_by_side.py [--repeats 2]

One untimed pass first (caches, zygotes, TensorFlow loaded); then interleaved repetitions;
medians. Prints a Markdown table and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_all import grade_one, plain_execute  # noqa: E402

from grader.grade import GradingConfig, default_solutions_dir, reference_answers  # noqa: E402
from grader.kernel.sandbox import SandboxMode, choose  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="itmal-sbs-") as tmp:
        tmp = Path(tmp)
        solutions = default_solutions_dir()
        on = GradingConfig(sandbox=choose(require=True), solutions_dir=solutions, profile="quick", cache_dir=tmp / "cache")
        off = replace(on, sandbox=SandboxMode(False, "plain nbclient's environment"))
        catalogue = on.catalogue()
        paths = [solutions / ex.notebook for ex in catalogue.values()]
        folder = tmp / "journal"
        folder.mkdir()
        for path in paths:
            shutil.copy(path, folder / path.name)
        print("load before:", os.getloadavg(), flush=True)
        for exercise in catalogue.values():
            reference_answers(exercise, on)
        for path in paths:  # untimed pass
            plain_execute(path, off)
            grade_one(path, on)
        grade_one(folder, on)
        runs: dict[str, list[float]] = {"plain": [], "one at a time": [], "side by side": []}
        for r in range(args.repeats):
            runs["plain"].append(sum(plain_execute(p, off) for p in paths))
            runs["one at a time"].append(sum(grade_one(p, on) for p in paths))
            runs["side by side"].append(grade_one(folder, on))
            print(f"repetition {r + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in runs.items()),
                  time.strftime("%H:%M:%S"), os.getloadavg(), flush=True)
        plain = statistics.median(runs["plain"])
        print(f"\nlanes: {on.notebooks_at_once()}, threads per kernel: {on.kernel_options().threads}")
        print("| | plain nbclient | ours, warm, one at a time | ours, warm, side by side (default) |")
        print("| --- | ---: | ---: | ---: |")
        print("| median | " + " | ".join(f"{statistics.median(v):.1f} s ({statistics.median(v) / plain:.2f}×)"
                                       for v in runs.values()) + " |")
        print("| spread | " + " | ".join(f"{min(v):.1f}–{max(v):.1f} s" for v in runs.values()) + " |")
        print("load after:", os.getloadavg())


if __name__ == "__main__":
    main()
