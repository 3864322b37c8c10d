"""The controller's decision logic, pure (no Ray): filter -> score pipeline, named policies."""

from cloudsim.placement.policies import (
    FILTERS,
    POLICIES,
    SCORERS,
    Decision,
    Policy,
    Request,
    Snapshot,
    decide,
    get_policy,
    policy_names,
)

__all__ = [
    "FILTERS",
    "POLICIES",
    "SCORERS",
    "Decision",
    "Policy",
    "Request",
    "Snapshot",
    "decide",
    "get_policy",
    "policy_names",
]
