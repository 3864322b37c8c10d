"""The Ray backend: host shards as Ray actors. The only module (with ``session``) that imports Ray.

As in Ray Serve's ``ActorReplicaWrapper``, every Ray call is made here: the actor is a plain class
(:class:`ShardActor`) wrapped with ``ray.remote`` at run time. The controller makes one call per actor
per event time (commands are fire-and-forget; a caller's calls to one actor run in order) and, at each
tick, advances all actors in parallel with a single ``ray.get``. Errors raised by a fire-and-forget
``apply`` surface at the next ``advance``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import ray

from cloudsim.model import Command, HostReport, HostShard, ShardSpec

T = TypeVar("T")


class ShardActor:
    """A :class:`~cloudsim.model.HostShard` in an actor process."""

    def __init__(self, spec: ShardSpec) -> None:
        self.shard = HostShard(spec)

    def apply(self, t: float, commands: list[Command]) -> None:
        self.shard.apply(t, commands)

    def advance(self, t: float, tick: int) -> HostReport:
        return self.shard.advance(t, tick)


class RayBackend:
    """One Ray actor per shard (per physical host when ``hosts_per_actor`` is 1). Ray must be
    initialised (see :func:`cloudsim.distributed.session.ray_session`)."""

    name = "ray"

    def __init__(self) -> None:
        self.handles: list[Any] = []
        self._pending: list[Any] = []

    def start(self, specs: list[ShardSpec]) -> None:
        # num_cpus=0: an idle shard holds no CPU slot; SPREAD: on a cluster, shards go to every node
        # rather than piling onto the driver's (a no-op on one machine).
        actor = ray.remote(num_cpus=0, max_restarts=0, scheduling_strategy="SPREAD")(ShardActor)
        self.handles = [actor.remote(spec) for spec in specs]

    def apply(self, t: float, commands: dict[int, list[Command]]) -> None:
        for index, cmds in sorted(commands.items()):
            self._pending.append(self.handles[index].apply.remote(t, cmds))

    def advance(self, t: float, tick: int) -> HostReport:
        refs = [h.advance.remote(t, tick) for h in self.handles]
        pending, self._pending = self._pending, []
        results = ray.get(pending + refs)
        return HostReport.concat(results[len(pending) :])

    @property
    def actors(self) -> int:
        return len(self.handles)

    def close(self) -> None:
        for h in self.handles:
            ray.kill(h)
        self.handles = []
        self._pending = []


def run_remote(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)`` in a Ray worker of the current session and return its result (used for
    in-process engines such as trace consolidation, whose hosts form one group)."""
    return ray.get(ray.remote(num_cpus=0)(fn).remote(*args))


def sweep(jobs: list[tuple[Any, str]], tick: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Consolidation benchmark rows for (scenario, day) pairs, one Ray task each (one CPU), spread over the
    cluster; results come back in the order of ``jobs``. ``tick`` sees each row as it finishes."""
    from cloudsim.consolidation.bench import one

    task = ray.remote(num_cpus=1)(one)
    refs = [task.remote(sc, day) for sc, day in jobs]
    index = {ref: i for i, ref in enumerate(refs)}
    rows: list[dict[str, Any] | None] = [None] * len(refs)
    pending = list(refs)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        row = ray.get(done[0])
        rows[index[done[0]]] = row
        if tick is not None:
            tick(row)
    return [r for r in rows if r is not None]
