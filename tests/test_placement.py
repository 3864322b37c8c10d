"""The filter -> score pipeline and the named policies, table-driven with the hand calculation."""

from __future__ import annotations

import numpy as np
import pytest

from cloudsim.model.shard import power_w
from cloudsim.placement import POLICIES, Request, Snapshot, decide, get_policy, policy_names


def snapshot(cpu_used, mem_used, cap=10_000.0):
    n = len(cpu_used)
    return Snapshot(
        cpu_cap=np.full(n, cap),
        mem_cap=np.full(n, cap),
        cpu_used=np.array(cpu_used, dtype=float),
        mem_used=np.array(mem_used, dtype=float),
        guests=np.zeros(n, dtype=int),
        power_curve_w=np.tile(np.linspace(100.0, 200.0, 11), (n, 1)),  # a linear 100-200 W server
    )


def request(cpu, mem, n, compatible=None):
    ok = np.ones(n, dtype=bool) if compatible is None else np.array(compatible)
    return Request(0, np.full(n, float(cpu)), np.full(n, float(mem)), ok, lambda h: f"host {h}: wrong mode")


# Three hosts of 10,000 MIPS and 10,000 MiB; the guest asks 3,000 MIPS and 2,000 MiB.
#   h0 used (6000, 2000) -> after (0.9, 0.4): mean 0.65, std 0.25, free before (0.4, 0.8), residual (0.1, 0.6)
#   h1 used (2000, 7000) -> after (0.5, 0.9): mean 0.70, std 0.20, free before (0.8, 0.3), residual (0.5, 0.1)
#   h2 empty             -> after (0.3, 0.2): mean 0.25, std 0.05, free before (1.0, 1.0), residual (0.7, 0.8)
THREE = ([6000, 2000, 0], [2000, 7000, 0])


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("first-fit", 0),  # all fit; the first in host order
        ("best-fit", 1),  # most allocated after: 0.70 > 0.65 > 0.25
        ("worst-fit", 2),  # least allocated after: 0.75 > 0.35 > 0.30
        # dot(demand, free): h0 0.3*0.4 + 0.2*0.8 = 0.28; h1 0.3*0.8 + 0.2*0.3 = 0.30; h2 0.3 + 0.2 = 0.50
        ("dot-product", 2),
        # |residual|^2: h0 0.01 + 0.36 = 0.37; h1 0.25 + 0.01 = 0.26; h2 0.49 + 0.64 = 1.13 -> smallest h1
        ("l2-norm", 1),
        # min-max normalised: balanced (1-std) h0 0, h1 0.25, h2 1; most allocated h0 0.889, h1 1, h2 0
        # totals h0 0.889, h1 1.25, h2 1.0 -> h1
        ("balanced", 1),
    ],
)
def test_policy_choice(policy, expected):
    d = decide(get_policy(policy), snapshot(*THREE), request(3000, 2000, 3))
    assert d.host == expected, d


def test_balanced_prefers_even_fill_where_best_fit_ties():
    # request (1000, 1000). h0 used (8000, 0) -> after (0.9, 0.1): mean 0.5, std 0.4
    #                       h1 used (4000, 4000) -> after (0.5, 0.5): mean 0.5, std 0
    #                       h2 empty -> after (0.1, 0.1): mean 0.1, std 0
    s, r = snapshot([8000, 4000, 0], [0, 4000, 0]), request(1000, 1000, 3)
    assert decide(get_policy("best-fit"), s, r).host == 0  # tie 0.5 = 0.5 -> lowest id
    assert decide(get_policy("balanced"), s, r).host == 1  # totals h0 1 + 0, h1 1 + 1, h2 0 + 1


def test_ties_go_to_the_lowest_host_id():
    s, r = snapshot([0, 0, 0, 0], [0, 0, 0, 0]), request(100, 100, 4)
    for name in policy_names():
        assert decide(get_policy(name), s, r).host == 0, name


