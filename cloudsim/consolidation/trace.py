"""PlanetLab CPU traces (CloudSim's consolidation workload): one file per VM, 288 integer samples (percent
of the VM's capacity) 5 minutes apart. Files are taken in byte-sorted name order, so VM ``i`` is the
``i``-th name in Python's ``sorted()``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Samples per file and their spacing.
SAMPLES = 288
SAMPLE_INTERVAL_S = 300.0


class TraceError(ValueError):
    """A trace folder or file that cannot be used; the message names it and says what is expected."""


@dataclass(frozen=True)
class Trace:
    """Utilization fractions ``util[vm, k]`` at ``k * 300`` s, ``k = 0..288`` (sample 287 repeated in slot
    288, as CloudSim does), and the file name of each VM."""

    names: tuple[str, ...]
    util: np.ndarray

    @property
    def vms(self) -> int:
        return len(self.names)

    def at(self, t: float, vms: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Utilization at time ``t`` (s), interpolated linearly between the 5-minute samples."""
        return interpolate(self.util[vms], t)


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


def read_planetlab(folder: str | Path, limit: int | None = None) -> Trace:
    """Read a PlanetLab day folder (``../shared/data/planetlab/20110303``). ``limit`` keeps the first
    ``limit`` VMs in sorted order. Raises :class:`TraceError` with the offending path."""
    path = Path(folder)
    if not path.is_dir():
        raise TraceError(f"no trace folder {str(path)!r} (a PlanetLab day folder with one file per VM)")
    names = sorted(p.name for p in path.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix != ".md")
    if limit is not None:
        names = names[:limit]
    if not names:
        raise TraceError(f"trace folder {str(path)!r} holds no trace files")
    util = np.empty((len(names), SAMPLES + 1), dtype=np.float64)
    for i, name in enumerate(names):
        try:
            values = (path / name).read_bytes().split()
            row = np.array([int(v) for v in values], dtype=np.float64)
        except (OSError, ValueError) as exc:
            raise TraceError(f"{path / name}: not a PlanetLab trace (one integer percent per line): {exc}") from None
        if len(row) < SAMPLES:
            raise TraceError(f"{path / name}: {len(row)} samples; a PlanetLab trace has {SAMPLES}")
        if row.min() < 0 or row.max() > 100:
            raise TraceError(f"{path / name}: samples must be percentages in [0, 100]")
        util[i, :SAMPLES] = row[:SAMPLES] / 100.0
    util[:, SAMPLES] = util[:, SAMPLES - 1]
    return Trace(tuple(names), util)
