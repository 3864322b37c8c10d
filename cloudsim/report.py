"""Reports without a Grafana at hand: ``cloudsim report RUN_DIR`` (one run) and ``cloudsim compare RUN_DIR...``
(several overlaid). Each writes one self-contained HTML page laid out like the Grafana dashboard: the
Overview row's figures first, then the dashboard's panels in a grid, then the full summary (collapsed).

The panels are :data:`cloudsim.metrics.panels.ROWS`, the definitions ``dashboards/build.py`` makes the
Grafana dashboard from; each query is evaluated here on the metric families the run recorded at every tick
(``metrics.jsonl``: what a live scrape or a backfill gives Prometheus). The charts are drawn in the browser by
uPlot (MIT, vendored in ``cloudsim/vendor/uplot`` and inlined), so the page works offline: hover for values,
drag to zoom, double-click to reset.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from cloudsim.files import atomic_open, why_unwritable
from cloudsim.metrics.families import Family
from cloudsim.metrics.panels import ROWS, UNITS, Panel, widths

#: Distinct line colours (on the page's dark background); beyond ten series the dash pattern changes too.
PALETTE = ("#73bf69", "#f2cc0c", "#5794f2", "#ff9830", "#f2495c", "#b877d9", "#37c6c2", "#ff7eb6", "#d0d0d0",
           "#a3a847")  # fmt: skip
#: Dash patterns (px on, px off) cycled after the palette; ``[]`` is a solid line.
DASHES = ([], [6, 4], [2, 3], [10, 3, 2, 3])
#: Summary keys shown with a unit, by how the key ends (the rest are plain numbers).
_SUFFIX_UNITS = (("_kwh", "kWh"), ("_pct", "%"), ("_mib", "MiB"), ("_us", "µs"), ("_mips_s", "MIPS·s"),
                 ("_w", "W"), ("_s", "s"))  # fmt: skip


class ReportError(ValueError):
    """A run directory that cannot be reported (the message names it)."""


@dataclass
class Run:
    """A run folder as the report reads it: the summary, the scenario as run (``scenario.yaml``; empty for a
    folder without one) and the metric families at each tick (simulated seconds)."""

    folder: Path
    summary: dict[str, Any]
    scenario: dict[str, Any]
    frames: list[tuple[float, list[Family]]]


def load_run(run_dir: Path) -> Run:
    """Read ``summary.json``, ``metrics.jsonl`` and ``scenario.yaml`` of a run folder."""
    from cloudsim.metrics.openmetrics import frames_from_run_dir

    try:
        summary, frames = frames_from_run_dir(run_dir)
    except (FileNotFoundError, ValueError) as exc:  # one line naming the file
        raise ReportError(str(exc)) from None
    scenario: dict[str, Any] = {}
    path = run_dir / "scenario.yaml"
    if path.is_file():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ReportError(f"RUN_DIR: {path} is not YAML: {exc}") from None
        scenario = loaded if isinstance(loaded, dict) else {}
    return Run(run_dir, summary, scenario, frames)


# ----------------------------------------------------------------------------------------------- evaluation


def panel_series(panel: Panel, frames: list[tuple[float, list[Family]]]) -> list[tuple[str, list[float | None]]]:
    """The series a panel shows for one run, as (legend, value at each frame; ``None`` where the series has no
    sample, as a gap in Prometheus). Values are in the panel's unit, a ``percentunit`` as a fraction."""
    series: dict[str, list[float | None]] = {}
    for i, (_, families) in enumerate(frames):
        by_name = {f.name: f for f in families}
        for q in panel.queries:
            fam = by_name.get(q.metric)
            if fam is None:
                continue
            for labels, value in fam.samples:
                if not q.matches(labels):
                    continue
                legend = q.legend_of(labels) or panel.title
                values = series.setdefault(legend, [None] * len(frames))
                values[i] = value / q.divide if q.divide else value
    return list(series.items())