def test_capacity_is_inclusive():
    # exactly full after placement still fits: 7000 + 3000 = 10000
    d = decide(get_policy("best-fit"), snapshot([7000], [0]), request(3000, 0, 1))
    assert d.host == 0


def test_rejection_records_every_filter_and_the_binding_one():
    # h0 incompatible; h1 lacks cpu (free 1000 < 3000); h2 lacks memory (free 1000 < 2000)
    s = snapshot([0, 9000, 0], [0, 0, 9000])
    d = decide(get_policy("best-fit"), s, request(3000, 2000, 3, compatible=[False, True, True]))
    assert d.host is None
    assert d.rejected_by == {"incompatible": 1, "insufficient_cpu": 1, "insufficient_memory": 1}
    assert d.reason == "insufficient_memory"  # the filter that removed the last candidate
    assert d.detail.startswith("0/3 hosts fit: 1 incompatible (host 0: wrong mode)")
    assert "insufficient cpu (requested 3000 MIPS, most free 1000)" in d.detail
    assert "insufficient memory (requested 2000 MiB, most free 1000)" in d.detail


def test_a_full_host_of_the_only_compatible_type_is_a_capacity_rejection():
    # two hosts cannot run the guest at all; the one that can is full: the guest waits on capacity
    s = snapshot([0, 0, 9500], [0, 0, 0])
    d = decide(get_policy("first-fit"), s, request(1000, 10, 3, compatible=[False, False, True]))
    assert (d.host, d.reason) == (None, "insufficient_cpu")
    assert d.rejected_by == {"incompatible": 2, "insufficient_cpu": 1}


def test_unknown_policy_lists_the_known_ones():
    with pytest.raises(KeyError) as exc:
        get_policy("tetris")
    for name in ("first-fit", "best-fit", "worst-fit", "dot-product", "balanced"):
        assert name in str(exc.value)


def test_every_policy_has_a_description_and_only_known_scorers():
    from cloudsim.placement import SCORERS

    assert {"first-fit", "best-fit", "worst-fit", "dot-product", "balanced"} <= set(POLICIES)
    for p in POLICIES.values():
        assert p.description and set(p.weights) <= set(SCORERS)


G4 = [86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117]  # SPECpower P1 (HP ML110 G4)
G5 = [93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135]  # SPECpower P2 (HP ML110 G5)


@pytest.mark.parametrize(
    ("used", "curves", "expected"),
    [
        # +1000 of 10000 MIPS: h0 G4 0.6 -> 0.7: 106 -> 108 (+2.0); h1 G5 empty 0 -> 0.1: 93.7 -> 97 (+3.3);
        # h2 G5 0.3 -> 0.4: 105 -> 110 (+5.0): h0
        ([6000, 0, 3000], [G4, G5, G5], 0),
        # h0 G5 0.4 -> 0.5: 110 -> 116 (+6.0); h1 G5 empty (+3.3): waking the empty host adds least
        ([4000, 0], [G5, G5], 1),
        # half a decile: h0 G4 0.25 -> 0.35: 94.3 -> 97.75 (+3.45); h1 G5 0.05 -> 0.15: 95.35 -> 99 (+3.65)
        ([2500, 500], [G4, G5], 0),
    ],
)
def test_power_aware_takes_the_least_power_increase(used, curves, expected):
    s = snapshot(used, [0] * len(used))
    s.power_curve_w = np.array(curves, dtype=float)
    assert decide(get_policy("power-aware"), s, request(1000, 100, len(used))).host == expected


# ------------------------------------------------------------------- the compiled pipeline, exactly
# The numpy pipeline the compiled one replaced, kept here as the oracle: every policy must pick the same
# host with the same score on random snapshots, ties and incompatible hosts included.


