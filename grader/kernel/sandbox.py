"""How a student's kernel is confined: the bubblewrap command line and resource limits.

The kernel sees the read-only Python environment, a few system directories, read-only
copies of what the grader put in its scratch directory, and two size-limited tmpfs of its
own (its home and /tmp). It sees nothing else of the host: not `solutions/`, not hidden
checks, not caches, not other submissions, and it can write nothing on the host's disks.
It has no network (a fresh network namespace with only a loopback device). Its ipc sockets
live in its own /tmp; the grader reaches them through /proc/<sandbox pid>/root, so no folder
is shared in both directions. When the grader runs as root, the kernel runs as an
unprivileged uid of its own (no user namespace maps it to root), without capabilities.

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
import threading
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
# The kernel binds its ipc sockets at <SANDBOX_SOCKETS>-<port>, in its own /tmp tmpfs.
SANDBOX_SOCKETS = "/tmp/.itmal-kernel"
# The connection file, written by the grader before the kernel exists, bound read-only.
SANDBOX_CONNECTION = "/run/itmal/connection.json"
# As root, each kernel runs as a uid of its own: KERNEL_UID_BASE + the grader process's pid *
# UIDS_PER_PROCESS + the number of kernels this process started before it. Unprivileged,
# owning nothing on the host, with its own RLIMIT_NPROC count, and shared with no other
# notebook: what the kernel keeps per uid (the kernel keyrings, which outlive every process of
# the uid) cannot reach the next notebook or the next student. A batch worker retires once it
# has used RETIRE_AFTER_UIDS of them; a fresh worker (another pid) takes over.
KERNEL_UID_BASE = 1_000_000
UIDS_PER_PROCESS = 256  # with Linux's largest pid (2**22) the uids stay below 2**31
RETIRE_AFTER_UIDS = UIDS_PER_PROCESS // 2  # room left for one more submission's kernels
_kernels_started = 0
_UIDS_LOCK = threading.Lock()


def kernel_uids() -> range | None:
    """Every uid this process's kernels may run as, or None when the grader is not root
    (bubblewrap then maps the grader's own unprivileged uid into a user namespace)."""
    if os.geteuid() != 0:
        return None
    first = KERNEL_UID_BASE + os.getpid() * UIDS_PER_PROCESS
    return range(first, first + UIDS_PER_PROCESS)


def new_kernel_uid() -> int | None:
    """A uid for the next kernel that no kernel of this process had (after UIDS_PER_PROCESS
    kernels the first ones' come round again: workers retire long before)."""
    global _kernels_started
    uids = kernel_uids()
    if uids is None:
        return None
    with _UIDS_LOCK:  # kernels of one submission start from several threads (grade.py's lanes)
        _kernels_started += 1
        return uids[(_kernels_started - 1) % UIDS_PER_PROCESS]


def kernel_uids_used() -> int:
    return _kernels_started


@dataclass(frozen=True)
class KernelOptions:
    """What a kernel is given besides limits: the grading profile and read-only data sets.

    Each data set `name -> host directory` appears read-only at /data/<name> in the sandbox
    (at its host path without one), announced to the notebook as $ITMAL_<NAME>_DIR."""

    profile: str = "full"
    data: tuple[tuple[str, Path], ...] = ()
    # The kernel's BLAS and TensorFlow thread pools: about cores / kernels running at once,
    # so that parallel workers do not oversubscribe the cores.
    threads: int = 1

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


def _namespace_args_as_root() -> list[str]:
    # No user namespace: one would map the kernel to the grader's root. The kernel keeps
    # bubblewrap's capabilities only until drop_prefix() switches to its own uid, which
    # clears them (and no_new_privs, set by bubblewrap, keeps them cleared).
    return ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent"]


def identity_files(uid: int) -> dict[str, str]:
    """/etc/passwd and /etc/group for a kernel running as `uid` (libraries look users up)."""
    return {"passwd": f"root:x:0:0:root:/root:/usr/sbin/nologin\nstudent:x:{uid}:{uid}:student:{SANDBOX_HOME}:/bin/sh\n",
            "group": f"root:x:0:\nstudent:x:{uid}:\n"}


def bwrap_prefix(scratch: Path, private: Path, limits: Limits, options: KernelOptions, *,
                 info_fd: int, uid: int | None, run_folder: Path | None = None) -> list[str]:
    """The bubblewrap arguments that run a command confined to read-only copies of `scratch`.

    `private` is the grader's own folder: only its connection file (and, as root, the passwd
    and group files of the kernel's uid) are bound, read-only; a zygote gets `run_folder`
    instead, where the grader writes each forked kernel's connection file. `info_fd` receives
    bubblewrap's JSON with the sandbox's pid."""
    bwrap = find_bwrap()
    assert bwrap is not None
    namespaces = _namespace_args_as_root() if uid is not None else _namespace_args()
    args = [bwrap, *namespaces, "--info-fd", str(info_fd), "--proc", "/proc", "--dev", "/dev"]
    # /tmp first: a later mount under it (a checkout or venv that lives in /tmp) must land on
    # top of the tmpfs, not be hidden by it. World-writable: the kernel's uid owns nothing.
    args += ["--perms", "1777", "--size", str(limits.scratch_tmp), "--tmpfs", "/tmp"]
    # POSIX semaphores and shared memory (multiprocessing, joblib) live here.
    args += ["--perms", "1777", "--size", str(limits.scratch_tmp), "--tmpfs", "/dev/shm"]
    made: set[str] = set()

    def ro_bind(source: str, target: str) -> list[str]:
        return _parent_dirs(target, made) + ["--ro-bind", source, target]

    for d in _SYSTEM_DIRS:
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ro_bind(d, d)
    own_identity = {f"/etc/{name}": private / name for name in identity_files(0)} if uid is not None else {}
    for f in _ETC_FILES:
        if f in own_identity:
            args += ro_bind(str(own_identity[f]), f)
        elif os.path.exists(f):
            args += ro_bind(f, f)
    for root in python_roots():
        args += ro_bind(str(root), str(root))
    # The scratch directory appears at one fixed path, so tracebacks and file names are the
    # same from run to run (a grade must not depend on a temporary directory's name). It is a
    # size-limited tmpfs (a full disk there is the student's ENOSPC, not the host's); what the
    # grader put in the scratch directory (the notebook copy, the course helpers) is bound
    # into it read-only, so the kernel writes nothing to the host's disk.
    args += _parent_dirs(SANDBOX_HOME, made) + ["--perms", "1777", "--size", str(limits.scratch_home),
                                                "--tmpfs", SANDBOX_HOME]
    for entry in sorted(scratch.iterdir()):
        args += ["--ro-bind", str(entry), f"{SANDBOX_HOME}/{entry.name}"]
    if run_folder is not None:
        args += ro_bind(str(run_folder), str(Path(SANDBOX_CONNECTION).parent))
    else:
        args += ro_bind(str(private / "connection.json"), SANDBOX_CONNECTION)
    for name, host in options.data:
        args += ro_bind(str(host), f"{SANDBOX_DATA}/{name}")
    # bubblewrap's root is a throw-away tmpfs; make it read-only so writes outside the
    # scratch directory and /tmp fail loudly instead of vanishing silently.
    args += ["--remount-ro", "/", "--chdir", SANDBOX_HOME]
    return args + ["--"]


def _parent_dirs(target: str, made: set[str]) -> list[str]:
    """Create `target`'s parent folders readable by all: bubblewrap would make them 0700 as
    root, and the kernel's uid could not reach what is bound below them."""
    args = []
    for parent in reversed(Path(target).parents[:-1]):
        if str(parent) not in made:
            made.add(str(parent))
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def drop_prefix(uid: int) -> list[str]:
    """Inside the sandbox, as root: become `uid` (no groups, no capabilities, the bounding
    set emptied too), check that root cannot be regained, then exec the command."""
    code = (
        "import ctypes,os,sys\n"
        "libc=ctypes.CDLL(None,use_errno=True)\n"
        "for cap in range(64):\n"
        "    libc.prctl(24,cap,0,0,0)\n"  # PR_CAPBSET_DROP; past the last cap it fails harmlessly
        f"os.setgroups([]);os.setgid({uid});os.setuid({uid})\n"
        "try:\n"
        "    os.setuid(0)\n"
        "except PermissionError:\n"
        "    pass\n"
        "else:\n"
        "    sys.exit('the kernel could regain root')\n"
        "os.execv(sys.argv[1],sys.argv[1:])\n"
    )
    return [sys.executable, "-I", "-S", "-c", code]


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
        "ITMAL_GRADING": "1",  # the in-notebook self-check (itmal_grader.check) does nothing here
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
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(options.threads)),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", str(options.threads)),
        "MKL_NUM_THREADS": os.environ.get("MKL_NUM_THREADS", str(options.threads)),
        "ITMAL_THREADS": str(options.threads),  # TensorFlow's pools, set as it is imported (STARTUP_CODE)
    }
    # Some CPUs here need these for OpenBLAS to compute correctly: pass them through.
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env