def reduce(values: list[float | None], how: str) -> float | None:
    """A stat panel's figure: the last, mean or max of the values that exist (Grafana's reducers)."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return {"last": present[-1], "mean": sum(present) / len(present), "max": max(present)}[how]


def fmt_value(v: float | None, unit: str) -> str:
    """A figure with its unit for people: ``62.5 %``, ``4.21 kWh``, ``4 h``, ``1,234``."""
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):  # None, or not a figure
        return "–"
    if unit == "percentunit":
        v *= 100
    if unit == "s":
        return _duration(v)
    return f"{_number(v)} {UNITS[unit]}".strip()


def _number(v: float) -> str:
    """Whole numbers and large ones with thousands separators, others to 3 significant digits."""
    if abs(v) >= 1000 or float(v).is_integer():
        return f"{v:,.0f}"
    return f"{v:.3g}" if abs(v) >= 0.01 else f"{v:.2g}"


def _duration(s: float) -> str:
    if s < 120:
        return f"{s:.3g} s"
    if s < 2 * 3600:
        return f"{s / 60:.3g} min"
    if s < 2 * 86400:
        return f"{s / 3600:.3g} h"
    return f"{s / 86400:.3g} d"


def _num(v: float | None, unit: str) -> float | None:
    """A value as the chart draws it (a ``percentunit`` in %), with 6 significant digits (a smaller page)."""
    if v is None or not math.isfinite(v):
        return None
    return float(f"{v * 100 if unit == 'percentunit' else v:.6g}")


# ------------------------------------------------------------------------------------------- run labels


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted keys to leaves (list items by index): ``placement.policy``, ``hosts.0.count``."""
    if isinstance(d, dict):
        items = d.items()
    elif isinstance(d, list):
        items = ((str(i), v) for i, v in enumerate(d))
    else:
        return {prefix.rstrip("."): d}
    out: dict[str, Any] = {}
    for k, v in items:
        out.update(_flatten(v, f"{prefix}{k}."))
    return out


def run_labels(runs: list[Run], most: int = 3) -> list[str]:
    """Each run named by what differs between the scenarios: ``policy=worst-fit, seed=2`` (a key by the
    shortest end of its dotted path that is unambiguous; ``most`` keys, then ``+N``). Runs of the same
    scenario are named by their run id."""
    specs = []
    for r in runs:
        spec = r.scenario or {"name": r.summary.get("scenario"), "seed": r.summary.get("seed"),
                              "placement": {"policy": r.summary.get("policy")}}  # fmt: skip
        specs.append(_flatten(spec))
    keys: list[str] = []
    for s in specs:
        keys += [k for k in s if k not in keys]
    differ = [k for k in keys if len({json.dumps(s.get(k), sort_keys=True, default=str) for s in specs}) > 1]
    if not differ:
        ids = [str(r.summary.get("run") or r.folder.name) for r in runs]
        return ids if len(set(ids)) == len(ids) else [r.folder.name for r in runs]

    def short(k: str) -> str:
        parts = k.split(".")
        for n in range(1, len(parts) + 1):
            end = ".".join(parts[-n:])
            if sum(1 for o in differ if o == end or o.endswith("." + end)) == 1:
                return end
        return k

    names = [short(k) for k in differ]
    labels = []
    for s in specs:
        bits = [f"{n}={_plain(s.get(k))}" for n, k in zip(names[:most], differ[:most], strict=False)]
        labels.append(", ".join(bits) + (f" +{len(differ) - most}" if len(differ) > most else ""))
    return labels


def _plain(v: Any) -> str:
    return "–" if v is None else str(v)


# ------------------------------------------------------------------------------------------------- summary


def _summary_unit(path: str, v: float) -> str:
    leaf = path.rsplit(".", 1)[-1]
    # the unit a figure's key names, or else the group's that holds it (wall_time_by_phase_s.shards: seconds)
    named = leaf if "." not in path or leaf.endswith(tuple(s for s, _ in _SUFFIX_UNITS)) else path.split(".")[-2]
    if "consolidation_ratio" in path:
        text = f"{v:,.3g}" if not float(v).is_integer() else f"{v:,.0f}"
        return text
    if leaf.endswith(("_ratio", "_fraction", "availability")) or path.startswith(("utilization.", "packing_")):
        return f"{v * 100:.3g} %"
    for suffix, unit in _SUFFIX_UNITS:
        if named.endswith(suffix):
            if unit == "s" and v >= 120:
                return f"{v:,.4g} s ({_duration(v)})"
            return f"{v:,.4g} {unit}" if not float(v).is_integer() else f"{v:,.0f} {unit}"
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:.4g}"


