"""Issue 16: kernels forked from a zygote that imported the course stack once, inside the
sandbox. A forked kernel starts seeded and deterministic, sees nothing of the previous
notebook, dies with its zygote, and leaves no process behind when the grader is killed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from conftest import REPO, SOLUTIONS, TEST_LIMITS, needs_sandbox
from grader.grade import grade_submission
from grader.kernel import zygote
from grader.kernel.execute import END, FetchPlan, execute_notebook
from grader.kernel.manager import GraderKernelManager
from grader.kernel.requests import value
from grader.kernel import sandbox
from grader.kernel.sandbox import SANDBOX_HOME, KernelOptions, kernel_environment
from grader.kernel.manager import SEED

pytestmark = [needs_sandbox, pytest.mark.skipif(os.geteuid() != 0, reason="warm kernels need the grader as root")]


def run(sources: list[str], config, fetch: tuple[str, ...] = (), warm: bool = True):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    plan = FetchPlan()
    for name in fetch:
        plan.add(END, "q", value(name))
    return execute_notebook(nb, plan, limits=TEST_LIMITS, sandbox=config.sandbox, warm=warm)


def outputs(execution) -> list[str]:
    return ["".join(o.get("text", "") for o in c.outputs if o.get("output_type") == "stream")
            for c in execution.notebook.cells]


def test_warm_kernels_are_available_here_and_used(config):
    assert zygote.available(config.sandbox.enabled)
    execution = run(["import sys\nprint('numpy' in sys.modules, 'sklearn.linear_model' in sys.modules)"], config)
    assert outputs(execution) == ["True True\n"], execution.events  # the zygote's imports, before any cell
    assert not [e for e in execution.events if "cold" in e]


SEEDED = ("import random, numpy as np\nfrom sklearn.model_selection import train_test_split\n"
          "a = [random.random(), float(np.random.rand()), hash('itmal') % 1000]\n"
          "b = [int(i) for i in train_test_split(list(range(20)), shuffle=True)[0][:5]]\n")


def test_a_forked_kernel_starts_seeded_and_gives_what_a_cold_one_gives(config):
    cold = run([SEEDED], config, fetch=("a", "b"), warm=False).answers["q"]
    first = run([SEEDED], config, fetch=("a", "b")).answers["q"]
    second = run([SEEDED], config, fetch=("a", "b")).answers["q"]
    assert cold["a"].status == "ok"
    for key in ("a", "b"):
        assert first[key].value == second[key].value == cold[key].value


TENSORFLOW_FIRST_CELL = "import random, sys\npreloaded = 'tensorflow' in sys.modules\nbefore = random.random()\n"
TENSORFLOW = textwrap.dedent("""
    import numpy as np
    import keras  # first: it imports TensorFlow, and draws on random as it loads (rich)
    import tensorflow as tf
    after = [random.random(), float(np.random.rand())]
    draw = float(tf.random.uniform([1])[0])
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    X = np.random.rand(64, 2)
    model.fit(X, X.sum(axis=1), epochs=3, batch_size=16, verbose=0)
    weights = [w.tolist() for w in model.get_weights()]
    loss = float(model.evaluate(X, X.sum(axis=1), verbose=0))
