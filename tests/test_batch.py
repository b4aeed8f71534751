"""Batch grading as an instructor runs it: many submissions, two workers, resumable outputs."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import jsonschema
import nbformat
import pytest
from rich.console import Console

from conftest import REPO, SOLUTIONS, read, replace_cells
from grader.runners.batch import grade_batch
from grader.judge.outcomes import Outcome
from grader.outputs.progress import BatchProgress

SCHEMA = json.loads((REPO / "tests" / "gradescope_schema.json").read_text())
OMEGA_WITH_BIAS = "import numpy as np\ndef Omega(w):\n    return float(np.sum(np.asarray(w) ** 2))\n"


def quiet_progress(total: int) -> BatchProgress:
    return BatchProgress(total=total, console=Console(file=io.StringIO()))


def write_nb(path: Path, nb) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def make_batch(root: Path) -> list[Path]:
    """Twenty submissions: correct, partly wrong, broken, empty, zipped, hostile zips."""
    subs = []
    for i in range(4):  # correct: two notebooks each
        d = root / f"group{i:02d}-correct"
        shutil.copytree(SOLUTIONS, d, ignore=shutil.ignore_patterns("*.py", "nbsrc", "__pycache__",
                                                                    "[!rp]*.ipynb"))
        subs.append(d)
    for i in range(4, 8):  # partly wrong: Omega includes the bias
        d = root / f"group{i:02d}-omega-bias"
        write_nb(d / "regularizers.ipynb", replace_cells(read(SOLUTIONS / "regularizers.ipynb"),
                                                         "regularizers.qa", OMEGA_WITH_BIAS, which=0))
        subs.append(d)
    for i in range(8, 11):  # broken: not a notebook at all
        d = root / f"group{i:02d}-broken"
        d.mkdir(parents=True)
        (d / "perceptron.ipynb").write_text("{ not json")
        subs.append(d)
    for i in range(11, 14):  # empty hand-ins
        d = root / f"group{i:02d}-empty"
        d.mkdir(parents=True)
        subs.append(d)
    for i in range(14, 17):  # zips of a correct notebook, one with an unknown file beside it
        z = root / f"group{i:02d}-zipped.zip"
        with zipfile.ZipFile(z, "w") as zf:
            zf.write(SOLUTIONS / "regularizers.ipynb", "hand-in/regularizers.ipynb")
            zf.writestr("hand-in/notes.txt", "hello")
        subs.append(z)
    z = root / "group17-traversal.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../../escaped.ipynb", "{}")
    subs.append(z)
    single = root / "group18-single-notebook.ipynb"
    shutil.copy(SOLUTIONS / "perceptron.ipynb", single)
    subs.append(single)
    d = root / "group19-mixed"
    write_nb(d / "perceptron.ipynb", read(SOLUTIONS / "perceptron.ipynb"))
    (d / "photo.png").write_bytes(b"\x89PNG")
    subs.append(d)
    return subs


def gradebook(out: Path) -> dict[str, dict]:
    with open(out / "gradebook.csv", newline="") as f:
        return {row["submission"]: row for row in csv.DictReader(f)}


@pytest.mark.slow  # minutes of kernels: the slow run (.ci/run) covers it
def test_twenty_submissions_with_two_workers(config, tmp_path):
    subs = make_batch(tmp_path / "in")
    assert len(subs) == 20
    out = tmp_path / "out"
    report = grade_batch(subs, out, config, jobs=2, progress=quiet_progress(20))
    assert sorted(report.graded) == sorted(p.name for p in subs)  # clean names are kept, extension included
    assert report.failed == [], [r.notes for r in report.results if r.name in report.failed]
    book = gradebook(out)
    assert len(book) == 20
    for name, row in book.items():
        doc = json.loads((out / name / "results.json").read_text())
        jsonschema.validate(doc, SCHEMA)
        assert float(row["total"]) == pytest.approx(doc["score"])  # the gradebook matches the results
        per_q = {t["number"]: t["score"] for t in doc["tests"]}
        assert float(row["regularizers.qa"]) == pytest.approx(per_q["regularizers.qa"])
        assert (out / name / "feedback.html").is_file()
    assert float(book["group00-correct"]["regularizers.qa"]) == 3
    assert float(book["group00-correct"]["perceptron.qd"]) == 3
    assert float(book["group04-omega-bias"]["regularizers.qa"]) == 0
    assert float(book["group14-zipped.zip"]["regularizers.qa"]) == 3
    assert float(book["group18-single-notebook.ipynb"]["perceptron.qa"]) == 2
    assert all(float(book[f"group{i:02d}-empty"]["total"]) == 0 for i in (11, 12, 13))
    assert book["group11-empty"]["verdict"] == "resubmit"
    traversal = json.loads((out / "group17-traversal.zip" / "results.json").read_text())
    assert "points outside the zip" in traversal["output"]
    assert not (tmp_path / "escaped.ipynb").exists()
    broken = (out / "group08-broken" / "feedback.html").read_text()
    assert "not a valid Jupyter notebook" in broken
    summary = (out / "summary.html").read_text()
    assert "20 submissions" in summary and "data:image/png;base64," in summary
    manual = (out / "manual.csv").read_text()
    assert "group00-correct,group00-correct,regularizers.qb" in manual


def run_cli(args: list[str], env: dict) -> subprocess.Popen:
    """The CLI in a session of its own (so the test can Ctrl-C it); read its output with
    communicate(), never wait(): a full pipe would block it."""
    return subprocess.Popen([sys.executable, "-m", "grader.runners.cli", "grade", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def small_batch(root: Path) -> list[Path]:
    subs = []
    for i in range(4):
        d = root / f"group{i}"
        nb = read(SOLUTIONS / "regularizers.ipynb")
        if i % 2:  # group1 also takes its time: an interrupted batch is still grading it
            nb = replace_cells(nb, "regularizers.qa", "import time\ntime.sleep(6)\n" * (i == 1) + OMEGA_WITH_BIAS,
                               which=0)
        write_nb(d / "regularizers.ipynb", nb)
        subs.append(d)
    return subs


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, cache_dir):
    """A small batch, its CLI arguments and environment, and its outputs from a run left alone."""
    root = tmp_path_factory.mktemp("resume")
    subs = [str(p) for p in small_batch(root / "in")]
    env = {**os.environ, "ITMAL_CACHE_DIR": str(cache_dir), "ITMAL_TEST_BATCH": os.urandom(8).hex()}
    args = [*subs, "--profile", "quick", "--jobs", "1", "--hidden-checks", str(REPO / "hidden" / "journal2")]
    whole = root / "whole"
    first = run_cli([*args, "--out", str(whole)], env)
    first.communicate(timeout=300)  # read the output: a full pipe would block the grader
    assert first.returncode == 0
    return args, env, whole


def processes_with(marker: str) -> list[int]:
    """Processes whose environment holds `marker` (the batch's workers and fork server)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker.encode() in environ.read_bytes():
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("how", ["ctrl-c", "sigkill"])
def test_an_interrupted_batch_resumes_without_regrading_and_ends_like_an_uninterrupted_one(uninterrupted, tmp_path,
                                                                                          how):
    args, env, whole = uninterrupted
    out = tmp_path / "interrupted"
    proc = run_cli([*args, "--out", str(out)], env)
    deadline = time.monotonic() + 240
    while not list(out.glob("*/grading.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # the next submission's worker is now at work
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole foreground group
    else:
        os.kill(proc.pid, signal.SIGKILL)  # the grader alone is killed (the OOM killer's way)
    # Look before reading the grader's output: an orphan holding that pipe would make us wait
    # until it finished grading.
    deadline = time.monotonic() + 3  # less than grading a submission takes: an orphan would still be at it
    while processes_with(env["ITMAL_TEST_BATCH"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with(env["ITMAL_TEST_BATCH"]) == []  # no worker grades on as an orphan
    proc.communicate(timeout=60)
    done_before = {p.parent.name for p in out.glob("*/grading.json")}
    assert 1 <= len(done_before) < 4

    rerun = run_cli([*args, "--out", str(out)], env)
    text, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, text
    assert f"skipped {len(done_before)} (unchanged)" in " ".join(text.split())
    for name in ("gradebook.csv", "leaderboard.csv"):
        assert (out / name).read_text() == (whole / name).read_text()
    for i in range(4):
        assert (out / f"group{i}" / "results.json").read_text() == (whole / f"group{i}" / "results.json").read_text()


def test_manual_points_are_merged_without_executing_again(config, tmp_path):
    subs = small_batch(tmp_path / "in")[:2]
    out = tmp_path / "out"
    grade_batch(subs, out, config, jobs=2, progress=quiet_progress(2))
    rows = list(csv.DictReader(open(out / "manual.csv", newline="")))
    for row in rows:
        if row["submission"] == "group0" and row["question"] == "regularizers.qc":
            row["points"], row["comment"] = "0", "Ridge and Lasso are swapped."
    sheet = tmp_path / "graded.csv"
    with open(sheet, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    before = float(gradebook(out)["group0"]["total"])
    report = grade_batch(subs, out, config, jobs=2, manual=sheet, progress=quiet_progress(0))
    assert report.graded == [] and sorted(report.skipped) == ["group0", "group1"]  # nothing executed
    book = gradebook(out)
    assert float(book["group0"]["regularizers.qc"]) == 0
    assert float(book["group0"]["total"]) == before - 1
    assert "Ridge and Lasso are swapped." in (out / "group0" / "feedback.html").read_text()
    doc = json.loads((out / "group0" / "results.json").read_text())
    assert doc["score"] == pytest.approx(before - 1)


def forkserver_children() -> list[int]:
    from multiprocessing import forkserver
    server = forkserver._forkserver._forkserver_pid
    if server is None:
        return []
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == server:  # field 4 of stat: the parent's pid
            children.append(int(stat.parent.name))
    return children


def batch_in_background(subs: list[Path], out: Path, config):
    """grade_batch (one worker) in a thread, once group0 is done; box["report"] when it ends."""
    import threading

    box = {}
    runner = threading.Thread(target=lambda: box.update(report=grade_batch(subs, out, config, jobs=1,
                                                                           progress=quiet_progress(len(subs)))))
    runner.start()
    deadline = time.monotonic() + 120
    while not (out / "group0" / "grading.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    return runner, box


def _leftover_cgroups(owners: list[str]) -> list[Path]:
    return [d for owner in owners for base in ("", "pids", "memory")
            for d in (Path("/sys/fs/cgroup") / base).glob(f"itmal-{owner}-*")]


@pytest.fixture
def workers_made(monkeypatch) -> list:
    """Every batch worker started while the test runs (the batch's side of it)."""
    from grader.runners import batch

    made = []
    real_init = batch._Worker.__init__

    def counted(self, ctx):
        real_init(self, ctx)
        made.append(self)

    monkeypatch.setattr(batch._Worker, "__init__", counted)
    return made


def test_a_worker_grades_submission_after_submission_and_leaves_nothing_behind(config, tmp_path, workers_made):
    """Issue 16: workers are reused across submissions (the grader's imports and the warm
    kernels' zygote paid once per worker, not per submission); when the batch ends, no worker
    process, log or control group of theirs is left."""
    made = workers_made
    subs = []
    for i in range(4):
        subs.append(tmp_path / "in" / f"group{i}")
        write_nb(subs[-1] / "perceptron.ipynb", read(SOLUTIONS / "perceptron.ipynb"))
    report = grade_batch(subs, tmp_path / "out", config, jobs=1, progress=quiet_progress(4))
    assert report.failed == [] and sorted(report.graded) == [f"group{i}" for i in range(4)]
    assert len(made) == 1  # one worker graded all four
    book = gradebook(tmp_path / "out")
    assert {float(row["perceptron.qd"]) for row in book.values()} == {3.0}, book
    assert all(w.proc.exitcode == 0 for w in made)  # asked to end, not killed
    assert forkserver_children() == []
    assert not [w.log for w in made if os.path.exists(w.log)]
    assert _leftover_cgroups([w.owner for w in made]) == []


def test_a_killed_worker_costs_only_its_own_submission(config, tmp_path, workers_made):
    """A worker that dies (the kernel OOM-killer's choice, say) takes no other submission
    with it. It gets a second try; when that dies too, its result says the grader failed and
    is not final, so a re-run grades it."""
    subs = small_batch(tmp_path / "in")[:3]
    slow = read(SOLUTIONS / "regularizers.ipynb")
    write_nb(subs[1] / "regularizers.ipynb", replace_cells(slow, "regularizers.qa",
                                                           "import time\ntime.sleep(60)\n" + OMEGA_WITH_BIAS))
    out = tmp_path / "out"
    runner, box = batch_in_background(subs, out, config)
    deadline = time.monotonic() + 120
    killed = set()
    for _ in range(2):  # the worker, then its second try
        time.sleep(3)  # group1's worker is now asleep in its kernel (group0's has exited)
        while not set(forkserver_children()) - killed and time.monotonic() < deadline:
            time.sleep(0.1)
        (victim,) = set(forkserver_children()) - killed
        os.kill(victim, signal.SIGKILL)
        killed.add(victim)
    runner.join(timeout=240)
    report = box["report"]
    assert report.failed == ["group1"]
    book = gradebook(out)
    assert float(book["group0"]["regularizers.qa"]) == 3 and float(book["group2"]["regularizers.qa"]) == 3
    failed = json.loads((out / "group1" / "grading.json").read_text())["result"]
    assert failed["final"] is False
    assert "killed by SIGKILL (out of memory?) (twice)" in (out / "group1" / "results.json").read_text()
    # the killed workers' kernels had no chance to remove their control groups: the batch did
    assert len(workers_made) >= 3 and _leftover_cgroups([w.owner for w in workers_made]) == []


def test_a_worker_that_dies_once_gets_a_second_try(config, tmp_path):
    subs = small_batch(tmp_path / "in")[:2]
    write_nb(subs[1] / "regularizers.ipynb", replace_cells(read(SOLUTIONS / "regularizers.ipynb"), "regularizers.qa",
                                                           "import time\ntime.sleep(8)\n" + OMEGA_WITH_BIAS))
    out = tmp_path / "out"
    runner, box = batch_in_background(subs, out, config)
    time.sleep(3)
    (victim,) = forkserver_children()
    os.kill(victim, signal.SIGKILL)
    runner.join(timeout=240)
    assert box["report"].failed == []
    assert float(gradebook(out)["group1"]["regularizers.qa"]) == 0  # graded: its wrong Omega, not a grader error


@pytest.mark.slow  # a minute of kernels: the slow run (.ci/run) covers it
def test_without_mnist_the_mnist_exercises_are_a_grader_error_and_their_references_never_run(config, tmp_path,
                                                                                              monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("ITMAL_MNIST_DIR", "ITMAL_CACHE_DIR", "XDG_CACHE_HOME", "KERAS_HOME", "SCIKIT_LEARN_DATA"):
        monkeypatch.delenv(var, raising=False)
    from dataclasses import replace
    bare = replace(config, cache_dir=tmp_path / "cache")
    sub = tmp_path / "in" / "group0"
    write_nb(sub / "perceptron.ipynb", read(SOLUTIONS / "perceptron.ipynb"))
    write_nb(sub / "pca.ipynb", read(SOLUTIONS / "pca.ipynb"))
    report = grade_batch([sub], tmp_path / "out", bare, jobs=1, progress=quiet_progress(1))
    lacking = sorted(n.split(":")[0] for n in report.notes if "no copy of mnist" in n)
    assert lacking == ["gridsearch", "mlp_mnist", "naive_bayes", "pca"]
    assert not list((tmp_path / "cache" / "reference").glob("pca-*"))  # never run, so never cached
    result = report.results[0]
    assert not result.final
    by_id = {q.id: q for q in result.questions}
    assert by_id["perceptron.qa"].outcome is Outcome.PASSED
    assert by_id["pca.qa"].outcome is Outcome.GRADER_ERROR
    assert "this is not the student's fault" in by_id["pca.qa"].checks[0].message


# --- Data safety (issue 13): every graded submission in --out, readable files, clear errors ---

@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_atomic_writes_respect_the_umask_not_mkstemps_0600(tmp_path, mask):
    from grader.files import write_json_atomic, write_text_atomic

    old = os.umask(mask)
    try:
        write_text_atomic(tmp_path / "new" / "gradebook.csv", "a,b\n")
        write_json_atomic(tmp_path / "new" / "grading.json", {"a": 1})
        write_text_atomic(tmp_path / "new" / "gradebook.csv", "a,b\n1,2\n")  # replacing keeps the mode
    finally:
        os.umask(old)
    for name in ("gradebook.csv", "grading.json"):
        assert (tmp_path / "new" / name).stat().st_mode & 0o777 == 0o666 & ~mask
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o777 & ~mask
    assert (tmp_path / "new" / "gradebook.csv").read_text() == "a,b\n1,2\n"
    assert not list((tmp_path / "new").glob(".*.tmp"))


def table(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def snapshot(out: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `out`: its bytes and modification time."""
    return {str(p.relative_to(out)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(out.rglob("*")) if p.is_file()}


def test_a_late_submission_graded_into_the_same_folder_keeps_every_row(config, tmp_path):
    """The batch's tables are rebuilt from every submission graded into --out, whichever run
    graded it; what is not the grader's in --out is never read, and a corrupt grading.json is
    left out with a note, never a crash. Manual points merge into every row."""
    subs = small_batch(tmp_path / "in")
    out = tmp_path / "out"
    grade_batch(subs[:2], out, config, jobs=2, progress=quiet_progress(2))
    assert [r["submission"] for r in table(out / "gradebook.csv")] == ["group0", "group1"]
    first = (out / "group0" / "results.json").read_bytes()

    # things in --out that are not submissions graded there
    shutil.copytree(out / "group0", out / "Not-Ours")  # not a name the grader makes
    os.symlink(out / "group0", out / "group7")  # a link, even to a real submission's folder
    (out / "group8").mkdir()
    os.symlink(out / "group0" / "grading.json", out / "group8" / "grading.json")  # a linked grading.json
    (out / "group9").mkdir()
    (out / "group9" / "grading.json").write_text("{ corrupt")
    shutil.copytree(out / "group1", out / "group6")  # a copy: its grading.json names group1
    (out / "stray.txt").write_text("the instructor's notes")

    late = grade_batch([subs[2]], out, config, jobs=1, progress=quiet_progress(1))  # group2 hands in late
    assert late.graded == ["group2"] and [r.name for r in late.results] == ["group2"]
    book = table(out / "gradebook.csv")
    assert [r["submission"] for r in book] == ["group0", "group1", "group2"]
    assert [r.name for r in late.book] == ["group0", "group1", "group2"]
    assert float(book[0]["regularizers.qa"]) == 3 and float(book[1]["regularizers.qa"]) == 0
    assert float(book[2]["regularizers.qa"]) == 3
    assert any(n.startswith("group9/grading.json: unreadable or corrupt") for n in late.notes)
    assert any(n.startswith("group8/grading.json: not a regular file") for n in late.notes)
    assert any(n.startswith("group6/grading.json: not written by the grader for this folder") for n in late.notes)
    assert (out / "group0" / "results.json").read_bytes() == first  # an earlier row is read, not re-graded
    assert (out / "stray.txt").read_text() == "the instructor's notes"
    assert {r["submission"] for r in table(out / "manual-latest.csv")} == {"group0", "group1", "group2"}
    assert {r["submission"] for r in table(out / "manual.csv")} == {"group0", "group1"}  # the first run's sheet, kept
    summary = (out / "summary.html").read_text()
    assert "3 submissions" in summary and "Not-Ours" not in summary and "group9" not in summary

    # the instructor grades group0's text answer; the merge runs with only group3 on the command line
    rows = table(out / "manual-latest.csv")
    for row in rows:
        if row["submission"] == "group0" and row["question"] == "regularizers.qc":
            row["points"], row["comment"] = "0", "Ridge and Lasso are swapped."
    sheet = tmp_path / "graded.csv"
    with open(sheet, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    before = float(book[0]["total"])
    grade_batch([subs[3]], out, config, jobs=1, manual=sheet, progress=quiet_progress(1))
    book = table(out / "gradebook.csv")
    assert [r["submission"] for r in book] == ["group0", "group1", "group2", "group3"]
    assert float(book[0]["regularizers.qc"]) == 0 and float(book[0]["total"]) == before - 1
    assert "Ridge and Lasso are swapped." in (out / "group0" / "feedback.html").read_text()
    assert json.loads((out / "group0" / "results.json").read_text())["score"] == pytest.approx(before - 1)

    # every output is readable by the teaching team (the test runs under umask 022)
    from grader.files import current_umask

    if current_umask() == 0o022:
        for path in [out / "gradebook.csv", out / "summary.html", out / "group3" / "results.json",
                     out / "group3" / "grading.json", out / "group0" / "feedback.html"]:
            assert path.stat().st_mode & 0o777 == 0o644, path
        assert (out / "group3").stat().st_mode & 0o777 == 0o755


def cli(args: list, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    """The CLI with stdout (results) and stderr (errors, notes, progress) apart."""
    return subprocess.run([sys.executable, "-m", "grader.runners.cli", "grade", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_a_typo_keeps_the_gradebook_intact_and_every_mistake_stops_before_grading(uninterrupted, tmp_path):
    """A missing path, an empty folder, a non-notebook, --jobs 0 or an --out that cannot be
    written: one line on stderr, nothing on stdout, exit 2, and not a byte of the existing
    outputs changed."""
    args, env, whole = uninterrupted
    out = tmp_path / "grades"
    shutil.copytree(whole, out)
    before = snapshot(out)
    subs, options = args[:4], args[4:]  # the four submissions, then the options
    empty = tmp_path / "group9-empty"
    empty.mkdir()
    readme = tmp_path / "README.txt"
    readme.write_text("not a submission")
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    typo = Path(subs[0]).parent / "gruop2"
    cases = {
        "a typo": ([typo, *options, "--out", out], f"no such file or folder: {typo}"),
        "a typo among real paths": ([*subs[:2], typo, *options, "--out", out], f"no such file or folder: {typo}"),
        "an empty folder": ([empty, *options, "--out", out], f"nothing to grade: {empty} is an empty folder"),
        "a non-notebook": ([readme, *options, "--out", out], f"{readme} is not a notebook, zip or folder"),
        "--jobs 0": ([subs[0], *options, "--jobs", "0", "--out", out], "--jobs must be at least 1, not 0"),
        "--out is a file": ([subs[0], *options, "--out", a_file], f"cannot write to --out {a_file}"),
        "--out below a file": ([subs[0], *options, "--out", a_file / "grades"], f"cannot write to --out {a_file}"),
        "a missing --manual": ([subs[0], *options, "--out", out, "--manual", tmp_path / "graded.csv"],
                               f"cannot read --manual {tmp_path / 'graded.csv'}"),
        "a --manual without its columns": ([subs[0], *options, "--out", out, "--manual", readme],
                                           "README.txt lacks the columns"),
    }
    for case, (argv, message) in cases.items():
        done = cli(argv, env, timeout=60)
        assert done.returncode == 2, (case, done.stdout, done.stderr)
        assert done.stdout == "", case
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], (case, done.stderr)
        assert snapshot(out) == before, case
        assert a_file.read_text() == ""


def test_results_go_to_stdout_and_notes_to_stderr_and_a_late_group_joins_the_gradebook(uninterrupted, tmp_path):
    args, env, whole = uninterrupted
    out = tmp_path / "grades"
    shutil.copytree(whole, out)
    late = tmp_path / "in" / "group4"
    write_nb(late / "regularizers.ipynb", read(SOLUTIONS / "regularizers.ipynb"))
    stray = tmp_path / "in" / "README.txt"
    stray.write_text("hello")
    options = args[4:]  # the fixture's options, without its four submissions
    done = cli([late, stray, *options, "--out", out], {**env, "COLUMNS": "300"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "note: README.txt: not a notebook, zip or folder; ignored" in done.stderr
    assert "README.txt" not in done.stdout and "error:" not in done.stdout  # the result's own notes are results
    assert "group4: " in done.stdout and "graded 1, skipped 0 (unchanged)" in " ".join(done.stdout.split())
    assert "gradebook.csv (5 submissions)" in " ".join(done.stdout.split())
    book = table(out / "gradebook.csv")
    assert [r["submission"] for r in book] == ["group0", "group1", "group2", "group3", "group4"]
    assert book[:4] == table(whole / "gradebook.csv")  # the earlier rows, exactly as they were
    assert len(table(out / "leaderboard.csv")) == len(table(whole / "leaderboard.csv"))


def test_the_gradebook_has_a_column_for_every_question_of_every_row():
    """Rows graded under different assignments (one --out, two runs): no row loses a column,
    and a question a row was not graded on is blank, never a 0."""
    from grader.judge.outcomes import QuestionResult, SubmissionResult
    from grader.outputs.gradebook import gradebook_csv

    def result(name, qids):
        return SubmissionResult(name=name, sandbox="sandboxed", questions=[
            QuestionResult(id=q, title=q, max_points=1, checks=[]) for q in qids])

    rows = list(csv.DictReader(io.StringIO(gradebook_csv([result("b", ["x.qa", "x.qb"]), result("a", ["y.qa"])]))))
    assert [r["submission"] for r in rows] == ["a", "b"]
    assert list(rows[0])[2:5] == ["y.qa", "x.qa", "x.qb"]
    assert rows[0]["x.qa"] == "" and rows[1]["y.qa"] == "" and rows[1]["x.qa"] == "0"
