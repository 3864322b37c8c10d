"""Scenarios: the pydantic schema, the YAML loader, ``--set`` overrides and the one-line errors."""

from cloudsim.scenario.loader import (
    ScenarioError,
    apply_override,
    builtin_description,
    builtin_names,
    builtin_text,
    load_scenario,
    read_base,
    read_raw,
    set_value,
    validate,
    with_overrides,
)
from cloudsim.scenario.schema import Scenario, parse_duration
from cloudsim.scenario.starter import starter_text

__all__ = [
    "Scenario",
    "ScenarioError",
    "apply_override",
    "builtin_description",
    "builtin_names",
    "builtin_text",
    "load_scenario",
    "parse_duration",
    "read_base",
    "read_raw",
    "set_value",
    "starter_text",
    "validate",
    "with_overrides",
]