def _reference_scores(name, s, cpu_r, mem_r, over_r, h):
    cpu = (s.cpu_used[h] + cpu_r[h]) / s.cpu_cap[h]
    mem = (s.mem_used[h] + mem_r[h]) / s.mem_cap[h]
    if name == "lowest_index":
        return -h.astype(np.float64)
    if name == "most_allocated":
        return (cpu + mem) / 2
    if name == "least_allocated":
        return 1.0 - (cpu + mem) / 2
    if name == "alignment":
        d = np.stack([cpu_r[h] / s.cpu_cap[h], mem_r[h] / s.mem_cap[h]], axis=1)
        free = np.stack([1 - s.cpu_used[h] / s.cpu_cap[h], 1 - s.mem_used[h] / s.mem_cap[h]], axis=1)
        return (d * free).sum(axis=1)
    if name == "l2_residual":
        return -((1.0 - cpu) ** 2 + (1.0 - mem) ** 2)
    if name == "balanced":
        mean = (cpu + mem) / 2
        return 1.0 - np.sqrt(((cpu - mean) ** 2 + (mem - mean) ** 2) / 2)
    if name == "overhead":
        return -over_r[h]
    curve = s.power_curve_w[h]
    now = power_w(curve, s.cpu_used[h] / s.cpu_cap[h])
    return -(power_w(curve, (s.cpu_used[h] + cpu_r[h]) / s.cpu_cap[h]) - now)


def _twins(policy, s, group):
    """Hosts not scored: empty and in the same state as the first empty host of their group (not with
    lowest_index, whose score is the host id)."""
    twin = np.zeros(len(group), dtype=bool)
    if "lowest_index" in policy.weights:
        return twin
    first = {}
    for h in np.flatnonzero(s.guests == 0):
        f = first.setdefault(int(group[h]), int(h))
        same = [s.cpu_used, s.mem_used, s.cpu_cap, s.mem_cap]
        if "power_increase" in policy.weights:
            same += [s.power_curve_w[:, j] for j in range(s.power_curve_w.shape[1])]
        twin[h] = f != h and all(x[h] == x[f] for x in same)
    return twin


def _reference_decide(policy, s, r):
    """(winner, its score, runner-up, its score); the runner-up is the best other host that is not a twin."""
    cpu_r, mem_r, ok_r, over_r = r.cpu, r.mem, r.compatible, r.group_overhead[r.group]
    alive = ok_r.copy()
    alive &= s.cpu_used + cpu_r <= s.cpu_cap * (1 + 1e-9)
    alive &= s.mem_used + mem_r <= s.mem_cap * (1 + 1e-9)
    cand = np.flatnonzero(alive)
    if len(cand) == 0:
        return None, None, None, None
    total = np.zeros(len(cand))
    for name, weight in policy.weights.items():
        x = _reference_scores(name, s, cpu_r, mem_r, over_r, cand)
        lo, hi = x.min(), x.max()
        norm = np.zeros_like(x) if hi - lo <= 1e-12 * max(1.0, abs(hi)) else (x - lo) / (hi - lo)
        total += weight * norm
    best = int(np.argmax(total))
    others = np.flatnonzero(~_twins(policy, s, r.group)[cand] & (np.arange(len(cand)) != best))
    if len(others) == 0:
        return int(cand[best]), float(total[best]), None, None
    second = int(others[np.argmax(total[others])])
    return int(cand[best]), float(total[best]), int(cand[second]), float(total[second])


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_compiled_pipeline_decides_as_the_numpy_one(policy):
    rng = np.random.default_rng(7)
    p = get_policy(policy)
    for trial in range(300):
        n = int(rng.integers(1, 40))
        groups = int(rng.integers(1, 4))
        group = rng.integers(0, groups, n).astype(np.int64)
        cap_cpu = np.array([8000.0, 16000.0, 41600.0])[group]
        cap_mem = np.array([16384.0, 65536.0, 131072.0])[group]
        coarse = trial % 2 == 0  # coarse steps make exact ties common
        steps = rng.integers(0, 5, n) if coarse else rng.random(n) * 4
        curves = np.sort(rng.uniform(50, 300, (groups if trial % 3 else n, 11)), axis=1)
        s = Snapshot(
            cpu_cap=cap_cpu, mem_cap=cap_mem, cpu_used=cap_cpu * steps / 4, mem_used=cap_mem * rng.integers(0, 5, n) / 4,
            guests=rng.integers(0, 2, n), power_curve_w=curves[group] if trial % 3 else curves,
        )  # fmt: skip
        s.cpu_used[s.guests == 0] = 0.0  # an empty host: nothing booked (identical states within a group)
        r = Request(0, rng.choice([500.0, 2000.0, 4000.0], groups), rng.choice([1024.0, 4096.0], groups),
                    rng.random(groups) < 0.85, group=group,
                    overhead=rng.choice([0.011, 0.023, 0.101], groups))  # fmt: skip
        want = _reference_decide(p, s, r)
        d = decide(p, s, r)
        assert (d.host, d.score, d.runner_up, d.runner_up_score) == want, (policy, trial)
        if want[0] is None:
            assert d.reason in ("incompatible", "insufficient_cpu", "insufficient_memory")


