"""The consolidation data centre: PlanetLab VMs on SPECpower hosts, controlled every scheduling interval.

This is CloudSim 3.0.3's power package as ``../shared/reference/cloudsim-planetlab.md`` describes it,
re-implemented (no CloudSim code) on numpy arrays:

* **Events.** Control steps at 0.1 + k x 300 s (accumulated like CloudSim's clock) up to the limit, and one
  event per distinct migration completion time. At every event each host's CPU allocation is recomputed
  from its VMs' requests, energy is added for the interval since the last event, and host and VM state
  entries (for SLATAH and PDM) are written; an entry written twice at one instant keeps the last one.
* **Allocation.** Requests are capped at a core's MIPS; an oversubscribed host scales every VM by
  capacity / requests and floors. A migrating VM gets 90 % of its request on the source (the host still
  counts the full request) and 10 % on the target, where it appears from the start of the migration.
* **Energy.** (P(u_prev) + P(u_now)) / 2 x dt per host, and 0 when u_prev is 0 (a host at 0 % is off).
* **Control step.** Overloaded hosts (detector) shed VMs one at a time (selection policy) until they are
  not overloaded; the VMs go, largest request first, to the host whose power rises least (PABFD), never
  to a host the move would overload. Then hosts are emptied least-utilized first when all their VMs fit
  elsewhere on hosts that are on. Migrations take RAM / (BW / 2) (or the pre-copy model).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cloudsim.consolidation import kernels
from cloudsim.consolidation.detectors import HISTORY, Detector, max_correlation_r2
from cloudsim.consolidation.trace import Trace, interpolate

# ------------------------------------------------------------------------------------------- types


class CapacityError(ValueError):
    """The data centre cannot hold the workload (a one-line message saying which VM and why)."""


@dataclass(frozen=True)
class HostType:
    name: str
    pes: int
    mips_per_pe: float
    ram_mb: float
    bw: float  # CloudSim units: 1,000,000 = 1 Gbit/s
    power_w: tuple[float, ...]  # SPECpower watts at 0 %, 10 %, ..., 100 %


@dataclass(frozen=True)
class VmType:
    name: str
    mips: float
    ram_mb: float
    bw: float = 100_000.0


#: The reference's hosts (ML110 G4 and G5, SPECpower rows P1 and P2) and VM types (EC2-like).
HOST_G4 = HostType(
    "HP ProLiant ML110 G4", 2, 1860, 4096, 1_000_000, (86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117)
)
HOST_G5 = HostType(
    "HP ProLiant ML110 G5", 2, 2660, 4096, 1_000_000, (93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135)
)
CLOUDSIM_HOSTS = (HOST_G4, HOST_G5)
CLOUDSIM_VMS = (
    VmType("high-cpu-medium", 2500, 870),
    VmType("extra-large", 2000, 1740),
    VmType("small", 1000, 1740),
    VmType("micro", 500, 613),
)


@dataclass(frozen=True)
class PreCopy:
    """Pre-copy live migration (calibration note §5b): rounds resend the pages dirtied meanwhile until
    the rest fits in the downtime limit, 29 rounds pass or 3 x RAM has been sent."""

    dirty_rate_mb_s: float = 2.34  # Clark 2005 SPECweb check in note §5b: 126.7 MB / 54.1 s
    downtime_limit_s: float = 0.3  # QEMU default [L8]
    max_rounds: int = 29  # Xen [L7]
    max_sent_ram: float = 3.0  # Xen [L7]
    wws_hot_fraction: float = 0.02  # Clark's final round, 18.2 / 800 MB (note §5b)
    resume_s: float = 0.009  # [L1]

    def duration(self, ram_mb: float, bandwidth_mb_s: float) -> tuple[float, float]:
        """(total migration time, downtime) in seconds."""
        b, d = bandwidth_mb_s, self.dirty_rate_mb_s
        v = ram_mb
        sent = 0.0
        total = 0.0
        for _ in range(self.max_rounds):
            if v / b <= self.downtime_limit_s or v <= 0.25 or sent + v > self.max_sent_ram * ram_mb:
                break
            t = v / b
            total += t
            sent += v
            v = min(ram_mb, d * t)
        down = max(v, self.wws_hot_fraction * ram_mb) / b + self.resume_s
        return total + down, down


@dataclass(frozen=True)
class Config:
    """One consolidation experiment. ``allocation``: ``npa`` (every host on at full power), ``dvfs``
    (power follows load, no migrations) or ``migrate`` (detector + selection + PABFD)."""

    allocation: str = "migrate"
    detector: Detector | None = None
    selection: str = "mmt"
    hosts: int = 800
    host_types: tuple[HostType, ...] = CLOUDSIM_HOSTS
    #: the type (index into ``host_types``) of each host; default: host i has type i mod len(host_types)
    host_type_of: tuple[int, ...] | None = None
    vm_types: tuple[VmType, ...] = CLOUDSIM_VMS
    interval_s: float = 300.0
    limit_s: float = 86400.0
    migration: str = "cloudsim"  # or "precopy"
    precopy: PreCopy = field(default_factory=PreCopy)
    migration_slowdown: float = 0.1
    #: where VMs leaving an overloaded host may go: ``cheapest`` (CloudSim: an empty host competes on the
    #: power it would add, so one is woken whenever it adds least) or ``last-resort`` (a host that is off
    #: is woken only when no host that is on can take the VM)
    wake: str = "cheapest"
    #: whether the underload pass may empty a host that has just been chosen as a target in the same step
    #: (CloudSim: yes, so a VM can be migrated twice at once)
    retarget: bool = True
    cpu_overhead: float = 0.0  # share of host CPU lost to virtualization: a request d costs d / (1 - c)
    memory_overhead_mb: Callable[[float], float] | None = None  # extra host RAM per VM of the given RAM
    seed: int = 0


@dataclass
class Result:
    energy_kwh: float
    migrations: int
    slatah: float
    pdm: float
    slav: float
    esv: float
    overall_sla_violation: float
    shutdowns: int
    mean_time_before_shutdown_s: float
    mean_active_hosts: float
    initial_active_hosts: int
    mean_migration_time_s: float
    total_downtime_s: float
    wall_s: float
    steps: int
    timeline: dict[str, list[float]]

    def summary(self) -> dict[str, object]:
        return {
            "energy_kwh": round(self.energy_kwh, 4),
            "migrations": self.migrations,
            "sla": {
                "slatah_pct": round(100 * self.slatah, 4),
                "pdm_pct": round(100 * self.pdm, 5),
                "slav_pct": round(100 * self.slav, 7),
                "overall_violation_pct": round(100 * self.overall_sla_violation, 4),
            },
            "esv": self.esv,
            "hosts": {
                "shutdowns": self.shutdowns,
                "mean_time_before_shutdown_s": round(self.mean_time_before_shutdown_s, 2),
                "active_mean": round(self.mean_active_hosts, 3),
                "active_initial": self.initial_active_hosts,
            },
            "mean_migration_time_s": round(self.mean_migration_time_s, 3),
            "downtime_total_s": round(self.total_downtime_s, 3),
            "steps": self.steps,
        }


# --------------------------------------------------------------------------------------- the model


def specpower(table: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``PowerModelSpecPower.getPower``: the table on the deciles, linear in between. ``table`` has one
    row of 11 watts per host (or one row), ``u`` one utilization per host, clipped to [0, 1]."""
    u = np.clip(u, 0.0, 1.0)
    lo = np.floor(u * 10).astype(np.int64)
    hi = np.ceil(u * 10).astype(np.int64)
    rows = np.arange(len(u))
    p1 = table[rows, lo]
    p2 = table[rows, hi]
    return p1 + (p2 - p1) / 10 * (u - lo / 10) * 100


