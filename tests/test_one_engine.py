"""One engine for every workload: synthetic scenarios consolidate with live migration, invariants hold at
every tick with migrations in flight, and summaries are byte-identical across backends and grains."""

from __future__ import annotations

import csv
import itertools
import re
from pathlib import Path

import numpy as np
import pytest

from cloudsim.engine import LocalBackend, Simulation, tick_times
from cloudsim.engine.core import PHASES
from cloudsim.model import MigrationModel, PreCopy
from cloudsim.model.migration import CONTAINER_FREEZE_S
from cloudsim.scenario import load_scenario
from tests.helpers import same_run_json
from tests.test_consolidation import tiny_day, trace_scenario


def stable(summary: dict) -> str:
    """The summary without what legitimately differs between backends (wall time, backend, actors, nodes)."""
    return same_run_json(summary)


def demo(*overrides: str, duration: str = "6h"):
    sc, _ = load_scenario("consolidation-demo", [f"duration={duration}", *overrides])
    return sc


def test_a_synthetic_scenario_consolidates_with_live_migration():
    on = demo()
    off = demo("consolidation.allocation=dvfs")
    s_on = Simulation(on, LocalBackend()).run()
    s_off = Simulation(off, LocalBackend()).run()
    assert s_on["kind"] == "consolidation" and s_on["policy"] == "LR-MMT-1.2 (ours)"
    assert s_on["migrations"] > 0 and s_off["migrations"] == 0
    assert set(s_on["migrations_by_mode"]) == {"container", "para", "full_hw"}
    # consolidation packs the spread-out guests onto fewer hosts
    assert s_on["hosts"]["active_mean"] < s_off["hosts"]["active_mean"]
    assert s_on["consolidation_ratio"]["mean"] > s_off["consolidation_ratio"]["mean"]
    # containers checkpoint and restore: frozen for the whole move; VMs pre-copy: frozen for a fraction
    by = s_on["migrations_by_mode"]
    assert by["container"]["downtime_mean_s"] == pytest.approx(by["container"]["mean_time_s"], rel=1e-3)
    assert by["para"]["downtime_mean_s"] < 0.1 * by["para"]["mean_time_s"]


def test_migration_times_per_mode_by_hand():
    m = MigrationModel("precopy")
    # a container of 2048 MiB over a 10 Gbit/s link (1250 MB/s, half for migration): 2 s + 2048 / 625 s
    total, down = m.duration(2048.0, 1250.0, container=True)
    assert total == down == pytest.approx(CONTAINER_FREEZE_S + 2048 / 625)
    assert MigrationModel("cloudsim").duration(1740.0, 125.0, container=False) == (1740 / 62.5, 0.0)
    assert m.duration(1024.0, 250.0, container=False) == PreCopy().duration(1024.0, 125.0)


