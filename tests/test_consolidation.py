"""Trace-driven consolidation: detectors and selection by hand, the trace reader, the engine on small
hand-made traces, the CLI, and (with ../shared) a 2-hour slice of the PlanetLab day CloudSim uses."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from cloudsim import engine
from cloudsim.api import WALL_CLOCK
from cloudsim.cli import main
from cloudsim.engine import LocalBackend, Simulation
from cloudsim.model import PreCopy, power_w
from cloudsim.model.interpolation import interpolate_rows
from cloudsim.placement import kernels
from cloudsim.placement.consolidation import Consolidator, Settings
from cloudsim.placement.detectors import HISTORY, Detector, max_correlation_r2
from cloudsim.scenario import load_scenario
from cloudsim.scenario.schema import SPECPOWER_TABLES
from cloudsim.workload import TraceError, read_planetlab
from tests.conftest import SHARED_DATA
from tests.helpers import same_run_json

PLANETLAB_DAY = SHARED_DATA / "planetlab" / "20110303"


def hist_rows(*rows: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Host histories (newest first) padded to 30 samples, and their lengths."""
    out = np.zeros((len(rows), 30))
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out, np.array([len(r) for r in rows])


# ------------------------------------------------------------------------------------------ detectors


def test_iqr_uses_cloudsim_quartile_indices():
    # n = 12: q1 = sorted[round(3.25) - 1] = sorted[2], q3 = sorted[round(9.75) - 1] = sorted[9]
    data = [0.12, 0.01, 0.11, 0.02, 0.10, 0.03, 0.09, 0.04, 0.08, 0.05, 0.07, 0.06]
    h, n = hist_rows(data)
    assert kernels.iqr(h[0], n[0]) == pytest.approx(0.10 - 0.03)
    h, n = hist_rows(data[:11])  # n = 11: q1 = sorted[round(3) - 1] = sorted[2], q3 = sorted[round(9) - 1]
    assert kernels.iqr(h[0], n[0]) == pytest.approx(0.10 - 0.03)


def test_mad_by_hand():
    h, n = hist_rows([1.0, 2.0, 3.0, 4.0, 100.0], [1.0, 2.0, 3.0, 4.0])
    # median 3, |x - 3| = 2 1 0 1 97 -> median 1; even: median 2.5, |x - 2.5| = 1.5 .5 .5 1.5 -> 1.0
    assert [kernels.mad(h[i], n[i]) for i in range(2)] == pytest.approx([1.0, 1.0])


def test_local_regression_predicts_one_interval_ahead():
    # newest first: 0.5, 0.45, ..., 0.05 is y = 0.05 x at x = 10..1; the line gives 0.55 at x = 11
    slow = [0.05 * (10 - j) for j in range(10)]
    fast = [0.08 * (10 - j) for j in range(10)]
    h, n = hist_rows(slow, fast)
    assert [kernels.lr_predict(h[i]) for i in range(2)] == pytest.approx([0.55, 0.88])
    det = Detector("lr", 1.2)
    # 1.2 x 0.55 = 0.66 < 1; 1.2 x 0.88 = 1.056 >= 1
    assert list(det.overloaded(np.array([0.5, 0.8]), h, n)) == [False, True]


def test_short_histories_fall_back_to_a_threshold_of_0_7():
    h, n = hist_rows([0.9] * 9, [0.9] * 9)  # fewer than 10 (LR) or 12 (IQR, MAD) samples
    req = np.array([0.71, 0.69])
    for name in ("lr", "lrr", "iqr", "mad"):
        assert list(Detector(name, 1.5).overloaded(req, h, n)) == [True, False], name


def test_static_threshold_is_strict():
    h, n = hist_rows([], [])
    assert list(Detector("thr", 0.8).overloaded(np.array([0.8, 0.8000001]), h, n)) == [False, True]


def test_iqr_and_mad_thresholds():
    data = [0.12, 0.01, 0.11, 0.02, 0.10, 0.03, 0.09, 0.04, 0.08, 0.05, 0.07, 0.06]
    h, n = hist_rows(data, data)
    det = Detector("iqr", 1.5)  # upper threshold 1 - 1.5 x 0.07 = 0.895
    assert list(det.overloaded(np.array([0.89, 0.90]), h, n)) == [False, True]


def test_robust_regression_resists_one_spike():
    line = [0.05 * (10 - j) for j in range(10)]
    spiked = list(line)
    spiked[4] = 0.95  # one outlier in the middle of the window
    h, _ = hist_rows(spiked)
    assert abs(kernels.lrr_predict(h[0]) - 0.55) < abs(kernels.lr_predict(h[0]) - 0.55)
    assert kernels.lrr_predict(h[0]) == pytest.approx(0.55, abs=0.02)
    # in CloudSim 3.0.3 compatibility LRR fits like LR
    assert Detector("lrr", 1.2, compat=True).code == (kernels.LR, 1.2)
    assert Detector("lrr", 1.2, compat=False).code == (kernels.LRR, 1.2)


def test_histories_keep_the_newest_samples_and_the_whole_windows_length():
    """A history keeps only the samples the detector reads, in a ring that goes round many times here, but its
    length is the whole window's: up to the oldest non-zero sample of the last 30 (guests often draw 0 and come
    and go)."""
    rng = np.random.default_rng(4)
    guests, width = 12, 10
    hist, hist_len, nonzero = (
        np.zeros((guests, width)),
        np.zeros(guests, dtype=np.int64),
        np.zeros(guests, dtype=np.int64),
    )
    full = np.zeros((guests, 30))  # the whole window, newest first
    req, vm_mips, rec, scale = np.zeros(guests), rng.random(guests), np.zeros((guests, 4)), rng.uniform(1, 1.5, guests)
    tracked = reported = np.zeros(0, dtype=np.int64)
    newest = 0
    for _ in range(70):
        ids = np.flatnonzero(rng.random(guests) < 0.7)
        util = np.where(rng.random(len(ids)) < 0.4, 0.0, rng.random(len(ids)))
        req_now = rng.random(len(ids))
        rows = np.flatnonzero((hist_len > 0) | np.isin(np.arange(guests), ids))  # the rows that change
        newest = (newest - 1) % width
        tracked = kernels.observe(hist, newest, hist_len, nonzero, 30, tracked, reported, ids, util, scale, req_now,
                                  req, vm_mips, rec)  # fmt: skip
        reported = ids
        assert np.array_equal(tracked, np.flatnonzero(hist_len > 0))
        want_req = np.zeros(guests)
        want_req[ids] = req_now
        assert np.array_equal(req, want_req)  # the last report's requests, and 0 for the others
        # the rows' records: request, newest sample, MIPS, history length
        assert np.array_equal(
            rec[rows], np.column_stack([req[rows], hist[rows, newest], vm_mips[rows], hist_len[rows]])
        )
        full[:, 1:] = full[:, :-1].copy()
        full[:, 0] = 0.0
        full[ids, 0] = util * scale[ids]
        want = [int(np.flatnonzero(row)[-1]) + 1 if row.any() else 0 for row in full]
        assert hist_len.tolist() == want
        assert np.array_equal(hist[:, (newest + np.arange(width)) % width], full[:, :width])  # newest first


def test_maximum_correlation_needs_more_samples_than_vms():
    assert max_correlation_r2(np.random.default_rng(0).random((3, 3))) is None
    x = np.random.default_rng(1).random((2, 20))
    hist = np.vstack([x[0] + x[1], x])  # VM 0 is exactly the sum of the others
    r2 = max_correlation_r2(hist)
    assert r2 is not None and r2[0] == pytest.approx(1.0) and r2[0] == r2.max()


# ----------------------------------------------------------------------------------------- power, migration


def test_specpower_interpolates_between_deciles():
    table = np.array([SPECPOWER_TABLES["P1"][1]])  # HP ProLiant ML110 G4
    # 13.44 % on the G4: 89.4 + (92.6 - 89.4) x 0.344 = 90.5008 W
    assert power_w(table, np.array([0.1344]))[0] == pytest.approx(90.5008)
    assert power_w(np.repeat(table, 3, axis=0), np.array([0.0, 1.0, 1.3])).tolist() == [86, 117, 117]


