"""Small helpers shared by tests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from cloudsim.api import WALL_CLOCK

#: Summary keys that differ between equal runs on different backends: the wall times (the run's, the
#: start-up's and their total), and what names the backend (its name, its actor count, the Ray nodes holding
#: the actors).
BACKEND_KEYS = (*WALL_CLOCK, "backend", "actors", "nodes")

#: Summary keys that legitimately differ between equal runs: those, and the run id.
VOLATILE = ("run", *BACKEND_KEYS)


def stable_json(summary: dict[str, Any]) -> str:
    """The summary as bytes to compare, without wall time, run id and backend identity."""
    return json.dumps({k: v for k, v in summary.items() if k not in VOLATILE}, indent=2, sort_keys=True)


def same_run_json(summary: dict[str, Any]) -> str:
    """The summary as bytes to compare between backends, run id included: all but :data:`BACKEND_KEYS`."""
    return json.dumps({k: v for k, v in summary.items() if k not in BACKEND_KEYS})


def processes_with(texts: list[str]) -> list[int]:
    """The processes with one of ``texts`` on their command line, and their descendants (Linux ``/proc``):
    every process of a Ray node given its temp dir, its workers too, which do not have it."""
    parent, found = {}, set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                parent[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):  # gone meanwhile
                continue
            if any(t in cmdline for t in texts):
                found.add(int(entry.name))
    while more := {p for p, pp in parent.items() if pp in found and p not in found}:
        found |= more
    return sorted(found)


def side_by_side(
    cmds: list[list[str]], envs: list[dict[str, str]] | None = None, timeout_s: float = 300, **popen: Any
) -> list[subprocess.CompletedProcess]:
    """Run the commands at the same time (text output captured; ``envs``: each one's environment; ``popen``:
    further Popen arguments, such as ``cwd``) and wait for all; none is left running if one times out or the
    caller is stopped."""
    envs = envs or [None] * len(cmds)
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **popen)
        for cmd, env in zip(cmds, envs, strict=True)
    ]
    try:
        outputs = [p.communicate(timeout=timeout_s) for p in procs]
        return [subprocess.CompletedProcess(p.args, p.returncode, *o) for p, o in zip(procs, outputs, strict=True)]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()


#: A small Azure V1 data folder (the real one's format, see cloudsim/workload/azure.py): three flavors;
#: duration bins 0 (0 s), 1 (300 s), 2 (600-1200 s), 3 (1500 s); three 300-s bins of arrivals; censor at 1800 s.
AZURE_FLAVORS = "1,0.75 a\n1,1.75 b\n2,3.5 g\n"
AZURE_INTERVALS = "0 0\n300 1\n600 2\n900 2\n1200 2\n1500 3\n"
AZURE_ARRIVALS = "600 b,b,|,g,|\n900 a,|\n1500 g,g,g,|\n"
AZURE_LIFETIMES = "600 U1,U1,|,C2,|\n900 U2,|\n1500 U0,C0,U1,|\n"


def write_azure(
    root: Path,
    *,
    arrivals: str = AZURE_ARRIVALS,
    lifetimes: str = AZURE_LIFETIMES,
    flavors: str = AZURE_FLAVORS,
    intervals: str = AZURE_INTERVALS,
    split: str = "test",
    censor_s: int = 1800,
) -> Path:
    """Write an Azure V1 data folder (maps/, traces/) under ``root`` and return it."""
    (root / "maps").mkdir(parents=True, exist_ok=True)
    (root / "traces").mkdir(exist_ok=True)
    (root / "maps" / "flav_map.txt").write_text(flavors)
    (root / "maps" / "v1.interval_map.txt").write_text(intervals)
    (root / "traces" / f"v1.{split}.txt").write_text(arrivals)
    (root / "traces" / f"v1.{split}.c{censor_s}.txt").write_text(lifetimes)
    return root
