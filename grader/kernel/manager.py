"""Starting, seeding and stopping the student's kernel.

The kernel is a plain ipykernel, started inside the sandbox (see `sandbox.py`) and wired to
the grader over jupyter_client's `ipc` transport: Unix sockets in a directory both sides
see, so the kernel needs no network at all.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio
from jupyter_client.manager import AsyncKernelManager

from grader.kernel import cgroups
from grader.kernel.messages import BoundedSession
from grader.kernel.sandbox import KernelOptions, Limits, SandboxMode, bwrap_prefix, kernel_environment, rlimit_prefix

SEED = 42
# The largest message the grader takes from a kernel. Answers are at most 64 MB of .npy
# (~86 MB as base64); anything bigger is refused at the socket.
MAX_MESSAGE_BYTES = 128 * 2**20

# Runs in the fresh kernel before the first cell, identically for reference and student
# runs, so grading the same notebook twice gives the same numbers. TensorFlow is seeded
# when (and only if) the notebook imports it: importing it eagerly costs seconds.
STARTUP_CODE = f"""
def __itmal_startup(seed={SEED}):
    import importlib.abc, importlib.util, random, sys
    random.seed(seed)
    try:
        import numpy
        numpy.random.seed(seed)
    except Exception:
        pass

    class SeedTensorFlowOnImport(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name != "tensorflow":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            if spec is None or spec.loader is None:
                return spec
            exec_module = spec.loader.exec_module

            def exec_and_seed(module):
                exec_module(module)
                try:
                    module.random.set_seed(seed)
                    module.config.experimental.enable_op_determinism()
                except Exception:
                    pass

            spec.loader.exec_module = exec_and_seed
            return spec

    sys.meta_path.insert(0, SeedTensorFlowOnImport())

    # Python threads get 4 MB stacks (not the 8 MB of RLIMIT_STACK): then a thread bomb meets
    # the process cap (~500) before its stacks use up the memory limit, so it fails its own
    # cell and leaves the kernel usable for the next one.
    import threading
    threading.stack_size(4 * 2**20)

__itmal_startup()
del __itmal_startup
"""


class GraderKernelManager(AsyncKernelManager):
    """An ipykernel started by the grader's own interpreter, optionally under bubblewrap."""

    def __init__(self, *, scratch: Path, sockets: Path, limits: Limits, sandbox: SandboxMode,
                 options: KernelOptions, **kw: Any):
        super().__init__(transport="ipc", ip=str(sockets / "kernel"), **kw)
        self.scratch = scratch
        self.sockets = sockets
        self.limits = limits
        self.sandbox = sandbox
        self.options = options
        self.cgroup: cgroups.KernelCgroup | None = None
        self.connection_file = str(sockets / "connection.json")

    def _session_default(self) -> BoundedSession:
        """Every message from the kernel is parsed by a BoundedSession (messages.py): bounded
        before parsing, and a malformed one is dropped with a note, never raised."""
        return BoundedSession(parent=self)

    def client(self, **kwargs: Any):
        """A client whose sockets refuse any message over MAX_MESSAGE_BYTES, so a kernel that
        prints a gigabyte at once is cut off instead of filling the grader's memory. (zmq then
        drops that connection for good; the runner notices and restarts the kernel.)"""
        if getattr(self, "_client_context", None) is None:
            self._client_context = zmq.asyncio.Context()
            self._client_context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        return super().client(context=self._client_context, **kwargs)

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
        prefix = rlimit_prefix(self.limits, self.cgroup.procs_files if self.cgroup else [])
        if self.sandbox.enabled:
            prefix += bwrap_prefix(self.scratch, self.sockets, self.limits, self.options)
        return prefix + kernel

    async def start(self) -> None:
        self.cgroup = cgroups.create(self.limits.processes, self.limits.memory_total)
        env = kernel_environment(self.scratch, SEED, self.sandbox.enabled, self.options)
        # The kernel's own stdout/stderr (banners, native crashes) go to a log beside the
        # sockets, not to the grader's terminal.
        self._log = open(self.sockets / "kernel.log", "ab")
        await self.start_kernel(env=env, cwd=str(self.scratch), stdout=self._log, stderr=self._log)

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
        too) and remove it; close the client's sockets and the kernel's log."""
        if self.cgroup is not None:
            self.cgroup.destroy()
            self.cgroup = None
        self.close_client_context()
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()
            self._log = None

    def memory_limit_hit(self) -> bool:
        return self.cgroup is not None and self.cgroup.memory_limit_hit()
