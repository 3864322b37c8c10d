"""Placement as a filter -> score pipeline over host snapshots, with named policy profiles.

Modelled on the Kubernetes scheduler framework (Filter and Score plugins, a registry, the framework
normalising and weighting scores) and OpenStack Nova's filters and weighers. A policy is a *profile*:
weights over scorers, not a copy of a placement loop.

Filters run in order; a host is rejected by the first filter it fails, and the rejection is recorded
with the numbers (requested / free). Scores of the hosts that pass are min-max normalised per scorer
over those hosts (Nova ``weights.normalize``), weighted and summed; the highest total wins and ties go to
the lowest host id (deterministic). A decision is one compiled pass over the hosts (filters, scores, the
winner and the runner-up), O(hosts) with no Python per host; ``placement.explain`` re-scores one decision
host by host when asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

from cloudsim.model.shard import power

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


class Request:
    """One guest's demand on every host (it differs per host: overhead depends on the hypervisor type
    and product, MIPS per vCPU on the host's cores), and the hosts it may run on at all.

    Given per host (``cpu``, ``mem``, ``compatible`` of length hosts), or per host group with ``group``
    mapping each host to its group: a data centre has a few host groups and many hosts, so a request is
    built in O(groups), not O(hosts). ``overhead`` (same length, 0..1, default 0) is the share of the
    reservation that is virtualization overhead there, what the ``overhead`` scorer minimises."""

    __slots__ = ("group", "group_cpu", "group_mem", "group_ok", "group_overhead", "guest_id", "why_incompatible")

    def __init__(
        self,
        guest_id: int,
        cpu: np.ndarray,
        mem: np.ndarray,
        compatible: np.ndarray,
        why_incompatible: Callable[[int], str] = lambda h: "incompatible",
        group: np.ndarray | None = None,
        overhead: np.ndarray | None = None,
    ) -> None:
        self.guest_id = guest_id
        self.group_cpu = np.ascontiguousarray(cpu, dtype=np.float64)  # MIPS reserved on a host of the group
        self.group_mem = np.ascontiguousarray(mem, dtype=np.float64)  # MiB reserved (overhead included)
        self.group_ok = np.ascontiguousarray(compatible, dtype=np.bool_)
        # share of the reservation that is virtualization overhead, 0..1 (the ``overhead`` scorer; 0: none)
        self.group_overhead = (
            np.zeros(len(self.group_cpu)) if overhead is None else np.ascontiguousarray(overhead, dtype=np.float64)
        )
        self.group = np.arange(len(self.group_cpu), dtype=np.int64) if group is None else group
        self.why_incompatible = why_incompatible

    @property
    def cpu(self) -> np.ndarray:
        """MIPS reserved if placed on host h (overhead included), per host."""
        return self.group_cpu[self.group]

    @property
    def mem(self) -> np.ndarray:
        """MiB reserved if placed on host h (overhead included), per host."""
        return self.group_mem[self.group]

    @property
    def compatible(self) -> np.ndarray:
        return self.group_ok[self.group]


@dataclass
class Decision:
    """The outcome for one guest: a host, or a rejection with the count of hosts each filter rejected
    and a human-readable summary (``"0/8 hosts fit: 6 insufficient cpu (...), 2 incompatible (...)"``).

    A placement also has the winner's total ``score`` and the runner-up: the best other scored candidate
    and its total (None when the winner was the only one). An empty host in the same state as an earlier
    empty host of its group is not scored (it is that host's twin), so it is never the runner-up."""

    guest_id: int
    host: int | None
    rejected_by: dict[str, int]
    detail: str
    score: float | None = None

    binding: str | None = None
    runner_up: int | None = None
    runner_up_score: float | None = None

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


# ------------------------------------------------------------------------------------------- scorers
# Each scorer gives a raw score per candidate host (higher is better); the framework normalises. They run
# compiled, in one pass over the hosts per decision (:func:`_decide`).

#: Scorer name -> what it prefers.
SCORERS: dict[str, str] = {
    "lowest_index": "minus the host id: the first host in order (first fit)",
    "most_allocated": "mean allocated fraction of cpu and memory after placement (best fit; Kubernetes MostAllocated)",
    "least_allocated": "mean free fraction after placement (worst fit; Kubernetes LeastAllocated)",
    "alignment": "dot product of the demand and the free capacity, both as fractions of capacity "
    "(Panigrahy et al. 2011 DotProduct; Grandl et al. 2014 Tetris)",
    "l2_residual": "minus the squared L2 norm of the free fractions after placement (Panigrahy et al. 2011): "
    "the host left with the least, most even slack",
    "balanced": "1 - standard deviation of the cpu and memory fractions after placement (Kubernetes "
    "BalancedAllocation): hosts that fill in proportion",
    "power_increase": "minus the extra watts on the host's power curve, u = CPU reserved / capacity; an empty "
    "host counts at its idle power, so waking one costs what the guest adds (Beloglazov & Buyya 2012)",
    "overhead": "minus the share of the guest's reservation that is virtualization overhead on the host, the "
    "mean of CPU (c of its mode on the host's hypervisor) and memory (per-instance overhead / memory "
    "reserved), from the calibrated profiles (README: Overheads)",
}
_CODES = {name: k for k, name in enumerate(SCORERS)}
_POWER = _CODES["power_increase"]


@njit(cache=True, nogil=True, inline="always")
def _score(code: int, h: int, r_cpu: float, r_mem: float, over: float, cpu_cap: float, mem_cap: float,
           cpu_used: float, mem_used: float, curves: np.ndarray) -> float:  # fmt: skip
    """Host ``h``'s raw score by scorer ``code`` for a request of ``r_cpu`` MIPS and ``r_mem`` MiB (overhead share
    ``over``), from its capacities, what it has booked and (power-aware) its power curve: the numpy formulas'
    operations in their order. (The host's values come as scalars, read by the caller: measured faster than
    passing the arrays.)"""
    if code == 0:
        return -float(h)
    if code == 3:
        d0, d1 = r_cpu / cpu_cap, r_mem / mem_cap
        return d0 * (1 - cpu_used / cpu_cap) + d1 * (1 - mem_used / mem_cap)
    if code == 6:
        now = power(curves[h], cpu_used / cpu_cap)
        return -(power(curves[h], (cpu_used + r_cpu) / cpu_cap) - now)
    if code == 7:
        return -over
    cpu = (cpu_used + r_cpu) / cpu_cap
    mem = (mem_used + r_mem) / mem_cap
    if code == 1:
        return (cpu + mem) / 2
    if code == 2:
        return 1.0 - (cpu + mem) / 2
    if code == 4:
        return -((1.0 - cpu) ** 2 + (1.0 - mem) ** 2)
    mean = (cpu + mem) / 2
    return 1.0 - np.sqrt(((cpu - mean) ** 2 + (mem - mean) ** 2) / 2)


@njit(cache=True, nogil=True)
def _scores(code: int, m: int, cand: np.ndarray, group: np.ndarray, g_cpu: np.ndarray, g_mem: np.ndarray,
            g_over: np.ndarray, cpu_cap: np.ndarray, mem_cap: np.ndarray, cpu_used: np.ndarray,
            mem_used: np.ndarray, curves: np.ndarray, raw: np.ndarray) -> None:  # fmt: skip
    """Raw scores (:func:`_score`) of the first ``m`` candidates into ``raw``."""
    for i in range(m):
        h = cand[i]
        g = group[h]
        raw[i] = _score(code, h, g_cpu[g], g_mem[g], g_over[g], cpu_cap[h], mem_cap[h], cpu_used[h], mem_used[h],
                        curves)  # fmt: skip


@njit(cache=True, nogil=True)
def _spread(raw: np.ndarray, m: int) -> tuple[float, float]:
    """The min-max normalisation of a scorer over the ``m`` scored candidates: (lowest raw score, highest
    minus lowest); the spread is 0 when the scores are all equal to 1e-12 relative (every candidate then
    gets 0), so a normalised score is ``(raw - lo) / spread``."""
    lo, hi = np.inf, -np.inf
    for i in range(m):
        lo = min(lo, raw[i])
        hi = max(hi, raw[i])
    return lo, 0.0 if hi - lo <= 1e-12 * max(1.0, abs(hi)) else hi - lo


@njit(cache=True, nogil=True)
def filter_outcome(ok: bool, cpu_used: float, cpu: float, cpu_cap: float, mem_used: float, mem: float,
                   mem_cap: float) -> int:  # fmt: skip
    """The filters for one host, in order (:data:`FILTERS`): 0 incompatible, 1 insufficient CPU, 2 insufficient
    memory, 3 a candidate. ``cpu``, ``mem``: what the guest reserves there."""
    if not ok:
        return 0
    if not (cpu_used + cpu <= cpu_cap * (1 + _EPS)):
        return 1
    if not (mem_used + mem <= mem_cap * (1 + _EPS)):
        return 2
    return 3


@njit(cache=True, nogil=True)
def _decide(codes: np.ndarray, weights: np.ndarray, group: np.ndarray, g_cpu: np.ndarray, g_mem: np.ndarray,
            g_ok: np.ndarray, g_over: np.ndarray, cpu_cap: np.ndarray, mem_cap: np.ndarray,
            cpu_used: np.ndarray, mem_used: np.ndarray, guests: np.ndarray, curves: np.ndarray,
            cand: np.ndarray, raw: np.ndarray, total: np.ndarray, counts: np.ndarray) -> int:  # fmt: skip
    """The pipeline in one compiled pass: filters in order (``counts[0:3]`` gets how many hosts each
    rejected, ``counts[3]`` the candidates), min-max normalised weighted scores, the first best candidate
    (lowest host id among ties). Returns the host, or -1; ``total[0]`` is then the winner's score. The
    runner-up (the best other scored candidate, lowest id among ties) is ``counts[4]`` (-1: none) with
    score ``total[1]``; ``counts[5]`` is how many candidates were scored, ``cand[:counts[5]]`` (ascending).

    An empty host in the same state as an earlier empty host of its group (capacities, bookings, power
    curve) passes the same filters with the same scores, so it can neither win (the earlier one does, on
    the tie) nor move the normalisation: it is counted and not scored. Not with ``lowest_index``, whose
    score is the host id."""
    n = cpu_cap.shape[0]
    m = 0
    n_ok = n_cpu = n_mem = 0
    by_id = False
    power = False
    for k in range(codes.shape[0]):
        by_id |= codes[k] == 0
        power |= codes[k] == 6
    rep = np.full(g_cpu.shape[0], -1, dtype=np.int64)  # the first empty host of each group
    rep_outcome = np.zeros(g_cpu.shape[0], dtype=np.int64)  # the filter it failed (0..2), or 3: candidate
    for h in range(n):
        g = group[h]
        if guests[h] == 0 and not by_id:
            r = rep[g]
            same = r >= 0 and cpu_used[h] == cpu_used[r] and mem_used[h] == mem_used[r]
            same = same and cpu_cap[h] == cpu_cap[r] and mem_cap[h] == mem_cap[r]
            if same and power:
                for j in range(curves.shape[1]):
                    same = same and curves[h, j] == curves[r, j]
            if same:
                o = rep_outcome[g]
                if o == 0:
                    n_ok += 1
                elif o == 1:
                    n_cpu += 1
                elif o == 2:
                    n_mem += 1
                else:
                    counts[3] += 1  # a candidate, not scored
                continue
            if r < 0:
                rep[g] = h
        outcome = filter_outcome(g_ok[g], cpu_used[h], g_cpu[g], cpu_cap[h], mem_used[h], g_mem[g], mem_cap[h])
        if outcome == 0:
            n_ok += 1
        elif outcome == 1:
            n_cpu += 1
        elif outcome == 2:
            n_mem += 1
        else:
            cand[m] = h
            m += 1
        if rep[g] == h:
            rep_outcome[g] = outcome
    counts[0], counts[1], counts[2] = n_ok, n_cpu, n_mem
    counts[3] += m
    counts[4] = -1
    counts[5] = m
    if m == 0:
        return -1
    for i in range(m):
        total[i] = 0.0
    for k in range(codes.shape[0]):
        _scores(codes[k], m, cand, group, g_cpu, g_mem, g_over, cpu_cap, mem_cap, cpu_used, mem_used, curves, raw)
        lo, span = _spread(raw, m)
        for i in range(m):
            total[i] += weights[k] * (0.0 if span == 0.0 else (raw[i] - lo) / span)
    best = 0
    second = -1
    for i in range(1, m):
        if total[i] > total[best]:
            second = best
            best = i
        elif second < 0 or total[i] > total[second]:
            second = i
    second_score = total[second] if second >= 0 else 0.0
    total[0] = total[best]
    if second >= 0:
        total[1] = second_score
        counts[4] = cand[second]
    return cand[best]


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
        Policy(
            "overhead-aware",
            {"most_allocated": 1.0, "overhead": 2.0},
            "packs like best fit on the hosts where the guest's mode costs least: the calibrated virtualization "
            "overhead weighs twice the packing term",
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


_BUFFERS: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
_NO_CURVES = np.zeros((1, 11))


def _buffers(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if n not in _BUFFERS:
        _BUFFERS.clear()
        _BUFFERS[n] = (np.empty(n, dtype=np.int64), np.empty(n), np.empty(n))
    return _BUFFERS[n]


def decide(policy: Policy, snapshot: Snapshot, request: Request) -> Decision:
    """Run the pipeline for one guest. Never raises for a guest that fits nowhere: that is a
    :class:`Decision` with ``host=None`` and the reasons."""
    s, r = snapshot, request
    n = len(s.cpu_cap)
    codes, weights, curves = _compiled(policy, s)
    cand, raw, total = _buffers(n)
    counts = np.zeros(6, dtype=np.int64)
    host = _decide(codes, weights, r.group, r.group_cpu, r.group_mem, r.group_ok, r.group_overhead, s.cpu_cap,
                   s.mem_cap, s.cpu_used, s.mem_used, s.guests, curves, cand, raw, total, counts)  # fmt: skip
    return decision(s, r, counts[:4].tolist(), int(host), int(counts[4]), total[:2])


def decision(s: Snapshot, r: Request, counts: list[int], host: int, second: int, scores: np.ndarray,
             why: tuple[int, int, int] | None = None) -> Decision:  # fmt: skip
    """The :class:`Decision` of a pipeline's outcome: ``counts`` (rejected as incompatible, for CPU, for memory;
    candidates), ``host`` (-1: none fits) with ``scores[0]``, the runner-up ``second`` (-1: none) with
    ``scores[1]``. A rejection is explained from ``why`` (:func:`_why_not`'s hosts; None: a pass finds them)."""
    n_ok, n_cpu, n_mem, fit = counts
    rejected_by = {name: c for name, c in zip(FILTERS, (n_ok, n_cpu, n_mem)) if c}  # noqa: B905
    if host < 0:
        if why is None:
            why = _why_not(r.group, r.group_cpu, r.group_mem, r.group_ok, s.cpu_cap, s.mem_cap, s.cpu_used,
                           s.mem_used)  # fmt: skip
        return _rejection(s, r, rejected_by, why)
    runner_up, runner_up_score = (second, float(scores[1])) if second >= 0 else (None, None)
    return Decision(r.guest_id, host, rejected_by, f"{fit}/{len(s.cpu_cap)} hosts fit", float(scores[0]),
                    runner_up=runner_up, runner_up_score=runner_up_score)  # fmt: skip


_COMPILED: dict[tuple[object, ...], tuple[np.ndarray, np.ndarray]] = {}  # policy -> scorer codes, weights


def _compiled(policy: Policy, s: Snapshot) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The policy's scorer codes and weights as the kernel takes them, and the power curves to score with."""
    key = (policy.name, *policy.weights.items())
    if key not in _COMPILED:
        codes = np.array([_CODES[k] for k in policy.weights], dtype=np.int64)
        _COMPILED[key] = (codes, np.array(list(policy.weights.values()), dtype=np.float64))
    codes, weights = _COMPILED[key]
    if s.power_curve_w is None and _POWER in codes:
        raise ValueError("power-aware placement needs the hosts' power curves in the snapshot")
    return codes, weights, s.power_curve_w if s.power_curve_w is not None else _NO_CURVES


def _rejection(s: Snapshot, r: Request, rejected_by: dict[str, int], why: tuple[int, int, int]) -> Decision:
    """A guest that fits nowhere: how many hosts each filter rejected, with the numbers. ``why``
    (:func:`_why_not`): the first host it cannot run on, the host with the most CPU free of those short of CPU
    and the one with the most memory free of those short of memory (-1: none)."""
    first, cpu_best, mem_best = why
    parts: list[str] = []
    if first >= 0:
        parts.append(f"{rejected_by['incompatible']} incompatible ({r.why_incompatible(first)})")
    if cpu_best >= 0:
        requested, free = r.group_cpu[r.group[cpu_best]], s.cpu_cap[cpu_best] - s.cpu_used[cpu_best]
        parts.append(f"{rejected_by['insufficient_cpu']} insufficient cpu (requested {requested:.0f} MIPS, "
                     f"most free {free:.0f})")  # fmt: skip
    if mem_best >= 0:
        requested, free = r.group_mem[r.group[mem_best]], s.mem_cap[mem_best] - s.mem_used[mem_best]
        parts.append(f"{rejected_by['insufficient_memory']} insufficient memory (requested {requested:.0f} MiB, "
                     f"most free {free:.0f})")  # fmt: skip
    n, gone, binding = len(s.cpu_cap), 0, None
    for name, count in rejected_by.items():  # the filter that removed the last candidate
        gone += count
        if gone == n:
            binding = name
            break
    return Decision(r.guest_id, None, rejected_by, f"0/{n} hosts fit: " + ", ".join(parts), binding=binding)


@njit(cache=True, nogil=True)
def _why_not(group: np.ndarray, g_cpu: np.ndarray, g_mem: np.ndarray, g_ok: np.ndarray, cpu_cap: np.ndarray,
             mem_cap: np.ndarray, cpu_used: np.ndarray, mem_used: np.ndarray) -> tuple[int, int, int]:  # fmt: skip
    """One pass over the hosts for a guest that fits none: the first host the guest cannot run on, the host with
    the most CPU free of those short of CPU, and the one with the most memory free of those short of memory
    (the first of equals; -1: no such host)."""
    first, cpu_best, mem_best = -1, -1, -1
    cpu_most, mem_most = -np.inf, -np.inf
    for h in range(cpu_cap.shape[0]):
        g = group[h]
        o = filter_outcome(g_ok[g], cpu_used[h], g_cpu[g], cpu_cap[h], mem_used[h], g_mem[g], mem_cap[h])
        if o == 0:
            if first < 0:
                first = h
        elif o == 1:
            free = cpu_cap[h] - cpu_used[h]
            if free > cpu_most:
                cpu_most, cpu_best = free, h
        elif o == 2:
            free = mem_cap[h] - mem_used[h]
            if free > mem_most:
                mem_most, mem_best = free, h
    return first, cpu_best, mem_best
