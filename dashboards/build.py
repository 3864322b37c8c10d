"""Generate dashboards/cloudsim.json, the Grafana dashboard of cloudsim runs (plain Python, no SDK).

    python dashboards/build.py            # rewrite cloudsim.json
    python dashboards/build.py --check    # exit 1 if cloudsim.json is not what this script generates

Every panel query selects ``scenario=~"$scenario", run=~"$run"``: both variables are multi-select, so runs
can be compared side by side. Counters are shown as running totals (not rates), so the same panels work
for a live scrape and for a backfilled run sampled once per simulated tick. The datasource uid is the one
provisioned in deploy/grafana (``cloudsim-prom``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DATASOURCE = {"type": "prometheus", "uid": "cloudsim-prom"}
SEL = 'scenario=~"$scenario", run=~"$run"'
OUT = Path(__file__).with_name("cloudsim.json")


def sel(extra: str = "") -> str:
    return "{" + SEL + (", " + extra if extra else "") + "}"


#: (row title, [(panel title, type, unit, [(expr, legend)], description)])
ROWS: list[tuple[str, list[tuple[str, str, str, list[tuple[str, str]], str]]]] = [
    (
        "Packing and consolidation",
        [
            ("Consolidation ratio", "timeseries", "none",
             [("cloudsim_consolidation_ratio" + sel(), "{{run}}")], "Hosted guests per active host"),
            ("Active hosts vs the packing lower bound", "timeseries", "none",
             [("cloudsim_hosts" + sel('state="active"'), "{{run}} active"),
              ("cloudsim_hosts_lower_bound" + sel(), "{{run}} lower bound")],
             "Hosts with guests, and the fewest hosts any packing of those guests needs"),
            ("Packing efficiency", "timeseries", "percentunit",
             [("cloudsim_packing_efficiency" + sel(), "{{run}}")], "Lower bound / active hosts (1 is optimal)"),
            ("Hosts by state", "timeseries", "none",
             [("cloudsim_hosts" + sel(), "{{run}} {{state}}")], "Active, idle (on, no guests) and off"),
        ],
    ),
    (
        "Utilization",
        [
            ("CPU and memory utilization of active hosts", "timeseries", "percentunit",
             [("cloudsim_host_utilization_ratio" + sel(), "{{run}} {{resource}}")], "Mean over active hosts"),
            ("Hosts by CPU utilization (across hosts)", "timeseries", "none",
             [("cloudsim_hosts_by_cpu_utilization" + sel(), "{{run}} <= {{le}}")],
             "Cumulative count of hosts that are on, by CPU utilization bucket"),
            ("Busiest hosts", "timeseries", "percentunit",
             [("cloudsim_top_host_cpu_utilization" + sel(), "{{run}} {{host}}")], "CPU utilization of the top 5"),
        ],
    ),
    (
        "Virtualization",
        [
            ("CPU overhead by mode and hypervisor type", "timeseries", "percentunit",
             [("cloudsim_virtualization_overhead" + sel('resource="cpu"'), "{{run}} {{mode}} on {{hypervisor_type}}")],
             "Host CPU spent on virtualization / CPU delivered to the guests"),
            ("Memory overhead by mode and hypervisor type", "timeseries", "percentunit",
             [("cloudsim_virtualization_overhead" + sel('resource="memory"'),
               "{{run}} {{mode}} on {{hypervisor_type}}")],
             "Per-instance memory overhead / guest memory"),
            ("Guests by mode and state", "timeseries", "none",
             [("cloudsim_guests" + sel(), "{{run}} {{mode}} {{state}}")], "Booting and running guests"),
        ],
    ),
    (
        "Placement",
        [
            ("Placements by outcome", "timeseries", "none",
             [("cloudsim_placements_total" + sel(), "{{run}} {{outcome}} ({{policy}})")], "Running totals"),
            ("Rejections by reason", "timeseries", "none",
             [("cloudsim_rejections_total" + sel(), "{{run}} {{reason}}")], "Running totals, by binding filter"),
            ("Migrations", "timeseries", "none",
             [("cloudsim_migrations_total" + sel(), "{{run}}")], "Live migrations started (running total)"),
        ],
    ),
    (
        "Energy and SLA",
        [
            ("Energy", "timeseries", "kwatth",
             [("cloudsim_energy_joules_total" + sel() + " / 3.6e6", "{{run}}")], "Energy drawn by all hosts, kWh"),
            ("Power", "timeseries", "watt", [("cloudsim_power_watts" + sel(), "{{run}}")], "All hosts"),
            ("SLA violation", "timeseries", "percentunit",
             [("cloudsim_sla_violation_ratio" + sel(), "{{run}} {{kind}}")],
             "cpu_shortfall (placement runs); slatah, pdm, slav, overall (consolidation runs)"),
            ("ESV (consolidation runs)", "timeseries", "none",
             [("cloudsim_esv" + sel(), "{{run}}")], "Energy (kWh) x SLATAH x PDM"),
            ("Host shutdowns (consolidation runs)", "timeseries", "none",
             [("cloudsim_host_shutdowns_total" + sel(), "{{run}}")], "Hosts switched off (running total)"),
        ],
    ),
    (
        "Failures (runs with faults)",
        [
            ("Host failures and guest restarts", "timeseries", "none",
             [("cloudsim_host_failures_total" + sel(), "{{run}} host failures"),
              ("cloudsim_guest_restarts_total" + sel(), "{{run}} restarts")], "Running totals"),
            ("Guest availability by mode", "timeseries", "percentunit",
             [("cloudsim_guest_availability_ratio" + sel(), "{{run}} {{mode}}")],
             "1 - time down after host failures / guest time"),
        ],
    ),
    (
        "Simulation",
        [
            ("Simulation speed", "timeseries", "none",
             [("cloudsim_sim_speed_ratio" + sel(), "{{run}}")], "Simulated seconds per wall-clock second"),
            ("Simulated time", "stat", "s", [("cloudsim_sim_time_seconds" + sel(), "{{run}}")],
             "The run's simulated clock"),
        ],
    ),
]  # fmt: skip


def variable(name: str, query: str) -> dict:
    return {
        "name": name,
        "label": name,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": query, "refId": f"{name}-var"},
        "definition": query,
        "refresh": 2,
        "multi": True,
        "includeAll": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
    }


def build() -> dict:
    panels: list[dict] = []
    y = 0
    pid = 1
    for row_title, row_panels in ROWS:
        panels.append({"type": "row", "title": row_title, "id": pid, "collapsed": False,
                       "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []})  # fmt: skip
        pid += 1
        y += 1
        width = 24 // min(len(row_panels), 3) if row_panels else 24
        for i, (title, ptype, unit, targets, desc) in enumerate(row_panels):
            x = (i % 3) * width
            if i and i % 3 == 0:
                y += 8
            panel = {
                "type": ptype,
                "title": title,
                "description": desc,
                "id": pid,
                "datasource": DATASOURCE,
                "gridPos": {"x": x, "y": y, "w": width, "h": 8},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}},
                "targets": [
                    {"refId": chr(ord("A") + k), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}
                    for k, (expr, legend) in enumerate(targets)
                ],
            }
            if ptype == "stat":
                panel["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
            panels.append(panel)
            pid += 1
        y += 8
    return {
        "title": "cloudsim",
        "uid": "cloudsim-overview",
        "description": "cloudsim runs: live scrapes or backfilled whole runs (README: Metrics you can look at)",
        "tags": ["cloudsim", "simulation"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "time": {"from": "now-2d", "to": "now"},
        "refresh": "",
        "templating": {
            "list": [
                variable("scenario", "label_values(cloudsim_sim_time_seconds, scenario)"),
                variable("run", 'label_values(cloudsim_sim_time_seconds{scenario=~"$scenario"}, run)'),
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUT.is_file() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date; run python dashboards/build.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
