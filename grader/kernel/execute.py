"""Executing a notebook in a fresh, sandboxed kernel and fetching answers as plain data.

`execute_notebook` runs every code cell in a scratch copy of the submission and, right
after the last cell of each question, asks the kernel for that question's answers (so a
crash later in the notebook cannot lose them). It returns an `Execution`: plain data only,
no live objects. Nothing here decides a score.

Failures are results: a cell that raises is recorded and the next cell runs; a cell past
its time limit is interrupted, and killed if it ignores the interrupt; a dead kernel is
recorded, restarted, and the cells that had succeeded are replayed so later questions
still get a fair run. The notebook's wall-clock limit kills the kernel whatever it does.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from grader.kernel import zygote
from grader.kernel.manager import MAX_MESSAGE_BYTES, SEED, STARTUP_CODE, GraderKernelManager
from grader.kernel.messages import BoundedSession
from grader.kernel.plaindata import Answer, decode_answer
from grader.kernel.requests import ANSWER_MIME, INPUTS_TARGET, Request, fetch_code, new_nonce
from grader.kernel.sandbox import SANDBOX_HOME, KernelOptions, Limits, SandboxMode, kernel_environment
from grader.kernel.zygote import Zygote

log = logging.getLogger("grader")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MAX_FIGURES_PER_CELL = 10
MAX_FIGURE_BYTES = 2 * 2**20
MAX_KERNEL_RESTARTS = 2
END = -1  # fetch point: after the last cell
IOPUB_GRACE = 5.0  # seconds the output of a request may lag behind its reply
# Every wait on the kernel has its own time limit; should one of them still hang (a lost
# message in a library's await), the whole run is stopped this long after the notebook's
# limit and reported as the grader's error, never left to hang a batch or a student's pytest.
HANG_BACKSTOP = 300.0
# jupyter_client's get_msg(timeout) polls, then receives without a limit: if another reader
# took the message in between, the receive would wait for ever. Each receive is bounded too.
RECEIVE_SLACK = 1.0


def cell_label(index: int, nb=None) -> str:
    """How every note and message names the notebook's cell at 0-based `index`, as the student
    finds it in Jupyter: "the 4th code cell" (markdown cells not counted; an execution count
    In [n] depends on how often cells were run). One numbering everywhere, so a question's
    notes and checks name the same cell alike. Without the notebook: "cell N", from 1."""
    cells = getattr(nb, "cells", None) or []
    if not 0 <= index < len(cells) or cells[index].get("cell_type") != "code":
        return f"cell {index + 1}"
    n = sum(1 for c in cells[:index + 1] if c.get("cell_type") == "code")
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"the {n}{suffix} code cell"


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


@dataclass
class CellRun:
    """What happened to one code cell. status: ok, error, timeout, died, not_run."""

    index: int
    status: str = "not_run"
    ename: str = ""
    evalue: str = ""
    traceback: str = ""
    reason: str = ""
    figures: list[str] = field(default_factory=list)  # base64 PNG
    seconds: float = 0.0


@dataclass
class Execution:
    """The plain-data outcome of running one notebook."""

    cells: dict[int, CellRun]
    answers: dict[str, dict[str, Answer]]  # question id -> request key -> answer
    events: list[str]
    sandbox: str
    seconds: float  # up to the hidden requests: their duration is the student's to choose
    notebook: nbformat.NotebookNode  # the executed copy, outputs included

    def first_failure(self, indices: list[int]) -> CellRun | None:
        for i in indices:
            run = self.cells.get(i)
            if run is not None and run.status != "ok":
                return run
        return None


@dataclass
class FetchPlan:
    """Which requests to send after which cell: {cell index or END: [(question, request)]}.

    Requests for hidden checks (`hidden`) are sent last, after every cell and every other
    request, and nothing the kernel does while answering them is recorded but the answer's
    status and value: no event, no note, no message, no time (see _Runner.fetch_hidden)."""

    points: dict[int, list[tuple[str, Request]]] = field(default_factory=dict)
    hidden: list[tuple[str, Request]] = field(default_factory=list)

    def add(self, after_cell: int, question: str, request: Request) -> None:
        self.points.setdefault(after_cell, []).append((question, request))

    def add_hidden(self, question: str, request: Request) -> None:
        self.hidden.append((question, request))

    def requests(self) -> list[tuple[str, Request]]:
        return [pair for point in self.points.values() for pair in point] + self.hidden


class _LimitedClient(NotebookClient):
    """nbclient's client with a cap on output size, per cell and per notebook."""

    def __init__(self, nb, km, limits: Limits, **kw):
        super().__init__(nb, km=km, **kw)
        self.limits = limits
        self.bytes_total = 0
        self.bytes_cell: dict[int, int] = {}
        self.truncated: set[int] = set()
        self.error_replies: dict[int, dict] = {}  # cell index -> execute_reply content with status error

    async def _check_raise_for_error(self, cell, cell_index, exec_reply):
        # The reply, not the output, says whether a cell raised: when IPython cannot format a
        # traceback (a thread bomb has used up the memory) it sends no `error` output at all.
        if exec_reply is not None and exec_reply.get("content", {}).get("status") == "error":
            self.error_replies[cell_index] = exec_reply["content"]
        return await super()._check_raise_for_error(cell, cell_index, exec_reply)

    def output(self, outs, msg, display_id, cell_index):
        # the message's size as received (messages.BoundedSession), never re-measured with str():
        # str() of a parsed million-item list costs far more than the message did
        size = msg.get("itmal_size", 0)
        used = self.bytes_cell.get(cell_index, 0) + size
        if used > self.limits.output_per_cell or self.bytes_total + size > self.limits.output_per_notebook:
            if cell_index not in self.truncated:
                self.truncated.add(cell_index)
                outs.append(nbformat.v4.new_output(
                    "stream", name="stderr",
                    text=f"[grader: output of this cell truncated at {self.limits.output_per_cell // 1024} KB]\n"))
            return None
        self.bytes_cell[cell_index] = used
        self.bytes_total += size
        return super().output(outs, msg, display_id, cell_index)


