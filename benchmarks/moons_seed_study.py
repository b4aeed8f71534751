"""Seed study for the moons MLP bar (grader_journal2/mlp_moon.py, BAR).

Trains the course's Adam model exactly as the notebook's setup cells do (their source is taken
from solutions/journal2/mlp_moon.ipynb) under several seeds, in the grader's environment, and
measures each on the grader's unseen moons; then what a straight-line model reaches there. The
bar must lie below the Adam model's worst seed and above the straight line.

    MPLBACKEND=Agg nice -n 10 .venv/bin/python benchmarks/moons_seed_study.py [--seeds 10] [--profile quick]

The course's model trains 35 epochs in both profiles, so its figures hold for both; --profile
only sets the notebook's profile variable.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "grader_journal2"))  # `from libitmal import profile` in the setup cell


def setup_cells() -> list[str]:
    nb = nbformat.read(REPO / "solutions" / "journal2" / "mlp_moon.ipynb", as_version=4)
    return [c.source for c in nb.cells if "mlp_moon.setup" in c.metadata.get("tags", [])]


def straight_lines(X_train, y_train, X_held, y_held) -> tuple[float, float]:
    """(a logistic regression fitted on the training moons, the best straight line on the
    unseen moons themselves: an upper bound for any straight boundary a student draws)."""
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression().fit(X_train, y_train).score(X_held, y_held)
    best = LogisticRegression(C=1e6, max_iter=1000).fit(X_held, y_held).score(X_held, y_held)
    return float(fitted), float(best)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--profile", choices=("quick", "full"), default="quick")
    args = parser.parse_args()
    os.environ["ITMAL_PROFILE"] = args.profile
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    import keras

    from grader_journal2.mlp_moon import held_out_moons

    X_held, y_held = held_out_moons()
    cells = setup_cells()
    accuracies = []
    for seed in range(args.seeds):
        keras.utils.set_random_seed(seed)
        namespace: dict = {}
        started = time.monotonic()
        for source in cells:
            exec(compile(source, "<mlp_moon setup>", "exec"), namespace)
        out = np.asarray(namespace["model"].predict(X_held, verbose=0))
        acc = float(np.mean(out.argmax(axis=1) == y_held))
        accuracies.append(acc)
        print(f"seed {seed:2d}: the course's Adam model reaches {acc:.4f} on the unseen moons "
              f"({time.monotonic() - started:.1f} s)", flush=True)
    fitted, best = straight_lines(namespace["X_train"], namespace["y_train"], X_held, y_held)
    acc = np.array(accuracies)
    print(f"\nprofile {args.profile}, {acc.size} seeds: Adam model worst {acc.min():.4f}, median "
          f"{np.median(acc):.4f}, best {acc.max():.4f}")
    print(f"straight line: logistic regression {fitted:.4f}; best straight line on the unseen moons {best:.4f}")


if __name__ == "__main__":
    main()
