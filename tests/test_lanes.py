"""Issue 16: a submission's notebooks run side by side ("lanes"), each in a kernel and a sandbox
of its own. Grades do not change; two kernels running at once see nothing of each other; Ctrl-C
stops them all; the cores are shared out among them."""

from __future__ import annotations

import dataclasses
import functools
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import nbformat
import pytest

from conftest import REPO, SOLUTIONS, TEST_LIMITS, needs_sandbox
from grader.grade import MAX_LANES, GradingConfig, grade_submission
from grader.kernel import sandbox, zygote
from grader.kernel.execute import END, FetchPlan, execute_notebook
from grader.kernel.requests import value
from grader.kernel.sandbox import SandboxMode
from grader.lanes import run_side_by_side

CORES = len(os.sched_getaffinity(0))


# -- the lanes themselves --------------------------------------------------------------------------
def test_results_come_in_the_tasks_order_and_at_most_lanes_run_at_once():
    running, most, lock = [0], [0], threading.Lock()

    def task(i: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05 * (5 - i))  # the first ones finish last
        with lock:
            running[0] -= 1
        return i * i

    assert run_side_by_side([functools.partial(task, i) for i in range(5)], 2) == [0, 1, 4, 9, 16]
    assert most[0] == 2


def test_a_failing_task_raises_after_the_others_have_finished():
    finished = []

    def fails():
        raise ValueError("broken")

    def slow():
        time.sleep(0.3)
        finished.append(True)

    with pytest.raises(ValueError, match="broken"):
        run_side_by_side([fails, slow], 2)
    assert finished == [True]


def test_one_lane_runs_the_tasks_here_one_after_another():
    seen = []
    run_side_by_side([lambda: seen.append(threading.current_thread()) for _ in range(3)], 1)
    assert seen == [threading.main_thread()] * 3


