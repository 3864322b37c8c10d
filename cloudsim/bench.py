"""Benchmarks of the engine. ``cloudsim bench consolidation``: built-in consolidation scenarios over
PlanetLab day folders, and how a policy compares with the best of CloudSim's reference policies on each
day. ``cloudsim bench sim``: CPU time of runs side by side in one process (local and Ray backends, grains,
a synthetic data centre)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cloudsim import engine
from cloudsim.scenario import load_scenario
from cloudsim.workload import read_planetlab

#: CloudSim's reference policies with a published row (Beloglazov & Buyya 2012; the reference note §3.2).
REFERENCE_POLICIES = (
    "planetlab-thr-mmt",
    "planetlab-iqr-mmt",
    "planetlab-mad-mmt",
    "planetlab-lr-mmt",
    "planetlab-lrr-mmt",
    "planetlab-lr-mc",
    "planetlab-lr-mu",
    "planetlab-lr-rs",
)
OURS = "planetlab-ours"
COLUMNS = (
    "day",
    "scenario",
    "policy",
    "energy_kwh",
    "active_hosts",
    "migrations",
    "slatah_pct",
    "pdm_pct",
    "slav_pct",
    "esv",
    "wall_s",
)


class BenchError(ValueError):
    """Bad input to the consolidation benchmark (message names the argument)."""


def days_in(data_dir: Path | None, days: Iterable[str] | None) -> list[Path]:
    """The day folders to run: ``days`` (default: all) of ``data_dir`` (default: the data cache's PlanetLab
    folder, ``cloudsim data fetch planetlab``)."""
    if data_dir is None:
        from cloudsim.data import DATASETS, cache_dir, part_dir

        data_dir = part_dir(DATASETS["planetlab"], "")
        if not data_dir.is_dir():
            raise BenchError(
                f"DATA_DIR: not given, and no PlanetLab data in the cache ({cache_dir()}); run 'cloudsim data "
                "fetch planetlab' or give the folder of day folders"
            )
    if not data_dir.is_dir():
        raise BenchError(f"DATA_DIR: no folder {str(data_dir)!r} (the PlanetLab folder with one sub-folder per day)")
    found = sorted(p for p in data_dir.iterdir() if p.is_dir())
    if days:
        names = {p.name: p for p in found}
        missing = [d for d in days if d not in names]
        if missing:
            raise BenchError(f"--days: no day {missing[0]!r} in {data_dir}; days: {', '.join(names)}")
        return [names[d] for d in days]
    if not found:
        raise BenchError(f"DATA_DIR: {str(data_dir)!r} holds no day folders")
    return found


def one(sc: Any, day_name: str, trace: Any = None) -> dict[str, Any]:
    """Run one (day, scenario) pair; a benchmark row."""
    s, _ = engine.run(sc, run_id=f"{sc.name}-{day_name}", trace=trace)
    return {
        "day": day_name,
        "scenario": sc.name,
        "policy": s["policy"],
        "energy_kwh": s["energy_kwh"],
        "active_hosts": s["hosts"]["active_mean"],
        "migrations": s["migrations"],
        "slatah_pct": s["sla"]["slatah_pct"],
        "pdm_pct": s["sla"]["pdm_pct"],
        "slav_pct": s["sla"]["slav_pct"],
        "esv": s["esv"],
        "wall_s": s["wall_time_s"],
    }


def run(
    data_dir: Path | None,
    scenarios: list[str],
    days: Iterable[str] | None = None,
    overrides: Iterable[str] = (),
    tick: Callable[[dict[str, Any]], None] | None = None,
    parallel: Callable[[list[tuple[Any, str]], Callable[[dict[str, Any]], None] | None], list] | None = None,
) -> list[dict[str, Any]]:
    """One row per (day, scenario), in that order, over the day folders of ``data_dir`` (default: the
    data cache's). ``parallel`` (``distributed.sweep``) runs the pairs as
    Ray tasks across a cluster instead of one after another here; the rows are the same."""
    chosen = days_in(data_dir, days)
    jobs = []
    for day in chosen:
        for name in scenarios:
            sc, _ = load_scenario(name, [f"workload.trace.path={day}", *overrides])
            jobs.append((sc, day.name))
    if parallel is not None:
        return parallel(jobs, tick)
    rows = []
    traces: dict[str, Any] = {}
    for k, (sc, day_name) in enumerate(jobs):
        if day_name not in traces:  # read each day once
            traces = {day_name: read_planetlab(next(d for d in chosen if d.name == day_name))}
        if k == 0:  # (the first row's wall time without the kernels' loading, as the others')
            warm_up([(sc, traces[day_name])])
        row = one(sc, day_name, traces[day_name])
        rows.append(row)
        if tick is not None:
            tick(row)
    return rows


def compare(rows: list[dict[str, Any]], ours: str = OURS) -> list[dict[str, Any]]:
    """Per day: our ESV against the lowest ESV of the reference policies that ran."""
    out = []
    for day in dict.fromkeys(r["day"] for r in rows):
        mine = [r for r in rows if r["day"] == day and r["scenario"] == ours]
        refs = [r for r in rows if r["day"] == day and r["scenario"] in REFERENCE_POLICIES]
        if not mine or not refs:
            continue
        best = min(refs, key=lambda r: r["esv"])
        m = mine[0]
        out.append(
            {
                "day": day,
                "best_reference": best["policy"],
                "best_esv": best["esv"],
                "ours_esv": m["esv"],
                "esv_change_pct": 100 * (m["esv"] / best["esv"] - 1) if best["esv"] else float("nan"),
                "ours_energy_kwh": m["energy_kwh"],
                "best_energy_kwh": best["energy_kwh"],
                "ours_slav_pct": m["slav_pct"],
                "best_slav_pct": best["slav_pct"],
            }
        )
    return out


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)


# -------------------------------------------------------------------------------------------- bench sim

#: The synthetic data centre of ``bench sim``: two host types (Type 1 KVM, Type 2 VirtualBox), four guest
#: classes in three modes, spread by worst fit and consolidated with LR-MMT (``planetlab-ours``' rules).
SYNTHETIC_CLASSES = [
    {"name": "web", "weight": 5, "mode": "container", "os": "linux", "vcpus": 2, "memory_gib": 2,
     "cpu_utilization": {"distribution": "uniform", "low": 0.05, "high": 0.7}},
    {"name": "api", "weight": 3, "mode": "para", "os": "linux", "vcpus": 2, "memory_gib": 4,
     "cpu_utilization": {"distribution": "normal", "mean": 0.35, "std": 0.2}},
    {"name": "db", "weight": 2, "mode": "para", "os": "linux", "vcpus": 4, "memory_gib": 16,
     "cpu_utilization": {"distribution": "uniform", "low": 0.2, "high": 0.8}},
    {"name": "legacy", "weight": 1, "mode": "full_hw", "os": "windows", "vcpus": 4, "memory_gib": 8,
     "cpu_utilization": {"distribution": "uniform", "low": 0.1, "high": 0.5}},
]  # fmt: skip


def synthetic_datacenter(
    hosts: int,
    guests: int,
    duration: str = "1d",
    churn_days: float = 0.0,
    policy: str = "worst-fit",
    max_memory_gib: float | None = None,
) -> Any:
    """A synthetic data centre of ``hosts`` hosts (80 % KVM, 20 % VirtualBox) with ``guests`` guests there
    at the start, consolidated every 5 minutes. With ``churn_days`` > 0 the guests live that long on average
    (exponential) and Poisson arrivals at ``guests / churn_days`` keep the population steady: arrivals,
    departures and consolidation together, the underload pass bounded as a large data centre would run it.
    ``policy``: the placement policy (the default spreads the guests,
    so consolidation has work from the first tick); ``max_memory_gib``: the memory the run may need, as
    ``--max-memory``."""
    from cloudsim.scenario import validate

    workload: dict[str, Any] = {"arrivals": {"process": "batch", "count": guests, "at": 0}}
    bounds: dict[str, Any] = {}
    if churn_days > 0:
        # the scalable consolidation of a data centre: empty only hosts under 30 % CPU, start at most one
        # migration per 100 hosts per step (CloudSim's unbounded pass searches every host for every host)
        bounds = {"underload_below": 0.3, "max_migrations": max(10, hosts // 100)}
        workload = {
            "arrivals": {"process": "poisson", "initial": guests, "rate_per_hour": guests / (24 * churn_days)},
            "lifetime": {"distribution": "exponential", "mean": churn_days * 86400},
        }

    kvm = max(1, hosts * 4 // 5)
    groups = [
        {"name": "kvm", "count": kvm, "cpu": {"cores": 16, "mips_per_core": 2600}, "memory_gib": 128,
         "hypervisor": {"type": "type1", "product": "kvm"}, "power": {"model": "specpower", "table": "P11"}},
        {"name": "desk", "count": max(1, hosts - kvm), "cpu": {"cores": 8, "mips_per_core": 3000}, "memory_gib": 64,
         "hypervisor": {"type": "type2", "product": "virtualbox", "host_os": "linux"},
         "power": {"model": "specpower", "table": "P4"}},
    ]  # fmt: skip
    return validate(
        {
            "name": f"synthetic-{hosts}-hosts-{guests}-guests" + (f"-churn-{churn_days:g}d" if churn_days > 0 else ""),
            "seed": 1,
            "duration": duration,
            "tick": "5m",
            "hosts": groups if hosts > 1 else groups[:1],
            "workload": {**workload, "classes": SYNTHETIC_CLASSES},
            "placement": {"policy": policy, "overcommit": {"cpu": 2.0, "memory": 1.0}},
            "consolidation": {
                "detector": "lr",
                "safety": 1.2,
                "selection": "mmt",
                "migration": "precopy",
                "host_order": "grouped",
                "host_bandwidth_gbps": 10,
                "wake": "last-resort",
                "retarget": False,
                **bounds,
            },
        },
        max_memory_gib,
    )


def warm_up(cases: Iterable[tuple[Any, Any]], ticks: int = 24) -> None:
    """Run each (scenario, trace) of ``cases`` for its first ``ticks`` ticks locally, untimed. The first run in a
    process loads the engine's compiled kernels from numba's cache (about 0.4 s of CPU), which no timed run
    should count: the first row would pay it and the rows after would not. A small scenario of each kind warms
    them for all sizes when it runs twice: as it is, and with the work done beside from its first row (a large
    shard's paths, which run from ``BESIDE_ROWS`` rows: a first run after an install compiled them inside the
    first timed row that large, 7.3 s of CPU against 3.4 at 10,000 hosts)."""
    from cloudsim.engine import LocalBackend, Simulation, simulation
    from cloudsim.model import shard

    threshold = shard.BESIDE_ROWS
    try:
        for beside_from in (threshold, 0):
            shard.BESIDE_ROWS = simulation.BESIDE_ROWS = beside_from
            for sc, trace in cases:
                short = sc.model_copy(update={"duration": min(sc.duration, ticks * sc.tick)})
                Simulation(short, LocalBackend(), trace=trace).run()
    finally:
        shard.BESIDE_ROWS = simulation.BESIDE_ROWS = threshold


def time_run(
    sc: Any,
    backend: Any,
    trace: Any = None,
    grain: int | str | None = None,
    progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Run a scenario once and measure it: the driver's CPU seconds, the actors' during the run and their
    worker processes' start-up before it (Ray), the wall time. ``cpu_s`` = driver + actors during the run.
    ``progress(done_s)``: told the simulated time at each tick."""
    import time

    from cloudsim.engine import Simulation

    wall0, cpu0 = time.perf_counter(), time.process_time()
    if grain is not None:
        sc = sc.model_copy(update={"ray": sc.ray.model_copy(update={"hosts_per_actor": grain})})
    sim = Simulation(sc, backend, trace=trace)
    s = sim.run(progress)
    driver = time.process_time() - cpu0
    actors = float(getattr(backend, "actor_cpu_s", 0.0))
    startup = float(getattr(backend, "actor_startup_cpu_s", 0.0))
    return {
        "scenario": sc.name,
        "hosts": s["hosts"]["total"] if trace is None else 0,
        "backend": s["backend"],
        "hosts_per_shard": sim.hosts_per_shard,
        "actors": s["actors"],
        "driver_cpu_s": round(driver, 2),
        "actor_cpu_s": round(actors, 2),
        "actor_startup_cpu_s": round(startup, 2),
        "cpu_s": round(driver + actors, 2),
        "wall_s": round(time.perf_counter() - wall0, 2),
        # placement decisions per second of the time spent deciding (the controller's placer)
        "decisions_per_s": round(sim.placer.decisions / sim.placer.seconds) if sim.placer.seconds else 0,
        "migrations": s["migrations"],
        "energy_kwh": s["energy_kwh"],
        # where the run's wall time went (the driver's view: on Ray, "shards" is the wait for the actors)
        **{f"{phase}_s": round(v, 2) for phase, v in sim.phase_s.items()},
    }


#: what identifies a row of ``bench sim`` across its rounds (``--repeat``)
ROW_KEY = ("scenario", "backend", "hosts_per_shard", "actors")


def ratios(rows: list[dict[str, Any]]) -> None:
    """Each row's ``cpu_ratio`` and ``wall_ratio``, in place: its CPU and wall seconds against those of the first
    row of the same scenario in the same round (``run``), the runs that were side by side."""
    first: dict[tuple[str, int], dict[str, Any]] = {}
    for r in rows:
        ref = first.setdefault((r["scenario"], r["run"]), r)
        for m in ("cpu", "wall"):
            r[f"{m}_ratio"] = round(r[f"{m}_s"] / ref[f"{m}_s"], 2) if ref[f"{m}_s"] else float("nan")


def medians(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per :data:`ROW_KEY`, in the order first seen: the median of each number over the rounds (the
    ratios too: the median of each round's, not a ratio of medians), with ``runs`` and the wall time's range
    (``wall_min_s``, ``wall_max_s``)."""
    import statistics

    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in ROW_KEY), []).append(r)
    out = []
    for group in groups.values():
        row = dict(group[0])
        for k, v in row.items():
            if k not in ROW_KEY and k != "run" and isinstance(v, int | float) and not isinstance(v, bool):
                m = statistics.median(g[k] for g in group)
                row[k] = round(m, 2) if isinstance(m, float) else m
        walls = [g["wall_s"] for g in group]
        row.update(runs=len(group), wall_min_s=min(walls), wall_max_s=max(walls))
        out.append(row)
    return out


def growth(points: list[tuple[int, float]]) -> list[tuple[int, int, float]]:
    """(from hosts, to hosts, k) between consecutive sizes, with time ∝ hosts^k: how a measure grows."""
    import itertools
    import math

    pts = sorted(p for p in points if p[1] > 0)
    return [(a, b, math.log(tb / ta) / math.log(b / a)) for (a, ta), (b, tb) in itertools.pairwise(pts) if b > a]


def overall_growth(points: list[tuple[int, float]]) -> float | None:
    """k of the least-squares fit of log time on log hosts over every size (None under three sizes)."""
    import math

    pts = [(math.log(h), math.log(t)) for h, t in points if h > 0 and t > 0]
    if len({x for x, _ in pts}) < 3:
        return None
    mx, my = sum(x for x, _ in pts) / len(pts), sum(y for _, y in pts) / len(pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)
