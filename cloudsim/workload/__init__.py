"""Workloads: synthetic generators (arrivals over guest classes, explicit guest lists) and trace readers
(PlanetLab)."""

from cloudsim.workload.synthetic import Guest, generate, utilization_params
from cloudsim.workload.trace import Trace, TraceError, read_planetlab, trace_guests

__all__ = ["Guest", "Trace", "TraceError", "generate", "read_planetlab", "trace_guests", "utilization_params"]
