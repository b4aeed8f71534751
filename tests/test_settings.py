"""The instructor's settings, by real runs of `grader grade` on the tiny assignment: pinned with
the grades, read from configuration files, plain lines for a log, a cold start that shows its
progress and stops on Ctrl-C, and grading some exercises only."""

from __future__ import annotations

import csv
import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO

TINY = REPO / "tests" / "assignments" / "tiny"
TINY_SOLUTIONS = REPO / "tests" / "assignments" / "tiny_solutions"
TINY_SUBMISSIONS = REPO / "tests" / "assignments" / "tiny_submissions"
CLI = [sys.executable, "-m", "grader.runners.cli", "grade"]
HIDDEN_CHECK = '''
from grader.judge.catalogue import Check
from grader.judge.checks import check_close
from grader.kernel.requests import value

HIDDEN_CHECKS = {{"squares.qa": [Check("hidden squares", lambda ev: check_close(
    "squares", [1.0, 4.0, 9.0, {last}], ev.answer("squares"), atol=1e-9), needs=(value("squares"),), hidden=True)]}}
'''


def _env(cache_dir) -> dict:
    return {**os.environ, "ITMAL_CACHE_DIR": str(cache_dir), "COLUMNS": "300", "PYTHONPATH": str(REPO)}


def _grade(args, env, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, env=env, timeout=300, cwd=cwd)


def _book(out: Path) -> dict[str, dict]:
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        return {row["submission"]: row for row in csv.DictReader(f)}


def _results(out: Path, name: str) -> dict:
    return {t["number"]: t for t in json.loads((out / name / "results.json").read_text())["tests"]}


def _hidden(folder: Path, last: float = 16.0) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "squares_hidden.py").write_text(HIDDEN_CHECK.format(last=last))
    return folder