""")
TENSORFLOW_ANSWERS = ("before", "after", "draw", "weights", "loss")


def test_a_kernel_forked_with_tensorflow_loaded_trains_as_a_cold_one(config):
    # the zygote loads TensorFlow once a notebook asks for it; the kernel forked after that
    # must seed it and keep random as a cold kernel that imports it itself does
    fetch = ("preloaded", *TENSORFLOW_ANSWERS)
    cold = run([TENSORFLOW_FIRST_CELL, TENSORFLOW], config, fetch=fetch, warm=False).answers["q"]
    warm = [run([TENSORFLOW_FIRST_CELL, TENSORFLOW], config, fetch=fetch).answers["q"] for _ in range(2)]
    assert cold["preloaded"].value is False and all(w["preloaded"].value is True for w in warm)
    for key in TENSORFLOW_ANSWERS:
        assert cold[key].status == "ok", cold[key]
        assert warm[0][key].value == warm[1][key].value == cold[key].value, key


def test_a_module_that_leaves_the_zygote_threaded_is_not_preloaded_again(config, monkeypatch):
    # TensorFlow starts no thread as it loads here (a real one that does cannot run here, so
    # the zygote's count is altered): where it does, the zygote cannot fork safely. That zygote
    # is replaced, this notebook starts cold, and later kernels import TensorFlow themselves.
    zygote.stop_all()
    real_receive = zygote.Zygote._receive

    def threaded(self, timeout):
        message, creds = real_receive(self, timeout)
        return ({**message, "threads": 3} if message.get("op") == "preloaded" else message), creds

    monkeypatch.setattr(zygote.Zygote, "_receive", threaded)
    monkeypatch.setattr(zygote, "_SPOILS_FORKS", set())
    runs = [run([TENSORFLOW_FIRST_CELL, TENSORFLOW], config, fetch=("preloaded", "loss")) for _ in range(2)]
    zygote.stop_all()
    assert zygote._SPOILS_FORKS == set(zygote.ON_DEMAND)
    assert [r.answers["q"]["preloaded"].value for r in runs] == [False, False]
    assert runs[0].answers["q"]["loss"].value == runs[1].answers["q"]["loss"].value


def test_importing_keras_leaves_random_as_it_was(config):
    # a cold kernel imports Keras itself; a forked one may have had it before the seeds. Keras
    # draws on random as it loads rich (loaded already here, so unloaded first to show it)
    cell = ("import random, sys\n"
            "for m in [m for m in sys.modules if m == 'rich' or m.startswith('rich.')]:\n    del sys.modules[m]\n"
            "state = random.getstate()\nimport keras\nsame = random.getstate() == state\n"
            "drew = 'rich' in sys.modules\n")
    got = run([cell], config, fetch=("same", "drew"), warm=False).answers["q"]
    assert got["drew"].value is True and got["same"].value is True


PLANT = textwrap.dedent("""
    import os
    evil = "open('/tmp/.itmal-zygote/planted', 'w').write('ran')\\nraise SystemExit"
    for folder in (os.getcwd(), '/tmp', '/dev/shm'):
        for name in ('tensorflow.py', 'keras.py', 'sitecustomize.py'):
            try:
                open(os.path.join(folder, name), 'w').write(evil)
            except OSError:
                pass
""")


def test_modules_a_kernel_left_are_not_what_the_zygote_loads_later(config):
    zygote.stop_all()  # a fresh zygote, without TensorFlow yet
    run([PLANT], config)
    after = run(["import os, tensorflow as tf\nreal = hasattr(tf, 'constant')\n"
                 "planted = os.path.exists('/tmp/.itmal-zygote/planted')\n"
                 "left = [n for n in os.listdir('.') if n.endswith('.py')]"], config, fetch=("real", "planted", "left"))
    got = after.answers["q"]
    assert got["real"].value is True and got["planted"].value is False and got["left"].value == []


def test_notebooks_that_import_tensorflow_are_recognised():
    assert zygote.wanted_by(["x = 1", "from tensorflow import keras"]) == zygote.ON_DEMAND
    assert zygote.wanted_by(["  import keras.layers as L"]) == zygote.ON_DEMAND
    assert zygote.wanted_by(["import numpy as np  # no tensorflow here", "'import tensorflow'"]) == ()


LEAVE_TRACES = textwrap.dedent("""
    import os, subprocess, sys, numpy as np
    secret = 'from the previous notebook'
    np.mean = lambda *a, **k: 42  # a preloaded module changed in place
    sys.modules['sklearn'].planted = True
    open('left-in-home.txt', 'w').write(secret)
    open('/tmp/left-in-tmp', 'w').write(secret)
    open('/dev/shm/left-in-shm', 'w').write(secret)
    os.makedirs('folder/inside', exist_ok=True)
    os.symlink('/etc/passwd', 'folder/inside/link')
    # SysV shared memory and a POSIX message queue outlive their process (not their IPC namespace)
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.shmget(4242, 4096, 0o1666) >= 0
    librt = ctypes.CDLL('librt.so.1', use_errno=True)
    assert librt.mq_open(b'/itmal-left', 0o100 | 0o2, 0o666, None) >= 0
    # a daemon that outlives its kernel: a new session, double-forked
    subprocess.Popen([sys.executable, '-c', 'import os, time\\nif os.fork(): os._exit(0)\\ntime.sleep(600)'],
                     start_new_session=True)
