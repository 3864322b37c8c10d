"""Dynamic consolidation, the controller's phase at each scheduling interval (Beloglazov & Buyya 2012, as
CloudSim 3.0.3's power package runs it; ``reference/cloudsim-planetlab.md``), pure: no Ray, no shard.

The controller keeps its view here: which guests each host holds, in CloudSim's list order (a guest
migrating in is appended to its target at the start of the migration and stays on its source until the
end), each guest's current request and its utilization history. At every interval (:meth:`step`):

1. **Overload.** Each host's detector (THR, IQR, MAD, LR, LRR) looks at its requested utilization and its
   history (the sum of its current guests' histories). An overloaded host sheds guests one at a time,
   chosen by the selection policy (MMT: least RAM; MU: least utilization; MC: highest correlation with
   the others; RS: random, seeded), until it is no longer overloaded.
2. **Destinations.** The shed guests, largest request first, go through power-aware best fit (PABFD,
   :func:`cloudsim.placement.kernels.find_host`): the host whose power rises least (to the milliwatt; the
   lowest id on ties), never one the move would overload or an overloaded host. ``wake: last-resort`` first
   tries hosts that are on only. The step searches an index of the candidate hosts (:class:`_TargetIndex`)
   rather than scanning them all for every guest; the scan remains for a guest's initial placement.
3. **Underload.** Hosts are emptied least-utilized first when every guest on them fits elsewhere on hosts
   that are on; then they draw nothing (switched off) until a placement wakes them.

Initial placement of a trace workload uses the same best fit with each guest's full request, or first fit
(CloudSim's NPA and DVFS experiments).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

import numpy as np

from cloudsim.placement import kernels
from cloudsim.placement.detectors import HISTORY, LR_WINDOW, Detector, max_correlation_r2


@dataclass(frozen=True)
class Settings:
    """The scenario's consolidation section, as the phase uses it."""

    detector: Detector | None  # None: no migrations (NPA, DVFS)
    selection: str = "mmt"
    wake: str = "cheapest"  # or "last-resort"
    retarget: bool = True  # the underload pass may empty a host chosen as a target in the same step
    book_migrations: bool = False  # a migration target must have the guest's booking free (not CloudSim)
    seed: int = 0
    underload_below: float = 1.0  # the underload pass empties hosts under this CPU share (CloudSim: all)
    max_migrations: int | None = None  # per step, overloads first (CloudSim: no limit)


#: the guests' rows are compacted from so many rows, when they have grown by so much since (:class:`Consolidator`)
COMPACT_FROM, COMPACT_GROWTH = 4096, 1.5
_SORTED = ("mmt", "mu")  # the selections whose order of a host's guests is fixed: shed in one compiled call


