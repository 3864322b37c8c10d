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

from cloudsim.metrics.families import (
    HELP,
    Family,
    run_families,
    without_host_series,
)
from cloudsim.metrics.recorder import Snapshot

#: Metric name -> help text; every metric a run can emit.
METRICS: dict[str, str] = HELP


def render(families: list[Family], scenario: str, run: str) -> Iterator[Metric]:
    """prometheus-client families with the ``scenario`` and ``run`` labels first."""
    for f in families:
        names = sorted({k for labels, _ in f.samples for k in labels}, key=lambda k: list(f.samples[0][0]).index(k))
        cls = CounterMetricFamily if f.kind == "counter" else GaugeMetricFamily
        m = cls(f.name, HELP[f.name], labels=["scenario", "run", *names])
        for labels, value in f.samples:
            m.add_metric([scenario, run, *(labels[k] for k in names)], value)
        yield m


class SimCollector(Collector):
    """Renders the latest :class:`Snapshot` of a run. ``update`` swaps the snapshot atomically."""

    def __init__(self, scenario: str, run: str, policy: str, host_series: bool = True) -> None:
        self.labels = {"scenario": scenario, "run": run}
        self.policy = policy
        self.host_series = host_series
        self.snapshot = Snapshot()

    def update(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        fams = run_families(self.snapshot, self.policy)
        if not self.host_series:
            fams = without_host_series(fams)
        yield from render(fams, self.labels["scenario"], self.labels["run"])


def make_registry(collector: Collector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def serve(registry: CollectorRegistry, port: int, bind: str = "127.0.0.1") -> tuple[Any, int]:
    """Serve ``/metrics`` on ``bind:port`` (port 0 picks a free one). Returns (server, port)."""
    server, _thread = start_http_server(port, addr=bind, registry=registry)
    return server, int(server.server_address[1])
