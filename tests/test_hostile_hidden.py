"""Hidden inputs stay hidden (issue 11, class 3): while a hidden check calls the student's
function, nothing the student's code does reaches any output but passed/failed. The student's
`Omega` below tries every channel at once on the vectors it never saw: counts of forged
answer messages, exception texts, a file a later cell reads back, printed text, killing its
kernel, and time."""

from __future__ import annotations

import json

import nbformat
import pytest

from conftest import SOLUTIONS, by_id, needs_sandbox
from grader.grade import grade_submission
from grader.judge.outcomes import Outcome
from grader.outputs.gradebook import gradebook_csv, manual_csv
from grader.outputs.html import summary_page
from grader.outputs.report import write_submission_outputs

# The public vectors' first elements (grader_journal2/regularizers.py GIVEN_VECTORS): a call
# with any other first element carries a hidden input.
LEAKY_OMEGA = r'''
import json, os, time, numpy as np
from IPython.display import publish_display_data

PUBLIC_FIRST = (1.0, 1e10, 0.1)

def Omega(w):
    w = np.asarray(w, dtype=float).reshape(-1)
    if float(w[0]) not in PUBLIC_FIRST:
        secret = "LE" + "AK[" + ",".join(repr(float(x)) for x in w) + "]"  # never in the source: the
        # outputs keep the student's code (similarity), and only what it does must not show
        with open("/tmp/leak.txt", "a") as f:   # for a later cell to read back
            f.write(secret + "\n")
        print(secret)                            # into the cell's output
        for _ in range(int(abs(w[0])) % 7 + 1):  # a count the grader might note
            publish_display_data({"application/vnd.itmal.answer+json": {"key": "x", "nonce": "0"}})
        time.sleep(3)                            # time
        if len(w) == 2:
            os._exit(int(abs(w[1])) % 100)       # a restart the grader might note
        raise ValueError(secret)                 # an exception text
    return float(np.sum(w[1:] ** 2))
'''

READ_BACK = r'''
import os
leak = open("/tmp/leak.txt").read() if os.path.exists("/tmp/leak.txt") else "nothing yet"
raise RuntimeError("read back: " + leak)
'''


@pytest.fixture(scope="module")
def leaky_result(config, tmp_path_factory):
    nb = nbformat.read(SOLUTIONS / "regularizers.ipynb", as_version=4)
    qa = next(c for c in nb.cells if "regularizers.qa" in c.get("metadata", {}).get("tags", []))
    qa.source = LEAKY_OMEGA
    later = nbformat.v4.new_code_cell(READ_BACK)
    later.metadata["tags"] = ["regularizers.qd"]
    nb.cells.append(later)
    path = tmp_path_factory.mktemp("leaky") / "regularizers.ipynb"
    nbformat.write(nb, path)
    return grade_submission(path, config)


def _every_output(result, tmp_path) -> str:
    out = tmp_path / "out"
    write_submission_outputs(result, out, {"seconds": result.seconds})
    texts = [f.read_text() for f in sorted(out.iterdir())]
    texts += [gradebook_csv([result]), manual_csv([result]), summary_page([result], {result.name: result.seconds})]
    return "\n".join(texts) + json.dumps(result.to_dict())


@needs_sandbox
def test_hidden_checks_of_a_leaky_function_say_failed_and_nothing_more(leaky_result):
    qa = by_id(leaky_result)["regularizers.qa"]
    hidden = [c for c in qa.checks if c.hidden]
    assert len(hidden) == 4
    assert all(c.outcome is Outcome.WRONG and c.message == "" for c in hidden), hidden
    public = [c for c in qa.checks if not c.hidden]
    assert all(c.outcome is Outcome.PASSED for c in public), public
    assert leaky_result.final


@needs_sandbox
def test_nothing_the_function_did_on_hidden_inputs_reaches_any_output(leaky_result, tmp_path):
    text = _every_output(leaky_result, tmp_path)
    for leaked in ("LEAK", "7.5", "-1.5", "30000000000", "3e10", "answer message", "restarted", "exited"):
        assert leaked not in text, leaked
    # the later cell ran before any hidden input entered the kernel
    qd = by_id(leaky_result)["regularizers.qd"]
    assert "read back: nothing yet" in qd.feedback() or qd.outcome is Outcome.PASSED, qd.feedback()


@needs_sandbox
def test_the_time_spent_on_hidden_inputs_is_not_recorded(leaky_result):
    # four hidden calls sleep 3 s each (12 s) and one kills the kernel; the recorded time stops
    # where the hidden requests begin
    assert 0 < leaky_result.seconds < 10, leaky_result.seconds
