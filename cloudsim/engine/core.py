"""The clock and the event heap, keyed ``(time, priority, sequence)`` as in SimPy: events at the same
time run in priority order, then in the order they were scheduled. Deterministic by construction."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from enum import IntEnum
from typing import Any


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


class EventQueue:
    """A min-heap of :class:`Event`, kept as ``(time, priority, sequence, event)`` tuples (compared in C;
    the sequence is unique, so the event itself is never compared). ``pop_batch`` returns every event at
    the earliest time."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, int, Event]] = []
        self._seq = 0

    def push(self, time_s: float, priority: Priority, payload: Any = None) -> None:
        heapq.heappush(self._heap, (time_s, priority, self._seq, Event(time_s, priority, self._seq, payload)))
        self._seq += 1

    def __len__(self) -> int:
        return len(self._heap)

    def peek_time(self) -> float:
        return self._heap[0][0]

    def pop_batch(self) -> list[Event]:
        """All events at the earliest time, in (priority, sequence) order."""
        first = heapq.heappop(self._heap)
        batch = [first[3]]
        while self._heap and self._heap[0][0] == first[0]:
            batch.append(heapq.heappop(self._heap)[3])
        return batch
