"""Grading on an existing dask.distributed cluster: `grader grade ... --cluster ADDRESS`.

Only plain data travels. The coordinator (batch.py) sends each submission's bytes, the
configuration and the reference run's answers; a Dask worker grades the submission in a
process of its own (`python -m grader.runners.worker`), in its own sandboxed kernels, and sends
the result back as a dict. The coordinator writes every output, with the same atomic,
resumable bookkeeping as a local run: a lost Dask worker's task is re-run elsewhere by the
scheduler, and a restarted coordinator skips what it has already written.

This module is imported only when --cluster is given: a local run never imports Dask.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from distributed import Client, as_completed
from distributed.client import FutureCancelledError
from distributed.scheduler import KilledWorker

from grader.grade import GradingConfig, find_notebooks
from grader.judge.outcomes import SubmissionResult
from grader.inputs.nofollow import NotAFile, Skipped, opened, read_at_most
from grader.inputs.notebook import MAX_NOTEBOOK_BYTES
from grader.inputs.submissions import MAX_ZIP_BYTES, Submission
from grader.runners.worker import die_with_parent


class ClusterUnavailable(ConnectionError):
    """The cluster cannot be reached; the message says which address and why."""


def connect(address: str, timeout: float = 30) -> Client:
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterUnavailable(f"cannot reach the Dask scheduler at {address}: {exc}") from exc


def pack(sub: Submission) -> tuple[str, bytes, list[list[str]]]:
    """The submission as one file for the wire, and what was skipped in it: a zip or a
    notebook as it is; a folder as a zip of its notebooks (the only files the grader reads,
    found and opened as local grading does: no link followed), which the worker extracts with
    the same safety checks as any handed-in zip. The skipped entries travel beside it, so the
    worker names them as a local run would."""
    if sub.kind == "folder":
        notebooks, skipped = find_notebooks(sub.source)
        skipped = list(skipped)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in notebooks:
                rel = path.relative_to(sub.source).as_posix()
                try:
                    with opened(path, sub.source) as (fd, _):
                        zf.writestr(rel, read_at_most(fd, MAX_NOTEBOOK_BYTES))  # one byte over: refused remotely
                except NotAFile:  # swapped for a link or a FIFO since the walk
                    skipped.append(Skipped(rel, "changed while it was read; not graded"))
        return "zip", buffer.getvalue(), [[s.rel, s.why] for s in skipped]
    with opened(sub.source) as (fd, _):
        return ("zip" if sub.kind == "zip" else "ipynb"), read_at_most(fd, MAX_ZIP_BYTES), []


def folder_files(folder: Path | None) -> dict[str, bytes]:
    """A folder's files (the hidden checks) as plain data, to be written out again remotely."""
    if folder is None or not folder.is_dir():
        return {}
    return {f.relative_to(folder).as_posix(): f.read_bytes() for f in sorted(folder.rglob("*"))
            if f.is_file() and "__pycache__" not in f.parts}


def grade_remotely(job: dict, suffix: str, payload: bytes, hidden: dict[str, bytes], references: bytes,
                   timeout: float) -> dict:
    """Runs on a Dask worker: rebuild the submission, the hidden checks and the reference
    answers in a temporary folder, grade in a child process (`python -m grader.worker`, so a
    crash takes neither the Dask worker nor another task with it), return the saved result."""
    with tempfile.TemporaryDirectory(prefix="itmal-remote-") as tmp:
        tmp = Path(tmp)
        source = tmp / f"{job['name']}.{suffix}"
        source.write_bytes(payload)
        config = dict(job["config"])
        for rel, data in hidden.items():
            target = tmp / "hidden" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        config["hidden_dir"] = str(tmp / "hidden") if hidden else None
        config["references"] = str(tmp / "references.zip")
        (tmp / "references.zip").write_bytes(references)
        config["solutions_dir"] = None  # the worker never runs a reference: it was run once, by the coordinator
        config["cache_dir"] = os.environ.get("ITMAL_CACHE_DIR") or config["cache_dir"]
        out = tmp / "out"
        remote_job = {**job, "config": config, "source": str(source), "out": str(out)}
        (tmp / "job.json").write_text(json.dumps(remote_job))
        proc = subprocess.Popen([sys.executable, "-m", "grader.runners.worker", str(tmp / "job.json")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                                preexec_fn=die_with_parent)  # a lost Dask worker leaves no orphan
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return {"error": f"grading took longer than {timeout:.0f} s"}
        saved = out / "grading.json"
        if proc.returncode != 0 or not saved.is_file():
            lines = err.decode(errors="replace").strip().splitlines()
            return {"error": lines[-1] if lines else f"its worker process exited with status {proc.returncode}"}
        return json.loads(saved.read_text())


class ClusterRunner:
    """Sends jobs to the cluster and yields (job, saved-or-None, why) as results come back."""

    def __init__(self, address: str, config: GradingConfig, references: bytes):
        self.client = connect(address)
        self._futures: dict = {}
        self.config = config
        # sent once to every worker, not once per submission (a list: a scattered dict would
        # become one future per key)
        self.hidden, self.references = self.client.scatter([folder_files(config.hidden_dir), references],
                                                           broadcast=True, hash=False)

    def grade(self, jobs: list[tuple[dict, Submission]], timeout: float,
              started) -> Iterator[tuple[dict, tuple[SubmissionResult, dict] | None, str]]:
        futures = self._futures
        for job, sub in jobs:
            suffix, payload, skipped = pack(sub)
            job = {**job, "skipped": skipped}
            # pure=False: a re-graded submission is a new task, never a cached result
            future = self.client.submit(grade_remotely, job, suffix, payload, self.hidden, self.references,
                                        timeout, pure=False, key=f"grade-{job['name']}-{os.urandom(4).hex()}")
            futures[future] = job
            started(job["name"])
        for future in as_completed(futures, loop=self.client.loop):
            job = futures[future]
            try:
                saved = future.result()
            except KilledWorker:
                yield job, None, "the Dask workers grading it kept dying (out of memory?)"
                continue
            except FutureCancelledError:
                yield job, None, "its task was cancelled on the cluster"
                continue
            except Exception as exc:  # the task itself raised on the worker
                yield job, None, f"grading it failed on the cluster: {type(exc).__name__}: {exc}"
                continue
            if "error" in saved:
                yield job, None, saved["error"]
            else:
                yield job, (SubmissionResult.from_dict(saved["result"]), saved["meta"]), ""

    def finish(self) -> None:
        """After the last result: disconnect."""
        self.close()

    def close(self) -> None:
        """Cancel what is still queued (an interrupted batch) and disconnect."""
        self.client.cancel(list(self._futures), force=True)
        self.client.close()
