"""The grader's array inputs (held-out digits: 7.8 MB) travel to the kernel as binary buffers of
a comm message, not inside the fetch's code, where ipykernel would hash them in pure Python and
IPython transform them: seconds per request (issue 16). Real kernels, real sizes."""

from __future__ import annotations

from dataclasses import replace

import nbformat
import numpy as np
import pytest

from conftest import TEST_LIMITS
from grader.kernel import execute
from grader.kernel.execute import END, FetchPlan, execute_notebook
from grader.kernel.requests import Call, Predict, encode_input, fetch_code, value

DIGITS = np.random.default_rng(0).integers(0, 256, size=(10_000, 784), dtype=np.uint8)
DEFINE = ("import numpy as np\n"
          "def total(x):\n    return float(x.astype(np.float64).sum())\n"
          "class Rows:\n    def predict(self, X):\n        return X[:, 0].astype(np.int64)\n"
          "model = Rows()\nanswer = 42\n")


def requests() -> list:
    return [Call(key="total(digits)", function="total", args=(DIGITS,)),
            Predict(key="model.predict(digits)", model="model", features=DIGITS), value("answer")]


def run(cells: list[str], config, monkeypatch, warm: bool = True) -> tuple[dict, list[int]]:
    sizes: list[int] = []
    original = execute._Runner.raw_execute

    async def measured(self, code, timeout, **kwargs):
        if "__itmal_fetch" in code:
            sizes.append(len(code))
        return await original(self, code, timeout, **kwargs)

    monkeypatch.setattr(execute._Runner, "raw_execute", measured)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in cells]
    plan = FetchPlan()
    for request in requests():
        plan.add(END, "q", request)
    execution = execute_notebook(nb, plan, limits=replace(TEST_LIMITS, notebook_timeout=120), sandbox=config.sandbox,
                                 warm=warm)
    return execution.answers["q"], sizes


def test_one_copy_of_an_array_goes_beside_the_code():
    buffers: list[bytes] = []
    code = fetch_code(requests(), ["n1", "n2", "n3"], buffers=buffers, token="t")
    assert buffers == [encode_input(DIGITS)["npy"]]  # two requests, one array: sent once
    assert len(code) < 20_000
    inline = fetch_code(requests(), ["n1", "n2", "n3"])  # the in-notebook self-check runs it in-process
    assert len(inline) > 2 * DIGITS.nbytes


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_large_inputs_reach_the_students_code_intact(config, monkeypatch, warm):
    # %reset clears the student's globals: the inputs must not depend on them
    answers, sizes = run(["%reset -f\n" + DEFINE], config, monkeypatch, warm)
    assert answers["total(digits)"].value == float(DIGITS.astype(np.float64).sum())
    assert np.array_equal(answers["model.predict(digits)"].value, DIGITS[:, 0])
    assert answers["answer"].value == 42
    assert sizes and max(sizes) < 100_000, sizes  # the 10 MB of base64 stayed out of the code


def test_a_cell_that_removes_the_inputs_channel_fails_only_the_requests_that_need_it(config, monkeypatch):
    hostile = DEFINE + "import comm\ncomm.get_comm_manager().targets.clear()\n"
    answers, _ = run([hostile], config, monkeypatch)
    for key in ("total(digits)", "model.predict(digits)"):
        assert answers[key].status == "error", answers[key]
        assert "did not reach" in answers[key].message, answers[key].message
    assert answers["answer"].value == 42
