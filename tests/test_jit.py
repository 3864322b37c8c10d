"""The first run after an install compiles numba's kernels; the run says so (cloudsim._jit)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from cloudsim._jit import uncached
from tests.helpers import side_by_side

ROOT = Path(__file__).resolve().parents[1]

KERNEL = """
from numba import njit


@njit(cache=True)
def twice(x):
    return 2 * x
"""


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_a_kernel_is_uncached_until_it_compiles_and_again_when_its_source_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    path = tmp_path / "jit_probe.py"
    path.write_text(KERNEL)
    first = _load(path, "jit_probe_1")
    assert uncached(first.twice)
    assert first.twice(21) == 42
    assert not uncached(first.twice)  # compiled into the cache
    assert not uncached(_load(path, "jit_probe_2").twice)  # a later process loads it
    path.write_text(KERNEL.replace("2 * x", "x + x"))  # an upgrade: numba's index no longer matches
    changed = _load(path, "jit_probe_3")
    assert uncached(changed.twice)
    assert not uncached(object())  # unknown internals: nothing said


def test_a_run_that_compiles_says_so_first(monkeypatch, capsys):
    from cloudsim import _jit
    from cloudsim.cli import main

    asked = []

    def uncached_run(scenario) -> bool:
        asked.append(scenario.name)
        return True

    monkeypatch.setattr(_jit, "run_kernels_uncached", uncached_run)
    assert main(["run", "consolidation-demo", "--backend", "local", "--set", "duration=1h"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert "Compiling the simulation's kernels (once after an install or upgrade)…" in err
    assert asked == ["consolidation-demo"]
    monkeypatch.setattr(_jit, "run_kernels_uncached", lambda scenario: asked.append(scenario.name))
    assert main(["run", "quickstart", "--backend", "local", "--set", "duration=1h"]) == 0
    assert "Compiling" not in capsys.readouterr().err and asked == ["consolidation-demo", "quickstart"]


#: Runs a scenario for 10 simulated minutes in a process of its own, then prints, for each kernel that
#: cloudsim._jit asks about for it, whether the run reached it (loaded it from the cache or compiled it).
PROBE = """
import json, sys
from pathlib import Path
from cloudsim._jit import run_kernels
from cloudsim.engine import LocalBackend, Simulation
from cloudsim.scenario import load_scenario
from tests.test_consolidation import tiny_day, trace_scenario

name, folder = sys.argv[1], Path(sys.argv[2])
if name in ("npa", "dvfs", "migrate"):
    sc = trace_scenario(tiny_day(folder), f"consolidation.allocation={name}", duration="10m")
else:
    sc, _ = load_scenario(name, ["duration=10m"])
Simulation(sc, LocalBackend()).run()
print(json.dumps({f.py_func.__name__: bool(f.stats.cache_hits or f.stats.cache_misses) for f in run_kernels(sc)}))
"""


def _probed(probe: str, names: list[str], tmp_path: Path) -> dict[str, dict]:
    """What ``probe`` prints last (JSON) for each scenario of ``names``, each run in a fresh process with a folder
    of its own (for a trace it writes), side by side."""
    for name in names:
        (tmp_path / name).mkdir()
    runs = side_by_side([[sys.executable, "-c", probe, name, str(tmp_path / name)] for name in names], cwd=ROOT)
    for name, r in zip(names, runs, strict=True):
        assert r.returncode == 0, (name, r.stderr[-2000:])
    return {name: json.loads(r.stdout.strip().splitlines()[-1]) for name, r in zip(names, runs, strict=True)}


def test_every_kernel_asked_about_is_one_the_run_reaches(tmp_path):
    """Else a run that never reaches a kernel would say it compiles on every run: the synthetic runs with and
    without migrations, and trace-driven runs under each allocation (on a small trace of their own), side by
    side, each in a fresh process."""
    names = ["quickstart", "consolidation-demo", "npa", "dvfs", "migrate"]
    for name, reached in _probed(PROBE, names, tmp_path).items():
        assert reached and all(reached.values()), (name, reached)
        assert ("underload_pass" in reached) == (name in ("consolidation-demo", "migrate")), name


#: Loads a scenario's shard kernels as a host actor does as it starts (``load_kernels``), then runs the scenario
#: for 10 simulated minutes with shards that draw ahead after each advance, as an actor's do between calls
#: (``ShardActor.idle``), in a process of its own, and prints the shard kernels each reached.
WARM_PROBE = """
import json, sys
from pathlib import Path
from cloudsim.engine import LocalBackend, Simulation
from cloudsim.model import shard
from cloudsim.scenario import load_scenario
from tests.test_consolidation import tiny_day, trace_scenario

advance = shard.HostShard.advance

def advance_then_idle(self, *args, **kwargs):
    report = advance(self, *args, **kwargs)
    self.ahead_now()
    return report

def reached():
    return sorted(n for n, f in vars(shard).items() if hasattr(f, "stats") and (f.stats.cache_hits or f.stats.cache_misses))

name, folder = sys.argv[1], Path(sys.argv[2])
if name == "migrate":
    sc = trace_scenario(tiny_day(folder), "consolidation.allocation=migrate", duration="10m")
else:
    sc, _ = load_scenario(name, ["duration=10m"])
sim = Simulation(sc, LocalBackend())
shard.load_kernels(sim.specs[0], None if sim.trace is None else sim.trace.util)
warmed = reached()
shard.HostShard.advance = advance_then_idle
sim.run()
print(json.dumps({"warmed": warmed, "run": reached()}))
"""


def test_a_host_actor_loads_every_shard_kernel_before_its_first_call(tmp_path):
    """A host actor loads its kernels as it starts (:func:`cloudsim.model.shard.load_kernels`), while the driver
    places the first guests, so that its first calls load none: the kernels a run of the scenario reaches after
    it are all loaded already. Synthetic runs with and without migrations, and a trace-driven one under the
    cloudsim model, each in a fresh process."""
    for name, got in _probed(WARM_PROBE, ["quickstart", "consolidation-demo", "migrate"], tmp_path).items():
        assert "_fair_events" in got["warmed"] or name == "migrate", (name, got)
        assert len(got["warmed"]) >= 10 and got["run"] == got["warmed"], (name, got)
