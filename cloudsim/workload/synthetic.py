"""Guests from a scenario's workload: generated arrivals (Poisson, fixed-rate or batch) over weighted
classes, or an explicit guest list. Deterministic from the scenario seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cloudsim.model import DIST_CONSTANT, DIST_NORMAL, DIST_UNIFORM
from cloudsim.scenario.schema import Dist, GuestShape, Scenario

#: Stream ids for ``SeedSequence(seed, spawn_key=...)`` so that adding a stream never shifts another.
WORKLOAD_STREAM = 1


@dataclass(frozen=True)
class Guest:
    """One guest of the run. ``lifetime_s`` is None for a guest that runs to the end."""

    id: int
    name: str
    kind: str  # class name, or "guest" for explicitly listed guests
    shape: GuestShape
    arrival_s: float
    lifetime_s: float | None
    column: int | None = None  # a trace workload: the guest's column in the trace matrix
    bandwidth_mbps: float = 100.0  # what it books on its host's link while instantiated (cloudsim model)

    @property
    def memory_mib(self) -> float:
        return self.shape.memory_gib * 1024.0


def utilization_params(shape: GuestShape) -> tuple[int, float, float]:
    """(kind, p1, p2) of a guest's utilization distribution, as the host shard draws it."""
    d = shape.cpu_utilization
    if d.distribution == "constant":
        return DIST_CONSTANT, float(d.value or 0.0), 0.0
    if d.distribution == "uniform":
        return DIST_UNIFORM, float(d.low or 0.0), float(d.high or 0.0)
    return DIST_NORMAL, float(d.mean or 0.0), float(d.std or 0.0)


def _draw(d: Dist, rng: np.random.Generator, n: int) -> np.ndarray:
    if d.distribution == "constant":
        return np.full(n, float(d.value or 0.0))
    if d.distribution == "uniform":
        return rng.uniform(d.low, d.high, n)
    if d.distribution == "exponential":
        return rng.exponential(d.mean, n)
    return np.maximum(rng.normal(d.mean, d.std, n), 0.0)


def synthetic_guests(scenario: Scenario) -> list[Guest]:
    """Every guest of generated arrivals or an explicit list that arrives before the end of the run, in
    arrival order (ids in that order)."""
    wl = scenario.workload
    if wl.guests is not None:
        order = sorted(range(len(wl.guests)), key=lambda i: (wl.guests[i].arrival, i))
        return [
            Guest(
                k,
                wl.guests[i].name or f"guest-{i}",
                "guest",
                wl.guests[i],
                wl.guests[i].arrival,
                wl.guests[i].lifetime,
            )
            for k, i in enumerate(order)
            if wl.guests[i].arrival < scenario.duration
        ]
    assert wl.arrivals is not None and wl.classes is not None
    rng = np.random.default_rng(np.random.SeedSequence(scenario.seed, spawn_key=(WORKLOAD_STREAM,)))
    a, horizon = wl.arrivals, scenario.duration
    if a.process == "batch":
        times = np.full(a.count or 0, a.at) if a.at < horizon else np.zeros(0)
    else:
        rate_s = (a.rate_per_hour or 0.0) / 3600.0
        expected = int(rate_s * horizon * 1.5 + 20)
        gaps = rng.exponential(1.0 / rate_s, expected) if a.process == "poisson" else np.full(expected, 1 / rate_s)
        times = a.at + np.cumsum(gaps) - (gaps[0] if a.process == "fixed" else 0.0)
        while times[-1] < horizon:  # rare: extend the same stream
            more = rng.exponential(1.0 / rate_s, expected) if a.process == "poisson" else gaps
            times = np.concatenate([times, times[-1] + np.cumsum(more)])
        times = times[times < horizon]
        if a.initial and a.at < horizon:
            times = np.concatenate([np.full(a.initial, a.at), times])
    n = len(times)
    weights = np.array([c.weight for c in wl.classes], dtype=float)
    kinds = rng.choice(len(wl.classes), size=n, p=weights / weights.sum())
    lifetimes = _draw(wl.lifetime, rng, n) if wl.lifetime is not None else np.full(n, np.nan)
    out = []
    for i in range(n):
        cls = wl.classes[int(kinds[i])]
        life = None if np.isnan(lifetimes[i]) else float(max(lifetimes[i], 1e-3))
        out.append(Guest(i, f"{cls.name}-{i}", cls.name, cls, float(times[i]), life))
    return out
