"""pytest plugin: one test per question of each of an assignment's notebooks.

Inert unless asked: `--itmal` (the assignment folder's pytest.ini sets it, so a student just
runs `pytest` there) or `--itmal-notebook PATH`. Each notebook is executed once, sandboxed;
its questions become test items whose points travel in `user_properties`, which
pytest-xdist carries back to the controller. The controller's reporter (kept in
`config.stash`, as pytest's junitxml does) prints the table and writes results.json.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

_reporter_key = pytest.StashKey["PointsReporter"]()
_config_key = pytest.StashKey["object"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("itmal-grader", "ITMAL notebook grading")
    group.addoption("--itmal", action="store_true", help="grade Jupyter notebooks found among the test paths")
    group.addoption("--itmal-notebook", type=Path, default=None, metavar="PATH",
                    help="grade this notebook (implies --itmal)")
    group.addoption("--itmal-results", type=Path, default=None, metavar="FILE",
                    help="write per-question results in Gradescope's results.json format")
    group.addoption("--itmal-assignment", default=None, metavar="NAME|DIR",
                    help="an installed assignment's name or an assignment package's folder "
                         "(default: $ITMAL_ASSIGNMENT, else the only one installed)")
    group.addoption("--itmal-solutions", type=Path, default=None, metavar="DIR",
                    help="reference solutions (instructors; default $ITMAL_SOLUTIONS or the checkout's)")
    group.addoption("--itmal-hidden-checks", type=Path, default=None, metavar="DIR",
                    help="folder of hidden checks (instructors; default $ITMAL_HIDDEN_CHECKS)")
    group.addoption("--itmal-require-sandbox", action="store_true",
                    help="fail instead of running notebooks without a sandbox")
    group.addoption("--itmal-profile", choices=("quick", "full"), default="quick",
                    help="quick (default): subsets and fewer epochs; full: the course's sizes")
    group.addoption("--itmal-cell-timeout", type=float, default=None, metavar="SECONDS")
    group.addoption("--itmal-notebook-timeout", type=float, default=None, metavar="SECONDS")


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("itmal") or config.getoption("itmal_notebook"))


def pytest_configure(config: pytest.Config) -> None:
    if not _enabled(config):
        return
    notebook = config.getoption("itmal_notebook")
    if notebook is not None:
        config.args[:] = [str(notebook)]
    if config.getoption("itmal_require_sandbox"):
        from grader.kernel.sandbox import probe

        ok, why = probe()
        if not ok:
            raise pytest.UsageError(f"--itmal-require-sandbox is set but the kernel cannot be sandboxed: {why}")
    if not hasattr(config, "workerinput"):  # only the controller reports (xdist)
        reporter = PointsReporter(config.getoption("itmal_results"))
        config.stash[_reporter_key] = reporter
        config.pluginmanager.register(reporter, "itmal-points-reporter")


def _grading_config(config: pytest.Config):
    if _config_key not in config.stash:
        from grader.grade import GradingConfig, default_solutions_dir
        from grader.kernel.sandbox import Limits, UnsandboxedWarning, choose

        assignment = config.getoption("itmal_assignment")
        limits = Limits()
        overrides = {}
        if config.getoption("itmal_cell_timeout"):
            overrides["cell_timeout"] = config.getoption("itmal_cell_timeout")
        if config.getoption("itmal_notebook_timeout"):
            overrides["notebook_timeout"] = config.getoption("itmal_notebook_timeout")
        if overrides:
            from dataclasses import replace

            limits = replace(limits, **overrides)
        solutions = config.getoption("itmal_solutions") or default_solutions_dir(assignment)
        hidden = config.getoption("itmal_hidden_checks")
        with warnings.catch_warnings():
            if _self_check(solutions, hidden):  # a student's own code on their own machine: no alarm
                warnings.simplefilter("ignore", UnsandboxedWarning)
            sandbox = choose(require=config.getoption("itmal_require_sandbox"))
        config.stash[_config_key] = GradingConfig(
            sandbox=sandbox,
            limits=limits,
            solutions_dir=solutions,
            hidden_dir=hidden,
            profile=config.getoption("itmal_profile"),
            assignment=assignment,
        )
    return config.stash[_config_key]


def _self_check(solutions: Path | None, hidden: Path | None) -> bool:
    """A student's run: neither the solutions nor hidden checks are here."""
    return (solutions is None or not Path(solutions).is_dir()) and hidden is None and not os.environ.get(
        "ITMAL_HIDDEN_CHECKS")


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if file_path.suffix != ".ipynb" or not _enabled(parent.config) or ".ipynb_checkpoints" in file_path.parts:
        return None
    return NotebookFile.from_parent(parent, path=file_path)


class NotebookFile(pytest.File):
    """A notebook: collected as its exercise's questions, executed once on first use."""

    def collect(self):
        from grader.grade import stubs
        from grader.inputs.locate import exercises_in, identify_exercise_by_name
        from grader.inputs.notebook import NotebookUnreadable, read_notebook

        config = _grading_config(self.config)
        catalogue = config.catalogue()
        try:
            names = exercises_in(read_notebook(self.path), self.path, catalogue, stubs(config))
        except NotebookUnreadable:
            guess = identify_exercise_by_name(self.path, catalogue)
            names = [guess] if guess else []
        self.exercise_names = set(names)
        for name in names:  # a combined notebook holds several exercises
            for q in catalogue[name].questions:
                yield QuestionItem.from_parent(self, name=q.id, question_id=q.id)

    def result(self):
        if not hasattr(self, "_result"):
            from grader.grade import grade_submission

            self._result = grade_submission(self.path, _grading_config(self.config), only=self.exercise_names)
        return self._result


