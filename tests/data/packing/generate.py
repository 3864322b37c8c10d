"""Generates this folder's tiny packing benchmark: instances whose optimum is known by construction.

Every instance is a perfect packing cut up: ``k`` bins are each split into items that fill the bin
exactly (in every dimension), and the items are shuffled. Then the total size is exactly ``k`` bins of
capacity, so L1 = k is a lower bound and the construction shows k bins suffice: the optimum is k.

Run ``python tests/data/packing/generate.py`` to rewrite the files (deterministic, seed 2026).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def split(rng: np.random.Generator, total: int, parts: int, low: int) -> list[int]:
    """``parts`` integers >= ``low`` summing to ``total``."""
    cuts = np.sort(rng.choice(np.arange(1, total - parts * low + parts), size=parts - 1, replace=False))
    sizes = np.diff(np.concatenate([[0], cuts, [total - parts * low + parts]])) + low - 1
    return [int(s) for s in sizes]


def main() -> None:
    rng = np.random.default_rng(2026)
    rows = []
    for i, (bins, per_bin) in enumerate([(8, 3), (12, 3), (15, 4), (20, 3), (10, 5), (25, 4)]):
        cap = 1000
        items = [w for _ in range(bins) for w in split(rng, cap, per_bin, 100)]
        items = [int(x) for x in rng.permutation(items)]
        name = f"perfect1d_{i}"
        folder = HERE / "1d"
        folder.mkdir(exist_ok=True)
        (folder / f"{name}.txt").write_text("\n".join(map(str, [len(items), cap, *items])) + "\n")
        rows.append(["1d", name, 1, len(items), cap, bins, "true", "by construction: perfect packing"])
    for i, (bins, per_bin, d) in enumerate([(6, 3, 3), (10, 3, 2), (8, 4, 3), (12, 3, 5)]):
        cap = 100
        columns = [[w for _ in range(bins) for w in split(rng, cap, per_bin, 10)] for _ in range(d)]
        # keep items of one bin together across dimensions: item j of bin b is row b * per_bin + j
        items = np.array(columns).T[rng.permutation(bins * per_bin)]
        name = f"perfectvbp_{i}"
        folder = HERE / "vbp"
        folder.mkdir(exist_ok=True)
        lines = [str(d), " ".join([str(cap)] * d), str(len(items))] + [" ".join(map(str, row)) + " 1" for row in items]
        (folder / f"{name}.vbp").write_text("\n".join(lines) + "\n")
        rows.append(
            ["vbp", name, d, len(items), "|".join([str(cap)] * d), bins, "true", "by construction: perfect packing"]
        )
    with (HERE / "optima.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["set", "instance", "dims", "n_items", "capacity", "opt_or_best", "is_proven_optimal", "source"])
        w.writerows(rows)


if __name__ == "__main__":
    main()
