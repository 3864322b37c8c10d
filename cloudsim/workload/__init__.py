"""Workloads: synthetic generators (arrivals over guest classes, explicit guest lists), trace readers
(PlanetLab) and recorded VM requests (Azure V1)."""

from cloudsim.scenario.schema import Scenario
from cloudsim.workload.azure import AzureError, AzureRequests, azure_guests, read_azure_v1
from cloudsim.workload.synthetic import Guest, synthetic_guests, utilization_params
from cloudsim.workload.trace import Trace, TraceError, read_planetlab, trace_guests


def generate(scenario: Scenario) -> list[Guest]:
    """The guests of a scenario's workload that arrive before the end of the run, in arrival order (ids in
    that order): recorded requests or generated ones. (A trace workload's guests come from
    :func:`trace_guests`, with the trace they follow.)"""
    if scenario.workload.requests is not None:
        return azure_guests(scenario)
    return synthetic_guests(scenario)


__all__ = [
    "AzureError",
    "AzureRequests",
    "Guest",
    "Trace",
    "TraceError",
    "azure_guests",
    "generate",
    "read_azure_v1",
    "read_planetlab",
    "synthetic_guests",
    "trace_guests",
    "utilization_params",
]