def test_readme_migration_example_is_what_the_model_gives():
    """README "Modelling assumption (containers)": the container and paravirtual VM over a 10 Gbit/s link."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    found = re.search(
        r"frozen\s+for\s+2\s+\+\s+2048\s+/\s+625\s+=\s+([\d.]+)\s+s;\s+a\s+paravirtual\s+VM\s+of\s+4\s+GiB\s+moves"
        r"\s+in\s+about\s+([\d.]+)\s+s\s+with\s+([\d.]+)\s+s\s+of\s+downtime",
        text,
    )
    assert found, "the README's migration example is gone"
    container_s, vm_s, vm_down_s = (float(g) for g in found.groups())
    m = MigrationModel("precopy")
    assert m.duration(2048.0, 1250.0, container=True)[0] == pytest.approx(container_s, abs=0.05)
    total, down = m.duration(4096.0, 1250.0, container=False)  # 6.69 s, of which 0.14 s frozen
    assert total == pytest.approx(vm_s, abs=0.05)
    assert down == pytest.approx(vm_down_s, abs=0.005)


def test_invariants_hold_at_every_tick_with_migrations_in_flight():
    # a slow link: migrations last hours, so guests depart, re-migrate and tick while migrating
    sc = demo("consolidation.host_bandwidth_gbps=0.02", "ray.hosts_per_actor=3", duration="8h")
    sim = Simulation(sc, LocalBackend())
    in_flight = []

    def check(t, report):
        assert sim.check_invariants(report) == [], t
        in_flight.append(len(sim.state.migrating()))
        owners: dict[int, list[int]] = {}
        for shard in sim.backend.shards:
            for g, hs in shard.guest_hosts().items():
                owners.setdefault(g, []).extend(hs)
        for g in np.flatnonzero(sim.state.host >= 0).tolist():
            assert sorted(owners.pop(g)) == sorted(sim.state.hosts_of(g)), (t, g)
        assert owners == {}, t  # no shard holds a guest the controller does not

    sim.tick_hooks.append(check)
    s = sim.run()
    assert max(in_flight) > 0 and s["migrations"] > 0
    assert s["guests"]["placed"] == s["guests"]["completed"] + s["guests"]["running_at_end"]


@pytest.mark.parametrize("model", ["fair", "cloudsim"])
@pytest.mark.parametrize("grain", [1, 4, 7])
def test_summaries_and_rows_do_not_depend_on_the_grain(grain, model):
    # guests arrive between ticks; in the cloudsim model every host is integrated and settled at every
    # event (CloudSim's clock), so a shard that has no command then must still see that time, or its hosts'
    # sums split differently and differ in their last bits (the summary's esv did)
    sc = demo(f"dynamics.model={model}", duration="4h")
    one, other = Simulation(sc, LocalBackend()), Simulation(sc, LocalBackend(), hosts_per_shard=grain)
    s1, s2 = one.run(), other.run()
    assert s1["migrations"] > 0 and stable(s1) == stable(s2)
    rows = [[{k: v for k, v in row.items() if k != "wall_s"} for row in sim.recorder.rows] for sim in (one, other)]
    assert rows[0] == rows[1]


def test_trace_summaries_byte_identical_on_host_actors_at_any_grain(tmp_path, ray_session):
    """Guests migrate between shards held by different actors: two hosts per actor, five, and auto, against
    one in-process shard (one actor per host: test_cluster)."""
    from cloudsim.distributed import RayBackend

    day = tiny_day(tmp_path)
    local = Simulation(trace_scenario(day), LocalBackend()).run()
    assert local["migrations"] > 0
    for grain in (2, 5, "auto"):
        sc = trace_scenario(day, f"ray.hosts_per_actor={grain}")
        sim = Simulation(sc, RayBackend())
        s = sim.run()
        assert s["backend"] == "ray" and s["actors"] == {2: 6, 5: 3, "auto": 1}[grain]
        assert stable(s) == stable(local), grain


def test_synthetic_consolidation_byte_identical_on_host_actors(ray_session):
    from cloudsim.distributed import RayBackend

    sc = demo("ray.hosts_per_actor=6", duration="3h")
    local = Simulation(sc, LocalBackend()).run()
    on_ray = Simulation(sc, RayBackend()).run()
    assert local["migrations"] > 0 and on_ray["actors"] == 4
    assert stable(on_ray) == stable(local)


def test_cloudsim_clock_and_fair_clock():
    sc = demo(duration="1h")
    assert tick_times(sc) == [300.0 * k for k in range(1, 13)]
    sc = demo("dynamics.model=cloudsim", duration="1h")
    ticks = tick_times(sc)
    assert len(ticks) == 11 and ticks[0] == pytest.approx(300.1) and ticks[-1] == pytest.approx(3300.1)


def test_hosts_per_actor_auto_is_one_shard_locally():
    sim = Simulation(demo(duration="1h"), LocalBackend())
    assert len(sim.specs) == 1 and sim.hosts_per_shard == 20
    sim = Simulation(demo("ray.hosts_per_actor=1", duration="1h"), LocalBackend())
    assert len(sim.specs) == 20


def test_migration_shares_of_source_and_target_by_hand():
    """CloudSim's 90 % / 10 %: a guest asking 1000 MIPS while it migrates keeps 900 on its source (which
    counts 1000 as in use) and books 100 on its target; the 100 it loses counts for PDM."""
    from cloudsim.model import DIST_CONSTANT, Dynamics, HostShard, MigrateOut, Place, ShardSpec

    spec = ShardSpec(
        host_ids=np.array([0, 1]), cpu_mips=np.full(2, 4000.0), pe_mips=np.full(2, 2000.0),
        mem_mib=np.full(2, 8192.0), reserve_mib=np.zeros(2), power_curve_w=np.tile(np.linspace(100, 200, 11), (2, 1)),
        empty_off=np.full(2, True), seed=0, dynamics=Dynamics(),
    )  # fmt: skip
    shard = HostShard(spec)
    shard.apply(0.0, [Place(7, 0, 0, 2000.0, 0.0, 1024.0, DIST_CONSTANT, 0.5, 0.0)])
    shard.apply(10.0, [MigrateOut(7, 0, 30.0), Place(7, 1, 0, 2000.0, 0.0, 1024.0, DIST_CONSTANT, 0.5, 0.0, 30.0)])
    r = shard.report(10.0)
    assert r.cpu_used_mips.tolist() == [1000.0, 100.0] and r.guests.tolist() == [1, 0]
    assert r.incoming.tolist() == [0, 1] and r.mem_used_mib.tolist() == [1024.0, 1024.0]
    shard.complete(30.0)
    r = shard.advance(40.0, 1)
    assert r.guests.tolist() == [0, 1] and r.cpu_used_mips.tolist() == [0.0, 1000.0]
    # 20 s migrating: 100 MIPS short of 1000 asked; 40 s asked in all
    assert r.migration_loss_mips_s.sum() == pytest.approx(100 * 20)
    assert r.requested_mips_s.sum() == pytest.approx(1000 * 40)


def test_cli_prints_consolidation_figures(capsys):
    from cloudsim.cli import main

    code = main(["run", "consolidation-demo", "--backend", "local", "--no-progress", "--set", "duration=2h"])
    out = capsys.readouterr().out
    assert code == 0
    for row in ("SLATAH / PDM / SLAV", "ESV", "host shutdowns", "migrations of container guests", "LR-MMT-1.2 (ours)"):
        assert row in out, row


def test_bench_sim_times_local_and_ray_side_by_side(tmp_path, capsys, ray_session):
    from cloudsim.cli import main

    out = tmp_path / "sim.csv"
    args = ["bench", "sim", "--hosts", "12", "--guests", "40", "--duration", "1h", "--grain", "auto", "--grain", "4",
            "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    capsys.readouterr()
    assert out.read_text().startswith("scenario,backend,hosts_per_shard,actors,driver_cpu_s")
    with out.open(newline="") as f:
        cells = list(csv.DictReader(f))
    assert [(c["backend"], c["hosts_per_shard"], c["actors"]) for c in cells] == [
        ("local", "12", "0"), ("ray", "12", "1"), ("ray", "4", "3")
    ]  # fmt: skip
    assert len({c["migrations"] for c in cells}) == 1 and cells[0]["cpu_ratio"] == "1.0"  # ratio 1 for the first
    for c in cells:  # where the wall time went: the phases, within the run's wall time
        assert sum(float(c[f"{p}_s"]) for p in PHASES) <= float(c["wall_s"]) + 0.05, c
    assert main(["bench", "sim", "--hosts", "0"]) == 2
    assert "--planetlab" in capsys.readouterr().err
    assert main(["bench", "sim", "--hosts", "4", "--grain", "two"]) == 2
    assert "--grain" in capsys.readouterr().err
    # too large for the memory: named by its largest part, and --max-memory (which it advises) is an option
    assert main(["bench", "sim", "--hosts", "200000", "--guests", "50000000"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --guests: the run would need about") and "raise the limit with --max-memory" in err
    assert main(["bench", "sim", "--hosts", "1000", "--max-memory", "0.001"]) == 2
    assert "about 0.00666 GiB (288 ticks, 1,000 hosts, 2,000 guests" in capsys.readouterr().err  # (not "0.0 GiB")
    assert main(["bench", "sim", "--hosts", "100000", "--guests", "1", "--max-memory", "0.01"]) == 2
    assert capsys.readouterr().err.startswith("error: --hosts: the run would need about")
    assert main(["bench", "sim", "--hosts", "10", "--duration", "100000d"]) == 2
    assert capsys.readouterr().err.startswith("error: --duration: the run would need about")


def test_a_run_times_each_phase_of_its_loop(monkeypatch, tmp_path):
    """Simulation.phase_s: the wall time of each part of the controller's loop, adding up to the run's. A
    consolidation step made 20 ms slower, and arrivals 5 ms slower each, show in their own phase and no
    other; a checkpoint's writing shows in its own."""
    import time

    from cloudsim.placement.consolidation import Consolidator

    sc = demo(duration="2h")
    Simulation(sc, LocalBackend()).run()  # the kernels loaded from numba's cache first, in no run measured
    fast = Simulation(sc, LocalBackend())
    s = fast.run()
    assert set(fast.phase_s) == set(PHASES) and fast.phase_s["checkpoints"] == 0.0
    assert sum(fast.phase_s.values()) <= s["wall_time_s"] + 0.0005  # (rounded to the ms)
    step, arrive = Consolidator.step, Simulation._arrive

    def slow_step(self, *args):
        time.sleep(0.02)
        return step(self, *args)

    def slow_arrive(self, *args):
        time.sleep(0.005)
        return arrive(self, *args)

    monkeypatch.setattr(Consolidator, "step", slow_step)
    monkeypatch.setattr(Simulation, "_arrive", slow_arrive)
    slow = Simulation(sc, LocalBackend())
    slow.checkpoint(tmp_path / "run.ckpt", 3600.0)
    assert slow.run()["migrations"] == s["migrations"] > 0
    ticks, arrivals = len(tick_times(sc)), slow.submitted
    # (not the fast run's consolidation plus the sleeps: the recorder's tick runs beside the consolidation, and
    # beside a sleep it no longer slows the consolidation's own work)
    assert slow.phase_s["consolidation"] >= 0.02 * ticks
    assert slow.phase_s["placement"] >= fast.phase_s["placement"] + 0.005 * arrivals > 0
    assert slow.phase_s["checkpoints"] > 0
    for phase in ("shards", "events", "metrics"):  # the sleeps land in their own phases only
        assert slow.phase_s[phase] < fast.phase_s[phase] + 0.005 * ticks, phase


