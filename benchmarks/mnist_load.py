"""How long loading MNIST takes: first load from the IDX files vs. later loads from the .npy cache.

    .venv/bin/python benchmarks/mnist_load.py [--idx-dir DIR] [--repeat 5]

The IDX folder: --idx-dir, else $ITMAL_MNIST_DIR, else <repo>/../shared/data/mnist. Every "cold"
repetition uses a new, empty temporary cache folder (the operating system's page cache is warm
after the first repetition: this measures parsing and writing, not the disk). Prints the median,
min and max of each measurement (milliseconds) as a markdown table, and the machine and versions.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from grader.inputs import mnist as grader_mnist  # noqa: E402
from grader_journal2.libitmal import mnist  # noqa: E402


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cold(fn, repeat: int) -> list[float]:
    """fn(cache_dir) with a new, empty cache folder each time."""
    times = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="mnist-bench-") as tmp:
            times.append(timed(lambda: fn(Path(tmp))))
    return times


def warm(prepare, fn, repeat: int) -> list[float]:
    """prepare(cache_dir) once, then fn(cache_dir) `repeat` times."""
    with tempfile.TemporaryDirectory(prefix="mnist-bench-") as tmp:
        prepare(Path(tmp))
        return [timed(lambda: fn(Path(tmp))) for _ in range(repeat)]


def first_load_fn(idx_dir: Path, split: str):
    """fn(cache_dir): parse the IDX files of `split` and write the .npy cache."""
    return lambda cache: mnist.save_cache(cache, split, *mnist.load_arrays(idx_dir, split))


def machine() -> str:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}; "
            f"Python {platform.python_version()}, numpy {np.__version__}, {platform.platform()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idx-dir", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    idx_dir = args.idx_dir or Path(os.environ.get("ITMAL_MNIST_DIR") or REPO.parent / "shared" / "data" / "mnist")
    if set(mnist.available_splits(idx_dir)) != {"train", "test"}:
        sys.exit(f"no MNIST IDX files in {idx_dir}: pass --idx-dir or set ITMAL_MNIST_DIR")
    os.environ["ITMAL_MNIST_DIR"] = str(idx_dir)
    n = args.repeat

    def first_load(split):
        return first_load_fn(idx_dir, split)

    def grader_split(fn):
        def run(cache):
            grader_mnist._split.cache_clear()
            fn(cache_dir=cache)
        return run

    rows = [
        ("train: read IDX only (no cache written)", cold(lambda c: mnist.load_arrays(idx_dir, "train"), n)),
        ("train: first load (read IDX, write .npy cache)", cold(first_load("train"), n)),
        ("train: cached load (`load_arrays` from .npy)",
         warm(first_load("train"), lambda c: mnist.load_arrays(c, "train"), n)),
        ("test: first load (read IDX, write .npy cache)", cold(first_load("test"), n)),
        ("test: cached load (`load_arrays` from .npy)",
         warm(first_load("test"), lambda c: mnist.load_arrays(c, "test"), n)),
        ("`kernel_data_dir`: first call (builds mnist-kernel/)", cold(grader_mnist.kernel_data_dir, n)),
        ("`kernel_data_dir`: later call", warm(grader_mnist.kernel_data_dir, grader_mnist.kernel_data_dir, n)),
        ("`held_out()`: first call (builds mnist/ cache)", cold(grader_split(grader_mnist.held_out), n)),
        ("`training()`: new process, cache on disk",
         warm(grader_split(grader_mnist.training), grader_split(grader_mnist.training), n)),
    ]
    print(f"MNIST loading, {n} repetitions (milliseconds)\n")
    print("| measurement | median | min | max |")
    print("| --- | ---: | ---: | ---: |")
    for what, times in rows:
        ms = [1000 * t for t in times]
        print(f"| {what} | {statistics.median(ms):.2f} | {min(ms):.2f} | {max(ms):.2f} |")
    print(f"\nMachine: {machine()}")
    print(f"IDX files: {idx_dir}")


if __name__ == "__main__":
    main()
