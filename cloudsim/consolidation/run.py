"""Running a trace-driven consolidation scenario: scenario -> engine configuration, summary, time series."""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cloudsim.consolidation.detectors import Detector
from cloudsim.consolidation.engine import Config, DataCenter, HostType, PreCopy, Result, VmType
from cloudsim.consolidation.trace import Trace, read_planetlab
from cloudsim.metrics.families import host_detail_values
from cloudsim.scenario.schema import Scenario
from cloudsim.virt import VirtMode
from cloudsim.virt.profiles import host_reserve_mib, profile_for, resolve_profiles

#: Time-series columns written to timeseries.csv.
TIMESERIES = ("t_s", "active_hosts", "power_w", "energy_kwh", "migrations", "vms")


def host_order(sc: Scenario) -> tuple[int, ...]:
    """The host-group index of each host: round robin over the groups (``interleaved``, CloudSim's
    ``i % 2``) or one group after another (``grouped``)."""
    counts = [g.count for g in sc.hosts]
    assert sc.consolidation is not None
    if sc.consolidation.host_order == "grouped":
        return tuple(k for k, c in enumerate(counts) for _ in range(c))
    out: list[int] = []
    left = list(counts)
    while any(left):
        for k in range(len(left)):
            if left[k]:
                out.append(k)
                left[k] -= 1
    return tuple(out)


def build(sc: Scenario, trace: Trace | None = None) -> tuple[Config, Trace]:
    """The engine configuration and the trace of a consolidation scenario (validated by the loader)."""
    c, tr = sc.consolidation, sc.workload.trace
    assert c is not None and tr is not None and tr.path is not None
    trace = trace or read_planetlab(tr.path, tr.limit)
    mode = None if tr.mode == "none" else VirtMode(tr.mode)
    cpu_overhead = 0.0
    mem_extra: Callable[[float], float] | None = None
    reserve = [0.0] * len(sc.hosts)
    if mode is not None:
        profiles = resolve_profiles({m: {h: o.values() for h, o in by.items()} for m, by in sc.overheads.items()})
        hv = sc.hosts[0].hypervisor
        prof = profile_for(profiles, mode, hv.type, hv.product)
        cpu_overhead = prof.cpu_fraction(tr.kernel_intensity)
        mem_extra = lambda mib: prof.memory_overhead_mib(mib, 1)  # noqa: E731
        reserve = [
            host_reserve_mib(g.hypervisor.product, g.memory_gib * 1024, mode is VirtMode.CONTAINER) for g in sc.hosts
        ]
    host_types = tuple(
        HostType(
            g.name,
            g.cpu.cores,
            g.cpu.mips_per_core,
            g.memory_gib * 1024 - reserve[k],
            c.host_bandwidth_gbps * 1_000_000,
            g.power.curve_w(),
        )
        for k, g in enumerate(sc.hosts)
    )
    vm_types = tuple(VmType(v.name, v.mips, v.memory_mib, v.bandwidth_mbps * 1000) for v in tr.vm_types)
    cfg = Config(
        allocation=c.allocation,
        detector=Detector(c.detector, c.safety, c.compat) if c.allocation == "migrate" else None,
        selection=c.selection,
        hosts=sum(g.count for g in sc.hosts),
        host_types=host_types,
        host_type_of=host_order(sc),
        vm_types=vm_types,
        interval_s=sc.tick,
        limit_s=sc.duration,
        migration=c.migration,
        precopy=PreCopy(),
        wake=c.wake,
        retarget=c.retarget,
        cpu_overhead=cpu_overhead,
        memory_overhead_mb=mem_extra,
        seed=sc.seed,
    )
    return cfg, trace


def policy_label(sc: Scenario) -> str:
    c = sc.consolidation
    assert c is not None
    if c.allocation != "migrate":
        return c.allocation.upper()
    label = f"{c.detector.upper()}-{c.selection.upper()}-{c.safety:g}"
    if c.wake == "last-resort" or not c.retarget:
        label += " (ours)" if c.wake == "last-resort" and not c.retarget else f" (wake {c.wake}, retarget {c.retarget})"
    return label


