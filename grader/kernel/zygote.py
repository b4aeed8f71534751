"""Warm kernels: a zygote inside the sandbox imports the course stack once; each notebook's
kernel is forked from it (issue 16).

One zygote per grading process, kept while the process grades (a batch worker keeps it
across submissions) and started again whenever its sandbox's settings change. It lives in an
ordinary sandbox (`sandbox.bwrap_prefix`), inside the kernel's cgroup and rlimits, and dies
with it: bubblewrap dies with the grader, and every process in the sandbox dies with
bubblewrap. Each forked kernel drops to a uid of its own (`sandbox.new_kernel_uid`) before
any student code exists in it; between kernels the zygote kills every process of that uid and
empties what a kernel can write (zygote_main.py), so nothing of one notebook reaches the next,
and the grader starts each kernel seeded as before (STARTUP_CODE).

Only where the sandbox runs as root (the instructor's machines, CI, Gradescope): there the
kernel has a uid of its own for the zygote to clean up after. Elsewhere kernels start cold.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from jupyter_client.provisioning import LocalProvisioner

from grader.kernel import cgroups
from grader.kernel.fdwait import readable
from grader.kernel.sandbox import (SANDBOX_CONNECTION, SANDBOX_HOME, KernelOptions, Limits, bwrap_prefix,
                                   identity_files, kernel_uids, new_kernel_uid, rlimit_prefix)

# What a course notebook imports. Every kernel, warm or cold, has them imported before it is
# seeded (STARTUP_CODE), since some draw on `random` as they load (sklearn.model_selection):
# a grade must not depend on how its kernel started. Not TensorFlow: seconds, and most
# notebooks never import it (the zygote loads it on demand, below). Not matplotlib's inline
# backend: it hooks into the IPython shell it finds at import, which only the forked kernel has.
COURSE_MODULES = ("numpy", "scipy", "scipy.stats", "pandas", "matplotlib", "matplotlib.pyplot", "sklearn",
                  "sklearn.base", "sklearn.linear_model", "sklearn.model_selection", "sklearn.datasets",
                  "sklearn.metrics", "sklearn.preprocessing", "sklearn.pipeline", "sklearn.decomposition",
                  "sklearn.naive_bayes", "sklearn.neural_network", "sklearn.svm", "sklearn.neighbors",
                  "sklearn.tree", "sklearn.ensemble", "seaborn")
# ... and the kernel's own modules, for the zygote (the debugger's: debugpy, which every kernel
# imports as it starts; importing it starts no thread).
PRELOAD = (*COURSE_MODULES, "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
           "ipykernel.eventloops", "ipykernel.debugger")
# ... and, once a notebook asks for them (`wanted_by`), TensorFlow and Keras: importing them
# with BLAS at one thread starts no thread (the zygote checks: a fork keeps only the forking
# thread), and the kernels seed them and keep `random` as if they had imported them themselves
# (STARTUP_CODE), so a grade does not depend on which kernel did.
ON_DEMAND = ("tensorflow", "keras")
_IMPORTS_ON_DEMAND = re.compile(r"^[ \t]*(?:import|from)[ \t]+(?:tensorflow|keras)\b", re.MULTILINE)
_SPOILS_FORKS: set[str] = set()  # of those, what left a zygote threaded here: never asked for again
ZYGOTE_CODE = Path(__file__).with_name("zygote_main.py").read_text(encoding="utf-8")
# The kernels' connection files: the grader writes them into its own folder, bound read-only here.
SANDBOX_RUN = str(Path(SANDBOX_CONNECTION).parent)
START_TIMEOUT = 120.0  # seconds for the zygote's imports (a loaded machine)
REPLY_TIMEOUT = 30.0
MAX_REPLY = 65536
_UCRED = struct.Struct("iII")  # pid, uid, gid


def wanted_by(sources: list[str]) -> tuple[str, ...]:
    """The modules to load on demand before a notebook with these cells starts. Only a guess
    from the text (a kernel imports what the zygote lacks itself): it makes no difference to
    a grade, only to how long a TensorFlow notebook's first import takes."""
    return ON_DEMAND if any(_IMPORTS_ON_DEMAND.search(s) for s in sources) else ()


class ZygoteFailed(RuntimeError):
    """The zygote could not start or answer; the kernel then starts cold."""


def available(sandboxed: bool) -> bool:
    """Warm kernels need the sandbox, run as root (a uid of the kernel's own), on Linux."""
    return sandboxed and kernel_uids() is not None and hasattr(os, "pidfd_open")


