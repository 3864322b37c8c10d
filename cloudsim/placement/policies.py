"""Placement as a filter -> score pipeline over host snapshots, with named policy profiles.

Modelled on the Kubernetes scheduler framework (Filter and Score plugins, a registry, the framework
normalising and weighting scores) and OpenStack Nova's filters and weighers. A policy is a *profile*:
weights over scorers, not a copy of a placement loop.

Filters run in order; a host is rejected by the first filter it fails, and the rejection is recorded
with the numbers (requested / free). Scores of the hosts that pass are min-max normalised per scorer
over those hosts (Nova ``weights.normalize``), weighted and summed; the highest total wins and ties go to
the lowest host id (deterministic).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from cloudsim.model.shard import power_w

# ------------------------------------------------------------------------------------------ snapshot


@dataclass
class Snapshot:
    """The controller's view of the hosts at decision time: capacities (already multiplied by the
    overcommit ratios) and what is reserved on them, one entry per host."""

    cpu_cap: np.ndarray  # MIPS, capacity x cpu overcommit
    mem_cap: np.ndarray  # MiB, capacity x memory overcommit
    cpu_used: np.ndarray  # MIPS reserved
    mem_used: np.ndarray  # MiB reserved (hypervisor reservation included)
    guests: np.ndarray  # guests on each host
    power_curve_w: np.ndarray | None = None  # (hosts, 11): watts at 0, 10, ..., 100 % CPU (power-aware)


@dataclass(frozen=True)
class Request:
    """One guest's demand on every host (it differs per host: overhead depends on the hypervisor type
    and product, MIPS per vCPU on the host's cores), and the hosts it may run on at all."""

    guest_id: int
    cpu: np.ndarray  # MIPS reserved if placed on host h (overhead included)
    mem: np.ndarray  # MiB reserved if placed on host h (overhead included)
    compatible: np.ndarray  # bool
    why_incompatible: Callable[[int], str] = field(default=lambda h: "incompatible", compare=False)


@dataclass
class Decision:
    """The outcome for one guest: a host, or a rejection with the count of hosts each filter rejected
    and a human-readable summary (``"0/8 hosts fit: 6 insufficient cpu (...), 2 incompatible (...)"``)."""

    guest_id: int
    host: int | None
    rejected_by: dict[str, int]
    detail: str
    score: float | None = None

    binding: str | None = None

    @property
    def reason(self) -> str | None:
        """For a rejection, the binding filter: the one that removed the last candidate hosts (a guest
        that only one host type can run, on a full host of that type, is rejected for capacity, not
        for compatibility). None if placed."""
        return None if self.host is not None else self.binding


# ------------------------------------------------------------------------------------------- filters

_EPS = 1e-9

FilterFn = Callable[[Snapshot, Request], np.ndarray]


def _compatible(s: Snapshot, r: Request) -> np.ndarray:
    return r.compatible


def _cpu_fits(s: Snapshot, r: Request) -> np.ndarray:
    return s.cpu_used + r.cpu <= s.cpu_cap * (1 + _EPS)


def _mem_fits(s: Snapshot, r: Request) -> np.ndarray:
    return s.mem_used + r.mem <= s.mem_cap * (1 + _EPS)


FILTERS: dict[str, FilterFn] = {
    "incompatible": _compatible,
    "insufficient_cpu": _cpu_fits,
    "insufficient_memory": _mem_fits,
}


def _describe(name: str, hosts: np.ndarray, s: Snapshot, r: Request) -> str:
    if name == "incompatible":
        return f"{len(hosts)} incompatible ({r.why_incompatible(int(hosts[0]))})"
    if name == "insufficient_cpu":
        free = s.cpu_cap[hosts] - s.cpu_used[hosts]
        best = int(hosts[np.argmax(free)])
        return f"{len(hosts)} insufficient cpu (requested {r.cpu[best]:.0f} MIPS, most free {free.max():.0f})"
    free = s.mem_cap[hosts] - s.mem_used[hosts]
    best = int(hosts[np.argmax(free)])
    return f"{len(hosts)} insufficient memory (requested {r.mem[best]:.0f} MiB, most free {free.max():.0f})"


# ------------------------------------------------------------------------------------------- scorers
# Each scorer returns a raw score per candidate host (higher is better); the framework normalises.

ScoreFn = Callable[[Snapshot, Request, np.ndarray], np.ndarray]


