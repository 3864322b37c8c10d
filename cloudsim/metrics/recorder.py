"""The recorder turns host reports and controller counters into one row per tick (the time series), the
latest snapshot (what the Prometheus collector serves), the placement log and the run summary.

Definitions (the summary keys of README.md):

* an **active** host has at least one guest; ``consolidation_ratio`` = hosted guests / active hosts;
* ``hosts.lower_bound_*``: hosts any packing of the hosted guests needs at least (L1 for unequal bins,
  each guest at its least reservation over the hosts it can run on); ``packing_efficiency`` = that lower
  bound / active hosts (1.0 is a packing no controller could beat);
* ``utilization`` means are over active hosts, then over ticks;
* ``overhead.<mode>.cpu_fraction`` = host CPU spent on virtualization / CPU delivered to that mode's
  guests, summed over hosts and ticks; ``cpu_cores_mean`` is that overhead in host cores, averaged over
  ticks; ``memory_mib_per_guest`` is the per-instance memory overhead averaged over placed guests;
  ``disk_seq_factor``, ``disk_rand_factor``, ``net_tput_factor`` (share of native device throughput a guest
  sees), ``net_latency_add_us`` (added per round trip) and ``boot_s`` are the profile's figures averaged
  over the placed guests of the mode;
* ``sla.cpu_shortfall_ratio`` = CPU asked but not delivered (host contention) / CPU asked, time-integrated;
  the time series' ``cpu_shortfall_tick`` is the same ratio over each tick alone.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numba import njit

from cloudsim.files import atomic_open, finite
from cloudsim.metrics.families import host_detail_values
from cloudsim.model import HostReport
from cloudsim.virt import HYPERVISOR_TYPES, MODES

if TYPE_CHECKING:
    from cloudsim.engine.cluster import Cluster, GuestCost
    from cloudsim.engine.simulation import ControllerState
    from cloudsim.placement import Decision
    from cloudsim.scenario.schema import Scenario
    from cloudsim.workload import Guest


#: Profile fields reported per mode as means over the placed guests (they depend on the host type mix).
_IO_KEYS = {
    "disk_seq": "disk_seq_factor",
    "disk_rand": "disk_rand_factor",
    "net_tput": "net_tput_factor",
    "net_lat_add_us": "net_latency_add_us",
    "boot_s": "boot_s",
}
#: What a guest without a profile (a scenario without overheads: ``workload.trace.mode: none``) sees: its
#: host's devices whole, no added latency, no boot delay.
_NATIVE_IO = {"disk_seq": 1.0, "disk_rand": 1.0, "net_tput": 1.0, "net_lat_add_us": 0.0, "boot_s": 0.0}


def policy_label(sc: Scenario) -> str:
    """A consolidation run's policy as the literature names it: ``LR-MMT-1.2``, ``NPA``, ``DVFS``, with
    ``(ours)`` for our wake and retarget rules."""
    c = sc.consolidation
    assert c is not None
    if c.allocation != "migrate":
        return c.allocation.upper()
    label = f"{c.detector.upper()}-{c.selection.upper()}-{c.safety:g}"
    if c.wake == "last-resort" or not c.retarget:
        label += " (ours)" if c.wake == "last-resort" and not c.retarget else f" (wake {c.wake}, retarget {c.retarget})"
    return label


def sla_values(report: HostReport) -> dict[str, float]:
    """The SLA figures so far (fractions), from a report's time integrals (Beloglazov & Buyya 2012 as
    CloudSim 3.0.3 computes them): ``slatah`` = time hosts were active and allocated less than requested /
    time active; ``pdm`` = CPU requested but not allocated because of migrations / CPU requested;
    ``slav`` = slatah x pdm; ``overall`` = ``cpu_shortfall`` = CPU requested but not allocated (all causes)
    / CPU requested."""
    active = float(report.active_s.sum())
    requested = float(report.requested_mips_s.sum())
    slatah = float(report.full_s.sum()) / active if active > 0 else 0.0
    pdm = float(report.migration_loss_mips_s.sum()) / requested if requested > 0 else 0.0
    short = (requested - float(report.allocated_mips_s.sum())) / requested if requested > 0 else 0.0
    return {"slatah": slatah, "pdm": pdm, "slav": slatah * pdm, "overall": short, "cpu_shortfall": short}


def _r(x: float, digits: int = 6) -> float:
    """Rounded for the summary (so equal runs print equal bytes whatever the platform's last bits)."""
    v = round(float(x), digits)
    return 0.0 if v == 0 else v


@dataclass
class Snapshot:
    """The latest figures, as the metrics collector reads them (replaced whole at every tick)."""

    time_s: float = 0.0
    wall_s: float = 0.0
    hosts_active: int = 0
    hosts_on: int = 0
    hosts_total: int = 0
    consolidation_ratio: float = 0.0
    hosts_lower_bound: int = 0
    packing_efficiency: float = 1.0
    cpu_utilization: float = 0.0
    memory_utilization: float = 0.0
    guests: dict[tuple[str, str], int] = field(default_factory=dict)  # (mode, state) -> count
    overhead: dict[tuple[str, str, str], float] = field(default_factory=dict)  # (mode, htype, resource)
    placements: dict[str, int] = field(default_factory=dict)  # outcome -> count
    migrations: int = 0
    energy_j: float = 0.0
    power_w: float = 0.0
    sla: dict[str, float] = field(default_factory=dict)
    cpu_shortfall_tick: float | None = None  # CPU not delivered during the last tick / asked (0-1); None: not recorded
    rejections: dict[str, int] = field(default_factory=dict)  # binding reason -> count
    shutdowns: int = 0
    esv: float | None = None  # consolidation runs
    host_failures: int = 0  # runs with faults, as the three below
    restarts: int = 0
    availability: dict[str, float] | None = None  # mode -> share of guest time running
    host_buckets: list[int] = field(default_factory=list)  # hosts on by CPU utilization (cumulative)
    top_hosts: list[tuple[str, float]] = field(default_factory=list)  # the busiest hosts
    wall_by_phase: dict[str, float] = field(default_factory=dict)  # wall seconds so far by phase of the loop

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form (tuple keys joined with '|'), for ``metrics.jsonl``."""
        return {
            **{k: v for k, v in self.__dict__.items() if k not in ("guests", "overhead", "top_hosts")},
            "guests": {"|".join(k): v for k, v in self.guests.items()},
            "overhead": {"|".join(k): v for k, v in self.overhead.items()},
            "top_hosts": [list(x) for x in self.top_hosts],
        }

    @classmethod
    def from_json(cls, d: Any) -> Snapshot:
        """The snapshot of one ``metrics.jsonl`` line (parsed). A line that is not one (an object whose fields
        have the types :meth:`to_json` writes; fields it lacks take their defaults, as in older runs) is a
        ``ValueError`` naming the field and what it must be."""
        if not isinstance(d, dict) or "time_s" not in d:
            raise ValueError("not a metrics record (a JSON object with a number 'time_s')")
        kept = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        for name, value in kept.items():
            kind = _SNAPSHOT_FIELDS.get(name, "number")
            if not _is(kind, value):
                raise ValueError(f"field {name!r}: expected {_KINDS[kind]}, got {json.dumps(value)[:40]}")
        for name, parts in (("guests", 2), ("overhead", 3)):
            bad = next((k for k in kept.get(name, {}) if k.count("|") != parts - 1), None)
            if bad is not None:
                raise ValueError(f"field {name!r}: key {bad!r} is not {parts} names joined by '|'")
        kept["guests"] = {tuple(k.split("|")): v for k, v in kept.get("guests", {}).items()}
        kept["overhead"] = {tuple(k.split("|")): v for k, v in kept.get("overhead", {}).items()}
        kept["top_hosts"] = [tuple(x) for x in kept.get("top_hosts", [])]
        return cls(**kept)


#: What each field of a :class:`Snapshot` holds in ``metrics.jsonl``, when not a plain number.
_SNAPSHOT_FIELDS = {
    "cpu_shortfall_tick": "number or null",
    "esv": "number or null",
    "availability": "numbers by name or null",
    "guests": "numbers by name",
    "overhead": "numbers by name",
    "placements": "numbers by name",
    "sla": "numbers by name",
    "rejections": "numbers by name",
    "wall_by_phase": "numbers by name",
    "host_buckets": "numbers",
    "top_hosts": "pairs",
}
_KINDS = {
    "number": "a finite number",
    "number or null": "a finite number or null",
    "numbers by name": "an object of finite numbers",
    "numbers by name or null": "an object of finite numbers, or null",
    "numbers": "a list of finite numbers",
    "pairs": "a list of [host name, finite number] pairs",
}


def _is(kind: str, v: Any) -> bool:
    """Whether ``v`` (parsed JSON) is of this kind of :data:`_SNAPSHOT_FIELDS`."""
    if kind.endswith(" or null"):
        return v is None or _is(kind.removesuffix(" or null"), v)
    if kind == "number":
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    if kind == "numbers by name":
        return isinstance(v, dict) and all(_is("number", x) for x in v.values())
    if kind == "numbers":
        return isinstance(v, list) and all(_is("number", x) for x in v)
    return isinstance(v, list) and all(  # pairs
        isinstance(x, list) and len(x) == 2 and isinstance(x[0], str) and _is("number", x[1]) for x in v
    )


def _sums() -> defaultdict[str, float]:
    return defaultdict(float)


@njit(cache=True, nogil=True)
def _mode_sums(
    over: np.ndarray, deliv: np.ndarray, per_core: np.ndarray, htype: np.ndarray, ntypes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per mode, over the hosts (``over``, ``deliv``: hosts x modes, MIPS): overhead and delivered cores,
    and per hypervisor type the overhead and delivered MIPS. One pass, summed in host order as numpy sums
    an array's rows. A host's 0s are not added (a sum that starts at 0 is the same without them: most hosts
    of a consolidated data centre are off, and the divisions cost more than the pass's reads)."""
    modes = over.shape[1]
    over_cores, deliv_cores = np.zeros(modes), np.zeros(modes)
    over_t, deliv_t = np.zeros((ntypes, modes)), np.zeros((ntypes, modes))
    for h in range(over.shape[0]):
        t = htype[h]
        for m in range(modes):
            if over[h, m] == 0.0 and deliv[h, m] == 0.0:
                continue
            over_cores[m] += over[h, m] / per_core[h]
            deliv_cores[m] += deliv[h, m] / per_core[h]
            over_t[t, m] += over[h, m]
            deliv_t[t, m] += deliv[h, m]
    return over_cores, deliv_cores, over_t, deliv_t


@njit(cache=True, nogil=True)
def _guest_sums(
    ids: np.ndarray, status: np.ndarray, mode: np.ndarray, htype: np.ndarray, mem_over: np.ndarray, mib: np.ndarray,
    modes: int, ntypes: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Over the guests on a host, ``ids`` (ascending; ``status`` 1 booting, 2 running): how many per mode and
    state (mode x 2 + state - 1), and per cell (mode x ``ntypes`` + hypervisor type) their memory overhead and
    memory. One pass, summed in guest order as ``np.bincount`` sums."""
    by_state = np.zeros(2 * modes, dtype=np.int64)
    cell_over, cell_mib = np.zeros(modes * ntypes), np.zeros(modes * ntypes)
    for g in ids:
        by_state[mode[g] * 2 + status[g] - 1] += 1
        c = mode[g] * ntypes + htype[g]
        cell_over[c] += mem_over[g]
        cell_mib[c] += mib[g]
    return by_state, cell_over, cell_mib


@dataclass(frozen=True)
class TickState:
    """What a tick's row reads of the controller's state, taken at the tick (:meth:`Recorder.tick_state`): its
    counters, and sums over the report's guests of their state, mode and memory (:func:`_guest_sums`). The row
    can then be made while the controller goes on (:meth:`Recorder.tick`)."""

    hosted: int
    hosts_lower_bound: int
    placed: int
    rejected: int
    completed: int
    migrations: int
    host_failures: int
    restarts: int
    availability: dict[str, float] | None
    rejections: dict[str, int]
    guests: tuple[np.ndarray, np.ndarray, np.ndarray]  # (by mode and state, memory overhead and memory by cell)


class Recorder:
    """Collects the run's figures. One per run; not shared (no global state)."""

    def __init__(self, scenario: Scenario, cluster: Cluster, run_id: str = "run") -> None:
        self.scenario = scenario
        self.cluster = cluster
        self.run_id = run_id
        self.rows: list[dict[str, float]] = []
        self.latest = Snapshot(hosts_total=len(cluster))
        self.history: list[Snapshot] = []  # one snapshot per tick (the OpenMetrics backfill reads it)
        # the placement log: entries as placements.jsonl holds them, and the placements since made into
        # entries only when the log is read (a tuple each: a busy run places tens of thousands of guests)
        self._log: list[dict[str, Any]] = []
        self._unlogged: list[tuple[Any, ...]] = []
        self.backend = "local"
        self.actors = 0
        self.nodes: dict[str, int] = {}
        self._mode_sums: dict[str, dict[str, float]] = defaultdict(_sums)
        self._cell_sums: dict[tuple[str, str], dict[str, float]] = defaultdict(_sums)
        self._modes_seen: set[str] = set()
        self._listeners: list[Any] = []
        self.consolidating = scenario.consolidation is not None
        self._last_report: HostReport | None = None
        self._mips_so_far = (0.0, 0.0)  # CPU requested and allocated up to the last tick (MIPS x s)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_listeners"] = []  # callbacks of this process (a live endpoint, a progress bar): not saved
        state["_log"], state["_unlogged"] = self.placement_log, []
        return state

    @property
    def placement_log(self) -> list[dict[str, Any]]:
        """One entry per placement decision, in order: placed (the host, its reservations and overheads, the
        policy's score and runner-up when it has one) or rejected (the reason)."""
        if self._unlogged:
            made: dict[int, dict[str, Any]] = {}  # the guests' reservations, made once per cost (shape, group)
            self._log.extend(self._placed_entry(*u, made) for u in self._unlogged)
            self._unlogged = []
        return self._log

    def subscribe(self, fn: Any) -> None:
        """Call ``fn(snapshot)`` after every tick (the live metrics endpoint, a pacing clock): see :meth:`publish`."""
        self._listeners.append(fn)

    def begin(self, backend: str, actors: int) -> None:
        self.backend, self.actors = backend, actors

    def ran_on(self, nodes: dict[str, int]) -> None:
        """The Ray nodes that held the backend's actors (node id → actors), known once it closed."""
        self.nodes = dict(nodes)

    # ----------------------------------------------------------------------------------- decisions

    def decision(self, t: float, guest: Guest, decision: Decision, cluster: Cluster) -> None:
        """Log a decision of the placement pipeline."""
        if decision.host is None:
            self.rejected(t, guest, decision.reason or "unknown", decision.detail)
        else:
            self.placed(t, guest, decision.host, cluster, decision.detail, decision)

    def rejected(self, t: float, guest: Guest, reason: str, detail: str) -> None:
        entry = {**self._entry(t, guest), "outcome": "rejected", "reason": reason, "detail": detail}
        self.placement_log.append(entry)

    def placed(
        self, t: float, guest: Guest, h: int, cluster: Cluster, detail: str, decision: Decision | None = None
    ) -> None:
        """Log a placement on host ``h`` (with the policy's ``decision``, when it scored the hosts) and count
        its overheads."""
        cost = cluster.costs(guest.shape)[int(cluster.group[h])]
        mode = guest.shape.mode.value
        htype = HYPERVISOR_TYPES[int(cluster.htype[h])].value
        self._modes_seen.add(mode)
        sums = self._mode_sums[mode]
        sums["placed"] += 1
        sums["mem_overhead_mib"] += cost.mem_overhead_mib
        for key in _IO_KEYS:
            sums[key] += _NATIVE_IO[key] if cost.profile is None else getattr(cost.profile, key)
        cell = self._cell_sums[(mode, htype)]
        cell["placed"] += 1
        cell["mem_overhead_mib"] += cost.mem_overhead_mib
        cell["guest_mib"] += guest.memory_mib
        score = second = second_name = None
        if decision is not None and decision.score is not None:
            score, second = decision.score, decision.runner_up_score
            if decision.runner_up is not None:
                second_name = cluster.names[decision.runner_up]
        self._unlogged.append((t, guest, cluster.names[h], detail, cost, score, second_name, second))

    def _placed_entry(
        self, t: float, guest: Guest, host: str, detail: str, cost: GuestCost, score: float | None,
        second_name: str | None, second: float | None, made: dict[int, dict[str, Any]],
    ) -> dict[str, Any]:  # fmt: skip
        reserved = made.get(id(cost))
        if reserved is None:
            reserved = made[id(cost)] = {
                "reserved_cpu_mips": _r(cost.cpu_reserved_mips, 3),
                "reserved_mem_mib": _r(cost.mem_mib, 3),
                "overhead_cpu_fraction": _r(cost.overhead_c),
                "overhead_mem_mib": _r(cost.mem_overhead_mib, 3),
            }
        entry = {**self._entry(t, guest), "outcome": "placed", "host": host, "detail": detail, **reserved}
        if score is not None:  # the winner's total and the runner-up's (cloudsim explain gives every candidate)
            entry["score"] = _r(score)
            if second_name is not None and second is not None:
                entry["runner_up"] = second_name
                entry["runner_up_score"] = _r(second)
                entry["margin"] = _r(score - second)
        return entry

    @staticmethod
    def _entry(t: float, guest: Guest) -> dict[str, Any]:
        return {"time_s": _r(t, 3), "guest": guest.name, "mode": guest.shape.mode.value, "os": guest.shape.os.value}

    # ---------------------------------------------------------------------------------------- ticks

    def tick_state(self, report: HostReport, state: ControllerState) -> TickState:
        """What the row of the tick of ``report`` reads of the controller's ``state``, taken now."""
        # the guests on a host are the report's (a migrating guest is resident on its source): counted over
        # those, not over every guest the run has seen
        guests = _guest_sums(
            report.guest_ids, state.status, state.mode, state.htype, state.mem_overhead_mib, state.guest_mib,
            len(MODES), len(HYPERVISOR_TYPES),
        )  # fmt: skip
        return TickState(
            hosted=state.hosted,
            hosts_lower_bound=state.hosts_lower_bound,
            placed=state.placed,
            rejected=state.rejected,
            completed=state.completed,
            migrations=state.migrations,
            host_failures=state.host_failures,
            restarts=int(sum(v[0] for v in state.fault_stats.values())),
            availability=None
            if self.scenario.faults is None
            else {m: (1 - v[1] / v[2] if v[2] > 0 else 1.0) for m, v in state.fault_stats.items()},
            rejections=dict(state.rejections),
            guests=guests,
        )

    def tick(
        self,
        t: float,
        report: HostReport,
        state: TickState,
        wall_s: float,
        phase_s: dict[str, float],
    ) -> None:
        """The tick's row, snapshot and sums, from the report and what it reads of the controller's state
        (:meth:`tick_state`); ``wall_s``: the run's wall time so far, ``phase_s`` by phase of its loop."""
        c = self.cluster
        active = (report.guests + report.incoming > 0) | (report.cpu_used_mips > 0)
        n_active = int(active.sum())
        n_hosted = state.hosted
        row: dict[str, float] = {"time_s": t}
        by_state, cell_over, cell_mib = state.guests
        booting = int(by_state[0::2].sum())
        row["guests_hosted"] = n_hosted
        row["guests_running"] = n_hosted - booting
        row["guests_booting"] = booting
        row["hosts_active"] = n_active
        on = active | (~c.empty_off if c.dynamics.model != "cloudsim" else False)
        row["hosts_on"] = int(on.sum())
        row["consolidation_ratio"] = n_hosted / n_active if n_active else 0.0
        row["hosts_lower_bound"] = state.hosts_lower_bound
        row["packing_efficiency"] = state.hosts_lower_bound / n_active if n_active else 1.0
        row["cpu_utilization"] = float((report.cpu_used_mips / c.cpu_mips)[active].mean()) if n_active else 0.0
        row["memory_utilization"] = float((report.mem_used_mib / c.mem_mib)[active].mean()) if n_active else 0.0
        row["power_w"] = float(report.power_w.sum())
        row["energy_kwh"] = float(report.energy_j.sum()) / 3.6e6
        sla = sla_values(report)
        row["sla_cpu_shortfall_ratio"] = sla["cpu_shortfall"]
        row["cpu_shortfall_tick"] = self._shortfall_tick(report)
        if self.consolidating:
            row["sla_slatah"], row["sla_pdm"] = sla["slatah"], sla["pdm"]
            row["shutdowns"] = int(report.shutdowns.sum())
        row["placed"], row["rejected"] = state.placed, state.rejected
        row["completed"], row["migrations"] = state.completed, state.migrations
        over_cores, deliv_cores, over_by_type, deliv_by_type = _mode_sums(
            report.overhead_mips_by_mode, report.delivered_mips_by_mode, c.mips_per_core, c.htype,
            len(HYPERVISOR_TYPES),
        )  # fmt: skip
        counts = {
            (m, st): int(by_state[2 * mi + k])
            for mi, m in enumerate(MODES)
            for k, st in enumerate(("booting", "running"))
        }
        mem_cells = {
            (i // len(HYPERVISOR_TYPES), i % len(HYPERVISOR_TYPES)): (float(cell_over[i]), float(cell_mib[i]))
            for i in np.flatnonzero(cell_mib > 0).tolist()
        }
        overhead: dict[tuple[str, str, str], float] = {}
        for ti, htype in enumerate(HYPERVISOR_TYPES):
            over, deliv = over_by_type[ti], deliv_by_type[ti]
            for mi, mode in enumerate(MODES):
                if deliv[mi] > 0:
                    overhead[(mode.value, htype.value, "cpu")] = float(over[mi] / deliv[mi])
                    cell = self._cell_sums[(mode.value, htype.value)]
                    cell["over_mips"] += float(over[mi])
                    cell["deliv_mips"] += float(deliv[mi])
                if (mi, ti) in mem_cells and mem_cells[(mi, ti)][1] > 0:
                    o, gm = mem_cells[(mi, ti)]
                    overhead[(mode.value, htype.value, "memory")] = o / gm
        for mi, mode in enumerate(MODES):
            m = mode.value
            n_mode = counts[(mode, "booting")] + counts[(mode, "running")]
            row[f"guests_{m}"] = n_mode
            row[f"overhead_cores_{m}"] = float(over_cores[mi])
            row[f"delivered_cores_{m}"] = float(deliv_cores[mi])
            sums = self._mode_sums[m]
            sums["ticks_guests"] += n_mode
            sums["ticks_over_cores"] += float(over_cores[mi])
            sums["over_mips"] += float(report.overhead_mips_by_mode[:, mi].sum())
            sums["deliv_mips"] += float(report.delivered_mips_by_mode[:, mi].sum())
        row["wall_s"] = wall_s
        self.rows.append(row)
        self._last_report = report
        hosts_on = np.flatnonzero(on)
        buckets, top = host_detail_values(report.cpu_used_mips[hosts_on] / c.cpu_mips[hosts_on], c.names, hosts_on)
        self.latest = Snapshot(
            time_s=t,
            wall_s=wall_s,
            hosts_active=n_active,
            hosts_on=int(row["hosts_on"]),
            hosts_total=len(c),
            consolidation_ratio=row["consolidation_ratio"],
            hosts_lower_bound=state.hosts_lower_bound,
            packing_efficiency=row["packing_efficiency"],
            cpu_utilization=row["cpu_utilization"],
            memory_utilization=row["memory_utilization"],
            guests={(m.value, st): v for (m, st), v in counts.items()},
            overhead=overhead,
            placements={"placed": state.placed, "rejected": state.rejected},
            migrations=state.migrations,
            energy_j=float(report.energy_j.sum()),
            power_w=row["power_w"],
            cpu_shortfall_tick=row["cpu_shortfall_tick"],
            sla=sla if self.consolidating else {"cpu_shortfall": sla["cpu_shortfall"]},
            shutdowns=int(report.shutdowns.sum()),
            host_failures=state.host_failures,
            restarts=state.restarts,
            availability=state.availability,
            esv=sla["slatah"] * sla["pdm"] * row["energy_kwh"] if self.consolidating else None,
            rejections=state.rejections,
            host_buckets=buckets,
            top_hosts=top,
            wall_by_phase=dict(phase_s),
        )
        self.history.append(self.latest)

    def _shortfall_tick(self, report: HostReport) -> float:
        """CPU asked but not delivered since the previous tick / CPU asked since then (0-1): the running
        ``cpu_shortfall`` ratio's increments, so a short burst of contention reads as what it was."""
        requested, allocated = float(report.requested_mips_s.sum()), float(report.allocated_mips_s.sum())
        req0, alloc0 = self._mips_so_far
        self._mips_so_far = (requested, allocated)
        asked = requested - req0
        return max(0.0, (asked - (allocated - alloc0)) / asked) if asked > 0 else 0.0

    def publish(self) -> None:
        """Hand the latest snapshot to the subscribers (after :meth:`tick`; they may take their time: the live
        endpoint, a pacing clock)."""
        for fn in self._listeners:
            fn(self.latest)

    # -------------------------------------------------------------------------------------- summary

    def summary(
        self,
        state: ControllerState,
        sim_time_s: float,
        wall_time_s: float,
        phase_s: dict[str, float],
        interrupted: bool = False,
    ) -> dict[str, Any]:
        """The run's summary (``summary.json``); ``phase_s``: where its wall time went, by phase of the loop."""
        rows = self.rows
        ticks = len(rows)

        def col(key: str) -> np.ndarray:
            return np.array([r[key] for r in rows], dtype=np.float64)

        active = col("hosts_active") if ticks else np.zeros(0)
        busy = active > 0

        def mean_busy(key: str) -> float:
            return _r(col(key)[busy].mean()) if busy.any() else 0.0

        overhead: dict[str, Any] = {}
        for m in sorted(self._modes_seen, key=lambda m: [x.value for x in MODES].index(m)):
            s = self._mode_sums[m]
            overhead[m] = {
                "guests_mean": _r(s["ticks_guests"] / ticks) if ticks else 0.0,
                "cpu_fraction": _r(s["over_mips"] / s["deliv_mips"]) if s["deliv_mips"] > 0 else 0.0,
                "cpu_cores_mean": _r(s["ticks_over_cores"] / ticks) if ticks else 0.0,
                "memory_mib_per_guest": _r(s["mem_overhead_mib"] / s["placed"]) if s["placed"] else 0.0,
                **{name: (_r(s[key] / s["placed"]) if s["placed"] else 0.0) for key, name in _IO_KEYS.items()},
            }
        by_hv: dict[str, dict[str, Any]] = {}
        for (m, ht), cell in sorted(self._cell_sums.items()):
            if not cell.get("placed"):
                continue
            by_hv.setdefault(m, {})[ht] = {
                "guests_placed": int(cell["placed"]),
                "cpu_fraction": _r(cell["over_mips"] / cell["deliv_mips"]) if cell.get("deliv_mips") else 0.0,
                "memory_fraction": _r(cell["mem_overhead_mib"] / cell["guest_mib"]) if cell["guest_mib"] else 0.0,
                "memory_mib_per_guest": _r(cell["mem_overhead_mib"] / cell["placed"]),
            }
        ratio = col("consolidation_ratio") if ticks else np.zeros(0)
        last = rows[-1] if rows else {}
        submitted = state.placed + state.rejected
        hosts = {
            "total": len(self.cluster),
            "active_mean": _r(active.mean()) if ticks else 0.0,
            "active_max": int(active.max()) if ticks else 0,
            "lower_bound_mean": _r(col("hosts_lower_bound").mean()) if ticks else 0.0,
            "lower_bound_max": int(col("hosts_lower_bound").max()) if ticks else 0,
        }
        summary: dict[str, Any] = {
            "scenario": self.scenario.name,
            "seed": self.scenario.seed,
            "run": self.run_id,
            "backend": self.backend,
            "actors": self.actors,
            "nodes": self.nodes,
            "policy": self.scenario.placement.policy,
            "guests": {
                "submitted": submitted,
                "placed": state.placed,
                "rejected": state.rejected,
                "completed": state.completed,
                "running_at_end": state.hosted,
            },
            "rejections": dict(sorted(state.rejections.items())),
            "hosts": dict(hosts),
            "packing_efficiency": {
                "mean": mean_busy("packing_efficiency"),
                "final": _r(last.get("packing_efficiency", 1.0)),
            },
            "consolidation_ratio": {
                "mean": _r(ratio[busy].mean()) if busy.any() else 0.0,
                "max": _r(ratio.max()) if ticks else 0.0,
                "final": _r(last.get("consolidation_ratio", 0.0)),
            },
            "utilization": {
                "cpu_mean": mean_busy("cpu_utilization"),
                "memory_mean": mean_busy("memory_utilization"),
            },
            "overhead": overhead,
            "overhead_by_hypervisor": by_hv,
            "energy_kwh": _r(last.get("energy_kwh", 0.0)),
            "sla": {"cpu_shortfall_ratio": _r(last.get("sla_cpu_shortfall_ratio", 0.0))},
            "migrations": state.migrations,
            "ticks": ticks,
            "sim_time_s": _r(sim_time_s, 3),
            "wall_time_s": _r(wall_time_s, 3),
            "wall_time_by_phase_s": {k: _r(v, 3) for k, v in phase_s.items()},
        }
        summary.update(self._migration_summary(state))
        if self.consolidating:
            summary.update(self._consolidation_summary(state, hosts))
        if self.scenario.faults is not None:
            by_mode = {
                m: {
                    "restarts": int(v[0]),
                    "downtime_s": _r(v[1], 3),
                    "availability": _r(1 - v[1] / v[2]) if v[2] > 0 else 1.0,
                    "lost_work_mips_s": _r(v[3], 1),
                }
                for m, v in sorted(state.fault_stats.items())
            }
            summary["faults"] = {
                "host_failures": state.host_failures,
                "drains": state.drains,
                "restarts": sum(v["restarts"] for v in by_mode.values()),
                "waiting_at_end": len(state.waiting),
                "by_mode": by_mode,
            }
        if interrupted:
            summary["interrupted"] = True
        return summary

    @staticmethod
    def _migration_summary(state: ControllerState) -> dict[str, Any]:
        """Live migrations by mode (consolidation, maintenance drains): count, mean time and downtime."""
        count = sum(int(v[0]) for v in state.migration_stats.values())
        total_s = sum(v[1] for v in state.migration_stats.values())
        down_s = sum(v[2] for v in state.migration_stats.values())
        by_mode = {
            m: {"count": int(v[0]), "mean_time_s": _r(v[1] / v[0], 3), "downtime_mean_s": _r(v[2] / v[0], 4)}
            for m, v in sorted(state.migration_stats.items())
            if v[0]
        }
        return {
            "migrations_by_mode": by_mode,
            "mean_migration_time_s": _r(total_s / count, 3) if count else 0.0,
            "downtime_total_s": _r(down_s, 3),
        }

    def _consolidation_summary(self, state: ControllerState, hosts: dict[str, Any]) -> dict[str, Any]:
        """The consolidation figures (the keys of the PlanetLab experiment): SLA, ESV, shutdowns,
        migrations by mode with their mean time and downtime."""
        sc, rep = self.scenario, self._last_report
        sla = sla_values(rep) if rep is not None else dict.fromkeys(("slatah", "pdm", "slav", "overall"), 0.0)
        energy = _r(self.rows[-1]["energy_kwh"]) if self.rows else 0.0
        shutdowns = int(rep.shutdowns.sum()) if rep is not None else 0
        on_s = float(rep.shutdown_on_s.sum()) if rep is not None else 0.0
        tr = sc.workload.trace
        out: dict[str, Any] = {
            "kind": "consolidation",
            "policy": policy_label(sc),
            "sla": {
                "cpu_shortfall_ratio": _r(sla["overall"]),
                "slatah_pct": round(100 * sla["slatah"], 4),
                "pdm_pct": round(100 * sla["pdm"], 5),
                "slav_pct": round(100 * sla["slav"], 7),
                "overall_violation_pct": round(100 * sla["overall"], 4),
            },
            "esv": energy * sla["slatah"] * sla["pdm"],
        }
        span = (rep.t - self.rows[0]["time_s"]) if rep is not None and self.rows else 0.0
        out["hosts"] = {
            **hosts,
            # time-weighted over the accounting period (CloudSim's), not sampled at the ticks
            "active_mean": _r(float(rep.active_s.sum()) / span) if rep is not None and span > 0 else 0.0,
            "shutdowns": shutdowns,
            "mean_time_before_shutdown_s": round(on_s / shutdowns, 2) if shutdowns else 0.0,
            "active_initial": state.active_initial,
        }
        if tr is not None:
            out["trace"] = {"path": tr.path, "vms": state.placed + state.rejected, "mode": tr.mode}
        return out

    # --------------------------------------------------------------------------------------- output

    def write(self, out_dir: Path, summary: dict[str, Any]) -> list[Path]:
        """``summary.json``, ``timeseries.csv``, ``placements.jsonl`` and ``metrics.jsonl`` in ``out_dir``,
        each written whole or not at all (the summary last, so a folder with a summary has everything)."""
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = [
            out_dir / "summary.json",
            out_dir / "timeseries.csv",
            out_dir / "placements.jsonl",
            out_dir / "metrics.jsonl",
        ]
        with atomic_open(paths[1], newline="") as fh:
            if self.rows:
                writer = csv.DictWriter(fh, fieldnames=list(self.rows[0]))
                writer.writeheader()
                for row in self.rows:
                    writer.writerow({k: (_r(v) if isinstance(v, float) else v) for k, v in row.items()})
        with atomic_open(paths[2]) as fh:
            for entry in self.placement_log:
                fh.write(json.dumps(finite(entry), allow_nan=False) + "\n")
        with atomic_open(paths[3]) as fh:
            for snap in self.history:
                fh.write(json.dumps(finite(snap.to_json()), allow_nan=False) + "\n")
        with atomic_open(paths[0]) as fh:
            fh.write(json.dumps(finite(summary), indent=2, allow_nan=False) + "\n")
        return paths
