"""``cloudsim.engine.run``: the engine's step of a run, one validated scenario on one backend. It is the
innermost step of the Python API, :func:`cloudsim.run` (which resolves the scenario, starts Ray, writes the
outputs); the benchmarks and the tests that drive the engine directly call it too."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
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
    checkpoint: tuple[Path, float] | None = None,
    resume: Path | Simulation | None = None,
    warn: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], Recorder]:
    """Run a scenario to its end on ``backend`` (default: in this process) and return its summary and the
    recorder (time series, placement log, per-tick snapshots). ``listeners`` see each tick's snapshot;
    ``progress`` the simulated time. Ctrl-C stops the run and keeps what it computed (the summary then
    says ``interrupted``). ``checkpoint`` = (path, every simulated seconds) saves the run as it goes (one
    that cannot be written is told to ``warn``, in one line, and the run goes on: :meth:`Simulation.checkpoint`);
    ``resume`` continues a run saved at that path, or one already loaded by :meth:`Simulation.resume`
    (``scenario`` is then the saved one's)."""
    backend = backend or LocalBackend()
    if isinstance(resume, Simulation):
        sim, sim.backend = resume, backend
    elif resume is not None:
        sim = Simulation.resume(resume, backend)
    else:
        sim = Simulation(scenario, backend, run_id=run_id, trace=trace)
    if checkpoint is not None:
        sim.checkpoint(*checkpoint)
    sim.warn = warn
    for fn in listeners:
        sim.recorder.subscribe(fn)
    return sim.run(progress), sim.recorder