def _describe_exit(returncode: int | None, sandboxed: bool) -> str:
    if returncode is None:
        return "the kernel stopped responding"
    if sandboxed and returncode > 128:  # bubblewrap reports a signal as 128 + its number
        returncode = 128 - returncode
    if returncode < 0:
        import signal

        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        meaning = {
            "SIGSEGV": "a segmentation fault (a crash in native code)",
            "SIGKILL": "SIGKILL (killed: often a memory limit or a killed parent)",
            "SIGABRT": "an abort in native code",
            "SIGBUS": "a bus error (a crash in native code)",
        }.get(name, name)
        return f"the kernel died from {meaning}"
    return f"the kernel process exited with status {returncode} (e.g. os._exit)"


class _Runner:
    def __init__(self, nb, scratch: Path, private: Path, limits: Limits, sandbox: SandboxMode,
                 options: KernelOptions, zygote: Zygote | None = None):
        self.nb = nb
        self.zygote = zygote
        self.options = options
        self.scratch = scratch
        self.private = private
        self.limits = limits
        self.sandbox = sandbox
        self.events: list[str] = []
        self.cells: dict[int, CellRun] = {}
        self.answers: dict[str, dict[str, Answer]] = {}
        self.succeeded: list[int] = []
        self.restarts = 0
        self.km: GraderKernelManager | None = None
        self.client: _LimitedClient | None = None
        self.deadline = 0.0
        self.stopped_reason = ""  # set when no more cells may run
        self.visible_until: float | None = None  # when the hidden requests began

    # -- kernel lifecycle ---------------------------------------------------------------
    async def start(self) -> None:
        if self.zygote is not None and not self.zygote.ensure_running():
            self._go_cold(self.zygote.failure)
        try:
            if self.zygote is not None:
                self.zygote.preload(zygote.wanted_by([c.source for c in self.nb.cells if c.cell_type == "code"]))
            await self._start_kernel()
        except Exception as exc:  # no student code ran yet: a forked kernel's trouble is the grader's
            if self.zygote is None:
                raise
            await self.stop()
            self._go_cold(str(exc))
            await self._start_kernel()

    def _go_cold(self, why: str) -> None:
        if self.zygote is not None:
            self.zygote.stop()  # the next kernel gets a fresh zygote
        self.zygote = None
        log.warning("warm kernels unavailable, starting this notebook's kernels cold: %s", why)

    async def _start_kernel(self) -> None:
        self.km = GraderKernelManager(
            scratch=self.scratch, private=self.private, limits=self.limits, sandbox=self.sandbox,
            options=self.options, zygote=self.zygote,
        )
        self.client = _LimitedClient(
            self.nb, self.km, self.limits,
            timeout=int(self.limits.cell_timeout), interrupt_on_timeout=False, allow_errors=True,
            record_timing=False, iopub_timeout=int(IOPUB_GRACE), raise_on_iopub_timeout=True,
            shutdown_kernel="immediate",
        )
        try:
            await self.km.start()
            await self.client.async_start_new_kernel_client()
            status, _ = await self.raw_execute(STARTUP_CODE, timeout=60)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; kernel log: {self.km.kernel_log()}") from None
        if status != "ok":
            raise RuntimeError(f"the kernel failed to start ({status}); kernel log: {self.km.kernel_log()}")

    async def stop(self) -> None:
        if self.km is None:
            return
        self.km.hard_kill()
        try:
            if self.client is not None and self.client.kc is not None:
                self.client.kc.stop_channels()
            await asyncio.wait_for(self.km.shutdown_kernel(now=True), 10)
        except Exception:
            pass
        try:
            await self.km.cleanup_resources()
        except Exception:
            pass
        self.km.release()
        self.km = None
        self.client = None

    def exit_code(self) -> int | None:
        proc = getattr(getattr(self.km, "provisioner", None), "process", None)
        return None if proc is None else proc.poll()

    async def restart_and_replay(self, why: str) -> bool:
        """Fresh kernel, earlier successful cells replayed; False when out of restarts/time."""
        await self.stop()
        if self.restarts >= MAX_KERNEL_RESTARTS:
            self.stopped_reason = f"the kernel was restarted {self.restarts} times already ({why})"
            return False
        self.restarts += 1
        try:
            await self.start()
            for i in self.succeeded:
                remaining = self.deadline - time.monotonic()
                if remaining <= 0:
                    self.stopped_reason = "the notebook time limit was reached while replaying cells"
                    return False
                status, _ = await self.raw_execute(
                    self.nb.cells[i].source, timeout=min(self.limits.cell_timeout, remaining))
                if status in ("dead", "timeout"):
                    self.stopped_reason = f"replaying {cell_label(i, self.nb)} after a restart failed ({status})"
                    return False
        except Exception as exc:
            self.stopped_reason = f"the kernel could not be restarted: {exc}"
            return False
        self.events.append(f"kernel restarted after {why}; {len(self.succeeded)} earlier cells replayed")
        return True

    # -- raw execution (grader's own code) ---------------------------------------------
    async def raw_execute(self, code: str, timeout: float, *, renew_until: float | None = None) -> tuple[str, list[dict]]:
        """Run code; return (status, display_data payloads of ANSWER_MIME). status: ok, error,
        timeout, dead, or iopub_lost (the reply came but its output never did: the output
        channel was cut, e.g. by a message over the size limit). `renew_until`: each payload
        gives the code `timeout` more seconds, up to that moment (a batch of requests, each
        with a request's time)."""
        kc = self.client.kc
        msg_id = kc.execute(code, store_history=False, allow_stdin=False, stop_on_error=False)
        payloads: list[dict] = []
        end = time.monotonic() + timeout
        if renew_until is not None:
            end = min(end, renew_until)
        idle = False
        replied_at: float | None = None
        status = "ok"
        while not (idle and replied_at is not None):
            now = time.monotonic()
            if now >= end:
                return ("timeout" if self.exit_code() is None else "dead"), payloads
            if self.exit_code() is not None:
                return "dead", payloads
            if replied_at is not None and now - replied_at > IOPUB_GRACE:
                return "iopub_lost", payloads
            if replied_at is None:
                try:
                    wait = 0.05 if not idle else min(1.0, end - now)
                    reply = await asyncio.wait_for(kc.get_shell_msg(timeout=wait), wait + RECEIVE_SLACK)
                    if reply.get("parent_header", {}).get("msg_id") == msg_id:
                        replied_at = time.monotonic()
                except (Empty, asyncio.TimeoutError):
                    pass
            if idle:
                continue
            try:
                wait = min(0.5, max(0.01, end - now))
                msg = await asyncio.wait_for(kc.get_iopub_msg(timeout=wait), wait + RECEIVE_SLACK)
            except (Empty, asyncio.TimeoutError):
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "display_data" and ANSWER_MIME in msg["content"].get("data", {}):
                payloads.append(msg["content"]["data"][ANSWER_MIME])
                if renew_until is not None:
                    end = min(time.monotonic() + timeout, renew_until)
            elif kind == "error":
                status = "error"
            elif kind == "status" and msg["content"].get("execution_state") == "idle":
                idle = True
        return status, payloads

    async def fetch(self, pairs: list[tuple[str, Request]], where: str) -> None:
        """Every answer due at this point in one kernel request (each answer still gets a
        request's time). Where one takes too long, it is marked, the kernel interrupted, and
        the requests after it sent again. Where the kernel dies or its output is cut, answers
        already sent may be lost with it, so which request failed is not known: the answers
        that came are kept, the kernel recovered, and the rest asked for one at a time."""
        pending = list(pairs)
        one_at_a_time = False
        while pending:
            if self.km is None or self.exit_code() is not None:
                for question, request in pending:
                    self.answers.setdefault(question, {})[request.key] = Answer(
                        "not_run", message=self.stopped_reason or "the kernel was not running")
                return
            batch = pending[:1] if one_at_a_time else pending
            nonces = [new_nonce() for _ in batch]
            buffers: list[bytes] = []
            token = new_nonce()
            code = fetch_code([r for _, r in batch], nonces, buffers=buffers, token=token)
            if buffers:
                self.send_inputs(token, buffers)
            status, payloads = await self.raw_execute(
                code, timeout=max(1.0, min(self.limits.cell_timeout, self.deadline - time.monotonic())),
                renew_until=max(time.monotonic() + 1.0, self.deadline))
            # Only answers in reply to this request (raw_execute filters by its msg_id) that carry
            # a nonce of it count: one sent earlier, by a background thread or by a cell imitating
            # the grader, does not.
            stamped: dict[str, list[dict]] = {n: [] for n in nonces}
            for p in payloads:
                if type(p) is dict and type(p.get("nonce")) is str and p["nonce"] in stamped:
                    stamped[p["nonce"]].append(p)
            foreign = len(payloads) - sum(len(v) for v in stamped.values())
            if foreign:
                self.events.append(f"{where}: {foreign} answer message(s) not sent by the grader's request "
                                   "were ignored")
            failed = status in ("timeout", "dead", "iopub_lost")
            if failed and status != "timeout" and len(batch) > 1:
                for (question, request), nonce in zip(batch, nonces):
                    if stamped[nonce]:
                        self._record(question, request, stamped[nonce], foreign)
                pending = [pair for pair, nonce in zip(batch, nonces) if not stamped[nonce]]
                what = "the kernel died" if status == "dead" else "its output was cut"
                await self.recover_after(f"{where}: {what}; the answers not received are asked for one at a time",
                                         status)
                one_at_a_time = True
                continue
            for k, ((question, request), nonce) in enumerate(zip(batch, nonces)):
                if failed and not stamped[nonce]:  # the request that was running when it failed
                    what = {"timeout": "took too long", "dead": "killed the kernel",
                            "iopub_lost": "sent more output than the grader accepts"}[status]
                    self.answers.setdefault(question, {})[request.key] = Answer(
                        "error", message=f"computing this answer {what}")
                    await self.recover_after(f"fetching {request.key} {what}", status)
                    pending = pending[k + 1:]
                    break
                self._record(question, request, stamped[nonce], foreign)
            else:
                pending = pending[len(batch):]
                if failed:  # every answer came, then the request hung or died: a usable kernel again
                    await self.recover_after(f"{where}: the request did not finish", status)

    def send_inputs(self, token: str, buffers: list[bytes]) -> None:
        """A fetch's array inputs, as binary buffers of one comm message on the shell channel,
        ahead of the fetch's code (the kernel handles shell messages in order)."""
        kc = self.client.kc
        msg = kc.session.msg("comm_open", {"comm_id": new_nonce(), "target_name": INPUTS_TARGET,
                                           "data": {"token": token}})
        kc.session.send(kc.shell_channel.socket, msg, buffers=buffers)

    def _record(self, question: str, request: Request, got: list[dict], foreign: int) -> None:
        bucket = self.answers.setdefault(question, {})
        if len(got) != 1:
            bucket[request.key] = Answer("invalid", message=(
                "the kernel did not send exactly one answer to the grader's request"
                + (" (the notebook sent answer messages of its own)" if got or foreign else "")))
        else:
            bucket[request.key] = decode_answer(got[0], request.key)

    async def recover_after(self, why: str, status: str) -> None:
        """Make the kernel usable again: interrupt a slow request, or restart and replay."""
        if status == "timeout" and await self.interrupt():
            return
        await self.restart_and_replay(why)

    async def output_channel_lost(self, i: int) -> bool:
        """After a cell whose output never finished: is the output channel cut? If so, restart
        and replay (the grader can no longer see output or fetch answers from this kernel)."""
        status, _ = await self.raw_execute("pass", timeout=2 * IOPUB_GRACE)
        if status != "iopub_lost":
            return False
        self.events.append(f"{cell_label(i, self.nb)}: its output exceeded the grader's limit; kernel restarted")
        await self.restart_and_replay(f"an output flood in {cell_label(i, self.nb)}")
        return True

    async def interrupt(self) -> bool:
        """Interrupt the kernel; True if it becomes responsive within the grace period."""
        try:
            await self.km.interrupt_kernel()
        except Exception:
            return False
        status, _ = await self.raw_execute("pass", timeout=self.limits.interrupt_grace)
        return status in ("ok", "error")

    # -- the notebook -------------------------------------------------------------------
    async def run_cell(self, i: int) -> CellRun:
        cell = self.nb.cells[i]
        run = CellRun(index=i)
        remaining = self.deadline - time.monotonic()
        per_cell = min(self.limits.cell_timeout, remaining)
        self.client.timeout = max(1, int(per_cell))
        started = time.monotonic()
        try:
            try:
                await self.client.async_execute_cell(cell, i, store_history=True)
            finally:
                await _cancel_nbclient_pollers()
        except CellTimeoutError as exc:
            run.seconds = time.monotonic() - started
            if "IOPub" in str(exc) and await self.output_channel_lost(i):
                run.status, run.ename = "error", "OutputTooLarge"
                run.evalue = (f"the cell sent more than {MAX_MESSAGE_BYTES // 2**20} MB of output at once; "
                              "the grader cut it off and restarted the kernel")
                run.reason = run.evalue
                return run
            if "IOPub" in str(exc):  # only slow output: the cell itself completed
                run.status = "ok"
                self.succeeded.append(i)
                return run
            run.status = "timeout"
            if per_cell < self.limits.cell_timeout:
                run.reason = f"the notebook's time limit of {self.limits.notebook_timeout:.0f} s was reached in this cell"
                self.stopped_reason = run.reason
                await self.stop()
            elif await self.interrupt():
                run.reason = f"the cell ran longer than {self.limits.cell_timeout:.0f} s and was interrupted"
            else:
                run.reason = (f"the cell ran longer than {self.limits.cell_timeout:.0f} s and ignored the "
                              "interrupt, so the kernel was killed")
                await self.restart_and_replay(f"a time-out in {cell_label(i, self.nb)}")
            return run
        except DeadKernelError:
            run.seconds = time.monotonic() - started
            run.status = "died"
            run.reason = _describe_exit(self.exit_code(), self.sandbox.enabled) + " while running this cell"
            if self.km.memory_limit_hit():
                run.reason += (f"; its processes had reached the memory limit of "
                               f"{self.limits.memory_total / 2**30:.0f} GB")
            self.events.append(f"{cell_label(i, self.nb)}: {run.reason}")
            await self.restart_and_replay(f"the kernel died in {cell_label(i, self.nb)}")
            return run
        run.seconds = time.monotonic() - started
        run.figures = _figures(cell)
        err = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
        if err is None and i in self.client.error_replies:
            reply = self.client.error_replies[i]
            err = {"ename": reply.get("ename") or "Error", "evalue": reply.get("evalue") or
                   "the cell raised an exception that the kernel could not even describe",
                   "traceback": reply.get("traceback") if isinstance(reply.get("traceback"), list) else []}
        if err is not None:
            run.status = "error"
            run.ename = str(err.get("ename", ""))[:200]
            run.evalue = str(err.get("evalue", ""))[:2000]
            run.traceback = strip_ansi("\n".join(err.get("traceback", [])))[-6000:]
        else:
            run.status = "ok"
            self.succeeded.append(i)
        return run

    def note_dropped(self, where: str) -> None:
        """Malformed or oversized kernel messages the session dropped (messages.py), as a note."""
        session = getattr(getattr(self.client, "kc", None), "session", None)
        if not isinstance(session, BoundedSession):
            return
        count, reasons = session.take_notes()
        if count:
            self.events.append(f"{where}: {count} malformed kernel message(s) dropped: "
                               + "; ".join(dict.fromkeys(reasons)))

    async def run(self, plan: FetchPlan) -> None:
        self.deadline = time.monotonic() + self.limits.notebook_timeout
        try:
            await self.start()  # inside: a kernel that failed half-way through starting is stopped too
            for i, cell in enumerate(self.nb.cells):
                if cell.cell_type == "code" and cell.source.strip():
                    if self.stopped_reason or self.km is None:
                        self.cells[i] = CellRun(index=i, status="not_run",
                                                reason=self.stopped_reason or "the kernel was stopped")
                    else:
                        self.cells[i] = await self.run_cell(i)
                        self.note_dropped(cell_label(i, self.nb))
                if plan.points.get(i):
                    await self.fetch(plan.points[i], f"fetching the answers after {cell_label(i, self.nb)}")
                    self.note_dropped(f"fetching the answers after {cell_label(i, self.nb)}")
            if plan.points.get(END):
                await self.fetch(plan.points[END], "fetching the answers at the end")
                self.note_dropped("fetching the answers at the end")
            await self.fetch_hidden(plan.hidden)
        finally:
            await self.stop()

    async def fetch_hidden(self, requests: list[tuple[str, Request]]) -> None:
        """The hidden checks' requests, last. The student's code runs on inputs it never saw
        and may try to signal them out: through counts of messages, notes, exception texts,
        restarts or time. So nothing of these requests is kept but each answer's status and
        value (which only a hidden check sees, and it says passed or failed)."""
        self.visible_until = time.monotonic()
        events = len(self.events)
        if requests:
            await self.fetch(requests, "hidden")
        for question, request in requests:
            bucket = self.answers[question]
            got = bucket[request.key]
            bucket[request.key] = Answer(got.status, value=got.value)
        self.note_dropped("hidden")  # taken, to be discarded with the rest
        del self.events[events:]


