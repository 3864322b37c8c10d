"""Reading a utilization trace at any instant: CloudSim's linear interpolation between samples taken every
``SAMPLE_INTERVAL_S`` seconds. The shards read their guests' columns with it at every event time."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Spacing of the samples of a trace column (PlanetLab: 5 minutes).
SAMPLE_INTERVAL_S = 300.0


@njit(cache=True, nogil=True, inline="always")
def interpolate_at(util: np.ndarray, row: int, t: float) -> float:
    """CloudSim's ``UtilizationModelPlanetLabInMemory.getUtilization`` of column ``util[row]``: the sample
    itself on the grid, else a straight line between ``floor(t/300)`` and ``ceil(t/300)``."""
    if t % SAMPLE_INTERVAL_S == 0:
        return util[row, int(t // SAMPLE_INTERVAL_S)]
    k1 = math.floor(t / SAMPLE_INTERVAL_S)
    k2 = math.ceil(t / SAMPLE_INTERVAL_S)
    u1 = util[row, k1]
    delta = (util[row, k2] - u1) / ((k2 - k1) * SAMPLE_INTERVAL_S)
    return u1 + delta * (t - k1 * SAMPLE_INTERVAL_S)


@njit(cache=True, nogil=True)
def _interpolate_rows(util: np.ndarray, rows: np.ndarray, t: float) -> np.ndarray:
    out = np.empty(rows.shape[0])
    for i in range(rows.shape[0]):
        out[i] = interpolate_at(util, rows[i], t)
    return out


def interpolate_rows(util: np.ndarray, rows: np.ndarray, t: float) -> np.ndarray:
    """:func:`interpolate_at` of each of ``rows`` (only the two samples around ``t`` are read)."""
    return _interpolate_rows(util, np.asarray(rows, dtype=np.int64), float(t))
