"""With a real Prometheus (Debian's ``prometheus`` package; .ci/run installs it): the live endpoint during a
run, and whole runs backfilled with promtool, queried through the HTTP API with every panel of the
dashboard. Servers are started on free loopback ports, polled for readiness, and stopped by pid."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from cloudsim.metrics.families import HELP
from tests.helpers import side_by_side
from tests.test_consolidation import scenario_file, tiny_day

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None or shutil.which("promtool") is None,
    reason="Prometheus not found (Debian: apt-get install prometheus; .ci/run installs it)",
)
CLI = [sys.executable, "-c", "import sys; from cloudsim.cli import main; sys.exit(main(sys.argv[1:]))"]
#: metrics only trace-driven consolidation runs emit
CONSOLIDATION_ONLY = {"cloudsim_host_shutdowns", "cloudsim_esv"} | {
    "cloudsim_host_failures", "cloudsim_guest_restarts", "cloudsim_guest_availability_ratio"  # runs with faults
}  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 2.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def poll(fn, timeout: float = 60.0, what: str = "condition"):
    end = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < end:
        try:
            v = fn()
            if v:
                return v
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: {last}")


def scrape_names(text: str) -> tuple[set[str], list[str]]:
    names, lines = set(), []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            lines.append(line)
            name = line.split("{")[0].split(" ")[0]
            names.add(name.removesuffix("_total").removesuffix("_created"))
    return names, lines


def test_live_endpoint_serves_every_metric_during_a_run_and_holds():
    port = free_port()
    env = dict(os.environ, RAY_AUTH_MODE="disabled")
    proc = subprocess.Popen(
        [*CLI, "run", "quickstart", "--backend", "local", "--metrics-port", str(port), "--realtime-factor", "3000",
         "--hold", "--no-progress", "--run-id", "live1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/metrics"

        def mid_run() -> str | None:
            # after the first tick (before it, families such as guests by mode have no samples yet)
            text = get(url).decode()
            t = [ln for ln in text.splitlines() if ln.startswith("cloudsim_sim_time_seconds{")]
            return text if t and float(t[0].split()[-1]) > 0 else None

        text = poll(mid_run, what="the live endpoint")
        names, lines = scrape_names(text)
        assert set(HELP) - CONSOLIDATION_ONLY <= names, set(HELP) - CONSOLIDATION_ONLY - names
        assert all('scenario="quickstart"' in ln and 'run="live1"' in ln for ln in lines)
        sim_t = next(float(ln.split()[-1]) for ln in lines if ln.startswith("cloudsim_sim_time_seconds"))
        assert sim_t < 4 * 3600, "paced: the scrape came before the end of the run"

        def finished() -> bool:
            t = [ln for ln in get(url).decode().splitlines() if ln.startswith("cloudsim_sim_time_seconds")]
            return bool(t) and float(t[0].split()[-1]) == 4 * 3600

        poll(finished, what="the end of the run")
        err_lines: list[str] = []
        reader = threading.Thread(target=lambda: err_lines.extend(iter(proc.stderr.readline, "")), daemon=True)
        reader.start()
        poll(lambda: any("holding the metrics endpoint" in ln for ln in err_lines), what="the hold message")
        assert proc.poll() is None, "--hold keeps the process and its endpoint up"
        assert finished(), "the endpoint still answers after the run"
    finally:
        # SIGTERM, as a scheduler would (the CLI treats it like Ctrl-C). SIGINT would do, but a background CI
        # job starts its children with SIGINT ignored, and Python then never sees it.
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    assert proc.returncode == 0
    assert "guests submitted" in out


def backfill(om: Path, data: Path) -> None:
    r = subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=744h", str(om), str(data)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr


def om_span(om: Path) -> tuple[float, float]:
    ts = [float(line.rsplit(" ", 1)[1]) for line in om.read_text().splitlines() if line and not line.startswith("#")]
    return min(ts), max(ts)


@pytest.fixture
def prometheus(tmp_path):
    procs: list[subprocess.Popen] = []

    def start(data: Path) -> str:
        port = free_port()
        cfg = tmp_path / "prometheus.yml"
        cfg.write_text(yaml.safe_dump({"global": {"scrape_interval": "15s"}, "scrape_configs": []}))
        proc = subprocess.Popen(
            ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={data}",
             "--storage.tsdb.retention.time=3650d", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        poll(lambda: get(f"{base}/-/ready"), what="Prometheus /-/ready")
        return base

    yield start
    for p in procs:
        p.terminate()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def query_range(base: str, expr: str, start: float, end: float) -> list:
    step = max(60.0, (end - start) / 500)
    q = urllib.parse.urlencode({"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:.0f}"})
    body = json.loads(get(f"{base}/api/v1/query_range?{q}", timeout=10))
    assert body["status"] == "success", body
    return body["data"]["result"]


def test_backfilled_runs_answer_every_dashboard_panel(tmp_path, prometheus):
    env = dict(os.environ, RAY_AUTH_MODE="disabled")
    qs, cons, ha = tmp_path / "qs.om", tmp_path / "cons.om", tmp_path / "ha.om"
    sc = scenario_file(tmp_path, tiny_day(tmp_path))
    runs = [  # side by side: quickstart, a consolidation on Ray, and a run with host failures (failure panels)
        [*CLI, "run", "quickstart", "--backend", "local", "--no-progress", "--run-id", "qs1", "--openmetrics", str(qs)],
        [*CLI, "run", str(sc), "--no-progress", "--run-id", "cons1", "--openmetrics", str(cons), "--anchor", "now-6h"],
        [*CLI, "run", "ha-demo", "--backend", "local", "--no-progress", "--run-id", "ha1", "--set", "duration=12h",
         "--openmetrics", str(ha), "--anchor", "now-9h"],
    ]  # fmt: skip
    for r in side_by_side(runs, envs=[env] * len(runs)):
        assert r.returncode == 0, r.stderr
    text = qs.read_text()
    assert text.endswith("# EOF\n") and 'run="qs1"' in text
    data = tmp_path / "data"
    backfill(qs, data)
    backfill(cons, data)
    backfill(ha, data)
    base = prometheus(data)
    spans = [om_span(qs), om_span(cons), om_span(ha)]
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    dash = json.loads((ROOT / "dashboards" / "cloudsim.json").read_text())
    empty = []
    for p in dash["panels"]:
        for t in p.get("targets", []):
            expr = t["expr"].replace("$scenario", ".*").replace("$run", ".*")
            if not query_range(base, expr, start, end):
                empty.append(f"{p['title']}: {expr}")
    assert not empty, empty
    # both runs are there, side by side, with their own labels and simulated timestamps
    runs = query_range(base, "cloudsim_sim_time_seconds", start, end)
    assert {s["metric"]["run"] for s in runs} == {"qs1", "cons1", "ha1"}
    qs_end = spans[0][1]
    assert qs_end <= time.time() - 3 * 3600  # anchored clear of Prometheus's head block
    q = urllib.parse.urlencode({"query": 'cloudsim_sim_time_seconds{run="qs1"}', "time": f"{qs_end:.3f}"})
    at_end = json.loads(get(f"{base}/api/v1/query?{q}"))["data"]["result"]
    assert float(at_end[0]["value"][1]) == 4 * 3600  # the last simulated instant at its mapped wall time


def test_export_from_a_run_dir_equals_the_run_flag(tmp_path):
    env = dict(os.environ, RAY_AUTH_MODE="disabled")
    om = tmp_path / "a.om"
    r = subprocess.run([*CLI, "run", "quickstart", "--backend", "local", "--no-progress", "--run-id", "x",
                        "--out", str(tmp_path / "run"), "--openmetrics", str(om), "--anchor", "2026-01-01T00:00:00Z"],
                       capture_output=True, text=True, env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = subprocess.run([*CLI, "export", "openmetrics", str(tmp_path / "run"), "--anchor", "2026-01-01T00:00:00Z"],
                       capture_output=True, text=True, env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "run" / "metrics.om").read_text() == om.read_text()
    first = om.read_text().splitlines()[2]
    assert first.endswith(f" {1767225600 + 300}.000")  # 2026-01-01T00:00:00Z + the first tick (300 s)


def test_an_endpoint_that_cannot_listen_is_one_line_naming_the_option(capsys):
    from cloudsim.cli import main

    base = ["run", "quickstart", "--backend", "local", "--no-progress"]
    for bind in ("999.1.1.1", "10.255.255.1"):  # no address at all (the resolver's words vary); not this machine's
        assert main([*base, "--metrics-port", "0", "--metrics-bind", bind]) == 2
        err = capsys.readouterr().err
        assert (
            err.startswith(f"error: --metrics-bind: {bind!r} is not an address of this machine (")
            and err.count("\n") == 1
        ), err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main([*base, "--metrics-port", str(port)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: --metrics-port: cannot listen on 127.0.0.1:{port}: ") and err.count("\n") == 1
