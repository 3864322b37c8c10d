"""Compiled inner loops of the packing engine (numba, cached to disk after the first compile).

Sizes are integers, so feasibility is exact. ``norm`` is the size over capacity per dimension (floats),
used only for ordering and scoring.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# ----------------------------------------------------------------------------------- constructive


@njit(cache=True, nogil=True)
def _fits(load: np.ndarray, size: np.ndarray, cap: np.ndarray) -> bool:
    for k in range(cap.shape[0]):  # noqa: SIM110 (an explicit loop compiles best in numba)
        if load[k] + size[k] > cap[k]:
            return False
    return True


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _same_size(sizes: np.ndarray, i: int, j: int) -> bool:
    for kk in range(sizes.shape[1]):  # noqa: SIM110 (an explicit loop compiles best in numba)
        if sizes[i, kk] != sizes[j, kk]:
            return False
    return True


@njit(cache=True, nogil=True)
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
    exists or ``limit`` search nodes ran out.

    The depth-first search runs on an explicit stack (numba caches iterative functions to disk, not
    recursive ones). Each frame extends one bin: it holds the bin, the position in ``cand`` of the item it
    placed last (``stage`` 0) or, once the bin is closed, the item that opened the next bin (``stage`` 1).
    One frame per placed item, so the stack never holds more than ``n`` frames. A node is a frame pushed;
    a search that runs out of nodes fails at once."""
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
    # fail-first seeds (``noise`` given): one dimension, zero waste, sizes indexable by a histogram
    failfirst = noise.shape[0] == n and d == 1 and budget[0] == 0
    hist = np.zeros(cap[0] + 1 if failfirst else 0, dtype=np.int64)
    counted = hist.shape[0] > 0
    if failfirst:
        for i in range(n):
            hist[sizes[i, 0]] += 1
        seed = _fewest_completions(order, sizes, cap[0], used, hist, noise)
        hist[sizes[seed, 0]] -= 1
    else:
        seed = order[0]
    used[seed] = True
    assign[seed] = 0
    loads = np.zeros((max(min(k, n), 1), d), dtype=np.int64)  # bin b's load; bins past n are never opened
    loads[0] = sizes[seed]
    # the frames: their bin, the position reached in ``cand``, the item tried last there (equal items are
    # tried once), stage (0: extending the bin, 1: waiting on the bin it opened) and the item placed
    f_bin = np.zeros(n + 1, dtype=np.int64)
    f_pos = np.zeros(n + 1, dtype=np.int64)
    f_last = np.full(n + 1, -1, dtype=np.int64)
    f_stage = np.zeros(n + 1, dtype=np.int64)
    f_item = np.zeros(n + 1, dtype=np.int64)
    top = 0
    nodes = 1
    if nodes > limit:
        assign[:] = -1
        return assign
    back = False  # True when the frame on top resumes after its child failed
    while True:
        b = f_bin[top]
        load = loads[b]
        if f_stage[top] == 1:  # the bin this one opened could not be completed: undo its opening, fail
            seed = f_item[top]
            if counted:
                hist[sizes[seed, 0]] += 1
            used[seed] = False
            assign[seed] = -1
            budget += cap - load
            top -= 1
            if top < 0:
                assign[:] = -1
                return assign
            back = True
            continue
        p = f_pos[top]
        if back:  # take back the item placed at position p, try the next one
            i = f_item[top]
            if counted:
                hist[sizes[i, 0]] += 1
            load -= sizes[i]
            used[i] = False
            assign[i] = -1
            p += 1
            back = False
        last = f_last[top]
        pushed = False
        while p < n:
            i = cand[p]
            if used[i] or not _fits(load, sizes[i], cap):
                p += 1
                continue
            if last >= 0 and _same_size(sizes, i, last):  # an equal item leads to the same subtrees
                p += 1
                continue
            last = i
            used[i] = True
            assign[i] = b
            load += sizes[i]
            if counted:
                hist[sizes[i, 0]] -= 1
            f_pos[top], f_last[top], f_item[top] = p, last, i
            top += 1
            f_bin[top], f_pos[top], f_last[top], f_stage[top] = b, p + 1, -1, 0
            pushed = True
            break
        if pushed:
            nodes += 1
            if nodes > limit:
                assign[:] = -1
                return assign
            continue
        # close bin b only if it is maximal (no unused item fits) and its waste fits the budget
        first_unused = -1
        fails = False
        for q in range(n):
            i = order[q]
            if used[i]:
                continue
            if first_unused < 0:
                first_unused = q
            if _fits(load, sizes[i], cap):
                fails = True
                break
        if not fails:
            for kk in range(d):
                if cap[kk] - load[kk] > budget[kk]:
                    fails = True
                    break
        if not fails and first_unused < 0:
            return assign  # every item packed
        if fails or b + 1 >= k:
            top -= 1
            if top < 0:
                assign[:] = -1
                return assign
            back = True
            continue
        budget -= cap - load
        seed = order[first_unused] if not counted else _fewest_completions(order, sizes, cap[0], used, hist, noise)
        used[seed] = True
        assign[seed] = b + 1
        if counted:
            hist[sizes[seed, 0]] -= 1
        loads[b + 1] = sizes[seed]
        f_stage[top], f_item[top] = 1, seed
        top += 1
        f_bin[top], f_pos[top], f_last[top], f_stage[top] = b + 1, 0, -1, 0
        nodes += 1
        if nodes > limit:
            assign[:] = -1
            return assign
