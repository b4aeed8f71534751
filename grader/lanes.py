"""Lanes: the notebooks of one submission run side by side, each in a kernel of its own.

Most notebook code runs on one core; a submission's notebooks one after another leave the
others idle. The lanes are threads of this process that live as long as it does: a kernel's
sandbox dies with the thread that started it (bubblewrap's --die-with-parent is a
parent-death signal, sent when that *thread* ends), and a zygote serves later notebooks.
Daemon threads: Ctrl-C stops the waiting caller at once; what a lane still runs dies with the
process (its kernels with their sandboxes, zygotes at exit).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")

_TASKS: queue.SimpleQueue = queue.SimpleQueue()
_LANES: list[threading.Thread] = []
_LOCK = threading.Lock()


def _serve() -> None:
    while True:
        future, task = _TASKS.get()
        if not future.set_running_or_notify_cancel():
            continue  # cancelled before it started (the caller was interrupted)
        try:
            future.set_result(task())
        except BaseException as exc:  # the caller gets it, as if it had run the task itself
            future.set_exception(exc)


def _open(lanes: int) -> None:
    with _LOCK:
        while len(_LANES) < lanes:
            lane = threading.Thread(target=_serve, name=f"itmal-lane-{len(_LANES) + 1}", daemon=True)
            lane.start()
            _LANES.append(lane)


def run_side_by_side(tasks: list[Callable[[], T]], lanes: int) -> list[T]:
    """Each task's result, in the tasks' order; at most `lanes` run at once (in the order
    given). One lane: run here, one after another. A task's exception is raised here, after
    every task has finished; an interrupt here cancels the tasks not yet started."""
    if lanes <= 1 or len(tasks) <= 1:
        return [task() for task in tasks]
    _open(min(lanes, len(tasks)))
    futures: list[Future] = []
    gate = threading.BoundedSemaphore(lanes)  # this call's share, whatever other callers run

    def gated(task: Callable[[], T]) -> Callable[[], T]:
        def run() -> T:
            with gate:
                return task()
        return run

    try:
        for task in tasks:
            future: Future = Future()
            futures.append(future)
            _TASKS.put((future, gated(task)))
        for future in futures:
            future.exception()  # waits; an interrupt lands here
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return [future.result() for future in futures]
