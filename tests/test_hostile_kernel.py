"""Hostile kernels against the host (issue 11, class 1): nothing the kernel can write is
ever opened by the grader, every mount it can write is a size-limited tmpfs, and as root it
runs as an unprivileged uid without capabilities.

The attacks plant links, FIFOs and files wherever the kernel can write, aimed at files of
the grader's (a canary standing for ~/.bashrc, a secret standing for the solutions), then
kill the kernel so that the grader restarts it; the grade must finish, the canary must be
untouched and the secret must appear in no output.
"""

from __future__ import annotations

import json
import os
import socket
import time

import nbformat
import pytest

from conftest import SOLUTIONS, TEST_LIMITS, by_id, needs_sandbox
from grader.grade import grade_submission
from grader.judge.outcomes import Outcome
from grader.kernel.manager import GraderKernelManager
from grader.outputs.report import write_submission_outputs
from test_sandbox import run_cells

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the kernel drops to its own uid only as root")

# Every mount point the kernel can create a file in, with its type and options.
WRITABLE_MOUNTS = r'''
import os, uuid
writable = []
for line in open("/proc/self/mountinfo"):
    left, right = line.split(" - ", 1)
    point = left.split()[4].replace("\\040", " ")
    fstype, _, options = right.split()[:3]
    probe = os.path.join(point, f".probe-{uuid.uuid4().hex}")
    try:
        with open(probe, "w") as f:
            f.write("x")
        os.remove(probe)
    except OSError:
        continue
    writable.append([point, fstype, options])
'''

PRIVILEGES = r'''
import os
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
privileges = {"uid": os.getuid(), "euid": os.geteuid(), "groups": os.getgroups(),
              "CapEff": status["CapEff"].strip(), "CapPrm": status["CapPrm"].strip(),
              "CapBnd": status["CapBnd"].strip(), "NoNewPrivs": status["NoNewPrivs"].strip()}
try:
    os.setuid(0)
    privileges["regained_root"] = True
except PermissionError:
    privileges["regained_root"] = False
'''


def _planting_cell(canary: str, secret: str) -> str:
    """Links to the canary and the secret, and FIFOs, in place of every file and under every
    name the grader used or might use, in every folder the kernel can write; then the kernel
    kills itself so that the grader restarts it."""
    return f'''
import os, signal
targets = {canary!r}, {secret!r}
names = ["kernel.log", "connection.json", "kernel-1", "kernel-2", "kernel-3", "kernel-4", "kernel-5",
         "passwd", "group", "submission.ipynb", "log"]
folders = set()
for top in ("/", "/tmp", os.path.expanduser("~"), os.getcwd(), "/run", "/dev", "/data"):
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/sys", "/usr")]
        if os.access(root, os.W_OK):
            folders.add(root)
for folder in folders:
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if not os.path.isdir(path) or os.path.islink(path):
            try:
                os.remove(path)
                os.symlink(targets[name == "kernel.log"], path)
            except OSError:
                pass
    for i, name in enumerate(names):
        for kind in ("link", "fifo"):
            path = os.path.join(folder, name if kind == "link" else name + ".fifo")
            try:
                os.symlink(targets[i % 2], path) if kind == "link" else os.mkfifo(path)
            except OSError:
                pass
planted = sorted(folders)
print(planted)
os.kill(os.getpid(), signal.SIGKILL)
'''


@needs_sandbox
def test_every_mount_the_kernel_can_write_is_a_size_limited_tmpfs(config):
    ex = run_cells([WRITABLE_MOUNTS], config, fetch=("writable",))
    writable = ex.answers["q"]["writable"].value
    assert writable, ex.answers["q"]["writable"]
    points = {p for p, _, _ in writable}
    assert {"/tmp", "/home/student", "/dev/shm"} <= points, writable
    for point, fstype, options in writable:
        assert fstype == "tmpfs" and "size=" in options, (point, fstype, options)


@needs_sandbox
@needs_root
def test_as_root_the_kernel_is_an_unprivileged_uid_without_capabilities(config):
    ex = run_cells([PRIVILEGES], config, fetch=("privileges",))
    p = ex.answers["q"]["privileges"].value
    assert p["uid"] != 0 and p["euid"] != 0 and 0 not in p["groups"], p
    assert p["CapEff"] == p["CapPrm"] == p["CapBnd"] == "0000000000000000", p
    assert p["NoNewPrivs"] == "1" and p["regained_root"] is False, p


