"""Starting, seeding and stopping the student's kernel.

The kernel is a plain ipykernel, started inside the sandbox (see `sandbox.py`) and wired to
the grader over jupyter_client's `ipc` transport: Unix sockets the kernel binds in its own
/tmp, which the grader reaches through /proc/<sandbox pid>/root, so the kernel needs no
network and no folder of the host's.

Everything the kernel can write is hostile: the grader never opens a path inside it. It
checks each socket (lstat: a socket, the kernel's own, not a link) before connecting once,
and never reconnects by path. The kernel's own stdout and stderr come through a pipe the
grader made, read bounded in a thread of their own.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from queue import Empty
from typing import Any

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type

from grader.kernel import cgroups
from grader.kernel.fdwait import readable
from grader.kernel.messages import BoundedSession
from grader.kernel.requests import INPUTS_TARGET
from grader.kernel.zygote import COURSE_MODULES, Zygote, ZygoteProvisioner
from grader.kernel.sandbox import (SANDBOX_CONNECTION, SANDBOX_SOCKETS, KernelOptions, Limits, SandboxMode,
                                   bwrap_prefix, drop_prefix, identity_files, kernel_environment, new_kernel_uid,
                                   rlimit_prefix)

SEED = 42
# The largest message the grader takes from a kernel. Answers are at most 64 MB of .npy
# (~86 MB as base64); anything bigger is refused at the socket.
MAX_MESSAGE_BYTES = 128 * 2**20

# The kernel's packages, as a course environment has them (README, "The kernel's packages"):
# what a student's cell may import besides Python's standard library and files beside the
# notebook. By import name, with the package name where they differ.
COURSE_PACKAGES = ("numpy", "scipy", "pandas", "matplotlib", "seaborn", "sklearn (scikit-learn)",
                   "tensorflow", "keras", "IPython")
_IMPORTABLE = tuple(sorted({p.split()[0] for p in COURSE_PACKAGES} | {"mpl_toolkits"}))
NOT_IN_KERNEL = ("the grading kernel has the course's packages only: " + ", ".join(COURSE_PACKAGES)
                 + ", and Python's standard library")

# Runs in the fresh kernel before the first cell, identically for reference and student
# runs, so grading the same notebook twice gives the same numbers. TensorFlow is seeded
# when the notebook imports it (importing it eagerly costs seconds), or at start where a
# forked kernel has it already.
STARTUP_CODE = f"""
def __itmal_startup(seed={SEED}, importable={_IMPORTABLE!r}, refusal={NOT_IN_KERNEL!r}, course={COURSE_MODULES!r}):
    import importlib.abc, importlib.machinery, importlib.util, os, random, sys

    # Loaded before the seeds, warm (forked from the zygote: already loaded) or cold alike.
    for name in course:
        try:
            __import__(name)
        except Exception:
            pass

    class CoursePackagesOnly(importlib.abc.MetaPathFinder):
        # A cell imports the course's packages, the standard library and files beside the
        # notebook; what those import in turn is theirs. Not a wall (the sandbox is): a clear
        # message instead of a grade that depends on what the grader happens to have installed.
        def find_spec(self, name, path=None, target=None):
            top = name.partition(".")[0]
            if path is not None or top in importable or top in sys.stdlib_module_names:
                return None
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_filename.startswith("<frozen"):
                frame = frame.f_back
            where = frame.f_code.co_filename if frame is not None else ""
            if not (where.startswith("<ipython-input") or f"{{os.sep}}ipykernel_{{os.getpid()}}{{os.sep}}" in where):
                return None
            spec = importlib.machinery.PathFinder.find_spec(name)
            origin = getattr(spec, "origin", None) or ""
            if origin.startswith(os.getcwd() + os.sep):
                return None
            raise ModuleNotFoundError(f"No module named {{name!r}}: {{refusal}}", name=name)

    sys.meta_path.insert(0, CoursePackagesOnly())
    threads = int(os.environ.get("ITMAL_THREADS") or 1)
    try:  # a forked kernel's BLAS started with one thread (zygote.py): its share of the cores
        import threadpoolctl
        threadpoolctl.threadpool_limits(int(os.environ.get("OPENBLAS_NUM_THREADS") or threads))
    except Exception:
        pass
    random.seed(seed)
    try:
        import numpy
        numpy.random.seed(seed)
    except Exception:
        pass

    def seed_tensorflow(module):
        try:
            module.random.set_seed(seed)
            module.config.experimental.enable_op_determinism()
            module.config.threading.set_intra_op_parallelism_threads(threads)
            module.config.threading.set_inter_op_parallelism_threads(threads)
        except Exception:
            pass

    class TensorFlowAsIfLoadedFirst(importlib.abc.MetaPathFinder):
        # A forked kernel may have TensorFlow and Keras loaded already, before the seeds
        # (zygote.ON_DEMAND); a cold one loads them when a cell imports them. Either way the
        # kernel must go on alike: their import leaves random's and numpy's states as they were
        # (Keras draws on random as it loads rich), and TensorFlow is seeded once loaded.
        pending = {{"tensorflow", "keras"}} - set(sys.modules)

        def find_spec(self, name, path=None, target=None):
            if name not in self.pending:
                return None
            self.pending.discard(name)
            if not self.pending:
                sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            if spec is None or spec.loader is None:
                return spec
            exec_module = spec.loader.exec_module

            def exec_neutrally(module):
                state = random.getstate()
                legacy = sys.modules["numpy"].random.get_state() if "numpy" in sys.modules else None
                try:
                    exec_module(module)
                finally:
                    random.setstate(state)
                    if legacy is not None:
                        sys.modules["numpy"].random.set_state(legacy)
                if name == "tensorflow":
                    seed_tensorflow(module)

            spec.loader.exec_module = exec_neutrally
            return spec

    if "tensorflow" in sys.modules:
        seed_tensorflow(sys.modules["tensorflow"])
    if TensorFlowAsIfLoadedFirst.pending:
        sys.meta_path.insert(0, TensorFlowAsIfLoadedFirst())

    # The grader's array inputs for a fetch arrive as binary buffers of a comm message just
    # before it (requests.INPUTS_TARGET); only the latest fetch's are kept. Kept off the
    # student's globals, which a cell may clear (%reset).
    try:
        import comm
        manager = comm.get_comm_manager()

        def receive_inputs(channel, msg):
            receive_inputs.received.clear()
            receive_inputs.received[str(msg["content"]["data"]["token"])] = [bytes(b) for b in msg["buffers"]]
            channel._closed = True  # nothing goes back: no comm_close message to the grader
            manager.unregister_comm(channel)

        receive_inputs.received = {{}}
        manager.register_target({INPUTS_TARGET!r}, receive_inputs)
    except Exception:
        pass

    # Python threads get 4 MB stacks (not the 8 MB of RLIMIT_STACK): then a thread bomb meets
    # the process cap (~500) before its stacks use up the memory limit, so it fails its own
    # cell and leaves the kernel usable for the next one.
    import threading
    threading.stack_size(4 * 2**20)