async def _cancel_nbclient_pollers() -> None:
    """nbclient leaves its output poller (a reader of the kernel's iopub socket, with no time
    limit) running when a cell times out or the kernel dies. The grader's own requests read the
    same socket: a second reader would take their messages. Stop it before anything else."""
    me = asyncio.current_task()
    strays = [t for t in asyncio.all_tasks() if t is not me and not t.done()
              and getattr(t.get_coro(), "__qualname__", "").startswith("NotebookClient.")]
    for task in strays:
        task.cancel()
    if strays:
        await asyncio.gather(*strays, return_exceptions=True)


def _figures(cell) -> list[str]:
    figs = []
    for out in cell.get("outputs", []):
        png = out.get("data", {}).get("image/png") if out.get("output_type") in ("display_data", "execute_result") else None
        if isinstance(png, str) and len(png) <= MAX_FIGURE_BYTES * 4 // 3:
            try:
                base64.b64decode(png, validate=False)
            except ValueError:
                continue
            figs.append(png)
        if len(figs) >= MAX_FIGURES_PER_CELL:
            break
    return figs


def _readable(folder: Path) -> None:
    """The kernel's uid is not the grader's: what it is given must be world-readable,
    whatever the grader's umask."""
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, 0o755 if path.is_dir() else 0o644)