@needs_sandbox
def test_links_and_fifos_planted_by_a_killed_kernel_are_never_opened(config, tmp_path):
    """The attack of the issue: replace the grader's files with links (append to any file,
    read any file after the restart) and FIFOs (block the worker), then die."""
    canary = tmp_path / "bashrc"
    canary.write_text("# the grader's own file\n")
    before = (canary.read_bytes(), canary.stat().st_mtime_ns)
    secret = tmp_path / "solution-secret.txt"
    marker = "SECRET-MARKER-81c7e"
    secret.write_text(marker + "\n")
    nb = nbformat.read(SOLUTIONS / "regularizers.ipynb", as_version=4)
    qa = max(i for i, c in enumerate(nb.cells) if "regularizers.qa" in c.get("metadata", {}).get("tags", []))
    # the attack is a cell of its own question (qb), so qa's code is the solution's alone
    attack = nbformat.v4.new_code_cell(_planting_cell(str(canary), str(secret)), metadata={"tags": ["regularizers.qb"]})
    nb.cells.insert(qa + 1, attack)
    # after the restart: print what the kernel's stdout and the planted links lead to
    nb.cells.insert(qa + 2, nbformat.v4.new_code_cell(
        "import os\nseen = []\nfor p in ('/proc/self/fd/1', '/proc/self/fd/2'):\n"
        "    try:\n        seen.append(os.read(os.open(p, os.O_RDONLY | os.O_NONBLOCK), 10000))\n"
        "    except OSError as e:\n        seen.append(str(e))\n"
        "raise RuntimeError(repr(seen))\n", metadata={"tags": ["regularizers.qb"]}))
    path = tmp_path / "regularizers.ipynb"
    nbformat.write(nb, path)
    started = time.monotonic()
    result = grade_submission(path, config)
    assert time.monotonic() - started < 120
    q = by_id(result)
    assert all(q[i].outcome is not Outcome.GRADER_ERROR for i in q), [q[i].feedback() for i in q]
    assert q["regularizers.qa"].outcome is Outcome.PASSED, q["regularizers.qa"].feedback()
    assert (canary.read_bytes(), canary.stat().st_mtime_ns) == before
    out = tmp_path / "out"
    write_submission_outputs(result, out, {})
    for f in out.iterdir():
        assert marker not in f.read_text(), f.name
    assert marker not in json.dumps(result.to_dict())


@needs_sandbox
def test_a_kernel_that_fills_its_disks_fills_only_its_own_tmpfs(config, tmp_path):
    before = os.statvfs(tmp_path)
    limits = TEST_LIMITS.__class__(**{**TEST_LIMITS.__dict__, "scratch_tmp": 8 * 2**20, "scratch_home": 8 * 2**20})
    ex = run_cells([
        "import os\nfull = []\nfor d in ('/tmp', os.path.expanduser('~')):\n"
        "    try:\n        with open(os.path.join(d, 'fill'), 'wb') as f:\n"
        "            for _ in range(64):\n                f.write(b'x' * 2**20)\n"
        "    except OSError as e:\n        full.append(e.errno)\n"], config, fetch=("full",), limits=limits)
    assert ex.answers["q"]["full"].value == [28, 28], ex.answers["q"]["full"]  # ENOSPC in both
    after = os.statvfs(tmp_path)
    assert (before.f_bfree - after.f_bfree) * before.f_frsize < 8 * 2**20


def test_a_socket_path_is_checked_without_following_links(tmp_path):
    """The check before connecting: a link to a real socket, a FIFO, a file or a folder is
    refused; only a socket itself is accepted."""
    km = GraderKernelManager.__new__(GraderKernelManager)
    km.uid = None
    real = socket.socket(socket.AF_UNIX)
    real.bind(str(tmp_path / "real"))
    os.symlink(tmp_path / "real", tmp_path / "link")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "file").write_text("x")
    try:
        states = {name: GraderKernelManager._socket_state(km, str(tmp_path / name))
                  for name in ("real", "link", "fifo", "file", "absent")}
    finally:
        real.close()
    assert states == {"real": "ok", "link": "not a socket", "fifo": "not a socket", "file": "not a socket",
                      "absent": "absent"}
    km.uid = os.geteuid() + 1
    assert GraderKernelManager._socket_state(km, str(tmp_path / "real")) == "owned by another user"
