"""How a student's kernel is confined: the bubblewrap command line and resource limits.

The kernel sees the read-only Python environment, a few system directories, its own
scratch directory (writable) and the directory holding its ipc sockets. It sees nothing
else of the host: not `solutions/`, not hidden checks, not caches, not other submissions.
It has no network (a fresh network namespace with only a loopback device).

Where bubblewrap is missing or cannot start (no user namespaces), the grader falls back to
running the kernel unsandboxed and says so loudly; `require=True` turns that into an error.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import warnings
from dataclasses import dataclass
from pathlib import Path


class SandboxUnavailable(RuntimeError):
    """Raised when the sandbox is required but bubblewrap cannot run here."""


class UnsandboxedWarning(UserWarning):
    """Student code is about to run without a sandbox."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one kernel. Times are seconds, sizes bytes."""

    cell_timeout: float = 120.0
    notebook_timeout: float = 900.0
    # RLIMIT_DATA bounds private writable memory per process; unlike RLIMIT_AS it
    # does not count TensorFlow's large address-space reservations.
    memory: int = 4 * 2**30
    # The kernel's whole process tree, where a cgroup can be made (see cgroups.py); the
    # process cap there counts threads too, and TensorFlow starts dozens.
    memory_total: int = 6 * 2**30
    processes: int = 512
    file_size: int = 512 * 2**20
    scratch_tmp: int = 512 * 2**20
    # The kernel's home (its working directory) is a tmpfs of this size: filling it fills
    # neither the host's disk nor its /tmp (sandboxed only).
    scratch_home: int = 1 * 2**30
    output_per_cell: int = 2 * 2**20
    output_per_notebook: int = 20 * 2**20
    # After an interrupt, how long a cell gets to stop before the kernel is killed.
    interrupt_grace: float = 5.0


SANDBOX_HOME = "/home/student"
SANDBOX_DATA = "/data"


@dataclass(frozen=True)
class KernelOptions:
    """What a kernel is given besides limits: the grading profile and read-only data sets.

    Each data set `name -> host directory` appears read-only at /data/<name> in the sandbox
    (at its host path without one), announced to the notebook as $ITMAL_<NAME>_DIR."""

    profile: str = "full"
    data: tuple[tuple[str, Path], ...] = ()

    def data_paths(self, sandboxed: bool) -> dict[str, str]:
        return {f"ITMAL_{name.upper()}_DIR": f"{SANDBOX_DATA}/{name}" if sandboxed else str(host)
                for name, host in self.data}

# System directories a Python kernel needs to start; each is bound read-only if present.
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Only the files of /etc that dynamic linking, locale and users need: no secrets.
_ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/alternatives",
    "/etc/fonts",
    "/etc/mime.types",
)


def python_roots() -> list[Path]:
    """Directories holding the interpreter and packages the kernel imports."""
    candidates = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        sysconfig.get_paths()["stdlib"],
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
        os.path.dirname(os.path.realpath(sys.executable)),
    }
    roots: list[Path] = []
    for c in sorted(candidates, key=len):
        p = Path(c).resolve()
        if p.exists() and not any(p.is_relative_to(r) for r in roots):
            roots.append(p)
    return roots


