"""What a valid scenario asks that the engine will never do: hosts whose memory their hypervisor keeps whole,
guests larger than every host they can run on, and options its kind of workload ignores. Warnings, not
errors: the scenario runs, but not as its author may think. ``cloudsim validate`` and ``cloudsim run`` print
them (on stderr) before anything starts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cloudsim.engine.cluster import Cluster
from cloudsim.scenario.schema import GuestShape, Scenario


def _trace(s: Scenario) -> bool:
    return s.workload.trace is not None


def _no_migration(s: Scenario) -> bool:
    return s.consolidation is not None and s.consolidation.allocation != "migrate"


@dataclass(frozen=True)
class Ignored:
    """An option that scenarios of one kind do not use, and why (from the engine's code paths)."""

    path: str  # dotted option path, as ``--set`` takes it
    kind: str  # the scenarios that ignore it, in words
    applies: Callable[[Scenario], bool]
    why: str


_DETECTION = "migrates nothing, so it detects no overload and selects no VM"
_DETECTION_KEYS = ("detector", "safety", "selection", "compat", "wake", "retarget", "underload_below", "max_migrations")

#: Every option some kind of scenario ignores. A warning is given when the scenario sets it (in the file or
#: with ``--set``) and is of that kind.
IGNORED: tuple[Ignored, ...] = (
    Ignored(
        "placement.policy",
        "a trace workload without faults",
        lambda s: _trace(s) and s.faults is None,
        "trace VMs are placed by CloudSim's own allocation (first fit; power-aware best fit with "
        "consolidation.allocation: migrate), and consolidation picks destinations by power-aware best fit; "
        "the policy places only guests restarted after a host failure or drain",
    ),
    Ignored(
        "overheads",
        "a trace workload with mode: none",
        lambda s: s.workload.trace is not None and s.workload.trace.mode == "none",
        "workload.trace.mode: none is CloudSim's model, with no virtualization overhead at all",
    ),
    *(
        Ignored(f"consolidation.{key}", "consolidation.allocation npa or dvfs", _no_migration, _DETECTION)
        for key in _DETECTION_KEYS
    ),
)


def _is_set(s: Scenario, path: str) -> bool:
    """Whether the scenario gave ``path`` itself (in its file or with ``--set``), not by default."""
    node: object = s
    for part in path.split("."):
        if node is None or part not in getattr(node, "model_fields_set", ()):
            return False
        node = getattr(node, part)
    return node not in ({}, [], None)


def ignored_options(s: Scenario) -> list[str]:
    """One message per option the scenario sets and its kind ignores (see :data:`IGNORED`)."""
    return [f"{x.path}: ignored on {x.kind}: {x.why}" for x in IGNORED if x.applies(s) and _is_set(s, x.path)]


def _guest_groups(s: Scenario) -> list[tuple[str, GuestShape]]:
    """(field path and name, shape) of each generated class and each listed guest."""
    w = s.workload
    out: list[tuple[str, GuestShape]] = []
    for k, c in enumerate(w.classes or []):
        out.append((f"workload.classes[{k}] ({c.name})", c))
    for k, g in enumerate(w.guests or []):
        out.append((f"workload.guests[{k}]" + (f" ({g.name})" if g.name else ""), g))
    return out


def oversized_guests(s: Scenario, cl: Cluster | None = None) -> list[str]:
    """One message per guest group and resource that no host it can run on could hold even empty: the
    guest's reservation (overhead included) against the host's capacity x overcommit (memory net of the
    host's reservation), as placement checks it. Such guests are all rejected at run time."""
    cl = cl if cl is not None else Cluster(s)
    oc = s.placement.overcommit
    cpu_booked = s.dynamics.model != "cloudsim"  # the cloudsim model books no CPU at placement
    out: list[str] = []
    for where, shape in _guest_groups(s):
        costs = cl.costs(shape)
        ok = [k for k, c in enumerate(costs) if c.compatible]
        if not ok:
            out.append(f"{where}: no host group can run {shape.mode.value} / {shape.os.value} guests "
                       f"({costs[0].why}); every such guest will be rejected")  # fmt: skip
            continue
        before = len(out)
        size = f"{shape.vcpus} vCPUs / {shape.memory_gib:g} GiB"
        first = {k: int(np.flatnonzero(cl.group == k)[0]) for k in ok}  # a host of each group
        reserve = {k: float(cl.reserve_mib[h]) for k, h in first.items()}
        cpu_cap = {k: float(cl.cpu_mips[h]) * oc.cpu for k, h in first.items()}
        mem_cap = {k: float(cl.mem_mib[h]) * oc.memory - reserve[k] for k, h in first.items()}
        if cpu_booked and all(costs[k].cpu_reserved_mips > cpu_cap[k] * (1 + 1e-9) for k in ok):
            big = max(ok, key=lambda k: cpu_cap[k])
            g = cl.groups[big]
            out.append(
                f"{where}: {size} needs {costs[big].cpu_reserved_mips:,.0f} MIPS with its overhead on the largest "
                f"host it can run on, {g.name} ({g.cpu.cores} cores x {g.cpu.mips_per_core:g} MIPS x cpu overcommit "
                f"{oc.cpu:g} = {cpu_cap[big]:,.0f} MIPS); every such guest will be rejected"
            )
        if all(costs[k].mem_mib > mem_cap[k] * (1 + 1e-9) for k in ok):
            big = max(ok, key=lambda k: mem_cap[k])
            g = cl.groups[big]
            out.append(
                f"{where}: {size} needs {costs[big].mem_mib:,.0f} MiB with its overhead on the largest host it "
                f"can run on, {g.name} ({g.memory_gib:g} GiB x memory overcommit {oc.memory:g}, less "
                f"{reserve[big]:,.0f} MiB host reservation = {mem_cap[big]:,.0f} MiB); every such guest will be "
                "rejected"
            )
        if len(out) == before and not any(
            (not cpu_booked or costs[k].cpu_reserved_mips <= cpu_cap[k] * (1 + 1e-9))
            and costs[k].mem_mib <= mem_cap[k] * (1 + 1e-9)
            for k in ok
        ):
            names = ", ".join(cl.groups[k].name for k in ok)
            out.append(f"{where}: {size} fits no empty host it can run on ({names}): each lacks CPU or memory; "
                       "every such guest will be rejected")  # fmt: skip
    return out


def full_hosts(s: Scenario, cl: Cluster | None = None) -> list[str]:
    """One message per host group whose memory (x memory overcommit) is no more than what the host keeps for
    itself before any guest (its hypervisor's or host OS's reservation, and a container runtime's): placement
    puts no guest there, and a drain or failure elsewhere finds no room there either."""
    cl = cl if cl is not None else Cluster(s)
    oc = s.placement.overcommit.memory
    out: list[str] = []
    for k, g in enumerate(cl.groups):
        h = int(np.flatnonzero(cl.group == k)[0])
        reserve, cap = float(cl.reserve_mib[h]), float(cl.mem_mib[h]) * oc
        if reserve > 0 and cap <= reserve:
            out.append(
                f"hosts[{k}] ({g.name}): {g.memory_gib:g} GiB x memory overcommit {oc:g} = {cap:,.0f} MiB is no more "
                f"than the {reserve:,.0f} MiB a {g.hypervisor.product} host keeps for itself; no guest will be "
                "placed on these hosts"
            )
    return out


def late_guests(s: Scenario) -> list[str]:
    """Listed guests that arrive at or after the end: the run never places them."""
    late = [(k, g) for k, g in enumerate(s.workload.guests or []) if g.arrival >= s.duration]
    if not late:
        return []
    k, g = late[0]
    first = f"workload.guests[{k}]" + (f" ({g.name})" if g.name else "")
    n = len(s.workload.guests or [])
    who = "every listed guest arrives" if len(late) == n else f"{len(late)} of the {n} listed guests arrive"
    who += "s" if len(late) == 1 and n > 1 else ""
    return [f"{first}: {who} at or after the end of the run (duration {s.duration:g} s), so the run never "
            "places them; lengthen duration or move their arrival"]  # fmt: skip


def scenario_warnings(s: Scenario) -> list[str]:
    """Every warning about a valid scenario: hosts with no room, oversized guests, guests that come too late,
    then ignored options."""
    cl = Cluster(s)
    return full_hosts(s, cl) + oversized_guests(s, cl) + late_guests(s) + ignored_options(s)
