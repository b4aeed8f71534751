"""The zygote: runs inside the sandbox (as `python -c <this file's text>`), imports the course
stack once, then forks one kernel per notebook on the grader's request.

It never imports the grader (the checkout is not in the sandbox) and takes requests only from
the grader, over a socketpair it inherited (fd in argv). It is root inside the sandbox's
namespaces, as bubblewrap's child is before `drop_prefix`; each kernel it forks drops to the
uid the grader names in the request (one per kernel) exactly as `drop_prefix` does,
before any student code exists in it.

Between kernels (the "reap" request) it kills every process of the kernels' uids (orphans
included: the zygote is their subreaper), then empties what a kernel can write (its home
beyond the bound files, /tmp, /dev/shm); each kernel has an IPC namespace of its own. So
nothing of one notebook reaches the next.

Messages are JSON, one per SOCK_SEQPACKET datagram:
  grader -> zygote: {"op": "fork", "argv": [...], "uid": n} with the kernel's stdout fd (SCM_RIGHTS)
                    {"op": "wait", "pid": n}    {"op": "reap"}    {"op": "preload", "modules": [...]}
  zygote -> grader: {"op": "ready", ...}  {"op": "exited", "pid": n, "returncode": r}  {"op": "preloaded", ...}
                    {"op": "reaped", "wiped": bool, "returncodes": {...}}  {"op": "error", ...}
  kernel -> grader: {"op": "kernel", "pid": n}, sent by the forked child itself, so the
                    socket's credentials carry its pid as the grader's namespace sees it.
"""

import array
import ctypes
import json
import os
import shutil
import signal
import socket
import sys
import time
import traceback

CTRL_FD, HOME = int(sys.argv[1]), sys.argv[2]
PRELOAD = json.loads(sys.argv[3])
WRITABLE = (HOME, "/tmp", "/dev/shm")
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_CHILD_SUBREAPER = 1, 24, 36
CLONE_NEWIPC = 0x08000000

libc = ctypes.CDLL(None, use_errno=True)
ctrl = socket.socket(fileno=CTRL_FD)
kernel_env = dict(os.environ)
live_uids = set()  # the uids of kernels forked since the last clean-up that left no process


def send(message, fds=()):
    data = json.dumps(message).encode()
    if fds:
        ctrl.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        ctrl.send(data)


def receive():
    fds = array.array("i")
    data, ancdata, _, _ = ctrl.recvmsg(65536, socket.CMSG_SPACE(4 * fds.itemsize))
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
    if not data:
        sys.exit(0)  # the grader is gone
    return json.loads(data), list(fds)


def kernel_writable(entry):
    """A sys.path entry a kernel could put a module into ('' is the working folder, HOME)."""
    where = os.path.realpath(entry or ".")
    return any(where == d or where.startswith(d.rstrip("/") + "/") for d in map(os.path.realpath, WRITABLE))


def preload(names):
    # matplotlib (and fontconfig) write caches while importing: into a folder of the zygote's
    # own, left read-only for the kernels (their own HOME and MPLCONFIGDIR are restored).
    own = "/tmp/.itmal-zygote"
    os.makedirs(own + "/mpl", mode=0o755, exist_ok=True)
    os.environ.update(MPLCONFIGDIR=own + "/mpl", HOME=own, XDG_CACHE_HOME=own + "/cache")
    # One BLAS thread while importing: a fork keeps only the forking thread. Each kernel sizes
    # its pools after the fork (STARTUP_CODE).
    os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    # Modules come only from where no kernel can write: a later preload ("preload" request)
    # runs after kernels have had HOME and /tmp.
    path = sys.path[:]
    sys.path[:] = [entry for entry in path if not kernel_writable(entry)]
    loaded, failed = [], []
    try:
        for name in names:
            try:
                __import__(name)
                loaded.append(name)
            except Exception as exc:  # a package missing here is imported by the kernel, if at all
                failed.append(f"{name}: {type(exc).__name__}")
    finally:
        sys.path[:] = path
        os.environ.clear()
        os.environ.update(kernel_env)
    return loaded, failed


def threads():
    return len(os.listdir("/proc/self/task"))


