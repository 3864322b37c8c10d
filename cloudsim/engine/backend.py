"""Backends run the host shards. The controller talks to them through :class:`Backend`: one batched
``apply`` per shard per event time, and ``advance`` on every shard at each tick."""

from __future__ import annotations

from typing import Protocol

from cloudsim.model import Command, HostReport, HostShard, ShardSpec


class Backend(Protocol):
    """Where the host shards live. ``name`` goes into the summary; ``actors`` is the number of worker
    processes (actors) holding shards (0 for in-process)."""

    name: str

    def start(self, specs: list[ShardSpec]) -> None:
        """Create one shard per spec."""

    def apply(self, t: float, commands: dict[int, list[Command]]) -> None:
        """Send each shard (by index) its commands for time ``t``: one call per shard, in order."""

    def advance(self, t: float, tick: int) -> HostReport:
        """Advance every shard to ``t`` (in parallel where possible); one report for all hosts."""

    @property
    def actors(self) -> int: ...

    def close(self) -> None:
        """Release the shards."""


class LocalBackend:
    """Shards in this process: the reference backend, and the fast one for small scenarios."""

    name = "local"

    def __init__(self) -> None:
        self.shards: list[HostShard] = []

    def start(self, specs: list[ShardSpec]) -> None:
        self.shards = [HostShard(s) for s in specs]

    def apply(self, t: float, commands: dict[int, list[Command]]) -> None:
        for index, cmds in sorted(commands.items()):
            self.shards[index].apply(t, cmds)

    def advance(self, t: float, tick: int) -> HostReport:
        return HostReport.concat([s.advance(t, tick) for s in self.shards])

    @property
    def actors(self) -> int:
        return 0

    def close(self) -> None:
        self.shards = []
