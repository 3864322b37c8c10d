"""``cloudsim.engine.run``: the Python API of a run. The CLI, the benchmarks, the sweep runner and the
tests call it; the CLI adds only options, progress and printing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from cloudsim.engine.backend import Backend, LocalBackend
from cloudsim.engine.simulation import Simulation
from cloudsim.metrics.recorder import Recorder
from cloudsim.scenario.schema import Scenario
from cloudsim.workload.trace import Trace


def run(
    scenario: Scenario,
    backend: Backend | None = None,
    *,
    run_id: str = "run",
    trace: Trace | None = None,
    progress: Callable[[float], None] | None = None,
    listeners: Iterable[Callable[[Any], None]] = (),
) -> tuple[dict[str, Any], Recorder]:
    """Run a scenario to its end on ``backend`` (default: in this process) and return its summary and the
    recorder (time series, placement log, per-tick snapshots). ``listeners`` see each tick's snapshot;
    ``progress`` the simulated time. Ctrl-C stops the run and keeps what it computed (the summary then
    says ``interrupted``)."""
    sim = Simulation(scenario, backend or LocalBackend(), run_id=run_id, trace=trace)
    for fn in listeners:
        sim.recorder.subscribe(fn)
    return sim.run(progress), sim.recorder
