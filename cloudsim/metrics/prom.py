"""Prometheus metrics (names are a contract, see DESIGN.md and README.md).

One ``CollectorRegistry`` per run with a custom collector that renders the recorder's latest snapshot at
scrape time (the pattern measured cheapest in ``reference/metrics-prometheus-ray.md`` §1a). Every series
carries ``scenario`` and ``run`` labels so one Prometheus holds many runs side by side.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
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


class _MetricsServer(ThreadingMixIn, HTTPServer):
    """An HTTP server for ``/metrics`` only: requests are handled by a bounded pool of threads (a flood of
    scrapers cannot start a thread each), and the listen backlog holds 128 waiting connections."""

    request_queue_size = 128
    daemon_threads = True
    allow_reuse_address = True
    workers = 8

    def __init__(self, address: tuple[str, int], registry: CollectorRegistry) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.registry = registry
        self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="cloudsim-metrics")
        super().__init__(address, _MetricsHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.pool.submit(self.process_request_thread, request, client_address)

    def server_close(self) -> None:
        super().server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A scraper that hangs up before its answer is written (a timeout, a closed tab) is not worth a
        traceback on the run's standard error; any other error still is."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _MetricsHandler(BaseHTTPRequestHandler):
    timeout = 10  # a client that stalls frees its thread

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path != "/metrics":
            self.send_error(404, "only /metrics is served here")
            return
        body = generate_latest(self.server.registry)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE_LATEST)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no line per scrape on stderr


def serve(registry: CollectorRegistry, port: int, bind: str = "127.0.0.1") -> tuple[Any, int]:
    """Serve ``/metrics`` on ``bind:port`` (port 0 picks a free one; an IPv6 address such as ``::1`` binds
    IPv6); other paths answer 404. Returns (server, port); ``server.shutdown()`` stops it."""
    server = _MetricsServer((bind, port), registry)
    threading.Thread(target=server.serve_forever, name="cloudsim-metrics-server", daemon=True).start()
    return server, int(server.server_address[1])


def url(bind: str, port: int) -> str:
    """The endpoint's URL, an IPv6 address in brackets."""
    host = f"[{bind}]" if ":" in bind else bind
    return f"http://{host}:{port}/metrics"


class MetricsEndpoint:
    """A live ``/metrics`` endpoint that the caller opens before a run and closes when done; it serves the
    latest snapshot of the run it is given (:func:`cloudsim.run`'s ``endpoint=``), during the run and after
    it, until :meth:`close`. ``port`` 0 picks a free one. An address already in use is an :class:`OSError`."""

    def __init__(self, port: int = 0, bind: str = "127.0.0.1") -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._shown: Collector | None = None
        self.server, self.port = serve(self.registry, port, bind)
        self.url = url(bind, self.port)

    def show(self, collector: Collector) -> None:
        """Serve ``collector`` (a run's :class:`SimCollector`) instead of the one shown before."""
        if self._shown is not None:
            self.registry.unregister(self._shown)
        self.registry.register(collector)
        self._shown = collector

    def wait(self) -> None:
        """Keep serving until Ctrl-C (KeyboardInterrupt, which ends the wait quietly)."""
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()

    def close(self) -> None:
        """Stop serving; bounded, so an interrupted run always exits (``shutdown`` waits for the serve loop)."""
        if self.server is not None:
            server, self.server = self.server, None
            closer = threading.Thread(target=server.shutdown, daemon=True)
            closer.start()
            closer.join(timeout=5)
            server.server_close()

    def __enter__(self) -> MetricsEndpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
