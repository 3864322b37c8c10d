"""Prometheus metrics: every name of the contract, labelled scenario and run, served over HTTP."""

from __future__ import annotations

import threading
import time
import urllib.request

from prometheus_client.exposition import generate_latest

from cloudsim.engine import LocalBackend, Simulation
from cloudsim.engine.core import PHASES
from cloudsim.metrics.prom import SimCollector, make_registry, serve
from cloudsim.scenario import load_scenario

CONTRACT = [
    "cloudsim_consolidation_ratio",
    "cloudsim_hosts",
    "cloudsim_guests",
    "cloudsim_host_utilization_ratio",
    "cloudsim_virtualization_overhead",
    "cloudsim_placements_total",
    "cloudsim_migrations_total",
    "cloudsim_energy_joules_total",
    "cloudsim_sla_violation_ratio",
    "cloudsim_sim_time_seconds",
    "cloudsim_sim_speed_ratio",
    "cloudsim_packing_efficiency",
    "cloudsim_wall_seconds_total",
]


def _run_with_collector():
    sc, _ = load_scenario("quickstart")
    sim = Simulation(sc, LocalBackend(), run_id="r1")
    collector = SimCollector(sc.name, "r1", sc.placement.policy)
    sim.recorder.subscribe(collector.update)
    summary = sim.run()
    return summary, collector


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def test_every_contract_metric_is_exposed_with_run_labels():
    summary, collector = _run_with_collector()
    text = generate_latest(make_registry(collector)).decode()
    for name in CONTRACT:
        lines = [ln for ln in text.splitlines() if ln.startswith(name + "{")]
        assert lines, name
        assert all('scenario="quickstart"' in ln and 'run="r1"' in ln for ln in lines), name
    s = _samples(text)
    assert (
        s['cloudsim_placements_total{outcome="placed",policy="best-fit",run="r1",scenario="quickstart"}']
        == (summary["guests"]["placed"])
    )
    energy = s['cloudsim_energy_joules_total{run="r1",scenario="quickstart"}']
    assert abs(energy / 3.6e6 - summary["energy_kwh"]) < 1e-5
    assert s['cloudsim_sim_time_seconds{run="r1",scenario="quickstart"}'] == 4 * 3600
    over = [k for k in s if k.startswith("cloudsim_virtualization_overhead{")]
    assert any('mode="full_bt"' in k and 'hypervisor_type="type2"' in k and 'resource="cpu"' in k for k in over)
    assert any('mode="para"' in k and 'hypervisor_type="type1"' in k and 'resource="memory"' in k for k in over)
    # where the wall time went up to the last tick: every phase, within the run's wall time
    wall = {
        k.split('phase="')[1].split('"')[0]: v for k, v in s.items() if k.startswith("cloudsim_wall_seconds_total{")
    }
    assert set(wall) == set(PHASES) and wall["shards"] > 0 and wall["placement"] > 0
    assert sum(wall.values()) <= summary["wall_time_s"] + 0.0005


def test_endpoint_serves_on_loopback():
    _, collector = _run_with_collector()
    server, port = serve(make_registry(collector), 0)
    try:
        assert server.server_address[0] == "127.0.0.1"
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert "cloudsim_consolidation_ratio{" in body


def test_endpoint_answers_404_elsewhere_and_survives_64_concurrent_scrapers():
    import urllib.error
    from concurrent.futures import ThreadPoolExecutor

    from cloudsim.metrics.prom import url

    _, collector = _run_with_collector()
    server, port = serve(make_registry(collector), 0)
    try:
        for path in ("/", "/metrics/../etc/passwd", "/admin"):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5)
                raise AssertionError(f"{path} was served")
            except urllib.error.HTTPError as exc:
                assert exc.code == 404

    finally:
        server.shutdown()
        server.server_close()
    assert url("::1", 9000) == "http://[::1]:9000/metrics"

    class Gate:
        """The collector, held at the gate until released: how many scrapes are being answered at once."""

        def __init__(self) -> None:
            self.open, self.lock, self.inside, self.peak = threading.Event(), threading.Lock(), 0, 0

        def collect(self):
            with self.lock:
                self.inside += 1
                self.peak = max(self.peak, self.inside)
            self.open.wait(30)
            with self.lock:
                self.inside -= 1
            yield from collector.collect()

    gate = Gate()
    server, port = serve(make_registry(gate), 0)  # type: ignore[arg-type]

    def scrape(_: int) -> bool:
        body = urllib.request.urlopen(url("127.0.0.1", port), timeout=60).read()
        return b"cloudsim_consolidation_ratio{" in body

    try:
        with ThreadPoolExecutor(max_workers=64) as pool:
            answers = pool.map(scrape, range(64))
            deadline = time.monotonic() + 10
            while gate.peak < server.workers and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.5)  # a server that started a thread per scraper would have 64 inside by now
            held = gate.peak
            gate.open.set()
            assert all(answers)
    finally:
        gate.open.set()
        server.shutdown()
        server.server_close()
    assert held == server.workers  # a bounded pool answers 8 at a time, not a thread per scraper


def test_a_scraper_that_hangs_up_leaves_no_traceback_but_other_errors_do(capsys):
    from cloudsim.metrics.prom import MetricsEndpoint

    with MetricsEndpoint() as endpoint:
        for exc in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "Connection reset by peer")):
            try:
                raise exc
            except ConnectionError:
                endpoint.server.handle_error(None, ("127.0.0.1", 1))
        assert capsys.readouterr().err == ""
        try:
            raise ValueError("a bug in rendering")
        except ValueError:
            endpoint.server.handle_error(None, ("127.0.0.1", 1))
        assert "ValueError: a bug in rendering" in capsys.readouterr().err


