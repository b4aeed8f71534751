"""Judging: run each question's checks on the plain data an execution produced.

Nothing here talks to a kernel. An answer that is missing or broken becomes the right kind
of outcome: "missing" when the student did not attempt it (a None answer, an untouched
`raise NotImplementedError()`), "student code failed" with the traceback of the cell that
raised, "timed out" or "kernel died" when the question's cells never finished.
"""

from __future__ import annotations

from typing import Any

from grader.judge.catalogue import HIDDEN_LEFT_TO_INSTRUCTOR, INSTRUCTOR, LEFT_TO_INSTRUCTOR, Exercise, Question
from grader.judge.checks import CheckFailed
from grader.kernel.execute import END, CellRun, Execution, FetchPlan, cell_label
from grader.kernel.manager import NOT_IN_KERNEL
from grader.inputs.locate import QuestionCells, answer_text
from grader.judge.outcomes import CheckResult, Outcome, QuestionResult
from grader.kernel.plaindata import Answer


MAX_FIGURES_KEPT = 4  # per question, for feedback pages


class NoReference(Exception):
    """The reference run is not available here (e.g. a student without the solutions)."""


class GraderError(Exception):
    """The grader itself could not judge a check; never counted against the student."""


def build_plan(exercise: Exercise, located: dict[str, QuestionCells], plan: FetchPlan, *,
               self_check: bool = False) -> FetchPlan:
    """Add to `plan`: fetch each question's answers right after its last code cell (at the
    end of the notebook if none was found); what only hidden checks need, after everything
    else (FetchPlan.hidden). A `self_check` (no reference run) fetches nothing for the checks
    it leaves to the instructor: their inputs (held-out data) are not a student's to have."""
    for q in exercise.questions:
        cells = located.get(q.id)
        after = max(cells.code) if cells and cells.code else END
        public = {r.key for c in q.checks if not c.hidden for r in c.needs}
        seen = set()
        for check in q.checks:
            if self_check and check.instructor_only:
                continue
            for request in check.needs:
                if request.key not in seen:
                    seen.add(request.key)
                    if request.key in public:
                        plan.add(after, q.id, request)
                    else:
                        plan.add_hidden(q.id, request)
    return plan


class Evidence:
    """What a check may look at for one question: fetched answers, the reference run's
    answers, the figures its cells showed and its text answer."""

    def __init__(self, question: Question, answers: dict[str, Answer], reference: dict[str, Answer] | None,
                 figures: list[str], text: str, public: dict[str, Answer] | None = None):
        self.question = question
        self._answers = answers
        self._reference = reference
        self._public = public or {}  # the public reference store's values (a self-check's)
        self._figures = figures
        self._text = text
        self.metrics: dict[str, float | str] = {}
        self.read: list[str] = []  # the student's answers this check has looked at, in order

    def answer(self, key: str) -> Any:
        if key not in self.read:
            self.read.append(key)
        return unwrap(key, self._answers.get(key, Answer("not_run", message="not fetched")))

    def reference(self, key: str) -> Any:
        if self._reference is None:
            if key in self._public:  # a value the assignment ships (public_store.py)
                return self._public[key].value
            raise NoReference("needs the reference solution's run; it is checked when your instructor grades")
        ans = self._reference.get(key)
        if ans is None or not ans.ok or ans.value is None:
            why = ans.message if ans is not None else "not fetched"
            raise GraderError(f"the reference solution has no usable {key} ({why})")
        return ans.value

    def figures(self) -> list[str]:
        return self._figures

    def text(self) -> str:
        return self._text

    def record(self, name: str, value: float | str) -> None:
        """Keep a plain number or text a check measured, for reports (e.g. a leaderboard)."""
        self.metrics[name] = value


def unwrap(key: str, ans: Answer) -> Any:
    """The answer's value, or the CheckFailed that says why there is none."""
    if ans.status == "ok":
        if ans.value is None:
            raise CheckFailed(Outcome.MISSING, f"{key} is still None: this part has not been answered")
        return ans.value
    if ans.status == "missing":
        raise CheckFailed(Outcome.MISSING, f"{key} is not defined in the notebook ({ans.message})")
    if ans.status == "error":
        if ans.message.startswith("NotImplementedError"):
            raise CheckFailed(Outcome.MISSING, f"{key}: not implemented yet (still raises NotImplementedError)")
        tb = f"\n{ans.traceback}" if ans.traceback else ""
        raise CheckFailed(Outcome.CODE_FAILED, f"computing {key} raised {ans.message}{tb}")
    if ans.status in ("invalid", "unsupported"):
        raise CheckFailed(Outcome.WRONG, f"{key} is not a usable answer: {ans.message}")
    raise CheckFailed(Outcome.MISSING, f"{key} could not be fetched: {ans.message}")


