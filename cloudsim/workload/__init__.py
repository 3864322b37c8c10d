"""Workloads: synthetic generators now; trace readers (PlanetLab, Azure, Alibaba) come later."""

from cloudsim.workload.synthetic import Guest, generate, utilization_params

__all__ = ["Guest", "generate", "utilization_params"]
