"""cloudsim: a distributed multi-host cloud simulator on Ray.

The Python API is :func:`cloudsim.run` (``r = cloudsim.run("quickstart", backend="local")``; ``r.summary``,
``r.timeseries``). Its names are imported on first use, so ``import cloudsim`` (and the command line's
start, which installs its signal handlers first) stays quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

#: The package version, its one source: pyproject.toml reads it from here (``cloudsim --version``).
__version__ = "0.1.0"

if TYPE_CHECKING:
    from cloudsim.api import OutputError, Prepared, Result, ScenarioWarning, TimeSeries, UsageError, prepare, run
    from cloudsim.metrics.prom import MetricsEndpoint
    from cloudsim.scenario import Scenario, ScenarioError

#: Public name -> the module that defines it.
_API = {
    "run": "cloudsim.api",
    "prepare": "cloudsim.api",
    "Prepared": "cloudsim.api",
    "Result": "cloudsim.api",
    "TimeSeries": "cloudsim.api",
    "UsageError": "cloudsim.api",
    "ScenarioWarning": "cloudsim.api",
    "OutputError": "cloudsim.api",
    "MetricsEndpoint": "cloudsim.metrics.prom",
    "Scenario": "cloudsim.scenario",
    "ScenarioError": "cloudsim.scenario",
}

__all__ = [
    "MetricsEndpoint",
    "OutputError",
    "Prepared",
    "Result",
    "Scenario",
    "ScenarioError",
    "ScenarioWarning",
    "TimeSeries",
    "UsageError",
    "__version__",
    "prepare",
    "run",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'cloudsim' has no attribute {name!r}")