def _cell_failure(execution: Execution, cells: QuestionCells | None) -> CellRun | None:
    """The first of the question's cells that did not run cleanly."""
    if cells is None:
        return None
    return execution.first_failure(cells.code)


def _import_hint(failure: CellRun) -> str:
    """For a failed import: which packages the grading kernel has (unless the error says so already)."""
    if failure.ename != "ModuleNotFoundError" or NOT_IN_KERNEL in failure.evalue:
        return ""
    return f" (Note: {NOT_IN_KERNEL}.)"


def _explain(failure: CellRun, result: CheckResult, nb=None, judges: str = "code") -> CheckResult:
    """Turn a check that failed for lack of an answer into what really happened in the cell."""
    if result.outcome not in (Outcome.MISSING, Outcome.CODE_FAILED, Outcome.WRONG) or failure is None:
        return result
    where = cell_label(failure.index, nb)
    if failure.status == "error":
        if failure.ename == "NotImplementedError":
            result.outcome, result.message = Outcome.MISSING, f"not implemented yet ({where} still raises NotImplementedError)"
        elif result.outcome is Outcome.MISSING:
            result.outcome = Outcome.CODE_FAILED
            result.message = (f"{where} raised {failure.ename}: {failure.evalue}, so this could not be "
                              f"checked.{_import_hint(failure)}\n{failure.traceback}")
        elif result.outcome is Outcome.WRONG and judges == "code":
            # The cell set the answer, then raised: what was checked is whatever the code had got
            # to (often the stub's or a placeholder value), so the crash is the news, not the value.
            result.outcome = Outcome.CODE_FAILED
            result.message = (f"{where} raised {failure.ename}: {failure.evalue}, so the code did not finish "
                              f"and its answer could not count (the check saw: {result.message}).\n"
                              f"{failure.traceback}")
    elif failure.status == "timeout":
        result.outcome, result.message = Outcome.TIMED_OUT, f"{where}: {failure.reason}"
    elif failure.status == "died":
        result.outcome, result.message = Outcome.KERNEL_DIED, f"{where}: {failure.reason}"
    elif failure.status == "not_run":
        outcome = Outcome.TIMED_OUT if "time limit" in failure.reason else Outcome.KERNEL_DIED
        if "grader error" in failure.reason:
            outcome = Outcome.GRADER_ERROR
        result.outcome, result.message = outcome, f"{where} never ran: {failure.reason}"
    return result


def _safe_text(exc: BaseException, limit: int = 300) -> str:
    """`Type: message` of an exception raised on student data: never raises, stays short."""
    try:
        text = str(exc)
    except Exception:
        text = ""
    return f"{type(exc).__name__}: {text[:limit]}" if text else type(exc).__name__


def _blame(check, exc: Exception, ev: Evidence, reference: dict[str, Answer] | None) -> tuple[Outcome, str]:
    """A check raised something other than CheckFailed: whose fault is it?

    Everything a student's answers hold is theirs (10**400, a ragged list, a dict where
    numbers were expected), so a check that stumbles on them must not become a grader error,
    which is never final and re-graded for ever. The test is a control run: the same check
    on the reference solution's answers for the keys it read. If it gets through that (pass
    or fail), the check works and it was the student's values that broke it: a wrong answer,
    "not a usable answer". If it breaks there too (or raises GraderError), or cannot be run
    (no reference, no answers read), it is the grader's fault, as before."""
    fault = (Outcome.GRADER_ERROR, f"the check itself failed: {_safe_text(exc)}")
    keys = list(ev.read)
    if not keys or reference is None:
        return fault
    for key in keys:
        ans = reference.get(key)
        if ans is None or not ans.ok or ans.value is None:
            return fault
    control = Evidence(ev.question, dict(reference), reference, ev.figures(), ev.text())
    try:
        check.run(control)
    except (CheckFailed, NoReference):
        pass
    except Exception:  # GraderError included: the check fails on the reference's answers too
        return fault
    which = ", ".join(keys[:3]) + (" ..." if len(keys) > 3 else "")
    return (Outcome.WRONG, f"{which} is not a usable answer: the check could not use the value "
                           f"({_safe_text(exc)})")


MAX_CODE_KEPT = 100_000  # characters of a question's code kept for the similarity report


def code_sources(nb, cells: QuestionCells | None) -> list[str]:
    """The question's code cells as plain strings, up to MAX_CODE_KEPT characters in all."""
    kept, room = [], MAX_CODE_KEPT
    for i in cells.code if cells else []:
        source = nb.cells[i].source if isinstance(nb.cells[i].source, str) else ""
        if source.strip() and room > 0:
            kept.append(source[:room])
            room -= len(kept[-1])
    return kept


