"""Lower bounds on the number of bins.

* L1 (the continuous bound): ``ceil(sum of sizes / capacity)``, the maximum over dimensions for vectors.
* L2 (Martello & Toth 1990, *Knapsack Problems*, §8.3.1): for every threshold ``alpha`` in [0, c/2],
  items larger than ``c - alpha`` each need a bin of their own (J1), items in (c/2, c - alpha] each need a
  bin too (J2) and leave room only for items below ``alpha``; items in [alpha, c/2] (J3) must fit in the
  room J2 leaves, the rest needs new bins::

      L(alpha) = |J1| + |J2| + max(0, ceil((w(J3) - (|J2| c - w(J2))) / c))

  L2 is the maximum of L(alpha) over alpha in {0} and the distinct sizes <= c/2; L2 >= L1.
* For vectors, each dimension on its own is a one-dimensional relaxation, so the maximum of the
  per-dimension L2 is a valid bound.
"""

from __future__ import annotations

import numpy as np


def l1(sizes: np.ndarray, capacity: np.ndarray) -> int:
    """``max_d ceil(sum_i s_id / C_d)``. ``sizes`` is (n, d), ``capacity`` (d,)."""
    if len(sizes) == 0:
        return 0
    totals = sizes.sum(axis=0)
    return int(max(-(-int(t) // int(c)) for t, c in zip(totals, capacity, strict=True)))


def l2_1d(weights: np.ndarray, capacity: int) -> int:
    """Martello-Toth L2 of a one-dimensional instance (integer sizes), O(n log n)."""
    w = np.sort(np.asarray(weights, dtype=np.int64))[::-1]  # non-increasing
    n, c = len(w), int(capacity)
    if n == 0:
        return 0
    prefix = np.concatenate([[0], np.cumsum(w)])
    best = -(-int(prefix[-1]) // c)
    half = c / 2
    n_big = int(np.searchsorted(-w, -half, side="left"))  # items > c/2: indices [0, n_big)
    candidates = np.unique(w[w <= half])
    for alpha in np.concatenate([[0], candidates]):
        alpha = int(alpha)
        j1 = int(np.searchsorted(-w, -(c - alpha), side="left"))  # w > c - alpha
        j2 = n_big - j1  # c/2 < w <= c - alpha
        end3 = int(np.searchsorted(-w, -alpha, side="right"))  # w >= alpha
        w2 = int(prefix[n_big] - prefix[j1])
        w3 = int(prefix[end3] - prefix[n_big])
        room = j2 * c - w2
        extra = max(0, -(-(w3 - room) // c))
        best = max(best, j1 + j2 + extra)
    return best


def lower_bound(sizes: np.ndarray, capacity: np.ndarray) -> int:
    """The best bound we have: max(L1, per-dimension L2). L2 assumes non-negative sizes, so dimensions
    with a negative size use L1 only."""
    if len(sizes) == 0:
        return 0
    l2s = [l2_1d(sizes[:, k], int(capacity[k])) for k in range(sizes.shape[1]) if (sizes[:, k] >= 0).all()]
    return max([l1(sizes, capacity), *l2s])
