"""Small helpers shared by tests."""

from __future__ import annotations

import json
from typing import Any

#: Summary keys that legitimately differ between equal runs.
VOLATILE = ("wall_time_s", "run", "backend", "actors")


def stable_json(summary: dict[str, Any]) -> str:
    """The summary as bytes to compare, without wall time, run id and backend identity."""
    return json.dumps({k: v for k, v in summary.items() if k not in VOLATILE}, indent=2, sort_keys=True)
