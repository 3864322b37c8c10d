"""Backends run the host shards. The controller talks to them through :class:`Backend`: one batched
``apply`` per shard per event time, ``complete`` at every migration completion time, and ``advance`` on
every shard at each tick."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from cloudsim.model import Command, Events, HostReport, HostShard, ShardSpec


class BackendLost(RuntimeError):
    """Shards were lost and could not be rebuilt (a cluster gone); the message is one line. The run stops
    and keeps what it computed."""


class Backend(Protocol):
    """Where the host shards live. ``name`` goes into the summary; ``actors`` is the number of worker
    processes (actors) holding shards (0 for in-process)."""

    name: str

    def grain(self, hosts: int) -> int:
        """Hosts per shard when the scenario says ``auto``."""

    def start(self, specs: list[ShardSpec], trace: np.ndarray | None, saved: list[bytes] | None = None) -> None:
        """Create one shard per spec; ``trace`` (a trace workload's utilization matrix) is shared by all.
        ``saved``: the shards as :meth:`save` returned them (a resumed run)."""

    def save(self) -> list[bytes]:
        """Every shard's whole state, for a checkpoint."""

    def apply(self, t: float, commands: dict[int, list[Command]]) -> None:
        """Send each shard (by index) its commands for time ``t``: one call per shard, in order."""

    def complete(self, t: float) -> None:
        """Every shard integrates to ``t`` and ends the migrations due then (before its next call at the
        latest: a remote backend sends completion times along with the next call)."""

    def advance(self, t: float, tick: int, meanwhile: Callable[[], None] | None = None) -> HostReport:
        """Advance every shard to ``t`` (in parallel where possible); one report for all hosts. Its arrays are to
        be read, not written (a remote backend's are read-only views of where the actor wrote them), and stay
        whole until the advance after the next, whose report a backend may write over them. Copy what must be
        kept longer. ``meanwhile``: the
        controller's own work, done while the shards advance when they run in other processes (between sending
        the calls and waiting for the reports), else first."""

    def ahead(self) -> None:
        """After :meth:`advance`, once the controller has queued its own work on the thread beside
        (:func:`~cloudsim.model.shard.beside`): the shards in this process start drawing the next tick there
        (:meth:`HostShard.start_ahead <cloudsim.model.HostShard.start_ahead>`), behind that work, which the
        controller waits for sooner. Shards in other processes draw ahead there on their own: nothing to do."""

    @property
    def actors(self) -> int: ...

    @property
    def nodes(self) -> dict[str, int]:
        """Where the actors ran, once closed: Ray node id → actors on it (empty in-process)."""

    def close(self) -> None:
        """Release the shards."""


class Outbox:
    """What a backend has not sent each shard yet: per shard, the event times since its last call, in order,
    each with the commands for it at that time, or none at a migration completion time (every shard sees
    each one). The shard runs them at the next call (:meth:`~cloudsim.model.HostShard.run`), all in one go;
    :meth:`take` gives them encoded (:class:`~cloudsim.model.Events`).

    ``every_time`` (the cloudsim model, which integrates and settles every host at every event, CloudSim's
    clock): every shard sees every command time too, with no commands where it has none (unless it is
    already settled at that time), so a host's sums split at the same times however the hosts are grouped."""

    def __init__(self, shards: int, every_time: bool = False) -> None:
        self.steps: list[list[tuple[float, list[Command] | None]]] = [[] for _ in range(shards)]
        self.every_time = every_time
        self.last = [-math.inf] * shards  # each shard's last event or advance time (with every_time)

    @classmethod
    def for_specs(cls, specs: Sequence[ShardSpec]) -> Outbox:
        """The outbox for shards of these specs (every time in the cloudsim model)."""
        return cls(len(specs), every_time=any(s.dynamics.cloudsim for s in specs))

    def apply(self, t: float, commands: dict[int, list[Command]]) -> None:
        for index, cmds in sorted(commands.items()):
            self.steps[index].append((t, cmds))
        if self.every_time:
            for index, steps in enumerate(self.steps):
                if self.last[index] != t and index not in commands:
                    steps.append((t, []))
                self.last[index] = t

    def complete(self, t: float) -> None:
        for steps in self.steps:
            steps.append((t, None))
        self.advanced(t)

    def advanced(self, t: float) -> None:
        """Every shard was integrated and settled at ``t`` (a tick's advance, or a completion time)."""
        self.last = [t] * len(self.steps)

    def take(self, index: int) -> Events:
        """Shard ``index``'s events since the last take, encoded."""
        out, self.steps[index] = self.steps[index], []
        return Events.encode(out)


class LocalBackend:
    """Shards in this process: the reference backend, and the fast one for small scenarios. ``auto`` is
    one shard for all hosts. Like a remote backend it keeps the commands and completion times until the
    next tick (or save): each shard then runs the events since in one call."""

    name = "local"

    def __init__(self) -> None:
        self.shards: list[HostShard] = []
        self.outbox = Outbox(0)

    def grain(self, hosts: int) -> int:
        return max(1, hosts)

    def start(self, specs: list[ShardSpec], trace: np.ndarray | None = None, saved: list[bytes] | None = None) -> None:
        if saved is None:
            self.shards = [HostShard(s, trace) for s in specs]
        else:
            self.shards = [HostShard.restore(b, trace) for b in saved]
        self.outbox = Outbox.for_specs(specs)

    def _flush(self) -> None:
        for i, s in enumerate(self.shards):
            s.run(self.outbox.take(i))

    def save(self) -> list[bytes]:
        self._flush()
        return [s.save() for s in self.shards]

    def apply(self, t: float, commands: dict[int, list[Command]]) -> None:
        self.outbox.apply(t, commands)

    def complete(self, t: float) -> None:
        self.outbox.complete(t)

    def advance(self, t: float, tick: int, meanwhile: Callable[[], None] | None = None) -> HostReport:
        if meanwhile is not None:
            meanwhile()
        self._flush()
        self.outbox.advanced(t)
        return HostReport.concat([s.advance(t, tick) for s in self.shards])

    def ahead(self) -> None:
        for s in self.shards:
            s.start_ahead()

    @property
    def actors(self) -> int:
        return 0

    @property
    def nodes(self) -> dict[str, int]:
        return {}

    def close(self) -> None:
        self.shards = []
        self.outbox = Outbox(0)
