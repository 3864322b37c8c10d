"""PlanetLab CPU traces (CloudSim's consolidation workload): one file per VM, 288 integer samples (percent
of the VM's capacity) 5 minutes apart. Files are taken in byte-sorted name order, so VM ``i`` is the
``i``-th name in Python's ``sorted()``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cloudsim.files import read_input
from cloudsim.scenario.schema import GuestShape, Scenario
from cloudsim.virt import VirtMode
from cloudsim.workload.synthetic import Guest

#: Samples per file (their spacing is ``SAMPLE_INTERVAL_S``).
SAMPLES = 288
#: What the reader reads at most: bytes per file (a PlanetLab file is about 1 KB) and files per folder.
MAX_FILE_BYTES = 64 * 1024
MAX_FILES = 100_000


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
    if len(names) > MAX_FILES:
        raise TraceError(f"trace folder {str(path)!r} holds {len(names):,} files; at most {MAX_FILES:,} VMs are read")
    util = np.empty((len(names), SAMPLES + 1), dtype=np.float64)
    for i, name in enumerate(names):
        file = path / name
        data = read_input(file, MAX_FILE_BYTES, TraceError, "a PlanetLab trace is 288 short lines")
        values = data.split()
        row = np.empty(len(values))
        for k, v in enumerate(values):
            if not v.isdigit() or not v.isascii() or len(v) > 3:
                # the position, never the content (the file may not be a trace at all)
                raise TraceError(
                    f"{file}: not a PlanetLab trace: value {k + 1} is not an integer percent (one per line)"
                )
            row[k] = int(v)
        if len(row) < SAMPLES:
            raise TraceError(f"{path / name}: {len(row)} samples; a PlanetLab trace has {SAMPLES}")
        if row.min() < 0 or row.max() > 100:
            raise TraceError(f"{path / name}: samples must be percentages in [0, 100]")
        util[i, :SAMPLES] = row[:SAMPLES] / 100.0
    util[:, SAMPLES] = util[:, SAMPLES - 1]
    return Trace(tuple(names), util)


def trace_guests(scenario: Scenario, trace: Trace | None = None) -> tuple[list[Guest], Trace]:
    """One guest per trace VM (read from ``workload.trace.path`` unless given), all arriving at the start
    and running to the end: VM ``i`` follows column ``i`` and gets ``vm_types[i // ceil(n / types)]``
    (CloudSim's blocks); ``mode: none`` is CloudSim's model (a fully virtualized guest without overhead)."""
    tr = scenario.workload.trace
    assert tr is not None and tr.path is not None
    trace = trace or read_planetlab(tr.path, tr.limit)
    mode = VirtMode.FULL_HW if tr.mode == "none" else VirtMode(tr.mode)
    shapes = [
        GuestShape(
            mode=mode,
            os=tr.os,
            vcpus=1,
            memory_gib=t.memory_mib / 1024.0,
            mips_per_vcpu=t.mips,
            kernel_intensity=tr.kernel_intensity,
        )
        for t in tr.vm_types
    ]
    block = math.ceil(trace.vms / len(tr.vm_types))
    guests = []
    for i in range(trace.vms):
        k = i // block
        guests.append(
            Guest(i, trace.names[i], tr.vm_types[k].name, shapes[k], 0.0, None, i, tr.vm_types[k].bandwidth_mbps)
        )
    return guests, trace