# --------------------------------------------------------------------------- overhead-aware placement
# Hosts of 10,000 MIPS and 10,000 MiB in two groups: g0 a Type 2 desktop, g1 KVM. The guest reserves
# (2000 MIPS, 1000 MiB) on g0, where 5 % of its reservation is overhead, and (1800, 1000) on g1 (1 %).
# overhead-aware = most_allocated x1 + overhead x2 (both min-max normalised over the candidates).


def _two_types(cpu_used, mem_used, group):
    s = snapshot(cpu_used, mem_used)
    r = Request(0, np.array([2000.0, 1800.0]), np.array([1000.0, 1000.0]), np.ones(2, dtype=bool),
                group=np.array(group, dtype=np.int64), overhead=np.array([0.05, 0.01]))  # fmt: skip
    return s, r


@pytest.mark.parametrize(
    ("cpu_used", "mem_used", "group", "best_fit", "overhead_aware"),
    [
        # all empty. most allocated after: h0 (0.20 + 0.10) / 2 = 0.15, h1 (0.18 + 0.10) / 2 = 0.14, so best
        # fit takes the desktop, fuller only by its overhead. overhead-aware: h0 1 x 1 + 0 x 2 = 1,
        # h1 0 x 1 + 1 x 2 = 2 (h2 is h1's twin) -> h1
        ([0, 0, 0], [0, 0, 0], [0, 1, 1], 0, 1),
        # a half-full KVM host h1: after (0.38, 0.30) -> 0.34; h0 0.15, h2 0.14. normalised over 0.14..0.34:
        # h0 0.05, h1 1, h2 0. overhead-aware: h0 0.05 + 0 = 0.05, h1 1 + 2 = 3, h2 0 + 2 = 2 -> h1 (packs KVM)
        ([0, 2000, 0], [0, 2000, 0], [0, 1, 1], 1, 1),
        # KVM hosts full (h1, h2 have 9,000 MIPS booked): only the desktop fits, whatever it costs
        ([0, 9000, 9000], [0, 0, 0], [0, 1, 1], 0, 0),
    ],
)
def test_overhead_aware_prefers_the_host_where_the_mode_costs_least(
    cpu_used, mem_used, group, best_fit, overhead_aware
):
    s, r = _two_types(cpu_used, mem_used, group)
    assert decide(get_policy("best-fit"), s, r).host == best_fit
    assert decide(get_policy("overhead-aware"), s, r).host == overhead_aware


def test_the_runner_up_is_the_best_other_host_and_never_the_winners_twin():
    # the first case above: h2 is h1's twin (empty, same group, same state), so the runner-up is h0, 1 behind
    d = decide(get_policy("overhead-aware"), *_two_types([0, 0, 0], [0, 0, 0], [0, 1, 1]))
    assert (d.host, d.score, d.runner_up, d.runner_up_score) == (1, 2.0, 0, 1.0)
    # one candidate: no runner-up
    d = decide(get_policy("overhead-aware"), *_two_types([0, 9000, 9000], [0, 0, 0], [0, 1, 1]))
    assert (d.host, d.runner_up, d.runner_up_score) == (0, None, None)