__itmal_startup()
del __itmal_startup
"""


KERNEL_LOG_BYTES = 4096  # of the kernel's own stdout/stderr, the last this many are kept
SOCKETS_TIMEOUT = 60.0  # seconds for a starting kernel to bind its sockets


class KernelStartFailed(RuntimeError):
    """The kernel did not come up as expected; the message says what was seen."""


class _OutputTail:
    """Reads a pipe until EOF in a daemon thread, keeping only the last bytes: a kernel that
    prints without end costs the grader KERNEL_LOG_BYTES, and never blocks it."""

    def __init__(self, fd: int):
        self.fd = fd
        self.tail: deque[bytes] = deque()
        self.size = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._drain, daemon=True, name="itmal-kernel-output")
        self.thread.start()

    def _drain(self) -> None:
        try:
            while chunk := os.read(self.fd, 65536):
                with self.lock:
                    self.tail.append(chunk[-KERNEL_LOG_BYTES:])
                    self.size += len(self.tail[-1])
                    while self.size - len(self.tail[0]) >= KERNEL_LOG_BYTES:
                        self.size -= len(self.tail.popleft())
        except OSError:
            pass
        finally:
            os.close(self.fd)

    def text(self) -> str:
        with self.lock:
            raw = b"".join(self.tail)[-KERNEL_LOG_BYTES:]
        text = raw.decode("utf-8", errors="replace")
        return "".join(c if c.isprintable() or c in "\n\t" else "?" for c in text).strip()


def read_bwrap_info(fd: int, deadline: float) -> dict:
    """bubblewrap's JSON on the info pipe (written once the sandbox exists), bounded; closes fd."""
    data = b""
    try:
        while b"}" not in data and len(data) < 65536:
            if not readable(fd, max(0.0, deadline - time.monotonic())):
                raise KernelStartFailed("bubblewrap did not start the sandbox in time")
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    try:
        info = json.loads(data.decode("utf-8", errors="replace"))
    except ValueError:
        raise KernelStartFailed("bubblewrap's sandbox information was unreadable") from None
    return info if isinstance(info, dict) else {}


