"""Plain nbclient, the floor every overhead figure is compared with: one notebook executed in
a fresh ipykernel of this Python, unsandboxed, with the same environment variables, working
files (the course helpers) and time limit the grader gives its kernel; nothing else (no
answers fetched, no checks). Prints the seconds the execution took.

    python benchmarks/plain_nbclient.py NOTEBOOK CONFIG_JSON   # GradingConfig.to_dict()

run_all.plain_execute runs it in a process of its own: nbclient leaves each run's zmq
contexts and heartbeat thread behind (about 20 file descriptors per notebook), and a long
benchmark in one process runs out of them. `jupyter execute` is one process per run too.
The time measured is the same interval as in-process: the kernel's start to its shutdown.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import nbformat  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from grader.grade import GradingConfig  # noqa: E402
from grader.kernel.execute import copy_support_files  # noqa: E402
from grader.kernel.manager import SEED  # noqa: E402
from grader.kernel.sandbox import kernel_environment  # noqa: E402


def execute(path: Path, config: GradingConfig) -> float:
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="itmal-plain-") as tmp:
        scratch = Path(tmp)
        copy_support_files(config.assignment_package().support_files, scratch)
        env = kernel_environment(scratch, SEED, False, config.kernel_options())
        # the grader's transport too: ipc (Unix sockets), not tcp
        km = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=str(scratch / "kernel"))
        start = time.monotonic()
        client = NotebookClient(nb, km=km, kernel_name="python3", timeout=config.limits.cell_timeout,
                                resources={"metadata": {"path": str(scratch)}})
        client.execute(env=env, cwd=str(scratch))
        return time.monotonic() - start


if __name__ == "__main__":
    print(execute(Path(sys.argv[1]), GradingConfig.from_dict(json.loads(sys.argv[2]))))