class Consolidator:
    """The controller's consolidation view of ``hosts`` hosts and ``guests`` guests (ids 0..guests-1).

    Host arrays: ``total`` (CPU MIPS), ``pe_mips`` (what one guest's request is capped at and must fit in:
    one core for CloudSim's one-core VMs, the whole host for guests with vCPUs), ``ptab`` (power curves,
    (hosts, 11)), ``htype`` (hosts of one type are interchangeable when empty), ``link_bw`` (what a host's link can
    book, CloudSim's bandwidth units). Guest arrays: ``vm_mips`` (full request without overhead), ``scale``
    (1 / (1 - overhead)), ``vm_ram`` (nominal RAM, for MMT), ``book_mem``, ``book_bw``, ``book_cpu`` (what
    a guest books on a host). Memory and CPU bookings live in the controller's view, which passes what is
    free to :meth:`place_initial` and :meth:`step`; bandwidth is booked here, at instantiation only.
    ``compatible`` (guests x host types, optional): where each guest may run at all (its mode and OS on
    the host's hypervisor). These arrays are the catalogue, by guest id; :meth:`set_costs` changes it.

    What the step reads of a guest is kept in a **row** of its own (``vm_mips`` … ``compatible`` copied from
    the catalogue, its host, target, request and history), and the hosts' lists hold rows. At first a guest's
    row is its id. A run that keeps 100,000 guests over months gives out far more ids than that, and the
    passes over every guest then read rows scattered over all the ids ever given: from
    ``compact_from`` rows, when the rows in use have grown by half since the last time, the rows of the guests
    that still count are put side by side, in id order (as reports come), and a guest that comes after gets the
    next free row. The results are the same: a row keeps its values, and one dropped was all zeros, as a
    fresh one is."""

    def __init__(
        self,
        settings: Settings,
        total: np.ndarray,
        pe_mips: np.ndarray,
        ptab: np.ndarray,
        htype: np.ndarray,
        vm_mips: np.ndarray,
        scale: np.ndarray,
        vm_ram: np.ndarray,
        book_mem: np.ndarray,
        book_bw: np.ndarray,
        book_cpu: np.ndarray,
        link_bw: np.ndarray,
        compatible: np.ndarray | None = None,
    ) -> None:
        self.cfg = settings
        self.H, self.V = len(total), len(vm_mips)
        #: the catalogue, by guest id; the arrays of the same names below are by row (the same arrays until the
        #: first compaction: a row is its guest's id)
        self._catalogue = {"vm_mips": vm_mips, "scale": scale, "vm_ram": vm_ram, "book_mem": book_mem,
                           "book_bw": book_bw, "book_cpu": book_cpu, "compatible": compatible}  # fmt: skip
        self._row = np.arange(self.V, dtype=np.int64)  # guest id -> its row (-1: none)
        self._id = np.arange(self.V, dtype=np.int64)  # row -> guest id (-1: a free row)
        self._rows = self.V  # rows given out (rows past them are free and at their initial values)
        self._kept = 0  # rows kept at the last compaction (0: none yet)
        self._max_id = self.V - 1  # the largest id with a row: a guest below it comes out of id order
        self._unordered = False
        self.compact_from, self.compact_growth = COMPACT_FROM, COMPACT_GROWTH
        self.compactions = 0
        self.total, self.pe_mips, self.ptab = total, pe_mips, np.ascontiguousarray(ptab, dtype=np.float64)
        self.htype = np.asarray(htype, dtype=np.int64)
        self.ntypes = int(self.htype.max()) + 1 if self.H else 0
        self.vm_mips, self.scale, self.vm_ram = vm_mips, scale, vm_ram
        self.book_mem, self.book_bw, self.book_cpu = book_mem, book_bw, book_cpu
        self.free_bw = np.asarray(link_bw, dtype=np.float64).copy()
        self.free_mem = self.free_cpu = np.zeros(self.H)  # set from the controller's view before each search
        self.compatible = compatible
        self.down = np.zeros(self.H, dtype=bool)  # failed hosts (the controller's array): never targets
        det = settings.detector
        self._det_code, self._det_param = det.code if det is not None else (-1, 0.0)
        # the samples of a host's history the detector reads: the local regressions' window, or all (IQR, MAD)
        self._width = HISTORY if det is not None and det.name in ("iqr", "mad") else LR_WINDOW
        # the detector's decision for a host with an empty list (requested sum 0, history length 0: it reads no
        # history then), the same for every such host
        one = np.zeros(1, dtype=np.int64)
        self._empty_over = bool(
            kernels.overloaded_hosts(self._det_code, self._det_param, one, np.zeros(1), np.ones(1),
                                     np.zeros((1, self._width)), one)[0]
        )  # fmt: skip
        self.rng = np.random.default_rng(settings.seed)
        # each host's guests, in order, as int64s side by side: a step flattens the lists that changed by joining
        # their bytes (reading Python lists' ints, one object each, took 1.0 against 0.4 ms a tick at 50,000 hosts)
        self.lists: list[array[int]] = [array("q") for _ in range(self.H)]
        # the lists flattened at the last step (host h's: _flat[_offsets[h]:_offsets[h + 1]]), and the hosts
        # whose list changed since: a step flattens those only
        self._flat, self._offsets = np.zeros(0, dtype=np.int64), np.zeros(self.H + 1, dtype=np.int64)
        self._changed: set[int] = set()
        self.host_of = np.full(self.V, -1, dtype=np.int64)
        self.mig_to = np.full(self.V, -1, dtype=np.int64)
        #: a guest moved twice in one step passes through its first target, booked there until it arrives
        self.ghosts: list[tuple[int, int]] = []
        self.req = np.zeros(self.V)
        # each guest's newest samples: what the detector reads, or the whole window for MC, in a ring whose newest
        # column is _newest (:meth:`history`): a report writes one sample a row, not a row's samples moved one on
        self.hist = np.zeros((self.V, HISTORY if settings.selection == "mc" else self._width))
        self._newest = 0
        self.n_hist = 0
        self.util_mips = np.zeros(self.H)  # allocated CPU per host after the last event (from the shards)
        self.p0 = kernels.power_now(self.ptab, self.util_mips, self.total)  # power there, whence PABFD measures
        # the window's samples (HISTORY) up to the oldest non-zero one, and which are non-zero (bit j: j ago)
        self.hist_len = np.zeros(self.V, dtype=np.int64)
        # per guest, side by side as a host's view reads them when only the newest sample is new (set by observe):
        # request, newest sample, MIPS, history length
        self._rec = np.zeros((self.V, 4))
        self._nonzero = np.zeros(self.V, dtype=np.int64)
        self._reported = np.zeros(0, dtype=np.int64)  # the guests of the last report (their req is set)
        self._tracked = np.zeros(0, dtype=np.int64)  # the guests with a non-zero sample in the window
        self._all_types = np.ones(self.ntypes, dtype=np.bool_)
        # host classes (type, capacity, power curve) for the step's index of the hosts, and one host of each
        _, cls = np.unique(
            np.column_stack([self.htype, self.total, self.pe_mips, self.ptab]), axis=0, return_inverse=True
        )
        cls = cls.reshape(-1).astype(np.int64)
        self._classes = (cls, np.unique(cls, return_index=True)[1].astype(np.int64))
        self._reset_views()
        # the hosts whose view the next step makes afresh (the others move their history row one sample on):
        # those whose list changed or whose view a step wrote; and every host unless one report came between
        self._stale = np.ones(self.H, dtype=np.bool_)
        self._observed = 0

    # ------------------------------------------------------------------------------------ rows

    _STATIC = ("vm_mips", "scale", "vm_ram", "book_mem", "book_bw", "book_cpu", "compatible")
    _DYNAMIC = (("host_of", -1), ("mig_to", -1), ("req", 0), ("hist", 0), ("hist_len", 0), ("_rec", 0), ("_nonzero", 0))

    def _compacted(self) -> bool:
        return self.vm_mips is not self._catalogue["vm_mips"]

    def row(self, v: int) -> int:
        """Guest ``v``'s row, given now if it has none."""
        r = int(self._row[v])
        if r >= 0:
            return r
        if self._rows == len(self._id):
            self._resize(max(1024, len(self._id) + len(self._id) // 2))
        r = self._rows
        self._rows += 1
        self._row[v], self._id[r] = r, v
        if v < self._max_id:
            self._unordered = True  # the rows are put in id order again before the next report is read
        else:
            self._max_id = v
        for name in self._STATIC:
            if (cat := self._catalogue[name]) is not None:
                getattr(self, name)[r] = cat[v]
        return r

    def _resize(self, rows: int, keep: np.ndarray | None = None) -> None:
        """The rows' arrays with room for ``rows`` rows: rows ``keep`` (in their new order; default: those given
        out) first, then free rows at their initial values."""
        keep = np.arange(self._rows) if keep is None else keep
        ids = self._id[keep]
        k = len(keep)
        for name in self._STATIC:
            cat = self._catalogue[name]
            if cat is not None:
                new = np.zeros((rows, *cat.shape[1:]), dtype=cat.dtype)
                new[:k] = cat[ids]
                setattr(self, name, new)
        for name, initial in self._DYNAMIC:
            old = getattr(self, name)
            new = np.full((rows, *old.shape[1:]), initial, dtype=old.dtype)
            new[:k] = old[keep]
            setattr(self, name, new)
        self._id = np.full(rows, -1, dtype=np.int64)
        self._id[:k] = ids

    def _compact(self) -> None:
        """Keep the rows of the guests that still count (on a list, or with a sample in the window, or in the
        last report), side by side in id order; the others are dropped (all zeros, as a fresh row is)."""
        n = self._rows
        keep = (self.host_of[:n] >= 0) | (self.mig_to[:n] >= 0) | (self._nonzero[:n] != 0)
        keep[self._reported] = True
        for r, _ in self.ghosts:
            keep[r] = True
        old = np.flatnonzero(keep)
        old = old[np.argsort(self._id[old], kind="stable")]
        k = len(old)
        new_of = np.full(n, -1, dtype=np.int64)
        new_of[old] = np.arange(k)
        self._row[self._id[:n]] = -1  # (every row given out has its guest)
        self._resize(max(1024, 2 * k), old)
        self._row[self._id[:k]] = np.arange(k)
        self._rows = self._kept = k
        self._max_id = int(self._id[k - 1]) if k else -1
        self._unordered = False
        self.compactions += 1
        for h, guests in enumerate(self.lists):
            if guests:
                self.lists[h] = array("q", new_of[np.frombuffer(guests, dtype=np.int64)].tobytes())
        self._flat = new_of[self._flat]  # (a row dropped since was taken off a list that changed: flattened again)
        self._tracked = np.sort(new_of[self._tracked])
        self._reported = new_of[self._reported]
        self.ghosts = [(int(new_of[r]), h) for r, h in self.ghosts]

    def set_costs(self, vs: int | np.ndarray, vm_mips: float | np.ndarray, scale: float | np.ndarray) -> None:
        """Guests ``vs`` now request ``vm_mips`` in full with overhead scale ``scale`` (they depend on the host)."""
        self._catalogue["vm_mips"][vs], self._catalogue["scale"][vs] = vm_mips, scale
        if self._compacted():
            rows = self._row[vs]
            self.vm_mips[rows], self.scale[rows] = vm_mips, scale

    def guest_request(self, v: int) -> tuple[float, float]:
        """Guest ``v``'s full request with overhead (MIPS) and its memory booking (MiB), from the catalogue."""
        cat = self._catalogue
        return float(cat["vm_mips"][v] * cat["scale"][v]), float(cat["book_mem"][v])

    # ------------------------------------------------------------------------------ observations

    def observe(self, guest_ids: np.ndarray, util: np.ndarray, req: np.ndarray, util_mips: np.ndarray) -> None:
        """One interval's report: the resident guests (ascending ids, as a report has them), their utilization
        and request now, each host's CPU in use. Each guest's history gains a sample (utilization x its
        overhead scale)."""
        if self._unordered or (self._rows >= self.compact_from and self._rows > self.compact_growth * self._kept):
            self._compact()
        rows = self._row[np.asarray(guest_ids, dtype=np.int64)]  # (ascending, as the ids)
        # only the rows with a sample in the window change (the others hold zeros and stay so)
        self._newest = (self._newest - 1) % self.hist.shape[1]
        self._tracked = kernels.observe(
            self.hist, self._newest, self.hist_len, self._nonzero, HISTORY, self._tracked, self._reported, rows, util,
            self.scale, req, self.req, self.vm_mips, self._rec,
        )  # fmt: skip
        self._reported = rows
        self.n_hist = min(self.n_hist + 1, HISTORY)
        self._observed += 1
        self.util_mips = util_mips
        self.p0 = kernels.power_now(self.ptab, util_mips, self.total)

    def history(self, rows: int | np.ndarray, n: int | None = None) -> np.ndarray:
        """The newest ``n`` samples (default: all kept) of the guests in ``rows``, newest first: a row's, or one
        row for each."""
        cols = (self._newest + np.arange(self.hist.shape[1] if n is None else n)) % self.hist.shape[1]
        return self.hist[rows, cols] if np.ndim(rows) == 0 else self.hist[np.ix_(rows, cols)]

    def add(self, v: int, host: int) -> None:
        """Guest ``v`` now runs on ``host`` (placed by the controller, which also sets its ``vm_mips`` and
        ``scale`` there when they depend on the host: :meth:`set_costs`)."""
        r = self.row(v)
        self.lists[host].append(r)
        self._changed.add(host)
        self.host_of[r] = host

    def remove(self, v: int) -> list[int]:
        """Guest ``v`` leaves the data centre (finished or departed); returns every host it was on."""
        r = self.row(v)
        hosts = [int(self.host_of[r])]
        if self.mig_to[r] >= 0:
            hosts.append(int(self.mig_to[r]))
        hosts += [gh for gv, gh in self.ghosts if gv == r]
        self.ghosts = [g for g in self.ghosts if g[0] != r]
        for h in hosts:
            self.lists[h].remove(r)
        self._changed.update(hosts)
        self.host_of[r], self.mig_to[r] = -1, -1
        return hosts

    def complete(self, vs: list[int]) -> None:
        """Migrations end: each guest of ``vs`` leaves its source (and any first target) and runs on its target,
        at the end of the target's list (in the order of ``vs``)."""
        at = self._row[np.array(vs, dtype=np.int64)]
        rows = at.tolist()
        src, dst = self.host_of[at], self.mig_to[at]
        lists = self.lists
        for r, s, d in zip(rows, src.tolist(), dst.tolist(), strict=True):
            lists[s].remove(r)
            lists[d].remove(r)
            lists[d].append(r)
        if self.ghosts:
            done, kept = set(rows), []
            for gv, gh in self.ghosts:
                if gv in done:
                    lists[gh].remove(gv)
                    self._changed.add(gh)
                else:
                    kept.append((gv, gh))
            self.ghosts = kept
        self._changed.update(src.tolist())
        self._changed.update(dst.tolist())
        self.host_of[at], self.mig_to[at] = dst, -1

    # ------------------------------------------------------------------------------ host views

    def _reset_views(self) -> None:
        h = self.H
        self.S, self.A, self.R = np.zeros(h), np.zeros(h), np.zeros(h)
        self.HH = np.zeros((h, self._width))
        self.HL = np.zeros(h, dtype=np.int64)
        self.busy = np.zeros(h, dtype=bool)

    @staticmethod
    def _flatten(
        lists: list[array[int]], hosts: list[int], flat: np.ndarray, offsets: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The flattened lists ``flat``/``offsets`` with those of ``hosts`` (ascending) replaced by ``lists``'."""
        part = [lists[h] for h in hosts]
        lengths = np.fromiter(map(len, part), dtype=np.int64, count=len(part))
        new = np.frombuffer(b"".join(part), dtype=np.int64)
        return kernels.patch_lists(flat, offsets, np.array(hosts, dtype=np.int64), lengths, new)

    def _refresh_all(self) -> None:
        """Every host's view (requested sum for the scheduler S, allocated sum A, requested sum R, history row
        and its length, :func:`cloudsim.placement.kernels.host_views`) with its list in :attr:`lists`, in one
        compiled call over the lists flattened (again only where they changed since the last step); a host whose
        list did not change and whose view the last step did not write moves its history row one sample on."""
        changed = sorted(self._changed)
        self._changed.clear()
        self._flat, self._offsets = self._flatten(self.lists, changed, self._flat, self._offsets)
        if self._observed != 1:
            self._stale[:] = True
        self._stale[np.array(changed, dtype=np.int64)] = True
        kernels.host_views(
            self._flat, self._offsets, self._stale, self.req, self.pe_mips, self.total, self.hist, self._newest,
            self.hist_len, self.vm_mips, self._rec, self.S, self.A, self.R, self.HH, self.HL,
        )  # fmt: skip
        self._stale[:] = False
        self._observed = 0
        self.busy = self._offsets[1:] > self._offsets[:-1]

    def _overloaded(self, hosts: np.ndarray) -> np.ndarray:
        return kernels.overloaded_hosts(self._det_code, self._det_param, hosts, self.R, self.total, self.HH, self.HL)

    def _overloaded_all(self) -> np.ndarray:
        """:meth:`_overloaded` of every host, computed for the hosts with guests in their lists only: the others
        (most of a consolidated data centre, switched off) get the one decision of an empty list."""
        busy = np.flatnonzero(self.busy)
        out = np.full(self.H, self._empty_over)
        out[busy] = self._overloaded(busy)
        return out

    # ------------------------------------------------------------------------------- placement

    def find_host(
        self,
        v: int,
        excluded: np.ndarray | None = None,
        instantiating: bool = False,
        index: _TargetIndex | None = None,
    ) -> int:
        """PABFD (``findHostForVm``): the suitable host whose power rises least; -1 if none. While a guest is
        instantiated it requests its full MIPS and must find its booking free; a migrating guest requests
        its current MIPS and must find its booking free only with ``book_migrations``. The search runs over
        the eligible hosts of ``index``, or scans every host not ``excluded`` (nor down)."""
        v = self.row(v)
        r = self.vm_mips[v] * self.scale[v] if instantiating else self.req[v]
        type_ok = self._all_types if self.compatible is None else self.compatible[v]
        book = instantiating or self.cfg.book_migrations
        if index is not None:
            return index.find(float(r), v, type_ok, book)
        assert excluded is not None
        return int(
            kernels.find_host(
                float(r), self.history(v), int(self.hist_len[v]), float(self.vm_mips[v]), excluded | self.down, type_ok,
                self.busy, self.htype, self.ntypes, self.S, self.A, self.R, self.HH, self.HL, self.p0,
                self.total, self.pe_mips, self.ptab, book, self.free_mem, self.free_bw, self.free_cpu,
                float(self.book_mem[v]), float(self.book_bw[v]), float(self.book_cpu[v]), self._det_code,
                self._det_param,
            )
        )  # fmt: skip

    def first_fit(self, v: int) -> int:
        """The first host with room for the guest's full request and booking (CloudSim's NPA and DVFS)."""
        v = self.row(v)
        r = self.vm_mips[v] * self.scale[v]
        avail = np.where(self.total < self.S, 0.0, self.total - self.S)
        ok = (
            (self.pe_mips >= r)
            & (avail >= r)
            & (self.free_mem >= self.book_mem[v])
            & (self.free_bw >= self.book_bw[v])
            & (self.free_cpu >= self.book_cpu[v])
        )
        if self.compatible is not None:
            ok &= self.compatible[v][self.htype]
        cand = np.flatnonzero(ok)
        return int(cand[0]) if len(cand) else -1

    def place_initial(self, v: int, best_fit: bool, free_mem: np.ndarray, free_cpu: np.ndarray) -> int:
        """Instantiate guest ``v`` at the start: power-aware best fit (or first fit) on what is ``free``;
        -1 when no host can take it. The controller books memory and CPU on the host it gets and calls
        :meth:`add`."""
        self.free_mem, self.free_cpu = free_mem, free_cpu
        target = self.find_host(v, np.zeros(self.H, dtype=bool), instantiating=True) if best_fit else self.first_fit(v)
        if target >= 0:
            r = self.row(v)
            full = min(self.vm_mips[r] * self.scale[r], self.pe_mips[target])
            self.S[target] += full
            self.A[target] = self.S[target] if self.S[target] <= self.total[target] else self.total[target]
            self.busy[target] = True
            self.free_bw[target] -= self.book_bw[r]
        return target

    # ------------------------------------------------------------------------------ selection

    def shed_order(self, vms: list[int]) -> list[int]:
        """The guests an overloaded host holding ``vms`` sheds, in the selection policy's order, while it stays
        overloaded: all of them for MMT (least RAM first) and MU (least utilization first), ties in list
        order; the next one only for RS (random, seeded) and MC (highest correlation with the others), whose
        choice depends on those left. Empty when it holds none."""
        if not vms:
            return []
        sel = self.cfg.selection
        idx = np.array(vms)
        if sel in _SORTED:
            return kernels.sorted_selection(idx, sel == "mu", self.vm_ram, self.req, self.vm_mips).tolist()
        if sel == "rs":
            return [int(idx[int(self.rng.integers(len(idx)))])]
        if sel == "mc":
            r2 = max_correlation_r2(self.history(idx, self.n_hist)) if self.n_hist else None
            if r2 is None:
                return [int(idx[int(np.argmin(self.vm_ram[idx]))])]
            best, pick = np.finfo(float).tiny, 0
            for i, x in enumerate(r2):
                if x > best:
                    best, pick = x, i
            return [int(idx[pick])]
        raise ValueError(f"unknown selection policy {sel!r}")

    # ---------------------------------------------------------------------------------- the step

    def step(self, free_mem: np.ndarray, free_cpu: np.ndarray) -> list[tuple[int, int]]:
        """One control step: the migrations to start, as (guest, target) in CloudSim's order; ``free_mem``
        and ``free_cpu`` are what each host has left to book (planned moves book on copies). The controller
        calls :meth:`start` for each and turns them into commands. A guest already migrating is not moved
        again in a later step."""
        self.free_mem, self.free_cpu = free_mem.copy(), free_cpu.copy()
        lists: dict[int, list[int]] = {}  # RS and MC: the lists of the hosts that shed, as they shed
        self._refresh_all()  # every host's view, afresh
        over_mask = self._overloaded_all()
        to_move: list[int] = []
        in_flight = bool((self.mig_to >= 0).any())
        over = np.flatnonzero(over_mask)
        # shedding works on the overloaded hosts' views; an overloaded host is neither a target nor emptied, so
        # the step reads them no more, and they go back to the views of their lists (which the next step moves
        # one sample on unless a list changes) instead of being made afresh
        views = self.S[over], self.A[over], self.R[over], self.HH[over], self.HL[over]
        if self.cfg.selection in _SORTED:  # the order is fixed: every host sheds in one compiled call
            counts, moved, kept = kernels.shed_sorted(
                over, self._flat, self._offsets, in_flight, self.mig_to, self.host_of, self.cfg.selection == "mu",
                self.vm_ram, self.req, self.pe_mips, self.total, self.hist, self._newest, self.hist_len, self.vm_mips,
                self.S, self.A, self.R, self.HH, self.HL, self._det_code, self._det_param,
            )  # fmt: skip
            to_move += moved.tolist()
            # their planned lists are not read again in the step either, so they stay as they were
            shed = counts > 0
            self.busy[over[shed]] = kept[shed] > 0
        else:
            for h in over.tolist():  # RS and MC: each choice depends on the guests left
                still = True
                while still:
                    # guests migrating from an earlier step stay put (never the case at CloudSim's 300 s)
                    now = lists.get(h, self.lists[h])
                    mine = [x for x in now if self.mig_to[x] < 0 and self.host_of[x] == h] if in_flight else now
                    order = self.shed_order(mine)
                    if not order:
                        break
                    k, rest, still = kernels.shed(
                        h, np.array(now, dtype=np.int64), np.array(order, dtype=np.int64), self.req, self.pe_mips,
                        self.total, self.hist, self._newest, self.hist_len, self.vm_mips, self.S, self.A, self.R,
                        self.HH, self.HL, self._det_code, self._det_param,
                    )  # fmt: skip
                    to_move += order[:k]
                    lists[h] = rest.tolist()
                    self.busy[h] = bool(lists[h])
        self.S[over], self.A[over], self.R[over], self.HH[over], self.HL[over] = views
        # largest request first (stable, as Collections.sort), at most max_migrations
        order = np.array(to_move, dtype=np.int64)
        order = order[np.argsort(-self.req[order], kind="stable")][: self.cfg.max_migrations]
        switched_off = self.util_mips == 0
        moves, on, chains = self._destinations(order, over_mask, switched_off)
        # underload pass
        excl_under = over_mask | switched_off
        targets = np.array([th for _, th in moves], dtype=np.int64)
        if not self.cfg.retarget:
            excl_under[targets] = True
        if on is not None:  # the hosts that are on: the same, less this step's targets unless they may be emptied
            index = on
            if not self.cfg.retarget:
                index.exclude(targets)
        else:
            index = _TargetIndex(self, self.busy & ~excl_under & ~self.down)
        u_now = self.util_mips / self.total
        u_now = np.where((u_now > 1) & (u_now < 1.01), 1.0, u_now)
        # least utilized first (ties: lowest id); utilization is the report's, fixed during the pass, and
        # exclusions only grow, so one sorted pass picks what a fresh minimum each time would
        cap = self.cfg.max_migrations if self.cfg.max_migrations is not None else self.V + 1
        under = np.flatnonzero((u_now > 0) & (u_now < min(1.0, self.cfg.underload_below)))
        assert not len(index.wake_hosts)  # the pass's index holds hosts that are on only
        # the planned lists as the pass begins: the step's, plus the guests the overload pass appended to their
        # targets (those of the hosts that shed are not read again: an overloaded host is neither emptied nor
        # a target)
        found, index.n_over = kernels.underload_pass(
            under[np.argsort(u_now[under], kind="stable")], max(cap - len(moves), 0), self._flat, self._offsets,
            *chains, excl_under, index.eligible, index.n_over, in_flight, self.mig_to, self.req, self.hist,
            self._newest, self.hist_len, self.vm_mips, self.book_mem, self.book_bw, self.book_cpu, self._types,
            self.cfg.book_migrations, self.free_mem, self.free_cpu, self.pe_mips, self.total, self.S, self.A, self.R,
            self.HH, self.HL, self.busy, self._stale, index._set_args, index._find_args,
        )  # fmt: skip
        moves += [(v, t) for v, t in found.tolist()]
        return [(int(self._id[r]), t) for r, t in moves]  # (the guests' ids)

    def _destinations(
        self, order: np.ndarray, over_mask: np.ndarray, switched_off: np.ndarray
    ) -> tuple[list[tuple[int, int]], _TargetIndex | None, tuple[Any, ...]]:
        """The targets of the guests the overloaded hosts shed, ``order`` (largest request first), in one
        compiled pass (:func:`cloudsim.placement.kernels.overload_pass`): the moves, the index of the hosts
        that are on when ``wake: last-resort`` built one, and the chains of the guests appended to the planned
        lists (the underload pass goes on with both). The views and bookings of the targets are written."""
        # the hosts that are on, and (all) the others (an empty one of each type standing for its type), indexed;
        # last-resort searches the others only for a guest no host that is on can take
        on: _TargetIndex | None = None
        anywhere: _TargetIndex | None = None
        found = np.empty((len(order), 2), dtype=np.int64)
        n_found = n_app = 0
        head, last = np.full(self.H, -1, dtype=np.int64), np.full(self.H, -1, dtype=np.int64)
        # room for an entry per guest shed, and for the underload pass one per guest its planned lists hold (the
        # lists, and a guest shed: it tries each host once, and an entry taken back is not used again)
        entries = 2 * len(order) + len(self._flat)
        nxt, guest = np.full(entries, -1, dtype=np.int64), np.empty(entries, dtype=np.int64)
        alive = np.zeros(entries, dtype=np.bool_)
        start = 0
        while start < len(order):
            if on is None and anywhere is None and self.cfg.wake == "last-resort":
                on = _TargetIndex(self, self.busy & ~over_mask & ~switched_off & ~self.down)
            else:  # the first search, or (last-resort) the pass stopped at a guest no host that is on can take:
                # then the best of the others is the best of all
                others = self.busy & ~over_mask & ~self.down & (switched_off if on is not None else True)
                anywhere = _TargetIndex(self, others, over_mask | self.down)
            a = anywhere or on  # (an index stands in for one not built; the pass does not use it)
            b = on or anywhere
            assert a is not None and b is not None
            start, n_app, n_found, n_on, n_any = kernels.overload_pass(
                order, start, self._flat, self._offsets, head, last, nxt, guest, alive, n_app, found, n_found,
                on is not None, b.eligible, b.n_over, b._set_args, b._find_args, anywhere is not None, a.eligible,
                a.n_over, a._set_args, a._find_args, a.wake_hosts, a.wake_pos, a.wake_end, self.req, self.hist,
                self._newest, self.hist_len, self.vm_mips, self.book_mem, self.book_bw, self.book_cpu, self._types,
                self.cfg.book_migrations, self.free_mem, self.free_cpu, self.pe_mips, self.total, self.S, self.A,
                self.R, self.HH, self.HL, self.busy, self._stale, self.htype,
            )  # fmt: skip
            if on is not None:
                on.n_over = n_on
            if anywhere is not None:
                anywhere.n_over = n_any
        return [(v, t) for v, t in found[:n_found].tolist()], on, (head, last, nxt, guest, alive, n_app)

    @property
    def _types(self) -> np.ndarray:
        """Where each guest may run, as the compiled passes take it: a row per guest, or one row for all."""
        return self._all_types[None, :] if self.compatible is None else self.compatible

    def start(self, v: int, target: int) -> int:
        """Record that guest ``v`` starts migrating to ``target``; returns the first target it passes
        through when it was already moved in this step (-1 otherwise)."""
        v = self.row(v)
        first = int(self.mig_to[v])
        if first >= 0:
            self.ghosts.append((v, first))
        self.mig_to[v] = target
        self.lists[target].append(v)
        self._changed.add(target)
        return first


class _TargetIndex:
    """The hosts a step may move guests to (``eligible``), indexed for PABFD
    (:func:`cloudsim.placement.kernels.find_host_indexed`): :meth:`set` after a host's view changes, or
    when it stops being eligible. With ``wake_excluded`` the empty hosts may be woken too: of each type the
    lowest-id empty host not excluded stands for all (they are interchangeable), as in the scan, and the next
    one takes its place when it gets a guest."""

    def __init__(self, c: Consolidator, eligible: np.ndarray, wake_excluded: np.ndarray | None = None) -> None:
        self.c, self.eligible = c, eligible
        # the empty hosts that may be woken, per type t: wake_hosts[wake_pos[t]:wake_end[t]] in id order, the
        # first standing for the type (none without wake_excluded)
        per_type = [np.zeros(0, dtype=np.int64)] * c.ntypes
        if wake_excluded is not None:
            free = ~c.busy & ~wake_excluded
            per_type = [np.flatnonzero(free & (c.htype == t)) for t in range(c.ntypes)]
        sizes = np.array([len(x) for x in per_type], dtype=np.int64)
        self.wake_end = np.cumsum(sizes)
        self.wake_pos = self.wake_end - sizes
        self.wake_hosts = np.concatenate([np.zeros(0, dtype=np.int64), *per_type])
        eligible[self.wake_hosts[self.wake_pos[sizes > 0]]] = True
        cls, rep = c._classes
        (bstart, slot_host, tbase, size, hb, hslot, node, free, nfree) = kernels.index_build(
            eligible, cls, len(rep), c.S, c.A, c.p0, c.total, c.pe_mips, c.ptab, c.R, c.HH, c.HL, c.free_mem,
            c.free_bw, c.free_cpu,
        )  # fmt: skip
        overflow, self.n_over = np.empty(c.H, dtype=np.int64), 0
        n = len(node) + c.H
        hk, hs, hn = np.empty(n), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        # the kernels' arguments that stay for the step (the views are the step's arrays)
        self._set_args = (cls, bstart, slot_host, tbase, size, hb, hslot, node, free, nfree, overflow, c.S, c.A,
                          c.p0, c.total, c.pe_mips, c.ptab, c.R, c.HH, c.HL, c.free_mem, c.free_bw,
                          c.free_cpu)  # fmt: skip
        self._find_args = (c.htype, rep, c.S, c.A, c.R, c.HH, c.HL, c.p0, c.total, c.pe_mips, c.ptab, c.free_mem,
                           c.free_bw, c.free_cpu, c._det_code, c._det_param, bstart, slot_host, tbase, size, node,
                           overflow, hk, hs, hn)  # fmt: skip

    def set(self, h: int, eligible: bool | None = None) -> None:
        """Host ``h``'s view or bookings changed (and, given ``eligible``, whether it may take guests)."""
        if eligible is not None:
            self.eligible[h] = eligible
        c = self.c
        self.n_over = kernels.index_touch(h, self.n_over, self.eligible, self.wake_hosts, self.wake_pos,
                                          self.wake_end, c.busy, c.htype, self._set_args)  # fmt: skip

    def exclude(self, hosts: np.ndarray) -> None:
        """The hosts ``hosts`` (in order) may take no guests from now: :meth:`set` of each, in one compiled call."""
        c = self.c
        self.n_over = kernels.index_exclude(hosts, self.n_over, self.eligible, self.wake_hosts, self.wake_pos,
                                            self.wake_end, c.busy, c.htype, self._set_args)  # fmt: skip

    def find(self, r: float, v: int, type_ok: np.ndarray, book: bool) -> int:
        """PABFD for guest ``v`` requesting ``r`` MIPS (see :meth:`Consolidator.find_host`); -1 if no host."""
        c = self.c
        return kernels.find_host_indexed(
            r, c.history(v), c.hist_len[v], c.vm_mips[v], type_ok, book, c.book_mem[v], c.book_bw[v], c.book_cpu[v],
            self.n_over, *self._find_args,
        )  # fmt: skip