def find_bwrap() -> str | None:
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=None)
def probe() -> tuple[bool, str]:
    """Whether bubblewrap can start a process here, and why not if it cannot."""
    bwrap = find_bwrap()
    if bwrap is None:
        return False, "bubblewrap (bwrap) is not installed; install the Debian package 'bubblewrap'"
    cmd = [bwrap, *_namespace_args(), "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"bubblewrap failed to start: {exc}"
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip()
        return False, f"bubblewrap cannot create namespaces here: {err}"
    return True, "bubblewrap"


def _namespace_args() -> list[str]:
    return ["--unshare-all", "--die-with-parent", "--cap-drop", "ALL"]


def bwrap_prefix(scratch: Path, sockets: Path, limits: Limits, options: KernelOptions) -> list[str]:
    """The bubblewrap arguments that run a command confined to `scratch`."""
    bwrap = find_bwrap()
    assert bwrap is not None
    args = [bwrap, *_namespace_args(), "--proc", "/proc", "--dev", "/dev"]
    # /tmp first: a later mount under it (a checkout or venv that lives in /tmp, the sockets)
    # must land on top of the tmpfs, not be hidden by it.
    args += ["--size", str(limits.scratch_tmp), "--tmpfs", "/tmp"]
    for d in _SYSTEM_DIRS:
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    for f in _ETC_FILES:
        if os.path.exists(f):
            args += ["--ro-bind", f, f]
    for root in python_roots():
        args += ["--ro-bind", str(root), str(root)]
    # The scratch directory appears at one fixed path, so tracebacks and file names are the
    # same from run to run (a grade must not depend on a temporary directory's name). It is a
    # size-limited tmpfs (a full disk there is the student's ENOSPC, not the host's); what the
    # grader put in the scratch directory (the notebook copy, the course helpers) is bound
    # into it read-only, so the kernel writes nothing to the host's disk.
    args += ["--size", str(limits.scratch_home), "--tmpfs", SANDBOX_HOME]
    for entry in sorted(scratch.iterdir()):
        args += ["--ro-bind", str(entry), f"{SANDBOX_HOME}/{entry.name}"]
    args += ["--bind", str(sockets), str(sockets)]
    for name, host in options.data:
        args += ["--ro-bind", str(host), f"{SANDBOX_DATA}/{name}"]
    # bubblewrap's root is a throw-away tmpfs; make it read-only so writes outside the
    # scratch directory and /tmp fail loudly instead of vanishing silently.
    args += ["--remount-ro", "/", "--chdir", SANDBOX_HOME]
    return args + ["--"]


def rlimit_prefix(limits: Limits, cgroup_procs: list[str] = ()) -> list[str]:
    """A tiny exec wrapper that joins the kernel's cgroups (if any) and sets rlimits, then
    replaces itself with the command, so every process the kernel starts inherits both.

    It runs with the grader's interpreter but imports only the standard library.
    RLIMIT_NPROC is not enforced for root: there the cgroup's process cap does that job.
    """
    code = (
        "import os,resource,sys\n"
        f"for f in {list(cgroup_procs)!r}:\n"
        "    open(f,'w').write(str(os.getpid()))\n"
        f"resource.setrlimit(resource.RLIMIT_DATA,({limits.memory},{limits.memory}))\n"
        f"resource.setrlimit(resource.RLIMIT_NPROC,({limits.processes},{limits.processes}))\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE,({limits.file_size},{limits.file_size}))\n"
        "resource.setrlimit(resource.RLIMIT_CORE,(0,0))\n"
        "os.execv(sys.argv[1],sys.argv[1:])\n"
    )
    return [sys.executable, "-I", "-S", "-c", code]


@dataclass(frozen=True)
class SandboxMode:
    """The sandbox in force for a grading run: on, or off with the reason."""

    enabled: bool
    reason: str

    def describe(self) -> str:
        if self.enabled:
            return "sandboxed (bubblewrap: no network, read-only environment, scratch-only writes)"
        return f"NOT SANDBOXED: {self.reason}"


def choose(*, require: bool, disable: bool = False) -> SandboxMode:
    """Decide whether kernels run sandboxed, warning loudly when they cannot."""
    if disable:
        mode = SandboxMode(False, "sandbox disabled by option")
    else:
        ok, why = probe()
        mode = SandboxMode(ok, why if not ok else "")
    if not mode.enabled:
        if require:
            raise SandboxUnavailable(
                f"--require-sandbox is set but the kernel cannot be sandboxed: {mode.reason}"
            )
        warnings.warn(
            "STUDENT CODE WILL RUN WITHOUT A SANDBOX: it can read and write your files and "
            f"use the network ({mode.reason}).",
            UnsandboxedWarning,
            stacklevel=2,
        )
    return mode


def kernel_environment(scratch: Path, seed: int, sandboxed: bool, options: KernelOptions) -> dict[str, str]:
    """A minimal environment for the kernel: nothing of the grader's leaks in."""
    scratch = Path(SANDBOX_HOME) if sandboxed else scratch
    env = {
        "ITMAL_PROFILE": options.profile,
        **options.data_paths(sandboxed),
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/bin", "/bin"]),
        "HOME": str(scratch),
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": str(seed),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "MPLCONFIGDIR": str(scratch / ".config" / "matplotlib"),
        "IPYTHONDIR": str(scratch / ".ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "KERAS_HOME": str(scratch / ".keras"),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1"),
    }
    # Some CPUs here need these for OpenBLAS to compute correctly: pass them through.
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env
