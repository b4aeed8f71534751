"""Submissions, graded in a worker process apart from the batch.

Locally the batch keeps `jobs` worker processes, forked from a server that has already
imported the grader (`batch.py`), and each grades one submission after another (`serve`):
the grader's imports and the warm kernels' zygote are paid once per worker, not once per
submission. A crash, hang or memory blow-up in grading one submission ends that worker only:
the batch records that submission as failed (or tries it once more) and starts a fresh worker;
no other result is touched. Each kernel runs as a uid of its own (`sandbox.new_kernel_uid`);
a worker retires once it has used `sandbox.RETIRE_AFTER_UIDS` of its uids.
`python -m grader.runners.worker JOB.json` runs one job from a shell. The job is plain JSON:
the configuration, the submission, where to write, the fingerprints to record.
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
from grader.kernel import cgroups, sandbox, zygote
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


def serve(jobs, log: str, lifeline, owner: str) -> None:
    """Entry point of a worker forked by the batch: a session of its own (so the batch can
    kill it with its kernels), output to `log`; grades each job received on `jobs` in the
    batch's environment and answers "done" (or "last", when it has used half of its kernel
    uids, and ends), until it receives None. A job that raises ends the worker with status 1
    (the traceback in `log`): no half-graded state is carried on.
    `lifeline` is a pipe whose other end the batch holds: when the batch ends, even by
    SIGKILL, the pipe closes and the worker kills itself rather than grade on as an orphan
    (its sandboxed kernels die with it: bubblewrap's --die-with-parent). `owner` names the
    control groups this worker makes, so that the batch can remove them if it is killed."""
    os.setsid()
    threading.Thread(target=_die_when_closed, args=(lifeline,), daemon=True).start()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    cgroups.OWNER = owner
    code = 0
    try:
        while (job := jobs.recv()) is not None:
            os.environ.clear()
            os.environ.update(job.get("env", {}))
            run_job(job)
            sys.stdout.flush()
            sys.stderr.flush()
            if sandbox.kernel_uids_used() >= sandbox.RETIRE_AFTER_UIDS:
                jobs.send("last")
                break
            jobs.send("done")
    except EOFError:
        pass  # the batch is gone
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        zygote.stop_all()  # its sandbox and cgroup: os._exit below skips atexit
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # skip the forked interpreter's cleanup: nothing else of it is ours to tear down


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
