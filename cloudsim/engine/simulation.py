"""The controller loop: guests arrive, the placement pipeline decides on the controller's view, the
commands go to the shards in one batch per shard per event time, ticks advance every shard, and the
recorder turns host reports into the time series, the metrics and the summary.

The controller is the single writer of allocation decisions: it reserves on its own view
(:class:`~cloudsim.placement.Snapshot`); the shards apply the commands and own the dynamics.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from cloudsim.engine.backend import Backend
from cloudsim.engine.cluster import Cluster
from cloudsim.engine.core import EventQueue, Priority
from cloudsim.metrics.recorder import Recorder
from cloudsim.model import Command, HostReport, Place, Remove
from cloudsim.placement import Snapshot, decide, get_policy
from cloudsim.scenario.schema import Scenario
from cloudsim.virt import MODE_INDEX
from cloudsim.workload import Guest, generate, utilization_params


@dataclass
class _Hosted:
    host: int
    cpu_mips: float
    mem_mib: float
    mode: int
    htype: int
    mem_overhead_mib: float
    guest_mib: float
    min_cpu_mips: float  # the least it would reserve on any compatible host (for the lower bound)
    min_mem_mib: float
    booted: bool = False


@dataclass
class ControllerState:
    """What the controller knows besides the host view: where each guest is and the counters."""

    hosted: dict[int, _Hosted] = field(default_factory=dict)
    placed: int = 0
    rejected: int = 0
    completed: int = 0
    migrations: int = 0
    hosts_lower_bound: int = 0  # at the last tick: no packing of the hosted guests uses fewer hosts
    rejections: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class Simulation:
    """One run of a scenario on a backend. ``run()`` returns the summary dict."""

    def __init__(
        self,
        scenario: Scenario,
        backend: Backend,
        *,
        run_id: str = "run",
        hosts_per_shard: int | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.scenario = scenario
        self.backend = backend
        self.cluster = Cluster(scenario)
        self.policy = get_policy(scenario.placement.policy)
        self.guests: list[Guest] = generate(scenario)
        n = len(self.cluster)
        oc = scenario.placement.overcommit
        self.view = Snapshot(
            cpu_cap=self.cluster.cpu_mips * oc.cpu,
            mem_cap=self.cluster.mem_mib * oc.memory,
            cpu_used=np.zeros(n),
            mem_used=self.cluster.reserve_mib.copy(),
            guests=np.zeros(n, dtype=np.int64),
            power_curve_w=self.cluster.power_curve_w,
        )
        self.hosts_per_shard = hosts_per_shard or scenario.ray.hosts_per_actor
        self.specs = self.cluster.shard_specs(self.hosts_per_shard, scenario.seed)
        self.state = ControllerState()
        # capacities for the lower bound: largest first, cumulative (memory net of host reservations)
        self._cpu_cum = np.cumsum(np.sort(self.view.cpu_cap)[::-1])
        self._mem_cum = np.cumsum(np.sort(self.view.mem_cap - self.cluster.reserve_mib)[::-1])
        self.recorder = recorder or Recorder(scenario, self.cluster, run_id=run_id)
        self.queue = EventQueue()
        self.submitted = 0  # guests that arrived (placed or rejected)
        #: called as ``hook(t, report)`` after every tick (tests check invariants here)
        self.tick_hooks: list[Callable[[float, HostReport], None]] = []

    def _shard_of(self, host: int) -> int:
        return host // self.hosts_per_shard

    # ------------------------------------------------------------------------------------------ run

    def run(self, progress: Callable[[float], None] | None = None) -> dict:
        """Run to the scenario's end (or until interrupted: the summary then covers the time run)."""
        s = self.scenario
        wall0 = time.perf_counter()
        self.backend.start(self.specs)
        self.recorder.begin(self.backend.name, self.backend.actors)
        for g in self.guests:
            self.queue.push(g.arrival_s, Priority.ARRIVAL, g)
        n_ticks = math.floor(s.duration / s.tick + 1e-9)
        for k in range(1, n_ticks + 1):
            self.queue.push(k * s.tick, Priority.TICK, k)
        if n_ticks * s.tick < s.duration - 1e-9:
            self.queue.push(s.duration, Priority.TICK, n_ticks + 1)
        now = 0.0
        interrupted = False
        try:
            while len(self.queue) and self.queue.peek_time() <= s.duration:
                batch = self.queue.pop_batch()
                now = batch[0].time_s
                commands: dict[int, list[Command]] = defaultdict(list)
                ticks, wave = [], []
                for ev in batch:
                    if ev.priority is Priority.ARRIVAL:
                        wave.append(ev.payload)
                    elif ev.priority is Priority.DEPARTURE:
                        self._depart(ev.payload, commands)
                    elif ev.priority is Priority.BOOT:
                        if (h := self.state.hosted.get(ev.payload)) is not None:
                            h.booted = True
                    else:
                        ticks.append(ev.payload)
                for guest in self._wave_order(wave):
                    self._arrive(now, guest, commands)
                if commands:
                    self.backend.apply(now, commands)
                for k in ticks:
                    report = self.backend.advance(now, k)
                    self.state.hosts_lower_bound = self.hosts_lower_bound()
                    self.recorder.tick(now, report, self.state, wall_s=time.perf_counter() - wall0)
                    for hook in self.tick_hooks:
                        hook(now, report)
                    if progress is not None:
                        progress(now)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            self.backend.close()
        return self.recorder.summary(
            self.state, sim_time_s=now, wall_time_s=time.perf_counter() - wall0, interrupted=interrupted
        )

    # ------------------------------------------------------------------------------------- handlers

    def _wave_order(self, wave: list[Guest]) -> list[Guest]:
        """Guests arriving at one instant, largest first (the FFD principle of the packing engine: the
        sum of their least reservations as fractions of the largest host), ties in arrival order."""
        if len(wave) < 2 or self.scenario.placement.wave_order == "arrival":
            return wave
        cpu_max, mem_max = float(self.view.cpu_cap.max()), float(self.view.mem_cap.max())

        def size(g: Guest) -> float:
            cpu, mem = self.cluster.min_demand(g.shape)
            return cpu / cpu_max + mem / mem_max

        return sorted(wave, key=lambda g: -size(g))

    def hosts_lower_bound(self) -> int:
        """Hosts that any packing of the hosted guests needs at least: per resource, the fewest hosts
        whose capacities (largest first, memory net of reservations) cover the guests' least possible
        reservations (the continuous bound L1 for unequal bins); the larger of the two."""
        hosted = self.state.hosted.values()
        need = 0
        for total, cum in (
            (sum(h.min_cpu_mips for h in hosted), self._cpu_cum),
            (sum(h.min_mem_mib for h in hosted), self._mem_cum),
        ):
            if total > 0:
                need = max(need, min(int(np.searchsorted(cum, total * (1 - 1e-12))) + 1, len(cum)))
        return need

    def _arrive(self, t: float, guest: Guest, commands: dict[int, list[Command]]) -> None:
        request = self.cluster.request(guest.id, guest.shape)
        decision = decide(self.policy, self.view, request)
        self.submitted += 1
        self.recorder.decision(t, guest, decision, self.cluster)
        if decision.host is None:
            self.state.rejected += 1
            self.state.rejections[decision.reason or "unknown"] += 1
            return
        h = decision.host
        cost = self.cluster.costs(guest.shape)[int(self.cluster.group[h])]
        self.view.cpu_used[h] += cost.cpu_reserved_mips
        self.view.mem_used[h] += cost.mem_mib
        self.view.guests[h] += 1
        self.state.placed += 1
        mode = MODE_INDEX[guest.shape.mode]
        htype = int(self.cluster.htype[h])
        self.state.hosted[guest.id] = _Hosted(
            h,
            cost.cpu_reserved_mips,
            cost.mem_mib,
            mode,
            htype,
            cost.mem_overhead_mib,
            guest.memory_mib,
            *self.cluster.min_demand(guest.shape),
        )
        kind, p1, p2 = utilization_params(guest.shape)
        commands[self._shard_of(h)].append(
            Place(guest.id, h, mode, cost.cpu_mips, cost.overhead_c, cost.mem_mib, kind, p1, p2)
        )
        boot_s = cost.profile.boot_s if cost.profile else 0.0
        self.queue.push(t + boot_s, Priority.BOOT, guest.id)
        if guest.lifetime_s is not None:
            self.queue.push(t + guest.lifetime_s, Priority.DEPARTURE, guest.id)

    def _depart(self, guest_id: int, commands: dict[int, list[Command]]) -> None:
        hosted = self.state.hosted.pop(guest_id)
        h = hosted.host
        self.view.cpu_used[h] -= hosted.cpu_mips
        self.view.mem_used[h] -= hosted.mem_mib
        self.view.guests[h] -= 1
        if self.view.guests[h] == 0:  # drop float residue so an empty host is exactly empty
            self.view.cpu_used[h] = 0.0
            self.view.mem_used[h] = self.cluster.reserve_mib[h]
        self.state.completed += 1
        commands[self._shard_of(h)].append(Remove(guest_id, h))

    # ----------------------------------------------------------------------------------- invariants

    def check_invariants(self, report: HostReport | None = None) -> list[str]:
        """Conservation checks, as sentences (empty when all hold): submitted = placed + rejected; every
        hosted guest on exactly one host; no host over capacity x overcommit; the controller's view
        agrees with its own ledger and, given a report, with the shards."""
        problems = []
        st, v = self.state, self.view
        if st.placed + st.rejected != self.submitted:
            problems.append(f"placed {st.placed} + rejected {st.rejected} != submitted {self.submitted}")
        if st.placed != len(st.hosted) + st.completed:
            problems.append(f"placed {st.placed} != hosted {len(st.hosted)} + completed {st.completed}")
        count = np.bincount([h.host for h in st.hosted.values()], minlength=len(v.guests))
        if not np.array_equal(count, v.guests):
            problems.append("guest count per host differs between the ledger and the view")
        tol = 1e-6
        if (over := np.flatnonzero(v.cpu_used > v.cpu_cap * (1 + tol))).size:
            problems.append(f"cpu over capacity on hosts {over.tolist()}")
        if (over := np.flatnonzero(v.mem_used > v.mem_cap * (1 + tol))).size:
            problems.append(f"memory over capacity on hosts {over.tolist()}")
        if report is not None and not np.array_equal(report.guests, v.guests):
            problems.append("the shards hold different guests per host than the controller placed")
        return problems