def summarize(sc: Scenario, run_id: str, res: Result, trace: Trace, wall_s: float, interrupted: bool) -> dict[str, Any]:
    c, tr = sc.consolidation, sc.workload.trace
    assert c is not None and tr is not None
    out: dict[str, Any] = {
        "scenario": sc.name,
        "run": run_id,
        "kind": "consolidation",
        "policy": policy_label(sc),
        "seed": sc.seed,
        "backend": "local",
        "trace": {"path": tr.path, "vms": trace.vms, "mode": tr.mode},
        "duration_s": sc.duration,
        **res.summary(),
        "wall_s": round(wall_s, 3),
    }
    if interrupted:
        out["interrupted"] = True
    return out


def run_scenario(
    sc: Scenario,
    run_id: str,
    on_step: Callable[[DataCenter, float], None] | None = None,
    trace: Trace | None = None,
) -> tuple[dict[str, Any], list[tuple[float, ...]], list[dict[str, Any]]]:
    """Run a consolidation scenario: (summary, time-series rows, per-step metric values). ``on_step`` runs
    after each step's values are in ``dc.history``. Ctrl-C stops it and keeps what was computed (the
    summary then says ``interrupted``)."""
    wall0 = time.perf_counter()
    cfg, trace = build(sc, trace)
    dc = DataCenter(cfg, trace)
    dc.host_names = host_names(sc)
    history = dc.history

    def step(d: DataCenter, t: float) -> None:
        history.append(snapshot(d, t, time.perf_counter() - wall0))
        if on_step is not None:
            on_step(d, t)

    interrupted = False
    try:
        res = dc.run(step)
    except KeyboardInterrupt:
        interrupted = True
        res = dc.partial_result()
    summary = summarize(sc, run_id, res, trace, time.perf_counter() - wall0, interrupted)
    return summary, timeseries(dc), history


def timeseries(dc: DataCenter) -> list[tuple[float, ...]]:
    tl = dc.timeline
    return [
        (t, a, p, e, m, v)
        for t, a, p, e, m, v in zip(
            tl["t"], tl["active_hosts"], tl["power_w"], tl["energy_kwh"], tl["migrations"], tl["vms"], strict=True
        )
    ]


def host_names(sc: Scenario) -> list[str]:
    """``<group>-<k>`` for each host, in host order."""
    seen = [0] * len(sc.hosts)
    out = []
    for k in host_order(sc):
        out.append(f"{sc.hosts[k].name}-{seen[k]}")
        seen[k] += 1
    return out


def write(out_dir: Path, summary: dict[str, Any], rows: list[tuple[float, ...]], history: list[dict[str, Any]]) -> None:
    """``summary.json``, ``timeseries.csv`` and ``metrics.jsonl`` (the per-step metric values)."""
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    with (out_dir / "metrics.jsonl").open("w", encoding="utf-8") as f:
        for h in history:
            f.write(json.dumps(h) + "\n")
    with (out_dir / "timeseries.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(TIMESERIES)
        for r in rows:
            w.writerow([round(x, 6) if isinstance(x, float) and not math.isnan(x) else x for x in r])


def snapshot(dc: DataCenter, t: float, wall_s: float) -> dict[str, float]:
    """Live values for the metrics endpoint."""
    u = dc.util_mips / dc.total
    active = u > 0
    names = dc.host_names or [f"host-{i}" for i in range(dc.H)]
    buckets, top = host_detail_values(u[active], np.asarray(names)[active])
    vms = int((dc.host_of >= 0).sum())
    res = dc.partial_result()
    return {
        "time_s": t,
        "wall_s": wall_s,
        "hosts_active": float(active.sum()),
        "hosts_total": float(dc.H),
        "vms": float(vms),
        "consolidation_ratio": vms / active.sum() if active.any() else 0.0,
        "cpu_utilization": float(u[active].mean()) if active.any() else 0.0,
        "power_w": dc.timeline["power_w"][-1] if dc.timeline["power_w"] else 0.0,
        "energy_j": dc.energy_ws,
        "migrations": float(dc.migrations),
        "shutdowns": float(res.shutdowns),
        "slatah": res.slatah,
        "pdm": res.pdm,
        "slav": res.slav,
        "esv": res.esv,
        "overall": res.overall_sla_violation,
        "active_hosts_mean": float(np.mean(dc.timeline["active_hosts"])) if dc.timeline["active_hosts"] else 0.0,
        "host_buckets": buckets,
        "top_hosts": top,
    }
