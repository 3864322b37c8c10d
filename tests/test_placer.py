"""The placer's decisions (an index kept up to date as hosts change) against the pipeline's pass, which
looks at every host: the same host, score, runner-up and filter counts, on random runs full of ties."""

from __future__ import annotations

import numpy as np
import pytest

from cloudsim.placement.placer import Placer
from cloudsim.placement.policies import FILTERS, POLICIES, Request, Snapshot, decide
from cloudsim.scenario.schema import SPECPOWER_TABLES


def _cluster(rng: np.random.Generator, hosts: int) -> tuple[Snapshot, np.ndarray]:
    """Hosts in three groups (two sizes, two power curves), all empty."""
    group = rng.integers(0, 3, hosts)
    cpu = np.array([8000.0, 8000.0, 20000.0])[group]
    mem = np.array([16384.0, 16384.0, 65536.0])[group]
    curves = np.array([SPECPOWER_TABLES["P2"][1], SPECPOWER_TABLES["P4"][1], SPECPOWER_TABLES["P4"][1]])[group]
    reserve = np.array([512.0, 512.0, 1024.0])[group]
    snap = Snapshot(cpu_cap=cpu.copy(), mem_cap=mem.copy(), cpu_used=np.zeros(hosts), mem_used=reserve.copy(),
                    guests=np.zeros(hosts, dtype=np.int64), power_curve_w=curves.astype(float))  # fmt: skip
    return snap, group


def _shapes(group: np.ndarray) -> list[Request]:
    """Four guest shapes: what each reserves on the three groups (one shape cannot run on group 2)."""
    rows = [([1000, 1000, 1100], [2048, 2048, 2100], [1, 1, 1]), ([2500, 2500, 2600], [4096, 4096, 4096], [1, 1, 0]),
            ([500, 500, 500], [8192, 8192, 8192], [1, 1, 1]), ([4000, 4000, 4400], [1024, 1024, 1100], [1, 1, 1])]  # fmt: skip
    over = np.array([0.01, 0.02, 0.05])
    return [Request(-1, np.array(c, float), np.array(m, float), np.array(ok, bool), group=group, overhead=over)
            for c, m, ok in rows]  # fmt: skip


def _explained(s: Snapshot, r: Request) -> tuple[str, str | None]:
    """A rejection's detail and binding filter as told by numpy over every host, each filter (:data:`FILTERS`)
    in turn: what the pass's and the placer's explanations (from one compiled pass, or from the placer's tree)
    must say."""
    n = len(s.cpu_cap)
    alive, parts, binding = np.ones(n, dtype=bool), [], None
    for name, fits in FILTERS.items():
        ok = fits(s, r)
        failed = np.flatnonzero(alive & ~ok)
        if len(failed):
            if name == "incompatible":
                parts.append(f"{len(failed)} incompatible ({r.why_incompatible(int(failed[0]))})")
            else:
                free = (s.cpu_cap - s.cpu_used if name == "insufficient_cpu" else s.mem_cap - s.mem_used)[failed]
                best = int(failed[np.argmax(free)])
                unit, ask = ("MIPS", r.cpu) if name == "insufficient_cpu" else ("MiB", r.mem)
                what = f"{len(failed)} {name.replace('_', ' ')}"
                parts.append(f"{what} (requested {ask[best]:.0f} {unit}, most free {free.max():.0f})")
            if not (alive & ok).any() and binding is None:
                binding = name
        alive &= ok
    return f"0/{n} hosts fit: " + ", ".join(parts), binding


def _same(a, b) -> None:
    assert (a.host, a.detail, a.rejected_by, a.score, a.runner_up, a.runner_up_score, a.binding) == (
        b.host, b.detail, b.rejected_by, b.score, b.runner_up, b.runner_up_score, b.binding)  # fmt: skip


@pytest.mark.parametrize("policy", [p for p, v in POLICIES.items() if len(v.weights) == 1])
@pytest.mark.parametrize("hosts", [1, 2, 7, 64])
def test_the_placer_decides_as_the_pass(policy, hosts):
    """Guests arrive (placed where the pass puts them), leave, hosts fail and come back; before each
    decision the placer must return exactly the pass's Decision."""
    rng = np.random.default_rng(hosts)
    snap, group = _cluster(rng, hosts)
    shapes = _shapes(group)
    placer = Placer(POLICIES[policy], snap, group, 3)
    caps = (snap.cpu_cap.copy(), snap.mem_cap.copy())
    reserve = snap.mem_used.copy()
    placed: list[tuple[int, float, float]] = []
    decisions = rejections = 0
    for _ in range(400):
        op = rng.random()
        if op < 0.6:
            r = shapes[int(rng.integers(0, len(shapes)))]
            want = decide(POLICIES[policy], snap, r)
            got = placer.decide(r)
            _same(got, want)
            decisions += 1
            if want.host is None:
                assert (want.detail, want.binding) == _explained(snap, r)
                several = decide(POLICIES["balanced"], snap, r)  # the filters do not depend on the scorers
                assert (several.detail, several.binding) == (want.detail, want.binding)
                rejections += 1
            if want.host is not None:
                h = want.host
                c, m = float(r.group_cpu[group[h]]), float(r.group_mem[group[h]])
                snap.cpu_used[h] += c
                snap.mem_used[h] += m
                snap.guests[h] += 1
                placed.append((h, c, m))
                placer.touch([h])
        elif op < 0.9 and placed:
            h, c, m = placed.pop(int(rng.integers(0, len(placed))))
            snap.cpu_used[h] -= c
            snap.mem_used[h] -= m
            snap.guests[h] -= 1
            if snap.guests[h] == 0:  # as the engine drops float residue
                snap.cpu_used[h], snap.mem_used[h] = 0.0, reserve[h]
            placer.touch([h])
        else:
            h = int(rng.integers(0, hosts))
            if snap.cpu_cap[h] == 0:
                snap.cpu_cap[h], snap.mem_cap[h] = caps[0][h], caps[1][h]
            else:
                snap.cpu_cap[h] = snap.mem_cap[h] = 0.0
            placer.touch([h])
    assert decisions > 150
    assert rejections > 50 or hosts == 64  # the small clusters fill up: their rejections were explained
