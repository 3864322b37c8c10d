"""Placement decisions from an index of the hosts that the engine keeps up to date as they change.

:func:`cloudsim.placement.policies.decide` looks at every host for every guest (one compiled pass). A
:class:`Placer` gives the same :class:`~cloudsim.placement.policies.Decision` (host, score, runner-up, the
filters' counts) for a policy with one scorer, in O(log hosts) a decision: a change to a host (a booking,
a guest arriving or leaving, a failure) updates that host's filter outcome and raw score for every guest
shape seen so far, and a segment tree over the host ids keeps the highest and lowest raw score of the
scored candidates. The normalisation, the winner (the first host of the highest normalised score) and the
runner-up then come from a few searches of the tree. The tree also keeps the most CPU free on a host short
of CPU and the most memory free on one short of memory: the numbers of a rejection's detail. Policies of
several scorers (``balanced``, ``overhead-aware``) normalise each scorer over all candidates and sum, which
no order of the hosts keeps: they run the pass.

The pass does not score an empty host in the same state as the first empty host of its group (its twin);
the placer keeps that first empty host per group (a tree of the group's empty hosts) and the twins with it.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numba import njit

from cloudsim.placement.policies import (
    Decision,
    Policy,
    Request,
    Snapshot,
    _compiled,
    _score,
    decide,
    decision,
    filter_outcome,
)

_NONE = np.iinfo(np.int64).max  # an empty-host tree node with no empty host below it
_ULP = 2.0**-52


@njit(cache=True, nogil=True)
def _same_state(h: int, r: int, cpu_used: np.ndarray, mem_used: np.ndarray, cpu_cap: np.ndarray,
                mem_cap: np.ndarray, curves: np.ndarray, power: bool) -> bool:  # fmt: skip
    """The pass's test of an empty host against the first empty host of its group."""
    same = cpu_used[h] == cpu_used[r] and mem_used[h] == mem_used[r]
    same = same and cpu_cap[h] == cpu_cap[r] and mem_cap[h] == mem_cap[r]
    if same and power:
        for j in range(curves.shape[1]):
            same = same and curves[h, j] == curves[r, j]
    return same


@njit(cache=True, nogil=True)
def _pull(t: np.ndarray, o: int, n: int) -> None:
    while n >= 1:
        t[o + n] = min(t[o + 2 * n], t[o + 2 * n + 1])
        n //= 2


@njit(cache=True, nogil=True, inline="always")
def _host(s: int, h: int, code: int, group: np.ndarray, g_cpu: np.ndarray, g_mem: np.ndarray, g_ok: np.ndarray,
          g_over: np.ndarray, cpu_cap: np.ndarray, mem_cap: np.ndarray, cpu_used: np.ndarray,
          mem_used: np.ndarray, curves: np.ndarray, twin: np.ndarray, outcome: np.ndarray, raw: np.ndarray,
          tree: np.ndarray, counts: np.ndarray) -> None:  # fmt: skip
    """Shape ``s``'s view of host ``h``: its filter outcome (0 incompatible, 1 cpu, 2 memory, 3 candidate,
    as the pass tests them), its raw score, and its leaf: the raw score of a candidate that is not a twin, the
    CPU free on a host short of CPU, the memory free on a host short of memory (what a rejection reports). The
    leaf's ancestors are left to :func:`_pull_shapes`."""
    g = group[h]
    o = filter_outcome(g_ok[s, g], cpu_used[h], g_cpu[s, g], cpu_cap[h], mem_used[h], g_mem[s, g], mem_cap[h])
    if outcome[h, s] >= 0:
        counts[s, outcome[h, s]] -= 1
    counts[s, o] += 1
    outcome[h, s] = o
    n = tree.shape[0] // 2 + h
    if o == 3 and not twin[h]:
        x = _score(code, h, g_cpu[s, g], g_mem[s, g], g_over[s, g], cpu_cap[h], mem_cap[h], cpu_used[h], mem_used[h],
                   curves)  # fmt: skip
        raw[h, s] = x
        tree[n, s, 0], tree[n, s, 1] = x, x
    else:
        tree[n, s, 0], tree[n, s, 1] = -np.inf, np.inf
    tree[n, s, 2] = cpu_cap[h] - cpu_used[h] if o == 1 else -np.inf
    tree[n, s, 3] = mem_cap[h] - mem_used[h] if o == 2 else -np.inf


