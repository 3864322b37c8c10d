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


def run_kernels_uncached(consolidating: bool) -> bool:
    """Whether a simulation run will compile kernels first: the shard's, the placement's and the recorder's,
    and with ``consolidating`` the consolidation step's."""
    from cloudsim.metrics.recorder import _mode_sums
    from cloudsim.model.shard import _fair_events
    from cloudsim.placement import kernels
    from cloudsim.placement.placer import _sync_and_pick

    extra = (kernels.overload_pass, kernels.underload_pass) if consolidating else ()
    return uncached(_fair_events, _sync_and_pick, _mode_sums, *extra)
