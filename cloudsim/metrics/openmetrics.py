"""Whole-run backfill: the metric families of every tick as OpenMetrics text with explicit timestamps, for
``promtool tsdb create-blocks-from openmetrics``.

Simulated time is mapped to wall time: sim time ``t`` becomes ``start + t`` seconds since the epoch. By
default ``start`` is hour-aligned so that the run ends at least 3 hours before now (data newer than that
overlaps Prometheus's head block, and data in the future makes every live scrape fail). Each family is
written once, each series contiguous and in time order (promtool silently drops out-of-order samples),
timestamps in seconds, and the file ends with ``# EOF``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloudsim.files import atomic_open
from cloudsim.metrics.families import HELP, Family, run_families, without_host_series

#: The run must end at least this long before now.
HEAD_MARGIN_S = 3 * 3600


class AnchorError(ValueError):
    """A bad ``--anchor`` (the message says what is allowed)."""


@dataclass(frozen=True)
class Written:
    path: Path
    series: int
    samples: int
    start_ts: float
    end_ts: float
    seconds: float


def parse_anchor(anchor: str | None, sim_end_s: float, now: float | None = None) -> float:
    """The wall time (epoch seconds) of simulated time 0. ``None`` or ``auto``: hour-aligned so that the run
    ends at least 3 h before now. Otherwise an ISO 8601 date-time for the start (``2026-11-01T00:00:00Z``,
    UTC unless it says otherwise), or ``now-<duration>`` for an end that many hours/days before now."""
    now = time.time() if now is None else now
    latest_end = now - HEAD_MARGIN_S
    if anchor in (None, "", "auto"):
        return math.floor((latest_end - sim_end_s) / 3600) * 3600
    if anchor.startswith("now-"):
        from cloudsim.scenario.schema import parse_duration

        try:
            back = parse_duration(anchor[4:])
        except ValueError:
            raise AnchorError(f"--anchor: malformed {anchor!r}; use auto, now-6h or an ISO date-time") from None
        start = now - back - sim_end_s
    else:
        try:
            when = dt.datetime.fromisoformat(anchor.replace("Z", "+00:00"))
        except ValueError:
            raise AnchorError(
                f"--anchor: {anchor!r} is not auto, now-<duration> or an ISO date-time such as 2026-11-01T00:00:00Z"
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        start = when.timestamp()
    if start + sim_end_s > latest_end:
        raise AnchorError(
            "--anchor: the run would end less than 3 h before now (or in the future), where Prometheus cannot "
            "take backfilled samples; choose an earlier start or auto"
        )
    return start


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _value(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


def write(
    path: Path, frames: Iterable[tuple[float, list[Family]]], scenario: str, run: str, start_ts: float
) -> Written:
    """Write the frames (simulated time, families at that time) as OpenMetrics. Returns what was written."""
    t0 = time.perf_counter()
    kinds: dict[str, str] = {}
    series: dict[str, dict[tuple[tuple[str, str], ...], list[str]]] = {}
    base = f'scenario="{_escape(scenario)}",run="{_escape(run)}"'
    first = last = None
    for t, families in frames:
        ts = f"{start_ts + t:.3f}"
        first = first if first is not None else start_ts + t
        last = start_ts + t
        for f in families:
            kinds.setdefault(f.name, f.kind)
            by_labels = series.setdefault(f.name, {})
            for labels, value in f.samples:
                key = tuple(labels.items())
                by_labels.setdefault(key, []).append(f"{_value(value)} {ts}")
    samples = n_series = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as fh:
        for name, by_labels in series.items():
            kind = kinds[name]
            fh.write(f"# HELP {name} {HELP[name]}\n# TYPE {name} {kind}\n")
            sample_name = f"{name}_total" if kind == "counter" else name
            for key, points in by_labels.items():
                extra = "".join(f',{k}="{_escape(v)}"' for k, v in key)
                prefix = f"{sample_name}{{{base}{extra}}} "
                fh.writelines(prefix + p + "\n" for p in points)
                samples += len(points)
                n_series += 1
        fh.write("# EOF\n")
    return Written(path, n_series, samples, first or start_ts, last or start_ts, time.perf_counter() - t0)


def write_run(
    path: Path,
    frames: Iterable[tuple[float, list[Family]]],
    scenario: str,
    run: str,
    anchor: str | None,
    sim_end_s: float,
    host_series: bool = True,
) -> Written:
    """A run's frames as OpenMetrics placed in wall time by ``anchor`` (see :func:`parse_anchor`; a bad one
    is an :class:`AnchorError`), without the per-host view unless ``host_series``: what ``cloudsim run
    --openmetrics`` and ``cloudsim export openmetrics`` write."""
    start = parse_anchor(anchor, sim_end_s)
    if not host_series:
        frames = [(t, without_host_series(f)) for t, f in frames]
    return write(path, frames, scenario, run, start)


#: The latest simulated time a run's metrics may hold: a century (its wall-clock timestamps must be dates).
MAX_SIM_S = 100 * 365.25 * 86400


def frames_from_run_dir(run_dir: Path) -> tuple[dict[str, Any], list[tuple[float, list[Family]]]]:
    """The summary and the per-tick families of a run directory (``summary.json`` + ``metrics.jsonl``). A
    missing file is a ``FileNotFoundError``, a file that is not what ``cloudsim run --out`` writes a
    ``ValueError``; each message is one line naming the file (and the line of ``metrics.jsonl``)."""
    from cloudsim.metrics.recorder import Snapshot

    summary_path, metrics_path = run_dir / "summary.json", run_dir / "metrics.jsonl"
    for p in (summary_path, metrics_path):
        if not p.is_file():
            raise FileNotFoundError(
                f"RUN_DIR: no {p.name} in {str(run_dir)!r} (write a run with cloudsim run --out DIR)"
            )
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:  # (UnicodeDecodeError is a ValueError)
        raise ValueError(f"RUN_DIR: {str(summary_path)!r} is not JSON ({exc})") from None
    named = isinstance(summary, dict) and all(isinstance(summary.get(k), str) for k in ("scenario", "run"))
    if not named or not isinstance(summary.get("policy", ""), str):
        raise ValueError(
            f"RUN_DIR: {str(summary_path)!r} is not a cloudsim run summary "
            "(a JSON object whose 'scenario', 'run' and 'policy' are names)"
        )
    try:
        lines = metrics_path.read_text(encoding="utf-8").splitlines()
    except ValueError:
        raise ValueError(f"RUN_DIR: {str(metrics_path)!r} is not UTF-8 text") from None
    frames: list[tuple[float, list[Family]]] = []
    last = 0.0
    for number, line in enumerate(lines, start=1):
        try:
            snap = Snapshot.from_json(json.loads(line))
            if not last <= snap.time_s <= MAX_SIM_S:
                raise ValueError(f"'time_s' {snap.time_s!r} is not a simulated time from the line before's on")
        except ValueError as exc:
            raise ValueError(f"RUN_DIR: {str(metrics_path)!r} line {number}: {exc}") from None
        last = snap.time_s
        frames.append((snap.time_s, run_families(snap, summary.get("policy", ""))))
    return summary, frames
