"""Compiled inner loops of the packing engine (numba, cached to disk after the first compile).

Sizes are integers, so feasibility is exact. ``norm`` is the size over capacity per dimension (floats),
used only for ordering and scoring.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# ----------------------------------------------------------------------------------- constructive


@njit(cache=True)
def _fits(load: np.ndarray, size: np.ndarray, cap: np.ndarray) -> bool:
    for k in range(cap.shape[0]):  # noqa: SIM110 (an explicit loop compiles best in numba)
        if load[k] + size[k] > cap[k]:
            return False
    return True


@njit(cache=True)
def first_fit(order: np.ndarray, sizes: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Each item (in ``order``) into the lowest-index open bin it fits, else a new bin."""
    n, d = sizes.shape
    loads = np.zeros((n, d), dtype=np.int64)
    assign = np.full(n, -1, dtype=np.int64)
    nbins = 0
    for i in order:
        b = 0
        while b < nbins and not _fits(loads[b], sizes[i], cap):
            b += 1
        if b == nbins:
            nbins += 1
        assign[i] = b
        loads[b] += sizes[i]
    return assign


@njit(cache=True)
def best_fit(order: np.ndarray, sizes: np.ndarray, cap: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """Each item into the open bin left with the least normalised free space (sum over dimensions) after
    it, else a new bin; ties to the lowest index."""
    n, d = sizes.shape
    loads = np.zeros((n, d), dtype=np.int64)
    free = np.zeros(n)  # normalised free space per bin, summed over dimensions
    assign = np.full(n, -1, dtype=np.int64)
    nbins = 0
    for i in order:
        best, best_free = -1, 1e300
        si = norm[i].sum()
        for b in range(nbins):
            if _fits(loads[b], sizes[i], cap):
                f = free[b] - si
                if f < best_free - 1e-12:
                    best, best_free = b, f
        if best < 0:
            best = nbins
            nbins += 1
            free[best] = d
        assign[i] = best
        loads[best] += sizes[i]
        free[best] -= si
    return assign


@njit(cache=True)
def bin_centric(sizes: np.ndarray, cap: np.ndarray, norm: np.ndarray, rule: int) -> np.ndarray:
    """Fill one bin at a time (Panigrahy et al. 2011): repeatedly add the unpacked item that fits and
    scores best against the bin's residual capacity, then open the next bin.

    ``rule`` 0: dot product of item and residual (largest wins, "DotProduct");
    ``rule`` 1: squared L2 norm of the residual after adding the item (smallest wins, "Norm-based Greedy")."""
    n, d = sizes.shape
    assign = np.full(n, -1, dtype=np.int64)
    load = np.zeros(d, dtype=np.int64)
    left = n
    b = 0
    while left > 0:
        load[:] = 0
        while True:
            best, best_score = -1, -1e300
            for i in range(n):
                if assign[i] >= 0 or not _fits(load, sizes[i], cap):
                    continue
                score = 0.0
                for k in range(d):
                    r = 1.0 - load[k] / cap[k]
                    if rule == 0:
                        score += norm[i, k] * r
                    else:
                        score -= (r - norm[i, k]) ** 2
                if score > best_score + 1e-12:
                    best, best_score = i, score
            if best < 0:
                break
            assign[best] = b
            load += sizes[best]
            left -= 1
        b += 1
    return assign


@njit(cache=True)
def min_bin_slack(
    order: np.ndarray, sizes: np.ndarray, cap: np.ndarray, norm: np.ndarray, node_limit: int
) -> np.ndarray:
    """MBS' (Fleszar & Hindi 2002, after Gupta & Ho 1999): fill one bin at a time with the largest
    remaining item plus the subset of the other remaining items that leaves the least normalised slack,
    found by depth-first search over the items in ``order`` (non-increasing size) with a bound and at most
    ``node_limit`` nodes per bin. A bin with no slack stops the search at once."""
    n, d = sizes.shape
    assign = np.full(n, -1, dtype=np.int64)
    rem = np.empty(n, dtype=np.int64)
    sel = np.empty(n, dtype=np.int64)
    best_sel = np.empty(n, dtype=np.int64)
    nxt = np.empty(n + 1, dtype=np.int64)
    suffix = np.empty(n + 1)
    load = np.zeros(d, dtype=np.int64)
    weight = norm.sum(axis=1)
    b = 0
    full = float(d)
    for seed_pos in range(n):
        seed = order[seed_pos]
        if assign[seed] >= 0:
            continue
        assign[seed] = b
        m = 0
        for p in range(seed_pos + 1, n):
            if assign[order[p]] < 0:
                rem[m] = order[p]
                m += 1
        suffix[m] = 0.0
        for j in range(m - 1, -1, -1):
            suffix[j] = suffix[j + 1] + weight[rem[j]]
        load[:] = sizes[seed]
        cur = weight[seed]
        best, n_best = cur, 0
        depth, nodes = 0, 0
        nxt[0] = 0
        while True:
            j = nxt[depth]
            if j >= m or cur + suffix[j] <= best + 1e-12 or nodes >= node_limit:
                if depth == 0 or nodes >= node_limit:
                    break
                depth -= 1
                item = rem[sel[depth]]
                load -= sizes[item]
                cur -= weight[item]
                nxt[depth] = sel[depth] + 1
                continue
            item = rem[j]
            if not _fits(load, sizes[item], cap):
                nxt[depth] = j + 1
                continue
            load += sizes[item]
            cur += weight[item]
            sel[depth] = j
            depth += 1
            nxt[depth] = j + 1
            nodes += 1
            if cur > best + 1e-12:
                best, n_best = cur, depth
                best_sel[:depth] = sel[:depth]
                if best >= full - 1e-12:
                    break
        for t in range(n_best):
            assign[rem[best_sel[t]]] = b
        b += 1
    return assign


@njit(cache=True)
def _fewest_completions(
    order: np.ndarray, sizes: np.ndarray, cap: int, used: np.ndarray, hist: np.ndarray, noise: np.ndarray
) -> int:
    """The unused item (one dimension, zero waste) with the fewest, but at least one, pairs of unused
    items that fill its bin exactly, ties broken by ``noise``: the most constrained bin is decided first
    (fail-first, as in Knuth's Algorithm X). When no item has such a pair (bins need four items or more)
    the counts say nothing, and the largest unused item is taken (Korf). ``hist[s]`` counts the unused
    items of size ``s``."""
    n = sizes.shape[0]
    best, best_count, best_noise = -1, 1 << 62, 0.0
    for i in range(n):
        if used[i]:
            continue
        si = sizes[i, 0]
        hist[si] -= 1
        count = 0
        for j in range(n):
            if used[j] or j == i:
                continue
            rest = cap - si - sizes[j, 0]
            if rest < 0 or rest > cap:
                continue
            if rest == 0:
                count += 1  # i and j fill the bin on their own
                continue
            c = hist[rest] - (1 if rest == sizes[j, 0] else 0)
            if c > 0:
                count += c
        hist[si] += 1
        if count > 0 and (count < best_count or (count == best_count and noise[i] < best_noise)):
            best, best_count, best_noise = i, count, noise[i]
    if best < 0:
        for p in range(n):
            if not used[order[p]]:
                return order[p]
    return best


# Recursive kernels are not cached: numba 0.68 mis-loads a cached recursive function (segfault).
@njit(cache=False)
def _bc_extend(
    order: np.ndarray,
    cand: np.ndarray,
    sizes: np.ndarray,
    cap: np.ndarray,
    used: np.ndarray,
    assign: np.ndarray,
    b: int,
    start: int,
    load: np.ndarray,
    budget: np.ndarray,
    k: int,
    nodes: np.ndarray,
    limit: int,
    hist: np.ndarray,
    noise: np.ndarray,
) -> bool:
    """Extend bin ``b`` with items from ``order[start:]``; at a maximal bin whose waste fits the budget,
    open the next bin with the largest unused item. True when every item is packed in at most ``k`` bins."""
    nodes[0] += 1
    if nodes[0] > limit:
        return False
    n, d = sizes.shape
    last = -1
    for p in range(start, n):
        i = cand[p]
        if used[i] or not _fits(load, sizes[i], cap):
            continue
        if last >= 0:  # an item equal to the one just tried leads to the same subtrees
            same = True
            for kk in range(d):
                if sizes[i, kk] != sizes[last, kk]:
                    same = False
                    break
            if same:
                continue
        last = i
        used[i] = True
        assign[i] = b
        load += sizes[i]
        if hist.shape[0] > 0:
            hist[sizes[i, 0]] -= 1
        if _bc_extend(order, cand, sizes, cap, used, assign, b, p + 1, load, budget, k, nodes, limit, hist, noise):
            return True
        if hist.shape[0] > 0:
            hist[sizes[i, 0]] += 1
        load -= sizes[i]
        used[i] = False
        assign[i] = -1
        if nodes[0] > limit:
            return False
    # close bin b only if it is maximal (no unused item fits) and its waste fits the budget
    first_unused = -1
    for p in range(n):
        i = order[p]
        if used[i]:
            continue
        if first_unused < 0:
            first_unused = p
        if _fits(load, sizes[i], cap):
            return False
    for kk in range(d):
        if cap[kk] - load[kk] > budget[kk]:
            return False
    if first_unused < 0:
        return True
    if b + 1 >= k:
        return False
    waste = cap - load
    budget -= waste
    seed = order[first_unused] if hist.shape[0] == 0 else _fewest_completions(order, sizes, cap[0], used, hist, noise)
    used[seed] = True
    assign[seed] = b + 1
    if hist.shape[0] > 0:
        hist[sizes[seed, 0]] -= 1
    new_load = sizes[seed].copy()
    ok = _bc_extend(order, cand, sizes, cap, used, assign, b + 1, 0, new_load, budget, k, nodes, limit, hist, noise)
    if not ok:
        if hist.shape[0] > 0:
            hist[sizes[seed, 0]] += 1
        used[seed] = False
        assign[seed] = -1
        budget += waste
    return ok


@njit(cache=False)
def bin_completion(
    order: np.ndarray,
    cand: np.ndarray,
    sizes: np.ndarray,
    cap: np.ndarray,
    k: int,
    limit: int,
    noise: np.ndarray,
) -> np.ndarray:
    """Exact depth-first bin completion (after Korf 2002) for a packing into ``k`` bins: the bin holding
    the first unused item of ``order`` (largest first) is completed, trying the other items in ``cand``
    order (``order`` itself for the classic search; a shuffle for randomised restarts), with maximal
    subsets of the unused items only (a subset that
    leaves room for another unused item is dominated), equal items are tried once, and the total waste is
    bounded per dimension by ``k * capacity - total size``. With ``noise`` (one random number per item)
    in one dimension at zero waste, bins are opened fail-first instead (:func:`_fewest_completions`);
    pass an empty array otherwise. Returns the assignment, or all ``-1`` when no packing into ``k`` bins
    exists or ``limit`` search nodes ran out."""
    n, d = sizes.shape
    assign = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return assign
    budget = np.zeros(d, dtype=np.int64)
    for kk in range(d):
        budget[kk] = k * cap[kk] - sizes[:, kk].sum()
        if budget[kk] < 0:
            return assign
    used = np.zeros(n, dtype=np.bool_)
    nodes = np.zeros(1, dtype=np.int64)
    # fail-first seeds (``noise`` given): one dimension, zero waste, sizes indexable by a histogram
    failfirst = noise.shape[0] == n and d == 1 and budget[0] == 0
    hist = np.zeros(cap[0] + 1 if failfirst else 0, dtype=np.int64)
    if failfirst:
        for i in range(n):
            hist[sizes[i, 0]] += 1
        seed = _fewest_completions(order, sizes, cap[0], used, hist, noise)
        hist[sizes[seed, 0]] -= 1
    else:
        seed = order[0]
    used[seed] = True
    assign[seed] = 0
    load = sizes[seed].copy()
    if not _bc_extend(order, cand, sizes, cap, used, assign, 0, 0, load, budget, k, nodes, limit, hist, noise):
        assign[:] = -1
    return assign