@njit(cache=True, nogil=True, inline="always")
def _pull_node(tree: np.ndarray, n: int) -> None:
    """Node ``n``'s values for every shape from its two children: the highest and lowest raw score, and the most
    CPU and memory free on hosts short of them (a node's values for all shapes side by side)."""
    for s in range(tree.shape[1]):
        tree[n, s, 0] = max(tree[2 * n, s, 0], tree[2 * n + 1, s, 0])
        tree[n, s, 1] = min(tree[2 * n, s, 1], tree[2 * n + 1, s, 1])
        tree[n, s, 2] = max(tree[2 * n, s, 2], tree[2 * n + 1, s, 2])
        tree[n, s, 3] = max(tree[2 * n, s, 3], tree[2 * n + 1, s, 3])


@njit(cache=True, nogil=True)
def _pull_shapes(tree: np.ndarray, nodes: np.ndarray) -> None:
    """The ancestors of the nodes ``nodes`` (leaves, ascending, each once; overwritten), each made once from its
    children, a level at a time from the leaves up. A tick's migrations change hundreds of hosts at once, whose
    walks to the root one host after another made the nodes they share again and again (the same values: the
    highest and the lowest of the same children)."""
    k = nodes.shape[0]
    if k == 1:  # a decision's own host, most often: its walk, without the levels' bookkeeping
        n = nodes[0] // 2
        while n >= 1:
            _pull_node(tree, n)
            n //= 2
        return
    level = nodes
    while k > 0 and level[0] > 1:
        j = 0
        for i in range(k):
            parent = level[i] // 2
            if j == 0 or level[j - 1] != parent:  # ascending: a parent's two children are side by side
                level[j] = parent
                j += 1
        k = j
        for i in range(k):
            _pull_node(tree, level[i])


