"""Host overload detectors and VM selection, as CloudSim 3.0.3 implements them (Beloglazov & Buyya 2012).

Detectors work on many hosts at once. Each host is given by its requested CPU utilization (the sum of its
VMs' requested MIPS over the host's MIPS, not capped) and its utilization history: up to 30 samples,
newest first, the sum over the host's *current* VMs of ``vm_util * vm_mips / host_mips``, with the zero
tail trimmed (``hist_len``). A detector without enough history falls back to a static threshold of 0.7.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: History kept per VM (samples, one per scheduling interval).
HISTORY = 30
#: Threshold of the fallback detector (CloudSim's examples).
FALLBACK_THRESHOLD = 0.7
#: Samples IQR and MAD need (``countNonZeroBeginning >= 12``) and the local regressions' window.
MIN_IQR_MAD = 12
LR_WINDOW = 10


def java_round(x: np.ndarray | float) -> np.ndarray:
    """``Math.round``: half up."""
    return np.floor(np.asarray(x) + 0.5).astype(np.int64)


def _sorted_rows(hist: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Each row's first ``n`` values sorted ascending, padded with +inf."""
    cols = np.arange(hist.shape[1])
    return np.sort(np.where(cols[None, :] < n[:, None], hist, np.inf), axis=1)


def _median_sorted(s: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Median of each sorted row's first ``n`` values (commons-math legacy percentile at 50)."""
    rows = np.arange(len(n))
    lo = s[rows, np.maximum((n - 1) // 2, 0)]
    hi = s[rows, np.maximum(n // 2, 0)]
    return np.where(n % 2 == 1, lo, lo + 0.5 * (hi - lo))


def iqr(hist: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Interquartile range of each row's first ``n`` values: sorted[round(0.75(n+1)) - 1] minus
    sorted[round(0.25(n+1)) - 1] (``MathUtil.iqr``)."""
    s = _sorted_rows(hist, n)
    rows = np.arange(len(n))
    q1 = np.clip(java_round(0.25 * (n + 1)) - 1, 0, hist.shape[1] - 1)
    q3 = np.clip(java_round(0.75 * (n + 1)) - 1, 0, hist.shape[1] - 1)
    return s[rows, q3] - s[rows, q1]


def mad(hist: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Median absolute deviation of each row's first ``n`` values (``MathUtil.mad``)."""
    s = _sorted_rows(hist, n)
    med = _median_sorted(s, n)
    dev = np.abs(med[:, None] - hist)
    return _median_sorted(_sorted_rows(dev, n), n)


def _lr_coefficients(horizon: int) -> np.ndarray:
    """Weights ``c`` such that ``hist[:10] @ c`` is the least-squares line through the 10 newest samples
    (oldest at x = 1, newest at x = 10) evaluated at x = 10 + horizon."""
    x = np.arange(1, LR_WINDOW + 1, dtype=np.float64)
    xc = x - x.mean()
    target = LR_WINDOW + horizon - x.mean()
    w_oldest_first = 1.0 / LR_WINDOW + target * xc / (xc @ xc)
    return w_oldest_first[::-1].copy()  # hist is newest first


#: CloudSim predicts one scheduling interval ahead (ceil(max migration time / 300 s) = 1 here).
LR_COEF = _lr_coefficients(1)


def lr_predict(hist: np.ndarray) -> np.ndarray:
    """Predicted utilization one interval ahead by ordinary least squares over the 10 newest samples."""
    return hist[:, :LR_WINDOW] @ LR_COEF


def lrr_predict(hist: np.ndarray, iterations: int = 2) -> np.ndarray:
    """Robust local regression: least squares re-weighted with bisquare weights of the residuals
    (6 x the median absolute residual), as in Cleveland's LOWESS robustness step."""
    y = hist[:, :LR_WINDOW][:, ::-1]  # oldest first
    x = np.arange(1, LR_WINDOW + 1, dtype=np.float64)
    w = np.ones_like(y)
    for _ in range(iterations + 1):
        sw = w.sum(axis=1)
        mx = (w * x).sum(axis=1) / sw
        my = (w * y).sum(axis=1) / sw
        sxx = (w * (x - mx[:, None]) ** 2).sum(axis=1)
        b1 = np.where(sxx > 0, (w * (x - mx[:, None]) * (y - my[:, None])).sum(axis=1) / np.where(sxx > 0, sxx, 1), 0)
        b0 = my - b1 * mx
        res = np.abs(y - (b0[:, None] + b1[:, None] * x))
        scale = 6.0 * np.median(res, axis=1)
        # a zero scale means the other points fit exactly: any point off the line gets no weight
        u = np.where(scale[:, None] > 0, res / np.where(scale > 0, scale, 1)[:, None], np.where(res > 0, np.inf, 0.0))
        w = np.where(u < 1, (1 - u**2) ** 2, 0.0)
        w = np.where(w.sum(axis=1, keepdims=True) > 0, w, 1.0)
    return b0 + b1 * (LR_WINDOW + 1)


@dataclass(frozen=True)
class Detector:
    """An overload detector: ``thr`` (utilization > threshold), ``iqr`` / ``mad`` (utilization > 1 -
    s * statistic), ``lr`` / ``lrr`` (s * predicted utilization >= 1). ``lrr`` is LR with a robust fit,
    except in CloudSim 3.0.3 compatibility (``compat``), where the robust step is skipped as there."""

    name: str
    parameter: float
    compat: bool = True

    def overloaded(self, req_util: np.ndarray, hist: np.ndarray, hist_len: np.ndarray) -> np.ndarray:
        fallback = req_util > FALLBACK_THRESHOLD
        if self.name == "thr":
            return req_util > self.parameter
        if self.name in ("iqr", "mad"):
            ok = hist_len >= MIN_IQR_MAD
            if not ok.any():
                return fallback
            with np.errstate(invalid="ignore"):  # rows too short are padded with inf; they use the fallback
                stat = (iqr if self.name == "iqr" else mad)(hist, hist_len)
            return np.where(ok, req_util > 1 - self.parameter * stat, fallback)
        if self.name in ("lr", "lrr"):
            ok = hist_len >= LR_WINDOW
            if not ok.any():
                return fallback
            robust = self.name == "lrr" and not self.compat
            pred = lrr_predict(hist) if robust else lr_predict(hist)
            return np.where(ok, pred * self.parameter >= 1, fallback)
        raise ValueError(f"unknown detector {self.name!r}")


DETECTORS = ("thr", "iqr", "mad", "lr", "lrr")
SELECTIONS = ("mmt", "mc", "rs", "mu")


def max_correlation_r2(histories: np.ndarray) -> np.ndarray | None:
    """R² of an ordinary least-squares fit (with intercept) of each row on all other rows; rows are VMs,
    columns samples. None when there are not more samples than rows or a fit is singular (CloudSim
    then falls back to MMT)."""
    n, m = histories.shape
    if n < 2 or m <= n:
        return None
    out = np.empty(n)
    for i in range(n):
        x = np.column_stack([np.ones(m), np.delete(histories, i, axis=0).T])
        y = histories[i]
        q, r = np.linalg.qr(x)
        if np.any(np.abs(np.diag(r)) <= 1e-12 * max(1.0, np.abs(r).max())):
            return None
        beta = np.linalg.solve(r, q.T @ y)
        res = y - x @ beta
        sst = ((y - y.mean()) ** 2).sum()
        out[i] = 1 - (res @ res) / sst if sst > 0 else np.nan
    return out
