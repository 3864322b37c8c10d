"""Reading a utilization trace at any instant: CloudSim's linear interpolation between samples taken every
``SAMPLE_INTERVAL_S`` seconds. The shards read their guests' columns with it at every event time."""

from __future__ import annotations

import math

import numpy as np

#: Spacing of the samples of a trace column (PlanetLab: 5 minutes).
SAMPLE_INTERVAL_S = 300.0


def interpolate(util: np.ndarray, t: float) -> np.ndarray:
    """CloudSim's ``UtilizationModelPlanetLabInMemory.getUtilization``: the sample itself on the grid,
    else a straight line between ``floor(t/300)`` and ``ceil(t/300)``."""
    if t % SAMPLE_INTERVAL_S == 0:
        return util[..., int(t // SAMPLE_INTERVAL_S)]
    k1 = math.floor(t / SAMPLE_INTERVAL_S)
    k2 = math.ceil(t / SAMPLE_INTERVAL_S)
    u1 = util[..., k1]
    delta = (util[..., k2] - u1) / ((k2 - k1) * SAMPLE_INTERVAL_S)
    return u1 + delta * (t - k1 * SAMPLE_INTERVAL_S)


def interpolate_rows(util: np.ndarray, rows: np.ndarray, t: float) -> np.ndarray:
    """``interpolate(util[rows], t)`` without copying the rows' whole days: only the two samples around
    ``t`` are read (the same arithmetic, so the same values)."""
    if t % SAMPLE_INTERVAL_S == 0:
        return util[rows, int(t // SAMPLE_INTERVAL_S)]
    k1 = math.floor(t / SAMPLE_INTERVAL_S)
    k2 = math.ceil(t / SAMPLE_INTERVAL_S)
    u1 = util[rows, k1]
    delta = (util[rows, k2] - u1) / ((k2 - k1) * SAMPLE_INTERVAL_S)
    return u1 + delta * (t - k1 * SAMPLE_INTERVAL_S)
