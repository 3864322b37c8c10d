"""Bad input through the ``cloudsim`` CLI: one ``error: <field path>: <message>`` line on stderr, exit code 2,
no traceback. Everything fails (or only validates) before a simulation starts, so Ray is never started; should
validation ever let bad input through, the in-process tests fail instead of simulating (see ``_never_simulate``)
and the subprocess ones ask for the local backend."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudsim.cli import main
from cloudsim.scenario.loader import builtin_text

POLICIES = ("first-fit", "best-fit", "worst-fit", "dot-product", "balanced")
PRODUCTS = ("kvm", "xen", "esxi", "hyperv", "virtualbox", "vmware-workstation")
DELETE = object()


@pytest.fixture(autouse=True)
def _narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's console width as when stderr is a pipe or a log file (not a wide interactive terminal), so
    that the one-line checks do not depend on the terminal pytest runs in."""
    monkeypatch.setenv("COLUMNS", "80")


@pytest.fixture(autouse=True)
def _never_simulate(monkeypatch: pytest.MonkeyPatch) -> None:
    """``cloudsim run`` with bad input must stop before it simulates: the engine and the Ray session are
    replaced by stand-ins that fail the test, so a regression cannot start Ray (or a long simulation)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the CLI went past validation and tried to simulate")

    fake = types.ModuleType("cloudsim.distributed")
    fake.RayBackend = fake.ray_session = refuse  # type: ignore[attr-defined]
    fake.RayConnectError = RuntimeError  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cloudsim.distributed", fake)
    monkeypatch.setattr("cloudsim.engine.run", refuse)


def base() -> dict[str, Any]:
    return yaml.safe_load(builtin_text("mixed-modes"))


def edit(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value


def write(tmp_path: Path, data: Any, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = main(list(args))
    except (Exception, SystemExit) as exc:  # main() turns every expected failure into an exit code
        pytest.fail(f"cloudsim {' '.join(args)} raised {exc!r} instead of returning an exit code")
    out, err = capsys.readouterr()
    return code, out, err


def assert_error(code: int, out: str, err: str, path: str | None, *fragments: str) -> str:
    """Exit 2, no traceback, and exactly one stderr line ``error: <path>: ...`` containing ``fragments``."""
    assert "Traceback" not in err and "Traceback" not in out
    assert code == 2, f"exit code {code}; stderr: {err!r}"
    line = err.strip()
    assert line, "nothing on stderr"
    assert "\n" not in line, f"the error is not one line: {err!r}"
    prefix = "error: " if path is None else f"error: {path}: "
    assert line.startswith(prefix), f"expected {prefix!r}...; got {line!r}"
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    return line


# ------------------------------------------------------------------------------------- bad scenario files

BAD_FIELDS = [
    # unknown keys, top level and nested: the message lists the keys that are allowed
    ("unknown-top-key", [(("colour",), "red")], "colour",
     ["unknown key 'colour'", "allowed keys: name, seed, duration, tick, hosts, workload, placement, overheads, ray"]),
    ("unknown-hypervisor-key", [(("hosts", 1, "hypervisor", "flavor"), "x")], "hosts[1].hypervisor.flavor",
     ["unknown key 'flavor'", "type, product, host_os"]),
    ("unknown-class-key", [(("workload", "classes", 0, "colour"), "red")], "workload.classes[0].colour",
     ["unknown key 'colour'", "mode", "vcpus"]),
    ("unknown-overcommit-key", [(("placement", "overcommit", "disk"), 2)], "placement.overcommit.disk",
     ["unknown key 'disk'", "cpu, memory"]),
    # wrong types
    ("count-text", [(("hosts", 0, "count"), "many")], "hosts[0].count", ["valid integer", "'many'"]),
    ("cores-list", [(("hosts", 0, "cpu", "cores"), [4])], "hosts[0].cpu.cores", ["valid integer"]),
    ("count-boolean", [(("hosts", 0, "count"), True)], "hosts[0].count", ["boolean"]),
    ("memory-text", [(("hosts", 1, "memory_gib"), "lots")], "hosts[1].memory_gib", ["valid number", "'lots'"]),
    ("hosts-text", [(("hosts",), "kvm")], "hosts", ["valid list"]),
    ("workload-number", [(("workload",), 5)], "workload", ["valid dictionary"]),
    ("placement-text", [(("placement",), "best-fit")], "placement", ["valid dictionary"]),
    ("name-number", [(("name",), 5)], "name", ["valid string"]),
    # negative or zero counts and sizes
    ("count-negative", [(("hosts", 0, "count"), -1)], "hosts[0].count", ["greater than 0", "-1"]),
    ("count-zero", [(("hosts", 1, "count"), 0)], "hosts[1].count", ["greater than 0"]),
    ("cores-zero", [(("hosts", 0, "cpu", "cores"), 0)], "hosts[0].cpu.cores", ["greater than 0"]),
    ("vcpus-negative", [(("workload", "classes", 2, "vcpus"), -4)], "workload.classes[2].vcpus", ["greater than 0"]),
    ("memory-negative", [(("hosts", 0, "memory_gib"), -256)], "hosts[0].memory_gib", ["greater than 0"]),
    ("weight-zero", [(("workload", "classes", 0, "weight"), 0)], "workload.classes[0].weight", ["greater than 0"]),
    ("rate-negative", [(("workload", "arrivals", "rate_per_hour"), -1)], "workload.arrivals.rate_per_hour",
     ["greater than 0"]),
    ("no-hosts", [(("hosts",), [])], "hosts", ["at least 1"]),
    # closed sets: the message lists the allowed values
    ("unknown-mode", [(("workload", "classes", 1, "mode"), "hvm")], "workload.classes[1].mode",
     ["'hvm'", "container, para, full_hw, full_bt"]),
    ("unknown-os", [(("workload", "classes", 2, "os"), "macos")], "workload.classes[2].os",
     ["'macos'", "linux, windows, bsd"]),
    ("unknown-host-os", [(("hosts", 1, "hypervisor", "host_os"), "solaris")], "hosts[1].hypervisor.host_os",
     ["'solaris'", "linux, windows, bsd"]),
    ("unknown-hypervisor-type", [(("hosts", 1, "hypervisor", "type"), "type3")], "hosts[1].hypervisor.type",
     ["'type3'", "type1, type2"]),
    ("unknown-product", [(("hosts", 1, "hypervisor", "product"), "parallels")], "hosts[1].hypervisor.product",
     ["'parallels'", *PRODUCTS]),
    ("unknown-policy", [(("placement", "policy"), "nope")], "placement.policy", ["'nope'", *POLICIES]),
    ("unknown-arrival-process", [(("workload", "arrivals", "process"), "gamma")], "workload.arrivals.process",
     ["'gamma'", "poisson, fixed, batch"]),
    ("unknown-distribution", [(("workload", "lifetime", "distribution"), "weibull")],
     "workload.lifetime.distribution", ["'weibull'", "constant, uniform, normal, exponential"]),
    ("unknown-power-model", [(("hosts", 0, "power"), {"model": "cubic"})], "hosts[0].power.model",
     ["'cubic'", "linear, specpower"]),
    ("unknown-specpower-table", [(("hosts", 0, "power"), {"model": "specpower", "table": "P99"})],
     "hosts[0].power.table", ["'P99'", "P1, P2", "P12"]),
    ("unknown-overhead-mode", [(("overheads",), {"hvm": {"type1": {"cpu_compute": 0.1}}})], "overheads.hvm",
     ["'hvm'", "container, para, full_hw, full_bt"]),
    # a product of the wrong type
    ("kvm-declared-type2", [(("hosts", 0, "hypervisor", "type"), "type2")], "hosts[0].hypervisor.product",
     ["kvm is a type1 hypervisor", "type2 products: virtualbox, vmware-workstation"]),
    ("virtualbox-declared-type1", [(("hosts", 1, "hypervisor", "type"), "type1")], "hosts[1].hypervisor.product",
     ["virtualbox is a type2 hypervisor", "type1 products: kvm, xen, esxi, hyperv"]),
    ("host-os-under-type1", [(("hosts", 0, "hypervisor", "host_os"), "linux")], "hosts[0].hypervisor.host_os",
     ["type2"]),
    # malformed durations
    ("duration-words", [(("duration",), "6 hours")], "duration", ["malformed duration '6 hours'", "300s, 5m, 6h, 1d"]),
    ("duration-unit", [(("duration",), "5x")], "duration", ["malformed duration '5x'"]),
    ("duration-compound", [(("duration",), "1h30m")], "duration", ["malformed duration '1h30m'"]),
    ("duration-negative", [(("duration",), -60)], "duration", ["negative"]),
    ("duration-zero", [(("duration",), "0s")], "duration", ["greater than 0"]),
    ("duration-infinite", [(("duration",), float("inf"))], "duration", ["finite"]),
    ("tick-words", [(("tick",), "fast")], "tick", ["malformed duration 'fast'"]),
    ("lifetime-mean", [(("workload", "lifetime", "mean"), "2hrs")], "workload.lifetime.mean",
     ["malformed duration '2hrs'"]),
    # missing fields
    ("missing-name", [(("name",), DELETE)], "name", ["required"]),
    ("missing-hypervisor", [(("hosts", 1, "hypervisor"), DELETE)], "hosts[1].hypervisor", ["required"]),
    ("missing-rate", [(("workload", "arrivals", "rate_per_hour"), DELETE)], "workload.arrivals.rate_per_hour",
     ["poisson arrivals need a rate_per_hour"]),
    ("duplicate-group-name", [(("hosts", 1, "name"), "kvm")], "hosts[1].name", ["duplicate", "'kvm'"]),
    # guest classes that no host in the scenario can run
    ("windows-para", [(("workload", "classes", 2, "mode"), "para")], "workload.classes[2].mode",
     ["no host in the scenario can run a windows guest in para mode", "PV-capable"]),
    ("windows-container-kvm-only", [(("hosts",), base()["hosts"][:1]), (("workload", "classes", 0, "os"), "windows")],
     "workload.classes[0].mode", ["no host in the scenario can run a windows guest in container mode", "kvm: "]),
    ("windows-container-all-linux-kernels", [(("workload", "classes", 0, "os"), "windows")],
     "workload.classes[0].mode", ["windows guest in container mode", "kvm: ", "desk: "]),
    # distributions
    ("uniform-missing-high", [(("workload", "classes", 0, "cpu_utilization", "high"), DELETE)],
     "workload.classes[0].cpu_utilization.high", ["uniform needs low, high", "missing high"]),
    ("utilization-above-one", [(("workload", "classes", 0, "cpu_utilization", "high"), 1.5)],
     "workload.classes[0].cpu_utilization.high", ["[0, 1]", "1.5"]),
    ("utilization-below-zero", [(("workload", "classes", 0, "cpu_utilization", "low"), -0.1)],
     "workload.classes[0].cpu_utilization.low", ["[0, 1]", "-0.1"]),
    ("kernel-intensity-above-one", [(("workload", "classes", 1, "kernel_intensity"), 2)],
     "workload.classes[1].kernel_intensity", ["less than or equal to 1"]),
    # the two workload forms
    ("guests-and-classes", [(("workload", "guests"), [{"mode": "para", "os": "linux", "vcpus": 1, "memory_gib": 1}])],
     "workload", ["guests", "classes", "not both"]),
    ("neither-guests-nor-classes", [(("workload", "classes"), DELETE)], "workload", ["guests", "classes"]),
]  # fmt: skip


@pytest.mark.parametrize(("edits", "path", "fragments"), [c[1:] for c in BAD_FIELDS], ids=[c[0] for c in BAD_FIELDS])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_scenario_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    command: str,
    edits: list[tuple[tuple[str | int, ...], Any]],
    path: str,
    fragments: list[str],
) -> None:
    data = base()
    for where, value in edits:
        edit(data, where, value)
    assert_error(*cli(capsys, command, str(write(tmp_path, data))), path, *fragments)


def test_the_unedited_base_is_valid(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The table above edits a valid scenario, so each case fails for its own reason."""
    code, out, err = cli(capsys, "validate", str(write(tmp_path, base())))
    assert (code, err) == (0, "")
    assert out.startswith("ok: mixed-modes: 8 hosts in 2 groups")


