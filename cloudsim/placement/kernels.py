"""Compiled inner loops of the consolidation phase (numba, cached to disk): power-aware best fit over the
hosts (PABFD, the compiled form of the ``power-aware`` policy's filter -> score pipeline with the
detector as one more filter) and a host's allocation view. They implement what ``consolidation.py`` and
``detectors.py`` describe; the detectors here are the scalar forms of the vectorized ones there."""

from __future__ import annotations

import numpy as np
from numba import njit

from cloudsim.model.shard import power
from cloudsim.placement.detectors import FALLBACK_THRESHOLD, LR_COEF, LR_WINDOW, MIN_IQR_MAD

#: Detector codes for :func:`find_host`.
THR, IQR, MAD, LR, LRR = 0, 1, 2, 3, 4
DETECTOR_CODES = {"thr": THR, "iqr": IQR, "mad": MAD, "lr": LR, "lrr": LRR}


@njit(cache=True)
def _median_sorted(s: np.ndarray, n: int) -> float:
    lo = s[(n - 1) // 2]
    if n % 2 == 1:
        return lo
    return lo + 0.5 * (s[n // 2] - lo)


@njit(cache=True)
def _robust_predict(row: np.ndarray) -> float:
    """Bisquare-reweighted least squares over the 10 newest samples, predicted one step ahead (the
    scalar form of ``detectors.lrr_predict``)."""
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


@njit(cache=True)
def overloaded(kind: int, param: float, req_util: float, row: np.ndarray, n: int) -> bool:
    """One host's detector decision (see ``detectors.Detector``)."""
    if kind == THR:
        return req_util > param
    if kind == IQR or kind == MAD:  # noqa: SIM109 (numba compiles the comparison chain, not a tuple test)
        if n < MIN_IQR_MAD:
            return req_util > FALLBACK_THRESHOLD
        s = np.sort(row[:n])
        if kind == IQR:
            q1 = int(np.floor(0.25 * (n + 1) + 0.5)) - 1
            q3 = int(np.floor(0.75 * (n + 1) + 0.5)) - 1
            stat = s[q3] - s[q1]
        else:
            med = _median_sorted(s, n)
            dev = np.sort(np.abs(med - row[:n]))
            stat = _median_sorted(dev, n)
        return req_util > 1 - param * stat
    if n < LR_WINDOW:
        return req_util > FALLBACK_THRESHOLD
    if kind == LR:
        pred = 0.0
        for j in range(LR_WINDOW):
            pred += row[j] * LR_COEF[j]
    else:
        pred = _robust_predict(row)
    return pred * param >= 1


@njit(cache=True)
def find_host(
    r: float,
    vm_hist: np.ndarray,
    vm_hist_len: int,
    vm_mips: float,
    excluded: np.ndarray,
    type_ok: np.ndarray,
    busy: np.ndarray,
    htype: np.ndarray,
    ntypes: int,
    S: np.ndarray,
    A: np.ndarray,
    R: np.ndarray,
    HH: np.ndarray,
    HL: np.ndarray,
    util_mips: np.ndarray,
    total: np.ndarray,
    pe_mips: np.ndarray,
    ptab: np.ndarray,
    check_book: bool,
    ram_free: np.ndarray,
    bw_free: np.ndarray,
    cpu_free: np.ndarray,
    vm_ram: float,
    vm_bw: float,
    vm_cpu: float,
    det_kind: int,
    det_param: float,
    cand: np.ndarray,
) -> int:
    """PABFD: the suitable, not excluded host whose power rises least by taking a request of ``r`` MIPS
    (lowest id on ties) among the host types ``type_ok`` allows; a host already holding VMs (``A != 0``) must not be overloaded afterwards.
    ``det_kind`` < 0: no overload check. With ``check_book`` the host must also have the guest's booking
    free (memory, bandwidth and reserved CPU). Empty hosts of one type are interchangeable, so only the
    lowest-id one is evaluated. ``cand``: the hosts to look at, ascending (all of them, or only the busy
    ones when every empty host is excluded anyway). Returns -1 when no host qualifies."""
    h_count = total.shape[0]
    first = np.full(ntypes, -1, dtype=np.int64)
    if cand.shape[0] == h_count:
        for h in range(h_count):
            if not excluded[h] and type_ok[htype[h]] and not busy[h] and first[htype[h]] < 0:
                first[htype[h]] = h
    best = -1
    best_diff = np.inf
    row = np.empty(HH.shape[1])
    for h in cand:
        if excluded[h] or not type_ok[htype[h]] or (not busy[h] and first[htype[h]] != h):
            continue
        avail = 0.0 if total[h] < S[h] else total[h] - S[h]
        if pe_mips[h] < r or avail < r:
            continue
        if check_book and (ram_free[h] < vm_ram or bw_free[h] < vm_bw or cpu_free[h] < vm_cpu):
            continue
        u_now = util_mips[h] / total[h]
        if 1 < u_now < 1.01:
            u_now = 1.0
        diff = power(ptab[h], (A[h] + r) / total[h]) - power(ptab[h], u_now)
        if not diff < best_diff:  # could not win: no need to ask the detector
            continue
        if det_kind >= 0 and A[h] != 0:
            for j in range(row.shape[0]):
                row[j] = HH[h, j] + vm_hist[j] * vm_mips / total[h]
            n = max(HL[h], vm_hist_len)
            if overloaded(det_kind, det_param, (R[h] + r) / total[h], row, n):
                continue
        best_diff = diff
        best = h
    return best


@njit(cache=True)
def host_view(
    idx: np.ndarray, req: np.ndarray, pe_mips: float, total: float, hist: np.ndarray, vm_mips: np.ndarray
) -> tuple[float, float, float, np.ndarray, int]:
    """(requested sum for the scheduler S, allocated sum, requested sum, history row, history length) of
    a host holding the VMs ``idx`` (in list order), none of them migrating."""
    s = 0.0
    r_sum = 0.0
    for i in idx:
        s += min(req[i], pe_mips)
        r_sum += req[i]
    alloc = s
    if s > total:
        f = total / s
        alloc = 0.0
        for i in idx:
            alloc += np.floor(min(req[i], pe_mips) * f)
    row = np.zeros(hist.shape[1])
    for i in idx:
        for j in range(hist.shape[1]):
            row[j] += hist[i, j] * vm_mips[i] / total
    n = 0
    for j in range(hist.shape[1] - 1, -1, -1):
        if row[j] != 0:
            n = j + 1
            break
    return s, alloc, r_sum, row, n


@njit(cache=True)
def host_views(
    flat: np.ndarray,
    offsets: np.ndarray,
    req: np.ndarray,
    pe_mips: np.ndarray,
    total: np.ndarray,
    hist: np.ndarray,
    vm_mips: np.ndarray,
    S: np.ndarray,
    A: np.ndarray,
    R: np.ndarray,
    HH: np.ndarray,
    HL: np.ndarray,
) -> None:
    """:func:`host_view` of every host at once, written into ``S``, ``A``, ``R``, ``HH``, ``HL``: host ``h``
    holds ``flat[offsets[h]:offsets[h + 1]]`` (in list order). The same sums in the same order."""
    for h in range(offsets.shape[0] - 1):
        lo, hi = offsets[h], offsets[h + 1]
        if lo == hi:
            continue
        s, a, r, row, n = host_view(flat[lo:hi], req, pe_mips[h], total[h], hist, vm_mips)
        S[h], A[h], R[h], HL[h] = s, a, r, n
        HH[h, :] = row


@njit(cache=True)
def observe(hist: np.ndarray, hist_len: np.ndarray, rows: np.ndarray, ids: np.ndarray, samples: np.ndarray) -> None:
    """A new interval in the guests' histories, in place: the rows ``rows`` shift by one (the oldest sample
    drops, a 0 comes in first), ``ids`` get their ``samples`` as the newest, and each row's length is the
    samples up to its oldest non-zero one (0 when all are zero)."""
    width = hist.shape[1]
    for r in rows:
        for j in range(width - 1, 0, -1):
            hist[r, j] = hist[r, j - 1]
        hist[r, 0] = 0.0
    for k in range(ids.shape[0]):
        hist[ids[k], 0] = samples[k]
    for r in rows:
        n = 0
        for j in range(width - 1, -1, -1):
            if hist[r, j] != 0:
                n = j + 1
                break
        hist_len[r] = n