def test_the_benchmarks_warm_up_takes_the_large_shards_paths_too(monkeypatch):
    """``bench``'s untimed warm-up runs its small scenario a second time with the work beside from any size, so
    a large row's first run after an install does not compile those paths inside its timing."""
    from cloudsim import bench
    from cloudsim.engine import simulation
    from cloudsim.model import shard

    redone: list[int] = []
    real = shard._redo_rows
    monkeypatch.setattr(shard, "_redo_rows", lambda *a: (redone.append(1), real(*a))[1])  # the tick settled ahead
    bench.warm_up([(demo(duration="2h"), None)])
    assert redone and shard.BESIDE_ROWS == simulation.BESIDE_ROWS == 20_000  # (and the threshold as it was)


def test_the_recorders_tick_runs_beside_the_consolidation(monkeypatch):
    """The tick's bookkeeping (the recorder's tick) runs on a second thread at the same time as the tick's
    consolidation (from BESIDE_ROWS resident guests: here from any): each waits at a barrier for the other,
    which a run doing them one after the other could not pass (the barrier breaks after 10 s, failing the
    run). The summary is the same as the run's without the barrier, which records each tick before its
    consolidation (the demo has fewer guests)."""
    import threading

    from cloudsim.metrics.recorder import Recorder

    sc = demo(duration="1h")
    plain = Simulation(sc, LocalBackend()).run()
    meet = threading.Barrier(2, timeout=10)
    tick, consolidate = Recorder.tick, Simulation._consolidate
    threads: set[str] = set()

    def tick_at_barrier(self, *args):
        threads.add(threading.current_thread().name)
        meet.wait()
        return tick(self, *args)

    def consolidate_at_barrier(self, *args):
        meet.wait()
        return consolidate(self, *args)

    monkeypatch.setattr(Recorder, "tick", tick_at_barrier)
    monkeypatch.setattr(Simulation, "_consolidate", consolidate_at_barrier)
    monkeypatch.setattr("cloudsim.engine.simulation.BESIDE_ROWS", 0)  # beside at any size
    met = Simulation(sc, LocalBackend()).run()
    assert threads and threading.main_thread().name not in threads
    assert met["ticks"] == len(tick_times(sc)) and stable(met) == stable(plain)


