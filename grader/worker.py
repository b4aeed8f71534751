"""One submission, graded in a process of its own (`python -m grader.worker JOB.json`).

The batch runs one worker per submission, so a crash, hang or memory blow-up in grading one
submission cannot touch another's result. The job file is plain JSON: the configuration,
the submission, where to write, and the fingerprints to record.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from .grade import GradingConfig, grade_submission
from .outcomes import Outcome, SubmissionResult
from .report import write_submission_outputs
from .score import missing_exercise
from .submissions import Submission, SubmissionRejected, materialize


def rejected(name: str, why: str, config: GradingConfig) -> SubmissionResult:
    questions = [q for ex in config.catalogue().values()
                 for q in missing_exercise(ex, f"the submission could not be opened: {why}", Outcome.MISSING)]
    return SubmissionResult(name=name, questions=questions, sandbox=config.sandbox.describe(), notes=[why])


def run_job(job: dict) -> None:
    config = GradingConfig.from_dict(job["config"])
    sub = Submission(job["name"], Path(job["source"]))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="itmal-submission-") as tmp:
        try:
            path = materialize(sub, Path(tmp))
        except SubmissionRejected as exc:
            result = rejected(sub.name, str(exc), config)
        else:
            # one notebook handed in as the whole submission: graded for every exercise
            only = set(config.catalogue()) if sub.kind == "notebook" else None
            result = grade_submission(path, config, only=only)
    result.name = sub.name
    meta = {**job["meta"], "seconds": round(time.monotonic() - started, 2)}
    write_submission_outputs(result, Path(job["out"]), meta)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    run_job(json.loads(Path(args[0]).read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