def score_question(question: Question, execution: Execution, cells: QuestionCells | None,
                   reference: dict[str, Answer] | None, public: dict[str, Answer] | None = None) -> QuestionResult:
    """`public`: where there is no reference run, the public reference store's values."""
    answers = execution.answers.get(question.id, {})
    figures = [f for i in (cells.code if cells else []) for f in execution.cells.get(i, CellRun(i)).figures]
    text = answer_text(execution.notebook, cells) if cells else ""
    ev = Evidence(question, answers, reference, figures, text, public)
    failure = _cell_failure(execution, cells)
    result = QuestionResult(question.id, question.title, question.points, answer_text=text,
                            figures=figures[:MAX_FIGURES_KEPT], optional=question.optional,
                            code=code_sources(execution.notebook, cells),
                            all_or_nothing=question.all_or_nothing)
    # the student's tracebacks (the failed cell's, the fetched answers'): each shown once
    tracebacks = list(dict.fromkeys(tb for tb in [failure.traceback if failure else "",
                                                  *(a.traceback for a in answers.values())] if tb.strip()))
    shown: dict[str, str] = {}
    for check in question.checks:
        cr = CheckResult(check.name, Outcome.PASSED, weight=check.weight, hidden=check.hidden)
        if reference is None and check.judged_by == INSTRUCTOR:
            # A self-check (no reference run): the catalogue leaves this check to the
            # instructor's run. It is not run at all, so nothing here guesses at its verdict.
            cr.outcome = Outcome.NOT_CHECKED
            cr.message = HIDDEN_LEFT_TO_INSTRUCTOR if check.hidden else LEFT_TO_INSTRUCTOR
            result.checks.append(cr)
            continue
        try:
            check.run(ev)
        except CheckFailed as exc:
            cr.outcome, cr.message = exc.outcome, exc.message
            cr = _explain(failure, cr, execution.notebook, check.judges)
        except NoReference as exc:
            cr.outcome, cr.message = Outcome.NOT_CHECKED, str(exc)
        except GraderError as exc:
            cr.outcome, cr.message = Outcome.GRADER_ERROR, str(exc)
        except Exception as exc:  # a bug in the check (grader error), or a value it cannot use (wrong)
            cr.outcome, cr.message = _blame(check, exc, ev, reference)
        if failure is not None and failure.status != "error" and check.judges == "code":
            # A cell of this question hung or took the kernel down: nothing its code
            # produced counts, even where a value happened to be fetched after a restart.
            cr.outcome, cr.message = Outcome.MISSING, ""
            cr = _explain(failure, cr, execution.notebook)
        if check.hidden:
            cr = _passed_or_failed(cr)
        cr.message = _traceback_once(cr, tracebacks, shown)
        result.checks.append(cr)
    result.metrics = dict(ev.metrics)
    return result


def _traceback_once(cr: CheckResult, tracebacks: list[str], shown: dict[str, str]) -> str:
    """The check's message, with a traceback an earlier check of the question already showed
    replaced by a pointer to it."""
    message = cr.message
    for tb in tracebacks:
        if tb in message:
            if tb in shown:
                message = message.replace(tb, f"(the traceback is shown under '{shown[tb]}')")
            else:
                shown[tb] = cr.name
    return message


def _passed_or_failed(cr: CheckResult) -> CheckResult:
    """A hidden check says passed or failed and nothing more: whatever the student's code did
    on the hidden inputs (its exceptions, its texts, how it failed) stays out of every output.
    Only the grader's own faults keep their kind and message, which the student cannot shape."""
    if cr.outcome not in (Outcome.PASSED, Outcome.GRADER_ERROR, Outcome.NOT_CHECKED):
        cr.outcome = Outcome.WRONG
    if cr.outcome in (Outcome.PASSED, Outcome.WRONG):
        cr.message = ""
    return cr


def missing_exercise(exercise: Exercise, why: str, outcome: Outcome = Outcome.MISSING) -> list[QuestionResult]:
    """Every question of an exercise that could not be run at all, with one reason."""
    return [
        QuestionResult(q.id, q.title, q.points,
                       [CheckResult(c.name, outcome, why, c.weight, c.hidden) for c in q.checks], optional=q.optional)
        for q in exercise.questions
    ]


def score_exercise(exercise: Exercise, execution: Execution, located: dict[str, QuestionCells],
                   reference: dict[str, dict[str, Answer]] | None,
                   public: dict[str, dict[str, Answer]] | None = None) -> list[QuestionResult]:
    return [
        score_question(q, execution, located.get(q.id),
                       None if reference is None else reference.get(q.id, {}), (public or {}).get(q.id))
        for q in exercise.questions
    ]