@njit(cache=True, nogil=True)
def _sync(dirty: np.ndarray, code: int, by_id: bool, power: bool, group: np.ndarray, gpos: np.ndarray,
          gbase: np.ndarray, gsize: np.ndarray, members: np.ndarray, gfirst: np.ndarray, gcount: np.ndarray,
          etree: np.ndarray, rep: np.ndarray, canon: np.ndarray, twin: np.ndarray, mark: np.ndarray,
          guests: np.ndarray, g_cpu: np.ndarray, g_mem: np.ndarray, g_ok: np.ndarray, g_over: np.ndarray,
          cpu_cap: np.ndarray, mem_cap: np.ndarray, cpu_used: np.ndarray, mem_used: np.ndarray, curves: np.ndarray,
          outcome: np.ndarray, raw: np.ndarray, tree: np.ndarray, counts: np.ndarray) -> None:  # fmt: skip
    """The hosts ``dirty`` changed (a host may repeat): the first empty host of their groups and its state
    (``canon``), the twins, and every shape's view of each host whose state or twinhood changed. A host
    becomes empty only by a change, so the twins change wholesale only when the first empty host of a group
    is in another state than before (another host, or the same one changed). ``mark``: all False, as left."""
    ngroups = gbase.shape[0]
    whole = np.zeros(ngroups, dtype=np.bool_)
    extra = 0
    old = rep.copy()
    if not by_id:
        touched = np.zeros(ngroups, dtype=np.bool_)
        for h in dirty:
            g = group[h]
            touched[g] = True
            o = gbase[g]
            n = gsize[g] + gpos[h]
            etree[o + n] = gpos[h] if guests[h] == 0 else _NONE
            _pull(etree, o, n // 2)
        for g in range(ngroups):
            if not touched[g]:
                continue
            top = etree[gbase[g] + 1]
            r = -1 if top == _NONE else members[gfirst[g] + top]
            rep[g] = r
            if r < 0:
                continue
            if old[g] >= 0:
                same = cpu_used[r] == canon[g, 0] and mem_used[r] == canon[g, 1]
                same = same and cpu_cap[r] == canon[g, 2] and mem_cap[r] == canon[g, 3]
                if same and power:
                    for j in range(curves.shape[1]):
                        same = same and curves[r, j] == curves[old[g], j]
                if not same:
                    whole[g] = True
                    extra += gcount[g]
            canon[g, 0], canon[g, 1], canon[g, 2], canon[g, 3] = cpu_used[r], mem_used[r], cpu_cap[r], mem_cap[r]
        extra += 2 * ngroups
    redo = np.empty(dirty.shape[0] + extra, dtype=np.int64)
    k = 0
    for h in dirty:
        if not mark[h]:
            mark[h] = True
            redo[k] = h
            k += 1
    if not by_id:
        for g in range(ngroups):
            for h in (old[g], rep[g]):
                if h >= 0 and not mark[h]:
                    mark[h] = True
                    redo[k] = h
                    k += 1
            if whole[g]:
                for i in range(gfirst[g], gfirst[g] + gcount[g]):
                    h = members[i]
                    if not mark[h]:
                        mark[h] = True
                        redo[k] = h
                        k += 1
    nshapes = outcome.shape[1]
    m = tree.shape[0] // 2
    for i in range(k):
        h = redo[i]
        mark[h] = False
        if not by_id:
            r = rep[group[h]]
            twin[h] = (guests[h] == 0 and r >= 0 and h != r
                       and _same_state(h, r, cpu_used, mem_used, cpu_cap, mem_cap, curves, power))  # fmt: skip
        for s in range(nshapes):
            _host(s, h, code, group, g_cpu, g_mem, g_ok, g_over, cpu_cap, mem_cap, cpu_used, mem_used, curves, twin,
                  outcome, raw, tree, counts)  # fmt: skip
    leaves = redo[:k]  # (redo is not read again)
    if k > 16:
        leaves.sort()
    else:  # a decision's few hosts in place (numba's sort allocates its stack: a few hundred ns a decision)
        for i in range(1, k):
            x, j = leaves[i], i - 1
            while j >= 0 and leaves[j] > x:
                leaves[j + 1] = leaves[j]
                j -= 1
            leaves[j + 1] = x
    for i in range(k):
        leaves[i] += m
    _pull_shapes(tree, leaves)


@njit(cache=True, nogil=True)
def _leftmost(t: np.ndarray, start: int, thr: float) -> int:
    """The first host from ``start`` on whose leaf in the max tree ``t`` is at least ``thr``; -1 if none."""
    m = t.shape[0] // 2
    if start >= m:
        return -1
    n = m + start
    while True:
        if t[n] >= thr:
            while n < m:
                n = 2 * n if t[2 * n] >= thr else 2 * n + 1
            return n - m
        while n & 1:
            n >>= 1
        if n == 0:
            return -1
        n += 1


@njit(cache=True, nogil=True)
def _first_at(t: np.ndarray, raw: np.ndarray, start: int, skip: int, thr: float, lo: float, span: float,
              w: float, target: float) -> int:  # fmt: skip
    """The first scored host from ``start`` on (not ``skip``) whose total is ``target``: the hosts at or
    above ``thr`` in id order, the total computed as the pass computes it."""
    p = _leftmost(t, start, thr)
    while p >= 0:
        if p != skip and 0.0 + w * (0.0 if span == 0.0 else (raw[p] - lo) / span) == target:
            return p
        p = _leftmost(t, p + 1, thr)
    return -1


@njit(cache=True, nogil=True)
def _band(hi: float, lo: float, span: float) -> float:
    """The lowest raw score whose total can equal that of ``hi`` (a few ulps below it)."""
    return lo if span == 0.0 else hi - 8 * _ULP * (abs(hi) + abs(lo) + span)


@njit(cache=True, nogil=True)
def _winner(tmax: np.ndarray, tmin: np.ndarray, raw: np.ndarray, w: float, out: np.ndarray) -> tuple[int, int]:
    """(winner, runner-up or -1) of one shape's tree, their totals in ``out``: the pass's normalisation
    (:func:`~cloudsim.placement.policies._spread`), the first host of the highest total, and the first
    other host of the highest total among the rest."""
    lo, hi = tmin[1], tmax[1]
    span = 0.0 if hi - lo <= 1e-12 * max(1.0, abs(hi)) else hi - lo
    best = 0.0 + w * (0.0 if span == 0.0 else (hi - lo) / span)
    thr = _band(hi, lo, span)
    win = _first_at(tmax, raw, 0, -1, thr, lo, span, w, best)
    out[0] = best
    second = _first_at(tmax, raw, win + 1, -1, thr, lo, span, w, best)
    if second >= 0:
        out[1] = best
        return win, second
    n = tmax.shape[0] // 2 + win
    keep = tmax[n]
    _set_max(tmax, n, -np.inf)  # the winner out of the tree for a moment: the best of the rest
    hi2 = tmax[1]
    if hi2 > -np.inf:
        out[1] = 0.0 + w * (0.0 if span == 0.0 else (hi2 - lo) / span)
        second = _first_at(tmax, raw, 0, win, _band(hi2, lo, span), lo, span, w, out[1])
    _set_max(tmax, n, keep)
    return win, second


@njit(cache=True, nogil=True, inline="always")
def _set_max(t: np.ndarray, n: int, value: float) -> None:
    """Leaf ``n`` of the max tree ``t`` set to ``value``, and its ancestors made again."""
    t[n] = value
    n //= 2
    while n >= 1:
        t[n] = max(t[2 * n], t[2 * n + 1])
        n //= 2


def _pow2(n: int) -> int:
    return max(2, 1 << max(0, int(n - 1).bit_length()))


@njit(cache=True, nogil=True)
def _sync_and_pick(k: int, w: float, out: np.ndarray, dirty: np.ndarray, code: int, by_id: bool, power: bool,
                   group: np.ndarray, gpos: np.ndarray, gbase: np.ndarray, gsize: np.ndarray, members: np.ndarray,
                   gfirst: np.ndarray, gcount: np.ndarray, etree: np.ndarray, rep: np.ndarray, canon: np.ndarray,
                   twin: np.ndarray, mark: np.ndarray, guests: np.ndarray, g_cpu: np.ndarray, g_mem: np.ndarray,
                   g_ok: np.ndarray, g_over: np.ndarray, cpu_cap: np.ndarray, mem_cap: np.ndarray,
                   cpu_used: np.ndarray, mem_used: np.ndarray, curves: np.ndarray, outcome: np.ndarray,
                   raw: np.ndarray, tree: np.ndarray, counts: np.ndarray) -> tuple[int, int]:  # fmt: skip
    """:func:`_sync` of the hosts ``dirty`` (when there are any), then shape ``k``'s :func:`_winner`, or (-1, -1)
    when no host fits it: one compiled call a decision (a call's arguments cost more than the work here)."""
    if dirty.shape[0]:
        _sync(dirty, code, by_id, power, group, gpos, gbase, gsize, members, gfirst, gcount, etree, rep, canon, twin,
              mark, guests, g_cpu, g_mem, g_ok, g_over, cpu_cap, mem_cap, cpu_used, mem_used, curves, outcome, raw,
              tree, counts)  # fmt: skip
    if counts[k, 3] == 0:
        return -1, -1
    return _winner(tree[:, k, 0], tree[:, k, 1], raw[:, k], w, out)


@njit(cache=True, nogil=True)
def _most_free(tree: np.ndarray, k: int) -> tuple[int, int]:
    """Shape ``k``'s first host with the most CPU free of those short of CPU, and the same for memory (-1: none)."""
    cpu_best = _leftmost(tree[:, k, 2], 0, tree[1, k, 2]) if tree[1, k, 2] > -np.inf else -1
    mem_best = _leftmost(tree[:, k, 3], 0, tree[1, k, 3]) if tree[1, k, 3] > -np.inf else -1
    return cpu_best, mem_best


_NO_HOSTS = np.zeros(0, dtype=np.int64)


class Placer:
    """The placement decisions of one run: :meth:`decide` as :func:`~cloudsim.placement.policies.decide`
    on ``snapshot``, whose arrays the engine changes in place and reports with :meth:`touch`. ``group``:
    each host's group (the requests' ``group``), of ``groups``."""

    def __init__(self, policy: Policy, snapshot: Snapshot, group: np.ndarray, groups: int) -> None:
        self.policy, self.s = policy, snapshot
        codes, weights, curves = _compiled(policy, snapshot)
        self.single = len(codes) == 1
        self.code, self.weight = int(codes[0]), float(weights[0])
        self.curves = curves
        self.by_id, self.power = self.code == 0, self.code == 6
        self.group = np.ascontiguousarray(group, dtype=np.int64)
        n = len(self.group)
        ng = groups
        self.members = np.argsort(self.group, kind="stable").astype(np.int64)
        self.gcount = np.bincount(self.group, minlength=ng).astype(np.int64)
        self.gfirst = np.concatenate([[0], np.cumsum(self.gcount)[:-1]]).astype(np.int64)
        self.gpos = np.empty(n, dtype=np.int64)
        self.gpos[self.members] = np.arange(n) - np.repeat(self.gfirst, self.gcount)
        self.gsize = np.array([_pow2(c) for c in self.gcount], dtype=np.int64)
        self.gbase = np.concatenate([[0], np.cumsum(2 * self.gsize)[:-1]]).astype(np.int64)
        self.decisions, self.seconds = 0, 0.0
        self._reset()

    def _reset(self) -> None:
        """No shape seen yet; every host to be looked at again."""
        n, ng = len(self.group), len(self.gcount)
        self.etree = np.full(int((2 * self.gsize).sum()), _NONE, dtype=np.int64)
        self.rep = np.full(ng, -1, dtype=np.int64)
        self.canon = np.zeros((ng, 4))
        self.twin = np.zeros(n, dtype=np.bool_)
        self.mark = np.zeros(n, dtype=np.bool_)
        self.keys: dict[bytes, int] = {}
        self.seen: dict[int, tuple[np.ndarray, int]] = {}  # id of a request's array -> (it, its row)
        m2 = 2 * _pow2(n)
        # per host and shape (a host's shapes side by side): the filter outcome, the raw score; per tree node and
        # shape, the highest and the lowest raw score below it, the most CPU free on a host short of CPU and the
        # most memory free on one short of memory (one walk up the tree updates every shape)
        self.outcome = np.zeros((n, 0), dtype=np.int64)
        self.raw = np.zeros((n, 0))
        self.tree = np.zeros((m2, 0, 4))
        self.first_off: list[int] = []  # per shape, the first host it cannot run on (-1: none)
        self.counts = np.zeros((0, 4), dtype=np.int64)
        self.g_cpu = self.g_mem = self.g_over = np.zeros((0, ng))
        self.g_ok = np.zeros((0, ng), dtype=np.bool_)
        self._dirty: list[int] = list(range(n))
        self._scores = np.zeros(2)  # the winner's and the runner-up's totals, each decision's

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for k in ("etree", "rep", "canon", "twin", "mark", "keys", "seen", "outcome", "raw", "tree", "first_off",
                  "counts", "g_cpu", "g_mem", "g_over", "g_ok", "_dirty"):  # fmt: skip
            state.pop(k)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset()

    def touch(self, hosts: list[int]) -> None:
        """The bookings, guests or capacities of ``hosts`` changed (a host may repeat)."""
        self._dirty.extend(hosts)

    def _shape(self, r: Request) -> int:
        """The row of the request's shape (what it reserves on each group), added on first sight."""
        seen = self.seen.get(id(r.group_cpu))
        if seen is not None and seen[0] is r.group_cpu:  # the cluster's cached request of a shape
            return seen[1]
        key = b"".join(a.tobytes() for a in (r.group_cpu, r.group_mem, r.group_ok, r.group_overhead))
        k = self.keys.get(key)
        if k is None:
            self._flush()
            k = self.keys[key] = len(self.keys)
            n, m2 = self.outcome.shape[0], self.tree.shape[0]
            self.outcome = np.hstack([self.outcome, np.full((n, 1), -1, dtype=np.int64)])
            self.raw = np.hstack([self.raw, np.zeros((n, 1))])
            empty = np.full((m2, 1, 4), -np.inf)
            empty[:, :, 1] = np.inf
            self.tree = np.concatenate([self.tree, empty], axis=1)
            self.counts = np.vstack([self.counts, np.zeros((1, 4), dtype=np.int64)])
            self.g_cpu = np.vstack([self.g_cpu, r.group_cpu[None]])
            self.g_mem = np.vstack([self.g_mem, r.group_mem[None]])
            self.g_over = np.vstack([self.g_over, r.group_overhead[None]])
            self.g_ok = np.vstack([self.g_ok, r.group_ok[None]])
            off = np.flatnonzero(~r.group_ok[self.group])
            self.first_off.append(int(off[0]) if len(off) else -1)
            self._dirty = list(range(n))  # every host, for the new shape (the others see no change)
        self.seen[id(r.group_cpu)] = (r.group_cpu, k)
        return k

    def _take_dirty(self) -> np.ndarray:
        """The hosts touched since the last sync (none: an empty array), and none from now on."""
        if not self._dirty:
            return _NO_HOSTS
        dirty = np.array(self._dirty, dtype=np.int64)
        self._dirty = []
        return dirty

    def _sync_args(self) -> tuple[Any, ...]:
        """What :func:`_sync` takes after the dirty hosts."""
        s = self.s
        return (self.code, self.by_id, self.power, self.group, self.gpos, self.gbase, self.gsize, self.members,
                self.gfirst, self.gcount, self.etree, self.rep, self.canon, self.twin, self.mark, s.guests, self.g_cpu,
                self.g_mem, self.g_ok, self.g_over, s.cpu_cap, s.mem_cap, s.cpu_used, s.mem_used, self.curves,
                self.outcome, self.raw, self.tree, self.counts)  # fmt: skip

    def _flush(self) -> None:
        if self._dirty:
            _sync(self._take_dirty(), *self._sync_args())

    def decide(self, r: Request) -> Decision:
        """:func:`~cloudsim.placement.policies.decide` for this run's policy (:attr:`decisions` of them so far,
        in :attr:`seconds`)."""
        t0 = time.perf_counter()
        d = self._decide(r)
        self.seconds += time.perf_counter() - t0
        self.decisions += 1
        return d

    def _decide(self, r: Request) -> Decision:
        if not self.single:
            return decide(self.policy, self.s, r)
        k = self._shape(r)
        scores = self._scores  # read into the decision at once
        host, second = _sync_and_pick(k, self.weight, scores, self._take_dirty(), *self._sync_args())
        why = (self.first_off[k], *_most_free(self.tree, k)) if host < 0 else None
        return decision(self.s, r, self.counts[k].tolist(), host, second, scores, why)
