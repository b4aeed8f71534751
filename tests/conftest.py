"""Shared fixtures: a grading configuration with real sandboxed kernels, and notebook samples
made from the reference solutions by replacing tagged cells (named by their expected outcome)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import nbformat
import pytest

from grader.judge.checks import CheckFailed

from grader.grade import GradingConfig
from grader.kernel.sandbox import Limits, choose, probe

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions" / "journal2"
ASSIGNMENT = REPO / "assignments" / "journal2"
HIDDEN = REPO / "hidden" / "journal2"
EXAMPLES = REPO / "examples" / "submissions"

# The real MNIST lies beside the repository on the course's machines and in CI.
_SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"
if _SHARED_MNIST.is_dir():
    os.environ.setdefault("ITMAL_MNIST_DIR", str(_SHARED_MNIST))

# Short limits keep the hostile samples quick; the reference notebooks need a few seconds.
TEST_LIMITS = Limits(cell_timeout=20, notebook_timeout=90, interrupt_grace=3)

needs_sandbox = pytest.mark.skipif(not probe()[0], reason=f"bubblewrap cannot run here: {probe()[1]}")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def config(cache_dir) -> GradingConfig:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sandbox = choose(require=False)
    return GradingConfig(sandbox=sandbox, limits=TEST_LIMITS, solutions_dir=SOLUTIONS,
                         hidden_dir=HIDDEN, cache_dir=cache_dir, profile="quick")


def read(path: Path):
    return nbformat.read(path, as_version=4)


def replace_cells(nb, tag: str, source: str, *, which: int = -1):
    """Replace the source of one cell carrying `tag` (the last one by default)."""
    tagged = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert tagged, f"no cell tagged {tag}"
    tagged[which].source = source
    return nb


def insert_cell_after(nb, tag: str, source: str):
    """Insert a new code cell, tagged `tag`, after the last cell carrying `tag`."""
    idx = max(i for i, c in enumerate(nb.cells) if tag in c.get("metadata", {}).get("tags", []))
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [tag]
    nb.cells.insert(idx + 1, cell)
    return nb


@pytest.fixture
def sample(tmp_path):
    """sample(name, exercise, edit) -> path of a solution notebook changed by `edit(nb)`,
    saved as `<name>.ipynb` (the name says what the grader should make of it)."""

    def make(name: str, exercise: str, edit=lambda nb: nb) -> Path:
        nb = edit(read(SOLUTIONS / f"{exercise}.ipynb"))
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(nb, path)
        return path

    return make


def by_id(result):
    return {q.id: q for q in result.questions}


# --- MNIST exercises: the data folder, a config that finds it, plain-data evidence ---------

IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def mnist_folder() -> tuple[str | None, str]:
    env = os.environ.get("ITMAL_MNIST_DIR")
    folder = env or str((REPO.parent / "shared" / "data" / "mnist").resolve())
    missing = [n for n in IDX_NAMES if not os.path.isfile(os.path.join(folder, n))]
    if missing:
        return None, f"MNIST not found in {folder} (set ITMAL_MNIST_DIR): missing {', '.join(missing)}"
    return folder, ""


MNIST_DIR, NO_MNIST = mnist_folder()


@pytest.fixture(scope="module")
def mnist_config(config):
    """The quick-profile config, with MNIST found by the kernel's data folder and the grader's
    held-out digits (both built under the session's cache, never under ~/.cache)."""
    if MNIST_DIR is None:
        pytest.skip(NO_MNIST)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ITMAL_MNIST_DIR", MNIST_DIR)
        mp.setenv("ITMAL_CACHE_DIR", str(config.cache_dir))
        yield config


class PlainEvidence:
    """Answers as the grader would have fetched them, without a kernel."""

    def __init__(self, **answers):
        self.answers = answers

    def answer(self, key):
        return self.answers[key]

    def reference(self, key):
        """The reference run's answer, given as `**{"reference <key>": value}`."""
        return self.answers[f"reference {key}"]


def fails(fn, *args) -> CheckFailed:
    with pytest.raises(CheckFailed) as info:
        fn(*args)
    return info.value
