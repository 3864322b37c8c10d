"""Reports without a Grafana at hand: ``cloudsim report RUN_DIR`` (one run) and ``cloudsim compare RUN_DIR...``
(several side by side). Each writes PNG charts and one self-contained HTML page (the charts are embedded,
so the page can be mailed or opened offline)."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import io
import json
from pathlib import Path
from typing import Any

from cloudsim.files import atomic_open, atomic_write_bytes

#: (chart file stem, title, y label, [(column, legend)]); a chart shows the columns a run has (consolidation
#: runs add migrations, SLATAH and PDM).
CHARTS = [
    ("hosts", "Active hosts and the packing lower bound", "hosts",
     [("hosts_active", "active"), ("hosts_lower_bound", "lower bound"), ("hosts_on", "on")]),
    ("consolidation", "Consolidation ratio", "guests per active host", [("consolidation_ratio", "ratio")]),
    ("utilization", "Utilization of active hosts", "fraction",
     [("cpu_utilization", "CPU"), ("memory_utilization", "memory")]),
    ("guests", "Guests by mode", "guests",
     [("guests_container", "container"), ("guests_para", "para"), ("guests_full_hw", "full_hw"),
      ("guests_full_bt", "full_bt")]),
    ("overhead", "Host cores spent on virtualization", "cores",
     [("overhead_cores_container", "container"), ("overhead_cores_para", "para"),
      ("overhead_cores_full_hw", "full_hw"), ("overhead_cores_full_bt", "full_bt")]),
    ("placements", "Placements (running totals)", "guests",
     [("placed", "placed"), ("rejected", "rejected"), ("completed", "completed")]),
    ("migrations", "Migrations and host shutdowns (running totals)", "count",
     [("migrations", "migrations"), ("shutdowns", "shutdowns")]),
    ("power", "Power", "W", [("power_w", "power")]),
    ("energy", "Energy", "kWh", [("energy_kwh", "energy")]),
    ("sla", "SLA violation", "fraction",
     [("sla_cpu_shortfall_ratio", "CPU shortfall"), ("sla_slatah", "SLATAH"), ("sla_pdm", "PDM")]),
]  # fmt: skip


class ReportError(ValueError):
    """A run directory that cannot be reported (the message names it)."""


def load_run(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, float]]]:
    summary_path, series_path = run_dir / "summary.json", run_dir / "timeseries.csv"
    for p in (summary_path, series_path):
        if not p.is_file():
            raise ReportError(f"RUN_DIR: no {p.name} in {str(run_dir)!r} (write a run with cloudsim run --out DIR)")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        with series_path.open(encoding="utf-8") as f:
            rows = [{k: float(v) for k, v in r.items() if v not in ("", None)} for r in csv.DictReader(f)]
    except (ValueError, json.JSONDecodeError) as exc:
        raise ReportError(f"RUN_DIR: {run_dir} holds a malformed summary.json or timeseries.csv: {exc}") from None
    return summary, rows


def _time_key(rows: list[dict[str, float]]) -> str:
    return "time_s"


def _plot(path: Path, title: str, ylabel: str, lines: list[tuple[list[float], list[float], str]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.2, 3.0), dpi=100)
    for x, y, label in lines:
        ax.plot(x, y, label=label, linewidth=1.4)
    ax.set_title(title, fontsize=11)
    ax.set_xlabel("simulated time (h)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if 1 < len(lines) <= 6:
        ax.legend(fontsize=8, loc="best")
        fig.tight_layout()
    elif len(lines) > 6:  # many runs compared: the legend beside the chart, the image widened to hold it
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), ncol=1 + (len(lines) - 1) // 16)
    else:
        fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight" if len(lines) > 6 else None)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        elif not isinstance(v, list):
            out[key] = v
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return html.escape(str(v))


def _page(title: str, intro: str, tables: list[str], images: list[tuple[str, Path]]) -> str:
    figs = "".join(
        f'<figure><img alt="{html.escape(cap)}" src="data:image/png;base64,'
        f'{base64.b64encode(p.read_bytes()).decode()}"><figcaption>{html.escape(cap)}</figcaption></figure>'
        for cap, p in images
    )
    style = (
        "body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
        "th{background:#f3f3f3}figure{display:inline-block;margin:.5em}img{max-width:100%}"
        "figcaption{font-size:.85em;color:#555}"
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1><p>{intro}</p>"
        f"{''.join(tables)}<h2>Time series</h2>{figs}</body></html>\n"
    )


def report(run_dir: Path, out_dir: Path | None = None) -> Path:
    """Charts and ``report.html`` for one run; returns the page's path."""
    summary, rows = load_run(run_dir)
    out_dir = out_dir or run_dir
    charts_dir = out_dir / "charts"
    charts_dir.mkdir(parents=True, exist_ok=True)
    tk = _time_key(rows)
    images = []
    for stem, title, ylabel, cols in CHARTS:
        lines = [
            ([r[tk] / 3600 for r in rows], [r.get(c, 0.0) for r in rows], label)
            for c, label in cols
            if rows and c in rows[0]
        ]
        if lines:
            path = charts_dir / f"{stem}.png"
            _plot(path, title, ylabel, lines)
            images.append((title, path))
    flat = _flatten(summary)
    table = (
        "<h2>Summary</h2><table>"
        + "".join(f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in flat.items())
        + "</table>"
    )
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    intro = (
        f"Scenario <b>{html.escape(str(summary.get('scenario')))}</b>, run <code>{html.escape(str(summary.get('run')))}"
        f"</code>, {len(rows)} samples; report written {when} from {html.escape(str(run_dir))}."
    )
    page = out_dir / "report.html"
    with atomic_open(page) as fh:
        fh.write(_page(f"cloudsim report: {summary.get('scenario')}", intro, [table], images))
    return page


def compare(run_dirs: list[Path], out_dir: Path) -> Path:
    """A side-by-side table of the runs' summaries and overlaid charts; returns ``compare.html``."""
    if len(run_dirs) < 2:
        raise ReportError("RUN_DIR: give at least two run directories to compare")
    runs = [load_run(d) for d in run_dirs]
    out_dir.mkdir(parents=True, exist_ok=True)
    charts_dir = out_dir / "charts"
    charts_dir.mkdir(exist_ok=True)
    labels = [f"{s.get('scenario')} · {s.get('run')}" for s, _ in runs]
    flats = [_flatten(s) for s, _ in runs]
    keys = [k for k in flats[0] if all(k in f for f in flats)]
    head = "".join(f"<th>{html.escape(lbl)}</th>" for lbl in labels)
    body = "".join(
        f"<tr><th>{html.escape(k)}</th>" + "".join(f"<td>{_fmt(f[k])}</td>" for f in flats) + "</tr>" for k in keys
    )
    table = f"<h2>Summaries side by side</h2><table><tr><th>figure</th>{head}</tr>{body}</table>"
    images = []
    for stem, title, ylabel, cols in CHARTS:
        lines = []
        for (_, rows), label in zip(runs, labels, strict=True):
            tk = _time_key(rows)
            for c, col_label in cols:
                if rows and c in rows[0]:
                    lines.append(([r[tk] / 3600 for r in rows], [r.get(c, 0.0) for r in rows], f"{label} {col_label}"))
        if lines:
            path = charts_dir / f"{stem}.png"
            _plot(path, title, ylabel, lines)
            images.append((title, path))
    page = out_dir / "compare.html"
    intro = f"{len(runs)} runs: " + ", ".join(html.escape(str(d)) for d in run_dirs) + "."
    with atomic_open(page) as fh:
        fh.write(_page("cloudsim: runs compared", intro, [table], images))
    return page
