"""Host overload detectors and VM selection, as CloudSim 3.0.3 implements them (Beloglazov & Buyya 2012).

The detectors run compiled (``kernels.overloaded``), on one host or many. Each host is given by its
requested CPU utilization (the sum of its VMs' requested MIPS over the host's MIPS, not capped) and its
utilization history: up to 30 samples, newest first, the sum over the host's *current* VMs of
``vm_util * vm_mips / host_mips``, with the zero tail trimmed (``hist_len``). A detector without enough
history falls back to a static threshold of 0.7.
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

#: Detector codes of the compiled detectors (``kernels.overloaded``); LRR is the robust fit.
THR, IQR, MAD, LR, LRR = 0, 1, 2, 3, 4
DETECTOR_CODES = {"thr": THR, "iqr": IQR, "mad": MAD, "lr": LR, "lrr": LRR}


@dataclass(frozen=True)
class Detector:
    """An overload detector: ``thr`` (utilization > threshold), ``iqr`` / ``mad`` (utilization > 1 -
    s * statistic), ``lr`` / ``lrr`` (s * predicted utilization >= 1). ``lrr`` is LR with a robust fit,
    except in CloudSim 3.0.3 compatibility (``compat``), where the robust step is skipped as there."""

    name: str
    parameter: float
    compat: bool = True

    @property
    def code(self) -> tuple[int, float]:
        """(kind, parameter) for the compiled detectors (``kernels.overloaded``)."""
        robust = self.name == "lrr" and not self.compat
        return (LRR if robust else DETECTOR_CODES["lr" if self.name == "lrr" else self.name]), float(self.parameter)

    def overloaded(self, req_util: np.ndarray, hist: np.ndarray, hist_len: np.ndarray) -> np.ndarray:
        """Whether each host is overloaded: its requested utilization, its history (newest first) and the
        history's length, one row per host."""
        from cloudsim.placement import kernels  # compiled; it reads this module's constants

        kind, param = self.code
        hosts = np.arange(len(req_util))
        hist = np.ascontiguousarray(hist, dtype=np.float64)
        return kernels.overloaded_hosts(kind, param, hosts, np.asarray(req_util, dtype=np.float64),
                                        np.ones(len(hosts)), hist, np.asarray(hist_len, dtype=np.int64))  # fmt: skip


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
