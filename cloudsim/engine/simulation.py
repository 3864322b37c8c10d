"""The controller loop, the one engine of cloudsim: guests arrive, the placement pipeline decides on the
controller's view, the commands go to the shards in one batch per shard per event time, ticks advance
every shard, consolidation runs as a phase of the controller at each tick, and the recorder turns host
reports into the time series, the metrics and the summary.

The controller is the single writer of allocation decisions: it reserves on its own view
(:class:`~cloudsim.placement.Snapshot`) and keeps which guest is where (with the consolidation view,
:class:`~cloudsim.placement.consolidation.Consolidator`); the shards apply the commands and own the
dynamics (utilization from distributions or trace columns, allocation, power, SLA sums).

A live migration is three commands: the target gets the guest with the time it completes, the source
marks it outgoing, and (when a guest moved twice in one step) its first target marks it superseded.
Both sides are booked while it runs; at its completion time every shard integrates to that instant and
ends the migrations due, and the controller frees the source's booking.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cloudsim.engine.backend import Backend, BackendLost
from cloudsim.engine.cluster import Cluster
from cloudsim.engine.core import EventQueue, PhaseClock, Priority, is_stop, whole
from cloudsim.files import atomic_write_bytes, why_unwritable
from cloudsim.metrics.recorder import Recorder, TickState
from cloudsim.model import (
    DIST_TRACE,
    Command,
    Encoded,
    Fail,
    HostReport,
    MigrateOut,
    MigrationModel,
    Place,
    Remove,
    Repair,
    Supersede,
    end_rows,
    place_rows,
)
from cloudsim.model.shard import BESIDE_ROWS, beside
from cloudsim.placement import Snapshot, get_policy
from cloudsim.placement.consolidation import Consolidator, Settings
from cloudsim.placement.detectors import Detector
from cloudsim.placement.placer import Placer
from cloudsim.scenario.schema import Consolidation, Scenario, format_duration
from cloudsim.virt import MODE_INDEX, MODES, VirtMode
from cloudsim.workload import Guest, generate, trace_guests, utilization_params
from cloudsim.workload.trace import Trace

#: what :meth:`Simulation.save` writes: a checkpoint of another format (another version's layout of the state) is
#: refused with :class:`StaleCheckpoint` (2: where each guest is, in arrays; 3: the consolidation's lists of guests
#: as arrays of int64; 4: the event queue as a calendar of tick windows; 5: the consolidation's rows of guests;
#: 6: a shard's cuts and the hosts its commands named, for the tick it settles ahead; 7: the consolidation's
#: histories in a ring)
CHECKPOINT_FORMAT = 7


class StaleCheckpoint(ValueError):
    """A checkpoint that another version of cloudsim saved (its state's layout differs); the message is one line."""


_SHORT = 8  # fewer bookings than this are made one by one (a ufunc's ``at`` costs a few µs a call)


def _no_migrations() -> list[float]:
    return [0, 0.0, 0.0]


def _no_faults() -> list[float]:
    return [0, 0.0, 0.0, 0.0]


@dataclass
class ControllerState:
    """What the controller knows besides the host view: where each guest is and the counters. Where each guest
    is lives in arrays over every guest id of the run (:meth:`for_guests`)."""

    placed: int = 0
    rejected: int = 0
    completed: int = 0  # departed at the end of their lifetime, or finished (a request of 0, cloudsim model)
    migrations: int = 0
    hosts_lower_bound: int = 0  # at the last tick: no packing of the hosted guests uses fewer hosts
    active_initial: int = 0  # hosts holding guests at the first tick
    rejections: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: per mode: [migrations, total time s, downtime s]
    migration_stats: dict[str, list[float]] = field(default_factory=lambda: defaultdict(_no_migrations))
    host_failures: int = 0
    drains: int = 0
    #: per mode: [restarts, downtime s, guest time s, lost work MIPS x s] (host failures)
    fault_stats: dict[str, list[float]] = field(default_factory=lambda: defaultdict(_no_faults))
    waiting: dict[int, float] = field(default_factory=dict)  # guests of failed hosts, waiting to restart -> since
    #: per guest id, for the recorder's per-tick counts: 0 not hosted, 1 booting, 2 running; mode index; the
    #: hypervisor type index of its host; its memory overhead and memory there (MiB)
    status: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    mode: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    htype: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    mem_overhead_mib: np.ndarray = field(default_factory=lambda: np.zeros(0))
    guest_mib: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: per guest id: the host it runs on (its source while it migrates; -1: not hosted), what it books there
    #: (CPU MIPS, memory MiB), and its admission's number (:meth:`number`: a failed or drained host's guests
    #: are taken in that order)
    host: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    cpu_mips: np.ndarray = field(default_factory=lambda: np.zeros(0))
    mem_mib: np.ndarray = field(default_factory=lambda: np.zeros(0))
    admitted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    hosted: int = 0  # guests with a host
    #: per guest id while it migrates: its target (-1: not migrating), when it arrives there, what it books
    #: there, and its migration's number (a guest moved again in flight keeps it)
    target: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    end_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    target_cpu: np.ndarray = field(default_factory=lambda: np.zeros(0))
    target_mem: np.ndarray = field(default_factory=lambda: np.zeros(0))
    started: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: a guest moved again in flight passes through its first targets, booked there until it arrives: per such
    #: guest, (first target, CPU, memory) in order
    passes: dict[int, list[tuple[int, float, float]]] = field(default_factory=dict)
    numbered: int = 0  # admissions and migrations so far

    @classmethod
    def for_guests(cls, v: int) -> ControllerState:
        """The state of a run whose guest ids are below ``v``, none hosted."""

        def ints() -> np.ndarray:
            return np.zeros(v, dtype=np.int64)

        def none() -> np.ndarray:
            return np.full(v, -1, dtype=np.int64)

        return cls(
            status=ints(), mode=ints(), htype=ints(), mem_overhead_mib=np.zeros(v), guest_mib=np.zeros(v),
            host=none(), cpu_mips=np.zeros(v), mem_mib=np.zeros(v), admitted=ints(), target=none(),
            end_s=np.zeros(v), target_cpu=np.zeros(v), target_mem=np.zeros(v), started=ints(),
        )  # fmt: skip

    def number(self, n: int = 1) -> int:
        """The first of ``n`` new numbers, which grow in the order admissions and migrations happen."""
        self.numbered += n
        return self.numbered - n

    def migrating(self) -> np.ndarray:
        """The guests migrating, in the order their migrations started."""
        g = np.flatnonzero(self.target >= 0)
        return g[np.argsort(self.started[g], kind="stable")]

    def on_host(self, h: int) -> np.ndarray:
        """The guests running on host ``h`` (migrating out included), in the order they were admitted."""
        g = np.flatnonzero(self.host == h)
        return g[np.argsort(self.admitted[g], kind="stable")]

    def bookings(self, g: int) -> list[tuple[int, float, float]]:
        """What guest ``g`` books where, as (host, CPU, memory): on its host, and while it migrates on its target
        and on the first targets it passes through, in that order (empty: not hosted)."""
        h, t = self.host.item(g), self.target.item(g)
        if h < 0:
            return []
        own = [(h, self.cpu_mips.item(g), self.mem_mib.item(g))]
        if t < 0:
            return own
        return [*own, (t, self.target_cpu.item(g), self.target_mem.item(g)), *self.passes.get(g, ())]

    def hosts_of(self, g: int) -> list[int]:
        """Every host guest ``g`` is on (:meth:`bookings`)."""
        return [b[0] for b in self.bookings(g)]


def tick_times(scenario: Scenario) -> list[float]:
    """The scheduling instants: ``k x tick`` up to the duration (and the duration itself when it is not a
    multiple); in the cloudsim model CloudSim's clock, ``0.1 + k x tick`` accumulated, while not past the
    duration."""
    if scenario.dynamics.model == "cloudsim":
        out, t = [], 0.1
        while t + scenario.tick <= scenario.duration:
            t = t + scenario.tick
            out.append(t)
        return out
    n = math.floor(scenario.duration / scenario.tick + 1e-9)
    out = [k * scenario.tick for k in range(1, n + 1)]
    if n * scenario.tick < scenario.duration - 1e-9:
        out.append(scenario.duration)
    return out


class Simulation:
    """One run of a scenario on a backend. ``run()`` returns the summary dict. ``trace`` is the scenario's
    trace, when it has one and the caller has read it already."""

    #: told, in one line, what goes wrong but does not stop the run (a checkpoint that cannot be written:
    #: :meth:`checkpoint`); ``None``: a Python ``RuntimeWarning``. Not saved in a checkpoint.
    warn: Callable[[str], None] | None = None
    _checkpoint_failing = False
    _checkpoint_last: float | None = None  # the simulated time of the last checkpoint written

    def __init__(
        self,
        scenario: Scenario,
        backend: Backend,
        *,
        run_id: str = "run",
        hosts_per_shard: int | None = None,
        recorder: Recorder | None = None,
        trace: Trace | None = None,
    ) -> None:
        self.scenario = scenario
        self.backend = backend
        self.cluster = Cluster(scenario)
        self.policy = get_policy(scenario.placement.policy)
        self.trace: Trace | None = None
        if scenario.workload.trace is not None:
            self.guests, self.trace = trace_guests(scenario, trace)
        else:
            self.guests = generate(scenario)
        n = len(self.cluster)
        self.cloudsim = scenario.dynamics.model == "cloudsim"
        oc = scenario.placement.overcommit
        self.view = Snapshot(
            cpu_cap=self.cluster.cpu_mips * oc.cpu if not self.cloudsim else np.full(n, np.inf),
            mem_cap=self.cluster.mem_mib * oc.memory,
            cpu_used=np.zeros(n),
            mem_used=self.cluster.reserve_mib.copy(),
            guests=np.zeros(n, dtype=np.int64),
            power_curve_w=self.cluster.power_curve_w,
        )
        self.placer = Placer(self.policy, self.view, self.cluster.group, len(self.cluster.groups))
        grain = hosts_per_shard or scenario.ray.hosts_per_actor
        self.hosts_per_shard = max(1, backend.grain(n) if grain == "auto" else int(grain))
        self.specs = self.cluster.shard_specs(self.hosts_per_shard, scenario.seed)
        v = max((g.id for g in self.guests), default=-1) + 1
        self.state = ControllerState.for_guests(v)
        # capacities for the lower bound: largest first, cumulative (memory net of host reservations)
        self._cpu_cum = np.cumsum(np.sort(self.cluster.cpu_mips * oc.cpu)[::-1])
        self._mem_cum = np.cumsum(np.sort(self.view.mem_cap - self.cluster.reserve_mib)[::-1])
        self.guests_by_id = {g.id: g for g in self.guests}
        self.recorder = recorder or Recorder(scenario, self.cluster, run_id=run_id)
        self.queue = EventQueue(scenario.tick)
        self.submitted = 0  # guests that arrived (placed or rejected)
        self._bookings = np.zeros(n, dtype=np.int64)  # guests booked on each host (both sides of a migration)
        self._due: dict[float, list[int]] = {}  # completion time -> guests whose migration ends then
        # the least each guest would reserve on any host it can run on (for the lower bound)
        least = [self.cluster.min_demand(g.shape) for g in self.guests]
        self._min_cpu, self._min_mem = np.zeros(v), np.zeros(v)
        for g, (cpu, mem) in zip(self.guests, least, strict=True):
            self._min_cpu[g.id], self._min_mem[g.id] = cpu, mem
        c = scenario.consolidation
        self.migrate = c is not None and c.allocation == "migrate"
        self.migration = MigrationModel(c.migration if c is not None else "precopy")
        # a host's link, MB/s (without a consolidation section, maintenance drains use its default, 1 Gbit/s)
        self.link_mb_s = (c or Consolidation()).host_bandwidth_gbps * 1e6 / 8000
        self._shape_tables()
        self.consolidator = self._consolidator() if c is not None else None
        #: called as ``hook(t, report)`` after every tick's bookkeeping, before its consolidation (tests check
        #: invariants here; a run with hooks records each tick before its consolidation instead of beside it or
        #: during the next tick's advance). The report is whole until the advance after the next: a hook that
        #: keeps it longer keeps a copy (:meth:`Backend.advance <cloudsim.engine.Backend.advance>`)
        self.tick_hooks: list[Callable[[float, HostReport], None]] = []
        #: where and how often (simulated seconds) :meth:`save` writes a checkpoint during :meth:`run`
        self.checkpoint_path: Path | None = None
        self.checkpoint_every_s = math.inf
        self._next_checkpoint = 0.0
        self._now = 0.0
        self._saved_shards: list[bytes] | None = None  # set in a checkpoint, used once by a resumed run
        self._row_due: tuple[Any, ...] | None = None  # a tick's row still to make (see :meth:`run`)
        #: where the wall time of the last :meth:`run` went, in seconds by phase (:data:`~cloudsim.engine.core.PHASES`),
        #: kept up to date as it runs
        self.phase_s: dict[str, float] = {}
        # host failures: which hosts are down, which are down or draining (never a target), their capacities
        self.down = np.zeros(n, dtype=bool)
        self.off_limits = np.zeros(n, dtype=bool)
        self._caps = (self.view.cpu_cap.copy(), self.view.mem_cap.copy())
        self._last_req = np.zeros(v)  # each guest's request at the last tick (for the work lost)
        self._last_tick = 0.0
        if self.consolidator is not None:
            self.consolidator.down = self.off_limits

    # ---------------------------------------------------------------------------------- checkpoints

    def checkpoint(self, path: Path, every_s: float) -> None:
        """Write a checkpoint to ``path`` every ``every_s`` simulated seconds (at the first tick past each).
        A checkpoint that cannot be written (a full disk, a folder gone) does not stop the run: the last one
        written stays whole, the next is tried an interval later, and :attr:`warn` is told once, until one is
        written again."""
        self.checkpoint_path, self.checkpoint_every_s = path, every_s
        self._next_checkpoint = self._now + every_s

    def _save_checkpoint(self, now: float) -> None:
        """:meth:`save` to the checkpoint path, as :meth:`checkpoint` says."""
        assert self.checkpoint_path is not None
        before = self._checkpoint_last, self._checkpoint_failing
        self._checkpoint_last, self._checkpoint_failing = now, False  # as the checkpoint itself will say
        try:
            self.save(self.checkpoint_path)
        except OSError as exc:
            last, failing = before
            self._checkpoint_last, self._checkpoint_failing = last, True
            if failing:
                return
            kept = "there is none yet" if last is None else f"the one written at {format_duration(last)} stays"
            every, why = format_duration(self.checkpoint_every_s), why_unwritable(exc)
            message = (
                f"cannot write the checkpoint {str(self.checkpoint_path)!r} at {format_duration(now)} simulated "
                f"({why}); {kept}; the run goes on and tries again every {every}"
            )
            if self.warn is not None:
                self.warn(message)
            else:
                warnings.warn(message, RuntimeWarning, stacklevel=3)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["backend"] = None  # the shards travel as _saved_shards
        state["tick_hooks"] = []
        state.pop("warn", None)  # the caller's, for this run only
        state["checkpoint_format"] = CHECKPOINT_FORMAT
        return state

    def save(self, path: Path) -> None:
        """The whole run as it stands (the controller, the recorder and every shard), whole or not at all.
        The file is a pickle: resume only your own runs."""
        import pickle

        self._make_row()
        self._saved_shards = self.backend.save()
        try:
            atomic_write_bytes(path, pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))
        finally:
            self._saved_shards = None

    @classmethod
    def resume(cls, path: Path, backend: Backend) -> Simulation:
        """The simulation saved at ``path``, on ``backend``: :meth:`run` continues from the checkpoint to
        the same summary as a run that was never stopped (but for its wall time)."""
        import pickle

        with path.open("rb") as fh:
            sim = pickle.load(fh)
        if not isinstance(sim, cls):
            raise TypeError(f"{path} is not a cloudsim checkpoint")
        if (fmt := sim.__dict__.pop("checkpoint_format", 1)) != CHECKPOINT_FORMAT:
            raise StaleCheckpoint(
                f"{str(path)!r} was saved by another version of cloudsim (checkpoint format {fmt}; this one reads"
                f" {CHECKPOINT_FORMAT}): run the scenario again"
            )
        sim.backend = backend
        return sim

    @property
    def waiting(self) -> dict[int, float]:
        """Guests whose host failed and that wait for room to restart -> when the host failed."""
        return self.state.waiting

    @property
    def draining(self) -> np.ndarray:
        """Hosts in a maintenance drain: off limits but not down yet."""
        return self.off_limits & ~self.down

    def _shard_of(self, host: int) -> int:
        return host // self.hosts_per_shard

    def _shape_tables(self) -> None:
        """Each guest's shape as a row of tables (per shape, or per shape and host group) of what the batched
        paths read: the booking (CPU, memory), the memory overhead, full MIPS and overhead scale on each group,
        and a live migration's time and downtime over a host's link."""
        rows: dict[int, int] = {}
        shapes = []
        self._shape_ix = np.zeros(len(self.state.status), dtype=np.int64)
        for g in self.guests:
            k = rows.get(id(g.shape))
            if k is None:
                k = rows[id(g.shape)] = len(shapes)
                shapes.append(g.shape)
            self._shape_ix[g.id] = k
        costs = [self.cluster.costs(shape) for shape in shapes]
        groups = len(self.cluster.groups)  # (a workload that drew no guest has no shapes: tables of 0 rows)

        def table(field: Callable[[Any], float]) -> np.ndarray:
            return np.array([[field(c) for c in row] for row in costs], dtype=np.float64).reshape(len(shapes), groups)

        self._book_cpu, self._book_mem = table(lambda c: c.cpu_reserved_mips), table(lambda c: c.mem_mib)
        self._mem_over, self._vm_mips = table(lambda c: c.mem_overhead_mib), table(lambda c: c.cpu_mips)
        self._scale = table(lambda c: 1.0 / (1.0 - c.overhead_c))
        self._shape_mode = np.array([MODE_INDEX[shape.mode] for shape in shapes], dtype=np.int64)
        # what a shard's place carries: per shape and group (mode index, MIPS, overhead, memory), and per shape
        # its utilization (kind, p1, p2), which a guest that follows a trace column replaces
        self._place_costs = np.array(
            [
                [(MODE_INDEX[shape.mode], c.cpu_mips, c.overhead_c, c.mem_mib) for c in row]
                for shape, row in zip(shapes, costs, strict=True)
            ],
            dtype=np.float64,
        ).reshape(len(shapes), groups, 4)
        self._dist = np.array([utilization_params(shape) for shape in shapes], dtype=np.float64).reshape(-1, 3)
        # the same as Python values, for a single place: (mode, MIPS, overhead, memory, kind, p1, p2)
        self._place_args = [
            [(int(m), cpu, c, mem, int(dist[0]), *dist[1:]) for m, cpu, c, mem in row]
            for row, dist in zip(self._place_costs.tolist(), self._dist.tolist(), strict=True)
        ]
        self._column: np.ndarray | None = None  # each guest's trace column (-1: none), with a trace
        if any(g.column is not None for g in self.guests):
            self._column = np.full(len(self.state.status), -1, dtype=np.int64)
            for g in self.guests:
                self._column[g.id] = -1 if g.column is None else g.column
        durations = [
            self.migration.duration(shape.memory_gib * 1024.0, self.link_mb_s, shape.mode is VirtMode.CONTAINER)
            for shape in shapes
        ]
        self._mig_s = np.array([d for d, _ in durations], dtype=np.float64)
        self._mig_down = np.array([down for _, down in durations], dtype=np.float64)

    def _consolidator(self) -> Consolidator:
        s, cl = self.scenario, self.cluster
        c = s.consolidation
        assert c is not None
        v = len(self.state.status)
        vm_mips, scale, vm_ram = np.zeros(v), np.ones(v), np.zeros(v)
        book_mem, book_bw, book_cpu = np.zeros(v), np.zeros(v), np.zeros(v)
        compatible = np.ones((v, len(cl.groups)), dtype=bool)
        for g in self.guests:
            compatible[g.id] = [x.compatible for x in cl.costs(g.shape)]
            costs = [x for x in cl.costs(g.shape) if x.compatible] or cl.costs(g.shape)
            vm_mips[g.id] = costs[0].cpu_mips
            scale[g.id] = 1.0 / (1.0 - costs[0].overhead_c)
            vm_ram[g.id] = g.memory_mib
            book_mem[g.id] = max(x.mem_mib for x in costs)
            book_cpu[g.id] = 0.0 if self.cloudsim else max(x.cpu_reserved_mips for x in costs)
            book_bw[g.id] = g.bandwidth_mbps * 1000 if self.cloudsim else 0.0
        detector = Detector(c.detector, c.safety, c.compat) if self.migrate else None
        settings = Settings(detector, c.selection, c.wake, c.retarget, book_migrations=not self.cloudsim, seed=s.seed,
                            underload_below=c.underload_below, max_migrations=c.max_migrations)  # fmt: skip
        link = np.full(len(cl), c.host_bandwidth_gbps * 1e6 if self.cloudsim else np.inf)
        # CloudSim's VMs have one core, so a request is capped at (and must fit in) one of the host's; the
        # shards of the cloudsim model allocate so. Our guests have vCPUs and the shards cap a request at the
        # host's capacity only, so the consolidator's view does too (a core cap would price a 4-vCPU guest at
        # one core and find it no target anywhere)
        core = cl.mips_per_core if self.cloudsim else cl.cpu_mips
        return Consolidator(
            settings, cl.cpu_mips, core, cl.power_curve_w, cl.group, vm_mips, scale, vm_ram,
            book_mem, book_bw, book_cpu, link, None if compatible.all() else compatible,
        )  # fmt: skip

    # ------------------------------------------------------------------------------------------ run

    def run(self, progress: Callable[[float], None] | None = None) -> dict:
        """Run to the scenario's end (or until interrupted: the summary then covers the time run). A
        simulation loaded by :meth:`resume` continues where its checkpoint was taken."""
        s = self.scenario
        wall0 = time.perf_counter()
        clock = PhaseClock()
        self.phase_s = clock.seconds
        trace = None if self.trace is None else self.trace.util
        if self._saved_shards is None:
            self.backend.start(self.specs, trace)
            start = 0.1 if self.cloudsim else 0.0
            for g in self.guests:
                self.queue.push(max(g.arrival_s, start), Priority.ARRIVAL, g)
            for k, t in enumerate(tick_times(s), start=1):
                self.queue.push(t, Priority.TICK, k)
            for t, h, until in self._failures():
                self.queue.push(t, Priority.FAULT, ("fail", h, until))
            for t, h, down in self._drains():
                self.queue.push(t, Priority.FAULT, ("drain", h, down))
        else:
            self.backend.start(self.specs, trace, self._saved_shards)
            self._saved_shards = None
        self.recorder.begin(self.backend.name, self.backend.actors)
        self._row_due = None
        now = self._now
        clock.lap("start")
        interrupted, lost = False, ""
        bookkeeping: Future[None] | None = None  # the last tick's, on the thread beside (ticks stay in order)
        try:
            while len(self.queue) and self.queue.peek_time() <= s.duration:
                batch = self.queue.pop_batch()
                now = batch[0].time_s
                commands: dict[int, list[Command]] = defaultdict(list)
                ticks, wave, completes, faults = [], [], False, False
                for ev in batch:
                    if ev.priority is Priority.COMPLETION:
                        completes |= self._complete(self._due.pop(now), now)
                    elif ev.priority is Priority.ARRIVAL:
                        wave.append(ev.payload)
                    elif ev.priority is Priority.FAULT:
                        faults = True
                        self._fault(now, ev.payload, commands)
                    elif ev.priority is Priority.DEPARTURE:
                        self._depart(now, ev.payload, commands)
                    elif ev.priority is Priority.BOOT:
                        if self.state.host.item(ev.payload) >= 0:
                            self.state.status[ev.payload] = 2
                    else:
                        ticks.append(ev.payload)
                if completes:
                    self.backend.complete(now)
                clock.lap("events")
                if self.waiting and (faults or ticks):  # guests of failed hosts try again, before new ones
                    self._retry_waiting(now, commands)
                for guest in self._wave_order(wave):
                    self._arrive(now, guest, commands)
                clock.lap("placement")
                if commands:
                    self.backend.apply(now, commands)
                clock.lap("shards")
                for k in ticks:
                    if k == 1:
                        self.state.active_initial = int((self.view.guests > 0).sum())
                    report = self.backend.advance(now, k, self._make_row)
                    clock.lap("shards")
                    with whole():  # a stop lands before or after the tick's bookkeeping, not inside it
                        self._finish(report)
                        self._account(now, report)
                        # the tick's row and checks see the state the controller decides on
                        self.state.hosts_lower_bound = self.hosts_lower_bound(report)
                        wall_s = time.perf_counter() - wall0
                        # from BESIDE_ROWS guests the recorder's tick runs on the second core beside the
                        # consolidation: it reads the report, which nothing changes until the next shard call,
                        # and the state as it is now (the counters copied; the consolidation writes none of the
                        # arrays the tick reads), and is joined before anything else reads the recorder or
                        # changes the state (a stop too joins it, and no signal reaches that thread: the row is
                        # whole). It goes first on the thread beside; the shards here draw the next tick behind it
                        large = len(report.guest_ids) >= BESIDE_ROWS
                        state = copy.copy(self.state) if large else self.state
                        bookkeeping = None
                        if self.backend.actors and not self.tick_hooks:
                            # shards in other processes: the row is made during the next tick's advance, while
                            # this process waits for them, from the report (whole until the advance after that
                            # one) and what it reads of the state now; only that part goes beside. Beside the
                            # consolidation, the whole row and the actors' draws ahead were three threads on two
                            # cores (the metrics phase 0.65-0.7 ms a tick longer at 10,000 hosts). A stop or the
                            # run's end makes it at once, and so does a save
                            seen: Future[TickState] | TickState
                            if large:
                                seen = bookkeeping = beside().submit(self.recorder.tick_state, report, state)
                            else:
                                seen = self.recorder.tick_state(report, state)
                            self._row_due = (now, report, seen, wall_s, dict(self.phase_s))
                        elif large:
                            bookkeeping = beside().submit(self._row, now, report, state, wall_s, dict(self.phase_s))
                        else:
                            self._row(now, report, state, wall_s, self.phase_s)
                        self.backend.ahead()
                    if self.tick_hooks:  # they see the tick's row too: its bookkeeping done first
                        if bookkeeping is not None:
                            bookkeeping.result()
                        for hook in self.tick_hooks:
                            hook(now, report)
                    clock.lap("metrics")
                    if moves := self._consolidate(now, report):
                        self.backend.apply(now, moves)
                    clock.lap("consolidation")
                    if bookkeeping is not None:
                        bookkeeping.result()
                    if self._row_due is None:
                        self.recorder.publish()
                    if progress is not None:
                        progress(now)
                    clock.lap("metrics")
                self._now = now
                if ticks and self.checkpoint_path is not None and now >= self._next_checkpoint:
                    self._save_checkpoint(now)
                    self._next_checkpoint = now + self.checkpoint_every_s
                    clock.lap("checkpoints")
        except KeyboardInterrupt:
            interrupted = True
        except SystemError as exc:
            # a stop that lands while a compiled kernel's call runs Python code surfaces as that call's
            # SystemError ("returned a result with an exception set"), caused by the KeyboardInterrupt
            if not is_stop(exc):
                raise
            interrupted = True
        except BackendLost as exc:
            interrupted, lost = True, str(exc)
        finally:
            if bookkeeping is not None:  # the last tick's bookkeeping, whole, before the summary reads it
                wait([bookkeeping])
            self._make_row()
            self.backend.close()
        self.recorder.ran_on(self.backend.nodes)
        summary = self.recorder.summary(
            self.state,
            sim_time_s=now,
            wall_time_s=time.perf_counter() - wall0,
            phase_s=self.phase_s,
            interrupted=interrupted,
        )
        if lost:
            summary["lost"] = lost
        return summary

    def _row(
        self, t: float, report: HostReport, state: ControllerState, wall_s: float, phase_s: dict[str, float]
    ) -> None:
        """The recorder's row of the tick at ``t`` (:meth:`Recorder.tick <cloudsim.metrics.Recorder.tick>`)."""
        self.recorder.tick(t, report, self.recorder.tick_state(report, state), wall_s, phase_s)

    def _make_row(self) -> None:
        """The row of the last tick, if it is still to be made (:meth:`run`: with shards in other processes, during
        the next advance), made whole, then published."""
        if self._row_due is None:
            return
        t, report, seen, wall_s, phase_s = self._row_due
        with whole():
            self.recorder.tick(t, report, seen.result() if isinstance(seen, Future) else seen, wall_s, phase_s)
            self._row_due = None
        self.recorder.publish()

    # ------------------------------------------------------------------------------------- handlers

    def _wave_order(self, wave: list[Guest]) -> list[Guest]:
        """Guests arriving at one instant, largest first (the FFD principle of the packing engine: the
        sum of their least reservations as fractions of the largest host), ties in arrival order. A trace
        workload keeps its order (CloudSim instantiates VMs by id)."""
        if len(wave) < 2 or self.scenario.placement.wave_order == "arrival" or self.trace is not None:
            return wave
        cpu_max, mem_max = float(self.cluster.cpu_mips.max()), float(self.view.mem_cap.max())

        def size(g: Guest) -> float:
            cpu, mem = self.cluster.min_demand(g.shape)
            return cpu / cpu_max + mem / mem_max

        return sorted(wave, key=lambda g: -size(g))

    def hosts_lower_bound(self, report: HostReport) -> int:
        """Hosts that any packing of the hosted guests needs at least: per resource, the fewest hosts
        whose capacities (largest first, memory net of reservations) cover what the guests must hold on a
        host (the continuous bound L1 for unequal bins); the larger of the two. Without consolidation a
        guest holds its least possible reservation. With it, a guest holds the CPU it requests at this tick
        (``report``; hosts are packed by current demand, as in CloudSim), and its memory only where
        migration targets must have the guest's booking free: in the ``cloudsim`` dynamics a booking is
        checked at instantiation only (CloudSim's ``getCurrentRequestedRam`` is 0 afterwards), so memory
        bounds nothing there."""
        on = report.guest_ids  # the hosted guests (ascending, as a mask over every guest would take them)
        con = self.consolidator
        cpu = float(report.cpu_requested_mips.sum()) if con is not None else float(self._min_cpu[on].sum())
        mem = float(self._min_mem[on].sum()) if con is None or con.cfg.book_migrations else 0.0
        need = 0
        for total, cum in (
            (cpu, self._cpu_cum),
            (mem, self._mem_cum),
        ):
            if total > 0:
                need = max(need, min(int(np.searchsorted(cum, total * (1 - 1e-12))) + 1, len(cum)))
        return need

    def _book(self, hosts: list[int], cpu: list[float] | np.ndarray, mem: list[float] | np.ndarray) -> None:
        """Book ``cpu[i]`` MIPS and ``mem[i]`` MiB on ``hosts[i]``, in order (a host may repeat)."""
        v = self.view
        if len(hosts) < _SHORT:
            for h, c, m in zip(hosts, cpu, mem, strict=True):
                v.cpu_used[h] += c
                v.mem_used[h] += m
                self._bookings[h] += 1
        else:
            np.add.at(v.cpu_used, hosts, cpu)
            np.add.at(v.mem_used, hosts, mem)
            np.add.at(self._bookings, hosts, 1)
        self.placer.touch(hosts)

    def _unbook(self, hosts: list[int], cpu: list[float], mem: list[float]) -> None:
        """Free what :meth:`_book` booked, in order; a host whose last booking goes drops its float residue,
        so that an empty host is exactly empty (a batch only frees, so a host empties at its last entry)."""
        v = self.view
        if len(hosts) < _SHORT:
            for h, c, m in zip(hosts, cpu, mem, strict=True):
                v.cpu_used[h] -= c
                v.mem_used[h] -= m
                self._bookings[h] -= 1
                if self._bookings[h] == 0:
                    v.cpu_used[h] = 0.0
                    v.mem_used[h] = self.cluster.reserve_mib[h]
        else:
            np.subtract.at(v.cpu_used, hosts, cpu)
            np.subtract.at(v.mem_used, hosts, mem)
            np.subtract.at(self._bookings, hosts, 1)
            at = np.array(hosts, dtype=np.int64)
            empty = at[self._bookings[at] == 0]
            v.cpu_used[empty] = 0.0
            v.mem_used[empty] = self.cluster.reserve_mib[empty]
        self.placer.touch(hosts)

    def _arrive(self, t: float, guest: Guest, commands: dict[int, list[Command]]) -> None:
        self.submitted += 1
        if self.trace is not None and self.consolidator is not None:
            best_fit = self.scenario.consolidation.allocation == "migrate"  # type: ignore[union-attr]
            free_mem, free_cpu = self.view.mem_cap - self.view.mem_used, self.view.cpu_cap - self.view.cpu_used
            h = self.consolidator.place_initial(guest.id, best_fit, free_mem, free_cpu)
            if h < 0:
                cpu, mem = self.consolidator.guest_request(guest.id)
                reason = "insufficient_cpu" if (free_mem >= mem).any() else "insufficient_memory"
                self._reject(t, guest, reason, f"no host has room for {cpu:.0f} MIPS and {mem:.0f} MiB at once")
                return
            self.recorder.placed(t, guest, h, self.cluster, "first fit" if not best_fit else "power-aware best fit")
        else:
            decision = self.placer.decide(self.cluster.request(guest.id, guest.shape))
            if decision.host is None:
                self._reject(t, guest, decision.reason or "unknown", decision.detail)
                return
            h = decision.host
            self.recorder.decision(t, guest, decision, self.cluster)
        self.state.placed += 1
        self._admit(t, guest, h, commands)
        if guest.lifetime_s is not None:
            self.queue.push(t + guest.lifetime_s, Priority.DEPARTURE, guest.id)

    def _admit(self, t: float, guest: Guest, h: int, commands: dict[int, list[Command]]) -> float:
        """Book ``guest`` on host ``h`` and start it there (it boots); returns when it will be running."""
        cost = self.cluster.cost_on(guest.shape, h)
        self._book([h], [cost.cpu_reserved_mips], [cost.mem_mib])
        self.view.guests[h] += 1
        st = self.state
        st.status[guest.id], st.mode[guest.id] = 1, MODE_INDEX[guest.shape.mode]
        st.guest_mib[guest.id] = guest.memory_mib
        st.host[guest.id], st.cpu_mips[guest.id], st.mem_mib[guest.id] = h, cost.cpu_reserved_mips, cost.mem_mib
        st.admitted[guest.id] = st.number()
        st.hosted += 1
        if self.consolidator is not None:
            self.consolidator.add(guest.id, h)
        self._now_on(guest.id, h)
        commands[self._shard_of(h)].append(self._place(guest, h))
        boot_s = cost.profile.boot_s if cost.profile else 0.0
        self.queue.push(t + boot_s, Priority.BOOT, guest.id)
        return t + boot_s

    def _place(self, guest: Guest, h: int) -> Place:
        """The shard's place of ``guest`` starting on host ``h`` (:meth:`_places` of one guest, as a command)."""
        args = self._place_args[self._shape_ix[guest.id]][self.cluster.group_of[h]]
        if guest.column is None:
            return Place(guest.id, h, *args)
        return Place(guest.id, h, *args[:4], DIST_TRACE, float(guest.column), 0.0)

    def _places(self, vs: np.ndarray, hosts: np.ndarray, ends: np.ndarray | float) -> np.ndarray:
        """The shards' places of guests ``vs`` on ``hosts`` (the target side of a migration that ends at
        ``ends``; NaN: a start), encoded."""
        shape = self._shape_ix[vs]
        dist = self._dist[shape]
        if self._column is not None:
            col = self._column[vs]
            trace = col >= 0
            dist[trace, 0], dist[trace, 1], dist[trace, 2] = DIST_TRACE, col[trace], 0.0
        return place_rows(vs, hosts, self._place_costs[shape, self.cluster.group[hosts]], dist, ends)

    def _reject(self, t: float, guest: Guest, reason: str, detail: str) -> None:
        self.state.rejected += 1
        self.state.rejections[reason] += 1
        self.recorder.rejected(t, guest, reason, detail)

    def _depart(self, t: float, guest_id: int, commands: dict[int, list[Command]]) -> None:
        if (since := self.waiting.pop(guest_id, None)) is not None:  # its host failed; it never restarted
            self._downtime(guest_id, t - since)
            self.state.completed += 1
            return
        if self.state.host.item(guest_id) < 0:
            return  # finished earlier (cloudsim model)
        for h in self._leave(guest_id):
            commands[self._shard_of(h)].append(Remove(guest_id, h))
        self.state.completed += 1

    def _leave(self, guest_id: int) -> list[int]:
        """Drop a guest from the controller's view (departed or finished); the hosts it was on."""
        st, g = self.state, guest_id
        hosts, cpu, mem = (list(x) for x in zip(*st.bookings(g), strict=True))
        st.passes.pop(g, None)
        st.host[g] = st.target[g] = -1
        st.hosted -= 1
        st.status[g] = 0
        self.view.guests[hosts[0]] -= 1
        self._unbook(hosts, cpu, mem)
        if self.consolidator is not None:
            self.consolidator.remove(g)
        return hosts

    # -------------------------------------------------------------------------------- consolidation

    def _finish(self, report: HostReport) -> None:
        """Guests the shards finished (a request of 0 in the cloudsim model) leave the controller's view."""
        for gid in report.finished.tolist():
            self._leave(gid)
            self.state.completed += 1

    def _consolidate(self, t: float, report: HostReport) -> dict[int, list[Command]]:
        """The consolidation phase at a tick: the migrations to start, as commands per shard (empty:
        none)."""
        commands: dict[int, list[Command]] = defaultdict(list)
        if not self.migrate or self.consolidator is None:
            return commands
        con = self.consolidator
        con.observe(report.guest_ids, report.guest_util, report.guest_req_mips, report.cpu_used_mips)
        moves = con.step(self.view.mem_cap - self.view.mem_used, self.view.cpu_cap - self.view.cpu_used)
        if moves:
            for v, target in moves:
                con.start(v, target)
            vs, targets = np.array(moves, dtype=np.int64).T
            self._migrate(t, vs, targets, commands)
        return commands

    def _migrate(self, t: float, vs: np.ndarray, targets: np.ndarray, commands: dict[int, list[Command]]) -> float:
        """Start live-migrating guests ``vs`` to ``targets``, in order (each booked on its target from now): the
        commands, the completion events, the statistics. Returns when the last one completes."""
        shape, group = self._shape_ix[vs], self.cluster.group[targets]
        cpu, mem, dur = self._book_cpu[shape, group], self._book_mem[shape, group], self._mig_s[shape]
        ends = t + dur
        self._book(targets.tolist(), cpu, mem)
        st = self.state
        st.migrations += len(vs)
        mode = self._shape_mode[shape]
        for m in dict.fromkeys(mode.tolist()):  # each mode's sums in the order of the moves
            at = np.flatnonzero(mode == m)
            stats = st.migration_stats[MODES[m].value]
            stats[0] += len(at)
            for d, down in zip(dur[at].tolist(), self._mig_down[shape[at]].tolist(), strict=True):
                stats[1] += d
                stats[2] += down
        src = st.host[vs]
        sup = self._passes(vs, targets, ends, cpu, mem)  # (move, guest, first target, end) of a guest moved again
        # each guest's last move is its migration now; one that was not migrating starts one (numbered in order)
        guests, first = np.unique(vs, return_index=True)
        final = len(vs) - 1 - np.unique(vs[::-1], return_index=True)[1]
        fresh = st.target[guests] < 0
        st.started[guests[fresh]] = st.number(len(vs)) + first[fresh]
        st.target[guests], st.end_s[guests] = targets[final], ends[final]
        st.target_cpu[guests], st.target_mem[guests] = cpu[final], mem[final]
        for end in dict.fromkeys(ends.tolist()):
            due = self._due.get(end)
            if due is None:
                due = self._due[end] = []
                self.queue.push(end, Priority.COMPLETION, end)
            due += vs[ends == end].tolist()
        # each move's commands in order: the source's, the first targets' (superseded), the target's
        at = np.array([x[0] for x in sup], dtype=np.int64)
        per = 2 + np.bincount(at, minlength=len(vs))
        last = np.cumsum(per) - 1
        place = self._places(vs, targets, ends)
        rows = np.empty((int(last[-1]) + 1, place.shape[1]))
        rows[last - per + 1] = end_rows(MigrateOut, vs, src, ends)
        rows[last] = place
        if sup:
            first = last[at] - per[at] + 1
            nth = np.arange(len(sup)) - np.searchsorted(at, at)  # a move's supersedes follow its source row
            rows[first + 1 + nth] = end_rows(Supersede, *np.array([x[1:] for x in sup]).T)
        shard = rows[:, 2].astype(np.int64) // self.hosts_per_shard
        for k in np.unique(shard).tolist():
            commands[k].append(Encoded(rows[shard == k]))
        return float(ends.max())

    def _passes(
        self, vs: np.ndarray, targets: np.ndarray, ends: np.ndarray, cpu: np.ndarray, mem: np.ndarray
    ) -> list[tuple[int, int, int, float]]:
        """Record the first targets that the guests of ``vs`` already migrating (from an earlier step, or by an
        earlier move in ``vs``) pass through on the way to their new targets (:attr:`ControllerState.passes`);
        the (move, guest, first target, end) of each such pass, in order."""
        st = self.state
        if not (st.target[vs] >= 0).any() and len(np.unique(vs)) == len(vs):
            return []
        sup: list[tuple[int, int, int, float]] = []
        now: dict[int, tuple[int, float, float]] = {}  # a guest's latest move in ``vs``
        for i, (v, target, end, c, m) in enumerate(
            zip(vs.tolist(), targets.tolist(), ends.tolist(), cpu.tolist(), mem.tolist(), strict=True)
        ):
            was = now.get(v)
            if was is None and st.target.item(v) >= 0:
                was = st.bookings(v)[1]  # its target's
            if was is not None:
                passes = st.passes[v] = [*st.passes.get(v, ()), was]
                sup += [(i, v, p[0], end) for p in passes]
            now[v] = (target, c, m)
        return sup

    def _complete(self, vs: list[int], end: float) -> bool:
        """The migrations of ``vs`` due at ``end`` end (a stale one, of a guest that moved again or left, does
        nothing); whether any did."""
        st = self.state
        done = np.array(vs, dtype=np.int64)
        done = done[(st.target[done] >= 0) & (st.end_s[done] == end)]
        if not len(done):
            return False
        first = np.unique(done, return_index=True)[1]  # a guest moved twice at once is due twice: it ends once
        if len(first) < len(done):
            done = done[np.sort(first)]
        src, dst = st.host[done], st.target[done]
        # what each frees, in order: its source's booking, then its first targets' (a guest moved again)
        freed, cpu, mem = src, st.cpu_mips[done], st.mem_mib[done]
        if st.passes and any(v in st.passes for v in done.tolist()):
            rows = []
            for v in done.tolist():
                own, _, *through = st.bookings(v)  # (the target's booking stays)
                rows += [own, *through]
                st.passes.pop(v, None)
            freed, cpu, mem = (list(x) for x in zip(*rows, strict=True))
        st.host[done], st.cpu_mips[done], st.mem_mib[done] = dst, st.target_cpu[done], st.target_mem[done]
        st.target[done] = -1
        np.subtract.at(self.view.guests, src, 1)
        self._unbook(freed, cpu, mem)
        np.add.at(self.view.guests, dst, 1)
        self.placer.touch(dst.tolist())
        if self.consolidator is not None:
            self.consolidator.complete(done.tolist())
        # within a group, what depends on the host is the same
        moved = self.cluster.group[src] != self.cluster.group[dst]
        if moved.any():
            self._now_on(done[moved], dst[moved])
        return True

    def _now_on(self, vs: int | np.ndarray, hosts: int | np.ndarray) -> None:
        """What depends on the host a guest runs on (of guests ``vs`` now on ``hosts``): its hypervisor type
        and memory overhead (for the recorder), its full request and overhead scale (for the consolidation
        view)."""
        shape, group = self._shape_ix[vs], self.cluster.group[hosts]
        self.state.htype[vs] = self.cluster.htype[hosts]
        self.state.mem_overhead_mib[vs] = self._mem_over[shape, group]
        if self.consolidator is not None:
            self.consolidator.set_costs(vs, self._vm_mips[shape, group], self._scale[shape, group])

    # --------------------------------------------------------------------------------- host failures

    def _failures(self) -> list[tuple[float, int, float]]:
        """(time, host, repaired at) of every failure: the schedule, and exponential times of mean ``mtbf``
        (up) and ``mttr`` (down) per host, drawn from the seed (stream 2)."""
        f = self.scenario.faults
        if f is None:
            return []
        index = self.cluster.index
        out = [(x.at, index[x.host], x.at + x.down) for x in f.schedule]
        if f.mtbf is not None:
            rng = np.random.default_rng(np.random.SeedSequence(self.scenario.seed, spawn_key=(2,)))
            for h in range(len(self.cluster)):
                t = float(rng.exponential(f.mtbf))
                while t < self.scenario.duration:
                    repair = t + float(rng.exponential(f.mttr))
                    out.append((t, h, repair))
                    t = repair + float(rng.exponential(f.mtbf))
        return sorted(out)

    def _drains(self) -> list[tuple[float, int, float]]:
        """(time, host, time down) of every maintenance drain."""
        f = self.scenario.faults
        return [] if f is None else sorted((x.at, self.cluster.index[x.host], x.down) for x in f.maintenance)

    def _drain(self, t: float, h: int, down: float, commands: dict[int, list[Command]]) -> None:
        """Maintenance: the host takes no new guests and its guests live-migrate to where the placement
        policy finds room; when the last migration completes it goes down for ``down``. A guest that finds
        no room restarts when the host goes down."""
        self.state.drains += 1
        self.off_limits[h] = True
        self.view.cpu_cap[h] = self.view.mem_cap[h] = 0.0
        self.placer.touch([h])
        last = t
        st = self.state
        on = st.on_host(h)
        for v in on[st.target[on] < 0].tolist():
            guest = self.guests_by_id[v]
            decision = self.placer.decide(self.cluster.request(v, guest.shape))
            if decision.host is None:
                continue
            if self.consolidator is not None:
                self.consolidator.start(v, decision.host)
            last = max(last, self._migrate(t, np.array([v]), np.array([decision.host]), commands))
        self.queue.push(last, Priority.FAULT, ("fail", h, last + down))

    def _fault(self, t: float, payload: tuple[str, int, float], commands: dict[int, list[Command]]) -> None:
        kind, h, until = payload
        if kind == "repair":
            self.down[h] = self.off_limits[h] = False
            self.view.cpu_cap[h], self.view.mem_cap[h] = self._caps[0][h], self._caps[1][h]
            self.placer.touch([h])
            commands[self._shard_of(h)].append(Repair(h))
            return
        if self.down[h]:
            return  # already down: the first repair stands
        if kind == "drain":
            if not self.draining[h]:
                self._drain(t, h, until, commands)
            return
        self.down[h] = self.off_limits[h] = True
        self.state.host_failures += 1
        self.view.cpu_cap[h] = self.view.mem_cap[h] = 0.0  # placement sees no room there
        self.placer.touch([h])
        commands[self._shard_of(h)].append(Fail(h))
        st = self.state
        lost = st.on_host(h).tolist()
        lost += [g for g in st.migrating().tolist() if st.host[g] != h and h in st.hosts_of(g)]
        for g in lost:  # every guest the failure touches (its in-flight migration fails with it) restarts
            for other in self._leave(g):
                if other != h:
                    commands[self._shard_of(other)].append(Remove(g, other))
            self.waiting[g] = t
        self.queue.push(until, Priority.FAULT, ("repair", h, until))

    def _retry_waiting(self, t: float, commands: dict[int, list[Command]]) -> None:
        """Restart the guests of failed hosts where the placement policy finds room (oldest first); the
        others keep waiting."""
        for g, since in sorted(self.waiting.items(), key=lambda x: (x[1], x[0])):
            guest = self.guests_by_id[g]
            decision = self.placer.decide(self.cluster.request(g, guest.shape))
            if decision.host is None:
                continue
            del self.waiting[g]
            running_at = self._admit(t, guest, decision.host, commands)
            self.state.fault_stats[guest.shape.mode.value][0] += 1
            self._downtime(g, running_at - since)

    def _downtime(self, g: int, down_s: float) -> None:
        stats = self.state.fault_stats[self.guests_by_id[g].shape.mode.value]
        stats[1] += down_s
        stats[3] += float(self._last_req[g]) * down_s

    def _account(self, t: float, report: HostReport) -> None:
        """Per tick: each guest's request (for the work a failure loses) and the guest time per mode."""
        self._last_req[report.guest_ids] = report.guest_req_mips
        if self.scenario.faults is None:
            return
        st, dt = self.state, t - self._last_tick
        in_system = st.status > 0
        in_system[list(st.waiting)] = True
        for mi, n in enumerate(np.bincount(st.mode[in_system], minlength=len(MODES)).tolist()):
            if n:
                st.fault_stats[MODES[mi].value][2] += n * dt
        self._last_tick = t

    # ----------------------------------------------------------------------------------- invariants

    def check_invariants(self, report: HostReport | None = None) -> list[str]:
        """Conservation checks, as sentences (empty when all hold): submitted = placed + rejected; every
        hosted guest on exactly one host (two or three while it migrates); no host over its booking (the
        fair model; the cloudsim model books only at instantiation, as CloudSim); no host allocating more
        CPU than it has; the controller's view agrees with its own ledger and, given a report, with the
        shards."""
        problems = []
        st, v = self.state, self.view
        if st.placed + st.rejected != self.submitted:
            problems.append(f"placed {st.placed} + rejected {st.rejected} != submitted {self.submitted}")
        if st.placed != st.hosted + st.completed + len(self.waiting):
            problems.append(
                f"placed {st.placed} != hosted {st.hosted} + completed {st.completed} + waiting {len(self.waiting)}"
            )
        if st.hosted != np.count_nonzero(st.host >= 0):
            problems.append(f"hosted {st.hosted} != guests with a host {np.count_nonzero(st.host >= 0)}")
        count = np.bincount(st.host[st.host >= 0], minlength=len(v.guests))
        if not np.array_equal(count, v.guests):
            problems.append("guest count per host differs between the ledger and the view")
        tol = 1e-6
        if not self.cloudsim:
            up = ~self.off_limits
            if (self.view.guests[self.down] > 0).any():
                problems.append("a failed host holds guests")
            if (over := np.flatnonzero(up & (v.cpu_used > v.cpu_cap * (1 + tol)))).size:
                problems.append(f"cpu booked over capacity on hosts {over.tolist()}")
            # (a host whose reservation is its whole memory books over it before any guest: none goes there)
            room = np.maximum(v.mem_cap, self.cluster.reserve_mib)
            if (over := np.flatnonzero(up & (v.mem_used > room * (1 + tol)))).size:
                problems.append(f"memory booked over capacity on hosts {over.tolist()}")
        if report is not None:
            if not np.array_equal(report.guest_ids, np.flatnonzero(st.status > 0)):
                problems.append("the shards' resident guests are not the guests the controller hosts")
            if not np.array_equal(report.guests, v.guests):
                problems.append("the shards hold different guests per host than the controller placed")
            incoming = np.bincount(
                [h for g in st.migrating().tolist() for h in st.hosts_of(g)[1:]],
                minlength=len(v.guests),
            )
            if not np.array_equal(report.incoming, incoming):
                problems.append("the shards hold different incoming migrations than the controller started")
            if (over := np.flatnonzero(report.cpu_used_mips > self.cluster.cpu_mips * (1 + tol))).size:
                problems.append(f"cpu allocated over capacity on hosts {over.tolist()}")
        return problems