def test_one_thread_beside_the_recorders_tick_first_then_the_shards_draws(monkeypatch):
    """From BESIDE_ROWS (here from any), the recorder's tick and a shard's next tick drawn ahead run on one thread
    beside the controller (``model.shard.beside``), never on a third: the recorder's first, which the controller
    waits for at the end of the consolidation, then the draws, wanted at the next tick only. The summary is the
    one of a run doing all of it in turn."""
    import threading

    from cloudsim.metrics.recorder import Recorder
    from cloudsim.model import shard

    sc = demo(duration="2h")
    in_turn = Simulation(sc, LocalBackend()).run()
    work: list[tuple[str, str]] = []
    tick, draw_ahead = Recorder.tick, shard.HostShard.draw_ahead

    def recorded_tick(self, *args):
        work.append(("tick", threading.current_thread().name))
        return tick(self, *args)

    def recorded_draws(self, k):
        work.append(("draws", threading.current_thread().name))
        return draw_ahead(self, k)

    monkeypatch.setattr(Recorder, "tick", recorded_tick)
    monkeypatch.setattr(shard.HostShard, "draw_ahead", recorded_draws)
    monkeypatch.setattr("cloudsim.engine.simulation.BESIDE_ROWS", 0)
    monkeypatch.setattr(shard, "BESIDE_ROWS", 0)
    beside = Simulation(sc, LocalBackend()).run()
    assert stable(beside) == stable(in_turn)
    ticks = len(tick_times(sc))
    assert [kind for kind, _ in work] == ["tick", "draws"] * ticks
    assert len({name for _, name in work}) == 1 and threading.main_thread().name not in {name for _, name in work}


def test_a_stop_during_the_consolidation_keeps_the_ticks_row_whole(monkeypatch):
    """A stop that lands in a tick's consolidation while its bookkeeping still runs on the other thread waits
    for it: the summary counts that tick, with its row, as a run stopped after the tick would."""
    import time

    from cloudsim.metrics.recorder import Recorder

    sc = demo(duration="2h")
    tick, consolidate = Recorder.tick, Simulation._consolidate

    def slow_tick(self, *args):
        time.sleep(0.2)  # still running when the stop lands
        return tick(self, *args)

    def stop_at_third(self, t, report):
        if t >= 3 * 300:
            raise KeyboardInterrupt
        return consolidate(self, t, report)

    monkeypatch.setattr(Recorder, "tick", slow_tick)
    monkeypatch.setattr(Simulation, "_consolidate", stop_at_third)
    monkeypatch.setattr("cloudsim.engine.simulation.BESIDE_ROWS", 0)
    sim = Simulation(sc, LocalBackend())
    s = sim.run()
    assert s["interrupted"] is True and s["ticks"] == 3 and len(sim.recorder.rows) == 3
    assert sim.recorder.rows[-1]["time_s"] == 900.0 and sim.recorder.latest.time_s == 900.0


@pytest.fixture
def ray_if_asked(request):
    """The session's Ray instance when the test's ``where`` is "ray" (started before the test runs: not inside it)."""
    if request.node.callspec.params.get("where") == "ray":
        request.getfixturevalue("ray_session")


@pytest.mark.parametrize("where", ["in turn", "beside", "ray"])
def test_a_stop_inside_the_recorders_tick_lands_after_it(monkeypatch, ray_if_asked, where):
    """A stop (SIGINT to the process) sent at the start of the third tick's recording lands once the row is
    recorded: in turn, the recording runs where ``whole()`` holds stops; beside, on a thread that blocks
    them (made inside ``whole()``), joined before the run ends; on Ray, during the next tick's advance, where
    ``whole()`` holds stops too. Either way the run stops with three whole ticks."""
    import os
    import signal

    from cloudsim.distributed import RayBackend
    from cloudsim.metrics.recorder import Recorder

    sc = demo(duration="2h")
    tick = Recorder.tick

    def stopped_tick(self, t, *args):
        if t == 900.0:
            os.kill(os.getpid(), signal.SIGINT)
        return tick(self, t, *args)

    monkeypatch.setattr(Recorder, "tick", stopped_tick)
    if where == "beside":
        monkeypatch.setattr("cloudsim.engine.simulation.BESIDE_ROWS", 0)
    sim = Simulation(sc, RayBackend() if where == "ray" else LocalBackend())
    s = sim.run()
    assert s["interrupted"] is True and s["ticks"] == 3 and len(sim.recorder.rows) == len(sim.recorder.history) == 3
    assert sim.recorder.latest.time_s == sim.recorder.rows[-1]["time_s"] == 900.0


