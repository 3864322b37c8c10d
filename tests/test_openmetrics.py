"""The OpenMetrics backfill writer and the anchor, without Prometheus (test_prometheus.py loads the files)."""

from __future__ import annotations

import pytest

from cloudsim.cli import main
from cloudsim.metrics.families import HOST_FAMILIES, Family
from cloudsim.metrics.openmetrics import AnchorError, parse_anchor, write

NOW = 1_800_000_000.0  # a fixed "now" (2027-01-15T08:00:00Z)


def test_families_once_series_in_time_order_seconds_and_eof(tmp_path):
    frames = [
        (300.0 * k, [Family("cloudsim_migrations").add(k),
                     Family("cloudsim_hosts").add(k, state="active").add(10 - k, state="off")])
        for k in range(1, 4)
    ]  # fmt: skip
    w = write(tmp_path / "x.om", frames, "sc", 'r"1', 1_000_000_000.0)
    lines = (tmp_path / "x.om").read_text().splitlines()
    assert lines[-1] == "# EOF"
    assert [ln for ln in lines if ln.startswith("# TYPE")] == [
        "# TYPE cloudsim_migrations counter",
        "# TYPE cloudsim_hosts gauge",
    ]
    samples = [ln for ln in lines if not ln.startswith("#")]
    assert samples[0] == 'cloudsim_migrations_total{scenario="sc",run="r\\"1"} 1 1000000300.000'
    # each series contiguous and time-ordered: active 1, 2, 3 then off 9, 8, 7
    hosts = [ln.rsplit(" ", 2) for ln in samples if ln.startswith("cloudsim_hosts")]
    assert [h[1] for h in hosts] == ["1", "2", "3", "9", "8", "7"]
    assert [float(h[2]) for h in hosts[:3]] == sorted(float(h[2]) for h in hosts[:3])
    assert (w.series, w.samples) == (3, 9)


def test_anchor_rules():
    start = parse_anchor(None, 86400.0, now=NOW)
    assert start % 3600 == 0 and start + 86400 <= NOW - 3 * 3600 < start + 86400 + 3600
    assert parse_anchor("now-6h", 3600.0, now=NOW) == NOW - 6 * 3600 - 3600
    assert parse_anchor("2026-01-01T00:00:00Z", 3600.0, now=NOW) == 1767225600.0
    assert parse_anchor("2026-01-01T01:00:00+01:00", 3600.0, now=NOW) == 1767225600.0
    for bad, msg in (("yesterday", "not auto"), ("now-xx", "malformed"), ("now-1h", "less than 3 h")):
        with pytest.raises(AnchorError, match=msg):
            parse_anchor(bad, 3600.0, now=NOW)


def test_cli_openmetrics_options(tmp_path, capsys):
    om = tmp_path / "q.om"
    args = ["run", "quickstart", "--backend", "local", "--no-progress", "--openmetrics", str(om), "--no-host-series"]
    assert main(args) == 0
    text = om.read_text()
    assert text.endswith("# EOF\n") and not any(name in text for name in HOST_FAMILIES)
    assert main(["run", "quickstart", "--backend", "local", "--anchor", "auto"]) == 2
    assert "--anchor: places the --openmetrics output in time" in capsys.readouterr().err
    assert main(["run", "quickstart", "--backend", "local", "--openmetrics", str(om), "--anchor", "now-1m"]) == 2
    assert "--anchor: the run would end less than 3 h before now" in capsys.readouterr().err
    assert main(["run", "quickstart", "--backend", "local", "--hold"]) == 2
    assert "--hold: keeps the metrics endpoint up, so it needs --metrics-port" in capsys.readouterr().err
    assert main(["run", "quickstart", "--backend", "local", "--realtime-factor", "0"]) == 2
    assert "--realtime-factor: must be a positive number" in capsys.readouterr().err
    assert main(["export", "openmetrics", str(tmp_path / "nothing")]) == 2
    assert "RUN_DIR: no summary.json" in capsys.readouterr().err