def copy_support_files(files: dict[str, Path], scratch: Path) -> None:
    """Copy each `name -> file or folder` into `scratch`, in order (a later file may land
    inside an earlier folder: `libitmal/mnist.py`)."""
    for name, src in files.items():
        if src.is_dir():
            shutil.copytree(src, scratch / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, scratch / name)


def execute_notebook(
    nb: nbformat.NotebookNode,
    plan: FetchPlan,
    *,
    limits: Limits,
    sandbox: SandboxMode,
    support_files: dict[str, Path] | None = None,
    options: KernelOptions = KernelOptions(),
    warm: bool = True,
) -> Execution:
    """Run `nb` (a copy is made) in a fresh sandboxed kernel and fetch the planned answers.

    `support_files` maps names in the scratch directory to files or directories copied there
    first (the course helpers). The original notebook file is never touched. `warm`: fork the
    kernel from this process's zygote (zygote.py) where the sandbox allows it.
    """
    if warm and zygote.available(sandbox.enabled):
        environment = kernel_environment(Path(SANDBOX_HOME), SEED, True, options)
        with zygote.warm_zygote(limits, options, support_files or {}, environment) as forker:
            return _execute(nb, plan, limits, sandbox, support_files, options, forker)
    return _execute(nb, plan, limits, sandbox, support_files, options, None)