def _fractions_after(s: Snapshot, r: Request, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cpu and memory fractions of capacity in use after placing the guest."""
    return (s.cpu_used[h] + r.cpu[h]) / s.cpu_cap[h], (s.mem_used[h] + r.mem[h]) / s.mem_cap[h]


def most_allocated(s: Snapshot, r: Request, h: np.ndarray) -> np.ndarray:
    """Mean allocated fraction after placement (best fit; Kubernetes ``MostAllocated``)."""
    cpu, mem = _fractions_after(s, r, h)
    return (cpu + mem) / 2


def least_allocated(s: Snapshot, r: Request, h: np.ndarray) -> np.ndarray:
    """Mean free fraction after placement (worst fit; Kubernetes ``LeastAllocated``)."""
    return 1.0 - most_allocated(s, r, h)


def alignment(s: Snapshot, r: Request, h: np.ndarray) -> np.ndarray:
    """Dot product of the guest's demand and the host's free capacity, both normalised by capacity
    (Panigrahy et al. 2011 "DotProduct"; Grandl et al. 2014 Tetris alignment score)."""
    d = np.stack([r.cpu[h] / s.cpu_cap[h], r.mem[h] / s.mem_cap[h]], axis=1)
    free = np.stack([1 - s.cpu_used[h] / s.cpu_cap[h], 1 - s.mem_used[h] / s.mem_cap[h]], axis=1)
    return (d * free).sum(axis=1)


def l2_residual(s: Snapshot, r: Request, h: np.ndarray) -> np.ndarray:
    """Minus the squared L2 norm of the normalised residual capacity after placement (Panigrahy et al.
    2011 norm-based greedy): the host left with the least, most even slack wins."""
    cpu, mem = _fractions_after(s, r, h)
    return -((1.0 - cpu) ** 2 + (1.0 - mem) ** 2)


def balanced(s: Snapshot, r: Request, h: np.ndarray) -> np.ndarray:
    """1 - standard deviation of the resource fractions after placement (Kubernetes
    ``BalancedAllocation``): prefers hosts whose cpu and memory fill in proportion."""
    cpu, mem = _fractions_after(s, r, h)
    mean = (cpu + mem) / 2
    return 1.0 - np.sqrt(((cpu - mean) ** 2 + (mem - mean) ** 2) / 2)


def power_increase(s: Snapshot, r: Request, h: np.ndarray) -> np.ndarray:
    """Minus the extra watts the host would draw: P(u after) - P(u now) on its power curve, u = CPU
    reserved / CPU capacity (power-aware best fit, Beloglazov & Buyya 2012). An empty host counts at its
    idle power, as in the paper, so waking one costs only what the guest adds."""
    if s.power_curve_w is None:
        raise ValueError("power-aware placement needs the hosts' power curves in the snapshot")
    curve = s.power_curve_w[h]
    now = power_w(curve, s.cpu_used[h] / s.cpu_cap[h])
    after = power_w(curve, (s.cpu_used[h] + r.cpu[h]) / s.cpu_cap[h])
    return -(after - now)


def lowest_index(s: Snapshot, r: Request, h: np.ndarray) -> np.ndarray:
    """Minus the host id: the first host in order (first fit)."""
    return -h.astype(np.float64)


SCORERS: dict[str, ScoreFn] = {
    "most_allocated": most_allocated,
    "least_allocated": least_allocated,
    "alignment": alignment,
    "l2_residual": l2_residual,
    "balanced": balanced,
    "lowest_index": lowest_index,
    "power_increase": power_increase,
}


@dataclass(frozen=True)
class Policy:
    """A named placement profile: scorer weights over the shared filter pipeline."""

    name: str
    weights: dict[str, float]
    description: str


POLICIES: dict[str, Policy] = {
    p.name: p
    for p in (
        Policy("first-fit", {"lowest_index": 1.0}, "the first host (in host order) that fits"),
        Policy("best-fit", {"most_allocated": 1.0}, "the fullest host that fits: packs tight, frees hosts"),
        Policy("worst-fit", {"least_allocated": 1.0}, "the emptiest host that fits: spreads load"),
        Policy(
            "dot-product",
            {"alignment": 1.0},
            "the host whose free capacity best aligns with the demand (Panigrahy 2011, Tetris)",
        ),
        Policy(
            "balanced",
            {"balanced": 1.0, "most_allocated": 1.0},
            "packs like best fit, preferring hosts whose cpu and memory fill evenly (k8s BalancedAllocation)",
        ),
        Policy(
            "power-aware",
            {"power_increase": 1.0},
            "the host whose power rises least on its SPECpower or linear curve (PABFD, Beloglazov & Buyya 2012)",
        ),
        Policy(
            "l2-norm",
            {"l2_residual": 1.0},
            "the host left with the smallest L2 norm of free capacity (Panigrahy 2011 norm-based greedy)",
        ),
    )
}


def policy_names() -> list[str]:
    return list(POLICIES)


def get_policy(name: str) -> Policy:
    """The named policy, or a ``KeyError`` whose message lists the known ones."""
    try:
        return POLICIES[name]
    except KeyError:
        raise KeyError(f"unknown policy {name!r}; known: {', '.join(POLICIES)}") from None


def _normalise(x: np.ndarray) -> np.ndarray:
    lo, hi = x.min(), x.max()
    return np.zeros_like(x) if hi - lo <= 1e-12 * max(1.0, abs(hi)) else (x - lo) / (hi - lo)


def decide(policy: Policy, snapshot: Snapshot, request: Request) -> Decision:
    """Run the pipeline for one guest. Never raises for a guest that fits nowhere: that is a
    :class:`Decision` with ``host=None`` and the reasons."""
    n = len(snapshot.cpu_cap)
    alive = np.ones(n, dtype=bool)
    rejected_by: dict[str, int] = {}
    parts: list[str] = []
    binding = None
    for name, fn in FILTERS.items():
        ok = fn(snapshot, request)
        failed = np.flatnonzero(alive & ~ok)
        if len(failed):
            rejected_by[name] = len(failed)
            parts.append(_describe(name, failed, snapshot, request))
            if not (alive & ok).any() and binding is None:
                binding = name
        alive &= ok
    candidates = np.flatnonzero(alive)
    if len(candidates) == 0:
        return Decision(request.guest_id, None, rejected_by, f"0/{n} hosts fit: " + ", ".join(parts), binding=binding)
    total = np.zeros(len(candidates))
    for scorer, weight in policy.weights.items():
        total += weight * _normalise(SCORERS[scorer](snapshot, request, candidates))
    best = int(np.argmax(total))  # first maximum = lowest host id among ties
    host = int(candidates[best])
    return Decision(request.guest_id, host, rejected_by, f"{len(candidates)}/{n} hosts fit", float(total[best]))
