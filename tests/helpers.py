"""Small helpers shared by tests."""

from __future__ import annotations

import json
from typing import Any

#: Summary keys that differ between equal runs on different backends: the wall time, and what names the
#: backend (its name, its actor count, the Ray nodes holding the actors).
BACKEND_KEYS = ("wall_time_s", "backend", "actors", "nodes")

#: Summary keys that legitimately differ between equal runs: those, and the run id.
VOLATILE = ("run", *BACKEND_KEYS)


def stable_json(summary: dict[str, Any]) -> str:
    """The summary as bytes to compare, without wall time, run id and backend identity."""
    return json.dumps({k: v for k, v in summary.items() if k not in VOLATILE}, indent=2, sort_keys=True)


def same_run_json(summary: dict[str, Any]) -> str:
    """The summary as bytes to compare between backends, run id included: all but :data:`BACKEND_KEYS`."""
    return json.dumps({k: v for k, v in summary.items() if k not in BACKEND_KEYS})
