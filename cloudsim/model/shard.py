"""A host shard: one or more physical hosts as numpy arrays, and the guests on them.

The controller decides (which guest goes where, what it reserves); the shard owns the dynamics: each
tick it draws every guest's CPU utilization, adds the virtualization overhead (``demand / (1 - c)``),
resolves contention when a host is oversubscribed (every guest scaled by capacity / demand, the shortfall
counted as SLA violation), and integrates power into energy.

Determinism: a host's integrals are split only at that host's own commands and at ticks, and per-host
sums run over its guests in guest-id order, so the results do not depend on how hosts are grouped into
shards (or actors).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from cloudsim.model import rng
from cloudsim.virt import MODES

N_MODES = len(MODES)

#: Utilization distribution kinds (``UtilDist.kind``).
DIST_CONSTANT, DIST_UNIFORM, DIST_NORMAL = 0, 1, 2


@dataclass(frozen=True)
class ShardSpec:
    """Static description of the hosts in one shard (global host ids, contiguous)."""

    host_ids: np.ndarray  # (n,) int, global ids
    cpu_mips: np.ndarray  # (n,) capacity
    mem_mib: np.ndarray  # (n,) capacity
    reserve_mib: np.ndarray  # (n,) hypervisor / host OS reservation
    power_curve_w: np.ndarray  # (n, 11) watts at 0, 10, ..., 100 % CPU
    empty_off: np.ndarray  # (n,) bool: an empty host is switched off (0 W)
    seed: int


@dataclass(frozen=True)
class Place:
    """Start a guest on a host. ``cpu_mips`` is what its vCPUs ask at full use (without overhead);
    ``overhead_c`` the CPU fraction lost to virtualization; ``mem_mib`` its whole host footprint."""

    guest_id: int
    host_id: int
    mode: int
    cpu_mips: float
    overhead_c: float
    mem_mib: float
    dist_kind: int
    p1: float
    p2: float


@dataclass(frozen=True)
class Remove:
    guest_id: int
    host_id: int


Command = Place | Remove


@dataclass
class HostReport:
    """Per-host state of a shard at a time ``t`` (arrays aligned with ``host_ids``)."""

    t: float
    host_ids: np.ndarray
    guests: np.ndarray  # guests on the host
    cpu_used_mips: np.ndarray  # host CPU in use, overhead included (<= capacity)
    cpu_demand_mips: np.ndarray  # what the guests' vCPUs ask, without overhead
    cpu_delivered_mips: np.ndarray  # what the guests get
    overhead_mips_by_mode: np.ndarray  # (n, modes) host CPU spent on virtualization
    delivered_mips_by_mode: np.ndarray  # (n, modes)
    mem_used_mib: np.ndarray  # reservation + guest footprints (0 for a switched-off host)
    power_w: np.ndarray
    energy_j: np.ndarray  # cumulative
    shortfall_mips_s: np.ndarray  # cumulative CPU asked but not delivered (contention)
    demand_mips_s: np.ndarray  # cumulative CPU asked

    @staticmethod
    def concat(reports: list[HostReport]) -> HostReport:
        """One report for all hosts, in the order given (shards are contiguous in host-id order)."""
        first = reports[0]
        arrays = {
            name: np.concatenate([getattr(r, name) for r in reports])
            for name in first.__dataclass_fields__
            if name != "t"
        }
        return HostReport(t=first.t, **arrays)


def power_w(curve_w: np.ndarray, util: np.ndarray) -> np.ndarray:
    """Linear interpolation in 11-point power curves (CloudSim ``PowerModelSpecPower`` [P13]).

    ``curve_w`` is (n, 11), ``util`` (n,) in [0, 1]."""
    x = np.clip(util, 0.0, 1.0) * 10.0
    lo = np.minimum(np.floor(x).astype(np.int64), 9)
    frac = x - lo
    rows = np.arange(len(util))
    return curve_w[rows, lo] + (curve_w[rows, lo + 1] - curve_w[rows, lo]) * frac


class HostShard:
    """The hosts of one shard and their guests. Pure numpy; no Ray."""

    def __init__(self, spec: ShardSpec) -> None:
        self.spec = spec
        n = len(spec.host_ids)
        self._first = int(spec.host_ids[0]) if n else 0
        self.n = n
        self.tick = 0
        # per-host integrals and the state they integrate
        self.last_t = np.zeros(n)
        self.energy_j = np.zeros(n)
        self.shortfall_mips_s = np.zeros(n)
        self.demand_mips_s = np.zeros(n)
        self._power = np.zeros(n)
        self._shortfall = np.zeros(n)
        self._demand = np.zeros(n)
        # guests (parallel lists, kept in guest-id order)
        self._g: dict[str, list[float]] = {
            k: [] for k in ("gid", "host", "mode", "cpu", "c", "mem", "kind", "p1", "p2")
        }
        self._arrays: dict[str, np.ndarray] | None = None
        self._recompute()

    # ------------------------------------------------------------------------------------- commands

    def apply(self, t: float, commands: list[Command]) -> None:
        """Apply commands at time ``t`` (integrating the touched hosts up to ``t`` first)."""
        touched = np.unique(np.array([c.host_id for c in commands], dtype=np.int64) - self._first)
        self._integrate(t, touched)
        for cmd in commands:
            if isinstance(cmd, Place):
                self._add(cmd)
            else:
                self._drop(cmd.guest_id)
        self._arrays = None
        self._recompute()

    def _add(self, p: Place) -> None:
        g = self._g
        pos = bisect.bisect_left(g["gid"], p.guest_id)  # keep guest-id order (a migration may come late)
        if pos < len(g["gid"]) and g["gid"][pos] == p.guest_id:
            raise ValueError(f"guest {p.guest_id} is already on this shard")
        row = (
            p.guest_id,
            p.host_id - self._first,
            p.mode,
            p.cpu_mips,
            p.overhead_c,
            p.mem_mib,
            p.dist_kind,
            p.p1,
            p.p2,
        )
        for key, value in zip(g, row, strict=True):
            g[key].insert(pos, value)

    def _drop(self, guest_id: int) -> None:
        gids = self._g["gid"]
        pos = bisect.bisect_left(gids, guest_id)
        if pos == len(gids) or gids[pos] != guest_id:
            raise KeyError(f"guest {guest_id} is not on this shard")
        for values in self._g.values():
            del values[pos]

    # ---------------------------------------------------------------------------------------- time

    def advance(self, t: float, tick: int) -> HostReport:
        """Integrate every host up to ``t``, draw tick ``tick``'s utilizations, and report."""
        self._integrate(t, np.arange(self.n))
        self.tick = tick
        self._recompute()
        return self.report(t)

    def _integrate(self, t: float, hosts: np.ndarray) -> None:
        dt = t - self.last_t[hosts]
        self.energy_j[hosts] += self._power[hosts] * dt
        self.shortfall_mips_s[hosts] += self._shortfall[hosts] * dt
        self.demand_mips_s[hosts] += self._demand[hosts] * dt
        self.last_t[hosts] = t

    def _guest_arrays(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            g = self._g
            self._arrays = {
                "gid": np.array(g["gid"], dtype=np.int64),
                "host": np.array(g["host"], dtype=np.int64),
                "mode": np.array(g["mode"], dtype=np.int64),
                **{k: np.array(g[k], dtype=np.float64) for k in ("cpu", "c", "mem", "p1", "p2")},
                "kind": np.array(g["kind"], dtype=np.int64),
            }
        return self._arrays

    def _utilization(self, a: dict[str, np.ndarray]) -> np.ndarray:
        seed, gid, tick = self.spec.seed, a["gid"], self.tick
        u1 = rng.uniform(seed, gid, tick, 0)
        util = np.where(a["kind"] == DIST_UNIFORM, a["p1"] + (a["p2"] - a["p1"]) * u1, a["p1"])
        normal = a["kind"] == DIST_NORMAL
        if normal.any():
            u2 = rng.uniform(seed, gid, tick, 1)
            z = np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)  # Box-Muller
            util = np.where(normal, a["p1"] + a["p2"] * z, util)
        return np.clip(util, 0.0, 1.0)

    def _recompute(self) -> None:
        a = self._guest_arrays()
        n, host = self.n, a["host"]
        util = self._utilization(a)
        demand = a["cpu"] * util  # guest-side MIPS asked
        spend = demand / (1.0 - a["c"])  # host MIPS needed to deliver it
        host_spend = np.bincount(host, weights=spend, minlength=n)
        host_demand = np.bincount(host, weights=demand, minlength=n)
        cap = self.spec.cpu_mips
        scale = np.where(host_spend > cap, cap / np.where(host_spend > 0, host_spend, 1.0), 1.0)
        g_scale = scale[host]
        delivered = demand * g_scale
        overhead = (spend - demand) * g_scale
        flat = host * N_MODES + a["mode"]
        self._by_mode_overhead = np.bincount(flat, weights=overhead, minlength=n * N_MODES).reshape(n, N_MODES)
        self._by_mode_delivered = np.bincount(flat, weights=delivered, minlength=n * N_MODES).reshape(n, N_MODES)
        self._guests = np.bincount(host, minlength=n)
        self._cpu_used = np.minimum(host_spend, cap)
        self._delivered = np.bincount(host, weights=delivered, minlength=n)
        self._demand = host_demand
        self._shortfall = host_demand - self._delivered
        on = (self._guests > 0) | ~self.spec.empty_off
        self._mem_used = np.where(on, self.spec.reserve_mib + np.bincount(host, weights=a["mem"], minlength=n), 0.0)
        self._power = np.where(on, power_w(self.spec.power_curve_w, self._cpu_used / cap), 0.0)

    def guest_hosts(self) -> dict[int, int]:
        """Guest id -> global host id, for every guest on this shard."""
        return {int(g): int(h) + self._first for g, h in zip(self._g["gid"], self._g["host"], strict=True)}

    def report(self, t: float) -> HostReport:
        return HostReport(
            t=t,
            host_ids=self.spec.host_ids,
            guests=self._guests.copy(),
            cpu_used_mips=self._cpu_used.copy(),
            cpu_demand_mips=self._demand.copy(),
            cpu_delivered_mips=self._delivered.copy(),
            overhead_mips_by_mode=self._by_mode_overhead.copy(),
            delivered_mips_by_mode=self._by_mode_delivered.copy(),
            mem_used_mib=self._mem_used.copy(),
            power_w=self._power.copy(),
            energy_j=self.energy_j.copy(),
            shortfall_mips_s=self.shortfall_mips_s.copy(),
            demand_mips_s=self.demand_mips_s.copy(),
        )
