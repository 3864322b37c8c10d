"""Host failures and HA restarts: a failed host loses its guests, which restart elsewhere with the boot time
of their mode or wait for room; the failed host draws nothing until it is repaired."""

from __future__ import annotations

from cloudsim.cli import main
from cloudsim.engine import LocalBackend, Simulation
from cloudsim.scenario import load_scenario
from tests.helpers import same_run_json


def ha(*overrides: str):
    sc, _ = load_scenario("ha-demo", list(overrides))
    return sc


def watched(sc, backend=None):
    """A simulation whose invariants are checked at every tick; also what it saw of host kvm-0."""
    sim = Simulation(sc, backend or LocalBackend())
    seen = {"problems": [], "kvm0": []}
    h0 = sim.cluster.names.index("kvm-0")

    def hook(t, report):
        seen["problems"] += sim.check_invariants(report)
        seen["kvm0"].append((t, int(report.guests[h0]), float(report.power_w[h0]), bool(sim.down[h0])))

    sim.tick_hooks.append(hook)
    return sim, seen


def test_a_scheduled_failure_restarts_the_hosts_guests_elsewhere():
    sim, seen = watched(ha("faults.mtbf=null", "duration=12h"))
    s = sim.run()
    f = s["faults"]
    assert f["host_failures"] == 1 and f["restarts"] > 0 and f["waiting_at_end"] == 0
    assert seen["problems"] == []
    down = [(t, g, p) for t, g, p, d in seen["kvm0"] if d]
    assert down and all(t >= 6 * 3600 and t < 9 * 3600 for t, _, _ in down)
    assert all(g == 0 and p == 0.0 for _, g, p in down)  # a failed host holds nothing and draws nothing
    assert any(g > 0 for t, g, _, d in seen["kvm0"] if t < 6 * 3600)
    for mode, v in f["by_mode"].items():
        assert 0 < v["availability"] <= 1, mode
    # a restart costs at least the mode's boot time: 0.5 s for a container, 11 s for a VM
    by = f["by_mode"]
    assert by["container"]["downtime_s"] >= 0.5 * by["container"]["restarts"]
    assert by["para"]["downtime_s"] >= 11 * by["para"]["restarts"]


def test_guests_wait_for_room_and_restart_after_the_repair():
    # two hosts, one fails: the other cannot take everything, so some guests wait until the repair
    sc = ha("faults.mtbf=null", "duration=12h", "hosts[0].count=2", "hosts[1].count=1", "hosts[1].hypervisor.product=vmware-workstation",
            "workload.arrivals.rate_per_hour=20", "workload.lifetime.mean=2d")  # fmt: skip
    sim, seen = watched(sc)
    waiting = []
    sim.tick_hooks.append(lambda t, r: waiting.append((t, len(sim.waiting))))
    s = sim.run()
    assert seen["problems"] == []
    assert max(n for _, n in waiting) > 0
    assert all(n == 0 for t, n in waiting if t >= 9 * 3600) and s["faults"]["waiting_at_end"] == 0
    assert s["faults"]["restarts"] > 0


def test_random_failures_follow_the_seed():
    a = Simulation(ha("duration=1d"), LocalBackend())
    b = Simulation(ha("duration=1d"), LocalBackend())
    assert a._failures() == b._failures() and len(a._failures()) > 1
    c = Simulation(ha("duration=1d", "seed=6"), LocalBackend())
    assert c._failures() != a._failures()


def test_failures_with_consolidation_and_migrations_in_flight():
    sc, _ = load_scenario(
        "consolidation-demo",
        ["duration=8h", "consolidation.host_bandwidth_gbps=0.05", "faults.mtbf=6h", "faults.mttr=1h"],
    )
    sim = Simulation(sc, LocalBackend())
    problems = []
    sim.tick_hooks.append(lambda t, r: problems.extend(sim.check_invariants(r)))
    s = sim.run()
    assert problems == [] and s["faults"]["host_failures"] > 0 and s["migrations"] > 0


def test_failures_give_the_same_summary_on_host_actors(ray_session):
    from cloudsim.distributed import RayBackend

    sc = ha("duration=1d", "ray.hosts_per_actor=6")
    local = Simulation(sc, LocalBackend()).run()
    on_ray = Simulation(sc, RayBackend()).run()
    assert local["faults"]["host_failures"] > 1 and same_run_json(local) == same_run_json(on_ray)


def test_a_schedule_naming_an_unknown_host_is_one_line(capsys):
    assert main(["validate", "ha-demo", "--set", "faults.schedule[0].host=kvm-99"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: faults.schedule[0].host: no host 'kvm-99'") and err.count("\n") == 1


def test_the_ha_demo_prints_availability(capsys):
    assert main(["run", "ha-demo", "--backend", "local", "--no-progress", "--set", "duration=12h"]) == 0
    out = capsys.readouterr().out
    assert "host failures (drains) / restarts / waiting" in out and "availability of para guests" in out


def test_a_maintenance_drain_live_migrates_the_guests_away_first():
    sc = ha(
        "faults.mtbf=null", "faults.schedule=[]", "duration=12h", "faults.maintenance=[{host: kvm-0, at: 6h, down: 2h}]"
    )
    sim, seen = watched(sc)
    s = sim.run()
    f = s["faults"]
    assert seen["problems"] == []
    assert f["drains"] == 1 and f["host_failures"] == 1  # it went down after the drain
    assert s["migrations"] > 0 and f["restarts"] == 0  # every guest moved live: none restarted
    assert set(s["migrations_by_mode"]) <= {"container", "para", "full_hw"}
    down = [(t, g, p) for t, g, p, d in seen["kvm0"] if d]
    assert down and all(g == 0 and p == 0.0 for _, g, p in down)
