"""Progress of a batch: a rich progress bar with ETA on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import threading
import time

from rich.console import Console
from rich.text import Text
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from grader.judge.outcomes import SubmissionResult
from grader.outputs.inert import terminal_text, visible


class BatchProgress:
    """Counts full / partial / failed as submissions finish; thread-safe. Names are student
    text: shown as rich Text or in a column that reads no markup, controls made visible."""

    def __init__(self, total: int, skipped: int = 0, console: Console | None = None):
        self.total = total
        self.skipped = skipped
        self.console = console or Console(file=sys.stderr)
        self.counts = {"full": 0, "partial": 0, "failed": 0}
        self.current: list[str] = []
        self.finished = 0
        self.lock = threading.Lock()
        self.started_at = time.monotonic()
        self.fancy = self.console.is_terminal
        self._bar: Progress | None = None
        self._task = None

    def __enter__(self):
        if self.skipped:
            self.console.print(f"{self.skipped} submission(s) already graded and unchanged: skipped")
        if self.fancy and self.total:
            self._bar = Progress(TextColumn("[bold]grading"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                 TextColumn("{task.fields[status]}", markup=False), console=self.console)
            self._bar.__enter__()
            self._task = self._bar.add_task("grading", total=self.total, status="")
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def _status(self) -> str:
        c = self.counts
        now = ", ".join(visible(n) for n in self.current[:3]) + ("…" if len(self.current) > 3 else "")
        return f"full {c['full']} · partial {c['partial']} · failed {c['failed']}  [{now}]"

    def started(self, name: str) -> None:
        with self.lock:
            self.current.append(name)
            if self._bar is not None:
                self._bar.update(self._task, status=self._status())

    def done(self, name: str, result: SubmissionResult) -> None:
        with self.lock:
            if name in self.current:
                self.current.remove(name)
            self.finished += 1
            kind = "failed" if not result.final or result.points == 0 else (
                "full" if result.points == result.max_points else "partial")
            self.counts[kind] += 1
            if self._bar is not None:
                self._bar.update(self._task, advance=1, status=self._status())
            else:
                elapsed = time.monotonic() - self.started_at
                self.console.print(Text.assemble(
                    f"[{self.finished}/{self.total}] ", terminal_text(name),
                    f": {result.points:g}/{result.max_points:g} ({kind}, {result.verdict}) after {elapsed:.0f} s"))
