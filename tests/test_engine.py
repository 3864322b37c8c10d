"""The controller loop on the in-process backend: conservation, determinism, the model's consequences."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from cloudsim.engine import EventQueue, LocalBackend, Priority, Simulation
from cloudsim.scenario import load_scenario, validate
from cloudsim.scenario.loader import ScenarioError
from tests.helpers import stable_json


def test_event_queue_orders_by_time_priority_sequence():
    q = EventQueue()
    q.push(5.0, Priority.TICK, "tick")
    q.push(5.0, Priority.ARRIVAL, "a1")
    q.push(1.0, Priority.ARRIVAL, "early")
    q.push(5.0, Priority.DEPARTURE, "d")
    q.push(5.0, Priority.ARRIVAL, "a2")
    assert [e.payload for e in q.pop_batch()] == ["early"]
    assert [e.payload for e in q.pop_batch()] == ["d", "a1", "a2", "tick"]
    assert len(q) == 0


@pytest.mark.parametrize("seed", range(3))
def test_the_calendar_queue_pops_what_one_heap_pops(seed):
    """A queue kept in tick windows gives the events in the order of one heap of them all, events pushed while
    it runs included: at an earlier time in the window being run, in a later one, past any window pushed yet."""
    rng = np.random.default_rng(seed)
    plain, calendar = EventQueue(), EventQueue(window_s=300.0)
    for q in (plain, calendar):
        q.push(0.0, Priority.TICK, "tick")
    for t in rng.uniform(0, 3000, 200).round(0).tolist():  # rounded: many events share a time
        prio = Priority(int(rng.integers(0, 6)))
        for q in (plain, calendar):
            q.push(t, prio, t)
    got: dict[int, list[tuple[float, int, object]]] = {0: [], 1: []}
    while len(plain):
        assert len(calendar) == len(plain) and calendar.peek_time() == plain.peek_time()
        batches = plain.pop_batch(), calendar.pop_batch()
        now = batches[0][0].time_s
        later = [now + d for d in rng.choice([0.0, 1.0, 299.0, 300.0, 4000.0], int(rng.integers(0, 3))).tolist()]
        for i, (q, batch) in enumerate(zip((plain, calendar), batches, strict=True)):
            got[i] += [(e.time_s, int(e.priority), e.payload) for e in batch]
            for t in later:  # what a batch's events schedule (a departure, a completion)
                q.push(t, Priority.DEPARTURE, "later")
    assert len(calendar) == 0
    assert got[1] == got[0] and len(got[0]) > 200


@pytest.mark.parametrize("name", ["mixed-modes", "quickstart"])
@pytest.mark.parametrize("policy", ["first-fit", "best-fit", "worst-fit", "dot-product", "balanced"])
def test_conservation_at_every_tick(name, policy):
    sc, _ = load_scenario(name, [f"placement.policy={policy}", "duration=2h"])
    sim = Simulation(sc, LocalBackend(), hosts_per_shard=3)
    seen: list[str] = []

    def check(t, report):
        seen.extend(f"t={t}: {p}" for p in sim.check_invariants(report))
        owners = [s.guest_hosts() for s in sim.backend.shards]
        ids = [g for o in owners for g in o]
        if len(ids) != len(set(ids)) or any(len(hs) > 1 for o in owners for hs in o.values()):
            seen.append(f"t={t}: a guest is on two hosts (no migrations here)")
        merged = {g: hs[0] for o in owners for g, hs in o.items()}
        if merged != {g: int(sim.state.host[g]) for g in np.flatnonzero(sim.state.host >= 0).tolist()}:
            seen.append(f"t={t}: shards and controller disagree on guest placement")

    sim.tick_hooks.append(check)
    summary = sim.run()
    assert seen == []
    g = summary["guests"]
    assert g["submitted"] == g["placed"] + g["rejected"] > 0
    assert g["placed"] == g["completed"] + g["running_at_end"]
    assert sum(summary["rejections"].values()) == g["rejected"]


def test_two_runs_are_identical():
    sc, _ = load_scenario("mixed-modes")
    a = Simulation(sc, LocalBackend(), run_id="a").run()
    b = Simulation(sc, LocalBackend(), run_id="b").run()
    assert stable_json(a) == stable_json(b)
    c = Simulation(load_scenario("mixed-modes", seed=8)[0], LocalBackend()).run()
    assert stable_json(a) != stable_json(c)


def test_grouping_does_not_change_the_local_result():
    sc, _ = load_scenario("mixed-modes")
    runs = [Simulation(sc, LocalBackend(), hosts_per_shard=k).run() for k in (1, 3, 8)]
    assert stable_json(runs[0]) == stable_json(runs[1]) == stable_json(runs[2])


def _one_host(mode: str, os_: str = "linux", product: str = "kvm", htype: str = "type1", host_os=None, **extra):
    hypervisor = {"type": htype, "product": product, **({"host_os": host_os} if host_os else {})}
    return validate(
        {
            "name": f"density-{mode}",
            "duration": "1h",
            "tick": "10m",
            "hosts": [
                {"name": "h", "count": 1, "cpu": {"cores": 64, "mips_per_core": 1000}, "memory_gib": 64,
                 "hypervisor": hypervisor}
            ],
            "workload": {
                "arrivals": {"process": "batch", "count": 200},
                "classes": [{"name": "g", "mode": mode, "os": os_, "vcpus": 1, "memory_gib": 1}],
            },
            **extra,
        }
    )  # fmt: skip


def test_containers_pack_denser_than_para_denser_than_full():
    # 64 cores, 64 GiB - 4 GiB KVM reserve - 64 MiB containerd = 61,376 MiB: memory binds first.
    # container: 1024 + 10 MiB; para/full on KVM (QEMU): 1024 + 130 + 0.2 % of 1024 + 8 per vCPU = 1164.048
    placed = {}
    for mode in ("container", "para", "full_hw"):
        placed[mode] = Simulation(_one_host(mode), LocalBackend()).run()["guests"]["placed"]
    # memory: 61376 / 1034 = 59.36 -> 59 containers; 61376 / 1164.048 = 52.7 -> 52 VMs
    assert placed["container"] == 59
    assert placed["para"] == placed["full_hw"] == 52
    # with memory plentiful, CPU separates para (c = 0.023: 62 guests) from full_hw (c = 0.06: 60 guests)
    big = {"overcommit": {"memory": 4.0}, "policy": "best-fit"}
    cpu_bound = {m: Simulation(_one_host(m, placement=big), LocalBackend()).run()["guests"]["placed"]
                 for m in ("container", "para", "full_hw")}  # fmt: skip
    # floor(64000 / (1000 / (1 - c))) = floor(64 * (1 - c)): 63.296 -> 63, 62.528 -> 62, 60.16 -> 60
    assert cpu_bound == {"container": 63, "para": 62, "full_hw": 60}


def test_a_container_on_a_type2_host_runs_on_its_kernel_or_in_the_helper_vm():
    # (the summary's cpu_fraction is the overhead's share of the CPU delivered, c / (1 - c))
    # VirtualBox on Linux: Linux containers on the host kernel (c = 0.011, 10 MiB); the host keeps 2048 MiB for
    # its OS and 64 for containerd: 63,424 / 1034 = 61.3 -> 61 containers
    native = Simulation(_one_host("container", product="virtualbox", htype="type2", host_os="linux"), LocalBackend())
    s = native.run()
    assert s["guests"]["placed"] == 61 and s["overhead"]["container"]["cpu_fraction"] == pytest.approx(
        0.011 / 0.989, abs=1e-6
    )
    # VirtualBox on Windows: the same containers in a helper Linux VM (c = 0.101, 10 MiB + 1 %), which keeps
    # 130 MiB more. CPU binds first, floor(64 x 0.899) = 57; with CPU booked twice over, memory: 63,294 / 1044.24
    # = 60.6 -> 60
    on_windows = {"product": "virtualbox", "htype": "type2", "host_os": "windows"}
    s = Simulation(_one_host("container", **on_windows), LocalBackend()).run()
    assert s["guests"]["placed"] == 57 and s["overhead"]["container"]["cpu_fraction"] == pytest.approx(
        0.101 / 0.899, abs=1e-6
    )
    over = _one_host("container", placement={"overcommit": {"cpu": 2.0}}, **on_windows)
    assert Simulation(over, LocalBackend()).run()["guests"]["placed"] == 60
    # no helper VM for other kernels: a Windows container needs a Windows host OS
    with pytest.raises(ScenarioError, match="windows guest on a linux kernel"):
        _one_host("container", "windows", product="virtualbox", htype="type2", host_os="linux")


def test_a_vcpu_is_never_faster_than_a_core_of_its_host():
    # two hosts: cores of 1000 and of 3000 MIPS; guests of one vCPU at 2000 MIPS fit only on the fast one
    sc = _one_host("container", placement={"overcommit": {"memory": 4.0}})
    data = sc.model_dump(mode="json", exclude_none=True)
    data["hosts"].append({**data["hosts"][0], "name": "fast", "cpu": {"cores": 4, "mips_per_core": 3000}})
    data["workload"]["classes"][0]["mips_per_vcpu"] = 2000
    s = Simulation(validate(data), LocalBackend()).run()
    assert s["guests"]["placed"] == 5  # floor(12000 / (2000 / (1 - 0.011))) on the fast host, none on the slow
    data["workload"]["classes"][0]["mips_per_vcpu"] = 3500  # faster than every core: refused before the run
    with pytest.raises(ScenarioError, match=r"mips_per_vcpu: a vCPU runs on one core .* at most 3000 MIPS; got 3500"):
        validate(data)


def test_overcommit_lets_more_in():
    base = Simulation(_one_host("container"), LocalBackend()).run()["guests"]["placed"]
    over = _one_host("container", placement={"overcommit": {"cpu": 2.0, "memory": 2.0}})
    assert Simulation(over, LocalBackend()).run()["guests"]["placed"] > base


def test_explicit_guest_list_with_boot_and_departure():
    sc = validate(
        {
            "name": "explicit",
            "duration": "30m",
            "tick": "1m",
            "hosts": [{"name": "x", "cpu": {"cores": 8, "mips_per_core": 2000}, "memory_gib": 32,
                       "hypervisor": {"type": "type1", "product": "xen"}}],
            "workload": {
                "guests": [
                    {"name": "pv", "mode": "para", "os": "linux", "vcpus": 2, "memory_gib": 4,
                     "arrival": "1m", "lifetime": "10m"},
                    {"name": "win", "mode": "full_hw", "os": "windows", "vcpus": 2, "memory_gib": 4,
                     "arrival": "2m"},
                    {"name": "too-big", "mode": "para", "os": "linux", "vcpus": 16, "memory_gib": 4,
                     "arrival": "3m"},
                ]
            },
        }
    )  # fmt: skip
    sim = Simulation(sc, LocalBackend())
    summary = sim.run()
    assert summary["guests"] == {"submitted": 3, "placed": 2, "rejected": 1, "completed": 1, "running_at_end": 1}
    assert summary["rejections"] == {"insufficient_cpu": 1}
    rows = {r["time_s"]: r for r in sim.recorder.rows}
    # arrived at 60 s, boots in 11 s [B1]: hosted but not yet running at no tick (ticks are 60 s apart)
    assert rows[120.0]["guests_running"] == 1 and rows[120.0]["guests_hosted"] == 2
    assert rows[180.0]["guests_running"] == 2
    assert rows[720.0]["guests_hosted"] == 1  # pv left at 660 s
    log = sim.recorder.placement_log
    assert log[2]["outcome"] == "rejected" and "insufficient cpu" in log[2]["detail"]


def test_energy_integrates_power_over_time():
    sim = Simulation(_one_host("container"), LocalBackend())
    sim.run()
    rows = sim.recorder.rows
    # energy(t_k) - energy(t_{k-1}) = power over the interval, which is constant between ticks here
    # (the whole batch arrives at t = 0, constant utilization)
    for prev, cur in itertools.pairwise(rows):
        assert (cur["energy_kwh"] - prev["energy_kwh"]) * 3.6e6 == pytest.approx(prev["power_w"] * 600, rel=1e-9)
    assert np.isclose(rows[0]["energy_kwh"] * 3.6e6, rows[0]["power_w"] * 600)


class RecordingBackend(LocalBackend):
    """The in-process backend, recording every call the controller makes."""

    def __init__(self) -> None:
        super().__init__()
        self.applies: list[tuple[float, list[int], int]] = []

    def apply(self, t, commands):
        self.applies.append((t, sorted(commands), sum(len(c) for c in commands.values())))
        super().apply(t, commands)


def test_one_batched_call_per_shard_per_event_time():
    # 200 guests arriving together at t = 0 reach the shards in one call per shard, not one per guest
    sc = _one_host("container")
    backend = RecordingBackend()
    Simulation(sc, backend).run()
    assert len(backend.applies) == 1
    t, shards, n_commands = backend.applies[0]
    assert (t, shards, n_commands) == (0.0, [0], 59)
    # and in a Poisson run: never two calls for the same event time
    backend = RecordingBackend()
    Simulation(load_scenario("mixed-modes", ["duration=1h"])[0], backend, hosts_per_shard=2).run()
    times = [t for t, _, _ in backend.applies]
    assert len(times) == len(set(times))


def test_interrupted_run_keeps_what_it_computed():
    sc, _ = load_scenario("mixed-modes")
    sim = Simulation(sc, LocalBackend())

    def stop(t, report):
        if t >= 3600:
            raise KeyboardInterrupt

    sim.tick_hooks.append(stop)
    summary = sim.run()
    assert summary["interrupted"] is True
    assert summary["sim_time_s"] == 3600 and summary["ticks"] == 12
    assert summary["guests"]["placed"] > 0 and summary["energy_kwh"] > 0


def test_a_stop_inside_a_compiled_call_is_a_stop_and_other_system_errors_are_not():
    """A SIGINT or SIGTERM that lands while a numba kernel's call runs Python code reaches the run as the
    call's SystemError, caused by the KeyboardInterrupt (seen under load: the CLI then exited 1 with a
    traceback); the run stops as for any stop. A SystemError of another cause still propagates."""
    sc, _ = load_scenario("mixed-modes")

    def stop(t, report):
        if t >= 3600:
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt as exc:
                raise SystemError(
                    "CPUDispatcher(<function patch_lists>) returned a result with an exception set"
                ) from exc

    sim = Simulation(sc, LocalBackend())
    sim.tick_hooks.append(stop)
    summary = sim.run()
    assert summary["interrupted"] is True and summary["sim_time_s"] == 3600

    def stop_in_context(t, report):  # the KeyboardInterrupt as the context of a SystemError of a SystemError
        if t >= 3600:
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt:
                try:
                    raise SystemError("CPUDispatcher(<function _rows_by_host>) returned a result with an exception set")
                except SystemError as inner:
                    raise SystemError("CPUDispatcher(<function _fair_events>) returned ...") from inner

    sim = Simulation(sc, LocalBackend())
    sim.tick_hooks.append(stop_in_context)
    summary = sim.run()
    assert summary["interrupted"] is True and summary["sim_time_s"] == 3600

    def broken(t, report):
        raise SystemError("a real bug")

    sim = Simulation(sc, LocalBackend())
    sim.tick_hooks.append(broken)
    with pytest.raises(SystemError, match="a real bug"):
        sim.run()


def _two_hosts(guests_vcpus: list[int], policy: str, wave_order: str = "decreasing"):
    """Two KVM hosts of 4 cores x 1000 MIPS; containers with no CPU overhead; all arrive at t = 0."""
    return validate(
        {
            "name": "wave",
            "duration": "10m",
            "tick": "5m",
            "hosts": [{"name": "h", "count": 2, "cpu": {"cores": 4, "mips_per_core": 1000}, "memory_gib": 64,
                       "hypervisor": {"type": "type1", "product": "kvm"}}],
            "workload": {"guests": [{"mode": "container", "os": "linux", "vcpus": v, "memory_gib": 1}
                                    for v in guests_vcpus]},
            "placement": {"policy": policy, "wave_order": wave_order},
            "overheads": {"container": {"type1": {"cpu_compute": 0.0, "cpu_os": 0.0}}},
        }
    )  # fmt: skip


def test_a_wave_is_placed_largest_first():
    # vCPUs 1, 1, 3, 3 on two 4-core hosts, first fit.
    # In arrival order: h0 <- 1, 1; 3 does not fit h0 (2 free) -> h1; the second 3 fits nowhere.
    # Largest first (FFD): h0 <- 3, h1 <- 3, then 1 -> h0, 1 -> h1: everything fits.
    arrival = Simulation(_two_hosts([1, 1, 3, 3], "first-fit", "arrival"), LocalBackend()).run()
    ffd = Simulation(_two_hosts([1, 1, 3, 3], "first-fit"), LocalBackend()).run()
    assert (arrival["guests"]["placed"], arrival["guests"]["rejected"]) == (3, 1)
    assert (ffd["guests"]["placed"], ffd["guests"]["rejected"]) == (4, 0)


def test_lower_bound_and_packing_efficiency():
    # two 1-vCPU guests need one 4-core host at least; worst fit spreads them over two: efficiency 1/2,
    # best fit packs them on one: efficiency 1
    spread = Simulation(_two_hosts([1, 1], "worst-fit"), LocalBackend()).run()
    packed = Simulation(_two_hosts([1, 1], "best-fit"), LocalBackend()).run()
    assert spread["hosts"]["lower_bound_max"] == packed["hosts"]["lower_bound_max"] == 1
    assert spread["hosts"]["active_max"] == 2 and spread["packing_efficiency"]["mean"] == 0.5
    assert packed["hosts"]["active_max"] == 1 and packed["packing_efficiency"]["mean"] == 1.0
    # 3 + 3 vCPUs exceed one host: the bound is 2, and two hosts is optimal
    assert Simulation(_two_hosts([3, 3], "best-fit"), LocalBackend()).run()["packing_efficiency"]["final"] == 1.0


def test_a_stop_waits_for_the_end_of_a_whole_block():
    """A signal that arrives inside ``whole()`` is delivered when the block ends, not in the middle."""
    import os
    import signal

    from cloudsim.engine.core import whole

    done = []

    def stop(signum, frame):
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGTERM, stop)
    try:
        with pytest.raises(KeyboardInterrupt):
            with whole():
                os.kill(os.getpid(), signal.SIGTERM)
                done.append("first half")
                done.append("second half")
            # with other threads in the process (Ray's), one of them may take the signal a moment later
            time.sleep(5)
        assert done == ["first half", "second half"]
    finally:
        signal.signal(signal.SIGTERM, before)


def test_a_stop_waits_for_the_end_of_a_whole_block_when_another_thread_takes_the_signal():
    """With other threads in the process (Ray's driver has a dozen), the kernel hands a signal the main thread
    blocks to one of them; the stop must still wait for the end of the block (a Ray run stopped by Ctrl-C
    once kept a tick's row without its metrics snapshot)."""
    import signal
    import threading

    from cloudsim.engine.core import whole

    def stop(signum, frame):
        raise KeyboardInterrupt

    idle = threading.Event()
    helper = threading.Thread(target=idle.wait, daemon=True)  # started before the block: signals not blocked
    helper.start()
    before = signal.signal(signal.SIGTERM, stop)
    done = []
    try:
        with pytest.raises(KeyboardInterrupt):
            with whole():
                signal.pthread_kill(helper.ident, signal.SIGTERM)  # as the kernel does when the main thread blocks it
                for k in range(200_000):  # bytecodes enough for the main thread to see a signal another caught
                    done.append(k)
            time.sleep(5)  # (should the helper take it only now)
        assert len(done) == 200_000
    finally:
        signal.signal(signal.SIGTERM, before)
        idle.set()
        helper.join()


def test_a_stop_landing_as_a_whole_block_ends_leaves_no_signal_blocked_and_every_handler_back(monkeypatch):
    """A stop's handler runs at whatever bytecode the main thread is at, also while ``whole()`` puts the
    handlers back (another thread took the signal a moment before). The main thread's mask and both handlers
    are still as they were: a mask left blocking SIGTERM is inherited by every thread and process started
    after it (the later tests' sweeps once ignored SIGTERM)."""
    import signal

    from cloudsim.engine.core import whole

    real = signal.signal

    def stop(signum, frame):
        raise KeyboardInterrupt

    def landing(sig, handler):  # the stop lands just as its handler is back
        previous = real(sig, handler)
        if handler is stop:
            raise KeyboardInterrupt
        return previous

    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    before = {sig: real(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        monkeypatch.setattr(signal, "signal", landing)
        with pytest.raises(KeyboardInterrupt), whole():
            pass
        monkeypatch.undo()
        assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == mask
        assert signal.getsignal(signal.SIGINT) is stop and signal.getsignal(signal.SIGTERM) is stop
    finally:
        monkeypatch.undo()
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for sig, handler in before.items():
            real(sig, handler)


def test_a_stop_is_a_keyboard_interrupt_or_a_system_error_it_caused():
    import itertools

    from cloudsim.engine.core import is_stop

    def chained(*excs: BaseException, cause: bool = True) -> BaseException:
        for inner, outer in itertools.pairwise(excs):
            if cause:
                outer.__cause__ = inner
            else:
                outer.__context__ = inner
        return excs[-1]

    assert is_stop(KeyboardInterrupt())
    assert is_stop(chained(KeyboardInterrupt(), SystemError("returned a result with an exception set")))
    assert is_stop(chained(KeyboardInterrupt(), SystemError("a"), SystemError("b"), cause=False))
    assert not is_stop(SystemError("a real bug"))
    assert not is_stop(chained(KeyboardInterrupt(), ValueError("raised while stopping")))
    assert not is_stop(chained(KeyboardInterrupt(), ValueError("x"), SystemError("y")))
    loop = SystemError("a cycle")
    loop.__context__ = loop
    assert not is_stop(loop)
