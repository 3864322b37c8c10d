"""Consistent neighbourhood search for one-dimensional bin packing (after Buljubašić & Vasquez 2016).

To find a packing into ``m`` bins, keep ``m - 2`` bins that always respect the capacity and a *pool* of
items not assigned yet. A tabu search swaps a few items between one bin and the pool (up to two each
way) so that the pool's total weight drops; the search succeeds as soon as the pool fits into two bins.
Partial solutions are always consistent (no bin over capacity), which is what lets the search make many
small moves cheaply. Our version (not the authors' code): the best non-tabu move is taken each iteration
(weight moved into the bin minus weight dropped, then more items left in the pool, then at random); an
item dropped from a bin may not re-enter it, and an item added may not leave it, for a short random
tenure; when the pool weight has not improved for a while, a few random pairs of bins are re-split
(their items shuffled and packed first-fit into the same two bins), which changes what the pool can
swap with (a kick).
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

#: Search nodes for the two-bin check of the pool.
TWO_BIN_NODES = 20_000


@njit(cache=True, nogil=True)
def _split_two(items: np.ndarray, w: np.ndarray, cap: int, out: np.ndarray) -> bool:
    """Can ``items`` (sorted by weight, largest first) go into two bins? If so ``out[k]`` is 0 or 1 for
    ``items[k]``. A depth-first subset search for the first bin's load in ``[total - cap, cap]``."""
    k = items.shape[0]
    total = 0
    for t in range(k):
        total += w[items[t]]
    if total > 2 * cap:
        return False
    lo = total - cap
    if lo <= 0:
        for t in range(k):
            out[t] = 0
        return True
    suffix = np.zeros(k + 1, dtype=np.int64)
    for t in range(k - 1, -1, -1):
        suffix[t] = suffix[t + 1] + w[items[t]]
    # iterative DFS: take[t] is 1 when items[t] is in the first bin; the largest item is in it WLOG
    take = np.zeros(k, dtype=np.int64)
    take[0] = 1
    cur = w[items[0]]
    t = 1
    nodes = 0
    while True:
        nodes += 1
        if nodes > TWO_BIN_NODES:
            return False
        if cur >= lo:  # cur <= cap always holds; items from t on go to the second bin
            for s in range(k):
                out[s] = 0 if s < t and take[s] == 1 else 1
            return True
        if t < k and cur + suffix[t] >= lo:
            if cur + w[items[t]] <= cap:
                take[t] = 1
                cur += w[items[t]]
            else:
                take[t] = 0
            t += 1
            continue
        # backtrack: find the last taken item (not the first) and leave it out instead
        t -= 1
        while t >= 1 and take[t] == 0:
            t -= 1
        if t < 1:
            return False
        take[t] = 0
        cur -= w[items[t]]
        t += 1


