"""A whole Journal 2 submission graded in the quick profile (target: at most 3 minutes on 2
cores), and what the reference cache saves.

    ITMAL_MNIST_DIR=../shared/data/mnist .venv/bin/python benchmarks/journal_quick.py

Three timings: the reference solutions run with an empty cache; the same with the cache
filled; grading the bundled correct submission (reference cached), per exercise and in all.
Prints markdown for benchmarks/README.md.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.grade import GradingConfig, default_solutions_dir, grade_submission, reference_answers  # noqa: E402
from grader.kernel.sandbox import choose  # noqa: E402


def main() -> int:
    submission = REPO / "examples" / "submissions" / "group01-correct"
    with tempfile.TemporaryDirectory() as tmp:
        config = GradingConfig(sandbox=choose(require=False), solutions_dir=default_solutions_dir(),
                               profile="quick", cache_dir=Path(tmp))
        catalogue = config.catalogue()
        start = time.monotonic()
        per_reference = {}
        for name, exercise in catalogue.items():
            t = time.monotonic()
            reference_answers(exercise, config)
            per_reference[name] = time.monotonic() - t
        cold = time.monotonic() - start
        start = time.monotonic()
        for exercise in catalogue.values():
            reference_answers(exercise, config)
        warm = time.monotonic() - start
        per_exercise = {}
        start = time.monotonic()
        for name in catalogue:
            t = time.monotonic()
            result = grade_submission(submission / f"{name}.ipynb", config)
            per_exercise[name] = (time.monotonic() - t, result.points, result.max_points)
        total = time.monotonic() - start
    print("| exercise | reference run (cold) | grading the correct submission | points |")
    print("| --- | ---: | ---: | ---: |")
    for name in catalogue:
        secs, points, maximum = per_exercise[name]
        print(f"| {name} | {per_reference[name]:.1f} s | {secs:.1f} s | {points:g}/{maximum:g} |")
    print(f"| **all** | {cold:.1f} s | **{total:.1f} s** | |")
    print(f"\nreference cache: cold {cold:.1f} s, warm {warm * 1000:.0f} ms "
          f"({cold / max(warm, 1e-9):.0f}x); target for grading a whole journal: <= 180 s: "
          f"{'met' if total <= 180 else 'missed'}")
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {config.sandbox.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
