"""``cloudsim explain``: one guest's placement in a finished run, candidate by candidate.

The placement log keeps, per placed guest, the winner's total score, the runner-up and the margin: two
numbers the compiled pipeline returns anyway. The full picture (every host's filter outcome, every
candidate's per-scorer raw, normalised and weighted scores) would cost O(hosts) per decision to store, so
it is recomputed when asked: a run is deterministic (same scenario and seed, same bytes, whatever the
backend or grain), so the scenario saved with the run (``scenario.yaml``) replayed in this process up to
the guest's arrival gives the controller's exact view at that decision, which
:func:`cloudsim.placement.explain.explain` re-scores. The replay stops right after that decision; it
costs the run's time up to the guest's arrival. The replayed host is checked against the logged one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloudsim.engine.backend import LocalBackend
from cloudsim.engine.core import EventQueue
from cloudsim.engine.simulation import Simulation
from cloudsim.placement.explain import Explanation, explain
from cloudsim.scenario.schema import Scenario
from cloudsim.workload import Guest


class ExplainError(ValueError):
    """A run folder or guest that cannot be explained; the message is one line."""


@dataclass(frozen=True)
class GuestStory:
    """What the run did with one guest: its placement log entry, and the explanation of its arrival's
    decision (None when the guest was placed by CloudSim's own allocation, not a placement policy)."""

    guest: str
    entry: dict[str, Any]
    host_names: list[str]
    explanation: Explanation | None
    note: str  # how the guest was placed (the policy, or CloudSim's allocation)


class _Replay(Simulation):
    """The run again, in this process, until ``target`` arrives: its decision is explained on the view the
    controller decides on, and the run ends after that event time."""

    def __init__(self, scenario: Scenario, target: str) -> None:
        super().__init__(scenario, LocalBackend())
        self.target = target
        self.explanation: Explanation | None = None

    def _arrive(self, t: float, guest: Guest, commands: dict[int, list[Any]]) -> None:
        if guest.name == self.target and self.explanation is None:
            self.explanation = explain(self.policy, self.view, self.cluster.request(guest.id, guest.shape))
            super()._arrive(t, guest, commands)
            self.queue = EventQueue()  # nothing after this instant: the loop ends with this batch
            return
        super()._arrive(t, guest, commands)


def _regular(path: Path) -> None:
    """A run file that exists and is no regular file (a FIFO, ``/dev/zero`` linked in) would wait or read for
    ever: an :class:`ExplainError` naming it."""
    if path.exists() and not path.is_file():
        raise ExplainError(f"RUN_DIR: {str(path)!r} is not a regular file; give a folder written by cloudsim run --out")


def read_log(run_dir: Path) -> list[dict[str, Any]]:
    """The run's placement log (``placements.jsonl``), one entry per decision."""
    path = run_dir / "placements.jsonl"
    _regular(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError) as exc:  # (not UTF-8: a UnicodeDecodeError, a ValueError)
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise ExplainError(
            f"RUN_DIR: cannot read {str(path)!r} ({why}); give a folder written by cloudsim run --out"
        ) from None
    entries = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            entry = None
        if not isinstance(entry, dict) or not isinstance(entry.get("guest"), str):
            raise ExplainError(
                f"RUN_DIR: {str(path)!r} line {number}: not a placement log entry (a JSON object with a guest name)"
            )
        entries.append(entry)
    return entries


def explain_guest(run_dir: Path, guest: str) -> GuestStory:
    """Explain the arrival decision of ``guest`` (its name in the placement log) in the run saved in
    ``run_dir`` (``cloudsim run --out``). Raises :class:`ExplainError` for a folder that is not a run, a
    guest the run does not have, or a replay that does not decide as the log says."""
    log = read_log(run_dir)
    entry = next((e for e in log if e.get("guest") == guest), None)
    if entry is None:
        names = sorted({e.get("guest", "") for e in log})
        some = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        raise ExplainError(
            f"GUEST: no guest {guest!r} in this run; it placed or rejected {len(names):,} guests ({some})"
        )
    sc = _scenario(run_dir)
    if sc.workload.trace is not None:
        how = (
            "first fit"
            if sc.consolidation is None or sc.consolidation.allocation != "migrate"
            else "power-aware best fit"
        )
        note = f"placed by CloudSim's own allocation ({how}) of a trace scenario: placement.policy does not apply"
        return GuestStory(guest, entry, [], None, note)
    try:
        sim = _Replay(sc, guest)
        sim.run()
    except (ValueError, OSError) as exc:  # the run's inputs (a requests folder) moved or changed
        raise ExplainError(f"the run cannot be replayed here: {exc}") from None
    ex = sim.explanation
    if ex is None:
        raise ExplainError(f"GUEST: the replay never saw {guest!r} arrive: the run's inputs or cloudsim changed")
    got = None if ex.decision.host is None else sim.cluster.names[ex.decision.host]
    if got != entry.get("host"):
        raise ExplainError(
            f"the replay placed {guest!r} on {got or 'no host'}, the log says {entry.get('host') or 'rejected'}: "
            "the run's inputs or cloudsim changed since it ran"
        )
    return GuestStory(guest, entry, list(sim.cluster.names), ex, f"placement policy {sc.placement.policy}")


def _scenario(run_dir: Path) -> Scenario:
    """The scenario as run (``scenario.yaml``; a relative data path is taken from the current folder, as
    ``run --resume`` does)."""
    import yaml

    from cloudsim.scenario import ScenarioError
    from cloudsim.scenario.loader import with_overrides

    path = run_dir / "scenario.yaml"
    _regular(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ExplainError(
            f"RUN_DIR: cannot read {str(path)!r} ({type(exc).__name__}); give a folder written by cloudsim run --out"
        ) from None
    try:
        return with_overrides(raw)[0]
    except ScenarioError as exc:
        raise ExplainError(f"RUN_DIR: {str(path)!r}: {exc}") from None