def test_precopy_matches_the_calibration_checks():
    # note §5b: 1 GB at 125 MB/s with 25 MB/s dirtied: about 10.2 s in all, 76 ms of downtime
    total, down = PreCopy(dirty_rate_mb_s=25.0, wws_hot_fraction=0.0).duration(1024, 125.0)
    assert total == pytest.approx(10.2, abs=0.1)
    assert down == pytest.approx(0.076, abs=0.01)
    # never converging (dirtying faster than sending) stops at 3 x RAM sent
    total, down = PreCopy(dirty_rate_mb_s=200.0).duration(1024, 125.0)
    assert down > 3 and math.isfinite(total)


# ------------------------------------------------------------------------------------------------- trace


def write_trace(folder: Path, rows: dict[str, list[int]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, values in rows.items():
        (folder / name).write_text("".join(f"{v}\n" for v in values))
    return folder


def test_trace_reader_sorts_names_and_repeats_the_last_sample(tmp_path):
    d = write_trace(tmp_path / "day", {"b_vm": [10] * 288, "a_vm": [i % 100 for i in range(288)], "c vm": [0] * 288})
    tr = read_planetlab(d)
    assert tr.names == ("a_vm", "b_vm", "c vm")
    assert tr.util.shape == (3, 289)
    assert tr.util[0, 288] == tr.util[0, 287] == 0.87
    # between samples 1 (0.01) and 2 (0.02), 0.1 s past the first: CloudSim's linear interpolation
    assert interpolate_rows(tr.util, [0], 300.1)[0] == pytest.approx(0.01 + 0.01 * 0.1 / 300)
    assert interpolate_rows(tr.util, [0], 600.0)[0] == 0.02


@pytest.mark.parametrize(
    ("rows", "fragment"),
    [({"x": [1] * 10}, "10 samples"), ({"x": ["a"] * 288}, "not a PlanetLab trace"), ({"x": [101] * 288}, "percent")],
)
def test_trace_reader_errors_name_the_file(tmp_path, rows, fragment):
    d = write_trace(tmp_path / "day", rows)
    with pytest.raises(TraceError, match=fragment):
        read_planetlab(d)
    with pytest.raises(TraceError, match="no trace folder"):
        read_planetlab(tmp_path / "missing")


# ------------------------------------------------------------------------------------------------ engine


def tiny_day(tmp_path: Path, n: int = 24, seed: int = 3) -> Path:
    """A small random day: n VMs, bursty utilization with zero stretches like PlanetLab's."""
    rng = np.random.default_rng(seed)
    rows = {}
    for i in range(n):
        base = rng.integers(0, 40)
        vals = np.clip(base + rng.normal(0, 15, 288).cumsum() * 0.2, 0, 99).astype(int)
        vals[rng.random(288) < 0.1] = 0
        rows[f"vm{i:03d}"] = vals.tolist()
    return write_trace(tmp_path / "tiny", rows)


def trace_scenario(day: Path, *overrides: str, hosts: int = 6, duration: str = "6h"):
    """planetlab-lr-mmt on ``day`` with 2 x ``hosts`` hosts for ``duration``, plus ``--set`` overrides."""
    sc, _ = load_scenario(
        "planetlab-lr-mmt",
        [f"workload.trace.path={day}", f"duration={duration}", f"hosts[0].count={hosts}", f"hosts[1].count={hosts}",
         *overrides],
    )  # fmt: skip
    return sc


def run(sc, backend=None, hooks=()):
    sim = Simulation(sc, backend or LocalBackend())
    sim.tick_hooks.extend(hooks)
    return sim.run(), sim


def test_one_vm_at_constant_load_draws_the_table_power(tmp_path):
    d = write_trace(tmp_path / "flat", {"vm": [50] * 288})
    sc = trace_scenario(d, "consolidation.allocation=dvfs", duration="2h", hosts=1)
    sc.hosts = sc.hosts[:1]
    sc.workload.trace.vm_types = [sc.workload.trace.vm_types[2].model_copy(update={"mips": 1000, "memory_mib": 613})]
    s, _ = run(sc)
    # 500 of 3720 MIPS = 13.44 %: 90.5008 W (hand calculation above) from 300.1 s to the last step at 6900.1 s
    u = 500 / 3720
    watts = 89.4 + (92.6 - 89.4) * (u - 0.1) * 10
    assert s["energy_kwh"] == pytest.approx(watts * 6600 / 3.6e6, abs=1e-6)  # the summary keeps 6 decimals
    assert s["migrations"] == 0 and s["sla"]["slatah_pct"] == 0 and s["hosts"]["shutdowns"] == 0


def test_a_vm_requesting_nothing_is_finished_as_in_cloudsim(tmp_path):
    d = write_trace(tmp_path / "z", {"a": [30] * 288, "b": [30] * 3 + [0] * 285})
    s, sim = run(trace_scenario(d, "consolidation.allocation=dvfs", duration="1h", hosts=1))
    assert s["guests"]["completed"] == 1 and np.flatnonzero(sim.state.host >= 0).tolist() == [0]


def test_the_fair_model_keeps_a_vm_requesting_nothing(tmp_path):
    d = write_trace(tmp_path / "z", {"a": [30] * 288, "b": [30] * 3 + [0] * 285})
    s, sim = run(trace_scenario(d, "consolidation.allocation=dvfs", "dynamics.model=fair", duration="1h", hosts=1))
    assert s["guests"]["completed"] == 0 and np.flatnonzero(sim.state.host >= 0).tolist() == [0, 1]


def test_cloudsims_model_keeps_its_own_rule_for_a_vm_faster_than_a_core(tmp_path):
    # CloudSim (isSuitableForVm) asks that a VM's current request fit in one PE, so a 2500-MIPS VM may move to a
    # G4 host's 1860-MIPS cores while it asks for less; the rule that a vCPU is never faster than a core (README:
    # compatibility rule 5) is the other models': the G4 hosts stay open to it under cloudsim only
    from cloudsim.engine.cluster import Cluster
    from cloudsim.scenario.schema import GuestShape

    d = write_trace(tmp_path / "z", {"a": [30] * 288})
    shape = GuestShape(mode="full_hw", os="linux", vcpus=1, memory_gib=0.85, mips_per_vcpu=2500)
    for model, g4_open in (("cloudsim", True), ("fair", False)):
        g4, g5 = Cluster(trace_scenario(d, f"dynamics.model={model}", hosts=1)).costs(shape)
        assert (g4.compatible, g5.compatible) == (g4_open, True), model
        assert g4_open or "2500 MIPS is faster than this host's cores (1860 MIPS)" in g4.why


def test_a_trace_without_overheads_reports_native_devices(tmp_path):
    # mode: none (CloudSim's model) has no profile: its guests see their host's devices whole (factor 1, not 0)
    d = write_trace(tmp_path / "z", {"a": [30] * 288, "b": [50] * 288})
    s, _ = run(trace_scenario(d, "consolidation.allocation=dvfs", duration="1h", hosts=1))
    (over,) = s["overhead"].values()
    assert over["disk_seq_factor"] == over["disk_rand_factor"] == over["net_tput_factor"] == 1.0
    assert over["net_latency_add_us"] == over["boot_s"] == over["cpu_fraction"] == 0.0


def _without_wall(s: dict) -> dict:
    return {k: v for k, v in s.items() if k not in (*WALL_CLOCK, "run")}


def test_consolidation_is_deterministic_and_conserves_vms(tmp_path):
    day = tiny_day(tmp_path)
    a, _ = run(trace_scenario(day))
    b, _ = run(trace_scenario(day))
    assert _without_wall(a) == _without_wall(b)
    assert a["migrations"] > 0
    dvfs, _ = run(trace_scenario(day, "consolidation.allocation=dvfs"))
    npa, _ = run(trace_scenario(day, "consolidation.allocation=npa"))
    assert a["energy_kwh"] < dvfs["energy_kwh"] < npa["energy_kwh"]
    assert a["hosts"]["active_mean"] < dvfs["hosts"]["active_mean"]


def check_every_tick(sim: Simulation, seen: list[float]):
    """The engine's invariants at every tick, migrations in flight included, plus the consolidation view:
    each guest on one host, or on its source, its target and any first target while it migrates."""

    def hook(t: float, report) -> None:
        assert sim.check_invariants(report) == [], t
        con = sim.consolidator
        for h, vl in enumerate(con.lists):
            for v in vl:
                assert con.host_of[v] == h or con.mig_to[v] == h or (v, h) in con.ghosts
        on = sum(len(vl) for vl in con.lists)
        assert on == int((con.host_of >= 0).sum()) + int((con.mig_to >= 0).sum()) + len(con.ghosts)
        seen.append(t)

    return hook


@pytest.mark.parametrize("selection", ["mmt", "mc", "rs", "mu"])
@pytest.mark.parametrize("detector", ["thr", "iqr", "mad", "lr", "lrr"])
def test_every_policy_runs_and_keeps_hosts_consistent(tmp_path, detector, selection):
    param = {"thr": 0.8, "iqr": 1.5, "mad": 2.5, "lr": 1.2, "lrr": 1.2}[detector]
    sc = trace_scenario(
        tiny_day(tmp_path, n=16), f"consolidation.detector={detector}", f"consolidation.safety={param}",
        f"consolidation.selection={selection}", "consolidation.compat=false",
    )  # fmt: skip
    sim = Simulation(sc, LocalBackend())
    seen: list[float] = []
    sim.tick_hooks.append(check_every_tick(sim, seen))
    s = sim.run()
    assert len(seen) == s["ticks"] == 71 and s["energy_kwh"] > 0
    assert 0 <= s["sla"]["slatah_pct"] <= 100 and 0 <= s["sla"]["pdm_pct"] <= 100


@pytest.mark.parametrize("detector", ["thr", "iqr", "mad", "lr", "lrr"])
def test_the_detector_runs_on_the_hosts_with_guests_only_and_decides_as_on_every_host(tmp_path, detector, monkeypatch):
    """A step asks the detector about the hosts whose lists hold guests; every other host gets the one
    decision of an empty list. Each step's decisions are those of the detector run on every host."""
    from cloudsim.placement.consolidation import Consolidator

    param = {"thr": 0.8, "iqr": 1.5, "mad": 2.5, "lr": 1.2, "lrr": 1.2}[detector]
    seen = {"steps": 0, "empty": 0, "over": 0}
    fast = Consolidator._overloaded_all

    def checked(self):
        got = fast(self)
        assert np.array_equal(got, self._overloaded(np.arange(self.H)))
        seen["steps"] += 1
        seen["empty"] += int((~self.busy).sum())
        seen["over"] += int(got.sum())
        return got

    monkeypatch.setattr(Consolidator, "_overloaded_all", checked)
    sc = trace_scenario(
        tiny_day(tmp_path, n=16), f"consolidation.detector={detector}", f"consolidation.safety={param}"
    )  # fmt: skip
    run(sc)
    assert seen["steps"] > 60 and seen["empty"] > 0 and seen["over"] > 0


def test_migration_model_changes_durations(tmp_path):
    day = tiny_day(tmp_path)
    cs, _ = run(trace_scenario(day))
    pc, _ = run(trace_scenario(day, "consolidation.migration=precopy"))
    assert cs["downtime_total_s"] == 0 and pc["downtime_total_s"] > 0
    # RAM / (1 Gbit/s / 2) = RAM / 62.5 MB/s: between the micro (613 MB) and the 1740 MB types
    assert 613 / 62.5 <= cs["mean_migration_time_s"] <= 1740 / 62.5
    assert cs["migrations_by_mode"]["full_hw"]["count"] == cs["migrations"]


COMPACTION_RUNS = {
    # migrations that last hours (guests depart, move again and tick while migrating), and host failures (their
    # guests leave the lists, wait and are placed again with their histories)
    "failures": ("consolidation-demo", ["duration=8h", "consolidation.host_bandwidth_gbps=0.05", "faults.mtbf=6h",
                                        "faults.mttr=1h"]),
    # a guest moved again while it migrates: it passes through its first target (a ghost on that host's list)
    "ghosts": ("consolidation-demo", ["duration=1d", "consolidation.host_bandwidth_gbps=0.005",
                                      "consolidation.retarget=true"]),
    "mc": ("consolidation-demo", ["duration=6h", "consolidation.selection=mc"]),
    "rs": ("consolidation-demo", ["duration=6h", "consolidation.selection=rs"]),
    "planetlab": ("planetlab-lr-mmt", [f"workload.trace.path={PLANETLAB_DAY}", "duration=6h"]),  # (a trace)
}  # fmt: skip


@pytest.mark.parametrize("case", list(COMPACTION_RUNS))
def test_compacting_the_guests_rows_changes_nothing(case, monkeypatch):
    """The consolidation's rows of guests put side by side at every tick give the
    same run, to the bit, as rows that are the guests' ids throughout."""
    name, overrides = COMPACTION_RUNS[case]
    if case == "planetlab" and not PLANETLAB_DAY.is_dir():
        pytest.skip(f"needs the PlanetLab day {PLANETLAB_DAY} (../shared/data)")
    sc, _ = load_scenario(name, overrides)
    from cloudsim.placement import consolidation

    runs = {}
    for compact in (False, True):
        monkeypatch.setattr(consolidation, "COMPACT_FROM", 0 if compact else 1 << 40)
        monkeypatch.setattr(consolidation, "COMPACT_GROWTH", 0.0)
        sim = Simulation(sc, LocalBackend())
        problems: list[str] = []
        sim.tick_hooks.append(lambda t, r, sim=sim, problems=problems: problems.extend(sim.check_invariants(r)))
        runs[compact] = sim.run()
        con = sim.consolidator
        assert con is not None and problems == []
        assert (con.compactions > 20) if compact else con.compactions == 0
        if compact:  # every guest on a list has its row, and every row given out its guest
            rows = [r for guests in con.lists for r in guests]
            assert all(con._row[con._id[r]] == r for r in rows)
            assert (con._row[con._id[: con._rows]] == np.arange(con._rows)).all()
    assert runs[True]["migrations"] > 0
    assert same_run_json(runs[True]) == same_run_json(runs[False])


# ---------------------------------------------------------------------------------------------- scenarios


def scenario_file(tmp_path: Path, day: Path, **consolidation) -> Path:
    text = (Path(__file__).resolve().parents[1] / "cloudsim/scenario/builtin/planetlab-lr-mmt.yaml").read_text()
    data = yaml.safe_load(text)
    data["duration"] = "6h"
    data["hosts"][0]["count"] = data["hosts"][1]["count"] = 6
    data["workload"]["trace"]["path"] = str(day)
    data["consolidation"].update(consolidation)
    path = tmp_path / "sc.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_builtin_planetlab_scenarios_need_a_trace_folder_or_the_cached_day(capsys):
    for name in ("planetlab-npa", "planetlab-dvfs", "planetlab-thr-mmt", "planetlab-iqr-mmt", "planetlab-mad-mmt",
                 "planetlab-lr-mmt", "planetlab-lrr-mmt", "planetlab-lr-mc", "planetlab-lr-rs", "planetlab-lr-mu"):  # fmt: skip
        assert main(["validate", name]) == 2
        assert "workload.trace.path: PlanetLab day 20110303 is not in the cache" in capsys.readouterr().err


def test_run_cli_writes_the_summary(tmp_path, capsys):
    path = scenario_file(tmp_path, tiny_day(tmp_path))
    out = tmp_path / "run"
    assert main(["run", str(path), "--out", str(out), "--json", "--no-progress", "--backend", "local"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["kind"] == "consolidation" and summary["policy"] == "LR-MMT-1.2"
    assert set(summary["sla"]) >= {"slatah_pct", "pdm_pct", "slav_pct"}
    assert summary["esv"] == pytest.approx(
        summary["energy_kwh"] * summary["sla"]["slatah_pct"] / 100 * summary["sla"]["pdm_pct"] / 100, rel=1e-3
    )
    assert json.loads((out / "summary.json").read_text())["migrations"] == summary["migrations"]
    lines = (out / "timeseries.csv").read_text().splitlines()
    assert lines[0].startswith("time_s,") and "sla_slatah" in lines[0] and len(lines) == summary["ticks"] + 1


def test_run_cli_overrides_and_errors(tmp_path, capsys):
    path = scenario_file(tmp_path, tiny_day(tmp_path))
    assert main(["run", str(path), "--set", "consolidation.selection=best", "--no-progress"]) == 2
    assert "consolidation.selection" in capsys.readouterr().err
    assert (
        main(
            [
                "run",
                str(path),
                "--set",
                "workload.trace.mode=container",
                "--no-progress",
                "--json",
                "--backend",
                "local",
            ]
        )
        == 0
    )
    with_containers = json.loads(capsys.readouterr().out)
    assert (
        main(
            ["run", str(path), "--set", "workload.trace.mode=full_hw", "--no-progress", "--json", "--backend", "local"]
        )
        == 0
    )
    with_vms = json.loads(capsys.readouterr().out)
    assert with_vms["energy_kwh"] > with_containers["energy_kwh"]


def test_trace_scenario_runs_the_same_on_host_actors(tmp_path, capsys, ray_session):
    path = scenario_file(tmp_path, tiny_day(tmp_path))
    runs = []
    for backend in ("local", "ray"):
        assert main(["run", str(path), "--backend", backend, "--json", "--run-id", "r"]) == 0
        s = json.loads(capsys.readouterr().out)
        runs.append(same_run_json(s))
    assert runs[0] == runs[1]


def test_live_metrics_of_a_consolidation_run(tmp_path):
    from prometheus_client import generate_latest

    from cloudsim.metrics.prom import SimCollector, make_registry

    sc, _ = load_scenario(scenario_file(tmp_path, tiny_day(tmp_path)))
    col = SimCollector(sc.name, "r1", sc.placement.policy)
    engine.run(sc, run_id="r1", listeners=[col.update])
    text = generate_latest(make_registry(col)).decode()
    for name in ("cloudsim_energy_joules_total", "cloudsim_migrations_total", "cloudsim_host_shutdowns_total",
                 "cloudsim_esv", 'kind="slatah"', 'kind="pdm"', 'kind="slav"'):  # fmt: skip
        assert name in text
    assert 'run="r1"' in text


# ------------------------------------------------------------------------------------------ PlanetLab day

needs_day = pytest.mark.skipif(not PLANETLAB_DAY.is_dir(), reason=f"PlanetLab traces not found at {PLANETLAB_DAY}")


@needs_day
def test_two_hour_slice_of_the_reference_day():
    sc, _ = load_scenario("planetlab-lr-mmt", [f"workload.trace.path={PLANETLAB_DAY}", "duration=2h"])
    summary, recorder = engine.run(sc, run_id="slice")
    rows = recorder.rows
    assert summary["trace"]["vms"] == 1052
    # the reference's first-step count: 775 hosts hold a VM with a non-zero request at 300.1 s
    assert summary["hosts"]["active_initial"] == 800 and rows[0]["hosts_active"] == pytest.approx(775, abs=60)
    assert rows[-1]["hosts_active"] < 200  # consolidated within two hours
    assert summary["migrations"] > 1000


REFERENCE_20110303 = {  # ../shared/reference/cloudsim-planetlab.md §3.2 (sorted names)
    "planetlab-npa": (2410.80, 0, None, None, None),
    "planetlab-dvfs": (802.75, 0, None, None, 455),
    "planetlab-thr-mmt": (192.62, 26711, 4.913, 0.0646, 5885),
    "planetlab-iqr-mmt": (189.98, 26282, 4.823, 0.0624, 5868),
    "planetlab-mad-mmt": (185.79, 26556, 5.049, 0.0662, 5828),
    "planetlab-lr-mmt": (163.48, 27859, 5.858, 0.0793, 5053),
    "planetlab-lrr-mmt": (163.48, 27859, 5.858, 0.0793, 5053),
    "planetlab-lr-mc": (151.07, 23380, 7.006, 0.0975, 4078),
    "planetlab-lr-mu": (175.60, 30166, 8.152, 0.0752, 5632),
    "planetlab-thr-mmt consolidation.safety=1.0": (163.01, 46067, 15.987, 0.1783, 6018),
}


@pytest.mark.benchmark
@needs_day
def test_full_day_matches_cloudsim():
    """energy ±2 %, migrations ±5 %, SLATAH, PDM and shutdowns ±10 % of CloudSim 3.0.3 (the issue's targets)."""
    rows, failures = [], []
    for label_, ref in REFERENCE_20110303.items():
        name, *extra = label_.split()
        sc, _ = load_scenario(name, [f"workload.trace.path={PLANETLAB_DAY}", *extra])
        s, _ = engine.run(sc, run_id=name)
        ours = (s["energy_kwh"], s["migrations"], s["sla"]["slatah_pct"], s["sla"]["pdm_pct"], s["hosts"]["shutdowns"])
        for label, o, r, tol in zip(("energy", "migrations", "SLATAH", "PDM", "shutdowns"), ours, ref,
                                    (0.02, 0.05, 0.10, 0.10, 0.10), strict=True):  # fmt: skip
            if r is None:
                continue
            diff = (o - r) / r if r else float(o != 0)
            rows.append(f"{label_:44s} {label:10s} ours {o:>12.4f} ref {r:>12.4f} diff {100 * diff:+6.2f}%")
            if abs(diff) > tol:
                failures.append(rows[-1])
    print("\n".join(rows))
    assert not failures, failures


def test_bench_consolidation_compares_ours_with_the_references(tmp_path, capsys, monkeypatch):
    from cloudsim import bench

    warmed: list[str] = []  # the first row's scenario runs a few ticks untimed first (its wall time is a row's too)
    real_warm_up = bench.warm_up
    monkeypatch.setattr(
        bench, "warm_up", lambda cases: (warmed.extend(sc.name for sc, _ in cases), real_warm_up(cases))
    )
    root = tmp_path / "planetlab"
    for seed, day in ((1, "20990101"), (2, "20990102")):
        tiny_day(root / day, n=16, seed=seed).rename(root / day / "vms")
        for f in (root / day / "vms").iterdir():
            f.rename(root / day / f.name)
        (root / day / "vms").rmdir()
    out = tmp_path / "rows.csv"
    args = ["bench", "consolidation", str(root), "--scenario", "planetlab-iqr-mmt", "--scenario", "planetlab-ours",
            "--set", "duration=3h", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "ours against the best reference policy" in text and "IQR-MMT-1.5" in text
    rows = out.read_text().splitlines()
    assert rows[0].startswith("day,scenario,policy,energy_kwh,active_hosts") and len(rows) == 1 + 2 * 2
    assert warmed == ["planetlab-iqr-mmt"]
    assert main(["bench", "consolidation", str(root), "--days", "20990109"]) == 2
    assert "--days: no day '20990109'" in capsys.readouterr().err
    assert main(["bench", "consolidation", str(tmp_path / "none")]) == 2
    assert "DATA_DIR" in capsys.readouterr().err


def consolidator(selection: str, seed: int = 0) -> Consolidator:
    """Two hosts and eight VMs of CloudSim's types in blocks of two: 0-1 2500 MIPS/870 MiB, 2-3 2000/1740,
    4-5 1000/1740, 6-7 500/613."""
    mips = np.repeat([2500.0, 2000.0, 1000.0, 500.0], 2)
    ram = np.repeat([870.0, 1740.0, 1740.0, 613.0], 2)
    h = np.array([3720.0, 5320.0])
    ptab = np.array([SPECPOWER_TABLES["P1"][1], SPECPOWER_TABLES["P2"][1]])
    z = np.zeros(8)
    return Consolidator(Settings(Detector("lr", 1.2), selection, seed=seed), h, h / 2, ptab, np.array([0, 1]),
                        mips, np.ones(8), ram, ram, z, z, np.full(2, 1e6))  # fmt: skip


def test_selection_policies_by_hand():
    con = consolidator("mmt")
    util = np.array([0.4, 0.4, 0.3, 0.2, 0.1, 0.5, 0.05, 0.6])
    con.req = util * con.vm_mips
    # MMT: the least RAM first (613 MiB, then 870), ties (1740 MiB) in the host's list order
    assert con.shed_order([3, 2, 0, 6, 4]) == [6, 0, 3, 2, 4]
    assert con.shed_order([5, 2]) == [5, 2]
    con.cfg = Settings(None, "mu")
    assert con.shed_order([3, 2, 0, 6, 4]) == [6, 4, 3, 2, 0]  # MU: utilization 0.05, 0.1, 0.2, 0.3, 0.4
    assert con.shed_order([5, 2]) == [2, 5]  # 0.3 < 0.5
    # a long list with many ties keeps its order among them (as Python's stable sort does)
    many = [int(v) for v in np.random.default_rng(2).integers(0, 8, 40)]
    assert con.shed_order(many) == sorted(many, key=lambda v: con.req[v] / con.vm_mips[v])
    con.cfg = Settings(None, "mmt")
    assert con.shed_order(many) == sorted(many, key=lambda v: con.vm_ram[v])
    con = consolidator("rs", seed=5)
    picks = {v for _ in range(60) for v in con.shed_order([3, 2, 0, 6, 4])}
    assert picks == {0, 2, 3, 4, 6}  # one at a time; every VM on the host can be drawn
    assert con.shed_order([]) == []


def test_shedding_stops_once_the_host_is_not_overloaded():
    con = consolidator("mmt")
    con.req = np.array([0.4, 0.4, 0.3, 0.2, 0.1, 0.5, 0.05, 0.6]) * con.vm_mips * 2
    vms = np.array([3, 2, 0, 6, 4])
    order = np.array(con.shed_order(vms.tolist()))
    views = (con.S, con.A, con.R, con.HH, con.HL)
    k, rest, still = kernels.shed(0, vms, order, con.req, con.pe_mips, con.total, con.hist, con._newest,
                                  con.hist_len, con.vm_mips, *views, kernels.THR, 0.8)  # fmt: skip
    # THR 0.8 of 3720 MIPS: 4260 MIPS requested; 4200 without VM 6, 2200 without VM 0 too: no longer overloaded
    assert (k, rest.tolist(), still) == (2, [3, 2, 4], False)
    assert con.R[0] == pytest.approx(2200.0)
    k, rest, still = kernels.shed(0, vms, order[:1], con.req, con.pe_mips, con.total, con.hist, con._newest,
                                  con.hist_len, con.vm_mips, *views, kernels.THR, 0.8)  # fmt: skip
    assert (k, rest.tolist(), still) == (1, [3, 2, 0, 4], True)


def test_bench_consolidation_sweeps_as_ray_tasks_with_the_same_rows(tmp_path, capsys, ray_session):
    root = tmp_path / "planetlab"
    for seed, day in ((3, "20990103"), (4, "20990104")):
        src = tiny_day(tmp_path / day, n=12, seed=seed)
        src.rename(root / day) if root.exists() else (root.mkdir(), src.rename(root / day))
    rows = {}
    for backend in ("local", "ray"):
        out = tmp_path / f"{backend}.csv"
        args = ["bench", "consolidation", str(root), "--scenario", "planetlab-lr-mmt", "--scenario", "planetlab-ours",
                "--set", "duration=2h", "--backend", backend, "--out", str(out)]  # fmt: skip
        assert main(args) == 0
        capsys.readouterr()
        lines = out.read_text().splitlines()
        rows[backend] = [",".join(line.split(",")[:-1]) for line in lines]  # wall_s aside
    assert rows["local"] == rows["ray"] and len(rows["local"]) == 1 + 4


def test_the_underload_pass_can_be_bounded():
    """underload_below: only hosts under that CPU share are emptied (0: none); max_migrations: no step starts
    more; the defaults are CloudSim's unbounded pass."""
    from cloudsim.engine import LocalBackend, Simulation
    from cloudsim.scenario import load_scenario

    def run(*sets):
        sc, _ = load_scenario("consolidation-demo", ["duration=12h", *sets])
        sim = Simulation(sc, LocalBackend())
        per_step = []
        original = sim.consolidator.step
        sim.consolidator.step = lambda *a: per_step.append(original(*a)) or per_step[-1]
        return sim.run(), [len(m) for m in per_step]

    free, steps = run()
    assert max(steps) > 3
    capped, steps = run("consolidation.max_migrations=3")
    assert max(steps) == 3 and capped["migrations"] < free["migrations"]
    none_under, _ = run("consolidation.underload_below=0")
    assert none_under["migrations"] < capped["migrations"] or none_under["migrations"] < free["migrations"]
    assert none_under["hosts"]["active_mean"] > free["hosts"]["active_mean"]  # nothing emptied: more hosts on


@pytest.mark.parametrize("model", ["cloudsim", "fair"])
def test_the_lower_bound_counts_what_consolidated_guests_hold(tmp_path, model):
    """With consolidation guests hold the CPU they request now, not their reservation, and (in the cloudsim
    model) no memory after instantiation: the bound is the fewest hosts, largest first, whose capacity covers
    the tick's requests. So whenever the active hosts have room for what their guests request, they are at
    least that bound; when they are short, the bound says how many hosts serving it all would take (a bound
    over reservations was 3x the active hosts on PlanetLab's day)."""
    day = tiny_day(tmp_path)
    seen: list[tuple[int, int]] = []

    def hook(t: float, report) -> None:
        active = sim.view.guests > 0
        requested, capacity = report.cpu_requested_mips.sum(), sim.cluster.cpu_mips
        largest_first = np.cumsum(np.sort(capacity)[::-1])
        cpu_bound = int(np.searchsorted(largest_first, requested * (1 - 1e-12))) + 1
        # the fair model books memory for migrations, so memory may bound more than CPU there
        assert sim.state.hosts_lower_bound == cpu_bound or (model == "fair" and sim.state.hosts_lower_bound > cpu_bound)
        if requested <= capacity[active].sum():
            assert sim.state.hosts_lower_bound <= int(active.sum()), t
            seen.append((sim.state.hosts_lower_bound, int(active.sum())))

    sim = Simulation(trace_scenario(day, f"dynamics.model={model}", duration="12h"), LocalBackend())
    sim.tick_hooks.append(hook)
    summary = sim.run()
    assert summary["migrations"] > 0 and len(seen) > 100
    assert any(bound < active for bound, active in seen)


# ------------------------------------------------------------------------------ PABFD over the index


def _refresh(c: Consolidator, lists: list[list[int]], hosts: list[int]) -> None:
    """The view of each of ``hosts`` holding ``lists[h]`` (none migrating), host by host, as the step's Python
    loops made it before they were compiled: the reference the compiled passes are checked against."""
    for h in hosts:
        c._stale[h] = True
        c.busy[h] = bool(lists[h])
        kernels.host_view(h, np.array(lists[h], dtype=np.int64), c.req, c.pe_mips, c.total, c.hist, c._newest,
                          c.hist_len, c.vm_mips, c.S, c.A, c.R, c.HH, c.HL)  # fmt: skip


def _book(c: Consolidator, v: int, h: int, sign: float) -> None:
    """Guest ``v``'s booking taken from (``sign`` 1) or given back to (-1) what host ``h`` has free, as the
    loops wrote it."""
    c.free_mem[h] -= sign * c.book_mem[v]
    c.free_cpu[h] -= sign * c.book_cpu[v]


def _random_consolidator(rng: np.random.Generator, hosts: int, detector: str | None, book: bool) -> Consolidator:
    """A consolidation view of ``hosts`` hosts in four classes (two SPECpower curves x two sizes) and three
    types, whose loads come from a few values so that many hosts tie to the milliwatt."""
    curves = np.array([SPECPOWER_TABLES["P2"][1], SPECPOWER_TABLES["P4"][1]], dtype=float)
    kind = rng.integers(0, 4, hosts)
    total = np.where(kind % 2 == 0, 2 * 1860.0, 2 * 2660.0)
    guests = 64
    c = Consolidator(
        Settings(Detector(detector, 1.2) if detector else None, book_migrations=book),
        total, total / 2, curves[kind // 2], kind % 3 if hosts > 2 else np.zeros(hosts, dtype=np.int64),
        rng.uniform(200, 1500, guests), np.ones(guests), rng.uniform(500, 2000, guests), rng.uniform(100, 900, guests),
        np.full(guests, 10.0), rng.uniform(0, 100, guests), np.full(hosts, 1000.0),
        compatible=rng.random((guests, 3)) < 0.8,
    )  # fmt: skip
    levels = rng.choice(total.min() * np.array([0.05, 0.1, 0.25, 0.3, 0.5, 0.71, 0.9]), hosts)
    c.S = levels.copy()
    c.A = np.where(rng.random(hosts) < 0.8, levels, levels * rng.uniform(0.9, 1.1, hosts)).clip(0, total)
    c.R = c.A * rng.uniform(1.0, 1.2, hosts)
    c.HH = rng.uniform(0, 0.6, (hosts, 30)) * (rng.random((hosts, 1)) < 0.9)
    c.HL = rng.choice([3, 30], hosts)
    c.util_mips = np.where(rng.random(hosts) < 0.7, c.A, c.A * rng.uniform(0.95, 1.05, hosts))
    c.p0 = kernels.power_now(c.ptab, c.util_mips, c.total)
    c.req = rng.uniform(50, 900, guests)
    c.hist = rng.uniform(0, 0.5, (guests, 30))
    c._newest = 7  # the histories read from within their ring (:meth:`Consolidator.history`)
    c.hist_len = rng.choice([5, 30], guests)
    c.free_mem, c.free_cpu = rng.uniform(0, 3000, hosts), rng.uniform(0, 800, hosts)
    c.busy[:] = True
    return c


@pytest.mark.parametrize("detector,book", [(None, False), ("lr", False), ("thr", True), ("mad", False)])
def test_the_indexed_search_finds_the_host_the_scan_finds(detector, book):
    """On random views with many milliwatt ties, after random changes to hosts (loads that leave their bucket,
    hosts leaving the eligible set), PABFD over the index answers what the scan over the same hosts does."""
    from cloudsim.placement.consolidation import _TargetIndex

    rng = np.random.default_rng(7)
    answered = 0
    for hosts in (1, 2, 3, 40, 300):
        c = _random_consolidator(rng, hosts, detector, book)
        excluded = rng.random(hosts) < 0.2
        index = _TargetIndex(c, ~excluded)
        for _ in range(60):
            v = int(rng.integers(0, c.V))
            got = c.find_host(v, index=index)
            want = c.find_host(v, excluded)
            assert got == want, (hosts, v)
            answered += got >= 0
            h = int(rng.integers(0, hosts))  # a change the underload pass makes: a target's load, an emptied host
            if rng.random() < 0.3:
                excluded[h] = True
                index.set(h, False)
            else:
                c.A[h] = min(c.total[h], c.A[h] + rng.choice([0.0, 1.0, 300.0, 900.0]))
                c.S[h] = max(c.S[h], c.A[h])
                c.free_mem[h] -= 50
                index.set(h)
    assert answered > 100  # the searches did find hosts, not only -1


@pytest.mark.parametrize("detector", [None, "lr"])
def test_the_index_with_empty_hosts_to_wake_finds_the_host_the_scan_finds(detector):
    """Some hosts empty (an empty host of each type stands for its type): after each guest goes where the
    search sends it, the index answers what the scan over every host does."""
    from cloudsim.placement.consolidation import _TargetIndex

    rng = np.random.default_rng(3)
    answered = 0
    for hosts in (1, 5, 200):
        c = _random_consolidator(rng, hosts, detector, False)
        empty = rng.random(hosts) < 0.4
        c.S[empty] = c.A[empty] = c.R[empty] = c.util_mips[empty] = 0.0
        c.HH[empty], c.HL[empty] = 0.0, 0
        c.busy[:] = ~empty
        c.p0 = kernels.power_now(c.ptab, c.util_mips, c.total)
        excluded = rng.random(hosts) < 0.15
        index = _TargetIndex(c, c.busy & ~excluded, excluded)
        for _ in range(80):
            v = int(rng.integers(0, c.V))
            got = c.find_host(v, index=index)
            assert got == c.find_host(v, excluded), (hosts, v)
            if got >= 0:  # the guest goes there, as the step books it
                answered += 1
                r = c.req[v]
                c.S[got] += r
                c.A[got] = min(c.total[got], c.A[got] + r)
                c.R[got] += r
                c.busy[got] = True
                index.set(got)
    assert answered > 60


@pytest.mark.parametrize("detector,selection", [("lr", "mmt"), ("iqr", "mmt"), ("lr", "mc"), ("iqr", "mc")])
def test_views_made_one_interval_on_equal_views_made_afresh(detector, selection):
    """Each step makes a host's view from the last one (its history row one sample on) unless its list
    changed or a step wrote its view (a step puts back the views of the hosts it sheds): over random arrivals,
    departures, steps, writes and skipped steps, the views are bit for bit those made afresh."""
    rng = np.random.default_rng(11)
    c = _random_consolidator(rng, 12, detector, False)
    c.cfg = Settings(Detector(detector, 1.2), selection=selection)
    c.hist = np.zeros((c.V, HISTORY if selection == "mc" else c._width))
    c._reset_views()  # the helper's random views are not any lists'
    placed: list[int] = []
    for interval in range(60):
        for v in rng.permutation(c.V)[: int(rng.integers(0, 6))].tolist():
            if v in placed:
                c.remove(v)
                placed.remove(v)
            else:
                c.add(v, int(rng.integers(0, c.H)))
                placed.append(v)
        ids = np.array(sorted(placed), dtype=np.int64)
        util = rng.uniform(0, 1, len(ids)) * (rng.random(len(ids)) < 0.7)  # many zero samples
        c.observe(ids, util, rng.uniform(0, 900, len(ids)), rng.uniform(0, 3000, c.H))
        if rng.random() < 0.15:
            continue  # no step this interval: the next one sees two reports
        if rng.random() < 0.3:  # a whole step, which writes the views of the hosts it sheds and fills
            c.step(np.full(c.H, 1e9), np.full(c.H, 1e9))
            continue
        c._refresh_all()
        fresh = [np.array(a, copy=True) for a in (c.S, c.A, c.R, c.HH, c.HL)]
        kernels.host_views(c._flat, c._offsets, np.ones(c.H, dtype=np.bool_), c.req, c.pe_mips, c.total, c.hist,
                           c._newest, c.hist_len, c.vm_mips, c._rec, *fresh)  # fmt: skip
        for made, want in zip((c.S, c.A, c.R, c.HH, c.HL), fresh, strict=True):
            assert np.array_equal(made, want), interval
        if rng.random() < 0.5:  # the step writes the view of a host with another list (as a planned move does)
            lists = list(c.lists)
            h = int(rng.integers(0, c.H))
            lists[h] = [*lists[h], int(rng.integers(0, c.V))]
            _refresh(c, lists, [h])
    assert c.HH.any()


@pytest.mark.parametrize(
    "selection,detector,param", [("mmt", "lr", 1.0), ("mu", "thr", 0.6), ("mmt", "iqr", 1.2), ("mu", "mad", 1.2)]
)
def test_the_compiled_shed_of_every_overloaded_host_sheds_what_one_host_at_a_time_does(selection, detector, param):
    """MMT and MU shed from every overloaded host in one compiled call: the same guests in the same order, the
    same number kept and the same views as the loop over the hosts that RS and MC take, with guests migrating
    from an earlier step (which stay put) and lists holding a guest twice."""
    rng = np.random.default_rng(23)
    shed_hosts = 0
    for trial in range(40):
        c = _random_consolidator(rng, 30 if trial % 2 else 3, detector, False)  # 3 hosts: long lists
        c.cfg = Settings(Detector(detector, param), selection=selection)
        c._det_code, c._det_param = c.cfg.detector.code
        c.vm_ram = rng.choice([613.0, 870.0, 1740.0], c.V)  # ties, which keep the list order
        c.req = rng.choice([100.0, 400.0, 900.0], c.V) * rng.uniform(0.5, 3.0, c.V).round(1)
        c.hist = rng.uniform(0, 1.5, c.hist.shape)  # heavy histories: the regressions find overloads too
        c._reset_views()
        for v in range(c.V):
            c.add(v, int(rng.integers(0, c.H)))
        for v in rng.permutation(c.V)[:8].tolist():  # in flight: on their source and their target
            c.start(v, int(rng.integers(0, c.H)))
        if trial % 4 == 0 and c.lists[0]:
            c.lists[0].append(c.lists[0][0])
        c._refresh_all()
        over = np.flatnonzero(c._overloaded(np.arange(c.H)))
        in_flight = bool((c.mig_to >= 0).any())
        views = [np.array(a, copy=True) for a in (c.S, c.A, c.R, c.HH, c.HL)]
        want_moved, want_lists = [], {}
        for h in over.tolist():  # one host at a time, as for RS and MC
            vms, still, shed_any = list(c.lists[h]), True, False
            while still:
                mine = [x for x in vms if c.mig_to[x] < 0 and c.host_of[x] == h] if in_flight else vms
                order = c.shed_order(mine)
                if not order:
                    break
                k, rest, still = kernels.shed(h, np.array(vms, dtype=np.int64), np.array(order, dtype=np.int64),
                                              c.req, c.pe_mips, c.total, c.hist, c._newest, c.hist_len, c.vm_mips,
                                              *views, c._det_code, c._det_param)  # fmt: skip
                want_moved += order[:k]
                vms, shed_any = rest.tolist(), True
            if shed_any:
                want_lists[h] = vms
        counts, moved, kept = kernels.shed_sorted(
            over, c._flat, c._offsets, in_flight, c.mig_to, c.host_of, selection == "mu", c.vm_ram, c.req,
            c.pe_mips, c.total, c.hist, c._newest, c.hist_len, c.vm_mips, c.S, c.A, c.R, c.HH, c.HL, c._det_code,
            c._det_param,
        )  # fmt: skip
        assert moved.tolist() == want_moved
        assert {int(over[i]): int(kept[i]) for i in np.flatnonzero(counts)} == {
            h: len(x) for h, x in want_lists.items()
        }
        for made, want in zip((c.S, c.A, c.R, c.HH, c.HL), views, strict=True):
            assert np.array_equal(made, want)
        shed_hosts += len(want_lists)
    assert shed_hosts > 40


@pytest.mark.parametrize("detector,book", [("lr", False), ("thr", True), (None, False)])
def test_the_compiled_underload_pass_moves_what_the_loop_over_hosts_moves(detector, book):
    """The underload pass, compiled, against the loop it replaced written out here: on random views and lists,
    with guests in flight, guests of limited types, a cap on the moves and hosts whose guests fit only in part
    (taken back), the same moves, views, bookings, exclusions and index."""
    import copy

    from cloudsim.placement.consolidation import _TargetIndex

    rng = np.random.default_rng(31)
    moved = taken_back = 0
    for trial in range(30):
        c = _random_consolidator(rng, int(rng.choice([3, 12, 40])), detector, book)
        for v in range(c.V):
            c.add(v, int(rng.integers(0, c.H)))
        if trial % 3 == 0:
            for v in rng.permutation(c.V)[:5].tolist():
                c.start(v, int(rng.integers(0, c.H)))
        c._refresh_all()
        c.util_mips = c.A * rng.uniform(0.0, 1.0, c.H)
        c.p0 = kernels.power_now(c.ptab, c.util_mips, c.total)
        excl = rng.random(c.H) < 0.2
        u_now = c.util_mips / c.total
        under = np.flatnonzero(u_now > 0)
        order = under[np.argsort(u_now[under], kind="stable")]
        in_flight = bool((c.mig_to >= 0).any())
        cap = int(rng.integers(1, 30)) if trial % 4 == 1 else c.V + 1
        # the loop, on a copy
        d = copy.deepcopy(c)
        lists, index, ex, want = list(d.lists), _TargetIndex(d, d.busy & ~excl), excl.copy(), []
        for h in order.tolist():
            if len(want) >= cap:
                break
            if ex[h]:
                continue
            ex[h] = True
            index.set(h, False)
            vms = [v for v in lists[h] if d.mig_to[v] < 0] if in_flight else lists[h]
            if not vms or len(want) + len(vms) > cap:
                continue
            ids = np.array(vms)
            req = d.req[ids]
            first = d.find_host(int(ids[int(np.argmax(req))]), index=index)
            if first < 0:
                continue
            placed = []
            for i, v in enumerate(ids[np.argsort(-req, kind="stable")].tolist()):
                target = first if i == 0 else d.find_host(v, index=index)
                if target < 0:
                    for pv, ph in placed:
                        lists[ph].remove(pv)
                        _refresh(d, lists, [ph])
                        _book(d, pv, ph, -1.0)
                        index.set(ph)
                    taken_back += len(placed)
                    placed = []
                    break
                lists[target] = [*lists[target], v]  # a planned list of its own
                _refresh(d, lists, [target])
                _book(d, v, target, 1.0)
                index.set(target)
                placed.append((v, target))
            for _, ph in placed:
                ex[ph] = True
            want += placed
        # the kernel
        got_index, got_ex = _TargetIndex(c, c.busy & ~excl), excl.copy()
        types = c._all_types[None, :] if c.compatible is None else c.compatible
        n = len(c._flat)  # no guest shed before it: chains with nothing appended, room for an entry per guest
        chains = (np.full(c.H, -1), np.full(c.H, -1), np.full(n, -1), np.empty(n, dtype=np.int64),
                  np.zeros(n, dtype=np.bool_), 0)  # fmt: skip
        found, got_index.n_over = kernels.underload_pass(
            order, cap, c._flat, c._offsets, *chains, got_ex, got_index.eligible, got_index.n_over, in_flight,
            c.mig_to, c.req, c.hist, c._newest, c.hist_len, c.vm_mips, c.book_mem, c.book_bw, c.book_cpu, types, book,
            c.free_mem, c.free_cpu, c.pe_mips, c.total, c.S, c.A, c.R, c.HH, c.HL, c.busy, c._stale,
            got_index._set_args, got_index._find_args,
        )  # fmt: skip
        assert [tuple(m) for m in found.tolist()] == want
        assert np.array_equal(got_ex, ex) and got_index.n_over == index.n_over
        for name in ("S", "A", "R", "HH", "HL", "busy", "_stale", "free_mem", "free_cpu"):
            assert np.array_equal(getattr(c, name), getattr(d, name)), name
        assert np.array_equal(got_index.eligible, index.eligible)
        for v in range(c.V):  # the indexes answer alike
            assert c.find_host(v, index=got_index) == d.find_host(v, index=index)
        moved += len(want)
    assert moved > 30 and taken_back > 3


@pytest.mark.parametrize("wake,detector,book", [("cheapest", "lr", False), ("last-resort", "lr", False),
                                                 ("last-resort", "thr", True), ("cheapest", None, True)])  # fmt: skip
def test_the_compiled_destinations_are_those_of_the_loop_over_guests(wake, detector, book):
    """The targets of the shed guests, compiled, against the loop it replaced written out here (its index's
    wake rule too): on random views and lists, with empty hosts to wake, switched-off and overloaded and failed
    hosts, guests of limited types and guests placed twice, the same moves, views, bookings and indexes (the
    second index built in the middle of the pass under last-resort)."""
    import copy

    from cloudsim.placement.consolidation import _TargetIndex

    def set_as_before(index: _TargetIndex, wake: dict, h: int, eligible: bool | None = None) -> None:
        c = index.c
        if eligible is not None:
            index.eligible[h] = eligible
        t = int(c.htype[h])
        if t in wake and c.busy[h]:
            hosts, i = wake[t]
            if i < len(hosts) and hosts[i] == h:
                while i < len(hosts) and c.busy[hosts[i]]:
                    i += 1
                wake[t] = (hosts, i)
                if i < len(hosts):
                    set_as_before(index, wake, int(hosts[i]), True)
        index.n_over = kernels.index_set(h, bool(index.eligible[h]), index.n_over, *index._set_args)

    rng = np.random.default_rng(41)
    moved = woken = both = 0
    for trial in range(40):
        c = _random_consolidator(rng, int(rng.choice([3, 12, 40])), detector, book)
        c.cfg = Settings(c.cfg.detector, wake=wake, book_migrations=book)
        c.req *= rng.choice([1.0, 3.0])  # large guests: hosts that are on fill, and empty ones are woken
        for v in range(c.V):
            if rng.random() < 0.8:
                c.add(v, int(rng.integers(0, c.H)))
        c._refresh_all()
        c.busy = c._offsets[1:] > c._offsets[:-1]
        c.util_mips = np.where(c.busy & (rng.random(c.H) < 0.8), c.A, 0.0)  # some busy hosts are switched off
        c.p0 = kernels.power_now(c.ptab, c.util_mips, c.total)
        over_mask = c.busy & (rng.random(c.H) < 0.2)
        c.down = rng.random(c.H) < 0.05
        switched_off = c.util_mips == 0
        order = rng.permutation(c.V)[: int(rng.integers(1, 40))]
        if trial % 5 == 0:
            order = np.concatenate([order, order[:2]])  # a guest placed twice
        order = order[np.argsort(-c.req[order], kind="stable")]
        # the loop, on a copy
        d = copy.deepcopy(c)
        lists, want, on, anywhere, wakes = list(d.lists), [], None, None, {}
        for v in order.tolist():
            target = -1
            if wake == "last-resort":
                on = on or _TargetIndex(d, d.busy & ~over_mask & ~switched_off & ~d.down)
                target = d.find_host(v, index=on)
            if target < 0:
                if anywhere is None:
                    others = d.busy & ~over_mask & ~d.down & (switched_off if on is not None else True)
                    anywhere = _TargetIndex(d, others, over_mask | d.down)
                    free = ~d.busy & ~(over_mask | d.down)
                    for t in range(d.ntypes):
                        if len(hosts := np.flatnonzero(free & (d.htype == t))):
                            wakes[t] = (hosts, 0)
                    both += on is not None and len(want) > 0
                target = d.find_host(v, index=anywhere)
            if target >= 0:
                woken += not d.busy[target]
                lists[target] = [*lists[target], v]  # a planned list of its own
                _refresh(d, lists, [target])
                _book(d, v, target, 1.0)
                want.append((v, target))
                if on is not None:
                    set_as_before(on, {}, target)
                if anywhere is not None:
                    set_as_before(anywhere, wakes, target)
        # the kernel
        got, got_on, chains = c._destinations(order, over_mask, switched_off)
        assert got == want
        # the chains the underload pass goes on with: each target's guests appended, in order
        head, _, nxt, guest, alive, n_app = chains
        appended: dict[int, list[int]] = {}
        for h in np.flatnonzero(head >= 0).tolist():
            j = head[h]
            while j >= 0:
                assert alive[j]
                appended.setdefault(h, []).append(int(guest[j]))
                j = nxt[j]
        expected: dict[int, list[int]] = {}
        for v, target in want:
            expected.setdefault(target, []).append(v)
        assert n_app == len(want) and appended == expected
        for name in ("S", "A", "R", "HH", "HL", "busy", "_stale", "free_mem", "free_cpu"):
            assert np.array_equal(getattr(c, name), getattr(d, name)), name
        assert (got_on is None) == (on is None)
        if on is not None:
            assert np.array_equal(got_on.eligible, on.eligible) and got_on.n_over == on.n_over
            for v in range(c.V):  # the indexes answer alike
                assert c.find_host(v, index=got_on) == d.find_host(v, index=on)
        moved += len(want)
    assert moved > 100 and woken > 5 and (wake == "cheapest" or both > 3)


def test_the_index_bounds_a_rise_by_its_least_over_the_loads_of_a_node():
    """A node's bound on a request's power rise is the least rise over its range of loads, less 2 µW (exactly 0
    for a request of 0): never above the rise of any load in the range, and equal to the least of a fine grid
    of them."""
    from cloudsim.model.shard import power
    from cloudsim.placement.kernels import _rise
    from cloudsim.scenario.schema import SPECPOWER_TABLES

    rng = np.random.default_rng(5)
    tables = [np.array(t, dtype=float) for _, t in SPECPOWER_TABLES.values()]
    for _ in range(300):
        table = tables[int(rng.integers(len(tables)))]
        lo, hi = np.sort(rng.uniform(0, 1, 2))
        if rng.random() < 0.2:
            hi = lo  # a node of one host
        d = float(rng.choice([0.0, 0.013, 0.1, 0.25, 0.6]))
        grid = np.linspace(lo, hi, 4001)
        rise = [power(table, u + d) - power(table, u) for u in grid]
        bound = _rise(float(lo), float(hi), d, table)
        assert bound <= min(rise)
        assert bound == pytest.approx(min(rise), abs=0.02)  # the grid is 1/4000 of the range apart
        if d == 0:
            assert bound == 0.0


def test_a_request_of_nothing_is_bounded_by_the_hosts_own_key():
    """For a guest requesting 0 MIPS every host's increase is its own (exactly 0 where the view is the reported
    load), and the bound of every bucket is the least key of its hosts, not one below: with a slack below it,
    every node of the index was searched for such a guest (46,000 at 50,000 hosts, against about 60)."""
    from cloudsim.placement.consolidation import _TargetIndex
    from cloudsim.placement.kernels import _AMIN, _UHI, _ULO, SEGMENTS, SUB, _key, _rise, power_key

    rng = np.random.default_rng(3)
    c = _random_consolidator(rng, 300, None, False)
    c.util_mips = c.A.copy()  # most hosts: their view is what they reported
    c.util_mips[::7] *= 0.97  # some have risen since
    c.p0 = kernels.power_now(c.ptab, c.util_mips, c.total)
    index = _TargetIndex(c, np.ones(c.H, dtype=bool))
    rep = index._find_args[1]
    bstart, slot_host, tbase, size, node = index._find_args[16:21]
    checked = 0
    for b in range(len(size)):
        hosts = slot_host[bstart[b] : bstart[b + 1]]
        hosts = hosts[hosts >= 0]
        if not len(hosts):
            continue
        h0, o = rep[b // (SEGMENTS * SUB)], tbase[b]
        bound = node[o + 1, _AMIN] + _rise(node[o + 1, _ULO], -node[o + 1, _UHI], 0.0, c.ptab[h0])
        assert power_key(bound) == min(_key(h, 0.0, c.A, c.total, c.ptab, c.p0) for h in hosts), b
        checked += 1
    assert checked > 10


def test_power_increases_equal_to_the_milliwatt_go_to_the_lowest_id():
    """Three hosts of one class whose increases differ in the last bits tie; the lowest id wins, in the scan
    and in the index, where comparing the doubles would pick host 2."""
    from cloudsim.placement.consolidation import _TargetIndex

    rng = np.random.default_rng(1)
    c = _random_consolidator(rng, 4, None, False)
    c.total[:] = 3720.0
    c.pe_mips[:] = 1860.0
    c.ptab[:] = SPECPOWER_TABLES["P2"][1]
    c.htype[:] = 0
    c._classes = (np.zeros(4, dtype=np.int64), np.zeros(1, dtype=np.int64))
    c.S[:] = c.A[:] = c.util_mips[:] = [1000.0, 1000.0 + 1e-7, 1000.0 - 1e-7, 1700.0]  # the last on a steeper segment
    c.p0 = kernels.power_now(c.ptab, c.util_mips, c.total)
    c.req[0] = 300.0
    c.compatible[:] = True
    rises = [power_w(c.ptab[[h]], np.array([(c.A[h] + 300.0) / 3720.0]))[0] - c.p0[h] for h in range(4)]
    assert int(np.argmin(rises)) == 2 and max(rises[:3]) - min(rises[:3]) < 1e-3 < rises[3] - rises[0]
    excluded = np.zeros(4, dtype=bool)
    assert c.find_host(0, excluded) == 0
    assert c.find_host(0, index=_TargetIndex(c, ~excluded)) == 0


def test_patched_lists_are_the_lists_flattened_again():
    """``patch_lists`` (runs of unchanged hosts copied as blocks) gives what flattening the patched lists afresh
    gives, for changes anywhere: none, the first host, the last, runs, every host, emptied and grown lists."""
    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(1, 40))
        lists = [rng.integers(0, 1000, int(rng.integers(0, 5))).tolist() for _ in range(n)]
        offsets = np.zeros(n + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(x) for x in lists])
        flat = np.array([v for x in lists for v in x], dtype=np.int64)
        changed = np.sort(rng.choice(n, int(rng.integers(0, n + 1)), replace=False)).astype(np.int64)
        new = {int(h): rng.integers(0, 1000, int(rng.integers(0, 5))).tolist() for h in changed}
        got, got_off = kernels.patch_lists(
            flat, offsets, changed, np.array([len(new[h]) for h in changed.tolist()], dtype=np.int64),
            np.array([v for h in changed.tolist() for v in new[h]], dtype=np.int64),
        )  # fmt: skip
        want = [new.get(h, x) for h, x in enumerate(lists)]
        assert got_off.tolist() == np.cumsum([0, *map(len, want)]).tolist()
        assert got.tolist() == [v for x in want for v in x]