def _cell(path: str, v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return html.escape(_plain(v))
    return html.escape(_summary_unit(path, float(v)))


def summary_table(runs: list[Run], labels: list[str]) -> str:
    """The summaries as one table with units (a column per run; rows that differ between runs in bold)."""
    flats = [_flatten(r.summary) for r in runs]
    keys: list[str] = []
    for f in flats:
        keys += [k for k in f if k not in keys]
    head = "".join(f"<th>{html.escape(lbl)}</th>" for lbl in labels) if len(runs) > 1 else "<th>value</th>"
    body = []
    for k in keys:
        cells = [_cell(k, f.get(k)) for f in flats]
        cls = ' class="differs"' if len(runs) > 1 and len(set(cells)) > 1 else ""
        body.append(f"<tr{cls}><th>{html.escape(k)}</th>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table class='summary'><tr><th>figure</th>{head}</tr>{''.join(body)}</table>"


# ---------------------------------------------------------------------------------------------------- page


def _asset(name: str) -> str:
    return resources.files("cloudsim").joinpath("vendor", "uplot", name).read_text(encoding="utf-8")


def _colour(run: int, series: int, runs: int) -> tuple[str, list[int]]:
    """A series' colour and dash: by series for one run, by run (dash by series) for several."""
    if runs == 1:
        return PALETTE[series % len(PALETTE)], DASHES[(series // len(PALETTE)) % len(DASHES)]
    return PALETTE[run % len(PALETTE)], DASHES[(series + run // len(PALETTE)) % len(DASHES)]


def build_page(runs: list[Run], title: str, intro: str) -> str:
    """The HTML page of one or more runs (overlaid when several)."""
    labels = run_labels(runs) if len(runs) > 1 else [str(runs[0].summary.get("run", runs[0].folder.name))]
    stats, rows_html, charts, absent = [], [], [], []
    for row in ROWS:
        cells: list[tuple[Panel, int]] = []  # (panel, its chart's index)
        for panel in row.panels:
            per_run = [panel_series(panel, r.frames) for r in runs]
            if not any(per_run):
                absent.append(panel.title)
                continue
            if panel.kind == "stat":
                values = [
                    (labels[i], fmt_value(reduce(s[0][1], panel.reduce) if s else None, panel.unit))
                    for i, s in enumerate(per_run)
                ]
                stats.append(_stat_html(panel, values))
                continue
            series = []
            for i, run_series in enumerate(per_run):
                for k, (legend, values) in enumerate(run_series):
                    colour, dash = _colour(i, k, len(runs))
                    name = (
                        legend
                        if len(runs) == 1
                        else (f"{labels[i]} · {legend}" if legend != panel.title else labels[i])
                    )
                    series.append({"run": i, "name": name, "color": colour, "dash": dash,
                                   "y": [_num(v, panel.unit) for v in values]})  # fmt: skip
            scale = 100 if panel.unit == "percentunit" else 1
            charts.append({
                "id": len(charts), "unit": UNITS[panel.unit], "step": panel.step, "axis": panel.axis_label,
                "min": None if panel.min is None else panel.min * scale,
                "max": None if panel.max is None else panel.max * scale, "series": series,
            })  # fmt: skip
            cells.append((panel, len(charts) - 1))
        if cells:  # the widths of the dashboard's grid, for the panels this run has
            grid = "".join(_panel_html(p, i, w) for (p, i), w in zip(cells, widths(len(cells)), strict=True))
            rows_html.append(f"<h2 class='row'>{html.escape(row.title)}</h2><div class='grid'>{grid}</div>")
    data = {"x": [[round(t / 3600, 6) for t, _ in r.frames] for r in runs], "charts": charts}
    facts = _facts(runs, labels)
    note = (
        f"<p class='absent'>Not in {'these runs' if len(runs) > 1 else 'this run'} (no such series): "
        + ", ".join(f"<span class='gone'>{html.escape(t)}</span>" for t in absent)
        + ".</p>"
        if absent
        else ""
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_asset('uPlot.min.css')}{_CSS}</style>"
        f"<script>{_ERRORS_JS}</script></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p class='intro'>{intro}</p>{facts}</header>"
        f"<div class='stats{' multi' if len(runs) > 1 else ''}'>{''.join(stats)}</div>{''.join(rows_html)}{note}"
        f"<details><summary>Full summary</summary>{summary_table(runs, labels)}</details>"
        "<pre id='errors' hidden></pre>"
        f"<script id='data' type='application/json'>{_json_for_script(data)}</script>"
        f"<script>{_asset('uPlot.iife.min.js')}</script><script>{_CHARTS_JS}</script></body></html>\n"
    )


def _panel_html(panel: Panel, chart: int, width: int) -> str:
    return (
        f"<section class='panel w{width}' data-title='{html.escape(panel.title)}'>"
        f"<h3 title='{html.escape(panel.description)}'>{html.escape(panel.title)}</h3>"
        f"<p class='desc'>{html.escape(panel.description)}</p><div class='chart' id='chart-{chart}'></div></section>"
    )


def _json_for_script(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def _stat_html(panel: Panel, values: list[tuple[str, str]]) -> str:
    if len(values) == 1:
        inner = f"<div class='value'>{html.escape(values[0][1])}</div>"
    else:
        inner = "<table>" + "".join(
            f"<tr><td title='{html.escape(lbl)}'><span class='dot' style='background:{PALETTE[i % len(PALETTE)]}'></span>{html.escape(lbl)}</td>"
            f"<td class='num'>{html.escape(v)}</td></tr>"
            for i, (lbl, v) in enumerate(values)
        ) + "</table>"  # fmt: skip
    return (
        f"<div class='stat' title='{html.escape(panel.description)}'><div class='label'>{html.escape(panel.title)}"
        f"</div>{inner}</div>"
    )


def _facts(runs: list[Run], labels: list[str]) -> str:
    """A line per run: scenario, policy, seed, backend, hosts, guests and the wall time."""
    lines = []
    for i, r in enumerate(runs):
        s = r.summary
        guests, hosts = (g if isinstance(g := s.get(k), dict) else {} for k in ("guests", "hosts"))
        bits = [f"scenario <b>{html.escape(str(s.get('scenario')))}</b>", f"policy {html.escape(str(s.get('policy')))}",
                f"seed {html.escape(str(s.get('seed')))}", f"{html.escape(str(s.get('backend')))} backend",
                f"{fmt_value(hosts.get('total'), 'none')} hosts", f"{fmt_value(guests.get('submitted'), 'none')} guests submitted",
                f"{fmt_value(s.get('sim_time_s'), 's')} simulated", f"wall time {fmt_value(s.get('wall_time_s'), 's')}"]  # fmt: skip
        if s.get("interrupted"):
            bits.append("<b>interrupted</b>")
        dot = f"<span class='dot' style='background:{PALETTE[i % len(PALETTE)]}'></span>" if len(runs) > 1 else ""
        name = f"<b>{html.escape(labels[i])}</b>: " if len(runs) > 1 else ""
        lines.append(f"<li>{dot}{name}{', '.join(bits)} <span class='where'>({html.escape(str(r.folder))})</span></li>")
    return f"<ul class='facts'>{''.join(lines)}</ul>"


def report(run_dir: Path, out_dir: Path | None = None) -> Path:
    """``report.html`` of one run in ``out_dir`` (default: the run folder); returns the page's path."""
    run = load_run(run_dir)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    intro = f"Run <code>{html.escape(str(run.summary.get('run')))}</code>, {len(run.frames)} samples; written {when}."
    page = (out_dir or run_dir) / "report.html"
    _write(page, build_page([run], f"cloudsim report: {run.summary.get('scenario')}", intro))
    return page


def compare(run_dirs: list[Path], out: Path | None = None) -> Path:
    """One page with the runs overlaid, each named by what differs between their scenarios. ``out`` is the
    page's path (default ``compare.html`` here; an existing folder gets ``compare.html`` inside it)."""
    if len(run_dirs) < 2:
        raise ReportError("RUN_DIR: give at least two run directories to compare")
    seen: dict[Path, Path] = {}  # each folder as it is on disk -> as given
    for d in run_dirs:
        if (first := seen.get(where := d.resolve())) is not None:
            also = "" if str(d) == str(first) else f" (as {str(d)!r})"
            raise ReportError(f"RUN_DIR: {str(first)!r} given twice{also}; give each run once")
        seen[where] = d
    runs = [load_run(d) for d in run_dirs]
    page = Path("compare.html") if out is None else out / "compare.html" if out.is_dir() else out
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    _write(page, build_page(runs, f"cloudsim: {len(runs)} runs compared", f"Written {when}."))
    return page


def _write(page: Path, text: str) -> None:
    """The page whole or not at all (its folder made if need be); a place that cannot be written is a
    :class:`ReportError` naming it."""
    try:
        page.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(page) as fh:
            fh.write(text)
    except OSError as exc:
        raise ReportError(f"--out: cannot write {str(page)!r}: {why_unwritable(exc)}") from None


_CSS = """
:root{color-scheme:dark}
body{margin:0;padding:16px 20px;background:#111217;color:#ccccdc;font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif}
h1{font-size:20px;margin:0 0 4px;color:#fff;font-weight:500}
.intro{margin:0;color:#8e8e9e;font-size:12px}
.facts{list-style:none;padding:0;margin:6px 0 12px;font-size:13px}.facts li{margin:2px 0}
.where{color:#6e6e7e;font-size:11px}
.dot{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:middle}
.stats{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:8px;margin-bottom:8px}
.stats.multi{grid-template-columns:repeat(auto-fill,minmax(300px,1fr))}
.stat{background:#181b1f;border:1px solid #24272e;border-radius:4px;padding:8px 12px}
.stat .label{font-size:12px;color:#9d9daf}.stat .value{font-size:28px;color:#73bf69;font-weight:500;margin-top:2px}
.stat table{font-size:12px;border-collapse:collapse;width:100%;table-layout:fixed}
.stat td{padding:1px 0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.stat td.num{text-align:right;color:#fff;font-size:15px;width:42%}
h2.row{font-size:15px;font-weight:500;color:#d8d9da;margin:18px 0 6px;border-bottom:1px solid #24272e;padding-bottom:4px}
.grid{display:grid;grid-template-columns:1fr;gap:8px}
@media(min-width:900px) and (max-width:1299px){.grid{grid-template-columns:repeat(2,minmax(0,1fr))}
 .grid>.panel:last-child:nth-child(2n+1){grid-column:span 2}}
@media(min-width:1300px){.grid{grid-template-columns:repeat(24,minmax(0,1fr))}
 .grid>.panel.w8{grid-column:span 8}.grid>.panel.w12{grid-column:span 12}.grid>.panel.w24{grid-column:span 24}}
.panel{background:#181b1f;border:1px solid #24272e;border-radius:4px;padding:6px 8px;min-width:0}
.panel h3{font-size:13px;font-weight:500;margin:0;color:#d8d9da}
.desc{font-size:11px;color:#7b7b8b;margin:0 0 4px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.chart{width:100%}
.uplot{font-family:inherit}.u-legend{font-size:11px;text-align:left;max-height:84px;overflow-y:auto}
.u-legend th{font-weight:400}.u-legend .u-series>*{padding:1px 3px}.u-legend .u-marker{width:10px;height:3px}.u-legend tr{margin-right:10px}
.u-select{background:rgba(120,160,255,.15)}
.absent{color:#7b7b8b;font-size:12px;margin-top:14px}
details{margin-top:18px;background:#181b1f;border:1px solid #24272e;border-radius:4px;padding:6px 10px}
summary{cursor:pointer;color:#d8d9da}
table.summary{border-collapse:collapse;font-size:12px;margin:8px 0}
table.summary th,table.summary td{border-bottom:1px solid #24272e;padding:2px 10px;text-align:left}
table.summary td{text-align:right;font-variant-numeric:tabular-nums}table.summary tr.differs{color:#fff;font-weight:600}
#errors{color:#f2495c;white-space:pre-wrap}
"""

#: Before anything else: errors and console.error calls are written into the page (#errors, data-errors), so
#: a test in a headless browser can read them from the DOM.
_ERRORS_JS = """
window.__errors=[];
function __record(msg){window.__errors.push(String(msg));
 document.addEventListener('DOMContentLoaded',__show);if(document.body)__show();}
function __show(){var e=document.getElementById('errors');if(!e)return;e.hidden=false;
 e.textContent=window.__errors.join('\\n');document.body.dataset.errors=window.__errors.length;}
window.onerror=function(m,src,line){__record(m+' (line '+line+')');};
(function(){var orig=console.error;console.error=function(){__record(Array.prototype.join.call(arguments,' '));
 return orig.apply(console,arguments);};})();
"""

_CHARTS_JS = """
(function(){
var data=JSON.parse(document.getElementById('data').textContent);
function fmt(v,unit){if(v==null||isNaN(v))return '–';var a=Math.abs(v),t;
 if(a>=1000)t=Math.round(v).toLocaleString('en');else if(Number.isInteger(v))t=String(v);
 else t=a>=0.01?String(+v.toPrecision(3)):String(+v.toPrecision(2));return unit?t+' '+unit:t;}
function hours(v){return v>=48&&v%24===0?(v/24)+' d':(+v.toPrecision(4))+' h';}
var sync=uPlot.sync('cloudsim'),rendered=0;
data.charts.forEach(function(c){
 var el=document.getElementById('chart-'+c.id),runs={},order=[];
 c.series.forEach(function(s){if(!(s.run in runs)){runs[s.run]=[];order.push(s.run);}runs[s.run].push(s);});
 var tables=order.map(function(r){return [data.x[r]].concat(runs[r].map(function(s){return s.y;}));});
 var aligned=tables.length===1?tables[0]:uPlot.join(tables);
 var flat=[];order.forEach(function(r){flat=flat.concat(runs[r]);});
 var paths=c.step?uPlot.paths.stepped({align:1}):undefined;
 var series=[{label:'time',value:function(u,v){return v==null?'–':hours(v);}}].concat(flat.map(function(s){
  return {label:s.name,stroke:s.color,width:1.5,dash:s.dash,paths:paths,spanGaps:order.length>1,points:{show:false},
   value:function(u,v){return fmt(v,c.unit);}};}));
 var yr=function(u,lo,hi){if(lo==null){lo=0;hi=1;}var a=c.min!=null?c.min:lo,b=hi;
  if(c.max==null||hi>c.max){b=b>a?b+(b-a)*0.08:a+1;}else{b=c.max;}if(c.min==null&&lo<0){a=lo-(hi-lo)*0.08;}
  return [a,b];};
 var fit=function(u,values,i,cycle){var ax=u.axes[i];if(cycle>1)return ax._size;var w=0;u.ctx.font=ax.font[0];
  (values||[]).forEach(function(v){w=Math.max(w,u.ctx.measureText(v).width);});
  return Math.ceil(w/devicePixelRatio)+ax.ticks.size+ax.gap+(c.axis?18:4);};
 var axis={stroke:'#9d9daf',grid:{stroke:'#2a2d33',width:1},ticks:{stroke:'#2a2d33',width:1},font:'11px system-ui'};
 var opts={width:Math.max(el.clientWidth,300),height:200,series:series,
  scales:{x:{time:false},y:{range:yr}},
  axes:[Object.assign({},axis,{values:function(u,sp){return sp.map(hours);}}),
        Object.assign({},axis,{size:fit,values:function(u,sp){return sp.map(function(v){return fmt(v,c.unit);});},
         label:c.axis||undefined,labelSize:c.axis?16:0,labelFont:'11px system-ui'})],
  cursor:{sync:{key:sync.key},drag:{x:true,y:false}},legend:{live:true}};
 opts.hooks={setScale:[function(u,key){if(key==='y')el.dataset.yMax=u.scales.y.max;}]};  // the axis drawn, for tests
 var u=new uPlot(opts,aligned,el);
 new ResizeObserver(function(){u.setSize({width:Math.max(el.clientWidth,300),height:200});}).observe(el);
 rendered++;});
document.body.dataset.panelsRendered=rendered;
})();
"""
