"""The panels of a cloudsim run, defined once: ``dashboards/build.py`` turns them into the Grafana dashboard
(``dashboards/cloudsim.json``, PromQL over Prometheus), and :mod:`cloudsim.report` draws the same panels from
a run folder, evaluating each query on the metric families the run recorded (``metrics.jsonl``, the same
families Prometheus scrapes or takes as a backfill). So a title, a unit, a description and a query live here
and nowhere else.

A query selects one metric family, optionally narrowed by label matchers, optionally divided by a constant
(``energy_joules / 3.6e6`` is kWh); its legend names the series by their labels (``{{state}}``). Units are
Grafana's unit ids (``none``, ``percentunit`` for a 0-1 fraction shown in %, ``kwatt``, ``kwatth``, ``s``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cloudsim.metrics.families import COUNTERS, HELP

#: Grafana unit ids a panel may use, with the suffix the report prints after a value (percentunit
#: values are fractions, printed x100).
UNITS: dict[str, str] = {"none": "", "percentunit": "%", "kwatt": "kW", "kwatth": "kWh", "s": "s"}


@dataclass(frozen=True)
class Query:
    """One series source of a panel: the samples of ``metric`` whose labels match ``match`` (a value is a
    regular expression that must match the whole label value, as PromQL's ``=~``), divided by ``divide``."""

    metric: str
    legend: str = ""
    match: dict[str, str] = field(default_factory=dict)
    divide: float | None = None

    def promql(self, selector: str) -> str:
        """The PromQL of this query; ``selector`` is the dashboard's own matchers (scenario and run). A counter
        is exposed with the ``_total`` suffix."""
        matchers = [selector, *(f'{k}=~"{v}"' if _is_regex(v) else f'{k}="{v}"' for k, v in self.match.items())]
        name = f"{self.metric}_total" if self.metric in COUNTERS else self.metric
        expr = name + "{" + ", ".join(matchers) + "}"
        return expr if self.divide is None else f"{expr} / {self.divide:g}"

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether a sample with ``labels`` belongs to this query (as Prometheus would select it)."""
        return all(re.fullmatch(v, labels.get(k, "")) is not None for k, v in self.match.items())

    def legend_of(self, labels: dict[str, str]) -> str:
        """The legend of a sample: ``{{label}}`` replaced by the sample's label value."""
        return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), self.legend).strip()


def _is_regex(v: str) -> bool:
    return any(c in v for c in "|.*+?[]()")


@dataclass(frozen=True)
class Panel:
    """A chart (``timeseries``) or a single figure (``stat``, reduced over the run by ``reduce``: ``last``,
    ``mean`` or ``max``). ``step``: drawn as steps (counts change at an instant, not along a slope).
    ``min``: a fixed lower axis bound; ``max``: the least the axis shows, extended when values go higher
    (utilization passes 100 % with overcommit, and memory does in CloudSim's dynamics, where bookings end at
    instantiation), in the query's values (a ``percentunit`` of 0-1 is 0-100 %)."""

    title: str
    unit: str
    description: str
    queries: tuple[Query, ...]
    kind: str = "timeseries"
    step: bool = False
    min: float | None = None
    max: float | None = None
    reduce: str = "last"
    axis_label: str = ""

    def __post_init__(self) -> None:
        assert self.unit in UNITS, self.unit
        assert self.kind in ("timeseries", "stat"), self.kind
        assert self.reduce in ("last", "mean", "max"), self.reduce
        for q in self.queries:
            assert q.metric in HELP, q.metric


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


def _p(title: str, unit: str, description: str, *queries: Query, **kw: object) -> Panel:
    return Panel(title, unit, description, tuple(queries), **kw)  # type: ignore[arg-type]


Q = Query
HOSTS = "hosts"
GUESTS = "guests"