class DataCenter:
    """State and event loop of one run. Build with :meth:`__init__`, then :meth:`run`."""

    def __init__(self, cfg: Config, trace: Trace) -> None:
        self.cfg = cfg
        self.trace = trace
        h, v = cfg.hosts, trace.vms
        self.H, self.V = h, v
        kinds = cfg.host_type_of or tuple(i % len(cfg.host_types) for i in range(h))
        if len(kinds) != h:
            raise ValueError(f"host_type_of has {len(kinds)} entries for {h} hosts")
        self.htype = np.array(kinds, dtype=np.int64)
        ht = [cfg.host_types[k] for k in kinds]
        self.pe_mips = np.array([t.mips_per_pe for t in ht])
        self.total = np.array([t.mips_per_pe * t.pes for t in ht])
        self.ram = np.array([t.ram_mb for t in ht])
        self.bw = np.array([t.bw for t in ht])
        self.ptab = np.array([t.power_w for t in ht], dtype=np.float64)
        self.ntypes = len(cfg.host_types)
        det = cfg.detector
        if det is not None:
            robust = det.name == "lrr" and not det.compat
            self._det_code = kernels.LRR if robust else kernels.DETECTOR_CODES["lr" if det.name == "lrr" else det.name]
        block = math.ceil(v / len(cfg.vm_types))
        vt = [cfg.vm_types[i // block] for i in range(v)]
        self.vm_mips = np.array([t.mips for t in vt])
        self.vm_ram = np.array([t.ram_mb for t in vt])
        self.vm_bw = np.array([t.bw for t in vt])
        mem_extra = cfg.memory_overhead_mb
        self.vm_ram_host = self.vm_ram + (np.array([mem_extra(r) for r in self.vm_ram]) if mem_extra else 0.0)
        self.cpu_scale = 1.0 / (1.0 - cfg.cpu_overhead)
        self.rng = np.random.default_rng(cfg.seed)
        # placement
        self.lists: list[list[int]] = [[] for _ in range(h)]
        self.host_of = np.full(v, -1, dtype=np.int64)
        self.mig_to = np.full(v, -1, dtype=np.int64)
        # a VM moved twice in one control step (CloudSim's underload pass can pick a host that has just been
        # chosen as a target) is reserved on the first target too until its migrations complete
        self.ghosts: list[tuple[int, int]] = []
        self.req = np.zeros(v)
        # histories (newest first)
        self.hist = np.zeros((v, HISTORY))
        self.n_hist = 0
        # post state of the last event
        self.util_mips = np.zeros(h)
        self.t_last = 0.0
        self.energy_ws = 0.0
        # state entries (values from the last event), accumulated into the SLA sums at the next event
        self.h_alloc = np.zeros(h)
        self.h_req = np.zeros(h)
        self.h_entry = False
        self.v_alloc = np.zeros(v)
        self.v_req = np.zeros(v)
        self.v_inmig = np.zeros(v, dtype=bool)
        self.active_time = 0.0
        self.viol_time = 0.0
        self.vm_req_total = 0.0
        self.vm_alloc_total = 0.0
        self.vm_mig_under = 0.0
        self.prev_active = np.ones(h, dtype=bool)
        self.switched_on_at = np.zeros(h)
        self.shutdown_times: list[float] = []
        self.first_entry_t: float | None = None
        self.migrations = 0
        self.finished = 0  # VMs destroyed as completed (a request of exactly 0 MIPS)
        self.mig_times: list[float] = []
        self.downtime = 0.0
        self.host_names: list[str] | None = None  # for the top-hosts metric (default host-<i>)
        self.history: list[dict[str, Any]] = []  # per-step metric values, filled by consolidation.run
        self.timeline: dict[str, list[float]] = {
            "t": [], "active_hosts": [], "power_w": [], "energy_kwh": [], "migrations": [], "vms": []
        }  # fmt: skip

    # ------------------------------------------------------------------------------ allocation

    def _pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(vm, host, role) for every VM on every host; role 0 normal, 1 migrating out, 2 migrating in."""
        placed = np.flatnonzero(self.host_of >= 0)
        migr = placed[self.mig_to[placed] >= 0]
        ghost_v = np.array([v for v, _ in self.ghosts], dtype=np.int64)
        ghost_h = np.array([h for _, h in self.ghosts], dtype=np.int64)
        vms = np.concatenate([placed, migr, ghost_v])
        hosts = np.concatenate([self.host_of[placed], self.mig_to[migr], ghost_h])
        role = np.concatenate([np.where(self.mig_to[placed] >= 0, 1, 0), np.full(len(migr) + len(ghost_v), 2)])
        return vms, hosts, role

    def _allocate(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per-VM allocated MIPS on each host it is on, host utilization MIPS and requested MIPS."""
        vms, hosts, role = self._pairs()
        req = self.req[vms]
        capped = np.minimum(req, self.pe_mips[hosts])
        share = np.where(role == 2, capped * 0.1, capped)
        s = np.bincount(hosts, weights=share, minlength=self.H)
        over = s > self.total
        f = np.where(over, self.total / np.where(s > 0, s, 1.0), 1.0)[hosts]
        keep = 1.0 - self.cfg.migration_slowdown
        plain = np.where(role == 1, capped * keep, np.where(role == 2, capped * 0.1, capped))
        scaled = np.floor(np.where(role == 1, capped * f * keep, np.where(role == 2, capped * 0.1 * f, capped * f)))
        alloc = np.where(over[hosts], scaled, plain)
        contrib = np.where(role == 1, alloc / keep, alloc)  # a VM migrating in counts as allocated
        util_mips = np.bincount(hosts, weights=contrib, minlength=self.H)
        req_mips = np.bincount(hosts, weights=req, minlength=self.H)
        return vms, hosts, role, alloc, np.stack([util_mips, req_mips])

    def _set_requests(self, t: float) -> None:
        placed = self.host_of >= 0
        self.req = np.where(placed, interpolate(self.trace.util, t) * self.vm_mips * self.cpu_scale, 0.0)

    # ---------------------------------------------------------------------------------- events

    def _advance(self, t: float) -> None:
        """Energy and SLA sums for (t_last, t], with the requests at ``t`` and the placement before any
        change at ``t``."""
        self._set_requests(t)
        dt = t - self.t_last
        if dt > 0:
            _, _, _, _, hs = self._allocate()
            u_prev = self.util_mips / self.total
            u_now = hs[0] / self.total
            p = (specpower(self.ptab, u_prev) + specpower(self.ptab, u_now)) / 2 * dt
            self.energy_ws += float(np.where(u_prev > 0, p, 0.0).sum())
            if self.h_entry:
                active = self.h_alloc > 0
                self.active_time += float(dt * active.sum())
                self.viol_time += float(dt * (active & (self.h_alloc < self.h_req)).sum())
                self.vm_req_total += float(dt * self.v_req.sum())
                self.vm_alloc_total += float(dt * self.v_alloc.sum())
                short = self.v_inmig & (self.v_alloc < self.v_req)
                self.vm_mig_under += float(dt * (self.v_req - self.v_alloc)[short].sum())
        self.t_last = t

    def _settle(self, t: float, remove_idle: bool = True) -> None:
        """Post state at ``t`` after every change: host utilization, and the host and VM state entries."""
        vms, _, role, alloc, hs = self._allocate()
        self.util_mips = hs[0]
        self.h_alloc, self.h_req = hs[0], hs[1]
        if self.first_entry_t is None:
            self.first_entry_t = t
        # VM entries come from the host a VM runs on (the source while it migrates; the target writes none)
        src = role < 2
        self.v_alloc = np.zeros(self.V)
        self.v_req = np.zeros(self.V)
        self.v_inmig = np.zeros(self.V, dtype=bool)
        self.v_alloc[vms[src]] = alloc[src]
        self.v_req[vms[src]] = self.req[vms[src]]
        self.v_inmig[vms[src]] = role[src] == 1
        # shutdowns: active -> inactive transitions of the host entries
        active = self.h_alloc > 0
        off = self.prev_active & ~active
        on = ~self.prev_active & active
        self.shutdown_times.extend((t - self.switched_on_at[off]).tolist())
        self.switched_on_at[on] = t
        self.prev_active = active
        self.h_entry = True
        if remove_idle:
            # CloudSim treats a VM requesting exactly 0 MIPS (not migrating) as completed and destroys it
            done = np.flatnonzero((self.host_of >= 0) & (self.mig_to < 0) & (self.req == 0))
            for v in done:
                self.lists[self.host_of[v]].remove(int(v))
            self.host_of[done] = -1
            self.finished += len(done)

    # ----------------------------------------------------------------------------- host views

    def _host_view(self, lists: list[list[int]], h: int) -> tuple[float, float, float, np.ndarray, int]:
        """(scheduler requested sum S, allocated sum, requested sum, history row, history length) of host
        ``h`` with VM list ``lists[h]`` and no migration in progress (control-step view)."""
        vl = lists[h]
        if not vl:
            return 0.0, 0.0, 0.0, np.zeros(HISTORY), 0
        idx = np.array(vl, dtype=np.int64)
        return kernels.host_view(idx, self.req, self.pe_mips[h], self.total[h], self.hist, self.vm_mips)

    def _refresh(self, lists: list[list[int]], hosts: list[int] | np.ndarray) -> None:
        for h in hosts:
            self.busy[h] = bool(lists[h])
            s, a, r, row, n = self._host_view(lists, int(h))
            self.S[h], self.A[h], self.R[h], self.HH[h], self.HL[h] = s, a, r, row, n

    def _overloaded(self, hosts: np.ndarray) -> np.ndarray:
        det = self.cfg.detector
        assert det is not None
        return det.overloaded(self.R[hosts] / self.total[hosts], self.HH[hosts], self.HL[hosts])

    # ------------------------------------------------------------------------------- placement

    def _find_host(self, v: int, excluded: np.ndarray, instantiating: bool = False) -> int:
        """PABFD (``findHostForVm``): the suitable host whose power rises least; -1 if none."""
        r = self.vm_mips[v] * self.cpu_scale if instantiating else self.req[v]
        det = self.cfg.detector
        nz = np.flatnonzero(self.hist[v])
        return int(
            kernels.find_host(
                float(r), self.hist[v], int(nz[-1]) + 1 if len(nz) else 0, float(self.vm_mips[v]), excluded,
                self.busy, self.htype, self.ntypes, self.S, self.A, self.R, self.HH, self.HL, self.util_mips, self.total,
                self.pe_mips, self.ptab, instantiating, self.ram_free, self.bw_free, float(self.vm_ram_host[v]),
                float(self.vm_bw[v]), -1 if det is None else self._det_code, 0.0 if det is None else det.parameter,
            )
        )  # fmt: skip

    def _first_fit(self, v: int) -> int:
        r = self.vm_mips[v] * self.cpu_scale
        avail = np.where(self.total < self.S, 0.0, self.total - self.S)
        ok = (
            (self.pe_mips >= r)
            & (avail >= r)
            & (self.ram_free >= self.vm_ram_host[v])
            & (self.bw_free >= self.vm_bw[v])
        )
        cand = np.flatnonzero(ok)
        return int(cand[0]) if len(cand) else -1

    def _initial_placement(self) -> None:
        """VMs in id order, each requesting its full MIPS while it is instantiated (its request drops to
        its trace, 0 before the first cloudlet, right after): first fit (npa, dvfs) or PABFD."""
        h = self.H
        self.S = np.zeros(h)
        self.A = np.zeros(h)
        self.R = np.zeros(h)
        self.HH = np.zeros((h, HISTORY))
        self.HL = np.zeros(h, dtype=np.int64)
        self.ram_free = self.ram.copy()
        self.bw_free = self.bw.copy()
        self.busy = np.zeros(h, dtype=bool)
        none = np.zeros(h, dtype=bool)
        for v in range(self.V):
            if self.cfg.allocation == "migrate":
                target = self._find_host(v, none, instantiating=True)
            else:
                target = self._first_fit(v)
            if target < 0:
                largest = int(np.argmax(self.ram))
                raise CapacityError(
                    f"VM {v} ({self.vm_mips[v]:g} MIPS, {self.vm_ram_host[v]:.0f} MiB with overheads) fits on no "
                    f"host at t = 0: the hosts are full or too small (the largest leaves {self.ram[largest]:.0f} "
                    "MiB to guests after the hypervisor's reservation)"
                )
            full = min(self.vm_mips[v] * self.cpu_scale, self.pe_mips[target])
            self.S[target] += full
            self.A[target] = self.S[target] if self.S[target] <= self.total[target] else self.total[target]
            self.ram_free[target] -= self.vm_ram_host[v]
            self.bw_free[target] -= self.vm_bw[v]
            self.lists[target].append(v)
            self.busy[target] = True
            self.host_of[v] = target

    # ------------------------------------------------------------------------------ selection

    def _select(self, lists: list[list[int]], h: int, t: float) -> int:
        vl = lists[h]
        if not vl:
            return -1
        sel = self.cfg.selection
        idx = np.array(vl)
        if sel == "mmt":
            return int(idx[int(np.argmin(self.vm_ram[idx]))])
        if sel == "mu":
            return int(idx[int(np.argmin(self.req[idx] / self.vm_mips[idx]))])
        if sel == "rs":
            return int(idx[int(self.rng.integers(len(idx)))])
        if sel == "mc":
            r2 = max_correlation_r2(self.hist[idx, : self.n_hist]) if self.n_hist else None
            if r2 is None:
                return int(idx[int(np.argmin(self.vm_ram[idx]))])
            best, pick = np.finfo(float).tiny, 0
            for i, x in enumerate(r2):
                if x > best:
                    best, pick = x, i
            return int(idx[pick])
        raise ValueError(f"unknown selection policy {sel!r}")

    # --------------------------------------------------------------------------- optimization

    def _optimize(self, t: float) -> list[tuple[int, int]]:
        """One control step: the migrations to start, as (vm, target) in CloudSim's order."""
        lists = [list(x) for x in self.lists]
        self.S = np.zeros(self.H)
        self.A = np.zeros(self.H)
        self.R = np.zeros(self.H)
        self.HH = np.zeros((self.H, HISTORY))
        self.HL = np.zeros(self.H, dtype=np.int64)
        self.busy = np.zeros(self.H, dtype=bool)
        self._refresh(lists, [h for h in range(self.H) if lists[h]])
        all_hosts = np.arange(self.H)
        over_mask = self._overloaded(all_hosts)
        overloaded = np.flatnonzero(over_mask)
        to_move: list[int] = []
        for h in overloaded:
            while True:
                v = self._select(lists, int(h), t)
                if v < 0:
                    break
                to_move.append(v)
                lists[h].remove(v)
                self._refresh(lists, [h])
                if not self._overloaded(np.array([h]))[0]:
                    break
        moves: list[tuple[int, int]] = []
        to_move.sort(key=lambda x: -self.req[x])  # stable, as Collections.sort
        switched_off = self.util_mips == 0
        for v in to_move:
            target = -1
            if self.cfg.wake == "last-resort":
                target = self._find_host(v, over_mask | switched_off)
            if target < 0:
                target = self._find_host(v, over_mask)
            if target >= 0:
                lists[target].append(v)
                self._refresh(lists, [target])
                moves.append((v, target))
        # underload pass
        excl_under = over_mask | switched_off
        if not self.cfg.retarget:
            for _, th in moves:
                excl_under[th] = True
        excl_place = excl_under.copy()
        u_now = self.util_mips / self.total
        u_now = np.where((u_now > 1) & (u_now < 1.01), 1.0, u_now)
        while not excl_under.all():
            cand = np.flatnonzero(~excl_under & (u_now > 0) & (u_now < 1))
            if len(cand) == 0:
                break
            h = int(cand[np.argmin(u_now[cand])])
            excl_under[h] = True
            excl_place[h] = True
            vms = [v for v in lists[h] if self.mig_to[v] < 0]
            if not vms:
                continue
            vms.sort(key=lambda x: -self.req[x])
            placed: list[tuple[int, int]] = []
            for v in vms:
                target = self._find_host(v, excl_place)
                if target < 0:
                    for pv, ph in placed:
                        lists[ph].remove(pv)
                        self._refresh(lists, [ph])
                    placed = []
                    break
                lists[target].append(v)
                self._refresh(lists, [target])
                placed.append((v, target))
            for _, ph in placed:
                excl_under[ph] = True
            moves.extend(placed)
        return moves

    # -------------------------------------------------------------------------------- running

    def _migration_time(self, v: int, target: int) -> tuple[float, float]:
        ram = self.vm_ram[v]
        if self.cfg.migration == "precopy":
            return self.cfg.precopy.duration(ram, self.bw[target] / (2 * 8000))
        return ram / (self.bw[target] / (2 * 8000)), 0.0

    def _complete_due(self, pending: list[tuple[float, int, int]], until: float, inclusive: bool) -> None:
        """Complete the pending migrations (end time, start order, vm) that end before ``until`` (or at it,
        when ``inclusive``): one event per distinct end time, in time order; ``pending`` is consumed in place."""
        pending.sort()
        while pending and (pending[0][0] <= until if inclusive else pending[0][0] < until):
            tc = pending[0][0]
            self._advance(tc)
            while pending and pending[0][0] == tc:
                _, _, v = pending.pop(0)
                self._complete(v)
            self._settle(tc)

    def _complete(self, v: int) -> None:
        """A migration ends: the VM leaves its source (and any first target) and runs on its target, at the
        end of the target's list."""
        src, dst = self.host_of[v], self.mig_to[v]
        self.lists[src].remove(v)
        for gv, gh in [g for g in self.ghosts if g[0] == v]:
            self.lists[gh].remove(gv)
            self.ghosts.remove((gv, gh))
        self.lists[dst].remove(v)
        self.lists[dst].append(v)
        self.host_of[v], self.mig_to[v] = dst, -1

    def _record(self, t: float) -> None:
        tl = self.timeline
        tl["t"].append(t)
        tl["active_hosts"].append(float((self.util_mips > 0).sum()))
        u = self.util_mips / self.total
        tl["power_w"].append(float(np.where(u > 0, specpower(self.ptab, u), 0.0).sum()))
        tl["energy_kwh"].append(self.energy_ws / 3.6e6)
        tl["migrations"].append(float(self.migrations))
        tl["vms"].append(float((self.host_of >= 0).sum()))

    def run(self, on_step: Callable[[DataCenter, float], None] | None = None) -> Result:
        wall0 = time.perf_counter()
        cfg = self.cfg
        self._initial_placement()
        initial_active = sum(1 for x in self.lists if x)
        pending: list[tuple[float, int, int]] = []  # (end time, start order, vm)
        t = 0.1
        self.t_last = t
        order = 0
        self.steps = 0
        self._wall0, self._initial_active = wall0, initial_active
        while True:
            t_next = t + cfg.interval_s
            if t_next > cfg.limit_s:
                break
            self._complete_due(pending, t_next, inclusive=False)  # before the next step
            t = t_next
            self.steps += 1
            self._advance(t)
            self._settle(t)
            # one history sample per step
            self.hist[:, 1:] = self.hist[:, :-1]
            self.hist[:, 0] = interpolate(self.trace.util, t) * self.cpu_scale
            self.n_hist = min(self.n_hist + 1, HISTORY)
            if cfg.allocation == "migrate":
                moves = self._optimize(t)
                for v, target in moves:
                    if self.mig_to[v] >= 0:  # moved twice in one step: it passes through the first target
                        self.ghosts.append((v, int(self.mig_to[v])))
                    self.mig_to[v] = target
                    self.lists[target].append(v)
                    self.migrations += 1
                    dur, down = self._migration_time(v, target)
                    self.mig_times.append(dur)
                    self.downtime += down
                    pending = [p for p in pending if p[2] != v]
                    pending.append((t + dur, order, v))
                    order += 1
                if moves:
                    self._settle(t, remove_idle=False)
            self._record(t)
            if on_step is not None:
                on_step(self, t)
        # migrations still running complete before the end of the simulation
        self._complete_due(pending, cfg.limit_s, inclusive=True)
        if cfg.allocation == "npa":  # no power management: every host at full power from 0 to the last step
            self.energy_ws = float(self.ptab[:, -1].sum() * t)
        return self._result(wall0, initial_active, self.steps)

    def partial_result(self) -> Result:
        """The metrics up to the last completed event (for an interrupted run)."""
        return self._result(self._wall0, self._initial_active, self.steps)

    def _result(self, wall0: float, initial_active: int, steps: int) -> Result:
        slatah = self.viol_time / self.active_time if self.active_time else 0.0
        pdm = self.vm_mig_under / self.vm_req_total if self.vm_req_total else 0.0
        energy = self.energy_ws / 3.6e6
        span = self.t_last - (self.first_entry_t or 0.0)
        return Result(
            energy_kwh=energy,
            migrations=self.migrations,
            slatah=slatah,
            pdm=pdm,
            slav=slatah * pdm,
            esv=energy * slatah * pdm,
            overall_sla_violation=(self.vm_req_total - self.vm_alloc_total) / self.vm_req_total
            if self.vm_req_total
            else 0.0,
            shutdowns=len(self.shutdown_times),
            mean_time_before_shutdown_s=float(np.mean(self.shutdown_times)) if self.shutdown_times else 0.0,
            mean_active_hosts=self.active_time / span if span > 0 else 0.0,
            initial_active_hosts=initial_active,
            mean_migration_time_s=float(np.mean(self.mig_times)) if self.mig_times else 0.0,
            total_downtime_s=self.downtime,
            wall_s=time.perf_counter() - wall0,
            steps=steps,
            timeline=self.timeline,
        )


def simulate(cfg: Config, trace: Trace) -> Result:
    """Run one consolidation experiment."""
    return DataCenter(cfg, trace).run()
