"""Prometheus metrics (names are a contract, see DESIGN.md and README.md).

One ``CollectorRegistry`` per run with a custom collector that renders the recorder's latest snapshot at
scrape time (the pattern measured cheapest in ``reference/metrics-prometheus-ray.md`` §1a). Every series
carries ``scenario`` and ``run`` labels so one Prometheus holds many runs side by side.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from cloudsim.metrics.recorder import Snapshot

#: Metric name -> help text; every metric the collector emits.
METRICS: dict[str, str] = {
    "cloudsim_consolidation_ratio": "Hosted guests per active host",
    "cloudsim_hosts": "Physical hosts by state (active: has guests; idle: on without guests; off)",
    "cloudsim_guests": "Guests by virtualization mode and state",
    "cloudsim_host_utilization_ratio": "Mean utilization of active hosts by resource (0-1)",
    "cloudsim_virtualization_overhead": (
        "Virtualization overhead by mode and hypervisor type: resource=cpu is host CPU spent on "
        "virtualization / CPU delivered to guests; resource=memory is per-instance overhead / guest memory"
    ),
    "cloudsim_placements": "Placement decisions by policy and outcome",
    "cloudsim_migrations": "Live migrations started",
    "cloudsim_energy_joules": "Energy drawn by all hosts",
    "cloudsim_sla_violation_ratio": (
        "SLA violation by kind (cpu_shortfall: CPU asked but not delivered / asked; consolidation runs: slatah, "
        "pdm, slav, overall as fractions)"
    ),
    "cloudsim_sim_time_seconds": "Simulated clock",
    "cloudsim_sim_speed_ratio": "Simulated seconds per wall-clock second",
    "cloudsim_power_watts": "Power drawn by all hosts now",
    "cloudsim_packing_efficiency": "Lower bound on the hosts the hosted guests need / active hosts (1 is optimal)",
    "cloudsim_hosts_lower_bound": "Hosts any packing of the hosted guests needs at least",
    "cloudsim_host_shutdowns": "Hosts switched off (active -> no CPU allocated), consolidation runs",
    "cloudsim_esv": "Energy (kWh) x SLA violation (SLATAH x PDM), consolidation runs (Beloglazov & Buyya eq. 39)",
}


class ConsolidationCollector(Collector):
    """Renders the live values of a trace-driven consolidation run (``consolidation.run.snapshot``):
    the same names as a placement run where they mean the same, plus shutdowns and ESV.
    ``cloudsim_sla_violation_ratio`` has kinds slatah, pdm, slav and overall (fractions, not percent)."""

    def __init__(self, scenario: str, run: str) -> None:
        self.base = [scenario, run]
        self.values: dict[str, float] = {}

    def update(self, values: dict[str, float]) -> None:
        self.values = values

    def collect(self) -> Iterator[Metric]:
        v, base = self.values, self.base
        if not v:
            return

        def gauge(name: str, value: float, extra: dict[str, str] | None = None) -> GaugeMetricFamily:
            g = GaugeMetricFamily(name, METRICS[name], labels=["scenario", "run", *(extra or {})])
            g.add_metric([*base, *(extra or {}).values()], value)
            return g

        yield gauge("cloudsim_consolidation_ratio", v["consolidation_ratio"])
        hosts = GaugeMetricFamily("cloudsim_hosts", METRICS["cloudsim_hosts"], labels=["scenario", "run", "state"])
        hosts.add_metric([*base, "active"], v["hosts_active"])
        hosts.add_metric([*base, "idle"], 0.0)
        hosts.add_metric([*base, "off"], v["hosts_total"] - v["hosts_active"])
        yield hosts
        yield gauge("cloudsim_host_utilization_ratio", v["cpu_utilization"], {"resource": "cpu"})
        for name, value in (
            ("cloudsim_migrations", v["migrations"]),
            ("cloudsim_energy_joules", v["energy_j"]),
            ("cloudsim_host_shutdowns", v["shutdowns"]),
        ):
            c = CounterMetricFamily(name, METRICS[name], labels=["scenario", "run"])
            c.add_metric(base, value)
            yield c
        sla = GaugeMetricFamily(
            "cloudsim_sla_violation_ratio", METRICS["cloudsim_sla_violation_ratio"], labels=["scenario", "run", "kind"]
        )
        for kind in ("slatah", "pdm", "slav", "overall"):
            sla.add_metric([*base, kind], v[kind])
        yield sla
        yield gauge("cloudsim_esv", v["esv"])
        yield gauge("cloudsim_sim_time_seconds", v["time_s"])
        yield gauge("cloudsim_sim_speed_ratio", v["time_s"] / v["wall_s"] if v["wall_s"] > 0 else 0.0)
        yield gauge("cloudsim_power_watts", v["power_w"])


class SimCollector(Collector):
    """Renders the latest :class:`Snapshot` of a run. ``update`` swaps the snapshot atomically."""

    def __init__(self, scenario: str, run: str, policy: str) -> None:
        self.labels = {"scenario": scenario, "run": run}
        self.policy = policy
        self.snapshot = Snapshot()

    def update(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def _gauge(self, name: str, extra: list[str] | None = None) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, METRICS[name], labels=["scenario", "run", *(extra or [])])

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        base = [self.labels["scenario"], self.labels["run"]]

        def gauge(name: str, value: float) -> GaugeMetricFamily:
            g = self._gauge(name)
            g.add_metric(base, value)
            return g

        yield gauge("cloudsim_consolidation_ratio", s.consolidation_ratio)
        hosts = self._gauge("cloudsim_hosts", ["state"])
        hosts.add_metric([*base, "active"], s.hosts_active)
        hosts.add_metric([*base, "idle"], s.hosts_on - s.hosts_active)
        hosts.add_metric([*base, "off"], s.hosts_total - s.hosts_on)
        yield hosts
        guests = self._gauge("cloudsim_guests", ["mode", "state"])
        for (mode, state), n in sorted(s.guests.items()):
            guests.add_metric([*base, mode, state], n)
        yield guests
        util = self._gauge("cloudsim_host_utilization_ratio", ["resource"])
        util.add_metric([*base, "cpu"], s.cpu_utilization)
        util.add_metric([*base, "memory"], s.memory_utilization)
        yield util
        over = self._gauge("cloudsim_virtualization_overhead", ["mode", "hypervisor_type", "resource"])
        for (mode, htype, resource), v in sorted(s.overhead.items()):
            over.add_metric([*base, mode, htype, resource], v)
        yield over
        placements = CounterMetricFamily(
            "cloudsim_placements",
            METRICS["cloudsim_placements"],
            labels=["scenario", "run", "policy", "outcome"],
        )
        for outcome in ("placed", "rejected"):
            placements.add_metric([*base, self.policy, outcome], s.placements.get(outcome, 0))
        yield placements
        for name, value in (("cloudsim_migrations", s.migrations), ("cloudsim_energy_joules", s.energy_j)):
            c = CounterMetricFamily(name, METRICS[name], labels=["scenario", "run"])
            c.add_metric(base, value)
            yield c
        sla = self._gauge("cloudsim_sla_violation_ratio", ["kind"])
        for kind, v in sorted(s.sla.items()):
            sla.add_metric([*base, kind], v)
        yield sla
        yield gauge("cloudsim_sim_time_seconds", s.time_s)
        yield gauge("cloudsim_sim_speed_ratio", s.time_s / s.wall_s if s.wall_s > 0 else 0.0)
        yield gauge("cloudsim_power_watts", s.power_w)
        yield gauge("cloudsim_packing_efficiency", s.packing_efficiency)
        yield gauge("cloudsim_hosts_lower_bound", s.hosts_lower_bound)


def make_registry(collector: Collector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def serve(registry: CollectorRegistry, port: int, bind: str = "127.0.0.1") -> tuple[Any, int]:
    """Serve ``/metrics`` on ``bind:port`` (port 0 picks a free one). Returns (server, port)."""
    server, _thread = start_http_server(port, addr=bind, registry=registry)
    return server, int(server.server_address[1])
