"""The metric families of a run at one instant, as plain data: the live endpoint renders them with
prometheus-client, the backfill writes them as OpenMetrics text with timestamps. One definition, so a
live scrape and a backfilled run have the same names, labels and meanings.

Every sample carries the ``scenario`` and ``run`` labels (added by the renderers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Metric name -> help text: every metric a run can emit (names are a contract, see README.md).
HELP: dict[str, str] = {
    "cloudsim_consolidation_ratio": "Hosted guests per active host",
    "cloudsim_hosts": "Physical hosts by state (active: has guests; idle: on without guests; off)",
    "cloudsim_guests": "Guests by virtualization mode and state",
    "cloudsim_host_utilization_ratio": "Mean utilization of active hosts by resource (0-1)",
    "cloudsim_virtualization_overhead": (
        "Virtualization overhead by mode and hypervisor type: resource=cpu is host CPU spent on "
        "virtualization / CPU delivered to guests; resource=memory is per-instance overhead / guest memory"
    ),
    "cloudsim_placements": "Placement decisions by policy and outcome",
    "cloudsim_rejections": "Rejected placements by binding reason",
    "cloudsim_migrations": "Live migrations started",
    "cloudsim_energy_joules": "Energy drawn by all hosts",
    "cloudsim_sla_violation_ratio": (
        "SLA violation by kind (cpu_shortfall: CPU asked but not delivered / asked; consolidation runs: slatah, "
        "pdm, slav, overall as fractions)"
    ),
    "cloudsim_cpu_shortfall_ratio": (
        "CPU asked but not delivered during the last tick / CPU asked during it (host contention and migrations)"
    ),
    "cloudsim_sim_time_seconds": "Simulated clock",
    "cloudsim_sim_speed_ratio": "Simulated seconds per wall-clock second",
    "cloudsim_wall_seconds": (
        "Wall-clock seconds the run has spent by phase of the controller's loop (start, shards, consolidation, "
        "placement, events, metrics, checkpoints): where its time goes"
    ),
    "cloudsim_power_watts": "Power drawn by all hosts now",
    "cloudsim_packing_efficiency": "Lower bound on the hosts the hosted guests need / active hosts (1 is optimal)",
    "cloudsim_hosts_lower_bound": "Hosts any packing of the hosted guests needs at least",
    "cloudsim_host_shutdowns": "Hosts switched off (active -> no CPU allocated), consolidation runs",
    "cloudsim_esv": "Energy (kWh) x SLA violation (SLATAH x PDM), consolidation runs (Beloglazov & Buyya eq. 39)",
    "cloudsim_host_failures": "Host failures (runs with faults)",
    "cloudsim_guest_restarts": "Guests restarted after a host failure (runs with faults)",
    "cloudsim_guest_availability_ratio": (
        "Share of guest time running, by mode (1 - time down after host failures / guest time; runs with faults)"
    ),
    "cloudsim_hosts_by_cpu_utilization": (
        "Hosts that are on with CPU utilization <= le (cumulative, a histogram across hosts: one series per bucket "
        "whatever the number of hosts)"
    ),
    "cloudsim_top_host_cpu_utilization": "CPU utilization of the busiest hosts at this instant (top 5; bounded)",
}

#: The families that are counters (exposed with a ``_total`` suffix); every other one is a gauge.
COUNTERS = frozenset({
    "cloudsim_placements", "cloudsim_rejections", "cloudsim_migrations", "cloudsim_energy_joules",
    "cloudsim_host_shutdowns", "cloudsim_host_failures", "cloudsim_guest_restarts", "cloudsim_wall_seconds",
})  # fmt: skip

#: Upper bounds of the across-hosts utilization histogram.
UTIL_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
TOP_HOSTS = 5
#: The bounded per-host view (``--no-host-series`` leaves it out).
HOST_FAMILIES = frozenset({"cloudsim_hosts_by_cpu_utilization", "cloudsim_top_host_cpu_utilization"})


@dataclass
class Family:
    name: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """``counter`` (the names in :data:`COUNTERS`) or ``gauge``."""
        return "counter" if self.name in COUNTERS else "gauge"

    def add(self, value: float, **labels: str) -> Family:
        self.samples.append((labels, float(value)))
        return self


def _gauge(name: str, value: float, **labels: str) -> Family:
    return Family(name).add(value, **labels)


def without_host_series(families: list[Family]) -> list[Family]:
    return [f for f in families if f.name not in HOST_FAMILIES]


def host_detail_values(util: Any, names: Any, hosts: Any = None) -> tuple[list[int], list[tuple[str, float]]]:
    """The bounded per-host view of one instant: cumulative counts of the hosts that are on by CPU
    utilization (``UTIL_BUCKETS`` and +Inf) and the ``TOP_HOSTS`` busiest hosts as (name, utilization).
    ``util[i]`` is host ``hosts[i]``'s (default: host ``i``'s); ``names`` are every host's, and only the busiest
    are looked up."""
    import numpy as np

    u = np.asarray(util, dtype=float)
    # a bucket counts the hosts at or under its edge (a comparison a bucket: fewer than a search a host)
    buckets = [int(np.count_nonzero(u <= le + 1e-12)) for le in UTIL_BUCKETS] + [len(u)]
    # the busiest, in falling utilization, ties in host order: those above the TOP_HOSTS-th utilization, then the
    # first of those at it (a stable sort of every host would order them so)
    cand = np.arange(len(u))
    if len(u) > TOP_HOSTS:
        cut = np.partition(u, len(u) - TOP_HOSTS)[len(u) - TOP_HOSTS]
        above = np.flatnonzero(u > cut)
        cand = np.concatenate([above, np.flatnonzero(u == cut)[: TOP_HOSTS - len(above)]])
    busiest = cand[np.argsort(-u[cand], kind="stable")][:TOP_HOSTS].tolist()
    at = busiest if hosts is None else np.asarray(hosts)[busiest].tolist()
    return buckets, [(str(names[h]), round(float(u[i]), 6)) for i, h in zip(busiest, at, strict=True)]


def host_detail(buckets: list[int], top: list[tuple[str, float]]) -> list[Family]:
    hist = Family("cloudsim_hosts_by_cpu_utilization")
    for le, n in zip([*(f"{b:g}" for b in UTIL_BUCKETS), "+Inf"], buckets, strict=True):
        hist.add(n, le=le)
    top_f = Family("cloudsim_top_host_cpu_utilization")
    for name, u in top:
        top_f.add(u, host=name)
    return [hist, top_f]


def run_families(s: Any, policy: str) -> list[Family]:
    """The families of a run from a recorder :class:`~cloudsim.metrics.recorder.Snapshot` (consolidation
    runs add host shutdowns, ESV and the SLATAH/PDM/SLAV kinds of SLA violation)."""
    hosts = Family("cloudsim_hosts")
    hosts.add(s.hosts_active, state="active").add(s.hosts_on - s.hosts_active, state="idle")
    hosts.add(s.hosts_total - s.hosts_on, state="off")
    guests = Family("cloudsim_guests")
    for (mode, state), n in sorted(s.guests.items()):
        guests.add(n, mode=mode, state=state)
    util = Family("cloudsim_host_utilization_ratio")
    util.add(s.cpu_utilization, resource="cpu").add(s.memory_utilization, resource="memory")
    over = Family("cloudsim_virtualization_overhead")
    for (mode, htype, resource), v in sorted(s.overhead.items()):
        over.add(v, mode=mode, hypervisor_type=htype, resource=resource)
    placements = Family("cloudsim_placements")
    for outcome in ("placed", "rejected"):
        placements.add(s.placements.get(outcome, 0), policy=policy, outcome=outcome)
    rejections = Family("cloudsim_rejections")
    for reason in ("incompatible", "insufficient_cpu", "insufficient_memory"):
        rejections.add(s.rejections.get(reason, 0), reason=reason)
    sla = Family("cloudsim_sla_violation_ratio")
    for kind, v in sorted(s.sla.items()):
        sla.add(v, kind=kind)
    out = [
        _gauge("cloudsim_consolidation_ratio", s.consolidation_ratio),
        hosts,
        guests,
        util,
        over,
        placements,
        rejections,
        Family("cloudsim_migrations").add(s.migrations),
        Family("cloudsim_energy_joules").add(s.energy_j),
        sla,
        _gauge("cloudsim_sim_time_seconds", s.time_s),
        _gauge("cloudsim_sim_speed_ratio", s.time_s / s.wall_s if s.wall_s > 0 else 0.0),
        _gauge("cloudsim_power_watts", s.power_w),
        _gauge("cloudsim_packing_efficiency", s.packing_efficiency),
        _gauge("cloudsim_hosts_lower_bound", s.hosts_lower_bound),
    ]
    if s.cpu_shortfall_tick is not None:  # None in the metrics.jsonl of runs older than the figure
        out.append(_gauge("cloudsim_cpu_shortfall_ratio", s.cpu_shortfall_tick))
    if s.esv is not None:
        out += [Family("cloudsim_host_shutdowns").add(s.shutdowns), _gauge("cloudsim_esv", s.esv)]
    if s.availability is not None:
        avail = Family("cloudsim_guest_availability_ratio")
        for mode, v in sorted(s.availability.items()):
            avail.add(v, mode=mode)
        out += [
            Family("cloudsim_host_failures").add(s.host_failures),
            Family("cloudsim_guest_restarts").add(s.restarts),
            avail,
        ]
    if s.wall_by_phase:  # (none in the metrics.jsonl of runs older than the figure)
        wall = Family("cloudsim_wall_seconds")
        for phase, v in s.wall_by_phase.items():
            wall.add(v, phase=phase)
        out.append(wall)
    if s.host_buckets:
        out += host_detail(s.host_buckets, s.top_hosts)
    return out