""")

LOOK_FOR_TRACES = textwrap.dedent("""
    import os, numpy as np, sklearn
    found = []
    if 'secret' in globals(): found.append('variable')
    if np.mean([1, 3]) != 2: found.append('patched numpy')
    if hasattr(sklearn, 'planted'): found.append('patched sklearn')
    for path in ('left-in-home.txt', 'folder', '/tmp/left-in-tmp', '/dev/shm/left-in-shm'):
        if os.path.lexists(path): found.append(path)
    import ctypes
    if ctypes.CDLL(None).shmget(4242, 0, 0) >= 0: found.append('shared memory segment')
    if ctypes.CDLL('librt.so.1').mq_open(b'/itmal-left', 0o2) >= 0: found.append('message queue')
    mine = os.getuid()
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            if os.stat(f'/proc/{pid}').st_uid == mine and int(pid) != os.getpid():
                cmd = open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\\0', b' ').decode()
                if 'sleep(600)' in cmd: found.append('daemon ' + pid)
        except OSError:
            pass
""")


def test_a_forked_kernel_sees_nothing_of_the_previous_notebook(config):
    first = run([LEAVE_TRACES], config)
    assert first.cells[0].status == "ok", first.cells[0].evalue
    second = run([LOOK_FOR_TRACES], config, fetch=("found",))
    assert second.answers["q"]["found"].value == []


# The kernel keyrings: kept per uid by Linux, outliving every process of it (add_key and
# keyctl, x86_64 syscall numbers; KEY_SPEC_USER_KEYRING = -4; KEYCTL_SEARCH = 10).
KEYRING = textwrap.dedent("""
    import ctypes, os, pwd
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    def leave():
        return libc.syscall(248, b'user', b'itmal-left', b'secret', 6, ctypes.c_long(-4))
    def look():
        return libc.syscall(250, 10, ctypes.c_long(-4), b'user', b'itmal-left', 0)
    uid, user = os.getuid(), pwd.getpwuid(os.getuid()).pw_name
""")


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the keyring syscalls' numbers are x86_64's")
def test_each_kernel_has_a_uid_of_its_own_so_nothing_kept_per_uid_reaches_the_next(config):
    first = run([KEYRING + "left = leave()"], config, fetch=("uid", "user", "left")).answers["q"]
    assert first["left"].value > 0, "the kernel could not use its keyring: this test shows nothing here"
    second = run([KEYRING + "found = look()"], config, fetch=("uid", "user", "found")).answers["q"]
    assert second["found"].value == -1  # the first kernel's key is not in this one's keyring
    assert first["uid"].value != second["uid"].value
    assert {first["uid"].value, second["uid"].value} <= set(sandbox.kernel_uids())
    assert first["user"].value == second["user"].value == "student"  # /etc/passwd names each kernel's uid
    cold = run([KEYRING + "found = look()"], config, fetch=("uid", "found"), warm=False).answers["q"]
    assert cold["found"].value == -1 and cold["uid"].value not in (first["uid"].value, second["uid"].value)


def test_kernel_uids_are_new_for_every_kernel_and_stay_unprivileged():
    uids = sandbox.kernel_uids()
    taken = [sandbox.new_kernel_uid() for _ in range(5)]
    assert len(set(taken)) == 5 and all(u in uids for u in taken)
    assert min(uids) > 65535 and max(uids) < 2**31  # above any system or user account, a valid uid_t
    assert sandbox.KERNEL_UID_BASE + (2**22) * sandbox.UIDS_PER_PROCESS < 2**31  # for Linux's largest pid


def _start_forked(config) -> tuple[zygote.Zygote, GraderKernelManager, asyncio.AbstractEventLoop, Path]:
    options = KernelOptions(profile="quick")
    z = zygote.Zygote(TEST_LIMITS, options, {}, kernel_environment(Path(SANDBOX_HOME), SEED, True, options))
    z.start()
    folder = Path(z.folder)
    km = GraderKernelManager(scratch=folder / "scratch", private=folder / "private", limits=TEST_LIMITS,
                             sandbox=config.sandbox, options=options, zygote=z)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(km.start())
    return z, km, loop, folder


def _gone(pid: int, within: float = 15.0) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_forked_kernel_is_killed_with_its_zygote(config):
    z, km, loop, _ = _start_forked(config)
    try:
        kernel = km.provisioner.process
        assert isinstance(kernel, zygote.ForkedKernel) and kernel.poll() is None
        os.kill(z.proc.pid, signal.SIGKILL)  # bubblewrap: the sandbox and the zygote in it
        assert _gone(kernel.pid), "the forked kernel outlived its zygote"
    finally:
        z.stop()
        loop.close()


GRADER_KILLED = textwrap.dedent("""
    import os, sys, threading, time, warnings
    import nbformat
    from grader.kernel.execute import FetchPlan, execute_notebook
    from grader.kernel.sandbox import Limits, choose
    from grader.kernel.sandbox import kernel_uids
    uids = kernel_uids()

    def announce():
        while True:
            for pid in filter(str.isdigit, os.listdir('/proc')):
                try:
                    uid = os.stat(f'/proc/{pid}').st_uid
                    if uid in uids and b'sleep' in open(f'/proc/{pid}/cmdline', 'rb').read():
                        print('KERNEL RUNNING', uid, flush=True)
                        return
                except OSError:
                    pass
            time.sleep(0.1)

    threading.Thread(target=announce, daemon=True).start()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import subprocess, sys, time\\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], start_new_session=True)\\n"
        "time.sleep(600)")]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        sandbox = choose(require=True)
    execute_notebook(nb, FetchPlan(), limits=Limits(cell_timeout=600, notebook_timeout=600), sandbox=sandbox)
