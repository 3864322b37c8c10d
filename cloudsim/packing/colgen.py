"""Column generation for one-dimensional bin packing: the LP bound, and packings built from its dual.

The Gilmore-Gomory LP has one column per *pattern* (how many items of each size fit in one bin)::

    z_LP = min sum_p x_p   s.t.  sum_p a_ip x_p >= d_i  (one row per distinct size i),  x >= 0

:func:`solve_lp` generates columns on demand: HiGHS solves the restricted master, a bounded knapsack on
its duals prices a new pattern (:func:`knapsack`), until no pattern has negative reduced cost. Two
standard accelerations: dual-optimal inequalities ``pi_i >= pi_j`` for ``size_i > size_j`` (Ben Amor,
Desrosiers & Valério de Carvalho 2006), entered as columns, and Wentges smoothing of the duals the
knapsack prices. Any dual ``pi >= 0`` scaled by the knapsack optimum ``kappa`` is dual feasible, so
``sum_i d_i pi_i / kappa`` is a valid bound at every iteration (Farley 1990); ``ceil`` of the best one is
the *LP bound*, never below Martello-Toth L2 in practice and equal to the optimum on almost every
instance of the literature (the integer round-up property).

:func:`pack_at_bound` uses the dual to search for a packing into ``m`` bins. With ``pi`` dual feasible,
any packing into ``m`` bins satisfies ``sum over its bins of (1 - pi(bin)) <= m - sum_i d_i pi_i =: gap``,
so every bin of it is a pattern of reduced cost at most ``gap``. When the LP bound is tight (``gap`` at
most :data:`MAX_GAP`), the set of such patterns is small: it is enumerated exactly
(:func:`enumerate_patterns`, a depth-first search bounded by a knapsack table) and a cover of the demands
by ``m`` of them is searched: depth-first (:func:`exact_cover`, fail-first over sizes as in Knuth's
Algorithm X, with the reduced-cost budget), then by LP diving and HiGHS's branch and cut
(:class:`CoverModel`). Sizes whose dual is zero add nothing to a pattern's value, so they are left out of
the patterns and packed afterwards into the room the chosen patterns leave (best fit, else exact bin
completion with each chosen bin's load as one fixed item). The searches are bounded (nodes, backtracks,
time) and the pattern set is cut to the better patterns when it is too large, so this is a heuristic;
a packing it returns is checked like every other.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
from numba import njit

from cloudsim.packing import kernels

#: Patterns added per pricing besides the best one (the best within smaller capacities).
EXTRA_COLUMNS = 2
#: Wentges smoothing weight of the best dual so far (0 = plain column generation).
SMOOTHING = 0.8
#: A pattern improves the master when its dual value exceeds 1 by more than this.
PRICE_EPS = 1e-9
#: Largest knapsack table (distinct sizes x (capacity + 1)) the column generation builds.
MAX_TABLE = 4_000_000
#: Largest gap between the bins sought and the dual value for which patterns are enumerated: beyond it the
#: pattern sets explode (tens of thousands at a gap of 0.02 on Scholl's sets) and the covers fail.
MAX_GAP = 0.02
#: Most patterns :func:`enumerate_patterns` lists before the threshold is raised.
MAX_PATTERNS = 20_000
#: Roundings the LP dive may undo, and its share of the time left after the depth-first cover.
DIVE_BACKTRACKS = 50
DIVE_SHARE = 0.75
#: Time left (s) below which HiGHS's branch and cut runs without presolve.
MIP_PRESOLVE_S = 2.0
#: Search nodes of the depth-first exact cover (at most; fewer on large pattern sets: a node scans them
#: all, so the nodes times the nonzeros of the patterns stay within ``COVER_WORK``), and of the completion
#: of zero-dual items.
COVER_NODES = 30_000
COVER_WORK = 3e8
FILL_NODES = 200_000


@njit(cache=True, nogil=True)
def knapsack(
    size: np.ndarray, demand: np.ndarray, value: np.ndarray, cap: int, extra: int = 0
) -> tuple[float, np.ndarray]:
    """Bounded knapsack: the pattern ``a`` (``0 <= a_i <= demand_i``, ``sum a_i size_i <= cap``) of largest
    ``sum a_i value_i``, by dynamic programming over the capacity with binary splitting of the demands.
    Sizes with no positive value are left out. Returns (value, patterns): the best pattern first, then up to
    ``extra`` more, the best within smaller capacities (distinct, of value above 1 only)."""
    m = size.shape[0]
    count = 0
    for t in range(m):
        if value[t] > 0.0:
            d, k = demand[t], 1
            while d > 0:
                count += 1
                d -= min(k, d)
                k *= 2
    piece_w = np.empty(count, dtype=np.int64)
    piece_v = np.empty(count, dtype=np.float64)
    piece_t = np.empty(count, dtype=np.int64)
    piece_k = np.empty(count, dtype=np.int64)
    j = 0
    for t in range(m):
        if value[t] > 0.0:
            d, k = demand[t], 1
            while d > 0:
                take = min(k, d)
                piece_w[j] = size[t] * take
                piece_v[j] = value[t] * take
                piece_t[j] = t
                piece_k[j] = take
                j += 1
                d -= take
                k *= 2
    best = np.zeros(cap + 1, dtype=np.float64)
    keep = np.zeros((count, cap + 1), dtype=np.bool_)
    for j in range(count):
        wj, vj = piece_w[j], piece_v[j]
        for c in range(cap, wj - 1, -1):
            v = best[c - wj] + vj
            if v > best[c] + 1e-12:
                best[c] = v
                keep[j, c] = True
    out = np.zeros((extra + 1, m), dtype=np.int64)
    found = 0
    top = cap
    while top >= 0 and found <= extra:
        # the pattern of capacity ``top``; the next one is looked for below its weight
        c = top
        for j in range(count - 1, -1, -1):
            if keep[j, c]:
                out[found, piece_t[j]] += piece_k[j]
                c -= piece_w[j]
        weight = top - c
        found += 1
        top = weight - 1
        while top >= 0 and best[top] >= best[weight] - 1e-12:
            top -= 1  # same value with less room: the same pattern
        if top < 0 or best[top] <= 1.0:
            break
    return best[cap], out[:found]


_quiet = False


def new_highs():  # -> highspy.Highs (imported late: only the 1-D search needs it)
    """A silent HiGHS instance. HiGHS prints a banner to the process's standard output when the first
    instance is created, before any option can be set; that would corrupt ``cloudsim pack --json``, so the
    first creation runs with file descriptor 1 pointed at /dev/null."""
    import highspy

    global _quiet
    h = None
    if not _quiet:
        _quiet = True
        with contextlib.suppress(OSError):  # no usable descriptor 1: nothing to protect
            if sys.stdout is not None:
                sys.stdout.flush()
            saved = os.dup(1)
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 1)
                h = highspy.Highs()
                with contextlib.suppress(OSError, AttributeError):
                    ctypes.CDLL(None).fflush(None)  # C stdio buffers go to /dev/null too
            finally:
                os.dup2(saved, 1)
                os.close(saved)
                os.close(devnull)
    if h is None:
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


@dataclass(frozen=True)
class LPResult:
    """The outcome of :func:`solve_lp`. ``size``/``demand``: the distinct sizes (largest first) and their
    counts; ``item_type``: the size index of each item; ``dual``: a dual-feasible ``pi`` (every pattern's
    value is at most 1); ``dual_value``: ``sum d_i pi_i``, a lower bound on the LP and on the number of
    bins; ``converged``: the LP optimum was reached (``dual_value`` is ``z_LP``); ``iterations``: master
    solves."""

    size: np.ndarray
    demand: np.ndarray
    item_type: np.ndarray
    dual: np.ndarray
    dual_value: float
    converged: bool
    iterations: int

    @property
    def bound(self) -> int:
        """``ceil`` of the dual value (a valid bound on the bins; the tolerance only ever lowers it)."""
        return int(np.ceil(self.dual_value - 1e-6))


def types_of(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct sizes largest first, their counts, and the type of each item."""
    size, inverse, demand = np.unique(np.asarray(w, dtype=np.int64), return_inverse=True, return_counts=True)
    m = len(size)
    return size[::-1].copy(), demand[::-1].copy(), (m - 1 - inverse).astype(np.int64)