def test_an_endpoint_serves_the_run_it_is_shown_until_closed():
    from cloudsim.metrics.prom import MetricsEndpoint

    _, first = _run_with_collector()
    endpoint = MetricsEndpoint(0)
    try:
        assert endpoint.url == f"http://127.0.0.1:{endpoint.port}/metrics"
        assert urllib.request.urlopen(endpoint.url, timeout=5).read() == b""  # no run shown yet
        endpoint.show(first)
        second = SimCollector("quickstart", "r2", "best-fit")
        second.update(first.snapshot)
        endpoint.show(second)  # replaces the first run
        body = urllib.request.urlopen(endpoint.url, timeout=5).read().decode()
        assert 'run="r2"' in body and 'run="r1"' not in body
    finally:
        endpoint.close()
    try:
        urllib.request.urlopen(endpoint.url, timeout=5)
        raise AssertionError("served after close()")
    except OSError:
        pass


def test_host_detail_counts_every_bucket_and_takes_the_busiest_hosts_first_in_host_order_on_ties():
    """The per-host view of a tick, against its definition: a bucket counts the hosts at or under its edge
    (1e-12 of slack); the busiest hosts come in falling utilization, ties in host order (those at the cut
    included)."""
    import numpy as np

    from cloudsim.metrics.families import TOP_HOSTS, UTIL_BUCKETS, host_detail_values

    rng = np.random.default_rng(4)
    values = [0.0, 0.1, 0.1 + 1e-13, 0.1 + 1e-12, 0.1 + 2e-12, 0.3, 0.5, 0.7, 0.9999999, 1.0, 1.2]
    for trial in range(400):
        n = int(rng.integers(0, 30))
        u = rng.choice(values, n) if trial % 2 else rng.uniform(0, 1.3, n)
        names = [f"h{i}" for i in range(n)]
        buckets, top = host_detail_values(u, np.array(names))
        assert buckets == [sum(x <= le + 1e-12 for x in u) for le in UTIL_BUCKETS] + [n]
        want = sorted(range(n), key=lambda i: -u[i])[:TOP_HOSTS]  # Python's sort is stable
        assert top == [(names[i], round(float(u[i]), 6)) for i in want]
        # the hosts that are on among more (u[i] is host hosts[i]'s), named from every host's names
        hosts = np.sort(rng.choice(2 * n + 1, n, replace=False))
        every = [f"host-{h}" for h in range(2 * n + 1)]
        assert host_detail_values(u, every, hosts) == (
            buckets,
            [(every[hosts[i]], v) for i, (_, v) in zip(want, top, strict=True)],
        )


def test_guest_sums_count_and_sum_the_guests_on_a_host_by_mode_state_and_cell_in_guest_order():
    """The tick's per-guest figures in one pass, bit for bit what bincounts over the guests on a host give."""
    import numpy as np

    from cloudsim.metrics.recorder import _guest_sums

    rng = np.random.default_rng(9)
    for n in (0, 1, 7, 500):
        status, mode, htype = rng.integers(0, 3, n), rng.integers(0, 4, n), rng.integers(0, 2, n)
        over, mib = rng.uniform(0, 300, n) * rng.uniform(0.5, 1.5, n), rng.uniform(256, 65536, n)
        on = status > 0
        by_state, cell_over, cell_mib = _guest_sums(np.flatnonzero(on), status, mode, htype, over, mib, 4, 2)
        assert by_state.tolist() == np.bincount(mode[on] * 2 + status[on] - 1, minlength=8).tolist()
        cell = mode[on] * 2 + htype[on]
        assert np.array_equal(cell_over, np.bincount(cell, weights=over[on], minlength=8))
        assert np.array_equal(cell_mib, np.bincount(cell, weights=mib[on], minlength=8))


def test_mode_sums_are_numpys_row_sums_bit_for_bit():
    """The metrics row's per-mode sums over the hosts (most of them off, all 0) are numpy's sums of the rows."""
    import numpy as np

    from cloudsim.metrics.recorder import _mode_sums

    rng = np.random.default_rng(5)
    hosts, modes, ntypes = 2000, 4, 2
    over, deliv = rng.random((hosts, modes)) * 1e4, rng.random((hosts, modes)) * 1e5
    off = rng.random(hosts) < 0.75
    over[off], deliv[off] = 0.0, 0.0
    over[rng.random((hosts, modes)) < 0.1] = 0.0  # a mode with delivery and no overhead
    per_core = rng.choice([2000.0, 2500.0, 3000.0], hosts)
    htype = rng.integers(0, ntypes, hosts)
    over_cores, deliv_cores, over_t, deliv_t = _mode_sums(over, deliv, per_core, htype, ntypes)
    assert over_cores.tolist() == (over / per_core[:, None]).sum(axis=0).tolist()
    assert deliv_cores.tolist() == (deliv / per_core[:, None]).sum(axis=0).tolist()
    for t in range(ntypes):
        assert over_t[t].tolist() == over[htype == t].sum(axis=0).tolist()
        assert deliv_t[t].tolist() == deliv[htype == t].sum(axis=0).tolist()
