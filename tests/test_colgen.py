"""Column generation: the knapsack pricing, the LP bound, the pattern enumeration and the packings built
from the dual, on instances small enough to check by hand or by brute force."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from cloudsim.packing import colgen, kernels
from cloudsim.packing.bounds import l2_1d
from cloudsim.packing.engine import pack, verify
from cloudsim.packing.instance import Instance

NO_NOISE = np.zeros(0)


def _lp(w: list[int], cap: int) -> colgen.LPResult:
    w_arr = np.array(w, dtype=np.int64)
    return colgen.solve_lp(w_arr, cap, [np.arange(len(w), dtype=np.int64)], time.perf_counter() + 10.0)


def _best_pattern_by_brute_force(size, demand, value, cap) -> float:
    best = 0.0
    for counts in itertools.product(*[range(d + 1) for d in demand]):
        a = np.array(counts)
        if a @ size <= cap:
            best = max(best, float(a @ value))
    return best


def test_knapsack_matches_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(30):
        size = np.sort(rng.integers(5, 60, 5))[::-1].astype(np.int64)
        demand = rng.integers(1, 4, 5).astype(np.int64)
        value = rng.random(5)
        value[rng.integers(0, 5)] = 0.0  # a size with no value is left out
        best, patterns = colgen.knapsack(size, demand, value, 100, 3)
        assert best == pytest.approx(_best_pattern_by_brute_force(size, demand, value, 100))
        assert patterns[0] @ value == pytest.approx(best)
        for a in patterns:  # every pattern returned fits, within the demands
            assert a @ size <= 100 and (a <= demand).all() and (a >= 0).all()
        assert len({a.tobytes() for a in patterns}) == len(patterns)


def test_lp_bound_beats_l2_where_two_bins_cannot_hold_the_waste():
    # 193 units in bins of 100: L1 = L2 = 2, but the bin of the 55 holds at most 87 (55+32), so two bins
    # cannot do: the LP (7/3) says so, and search proves the optimum 3 instead of running to its limit
    w = [55, 32, 30, 29, 25, 22]
    assert l2_1d(np.array(w), 100) == 2
    lp = _lp(w, 100)
    assert lp.converged and lp.dual_value == pytest.approx(7 / 3, abs=1e-6) and lp.bound == 3
    inst = Instance("lp-bound", np.array(w)[:, None], np.array([100]))
    r = pack(inst, "search", time_limit_s=30.0)
    assert r.bins == r.lower_bound == 3 and r.proven_optimal


def test_dual_is_feasible_and_bounds_the_optimum_on_random_instances():
    rng = np.random.default_rng(11)
    for _ in range(25):
        w = rng.integers(15, 70, int(rng.integers(5, 11)))
        lp = _lp(w.tolist(), 100)
        size, demand, _ = colgen.types_of(w)
        kappa, _ = colgen.knapsack(size, demand, lp.dual, 100)
        assert kappa <= 1.0 + 1e-7  # every pattern's dual value is at most 1
        assert lp.dual @ demand == pytest.approx(lp.dual_value)
        assert l2_1d(w, 100) <= lp.bound  # the LP bound dominates Martello-Toth L2
        order = np.argsort(-w, kind="stable")
        for k in range(lp.bound - 1, 0, -1):  # no packing below the bound exists (exhaustive search)
            got = kernels.bin_completion(order, order, w[:, None], np.array([100]), k, 10**7, NO_NOISE)
            assert (got < 0).all()


def test_enumeration_lists_exactly_the_patterns_above_the_threshold():
    size = np.array([50, 40, 30, 20], dtype=np.int64)
    demand = np.array([1, 2, 2, 3], dtype=np.int64)
    value = np.array([0.5, 0.4, 0.3, 0.2])  # value = size / capacity: a pattern's value is its fill
    pats, count = colgen.enumerate_patterns(size, demand, value, 100, 0.9 - 1e-9, 1000)
    expected = {
        counts
        for counts in itertools.product(*[range(d + 1) for d in demand])
        if np.array(counts) @ size <= 100 and np.array(counts) @ size >= 90
    }
    assert count == len(expected) and {tuple(int(x) for x in a) for a in pats} == expected
    _, cut = colgen.enumerate_patterns(size, demand, value, 100, 0.9 - 1e-9, 3)
    assert cut > 3  # cut short: the caller learns there are more


def test_exact_cover_by_hand():
    # demands 2 x A, 1 x B, 1 x C; patterns AB, AC, AA, BC: the covers in 2 bins are {AB, AC} and {AA, BC}
    pats = np.array([[1, 1, 0], [1, 0, 1], [2, 0, 0], [0, 1, 1]], dtype=np.int64)
    rc = np.zeros(4)
    demand = np.array([2, 1, 1], dtype=np.int64)
    loads = np.array([90, 90, 80, 100], dtype=np.int64)
    none = np.zeros(0, dtype=np.int64)
    chosen = colgen.exact_cover(pats, rc, demand, 2, 0.0, loads, none, 100)
    assert chosen is not None and (pats[chosen].sum(axis=0) == demand).all() and len(chosen) == 2
    assert colgen.exact_cover(pats, rc, demand, 1, 0.0, loads, none, 100) is None  # one bin cannot
    # an item of 20 must also fit into the room left: only {AA, BC} leaves a bin with 20 free
    chosen = colgen.exact_cover(pats, rc, demand, 2, 0.0, loads, np.array([20]), 100)
    assert chosen is not None and sorted(chosen.tolist()) == [2, 3]
    # the reduced-cost budget: with AA and BC priced out, no cover is left
    assert colgen.exact_cover(pats, np.array([0.0, 0.0, 0.5, 0.5]), demand, 2, 0.1, loads, none, 100) is not None
    assert colgen.exact_cover(pats, np.array([0.3, 0.3, 0.0, 0.0]), demand, 2, 0.1, loads, none, 100) is not None
    assert colgen.exact_cover(pats, np.array([0.3, 0.3, 0.5, 0.5]), demand, 2, 0.1, loads, none, 100) is None


@pytest.mark.parametrize("search", ["dive", "mip"])
def test_cover_model_finds_an_exact_cover(search):
    pats = np.array([[1, 1, 0], [1, 0, 1], [2, 0, 0], [0, 1, 1], [1, 0, 0]], dtype=np.int64)
    demand = np.array([2, 1, 1], dtype=np.int64)
    model = colgen.CoverModel(pats, np.zeros(5), demand, 2, pats @ np.array([45, 45, 40]), np.zeros(0), 100)
    chosen = getattr(model, search)(time.perf_counter() + 10.0)
    assert chosen is not None and len(chosen) <= 2 and (pats[chosen].sum(axis=0) == demand).all()


def test_pack_at_bound_packs_a_perfect_instance_and_its_zero_dual_items():
    # triplets that fill bins of 100 exactly, plus small items the LP values at zero (room is left for
    # them only because the bound has waste): the packing must use the bound and place every item
    rng = np.random.default_rng(5)
    triplets = [(50, 26, 24), (49, 27, 24), (48, 27, 25), (46, 28, 26), (45, 30, 25), (44, 29, 27)]
    pairs = [(60, 35), (61, 34), (58, 36)]  # bins with 5 free: the 2s and 3s go there
    w = np.array([x for t in triplets + pairs for x in t] + [2, 3, 2], dtype=np.int64)
    w = w[rng.permutation(len(w))]
    lp = colgen.solve_lp(w, 100, [np.arange(len(w), dtype=np.int64)], time.perf_counter() + 10.0)
    assert lp.bound == 9
    got = colgen.pack_at_bound(w, 100, lp, 9, time.perf_counter() + 10.0)
    assert got is not None
    assert verify(Instance("perfect", w[:, None], np.array([100])), got) == 9


def test_search_reports_at_least_the_lp_bound():
    # Falkenauer-like: 120 items of 20..100 into bins of 150; the result is valid, never worse than FFD,
    # and its lower bound is at least the LP bound (L2 where the portfolio reached it: then L2 is optimal)
    rng = np.random.default_rng(2)
    w = rng.integers(20, 101, 120)
    inst = Instance("u120", w[:, None], np.array([150]))
    ffd = pack(inst, "ffd")
    r = pack(inst, "search", time_limit_s=2.0)
    assert verify(inst, r.assignment) == r.bins <= ffd.bins
    assert r.lower_bound >= _lp(w.tolist(), 150).bound


def test_exact_cover_agrees_with_brute_force():
    # random small pattern sets: a cover is found exactly when one exists (the search is complete when it
    # has enough nodes), and what it returns adds up to the demands within the bins
    rng = np.random.default_rng(17)
    none = np.zeros(0, dtype=np.int64)
    for _ in range(60):
        m = int(rng.integers(2, 5))
        demand = rng.integers(1, 4, m).astype(np.int64)
        pats = np.unique(rng.integers(0, 3, (int(rng.integers(2, 8)), m)), axis=0)
        pats = pats[(pats.sum(axis=1) > 0) & (pats <= demand).all(axis=1)].astype(np.int64)
        if len(pats) == 0:
            continue
        bins = int(rng.integers(1, 5))
        exists = any(
            (pats[list(combo)].sum(axis=0) == demand).all()
            for k in range(1, bins + 1)
            for combo in itertools.combinations_with_replacement(range(len(pats)), k)
        )
        chosen = colgen.exact_cover(pats, np.zeros(len(pats)), demand, bins, 0.0, np.zeros(len(pats)), none, 10, 10**6)
        assert (chosen is not None) == exists, (pats, demand, bins)
        if chosen is not None:
            assert len(chosen) <= bins and (pats[chosen].sum(axis=0) == demand).all()