def _error_line(done) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def test_a_later_run_grades_with_the_pinned_settings_or_stops_naming_what_differs(tmp_path, cache_dir):
    env, out = _env(cache_dir), tmp_path / "grades"
    hidden = _hidden(tmp_path / "hidden")
    subs = sorted(TINY_SUBMISSIONS.iterdir())
    first = _grade([*subs, "--out", out, "--assignment", TINY, "--hidden-checks", hidden, "--profile", "quick",
                    "--cell-timeout", "50", "--jobs", "2"], env)
    assert first.returncode == 0, first.stdout + first.stderr
    pin = json.loads((out / "grader-settings.json").read_text())
    assert pin["settings"]["hidden-checks"] == str(hidden.resolve()) and pin["fingerprints"]["hidden-checks"]
    assert pin["settings"]["profile"] == "quick" and pin["settings"]["cell-timeout"] == 50
    assert "- hidden check: wrong answer" in _results(out, "wrong")["squares.qa"]["output"]

    # forgetting the flags: the pinned ones are used, even for a forced re-grade
    again = _grade([*subs, "--out", out, "--force", "--jobs", "2"], env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "graded 2" in again.stdout and "settings pinned in" in again.stderr
    wrong = _results(out, "wrong")["squares.qa"]["output"]
    assert "- hidden check: wrong answer" in wrong

    # a flag that contradicts the pin stops before grading, with one line naming it
    graded_at = (out / "wrong" / "grading.json").stat().st_mtime_ns
    line = _error_line(_grade([*subs, "--out", out, "--profile", "full"], env))
    assert "--profile full (pinned: quick)" in line and "--reconfigure" in line and "--force" in line
    # so does a pinned folder whose files changed (an edited hidden check)
    _hidden(hidden, last=17.0)
    line = _error_line(_grade([*subs, "--out", out], env))
    assert f"the files in hidden-checks {hidden.resolve()} changed since they were pinned" in line
    assert (out / "wrong" / "grading.json").stat().st_mtime_ns == graded_at

    # --force grades with them this once and keeps the pin; --reconfigure re-pins
    forced = _grade([subs[0], "--out", out, "--force", "--cell-timeout", "40"], env)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert json.loads((out / "grader-settings.json").read_text()) == pin
    assert _results(out, "right")["squares.qa"]["score"] < 2  # the edited hidden check (17) fails it
    re_pinned = _grade([*subs, "--out", out, "--reconfigure", "--jobs", "2"], env)
    assert re_pinned.returncode == 0, re_pinned.stdout + re_pinned.stderr
    new_pin = json.loads((out / "grader-settings.json").read_text())
    assert new_pin["fingerprints"]["hidden-checks"] != pin["fingerprints"]["hidden-checks"]
    assert new_pin["settings"]["cell-timeout"] == 50  # what was not given stays as pinned
    assert "skipped 1" in re_pinned.stdout  # `right` was graded under these settings by --force

    # a corrupt pin is a clear error, not a traceback; --reconfigure writes it afresh
    (out / "grader-settings.json").write_text('{"format": "itmal-grader-settings/1", "settings": [')
    line = _error_line(_grade([*subs, "--out", out], env))
    assert "grader-settings.json are corrupt" in line and "--reconfigure" in line


def test_settings_from_pyproject_and_grader_toml_under_the_flags(tmp_path, cache_dir):
    env = _env(cache_dir)
    course = tmp_path / "course"
    subs = course / "hand-ins"
    shutil.copytree(TINY_SUBMISSIONS, subs)
    shutil.copytree(TINY, course / "tiny")
    (course / "pyproject.toml").write_text(
        '[project]\nname = "course"\n\n[tool.itmal-grader]\nassignment = "tiny"\n'
        f'solutions = "{TINY_SOLUTIONS}"\nprofile = "full"\ncell-timeout = 70\n')
    (subs / "grader.toml").write_text('out = "../grades"\nprofile = "quick"\nexercises = ["squares"]\njobs = 2\n')
    done = _grade([*sorted(subs.iterdir()), "--cell-timeout", "60"], env, cwd=course)  # as `hand-ins/*` gives them
    assert done.returncode == 0, done.stdout + done.stderr
    assert "grader.toml: not a notebook" not in done.stderr
    pin = json.loads((course / "grades" / "grader-settings.json").read_text())["settings"]
    assert pin["assignment"] == str((course / "tiny").resolve())  # relative to pyproject.toml
    assert pin["profile"] == "quick"  # grader.toml over pyproject.toml
    assert pin["cell-timeout"] == 60  # the flag over both
    assert set(_book(course / "grades")) == {"right", "wrong"}
    assert "settings from" in done.stderr and "grader.toml" in done.stderr

    # an unknown key is an error naming it; nothing is graded or written
    (subs / "grader.toml").write_text('out = "../other"\nhiden-checks = "hidden"\n')
    line = _error_line(_grade([subs / "right"], env, cwd=course))
    assert "unknown key 'hiden-checks'" in line and "hidden-checks" in line.split("known:")[1]
    assert not (course / "other").exists()
    (subs / "grader.toml").write_text('out = "../other"\ncell-timeout = "soon"\n')
    assert "'cell-timeout' must be a number" in _error_line(_grade([subs / "right"], env, cwd=course))


def test_a_log_gets_plain_lines_and_a_terminal_the_tables(tmp_path, cache_dir):
    env = _env(cache_dir)
    args = [*sorted(TINY_SUBMISSIONS.iterdir()), "--out", tmp_path / "out", "--assignment", TINY,
            "--profile", "quick", "--jobs", "2"]
    piped = _grade(args, env)
    assert piped.returncode == 0, piped.stdout + piped.stderr
    lines = piped.stdout.splitlines()
    assert "wrong: 0 / 3 points, pass" in lines and "right: 3 / 3 points, pass" in lines
    qa = next(line for line in lines if line.startswith("wrong squares.qa 0/2 wrong answer: "))
    assert qa.endswith("squares: expected [1, 4, 9, 16], got [2, 4, 6, 8]; they differ by 8 at position 3, "
                       "more than the 1.6e-06 allowed") and len(qa) > 80  # whole, on one line
    assert not any(c in piped.stdout for c in "┃│━─")

    # on a terminal: the tables, as before (stdout is a pseudo-terminal here)
    leader, follower = pty.openpty()
    proc = subprocess.Popen([*CLI, *map(str, args), "--force"], stdout=follower, stderr=subprocess.PIPE,
                            env={**env, "COLUMNS": "120"})
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the command is done
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    text = shown.decode(errors="replace")
    assert "┏━" in text and "question" in text and "right: 3 / 3 points, pass" in text
    assert "wrong squares.qa 0/2" not in text


def test_ctrl_c_while_the_reference_solutions_run_stops_the_run(tmp_path):
    """A cold start: the reference solution is announced before it runs (it takes long), and
    Ctrl-C during it (SIGINT to the whole process group, as a terminal sends it) stops the
    run promptly, with one line and status 130; nothing is graded."""
    slow = tmp_path / "solutions"
    slow.mkdir()
    nb = json.loads((TINY_SOLUTIONS / "squares.ipynb").read_text())
    code = next(c for c in nb["cells"] if "squares.qa" in c["metadata"].get("tags", []))
    code["source"] = ["import time; time.sleep(120)\n", *code["source"]]
    (slow / "squares.ipynb").write_text(json.dumps(nb))
    out = tmp_path / "out"
    proc = subprocess.Popen([*CLI, str(TINY_SUBMISSIONS / "right"), "--out", str(out), "--assignment", str(TINY),
                             "--solutions", str(slow), "--profile", "quick"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(tmp_path / "cold-cache"), start_new_session=True)
    seen = ""
    try:
        while "reference solution 1/1: squares" not in seen:
            line = proc.stderr.readline()
            assert line, seen
            seen += line
        assert "cold start: running 1 reference solution(s)" in seen
        time.sleep(2)  # inside the kernel's sleep
        os.killpg(proc.pid, signal.SIGINT)
        started = time.monotonic()
        _, rest = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, seen + rest
    assert time.monotonic() - started < 30
    assert "interrupted: stopped while running the reference solutions; nothing was graded" in rest
    assert "Traceback" not in rest
    assert not (out / "right").exists()


INTERRUPTED_POLL = """
import asyncio, gc, signal
from grader.runners.batch import _interruptible

async def poll():  # a kernel's exit being polled: the interrupt lands inside this task
    while True:
        sum(range(10000))
        await asyncio.sleep(0)

signal.signal(signal.SIGALRM, lambda s, f: signal.raise_signal(signal.SIGINT))
try:
    with _interruptible():
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        asyncio.run(asyncio.wait_for(poll(), 10))
except KeyboardInterrupt:
    print("interrupted")
gc.collect()
"""


def test_ctrl_c_landing_inside_a_polling_task_prints_no_asyncio_traceback():
    """The race behind a flaky Ctrl-C test: SIGINT lands while a task runs (not while the loop
    waits), the KeyboardInterrupt is stored on that task too, and asyncio logged it at exit as
    'Task exception was never retrieved' with a traceback (it did, every time, without the fix)."""
    done = subprocess.run([sys.executable, "-c", INTERRUPTED_POLL], capture_output=True, text=True, timeout=60,
                          cwd=REPO)
    assert done.stdout.strip() == "interrupted", done.stdout + done.stderr
    assert "never retrieved" not in done.stderr and "Traceback" not in done.stderr, done.stderr


def _pair_assignment(root: Path) -> tuple[Path, Path, Path]:
    """The tiny assignment with a second exercise, `cubes`: package, solutions, one hand-in."""
    package = root / "pair"
    shutil.copytree(TINY, package)
    init = (package / "__init__.py").read_text()
    (package / "__init__.py").write_text(init.replace('["squares"]', '["squares", "cubes"]')
                                         .replace('name="tiny"', 'name="pair"')
                                         .replace('HERE.parent / "tiny_solutions"', 'HERE.parent / "pair_solutions"'))
    squares = (package / "squares.py").read_text()
    (package / "cubes.py").write_text(squares.replace("squares", "cubes").replace("Squares", "Cubes"))
    solutions, hand_in = root / "pair_solutions", root / "group01"
    solutions.mkdir()
    hand_in.mkdir()
    for name, power in (("squares", 2), ("cubes", 3)):
        nb = json.loads((TINY_SOLUTIONS / "squares.ipynb").read_text().replace("squares", name))
        code = next(c for c in nb["cells"] if f"{name}.qa" in c["metadata"].get("tags", []))
        code["source"] = ["import tinyhelp\n", f"{name} = [x ** {power} for x in tinyhelp.NUMBERS]"]
        (solutions / f"{name}.ipynb").write_text(json.dumps(nb))
        (hand_in / f"{name}.ipynb").write_text(json.dumps(nb))
    return package, solutions, hand_in


def test_grading_some_exercises_keeps_the_others_earlier_results(tmp_path, cache_dir):
    env = _env(cache_dir)
    package, solutions, hand_in = _pair_assignment(tmp_path)
    out = tmp_path / "grades"
    common = ["--out", out, "--assignment", package, "--solutions", solutions, "--profile", "quick"]

    line = _error_line(_grade([hand_in, *common, "--exercises", "cubes,perceptron"], env))
    assert "unknown exercise 'perceptron'" in line and "squares, cubes" in line
    assert not (out / "group01").exists()

    only = _grade([hand_in, *common, "--exercises", "cubes"], env)
    assert only.returncode == 0, only.stdout + only.stderr
    row = _book(out)["group01"]
    assert (row["squares.qa"], row["squares.qb"], row["cubes.qa"], row["cubes.qb"]) == ("", "", "2", "1")
    assert "not graded: squares" in json.dumps(json.loads((out / "group01" / "grading.json").read_text()))

    full = _grade([hand_in, *common], env)  # squares was never graded: this run grades it
    assert full.returncode == 0 and "graded 1" in full.stdout, full.stdout + full.stderr
    assert _book(out)["group01"]["squares.qa"] == "2"
    assert "skipped 1" in _grade([hand_in, *common, "--exercises", "squares"], env).stdout

    # re-grading cubes alone keeps squares' earlier result as it was
    graded = json.loads((out / "group01" / "grading.json").read_text())
    forced = _grade([hand_in, *common, "--exercises", "cubes", "--force"], env)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    row = _book(out)["group01"]
    assert (row["squares.qa"], row["cubes.qa"]) == ("2", "2")
    kept = json.loads((out / "group01" / "grading.json").read_text())
    assert [q for q in kept["result"]["questions"] if q["id"].startswith("squares.")] == \
        [q for q in graded["result"]["questions"] if q["id"].startswith("squares.")]
    # a new hand-in: the earlier squares result is not this hand-in's, so it is left out
    nb = json.loads((hand_in / "cubes.ipynb").read_text())
    next(c for c in nb["cells"] if "cubes.qa" in c["metadata"].get("tags", []))["source"] = "cubes = [0, 0, 0, 0]"
    (hand_in / "cubes.ipynb").write_text(json.dumps(nb))
    changed = _grade([hand_in, *common, "--exercises", "cubes"], env)
    assert changed.returncode == 0, changed.stdout + changed.stderr
    row = _book(out)["group01"]
    assert (row["squares.qa"], row["cubes.qa"]) == ("", "0")
