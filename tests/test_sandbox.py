"""The kernel's sandbox: no network, nothing outside its scratch directory, limits enforced."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace

import nbformat
import numpy as np
import pytest

from conftest import REPO, SOLUTIONS, TEST_LIMITS, needs_sandbox
from grader.kernel.execute import END, FetchPlan, execute_notebook
from grader.kernel.requests import value
from grader.kernel.sandbox import SandboxMode, SandboxUnavailable, choose


def run_cells(sources: list[str], config, fetch: tuple[str, ...] = (), limits=TEST_LIMITS):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    plan = FetchPlan()
    for name in fetch:
        plan.add(END, "q", value(name))
    return execute_notebook(nb, plan, limits=limits, sandbox=config.sandbox)


def cell_error(execution, i=0) -> str:
    c = execution.cells[i]
    return f"{c.status} {c.ename}: {c.evalue}"


@pytest.fixture
def local_server():
    """A TCP server on loopback in the grader's network namespace; records connections."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    srv.settimeout(0.2)
    hits, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                hits.append(1)
                conn.close()
            except OSError:
                pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield srv.getsockname()[1], hits
    stop.set()
    t.join(2)
    srv.close()


@needs_sandbox
def test_network_is_unreachable(config, local_server):
    port, hits = local_server
    ex = run_cells([
        f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)",
        "import socket\nsocket.getaddrinfo('pypi.org', 443)",
    ], config)
    assert ex.cells[0].status == "error" and ex.cells[0].ename in ("ConnectionRefusedError", "OSError")
    assert ex.cells[1].status == "error" and ex.cells[1].ename == "gaierror"
    assert hits == []


@needs_sandbox
def test_solutions_hidden_checks_and_host_files_are_invisible(config, tmp_path):
    secret = tmp_path / "other-submission.txt"
    secret.write_text("secret")
    ex = run_cells([
        f"open({str(REPO / 'solutions' / 'journal2' / 'perceptron.ipynb')!r}).read()",
        f"open({str(REPO / 'hidden' / 'journal2' / 'regularizers.py')!r}).read()",
        f"open({str(secret)!r}).read()",
        "open('/etc/shadow').read()",
    ], config)
    for i in range(4):
        assert ex.cells[i].status == "error", cell_error(ex, i)
        assert ex.cells[i].ename in ("FileNotFoundError", "PermissionError"), cell_error(ex, i)


@needs_sandbox
def test_writes_outside_scratch_fail_and_scratch_is_writable(config, tmp_path):
    target = tmp_path / "planted.txt"
    ex = run_cells([
        f"open({str(target)!r}, 'w').write('x')",
        "open('/usr/planted', 'w').write('x')",
        "open('own-file.txt', 'w').write('fine'); open('/tmp/t', 'w').write('fine')",
        "import numpy; numpy.zeros(10).sum()",
    ], config)
    assert ex.cells[0].status == "error" and ex.cells[1].status == "error"
    assert ex.cells[2].status == "ok" and ex.cells[3].status == "ok"
    assert not target.exists()


@needs_sandbox
def test_memory_limit_stops_a_memory_bomb(config):
    ex = run_cells(["import numpy as np\nx = np.ones(int(8e9 // 8))\nx.sum()", "ok = 1"], config, fetch=("ok",))
    assert ex.cells[0].status in ("error", "died"), cell_error(ex)
    assert ex.answers["q"]["ok"].value == 1


def test_seeds_are_fixed_so_two_runs_agree(config):
    code = "import random, numpy as np\nr = [random.random(), float(np.random.rand()), hash('itmal')]"
    a = run_cells([code], config, fetch=("r",)).answers["q"]["r"].value
    b = run_cells([code], config, fetch=("r",)).answers["q"]["r"].value
    assert a == b


