"""The clock and the event heap, keyed ``(time, priority, sequence)`` as in SimPy: events at the same
time run in priority order, then in the order they were scheduled. Deterministic by construction."""

from __future__ import annotations

import heapq
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from cloudsim._signals import STOPS, stops_to


@contextmanager
def whole() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block is done, then reach the handlers that were there, so a stop
    never leaves it half done: a tick's bookkeeping (the controller's accounts of the report; the recorder's
    row, on its own thread, which no signal reaches, is joined before the run ends) is done whole or not at
    all. The main thread blocks them, and a handler of the block's own holds one that
    another thread took (the kernel hands a signal the main thread blocks to any other: Ray's driver has a
    dozen). For short, pure computation only: nothing waits on another process."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    try:
        with stops_to(lambda signum, frame: held.append(signum)):  # in place before the block and after it
            signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
            try:
                yield
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, before)  # one the main thread blocked arrives: held
    finally:
        for sig in dict.fromkeys(held):
            signal.raise_signal(sig)


def is_stop(exc: BaseException) -> bool:
    """Whether ``exc`` is a stop (Ctrl-C, SIGTERM): a KeyboardInterrupt, or the SystemError a compiled
    kernel's call raises when a stop lands while it runs Python code ("returned a result with an exception
    set"), with the KeyboardInterrupt among its causes or contexts."""
    seen: set[int] = set()
    x: BaseException | None = exc
    while isinstance(x, SystemError) and id(x) not in seen:
        seen.add(id(x))
        x = x.__cause__ or x.__context__
    return isinstance(x, KeyboardInterrupt)


class Priority(IntEnum):
    """Order of events that fall at the same instant: migrations complete and capacity is freed before it
    is asked for, and a tick observes the state after every other event at its time."""

    COMPLETION = 0
    FAULT = 1
    DEPARTURE = 2
    BOOT = 3
    ARRIVAL = 4
    TICK = 5


@dataclass(frozen=True)
class Event:
    """What happens at ``time_s`` (the heap orders by its key tuple, not by the event)."""

    time_s: float
    priority: Priority
    seq: int
    payload: Any = None


#: the parts of a run whose wall time :class:`PhaseClock` adds up: starting the shards and filling the event
#: queue; the shards' work (on Ray, the wait for the actors); the consolidation step; placing the guests that
#: arrive (and restarting those of failed hosts); the other events (departures, migration completions, boots,
#: failures, the queue itself); the tick's bookkeeping and metrics (the recorder, its subscribers, progress;
#: from ``BESIDE_ROWS`` guests the recorder's tick runs on a second thread beside the consolidation, and only
#: the wait for it past the consolidation's end counts here); checkpoints
PHASES = ("start", "shards", "consolidation", "placement", "events", "metrics", "checkpoints")


class PhaseClock:
    """Wall seconds by phase (:data:`PHASES`): :meth:`lap` gives the time since the previous lap (or since the
    clock was made) to a phase, so the phases add up to the time the laps cover. A lap costs a clock read."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PHASES, 0.0)
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] += now - self._last
        self._last = now


class EventQueue:
    """A min-heap of :class:`Event`, kept as ``(time, priority, sequence, event)`` tuples (compared in C;
    the sequence is unique, so the event itself is never compared). ``pop_batch`` returns every event at
    the earliest time.

    With ``window_s`` (the tick) it is a calendar: only the events of the window the clock is in (times in
    ``[k w, (k + 1) w)``) are in the heap; a later one waits in its window's list, and its window enters
    the heap, heapified, when the clock reaches it. A run puts every arrival and departure of its months in
    the queue, so a heap of all of them was as deep as they are many, and each pop read a tuple per level
    from all over memory (4.3 us a pop at 50,000 hosts, 100,000 guests). The order is the same."""

    def __init__(self, window_s: float | None = None) -> None:
        self._heap: list[tuple[float, int, int, Event]] = []
        self._seq = 0
        self._width = window_s if window_s is not None and window_s > 0 else None
        self._window = -1  # the window whose events are in the heap (those before it are done)
        self._later: dict[int, list[tuple[float, int, int, Event]]] = {}  # the later windows' events
        self._windows: list[int] = []  # the keys of _later, as a heap
        self._n = 0

    def push(self, time_s: float, priority: Priority, payload: Any = None) -> None:
        item = (time_s, priority, self._seq, Event(time_s, priority, self._seq, payload))
        self._seq += 1
        self._n += 1
        if self._width is not None:
            k = int(time_s // self._width)
            if k > self._window:
                later = self._later.get(k)
                if later is None:
                    self._later[k] = later = []
                    heapq.heappush(self._windows, k)
                later.append(item)
                return
        heapq.heappush(self._heap, item)

    def __len__(self) -> int:
        return self._n

    def _fill(self) -> None:
        """An empty heap takes the next window's events."""
        if not self._heap and self._windows:
            self._window = heapq.heappop(self._windows)
            self._heap = self._later.pop(self._window)
            heapq.heapify(self._heap)

    def peek_time(self) -> float:
        self._fill()
        return self._heap[0][0]

    def pop_batch(self) -> list[Event]:
        """All events at the earliest time, in (priority, sequence) order."""
        self._fill()
        first = heapq.heappop(self._heap)
        batch = [first[3]]
        while self._heap and self._heap[0][0] == first[0]:  # (one time: one window)
            batch.append(heapq.heappop(self._heap)[3])
        self._n -= len(batch)
        return batch
