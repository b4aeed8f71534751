"""A control group per kernel, where the grader may create one: a cap on the number of
processes and threads (a fork bomb) and on the memory of the kernel's whole process tree.

rlimits cover most of this for an ordinary user, but RLIMIT_NPROC does not bind root, and
RLIMIT_DATA is per process. Where the grader runs as root with a writable cgroup file system
(cgroup v2, or v1's pids and memory controllers), each kernel gets a group of its own; the
kernel's launcher joins it before it execs, so no child escapes. Elsewhere this is a no-op
and the rlimits stand alone.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
# Names the process that creates groups: a batch worker gets one from the batch, which removes
# what a killed worker left (remove_left_by). Not a pid: the cgroup file system may be shared
# by machines with pid namespaces of their own.
OWNER = uuid.uuid4().hex[:12]


@dataclass
class KernelCgroup:
    dirs: list[Path] = field(default_factory=list)  # one per controller hierarchy (v1) or one (v2)
    memory_dir: Path | None = None
    memory_events: str = ""  # the file whose counter says the memory limit was hit

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def memory_limit_hit(self) -> bool:
        return self.memory_events_count() > 0

    def memory_events_count(self) -> int:
        """How often the group met its memory limit so far (a zygote's group outlives kernels)."""
        if self.memory_dir is None:
            return 0
        try:
            text = (self.memory_dir / self.memory_events).read_text()
        except OSError:
            return 0
        if self.memory_events == "memory.failcnt":
            return int(text.strip() or 0)
        counts = dict(line.split() for line in text.splitlines() if line.strip())
        return int(counts.get("oom_kill", 0)) + int(counts.get("max", 0))

    def destroy(self) -> None:
        """Kill whatever is left in the group (children of a fork bomb included), remove it."""
        for d in self.dirs:
            for _ in range(50):
                try:
                    pids = [int(p) for p in (d / "cgroup.procs").read_text().split()]
                except OSError:
                    break
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                time.sleep(0.02)
            try:
                d.rmdir()
            except OSError:
                pass


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def create(processes: int, memory: int) -> KernelCgroup | None:
    """A new group with the limits, or None where this machine does not let us make one."""
    if os.geteuid() != 0 or not ROOT.is_dir():
        return None
    name = f"itmal-{OWNER}-{uuid.uuid4().hex[:12]}"
    group = KernelCgroup()
    try:
        unified = ROOT / "cgroup.controllers"
        if unified.is_file() and {"pids", "memory"} <= set(unified.read_text().split()):
            d = ROOT / name
            d.mkdir()
            group.dirs.append(d)
            _write(d / "pids.max", str(processes))
            _write(d / "memory.max", str(memory))
            group.memory_dir, group.memory_events = d, "memory.events"
            return group
        pids, mem = ROOT / "pids", ROOT / "memory"
        if not ((pids / "cgroup.procs").is_file() and (mem / "cgroup.procs").is_file()):
            return None
        for base in (pids, mem):
            d = base / name
            d.mkdir()
            group.dirs.append(d)
        _write(pids / name / "pids.max", str(processes))
        _write(mem / name / "memory.limit_in_bytes", str(memory))
        group.memory_dir, group.memory_events = mem / name, "memory.failcnt"
        return group
    except OSError:
        group.destroy()
        return None


def remove_left_by(owner: str) -> None:
    """The groups made under OWNER `owner` that its process could not remove (it was
    killed): their processes killed, the groups removed. The batch calls this for each worker
    it ends."""
    if os.geteuid() != 0:
        return
    dirs: dict[str, list[Path]] = {}
    for base in (ROOT, ROOT / "pids", ROOT / "memory"):
        try:
            found = [d for d in base.glob(f"itmal-{owner}-*") if d.is_dir()]
        except OSError:
            continue
        for d in found:
            dirs.setdefault(d.name, []).append(d)
    for found in dirs.values():
        KernelCgroup(dirs=found).destroy()