@pytest.mark.parametrize("beside", [False, True])
def test_with_shards_in_other_processes_a_ticks_row_is_made_during_the_next_advance(ray_session, monkeypatch, beside):
    """On Ray the controller's process waits while the actors advance: a tick's row is made then, during the next
    tick's advance (sent, not yet answered), from what it read of the state at its tick (from BESIDE_ROWS guests,
    here from any, on the thread beside the consolidation), and the last one after the loop. The rows are the
    in-process run's, every one, and so is the summary."""
    import threading

    from cloudsim.distributed import RayBackend
    from cloudsim.metrics.recorder import Recorder

    sc = demo(duration="2h")
    taken: set[str] = set()
    tick_state = Recorder.tick_state

    def recorded_tick_state(self, *args):
        taken.add(threading.current_thread().name)
        return tick_state(self, *args)

    monkeypatch.setattr(Recorder, "tick_state", recorded_tick_state)
    local = Simulation(sc, LocalBackend())
    plain = local.run()
    seen: list[tuple[str, float]] = []
    tick, call, gather = Recorder.tick, RayBackend._call, RayBackend._gather

    def recorded_tick(self, t, *args):
        seen.append(("row", t))
        return tick(self, t, *args)

    def recorded_call(self, index, method, *args):
        if method == "advance":
            seen.append(("sent", args[1]))
        return call(self, index, method, *args)

    def recorded_gather(self, calls):
        seen.append(("answered", 0.0))
        return gather(self, calls)

    monkeypatch.setattr(Recorder, "tick", recorded_tick)
    monkeypatch.setattr(RayBackend, "_call", recorded_call)
    monkeypatch.setattr(RayBackend, "_gather", recorded_gather)
    if beside:
        monkeypatch.setattr("cloudsim.engine.simulation.BESIDE_ROWS", 0)
    taken.clear()
    sim = Simulation(sc, RayBackend())
    s = sim.run()
    assert stable(s) == stable(plain)
    assert taken and all(n.startswith("cloudsim-beside") == beside for n in taken)
    times = tick_times(sc)
    want = [("sent", times[0]), ("answered", 0.0)]
    for before, t in itertools.pairwise(times):
        want += [("sent", t), ("row", before), ("answered", 0.0)]
    assert seen == [*want, ("row", times[-1])]

    def without_wall(rows):
        return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]

    assert without_wall(sim.recorder.rows) == without_wall(local.recorder.rows) and len(sim.recorder.rows) == len(times)


def test_a_stop_before_the_row_made_during_an_advance_makes_it_at_once(ray_session, monkeypatch):
    """A stop that lands in a tick's advance on Ray before the last tick's row is made there: the row is made as
    the run ends, whole, and the summary counts that tick."""
    from cloudsim.distributed import RayBackend

    sc = demo(duration="2h")
    call = RayBackend._call

    def stop_at_third(self, index, method, *args):
        if method == "advance" and args[1] >= 3 * 300:
            raise KeyboardInterrupt
        return call(self, index, method, *args)

    monkeypatch.setattr(RayBackend, "_call", stop_at_third)
    sim = Simulation(sc, RayBackend())
    s = sim.run()
    assert s["interrupted"] is True and s["ticks"] == 2 and len(sim.recorder.rows) == len(sim.recorder.history) == 2
    assert sim.recorder.latest.time_s == sim.recorder.rows[-1]["time_s"] == 600.0


def test_a_large_shard_works_beside_the_controller_with_the_same_results(monkeypatch):
    """From BESIDE_ROWS rows (here from any), after each tick a shard draws the next tick's utilizations on a
    thread of its own while the controller works on the tick (HostShard.draw_ahead), and makes its report's
    two passes side by side. Rows drawn ahead are not drawn again at the tick, only the rows added since;
    removed rows and cuts in between change nothing: the summary is the one of a run doing all of it in
    turn (the demo's size)."""
    import threading

    from cloudsim.model import shard

    draws_at = shard.HostShard._draws_at
    rows = {"beside": 0, "at the tick": 0}

    def counted(self, tick, a):
        rows["at the tick" if threading.current_thread() is threading.main_thread() else "beside"] += len(a["gid"])
        return draws_at(self, tick, a)

    monkeypatch.setattr(shard.HostShard, "_draws_at", counted)
    sc = demo(duration="6h")
    in_turn = Simulation(sc, LocalBackend()).run()
    drawn_in_turn = dict(rows)
    rows.update({"beside": 0, "at the tick": 0})
    monkeypatch.setattr(shard, "BESIDE_ROWS", 0)
    beside = Simulation(sc, LocalBackend()).run()
    assert beside["migrations"] > 0 and stable(beside) == stable(in_turn)
    assert drawn_in_turn["beside"] == 0 and rows["beside"] > 0
    # at the ticks, only the rows added since the draws ahead
    assert rows["at the tick"] < drawn_in_turn["at the tick"] - rows["beside"] // 2


