"""Warnings about valid scenarios (``cloudsim validate``, and ``cloudsim run`` before it starts): hosts whose
hypervisor keeps their whole memory, guests larger than every host they can run on, options a scenario's kind ignores; and the duration ``validate`` prints."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from cloudsim.cli import main
from cloudsim.engine import LocalBackend, Simulation
from cloudsim.engine.checks import (
    IGNORED,
    full_hosts,
    ignored_options,
    late_guests,
    oversized_guests,
    scenario_warnings,
)
from cloudsim.scenario.loader import builtin_text
from cloudsim.scenario.schema import Scenario, format_duration, parse_duration


@pytest.fixture(autouse=True)
def _narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")


def raw(name: str) -> dict[str, Any]:
    return yaml.safe_load(builtin_text(name))


def scenario(name: str, **edits: Any) -> Scenario:
    """A built-in with top-level sections replaced (``placement={...}``), validated by the schema alone (a
    trace scenario needs no data for these checks)."""
    data = copy.deepcopy(raw(name))
    data.update(edits)
    return Scenario.model_validate(data)


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------------------------ oversized guests


def _quickstart_with_db(vcpus: int, memory_gib: float, cpu_overcommit: float = 1.0) -> Scenario:
    data = raw("quickstart")
    data["workload"]["classes"][2].update(vcpus=vcpus, memory_gib=memory_gib)  # db: para on kvm and desk
    data["placement"]["overcommit"]["cpu"] = cpu_overcommit
    return Scenario.model_validate(data)


# quickstart: kvm 32 cores x 2600 MIPS, 128 GiB (4096 + 64 MiB reserved: 126,912 MiB for guests); desk 8 x 3000,
# 32 GiB (2048 + 64 reserved). db is para: c = 0.023 on kvm, 0.037 on desk; on kvm QEMU adds 138 MiB +
# 0.2 % + 8 MiB per extra vCPU.
@pytest.mark.parametrize(
    ("vcpus", "memory_gib", "warned", "needs"),
    [
        (4, 16, [], None),  # the built-in's db: fits easily
        # 64 x 2600 / 0.977 = 170,317 MIPS > 83,200 (desk: 64 x 3000 / 0.963 = 199,377 > 24,000)
        (64, 16, ["cpu"], "170,317 MIPS"),
        # 500 GiB = 512,000 MiB + 138 + 0.2 % (1,024) + 15 x 8 = 513,282 MiB > 126,912 (desk: 30,656)
        (16, 500, ["memory"], "513,282 MiB"),
        (64, 500, ["cpu", "memory"], "513,666 MiB"),  # + 63 x 8 MiB per extra vCPU
        # 32 vCPUs on 32 cores: 32 x 2600 / 0.977 = 85,159 MIPS > 83,200: the overhead alone does not fit
        (32, 16, ["cpu"], "85,159 MIPS"),
    ],
)
def test_a_guest_larger_than_every_host_is_named_with_its_size_and_the_largest_host(vcpus, memory_gib, warned, needs):
    found = oversized_guests(_quickstart_with_db(vcpus, memory_gib))
    assert [("cpu" if "MIPS" in w else "memory") for w in found] == warned
    for w in found:
        assert w.startswith("workload.classes[2] (db): ")
        assert f"{vcpus} vCPUs / {memory_gib:g} GiB" in w and "largest host it can run on, kvm" in w
    if "cpu" in warned:
        assert "= 83,200 MIPS" in found[0]
    if "memory" in warned:
        assert "= 126,912 MiB" in found[-1]
    if needs:
        assert f"needs {needs}" in found[-1]


def test_cpu_overcommit_makes_room_for_a_large_guest():
    # 64 x 2600 / 0.977 = 170,317 MIPS; with overcommit 2.1: 32 x 2600 x 2.1 = 174,720 MIPS
    assert oversized_guests(_quickstart_with_db(64, 16, cpu_overcommit=2.1)) == []


def test_a_guest_no_host_can_run_is_named():
    data = raw("quickstart")
    data["hosts"] = data["hosts"][:1]  # KVM only: no full_bt
    found = oversized_guests(Scenario.model_validate(data))
    assert len(found) == 1 and found[0].startswith("workload.classes[4] (retro): no host group can run full_bt")


def test_a_guest_that_fits_each_resource_somewhere_but_both_nowhere_is_named():
    data = raw("mixed-modes")
    # web (container, 2 vCPUs): give it 40 GiB and 20 vCPUs. kvm (256 GiB) has the memory, 32 x 2600 = 83,200
    # MIPS: 20 x 2600 / 0.989 = 52,578 fits; make kvm 16 cores x 2600 = 41,600 (too little) and desk 64 cores
    # x 3000 = 192,000 MIPS with 32 GiB (too little memory).
    data["workload"]["classes"][0].update(vcpus=20, memory_gib=40)
    data["hosts"][0]["cpu"]["cores"] = 16
    data["hosts"][1]["cpu"]["cores"] = 64
    found = oversized_guests(Scenario.model_validate(data))
    assert len(found) == 1 and "fits no empty host it can run on (kvm, desk)" in found[0]


@pytest.mark.parametrize(("memory_gib", "overcommit", "warned"), [(4, 1.0, True), (4, 2.0, False), (5, 1.0, False)])
def test_a_host_whose_hypervisor_keeps_its_whole_memory_is_named(memory_gib, overcommit, warned):
    # a KVM host keeps 4,096 MiB for host processes [M7] and 64 MiB for the container runtime
    data = raw("quickstart")
    data["hosts"][0]["memory_gib"] = memory_gib
    data["placement"]["overcommit"]["memory"] = overcommit
    sc = Scenario.model_validate({**data, "duration": "1h"})
    found = full_hosts(sc)
    assert found == (["hosts[0] (kvm): 4 GiB x memory overcommit 1 = 4,096 MiB is no more than the 4,160 MiB a kvm "
                      "host keeps for itself; no guest will be placed on these hosts"] if warned else [])  # fmt: skip
    assert found == scenario_warnings(sc)[: len(found)]
    # the run places nothing there, and its invariants hold at every tick (the reservation alone is over)
    sim = Simulation(sc, LocalBackend())
    sim.tick_hooks.append(lambda t, report: sim.check_invariants(report) == [] or pytest.fail(str(t)))
    sim.run()
    if warned:
        assert (sim.state.host[sim.state.host >= 0] >= 3).all() and sim.state.placed > 0  # all on the desk


# ------------------------------------------------------------------------------------- ignored options


@pytest.mark.parametrize(
    ("name", "edits", "warned"),
    [
        # the case: a policy on a PlanetLab trace (CloudSim's allocation places the VMs)
        ("planetlab-lr-mmt", {"placement": {"policy": "worst-fit"}}, ["placement.policy"]),
        ("planetlab-lr-mmt", {}, []),  # not set: nothing to say
        # with faults, the policy places the restarted guests: used
        ("planetlab-lr-mmt", {"placement": {"policy": "worst-fit"}, "faults": {"mtbf": "30d"}}, []),
        ("quickstart", {"placement": {"policy": "worst-fit"}}, []),  # synthetic arrivals use it
        # npa migrates nothing: the detector and selection are never asked
        ("planetlab-npa", {"consolidation": {"allocation": "npa", "detector": "mad", "selection": "mu"}},
         ["consolidation.detector", "consolidation.selection"]),
        ("planetlab-lr-mmt", {"consolidation": {"allocation": "migrate", "detector": "mad"}}, []),
        # mode: none (CloudSim's model) has no overhead to override
        ("planetlab-lr-mmt", {"overheads": {"full_hw": {"type1": {"cpu_compute": 0.1}}}}, ["overheads"]),
    ],
)  # fmt: skip
def test_an_option_the_scenario_kind_ignores_is_named(name, edits, warned):
    found = ignored_options(scenario(name, **edits))
    assert [w.split(":")[0] for w in found] == warned
    for w in found:
        assert ": ignored on " in w


def test_every_ignored_option_is_a_real_option():
    # each path resolves to a field of the schema (a renamed option would otherwise never warn again)
    for x in IGNORED:
        model: Any = Scenario
        for part in x.path.split("."):
            assert part in model.model_fields, x.path
            ann = model.model_fields[part].annotation
            model = next((a for a in getattr(ann, "__args__", (ann,)) if hasattr(a, "model_fields")), None)


def test_listed_guests_that_arrive_after_the_end_are_named():
    guests = [{"name": "early", "mode": "para", "os": "linux", "vcpus": 1, "memory_gib": 1, "arrival": "10m"},
              {"name": "late", "mode": "para", "os": "linux", "vcpus": 1, "memory_gib": 1, "arrival": "2h"}]  # fmt: skip
    data = {**raw("quickstart"), "duration": "1h", "workload": {"guests": guests}}
    assert late_guests(Scenario.model_validate(data)) == [
        "workload.guests[1] (late): 1 of the 2 listed guests arrives at or after the end of the run (duration 3600 s), so "
        "the run never places them; lengthen duration or move their arrival"
    ]
    data["workload"]["guests"][0]["arrival"] = "1h"  # at the end: never placed either
    (warning,) = scenario_warnings(Scenario.model_validate(data))
    assert warning.startswith("workload.guests[0] (early): every listed guest arrives at or after the end")


def test_the_builtins_have_no_warnings():
    for name in ("quickstart", "mixed-modes", "consolidation-demo", "ha-demo", "planetlab-lr-mmt", "planetlab-npa"):
        assert scenario_warnings(scenario(name)) == [], name


# -------------------------------------------------------------------------------------------- the CLI


def test_validate_prints_warnings_on_stderr_and_exits_0(capsys):
    args = ["validate", "quickstart", "--set", "workload.classes[2].vcpus=64", "--set", "workload.classes[2].memory_gib=500",
            "--set", "placement.overcommit.cpu=1"]  # fmt: skip
    code, out, err = _cli(capsys, *args)
    assert code == 0 and out.startswith("ok: quickstart: ")
    lines = err.splitlines()
    assert len(lines) == 2 and all(x.startswith("warning: workload.classes[2] (db): 64 vCPUs / 500 GiB") for x in lines)
    code, out, err = _cli(capsys, *args, "--strict")
    assert (code, out) == (2, "") and err.splitlines()[-1] == "error: --strict: 2 warnings (above)"


def test_validate_without_warnings_is_quiet_on_stderr_even_when_strict(capsys):
    assert _cli(capsys, "validate", "quickstart", "--strict")[::2] == (0, "")


def test_run_prints_the_warnings_before_it_starts(capsys):
    code, out, err = _cli(capsys, "run", "quickstart", "--backend", "local", "--json", "--set", "workload.classes[2].vcpus=64",
                          "--set", "placement.overcommit.cpu=1")  # fmt: skip
    assert code == 0
    assert err.startswith("warning: workload.classes[2] (db): 64 vCPUs")
    assert yaml.safe_load(out)["rejections"]["insufficient_cpu"] > 0  # as warned; stdout holds the JSON alone


# ------------------------------------------------------------------------------------ duration format


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(86400, "1d"), (4 * 3600, "4h"), (6 * 3600, "6h"), (1800, "30m"), (300, "5m"), (45, "45s"), (491700, "8195m"),
     (90000, "25h"), (0.25, "0.25s"), (86400 * 7, "7d")],
)  # fmt: skip
def test_durations_print_as_a_scenario_writes_them_and_read_back(seconds, text):
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


def test_validate_prints_the_duration_as_the_scenario_format(capsys):
    code, out, _ = _cli(capsys, "validate", "quickstart", "--set", "duration=1d")
    assert code == 0 and ", duration 1d, " in out
