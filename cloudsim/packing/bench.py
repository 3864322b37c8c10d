"""Benchmarking packing policies against known optima (``cloudsim bench packing``).

The data is read in place (``optima.csv`` and the instance files it names, laid out as in
``shared/data/binpacking``): a 1-D instance is ``<set>/<instance>.txt``; a vector instance is
``<set>/<instance>.vbp``, or ``<set>/<class>/<instance>.vbp`` where ``<class>`` is the part of the name
before the first ``_`` and that folder exists.
"""

from __future__ import annotations

import csv
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from cloudsim.packing.engine import pack, warm_up
from cloudsim.packing.instance import PackingFormatError, read_instance


class BenchError(ValueError):
    """Bad benchmark input (missing folder, unknown set, malformed optima file); one line."""


@dataclass(frozen=True)
class Known:
    """One row of ``optima.csv``: the optimum (or best known value) of an instance."""

    set: str
    instance: str
    best: int
    proven: bool


def read_optima(path: Path) -> list[Known]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise BenchError(f"--optima: cannot read {str(path)!r}: {exc.strerror}") from None
    need = {"set", "instance", "opt_or_best", "is_proven_optimal"}
    if not rows or not need <= set(rows[0]):
        raise BenchError(f"--optima: {str(path)!r} needs the columns {', '.join(sorted(need))}")
    try:
        return [Known(r["set"], r["instance"], int(r["opt_or_best"]), r["is_proven_optimal"] == "true") for r in rows]
    except ValueError:
        raise BenchError(f"--optima: {str(path)!r} has a non-integer opt_or_best") from None


def instance_path(data_dir: Path, known: Known) -> Path:
    folder = data_dir / known.set
    for candidate in (
        folder / f"{known.instance}.txt",
        folder / f"{known.instance}.vbp",
        folder / known.instance.split("_")[0] / f"{known.instance}.vbp",
    ):
        if candidate.is_file():
            return candidate
    raise BenchError(f"{known.set}/{known.instance}: no instance file under {folder}")


@dataclass(frozen=True)
class Outcome:
    set: str
    instance: str
    policy: str
    bins: int
    best: int
    proven: bool
    lower_bound: int
    time_s: float

    @property
    def gap(self) -> int:
        return self.bins - self.best


def run(
    data_dir: Path,
    optima: Path,
    sets: Iterable[str] | None,
    policies: list[str],
    time_limit_s: float,
    per_set: int | None = None,
    progress: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Pack every selected instance with every policy. The kernels are compiled before timing."""
    if not data_dir.is_dir():
        raise BenchError(f"DATA_DIR: {str(data_dir)!r} is not a folder")
    known = read_optima(optima)
    available = sorted({k.set for k in known})
    chosen = list(sets) if sets else available
    if unknown := [s for s in chosen if s not in available]:
        raise BenchError(f"--sets: unknown {', '.join(unknown)}; known: {', '.join(available)}")
    warm_up(policies)
    out: list[Outcome] = []
    counts: dict[str, int] = {}
    for k in known:
        if k.set not in chosen or (per_set is not None and counts.get(k.set, 0) >= per_set):
            continue
        counts[k.set] = counts.get(k.set, 0) + 1
        try:
            inst = read_instance(instance_path(data_dir, k))
        except PackingFormatError as exc:
            raise BenchError(str(exc)) from None
        for policy in policies:
            r = pack(inst, policy, time_limit_s)
            o = Outcome(k.set, k.instance, policy, r.bins, k.best, k.proven, r.lower_bound, r.time_s)
            out.append(o)
            if progress is not None:
                progress(o)
    return out


def summarize(outcomes: list[Outcome]) -> list[dict[str, object]]:
    """One row per (set, policy): instances, share at the optimum (or best known), mean and max gap in
    bins and percent, median and max time, and how many beat the best known value."""
    groups: dict[tuple[str, str], list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault((o.set, o.policy), []).append(o)
    rows = []
    for (s, policy), os_ in groups.items():
        gaps = [o.gap for o in os_]
        pct = [100.0 * o.gap / o.best for o in os_]
        times = [o.time_s for o in os_]
        rows.append(
            {
                "set": s,
                "policy": policy,
                "instances": len(os_),
                "at_best_pct": 100.0 * sum(g <= 0 for g in gaps) / len(os_),
                "mean_gap_bins": statistics.fmean(gaps),
                "mean_gap_pct": statistics.fmean(pct),
                "max_gap_bins": max(gaps),
                "max_gap_pct": max(pct),
                "median_time_s": statistics.median(times),
                "max_time_s": max(times),
                "below_best": sum(g < 0 for g in gaps),
            }
        )
    return rows


class RowWriter:
    """Per-instance rows to a CSV file, one line as each run finishes (an interrupted bench keeps them)."""

    HEADER = ("set", "instance", "policy", "bins", "best", "proven", "lower_bound", "gap", "time_s")

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("w", newline="", encoding="utf-8")
        self._w = csv.writer(self._fh)
        self._w.writerow(self.HEADER)
        self.count = 0

    def write(self, o: Outcome) -> None:
        self._w.writerow(
            [o.set, o.instance, o.policy, o.bins, o.best, o.proven, o.lower_bound, o.gap, f"{o.time_s:.6f}"]
        )
        self._fh.flush()
        self.count += 1

    def close(self) -> None:
        self._fh.close()
