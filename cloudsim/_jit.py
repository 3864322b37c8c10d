"""Whether numba's disk cache already holds a run's kernels. The first run after an install or upgrade
compiles them (a minute or more on a small machine), and the run says so rather than seeming to hang."""

from __future__ import annotations

from typing import Any


def uncached(*dispatchers: Any) -> bool:
    """Whether any of these ``@njit(cache=True)`` functions has no valid entry in numba's cache: no index, or
    one written for another version of its source (which numba replaces by compiling again). Unknown numba
    internals answer False: say nothing rather than something wrong."""
    for dispatcher in dispatchers:
        try:
            if not dispatcher._cache._cache_file._load_index():
                return True
        except Exception:  # private numba API: never fail a run over a status line
            return False
    return False


def run_kernels(scenario: Any) -> tuple[Any, ...]:
    """Kernels every run of ``scenario``'s kind reaches: the shards' rows and sums and the recorder's, and the
    consolidation step's when guests migrate. (The placer's and the fair model's events are not reached by
    trace-driven runs.)"""
    from cloudsim.metrics.recorder import _mode_sums
    from cloudsim.model.shard import _allocate_rows, _report_sums
    from cloudsim.placement import kernels

    c = scenario.consolidation
    step = (kernels.index_build, kernels.host_views, kernels.underload_pass)
    return (_allocate_rows, _report_sums, _mode_sums, *(step if c is not None and c.allocation == "migrate" else ()))


def run_kernels_uncached(scenario: Any) -> bool:
    """Whether a run of ``scenario`` will compile kernels first (see :func:`run_kernels`)."""
    return uncached(*run_kernels(scenario))
