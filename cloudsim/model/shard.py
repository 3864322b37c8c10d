"""A host shard: one or more physical hosts as numpy arrays, and the guests on them.

The controller decides (which guest goes where, when a migration starts and ends); the shard owns the
dynamics. At every event time it

1. integrates each host over the interval since its last event: energy, and the SLA sums (time active,
   time at full allocation, CPU requested and allocated, CPU lost to migrations);
2. applies the controller's commands (place, remove, migrate in, migrate out) and completes the
   migrations that end at that time;
3. *settles*: from each guest's utilization at that time (a draw per tick from its distribution, or its
   trace column) it computes what each guest requests and is allocated, and so each host's CPU in use,
   power and memory booked.

Two allocation models (the scenario's ``dynamics.model``, see :class:`Dynamics`):

* ``fair`` (the default): a guest requests ``cpu x util / (1 - c)`` host MIPS (``c`` the virtualization
  overhead); an oversubscribed host scales every request by capacity / requests; energy is the power of
  the settled state times the interval; an empty host draws 0 W when ``empty_hosts: off``.
* ``cloudsim``: CloudSim 3.0.3's power package (``reference/cloudsim-planetlab.md``). A request is capped
  at one core's MIPS; an oversubscribed host scales and *floors* every allocation; energy is the trapezoid
  ``(P(u_prev) + P(u_now)) / 2 x dt`` and 0 when ``u_prev`` is 0 (a host at 0 % CPU is off); trace
  utilization is interpolated between samples at every event; a guest requesting exactly 0 MIPS counts as
  finished and leaves; the state entries that the SLA sums integrate start at the first event after the
  initial placement.

In both, a migrating guest gets ``source_share`` (90 %) of its allocation on the source while the source
counts its whole request, and the target books ``target_share`` (10 %) of the request from the start of
the migration and counts the whole request as requested (CloudSim's 90 % / 10 %).

Determinism: per-host sums run over the host's guests in guest-id order (residents first, then incoming
migrations), and a host is integrated only at event times every shard sees (ticks, migration completions)
or at its own commands, so results do not depend on how hosts are grouped into shards or actors. The
cloudsim model integrates every host of a shard at each of its events, so there every shard sees every
command time too (:class:`~cloudsim.engine.backend.Outbox`, with no commands where it has none).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from typing import NamedTuple

import numpy as np
from numba import njit

from cloudsim.model import rng
from cloudsim.model.interpolation import interpolate_at, interpolate_rows
from cloudsim.virt import MODES

N_MODES = len(MODES)

#: Utilization kinds (``Place.dist_kind``): distributions drawn per tick, or a trace column (``p1``).
DIST_CONSTANT, DIST_UNIFORM, DIST_NORMAL, DIST_TRACE = 0, 1, 2, 3

#: Row roles: a resident guest, a guest migrating out (leaves at its end time), a guest migrating in
#: (resident from its end time), an incoming migration superseded in the same step (leaves at its end).
RESIDENT, OUTGOING, INCOMING, SUPERSEDED = 0, 1, 2, 3
#: A row removed between ticks in the fair model (its guest id is -1): it counts nothing, and the rows
#: marked so are dropped at a full settle once they are more than ``_DEAD_SHARE`` of the rows.
DEAD = 4
_DEAD_SHARE = 0.125


#: The rows from which a shard draws its next tick beside the controller's work (:meth:`HostShard.draw_ahead`),
#: and the resident guests from which the controller records a tick beside its consolidation: a hand-over
#: between two threads costs about 0.25 ms a tick on this machine, more than the work it moves below this
#: (the consolidation demo's 288 ticks took 0.50 s with both beside, against 0.36 s without).
BESIDE_ROWS = 20_000


@functools.cache
def beside() -> ThreadPoolExecutor:
    """The one thread of this process on which work runs beside the main thread's, in the order it comes: the
    controller's bookkeeping of a tick beside its consolidation, the shards' next tick drawn meanwhile
    (:meth:`HostShard.draw_ahead`), a report's sums beside its other pass (:meth:`HostShard.report`). One, whatever
    the shards: these machines have two cores, and a third busy thread slowed the main thread's work more than
    it moved off it."""
    return ThreadPoolExecutor(1, thread_name_prefix="cloudsim-beside")


os.register_at_fork(after_in_child=beside.cache_clear)  # a forked child has the executor but not its thread


@dataclass(frozen=True)
class Dynamics:
    """How shards turn utilization into allocation, power and SLA (the scenario's ``dynamics`` section)."""

    model: str = "fair"  # "fair" or "cloudsim"
    source_share: float = 0.9  # of its allocation a migrating guest keeps on the source [L9, L10]
    target_share: float = 0.1  # of its request the target books while the migration runs (CloudSim)
    full_power: bool = False  # every host on at full power (CloudSim's NPA experiment)

    @property
    def cloudsim(self) -> bool:
        return self.model == "cloudsim"


@dataclass(frozen=True)
class ShardSpec:
    """Static description of the hosts in one shard (global host ids, contiguous)."""

    host_ids: np.ndarray  # (n,) int, global ids
    cpu_mips: np.ndarray  # (n,) capacity
    pe_mips: np.ndarray  # (n,) one core's MIPS (the cloudsim model caps a request there)
    mem_mib: np.ndarray  # (n,) capacity
    reserve_mib: np.ndarray  # (n,) hypervisor / host OS reservation
    power_curve_w: np.ndarray  # (n, 11) watts at 0, 10, ..., 100 % CPU
    empty_off: np.ndarray  # (n,) bool: an empty host is switched off (0 W)
    seed: int
    dynamics: Dynamics = field(default_factory=Dynamics)

    def with_arrays(self, f: Callable[[np.ndarray], np.ndarray]) -> ShardSpec:
        """This spec with ``f`` of each of its arrays (a copy, the first hosts' rows, ...)."""
        return replace(
            self, **{k.name: f(v) for k in fields(self) if isinstance(v := getattr(self, k.name), np.ndarray)}
        )


class Place(NamedTuple):
    """Start a guest on a host. ``cpu_mips`` is what its vCPUs ask at full use (without overhead);
    ``overhead_c`` the CPU fraction lost to virtualization; ``mem_mib`` its whole host footprint;
    ``dist_kind``, ``p1``, ``p2`` its utilization (a distribution, or ``DIST_TRACE`` with ``p1`` the
    trace column). With ``end_s`` it is the target side of a migration that completes at ``end_s``."""

    guest_id: int
    host_id: int
    mode: int
    cpu_mips: float
    overhead_c: float
    mem_mib: float
    dist_kind: int
    p1: float
    p2: float
    end_s: float | None = None


class Remove(NamedTuple):
    """A guest leaves a host (it departed, or the controller moved it away by other means)."""

    guest_id: int
    host_id: int


class MigrateOut(NamedTuple):
    """The source side of a migration: the guest keeps running here until ``end_s``, then leaves."""

    guest_id: int
    host_id: int
    end_s: float


class Supersede(NamedTuple):
    """An incoming migration that a second migration in the same step replaced: the guest passes through
    this host and leaves it at ``end_s`` (CloudSim's double migration)."""

    guest_id: int
    host_id: int
    end_s: float


class Fail(NamedTuple):
    """A host fails: every guest on it is lost, and it draws nothing until :class:`Repair`."""

    host_id: int


class Repair(NamedTuple):
    """A failed host is back (empty)."""

    host_id: int


class Encoded(NamedTuple):
    """Commands already encoded, one row each in order (:func:`place_rows`, :func:`end_rows`): how the
    controller sends its places and migrations, without a Python object per command."""

    rows: np.ndarray


Command = Place | Remove | MigrateOut | Supersede | Fail | Repair | Encoded


@dataclass
class HostReport:
    """Per-host state of a shard at a time ``t`` (arrays aligned with ``host_ids``), and the guests' current
    utilization (resident guests, in guest-id order)."""

    t: float
    host_ids: np.ndarray
    guests: np.ndarray  # resident guests on the host (a migrating guest counts on its source)
    incoming: np.ndarray  # migrations in flight towards the host
    cpu_used_mips: np.ndarray  # host CPU allocated (a migrating guest counts whole on its source)
    cpu_requested_mips: np.ndarray  # host CPU the guests request (overhead included)
    cpu_demand_mips: np.ndarray  # what resident guests' vCPUs ask, without overhead
    cpu_delivered_mips: np.ndarray  # what resident guests get, without overhead
    overhead_mips_by_mode: np.ndarray  # (n, modes) host CPU spent on virtualization
    delivered_mips_by_mode: np.ndarray  # (n, modes)
    mem_used_mib: np.ndarray  # reservation + booked footprints (0 for a host that is off)
    power_w: np.ndarray
    energy_j: np.ndarray  # cumulative
    active_s: np.ndarray  # cumulative time with CPU allocated (SLATAH denominator)
    full_s: np.ndarray  # cumulative time active and allocating less than requested (SLATAH numerator)
    requested_mips_s: np.ndarray  # cumulative CPU requested by resident guests
    allocated_mips_s: np.ndarray  # cumulative CPU allocated to resident guests
    migration_loss_mips_s: np.ndarray  # cumulative CPU requested but not allocated while migrating (PDM)
    shutdowns: np.ndarray  # active -> inactive transitions
    shutdown_on_s: np.ndarray  # summed time on before each shutdown
    guest_ids: np.ndarray  # resident guests, ascending
    guest_util: np.ndarray  # their utilization now (fraction of their vCPUs)
    guest_req_mips: np.ndarray  # their request now (host MIPS, overhead included)
    finished: np.ndarray  # guests that finished (cloudsim model: a request of 0) since the last report

    def pack_size(self) -> int:
        """The float64 words :meth:`pack` fills in ``out``."""
        return HostReport.packed_words(len(self.host_ids), len(self.guest_ids), len(self.finished))

    @staticmethod
    def packed_words(hosts: int, guests: int, finished: int) -> int:
        """The float64 words a report of ``hosts`` hosts, ``guests`` resident guests and ``finished`` finished
        guests fills when packed."""
        return _HOST_ROWS * hosts + 3 * guests + finished

    @staticmethod
    def packed_views(words: np.ndarray, hosts: int, guests: int, finished: int) -> tuple[np.ndarray, ...]:
        """The three arrays of a report packed into ``words`` (:meth:`pack` with ``out``), as views: the host
        rows, the guest rows and the finished ids (int64), one after another."""
        a, g = _HOST_ROWS * hosts, 3 * guests
        return (words[:a].reshape(_HOST_ROWS, hosts), words[a : a + g].reshape(3, guests),
                words[a + g : a + g + finished].view(np.int64))  # fmt: skip

    def pack(self, out: np.ndarray | None = None) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """The report as three arrays (per host, per guest, finished guests) for a cheap trip between
        processes: one buffer each instead of one per field, a field (or a mode) per row, so that packing
        and unpacking copy whole rows. With ``out`` (float64, at least :meth:`pack_size` words) the three
        are views of its first words, one after another (the finished ids as int64)."""
        n, g, f = len(self.host_ids), len(self.guest_ids), len(self.finished)
        if out is None:
            hosts, guests, finished = np.empty((_HOST_ROWS, n)), np.empty((3, g)), self.finished
        else:
            hosts, guests, finished = HostReport.packed_views(out, n, g, f)
            finished[:] = self.finished
        row = 0
        for k in _HOST_FIELDS:
            value = getattr(self, k)
            if k in _BY_MODE:
                hosts[row : row + N_MODES] = value.T
                row += N_MODES
            else:
                hosts[row] = value
                row += 1
        guests[0], guests[1], guests[2] = self.guest_ids, self.guest_util, self.guest_req_mips
        return self.t, hosts, guests, finished

    @staticmethod
    def unpack(packed: tuple[float, np.ndarray, np.ndarray, np.ndarray]) -> HostReport:
        """The inverse of :meth:`pack`: the fields are views of the packed rows (read-only when the arrays
        came from an actor, through Ray's object store or a shared buffer: a report is read, never written)."""
        t, hosts, guests, finished = packed
        out: dict[str, np.ndarray] = {}
        row = 0
        for k in _HOST_FIELDS:
            if k in _BY_MODE:
                out[k] = hosts[row : row + N_MODES].T
                row += N_MODES
            else:
                out[k] = hosts[row].astype(np.int64) if k in _INT_HOST else hosts[row]
                row += 1
        out["guest_ids"] = guests[0].astype(np.int64)
        out["guest_util"], out["guest_req_mips"] = guests[1], guests[2]
        return HostReport(t=t, finished=finished, **out)

    @staticmethod
    def concat(reports: list[HostReport]) -> HostReport:
        """One report for all hosts, in the order given (shards are contiguous in host-id order); guest
        arrays are merged in guest-id order. One report is that report."""
        if len(reports) == 1:
            return reports[0]
        first = reports[0]
        arrays = {
            name: np.concatenate([getattr(r, name) for r in reports])
            for name in first.__dataclass_fields__
            if name != "t"
        }
        order = np.argsort(arrays["guest_ids"], kind="stable")
        for name in ("guest_ids", "guest_util", "guest_req_mips"):
            arrays[name] = arrays[name][order]
        arrays["finished"] = np.sort(arrays["finished"])
        return HostReport(t=first.t, **arrays)


_BY_MODE = {"overhead_mips_by_mode", "delivered_mips_by_mode"}
_INT_HOST = {"host_ids", "guests", "incoming", "shutdowns"}
_HOST_FIELDS = tuple(
    k
    for k in HostReport.__dataclass_fields__
    if k not in ("t", "guest_ids", "guest_util", "guest_req_mips", "finished")
)
_HOST_ROWS = len(_HOST_FIELDS) + (N_MODES - 1) * len(_BY_MODE)  # rows of a packed report's host array


def power_w(curve_w: np.ndarray, util: np.ndarray) -> np.ndarray:
    """Linear interpolation in 11-point power curves, as CloudSim's ``PowerModelSpecPower.getPower`` [P13]
    computes it (:func:`power` is the same for one host, compiled).

    ``curve_w`` is (n, 11), ``util`` (n,), clipped to [0, 1]."""
    u = np.clip(util, 0.0, 1.0)
    lo = np.floor(u * 10).astype(np.int64)
    hi = np.ceil(u * 10).astype(np.int64)
    rows = np.arange(len(u))
    p1 = curve_w[rows, lo]
    return p1 + (curve_w[rows, hi] - p1) / 10 * (u - lo / 10) * 100


@njit(cache=True, nogil=True, inline="always")
def power(table: np.ndarray, u: float) -> float:
    """:func:`power_w` of one host (``PowerModelSpecPower.getPower``), ``u`` clipped to [0, 1]: the same
    operations in the same order, so the same watts."""
    u = min(max(u, 0.0), 1.0)
    lo = int(np.floor(u * 10))
    hi = int(np.ceil(u * 10))
    p1 = table[lo]
    return p1 + (table[hi] - p1) / 10 * (u - lo / 10) * 100


@njit(cache=True, nogil=True, inline="always")
def _share(asked: float, role: int, tshare: float) -> float:
    """What a row asks of its host's CPU: a migration's target gives the incoming copy ``tshare`` of it."""
    return asked * tshare if role >= INCOMING else asked


@njit(cache=True, nogil=True, inline="always")
def _scaled(asked: float, role: int, f: float, tshare: float, sshare: float) -> float:
    """A row's allocation when its host gives each share ``f`` of it (the fair model): a migration's source
    keeps ``sshare`` of what the guest asks."""
    return (asked * sshare if role == OUTGOING else _share(asked, role, tshare)) * f


@njit(cache=True, nogil=True, inline="always")
def _counted(alloc: float, role: int, sshare: float) -> float:
    """What a row's allocation counts on its host: a migrating guest counts whole on its source."""
    return alloc / sshare if role == OUTGOING else alloc


@njit(cache=True, nogil=True, inline="always")
def _util(i: int, draw: np.ndarray, kind: np.ndarray, p1: np.ndarray, trace: np.ndarray, t: float) -> float:
    """Row ``i``'s utilization at ``t``: its trace column interpolated, or the tick's draw."""
    return interpolate_at(trace, int(p1[i]), t) if kind[i] == DIST_TRACE else draw[i]


@njit(cache=True, nogil=True)
def _settle_hosts(
    t: float, hosts: np.ndarray, slot: np.ndarray, host: np.ndarray, role: np.ndarray, cpu: np.ndarray,
    c: np.ndarray, draw: np.ndarray, kind: np.ndarray, p1: np.ndarray, trace: np.ndarray, tshare: float,
    sshare: float, total: np.ndarray, curves: np.ndarray, empty_off: np.ndarray, down: np.ndarray,
    full_power: bool, used: np.ndarray, requested: np.ndarray, res_req: np.ndarray, res_alloc: np.ndarray,
    mig_loss: np.ndarray, power_out: np.ndarray, on: np.ndarray, was_active: np.ndarray, on_since: np.ndarray,
    shutdowns: np.ndarray, shutdown_on_s: np.ndarray, by_start: np.ndarray, by_rows: np.ndarray, rows: np.ndarray,
) -> None:  # fmt: skip
    """The fair model's settle of the hosts ``hosts`` only (local, ascending; ``slot[h]`` their position, -1
    for the others): a host's state depends on its own rows alone, and nothing changes between ticks but
    what the events touch, so the same per-host sums over the same rows in the same order (as
    ``np.bincount`` sums them) give the figures a settle of every host gives, without its cost at every
    arrival. The rows of host h below ``len(by_rows)`` are ``by_rows[by_start[h]:by_start[h + 1]]`` (in row
    order); the rows from there on are looked at one by one. ``rows``: scratch, as many as the rows."""
    k = hosts.shape[0]
    m = 0  # the hosts' rows, each host's in row order, go to rows[:m]
    for j in range(k):
        h = hosts[j]
        for x in range(by_start[h], by_start[h + 1]):
            rows[m] = by_rows[x]
            m += 1
    for i in range(by_rows.shape[0], host.shape[0]):
        if slot[host[i]] >= 0:
            rows[m] = i
            m += 1
    s = np.zeros(k)
    count = np.zeros(k, dtype=np.int64)
    for x in range(m):
        i = rows[x]
        j = slot[host[i]]
        if role[i] == DEAD:
            continue
        s[j] += _share(_util(i, draw, kind, p1, trace, t) * cpu[i] / (1.0 - c[i]), role[i], tshare)
        count[j] += 1
    f = np.ones(k)
    for j in range(k):
        h = hosts[j]
        if s[j] > total[h]:
            f[j] = total[h] / s[j]
        used[h] = requested[h] = res_req[h] = res_alloc[h] = mig_loss[h] = 0.0
    for x in range(m):
        i = rows[x]
        j = slot[host[i]]
        if role[i] == DEAD:
            continue
        h = host[i]
        req = _util(i, draw, kind, p1, trace, t) * cpu[i] / (1.0 - c[i])
        r = role[i]
        alloc = _scaled(req, r, f[j], tshare, sshare)
        used[h] += _counted(alloc, r, sshare)
        requested[h] += req
        if r < INCOMING:
            res_req[h] += req
            res_alloc[h] += alloc
        if r == OUTGOING and alloc < req:
            mig_loss[h] += req - alloc
    for j in range(k):
        h = hosts[j]
        has = count[j] > 0
        on[h] = (has or not empty_off[h]) and not down[h]
        if full_power:
            power_out[h] = 0.0 if down[h] else curves[h, -1]
        else:
            power_out[h] = power(curves[h], used[h] / total[h]) if on[h] else 0.0
        if was_active[h] and not has:
            shutdowns[h] += 1
            shutdown_on_s[h] += t - on_since[h]
        if not was_active[h] and has:
            on_since[h] = t
        was_active[h] = has


#: An encoded command's operation (column 0 of :func:`_encode`'s rows).
_PLACE, _REMOVE, _OUT, _SUPERSEDE, _FAIL, _REPAIR = 0, 1, 2, 3, 4, 5
_WIDTH = 11  # an encoded command's row
_OPS = {Place: _PLACE, Remove: _REMOVE, MigrateOut: _OUT, Supersede: _SUPERSEDE, Fail: _FAIL, Repair: _REPAIR}


def place_rows(guest: np.ndarray, host: np.ndarray, costs: np.ndarray, dist: np.ndarray, end: np.ndarray) -> np.ndarray:
    """:class:`Place` commands, encoded: guests ``guest`` on hosts ``host``, each with its row of ``costs`` (mode
    index, MIPS, overhead fraction, memory) and of ``dist`` (utilization kind, p1, p2), ending at ``end`` (NaN:
    none)."""
    out = np.empty((len(guest), _WIDTH))
    out[:, 0] = _PLACE
    out[:, 1], out[:, 2], out[:, 3:7], out[:, 7:10], out[:, 10] = guest, host, costs, dist, end
    return out


def end_rows(op: type[MigrateOut | Supersede], guest: np.ndarray, host: np.ndarray, end: np.ndarray) -> np.ndarray:
    """:class:`MigrateOut` or :class:`Supersede` commands, encoded."""
    out = np.zeros((len(guest), _WIDTH))
    out[:, 0] = _OPS[op]
    out[:, 1], out[:, 2], out[:, 10] = guest, host, end
    return out


def _encode(steps: Sequence[tuple[float, list[Command] | None]]) -> tuple[np.ndarray, np.ndarray]:
    """The commands of ``steps`` (see :meth:`Events.encode`) as rows of floats for the compiled edits, and where
    each step's rows start (and the last ends). A row: operation, guest, host (global), then a place's mode,
    cpu, overhead, memory, utilization kind, p1, p2, and the end time (NaN: none). :class:`Encoded` commands
    are such rows already."""
    nan = math.nan
    rows: list[tuple[float, ...]] = []
    blocks = []
    done = 0  # the rows in blocks
    starts = np.zeros(len(steps) + 1, dtype=np.int64)
    for j, (_, commands) in enumerate(steps):
        for cmd in commands or ():
            if type(cmd) is Encoded:
                if rows:
                    blocks.append(np.array(rows, dtype=np.float64))
                    done += len(rows)
                    rows = []
                blocks.append(cmd.rows)
                done += len(cmd.rows)
                continue
            op = _OPS[type(cmd)]
            if op == _PLACE:
                rows.append((op, *cmd[:9], nan if cmd[9] is None else cmd[9]))
            elif op == _REMOVE:
                rows.append((op, cmd[0], cmd[1], 0, 0, 0, 0, 0, 0, 0, nan))
            elif op < _FAIL:
                rows.append((op, cmd[0], cmd[1], 0, 0, 0, 0, 0, 0, 0, cmd[2]))
            else:
                rows.append((op, -1, cmd[0], 0, 0, 0, 0, 0, 0, 0, nan))
        starts[j + 1] = done + len(rows)
    last = np.array(rows, dtype=np.float64).reshape(-1, _WIDTH)
    return (np.concatenate([*blocks, last]) if blocks else last), starts


class Events(NamedTuple):
    """A shard's events in order, as arrays (what travels to a shard in another process: a few buffers,
    not a pickled object per command). Event ``j`` at ``times[j]`` is a migration completion time when
    ``done[j]`` (the migrations due then end), else the commands ``cmds[starts[j]:starts[j + 1]]``
    (:func:`_encode`'s rows) at that time."""

    times: np.ndarray
    done: np.ndarray
    starts: np.ndarray
    cmds: np.ndarray

    @staticmethod
    def encode(steps: Sequence[tuple[float, list[Command] | None]]) -> Events:
        """``steps`` in order: ``(t, commands)``, or ``(t, None)`` for a completion time."""
        cmds, starts = _encode(steps)
        return Events(
            np.array([t for t, _ in steps], dtype=np.float64),
            np.array([cs is None for _, cs in steps], dtype=np.bool_),
            starts,
            cmds,
        )


@njit(cache=True, nogil=True)
def _find_row(g: int, h: int, gid: np.ndarray, host: np.ndarray, n: int, by_start: np.ndarray,
              by_rows: np.ndarray) -> int:  # fmt: skip
    """The first row, in row order, of guest ``g`` on local host ``h`` (-1: none): among the host's rows
    (``by_start``/``by_rows``), then the rows after those, not all."""
    for x in range(by_start[h], by_start[h + 1]):
        if gid[by_rows[x]] == g:
            return by_rows[x]
    for i in range(by_rows.shape[0], n):
        if host[i] == h and gid[i] == g:
            return i
    return -1


@njit(cache=True, nogil=True, inline="always")
def _kill(i: int, gid: np.ndarray, role: np.ndarray, end: np.ndarray) -> None:
    """Mark row ``i`` :data:`DEAD` (its guest id -1, no end)."""
    role[i], gid[i], end[i] = DEAD, -1, math.inf


@njit(cache=True, nogil=True)
def _put(cmds: np.ndarray, draws: np.ndarray, slots: np.ndarray, roles: np.ndarray, ends: np.ndarray,
         alive: np.ndarray, count: int, first: int, n: int, gid: np.ndarray, host: np.ndarray, mode: np.ndarray,
         cpu: np.ndarray, c: np.ndarray, mem: np.ndarray, kind: np.ndarray, p1: np.ndarray, p2: np.ndarray,
         role: np.ndarray, end: np.ndarray, draw: np.ndarray, with_draws: bool) -> int:  # fmt: skip
    """Append the places still pending (``count`` slots, the live ones in order) as rows from ``n``; the
    row count after."""
    for s in range(count):
        if not alive[s]:
            continue
        j = slots[s]
        gid[n], host[n], mode[n] = int(cmds[j, 1]), int(cmds[j, 2]) - first, int(cmds[j, 3])
        cpu[n], c[n], mem[n], kind[n] = cmds[j, 4], cmds[j, 5], cmds[j, 6], int(cmds[j, 7])
        p1[n], p2[n], role[n], end[n] = cmds[j, 8], cmds[j, 9], roles[s], ends[s]
        if with_draws:
            draw[n] = draws[j]
        n += 1
    return n


@njit(cache=True, nogil=True, inline="always")
def _slot_of(keys: np.ndarray, key: int) -> int:
    """Where ``key`` (>= 0) is in the open-addressing table ``keys`` (-1 empty, -2 deleted), or -1."""
    mask = keys.shape[0] - 1
    i = (key * 2654435761) & mask
    while keys[i] != -1:
        if keys[i] == key:
            return i
        i = (i + 1) & mask
    return -1


@njit(cache=True, nogil=True, inline="always")
def _free_slot(keys: np.ndarray, key: int) -> int:
    """Where ``key``, not in the table ``keys``, goes: the first empty or deleted slot of its probe."""
    mask = keys.shape[0] - 1
    i = (key * 2654435761) & mask
    while keys[i] >= 0:
        i = (i + 1) & mask
    return i


@njit(cache=True, nogil=True)
def _edit(
    cmds: np.ndarray, draws: np.ndarray, lo: int, hi: int, first: int, nh: int, gid: np.ndarray, host: np.ndarray,
    mode: np.ndarray, cpu: np.ndarray, c: np.ndarray, mem: np.ndarray, kind: np.ndarray, p1: np.ndarray,
    p2: np.ndarray, role: np.ndarray, end: np.ndarray, draw: np.ndarray, n: int, by_start: np.ndarray,
    by_rows: np.ndarray, down: np.ndarray, with_draws: bool,
) -> tuple[int, bool, int]:  # fmt: skip
    """The row edits of one event's commands ``cmds[lo:hi]`` (:func:`_encode`), in order, on the rows (the
    columns, with room after row ``n``): places are appended at the end in command order, as one batch (a
    place in the same batch that a later command removes or marks is changed there, not appended twice);
    a migration's source or superseded target gets its role and end; a removed row is marked :data:`DEAD`
    after the batch. A failure first appends and removes what came before it, then marks every row of its
    host dead. Returns (rows, whether a row died, the command whose guest was not found or -1)."""
    slots, roles = np.empty(hi - lo, dtype=np.int64), np.empty(hi - lo, dtype=np.int64)
    ends, alive = np.empty(hi - lo), np.zeros(hi - lo, dtype=np.bool_)
    # (guest, host) -> its slot: an open-addressing table at most half full (a key takes one entry at most)
    size = 2
    while size < 2 * (hi - lo) + 2:
        size *= 2
    keys, at = np.full(size, -1, dtype=np.int64), np.empty(size, dtype=np.int64)
    count = 0
    drops = np.empty(hi - lo, dtype=np.int64)
    nd = 0
    dead = False
    for j in range(lo, hi):
        op, g, h = int(cmds[j, 0]), int(cmds[j, 1]), int(cmds[j, 2]) - first
        if op >= _FAIL:
            for x in range(nd):
                _kill(drops[x], gid, role, end)
            dead |= nd > 0
            n = _put(cmds, draws, slots, roles, ends, alive, count, first, n, gid, host, mode, cpu, c, mem, kind,
                     p1, p2, role, end, draw, with_draws)  # fmt: skip
            nd, count = 0, 0
            keys[:] = -1
            if op == _FAIL:
                for i in range(n):
                    if host[i] == h and role[i] != DEAD:
                        _kill(i, gid, role, end)
                        dead = True
            down[h] = op == _FAIL
            continue
        key = g * nh + h
        e = _slot_of(keys, key)
        if op == _PLACE:
            if e >= 0:  # placed twice in the batch: the later one, where the first was
                s = at[e]
            else:
                s = count
                count += 1
                e = _free_slot(keys, key)
                keys[e], at[e] = key, s
            incoming = not np.isnan(cmds[j, 10])
            slots[s], roles[s], alive[s] = j, INCOMING if incoming else RESIDENT, True
            ends[s] = cmds[j, 10] if incoming else math.inf
            continue
        if e >= 0:  # a row placed in this batch (a guest moved twice in one step)
            s = at[e]
            if op == _REMOVE:
                alive[s] = False
                keys[e] = -2
            else:
                roles[s], ends[s] = OUTGOING if op == _OUT else SUPERSEDED, cmds[j, 10]
            continue
        i = _find_row(g, h, gid, host, n, by_start, by_rows)
        if i < 0:
            return n, dead, j
        if op == _REMOVE:
            drops[nd] = i
            nd += 1
        else:
            role[i], end[i] = OUTGOING if op == _OUT else SUPERSEDED, cmds[j, 10]
    for x in range(nd):
        _kill(drops[x], gid, role, end)
    dead |= nd > 0
    n = _put(cmds, draws, slots, roles, ends, alive, count, first, n, gid, host, mode, cpu, c, mem, kind, p1, p2,
             role, end, draw, with_draws)  # fmt: skip
    return n, dead, -1


@njit(cache=True, nogil=True)
def _end_due(t: float, n: int, gid: np.ndarray, host: np.ndarray, role: np.ndarray, end: np.ndarray,
             hosts: np.ndarray) -> tuple[int, bool]:  # fmt: skip
    """The migrations due by ``t`` end, on the first ``n`` rows: a target's row becomes resident, a source's
    (or a superseded target's) is marked :data:`DEAD`. Their hosts go to ``hosts`` (room for ``n``), in row
    order. Returns (how many rows were due, whether a row died)."""
    m = 0
    dead = False
    for i in range(n):
        if end[i] <= t:
            hosts[m] = host[i]
            m += 1
            if role[i] == INCOMING:
                role[i], end[i] = RESIDENT, math.inf
            else:
                _kill(i, gid, role, end)
                dead = True
    return m, dead


@njit(cache=True, nogil=True)
def _distinct(hosts: np.ndarray, k: int, mark: np.ndarray) -> np.ndarray:
    """The distinct values of ``hosts[:k]``, ascending (``mark``: scratch, all False before and after)."""
    out = np.empty(k, dtype=np.int64)
    m = 0
    for x in range(k):
        h = hosts[x]
        if not mark[h]:
            mark[h] = True
            out[m] = h
            m += 1
    out = np.sort(out[:m])
    for h in out:
        mark[h] = False
    return out


@njit(cache=True, nogil=True)
def _fair_events(
    times: np.ndarray, done: np.ndarray, starts: np.ndarray, cmds: np.ndarray, draws: np.ndarray, first: int,
    gid: np.ndarray, host: np.ndarray, mode: np.ndarray, cpu: np.ndarray, c: np.ndarray, mem: np.ndarray,
    kind: np.ndarray, p1: np.ndarray, p2: np.ndarray, role: np.ndarray, end: np.ndarray, draw: np.ndarray, n: int,
    by_start: np.ndarray, by_rows: np.ndarray, trace: np.ndarray, tshare: float, sshare: float, total: np.ndarray,
    curves: np.ndarray, empty_off: np.ndarray, down: np.ndarray, full_power: bool, last_t: np.ndarray,
    energy_j: np.ndarray, used: np.ndarray, requested: np.ndarray, res_req: np.ndarray, res_alloc: np.ndarray,
    mig_loss: np.ndarray, active_s: np.ndarray, full_s: np.ndarray, requested_mips_s: np.ndarray,
    allocated_mips_s: np.ndarray, migration_loss_mips_s: np.ndarray, power_out: np.ndarray, on: np.ndarray,
    was_active: np.ndarray, on_since: np.ndarray, shutdowns: np.ndarray, shutdown_on_s: np.ndarray,
    slot: np.ndarray,
) -> tuple[int, bool, int, np.ndarray, np.ndarray]:  # fmt: skip
    """The fair model's events between two ticks, in order, compiled. An event at ``times[k]`` is either the
    commands ``cmds[starts[k]:starts[k + 1]]`` (integrate the hosts they touch, :func:`_edit`, settle those
    hosts) or, where ``done[k]``, a migration completion time (the migrations due end: a target's row becomes
    resident, a source's dies; integrate and settle their hosts). A host's integrals break at its own events
    and at ticks only: the others' figures do not change at another host's event. Returns (rows, whether a row
    died, the command whose guest was not found or -1, the rows by host as they are now)."""
    nh = slot.shape[0]
    mark = np.zeros(nh, dtype=np.bool_)
    scratch = np.empty(n + 64, dtype=np.int64)
    dead = False
    for k in range(times.shape[0]):
        t = times[k]
        if n > 2 * by_rows.shape[0] + 64:  # many rows came: index them again
            by_start, by_rows = _rows_by_host(host[:n], nh)
        if scratch.shape[0] < n:
            scratch = np.empty(2 * n, dtype=np.int64)
        if done[k]:  # (the rows' roles change, not their hosts' figures, until the hosts settle below)
            m, died = _end_due(t, n, gid, host, role, end, scratch)
            dead |= died
            hosts = _distinct(scratch, m, mark)
            _integrate_hosts(t, hosts, power_out[hosts], last_t, energy_j, True, used, requested, res_req,
                             res_alloc, mig_loss, active_s, full_s, requested_mips_s, allocated_mips_s,
                             migration_loss_mips_s)  # fmt: skip
        else:
            lo, hi = starts[k], starts[k + 1]
            touched = np.empty(hi - lo, dtype=np.int64)
            for j in range(lo, hi):
                touched[j - lo] = int(cmds[j, 2]) - first
            hosts = _distinct(touched, hi - lo, mark)
            _integrate_hosts(t, hosts, power_out[hosts], last_t, energy_j, True, used, requested, res_req,
                             res_alloc, mig_loss, active_s, full_s, requested_mips_s, allocated_mips_s,
                             migration_loss_mips_s)  # fmt: skip
            n, died, bad = _edit(cmds, draws, lo, hi, first, nh, gid, host, mode, cpu, c, mem, kind, p1, p2, role,
                                 end, draw, n, by_start, by_rows, down, True)  # fmt: skip
            dead |= died
            if bad >= 0:
                return n, dead, bad, by_start, by_rows
        if hosts.shape[0] == 0:
            continue
        if scratch.shape[0] < n:
            scratch = np.empty(2 * n, dtype=np.int64)
        for j in range(hosts.shape[0]):
            slot[hosts[j]] = j
        _settle_hosts(
            t, hosts, slot, host[:n], role[:n], cpu[:n], c[:n], draw[:n], kind[:n], p1[:n], trace, tshare, sshare,
            total, curves, empty_off, down, full_power, used, requested, res_req, res_alloc, mig_loss, power_out, on,
            was_active, on_since, shutdowns, shutdown_on_s, by_start, by_rows, scratch,
        )  # fmt: skip
        for j in range(hosts.shape[0]):
            slot[hosts[j]] = -1
    return n, dead, -1, by_start, by_rows


@njit(cache=True, nogil=True)
def _integrate_hosts(
    t: float, hosts: np.ndarray, watts: np.ndarray, last_t: np.ndarray, energy_j: np.ndarray, entries: bool,
    used: np.ndarray, requested: np.ndarray, res_req: np.ndarray, res_alloc: np.ndarray, mig_loss: np.ndarray,
    active_s: np.ndarray, full_s: np.ndarray, requested_mips_s: np.ndarray, allocated_mips_s: np.ndarray,
    migration_loss_mips_s: np.ndarray,
) -> None:  # fmt: skip
    """:meth:`HostShard._integrate` of ``hosts`` drawing ``watts`` (aligned with ``hosts``) since their last
    event, compiled: the same products and sums per host, so the same figures."""
    for k in range(hosts.shape[0]):
        h = hosts[k]
        dt = t - last_t[h]
        last_t[h] = t
        if not dt > 0:
            continue
        energy_j[h] += watts[k] * dt
        if entries:
            if used[h] > 0:
                active_s[h] += dt
                if used[h] < requested[h]:
                    full_s[h] += dt
            requested_mips_s[h] += dt * res_req[h]
            allocated_mips_s[h] += dt * res_alloc[h]
            migration_loss_mips_s[h] += dt * mig_loss[h]


@njit(cache=True, nogil=True)
def _rows_by_host(host: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(starts, rows): the rows of local host h, in row order, are ``rows[starts[h]:starts[h + 1]]``."""
    starts = np.zeros(n + 1, dtype=np.int64)
    for i in range(host.shape[0]):
        starts[host[i] + 1] += 1
    for h in range(n):
        starts[h + 1] += starts[h]
    fill = starts[:-1].copy()
    rows = np.empty(host.shape[0], dtype=np.int64)
    for i in range(host.shape[0]):
        rows[fill[host[i]]] = i
        fill[host[i]] += 1
    return starts, rows


@njit(cache=True, nogil=True)
def _power_on(curves: np.ndarray, used: np.ndarray, total: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Each host's watts at ``used`` MIPS of ``total`` (:func:`power`), 0 where it is not ``on``."""
    out = np.zeros(used.shape[0])
    for h in range(used.shape[0]):
        if on[h]:
            out[h] = power(curves[h], used[h] / total[h])
    return out


@njit(cache=True, nogil=True)
def _report_sums(
    host: np.ndarray, role: np.ndarray, mode: np.ndarray, res: np.ndarray, req: np.ndarray, alloc: np.ndarray,
    c: np.ndarray, mem: np.ndarray, n: int, modes: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """A report's per-host sums of the rows, in one pass, in row order as ``np.bincount`` sums them (a row
    that does not count adds 0): resident and incoming rows; what resident guests ask and get without
    overhead; per mode, the overhead and what they get; the booked memory of every row (a :data:`DEAD` row is
    none of these)."""
    out = (np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64), np.zeros(n), np.zeros(n),
           np.zeros((n, modes)), np.zeros((n, modes)), np.zeros(n))  # fmt: skip
    _report_redo(host, role, mode, res, req, alloc, c, mem, None, None, *out)
    return out


@njit(cache=True, nogil=True)
def _report_redo(
    host: np.ndarray, role: np.ndarray, mode: np.ndarray, res: np.ndarray, req: np.ndarray, alloc: np.ndarray,
    c: np.ndarray, mem: np.ndarray, hosts: np.ndarray | None, rows: np.ndarray | None, guests: np.ndarray, incoming: np.ndarray,
    demand: np.ndarray, delivered: np.ndarray, over_m: np.ndarray, deliv_m: np.ndarray, booked: np.ndarray,
) -> None:  # fmt: skip
    """:func:`_report_sums` of the rows ``rows`` (each host's in row order), all those on the hosts ``hosts``,
    written over those hosts' sums, which start from 0 (the other hosts' stay as they are: a tick settled
    ahead, :class:`_Ahead`); ``None`` and ``None``: every row, into sums that are all 0."""
    if hosts is not None:
        for h in hosts:
            guests[h], incoming[h], demand[h], delivered[h], booked[h] = 0, 0, 0.0, 0.0, 0.0
            over_m[h, :] = 0.0
            deliv_m[h, :] = 0.0
    for x in range(host.shape[0] if rows is None else rows.shape[0]):
        i = x if rows is None else rows[x]  # (None: compiled apart, as a loop over every row)
        h = host[i]
        if role[i] == DEAD:
            continue
        if res[i]:
            guests[h] += 1
        else:
            incoming[h] += 1
        d = alloc[i] * (1.0 - c[i]) if res[i] else 0.0
        demand[h] += req[i] * (1.0 - c[i]) if res[i] else 0.0
        delivered[h] += d
        over_m[h, mode[i]] += alloc[i] * c[i] if res[i] else 0.0
        deliv_m[h, mode[i]] += d
        booked[h] += mem[i]


@njit(cache=True, nogil=True)
def _allocate_rows(
    host: np.ndarray, role: np.ndarray, cpu: np.ndarray, c: np.ndarray, util: np.ndarray, pe_mips: np.ndarray,
    total: np.ndarray, tshare: float, sshare: float, cloudsim: bool, n: int, room: int = 0,
) -> tuple[np.ndarray, ...]:  # fmt: skip
    """:meth:`HostShard._allocate` of the rows, compiled: each row's request (host MIPS, overhead included)
    and allocation, whether it is resident and whether it migrates out; and each host's CPU in use (a migrating
    guest counts whole on its source) and the settle's sums: requested, requested and allocated by resident
    guests, requested but not allocated by guests migrating out, and whether it has rows. The same operations
    in the same order as the numpy (``np.bincount``) they replaced, the sums per host in row order: the same
    bits. A :data:`DEAD` row requests and gets 0, is neither resident nor migrating out, and gives its host no
    row (adding 0 changes no sum). The rows' arrays have ``room`` places when that is more than the rows (those
    past the rows are not written)."""
    rows = max(host.shape[0], room)
    out = (np.empty(rows), np.empty(rows), np.empty(rows, dtype=np.bool_), np.empty(rows, dtype=np.bool_),
           np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.bool_))  # fmt: skip
    _allocate_redo(host, role, cpu, c, util, pe_mips, total, tshare, sshare, cloudsim, None, None, *out)
    return out


@njit(cache=True, nogil=True)
def _allocate_redo(
    host: np.ndarray, role: np.ndarray, cpu: np.ndarray, c: np.ndarray, util: np.ndarray, pe_mips: np.ndarray,
    total: np.ndarray, tshare: float, sshare: float, cloudsim: bool, hosts: np.ndarray | None, rows: np.ndarray | None,
    req: np.ndarray, alloc: np.ndarray, resident: np.ndarray, out: np.ndarray, used: np.ndarray,
    requested: np.ndarray, res_req: np.ndarray, res_alloc: np.ndarray, loss: np.ndarray, has: np.ndarray,
) -> None:  # fmt: skip
    """:func:`_allocate_rows` of the rows ``rows`` (each host's in row order), all those on the hosts
    ``hosts``, written over theirs in the arrays given, those hosts' sums from 0 (the other rows and hosts stay
    as they are: a tick settled ahead, :class:`_Ahead`); ``None`` and ``None``: every row, into sums that are
    all 0."""
    s = np.zeros(used.shape[0])
    if hosts is not None:
        for h in hosts:
            used[h], requested[h], res_req[h], res_alloc[h], loss[h], has[h] = 0.0, 0.0, 0.0, 0.0, 0.0, False
    m = host.shape[0] if rows is None else rows.shape[0]
    for x in range(m):
        i = x if rows is None else rows[x]  # (None: compiled apart, as a loop over every row)
        r = util[i] * cpu[i] / (1.0 - c[i]) if role[i] != DEAD else 0.0
        req[i] = r
        a = min(r, pe_mips[host[i]]) if cloudsim else r
        resident[i] = role[i] < INCOMING
        out[i] = role[i] == OUTGOING
        s[host[i]] += _share(a, role[i], tshare)
    for x in range(m):
        i = x if rows is None else rows[x]
        h = host[i]
        r = req[i]
        a = min(r, pe_mips[h]) if cloudsim else r  # (what it asked for, as above)
        over = s[h] > total[h]
        f = total[h] / (s[h] if s[h] > 0 else 1.0) if over else 1.0
        if cloudsim and over:  # CloudSim floors the scaled MIPS
            got = np.floor(a * f * sshare) if out[i] else np.floor(_share(a, role[i], tshare) * f)
        else:  # (f is 1 on a host that is not overloaded)
            got = _scaled(a, role[i], f, tshare, sshare)
        alloc[i] = got
        used[h] += _counted(got, role[i], sshare)
        if role[i] == DEAD:
            continue
        requested[h] += r
        res_req[h] += r if resident[i] else 0.0
        res_alloc[h] += got if resident[i] else 0.0
        loss[h] += r - got if out[i] and got < r else 0.0
        has[h] = True


@njit(cache=True, nogil=True)
def _draw_rows(seed: np.uint64, tick: np.uint64, gid: np.ndarray, kind: np.ndarray, p1: np.ndarray,
               p2: np.ndarray) -> np.ndarray:  # fmt: skip
    """Each row's draw at ``tick`` (:func:`cloudsim.model.rng.draw`, stream 0: ``u1``; stream 1, a normal's
    only: ``u2``): uniform ``p1 + (p2 - p1) u1``, normal (Box-Muller) ``p1 + p2 sqrt(-2 log1p(-u1)) cos(2 pi
    u2)``, else ``p1``; clipped to [0, 1] as ``np.clip`` does. The operations numpy's passes made, in the same
    order, and the C library's ``log1p`` and ``cos``, which numpy calls too on a machine without AVX-512 (this
    one: identical over 20 M draws; with AVX-512 numpy may use its own, SVML)."""
    k1, k2 = rng.stream_key(seed, tick, np.uint64(0)), rng.stream_key(seed, tick, np.uint64(1))
    out = np.empty(kind.shape[0])
    for i in range(kind.shape[0]):
        if kind[i] == DIST_UNIFORM:
            x = p1[i] + (p2[i] - p1[i]) * rng.draw(k1, gid[i])
        elif kind[i] == DIST_NORMAL:
            log = math.log1p(-rng.draw(k1, gid[i]))
            x = p1[i] + p2[i] * (math.sqrt(-2.0 * log) * math.cos(2.0 * np.pi * rng.draw(k2, gid[i])))
        else:
            x = p1[i]
        x = x if (math.isnan(x) or x > 0.0) else 0.0
        out[i] = x if (math.isnan(x) or x < 1.0) else 1.0
    return out


@njit(cache=True, nogil=True)
def _keep_rows(keep: np.ndarray, draws: bool, gid: np.ndarray, host: np.ndarray, mode: np.ndarray, cpu: np.ndarray,
               c: np.ndarray, mem: np.ndarray, kind: np.ndarray, p1: np.ndarray, p2: np.ndarray, role: np.ndarray,
               end: np.ndarray, draw: np.ndarray) -> int:  # fmt: skip
    """The rows ``keep`` (a mask over the first ``len(keep)``) moved to the front of the columns (of
    :data:`_FIELDS`, and ``draw`` with ``draws``), in order, in place, in one pass; how many."""
    m = 0
    for i in range(keep.shape[0]):
        if not keep[i]:
            continue
        if m != i:
            gid[m], host[m], mode[m], cpu[m], c[m], mem[m] = gid[i], host[i], mode[i], cpu[i], c[i], mem[i]
            kind[m], p1[m], p2[m], role[m], end[m] = kind[i], p1[i], p2[i], role[i], end[i]
            if draws:
                draw[m] = draw[i]
        m += 1
    return m


@njit(cache=True, nogil=True)
def _resident_by_id(gid: np.ndarray, res: np.ndarray, util: np.ndarray, req: np.ndarray,
                    at: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """The resident rows' guest ids (distinct, >= 0), utilizations and requests, by ascending id, and the
    scratch ``at`` after (:func:`_resident_order`)."""
    keys, rows, at = _resident_order(gid, res, at)
    u, r = _gather(rows, util, req)
    return keys, u, r, at


@njit(cache=True, nogil=True)
def _gather(rows: np.ndarray, util: np.ndarray, req: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u, r = np.empty(rows.shape[0]), np.empty(rows.shape[0])
    for x in range(rows.shape[0]):
        u[x], r[x] = util[rows[x]], req[rows[x]]
    return u, r


@njit(cache=True, nogil=True)
def _resident_order(gid: np.ndarray, res: np.ndarray,
                    at: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """The resident rows' guest ids (distinct, >= 0) by ascending id, their rows, and the scratch ``at`` after
    (all -1, grown when it was short). When the ids span at most four times the rows, each row is placed at
    its id in ``at`` and the span read in order; else a radix sort of the ids, 11 bits a pass (the span of a
    long run's ids grows, the rows do not)."""
    n, lo, top = 0, 0, 0
    for i in range(gid.shape[0]):
        if res[i]:
            lo = gid[i] if n == 0 else min(lo, gid[i])
            top = max(top, gid[i])
            n += 1
    keys, rows = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    if n and top - lo + 1 <= 4 * n:
        if at.shape[0] < top - lo + 1:
            at = np.full(2 * (top - lo + 1), -1, dtype=np.int64)
        for i in range(gid.shape[0]):
            if res[i]:
                at[gid[i] - lo] = i
        k = 0
        for x in range(top - lo + 1):
            if at[x] >= 0:
                keys[k], rows[k] = x + lo, at[x]
                at[x] = -1
                k += 1
    else:
        k = 0
        for i in range(gid.shape[0]):
            if res[i]:
                keys[k], rows[k] = gid[i], i
                k += 1
        k2, r2 = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        count = np.empty(1 << 11, dtype=np.int64)
        shift = 0
        while top >> shift > 0:
            count[:] = 0
            for x in range(n):
                count[(keys[x] >> shift) & 0x7FF] += 1
            total = 0
            for d in range(1 << 11):
                total, count[d] = total + count[d], total
            for x in range(n):
                d = (keys[x] >> shift) & 0x7FF
                k2[count[d]], r2[count[d]] = keys[x], rows[x]
                count[d] += 1
            keys, k2, rows, r2 = k2, keys, r2, rows
            shift += 11
    return keys, rows, at


@njit(cache=True, nogil=True)
def _redo_rows(redo: np.ndarray, hosts: np.ndarray, by_start: np.ndarray, by_rows: np.ndarray,
               host: np.ndarray) -> np.ndarray:  # fmt: skip
    """Every row on the hosts ``hosts`` (``redo`` as a mask), each host's in row order: from the rows by host
    (:func:`_rows_by_host`) of the rows there were when it was made, then the rows added since."""
    count = 0
    for h in hosts:
        count += by_start[h + 1] - by_start[h]
    for i in range(by_rows.shape[0], host.shape[0]):
        count += 1 if redo[host[i]] else 0
    out = np.empty(count, dtype=np.int64)
    k = 0
    for h in hosts:
        for x in range(by_start[h], by_start[h + 1]):
            out[k] = by_rows[x]
            k += 1
    for i in range(by_rows.shape[0], host.shape[0]):
        if redo[host[i]]:
            out[k] = i
            k += 1
    return out


@njit(cache=True, nogil=True)
def _resident_redo(
    keys: np.ndarray, was_on: np.ndarray, kept_util: np.ndarray, kept_req: np.ndarray, redo: np.ndarray,
    rows: np.ndarray, gid: np.ndarray, res: np.ndarray, util: np.ndarray, req: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """:func:`_resident_by_id` of the rows now, from a tick settled ahead (its resident guests ``keys`` by id,
    each one's host then ``was_on``, utilization and request), whose hosts but ``redo`` kept their rows: its
    guests on the other hosts, and those of the rows ``rows`` (every row on the hosts ``redo``) resident now,
    merged by id."""
    m = 0
    for i in rows:
        m += 1 if res[i] else 0
    new_keys, new_rows = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64)
    m = 0
    for i in rows:
        if res[i]:
            new_keys[m], new_rows[m] = gid[i], i
            m += 1
    order = np.argsort(new_keys)
    size = keys.shape[0] + m
    out_keys, out_util, out_req = np.empty(size, dtype=np.int64), np.empty(size), np.empty(size)
    k = j = 0
    for e in range(keys.shape[0]):
        if redo[was_on[e]]:
            continue
        while j < m and new_keys[order[j]] < keys[e]:
            i = new_rows[order[j]]
            out_keys[k], out_util[k], out_req[k] = gid[i], util[i], req[i]
            k, j = k + 1, j + 1
        out_keys[k], out_util[k], out_req[k] = keys[e], kept_util[e], kept_req[e]
        k += 1
    while j < m:
        i = new_rows[order[j]]
        out_keys[k], out_util[k], out_req[k] = gid[i], util[i], req[i]
        k, j = k + 1, j + 1
    return out_keys[:k], out_util[:k], out_req[:k]


_NO_TRACE = np.zeros((0, 0))  # the trace of a shard given none
#: what :func:`_allocate_rows` returns, by name (:meth:`HostShard._allocate`)
_ALLOCATED = ("req", "alloc", "resident", "out", "used", "requested", "res_req", "res_alloc", "loss", "has")
_PER_ROW = {"req", "alloc", "resident", "out"}  # (the others are per host)
_FIELDS = ("gid", "host", "mode", "cpu", "c", "mem", "kind", "p1", "p2", "role", "end")
_INT_FIELDS = {"gid", "host", "mode", "kind", "role"}


@dataclass
class _Ahead:
    """A tick settled ahead (:meth:`HostShard.draw_ahead`): its allocation (:func:`_allocate_rows`; the rows'
    arrays with room for more after the rows there were) and report sums (:func:`_report_sums`), and its
    resident guests by id (``keys``, each one's host ``was_on``, utilization and request: :func:`_resident_by_id`).
    At the tick only the hosts whose rows changed since are settled again: those the commands since name and
    the ``moving`` ones (with a migration under way, which may end before the tick). The other hosts' rows are
    where they were (rows are appended, and a cut, ``cuts``, discards this) with the same draws, so their
    figures are the same."""

    tick: int
    cuts: int
    alloc: dict[str, np.ndarray]
    sums: tuple[np.ndarray, ...]
    keys: np.ndarray
    was_on: np.ndarray
    util: np.ndarray
    req: np.ndarray
    moving: np.ndarray


class HostShard:
    """The hosts of one shard and their guests. Pure numpy; no Ray. ``trace`` is the utilization matrix
    of a trace workload (``util[vm, sample]``), shared read-only by every shard."""

    def __init__(self, spec: ShardSpec, trace: np.ndarray | None = None) -> None:
        self.spec = spec
        self.dyn = spec.dynamics
        self.trace = trace
        n = len(spec.host_ids)
        self._first = int(spec.host_ids[0]) if n else 0
        self.n = n
        self.tick = 0
        self.last_t = np.zeros(n)
        z = np.zeros
        self.energy_j, self.active_s, self.full_s = z(n), z(n), z(n)
        self.requested_mips_s, self.allocated_mips_s, self.migration_loss_mips_s = z(n), z(n), z(n)
        self.shutdowns = np.zeros(n, dtype=np.int64)
        self.shutdown_on_s = z(n)
        # CloudSim counts every host as on at the start (so a host it never uses is a shutdown)
        self._was_active = np.full(n, self.dyn.cloudsim)
        self._on_since = z(n)
        self._entries = not self.dyn.cloudsim  # the cloudsim model's state entries start at its first event
        self._finished: list[int] = []
        self._down = np.zeros(n, dtype=bool)  # failed hosts
        # the guests' rows as columns (see _FIELDS), in the order the controller's commands added them: a
        # host's rows keep the same order whatever shard holds it, so its sums do too
        self._a: dict[str, np.ndarray] = {
            k: np.zeros(0, dtype=np.int64 if k in _INT_FIELDS else np.float64) for k in _FIELDS
        }
        self._version = 0
        self._dead = False  # rows marked DEAD since the last compaction
        self._alloc_key: tuple[float, int, int] | None = None
        self._alloc: dict[str, np.ndarray] = {}
        self._draw_tick = -1  # the tick of _draw, which is aligned with the rows
        self._draw: np.ndarray = z(0)
        self._ahead: tuple[int, np.ndarray] | None = None  # (tick, its draws of the first rows): draw_ahead
        self._drawing: Future[None] | None = None  # draw_ahead running beside: every call waits for it first
        self._buf: dict[str, np.ndarray] | None = None  # the buffers the columns (and draws) are views of
        self._slot = np.full(self.n, -1, dtype=np.int64)  # scratch of _fair_events, all -1 between calls
        self._by_host: tuple[np.ndarray, np.ndarray] | None = None  # _rows_by_host; None once rows are cut
        self._at: np.ndarray | None = None  # scratch of _resident_order, all -1 between calls
        self._cuts = 0  # the cuts of rows so far (_keep)
        self._next: _Ahead | None = None  # the next tick settled ahead, beside (draw_ahead)
        # the tick settled ahead the allocation came from, the hosts redone (a mask, their indices) and their rows
        self._from: tuple[_Ahead, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._touched = np.zeros(n, dtype=bool)  # the hosts the commands named since the tick was settled ahead
        self._settle(0.0, remove_idle=False)

    def save(self) -> bytes:
        """The whole state of the shard (not the shared trace), for :meth:`restore`."""
        import pickle

        self._drawn_ahead()
        state = dict(self.__dict__)
        state["trace"] = None
        # the columns travel on their own; their buffers, the rows by host, the draws ahead and a scratch are
        # made again
        state["_buf"], state["_by_host"], state["_at"], state["_ahead"] = None, None, None, None
        state["_next"], state["_from"] = None, None  # (the restored shard settles its next tick whole)
        return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def restore(cls, saved: bytes, trace: np.ndarray | None = None) -> HostShard:
        """The shard :meth:`save` saved, reading ``trace``; it continues exactly as the original would."""
        import pickle

        shard = cls.__new__(cls)
        shard.__dict__.update(pickle.loads(saved))
        shard.trace, shard._ahead, shard._drawing = trace, None, None
        return shard

    # ------------------------------------------------------------------------------------- commands

    def _buffers(self, rows: int) -> dict[str, np.ndarray]:
        """The buffers the columns are views of (and the tick's draws, once copied in), with room for ``rows``
        rows: made with the columns copied in, or grown twice over, when there is not."""
        buf = self._buf
        if buf is None or rows > len(buf["gid"]):
            n, cap = len(self._a["gid"]), max(64, 2 * rows)
            buf = {k: np.empty(cap, dtype=v.dtype) for k, v in self._a.items()}
            for k, v in self._a.items():
                buf[k][:n] = v
            buf["draw"] = np.empty(cap)
            self._buf = buf
        return buf

    def _compact(self, share: float = 0.0) -> None:
        """Drop the rows marked :data:`DEAD` (removed since the last cut), keeping the others' order, when they
        are more than ``share`` of the rows: the fair model's full settle passes over them (they count nothing)
        and cuts them only when they are many, as a cut moves every row after the first it drops."""
        if self._dead:
            keep = self._a["role"] != DEAD
            if share > 0 and keep.size - np.count_nonzero(keep) <= share * keep.size:
                return
            self._dead = False
            self._keep(keep)
            self._invalidate()

    def _keep(self, keep: np.ndarray) -> None:
        """Keep the rows ``keep`` (a mask), in order; in place in the buffers (:func:`_keep_rows`), which keep
        their room."""
        self._by_host = None  # rows were cut: the rows by host are made again
        self._cuts += 1  # (and a tick settled ahead is not used)
        if self._ahead is not None:  # the draws ahead follow their rows
            tick, drawn = self._ahead
            self._ahead = (tick, drawn[keep[: len(drawn)]])
        n = len(self._a["gid"])
        buf = self._buffers(n)  # the columns are its first n rows
        draws = self._draw_tick == self.tick
        if draws and self._draw.base is not buf["draw"]:
            buf["draw"][:n] = self._draw
        m = _keep_rows(keep, draws, *(buf[k] for k in _FIELDS), buf["draw"])
        self._a = {k: buf[k][:m] for k in _FIELDS}
        if draws:
            self._draw = buf["draw"][:m]
        else:
            self._draw_tick = -1

    def run(self, events: Events) -> None:
        """The events since the last call, in order (:class:`Events`): at a completion time the migrations due
        end (:meth:`complete`), else the commands apply (:meth:`apply`). The fair model runs them all in one
        compiled call (:func:`_fair_events`)."""
        self._drawn_ahead()
        times, done, starts, cmds = events
        if not len(times):
            return
        if self.dyn.cloudsim:
            for j, t in enumerate(times.tolist()):
                if done[j]:
                    self._complete_cloudsim(t)
                else:
                    self._apply_cloudsim(t, cmds[starts[j] : starts[j + 1]])
            return
        if self._draw_tick != self.tick:
            self._draw = self._draws(self._a)
            self._draw_tick = self.tick
        self._touched[cmds[:, 2].astype(np.int64) - self._first] = True
        buf, draws, n = self._room(cmds)
        trace = self.trace if self.trace is not None else _NO_TRACE
        sp, d = self.spec, self.dyn
        n, dead, bad, by_start, by_rows = _fair_events(
            times, done, starts, cmds, draws, self._first, *(buf[k] for k in _FIELDS), buf["draw"], n,
            *self._rows_by_host(), trace, d.target_share, d.source_share, sp.cpu_mips, sp.power_curve_w,
            sp.empty_off, self._down, d.full_power, self.last_t, self.energy_j, self._used, self._requested,
            self._res_req, self._res_alloc, self._mig_loss, self.active_s, self.full_s, self.requested_mips_s,
            self.allocated_mips_s, self.migration_loss_mips_s, self._power, self._on, self._was_active,
            self._on_since, self.shutdowns, self.shutdown_on_s, self._slot,
        )  # fmt: skip
        self._by_host = (by_start, by_rows)
        self._edited(buf, n, dead, bad, cmds, with_draws=True)

    def apply(self, t: float, commands: list[Command]) -> None:
        """Apply the controller's commands at time ``t``: integrate up to ``t`` first (every host in the
        cloudsim model, the touched ones otherwise), edit the rows (:func:`_edit`), then settle."""
        self.run(Events.encode([(t, commands)]))

    def complete(self, t: float) -> None:
        """A migration completion time (every shard sees each one): end the migrations due by ``t``, their
        hosts integrated to ``t`` first (every host in the cloudsim model), and settle."""
        self.run(Events.encode([(t, None)]))

    def _room(self, cmds: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray, int]:
        """The buffers, with room for the places of ``cmds`` after the rows (and the tick's draws copied in
        when they are current); each command's draw (a place's, for the current tick); the rows now."""
        n = len(self._a["gid"])
        places = np.flatnonzero(cmds[:, 0] == _PLACE)
        traced = cmds[places, 7] == DIST_TRACE
        if traced.any() and self.trace is None:
            raise ValueError("a guest follows a trace column but this shard was given no trace")
        buf = self._buffers(n + len(places))
        draws = np.zeros(len(cmds))
        if self._draw_tick == self.tick:
            if self._draw.base is not buf["draw"]:
                buf["draw"][:n] = self._draw
            new = cmds[places]
            draws[places] = self._draws(
                {"gid": new[:, 1].astype(np.int64), "kind": new[:, 7].astype(np.int64), "p1": new[:, 8],
                 "p2": new[:, 9]}
            )  # fmt: skip
        return buf, draws, n

    def _edited(self, buf: dict[str, np.ndarray], n: int, dead: bool, bad: int, cmds: np.ndarray,
                with_draws: bool) -> None:  # fmt: skip
        """The columns are the buffers' first ``n`` rows after an edit (the draws too, ``with_draws``)."""
        self._a = {k: buf[k][:n] for k in _FIELDS}
        if with_draws:
            self._draw = buf["draw"][:n]
        else:
            self._draw_tick = -1
        self._dead |= dead
        self._invalidate()
        if bad >= 0:
            raise KeyError(f"guest {int(cmds[bad, 1])} is not on host {int(cmds[bad, 2])}")

    def _apply_cloudsim(self, t: float, cmds: np.ndarray) -> None:
        """:meth:`apply` of the encoded commands ``cmds`` in the cloudsim model: integrate every host, edit the
        rows, cut the dead ones, settle every host (but at the initial placement, which does not settle:
        CloudSim's clock)."""
        self._integrate(t, np.arange(self.n))
        buf, draws, n = self._room(cmds)
        with_draws = self._draw_tick == self.tick
        # only a command other than a place looks rows up (the rows by host are made again after every cut)
        looks = bool((cmds[:, 0] != _PLACE).any())
        index = self._rows_by_host() if looks else (np.zeros(self.n + 1, dtype=np.int64), np.zeros(0, dtype=np.int64))
        n, dead, bad = _edit(
            cmds, draws, 0, len(cmds), self._first, self.n, *(buf[k] for k in _FIELDS), buf["draw"], n, *index,
            self._down, with_draws,
        )  # fmt: skip
        self._edited(buf, n, dead, bad, cmds, with_draws)
        self._compact()
        if self._entries:
            self._settle(t, remove_idle=False)

    def _complete_cloudsim(self, t: float) -> None:
        """:meth:`complete` in the cloudsim model: every host integrated and settled (finished guests leave)."""
        self._integrate(t, np.arange(self.n))
        a = self._a
        n = len(a["gid"])
        due, died = _end_due(t, n, a["gid"], a["host"], a["role"], a["end"], np.empty(n, dtype=np.int64))
        self._dead |= died
        if due:
            self._compact()  # the cloudsim model cuts the rows that left at once
            self._invalidate()
        self._settle(t, remove_idle=True)

    # ---------------------------------------------------------------------------------------- time

    def advance(self, t: float, tick: int, copy: bool = True) -> HostReport:
        """Integrate every host up to ``t``, take tick ``tick``'s utilizations, settle and report (``copy``: see
        :meth:`report`). The caller then starts the next tick's draws (:meth:`start_ahead`), once it has queued
        beside whatever it wants first."""
        self._drawn_ahead()
        self._integrate(t, np.arange(self.n))
        self.tick = tick
        self._settle(t, remove_idle=True)
        return self.report(t, copy)

    def _next_drawn(self) -> bool:
        """Whether the next tick's draws are drawn or being drawn (:meth:`draw_ahead`)."""
        return self._drawing is not None or (self._ahead is not None and self._ahead[0] == self.tick + 1)

    def start_ahead(self) -> None:
        """With :data:`BESIDE_ROWS` rows or more, the next tick's draws and its settle start beside
        (:meth:`draw_ahead` on :func:`beside`), unless they are drawn or being drawn."""
        if len(self._a["gid"]) >= BESIDE_ROWS and not self._next_drawn():
            self._drawing = beside().submit(self.draw_ahead, self.tick + 1)

    def _invalidate(self) -> None:
        self._version += 1

    def _draws(self, a: dict[str, np.ndarray]) -> np.ndarray:
        """The distribution draws of rows ``a`` for the current tick (counter-based: a pure function of the
        seed, the guest, the tick and its distribution, the same wherever the guest is)."""
        return self._draws_at(self.tick, a)

    def _draws_at(self, tick: int, a: dict[str, np.ndarray]) -> np.ndarray:
        return _draw_rows(*rng.words(self.spec.seed, tick), a["gid"], a["kind"], a["p1"], a["p2"])

    def draw_ahead(self, tick: int) -> None:
        """Draw tick ``tick``'s utilizations of the rows there are now, before the tick: :meth:`start_ahead` runs it
        on the thread beside (:func:`beside`) while the controller works on the tick just reported, and the
        shard's next call waits for it. The rows keep their places until a cut, which the draws follow; the
        rows added since are drawn at the tick. The same draws as at the tick: each is a function of the seed,
        the tick and its row's guest and distribution. (A row removed since keeps its guest's draw where
        the tick would draw guest -1's: a removed row requests nothing, whatever its draw.) Then the tick settled
        as far as these rows give it (:meth:`_settle_ahead`)."""
        self._ahead = (tick, self._draws_at(tick, self._a))
        self._settle_ahead(tick)

    def _settle_ahead(self, tick: int) -> None:
        """With the draws ahead, the tick's allocation and report as far as the rows there are now give them
        (:class:`_Ahead`): the fair model, and no row following a trace (whose utilization is read at the
        tick's time)."""
        a, self._next = self._a, None
        self._touched[:] = False
        self._rows_by_host()  # made here, beside, when the rows since call for it, rather than at the tick
        if self.dyn.cloudsim or (a["kind"] == DIST_TRACE).any():
            return
        host, role, draws = a["host"], a["role"], self._ahead[1]  # type: ignore[index]
        sp, d, n = self.spec, self.dyn, len(host)
        # the rows' arrays with the room the columns have: the rows added by the tick take it (no copy)
        room = len(self._buf["gid"]) if self._buf is not None else 0
        got = _allocate_rows(host, role, a["cpu"], a["c"], draws, sp.pe_mips, sp.cpu_mips, d.target_share,
                             d.source_share, False, self.n, room)  # fmt: skip
        al = dict(zip(_ALLOCATED, got, strict=True))
        res = al["resident"][:n]
        sums = _report_sums(host, role, a["mode"], res, al["req"][:n], al["alloc"][:n], a["c"], a["mem"], self.n,
                            N_MODES)  # fmt: skip
        at = self._at if self._at is not None else np.full(0, -1, dtype=np.int64)
        keys, order, self._at = _resident_order(a["gid"], res, at)
        util, req = _gather(order, draws, al["req"])
        moving = np.zeros(self.n, dtype=bool)
        moving[host[(role != RESIDENT) & (role != DEAD)]] = True
        self._next = _Ahead(tick, self._cuts, al, sums, keys, host[order], util, req, moving)

    def ahead_now(self) -> None:
        """The next tick's draws (:meth:`draw_ahead`) now, unless they are drawn or being drawn: for a caller with
        time to spare between calls (an actor on the driver's node, once its result is on its way)."""
        if not self._next_drawn():
            self.draw_ahead(self.tick + 1)

    def _drawn_ahead(self) -> None:
        """Wait for :meth:`draw_ahead` when it runs beside (its error, if any, raised here)."""
        if self._drawing is not None:
            drawing, self._drawing = self._drawing, None
            drawing.result()

    def _drawn(self, a: dict[str, np.ndarray]) -> np.ndarray:
        """The draws of rows ``a`` for the current tick: those drawn ahead, and then the rows' added since."""
        ahead, self._ahead = self._ahead, None
        if ahead is None or ahead[0] != self.tick:
            return self._draws(a)
        drawn = ahead[1]
        m = len(drawn)
        if m == len(a["gid"]):
            return drawn
        return np.concatenate([drawn, self._draws({k: v[m:] for k, v in a.items()})])

    def _utilization(self, a: dict[str, np.ndarray], t: float) -> np.ndarray:
        """Each row's utilization at ``t``: its trace interpolated at ``t``, or its distribution's draw for
        the current tick (kept aligned with the rows as they change, redrawn when the tick changes)."""
        kind = a["kind"]
        if self._draw_tick != self.tick:
            self._draw = self._drawn(a)
            self._draw_tick = self.tick
        traced = kind == DIST_TRACE
        if not traced.any():
            return self._draw
        if self.trace is None:
            raise ValueError("a guest follows a trace column but this shard was given no trace")
        util = self._draw.copy()
        util[traced] = interpolate_rows(self.trace, a["p1"][traced].astype(np.int64), t)
        return util

    def _allocate(self, t: float) -> dict[str, np.ndarray]:
        """Requests and allocations of every row at ``t`` with the current placement (cached until the
        rows, the time or the tick change)."""
        self._compact(0.0 if self.dyn.cloudsim else _DEAD_SHARE)  # the cloudsim model cuts them at once
        key = (t, self.tick, self._version)
        if key == self._alloc_key:
            return self._alloc
        a, sp, d = self._a, self.spec, self.dyn
        util = self._utilization(a, t)
        nxt, self._from = self._next, None
        if nxt is not None and nxt.tick == self.tick and nxt.cuts == self._cuts:  # settled ahead: the rest
            self._next = None
            redo = nxt.moving | self._touched
            hosts = np.flatnonzero(redo)
            by_host = self._by_host if self._by_host is not None else self._rows_by_host()
            rows = _redo_rows(redo, hosts, *by_host, a["host"])
            n, room = len(a["gid"]), len(nxt.alloc["req"])
            # the rows added since (on hosts redone) in the room after the rows, or in arrays grown
            al = {k: (v[:n] if n <= room else np.concatenate((v, np.empty(n - room, dtype=v.dtype))))
                  if k in _PER_ROW else v for k, v in nxt.alloc.items()}  # fmt: skip
            _allocate_redo(a["host"], a["role"], a["cpu"], a["c"], util, sp.pe_mips, sp.cpu_mips, d.target_share,
                           d.source_share, False, hosts, rows, *(al[k] for k in _ALLOCATED))  # fmt: skip
            self._from = (nxt, redo, hosts, rows)
        else:
            got = _allocate_rows(a["host"], a["role"], a["cpu"], a["c"], util, sp.pe_mips, sp.cpu_mips,
                                 d.target_share, d.source_share, d.cloudsim, self.n)  # fmt: skip
            al = dict(zip(_ALLOCATED, got, strict=True))
        self._alloc_key = key
        self._alloc = {"util": util, **al}
        return self._alloc

    def _host_power(self, used: np.ndarray, on: np.ndarray) -> np.ndarray:
        if self.dyn.full_power:
            return np.where(self._down, 0.0, self.spec.power_curve_w[:, -1])
        return _power_on(self.spec.power_curve_w, used, self.spec.cpu_mips, on)

    def _integrate(self, t: float, hosts: np.ndarray) -> None:
        """Energy and SLA sums of ``hosts`` over (last event, ``t``]."""
        if len(hosts) == 0:
            return
        hosts = np.asarray(hosts, dtype=np.int64)
        if self.dyn.cloudsim and not self.dyn.full_power:
            if not (t - self.last_t[hosts] > 0).any():
                self.last_t[hosts] = t
                return
            # the trapezoid between the settled state and the state at t before any change, 0 W from 0 %
            used_now = self._allocate(t)["used"][hosts]
            curve, cap = self.spec.power_curve_w[hosts], self.spec.cpu_mips[hosts]
            u_prev, u_now = self._used[hosts] / cap, used_now / cap
            watts = np.where(u_prev > 0, (power_w(curve, u_prev) + power_w(curve, u_now)) / 2, 0.0)
        else:
            watts = self._power[hosts]
        _integrate_hosts(
            t, hosts, watts, self.last_t, self.energy_j, self._entries, self._used, self._requested, self._res_req,
            self._res_alloc, self._mig_loss, self.active_s, self.full_s, self.requested_mips_s, self.allocated_mips_s,
            self.migration_loss_mips_s,
        )  # fmt: skip

    def _settle(self, t: float, remove_idle: bool) -> None:
        """The state after every change at ``t``: allocation, power, the SLA state entries, host
        switch-offs; in the cloudsim model, guests requesting 0 MIPS finish first. (What only a report
        needs is computed by :meth:`report`.)"""
        al = self._allocate(t)
        a = self._a
        if remove_idle and self.dyn.cloudsim and len(a["gid"]):
            done = (a["role"] == RESIDENT) & (al["req"] == 0)
            if done.any():
                self._finished += a["gid"][done].tolist()
                self._keep(~done)
                self._invalidate()
                al = self._allocate(t)
                a = self._a
        self._used, self._requested, self._res_req = al["used"], al["requested"], al["res_req"]
        self._res_alloc, self._mig_loss, has = al["res_alloc"], al["loss"], al["has"]
        self._on = (has | ~self.spec.empty_off) & ~self._down
        self._power = self._host_power(self._used, self._on)
        if self._entries or t > 0:
            active = self._used > 0 if self.dyn.cloudsim else has
            off = self._was_active & ~active
            self.shutdowns += off
            self.shutdown_on_s += np.where(off, t - self._on_since, 0.0)
            self._on_since = np.where(~self._was_active & active, t, self._on_since)
            self._was_active = active
            self._entries = True
        self._settled = al

    def _rows_by_host(self) -> tuple[np.ndarray, np.ndarray]:
        """(starts, rows) of :func:`_rows_by_host` for the rows there were when it was made: again when rows
        were cut or more than a few came (the rows added since are at the end, past ``len(rows)``, and every
        look-up and settle between two ticks scans them)."""
        host = self._a["host"]
        if self._by_host is None or len(host) > len(self._by_host[1]) + 64:
            self._by_host = _rows_by_host(host, self.n)
        return self._by_host

    def guest_hosts(self) -> dict[int, list[int]]:
        """Guest id -> the global host ids it is on (two or three during a migration)."""
        self._drawn_ahead()
        self._compact()
        out: dict[int, list[int]] = {}
        for gid, h in sorted(zip(self._a["gid"].tolist(), self._a["host"].tolist(), strict=True)):
            out.setdefault(gid, []).append(h + self._first)
        return out

    def report(self, t: float, copy: bool = True) -> HostReport:
        """The settled state and the integrals so far, in arrays of the caller's own (the shard keeps none of
        them; ``host_ids`` is the spec's). Without ``copy`` the host arrays the shard keeps are its own, to be
        read (packed) before the shard changes."""
        self._drawn_ahead()
        own = np.copy if copy else np.asarray
        finished, self._finished = np.array(sorted(self._finished), dtype=np.int64), []
        # the fair model settles only the hosts a command touches: the rows' figures come fresh (the same
        # formulas; cached when the tick's full settle just computed them)
        al = self._settled if self.dyn.cloudsim else self._allocate(t)
        a, n = self._a, self.n
        res = al["resident"]
        rows = (a["host"], a["role"], a["mode"], res, al["req"], al["alloc"], a["c"], a["mem"])
        if self._from is not None:  # settled ahead: the hosts redone, and the rest as it was
            # (once: the arrays go to the caller; another report of the same allocation sums its rows afresh)
            (nxt, redo, hosts, redone), self._from = self._from, None
            _report_redo(*rows, hosts, redone, *nxt.sums)
            guests, incoming, demand, delivered, over_m, deliv_m, mem = nxt.sums
            guest_ids, guest_util, guest_req = _resident_redo(
                nxt.keys, nxt.was_on, nxt.util, nxt.req, redo, redone, a["gid"], res, al["util"], al["req"]
            )
        else:
            at = self._at if self._at is not None else np.full(0, -1, dtype=np.int64)
            # two passes over the rows that share only what they read: side by side on two threads when large
            beside_sums = beside().submit(_report_sums, *rows, n, N_MODES) if len(res) >= BESIDE_ROWS else None
            guest_ids, guest_util, guest_req, self._at = _resident_by_id(a["gid"], res, al["util"], al["req"], at)
            guests, incoming, demand, delivered, over_m, deliv_m, mem = (
                beside_sums.result() if beside_sums is not None else _report_sums(*rows, n, N_MODES)
            )
        return HostReport(
            t=t,
            host_ids=self.spec.host_ids,
            guests=guests,
            incoming=incoming,
            cpu_used_mips=own(self._used),
            cpu_requested_mips=own(self._requested),
            cpu_demand_mips=demand,
            cpu_delivered_mips=delivered,
            overhead_mips_by_mode=over_m,
            delivered_mips_by_mode=deliv_m,
            mem_used_mib=np.where(self._on, self.spec.reserve_mib + mem, 0.0),
            power_w=own(self._power),
            energy_j=own(self.energy_j),
            active_s=own(self.active_s),
            full_s=own(self.full_s),
            requested_mips_s=own(self.requested_mips_s),
            allocated_mips_s=own(self.allocated_mips_s),
            migration_loss_mips_s=own(self.migration_loss_mips_s),
            shutdowns=own(self.shutdowns),
            shutdown_on_s=own(self.shutdown_on_s),
            guest_ids=guest_ids,
            guest_util=guest_util,
            guest_req_mips=guest_req,
            finished=finished,
        )


def load_kernels(spec: ShardSpec, trace: np.ndarray | None = None) -> None:
    """Load the compiled kernels a shard of ``spec``'s kind reaches from numba's cache, in this process, by running
    a shard of its first two hosts for three ticks, each drawn ahead as a host actor draws between calls: two
    guests placed (one following ``trace``'s first column, if any); a third placed after the draws ahead; one
    moved to the other host and its migration completed. A process's first shard calls otherwise pay for the
    loading (about 60 ms here); a host actor does it as it starts, while the driver places the first guests.
    Only the shard made here changes (the kernels are pure functions of their arguments)."""
    k = min(2, len(spec.host_ids))
    if not k:
        return
    shard = HostShard(replace(spec.with_arrays(lambda a: a[:k]), host_ids=np.arange(k)), trace)
    follows = (DIST_TRACE, 0.0, 0.0) if trace is not None and trace.size else (DIST_UNIFORM, 0.2, 0.8)
    cpu = float(spec.cpu_mips[0]) / 8
    ticks = [
        [(1.0, [Place(0, 0, 0, cpu, 0.0, 1.0, DIST_UNIFORM, 0.2, 0.8), Place(1, k - 1, 0, cpu, 0.0, 1.0, *follows)])],
        [(301.0, [Place(2, 0, 0, cpu, 0.0, 1.0, DIST_UNIFORM, 0.2, 0.8)])],
        [(601.0, [MigrateOut(1, 1, 700.0), Place(1, 0, 0, cpu, 0.0, 1.0, *follows, 700.0)]), (700.0, None)] if k == 2 else [],
    ]  # fmt: skip
    for tick, steps in enumerate(ticks, start=1):
        shard.run(Events.encode(steps))
        shard.advance(300.0 * tick, tick, copy=False).pack()
        shard.ahead_now()
