"""The Ray backend: host shards as Ray actors. The only module (with ``session``) that imports Ray.

As in Ray Serve's ``ActorReplicaWrapper``, every Ray call is made here: the actor is a plain class
(:class:`ShardActor`) wrapped with ``ray.remote`` at run time. The controller makes one call per actor
per event time (commands are fire-and-forget; a caller's calls to one actor run in order) and, at each
tick, advances all actors in parallel with a single ``ray.get``. Errors raised by a fire-and-forget
``apply`` surface at the next ``advance``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import ray

from cloudsim.model import Command, HostReport, HostShard, ShardSpec


class ShardActor:
    """A :class:`~cloudsim.model.HostShard` in an actor process. ``trace`` arrives from the object store
    (one copy per node, read in place). Every call first ends the migrations due at the completion times
    it carries (the controller batches them into the next call instead of one call each)."""

    def __init__(self, spec: ShardSpec, trace: np.ndarray | None) -> None:
        import time

        self._cpu0 = time.process_time()  # the worker's start-up (Ray, imports) before this actor began
        self.shard = HostShard(spec, trace)

    def _catch_up(self, completions: list[float]) -> None:
        for tc in completions:
            self.shard.complete(tc)

    def apply(self, completions: list[float], t: float, commands: list[Command]) -> None:
        self._catch_up(completions)
        self.shard.apply(t, commands)

    def advance(self, completions: list[float], t: float, tick: int) -> Any:
        """Advance to ``t``; the report travels packed (see :meth:`HostReport.pack`)."""
        self._catch_up(completions)
        return self.shard.advance(t, tick).pack()

    def cpu_s(self, completions: list[float]) -> tuple[float, float]:
        """(CPU seconds of the worker's start-up, CPU seconds since this actor began), for ``bench sim``."""
        import time

        self._catch_up(completions)
        return self._cpu0, time.process_time() - self._cpu0


class RayBackend:
    """Host shards as Ray actors (one per physical host when ``hosts_per_actor`` is 1; ``auto``: about one
    per CPU of the cluster). Ray must be initialised (see :func:`cloudsim.distributed.session.ray_session`)."""

    name = "ray"

    def __init__(self) -> None:
        self.handles: list[Any] = []
        self._pending: list[Any] = []
        self._completions: list[list[float]] = []  # per actor: completion times not yet sent
        self.actor_cpu_s = 0.0  # CPU the actors used for the run (after ``close``)
        self.actor_startup_cpu_s = 0.0  # CPU their worker processes used before (Ray and imports)

    def grain(self, hosts: int) -> int:
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        return max(1, math.ceil(hosts / cpus))

    def start(self, specs: list[ShardSpec], trace: np.ndarray | None = None) -> None:
        # num_cpus=0: an idle shard holds no CPU slot; SPREAD: on a cluster, shards go to every node
        # rather than piling onto the driver's (a no-op on one machine). The trace goes to the object
        # store once; every actor reads its guests' columns from the shared copy.
        actor = ray.remote(num_cpus=0, max_restarts=0, scheduling_strategy="SPREAD")(ShardActor)
        ref = None if trace is None else ray.put(trace)
        self.handles = [actor.remote(spec, ref) for spec in specs]
        self._completions = [[] for _ in specs]

    def _sent(self, index: int) -> list[float]:
        out, self._completions[index] = self._completions[index], []
        return out

    def apply(self, t: float, commands: dict[int, list[Command]]) -> None:
        for index, cmds in sorted(commands.items()):
            self._pending.append(self.handles[index].apply.remote(self._sent(index), t, cmds))

    def complete(self, t: float) -> None:
        for pending in self._completions:
            pending.append(t)

    def _gather(self, refs: list[Any]) -> HostReport:
        pending, self._pending = self._pending, []
        results = ray.get(pending + refs)
        return HostReport.concat([HostReport.unpack(r) for r in results[len(pending) :]])

    def advance(self, t: float, tick: int) -> HostReport:
        return self._gather([h.advance.remote(self._sent(i), t, tick) for i, h in enumerate(self.handles)])

    @property
    def actors(self) -> int:
        return len(self.handles)

    def close(self) -> None:
        """Release the actors (after asking them for the CPU time they used: ``actor_cpu_s``,
        ``actor_startup_cpu_s``)."""
        if self.handles:
            try:
                refs = [h.cpu_s.remote(self._sent(i)) for i, h in enumerate(self.handles)]
                cpu = ray.get(refs)
                self.actor_startup_cpu_s = float(sum(c[0] for c in cpu))
                self.actor_cpu_s = float(sum(c[1] for c in cpu))
            except ray.exceptions.RayError:
                self.actor_cpu_s = self.actor_startup_cpu_s = float("nan")
        for h in self.handles:
            ray.kill(h)
        self.handles = []
        self._pending = []


def sweep(jobs: list[tuple[Any, str]], tick: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Consolidation benchmark rows for (scenario, day) pairs, one Ray task each (one CPU), spread over the
    cluster; results come back in the order of ``jobs``. ``tick`` sees each row as it finishes."""
    from cloudsim.bench import one

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