SETTLED_AHEAD_RUNS = {
    # guests come and go, migrations last hours (guests depart, and move again, while migrating), hosts fail
    # (their guests leave and are placed again) and come back
    "failures": ("consolidation-demo", ["duration=8h", "consolidation.host_bandwidth_gbps=0.05", "faults.mtbf=6h",
                                        "faults.mttr=1h"]),
    "ghosts": ("consolidation-demo", ["duration=1d", "consolidation.host_bandwidth_gbps=0.005",
                                      "consolidation.retarget=true"]),
}  # fmt: skip


@pytest.mark.parametrize("case", list(SETTLED_AHEAD_RUNS))
def test_a_tick_settled_ahead_gives_the_reports_of_the_tick_settled_whole(case, monkeypatch):
    """From BESIDE_ROWS rows (here from any), a shard settles its next tick ahead, beside the controller, and
    at the tick settles again only the hosts whose rows changed since (HostShard._settle_ahead): every tick's
    report, host by host and guest by guest, is the one of a run that settles every tick whole."""
    from cloudsim.model import shard

    name, overrides = SETTLED_AHEAD_RUNS[case]
    sc, _ = load_scenario(name, overrides)
    allocate = shard.HostShard._allocate
    redone: list[tuple[int, int]] = []  # (hosts redone, hosts) of each allocation from a tick settled ahead

    def counted(self, t):
        al = allocate(self, t)
        if self._from is not None:
            redone.append((len(self._from[2]), self.n))
        return al

    monkeypatch.setattr(shard.HostShard, "_allocate", counted)
    runs, reports = {}, {}
    for ahead in (False, True):
        monkeypatch.setattr(shard, "BESIDE_ROWS", 0 if ahead else 1 << 40)
        sim = Simulation(sc, LocalBackend())
        seen: list[dict] = []
        sim.tick_hooks.append(lambda t, r, seen=seen: seen.append({k: np.copy(v) for k, v in vars(r).items()}))
        runs[ahead], reports[ahead] = sim.run(), seen
    assert runs[True]["migrations"] > 0 and same_run_json(runs[True]) == same_run_json(runs[False])
    assert len(reports[True]) == len(reports[False]) > 20
    for got, want in zip(reports[True], reports[False], strict=True):
        for k, v in want.items():
            assert np.array_equal(got[k], v), k
    # most ticks came from a tick settled ahead, and redid some of the hosts only
    ticks = len(reports[True])
    assert len(redone) > ticks // 2 and sum(r for r, _ in redone) < sum(n for _, n in redone)


