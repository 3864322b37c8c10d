"""The packing engine: named policies for one- and multi-dimensional bin packing, a lower bound, and a
verified result.

Constructive policies (each a documented profile):

* ``first-fit`` / ``best-fit``: items in file (arrival) order;
* ``ffd`` / ``bfd``: first / best fit decreasing by the sum of normalised sizes (plain size in 1-D);
* ``ffd-max``, ``ffd-l2``, ``bfd-max``, ``bfd-l2``: the same, ordered by the largest normalised dimension or
  the L2 norm (Panigrahy et al. 2011 "FFD-Max", "FFD-L2"); in one dimension all orderings coincide;
* ``dot-product``, ``l2-norm``: bin-centric greedy, one bin at a time (Panigrahy et al. 2011
  "DotProduct" and "Norm-based Greedy");
* ``portfolio``: the best of all of the above.

``search`` (the default) starts from ``portfolio``; while that uses more bins than the lower bound:

* in one dimension, column generation (:mod:`cloudsim.packing.colgen`) computes the LP bound, which
  raises the lower bound where it beats L2 (the search stops as soon as the bound is reached), and, when
  the LP is tight, looks for a packing into that many bins among the patterns its dual prices at (almost)
  zero reduced cost;
* exact bin completion (Korf 2002) into lower-bound bins, then randomised restarts of it (for 70 % of the
  time limit when the bound leaves no waste, where it runs first, 15 % of the time left otherwise);
* in one dimension, half of the time left goes to a consistent neighbourhood search
  (:mod:`cloudsim.packing.cns`, after Buljubašić & Vasquez 2016);
* then a large neighbourhood search with exact repair (:func:`improve_lns`) runs until the time limit.

Every result is checked by :func:`verify` before it is returned.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cloudsim.packing import cns, colgen, kernels
from cloudsim.packing.bounds import lower_bound
from cloudsim.packing.instance import Instance


class InvalidPacking(AssertionError):
    """A packing that breaks a capacity or leaves an item out: a bug, never an expected outcome."""


@dataclass(frozen=True)
class PackResult:
    """A verified packing. ``assignment[i]`` is the bin of item ``i`` (bins numbered 0..bins-1)."""

    policy: str
    bins: int
    lower_bound: int
    assignment: np.ndarray
    time_s: float

    @property
    def proven_optimal(self) -> bool:
        return self.bins == self.lower_bound

    def to_json(self) -> dict:
        return {
            "bins": self.bins,
            "lower_bound": self.lower_bound,
            "time_s": round(self.time_s, 6),
            "policy": self.policy,
            "assignment": [int(b) for b in self.assignment],
        }


def verify(inst: Instance, assignment: np.ndarray) -> int:
    """The number of bins of a valid packing; raises :class:`InvalidPacking` otherwise."""
    a = np.asarray(assignment)
    if a.shape != (inst.n,):
        raise InvalidPacking(f"{inst.name}: assignment has shape {a.shape}, expected ({inst.n},)")
    if inst.n == 0:
        return 0
    if (a < 0).any():
        raise InvalidPacking(f"{inst.name}: {int((a < 0).sum())} items not packed")
    nbins = int(a.max()) + 1
    used = np.bincount(a, minlength=nbins)
    if (used == 0).any():
        raise InvalidPacking(f"{inst.name}: bin numbers are not contiguous")
    loads = np.zeros((nbins, inst.dims), dtype=np.int64)
    np.add.at(loads, a, inst.sizes)
    if (loads > inst.capacity).any():
        b = int(np.flatnonzero((loads > inst.capacity).any(axis=1))[0])
        raise InvalidPacking(f"{inst.name}: bin {b} holds {loads[b].tolist()} > capacity {inst.capacity.tolist()}")
    return nbins


def _norm(inst: Instance) -> np.ndarray:
    return inst.sizes / inst.capacity


def _decreasing(key: np.ndarray) -> np.ndarray:
    """Indices by non-increasing key; ties keep file order (stable)."""
    return np.argsort(-key, kind="stable")


def _constructive() -> dict[str, tuple[Callable[[Instance], np.ndarray], str]]:
    def ff(order_key: Callable[[np.ndarray], np.ndarray] | None) -> Callable[[Instance], np.ndarray]:
        def run(inst: Instance) -> np.ndarray:
            nrm = _norm(inst)
            order = np.arange(inst.n) if order_key is None else _decreasing(order_key(nrm))
            return kernels.first_fit(order, inst.sizes, inst.capacity)

        return run

    def bf(order_key: Callable[[np.ndarray], np.ndarray] | None) -> Callable[[Instance], np.ndarray]:
        def run(inst: Instance) -> np.ndarray:
            nrm = _norm(inst)
            order = np.arange(inst.n) if order_key is None else _decreasing(order_key(nrm))
            return kernels.best_fit(order, inst.sizes, inst.capacity, nrm)

        return run

    def centric(rule: int) -> Callable[[Instance], np.ndarray]:
        return lambda inst: kernels.bin_centric(inst.sizes, inst.capacity, _norm(inst), rule)

    def mbs(inst: Instance) -> np.ndarray:
        nrm = _norm(inst)
        return kernels.min_bin_slack(_decreasing(nrm.sum(axis=1)), inst.sizes, inst.capacity, nrm, MBS_NODE_LIMIT)

    total = lambda x: x.sum(axis=1)  # noqa: E731
    biggest = lambda x: x.max(axis=1)  # noqa: E731
    l2 = lambda x: np.sqrt((x**2).sum(axis=1))  # noqa: E731
    return {
        "first-fit": (ff(None), "first fit in file order"),
        "best-fit": (bf(None), "best fit in file order"),
        "ffd": (ff(total), "first fit decreasing by the sum of normalised sizes"),
        "bfd": (bf(total), "best fit decreasing by the sum of normalised sizes"),
        "ffd-max": (ff(biggest), "first fit decreasing by the largest normalised size"),
        "ffd-l2": (ff(l2), "first fit decreasing by the L2 norm of the normalised sizes"),
        "bfd-max": (bf(biggest), "best fit decreasing by the largest normalised size"),
        "bfd-l2": (bf(l2), "best fit decreasing by the L2 norm of the normalised sizes"),
        "dot-product": (centric(0), "bin-centric: add the item best aligned with the residual (Panigrahy 2011)"),
        "l2-norm": (centric(1), "bin-centric: add the item leaving the smallest L2 residual (Panigrahy 2011)"),
        "mbs": (mbs, "minimum bin slack: largest item plus the best-filling subset, bin by bin (Fleszar-Hindi MBS')"),
    }


#: Largest neighbourhood (bins freed besides the least-filled one) of the LNS.
MAX_LNS_BINS = 30

#: Search nodes per bin in MBS' (bounds its time: bins x nodes x dimensions).
MBS_NODE_LIMIT = 2000

CONSTRUCTIVE = _constructive()

#: Every policy name with its one-line description.
PACKING_POLICIES: dict[str, str] = {
    **{name: desc for name, (_, desc) in CONSTRUCTIVE.items()},
    "portfolio": "the best result of all constructive policies",
    "search": (
        "portfolio, then (1-D) the LP bound by column generation and packings from its dual, exact bin "
        "completion at the lower bound (bounded), (1-D) consistent neighbourhood search, then large "
        "neighbourhood search with exact repair until the time limit"
    ),
}

DEFAULT_POLICY = "search"
DEFAULT_TIME_LIMIT_S = 1.0


def _renumber(assign: np.ndarray) -> np.ndarray:
    """Bins numbered 0..k-1 by first appearance in item order."""
    bins, first = np.unique(assign, return_index=True)
    mapping = np.empty(int(assign.max()) + 1, dtype=np.int64)
    mapping[bins[np.argsort(first)]] = np.arange(len(bins))
    return mapping[assign]


def improve_lns(
    inst: Instance,
    assign: np.ndarray,
    lb: int,
    deadline: float,
    seed: int = 0,
    node_limit: int = 20_000,
) -> np.ndarray:
    """Large neighbourhood search with exact repair: free the least-filled bin and ``r`` random others,
    drawn with probability proportional to their free space (+ a little, so full bins can be drawn too),
    and re-pack their items with :func:`kernels.bin_completion` into ``r`` bins (one bin saved). When that
    fails, re-pack them into ``r + 1`` bins together with a dummy item that leaves the least-filled bin
    room only for less than it holds now (in one dimension, chosen at random for vectors), so its load
    strictly drops and the others fill up; a bin whose load reaches zero disappears. ``r`` grows while
    repairs fail and shrinks when they succeed. Returns the best packing found (never worse)."""
    rng = np.random.default_rng(seed)
    a = assign.copy()
    ub = int(a.max()) + 1
    cap = inst.capacity
    nrm_cost = (inst.sizes / cap).sum(axis=1)
    r = 3
    while ub > lb and time.perf_counter() < deadline:
        fill = np.zeros(ub)
        np.add.at(fill, a, nrm_cost)
        worst = int(np.argmin(fill))
        others = np.delete(np.arange(ub), worst)
        # bins with free space are the ones that can take the worst bin's items: draw by waste
        waste = inst.dims - fill[others] + 1e-3
        chosen = rng.choice(others, size=min(r, len(others)), replace=False, p=waste / waste.sum())
        bins = np.concatenate([[worst], chosen])
        free = np.flatnonzero(np.isin(a, bins))
        sub = inst.sizes[free]
        order = np.argsort(-(sub / cap).sum(axis=1), kind="stable")
        got = kernels.bin_completion(order, order, sub, cap, len(chosen), node_limit, NO_NOISE)
        if (got >= 0).all():  # one bin saved
            a[free] = bins[1:][got]
            a[a > worst] -= 1  # the worst bin is gone: renumber
            ub -= 1
            r = max(2, r - 1)
            continue
        load = sub[a[free] == worst].sum(axis=0)
        dims = np.flatnonzero(load > 0)
        if len(dims) == 0:  # (negative sizes) nothing to shrink in any dimension: widen the neighbourhood
            r = min(r + 1, MAX_LNS_BINS, ub - 1)
            continue
        dummy = cap - load
        dummy[rng.choice(dims)] += 1  # strictly less room than the bin's current load
        sub2 = np.vstack([sub, dummy[None, :]])
        order2 = np.argsort(-(sub2 / cap).sum(axis=1), kind="stable")
        got2 = kernels.bin_completion(order2, order2, sub2, cap, len(bins), node_limit, NO_NOISE)
        if (got2 >= 0).all():
            slot = got2[-1]  # the dummy's bin becomes the (emptier) worst bin
            mapping = np.empty(len(bins), dtype=np.int64)
            mapping[slot] = worst
            mapping[np.delete(np.arange(len(bins)), slot)] = chosen
            a[free] = mapping[got2[:-1]]
            if not (a == worst).any():
                a[a > worst] -= 1
                ub -= 1
            r = max(2, r - 1)
        else:
            r = min(r + 1, MAX_LNS_BINS, ub - 1)
    return a


#: ``noise`` argument of :func:`kernels.bin_completion` for the classic (largest item first) order.
NO_NOISE = np.zeros(0)

#: Search nodes for the first (classic) bin completion at the lower bound.
EXACT_NODE_LIMIT = 300_000
#: Search nodes per randomised restart, per item (fail-first restarts can afford more).
RESTART_NODES_PER_ITEM = 50
RESTART_NODES_PER_ITEM_FAIL_FIRST = 200
#: Share of the time limit the randomised restarts may use before the LNS takes over: most of it when
#: the bound leaves no waste at all (every bin must be exactly full, where exact completion is strongest),
#: a little otherwise.
RESTART_SHARE_NO_WASTE = 0.7
RESTART_SHARE = 0.15
#: In one dimension, the share of the time left after the restarts that consistent neighbourhood search
#: (:mod:`cloudsim.packing.cns`) gets before the LNS takes over from its result.
CNS_SHARE = 0.5
#: Share of the time limit kept for renumbering and verifying the packing after the search ends.
FINISH_SHARE = 0.01
#: In one dimension, the time (share of the limit, from the start) column generation may take for the LP
#: bound, and by when the packing from its dual must be found.
LP_SHARE = 0.5
COLGEN_SHARE = 0.85


def _exact_at_bound(inst: Instance, lb: int, deadline: float, seed: int = 0) -> np.ndarray | None:
    """A packing into ``lb`` bins by bin completion, or None. First the classic search (largest items
    first, bounded by :data:`EXACT_NODE_LIMIT` nodes), then randomised restarts: completions are tried
    in a random order, each restart bounded by a number of nodes per item, until ``deadline``.

    In one dimension, when the bound leaves no waste (every bin must be exactly full), three restarts in
    four open each new bin with the item that has the fewest exact completions (fail-first, as in
    Knuth's Algorithm X), ties broken at random; the others, and every restart elsewhere, open it with the
    largest unused item (Korf). Neither rule dominates on these instances."""
    order = _decreasing(_norm(inst).sum(axis=1))
    rng = np.random.default_rng(seed)
    fail_first = inst.dims == 1 and int(lb * inst.capacity[0]) == int(inst.sizes[:, 0].sum())
    per_item = RESTART_NODES_PER_ITEM_FAIL_FIRST if fail_first else RESTART_NODES_PER_ITEM

    got = kernels.bin_completion(order, order, inst.sizes, inst.capacity, lb, EXACT_NODE_LIMIT, NO_NOISE)
    restart = 0
    while not (got >= 0).all() and time.perf_counter() < deadline:
        cand = rng.permutation(inst.n)
        # neither seed rule dominates: mix fail-first (3 in 4) and largest-first restarts where both apply
        noise = rng.random(inst.n) if fail_first and restart % 4 != 3 else NO_NOISE
        got = kernels.bin_completion(order, cand, inst.sizes, inst.capacity, lb, per_item * inst.n, noise)
        restart += 1
    return got if (got >= 0).all() else None


def _search(
    inst: Instance,
    assign: np.ndarray,
    best: int,
    lb: int,
    t0: float,
    time_limit_s: float,
    seed: int,
    tried: list[np.ndarray],
) -> tuple[np.ndarray, int]:
    """The improvement phases of ``search`` from a packing into ``best > lb`` bins (``tried``: the
    portfolio's packings, whose bins seed column generation); returns the packing and the lower bound,
    raised by the LP bound where column generation ran.

    One dimension (positive sizes, tables small enough): the LP bound by column generation, and a packing
    into that many bins from its dual (:mod:`cloudsim.packing.colgen`); exact bin completion with restarts
    comes after them, or before them when the bound leaves no waste (it is strongest there). Then, in one
    dimension, consistent neighbourhood search; large neighbourhood search until the time limit."""
    end = t0 + (1.0 - FINISH_SHARE) * time_limit_s  # the rest: renumbering and verification
    no_waste = bool((lb * inst.capacity == inst.sizes.sum(axis=0)).any())
    share = RESTART_SHARE_NO_WASTE if no_waste else RESTART_SHARE
    one_d = inst.dims == 1 and bool((inst.sizes > 0).all())
    w, cap = inst.sizes[:, 0], int(inst.capacity[0])
    priced = one_d and colgen.fits_table(len(np.unique(w)), cap)
    restarts_done = no_waste or not priced
    if restarts_done:
        exact = _exact_at_bound(inst, lb, t0 + share * time_limit_s, seed)
        if exact is not None:
            return exact, lb
    if priced:
        lp = colgen.solve_lp(w, cap, tried, t0 + LP_SHARE * time_limit_s, target=best)
        lb = max(lb, lp.bound)
        if best <= lb:
            return assign, lb
        if lp.converged and lb - lp.dual_value <= colgen.MAX_GAP:
            got = colgen.pack_at_bound(w, cap, lp, lb, t0 + COLGEN_SHARE * time_limit_s)
            if got is not None:
                return got, lb
            restarts_done = True  # a tight LP that no cover met: bin completion will not either; CNS next
    if not restarts_done:
        now = time.perf_counter()
        exact = _exact_at_bound(inst, lb, now + share * (end - now), seed)
        if exact is not None:
            return exact, lb
    if one_d:
        now = time.perf_counter()
        assign = cns.improve(w, cap, assign, lb, now + CNS_SHARE * (end - now), seed)
    return improve_lns(inst, assign, lb, end, seed), lb


def check_policy(name: str) -> str:
    """``name`` if it is a packing policy, else a ``KeyError`` whose message lists the known ones."""
    if name not in PACKING_POLICIES:
        raise KeyError(f"unknown packing policy {name!r}; known: {', '.join(PACKING_POLICIES)}")
    return name


def pack(
    inst: Instance, policy: str = DEFAULT_POLICY, time_limit_s: float = DEFAULT_TIME_LIMIT_S, seed: int = 0
) -> PackResult:
    """Pack ``inst`` with the named policy. The result is verified; raises ``KeyError`` (listing the known
    policies) for an unknown name."""
    check_policy(policy)
    t0 = time.perf_counter()
    lb = lower_bound(inst.sizes, inst.capacity)
    if inst.n == 0:
        return PackResult(policy, 0, 0, np.zeros(0, dtype=np.int64), time.perf_counter() - t0)
    if policy in CONSTRUCTIVE:
        assign = CONSTRUCTIVE[policy][0](inst)
    else:
        assign, best, tried = None, None, []
        for name, (fn, _) in CONSTRUCTIVE.items():
            if name in ("first-fit", "best-fit"):
                continue
            a = fn(inst)
            tried.append(a)
            nb = int(a.max()) + 1
            if best is None or nb < best:
                assign, best = a, nb
            if best == lb:
                break
        if policy == "search" and best is not None and best > lb:
            assign, lb = _search(inst, assign, best, lb, t0, time_limit_s, seed, tried)
    assign = _renumber(np.asarray(assign, dtype=np.int64))
    bins = verify(inst, assign)
    return PackResult(policy, bins, lb, assign, time.perf_counter() - t0)


def warm_up(policies: list[str] | None = None) -> None:
    """Load the numba kernels the given policies use (default: all) from the disk cache, compiling those
    not cached yet (the first run after an install or a change), so that a packing's time and its
    search's time limit exclude compilation."""
    tiny = Instance("warm-up", np.array([[3, 1], [2, 2], [2, 1], [1, 3]], dtype=np.int64), np.array([4, 4]))
    names = policies or list(PACKING_POLICIES)
    # portfolio and search stop at the first constructive policy that reaches the bound: run each one
    every = any(name in ("portfolio", "search") for name in names)
    for name, (run, _) in CONSTRUCTIVE.items():
        if every or name in names:
            run(tiny)
    if "search" in names:
        one = Instance("warm-up-1d", np.array([[5], [4], [3], [3], [2], [2], [1]], dtype=np.int64), np.array([10]))
        improve_lns(one, np.arange(one.n, dtype=np.int64), 2, time.perf_counter() + 0.05)
        w = one.sizes[:, 0].astype(np.int64)
        partial = np.array([0, 1, -1, -1, -1, -1, -1], dtype=np.int64)  # two bins kept, the rest pooled
        cns.search(w, 10, 2, partial, np.zeros((one.n, 2), dtype=np.int64), 0, 10, 0, *cns.PARAMS)
        colgen.warm_up()