def _execute(nb, plan: FetchPlan, limits: Limits, sandbox: SandboxMode, support_files: dict[str, Path] | None,
             options: KernelOptions, forker: Zygote | None) -> Execution:
    nb = nbformat.from_dict(nbformat.from_dict(nb))  # deep copy; outputs will be replaced
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="itmal-run-") as tmp:
        scratch = Path(tmp, "scratch")
        private = Path(tmp, "private")  # the grader's alone: never bound writable
        scratch.mkdir()
        private.mkdir(mode=0o700)
        copy_support_files(support_files or {}, scratch)
        nbformat.write(nb, scratch / "submission.ipynb")
        _readable(scratch)
        runner = _Runner(nb, scratch, private, limits, sandbox, options, forker)
        backstop = limits.notebook_timeout + HANG_BACKSTOP
        try:
            try:
                asyncio.run(asyncio.wait_for(runner.run(plan), backstop))
            except asyncio.TimeoutError:
                raise RuntimeError(f"the grader's wait on the kernel hung; stopped after {backstop:.0f} s") from None
        except Exception as exc:  # the grader's own failure: reported, not raised
            runner.events.append(f"grader error while executing: {type(exc).__name__}: {exc}")
            for i, cell in enumerate(nb.cells):
                if cell.cell_type == "code" and cell.source.strip():
                    runner.cells.setdefault(i, CellRun(index=i, status="not_run", reason="grader error"))
            for question, request in plan.requests():
                runner.answers.setdefault(question, {}).setdefault(
                    request.key, Answer("not_run", message=f"grader error: {exc}"))
    return Execution(
        cells=runner.cells,
        answers=runner.answers,
        events=runner.events,
        sandbox=sandbox.describe(),
        seconds=(runner.visible_until or time.monotonic()) - started,
        notebook=nb,
    )
