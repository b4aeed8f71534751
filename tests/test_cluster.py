"""Grading on a Dask cluster (`--cluster`): a real LocalCluster on loopback, two worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO, SOLUTIONS, read, replace_cells
from test_batch import OMEGA_WITH_BIAS, gradebook, quiet_progress, write_nb
from grader.runners.batch import grade_batch

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as c:
        yield c


def submissions(root: Path, n: int, extra: str = "") -> list[Path]:
    subs = []
    for i in range(n):
        d = root / f"group{i}"
        nb = read(SOLUTIONS / "regularizers.ipynb")
        if i % 2:
            nb = replace_cells(nb, "regularizers.qa", extra + OMEGA_WITH_BIAS, which=0)
        write_nb(d / "regularizers.ipynb", nb)
        subs.append(d)
    broken = root / "group-broken"
    broken.mkdir()
    (broken / "perceptron.ipynb").write_text("{ not json")
    return subs + [broken]


def outputs(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): p.read_text() for p in sorted(out.glob("*/results.json"))}


@pytest.mark.slow  # minutes of kernels: the slow run (.ci/run) covers it
def test_a_batch_on_the_cluster_equals_a_local_run_and_a_rerun_skips_it(cluster, config, tmp_path, cache_dir):
    subs = submissions(tmp_path / "in", 3)
    local = tmp_path / "local"
    grade_batch(subs, local, config, jobs=2, progress=quiet_progress(len(subs)))
    env = {**os.environ, "ITMAL_CACHE_DIR": str(cache_dir)}
    command = [sys.executable, "-m", "grader.runners.cli", "grade", *map(str, subs), "--out", str(tmp_path / "remote"),
               "--profile", "quick", "--hidden-checks", str(REPO / "hidden" / "journal2"),
               "--cluster", cluster.scheduler_address]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    remote = tmp_path / "remote"
    assert outputs(remote) == outputs(local) and len(outputs(local)) == 4
    assert (remote / "gradebook.csv").read_text() == (local / "gradebook.csv").read_text()
    assert float(gradebook(remote)["group1"]["regularizers.qa"]) == 0  # the wrong Omega stays wrong
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "skipped 4 (unchanged)" in " ".join(again.stdout.split())


@pytest.mark.slow  # minutes of kernels: the slow run (.ci/run) covers it
def test_a_lost_worker_loses_no_submission(cluster, config, tmp_path):
    # each submission sleeps a little, so both workers are busy when one is killed
    subs = submissions(tmp_path / "in", 4, extra="import time\ntime.sleep(4)\n")
    client = distributed.Client(cluster.scheduler_address, set_as_default=False)
    out = tmp_path / "out"
    box = {}
    runner = threading.Thread(target=lambda: box.update(report=grade_batch(
        subs, out, config, jobs=1, progress=quiet_progress(len(subs)), cluster=cluster.scheduler_address)))
    runner.start()
    deadline = time.monotonic() + 120
    while not list(out.glob("*/grading.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    pids = client.run(os.getpid)
    os.kill(next(iter(pids.values())), signal.SIGKILL)  # the nanny starts a new worker; its task is re-run
    runner.join(timeout=300)
    client.close()
    report = box["report"]
    assert report.failed == [] and sorted(report.graded) == sorted(s.name for s in subs)
    book = gradebook(out)
    assert [float(book[f"group{i}"]["regularizers.qa"]) for i in range(4)] == [3, 0, 3, 0]


def test_a_local_run_never_imports_dask(tmp_path):
    """The whole local path (CLI, batch, outputs) runs without Dask in sys.modules. (Nothing
    is graded, so no reference solution runs: two submissions with one name are both left
    ungraded with a note, and the batch's tables are still written.)"""
    twins = [tmp_path / side / "group1" for side in ("a", "b")]
    for twin in twins:
        twin.mkdir(parents=True)
        (twin / "notes.txt").write_text("not a notebook")
    code = ("import sys; from grader.runners import cli; "
            f"cli.main(['grade', {str(twins[0])!r}, {str(twins[1])!r}, '--out', {str(tmp_path / 'out')!r}]); "
            "print('DASK:', sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "DASK: []" in run.stdout, run.stdout + run.stderr
    assert (tmp_path / "out" / "gradebook.csv").is_file()