def test_call_and_predict_cross_as_plain_data(config):
    from grader.kernel.requests import Call, Predict

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import numpy as np\n"
        "class Rigged(float):\n    def __eq__(self, o): return True\n"
        "def Omega(w): return Rigged(w[1:] @ w[1:])\n"
        "class Model:\n    def predict(self, X): return (X[:, 0] > 0).astype(int)\n"
        "model = Model()\nweird = object()\n")]
    plan = FetchPlan()
    plan.add(END, "q", Call(key="om", function="Omega", args=(np.array([1.0, 2.0, -3.0]),)))
    plan.add(END, "q", Predict(key="pred", model="model", features=np.array([[1.0], [-1.0]])))
    plan.add(END, "q", value("weird"))
    ans = execute_notebook(nb, plan, limits=TEST_LIMITS, sandbox=config.sandbox).answers["q"]
    # the float subclass with a rigged __eq__ did not cross: only its number did
    assert type(ans["om"].value) in (float, np.ndarray) and np.asarray(ans["om"].value).item() == 13.0
    assert not np.asarray(ans["om"].value) == 14.0
    assert ans["pred"].value.tolist() == [1, 0]
    assert ans["weird"].status == "unsupported"


def test_missing_bubblewrap_warns_loudly_or_fails_when_required(monkeypatch):
    import grader.kernel.sandbox as sb

    monkeypatch.setattr(sb, "find_bwrap", lambda: None)
    sb.probe.cache_clear()
    try:
        with pytest.warns(sb.UnsandboxedWarning, match="WITHOUT A SANDBOX"):
            mode = choose(require=False)
        assert not mode.enabled and "bubblewrap" in mode.reason
        with pytest.raises(SandboxUnavailable, match="require-sandbox"):
            choose(require=True)
    finally:
        sb.probe.cache_clear()


def test_cli_require_sandbox_errors_without_bubblewrap(tmp_path):
    env = {"PATH": "/nonexistent", "HOME": str(tmp_path)}
    handed_in = tmp_path / "handed_in"
    handed_in.mkdir()
    shutil.copy(SOLUTIONS / "perceptron.ipynb", handed_in)  # valid input, so the sandbox probe is what stops it
    done = subprocess.run([sys.executable, "-m", "grader.runners.cli", "grade", str(handed_in), "--out",
                           str(tmp_path / "out"), "--require-sandbox"], capture_output=True, text=True, env=env)
    assert done.returncode == 2 and "require-sandbox" in done.stderr, done.stdout + done.stderr
    assert not (tmp_path / "out" / "gradebook.csv").exists()


def test_output_flood_is_truncated_and_the_kernel_survives(config):
    ex = run_cells(["for _ in range(50):\n    print('x' * 100_000)", "ok = 1"], config, fetch=("ok",))
    text = "".join(o.get("text", "") for o in ex.notebook.cells[0].outputs)
    assert "output of this cell truncated" in text
    assert len(text) <= TEST_LIMITS.output_per_cell + 1000
    assert ex.answers["q"]["ok"].value == 1


def test_input_does_not_hang_the_grader(config):
    ex = run_cells(["name = input('your name? ')", "ok = 1"], config, fetch=("ok",))
    assert ex.cells[0].status == "error" and "Stdin" in ex.cells[0].ename
    assert ex.answers["q"]["ok"].value == 1


def test_keras_runs_under_the_memory_limit_and_is_seeded_identically(config):
    """TensorFlow works inside the sandbox with the memory limit on, and the grader's seeding
    (applied when the notebook imports it) makes training reproducible run to run."""
    code = (
        "import numpy as np, keras\n"
        "X = np.random.rand(64, 4).astype('float32'); y = (X.sum(1) > 2).astype('int32')\n"
        "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation='tanh'),"
        " keras.layers.Dense(2, activation='softmax')])\n"
        "m.compile(optimizer='adam', loss='sparse_categorical_crossentropy')\n"
        "m.fit(X, y, epochs=2, batch_size=16, shuffle=True, verbose=0)\n"
        "w = np.concatenate([v.numpy().ravel() for v in m.weights])\n"
    )
    first = run_cells([code], config, fetch=("w",))
    assert first.cells[0].status == "ok", first.cells[0].traceback
    second = run_cells([code], config, fetch=("w",))
    np.testing.assert_array_equal(first.answers["q"]["w"].value, second.answers["q"]["w"].value)


