"""Scenario loading through the Python API: durations, the acceptance example, the explicit guest list,
guest/host compatibility, ``--set`` overrides and the ScenarioError field paths. No Ray."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudsim.scenario import (
    Scenario,
    ScenarioError,
    apply_override,
    builtin_description,
    builtin_names,
    load_scenario,
    parse_duration,
    read_raw,
    validate,
)
from cloudsim.scenario.loader import builtin_text
from cloudsim.virt import HypervisorType, OSFamily, VirtMode
from tests.helpers import write_azure

# The acceptance example from the issue, verbatim. It must be accepted exactly as written.
MIXED_MODES_YAML = """\
name: mixed-modes
seed: 7
duration: 6h            # accepts 300s, 5m, 6h, 1d, or a number of seconds
tick: 5m
hosts:
  - name: kvm           # hosts kvm-0 .. kvm-5
    count: 6
    cpu: {cores: 32, mips_per_core: 2600}
    memory_gib: 256
    hypervisor: {type: type1, product: kvm}
  - name: desk
    count: 2
    cpu: {cores: 8, mips_per_core: 3000}
    memory_gib: 32
    hypervisor: {type: type2, product: virtualbox}
workload:
  arrivals: {process: poisson, rate_per_hour: 120}
  lifetime: {distribution: exponential, mean: 2h}
  classes:
    - {name: web, weight: 5, mode: container, os: linux, vcpus: 2, memory_gib: 4, cpu_utilization: {distribution: uniform, low: 0.1, high: 0.6}}
    - {name: db, weight: 2, mode: para, os: linux, vcpus: 4, memory_gib: 16}
    - {name: legacy, weight: 1, mode: full_hw, os: windows, vcpus: 4, memory_gib: 8}
placement:
  policy: best-fit
  overcommit: {cpu: 1.0, memory: 1.0}
