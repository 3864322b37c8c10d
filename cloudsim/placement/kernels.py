"""Compiled inner loops of the consolidation phase (numba, cached to disk): power-aware best fit over the
hosts (PABFD, the compiled form of the ``power-aware`` policy's filter -> score pipeline with the
detector as one more filter), by a scan or over an index of the hosts that gives the same host, and a
host's allocation view, and the overload detectors. They implement what ``consolidation.py`` and
``detectors.py`` describe."""

from __future__ import annotations

import numpy as np
from numba import njit

from cloudsim.model.shard import power
from cloudsim.placement.detectors import (
    DETECTOR_CODES,
    FALLBACK_THRESHOLD,
    IQR,
    LR,
    LR_COEF,
    LR_WINDOW,
    LRR,
    MAD,
    MIN_IQR_MAD,
    THR,
)

__all__ = ["DETECTOR_CODES", "IQR", "LR", "LRR", "MAD", "THR"]  # the detector codes, here with their kernels


@njit(cache=True, nogil=True, inline="always")
def _median_sorted(s: np.ndarray, n: int) -> float:
    lo = s[(n - 1) // 2]
    if n % 2 == 1:
        return lo
    return lo + 0.5 * (s[n // 2] - lo)


@njit(cache=True, nogil=True)
def lrr_predict(row: np.ndarray) -> float:
    """Robust local regression: least squares over the 10 newest samples (``row`` newest first), re-weighted
    twice with bisquare weights of the residuals (6 x the median absolute residual), as in Cleveland's
    LOWESS robustness step, predicted one interval ahead."""
    y = np.empty(LR_WINDOW)
    for i in range(LR_WINDOW):
        y[i] = row[LR_WINDOW - 1 - i]
    w = np.ones(LR_WINDOW)
    b0 = 0.0
    b1 = 0.0
    for _ in range(3):
        sw = 0.0
        mx = 0.0
        my = 0.0
        for i in range(LR_WINDOW):
            sw += w[i]
            mx += w[i] * (i + 1)
            my += w[i] * y[i]
        mx /= sw
        my /= sw
        sxx = 0.0
        sxy = 0.0
        for i in range(LR_WINDOW):
            sxx += w[i] * (i + 1 - mx) ** 2
            sxy += w[i] * (i + 1 - mx) * (y[i] - my)
        b1 = sxy / sxx if sxx > 0 else 0.0
        b0 = my - b1 * mx
        res = np.empty(LR_WINDOW)
        for i in range(LR_WINDOW):
            res[i] = abs(y[i] - (b0 + b1 * (i + 1)))
        scale = 6.0 * np.median(res)
        total = 0.0
        for i in range(LR_WINDOW):
            u = res[i] / scale if scale > 0 else (np.inf if res[i] > 0 else 0.0)
            w[i] = (1 - u * u) ** 2 if u < 1 else 0.0
            total += w[i]
        if total <= 0:
            w[:] = 1.0
    return b0 + b1 * (LR_WINDOW + 1)


@njit(cache=True, nogil=True, inline="always")
def lr_predict(row: np.ndarray) -> float:
    """Utilization one interval ahead by ordinary least squares over the 10 newest samples (``row`` newest
    first): ``row[:10] @ LR_COEF``, summed in order."""
    pred = 0.0
    for j in range(LR_WINDOW):
        pred += row[j] * LR_COEF[j]
    return pred


@njit(cache=True, nogil=True)
def iqr(row: np.ndarray, n: int) -> float:
    """Interquartile range of the first ``n`` samples: sorted[round(0.75(n+1)) - 1] minus
    sorted[round(0.25(n+1)) - 1], rounding half up (``MathUtil.iqr``)."""
    s = np.sort(row[:n])
    q1 = int(np.floor(0.25 * (n + 1) + 0.5)) - 1
    q3 = int(np.floor(0.75 * (n + 1) + 0.5)) - 1
    return s[q3] - s[q1]


@njit(cache=True, nogil=True)
def mad(row: np.ndarray, n: int) -> float:
    """Median absolute deviation of the first ``n`` samples (``MathUtil.mad``)."""
    med = _median_sorted(np.sort(row[:n]), n)
    return _median_sorted(np.sort(np.abs(med - row[:n])), n)


@njit(cache=True, nogil=True)
def overloaded(kind: int, param: float, req_util: float, row: np.ndarray, n: int) -> bool:
    """One host's detector decision (see ``detectors.Detector``): its requested utilization ``req_util``
    and its history ``row`` (newest first) of ``n`` samples."""
    if kind == THR:
        return req_util > param
    if kind == IQR or kind == MAD:  # noqa: SIM109 (numba compiles the comparison chain, not a tuple test)
        if n < MIN_IQR_MAD:
            return req_util > FALLBACK_THRESHOLD
        stat = iqr(row, n) if kind == IQR else mad(row, n)
        return req_util > 1 - param * stat
    if n < LR_WINDOW:
        return req_util > FALLBACK_THRESHOLD
    pred = lr_predict(row) if kind == LR else lrr_predict(row)
    return pred * param >= 1


@njit(cache=True, nogil=True)
def overloaded_hosts(kind: int, param: float, hosts: np.ndarray, R: np.ndarray, total: np.ndarray, HH: np.ndarray,
                     HL: np.ndarray) -> np.ndarray:  # fmt: skip
    """:func:`overloaded` of each of ``hosts``, from its requested MIPS ``R``, ``total`` and history."""
    out = np.zeros(hosts.shape[0], dtype=np.bool_)
    for k in range(hosts.shape[0]):
        h = hosts[k]
        out[k] = overloaded(kind, param, R[h] / total[h], HH[h], HL[h])
    return out


#: PABFD compares power increases at this resolution (watts): increases equal to the milliwatt are ties,
#: and the lowest host id wins them. CloudSim compares the doubles themselves, so among hosts whose increase
#: is the same but for rounding (the same power segment and load) the last bits chose; here the lowest id
#: does, which lets :func:`find_host_indexed` find the host without looking at every host.
POWER_RESOLUTION_W = 1e-3
#: What a node's bound keeps below the computed increase, for rounding (watts). Only a request's rise needs
#: it: a leaf keeps its increase exactly as :func:`_key` computes it, and a request of 0 rises exactly 0, so
#: its bound is the exact key (with a slack every bound of such a request fell a key below the hosts', and a
#: search for it popped every node of the index).
_BOUND_SLACK_W = 2e-6


@njit(cache=True, nogil=True, inline="always")
def power_key(diff: float) -> float:
    """The power increase ``diff`` (W) at :data:`POWER_RESOLUTION_W`: equal keys are ties."""
    return np.floor(diff / POWER_RESOLUTION_W)


@njit(cache=True, nogil=True)
def power_now(ptab: np.ndarray, util_mips: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Each host's power at its reported utilization (a utilization just over 1 from rounding counts as 1),
    from which PABFD measures increases. A host using none (most of a consolidated data centre: off) draws
    its curve's first point, as :func:`power` gives it, read without the interpolation."""
    out = np.empty(total.shape[0])
    for h in range(total.shape[0]):
        if util_mips[h] == 0:
            out[h] = ptab[h, 0]
            continue
        u = util_mips[h] / total[h]
        if 1 < u < 1.01:
            u = 1.0
        out[h] = power(ptab[h], u)
    return out


@njit(cache=True, nogil=True, inline="always")
def _overloaded_with(
    h: int, r: float, vm_hist: np.ndarray, vm_hist_len: int, vm_mips: float, R: np.ndarray, HH: np.ndarray,
    HL: np.ndarray, total: np.ndarray, det_kind: int, det_param: float, row: np.ndarray,
) -> bool:  # fmt: skip
    """Whether host ``h`` would be overloaded with the guest (``r`` MIPS, its history) added; ``row``:
    space for the host's history."""
    for j in range(row.shape[0]):
        row[j] = HH[h, j] + vm_hist[j] * vm_mips / total[h]
    n = max(HL[h], vm_hist_len)
    return overloaded(det_kind, det_param, (R[h] + r) / total[h], row, n)


@njit(cache=True, nogil=True, inline="always")
def _avail(h: int, S: np.ndarray, total: np.ndarray) -> float:
    """The MIPS host ``h`` has free for the scheduler."""
    return 0.0 if total[h] < S[h] else total[h] - S[h]


@njit(cache=True, nogil=True, inline="always")
def _fits(h: int, r: float, S: np.ndarray, total: np.ndarray, pe_mips: np.ndarray) -> bool:
    """Whether host ``h`` has ``r`` MIPS free for the scheduler, and a core that large."""
    return not (pe_mips[h] < r or _avail(h, S, total) < r)


@njit(cache=True, nogil=True, inline="always")
def _books(h: int, ram_free: np.ndarray, bw_free: np.ndarray, cpu_free: np.ndarray, vm_ram: float, vm_bw: float,
           vm_cpu: float) -> bool:  # fmt: skip
    """Whether host ``h`` has the guest's memory, bandwidth and CPU bookings free."""
    return not (ram_free[h] < vm_ram or bw_free[h] < vm_bw or cpu_free[h] < vm_cpu)


@njit(cache=True, nogil=True, inline="always")
def _key(h: int, r: float, A: np.ndarray, total: np.ndarray, ptab: np.ndarray, p0: np.ndarray) -> float:
    """PABFD's measure of host ``h`` for a request of ``r`` MIPS: its power increase, to the milliwatt."""
    return power_key(power(ptab[h], (A[h] + r) / total[h]) - p0[h])


@njit(cache=True, nogil=True)
def find_host(
    r: float, vm_hist: np.ndarray, vm_hist_len: int, vm_mips: float, excluded: np.ndarray, type_ok: np.ndarray,
    busy: np.ndarray, htype: np.ndarray, ntypes: int, S: np.ndarray, A: np.ndarray, R: np.ndarray,
    HH: np.ndarray, HL: np.ndarray, p0: np.ndarray, total: np.ndarray, pe_mips: np.ndarray, ptab: np.ndarray,
    check_book: bool, ram_free: np.ndarray, bw_free: np.ndarray, cpu_free: np.ndarray, vm_ram: float,
    vm_bw: float, vm_cpu: float, det_kind: int, det_param: float,
) -> int:  # fmt: skip
    """PABFD by a scan: the suitable, not excluded host whose power rises least by taking a request of ``r``
    MIPS (:func:`power_key`; lowest id on ties) among the host types ``type_ok`` allows. A host already
    holding VMs (``A != 0``) must not be overloaded afterwards (``det_kind`` < 0: no check); with
    ``check_book`` it must have the guest's booking free. Empty hosts of one type are interchangeable, so only
    the lowest-id one is evaluated. Returns -1 when no host qualifies."""
    h_count = total.shape[0]
    first = np.full(ntypes, -1, dtype=np.int64)
    for h in range(h_count):
        if not excluded[h] and type_ok[htype[h]] and not busy[h] and first[htype[h]] < 0:
            first[htype[h]] = h
    best = -1
    best_key = np.inf
    row = np.empty(HH.shape[1])
    for h in range(h_count):
        if excluded[h] or not type_ok[htype[h]] or (not busy[h] and first[htype[h]] != h):
            continue
        if not _fits(h, r, S, total, pe_mips):
            continue
        if check_book and not _books(h, ram_free, bw_free, cpu_free, vm_ram, vm_bw, vm_cpu):
            continue
        key = _key(h, r, A, total, ptab, p0)
        if not key < best_key:  # could not win: no need to ask the detector
            continue
        if det_kind >= 0 and A[h] != 0 and _overloaded_with(h, r, vm_hist, vm_hist_len, vm_mips, R, HH, HL, total,
                                                            det_kind, det_param, row):  # fmt: skip
            continue
        best_key = key
        best = h
    return best


# ------------------------------------------------------------------ PABFD over an index of the hosts
#
# Hosts fall in classes (same type, capacity and power curve) and, by their allocated load now, in buckets:
# class x power segment x half of a segment. The eligible hosts of a bucket sit together (``slot_host``),
# ordered by the CPU they have free to book (:func:`index_build`), under a segment tree whose nodes keep the
# most CPU one of them can take (free CPU capped by a core), their least increase to their allocated load now
# (from the power at the reported load), the lowest host id, and bounds of the detectors and of what is free
# to book (one row of ``node`` each). A request of r MIPS raises a host of the bucket at least its increase
# plus r at the least slope it can reach from the bucket. A best-first search pops nodes of every bucket by
# (key of that bound, lowest host id), skipping a node whose hosts cannot take the guest (room, booking) or
# would all be refused by the detector, so the first host popped that the detector accepts is the lowest-id
# host of the least key: what the scan returns, after O(log n) nodes when the hosts that rise least can take
# the guest. A host whose load leaves its bucket during a step takes a free leaf of its new bucket (each has
# spare leaves), or when there is none is evaluated exactly at every search instead (``overflow``).
# (Halves of a segment: the overload and underload passes took 1.82 ms a tick at 50,000 hosts, against
# 2.10 with quarters; whole segments were no faster; quarters had been the fastest with each bucket by
# increase.)

SEGMENTS = 10
SUB = 2  # buckets per power segment
_LEVELS, _PER_MIPS = 16, 4  # levels of CPU free to book in a bucket (index_build): a quarter of the MIPS each


@njit(cache=True, nogil=True, inline="always")
def _bucket(c: int, a: float, t: float) -> int:
    u = min(max(a / t, 0.0), 1.0)
    k = min(int(np.floor(u * 10)), SEGMENTS - 1)
    q = min(int(np.floor((u * 10 - k) * SUB)), SUB - 1)
    return (c * SEGMENTS + k) * SUB + q


@njit(cache=True, nogil=True, inline="always")
def _rise(lo: float, hi: float, d: float, table: np.ndarray) -> float:
    """The least a request of ``d`` (a fraction of the host) raises the power of a host whose load is between
    ``lo`` and ``hi``: the power curve is linear between its points, so the rise is linear in the load between
    the points and the points less ``d``, and its least is at one of them or at an end. Less
    :data:`_BOUND_SLACK_W` for rounding, but for ``d`` = 0, whose rise is exactly 0."""
    best = power(table, lo + d) - power(table, lo)
    if hi > lo:
        best = min(best, power(table, hi + d) - power(table, hi))
        for j in range(int(np.floor(lo * SEGMENTS)) + 1, min(int(np.ceil(hi * SEGMENTS)), SEGMENTS + 1)):
            best = min(best, power(table, j / SEGMENTS + d) - power(table, j / SEGMENTS))
        for j in range(int(np.floor((lo + d) * SEGMENTS)) + 1, min(int(np.ceil((hi + d) * SEGMENTS)), SEGMENTS + 1)):
            best = min(best, power(table, j / SEGMENTS) - power(table, j / SEGMENTS - d))
    return best - _BOUND_SLACK_W if d > 0 else best


@njit(cache=True, nogil=True, inline="always")
def _leaf_values(h: int, S: np.ndarray, A: np.ndarray, p0: np.ndarray, total: np.ndarray, pe_mips: np.ndarray,
                 ptab: np.ndarray) -> tuple[float, float]:  # fmt: skip
    return min(_avail(h, S, total), pe_mips[h]), power(ptab[h], A[h] / total[h]) - p0[h]


# What bounds a node keeps of its hosts' detectors (columns of its row of ``node``), each
# the least over the hosts holding VMs (-inf for a host holding none, which no detector refuses; +inf where no
# host counts): the local regression's prediction from the host's history, over all hosts and over those with
# a full window, and the requested utilization R / total of those without a full window and of all.
_LR_ALL, _LR_LONG, _R_SHORT, _R_ALL = 3, 4, 5, 6
#: and, negated (so that the least is kept too), the most free memory, bandwidth and CPU to book
_MEM, _BW, _CPU = 7, 8, 9
#: before them in a node's row: the most CPU one of its hosts can take, their least increase, their lowest id
#: (+inf: the node holds none); a node's values are one row of ``node`` (96 bytes: two cache lines)
_ROOM, _AMIN, _MINID = 0, 1, 2
#: and after them the least load (allocated / total) of its hosts and, negated, the most: a node's bound on a
#: request's power rise is the least rise over that range (:func:`_rise`)
_ULO, _UHI = 10, 11
_NODE = 12
_REFUSE_MARGIN = 1e-9  # a node is refused only this far past the detector's threshold (rounding)


@njit(cache=True, nogil=True, inline="always")
def _leaf_detector(node: np.ndarray, n: int, a: float, r: float, total: float, hist: np.ndarray, hist_len: int,
                   ram_free: float, bw_free: float, cpu_free: float) -> None:  # fmt: skip
    """A host's bounds in row ``n`` of ``node``, from its allocated ``a`` and requested ``r`` MIPS, ``total``, history
    row and length, and what it has free to book. (Its values come as scalars, read by the caller before it
    writes the row: measured several times faster than passing the arrays.)"""
    node[n, _MEM], node[n, _BW], node[n, _CPU] = -ram_free, -bw_free, -cpu_free
    if a == 0:
        for f in range(4):
            node[n, _LR_ALL + f] = -np.inf
        return
    pred = lr_predict(hist)
    u = r / total
    full = hist_len >= LR_WINDOW
    node[n, _LR_ALL] = pred
    node[n, _LR_LONG] = pred if full else np.inf
    node[n, _R_SHORT] = np.inf if full else u
    node[n, _R_ALL] = u


@njit(cache=True, nogil=True, inline="always")
def _refused(node: np.ndarray, n: int, kind: int, param: float, lr_vm: float, vm_full: bool, d: float) -> bool:
    """Whether the detector refuses the guest on every host below node ``n``: ``lr_vm`` is the guest's share
    of a host's prediction (its own prediction x its MIPS / the host's), ``d`` its request / the host's
    total. Only the static threshold and the local regression have bounds; the others never refuse a node."""
    if kind == THR:
        return node[n, _R_ALL] + d > param + _REFUSE_MARGIN
    if kind != LR or param <= 0:
        return False
    if vm_full:  # every host's window is full with the guest's
        return (node[n, _LR_ALL] + lr_vm) * param >= 1 + _REFUSE_MARGIN
    return ((node[n, _LR_LONG] + lr_vm) * param >= 1 + _REFUSE_MARGIN
            and node[n, _R_SHORT] + d > FALLBACK_THRESHOLD + _REFUSE_MARGIN)  # fmt: skip


@njit(cache=True, nogil=True, inline="always")
def _node_books(node: np.ndarray, n: int, vm_ram: float, vm_bw: float, vm_cpu: float) -> bool:
    """Whether a host below node ``n`` may have the guest's bookings free (:func:`_books` of the node's most
    free memory, bandwidth and CPU, each of some host below it): when not, none has."""
    return not (-node[n, _MEM] < vm_ram or -node[n, _BW] < vm_bw or -node[n, _CPU] < vm_cpu)


@njit(cache=True, nogil=True, inline="always")
def _clear(node: np.ndarray, n: int) -> None:
    """Row ``n`` of ``node`` holds no host: no room, and every other value +inf."""
    for f in range(_NODE):
        node[n, f] = np.inf
    node[n, _ROOM] = -np.inf


@njit(cache=True, nogil=True, inline="always")
def _pull(o: int, n: int, node: np.ndarray) -> None:
    """Node ``o + n`` from its two children: the most room, and the least of every other value."""
    a, b = o + 2 * n, o + 2 * n + 1
    node[o + n, _ROOM] = max(node[a, _ROOM], node[b, _ROOM])
    for f in range(1, _NODE):
        node[o + n, f] = min(node[a, f], node[b, f])


@njit(cache=True, nogil=True, inline="always")
def _pull_up(o: int, n: int, node: np.ndarray) -> None:
    """The ancestors of node ``o + n``, from its parent to the root, after it changed."""
    n //= 2
    while n >= 1:
        _pull(o, n, node)
        n //= 2


@njit(cache=True, nogil=True, inline="always")
def _set_leaf(h: int, node: np.ndarray, n: int, room: float, amin: float, A: np.ndarray, R: np.ndarray,
              HH: np.ndarray, HL: np.ndarray, total: np.ndarray, ram_free: np.ndarray, bw_free: np.ndarray,
              cpu_free: np.ndarray) -> None:  # fmt: skip
    """Row ``n`` of ``node`` for host ``h`` (but its id), given its room and least increase (:func:`_leaf_values`)."""
    a, r, t, hist, hist_len = A[h], R[h], total[h], HH[h], HL[h]  # all read before any write (see below)
    ram, bw, cpu = ram_free[h], bw_free[h], cpu_free[h]
    node[n, _ROOM], node[n, _AMIN] = room, amin
    node[n, _ULO] = a / t
    node[n, _UHI] = -node[n, _ULO]
    _leaf_detector(node, n, a, r, t, hist, hist_len, ram, bw, cpu)


@njit(cache=True, nogil=True, inline="always")
def _leaf(h: int, node: np.ndarray, n: int, S: np.ndarray, A: np.ndarray, p0: np.ndarray, total: np.ndarray,
          pe_mips: np.ndarray, ptab: np.ndarray, R: np.ndarray, HH: np.ndarray, HL: np.ndarray,
          ram_free: np.ndarray, bw_free: np.ndarray, cpu_free: np.ndarray) -> None:  # fmt: skip
    """Host ``h``'s values in its leaf, row ``n`` of ``node`` (but its id): room, increase, load, detector bounds."""
    room, amin = _leaf_values(h, S, A, p0, total, pe_mips, ptab)
    _set_leaf(h, node, n, room, amin, A, R, HH, HL, total, ram_free, bw_free, cpu_free)


@njit(cache=True, nogil=True)
def index_build(
    eligible: np.ndarray, cls: np.ndarray, nclasses: int, S: np.ndarray, A: np.ndarray, p0: np.ndarray,
    total: np.ndarray, pe_mips: np.ndarray, ptab: np.ndarray, R: np.ndarray, HH: np.ndarray, HL: np.ndarray,
    ram_free: np.ndarray, bw_free: np.ndarray, cpu_free: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
           np.ndarray]:  # fmt: skip
    """The index of the ``eligible`` hosts: (leaf bases in ``slot_host``, ``slot_host``, tree bases, tree
    sizes, host bucket, host slot, the nodes' rows, free leaves, their count per bucket). A
    bucket's tree has a quarter more leaves than hosts, and two more, for hosts that come to it during the step
    (:func:`index_set`); its free leaves are ``free[base:base + nfree[b]]``. A tree of m leaves has its root at
    row 1, node n's children at 2n and 2n + 1 and its leaves at m..2m - 1: for any m, each leaf under the root
    once (m a power of two left up to twice the rows to write: 1.95 against 2.10-2.19 ms a tick at 50,000 hosts)."""
    H = eligible.shape[0]
    nb = nclasses * SEGMENTS * SUB
    hb = np.full(H, -1, dtype=np.int64)
    count = np.zeros(nb, dtype=np.int64)
    for h in range(H):
        if eligible[h]:
            hb[h] = _bucket(cls[h], A[h], total[h])
            count[hb[h]] += 1
    size = np.zeros(nb, dtype=np.int64)  # leaves per bucket
    bstart = np.zeros(nb + 1, dtype=np.int64)  # where a bucket's leaves start in slot_host
    tbase = np.zeros(nb + 1, dtype=np.int64)
    for b in range(nb):
        m = count[b] + count[b] // 4 + 2
        size[b] = m
        bstart[b + 1] = bstart[b] + m
        tbase[b + 1] = tbase[b] + 2 * m
    # each bucket's hosts by the CPU they have free to book, most first, in levels of a quarter of their MIPS, and
    # in id order within a level (a counting sort): a subtree of hosts booked up is passed over whole. A data
    # centre that books migrations has many hosts that rise little and are booked up, whose nodes a search
    # popped. At 50,000 hosts (``bench sim``, bookings on) a search pops about 60 nodes: 105 with each bucket
    # by increase (the power at the step's load less the reported) and no booking check of its root, 89 with
    # the check, 70 with the hosts by CPU free exactly (the ids in order within a level settle ties sooner)
    start = np.zeros(nb * _LEVELS + 1, dtype=np.int64)  # bucket b's level k: from start[b * _LEVELS + k]
    level = np.empty(H, dtype=np.int64)
    for h in range(H):
        if hb[h] >= 0:
            x = cpu_free[h] / total[h] * _PER_MIPS
            k = _LEVELS - 1 if not x < _LEVELS - 1 else (int(x) if x > 0 else 0)  # (inf and NaN: the top level)
            level[h] = hb[h] * _LEVELS + _LEVELS - 1 - k
            start[level[h] + 1] += 1
    for b in range(nb):
        start[b * _LEVELS] = bstart[b]
        for k in range(b * _LEVELS, (b + 1) * _LEVELS - 1):
            start[k + 1] += start[k]
    slot_host = np.full(bstart[nb], -1, dtype=np.int64)
    hslot = np.full(H, -1, dtype=np.int64)
    leaf_room, leaf_a = np.empty(H), np.empty(H)
    for h in range(H):
        if hb[h] >= 0:
            hslot[h] = start[level[h]]
            start[level[h]] += 1
            slot_host[hslot[h]] = h
            leaf_room[h], leaf_a[h] = _leaf_values(h, S, A, p0, total, pe_mips, ptab)
    free = np.empty(bstart[nb], dtype=np.int64)
    nfree = np.zeros(nb, dtype=np.int64)
    for b in range(nb):
        for i in range(size[b] - 1, count[b] - 1, -1):  # the free leaves, the first on top
            free[bstart[b] + nfree[b]] = i
            nfree[b] += 1
    node = np.empty((tbase[nb], _NODE))  # every row written once: empty, a host's, or from its children
    for b in range(nb):
        m, o = size[b], tbase[b]
        if count[b] == 0:
            for n in range(2 * m):
                _clear(node, o + n)
            continue
        _clear(node, o)  # (row 0 of a tree is not used)
        for n in range(m + count[b], 2 * m):
            _clear(node, o + n)
        for i in range(bstart[b], bstart[b] + count[b]):
            h = slot_host[i]
            n = o + m + i - bstart[b]
            node[n, _MINID] = h
            _set_leaf(h, node, n, leaf_room[h], leaf_a[h], A, R, HH, HL, total, ram_free, bw_free, cpu_free)
        for n in range(m - 1, 0, -1):
            _pull(o, n, node)
    return bstart, slot_host, tbase, size, hb, hslot, node, free, nfree


@njit(cache=True, nogil=True)
def index_set(
    h: int, eligible: bool, n_over: int, cls: np.ndarray, bstart: np.ndarray, slot_host: np.ndarray,
    tbase: np.ndarray, size: np.ndarray, hb: np.ndarray, hslot: np.ndarray, node: np.ndarray, free: np.ndarray,
    nfree: np.ndarray, overflow: np.ndarray, S: np.ndarray, A: np.ndarray, p0: np.ndarray, total: np.ndarray,
    pe_mips: np.ndarray, ptab: np.ndarray, R: np.ndarray, HH: np.ndarray, HL: np.ndarray, ram_free: np.ndarray,
    bw_free: np.ndarray, cpu_free: np.ndarray,
) -> int:  # fmt: skip
    """Host ``h`` changed (its view, or whether it is eligible): its leaf, or a free leaf of the bucket its
    load now falls in, or the overflow list (the first ``n_over`` of ``overflow``) when that bucket has none
    left. Returns the overflow list's new length."""
    b = hb[h]
    to = _bucket(cls[h], A[h], total[h]) if eligible else -1
    if b >= 0:
        o, m = tbase[b], size[b]
        pos = hslot[h] - bstart[b]
        n = m + pos
        if to == b:
            _leaf(h, node, o + n, S, A, p0, total, pe_mips, ptab, R, HH, HL, ram_free, bw_free, cpu_free)
        else:  # it leaves the bucket: its leaf is free
            _clear(node, o + n)
            slot_host[hslot[h]] = -1
            free[bstart[b] + nfree[b]] = pos
            nfree[b] += 1
            hb[h], hslot[h] = -1, -1
        _pull_up(o, n, node)
        if to == b or to < 0:
            return n_over
    else:
        for i in range(n_over):
            if overflow[i] == h:  # an overflow host stays there (or leaves when not eligible)
                if to < 0:
                    overflow[i] = overflow[n_over - 1]
                    return n_over - 1
                return n_over
        if to < 0:
            return n_over
    if nfree[to] > 0:  # a free leaf of its new bucket
        nfree[to] -= 1
        pos = free[bstart[to] + nfree[to]]
        o, m = tbase[to], size[to]
        n = m + pos
        hb[h], hslot[h] = to, bstart[to] + pos
        slot_host[hslot[h]] = h
        node[o + n, _MINID] = h
        _leaf(h, node, o + n, S, A, p0, total, pe_mips, ptab, R, HH, HL, ram_free, bw_free, cpu_free)
        _pull_up(o, n, node)
        return n_over
    overflow[n_over] = h
    return n_over + 1


@njit(cache=True, nogil=True, inline="always")
def _heap_push(hk: np.ndarray, hs: np.ndarray, hn: np.ndarray, size: int, key: float, start: int, node: int) -> int:
    i = size
    while i > 0:
        p = (i - 1) // 2
        if hk[p] < key or (hk[p] == key and hs[p] <= start):
            break
        hk[i], hs[i], hn[i] = hk[p], hs[p], hn[p]
        i = p
    hk[i], hs[i], hn[i] = key, start, node
    return size + 1


@njit(cache=True, nogil=True, inline="always")
def _heap_pop(hk: np.ndarray, hs: np.ndarray, hn: np.ndarray, size: int) -> int:
    size -= 1
    key, start, node = hk[size], hs[size], hn[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and (hk[c + 1] < hk[c] or (hk[c + 1] == hk[c] and hs[c + 1] < hs[c])):
            c += 1
        if key < hk[c] or (key == hk[c] and start <= hs[c]):
            break
        hk[i], hs[i], hn[i] = hk[c], hs[c], hn[c]
        i = c
    hk[i], hs[i], hn[i] = key, start, node
    return size


_OVERFLOW = np.int64(1) << 40  # heap entries of overflow hosts: -_OVERFLOW - host


@njit(cache=True, nogil=True, inline="always")
def _next_overflow(ov_key: np.ndarray, overflow: np.ndarray, hk: np.ndarray, hs: np.ndarray, hn: np.ndarray,
                   heap: int) -> int:  # fmt: skip
    """Push the overflow host of least (key, id) not pushed yet (its key then goes to +inf)."""
    best = -1
    for i in range(ov_key.shape[0]):
        if ov_key[i] < np.inf and (best < 0 or ov_key[i] < ov_key[best]
                                   or (ov_key[i] == ov_key[best] and overflow[i] < overflow[best])):  # fmt: skip
            best = i
    if best < 0:
        return heap
    h = overflow[best]
    heap = _heap_push(hk, hs, hn, heap, ov_key[best], h, -_OVERFLOW - h)
    ov_key[best] = np.inf
    return heap


@njit(cache=True, nogil=True)
def find_host_indexed(
    r: float, vm_hist: np.ndarray, vm_hist_len: int, vm_mips: float, type_ok: np.ndarray, check_book: bool,
    vm_ram: float, vm_bw: float, vm_cpu: float, n_over: int, htype: np.ndarray, rep: np.ndarray, S: np.ndarray,
    A: np.ndarray, R: np.ndarray, HH: np.ndarray, HL: np.ndarray, p0: np.ndarray, total: np.ndarray,
    pe_mips: np.ndarray, ptab: np.ndarray, ram_free: np.ndarray, bw_free: np.ndarray, cpu_free: np.ndarray,
    det_kind: int, det_param: float, bstart: np.ndarray, slot_host: np.ndarray, tbase: np.ndarray,
    size: np.ndarray, node: np.ndarray,
    overflow: np.ndarray, hk: np.ndarray, hs: np.ndarray, hn: np.ndarray,
) -> int:  # fmt: skip
    """:func:`find_host` over the eligible hosts of an index (:func:`index_build`), the same answer.
    ``rep[c]``: a host of class c. ``hk``, ``hs``, ``hn``: heap space (entries: key, first host id,
    bucket x 2^32 + node, or -1 - host for a host evaluated exactly). The overflow hosts that can take the
    request enter the heap one at a time, the least (key, id) first, the next when the detector refuses it.
    A node whose hosts the detector would all refuse (see :func:`_refused`) is not searched."""
    row = np.empty(HH.shape[1])
    heap = 0
    vm_pred = lr_predict(vm_hist)
    vm_full = vm_hist_len >= LR_WINDOW
    ov_key = np.full(n_over, np.inf)
    for i in range(n_over):
        h = overflow[i]
        if not type_ok[htype[h]] or not _fits(h, r, S, total, pe_mips):
            continue
        if check_book and not _books(h, ram_free, bw_free, cpu_free, vm_ram, vm_bw, vm_cpu):
            continue
        ov_key[i] = _key(h, r, A, total, ptab, p0)
    heap = _next_overflow(ov_key, overflow, hk, hs, hn, heap)
    for b in range(size.shape[0]):
        o = tbase[b]
        if node[o + 1, _MINID] == np.inf or node[o + 1, _ROOM] < r:
            continue
        h0 = rep[b // (SEGMENTS * SUB)]
        if not type_ok[htype[h0]]:
            continue
        if det_kind >= 0 and _refused(node, o + 1, det_kind, det_param, vm_pred * vm_mips / total[h0], vm_full,
                                      r / total[h0]):  # fmt: skip
            continue
        if check_book and not _node_books(node, o + 1, vm_ram, vm_bw, vm_cpu):
            continue
        lb = node[o + 1, _AMIN] + _rise(node[o + 1, _ULO], -node[o + 1, _UHI], r / total[h0], ptab[h0])
        heap = _heap_push(hk, hs, hn, heap, power_key(lb), int(node[o + 1, _MINID]), b << 32 | 1)
    while heap > 0:
        key, entry = hk[0], hn[0]
        heap = _heap_pop(hk, hs, hn, heap)
        if entry < 0:  # a host with its exact key: the answer unless the detector refuses it
            h = -_OVERFLOW - entry if entry <= -_OVERFLOW else -1 - entry
            if det_kind < 0 or A[h] == 0 or not _overloaded_with(h, r, vm_hist, vm_hist_len, vm_mips, R, HH, HL,
                                                                  total, det_kind, det_param, row):  # fmt: skip
                return h
            if entry <= -_OVERFLOW:
                heap = _next_overflow(ov_key, overflow, hk, hs, hn, heap)
            continue
        b = entry >> 32
        at = entry & 0xFFFFFFFF
        o, m = tbase[b], size[b]
        h0 = rep[b // (SEGMENTS * SUB)]
        lr_vm, d = vm_pred * vm_mips / total[h0], r / total[h0]
        for side in range(2):
            child = 2 * at + side
            if node[o + child, _MINID] == np.inf or node[o + child, _ROOM] < r:
                continue
            if det_kind >= 0 and _refused(node, o + child, det_kind, det_param, lr_vm, vm_full, d):
                continue
            if check_book and not _node_books(node, o + child, vm_ram, vm_bw, vm_cpu):
                continue
            if child >= m:  # a host, which can take the request (entries of overflow hosts are below -_OVERFLOW)
                h = slot_host[bstart[b] + child - m]
                if check_book and not _books(h, ram_free, bw_free, cpu_free, vm_ram, vm_bw, vm_cpu):
                    continue
                key = _key(h, r, A, total, ptab, p0)
                heap = _heap_push(hk, hs, hn, heap, key, h, -1 - h)
            else:
                lb = node[o + child, _AMIN] + _rise(node[o + child, _ULO], -node[o + child, _UHI], d, ptab[h0])
                heap = _heap_push(hk, hs, hn, heap, power_key(lb), int(node[o + child, _MINID]), b << 32 | child)
    return -1


@njit(cache=True, nogil=True, inline="always")
def _sample(hist: np.ndarray, newest: int, i: int, j: int) -> float:
    """Guest row ``i``'s sample ``j`` intervals ago: ``hist`` keeps each row's samples in a ring, the newest in
    column ``newest`` (:func:`observe`)."""
    c = newest + j
    return hist[i, c - hist.shape[1] if c >= hist.shape[1] else c]


@njit(cache=True, nogil=True, inline="always")
def _history(hist: np.ndarray, newest: int, i: int, out: np.ndarray) -> np.ndarray:
    """Guest row ``i``'s newest samples into ``out``, newest first (:func:`_sample`)."""
    for j in range(out.shape[0]):
        out[j] = _sample(hist, newest, i, j)
    return out


@njit(cache=True, nogil=True, inline="always")
def _sums(h: int, vms: np.ndarray, lo: int, hi: int, req: np.ndarray, pe_mips: np.ndarray, total: np.ndarray,
          hist_len: np.ndarray, S: np.ndarray, A: np.ndarray, R: np.ndarray, HL: np.ndarray) -> None:  # fmt: skip
    """Host ``h``'s sums and history length in its view (:func:`_view`), all but its history."""
    pe, t = pe_mips[h], total[h]
    s = 0.0
    r_sum = 0.0
    n = 0
    for x in range(lo, hi):
        i = vms[x]
        s += min(req[i], pe)
        r_sum += req[i]
        n = max(n, hist_len[i])
    S[h], A[h], R[h], HL[h] = s, _allocated(s, t, pe, req, vms, lo, hi), r_sum, n


@njit(cache=True, nogil=True, inline="always")
def _allocated(s: float, t: float, pe: float, req: np.ndarray, vms: np.ndarray, lo: int, hi: int) -> float:
    """What a host of ``t`` MIPS (``pe`` a core) allocates to the VMs ``vms[lo:hi]`` whose requests, each
    capped at a core, sum to ``s``: all of it, or each capped request scaled down and floored (CloudSim)."""
    if s <= t:
        return s
    f = t / s
    alloc = 0.0
    for x in range(lo, hi):
        alloc += np.floor(min(req[vms[x]], pe) * f)
    return alloc


@njit(cache=True, nogil=True, inline="always")
def _view(h: int, vms: np.ndarray, lo: int, hi: int, req: np.ndarray, pe_mips: np.ndarray, total: np.ndarray,
          hist: np.ndarray, newest: int, hist_len: np.ndarray, vm_mips: np.ndarray, S: np.ndarray, A: np.ndarray,
          R: np.ndarray, HH: np.ndarray, HL: np.ndarray) -> None:  # fmt: skip
    """Host ``h``'s view with the VMs ``vms[lo:hi]`` (in list order), none of them migrating, written into
    ``S`` (requested sum for the scheduler), ``A`` (allocated sum), ``R`` (requested sum), ``HH`` (the first
    ``HH.shape[1]`` samples of its history, those the detector reads) and ``HL`` (the length of its whole
    history: the longest of its VMs', as every sample is >= 0). Inlined where it is called: a call per host
    cost more than its sums."""
    _sums(h, vms, lo, hi, req, pe_mips, total, hist_len, S, A, R, HL)
    t = total[h]
    width = HH.shape[1]
    for j in range(width):
        HH[h, j] = 0.0
    for x in range(lo, hi):
        i = vms[x]
        for j in range(min(width, hist_len[i])):  # the samples past a VM's length are 0
            HH[h, j] += _sample(hist, newest, i, j) * vm_mips[i] / t


@njit(cache=True, nogil=True)
def host_views(
    flat: np.ndarray,
    offsets: np.ndarray,
    stale: np.ndarray,
    req: np.ndarray,
    pe_mips: np.ndarray,
    total: np.ndarray,
    hist: np.ndarray,
    newest: int,
    hist_len: np.ndarray,
    vm_mips: np.ndarray,
    rec: np.ndarray,
    S: np.ndarray,
    A: np.ndarray,
    R: np.ndarray,
    HH: np.ndarray,
    HL: np.ndarray,
) -> None:
    """The view (:func:`_view`) of every host ``h``, which holds ``flat[offsets[h]:offsets[h + 1]]``, one
    interval after the last: a host not ``stale`` (its VMs and their MIPS the same, its history row that
    view's) has every VM's history one sample older, so its history row moves one sample along and only the
    newest is summed, the same terms in the same order (the samples past a VM's length are 0, and adding 0
    changes no sum). Such a host reads its VMs' records ``rec`` (:func:`observe`: one place per VM for what it
    reads of four arrays). Such a host with an empty list (most of a consolidated data centre: off) is left as
    it is: its view is all 0 and one more sample of 0 changes nothing."""
    width = HH.shape[1]
    rec_req = rec[:, 0]
    for h in range(offsets.shape[0] - 1):
        lo, hi = offsets[h], offsets[h + 1]
        if stale[h]:
            _view(h, flat, lo, hi, req, pe_mips, total, hist, newest, hist_len, vm_mips, S, A, R, HH, HL)
            continue
        if lo == hi:  # an empty list's view is all 0 (made afresh when the list emptied) and stays so
            continue
        # _sums and the newest sample in one loop: each record read once (two passes cost 0.85 ms a tick more)
        pe, t = pe_mips[h], total[h]
        s, r_sum, x = 0.0, 0.0, 0.0
        n = 0
        for k in range(lo, hi):
            i = flat[k]
            s += min(rec[i, 0], pe)
            r_sum += rec[i, 0]
            n = max(n, int(rec[i, 3]))
            if rec[i, 3] > 0:
                x += rec[i, 1] * rec[i, 2] / t
        S[h], A[h], R[h], HL[h] = s, _allocated(s, t, pe, rec_req, flat, lo, hi), r_sum, n
        for j in range(width - 1, 0, -1):
            HH[h, j] = HH[h, j - 1]
        HH[h, 0] = x


@njit(cache=True, nogil=True)
def host_view(
    h: int, vms: np.ndarray, req: np.ndarray, pe_mips: np.ndarray, total: np.ndarray, hist: np.ndarray,
    newest: int, hist_len: np.ndarray, vm_mips: np.ndarray, S: np.ndarray, A: np.ndarray, R: np.ndarray, HH: np.ndarray,
    HL: np.ndarray,
) -> None:  # fmt: skip
    """The view (:func:`_view`) of host ``h`` holding ``vms``."""
    _view(h, vms, 0, vms.shape[0], req, pe_mips, total, hist, newest, hist_len, vm_mips, S, A, R, HH, HL)


@njit(cache=True, nogil=True)
def shed(
    h: int, vms: np.ndarray, order: np.ndarray, req: np.ndarray, pe_mips: np.ndarray, total: np.ndarray,
    hist: np.ndarray, newest: int, hist_len: np.ndarray, vm_mips: np.ndarray, S: np.ndarray, A: np.ndarray,
    R: np.ndarray, HH: np.ndarray, HL: np.ndarray, det_kind: int, det_param: float,
) -> tuple[int, np.ndarray, bool]:  # fmt: skip
    """An overloaded host ``h`` holding ``vms`` sheds the VMs of ``order`` one at a time, its view (:func:`_view`)
    made again after each, until the detector no longer finds it overloaded. Returns (how many it shed, the
    VMs it keeps in list order, whether it is still overloaded)."""
    rest = vms.copy()
    n = rest.shape[0]
    for k in range(order.shape[0]):
        v = order[k]
        for x in range(n):
            if rest[x] == v:  # the first occurrence leaves, the others keep their order
                for y in range(x, n - 1):
                    rest[y] = rest[y + 1]
                n -= 1
                break
        _view(h, rest, 0, n, req, pe_mips, total, hist, newest, hist_len, vm_mips, S, A, R, HH, HL)
        if not overloaded(det_kind, det_param, R[h] / total[h], HH[h], HL[h]):
            return k + 1, rest[:n], False
    return order.shape[0], rest[:n], True


@njit(cache=True, nogil=True)
def sorted_selection(vms: np.ndarray, by_util: bool, vm_ram: np.ndarray, req: np.ndarray,
                     vm_mips: np.ndarray) -> np.ndarray:  # fmt: skip
    """``vms`` in the order an overloaded host sheds them under MMT (least RAM first) or, ``by_util``, MU
    (least utilization, request / full MIPS, first); ties in list order."""
    keys = np.empty(vms.shape[0])
    for j in range(vms.shape[0]):
        v = vms[j]
        keys[j] = req[v] / vm_mips[v] if by_util else vm_ram[v]
    return vms[np.argsort(keys, kind="mergesort")]


@njit(cache=True, nogil=True)
def shed_sorted(
    over: np.ndarray, flat: np.ndarray, offsets: np.ndarray, in_flight: bool, mig_to: np.ndarray,
    host_of: np.ndarray, by_util: bool, vm_ram: np.ndarray, req: np.ndarray, pe_mips: np.ndarray,
    total: np.ndarray, hist: np.ndarray, newest: int, hist_len: np.ndarray, vm_mips: np.ndarray, S: np.ndarray,
    A: np.ndarray, R: np.ndarray, HH: np.ndarray, HL: np.ndarray, det_kind: int, det_param: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """:func:`shed` for each overloaded host of ``over`` (host h holding ``flat[offsets[h]:offsets[h + 1]]``)
    in the order of :func:`sorted_selection`, until it is no longer overloaded; with ``in_flight``, guests
    migrating from an earlier step stay put. Returns (per host, the guests it sheds: 0 when it holds none it
    may shed; the shed guests, host after host; per host, the guests it keeps)."""
    m = over.shape[0]
    size = 0
    for i in range(m):
        size += offsets[over[i] + 1] - offsets[over[i]]
    counts, kept = np.zeros(m, dtype=np.int64), np.zeros(m, dtype=np.int64)
    moved = np.empty(size, dtype=np.int64)
    n_moved = 0
    for i in range(m):
        h = over[i]
        vms = flat[offsets[h] : offsets[h + 1]]
        mine = np.empty(vms.shape[0], dtype=np.int64)
        n = 0
        for x in vms:
            if not in_flight or (mig_to[x] < 0 and host_of[x] == h):
                mine[n] = x
                n += 1
        kept[i] = vms.shape[0]
        if n == 0:
            continue
        # one pass: a host still overloaded has shed every guest it may shed
        order = sorted_selection(mine[:n], by_util, vm_ram, req, vm_mips)
        k, rest, _ = shed(h, vms, order, req, pe_mips, total, hist, newest, hist_len, vm_mips, S, A, R, HH, HL,
                          det_kind, det_param)  # fmt: skip
        moved[n_moved : n_moved + k] = order[:k]
        n_moved += k
        counts[i], kept[i] = k, rest.shape[0]
    return counts, moved[:n_moved], kept


@njit(cache=True, nogil=True)
def _planned(h: int, flat: np.ndarray, offsets: np.ndarray, head: np.ndarray, nxt: np.ndarray, guest: np.ndarray,
             alive: np.ndarray, buf: np.ndarray) -> int:  # fmt: skip
    """Host ``h``'s planned list into ``buf`` (its length returned): its list as the underload pass began,
    then the guests appended since (a chain from ``head[h]`` through ``nxt``) less those taken back."""
    n = 0
    for x in range(offsets[h], offsets[h + 1]):
        buf[n] = flat[x]
        n += 1
    j = head[h]
    while j >= 0:
        if alive[j]:
            buf[n] = guest[j]
            n += 1
        j = nxt[j]
    return n


@njit(cache=True, nogil=True)
def _replan(
    h: int, flat: np.ndarray, offsets: np.ndarray, head: np.ndarray, nxt: np.ndarray, guest: np.ndarray,
    alive: np.ndarray, buf: np.ndarray, req: np.ndarray, pe_mips: np.ndarray, total: np.ndarray, hist: np.ndarray,
    newest: int, hist_len: np.ndarray, vm_mips: np.ndarray, S: np.ndarray, A: np.ndarray, R: np.ndarray, HH: np.ndarray,
    HL: np.ndarray, busy: np.ndarray, stale: np.ndarray,
) -> None:  # fmt: skip
    """Host ``h``'s view made again from its planned list (:func:`_planned`): the step's view of it is
    written (``stale``), and it is busy when the list is not empty."""
    n = _planned(h, flat, offsets, head, nxt, guest, alive, buf)
    stale[h] = True
    busy[h] = n > 0
    _view(h, buf, 0, n, req, pe_mips, total, hist, newest, hist_len, vm_mips, S, A, R, HH, HL)


@njit(cache=True, nogil=True)
def _plan_move(
    v: int, t: int, e: int, flat: np.ndarray, offsets: np.ndarray, head: np.ndarray, last: np.ndarray,
    nxt: np.ndarray, guest: np.ndarray, alive: np.ndarray, buf: np.ndarray, req: np.ndarray, pe_mips: np.ndarray,
    total: np.ndarray, hist: np.ndarray, newest: int, hist_len: np.ndarray, vm_mips: np.ndarray, S: np.ndarray,
    A: np.ndarray, R: np.ndarray, HH: np.ndarray, HL: np.ndarray, busy: np.ndarray, stale: np.ndarray,
    free_mem: np.ndarray, free_cpu: np.ndarray, book_mem: np.ndarray, book_cpu: np.ndarray,
) -> None:  # fmt: skip
    """Guest ``v`` planned onto host ``t`` as entry ``e`` of the chains: appended to ``t``'s planned list, its
    view made again (:func:`_replan`) and the guest's booking taken from what ``t`` has free."""
    guest[e], alive[e] = v, True
    if last[t] >= 0:
        nxt[last[t]] = e
    else:
        head[t] = e
    last[t] = e
    _replan(t, flat, offsets, head, nxt, guest, alive, buf, req, pe_mips, total, hist, newest, hist_len, vm_mips, S,
            A, R, HH, HL, busy, stale)  # fmt: skip
    free_mem[t] -= book_mem[v]
    free_cpu[t] -= book_cpu[v]


@njit(cache=True, nogil=True)
def underload_pass(
    order: np.ndarray, room: int, flat: np.ndarray, offsets: np.ndarray, head: np.ndarray, last: np.ndarray,
    nxt: np.ndarray, guest: np.ndarray, alive: np.ndarray, n_app: int, excluded: np.ndarray,
    eligible: np.ndarray, n_over: int, in_flight: bool, mig_to: np.ndarray, req: np.ndarray, hist: np.ndarray,
    newest: int, hist_len: np.ndarray, vm_mips: np.ndarray, book_mem: np.ndarray, book_bw: np.ndarray,
    book_cpu: np.ndarray, types: np.ndarray, book: bool, free_mem: np.ndarray, free_cpu: np.ndarray,
    pe_mips: np.ndarray, total: np.ndarray, S: np.ndarray, A: np.ndarray, R: np.ndarray, HH: np.ndarray,
    HL: np.ndarray, busy: np.ndarray, stale: np.ndarray, set_args: tuple, find_args: tuple,
) -> tuple[np.ndarray, int]:  # fmt: skip
    """The step's underload pass (:meth:`Consolidator.step`) over the hosts of ``order``, least utilized
    first; the planned lists as it begins are the step's lists ``flat``/``offsets`` plus the guests the
    overload pass appended (:func:`overload_pass`'s chains, ``n_app`` entries so far, which this pass goes on
    with: they have room for an entry per guest the planned lists hold). Each host not ``excluded`` is
    excluded and leaves the index. When every guest on it (those not migrating, with ``in_flight``) finds a host with
    PABFD over the index (:func:`find_host_indexed` with ``find_args``), largest request first, they move
    there: each appended to its target's list, the target's view made again, its booking taken from
    ``free_mem``/``free_cpu`` and the target updated in the index (:func:`index_set` with ``set_args``);
    then their targets are excluded. When one finds none, those placed are taken back, in order. ``types``:
    where each guest may run (one row for all when it has one). At most ``room`` moves. Returns the moves
    (guest, target) in order, and the length of the index's overflow list."""
    cap = flat.shape[0] + guest.shape[0]  # a planned list is at most its list and every entry appended
    # the guests appended to a planned list: entry e is guest[e] on host ehost[e] (for this pass's entries),
    # taken back when not alive[e]
    ehost = np.empty(guest.shape[0], dtype=np.int64)
    buf = np.empty(cap, dtype=np.int64)
    moves = np.empty((min(room, cap), 2), dtype=np.int64)
    n_moves = 0
    placed = np.empty(cap, dtype=np.int64)  # the entries of the guests placed from the host at hand
    vm_hist = np.empty(hist.shape[1])
    for h in order:
        if n_moves >= room:
            break
        if excluded[h]:
            continue
        excluded[h] = True
        eligible[h] = False
        n_over = index_set(h, False, n_over, *set_args)
        n = _planned(h, flat, offsets, head, nxt, guest, alive, buf)
        k = 0
        for x in range(n):
            if not in_flight or mig_to[buf[x]] < 0:
                buf[k] = buf[x]
                k += 1
        if k == 0 or n_moves + k > room:
            continue
        vms = buf[:k].copy()
        r = np.empty(k)
        for x in range(k):
            r[x] = req[vms[x]]
        # the largest request goes first (a stable sort on -r puts the first maximum first); most hosts fail
        # there, so the rest is sorted only when it fits
        n_placed = 0
        for i in range(k):
            v = vms[np.argmax(r)] if i == 0 else vms[i]
            t = find_host_indexed(
                req[v], _history(hist, newest, v, vm_hist), hist_len[v], vm_mips[v],
                types[v] if types.shape[0] > 1 else types[0], book,
                book_mem[v], book_bw[v], book_cpu[v], n_over, *find_args,
            )  # fmt: skip
            if i == 0:
                if t < 0:
                    break
                vms = vms[np.argsort(-r, kind="mergesort")]
            if t < 0:
                for j in range(n_placed):
                    e = placed[j]
                    ph, pv = ehost[e], guest[e]
                    alive[e] = False
                    _replan(ph, flat, offsets, head, nxt, guest, alive, buf, req, pe_mips, total, hist, newest,
                            hist_len, vm_mips, S, A, R, HH, HL, busy, stale)  # fmt: skip
                    free_mem[ph] -= -1.0 * book_mem[pv]  # the booking back (as the Python loop wrote it, sign -1)
                    free_cpu[ph] -= -1.0 * book_cpu[pv]
                    n_over = index_set(ph, eligible[ph], n_over, *set_args)
                n_placed = 0
                break
            e = n_app
            n_app += 1
            ehost[e] = t
            _plan_move(v, t, e, flat, offsets, head, last, nxt, guest, alive, buf, req, pe_mips, total, hist,
                       newest, hist_len, vm_mips, S, A, R, HH, HL, busy, stale, free_mem, free_cpu, book_mem,
                       book_cpu)  # fmt: skip
            n_over = index_set(t, eligible[t], n_over, *set_args)
            placed[n_placed] = e
            n_placed += 1
        for j in range(n_placed):
            e = placed[j]
            excluded[ehost[e]] = True
            moves[n_moves, 0], moves[n_moves, 1] = guest[e], ehost[e]
            n_moves += 1
    return moves[:n_moves], n_over


@njit(cache=True, nogil=True)
def index_touch(
    h: int, n_over: int, eligible: np.ndarray, wake_hosts: np.ndarray, wake_pos: np.ndarray, wake_end: np.ndarray,
    busy: np.ndarray, htype: np.ndarray, set_args: tuple,
) -> int:  # fmt: skip
    """Host ``h`` changed (:meth:`_TargetIndex.set`): when it is its type's stand-in among the empty hosts that
    may be woken (``wake_hosts[wake_pos[t]:wake_end[t]]``, in id order, the first the stand-in) and now holds
    guests, the next empty one stands in (eligible from now); then :func:`index_set` of ``h`` as
    ``eligible`` says. Returns the overflow list's new length."""
    t = htype[h]
    i = wake_pos[t]
    if busy[h] and i < wake_end[t] and wake_hosts[i] == h:
        while i < wake_end[t] and busy[wake_hosts[i]]:
            i += 1
        wake_pos[t] = i
        if i < wake_end[t]:
            g = wake_hosts[i]
            eligible[g] = True
            n_over = index_set(g, True, n_over, *set_args)
    return index_set(h, eligible[h], n_over, *set_args)


@njit(cache=True, nogil=True)
def index_exclude(
    hosts: np.ndarray, n_over: int, eligible: np.ndarray, wake_hosts: np.ndarray, wake_pos: np.ndarray,
    wake_end: np.ndarray, busy: np.ndarray, htype: np.ndarray, set_args: tuple,
) -> int:  # fmt: skip
    """Each of ``hosts`` in order made ineligible, then touched (:func:`index_touch`): one call for a step's targets
    (a call from Python unpacks ``set_args`` once, not once a host). Returns the overflow list's new length."""
    for k in range(hosts.shape[0]):
        h = hosts[k]
        eligible[h] = False
        n_over = index_touch(h, n_over, eligible, wake_hosts, wake_pos, wake_end, busy, htype, set_args)
    return n_over


@njit(cache=True, nogil=True)
def overload_pass(
    order: np.ndarray, start: int, flat: np.ndarray, offsets: np.ndarray, head: np.ndarray, last: np.ndarray,
    nxt: np.ndarray, guest: np.ndarray, alive: np.ndarray, n_app: int, moves: np.ndarray, n_moves: int,
    has_on: bool, on_eligible: np.ndarray, on_n_over: int, on_set: tuple, on_find: tuple, has_any: bool,
    any_eligible: np.ndarray, any_n_over: int, any_set: tuple, any_find: tuple, wake_hosts: np.ndarray,
    wake_pos: np.ndarray, wake_end: np.ndarray, req: np.ndarray, hist: np.ndarray, newest: int, hist_len: np.ndarray,
    vm_mips: np.ndarray, book_mem: np.ndarray, book_bw: np.ndarray, book_cpu: np.ndarray, types: np.ndarray,
    book: bool, free_mem: np.ndarray, free_cpu: np.ndarray, pe_mips: np.ndarray, total: np.ndarray, S: np.ndarray,
    A: np.ndarray, R: np.ndarray, HH: np.ndarray, HL: np.ndarray, busy: np.ndarray, stale: np.ndarray,
    htype: np.ndarray,
) -> tuple[int, int, int, int, int]:  # fmt: skip
    """The step's destinations for the guests the overloaded hosts shed (:meth:`Consolidator.step`), from
    ``order[start]`` on, in order: PABFD (:func:`find_host_indexed`) over the hosts that are on (the index
    ``on``, with ``has_on``: ``wake: last-resort``), then over all the candidates (the index ``any``, which
    may wake empty hosts: ``wake_*``, see :func:`index_touch`). A guest that finds a target is appended to
    its planned list (the step's lists ``flat``/``offsets`` plus a chain from ``head[h]`` through ``nxt``,
    as in :func:`underload_pass`), the target's view is made again, its booking taken from ``free_mem``/
    ``free_cpu``, and the target updated in both indexes; the move goes to ``moves[n_moves]``. When a guest
    finds no host that is on and ``any`` is not built yet (not ``has_any``), the pass stops there for the
    caller to build it. Returns (where it stopped, the entries and moves now, both indexes' overflow
    lengths)."""
    buf = np.empty(flat.shape[0] + order.shape[0], dtype=np.int64)
    vm_hist = np.empty(hist.shape[1])
    for i in range(start, order.shape[0]):
        v = order[i]
        _history(hist, newest, v, vm_hist)
        type_ok = types[v] if types.shape[0] > 1 else types[0]
        t = -1
        if has_on:
            t = find_host_indexed(req[v], vm_hist, hist_len[v], vm_mips[v], type_ok, book, book_mem[v], book_bw[v],
                                  book_cpu[v], on_n_over, *on_find)  # fmt: skip
        if t < 0:
            if not has_any:
                return i, n_app, n_moves, on_n_over, any_n_over
            t = find_host_indexed(req[v], vm_hist, hist_len[v], vm_mips[v], type_ok, book, book_mem[v],
                                  book_bw[v], book_cpu[v], any_n_over, *any_find)  # fmt: skip
        if t < 0:
            continue
        _plan_move(v, t, n_app, flat, offsets, head, last, nxt, guest, alive, buf, req, pe_mips, total, hist,
                   newest, hist_len, vm_mips, S, A, R, HH, HL, busy, stale, free_mem, free_cpu, book_mem,
                   book_cpu)  # fmt: skip
        n_app += 1
        moves[n_moves, 0], moves[n_moves, 1] = v, t
        n_moves += 1
        if has_on:
            on_n_over = index_set(t, on_eligible[t], on_n_over, *on_set)
        if has_any:
            any_n_over = index_touch(t, any_n_over, any_eligible, wake_hosts, wake_pos, wake_end, busy, htype,
                                     any_set)  # fmt: skip
    return order.shape[0], n_app, n_moves, on_n_over, any_n_over


@njit(cache=True, nogil=True)
def patch_lists(
    flat: np.ndarray, offsets: np.ndarray, changed: np.ndarray, lengths: np.ndarray, new: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Flattened lists (host h's: ``flat[offsets[h]:offsets[h + 1]]``) with the lists of the hosts
    ``changed`` (ascending) replaced by ``new`` (theirs one after another, ``lengths`` long). The hosts between
    two changed ones keep their lists side by side: each such run is one block copy."""
    H = offsets.shape[0] - 1
    out_off = np.empty(H + 1, dtype=np.int64)
    out_off[0] = 0
    k = 0
    for h in range(H):
        if k < changed.shape[0] and changed[k] == h:
            n = lengths[k]
            k += 1
        else:
            n = offsets[h + 1] - offsets[h]
        out_off[h + 1] = out_off[h] + n
    out = np.empty(out_off[H], dtype=np.int64)
    prev = 0  # the first host of the run not copied yet
    src = 0
    for k in range(changed.shape[0] + 1):
        c = changed[k] if k < changed.shape[0] else H
        out[out_off[prev] : out_off[c]] = flat[offsets[prev] : offsets[c]]
        if c < H:
            out[out_off[c] : out_off[c + 1]] = new[src : src + lengths[k]]
            src += lengths[k]
        prev = c + 1
    return out, out_off


@njit(cache=True, nogil=True)
def observe(hist: np.ndarray, newest: int, hist_len: np.ndarray, nonzero: np.ndarray, window: int,
            tracked: np.ndarray, reported: np.ndarray, ids: np.ndarray, util: np.ndarray, scale: np.ndarray,
            req_now: np.ndarray, req: np.ndarray, vm_mips: np.ndarray, rec: np.ndarray) -> np.ndarray:  # fmt: skip
    """A new interval in the guests' histories, in place, in one pass over the rows that change: those of
    ``tracked`` (ascending: the rows with a non-zero sample in the window) and of ``ids`` (ascending: the
    guests reported now). ``hist`` keeps each row's newest samples in a ring (:func:`_sample`) that has moved
    one column on: ``newest``, where the oldest sample kept was, takes the sample now, ``util x scale`` for
    ``ids`` and 0 for the others. (A row in neither holds zeros only, and keeps them.) ``nonzero`` (bit j: the
    sample j intervals ago is not 0) follows the whole ``window`` (at least the ring's width), and
    ``hist_len`` is the samples in it up to its oldest non-zero one (0 when all are zero). The requests ``req``
    of the guests ``reported`` last time become 0, and those of ``ids`` ``req_now``. Each row's record ``rec``
    gets what a host's view reads of the guest when only the newest sample is new (:func:`host_views`): its
    request, newest sample, MIPS and history length, side by side. Returns the rows tracked from now on."""
    for r in reported:
        req[r] = 0.0
    for k in range(ids.shape[0]):
        req[ids[k]] = req_now[k]
    out = np.empty(tracked.shape[0] + ids.shape[0], dtype=np.int64)
    m = 0
    full = (1 << window) - 1
    i = k = 0
    while i < tracked.shape[0] or k < ids.shape[0]:  # the union of the two, ascending
        if k >= ids.shape[0] or (i < tracked.shape[0] and tracked[i] < ids[k]):
            r, x = tracked[i], 0.0
            i += 1
        else:
            r = ids[k]
            x = util[k] * scale[r]
            i += 1 if i < tracked.shape[0] and tracked[i] == r else 0
            k += 1
        hist[r, newest] = x  # (the oldest sample kept was there)
        mask = ((nonzero[r] << 1) | (1 if x != 0 else 0)) & full
        nonzero[r] = mask
        n = 0
        while mask:
            n += 1
            mask >>= 1
        hist_len[r] = n
        rec[r, 0], rec[r, 1], rec[r, 2], rec[r, 3] = req[r], x, vm_mips[r], n
        if n > 0:
            out[m] = r
            m += 1
    return out[:m]