""")


def _processes_of(uid: int) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                found.append(int(pid))
        except OSError:
            pass
    return found


def test_a_sigkill_of_the_grader_leaves_no_kernel_or_zygote_behind():
    grader = subprocess.Popen([sys.executable, "-c", GRADER_KILLED], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        line = grader.stdout.readline()
        assert line.startswith("KERNEL RUNNING"), line + grader.stderr.read()
        uid = int(line.split()[2])
        assert _processes_of(uid)
        zygotes = [p for p in _descendants(grader.pid) if _cmdline(p).startswith(f"{sys.executable} -c ")
                   and "zygote" in _cmdline(p)]
        assert zygotes, "no zygote was running under the grader"
    finally:
        grader.kill()
        grader.wait()
    end = time.monotonic() + 15
    while time.monotonic() < end and (_processes_of(uid) or [p for p in zygotes if not _gone(p, 0.1)]):
        time.sleep(0.1)
    assert _processes_of(uid) == [], "the kernel's processes outlived the grader"
    assert all(_gone(p, 0.1) for p in zygotes), "the zygote outlived the grader"


def _descendants(root: int) -> list[int]:
    parents = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            parents[int(pid)] = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            pass
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found += children
        frontier += children
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_a_solution_grades_the_same_with_warm_and_cold_kernels(config, tmp_path):
    import dataclasses

    for name in ("perceptron", "neurons"):
        path = tmp_path / f"{name}.ipynb"
        path.write_bytes((SOLUTIONS / f"{name}.ipynb").read_bytes())
        warm = grade_submission(path, config)
        cold = grade_submission(path, dataclasses.replace(config, warm_kernels=False))
        assert [(q.id, q.points, q.outcome, q.feedback()) for q in warm.questions] == \
               [(q.id, q.points, q.outcome, q.feedback()) for q in cold.questions]
        assert all(q.points == q.max_points for q in warm.questions), [q.feedback() for q in warm.questions]


def test_the_mlp_exercises_grade_the_same_with_tensorflow_preloaded_and_cold(config, tmp_path):
    # issue 16: TensorFlow is preloaded only if the MLP exercises grade identically with it and
    # without: points, messages, the metrics measured and the figures drawn (training curves)
    import dataclasses

    measured = []
    for name in ("mlp_moon", "mlp_mnist"):
        path = tmp_path / f"{name}.ipynb"
        path.write_bytes((SOLUTIONS / f"{name}.ipynb").read_bytes())
        warm = grade_submission(path, config)
        assert any(z.preloaded >= set(zygote.ON_DEMAND) for zs in zygote._POOL.values() for z in zs)  # warm had TensorFlow
        cold = grade_submission(path, dataclasses.replace(config, warm_kernels=False))
        assert [(q.id, q.points, q.outcome, q.feedback(), q.metrics, q.figures) for q in warm.questions] == \
               [(q.id, q.points, q.outcome, q.feedback(), q.metrics, q.figures) for q in cold.questions]
        measured += [bool(q.figures or q.metrics) for q in warm.questions]
    assert any(measured)  # the comparison saw numbers or figures, not only verdicts


def test_a_zygote_that_cannot_fork_leaves_the_kernel_to_start_cold(config, monkeypatch):
    def broken(self, argv, stdout_fd, uid):
        raise zygote.ZygoteFailed("the zygote did not fork a kernel")  # as a broken zygote answers

    monkeypatch.setattr(zygote.Zygote, "fork_kernel", broken)
    execution = run(["import os\nprint(os.getcwd())"], config)
    assert execution.cells[0].status == "ok" and outputs(execution) == [f"{SANDBOX_HOME}\n"]
    assert not [e for e in execution.events if "grader error" in e]


def test_a_zygote_that_cannot_be_launched_leaves_nothing_and_the_kernel_starts_cold(config, monkeypatch, caplog):
    """The zygote's process cannot be made (out of descriptors or processes): its folder and
    cgroup go, and this notebook's kernel starts cold, as for any zygote that fails."""
    import tempfile
    launch = subprocess.Popen

    def refused(cmd, *args, **kwargs):
        if zygote.ZYGOTE_CODE in cmd:
            raise OSError(24, "Too many open files")
        return launch(cmd, *args, **kwargs)

    zygote.stop_all()
    monkeypatch.setattr(zygote, "LAST_FAILURE", [])
    folders = set(Path(tempfile.gettempdir()).glob("itmal-zygote-*"))
    monkeypatch.setattr(subprocess, "Popen", refused)
    execution = run(["x = 41 + 1"], config, fetch=("x",))
    assert execution.answers["q"]["x"].value == 42
    assert not [e for e in execution.events if "grader error" in e]
    assert "Too many open files" in zygote.LAST_FAILURE[0]
    said = [r.getMessage() for r in caplog.records if "warm kernels unavailable" in r.getMessage()]
    assert len(said) == 1 and "Too many open files" in said[0]
    run(["x = 1"], config)  # the same failure again: not said again
    assert len([r for r in caplog.records if "warm kernels unavailable" in r.getMessage()]) == 1
    assert set(Path(tempfile.gettempdir()).glob("itmal-zygote-*")) == folders


