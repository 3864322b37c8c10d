"""The clock, the event heap, the controller loop and the in-process backend: cloudsim's one engine.

Its names load with the first use of each (PEP 562), so a process that needs one part (a host actor needs the
backend's) does not import the rest: the controller, the placement, the metrics, the scenario schema."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudsim.engine.api import run
    from cloudsim.engine.backend import Backend, BackendLost, LocalBackend
    from cloudsim.engine.cluster import Cluster, GuestCost
    from cloudsim.engine.core import Event, EventQueue, Priority
    from cloudsim.engine.simulation import Simulation, tick_times

#: Each name of the package, and the module that defines it.
_HOME = {
    "run": "api",
    "Backend": "backend",
    "BackendLost": "backend",
    "LocalBackend": "backend",
    "Cluster": "cluster",
    "GuestCost": "cluster",
    "Event": "core",
    "EventQueue": "core",
    "Priority": "core",
    "Simulation": "simulation",
    "tick_times": "simulation",
}

__all__ = [
    "Backend",
    "BackendLost",
    "Cluster",
    "Event",
    "EventQueue",
    "GuestCost",
    "LocalBackend",
    "Priority",
    "Simulation",
    "run",
    "tick_times",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value  # once
    return value
