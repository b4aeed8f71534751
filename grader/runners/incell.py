"""The in-notebook self-check: `from itmal_grader import check; check("perceptron.qd")`.

The third runner on the one catalogue: it fetches the public checks' answers from the live
kernel's namespace with the very code the grader sends to a sandboxed kernel
(`requests.answer_function_code`), run in-process; the answers pass the same validation
(`plaindata.decode_answer`) and the same checks score them (`score.score_question`). No
sandbox and no kernel start: the student's code already runs in their own kernel. What only
the instructor's run judges, and what needs the saved notebook (text answers, figures), is
said to be left to others, never counted as passed.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

from grader.judge.assignments import load as load_assignment
from grader.judge.catalogue import Exercise, Question, with_hidden_checks
from grader.judge.outcomes import Outcome, QuestionResult
from grader.judge import public_store
from grader.judge.score import score_question
from grader.kernel.execute import Execution
from grader.kernel.plaindata import Answer, decode_answer
from grader.kernel.requests import answer_function_code, request_spec

NOT_IN_NOTEBOOK = "checked by `pytest` on the saved notebook (it reads the notebook's cells, not the kernel)"
SIGNS = {Outcome.PASSED: "passed", Outcome.NOT_CHECKED: "not checked here"}


class UnknownQuestion(LookupError):
    pass


def _notebook_name(namespace: dict) -> str:
    """The running notebook's file name, where the front end says it (JupyterLab, Notebook 7,
    VS Code); "" where it does not."""
    for found in (os.environ.get("JPY_SESSION_NAME"), namespace.get("__session__"),
                  namespace.get("__vsc_ipynb_file__")):
        if isinstance(found, str) and found:
            return Path(found).name
    return ""


def select(what: str | None, exercises: dict[str, Exercise], namespace: dict) -> list[tuple[Exercise, Question]]:
    """The questions `what` names: "perceptron.qd", "perceptron", or None (this notebook's)."""
    if what is None:
        stem = _notebook_name(namespace).lower().removesuffix(".ipynb").replace("-", "_")
        matches = [name for name in exercises if name in stem]
        if not matches:
            raise UnknownQuestion("say which exercise to check, e.g. check(\"perceptron\"): the notebook's "
                                  "name does not tell")
        what = max(matches, key=len)
    name = what.split(".")[0]
    if name not in exercises:
        raise UnknownQuestion(f"no exercise {what!r}; the exercises are: {', '.join(exercises)}")
    questions = [q for q in exercises[name].questions if what in (name, q.id)]
    if not questions:
        raise UnknownQuestion(f"no question {what!r}; {name} has "
                              f"{', '.join(q.id for q in exercises[name].questions)}")
    return [(exercises[name], q) for q in questions]


def fetch_in_process(question: Question, namespace: dict) -> dict[str, Answer]:
    """The answers of the question's public, code-judged checks, computed in `namespace`."""
    exec(compile(answer_function_code(), "<itmal-grader>", "exec"), namespace)
    answer = namespace.pop("__itmal_answer")
    answers: dict[str, Answer] = {}
    for check in question.checks:
        if check.instructor_only:
            continue
        for request in check.needs:
            if request.key not in answers:
                answers[request.key] = decode_answer(answer(request_spec(request)), request.key)
    return answers


def check_question(exercise: Exercise, question: Question, namespace: dict, profile: str,
                   store: Path | None) -> QuestionResult:
    execution = Execution(cells={}, answers={question.id: fetch_in_process(question, namespace)}, events=[],
                          sandbox="", seconds=0.0, notebook=nbformat.v4.new_notebook())
    public = (public_store.read(store, exercise.name, profile) or {}).get(question.id)
    result = score_question(question, execution, None, None, public)
    for check, cr in zip(question.checks, result.checks):
        if check.judges == "text" or not check.needs and not check.instructor_only:
            cr.outcome, cr.message = Outcome.NOT_CHECKED, NOT_IN_NOTEBOOK
    return result


def render(result: QuestionResult) -> str:
    here_max = round(result.max_points - result.unchecked_points, 4)
    head = f"{result.id} ({result.title}): {result.points:g}/{here_max:g} points checked here"
    if result.unchecked_points:
        head += f"; {result.unchecked_points:g} more judged by pytest or only by the instructor's run"
    lines = [head]
    for cr in result.checks:
        state = SIGNS.get(cr.outcome, cr.outcome.label)
        message = f": {cr.message}" if cr.message and cr.outcome is not Outcome.PASSED else ""
        lines.append(f"  - {cr.name}: {state}{message}".replace("\n", "\n      "))
    return "\n".join(lines)


def check(what: str | None = None, *, namespace: dict | None = None) -> list[QuestionResult]:
    """Check `what` ("perceptron.qd", "perceptron", or this notebook's exercise) against the
    live namespace (IPython's, unless given) and print the result."""
    if os.environ.get("ITMAL_GRADING"):  # the grader's own run of the notebook: checks run outside
        return []
    if namespace is None:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None:
            raise RuntimeError("check() runs inside a Jupyter notebook (or IPython)")
        namespace = shell.user_ns
    assignment = load_assignment(None)
    exercises = with_hidden_checks(assignment.exercises, None)
    profile = os.environ.get("ITMAL_PROFILE", "quick")
    results = [check_question(ex, q, namespace, profile, assignment.public_store)
               for ex, q in select(what, exercises, namespace)]
    print("\n".join(render(r) for r in results))
    return results