class _NoHeartbeatClient(AsyncKernelClient):
    """The heartbeat channel would reconnect by path on its own; the grader watches the
    kernel's process instead."""

    def start_channels(self, shell: bool = True, iopub: bool = True, stdin: bool = True, hb: bool = True,
                       control: bool = True) -> None:
        super().start_channels(shell=shell, iopub=iopub, stdin=stdin, hb=False, control=control)

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        """As jupyter_client's (a kernel_info reply, then a message on iopub to show it is
        connected), less its last step: waiting for 0.2 s of silence on iopub, a quarter of a
        small notebook's grading. What is left there is skipped anyway: every reader takes only
        the replies to its own request."""
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            msg_id = self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply" and \
                    reply.get("parent_header", {}).get("msg_id") == msg_id:
                try:
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass  # iopub not connected yet: ask again
                else:
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    wait_for_ready = _async_wait_for_ready  # AsyncKernelClient binds the name to its own


class GraderKernelManager(AsyncKernelManager):
    """An ipykernel started by the grader's own interpreter, optionally under bubblewrap.

    `private` is a folder only the grader writes: the connection file (and, unsandboxed,
    the sockets) live there."""

    client_class = DottedObjectName("grader.kernel.manager._NoHeartbeatClient")
    client_factory = Type(klass="grader.kernel.manager._NoHeartbeatClient")

    def __init__(self, *, scratch: Path, private: Path, limits: Limits, sandbox: SandboxMode,
                 options: KernelOptions, zygote: Zygote | None = None, **kw: Any):
        ip = SANDBOX_SOCKETS if sandbox.enabled else str(private / "kernel")
        super().__init__(transport="ipc", ip=ip, **kw)
        self.scratch = scratch
        self.private = private
        self.limits = limits
        self.sandbox = sandbox
        self.options = options
        self.zygote = zygote  # warm: the kernel is forked from it, in its sandbox
        self.uid = new_kernel_uid() if sandbox.enabled else None  # a uid of its own (sandbox.py)
        self.cgroup: cgroups.KernelCgroup | None = None
        self.connection_file = str(private / "connection.json")
        self._sandbox_connection = SANDBOX_CONNECTION
        if zygote is not None:
            host, inside = zygote.connection_file()
            self.connection_file, self._sandbox_connection = str(host), inside
        self._memory_events = 0
        self._output: _OutputTail | None = None
        self._info_fd: int | None = None
        self._info_pass: int | None = None

    async def _async_wait(self, pollinterval: float = 0.005) -> None:
        """Until the killed kernel is gone: jupyter_client looks every 0.1 s, and the first look,
        right after the kill, always finds it alive (0.1 s of every notebook)."""
        await super()._async_wait(pollinterval)

    def _session_default(self) -> BoundedSession:
        """Every message from the kernel is parsed by a BoundedSession (messages.py): bounded
        before parsing, and a malformed one is dropped with a note, never raised."""
        return BoundedSession(parent=self)

    def client(self, **kwargs: Any):
        """A client whose sockets refuse any message over MAX_MESSAGE_BYTES, so a kernel that
        prints a gigabyte at once is cut off instead of filling the grader's memory (zmq then
        drops that connection for good; the runner notices and restarts the kernel), and
        never reconnect: a path is resolved once, after the grader checked it."""
        if getattr(self, "_client_context", None) is None:
            self._client_context = zmq.asyncio.Context()
            self._client_context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
            self._client_context.setsockopt(zmq.RECONNECT_IVL, -1)
        return super().client(context=self._client_context, **kwargs)

    def write_connection_file(self, **kwargs: Any) -> None:
        """As jupyter_client does (0600), then readable by the kernel's own uid: it reaches
        the file only through a read-only bind of this one file."""
        super().write_connection_file(**kwargs)
        os.chmod(self.connection_file, 0o644)

    def _connect_control_socket(self) -> None:
        """Never: the grader interrupts and stops kernels by signal, so it needs no control
        socket of its own (jupyter_client would connect one by path right after launch)."""

    def cleanup_ipc_files(self) -> None:
        """Nothing to remove by path: sandboxed, the sockets vanish with the kernel's /tmp;
        unsandboxed, with the grader's private folder."""

    def close_client_context(self) -> None:
        ctx = getattr(self, "_client_context", None)
        if ctx is not None:
            ctx.destroy(linger=0)
            self._client_context = None

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        kernel = [
            sys.executable,
            "-m",
            "ipykernel_launcher",
            "-f",
            self.connection_file,
            "--HistoryManager.enabled=False",
            "--IPKernelApp.quiet=True",
            # Inside the pid namespace the parent is pid 1, which ipykernel would read as
            # "parent gone"; bubblewrap's --die-with-parent ties the kernel to us instead.
            "--IPKernelApp.parent_handle=0",
            *(extra_arguments or []),
        ]
        if self.zygote is not None:  # forked, not executed: only the kernel's arguments
            kernel[kernel.index("-f") + 1] = self._sandbox_connection
            return kernel[kernel.index("-f"):]
        prefix = rlimit_prefix(self.limits, self.cgroup.procs_files if self.cgroup else [])
        if self.sandbox.enabled:
            kernel[kernel.index("-f") + 1] = SANDBOX_CONNECTION
            prefix += bwrap_prefix(self.scratch, self.private, self.limits, self.options,
                                   info_fd=self._info_pass, uid=self.uid)
            if self.uid is not None:
                prefix += drop_prefix(self.uid)
        return prefix + kernel

    async def start(self) -> None:
        if self.zygote is not None:
            await self._start_forked()
            return
        self.cgroup = cgroups.create(self.limits.processes, self.limits.memory_total)
        env = kernel_environment(self.scratch, SEED, self.sandbox.enabled, self.options)
        if self.uid is not None:
            for name, text in identity_files(self.uid).items():
                (self.private / name).write_text(text)
                os.chmod(self.private / name, 0o644)
        # The kernel's own stdout/stderr (banners, native crashes) come through a pipe of the
        # grader's, never a file: only the last KERNEL_LOG_BYTES are kept.
        out_read, out_write = os.pipe()
        self._output = _OutputTail(out_read)
        launch: dict[str, Any] = {"stdout": out_write, "stderr": out_write}
        if self.sandbox.enabled:
            self._info_fd, self._info_pass = os.pipe()
            launch["pass_fds"] = (self._info_pass,)
        try:
            await self.start_kernel(env=env, cwd=str(self.scratch), **launch)
        finally:
            os.close(out_write)
            if self._info_pass is not None:
                os.close(self._info_pass)
                self._info_pass = None
        # The client connects once and never retries (RECONNECT_IVL=-1), so it must wait
        # until the kernel has bound every socket, sandboxed or not.
        self.ip = self._checked_socket_base()

    async def _start_forked(self) -> None:
        """The kernel forked by the zygote, in the zygote's sandbox, cgroup and limits."""
        out_read, out_write = os.pipe()
        self._output = _OutputTail(out_read)
        self._memory_events = self.zygote.memory_kills()
        self.provisioner = ZygoteProvisioner(kernel_id=self.kernel_id or str(uuid.uuid4()),
                                             kernel_spec=self.kernel_spec, parent=self)
        try:
            await self.start_kernel(env={}, cwd=str(self.scratch), stdout=out_write)
        finally:
            os.close(out_write)
        self.ip = self._checked_socket_base()

    def _checked_socket_base(self) -> str:
        """The host's path to the kernel's sockets once every socket the client will connect
        to is there, is a socket, is not a link and (as root) belongs to the kernel's uid.
        Sandboxed, the path goes through the sandbox's /proc root."""
        deadline = time.monotonic() + SOCKETS_TIMEOUT
        if self.zygote is not None:
            base = f"/proc/{self.zygote.sandbox_pid}/root{SANDBOX_SOCKETS}"
        elif self.sandbox.enabled:
            info = self._read_info(deadline)
            pid = info.get("child-pid")
            if type(pid) is not int or pid <= 1:
                raise KernelStartFailed("bubblewrap did not report the sandbox's pid")
            base = f"/proc/{pid}/root{SANDBOX_SOCKETS}"
        else:
            base = self.ip
        wanted = [f"{base}-{port}" for port in (self.shell_port, self.iopub_port, self.stdin_port, self.control_port)]
        while True:
            seen = [self._socket_state(path) for path in wanted]
            if all(state == "ok" for state in seen):
                return base
            bad = [s for s in seen if s not in ("ok", "absent")]
            if bad:
                raise KernelStartFailed(f"the kernel's socket is {bad[0]}; not connecting")
            if time.monotonic() > deadline or not self.provisioner or self.provisioner.process.poll() is not None:
                raise KernelStartFailed("the kernel did not open its sockets")
            time.sleep(0.02)

    def _socket_state(self, path: str) -> str:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return "absent"
        except OSError as exc:
            return f"unreadable ({exc.strerror})"
        if not stat.S_ISSOCK(st.st_mode):
            return "not a socket"
        if self.uid is not None and st.st_uid != self.uid:
            return "owned by another user"
        return "ok"

    def _read_info(self, deadline: float) -> dict:
        fd, self._info_fd = self._info_fd, None
        return read_bwrap_info(fd, deadline)

    def kernel_log(self) -> str:
        """The last of what the kernel process printed outside any cell (inert text)."""
        return (self._output.text() if self._output is not None else "") or "(empty)"

    def hard_kill(self) -> None:
        """SIGKILL the kernel's whole process group, whatever it is doing."""
        provisioner = self.provisioner
        pid = getattr(getattr(provisioner, "process", None), "pid", None)
        if pid is not None:
            try:
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def release(self) -> None:
        """After the kernel is stopped: kill what is left in its cgroup (escaped children
        too) and remove it; close the client's sockets. The output thread ends by itself
        when the last writer is gone."""
        if self.cgroup is not None:
            self.cgroup.destroy()
            self.cgroup = None
        if self.zygote is not None:
            self.zygote.clean_up_after_kernel()
            try:
                os.unlink(self.connection_file)  # the grader's own folder
            except OSError:
                pass
        self.close_client_context()
        for fd in (self._info_fd, self._info_pass):
            if fd is not None:
                os.close(fd)
        self._info_fd = self._info_pass = None

    def memory_limit_hit(self) -> bool:
        if self.zygote is not None:
            return self.zygote.memory_kills() > self._memory_events
        return self.cgroup is not None and self.cgroup.memory_limit_hit()