#: The dashboard, top to bottom. The first row holds the headline figures of a run.
ROWS: tuple[Row, ...] = (
    Row("Overview", (
        _p("Active hosts (mean)", "none", "Hosts with guests, averaged over the run's samples",
           Q("cloudsim_hosts", match={"state": "active"}), kind="stat", reduce="mean"),
        _p("Consolidation ratio (mean)", "none", "Hosted guests per active host, averaged over the run's samples",
           Q("cloudsim_consolidation_ratio"), kind="stat", reduce="mean"),
        _p("Energy (total)", "kwatth", "Energy drawn by all hosts so far",
           Q("cloudsim_energy_joules", divide=3.6e6), kind="stat"),
        _p("CPU not delivered (whole run)", "percentunit",
           "CPU asked but not delivered / CPU asked, over the run so far (the overall SLA violation)",
           Q("cloudsim_sla_violation_ratio", match={"kind": "cpu_shortfall"}), kind="stat"),
        _p("Migrations (total)", "none", "Live migrations started so far", Q("cloudsim_migrations"), kind="stat"),
        _p("Simulated time", "s", "The run's simulated clock", Q("cloudsim_sim_time_seconds"), kind="stat"),
    )),
    Row("Packing and consolidation", (
        _p("Active hosts vs the packing lower bound", "none",
           "Hosts with guests, and the fewest hosts any packing of those guests needs",
           Q("cloudsim_hosts", "active", {"state": "active"}), Q("cloudsim_hosts_lower_bound", "lower bound"),
           step=True, min=0, axis_label=HOSTS),
        _p("Hosts by state", "none", "Active (has guests), idle (on, no guests) and off",
           Q("cloudsim_hosts", "{{state}}"), step=True, min=0, axis_label=HOSTS),
        _p("Consolidation ratio", "none", "Hosted guests per active host",
           Q("cloudsim_consolidation_ratio", "ratio"), min=0, axis_label="guests per host"),
        _p("Packing efficiency", "percentunit", "Lower bound / active hosts (100 % is a packing no one could beat)",
           Q("cloudsim_packing_efficiency", "efficiency"), min=0),
    )),
    Row("Utilization", (
        _p("CPU and memory utilization of active hosts", "percentunit", "Mean over the hosts with guests",
           Q("cloudsim_host_utilization_ratio", "{{resource}}"), min=0, max=1),
        _p("Hosts by CPU utilization (across hosts)", "none",
           "Hosts that are on with CPU utilization at or below each bound (cumulative)",
           Q("cloudsim_hosts_by_cpu_utilization", "<= {{le}}"), step=True, min=0, axis_label=HOSTS),
        _p("Busiest hosts", "percentunit", "CPU utilization of the five busiest hosts at each instant",
           Q("cloudsim_top_host_cpu_utilization", "{{host}}"), min=0, max=1),
    )),
    Row("Virtualization", (
        _p("CPU overhead by mode and hypervisor type", "percentunit",
           "Host CPU spent on virtualization / CPU delivered to the guests",
           Q("cloudsim_virtualization_overhead", "{{mode}} on {{hypervisor_type}}", {"resource": "cpu"}), min=0),
        _p("Memory overhead by mode and hypervisor type", "percentunit",
           "Per-instance memory overhead / guest memory",
           Q("cloudsim_virtualization_overhead", "{{mode}} on {{hypervisor_type}}", {"resource": "memory"}), min=0),
        _p("Guests by mode and state", "none", "Booting and running guests",
           Q("cloudsim_guests", "{{mode}} {{state}}"), step=True, min=0, axis_label=GUESTS),
    )),
    Row("Placement", (
        _p("Placements by outcome", "none", "Running totals", Q("cloudsim_placements", "{{outcome}} ({{policy}})"),
           step=True, min=0, axis_label=GUESTS),
        _p("Rejections by reason", "none", "Running totals, by binding filter",
           Q("cloudsim_rejections", "{{reason}}"), step=True, min=0, axis_label=GUESTS),
        _p("Migrations", "none", "Live migrations started (running total)", Q("cloudsim_migrations", "migrations"),
           step=True, min=0, axis_label="migrations"),
    )),
    Row("Energy", (
        _p("Power", "kwatt", "Drawn by all hosts", Q("cloudsim_power_watts", "power", divide=1000), min=0),
        _p("Energy", "kwatth", "Drawn by all hosts since the start", Q("cloudsim_energy_joules", "energy", divide=3.6e6),
           min=0),
        _p("Host shutdowns (consolidation runs)", "none", "Hosts switched off (running total)",
           Q("cloudsim_host_shutdowns", "shutdowns"), step=True, min=0, axis_label=HOSTS),
    )),
    Row("SLA", (
        _p("CPU not delivered (per tick)", "percentunit",
           "CPU asked but not delivered during the last tick / CPU asked during it (host contention, migrations)",
           Q("cloudsim_cpu_shortfall_ratio", "not delivered"), min=0),
        _p("SLATAH and overall violation (consolidation runs)", "percentunit",
           "Whole run so far: SLATAH = time active hosts were short of CPU / time active; overall = CPU not "
           "delivered / CPU asked (Beloglazov & Buyya 2012)",
           Q("cloudsim_sla_violation_ratio", "{{kind}}", {"kind": "slatah|overall"}), min=0),
        _p("PDM and SLAV (consolidation runs)", "percentunit",
           "Whole run so far: PDM = CPU lost to migrations / CPU asked; SLAV = SLATAH x PDM",
           Q("cloudsim_sla_violation_ratio", "{{kind}}", {"kind": "pdm|slav"}), min=0),
        _p("ESV (consolidation runs)", "none", "Energy (kWh) x SLATAH x PDM", Q("cloudsim_esv", "ESV"), min=0),
    )),
    Row("Failures (runs with faults)", (
        _p("Host failures and guest restarts", "none", "Running totals",
           Q("cloudsim_host_failures", "host failures"), Q("cloudsim_guest_restarts", "restarts"), step=True, min=0),
        _p("Guest availability by mode", "percentunit", "1 - time down after host failures / guest time",
           Q("cloudsim_guest_availability_ratio", "{{mode}}"), max=1),
    )),
    Row("Simulation", (
        _p("Simulation speed", "none", "Simulated seconds per wall-clock second",
           Q("cloudsim_sim_speed_ratio", "speed"), min=0, axis_label="x real time"),
        _p("Wall time by phase", "s",
           "Wall-clock seconds the run has spent in each phase of its loop (running totals): the steepest line is "
           "what bounds the run", Q("cloudsim_wall_seconds", "{{phase}}"), min=0),
    )),
)  # fmt: skip


def widths(n: int) -> list[int]:
    """The widths of ``n`` chart panels side by side, in 24ths of a line (Grafana's grid): three to a line;
    a last line of two shares it in halves, and a last single panel pairs with the one before it, so no line
    has a hole. The dashboard lays out every row with it, the report the panels a run has."""
    if n == 1:
        return [24]
    halves = {0: 0, 1: 4, 2: 2}[n % 3]
    return [8] * (n - halves) + [12] * halves


def panels() -> list[Panel]:
    """Every panel, in dashboard order."""
    return [p for row in ROWS for p in row.panels]