def test_each_kernel_gets_its_share_of_the_cores(config):
    from dataclasses import replace

    options = replace(config, jobs=10_000).kernel_options()
    assert options.threads == 1
    cores = len(os.sched_getaffinity(0))
    assert replace(config, jobs=1, lanes=1).kernel_options().threads == cores
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import sys\n"  # loaded by the kernel's start, not a course package
                                          "info = sys.modules['threadpoolctl'].threadpool_info()\n"
                                          "blas = [p['num_threads'] for p in info]")]
    plan = FetchPlan()
    plan.add(END, "q", value("blas"))
    for threads in (1, 2):
        got = execute_notebook(nb, plan, limits=TEST_LIMITS, sandbox=config.sandbox,
                               options=KernelOptions(profile="quick", threads=threads)).answers["q"]["blas"]
        assert got.value and set(got.value) == {min(threads, cores)}, got


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_kernels_one_after_another_leave_no_file_descriptor_of_theirs_open(config):
    """One grading process may run thousands of notebooks: every descriptor of a kernel (its
    pidfd, its sockets and pipes) closes with it. A pidfd per warm kernel stayed open, and after
    about a thousand notebooks every kernel start failed."""
    run(["x = 1"], config)
    run(["x = 1"], config, warm=False)
    before = _open_descriptors()
    for warm in (True, False, True, True, False, True):
        assert run(["x = 1"], config, warm=warm).cells[0].status == "ok"
    deadline = time.monotonic() + 5  # a kernel's output pipe closes in its reader thread, at EOF
    while _open_descriptors() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _open_descriptors() <= before


@pytest.fixture
def descriptors_above_1024():
    """Every new descriptor of this process numbered above 1024, where select() fails."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"this machine allows {hard} open files, fewer than the test needs")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard if soft == resource.RLIM_INFINITY else max(soft, 1200), hard))
    held = []
    try:
        while not held or held[-1] < 1030:
            held.append(os.open(os.devnull, os.O_RDONLY))
        yield
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_kernels_start_and_grade_while_the_grader_holds_over_1024_files(config, descriptors_above_1024):
    """An instructor's Jupyter server or a long batch may hold that many: the zygote's socket,
    a kernel's pidfd and bubblewrap's info pipe then get numbers select() cannot wait on."""
    zygote.stop_all()  # the next warm kernel's zygote starts now, its socket above 1024 too
    for warm in (True, False):
        execution = run(["x = 41 + 1"], config, fetch=("x",), warm=warm)
        assert execution.answers["q"]["x"].value == 42, execution.events
        assert not [e for e in execution.events if "cold" in e] or not warm, execution.events