def test_one_huge_output_message_is_cut_off_and_the_kernel_restarted(config):
    """A 300 MB print arrives as one message; the grader refuses it at the socket (its own
    memory stays bounded), says what happened, and later cells still run and are graded."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ex = run_cells(["s = 'x' * (300 * 2**20)\nprint(s)\ndel s", "ok = 1"], config, fetch=("ok",))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert ex.cells[0].status == "error" and ex.cells[0].ename == "OutputTooLarge"
    assert ex.answers["q"]["ok"].value == 1
    assert grown_mb < 200, f"the grader's memory grew by {grown_mb:.0f} MB"


def test_fork_bomb_is_capped_and_cleaned_up(config):
    """Processes are capped (a cgroup as root, RLIMIT_NPROC otherwise); the sleeping children die
    with the kernel's pid namespace (sandboxed) or its cgroup (unsandboxed, as root)."""
    bomb = ("import os, time\nkids = 0\ntry:\n    for _ in range(5000):\n        if os.fork() == 0:\n"
            "            time.sleep(300)\n            os._exit(0)\n        kids += 1\nfinally:\n    print(kids)\n")
    ex = run_cells([bomb, "ok = 1"], config, fetch=("ok",))
    assert ex.cells[0].status == "error", ex.cells[0].status
    assert ex.cells[0].ename in ("BlockingIOError", "OSError"), ex.cells[0].ename
    # stdout only: Python 3.12+ also warns on stderr about fork() in a multi-threaded process
    printed = "".join(o.get("text", "") for o in ex.notebook.cells[0].outputs if o.get("name") == "stdout")
    assert int(printed.split()[0]) < TEST_LIMITS.processes


def test_an_unsandboxed_kernel_runs_cells_and_answers(config):
    """Where bubblewrap is missing (a Gradescope image, a student's laptop) the kernel runs
    unsandboxed with its sockets in the grader's private folder; the client connects once
    and never retries, so it must find every socket bound before it connects."""
    unsandboxed = SandboxMode(False, "sandbox disabled by option")
    ex = run_cells(["import time\ntime.sleep(0.5)\nanswer = 6 * 7"], replace(config, sandbox=unsandboxed),
                   fetch=("answer",))
    assert ex.cells[0].status == "ok", cell_error(ex)
    assert ex.answers["q"]["answer"].value == 42


def _sandboxes() -> set[int]:
    """Pids of every bubblewrap process on this machine (a sandbox's outer and inner parts)."""
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if os.path.basename(f.read().split(b"\0", 1)[0]) == b"bwrap":
                    found.add(int(pid))
        except OSError:
            pass
    return found


@needs_sandbox
def test_a_kernel_whose_start_fails_half_way_leaves_no_sandbox_behind(config, monkeypatch):
    """bubblewrap runs, then the start fails (its report late or unreadable): the sandbox is
    killed and its cgroup removed as after any kernel. It was left, one process per failure."""
    from grader.kernel import manager

    def late(fd, deadline):
        os.close(fd)
        raise manager.KernelStartFailed("bubblewrap did not start the sandbox in time")

    monkeypatch.setattr(manager, "read_bwrap_info", late)
    before = _sandboxes()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    plan = FetchPlan()
    plan.add(END, "q", value("x"))
    execution = execute_notebook(nb, plan, limits=TEST_LIMITS, sandbox=config.sandbox, warm=False)
    assert execution.answers["q"]["x"].status == "not_run"
    assert "did not start the sandbox in time" in execution.answers["q"]["x"].message
    time.sleep(1.5)  # a sandbox left behind has become bubblewrap by then (it starts as our rlimit prefix)
    assert not _sandboxes() - before
