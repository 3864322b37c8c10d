"""A fuzzer for scenarios and ``--set`` overrides (hypothesis). The rule: ``validate`` and ``run`` exit 0, or
exit 2 with exactly one ``error:`` line; never a traceback. A case that validates runs too when the
estimate says it is small (so no case runs for long or takes much memory). A second fuzzer gives only
plausible values, so nearly every case runs, and checks that the run does not depend on how the hosts are
grouped into shards (the same summary and every tick's row to the bit) and that the conservation checks
(:meth:`~cloudsim.engine.Simulation.check_invariants`) hold at every tick.

The default suite runs a few hundred derandomized cases; ``-m benchmark`` runs 2,000."""

from __future__ import annotations

import collections
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudsim.cli import main
from cloudsim.engine import LocalBackend, Simulation
from cloudsim.scenario import load_scenario
from cloudsim.scenario.loader import ScenarioError, estimate
from tests.helpers import stable_json

PATHS = [
    "name", "seed", "duration", "tick", "hosts[0].count", "hosts[0].cpu.cores", "hosts[0].cpu.mips_per_core",
    "hosts[0].memory_gib", "hosts[0].hypervisor.type", "hosts[0].hypervisor.product", "hosts[0].hypervisor.host_os",
    "hosts[0].power.model", "hosts[0].power.table", "hosts[0].power.max_w", "hosts[0].power.idle_fraction",
    "hosts[1].count", "hosts[1].hypervisor.product", "hosts[5].count", "workload.arrivals.process",
    "workload.arrivals.rate_per_hour", "workload.arrivals.count", "workload.arrivals.at", "workload.lifetime.mean",
    "workload.lifetime.distribution", "workload.classes[0].mode", "workload.classes[0].os", "workload.classes[0].vcpus",
    "workload.classes[0].memory_gib", "workload.classes[0].cpu_utilization.low", "workload.classes[0].weight",
    "workload.classes[0].kernel_intensity", "workload.trace.path", "workload.requests.path", "workload.requests.split",
    "workload.requests.limit", "placement.policy", "placement.overcommit.cpu",
    "placement.overcommit.memory", "placement.wave_order", "overheads.para.type1.cpu_compute",
    "overheads.container.type2.boot_s", "ray.hosts_per_actor", "consolidation.detector", "consolidation.safety",
    "consolidation.selection", "consolidation.migration", "consolidation.allocation",
    "consolidation.host_bandwidth_gbps", "consolidation.wake", "dynamics.model", "dynamics.migration_slowdown",
    "dynamics.target_share", "unknown_key", "hosts..count", "hosts[x]", "workload.classes[99].vcpus", "=",
]  # fmt: skip

ODD = ["0", "-1", "1", "2", "300s", "5m", "1d", "1ms", "250ms", "1e9", "1e300", ".inf", "-.inf", ".nan", "true",
       "no", "null", "~", "[]", "{}", "[1, 2]", "{a: 1}", "190:20:30", "\u0663\u0660\u0660", "kvm", "xen", "type1",
       "type2", "container", "para", "full_hw", "full_bt", "linux", "windows", "best-fit", "power-aware", "auto",
       "lr", "thr", "mmt", "cloudsim", "fair", "migrate", "npa", "'", '"', "&a", "*a", "!!python/object:os.system",
       "- x", "a: b: c"]  # fmt: skip
PLAUSIBLE = st.sampled_from(["1", "2", "3", "4", "8", "0.5", "0.9", "1.5", "10m", "30m", "2h", "6h", "16", "64"])
VALUES = st.one_of(
    PLAUSIBLE,
    PLAUSIBLE,
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(ODD),
    st.text(alphabet=string.printable, max_size=12),
)

CASES = st.tuples(
    st.sampled_from(["quickstart", "mixed-modes", "consolidation-demo"]),
    st.lists(st.tuples(st.sampled_from(PATHS), VALUES), min_size=1, max_size=3),
)

OUTCOMES: collections.Counter[str] = collections.Counter()


def _small(name: str, sets: list[str]) -> bool:
    """Whether the case is small enough to run here (a few seconds at most)."""
    try:
        sc, _ = load_scenario(name, sets)
    except ScenarioError:
        return False
    e = estimate(sc)
    hosts_x_ticks = e["hosts"] * e["ticks"]
    return e["ticks"] <= 3_000 and e["guests"] <= 3_000 and e["hosts"] <= 2_000 and hosts_x_ticks <= 100_000


def check(capsys: pytest.CaptureFixture[str], args: list[str]) -> int:
    code = main(args)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, (args, err)
    assert code in (0, 2), (args, code, err)
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, err)
    return code


def fuzz_case(capsys: pytest.CaptureFixture[str], case: tuple[str, list[tuple[str, str]]]) -> None:
    name, pairs = case
    sets = [f"{path}={value}" for path, value in pairs]
    args = [a for s in sets for a in ("--set", s)]
    code = check(capsys, ["validate", name, *args])
    OUTCOMES["validate exit 0" if code == 0 else "validate exit 2"] += 1
    if code == 0 and _small(name, sets):
        code = check(capsys, ["run", name, "--backend", "local", "--no-progress", "--json", *args])
        OUTCOMES["run exit 0" if code == 0 else "run exit 2"] += 1


_SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}


@settings(max_examples=250, **_SETTINGS)
@given(case=CASES)
def test_fuzzed_scenarios_exit_0_or_2_with_one_line(capsys, case):
    fuzz_case(capsys, case)


@pytest.mark.benchmark
@settings(max_examples=2_000, **_SETTINGS)
@given(case=CASES)
def test_fuzzed_scenarios_2000_cases(capsys, case):
    fuzz_case(capsys, case)


@pytest.fixture(scope="module", autouse=True)
def _report_outcomes():
    """Print the outcome counts after the module's cases (visible with ``pytest -s``)."""
    yield
    print("\nfuzz outcomes:", dict(sorted(OUTCOMES.items())))


#: Plausible values for the fields a run's dynamics depend on: nearly every combination validates and runs.
PLAUSIBLE_SETS = {
    "duration": ["1s", "10m", "1h", "3h"], "tick": ["30s", "1m", "5m", "10m"], "seed": ["0", "1", "2", "3"],
    "hosts[0].count": ["1", "2", "5"], "hosts[1].count": ["1", "2"], "hosts[0].cpu.cores": ["2", "4", "64"],
    "hosts[0].memory_gib": ["4", "512"], "hosts[0].hypervisor.product": ["kvm", "xen", "esxi", "hyperv"],
    "workload.arrivals.process": ["poisson", "fixed", "batch"], "workload.arrivals.rate_per_hour": ["0.01", "60"],
    "workload.arrivals.count": ["1", "50"], "workload.arrivals.at": ["0", "1m", "30m"],
    "workload.lifetime.mean": ["1s", "5m", "1h"], "workload.lifetime.distribution": ["exponential", "constant"],
    "workload.classes[0].mode": ["container", "para", "full_hw", "full_bt"], "workload.classes[0].vcpus": ["1", "16"],
    "workload.classes[0].memory_gib": ["0.5", "64"], "placement.policy": ["first-fit", "best-fit", "worst-fit",
    "dot-product", "balanced", "power-aware", "l2-norm", "overhead-aware"], "placement.overcommit.cpu": ["0.5", "4"],
    "placement.wave_order": ["decreasing", "arrival"], "consolidation.detector": ["lr", "lrr", "thr", "mad", "iqr"],
    "consolidation.selection": ["mmt", "mc", "rs", "mu"], "consolidation.allocation": ["migrate", "dvfs", "npa"],
    "consolidation.wake": ["last-resort", "cheapest"], "consolidation.migration": ["precopy", "cloudsim"],
    "consolidation.retarget": ["true", "false"],
    "faults.mtbf": ["10m", "1h"], "faults.mttr": ["1m", "1h"],
}  # fmt: skip

PLAUSIBLE_CASES = st.tuples(
    st.sampled_from(["quickstart", "mixed-modes", "consolidation-demo", "ha-demo"]),
    st.lists(st.sampled_from(sorted(PLAUSIBLE_SETS)), min_size=1, max_size=5, unique=True).flatmap(
        lambda paths: st.tuples(*(st.sampled_from(PLAUSIBLE_SETS[p]).map(lambda v, p=p: f"{p}={v}") for p in paths))
    ),
    st.sampled_from(["fair", "cloudsim"]),
    st.sampled_from([1, 3, 7]),
)


def grain_case(case: tuple[str, tuple[str, ...], str, int]) -> None:
    name, sets, model, grain = case
    try:
        sc, _ = load_scenario(name, [*sets, f"dynamics.model={model}"])
    except ScenarioError:
        return
    e = estimate(sc)
    if e["ticks"] > 1_000 or e["guests"] > 2_000 or e["hosts"] > 200:
        return
    one, other = Simulation(sc, LocalBackend()), Simulation(sc, LocalBackend(), hosts_per_shard=grain)
    broken: list[tuple[float, list[str]]] = []  # the conservation checks, at every tick of the sharded run
    other.tick_hooks.append(lambda t, report: broken.extend([(t, p)] if (p := other.check_invariants(report)) else []))
    assert stable_json(one.run()) == stable_json(other.run()), (name, sets, grain)
    assert broken == [], (name, sets, grain, broken[0])
    rows = [[{k: v for k, v in r.items() if k != "wall_s"} for r in sim.recorder.rows] for sim in (one, other)]
    assert rows[0] == rows[1], (name, sets, grain)
    OUTCOMES["grain run"] += 1


@settings(max_examples=25, **_SETTINGS)
@given(case=PLAUSIBLE_CASES)
def test_plausible_scenarios_do_not_depend_on_the_grain(case):
    grain_case(case)


@pytest.mark.benchmark
@settings(max_examples=400, **_SETTINGS)
@given(case=PLAUSIBLE_CASES)
def test_plausible_scenarios_do_not_depend_on_the_grain_400_cases(case):
    grain_case(case)
