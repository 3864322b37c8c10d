"""Generate dashboards/cloudsim.json, the Grafana dashboard of cloudsim runs (plain Python, no SDK), from the
panel definitions in ``cloudsim/metrics/panels.py`` (which ``cloudsim report`` draws too).

    python dashboards/build.py            # rewrite cloudsim.json
    python dashboards/build.py --check    # exit 1 if cloudsim.json is not what this script generates

Every panel query selects ``scenario=~"$scenario", run=~"$run"``: both variables are multi-select, so runs
can be compared side by side. Counters are shown as running totals (not rates), so the same panels work
for a live scrape and for a backfilled run sampled once per simulated tick. The datasource is a variable
(any Prometheus of the Grafana that imports the dashboard); it defaults to the one provisioned in
deploy/grafana (uid ``cloudsim-prom``). The default range is the last hour, refreshed every 10 s, for live
runs; a backfilled run ends 3 h or more before now (README: Metrics), so widen the range to see it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from a checkout: the panels come from the package beside it

from cloudsim.metrics.panels import ROWS, Panel, widths  # noqa: E402

#: Every panel and variable asks the datasource the ``datasource`` variable names (a Prometheus of your
#: Grafana; the one provisioned in deploy/grafana is the default).
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
PROVISIONED = "cloudsim-prom"
SELECTOR = 'scenario=~"$scenario", run=~"$run"'
OUT = Path(__file__).with_name("cloudsim.json")
#: Live runs are minutes of wall time: the last hour, refreshed every 10 s.
TIME_RANGE = {"from": "now-1h", "to": "now"}
REFRESH = "10s"
REFRESH_INTERVALS = ["5s", "10s", "30s", "1m", "5m", "15m"]
GRAFANA_REDUCE = {"last": "lastNotNull", "mean": "mean", "max": "max"}


def datasource_variable() -> dict:
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {"selected": True, "text": "Prometheus", "value": PROVISIONED},
        "hide": 0,
        "includeAll": False,
        "multi": False,
        "options": [],
        "refresh": 1,
        "regex": "",
    }


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


def grafana_panel(p: Panel, pid: int, grid: dict) -> dict:
    """One panel of :mod:`cloudsim.metrics.panels` as Grafana JSON; every legend starts with the run."""
    defaults: dict = {"unit": p.unit}
    if p.min is not None:
        defaults["min"] = p.min
    if p.max is not None and p.kind == "stat":
        defaults["max"] = p.max
    panel: dict = {
        "type": p.kind,
        "title": p.title,
        "description": p.description,
        "id": pid,
        "datasource": DATASOURCE,
        "gridPos": grid,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + k), "datasource": DATASOURCE, "expr": q.promql(SELECTOR),
             "legendFormat": f"{{{{run}}}} {q.legend}".strip()}
            for k, q in enumerate(p.queries)
        ],
    }  # fmt: skip
    if p.kind == "stat":
        panel["options"] = {
            "reduceOptions": {"calcs": [GRAFANA_REDUCE[p.reduce]], "fields": "", "values": False},
            "textMode": "value_and_name",
            "colorMode": "none",
        }
    else:
        defaults["custom"] = {"lineInterpolation": "stepAfter" if p.step else "linear", "axisLabel": p.axis_label}
        if p.max is not None:  # a soft maximum: values above it still show
            defaults["custom"]["axisSoftMax"] = p.max
        panel["options"] = {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "none"},
        }
    return panel


def build() -> dict:
    panels: list[dict] = []
    y = 0
    pid = 1
    for row in ROWS:
        panels.append({"type": "row", "title": row.title, "id": pid, "collapsed": False,
                       "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []})  # fmt: skip
        pid += 1
        y += 1
        stats = all(p.kind == "stat" for p in row.panels)
        sizes = [24 // len(row.panels)] * len(row.panels) if stats else widths(len(row.panels))
        height, x = 4 if stats else 8, 0
        for p, w in zip(row.panels, sizes, strict=True):
            if x + w > 24:
                x, y = 0, y + height
            panels.append(grafana_panel(p, pid, {"x": x, "y": y, "w": w, "h": height}))
            pid += 1
            x += w
        y += height
    return {
        "title": "cloudsim",
        "uid": "cloudsim-overview",
        "description": "cloudsim runs: live scrapes or backfilled whole runs (README: Metrics)",
        "tags": ["cloudsim", "simulation"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "time": TIME_RANGE,
        "refresh": REFRESH,
        "timepicker": {"refresh_intervals": REFRESH_INTERVALS},
        "templating": {
            "list": [
                datasource_variable(),
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