def test_the_lanes_and_each_kernels_threads_share_the_cores_out():
    on = GradingConfig(sandbox=SandboxMode(True, "test"))
    assert on.notebooks_at_once() == max(1, min(MAX_LANES, CORES))
    assert on.kernel_options().threads == max(1, CORES // on.notebooks_at_once())
    assert dataclasses.replace(on, jobs=CORES).notebooks_at_once() == 1  # the cores go to submissions
    assert dataclasses.replace(on, lanes=1).kernel_options().threads == CORES
    assert dataclasses.replace(on, lanes=3).notebooks_at_once() == 3
    # unsandboxed kernels do not die with the grader: one at a time
    assert GradingConfig(sandbox=SandboxMode(False, "test")).notebooks_at_once() == 1
    lanes = dataclasses.replace(on, lanes=2)
    assert GradingConfig.from_dict(lanes.to_dict()).lanes == 2  # a batch worker gets it


# -- kernels side by side --------------------------------------------------------------------------
def _notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def _execute(nb, config, *names: str):
    plan = FetchPlan()
    for name in names:
        plan.add(END, "q", value(name))
    return functools.partial(execute_notebook, nb, plan, limits=TEST_LIMITS, sandbox=config.sandbox)


LEAVE_TRACES_AND_WAIT = textwrap.dedent("""
    import os, subprocess, sys, time
    began = time.time()
    secret = 'side by side'
    open('left-in-home.txt', 'w').write(secret)
    open('/tmp/left-in-tmp', 'w').write(secret)
    open('/dev/shm/left-in-shm', 'w').write(secret)
    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], start_new_session=True)
    time.sleep(8)
    ended = time.time()
    uid = os.getuid()
""")

LOOK_AROUND = textwrap.dedent("""
    import os, time
    time.sleep(1)
    looked = time.time()
    found = [p for p in ('left-in-home.txt', '/tmp/left-in-tmp', '/dev/shm/left-in-shm') if os.path.lexists(p)]
    for pid in filter(str.isdigit, os.listdir('/proc')):  # any process of any uid it can see
        try:
            cmd = open(f'/proc/{pid}/cmdline', 'rb').read()
        except OSError:
            continue
        if b'sleep(600)' in cmd or b'time.sleep(8)' in cmd:
            found.append('process ' + pid)
    uid = os.getuid()
""")


def test_two_kernels_running_at_once_see_nothing_of_each_other(config):
    if not zygote.available(config.sandbox.enabled):
        pytest.skip("warm kernels need the grader as root, in the sandbox")
    # both zygotes started first, so that the two kernels below start together
    run_side_by_side([_execute(_notebook("x = 1"), config, "x")] * 2, 2)
    leaving, looking = run_side_by_side([_execute(_notebook(LEAVE_TRACES_AND_WAIT), config, "began", "ended", "uid"),
                                         _execute(_notebook(LOOK_AROUND), config, "looked", "found", "uid")], 2)
    left, looked = leaving.answers["q"], looking.answers["q"]
    assert left["began"].value < looked["looked"].value < left["ended"].value, "the two did not run at once"
    assert looked["found"].value == []
    assert left["uid"].value != looked["uid"].value
    assert {left["uid"].value, looked["uid"].value} <= set(sandbox.kernel_uids())
    assert not [e for e in leaving.events + looking.events if "cold" in e]


def _folder(tmp_path: Path, names: tuple[str, ...]) -> Path:
    folder = tmp_path / "group"
    folder.mkdir()
    for name in names:
        (folder / f"{name}.ipynb").write_bytes((SOLUTIONS / f"{name}.ipynb").read_bytes())
    return folder


@pytest.mark.skipif(os.geteuid() != 0, reason="lanes need the sandbox")
def test_a_submission_grades_the_same_side_by_side_and_one_at_a_time(config, tmp_path):
    if not config.sandbox.enabled:
        pytest.skip("lanes need the sandbox")
    folder = _folder(tmp_path, ("perceptron", "neurons", "regularizers", "capacity"))
    one = grade_submission(folder, dataclasses.replace(config, lanes=1))
    two = grade_submission(folder, dataclasses.replace(config, lanes=2))
    shown = [(q.id, q.points, q.outcome, q.feedback(), q.metrics, q.figures) for q in one.questions]
    assert shown == [(q.id, q.points, q.outcome, q.feedback(), q.metrics, q.figures) for q in two.questions]
    assert one.notes == two.notes
    graded = [q for q in one.questions if q.id.split(".")[0] in ("perceptron", "neurons", "regularizers", "capacity")]
    assert graded and all(q.points == q.max_points for q in graded), [q.feedback() for q in graded]


GRADER_INTERRUPTED = textwrap.dedent("""
    import dataclasses, sys, warnings
    from pathlib import Path
    from grader.grade import GradingConfig, grade_submission
    from grader.kernel.sandbox import Limits, choose
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        sandbox = choose(require=True)
    config = GradingConfig(sandbox=sandbox, profile='quick', cache_dir=Path(sys.argv[2]), lanes=2,
                           limits=Limits(cell_timeout=600, notebook_timeout=600))
    try:
        grade_submission(Path(sys.argv[1]), config)
    except KeyboardInterrupt:
        print('INTERRUPTED', flush=True)
        sys.exit(130)
""")


@needs_sandbox
@pytest.mark.skipif(os.geteuid() != 0, reason="kernels of their own uid need the grader as root")
def test_ctrl_c_stops_notebooks_running_side_by_side_and_leaves_no_kernel(tmp_path):
    folder = tmp_path / "group"
    folder.mkdir()
    for name in ("perceptron", "neurons"):  # no reference run: the exercises' self-checks only
        nb = _notebook("import subprocess, sys, time\n"
                       "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], start_new_session=True)\n"
                       "time.sleep(600)")
        nbformat.write(nb, folder / f"{name}.ipynb")
    grader = subprocess.Popen([sys.executable, "-c", GRADER_INTERRUPTED, str(folder), str(tmp_path / "cache")],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)},
                              start_new_session=True)
    uids = range(sandbox.KERNEL_UID_BASE + grader.pid * sandbox.UIDS_PER_PROCESS,
                 sandbox.KERNEL_UID_BASE + (grader.pid + 1) * sandbox.UIDS_PER_PROCESS)
    try:
        end = time.monotonic() + 120
        while len(_sleeping_uids(uids)) < 2:  # both notebooks' kernels in their cells
            assert time.monotonic() < end and grader.poll() is None, grader.communicate()
            time.sleep(0.2)
        os.killpg(grader.pid, signal.SIGINT)
        out, err = grader.communicate(timeout=60)  # a loaded CI machine; a hang still fails
    finally:
        if grader.poll() is None:
            os.killpg(grader.pid, signal.SIGKILL)
            grader.wait()
    assert grader.returncode == 130 and "INTERRUPTED" in out, out + err
    end = time.monotonic() + 15
    while time.monotonic() < end and _uid_processes(uids):
        time.sleep(0.1)
    assert _uid_processes(uids) == [], "a kernel of a lane outlived the interrupted grader"


def _uid_processes(uids: range) -> list[tuple[int, int]]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            uid = os.stat(f"/proc/{pid}").st_uid
        except OSError:
            continue
        if uid in uids:
            found.append((int(pid), uid))
    return found


def _sleeping_uids(uids: range) -> set[int]:
    sleeping = set()
    for pid, uid in _uid_processes(uids):
        try:
            if b"sleep(600)" in Path(f"/proc/{pid}/cmdline").read_bytes():
                sleeping.add(uid)
        except OSError:
            pass
    return sleeping
