"""Bin packing instances: integer sizes (n items x d dimensions) and one capacity per dimension, read
from BPPLIB text files (one dimension) or VPSolver ``.vbp`` files (vectors)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cloudsim.files import read_input


class PackingFormatError(ValueError):
    """A malformed instance file; ``str()`` is one line naming the file and the problem."""


@dataclass(frozen=True)
class Instance:
    """``sizes`` (n, d) int64, ``capacity`` (d,) int64. Item ``i`` of a ``.vbp`` type with demand k
    appears k times, consecutively, in file order. A size may be negative in a dimension (the Caprara-Toth
    style triplet benchmarks have such items): a bin is feasible when every dimension's sum fits."""

    name: str
    sizes: np.ndarray
    capacity: np.ndarray

    @property
    def n(self) -> int:
        return int(self.sizes.shape[0])

    @property
    def dims(self) -> int:
        return int(self.sizes.shape[1])

    def __post_init__(self) -> None:
        if self.sizes.ndim != 2 or self.capacity.shape != (self.sizes.shape[1],):
            raise PackingFormatError(f"{self.name}: sizes must be (n, d) and capacity (d,)")
        if (self.capacity <= 0).any():
            raise PackingFormatError(f"{self.name}: capacities must be positive")
        if len(self.sizes) and (self.sizes > self.capacity).any():
            i = int(np.flatnonzero((self.sizes > self.capacity).any(axis=1))[0])
            raise PackingFormatError(f"{self.name}: item {i} is larger than the bin capacity")


#: Limits of what the readers accept: integers are exact in float64 (the bounds and the LP) up to 2^53;
#: a file is read up to 64 MiB; an instance has at most 10 million items (a 4-line .vbp can ask for more).
MAX_VALUE = 2**53
MAX_FILE_BYTES = 64 * 2**20
MAX_ITEMS = 10_000_000


def _ints(path: Path) -> list[int]:
    data = read_input(path, MAX_FILE_BYTES, PackingFormatError)
    out = []
    for k, tok in enumerate(data.split()):
        if not (tok.lstrip(b"-").isdigit() and tok.isascii()):
            # the position, never the content
            raise PackingFormatError(f"{path}: expected integers only; number {k + 1} is not one") from None
        v = int(tok)
        if abs(v) > MAX_VALUE:
            raise PackingFormatError(f"{path}: number {k + 1} is beyond 2^53 = {MAX_VALUE:,}, where sizes stay exact")
        out.append(v)
    return out


def _check_sums(path: Path, sizes: np.ndarray) -> None:
    """Sums of sizes must stay exact in int64 (and float64 for the bounds): at most 2^53 in each dimension."""
    if len(sizes) and (np.abs(sizes).astype(np.float64).sum(axis=0) > MAX_VALUE).any():
        raise PackingFormatError(f"{path}: the sizes add up beyond 2^53 = {MAX_VALUE:,} in a dimension")


def read_bpplib(path: str | Path) -> Instance:
    """BPPLIB format: ``n``, ``c``, then ``n`` integer weights (whitespace separated)."""
    path = Path(path)
    v = _ints(path)
    if len(v) < 2:
        raise PackingFormatError(f"{path}: expected n and capacity, then n weights")
    n, c, w = v[0], v[1], v[2:]
    if n < 0 or len(w) != n:
        raise PackingFormatError(f"{path}: header says {n} items, file has {len(w)} weights")
    sizes = np.array(w, dtype=np.int64).reshape(n, 1)
    _check_sums(path, sizes)
    return Instance(path.stem, sizes, np.array([c], dtype=np.int64))


def read_vbp(path: str | Path) -> Instance:
    """VPSolver ``.vbp``: ``d``, the d capacities, ``m`` item types, then per type d sizes and a demand."""
    path = Path(path)
    v = _ints(path)
    if len(v) < 2:
        raise PackingFormatError(f"{path}: expected d, d capacities, m, then m lines of d sizes and a demand")
    d = v[0]
    if d <= 0 or len(v) < 1 + d + 1:
        raise PackingFormatError(f"{path}: bad dimension count {d}")
    cap = v[1 : 1 + d]
    m = v[1 + d]
    body = v[2 + d :]
    if m < 0 or len(body) != m * (d + 1):
        raise PackingFormatError(f"{path}: header says {m} item types of {d + 1} numbers, found {len(body)} numbers")
    rows = np.array(body, dtype=np.int64).reshape(m, d + 1) if m else np.zeros((0, d + 1), dtype=np.int64)
    if (rows[:, d] < 0).any():
        raise PackingFormatError(f"{path}: negative demand")
    items = int(rows[:, d].astype(np.float64).sum())
    if items > MAX_ITEMS:
        raise PackingFormatError(f"{path}: the demands ask for {items:,} items; at most {MAX_ITEMS:,}")
    sizes = np.repeat(rows[:, :d], rows[:, d], axis=0)
    _check_sums(path, sizes)
    return Instance(path.stem, sizes, np.array(cap, dtype=np.int64))


def read_instance(path: str | Path, fmt: str | None = None) -> Instance:
    """Read by ``fmt`` (``bpplib`` or ``vbp``), or by extension (``.vbp``; anything else is BPPLIB)."""
    path = Path(path)
    if not path.is_file():
        raise PackingFormatError(f"{path}: no such file")
    fmt = fmt or ("vbp" if path.suffix == ".vbp" else "bpplib")
    if fmt == "vbp":
        return read_vbp(path)
    if fmt == "bpplib":
        return read_bpplib(path)
    raise PackingFormatError(f"--format: unknown {fmt!r}; one of: bpplib, vbp")
