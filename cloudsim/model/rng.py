"""Counter-based random numbers: a draw is a pure function of (seed, guest id, tick, stream).

A guest's utilization at tick ``k`` must not depend on which shard or actor holds the guest, on how
many other guests it shares that shard with, or on migrations; a stateful generator per shard would
break all three. SplitMix64 (Steele, Lea & Flood, OOPSLA 2014) over the packed key is a fast, well-mixed
hash, compiled over whole arrays.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_MASK = 0xFFFFFFFFFFFFFFFF


@njit(cache=True, nogil=True, inline="always")
def _mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True, inline="always")
def stream_key(seed: np.uint64, tick: np.uint64, stream: np.uint64) -> np.uint64:
    """The key of (seed, tick, stream) that :func:`draw` mixes each id into."""
    key = _mix(seed + np.uint64(_GOLDEN))
    return _mix(key ^ (tick << np.uint64(32) | stream))


@njit(cache=True, nogil=True, inline="always")
def draw(key: np.uint64, gid: np.int64) -> float:
    """The uniform double in [0, 1) of one id under ``key`` (:func:`stream_key`)."""
    z = _mix(key + np.uint64(gid) * np.uint64(_GOLDEN))
    return np.float64(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True)
def _uniform(seed: np.uint64, ids: np.ndarray, tick: np.uint64, stream: np.uint64) -> np.ndarray:
    key = stream_key(seed, tick, stream)
    out = np.empty(ids.shape[0])
    for i in range(ids.shape[0]):
        out[i] = draw(key, ids[i])
    return out


def words(seed: int, tick: int) -> tuple[np.uint64, np.uint64]:
    """``seed`` and ``tick`` as the compiled functions take them (modulo 2^64 and 2^32)."""
    return np.uint64(seed & _MASK), np.uint64(tick & 0xFFFFFFFF)


def uniform(seed: int, ids: np.ndarray, tick: int, stream: int = 0) -> np.ndarray:
    """Uniform doubles in [0, 1), one per id, for (seed, tick, stream). Same inputs, same outputs (64-bit
    arithmetic modulo 2^64, compiled)."""
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    s, k = words(seed, tick)
    return _uniform(s, ids, k, np.uint64(stream & 0xFFFFFFFF))
