"""The pure, deterministic host model (numpy): host shards, power curves, live migration, counter-based
randomness. No Ray imports here (a test asserts it)."""

from cloudsim.model.migration import MigrationModel, PreCopy
from cloudsim.model.shard import (
    DIST_CONSTANT,
    DIST_NORMAL,
    DIST_TRACE,
    DIST_UNIFORM,
    Command,
    Dynamics,
    Events,
    Fail,
    HostReport,
    HostShard,
    MigrateOut,
    Place,
    Remove,
    Repair,
    ShardSpec,
    Supersede,
    power_w,
)

__all__ = [
    "DIST_CONSTANT",
    "DIST_NORMAL",
    "DIST_TRACE",
    "DIST_UNIFORM",
    "Command",
    "Dynamics",
    "Events",
    "Fail",
    "HostReport",
    "HostShard",
    "MigrateOut",
    "MigrationModel",
    "Place",
    "PreCopy",
    "Remove",
    "Repair",
    "ShardSpec",
    "Supersede",
    "power_w",
]
