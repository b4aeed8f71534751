"""One kernel request per fetch point (issue 16): every answer due after a cell travels in one
request, yet each answer keeps a request's time, and one that fails costs only itself."""

from __future__ import annotations

import time
from dataclasses import replace

import nbformat

from conftest import TEST_LIMITS
from grader.kernel.execute import END, FetchPlan, execute_notebook
from grader.kernel.requests import Call, Request, value

CELLS = ["import os, time\na, b, c = 1, [2, 3], 'four'\n"
         "def nap(seconds, n):\n    time.sleep(seconds)\n    return n\n"
         "def die(status):\n    os._exit(status)\n"]


def call(function: str, *args) -> Call:
    return Call(key=f"{function}{args}", function=function, args=args)


def run(fetch: list[Request], config, cell_timeout: float):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in CELLS]
    plan = FetchPlan()
    for request in fetch:
        plan.add(END, "q", request)
    limits = replace(TEST_LIMITS, cell_timeout=cell_timeout, notebook_timeout=120)
    started = time.monotonic()
    execution = execute_notebook(nb, plan, limits=limits, sandbox=config.sandbox)
    return execution.answers["q"], time.monotonic() - started


def test_each_answer_of_a_batch_gets_a_requests_time(config):
    # three answers of 2 s each: 6 s in one request, yet none is over the 3 s each may take
    slow = [call("nap", 2, n) for n in range(3)]
    answers, _ = run(slow, config, cell_timeout=3)
    assert [(answers[r.key].status, answers[r.key].value) for r in slow] == [("ok", 0), ("ok", 1), ("ok", 2)]


def test_an_answer_that_hangs_costs_only_itself(config):
    hang = call("nap", 600, 0)
    answers, took = run([value("a"), hang, value("b"), value("c")], config, cell_timeout=3)
    assert answers["a"].value == 1 and answers["b"].value == [2, 3] and answers["c"].value == "four"
    assert answers[hang.key].status == "error" and "took too long" in answers[hang.key].message
    assert took < 60  # interrupted after its 3 s, not left to run


def test_an_answer_that_kills_the_kernel_costs_only_itself(config):
    die = call("die", 3)
    answers, _ = run([value("a"), die, value("b"), value("c")], config, cell_timeout=10)
    assert answers["a"].value == 1
    assert answers[die.key].status == "error" and "killed the kernel" in answers[die.key].message
    # the kernel is restarted and the notebook replayed: the answers after it still come
    assert answers["b"].value == [2, 3] and answers["c"].value == "four"


def test_after_a_cell_times_out_only_the_grader_reads_the_kernels_output(config, monkeypatch):
    """nbclient's output poller, left running by a timed-out cell, read the same socket as the
    grader's interrupt and took its messages: the grader then waited for ever (seen under load)."""
    import asyncio

    import grader.kernel.execute as execute

    readers_at_interrupt = []
    interrupt = execute._Runner.interrupt

    async def watched(self):
        readers_at_interrupt.append([t for t in asyncio.all_tasks() if not t.done()
                                     and getattr(t.get_coro(), "__qualname__", "").startswith("NotebookClient.")])
        return await interrupt(self)

    monkeypatch.setattr(execute._Runner, "interrupt", watched)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import time\nwhile True:\n    time.sleep(0.1)\n"),
                nbformat.v4.new_code_cell("after = 42\n")]
    plan = FetchPlan()
    plan.add(END, "q", value("after"))
    limits = replace(TEST_LIMITS, cell_timeout=3, notebook_timeout=60)
    execution = execute_notebook(nb, plan, limits=limits, sandbox=config.sandbox)
    assert execution.cells[0].status == "timeout" and execution.answers["q"]["after"].value == 42
    assert readers_at_interrupt == [[]]