"""


def base() -> dict[str, Any]:
    return yaml.safe_load(MIXED_MODES_YAML)


def host(name: str, product: str, htype: str, host_os: str | None = None) -> dict[str, Any]:
    hv: dict[str, Any] = {"type": htype, "product": product}
    if host_os is not None:
        hv["host_os"] = host_os
    return {"name": name, "cpu": {"cores": 8, "mips_per_core": 2000}, "memory_gib": 64, "hypervisor": hv}


def guest(mode: str, os: str, **extra: Any) -> dict[str, Any]:
    return {"mode": mode, "os": os, "vcpus": 1, "memory_gib": 1, **extra}


def with_hosts_and_guests(hosts: list[dict[str, Any]], guests: list[dict[str, Any]]) -> dict[str, Any]:
    data = base()
    data["hosts"] = hosts
    data["workload"] = {"guests": guests}
    return data


def scenario_error(data: dict[str, Any]) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        validate(data)
    return info.value


# ------------------------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("300s", 300.0),
        ("5m", 300.0),
        ("5min", 300.0),
        ("6h", 21_600.0),
        ("1d", 86_400.0),
        ("250ms", 0.25),
        ("1.5h", 5_400.0),
        (".5m", 30.0),
        ("90", 90.0),
        (" 10 s ", 10.0),
        ("0s", 0.0),
        (300, 300.0),
        (0, 0.0),
        (2.5, 2.5),
    ],
)
def test_parse_duration_accepts(text: object, seconds: float) -> None:
    got = parse_duration(text)
    assert isinstance(got, float)
    assert got == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("6 hours", "malformed duration '6 hours'"),
        ("5x", "malformed duration '5x'"),
        ("1h30m", "malformed duration"),
        ("", "malformed duration ''"),
        ("s", "malformed duration"),
        ("m5", "malformed duration"),
        ("-5m", "malformed duration"),
        ("1e3", "malformed duration"),
        ("inf", "malformed duration"),
        (None, "malformed duration None"),
        ([5], "malformed duration [5]"),
        ({"h": 1}, "malformed duration"),
        (True, "expected a duration"),
        (False, "expected a duration"),
        (-1, "cannot be negative"),
        (-0.5, "cannot be negative"),
        (math.inf, "finite"),
        (-math.inf, "finite"),
        (math.nan, "finite"),
    ],
)
def test_parse_duration_rejects(value: object, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(value)
    assert fragment in str(info.value)
    if isinstance(value, str | list | dict) or value is None:
        assert "300s, 5m, 6h, 1d" in str(info.value)  # the message shows the accepted forms


@pytest.mark.parametrize(
    ("field", "text", "seconds"),
    [
        ("duration", "300s", 300.0),
        ("duration", "5m", 300.0),
        ("duration", "6h", 21_600.0),
        ("duration", "1d", 86_400.0),
        ("duration", 7200, 7200.0),
        ("duration", 90.5, 90.5),
        ("tick", "250ms", 0.25),
        ("tick", "60s", 60.0),
        ("tick", 30, 30.0),
    ],
)
def test_scenario_durations(field: str, text: object, seconds: float) -> None:
    data = base()
    data[field] = text
    assert getattr(validate(data), field) == pytest.approx(seconds)


@pytest.mark.parametrize("field", ["duration", "tick"])
@pytest.mark.parametrize("value", [0, "0s", "0m"])
def test_scenario_durations_must_be_positive(field: str, value: object) -> None:
    data = base()
    data[field] = value
    err = scenario_error(data)
    assert err.path == field
    assert "greater than 0" in err.message


@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_non_finite_duration_is_rejected(value: float) -> None:
    """``duration: .inf`` used to be accepted (and crashed the CLI's summary line)."""
    data = base()
    data["duration"] = value
    err = scenario_error(data)
    assert err.path == "duration"
    assert "finite" in err.message


def test_lifetime_distribution_takes_durations() -> None:
    data = base()
    data["workload"]["lifetime"] = {"distribution": "uniform", "low": "30m", "high": "1d"}
    lt = validate(data).workload.lifetime
    assert lt is not None
    assert (lt.low, lt.high) == (1800.0, 86_400.0)


# ------------------------------------------------------------------------------- the acceptance example


def _check_mixed_modes(sc: Scenario) -> None:
    assert sc.name == "mixed-modes"
    assert sc.seed == 7
    assert sc.duration == 6 * 3600
    assert sc.tick == 300
    assert [(g.name, g.count) for g in sc.hosts] == [("kvm", 6), ("desk", 2)]
    kvm, desk = sc.hosts
    assert (kvm.cpu.cores, kvm.cpu.mips_per_core, kvm.memory_gib) == (32, 2600, 256)
    assert (desk.cpu.cores, desk.cpu.mips_per_core, desk.memory_gib) == (8, 3000, 32)
    assert (kvm.hypervisor.type, kvm.hypervisor.product) == (HypervisorType.TYPE1, "kvm")
    assert (desk.hypervisor.type, desk.hypervisor.product) == (HypervisorType.TYPE2, "virtualbox")
    assert desk.hypervisor.host_os is None  # a type2 host defaults to linux downstream
    wl = sc.workload
    assert wl.guests is None
    assert wl.arrivals is not None and wl.arrivals.process == "poisson" and wl.arrivals.rate_per_hour == 120
    assert wl.lifetime is not None and wl.lifetime.distribution == "exponential" and wl.lifetime.mean == 7200
    assert wl.classes is not None
    shapes = [(c.name, c.weight, c.mode, c.os, c.vcpus, c.memory_gib) for c in wl.classes]
    assert shapes == [
        ("web", 5, VirtMode.CONTAINER, OSFamily.LINUX, 2, 4),
        ("db", 2, VirtMode.PARA, OSFamily.LINUX, 4, 16),
        ("legacy", 1, VirtMode.FULL_HW, OSFamily.WINDOWS, 4, 8),
    ]
    web = wl.classes[0].cpu_utilization
    assert (web.distribution, web.low, web.high) == ("uniform", 0.1, 0.6)
    assert wl.classes[1].cpu_utilization.distribution == "constant"  # default: all of its vCPUs
    assert wl.classes[1].cpu_utilization.value == 1.0
    assert sc.placement.policy == "best-fit"
    assert (sc.placement.overcommit.cpu, sc.placement.overcommit.memory) == (1.0, 1.0)
    assert sc.overheads == {}


def test_mixed_modes_acceptance_example_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_text(MIXED_MODES_YAML, encoding="utf-8")
    sc, raw = load_scenario(path)
    _check_mixed_modes(sc)
    assert raw == yaml.safe_load(MIXED_MODES_YAML)


def test_mixed_modes_builtin_is_the_acceptance_example() -> None:
    assert yaml.safe_load(builtin_text("mixed-modes")) == yaml.safe_load(MIXED_MODES_YAML)
    sc, _ = load_scenario("mixed-modes")
    _check_mixed_modes(sc)


def test_builtins_are_listed_described_and_valid(tmp_path: Path) -> None:
    names = builtin_names()
    assert {"quickstart", "mixed-modes", "azure-v1"} <= set(names)
    assert names == sorted(names)
    for name in names:
        assert builtin_description(name), name
        # trace-driven built-ins need a day folder (any folder passes validation); azure-v1 a data folder
        extra = [f"workload.trace.path={Path(__file__).parent}"] if name.startswith("planetlab-") else []
        extra += [f"workload.requests.path={write_azure(tmp_path)}"] if name == "azure-v1" else []
        sc, _ = load_scenario(name, extra)
        assert sc.name == name


def test_read_raw_labels_the_source(tmp_path: Path) -> None:
    _, label = read_raw("quickstart")
    assert label == "built-in:quickstart"
    path = tmp_path / "s.yaml"
    path.write_text(MIXED_MODES_YAML, encoding="utf-8")
    _, label = read_raw(str(path))
    assert label == str(path)


def test_a_file_wins_over_a_builtin_of_the_same_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = base()
    data["name"] = "from-the-file"
    (tmp_path / "quickstart").write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    sc, _ = load_scenario("quickstart")
    assert sc.name == "from-the-file"


# ------------------------------------------------------------------------------- explicit guest list


def test_explicit_guest_list_is_accepted() -> None:
    data = base()
    data["workload"] = {
        "guests": [
            {
                "name": "db-1",
                "mode": "para",
                "os": "linux",
                "vcpus": 4,
                "memory_gib": 16,
                "arrival": "5m",
                "lifetime": "2h",
            },
            {"mode": "full_hw", "os": "windows", "vcpus": 2, "memory_gib": 8, "arrival": 90},
            {
                "mode": "container",
                "os": "linux",
                "vcpus": 1,
                "memory_gib": 0.5,
                "cpu_utilization": {"distribution": "normal", "mean": 0.4, "std": 0.1},
            },
        ]
    }
    wl = validate(data).workload
    assert wl.classes is None and wl.arrivals is None and wl.lifetime is None
    assert wl.guests is not None
    g0, g1, g2 = wl.guests
    assert (g0.name, g0.arrival, g0.lifetime) == ("db-1", 300.0, 7200.0)
    assert (g1.name, g1.arrival, g1.lifetime) == (None, 90.0, None)  # no lifetime: runs to the end
    assert (g2.arrival, g2.mode, g2.cpu_utilization.mean) == (0.0, VirtMode.CONTAINER, 0.4)


@pytest.mark.parametrize(
    ("guest_extra", "path", "fragment"),
    [
        ({"lifetime": 0}, "workload.guests[0].lifetime", "greater than 0"),
        ({"lifetime": "soon"}, "workload.guests[0].lifetime", "malformed duration 'soon'"),
        ({"arrival": "-5m"}, "workload.guests[0].arrival", "malformed duration"),
        ({"arrival": -5}, "workload.guests[0].arrival", "cannot be negative"),
        ({"weight": 2}, "workload.guests[0].weight", "unknown key 'weight'"),
        ({"vcpus": 0}, "workload.guests[0].vcpus", "greater than 0"),
    ],
)
def test_explicit_guest_list_errors(guest_extra: dict[str, Any], path: str, fragment: str) -> None:
    data = base()
    data["workload"] = {"guests": [guest("para", "linux", **guest_extra)]}
    err = scenario_error(data)
    assert err.path == path
    assert fragment in err.message


def test_empty_guest_list_is_rejected() -> None:
    data = base()
    data["workload"] = {"guests": []}
    err = scenario_error(data)
    assert err.path == "workload.guests"
    assert "empty" in err.message


@pytest.mark.parametrize("generated", ["classes", "arrivals", "lifetime"])
def test_guests_and_the_generated_form_are_exclusive(generated: str) -> None:
    data = base()
    data["workload"] = {"guests": [guest("para", "linux")], generated: data["workload"][generated]}
    err = scenario_error(data)
    assert err.path == "workload"
    assert "guests" in err.message and "not both" in err.message


def test_workload_needs_one_form() -> None:
    data = base()
    data["workload"] = {"arrivals": data["workload"]["arrivals"]}
    err = scenario_error(data)
    assert err.path == "workload"
    assert "guests" in err.message and "classes" in err.message


# --------------------------------------------------------------------------------- compatibility rules


@pytest.mark.parametrize(
    ("hosts", "mode", "os"),
    [
        ([host("k", "kvm", "type1"), host("v", "virtualbox", "type2")], "para", "windows"),
        ([host("k", "kvm", "type1")], "container", "windows"),
        ([host("k", "kvm", "type1"), host("x", "xen", "type1")], "container", "windows"),
        ([host("v", "virtualbox", "type2")], "container", "bsd"),  # type2 host OS defaults to linux
        ([host("h", "hyperv", "type1")], "container", "linux"),
        ([host("e", "esxi", "type1")], "container", "linux"),  # the VMkernel runs no containers
        ([host("k", "kvm", "type1"), host("h", "hyperv", "type1")], "full_bt", "linux"),  # hw assist only
    ],
    ids=["windows-para", "windows-container-kvm", "windows-container-kvm-xen", "bsd-container-vbox-linux",
         "linux-container-hyperv", "container-esxi", "full_bt-kvm-hyperv"],
)  # fmt: skip
def test_guest_no_host_can_run_is_rejected(hosts: list[dict[str, Any]], mode: str, os: str) -> None:
    data = with_hosts_and_guests(hosts, [guest("full_hw", "linux"), guest(mode, os)])
    err = scenario_error(data)
    assert err.path == "workload.guests[1].mode"
    assert f"no host in the scenario can run a {os} guest in {mode} mode" in err.message
    for h in hosts:  # every host's reason is given
        assert f"{h['name']}: " in err.message


def test_class_no_host_can_run_names_the_class_path() -> None:
    data = base()
    data["workload"]["classes"][2]["mode"] = "para"  # legacy: a Windows guest, paravirtualized
    err = scenario_error(data)
    assert err.path == "workload.classes[2].mode"
    assert "windows guest in para mode" in err.message
    assert "PV-capable" in err.message


@pytest.mark.parametrize(
    ("hosts", "mode", "os"),
    [
        ([host("k", "kvm", "type1"), host("h", "hyperv", "type1")], "container", "windows"),
        ([host("k", "kvm", "type1"), host("v", "virtualbox", "type2", "windows")], "container", "windows"),
        ([host("w", "vmware-workstation", "type2", "bsd")], "container", "bsd"),
        ([host("k", "kvm", "type1")], "para", "bsd"),
        ([host("h", "hyperv", "type1")], "para", "linux"),
        ([host("k", "kvm", "type1"), host("e", "esxi", "type1")], "full_bt", "windows"),
        ([host("v", "virtualbox", "type2")], "full_bt", "linux"),
        ([host("e", "esxi", "type1")], "full_hw", "windows"),
    ],
    ids=["windows-container-hyperv", "windows-container-vbox-on-windows", "bsd-container-workstation-on-bsd",
         "bsd-para-kvm", "linux-para-hyperv", "full_bt-esxi", "full_bt-vbox", "full_hw-esxi"],
)  # fmt: skip
def test_guest_some_host_can_run_is_accepted(hosts: list[dict[str, Any]], mode: str, os: str) -> None:
    sc = validate(with_hosts_and_guests(hosts, [guest(mode, os)]))
    assert sc.workload.guests is not None
    assert sc.workload.guests[0].mode == VirtMode(mode)


# ----------------------------------------------------------------------------------- --set overrides


def test_apply_override_parses_values_as_yaml() -> None:
    data = base()
    apply_override(data, "hosts[0].count=12")
    apply_override(data, "placement.policy=worst-fit")
    apply_override(data, "duration=1d")
    apply_override(data, "hosts[1].cpu={cores: 4, mips_per_core: 1000}")
    apply_override(data, "workload.classes[0].cpu_utilization.low=0.25")
    apply_override(data, "name='123'")
    apply_override(data, "seed= 9 ")
    assert data["hosts"][0]["count"] == 12
    assert data["placement"]["policy"] == "worst-fit"
    assert data["duration"] == "1d"
    assert data["hosts"][1]["cpu"] == {"cores": 4, "mips_per_core": 1000}
    assert data["workload"]["classes"][0]["cpu_utilization"]["low"] == 0.25
    assert data["name"] == "123"
    assert data["seed"] == 9
    sc = validate(data)
    assert (sc.hosts[0].count, sc.placement.policy, sc.duration, sc.hosts[1].cpu.cores) == (12, "worst-fit", 86_400, 4)


def test_yaml_booleans_are_true_and_false_only(tmp_path: Path) -> None:
    # YAML 1.1 reads off/on/yes/no as booleans: the documented `empty_hosts: off` failed with "False is not one
    # of: off, idle", and a scenario named "no" was a boolean; a boolean field still takes those words
    text = builtin_text("quickstart").replace("name: quickstart", "name: no")
    text = text.replace("host_os: windows}", "host_os: windows}\n    power: {empty_hosts: off}")
    assert "empty_hosts: off" in text
    path = tmp_path / "s.yaml"
    path.write_text(text)
    sc, _ = load_scenario(str(path), ["hosts[0].power.empty_hosts=off"])
    assert (sc.name, sc.hosts[0].power.empty_hosts, sc.hosts[1].power.empty_hosts) == ("no", "off", "off")
    sc, _ = load_scenario("consolidation-demo", ["consolidation.retarget=no"])
    assert sc.consolidation is not None and sc.consolidation.retarget is False
    data = base()
    apply_override(data, "hosts[0].count=yes")
    assert scenario_error(data).path == "hosts[0].count"  # a word, not the number 1


def test_apply_override_creates_missing_sections() -> None:
    data = base()
    apply_override(data, "ray.hosts_per_actor=4")
    apply_override(data, "overheads.para.type1.cpu_compute=0.05")
    assert data["ray"] == {"hosts_per_actor": 4}
    sc = validate(data)
    assert sc.ray.hosts_per_actor == 4
    assert sc.overheads[VirtMode.PARA][HypervisorType.TYPE1].cpu_compute == 0.05


def test_apply_override_keeps_text_that_is_not_yaml() -> None:
    data = base()
    apply_override(data, "name=[unclosed")
    assert data["name"] == "[unclosed"


def test_load_scenario_overrides_and_seed_leave_the_builtin_alone() -> None:
    sc, raw = load_scenario("mixed-modes", ["hosts[0].count=12", "placement.policy=worst-fit"], seed=99)
    assert (sc.hosts[0].count, sc.placement.policy, sc.seed) == (12, "worst-fit", 99)
    assert raw["hosts"][0]["count"] == 12 and raw["seed"] == 99
    again, _ = load_scenario("mixed-modes")
    assert (again.hosts[0].count, again.placement.policy, again.seed) == (6, "best-fit", 7)


@pytest.mark.parametrize(
    ("assignment", "path", "fragment"),
    [
        ("placement.policy", "--set placement.policy", "dotted.path=value"),
        ("=3", "--set =3", "dotted.path=value"),
        ("hosts[7].count=1", "--set hosts[7].count", "hosts[7] is out of range (2 entries)"),
        ("hosts[x].count=1", "--set hosts[x].count", "malformed path"),
        ("hosts[-1].count=1", "--set hosts[-1].count", "malformed path"),
        ("hosts..count=1", "--set hosts..count", "empty path segment"),
        ("hosts.count=1", "--set hosts.count", "hosts is not a mapping"),
        ("name[0]=x", "--set name[0]", "name is not a list"),
        ("placement.policy.x=1", "--set placement.policy.x", "placement.policy is not a mapping"),
    ],
)
def test_apply_override_errors(assignment: str, path: str, fragment: str) -> None:
    data = base()
    before = copy.deepcopy(data)
    with pytest.raises(ScenarioError) as info:
        apply_override(data, assignment)
    assert info.value.path == path
    assert fragment in info.value.message
    assert data == before


@pytest.mark.parametrize(
    ("assignment", "path", "fragment"),
    [
        ("placement.policy=nope", "placement.policy", "unknown policy 'nope'"),
        ("hosts[0].count=0", "hosts[0].count", "greater than 0"),
        ("hosts[0].hypervisor.type=type2", "hosts[0].hypervisor.product", "kvm is a type1 hypervisor"),
        ("workload.classes[1].os=windows", "workload.classes[1].mode", "windows guest in para mode"),
        ("colour=red", "colour", "unknown key 'colour'"),
        ("duration=soon", "duration", "malformed duration 'soon'"),
    ],
)
def test_overrides_are_validated_like_the_file(assignment: str, path: str, fragment: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario("mixed-modes", [assignment])
    assert info.value.path == path
    assert fragment in info.value.message


# ------------------------------------------------------------------------------ ScenarioError details


def test_scenario_error_str_is_path_and_message() -> None:
    err = ScenarioError("hosts[1].hypervisor.type", "'type3' is not one of: type1, type2")
    assert str(err) == "hosts[1].hypervisor.type: 'type3' is not one of: type1, type2"
    assert isinstance(err, ValueError)
    assert str(ScenarioError("", "just a message")) == "just a message"


@pytest.mark.parametrize(
    ("key", "value", "path", "fragment"),
    [
        ("count", True, "hosts[0].count", "not the boolean true"),  # YAML `count: yes` is not one host
        ("memory_gib", False, "hosts[0].memory_gib", "not the boolean false"),
        ("memory_gib", math.inf, "hosts[0].memory_gib", "finite"),
        ("memory_gib", math.nan, "hosts[0].memory_gib", "finite"),
    ],
)
def test_numbers_are_finite_and_not_booleans(key: str, value: object, path: str, fragment: str) -> None:
    data = base()
    data["hosts"][0][key] = value
    err = scenario_error(data)
    assert err.path == path
    assert fragment in err.message


def test_booleans_in_closed_sets_still_list_the_allowed_values() -> None:
    data = base()
    data["hosts"][1]["hypervisor"]["host_os"] = False  # YAML `host_os: no`
    err = scenario_error(data)
    assert err.path == "hosts[1].hypervisor.host_os"
    assert "linux, windows, bsd" in err.message


@pytest.mark.parametrize(
    ("overheads", "path", "fragment"),
    [
        ({"hvm": {"type1": {"cpu_compute": 0.1}}}, "overheads.hvm", "unknown key 'hvm'; allowed: container, para, full_hw, full_bt"),
        ({"para": {"type3": {"cpu_compute": 0.1}}}, "overheads.para.type3", "unknown key 'type3'; allowed: type1, type2"),
        ({"para": {"type1": {"cpu_foo": 0.1}}}, "overheads.para.type1.cpu_foo", "unknown key 'cpu_foo'"),
        ({"para": {"type1": {"cpu_compute": 1.5}}}, "overheads.para.type1.cpu_compute", "less than"),
        ({"para": 5}, "overheads.para", "valid dictionary"),
    ],
)  # fmt: skip
def test_overhead_override_errors(overheads: dict[str, Any], path: str, fragment: str) -> None:
    data = base()
    data["overheads"] = overheads
    err = scenario_error(data)
    assert err.path == path
    assert fragment in err.message


def test_overhead_overrides_are_accepted() -> None:
    data = base()
    data["overheads"] = {"container": {"type2": {"cpu_compute": 0.02, "boot_s": "2s"}}}
    profile = validate(data).overheads[VirtMode.CONTAINER][HypervisorType.TYPE2]
    assert profile.values() == {"cpu_compute": 0.02, "boot_s": 2.0}


@pytest.mark.parametrize(
    ("dist", "path", "fragment"),
    [
        ({"distribution": "uniform", "low": 0.1}, ".high", "uniform needs low, high; missing high"),
        ({"distribution": "uniform", "high": 0.5}, ".low", "missing low"),
        ({"distribution": "uniform", "low": 0.6, "high": 0.1}, ".high", "low <= high"),
        ({"distribution": "constant", "value": 0.5, "mean": 0.5}, ".mean", "remove mean"),
        ({"distribution": "normal", "mean": 0.5, "std": -0.1}, ".std", ">= 0"),
        ({"distribution": "uniform", "low": 0.1, "high": 1.5}, ".high", "[0, 1], got 1.5"),
        ({"distribution": "uniform", "low": -0.1, "high": 0.5}, ".low", "[0, 1], got -0.1"),
        ({"distribution": "constant", "value": 2}, ".value", "[0, 1]"),
        ({"distribution": "exponential", "mean": 0.5}, ".distribution", "constant, uniform or normal"),
        ({"distribution": "zipf", "value": 0.5}, ".distribution", "constant, uniform, normal, exponential"),
    ],
)
def test_utilization_distribution_errors(dist: dict[str, Any], path: str, fragment: str) -> None:
    data = base()
    data["workload"]["classes"][0]["cpu_utilization"] = dist
    err = scenario_error(data)
    assert err.path == "workload.classes[0].cpu_utilization" + path
    assert fragment in err.message


def test_initial_guests_are_there_at_the_start_then_arrivals_follow():
    from cloudsim.scenario import load_scenario
    from cloudsim.workload import generate

    sc, _ = load_scenario("quickstart", ["workload.arrivals.initial=25", "duration=2h"])
    guests = generate(sc)
    at = sc.workload.arrivals.at
    assert sum(g.arrival_s == at for g in guests) >= 25
    assert [g.arrival_s for g in guests[:25]] == [at] * 25 and guests[25].arrival_s > at
    plain, _ = load_scenario("quickstart", ["duration=2h"])
    assert len(guests) > len(generate(plain))