def test_bench_sim_fits_how_time_grows_with_hosts(tmp_path, capsys):
    """Several --hosts: one row each, as many guests per host as the first, and the exponent between sizes."""
    from cloudsim.bench import growth, overall_growth
    from cloudsim.cli import main

    out = tmp_path / "sim.csv"
    args = ["bench", "sim", "--hosts", "8", "--hosts", "24", "--guests", "16", "--duration", "2h", "--churn", "1",
            "--backend", "local", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    rows = [r.split(",") for r in out.read_text().splitlines()[1:]]
    assert [r[0] for r in rows] == ["synthetic-8-hosts-16-guests-churn-1d", "synthetic-24-hosts-48-guests-churn-1d"]
    # the tables print every cell whole, a row to a line, however wide (rich cut the names short to fit 140 columns)
    assert "…" not in printed
    for name in ("synthetic-8-hosts-16-guests-churn-1d", "synthetic-24-hosts-48-guests-churn-1d"):
        assert sum(name in line and " local " in line for line in printed.splitlines()) == 2  # a row in each table
    assert "│ migrations │" in printed.replace("┃", "│")
    assert "local: CPU time ∝ hosts^k, k = " in printed and "from 8 to 24 hosts" in printed
    assert growth([(10, 1.0), (100, 10.0), (1000, 1000.0)]) == [(10, 100, 1.0), (100, 1000, 2.0)]
    assert overall_growth([(10, 1.0), (100, 10.0), (1000, 1000.0)]) == pytest.approx(1.5)  # slope of the fit
    assert overall_growth([(10, 1.0), (100, 10.0)]) is None
    assert main(["bench", "sim", "--hosts", "8", "--hosts", "8"]) == 2
    assert "--hosts: each size once" in capsys.readouterr().err


def test_bench_sim_warms_the_kernels_before_the_first_timed_row(monkeypatch, capsys):
    """The first run in a process loads the compiled kernels; bench sim pays that untimed, before any row: a
    small synthetic data centre of the same kind (8 hosts, as many guests per host), run for 24 ticks at most,
    twice."""
    from cloudsim import bench, engine
    from cloudsim.cli import main

    calls: list[tuple[str, str, float]] = []
    real_time_run, real_run = bench.time_run, engine.Simulation.run

    def time_run(sc, *args, **kwargs):
        calls.append(("timed", sc.name, sc.duration))
        return real_time_run(sc, *args, **kwargs)

    def run(self, *args, **kwargs):
        calls.append(("run", self.scenario.name, self.scenario.duration))
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(bench, "time_run", time_run)
    monkeypatch.setattr(engine.Simulation, "run", run)
    args = ["bench", "sim", "--hosts", "40", "--guests", "120", "--duration", "1d", "--churn", "2",
            "--backend", "local"]  # fmt: skip
    assert main(args) == 0
    capsys.readouterr()
    # twice: as it is, then with a large shard's work beside (test_the_benchmarks_warm_up_takes_the_large_...)
    assert calls[:2] == [("run", "synthetic-8-hosts-24-guests-churn-2d", 24 * 300.0)] * 2
    assert calls[2:] == [("timed", "synthetic-40-hosts-120-guests-churn-2d", 86400.0),
                         ("run", "synthetic-40-hosts-120-guests-churn-2d", 86400.0)]  # fmt: skip


def test_bench_sim_repeats_rounds_and_shows_medians(tmp_path, capsys):
    """--repeat N: every row runs N times, a round of every backend after another; the CSV has every run (column
    run), the table each figure's median, the wall time's range, and the median of each round's ratios."""
    from cloudsim.bench import medians, ratios
    from cloudsim.cli import main

    out = tmp_path / "sim.csv"
    args = ["bench", "sim", "--hosts", "8", "--duration", "2h", "--backend", "local", "--repeat", "2",
            "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr()
    assert "the median of 2 runs" in printed.out
    assert "(run 1 of 2)" in printed.err and "(run 2 of 2)" in printed.err
    with out.open(newline="") as f:
        cells = list(csv.DictReader(f))
    assert [(c["backend"], c["run"], c["cpu_ratio"], c["wall_ratio"]) for c in cells] == [
        ("local", "1", "1.0", "1.0"), ("local", "2", "1.0", "1.0")
    ]  # fmt: skip
    assert main([*args[:-2], "--repeat", "0"]) == 2
    assert "--repeat" in capsys.readouterr().err
    # the ratios pair each run with the first row of its own round; the medians are per row, over the rounds
    key = {"scenario": "s", "hosts_per_shard": 4, "decisions_per_s": 10}
    rows = [{**key, "backend": "local", "actors": 0, "run": 1, "cpu_s": 2.0, "wall_s": 2.0},
            {**key, "backend": "ray", "actors": 1, "run": 1, "cpu_s": 3.0, "wall_s": 2.4},
            {**key, "backend": "local", "actors": 0, "run": 2, "cpu_s": 1.0, "wall_s": 1.0},
            {**key, "backend": "ray", "actors": 1, "run": 2, "cpu_s": 1.2, "wall_s": 1.5},
            {**key, "backend": "local", "actors": 0, "run": 3, "cpu_s": 4.0, "wall_s": 4.0},
            {**key, "backend": "ray", "actors": 1, "run": 3, "cpu_s": 4.4, "wall_s": 4.4}]  # fmt: skip
    ratios(rows)
    assert [r["wall_ratio"] for r in rows] == [1.0, 1.2, 1.0, 1.5, 1.0, 1.1]
    local, ray = medians(rows)
    assert (local["backend"], local["runs"], local["wall_s"], local["wall_min_s"], local["wall_max_s"]) == (
        "local", 3, 2.0, 1.0, 4.0
    )  # fmt: skip
    assert (ray["wall_s"], ray["wall_ratio"], ray["cpu_ratio"], ray["decisions_per_s"]) == (2.4, 1.2, 1.2, 10)


def test_bench_sim_shows_how_far_each_run_is_on_a_terminal(monkeypatch, capsys):
    """On a terminal a run's bar (its scenario and backend, the simulated time) shows while it runs, as
    ``cloudsim run``'s does, with the wall time so far and left; off a terminal nothing is drawn (the other bench
    tests). Without --guests there are 2 guests a host."""
    import io

    from rich.console import Console

    from cloudsim import cli

    screen = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=screen, force_terminal=True, width=160))
    args = ["bench", "sim", "--hosts", "8", "--duration", "2h", "--backend", "local"]
    assert cli.main(args) == 0
    capsys.readouterr()
    drawn = screen.getvalue()
    assert "synthetic-8-hosts-16-guests local" in drawn and "sim 02:00:00" in drawn
    assert "elapsed," in drawn and " left" in drawn  # the wall time so far, and left at the recent pace
    assert "synthetic-8-hosts-16-guests local x0:" in drawn  # the run's line, under the bar


def test_migrations_respect_compatibility():
    """Linux containers cannot run on a VirtualBox host over Windows: consolidation never sends them there."""
    sc = demo("hosts[1].hypervisor.host_os=windows", "hosts[1].count=8", "hosts[0].count=6", duration="8h")
    sim = Simulation(sc, LocalBackend())
    bad = []

    def check(t, report):
        for g in np.flatnonzero(sim.state.host >= 0).tolist():
            for h in sim.state.hosts_of(g)[:2]:
                cost = sim.cluster.costs(sim.guests_by_id[g].shape)[int(sim.cluster.group[h])]
                if not cost.compatible:
                    bad.append((t, g, h))

    sim.tick_hooks.append(check)
    s = sim.run()
    assert s["migrations"] > 0 and bad == []
    assert s["migrations_by_mode"]["container"]["count"] > 0