# ------------------------------------------------------------------------------------ unreadable files

BAD_FILES = [
    ("invalid-yaml", "name: x\nhosts: [\n", ["invalid YAML", "line 3"]),
    ("invalid-yaml-indent", "name: x\n  bad: indent\n", ["invalid YAML", "line 2"]),
    ("tab-indent", "name: x\n\tfoo: 1\n", ["invalid YAML"]),
    ("empty", "", ["is empty"]),
    ("whitespace-only", "  \n\n", ["is empty"]),
    ("comments-only", "# nothing here\n", ["is empty"]),
    ("top-level-list", "- name: a\n- name: b\n", ["must be a mapping"]),
    ("top-level-scalar", "hello\n", ["must be a mapping"]),
]


@pytest.mark.parametrize(("text", "fragments"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_unusable_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    assert_error(*cli(capsys, "validate", str(path)), "scenario", str(path), *fragments)


def test_file_that_is_not_utf8(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    assert_error(*cli(capsys, "validate", str(path)), "scenario", "cannot read", str(path))


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    assert_error(*cli(capsys, "validate", str(path)), "scenario", "no file", str(path), "mixed-modes", "quickstart")


def test_unknown_builtin_lists_the_builtins(capsys: pytest.CaptureFixture[str]) -> None:
    assert_error(
        *cli(capsys, "run", "quikstart"),
        "scenario",
        "'quikstart'",
        "built-ins: azure-v1, consolidation-demo, ha-demo, mixed-modes, planetlab-dvfs,",
        "quickstart",
    )


def test_directory_instead_of_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert_error(*cli(capsys, "validate", str(tmp_path)), "scenario", str(tmp_path), "is not a file")


# -------------------------------------------------------------------------------------------------- --set

BAD_SETS = [
    ("no-equals", ["hosts[0].count"], "--set hosts[0].count", ["dotted.path=value"]),
    ("no-path", ["=3"], "--set =3", ["dotted.path=value"]),
    ("index-out-of-range", ["hosts[5].count=1"], "--set hosts[5].count", ["hosts[5] is out of range (2 entries)"]),
    ("index-not-a-number", ["hosts[x].count=1"], "--set hosts[x].count", ["malformed path"]),
    ("empty-segment", ["placement..policy=worst-fit"], "--set placement..policy", ["empty path segment"]),
    ("index-into-a-mapping", ["placement[0]=1"], "--set placement[0]", ["placement is not a list"]),
    ("key-of-a-list", ["hosts.count=1"], "--set hosts.count", ["hosts is not a mapping"]),
    ("unknown-policy", ["placement.policy=nope"], "placement.policy", ["unknown policy 'nope'", *POLICIES]),
    ("unknown-key", ["placement.colour=red"], "placement.colour", ["unknown key 'colour'", "policy, overcommit"]),
    ("count-zero", ["hosts[0].count=0"], "hosts[0].count", ["greater than 0"]),
    ("count-not-yaml-number", ["hosts[0].count=[12"], "hosts[0].count", ["valid integer"]),
    ("hypervisor-type", ["hosts[1].hypervisor.type=type3"], "hosts[1].hypervisor.type", ["type1, type2"]),
    ("product-wrong-type", ["hosts[0].hypervisor.type=type2"], "hosts[0].hypervisor.product", ["type1 hypervisor"]),
    ("duration", ["duration=6 hours"], "duration", ["malformed duration '6 hours'"]),
    ("yaml-number-is-not-a-name", ["name=123"], "name", ["valid string"]),
    ("makes-a-class-unrunnable", ["workload.classes[1].os=windows"], "workload.classes[1].mode", ["para mode"]),
    ("bad-after-good", ["placement.policy=worst-fit", "hosts[1].count=-2"], "hosts[1].count", ["greater than 0"]),
]


@pytest.mark.parametrize(("sets", "path", "fragments"), [c[1:] for c in BAD_SETS], ids=[c[0] for c in BAD_SETS])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_set(
    capsys: pytest.CaptureFixture[str], command: str, sets: list[str], path: str, fragments: list[str]
) -> None:
    args = [command, "mixed-modes"]
    for s in sets:
        args += ["--set", s]
    assert_error(*cli(capsys, *args), path, *fragments)


@pytest.mark.parametrize(
    ("sets", "summary"),
    [
        (["placement.policy=worst-fit"], "8 hosts in 2 groups, duration 6h, policy worst-fit"),
        (["hosts[0].count=12"], "14 hosts in 2 groups, duration 6h, policy best-fit"),
        (["hosts[0].count=12", "placement.policy=dot-product"], "14 hosts in 2 groups, duration 6h, policy dot-product"),
        (["duration=1d", "tick=250ms"], "8 hosts in 2 groups, duration 1d, policy best-fit"),
        (["duration=90"], "duration 90s"),
        (["hosts[1]={name: ws, count: 3, cpu: {cores: 4, mips_per_core: 1000}, memory_gib: 16, "
          "hypervisor: {type: type2, product: vmware-workstation, host_os: windows}}"], "9 hosts in 2 groups"),
        (["name='2024'"], "ok: 2024: "),
        (["ray.hosts_per_actor=3"], "8 hosts"),
    ],
)  # fmt: skip
def test_good_set(capsys: pytest.CaptureFixture[str], tmp_path: Path, sets: list[str], summary: str) -> None:
    path = write(tmp_path, base())
    args = ["validate", str(path)]
    for s in sets:
        args += ["--set", s]
    code, out, err = cli(capsys, *args)
    assert (code, err) == (0, "")
    assert summary in " ".join(out.split())
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == base()  # the file itself is left alone


# ------------------------------------------------------------------------------------ validate and lists


@pytest.mark.parametrize("name", ["quickstart", "mixed-modes"])
def test_validate_builtin(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, out, err = cli(capsys, "validate", name)
    assert (code, err) == (0, "")
    assert out.startswith(f"ok: {name}: ")
    assert "\n" not in out.strip()


def test_validate_explicit_guest_list(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = base()
    data["workload"] = {
        "guests": [
            {"name": "db", "mode": "para", "os": "linux", "vcpus": 4, "memory_gib": 16, "arrival": "5m", "lifetime": "2h"},
            {"mode": "container", "os": "linux", "vcpus": 1, "memory_gib": 1, "arrival": 30},
            {"mode": "full_hw", "os": "windows", "vcpus": 2, "memory_gib": 8},
        ]
    }  # fmt: skip
    code, out, err = cli(capsys, "validate", str(write(tmp_path, data)))
    assert (code, err) == (0, "")
    assert out.startswith("ok: mixed-modes: ")


def _first_words(text: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^(\S+)\s", text, re.MULTILINE)}


def test_scenarios_lists_the_builtins(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "scenarios")
    assert (code, err) == (0, "")
    assert {"quickstart", "mixed-modes"} <= _first_words(out)


def test_policies_lists_the_policies(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "policies")
    assert (code, err) == (0, "")
    assert set(POLICIES) <= _first_words(out)


# ---------------------------------------------------------------------------------------- usage errors


def test_unknown_backend(capsys: pytest.CaptureFixture[str]) -> None:
    line = assert_error(
        *cli(capsys, "run", "mixed-modes", "--backend", "nope"), None, "--backend", "'nope'", "ray", "local"
    )
    assert "Value error" not in line  # (the wording of the check typer runs, not the user's)


def test_validate_without_a_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert_error(*cli(capsys, "validate"), None, "SCENARIO")


# ------------------------------------------------------------------------ the real entry point (subprocess)


def _entry_point(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "COLUMNS": "80"}
    return subprocess.run(
        [sys.executable, "-m", "cloudsim.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )


def test_entry_point_validate_bad_file(tmp_path: Path) -> None:
    data = base()
    data["hosts"][1]["hypervisor"]["type"] = "type3"
    p = _entry_point("validate", str(write(tmp_path, data)))
    assert_error(p.returncode, p.stdout, p.stderr, "hosts[1].hypervisor.type", "'type3'", "type1, type2")


def test_entry_point_run_bad_file(tmp_path: Path) -> None:
    data = base()
    data["workload"]["classes"][2]["mode"] = "para"
    p = _entry_point("run", str(write(tmp_path, data)), "--backend", "local")
    assert_error(p.returncode, p.stdout, p.stderr, "workload.classes[2].mode", "windows guest in para mode")


def test_entry_point_run_invalid_yaml_and_bad_set(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")
    p = _entry_point("run", str(path), "--backend", "local")
    assert_error(p.returncode, p.stdout, p.stderr, "scenario", "invalid YAML")
    p = _entry_point("run", "mixed-modes", "--backend", "local", "--set", "placement.policy=nope")
    assert_error(p.returncode, p.stdout, p.stderr, "placement.policy", *POLICIES)


def test_entry_point_unknown_backend() -> None:
    p = _entry_point("run", "mixed-modes", "--backend", "nope")
    assert_error(p.returncode, p.stdout, p.stderr, None, "--backend", "'nope'")


def test_assert_error_helper_can_fail() -> None:
    """Self-check of the helper: a traceback, a second line or another exit code fail the assertion."""
    for code, err in [(2, "Traceback (most recent call last):\n"), (2, "error: x: a\nb\n"), (1, "error: x: a\n")]:
        with pytest.raises(AssertionError):
            assert_error(code, "", err, "x")
    assert assert_error(2, "", "error: x: fine\n", "x", "fine") == "error: x: fine"


@pytest.mark.parametrize("backend", ["ray", "local"])
def test_never_simulate_guard_is_active(backend: str) -> None:
    """Self-check of the guard: a valid run reaches it (so no test here can start Ray or a simulation)."""
    with pytest.raises(AssertionError, match="went past validation"):
        main(["run", "mixed-modes", "--backend", backend, "--no-progress"])


def test_the_readmes_error_examples_are_what_the_cli_prints(capsys: pytest.CaptureFixture[str]) -> None:
    """Each example line under "Examples of the error line" in README.md is printed, as it stands, by
    `cloudsim validate quickstart --set <override>`: the README cannot drift from the messages."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("Examples of the error line:", 1)[1].split("```", 2)[1]
    examples = [line for line in block.splitlines() if line.startswith("error: ")]
    overrides = {"hosts[1].hypervisor.type": "type3", "duration": "5x", "placement.policy": "nope"}
    assert [line.split(":", 2)[1].strip() for line in examples] == list(overrides)
    for line, (field, value) in zip(examples, overrides.items(), strict=True):
        assert main(["validate", "quickstart", "--set", f"{field}={value}"]) == 2
        assert capsys.readouterr().err.strip().splitlines()[-1] == line


def test_a_stop_inside_a_command_before_the_run_says_so_in_one_line(monkeypatch, capsys):
    """A stop while the run is set up (the scenario read, the shards built) raises a KeyboardInterrupt inside
    the command. Typer turns that into exit 130 without a word; the line must still be there, once."""

    def stopped(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("cloudsim.engine.run", stopped)
    assert main(["run", "quickstart", "--backend", "local", "--json"]) == 130
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == ["interrupted before the simulation started; nothing to keep"]
    assert captured.out == ""
    monkeypatch.setattr("cloudsim.cli.load_scenario", stopped)
    assert main(["validate", "quickstart"]) == 130
    assert capsys.readouterr().err.strip().splitlines() == [
        "interrupted before the simulation started; nothing to keep"
    ]
    # a command that runs no simulation says it stopped, not that a simulation did not start
    monkeypatch.setattr("cloudsim.report.report", stopped)
    assert main(["report", "--", "-a-run"]) == 130
    assert capsys.readouterr().err.strip().splitlines() == ["interrupted: report stopped before it finished"]


def test_a_stop_in_a_compiled_call_before_the_run_exits_130_and_other_system_errors_do_not(monkeypatch, capsys):
    """A stop that lands in a numba call while the run is set up reaches the CLI as that call's SystemError
    caused by the KeyboardInterrupt: one line and exit 130, as any stop then; another SystemError is a bug and
    is not hidden."""

    def stopped(*args: Any, **kwargs: Any) -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise SystemError("CPUDispatcher(<function power_now>) returned a result with an exception set") from exc

    monkeypatch.setattr("cloudsim.engine.run", stopped)
    assert main(["run", "quickstart", "--backend", "local"]) == 130
    assert (
        capsys.readouterr().err.strip().splitlines()[-1] == "interrupted before the simulation started; nothing to keep"
    )

    def broken(*args: Any, **kwargs: Any) -> None:
        raise SystemError("a real bug")

    monkeypatch.setattr("cloudsim.engine.run", broken)
    with pytest.raises(SystemError, match="a real bug"):
        main(["run", "quickstart", "--backend", "local"])


def test_an_infinite_packing_time_limit_is_refused_not_searched_for_ever(capsys) -> None:
    from cloudsim.cli import main

    instance = Path(__file__).parent / "data" / "packing" / "1d" / "perfect1d_5.txt"
    for args in (["pack", str(instance)], ["bench", "packing", str(instance.parent.parent), "--optima", "x.csv"]):
        assert main([*args, "--time-limit", "inf"]) == 2
        err = capsys.readouterr().err
        assert err == "error: --time-limit: a finite number of seconds >= 0, got inf\n"
