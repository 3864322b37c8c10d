"""The controller's decision logic, pure (no Ray): filter -> score pipeline, named policies, and one decision
explained host by host."""

from cloudsim.placement.explain import Explanation, HostOutcome, Term, explain
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
    "Explanation",
    "HostOutcome",
    "Policy",
    "Request",
    "Snapshot",
    "Term",
    "decide",
    "explain",
    "get_policy",
    "policy_names",
]