def test_guests_larger_than_a_core_migrate():
    """Our guests have vCPUs and the shards cap a request at the host's capacity only, so the consolidator does
    too: a guest requesting more than one core finds targets (with CloudSim's cap of one core it found none,
    and overloaded hosts stayed overloaded for good)."""
    sim = Simulation(demo(duration="12h"), LocalBackend())
    con, core, start = sim.consolidator, sim.cluster.mips_per_core, sim._migrate
    moves = []

    def migrate(t, vs, targets, commands):
        moves.extend((con.req[vs] > core[targets]).tolist())
        return start(t, vs, targets, commands)

    sim._migrate = migrate
    s = sim.run()
    assert s["migrations"] == len(moves) and sum(moves) > 0.05 * len(moves), (sum(moves), len(moves))


@pytest.mark.parametrize("kill_at", [5, 24, 30])
def test_a_killed_host_actor_is_rebuilt_and_the_summary_does_not_change(tmp_path, ray_session, kill_at):
    """SIGKILL one actor's process mid-run (before the first save at tick 12; as the save of tick 24 is under
    way, before the controller collects it; after the second): the backend rebuilds it from its last save,
    replays the calls since, and the summary is byte-identical."""
    import os
    import signal

    from cloudsim.distributed import RayBackend

    day = tiny_day(tmp_path)
    local = Simulation(trace_scenario(day), LocalBackend()).run()
    backend = RayBackend(checkpoint_ticks=12, checkpoint_s=0)
    sim = Simulation(trace_scenario(day, "ray.hosts_per_actor=5"), backend)
    killed = []

    def kill(t, report):
        if len(killed) == 0 and len(sim.recorder.rows) == kill_at:
            pid = backend.pids()[1]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    sim.tick_hooks.append(kill)
    s = sim.run()
    assert killed and backend.recovered == 1
    assert s["migrations"] > 0 and stable(s) == stable(local)


def test_the_actors_save_no_sooner_than_the_wall_time_floor(tmp_path, ray_session):
    """Saves come every ``checkpoint_ticks`` ticks, but no sooner than ``checkpoint_s`` of wall time after the
    last: with a floor longer than the run none is made, and the summary is the same either way (a lost actor
    then replays every call since the start, the test above at tick 5)."""
    from cloudsim.distributed import RayBackend

    sc = trace_scenario(tiny_day(tmp_path), "ray.hosts_per_actor=5")
    every, floored = RayBackend(checkpoint_ticks=1, checkpoint_s=0), RayBackend(checkpoint_ticks=1, checkpoint_s=3600)
    a, b = Simulation(sc, every).run(), Simulation(sc, floored).run()
    assert every.saves == a["ticks"] and floored.saves == 0
    assert stable(a) == stable(b)


def _broken_actor():
    """A shard actor class whose actors cannot start (as on a node that is gone)."""
    from cloudsim.distributed import ShardActor

    class Broken(ShardActor):
        def __init__(self, *args):
            raise RuntimeError("no node")

    return Broken


def test_an_actor_that_cannot_be_rebuilt_stops_the_run_and_keeps_what_it_computed(tmp_path, ray_session):
    import os
    import signal

    import ray

    from cloudsim.distributed import RayBackend

    backend = RayBackend(checkpoint_ticks=12, checkpoint_s=0)
    sim = Simulation(trace_scenario(tiny_day(tmp_path), "ray.hosts_per_actor=6"), backend)

    def kill(t, report):
        if len(sim.recorder.rows) == 4:
            backend._actor_class = lambda index, avoid: ray.remote(num_cpus=0, max_restarts=0)(_broken_actor())
            os.kill(backend.pids()[0], signal.SIGKILL)

    sim.tick_hooks.append(kill)
    s = sim.run()
    assert s["interrupted"] is True and s["ticks"] == 4
    assert s["lost"].startswith("host actor 0 was lost and could not be rebuilt in 3 tries")
    assert backend.handles == []  # released


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_a_run_resumed_from_its_checkpoint_ends_as_if_never_stopped(tmp_path, ray_session, backend):
    from cloudsim.distributed import RayBackend

    make = LocalBackend if backend == "local" else RayBackend
    sc = trace_scenario(tiny_day(tmp_path), "ray.hosts_per_actor=5")
    whole = Simulation(sc, LocalBackend())  # (on Ray the same, byte for byte: the tests above)
    full = whole.run()
    sim = Simulation(sc, make())
    path = tmp_path / "checkpoint.pkl"
    sim.checkpoint(path, 3600.0)

    def stop(t, report):
        if t > 3 * 3600 + 1000:  # after the checkpoint at the first tick past 3 h
            raise KeyboardInterrupt

    sim.tick_hooks.append(stop)
    part = sim.run()
    assert part["interrupted"] and path.is_file()
    resumed = Simulation.resume(path, make())
    assert 3 * 3600 <= resumed._now <= 3 * 3600 + 1000
    assert stable(resumed.run()) == stable(full) and full["migrations"] > 0
    assert resumed.recorder.placement_log == whole.recorder.placement_log  # the log before the checkpoint kept