class ForkedKernel:
    """A kernel forked by the zygote, as jupyter_client's provisioner sees a process (Popen's
    poll, wait, send_signal, kill). It is the zygote's child, not ours: its exit is seen
    through a pidfd, its exit status comes from the zygote."""

    stdin = stdout = stderr = None

    def __init__(self, zygote: "Zygote", ns_pid: int, pid: int, pidfd: int):
        self.zygote = zygote
        self.ns_pid = ns_pid
        self.pid = pid  # as the grader's pid namespace sees it
        self.pidfd = pidfd
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and self.pidfd >= 0:
            if readable(self.pidfd, 0):
                self.returncode = self.zygote.exit_code(self.ns_pid)
                self.close()  # the kernel has exited: its pidfd is done with
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired("kernel", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None and self.pidfd >= 0:
            try:
                signal.pidfd_send_signal(self.pidfd, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def close(self) -> None:
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1


class ZygoteProvisioner(LocalProvisioner):
    """jupyter_client's hook for a custom kernel start: the connection file and the command
    line as LocalProvisioner makes them, the process forked by the zygote."""

    forked: ForkedKernel | None = None  # kept: LocalProvisioner.wait() drops self.process

    async def launch_kernel(self, cmd: list[str], **kwargs):
        zygote = self.parent.zygote
        self.process = self.forked = zygote.fork_kernel(cmd, kwargs["stdout"], self.parent.uid)
        self.pid = self.pgid = self.process.pid  # the kernel leads a session of its own
        return self.connection_info

    async def cleanup(self, restart: bool = False) -> None:
        if self.forked is not None:
            self.forked.close()
        await super().cleanup(restart=restart)


class Zygote:
    def __init__(self, limits: Limits, options: KernelOptions, support_files: dict[str, Path],
                 environment: dict[str, str]):
        self.limits = limits
        self.options = options
        self.support_files = support_files
        self.environment = environment
        self.uid = new_kernel_uid()  # in the identity files until the first fork names its kernel's
        self.lock = threading.Lock()
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.cgroup: cgroups.KernelCgroup | None = None
        self.sandbox_pid = 0
        self.folder: Path | None = None
        self.codes: dict[int, int] = {}  # exit statuses the zygote reported while cleaning up
        self.ready: dict = {}
        self.preloaded: set[str] = set()  # modules asked for on demand (loaded or failed)
        self.log = None
        self.held = False  # by one notebook's run at a time
        self.failure = ""

    # -- life ----------------------------------------------------------------------------
    def start(self) -> None:
        from grader.kernel.execute import _readable, copy_support_files
        from grader.kernel.manager import _OutputTail, read_bwrap_info

        self.folder = Path(tempfile.mkdtemp(prefix="itmal-zygote-"))
        scratch, private = self.folder / "scratch", self.folder / "private"
        scratch.mkdir()
        private.mkdir(mode=0o700)
        (private / "run").mkdir(mode=0o755)
        copy_support_files(self.support_files, scratch)
        _readable(scratch)
        self._write_identity(self.uid)
        self.cgroup = cgroups.create(self.limits.processes, self.limits.memory_total)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        out_read, out_write = os.pipe()
        self.log = _OutputTail(out_read)
        info_read, info_write = os.pipe()
        cmd = (rlimit_prefix(self.limits, self.cgroup.procs_files if self.cgroup else [])
               + bwrap_prefix(scratch, private, self.limits, self.options, info_fd=info_write, uid=self.uid,
                              run_folder=private / "run")
               + [sys.executable, "-c", ZYGOTE_CODE, str(theirs.fileno()), SANDBOX_HOME, json.dumps(PRELOAD)])
        self.sock = ours
        try:
            try:
                self.proc = subprocess.Popen(cmd, env=self.environment, cwd=scratch, stdin=subprocess.DEVNULL,
                                             stdout=out_write, stderr=out_write, start_new_session=True,
                                             pass_fds=(theirs.fileno(), info_write))
            except BaseException:
                os.close(info_read)
                raise
            finally:
                for fd in (out_write, info_write):
                    os.close(fd)
                theirs.close()
            info = read_bwrap_info(info_read, time.monotonic() + START_TIMEOUT)
            pid = info.get("child-pid")
            if type(pid) is not int or pid <= 1:
                raise ZygoteFailed("bubblewrap did not report the sandbox's pid")
            self.sandbox_pid = pid
            self.ready = self._receive(START_TIMEOUT)[0]
            if self.ready.get("op") != "ready":
                raise ZygoteFailed(f"the zygote did not start: {self.ready}")
            self.preloaded = set()
        except Exception as exc:
            log = self.log.text() if self.log else ""
            self.stop()
            raise ZygoteFailed(f"{exc}; zygote log: {log or '(empty)'}") from None

    def ensure_running(self) -> bool:
        """Started again if it died or was stopped (a kernel it could not clean up after);
        False, with `failure` said, when it cannot start."""
        if self.alive():
            return True
        self.stop()
        try:
            self.start()
        except ZygoteFailed as exc:
            self.failure = str(exc)
            return False
        return True

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # bubblewrap's group: the whole sandbox
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
            self.proc = None
        if self.cgroup is not None:
            self.cgroup.destroy()
            self.cgroup = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    # -- requests ------------------------------------------------------------------------
    def _receive(self, timeout: float) -> tuple[dict, tuple[int, int, int] | None]:
        """One message and its sender's credentials (pid as the grader sees it, uid, gid)."""
        assert self.sock is not None
        if not readable(self.sock, timeout):
            raise ZygoteFailed("the zygote did not answer in time")
        data, ancdata, _, _ = self.sock.recvmsg(MAX_REPLY, socket.CMSG_SPACE(_UCRED.size))
        if not data:
            raise ZygoteFailed("the zygote is gone")
        creds = None
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(payload) >= _UCRED.size:
                creds = _UCRED.unpack(payload[:_UCRED.size])
        try:
            message = json.loads(data)
        except ValueError:
            raise ZygoteFailed("the zygote's message was unreadable") from None
        if not isinstance(message, dict):
            raise ZygoteFailed("the zygote's message was unreadable")
        return message, creds

    def _send(self, message: dict, fds: tuple[int, ...] = ()) -> None:
        assert self.sock is not None
        data = json.dumps(message).encode()
        if fds:
            socket.send_fds(self.sock, [data], list(fds))
        else:
            self.sock.send(data)

    def _write_identity(self, uid: int) -> None:
        """/etc/passwd and /etc/group naming `uid`: rewritten in place, so the sandbox's bind
        of each file shows the new text (the grader's own folder; the kernel cannot write it)."""
        assert self.folder is not None
        for name, text in identity_files(uid).items():
            path = self.folder / "private" / name
            path.write_text(text)
            os.chmod(path, 0o644)

    def preload(self, modules: tuple[str, ...]) -> None:
        """Import `modules` into the zygote for every later kernel, between two kernels (the
        zygote first kills what is left of the last one and wipes what it wrote)."""
        wanted = [m for m in modules if m not in self.preloaded and m not in _SPOILS_FORKS]
        if not wanted:
            return
        with self.lock:
            if not self.alive():
                raise ZygoteFailed("the zygote is not running")
            self._send({"op": "preload", "modules": wanted})
            message, _ = self._receive(START_TIMEOUT)
            if message.get("op") != "preloaded":
                raise ZygoteFailed(f"the zygote did not preload {', '.join(wanted)}: {message.get('message', message)}")
            self.preloaded.update(wanted)  # a module that failed is the kernel's to import
            if message.get("threads") != 1:  # this zygote is spoilt; the next one does without
                _SPOILS_FORKS.update(wanted)
                raise ZygoteFailed(f"importing {', '.join(wanted)} started threads in the zygote: it cannot fork")

    def fork_kernel(self, argv: list[str], stdout_fd: int, uid: int) -> ForkedKernel:
        """A kernel forked to run as `uid` (sandbox.new_kernel_uid)."""
        with self.lock:
            if not self.alive():
                raise ZygoteFailed("the zygote is not running")
            self._write_identity(uid)
            self._send({"op": "fork", "argv": argv, "uid": uid}, (stdout_fd,))
            message, creds = self._receive(REPLY_TIMEOUT)
            if message.get("op") != "kernel" or creds is None:
                raise ZygoteFailed(f"the zygote did not fork a kernel: {message.get('message', message)}")
            pid, uid, _ = creds
            ns_pid = message.get("pid")
            if uid != 0 or pid <= 1 or type(ns_pid) is not int or pid == self.proc.pid:
                raise ZygoteFailed("the forked kernel's credentials were not the zygote's child's")
            # Until the zygote reaps it (only when asked), the kernel's pid stays its own.
            return ForkedKernel(self, ns_pid, pid, os.pidfd_open(pid))

    def exit_code(self, ns_pid: int) -> int:
        """The exit status of a kernel that has exited (its pidfd said so)."""
        with self.lock:
            if ns_pid in self.codes:
                return self.codes[ns_pid]
            if not self.alive():
                return -signal.SIGKILL  # the zygote (and so the kernel) was killed
            try:
                self._send({"op": "wait", "pid": ns_pid})
                message, _ = self._receive(REPLY_TIMEOUT)
            except (ZygoteFailed, OSError):
                return -signal.SIGKILL  # the zygote (and so the kernel) was killed
            code = message.get("returncode")
            return code if type(code) is int else -signal.SIGKILL

    def clean_up_after_kernel(self) -> None:
        """Kill what is left of the last kernel and empty its writable folders; a zygote that
        cannot is stopped (the next kernel gets a fresh one)."""
        with self.lock:
            if not self.alive():
                return
            try:
                self._send({"op": "reap"})
                message, _ = self._receive(REPLY_TIMEOUT)
            except (ZygoteFailed, OSError):
                message = {}
            for pid, code in (message.get("returncodes") or {}).items():
                if str(pid).isdigit() and type(code) is int:
                    self.codes[int(pid)] = code
            if message.get("op") != "reaped" or message.get("wiped") is not True:
                self.stop()

    def memory_kills(self) -> int:
        return self.cgroup.memory_events_count() if self.cgroup is not None else 0

    def connection_file(self) -> tuple[Path, str]:
        """A new kernel's connection file: where the grader writes it, and where the kernel reads it."""
        name = f"kernel-{uuid.uuid4().hex}.json"
        assert self.folder is not None
        return self.folder / "private" / "run" / name, f"{SANDBOX_RUN}/{name}"


# -- one per kernel running at once in this grading process ----------------------------
_POOL: dict[tuple, list[Zygote]] = {}
_POOL_LOCK = threading.Lock()


@contextmanager
def warm_zygote(limits: Limits, options: KernelOptions, support_files: dict[str, Path],
                environment: dict[str, str]) -> Iterator[Zygote | None]:
    """A zygote of this process for these settings, held for one notebook: an idle one, else
    a new one (notebooks of a submission may run at once, grade.py's lanes: each gets a zygote,
    a sandbox, of its own). None when it cannot start: that kernel then starts cold."""
    key = (limits, options, tuple(sorted((k, str(v)) for k, v in support_files.items())),
           tuple(sorted(environment.items())))
    with _POOL_LOCK:
        for other in [k for k in _POOL if k != key]:  # settings changed: the old ones go once idle
            _POOL[other] = _kept(_POOL[other], lambda z: z.held)
            if not _POOL[other]:
                del _POOL[other]
        mine = _POOL.setdefault(key, [])
        mine[:] = _kept(mine, lambda z: z.held or z.alive())  # one that died is replaced
        zygote = next((z for z in mine if not z.held), None)
        new = zygote is None
        if new:
            zygote = Zygote(limits, options, support_files, environment)
            mine.append(zygote)
        zygote.held = True
    if new:  # started outside the lock: another notebook's zygote may be starting too
        try:
            zygote.start()
            LAST_FAILURE.clear()
        except ZygoteFailed as exc:
            if LAST_FAILURE != [str(exc)]:  # said once, not for every notebook of a batch
                logging.getLogger("grader").warning(
                    "warm kernels unavailable, starting kernels cold: the zygote did not start: %s", exc)
            LAST_FAILURE[:] = [str(exc)]
            with _POOL_LOCK:
                if zygote in _POOL.get(key, []):
                    _POOL[key].remove(zygote)
            zygote = None
    try:
        yield zygote
    finally:
        if zygote is not None:
            zygote.held = False


def _kept(zygotes: list[Zygote], keep) -> list[Zygote]:
    """The zygotes for which `keep` holds; the others stopped (asked once each: a zygote that
    dies in between is stopped, never dropped unstopped)."""
    kept = []
    for zygote in zygotes:
        if keep(zygote):
            kept.append(zygote)
        else:
            zygote.stop()
    return kept


LAST_FAILURE: list[str] = []  # why the last zygote could not start (kernels then start cold; warned once)


def stop_all() -> None:
    with _POOL_LOCK:
        for zygotes in _POOL.values():
            for zygote in zygotes:
                zygote.stop()
        _POOL.clear()


atexit.register(stop_all)
