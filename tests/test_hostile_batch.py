"""A batch of every hostile case plus one correct submission (tests/hostile/corpus.py):
the correct one gets full marks, the batch completes, no hostile case earns a point its code
did not earn, the grader's own processes stay small, no file outside the output directory
changes, and no connection leaves the sandbox."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import psutil
import pytest
from rich.console import Console

from conftest import HIDDEN, REPO, SOLUTIONS, TEST_LIMITS
from grader.inputs.submissions import submission_name
from grader.runners.batch import grade_batch
from grader.outputs.progress import BatchProgress
from hostile import corpus

# Short limits: the loops and sleeps cost a few seconds each, not 20.
# A 64 MB scratch disk: filling it costs 64 MB of writes, not 1 GB.
BATCH_LIMITS = dataclasses.replace(TEST_LIMITS, cell_timeout=6, notebook_timeout=60, interrupt_grace=2,
                                   scratch_home=64 * 2**20)


def snapshot(*roots: Path) -> dict[str, str]:
    """Every file under `roots`: its size and a hash of its contents."""
    files = {}
    for root in roots:
        for p in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if p.is_file() and "__pycache__" not in p.parts:
                st = p.stat()
                files[str(p)] = f"{st.st_size}:{hashlib.sha256(p.read_bytes()).hexdigest()}"
    return files


class Server:
    """A TCP server on the grader's loopback; counts connections."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.hits += 1
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


class MemoryWatch:
    """The largest resident size of any of the grader's own processes (this one and its
    workers; not the kernels, whose memory is the sandbox's business)."""

    def __init__(self):
        self.peak = 0
        self.who = ""
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)
        self.thread.start()

    def watch(self):
        me = psutil.Process()
        while not self.stop.is_set():
            for p in [me, *me.children(recursive=True)]:
                try:
                    cmd = " ".join(p.cmdline())
                    rss = p.memory_info().rss
                except psutil.Error:
                    continue
                if "ipykernel_launcher" in cmd or "bwrap" in cmd or "RLIMIT_DATA" in cmd:
                    continue
                if rss > self.peak:
                    self.peak, self.who = rss, cmd[:200]
            time.sleep(0.1)

    def close(self):
        self.stop.set()
        self.thread.join(2)


def gradebook(out: Path) -> dict[str, dict]:
    with open(out / "gradebook.csv", newline="") as f:
        return {row["submission"]: row for row in csv.DictReader(f)}


# The default suite's batch: the cases that attack the grader's own memory, files and network,
# one that ends the kernel, and every case that never reaches a kernel (cheap); each case's own
# outcome is tested in test_hostile.py. `-m slow` grades all 42 (~150 s on two busy cores).
DEFAULT_CASES = {
    "network-blocked", "read-secrets-blocked", "write-outside-blocked", "fake-results-json-ignored",
    "gigabyte-string-is-not-a-usable-answer", "os-exit-kills-kernel",
    "regularizers-200mb-notebook-is-unreadable", "journal3-svm-kernels-is-ignored",
    "regularizers-invalid-json-is-unreadable", "regularizers-binary-garbage-is-unreadable",
    "regularizers-non-utf8-is-unreadable", "regularizers-no-cells-is-unreadable",
    "regularizers-cells-missing-fields-is-unreadable", "zip-with-symlink-out-is-rejected",
    "zip-bomb-is-rejected", "zip-bomb-lying-header-is-rejected", "zip-traversal-is-rejected",
}


def test_a_batch_of_hostile_cases_and_one_correct_submission(config, tmp_path):
    run_batch(config, tmp_path, DEFAULT_CASES)


@pytest.mark.slow
def test_a_batch_of_every_hostile_case_and_one_correct_submission(config, tmp_path):
    run_batch(config, tmp_path, None)


def run_batch(config, tmp_path, only: set[str] | None):
    cfg = dataclasses.replace(config, limits=BATCH_LIMITS)
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "other-submission.ipynb").write_text("another group's work")
    out = tmp_path / "out"
    server = Server()
    try:
        cases = corpus.hostile_batch(tmp_path / "in", port=server.port, canary=canary, out=out)
        if only is not None:
            assert only <= set(cases), only - set(cases)
            cases = {k: v for k, v in cases.items() if k in only}
        correct = tmp_path / "in" / "correct.ipynb"
        shutil.copy(SOLUTIONS / "regularizers.ipynb", correct)
        paths = [correct, *(p for p, _ in cases.values())]
        # (not grader/: other people edit it while the tests run)
        watched = (tmp_path / "in", canary, SOLUTIONS, HIDDEN, REPO / "assignments", REPO / "tests" / "hostile")
        before = snapshot(*watched)
        repo_top = set(os.listdir(REPO))
        memory = MemoryWatch()
        started = time.monotonic()
        try:
            report = grade_batch(paths, out, cfg, jobs=2,
                                 progress=BatchProgress(total=len(paths), console=Console(file=io.StringIO())))
        finally:
            memory.close()
        seconds = time.monotonic() - started
    finally:
        server.close()
    print(f"{len(paths)} submissions in {seconds:.0f} s; grader peak RSS {memory.peak / 2**20:.0f} MB ({memory.who})")

    # the batch completes: every submission has a result
    assert report.failed == []
    book = gradebook(out)
    assert len(book) == len(paths)
    # the correct one gets full marks
    assert float(book["correct.ipynb"]["total"]) == 6, book["correct.ipynb"]
    # no hostile case earns a point for Omega, which every one of them gets wrong
    for name, (path, most) in cases.items():
        row = book[submission_name(path)]
        got = float(row.get("regularizers.qa") or 0)
        assert got <= most, f"{name}: regularizers.qa earned {got}"
        assert float(row["total"]) <= 3 + most, f"{name}: {row['total']}"
    # the grader's own processes stay small (the 1 GB string, 200 MB messages, 200 MB notebook)
    assert memory.peak < 1024 * 2**20, f"{memory.who} reached {memory.peak / 2**20:.0f} MB"
    if config.sandbox.enabled:
        # nothing outside the output directory changed; no connection left the sandbox
        assert snapshot(*watched) == before
        assert set(os.listdir(REPO)) == repo_top
        assert not (tmp_path / "escaped.ipynb").exists()
        assert server.hits == 0
        assert not (out / "results.json").exists()