def baseline():
    return {d: set(os.listdir(d)) for d in WRITABLE if os.path.isdir(d)}


def wipe(kept):
    ok = True
    for folder, names in kept.items():
        for entry in os.scandir(folder):
            if entry.name in names:
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)  # fd-based: symlinks inside are removed, never followed
                else:
                    os.unlink(entry.path)
            except OSError:
                ok = False
    return ok


def returncode(status):
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def kill_every_process_of(uid):
    """Every process of a kernel's uid, by a child that becomes that uid and signals all it
    may (kill(-1) spares the caller only): orphans and daemons of any kernel included."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            for _ in range(1000):
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    break
                time.sleep(0.005)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def reap_all():
    codes = {}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            for uid in live_uids:
                kill_every_process_of(uid)
            time.sleep(0.01)
            continue
        codes[str(pid)] = returncode(status)
    if not children_left():
        live_uids.clear()
    return codes


def children_left():
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return False
    return True


def drop_privileges(uid):
    """As drop_prefix does: no capabilities (the bounding set emptied too), no groups, the
    kernel's uid, and a check that root cannot be regained."""
    for cap in range(64):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    try:
        os.setuid(0)
    except PermissionError:
        pass
    else:
        os._exit(70)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after setuid, which clears it


def become_kernel(argv, out, uid):
    code = 1
    try:
        os.setsid()  # its own process group: the grader signals the kernel's group by pid
        send({"op": "kernel", "pid": os.getpid()})
        ctrl.close()
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        for fd in (null, out):
            os.close(fd)
        try:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("0")  # the zygote's -1000 is not the kernel's
        except OSError:
            pass
        # SysV IPC and POSIX message queues outlive their processes: each kernel gets an IPC
        # namespace of its own (as each sandbox had), gone with its last process.
        if libc.unshare(CLONE_NEWIPC) != 0:
            os._exit(71)
        drop_privileges(uid)
        os.chdir(HOME)
        sys.argv = ["ipykernel_launcher", *argv]
        if sys.path and sys.path[0] == "":
            del sys.path[0]  # as ipykernel_launcher does; the kernel adds its folder back
        from ipykernel import kernelapp

        kernelapp.launch_new_instance(argv=argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def main():
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("-1000")  # the memory limit kills a kernel, not the zygote under it
    except OSError:
        pass
    loaded, failed = preload(PRELOAD)
    kept = baseline()
    send({"op": "ready", "preloaded": loaded, "failed": failed, "threads": threads()})
    while True:
        request, fds = receive()
        op = request.get("op")
        if op == "fork":
            codes = reap_all()
            wiped = wipe(kept) and not children_left()
            uid = request.get("uid")
            if (not wiped or len(fds) != 1 or threads() != 1
                    or type(uid) is not int or uid <= 0):
                for fd in fds:
                    os.close(fd)
                send({"op": "error", "message": "the zygote could not make a clean kernel", "returncodes": codes})
                continue
            live_uids.add(uid)
            pid = os.fork()
            if pid == 0:
                become_kernel(request["argv"], fds[0], uid)
            os.close(fds[0])
        elif op == "wait":
            try:
                _, status = os.waitpid(int(request["pid"]), 0)
                send({"op": "exited", "pid": request["pid"], "returncode": returncode(status)})
            except ChildProcessError:
                send({"op": "exited", "pid": request["pid"], "returncode": None})
        elif op == "preload":
            # more modules for every later kernel (TensorFlow, once a notebook asks for it),
            # imported while no kernel exists and nothing of one is left
            reap_all()
            names = request.get("modules")
            if not (wipe(kept) and not children_left()) or type(names) is not list or not all(
                    type(n) is str for n in names):
                send({"op": "error", "message": "the zygote could not preload with no kernel left"})
                continue
            loaded, failed = preload(names)
            kept = baseline()
            send({"op": "preloaded", "preloaded": loaded, "failed": failed, "threads": threads()})
        elif op == "reap":
            codes = reap_all()
            send({"op": "reaped", "wiped": wipe(kept) and not children_left(), "returncodes": codes})
        else:
            send({"op": "error", "message": f"unknown request {op!r}"})


main()