@njit(cache=True, nogil=True)
def search(
    w: np.ndarray,
    cap: int,
    nbins: int,
    bin_of: np.ndarray,
    tabu: np.ndarray,
    it0: int,
    iters: int,
    seed: int,
    stall_limit: int = 400,
    tenure_base: int = 3,
    kick_pairs: int = 5,
) -> tuple[int, int]:
    """Run up to ``iters`` iterations of the tabu search on the partial solution ``bin_of`` (bins
    ``0..nbins-1``, pool items ``-1``), in place. Returns ``(found, iteration)``: when ``found`` is 1 the
    pool has been split into bins ``nbins`` and ``nbins + 1`` and ``bin_of`` is a complete packing into
    ``nbins + 2`` bins. ``tabu[i, b]`` is the iteration until which item ``i`` may not enter (if pooled)
    or leave (if packed) bin ``b``; it persists across calls, as does the iteration count."""
    np.random.seed(seed)
    n = w.shape[0]
    load = np.zeros(nbins, dtype=np.int64)
    cnt = np.zeros(nbins, dtype=np.int64)
    for i in range(n):
        if bin_of[i] >= 0:
            cnt[bin_of[i]] += 1
    minw = cap
    for i in range(n):
        minw = min(minw, w[i])
    width = n if minw <= 0 else min(n, cap // minw + 1)
    mem = np.full((nbins, width), -1, dtype=np.int64)
    cnt[:] = 0
    pool = np.empty(n, dtype=np.int64)
    npool = 0
    pool_w = 0
    for i in range(n):
        b = bin_of[i]
        if b >= 0:
            mem[b, cnt[b]] = i
            cnt[b] += 1
            load[b] += w[i]
        else:
            pool[npool] = i
            npool += 1
            pool_w += w[i]
    best_pool_w = pool_w
    stall = 0
    split = np.empty(n, dtype=np.int64)
    # candidate pool subsets (singles and pairs), sorted by weight, rebuilt when the pool changes
    cand_w = np.empty(1024, dtype=np.int64)
    cand_a = np.empty(1024, dtype=np.int64)
    cand_b = np.empty(1024, dtype=np.int64)
    it = it0
    for _ in range(iters):
        it += 1
        # ---- pool fits into two bins?
        if pool_w <= 2 * cap:
            items = pool[:npool].copy()
            items = items[np.argsort(-w[items], kind="mergesort")]
            if _split_two(items, w, cap, split):
                for t in range(npool):
                    bin_of[items[t]] = nbins + split[t]
                return 1, it
        # ---- candidate subsets of the pool, by weight descending (singles before pairs on ties)
        need = npool * (npool + 1) // 2
        if need > cand_w.shape[0]:
            cand_w = np.empty(2 * need, dtype=np.int64)
            cand_a = np.empty(2 * need, dtype=np.int64)
            cand_b = np.empty(2 * need, dtype=np.int64)
        nc = 0
        for u in range(npool):
            cand_w[nc] = w[pool[u]] * 2 + 1  # weight x2, +1 marks a single (sorts first on ties)
            cand_a[nc] = pool[u]
            cand_b[nc] = -1
            nc += 1
            for v in range(u + 1, npool):
                cand_w[nc] = (w[pool[u]] + w[pool[v]]) * 2
                cand_a[nc] = pool[u]
                cand_b[nc] = pool[v]
                nc += 1
        order = np.argsort(-cand_w[:nc], kind="mergesort")
        sw = np.empty(nc, dtype=np.int64)
        for t in range(nc):
            sw[t] = cand_w[order[t]] // 2
        # ---- best move over every bin and every drop set p (none, one or two items)
        best_delta = -(1 << 62)
        best_items = -(1 << 62)
        ties = 0
        mb = -1
        mp1 = -1
        mp2 = -1
        mq = -1
        for b in range(nbins):
            free = cap - load[b]
            c = cnt[b]
            for x in range(-1, c):
                ix = -1 if x < 0 else mem[b, x]
                if ix >= 0 and tabu[ix, b] > it:
                    continue
                for y in range(x, c):
                    if x < 0 and y >= 0:
                        break
                    iy = -1
                    if y > x:
                        iy = mem[b, y]
                        if tabu[iy, b] > it:
                            continue
                    wp = (0 if ix < 0 else w[ix]) + (0 if iy < 0 else w[iy])
                    room = free + wp
                    # first candidate with weight <= room (binary search on the descending list)
                    lo_i = 0
                    hi_i = nc
                    while lo_i < hi_i:
                        mid = (lo_i + hi_i) // 2
                        if sw[mid] > room:
                            lo_i = mid + 1
                        else:
                            hi_i = mid
                    np_ = (0 if ix < 0 else 1) + (0 if iy < 0 else 1)
                    for t in range(lo_i, nc):
                        wq = sw[t]
                        delta = wq - wp
                        if delta < best_delta:
                            break
                        k = order[t]
                        qa = cand_a[k]
                        qb = cand_b[k]
                        if tabu[qa, b] > it or (qb >= 0 and tabu[qb, b] > it):
                            continue
                        items_left = np_ - (1 if qb < 0 else 2)
                        if delta > best_delta or (delta == best_delta and items_left > best_items):
                            best_delta = delta
                            best_items = items_left
                            ties = 1
                        elif items_left == best_items:
                            ties += 1
                            if np.random.randint(ties) != 0:
                                break
                        else:
                            break
                        mb = b
                        mp1 = ix
                        mp2 = iy
                        mq = k
                        break
        if mb < 0:
            return 0, it
        # ---- apply the move
        qa = cand_a[mq]
        qb = cand_b[mq]
        tenure = tenure_base + np.random.randint(npool + 1)
        for i in (mp1, mp2):
            if i < 0:
                continue
            c = cnt[mb]
            for s in range(c):
                if mem[mb, s] == i:
                    mem[mb, s] = mem[mb, c - 1]
                    cnt[mb] = c - 1
                    break
            load[mb] -= w[i]
            bin_of[i] = -1
            pool[npool] = i
            npool += 1
            pool_w += w[i]
            tabu[i, mb] = it + tenure
        for i in (qa, qb):
            if i < 0:
                continue
            for s in range(npool):
                if pool[s] == i:
                    pool[s] = pool[npool - 1]
                    npool -= 1
                    break
            pool_w -= w[i]
            if cnt[mb] >= mem.shape[1]:
                return -1, it  # cannot happen with consistent bins and positive weights
            mem[mb, cnt[mb]] = i
            cnt[mb] += 1
            load[mb] += w[i]
            bin_of[i] = mb
            tabu[i, mb] = it + tenure
        if pool_w < best_pool_w:
            best_pool_w = pool_w
            stall = 0
        else:
            stall += 1
        # ---- kick: when stalled, re-split random pairs of bins (same items, other combinations)
        if stall >= stall_limit:
            stall = 0
            best_pool_w = pool_w
            for _k in range(kick_pairs):
                b1 = np.random.randint(nbins)
                b2 = np.random.randint(nbins)
                if b1 == b2:
                    continue
                c1 = cnt[b1]
                c2 = cnt[b2]
                both = np.empty(c1 + c2, dtype=np.int64)
                both[:c1] = mem[b1, :c1]
                both[c1:] = mem[b2, :c2]
                np.random.shuffle(both)
                # first fit of the shuffled items into the first bin; the rest must fit in the second
                l1 = 0
                for i in both:
                    if l1 + w[i] <= cap:
                        l1 += w[i]
                l2 = load[b1] + load[b2] - l1
                if l2 > cap:
                    continue
                l1 = 0
                cnt[b1] = 0
                cnt[b2] = 0
                for i in both:
                    if l1 + w[i] <= cap:
                        l1 += w[i]
                        mem[b1, cnt[b1]] = i
                        cnt[b1] += 1
                        bin_of[i] = b1
                    else:
                        mem[b2, cnt[b2]] = i
                        cnt[b2] += 1
                        bin_of[i] = b2
                load[b1] = l1
                load[b2] = l2
    return 0, it


#: Bins deleted from a complete packing to start the search for one bin fewer (two come back at the end).
DELETED_BINS = 3
#: Passed to :func:`search`: iterations without a new best pool weight before a kick (400), tabu tenure
#: base (3, plus a random part up to the pool size) and random bin pairs re-split by a kick (5).
PARAMS = (400, 3, 5)
#: Compiled calls (of :data:`CHUNK_ITERATIONS`) an attempt gets before the search restarts from the best
#: packing with three other bins deleted (drawn from the emptier half): diversification that pays on
#: Hard28 (8 -> 11 of 28 with the search alone for 1 s).
RESTART_CHUNKS = 25
#: Iterations per compiled call (the deadline is checked between calls).
CHUNK_ITERATIONS = 2_000


def improve(w: np.ndarray, cap: int, assign: np.ndarray, lb: int, deadline: float, seed: int = 0) -> np.ndarray:
    """Fewer bins for the one-dimensional packing ``assign`` of weights ``w``, until the lower bound
    ``lb`` or ``deadline`` (``time.perf_counter``). Each round deletes the least-filled bins of the best
    packing, three of them, and searches the partial solution until the pool fits into two bins. Returns
    the best packing found (never worse than ``assign``). An attempt that has not succeeded after
    :data:`RESTART_CHUNKS` calls starts again from the best packing with other bins deleted."""
    w = np.ascontiguousarray(w, dtype=np.int64)
    best = np.asarray(assign, dtype=np.int64).copy()
    ub = int(best.max()) + 1
    rng = np.random.default_rng(seed)
    chunk = 0
    attempt = 0
    while ub > lb and ub > DELETED_BINS and time.perf_counter() < deadline:
        fill = np.bincount(best, weights=w, minlength=ub)
        # the least-filled bins (ties at random) first; later attempts draw from the emptier half
        if attempt == 0:
            drop = np.lexsort((rng.random(ub), fill))[:DELETED_BINS]
        else:
            half = np.argsort(fill)[: max(DELETED_BINS, ub // 2)]
            drop = rng.choice(half, DELETED_BINS, replace=False)
        attempt += 1
        keep = np.setdiff1d(np.arange(ub), drop)
        renum = np.full(ub, -1, dtype=np.int64)
        renum[keep] = np.arange(len(keep))
        bin_of = renum[best]
        nbins = len(keep)
        tabu = np.zeros((len(w), nbins), dtype=np.int64)
        it = 0
        found = 0
        local = 0
        while time.perf_counter() < deadline and local < RESTART_CHUNKS:
            local += 1
            chunk += 1
            found, it = search(
                w, int(cap), nbins, bin_of, tabu, it, CHUNK_ITERATIONS, seed * 1_000_003 + chunk, *PARAMS
            )
            if found != 0:
                break
        if found != 1:
            if time.perf_counter() < deadline:
                continue
            break
        best = bin_of
        ub = nbins + 2
        attempt = 0
    return best