def fits_table(m: int, cap: int) -> bool:
    """Whether an instance with ``m`` distinct sizes and capacity ``cap`` is small enough for the tables."""
    return m * (cap + 1) <= MAX_TABLE


def solve_lp(
    w: np.ndarray,
    cap: int,
    packings: list[np.ndarray],
    deadline: float,
    target: int | None = None,
) -> LPResult:
    """Column generation for the Gilmore-Gomory LP of weights ``w`` (positive integers, each at most
    ``cap``). ``packings`` (assignments of the items to bins) seed the master with their bins. Stops at
    the LP optimum, at ``deadline``, or as soon as the bound reaches ``target`` (when given)."""
    import highspy

    size, demand, item_type = types_of(w)
    m = len(size)
    h = new_highs()
    h.setOptionValue("presolve", "off")
    h.setOptionValue("simplex_strategy", 4)  # primal simplex: columns only ever join, the basis stays feasible
    inf = highspy.kHighsInf
    h.addRows(m, demand.astype(np.float64), np.full(m, inf), 0, np.zeros(0, np.int32), np.zeros(0, np.int32), [])
    seen: set[bytes] = set()

    def add(a: np.ndarray) -> None:
        key = a.tobytes()
        if key in seen:
            return
        seen.add(key)
        nz = np.flatnonzero(a).astype(np.int32)
        h.addCol(1.0, 0.0, inf, len(nz), nz, a[nz].astype(np.float64))

    for t in range(m - 1):  # dual-optimal inequalities pi_t >= pi_{t+1} (sizes decreasing)
        h.addCol(0.0, 0.0, inf, 2, np.array([t, t + 1], np.int32), np.array([-1.0, 1.0]))
    for assign in packings:
        counts = np.zeros((int(assign.max()) + 1, m), dtype=np.int64)
        np.add.at(counts, (assign, item_type), 1)
        for a in counts:
            add(a)
    for t in range(m):  # one greedy pattern opened by each size
        a = np.zeros(m, dtype=np.int64)
        room = cap
        for s in range(t, m):
            k = min(int(demand[s]), room // int(size[s]))
            a[s] = k
            room -= k * int(size[s])
        add(a)

    best_value, best_dual, center = 0.0, np.zeros(m), None
    iters, converged = 0, False
    while True:
        h.run()
        iters += 1
        pi = np.maximum(np.asarray(h.getSolution().row_dual, dtype=np.float64), 0.0)
        while True:
            price = pi if center is None else SMOOTHING * center + (1.0 - SMOOTHING) * pi
            kappa, found = knapsack(size, demand, price, cap, EXTRA_COLUMNS)
            a = found[0]
            kappa = max(kappa, 1.0)
            value = float(price @ demand) / kappa
            if value > best_value:
                best_value, best_dual = value, price / kappa
                center = best_dual.copy()
            if center is None or float(a @ pi) > 1.0 + PRICE_EPS or price is pi:
                break
            center = None  # mispricing: the smoothed dual's pattern does not improve the master; price pi
        if float(a @ pi) <= 1.0 + PRICE_EPS:
            converged = True
            if float(pi @ demand) > best_value:  # pi itself is feasible now: the LP optimum
                best_value, best_dual = float(pi @ demand), pi
            break
        if time.perf_counter() > deadline or (target is not None and np.ceil(best_value - 1e-6) >= target):
            break
        for a in found:
            if float(a @ pi) > 1.0 + PRICE_EPS:
                add(a)
    return LPResult(size, demand, item_type, best_dual, best_value, converged, iters)


@njit(cache=True, nogil=True)
def _value_table(size: np.ndarray, demand: np.ndarray, value: np.ndarray, cap: int) -> np.ndarray:
    """``g[t, c]``: the largest value of a pattern of sizes ``t..`` within capacity ``c``."""
    m = size.shape[0]
    g = np.zeros((m + 1, cap + 1), dtype=np.float64)
    for t in range(m - 1, -1, -1):
        for c in range(cap + 1):
            best = g[t + 1, c]
            for k in range(1, demand[t] + 1):
                if k * size[t] > c:
                    break
                v = g[t + 1, c - k * size[t]] + k * value[t]
                if v > best:
                    best = v
            g[t, c] = best
    return g


@njit(cache=True, nogil=True)
def enumerate_patterns(
    size: np.ndarray, demand: np.ndarray, value: np.ndarray, cap: int, threshold: float, limit: int
) -> tuple[np.ndarray, int]:
    """Every pattern of value at least ``threshold`` (at most ``limit`` of them). Depth-first over the
    sizes, largest count first, pruned by the value table so that every branch leads to a pattern.
    Returns (patterns, count); ``count > limit`` means the list was cut short."""
    m = size.shape[0]
    g = _value_table(size, demand, value, cap)
    out = np.zeros((limit, m), dtype=np.int64)
    count = 0
    if g[0, cap] < threshold:
        return out[:0], 0
    k = np.zeros(m, dtype=np.int64)
    room = np.zeros(m + 1, dtype=np.int64)
    val = np.zeros(m + 1, dtype=np.float64)
    room[0] = cap
    k[0] = min(demand[0], cap // size[0]) + 1
    level = 0
    while level >= 0:
        k[level] -= 1
        if k[level] < 0:
            level -= 1
            continue
        c = room[level] - k[level] * size[level]
        v = val[level] + k[level] * value[level]
        if v + g[level + 1, c] < threshold:
            continue
        if level + 1 == m:
            if count < limit:
                out[count] = k
            count += 1
            if count > limit:
                return out, count
            continue
        level += 1
        room[level] = c
        val[level] = v
        k[level] = min(demand[level], c // size[level]) + 1
    return out[:count], count


@njit(cache=True, nogil=True)
def _place_rest(room: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Best fit of the items ``rest`` (largest first) into bins with room ``room`` (changed in place):
    the bin of each item, or all -1 when one does not fit."""
    where = np.full(rest.shape[0], -1, dtype=np.int64)
    for j in range(rest.shape[0]):
        best = -1
        for b in range(room.shape[0]):
            if room[b] >= rest[j] and (best < 0 or room[b] < room[best]):
                best = b
        if best < 0:
            where[:] = -1
            return where
        room[best] -= rest[j]
        where[j] = best
    return where


@njit(cache=True, nogil=True)
def _take(
    p: int,
    sign: int,
    start: np.ndarray,
    types: np.ndarray,
    counts: np.ndarray,
    by_type: np.ndarray,
    by_type_start: np.ndarray,
    by_type_count: np.ndarray,
    remaining: np.ndarray,
    blocked: np.ndarray,
) -> None:
    """Take pattern ``p`` (``sign`` 1) or give it back (-1): update the remaining demands, and for every
    pattern sharing a size with it, how many of its sizes it needs more of than remain (``blocked``)."""
    for e in range(start[p], start[p + 1]):
        t = types[e]
        old = remaining[t]
        new = old - sign * counts[e]
        for q in range(by_type_start[t], by_type_start[t + 1]):
            c = by_type_count[q]
            if sign > 0 and c <= old and c > new:
                blocked[by_type[q]] += 1
            elif sign < 0 and c > old and c <= new:
                blocked[by_type[q]] -= 1
        remaining[t] = new


@njit(cache=True, nogil=True)
def _cover(
    start: np.ndarray,
    types: np.ndarray,
    counts: np.ndarray,
    by_type: np.ndarray,
    by_type_start: np.ndarray,
    by_type_count: np.ndarray,
    rc: np.ndarray,
    remaining: np.ndarray,
    blocked: np.ndarray,
    budget: float,
    bins: int,
    last: np.ndarray,
    chosen: np.ndarray,
    limit: int,
    loads: np.ndarray,
    rest: np.ndarray,
    cap: int,
) -> int:
    """Depth-first exact cover; returns the number of patterns chosen (``chosen[:result]``), or -1. At each
    node, branch on the size with the fewest usable patterns: a pattern is usable when it is not ``blocked``
    (it needs no more of a size than remains), fits the reduced-cost budget left, and comes no earlier than
    the last one chosen for that size. At a cover, the items ``rest`` (zero dual, largest first) must fit, by
    best fit, into the room the chosen patterns (of loads ``loads``) leave and the bins left: else the
    search goes on. At most ``limit`` nodes; running out fails at once.

    The search runs on an explicit stack (numba caches iterative functions to disk, not recursive ones):
    frame ``depth`` chose ``chosen[depth]``; it keeps the size it branches on, that size's ``last`` before
    it, its position in that size's patterns, and the budget left on entering it."""
    m = remaining.shape[0]
    f_type = np.zeros(bins + 1, dtype=np.int64)
    f_saved = np.zeros(bins + 1, dtype=np.int64)
    f_q = np.zeros(bins + 1, dtype=np.int64)
    f_budget = np.zeros(bins + 1, dtype=np.float64)
    f_budget[0] = budget
    depth = 0
    nodes = 0
    entering = True
    while True:
        left = f_budget[depth]
        if entering:
            nodes += 1
            if nodes > limit:
                return -1
            best_t, best_n = -1, 1 << 60
            for t in range(m):
                if remaining[t] == 0:
                    continue
                n = 0
                for q in range(by_type_start[t], by_type_start[t + 1]):
                    p = by_type[q]
                    if blocked[p] == 0 and p >= last[t] and rc[p] <= left:
                        n += 1
                        if n >= best_n:
                            break  # not fewer than the best size so far
                if n < best_n:
                    best_t, best_n = t, n
                    if n == 0:
                        break
            dead = best_n == 0
            if not dead and best_t < 0:  # everything covered
                if rest.shape[0] == 0:
                    return depth
                room = np.full(bins, cap, dtype=np.int64)
                for j in range(depth):
                    room[j] -= loads[chosen[j]]
                if _place_rest(room, rest)[0] >= 0:
                    return depth
                dead = True
            if dead or depth == bins:  # no bins left
                depth -= 1
                if depth < 0:
                    return -1
                entering = False
                continue
            t = best_t
            f_type[depth], f_saved[depth] = t, last[t]
            q = by_type_start[t]
        else:  # the pattern chosen here led to no cover: give it back, try the next
            t = f_type[depth]
            q = f_q[depth]
            _take(by_type[q], -1, start, types, counts, by_type, by_type_start, by_type_count, remaining, blocked)
            q += 1
        saved = f_saved[depth]
        while q < by_type_start[t + 1]:
            p = by_type[q]
            if not (blocked[p] != 0 or p < saved or rc[p] > left):
                break
            q += 1
        if q < by_type_start[t + 1]:
            p = by_type[q]
            _take(p, 1, start, types, counts, by_type, by_type_start, by_type_count, remaining, blocked)
            chosen[depth] = p
            last[t] = p
            f_q[depth] = q
            f_budget[depth + 1] = left - rc[p]
            depth += 1
            entering = True
            continue
        last[t] = saved
        depth -= 1
        if depth < 0:
            return -1
        entering = False


def exact_cover(
    patterns: np.ndarray,
    rc: np.ndarray,
    demand: np.ndarray,
    bins: int,
    budget: float,
    loads: np.ndarray,
    rest: np.ndarray,
    cap: int,
    limit: int = COVER_NODES,
) -> np.ndarray | None:
    """Indices of at most ``bins`` patterns (repeats allowed) whose counts add up exactly to ``demand``,
    whose reduced costs add up to at most ``budget``, and into whose room (``cap - loads``, plus bins left
    empty) the items ``rest`` fit; or None (none exists, or the search ran out of ``limit`` nodes).
    Branches on the size with the fewest usable patterns; patterns chosen for the same size are taken in
    index order (each multiset is visited once)."""
    p_count, m = patterns.shape
    nz_p, nz_t = np.nonzero(patterns)
    start = np.searchsorted(nz_p, np.arange(p_count + 1)).astype(np.int64)
    counts = patterns[nz_p, nz_t].astype(np.int64)
    order = np.argsort(nz_t, kind="stable")
    by_type = nz_p[order].astype(np.int64)
    by_type_start = np.searchsorted(nz_t[order], np.arange(m + 1)).astype(np.int64)
    by_type_count = counts[order]
    remaining = demand.astype(np.int64).copy()
    blocked = np.zeros(p_count, dtype=np.int64)
    np.add.at(blocked, nz_p, counts > remaining[nz_t])
    chosen = np.zeros(bins + 1, dtype=np.int64)
    got = _cover(
        start, nz_t.astype(np.int64), counts, by_type, by_type_start, by_type_count, rc.astype(np.float64),
        remaining, blocked, float(budget) + 1e-9, bins, np.zeros(m, dtype=np.int64), chosen, limit,
        loads.astype(np.int64), np.sort(rest)[::-1].astype(np.int64), cap,
    )  # fmt: skip
    return None if got < 0 else chosen[:got]


class CoverModel:
    """The exact cover of :func:`exact_cover` as a linear program for HiGHS: one integer column per
    pattern (its reduced cost as the cost), the demands of the sizes as equalities, at most ``bins``
    patterns. The room left for the zero-dual items ``rest`` enters as necessary conditions: the total
    room, and for each of their sizes ``s`` how many of them the bins' room can hold (``floor(room / s)``
    per bin, bins left empty included)."""

    def __init__(
        self,
        patterns: np.ndarray,
        rc: np.ndarray,
        demand: np.ndarray,
        bins: int,
        loads: np.ndarray,
        rest: np.ndarray,
        cap: int,
    ) -> None:
        import highspy

        self.count = patterns.shape[0]
        self.cost = np.maximum(rc, 0.0).astype(np.float64)
        self.h = h = new_highs()
        self.inf = inf = highspy.kHighsInf
        rows_lo = [float(d) for d in demand] + [-inf]
        rows_hi = [float(d) for d in demand] + [float(bins)]
        rows = [patterns.T.astype(np.float64), np.ones((1, self.count))]
        if len(rest):
            room = cap - loads
            rows.append((room - cap)[None, :].astype(np.float64))
            rows_lo.append(float(rest.sum() - bins * cap))
            rows_hi.append(inf)
            for z in np.unique(rest):
                rows.append((room // z - cap // z)[None, :].astype(np.float64))
                rows_lo.append(float((rest >= z).sum() - bins * (cap // z)))
                rows_hi.append(inf)
        matrix = np.vstack(rows)
        h.addRows(
            len(rows_lo), np.array(rows_lo), np.array(rows_hi), 0, np.zeros(0, np.int32), np.zeros(0, np.int32), []
        )
        col, row = np.nonzero(matrix.T)  # column-wise
        starts = np.searchsorted(col, np.arange(self.count)).astype(np.int32)
        h.addCols(
            self.count, self.cost, np.zeros(self.count), np.full(self.count, inf),
            len(row), starts, row.astype(np.int32), matrix.T[col, row].astype(np.float64),
        )  # fmt: skip

    def relaxation_order(self) -> np.ndarray:
        """The patterns by decreasing value in the LP relaxation (then by reduced cost)."""
        self.h.run()
        x = np.asarray(self.h.getSolution().col_value)
        return np.lexsort((self.cost, -x))

    def _chosen(self) -> np.ndarray:
        x = np.round(np.asarray(self.h.getSolution().col_value)).astype(np.int64)
        return np.repeat(np.arange(self.count), np.maximum(x, 0))

    def dive(self, deadline: float, backtracks: int = DIVE_BACKTRACKS) -> np.ndarray | None:
        """LP diving: solve the relaxation, round up the pattern with the largest fractional part (a new
        lower bound on it), repeat until the solution is integral; when the LP becomes infeasible, the last
        rounding is undone and forbidden (an upper bound instead), at most ``backtracks`` times."""
        import highspy

        h, inf = self.h, self.inf
        lower = np.zeros(self.count)
        upper = np.full(self.count, inf)
        stack: list[tuple[int, float, float]] = []  # (pattern, its rounded-up value, its lower bound before)
        try:
            while time.perf_counter() < deadline:
                h.run()
                if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                    if not stack or backtracks == 0:
                        return None
                    p, ceil, lower[p] = stack.pop()
                    backtracks -= 1
                    upper[p] = ceil - 1.0
                    h.changeColBounds(p, lower[p], upper[p])
                    continue
                x = np.asarray(h.getSolution().col_value)
                frac = x - np.floor(x + 1e-9)
                open_ = np.flatnonzero((frac > 1e-6) & (frac < 1 - 1e-6))
                if len(open_) == 0:
                    return self._chosen()
                p = int(open_[np.argmax(frac[open_])])
                ceil = float(np.ceil(x[p] - 1e-9))
                stack.append((p, ceil, lower[p]))
                lower[p] = ceil
                h.changeColBounds(p, ceil, upper[p])
            return None
        finally:
            h.changeColsBounds(
                self.count, np.arange(self.count, dtype=np.int32), np.zeros(self.count), np.full(self.count, inf)
            )

    def mip(self, deadline: float) -> np.ndarray | None:
        """HiGHS branch and cut on the integer program, within ``deadline``. HiGHS's presolve does not watch
        the time limit (it took 1.3 s of a 0.15 s limit on Scholl's N4C3W2_A), so it runs only when at
        least :data:`MIP_PRESOLVE_S` are left."""
        h = self.h
        left = deadline - time.perf_counter()
        h.setOptionValue("time_limit", max(left, 0.01))
        h.setOptionValue("presolve", "on" if left >= MIP_PRESOLVE_S else "off")
        h.setOptionValue("mip_max_improving_sols", 1)  # any cover will do: stop at the first
        h.changeColsIntegrality(self.count, np.arange(self.count, dtype=np.int32), np.ones(self.count, dtype=np.uint8))
        h.run()
        if h.getInfo().primal_solution_status != 2:  # no feasible solution found
            return None
        return self._chosen()


def pack_at_bound(w: np.ndarray, cap: int, lp: LPResult, bins: int, deadline: float) -> np.ndarray | None:
    """A packing of ``w`` (the weights ``lp`` was solved for) into ``bins`` bins built from the dual of
    ``lp`` (see the module notes), or None:
    the low-reduced-cost patterns, then searches for a cover of the demands by them, each stopping at the
    first cover whose room takes the zero-dual items: a bounded depth-first exact cover with the patterns
    in the order of their values in the LP relaxation, the same in enumeration order, LP diving, and HiGHS's branch
    and cut until ``deadline`` (they succeed on different instances)."""
    size, demand, item_type, pi = lp.size, lp.demand, lp.item_type, lp.dual
    gap = bins - float(pi @ demand)
    if not -1e-9 <= gap <= MAX_GAP or not fits_table(len(size), cap):
        return None
    pos = np.flatnonzero(pi > 1e-12)
    zero = np.flatnonzero(pi <= 1e-12)
    budget = max(gap, 0.0)
    while True:
        pats, count = enumerate_patterns(size[pos], demand[pos], pi[pos], cap, 1.0 - budget - 1e-9, MAX_PATTERNS)
        if count <= MAX_PATTERNS:
            break
        budget /= 4.0  # too many: keep the better patterns only (a heuristic from here on)
        if budget < 1e-7 or time.perf_counter() > deadline:
            return None
    rc = 1.0 - pats.astype(np.float64) @ pi[pos]
    loads = pats @ size[pos]
    rest = np.repeat(size[zero], demand[zero])
    nodes = int(min(COVER_NODES, COVER_WORK / max(int((pats > 0).sum()), 1)))
    model = CoverModel(pats, rc, demand[pos], bins, loads, rest, cap)
    # the depth-first cover twice: patterns by their value in the relaxation, then in enumeration order
    for order in (model.relaxation_order, None):
        index = np.arange(len(pats)) if order is None else order()
        chosen = exact_cover(pats[index], rc[index], demand[pos], bins, max(gap, 0.0), loads[index], rest, cap, nodes)
        got = None if chosen is None else _fill(w, cap, item_type, pos, zero, pats[index[chosen]], size, bins)
        if got is not None or time.perf_counter() > deadline:
            return got
    now = time.perf_counter()
    for search, until in ((model.dive, now + DIVE_SHARE * (deadline - now)), (model.mip, deadline)):
        chosen = search(until)
        got = None if chosen is None else _fill(w, cap, item_type, pos, zero, pats[chosen], size, bins)
        if got is not None or time.perf_counter() > deadline:
            return got
    return None


def _fill(
    w: np.ndarray,
    cap: int,
    item_type: np.ndarray,
    pos: np.ndarray,
    zero: np.ndarray,
    chosen: np.ndarray,
    size: np.ndarray,
    bins: int,
) -> np.ndarray | None:
    """Turn the chosen patterns (over the sizes ``pos``) into an assignment, packing the items of the
    ``zero`` sizes into the room left (``bins`` bins in all): by best fit, else by exact bin completion
    with one fixed item per chosen bin (its load)."""
    n = len(w)
    assign = np.full(n, -1, dtype=np.int64)
    pools = {int(t): list(np.flatnonzero(item_type == t)) for t in pos}
    loads = np.zeros(len(chosen), dtype=np.int64)
    for b, a in enumerate(chosen):
        for j, t in enumerate(pos):
            for _ in range(int(a[j])):
                assign[pools[int(t)].pop()] = b
        loads[b] = int(a @ size[pos])
    free = np.flatnonzero(assign < 0)
    if len(free) == 0:
        return assign
    free = free[np.argsort(-w[free], kind="stable")]
    room = np.full(bins, cap, dtype=np.int64)
    room[: len(loads)] -= loads
    where = _place_rest(room, w[free])
    if where[0] >= 0:  # best fit placed them
        assign[free] = where
        return assign
    sub = np.concatenate([loads, w[free]])[:, None]
    order = np.argsort(-sub[:, 0], kind="stable")
    got = kernels.bin_completion(order, order, sub, np.array([cap]), bins, FILL_NODES, np.zeros(0))
    if (got < 0).any():
        return None
    # the items of chosen bin b go where its load went; the zero-dual items where they were placed
    result = np.empty(n, dtype=np.int64)
    result[assign >= 0] = got[assign[assign >= 0]]
    result[free] = got[len(loads) :]
    return result


def warm_up() -> None:
    """Load (or compile) the kernels on a tiny instance with a zero-dual item."""
    w = np.array([6, 6, 5, 4, 4, 3, 1], dtype=np.int64)
    lp = solve_lp(w, 10, [np.arange(len(w), dtype=np.int64)], time.perf_counter() + 5.0)
    pack_at_bound(w, 10, lp, lp.bound, time.perf_counter() + 5.0)
