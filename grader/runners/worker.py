"""One submission, graded in a process of its own.

The batch runs one worker process per submission, so a crash, hang or memory blow-up in
grading one submission cannot touch another's result. Locally the process is forked from a
server that has already imported the grader (`batch.py`), which saves each submission a
second of imports; `python -m grader.runners.worker JOB.json` runs the same job from a shell. The job
is plain JSON: the configuration, the submission, where to write, the fingerprints to record.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading
import traceback
from pathlib import Path

from grader.grade import GradingConfig, grade_submission
from grader.judge.outcomes import Outcome, QuestionResult, SubmissionResult
from grader.outputs.report import write_submission_outputs
from grader.judge.score import missing_exercise
from grader.inputs.nofollow import Skipped
from grader.inputs.submissions import Submission, SubmissionRejected, materialize


def rejected(name: str, why: str, config: GradingConfig) -> SubmissionResult:
    questions = [q for ex in config.catalogue().values()
                 for q in missing_exercise(ex, f"the submission could not be opened: {why}", Outcome.MISSING)]
    return SubmissionResult(name=name, questions=questions, sandbox=config.sandbox.describe(), notes=[why])


def grade_job(job: dict) -> tuple[SubmissionResult, dict]:
    """Grade the job's submission; return the result and the metadata to record beside it."""
    config = GradingConfig.from_dict(job["config"])
    sub = Submission(job["name"], Path(job["source"]), job.get("handed_in", ""))
    with tempfile.TemporaryDirectory(prefix="itmal-submission-") as tmp:
        try:
            path = materialize(sub, Path(tmp))
        except SubmissionRejected as exc:
            result = rejected(sub.name, str(exc), config)
        else:
            # one notebook handed in as the whole submission: graded for every exercise
            only = set(config.catalogue()) if sub.kind == "notebook" else None
            if job.get("exercises") is not None:
                only = set(job["exercises"])
            # entries a cluster's coordinator skipped in a folder before packing it
            skipped = [Skipped(rel, why) for rel, why in job.get("skipped", [])]
            result = grade_submission(path, config, only=only, skipped=skipped)
    result.name, result.source = sub.name, sub.handed_in
    result = with_kept(result, job, config)
    # the kernels' time, not the wall clock: hidden requests' time must reach no output
    return result, {**job["meta"], "seconds": result.seconds}


def with_kept(result: SubmissionResult, job: dict, config: GradingConfig) -> SubmissionResult:
    """For a run of some exercises (job["exercises"]): the result of those, and for every other
    exercise the questions the batch kept of the earlier result (job["keep"]), in the
    catalogue's order; an exercise neither graded nor kept has no questions (blank)."""
    wanted = job.get("exercises")
    if wanted is None:
        return result
    catalogue = config.catalogue()
    kept = {q["id"]: QuestionResult.from_dict(q) for q in (job.get("keep") or {}).get("questions", [])}
    graded = {q.id: q for q in result.questions}
    questions, have, never = [], [], []
    for name, exercise in catalogue.items():
        source = graded if name in wanted else kept
        found = [source[q.id] for q in exercise.questions if q.id in source]
        questions += found
        if name not in wanted:
            (have if found else never).append(name)
    if have or never:
        parts = [f"this run graded only {', '.join(wanted)}"]
        parts += [f"earlier results kept for {', '.join(have)}"] if have else []
        parts += [f"not graded: {', '.join(never)}"] if never else []
        result.notes.append("; ".join(parts))
    result.questions = questions
    return result


def run_job(job: dict) -> None:
    result, meta = grade_job(job)
    write_submission_outputs(result, Path(job["out"]), meta)


def forked_main(job: dict, log: str, lifeline) -> None:
    """Entry point of a worker forked by the batch: a session of its own (so the batch can
    kill it with its kernels), the batch's environment, output to `log`, exit status = outcome.
    `lifeline` is a pipe whose other end the batch holds: when the batch ends, even by
    SIGKILL, the pipe closes and the worker kills itself rather than grade on as an orphan
    (its sandboxed kernels die with it: bubblewrap's --die-with-parent)."""
    os.setsid()
    threading.Thread(target=_die_when_closed, args=(lifeline,), daemon=True).start()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.environ.clear()
    os.environ.update(job.get("env", {}))
    try:
        run_job(job)
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip the forked interpreter's cleanup: nothing of it is ours to tear down


def _die_when_closed(lifeline) -> None:
    try:
        lifeline.recv()
    except (EOFError, OSError):
        pass
    os.kill(os.getpid(), signal.SIGKILL)


def die_with_parent() -> None:
    """SIGKILL this process when its parent dies (Linux prctl PR_SET_PDEATHSIG; a no-op where
    prctl is missing). For a child of a Dask worker: a lost worker leaves no orphan grading on."""
    parent = os.getppid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    run_job(json.loads(Path(args[0]).read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
