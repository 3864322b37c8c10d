"""The pure, deterministic host model (numpy): host shards, power curves, counter-based randomness.
No Ray imports here (a test asserts it)."""

from cloudsim.model.shard import (
    DIST_CONSTANT,
    DIST_NORMAL,
    DIST_UNIFORM,
    Command,
    HostReport,
    HostShard,
    Place,
    Remove,
    ShardSpec,
    power_w,
)

__all__ = [
    "DIST_CONSTANT",
    "DIST_NORMAL",
    "DIST_UNIFORM",
    "Command",
    "HostReport",
    "HostShard",
    "Place",
    "Remove",
    "ShardSpec",
    "power_w",
]
