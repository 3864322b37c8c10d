"""The clock, the event heap, the controller loop and the in-process backend: cloudsim's one engine."""

from cloudsim.engine.api import run
from cloudsim.engine.backend import Backend, BackendLost, LocalBackend
from cloudsim.engine.cluster import Cluster, GuestCost
from cloudsim.engine.core import Event, EventQueue, Priority
from cloudsim.engine.simulation import Simulation, tick_times

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
