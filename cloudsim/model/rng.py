"""Counter-based random numbers: a draw is a pure function of (seed, guest id, tick, stream).

A guest's utilization at tick ``k`` must not depend on which shard or actor holds the guest, on how
many other guests it shares that shard with, or on migrations; a stateful generator per shard would
break all three. SplitMix64 (Steele, Lea & Flood, OOPSLA 2014) over the packed key is a fast, well-mixed
hash that numpy evaluates on whole arrays.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def uniform(seed: int, ids: np.ndarray, tick: int, stream: int = 0) -> np.ndarray:
    """Uniform doubles in [0, 1), one per id, for (seed, tick, stream). Same inputs, same outputs."""
    with np.errstate(over="ignore"):
        key = _mix(np.full(ids.shape, np.uint64(seed & 0xFFFFFFFFFFFFFFFF)) + _GOLDEN)
        key = _mix(key ^ (np.uint64(tick & 0xFFFFFFFF) << np.uint64(32) | np.uint64(stream & 0xFFFFFFFF)))
        z = _mix(key + ids.astype(np.uint64) * _GOLDEN)
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