class QuestionFailed(Exception):
    pass


def points_here(points: float, max_points: float, unchecked: float) -> str:
    """A question's points as checked here, and what is left to the instructor's run."""
    checked_max = round(max_points - unchecked, 4)
    text = f"{points:g}/{checked_max:g} points checked here"
    if unchecked:
        text += f", {unchecked:g} more judged only by the instructor's run"
    return text


class QuestionItem(pytest.Item):
    def __init__(self, *, question_id: str, **kw):
        super().__init__(**kw)
        self.question_id = question_id

    def runtest(self) -> None:
        from grader.judge.outcomes import Outcome
        from grader.outputs.inert import visible

        result = self.parent.result()
        q = next(q for q in result.questions if q.id == self.question_id)
        journal = [q.id for ex in _grading_config(self.config).catalogue().values() for q in ex.questions]
        self.user_properties += [("itmal_order", journal.index(q.id)),
                                 ("itmal_points", q.points), ("itmal_max_points", q.max_points),
                                 ("itmal_unchecked_points", q.unchecked_points),
                                 ("itmal_outcome", q.outcome.value), ("itmal_title", q.title),
                                 ("itmal_feedback", q.feedback(show_hidden=False))]
        if q.outcome in (Outcome.PASSED, Outcome.PARTLY_CHECKED):
            return  # every check run here passed; the table shows the points left to the instructor
        # pytest writes these to the terminal as they are: student text, controls made visible
        feedback = visible(q.feedback(show_hidden=False), multiline=True)
        if q.outcome is Outcome.NOT_CHECKED:
            pytest.skip(f"{q.outcome.label} ({q.unchecked_points:g} points); nothing of this question "
                        f"is checked here")
        raise QuestionFailed(f"{q.outcome.label}: {points_here(q.points, q.max_points, q.unchecked_points)}"
                             f"\n{feedback}")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, QuestionFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, self.question_id


def _outcome_text(value: str) -> str:
    from grader.judge.outcomes import Outcome

    try:
        return Outcome(value).label
    except ValueError:
        return value.replace("_", " ")


def _in_journal_order(rows: dict[str, dict]) -> list[dict]:
    """Rows as the journal orders its questions (then by node id: the notebook's path)."""
    return sorted(rows.values(), key=lambda r: (r.get("itmal_order", 0), r["nodeid"]))


class PointsReporter:
    """Collects points from test reports (local or from xdist workers); prints and writes them."""

    def __init__(self, results_path: Path | None):
        self.results_path = results_path
        self.rows: dict[str, dict] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        if "itmal_points" in props and report.when in ("call", "setup"):
            self.rows[report.nodeid] = {**props, "nodeid": report.nodeid}

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.rows:
            return
        from io import StringIO

        from rich.console import Console
        from rich.table import Table

        from grader.outputs.inert import terminal_text, visible

        table = Table(title="ITMAL Journal 2: points per question")
        for col, just in (("question", "left"), ("checked here", "right"),
                          ("instructor only", "right"), ("outcome", "left")):
            table.add_column(col, justify=just)
        total = checked_max = unchecked = 0.0
        left_to_instructor = []
        for row in _in_journal_order(self.rows):
            qid = row["nodeid"].split("::")[-1]
            # Older workers may not send it: then every check was judged here.
            left = row.get("itmal_unchecked_points", 0.0)
            here_max = round(row["itmal_max_points"] - left, 4)
            # Text cells, never markup: a node id holds a file name, which is a student's
            table.add_row(terminal_text(qid), f"{row['itmal_points']:g}/{here_max:g}",
                          f"{left:g}" if left else "",
                          terminal_text(_outcome_text(str(row["itmal_outcome"]))))
            total += row["itmal_points"]
            checked_max += here_max
            unchecked += left
            if left:
                left_to_instructor.append(qid)
        total, checked_max, unchecked = round(total, 4), round(checked_max, 4), round(unchecked, 4)
        table.add_row("TOTAL", f"{total:g}/{checked_max:g}", f"{unchecked:g}" if unchecked else "", "")
        buf = StringIO()
        Console(file=buf, width=100, force_terminal=False).print(table)
        terminalreporter.write(buf.getvalue())
        summary = f"checked here: {total:g}/{checked_max:g} points"
        if unchecked:
            summary += (f"; {unchecked:g} more points are judged only by the instructor's run "
                        f"({', '.join(left_to_instructor)})")
        terminalreporter.write_line(visible(summary))

    def pytest_sessionfinish(self, session) -> None:
        if self.results_path is None or not self.rows:
            return
        from grader.files import write_json_atomic
        from grader.outputs.report import gradescope_document, gradescope_test

        tests = []
        for r in _in_journal_order(self.rows):
            test = gradescope_test(r["nodeid"].split("::")[-1], r["itmal_title"], r["itmal_points"],
                                   r["itmal_max_points"], r["itmal_outcome"], r["itmal_feedback"])
            # the points of max_score that only the instructor's run judges (0: all checked here)
            test["extra_data"]["judged_only_by_instructor"] = r.get("itmal_unchecked_points", 0.0)
            tests.append(test)
        write_json_atomic(self.results_path, gradescope_document(tests))
