"""The host shard: overhead, contention, power and energy by hand, and grouping invariance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cloudsim.model import DIST_CONSTANT, DIST_UNIFORM, HostReport, HostShard, Place, Remove, ShardSpec, power_w, rng
from cloudsim.scenario.schema import SPECPOWER_TABLES
from cloudsim.virt import MODE_INDEX, VirtMode

LINEAR_100_200 = np.linspace(100.0, 200.0, 11)  # 100 W idle, 200 W at full load


def spec(ids, seed=1, empty_off=True):
    n = len(ids)
    return ShardSpec(
        host_ids=np.array(ids),
        cpu_mips=np.full(n, 10_000.0),
        pe_mips=np.full(n, 2_500.0),
        mem_mib=np.full(n, 65_536.0),
        reserve_mib=np.full(n, 1024.0),
        power_curve_w=np.tile(LINEAR_100_200, (n, 1)),
        empty_off=np.full(n, empty_off),
        seed=seed,
    )


PARA = MODE_INDEX[VirtMode.PARA]
CONTAINER = MODE_INDEX[VirtMode.CONTAINER]


def test_overhead_power_and_energy_by_hand():
    shard = HostShard(spec([0, 1]))
    # 4000 MIPS of vCPUs at 50 % -> demand 2000; with c = 0.2 the host spends 2000 / 0.8 = 2500 MIPS
    shard.apply(0.0, [Place(1, 0, PARA, 4000.0, 0.2, 5000.0, DIST_CONSTANT, 0.5, 0.0)])
    r = shard.advance(100.0, 1)
    assert r.cpu_demand_mips[0] == pytest.approx(2000)
    assert r.cpu_used_mips[0] == pytest.approx(2500)
    assert r.overhead_mips_by_mode[0, PARA] == pytest.approx(500)
    assert r.delivered_mips_by_mode[0, PARA] == pytest.approx(2000)
    # 25 % CPU on a 100 -> 200 W line: 125 W for 100 s = 12,500 J; host 1 is empty and off: 0 W
    assert r.power_w.tolist() == pytest.approx([125.0, 0.0])
    assert r.energy_j.tolist() == pytest.approx([12_500.0, 0.0])
    assert r.mem_used_mib.tolist() == pytest.approx([1024 + 5000, 0.0])
    assert r.guests.tolist() == [1, 0]


def test_empty_host_left_on_draws_idle_power():
    shard = HostShard(spec([0], empty_off=False))
    r = shard.advance(60.0, 1)
    assert r.power_w[0] == pytest.approx(100.0)
    assert r.energy_j[0] == pytest.approx(6000.0)
    assert r.mem_used_mib[0] == pytest.approx(1024.0)


def test_contention_scales_every_guest_and_counts_the_shortfall():
    shard = HostShard(spec([0]))
    # two guests ask 8000 + 4000 = 12,000 MIPS of a 10,000 MIPS host (no overhead): scale 10/12
    shard.apply(
        0.0,
        [
            Place(1, 0, CONTAINER, 8000.0, 0.0, 100.0, DIST_CONSTANT, 1.0, 0.0),
            Place(2, 0, CONTAINER, 4000.0, 0.0, 100.0, DIST_CONSTANT, 1.0, 0.0),
        ],
    )
    r = shard.advance(10.0, 1)
    assert r.cpu_used_mips[0] == pytest.approx(10_000)
    assert r.cpu_delivered_mips[0] == pytest.approx(10_000)
    # 2,000 MIPS short for 10 s of 12,000 MIPS asked
    assert 1 - r.allocated_mips_s[0] / r.requested_mips_s[0] == pytest.approx(2000 / 12000)
    assert r.power_w[0] == pytest.approx(200.0)


def test_remove_frees_the_host_and_energy_splits_at_the_event():
    shard = HostShard(spec([0]))
    shard.apply(0.0, [Place(1, 0, CONTAINER, 10_000.0, 0.0, 100.0, DIST_CONSTANT, 1.0, 0.0)])
    shard.apply(30.0, [Remove(1, 0)])
    r = shard.advance(60.0, 1)
    # 200 W for 30 s, then off
    assert r.energy_j[0] == pytest.approx(6000.0)
    assert r.guests[0] == 0 and r.power_w[0] == 0


def test_a_completion_integrates_only_the_hosts_of_its_migrations():
    """A migration's end changes its two hosts only: the others' energy and SLA integrals run on unbroken from
    their own last event to the tick (one product each), and the migrating hosts' split at the end."""
    from cloudsim.model import MigrateOut

    shard = HostShard(spec([0, 1, 2], empty_off=False))
    shard.apply(0.0, [Place(1, 0, CONTAINER, 4000.0, 0.0, 100.0, DIST_CONSTANT, 0.5, 0.0),
                      Place(2, 2, CONTAINER, 3000.0, 0.0, 100.0, DIST_CONSTANT, 1.0 / 3.0, 0.0)])  # fmt: skip
    shard.apply(
        10.0, [MigrateOut(1, 0, 40.0), Place(1, 1, CONTAINER, 4000.0, 0.0, 100.0, DIST_CONSTANT, 0.5, 0.0, 40.0)]
    )
    shard.complete(40.0)
    assert shard.last_t.tolist() == [40.0, 40.0, 0.0]  # host 2: nothing since its guest came
    r = shard.advance(300.0, 1)
    # host 2: 1,000 of 10,000 MIPS, 110 W, for 300 s in one product
    assert r.energy_j[2] == 110.0 * 300.0 and r.requested_mips_s[2] == 300.0 * 1000.0
    assert r.guests.tolist() == [0, 1, 1] and r.power_w.tolist() == pytest.approx([100.0, 120.0, 110.0])


def test_encoded_commands_are_the_typed_ones_row_for_row():
    """A batch the controller sends already encoded (:class:`Encoded`, built by ``place_rows`` and ``end_rows``)
    encodes as the typed commands it stands for, wherever it falls among typed ones, and a shard given either
    ends in the same state, bit for bit."""
    from cloudsim.model import Encoded, Events, MigrateOut, Supersede, end_rows, place_rows

    nan = float("nan")
    typed = [
        MigrateOut(1, 0, 40.0),
        Supersede(2, 1, 40.0),
        Place(1, 2, CONTAINER, 4000.0, 0.0, 100.0, DIST_CONSTANT, 0.5, 0.0, 40.0),
        Place(3, 1, PARA, 3000.0, 0.05, 200.0, DIST_UNIFORM, 0.2, 0.4, None),
    ]
    costs = np.array([[CONTAINER, 4000.0, 0.0, 100.0], [PARA, 3000.0, 0.05, 200.0]])
    dist = np.array([[DIST_CONSTANT, 0.5, 0.0], [DIST_UNIFORM, 0.2, 0.4]])
    places = place_rows(np.array([1, 3]), np.array([2, 1]), costs, dist, np.array([40.0, nan]))
    encoded = [
        Encoded(end_rows(MigrateOut, np.array([1]), np.array([0]), np.array([40.0]))),
        Supersede(2, 1, 40.0),  # typed among encoded ones
        Encoded(places),
    ]
    want = Events.encode([(5.0, [Remove(9, 0)]), (10.0, typed), (40.0, None)])
    got = Events.encode([(5.0, [Remove(9, 0)]), (10.0, encoded), (40.0, None)])
    for a, b in zip(want, got, strict=True):
        np.testing.assert_array_equal(a, b)  # NaN ends included
    assert got.starts.tolist() == [0, 1, 5, 5]

    def run(commands):
        shard = HostShard(spec([0, 1, 2], empty_off=False))
        shard.apply(0.0, [Place(1, 0, CONTAINER, 4000.0, 0.0, 100.0, DIST_CONSTANT, 0.5, 0.0),
                          Place(2, 1, CONTAINER, 1000.0, 0.0, 100.0, DIST_CONSTANT, 0.5, 0.0, 60.0)])  # fmt: skip
        shard.apply(10.0, commands)
        shard.complete(40.0)
        return shard.advance(300.0, 1)

    a, b = run(typed), run(encoded)
    for k in ("energy_j", "requested_mips_s", "allocated_mips_s", "guests", "guest_ids", "guest_util"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))


def test_specpower_interpolation():
    # ML110 G4 [P1]: 92.6 W at 20 %, 96 W at 30 % -> 94.3 W at 25 %; the ends are the table's ends
    curve = np.array([SPECPOWER_TABLES["P1"][1]] * 3)
    got = power_w(curve, np.array([0.25, 0.0, 1.0]))
    assert got.tolist() == pytest.approx([94.3, 86.0, 117.0])


def test_counter_based_draws_do_not_depend_on_company():
    ids = np.array([5, 9, 1000])
    alone = rng.uniform(7, ids[1:2], tick=3)
    together = rng.uniform(7, ids, tick=3)
    assert alone[0] == together[1]
    assert not np.array_equal(rng.uniform(7, ids, 3), rng.uniform(7, ids, 4))
    assert not np.array_equal(rng.uniform(7, ids, 3), rng.uniform(8, ids, 3))
    u = rng.uniform(1, np.arange(200_000), 0)
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.005


def _run(groups: list[list[int]]) -> HostReport:
    """Four hosts; guests with random utilization placed, removed and ticked; shards as grouped."""
    shards = [HostShard(spec(g, seed=11)) for g in groups]
    owner = {h: s for s, g in zip(shards, groups, strict=True) for h in g}
    events = [
        (0.0, [Place(i, i % 4, i % 4, 3000.0 + 100 * i, 0.01 * i, 512.0, DIST_UNIFORM, 0.1, 0.9) for i in range(8)]),
        (150.0, [Remove(3, 3), Remove(5, 1)]),
        (420.0, [Place(8, 3, 2, 2500.0, 0.06, 256.0, DIST_UNIFORM, 0.2, 0.7)]),
    ]
    reports: list[HostReport] = []
    for k, tick_t in enumerate((300.0, 600.0, 900.0), start=1):
        for t, cmds in [e for e in events if (k - 1) * 300 <= e[0] < tick_t]:
            for shard in shards:
                mine = [c for c in cmds if owner[c.host_id] is shard]
                if mine:
                    shard.apply(t, mine)
        reports = [s.advance(tick_t, k) for s in shards]
    return HostReport.concat(reports)


def test_results_do_not_depend_on_grouping():
    one = _run([[0, 1, 2, 3]])
    for groups in ([[0], [1], [2], [3]], [[0, 1, 2], [3]]):
        other = _run(groups)
        for name in (
            "energy_j",
            "cpu_used_mips",
            "power_w",
            "overhead_mips_by_mode",
            "allocated_mips_s",
            "requested_mips_s",
        ):
            assert np.array_equal(getattr(one, name), getattr(other, name)), (groups, name)


def test_settling_only_the_touched_hosts_gives_what_settling_all_gives(monkeypatch):
    """The fair model settles only the hosts an event touches; after every event, settling every host of a
    copy must give the same per-host figures, bit for bit (arrivals, departures, migrations, failures)."""
    import copy

    from cloudsim.engine import LocalBackend, Simulation
    from cloudsim.model import shard as shard_module
    from cloudsim.scenario import load_scenario

    run = shard_module.HostShard.run
    checked = []

    def one_by_one(self, events):
        times, done, starts, cmds = events
        for j, t in enumerate(times.tolist()):  # each event on its own, then every host settled on a copy
            lo, hi = (0, 0) if done[j] else (starts[j], starts[j + 1])
            run(self, shard_module.Events(times[j : j + 1], done[j : j + 1], np.array([0, hi - lo]), cmds[lo:hi]))
            full = copy.deepcopy(self)
            full._settle(t, remove_idle=False)
            for name in ("_used", "_requested", "_res_req", "_res_alloc", "_mig_loss", "_power", "_on", "shutdowns",
                         "shutdown_on_s", "_on_since", "_was_active"):  # fmt: skip
                assert np.array_equal(getattr(self, name), getattr(full, name)), (name, t)
            checked.append(bool(done[j]))

    monkeypatch.setattr(shard_module.HostShard, "run", one_by_one)
    for name in ("consolidation-demo", "ha-demo"):
        sc, _ = load_scenario(name, ["duration=6h"])
        Simulation(sc, LocalBackend()).run()
    assert len(checked) > 100 and any(checked) and not all(checked)  # many events, completions among them


def test_report_sums_are_the_bincounts_of_the_rows_bit_for_bit():
    """A report's per-host sums in one compiled pass equal, to the bit, the bincounts over the rows that define
    them (in row order; a row that does not count adds 0), rows removed since the last cut (DEAD) among them."""
    from cloudsim.model.shard import DEAD, N_MODES, RESIDENT, _report_sums

    rng = np.random.default_rng(12)
    for rows, n in ((0, 3), (1, 1), (40, 5), (3000, 200)):
        host, mode = rng.integers(0, n, rows), rng.integers(0, N_MODES, rows)
        role = np.where(rng.random(rows) < 0.1, DEAD, RESIDENT)
        live = role != DEAD
        res = (rng.random(rows) < 0.8) & live
        req, c, mem = rng.uniform(0, 4000, rows), rng.choice([0.0, 0.02, 0.1, 0.3], rows), rng.uniform(0, 9000, rows)
        alloc = req * rng.uniform(0.5, 1.0, rows)
        got = _report_sums(host, role, mode, res, req, alloc, c, mem, n, N_MODES)
        delivered = np.where(res, alloc * (1.0 - c), 0.0)
        flat = host * N_MODES + mode
        want = (
            np.bincount(host[res], minlength=n),
            np.bincount(host[~res & live], minlength=n),
            np.bincount(host, weights=np.where(res, req * (1.0 - c), 0.0), minlength=n),
            np.bincount(host, weights=delivered, minlength=n),
            np.bincount(flat, weights=np.where(res, alloc * c, 0.0), minlength=n * N_MODES).reshape(n, N_MODES),
            np.bincount(flat, weights=delivered, minlength=n * N_MODES).reshape(n, N_MODES),
            np.bincount(host, weights=np.where(live, mem, 0.0), minlength=n),
        )
        for g, w in zip(got, want, strict=True):
            assert g.shape == w.shape and np.array_equal(g, w)


@pytest.mark.parametrize("cloudsim", [False, True])
def test_the_compiled_allocation_is_the_numpy_one_bit_for_bit(cloudsim):
    """Each row's request and allocation and each host's CPU in use and settle sums, compiled, against the numpy
    formulas that define them: migrating rows on both sides, overloaded hosts scaled down (floored in the
    cloudsim model), hosts with no rows, rows removed since the last cut (DEAD)."""
    from cloudsim.model.shard import DEAD, INCOMING, OUTGOING, RESIDENT, SUPERSEDED, _allocate_rows

    rng = np.random.default_rng(21)
    for rows, n in ((0, 2), (5, 3), (400, 30), (5000, 120)):
        host = rng.integers(0, n, rows)
        role = rng.choice([RESIDENT, RESIDENT, OUTGOING, INCOMING, SUPERSEDED, DEAD], rows)
        cpu, c = rng.choice([1000.0, 2500.0, 4000.0], rows), rng.choice([0.0, 0.02, 0.15], rows)
        util = rng.uniform(0, 1, rows) * (rng.random(rows) < 0.9)
        pe, total = rng.choice([1860.0, 2660.0], n), rng.choice([3720.0, 10640.0, 20000.0], n)
        tshare, sshare = 0.1, 0.9
        got = _allocate_rows(host, role, cpu, c, util, pe, total, tshare, sshare, cloudsim, n)
        req = np.where(role == DEAD, 0.0, util * cpu / (1.0 - c))  # a removed row asks nothing
        asked = np.minimum(req, pe[host]) if cloudsim else req
        incoming = role >= INCOMING
        share = np.where(incoming, asked * tshare, asked)
        s = np.bincount(host, weights=share, minlength=n)
        over = s > total
        f = np.where(over, total / np.where(s > 0, s, 1.0), 1.0)[host]
        out = role == OUTGOING
        plain = np.where(out, asked * sshare, share)
        if cloudsim:
            alloc = np.where(over[host], np.floor(np.where(out, asked * f * sshare, share * f)), plain)
        else:
            alloc = plain * f
        used = np.bincount(host, weights=np.where(out, alloc / sshare, alloc), minlength=n).astype(np.float64)
        # and the settle's sums over the rows (floats even over no rows, where np.bincount gives integers)
        res, live = ~incoming, role != DEAD
        sums = [
            req,
            np.where(res, req, 0.0),
            np.where(res, alloc, 0.0),
            np.where(out & (alloc < req), req - alloc, 0.0),
        ]
        sums = [np.bincount(host, weights=w, minlength=n).astype(np.float64) for w in sums]
        has = np.bincount(host[live], minlength=n) > 0
        for g, w in zip(got, (req, alloc, res, out, used, *sums, has), strict=True):
            assert g.shape == w.shape and g.dtype == w.dtype and np.array_equal(g, w)
        assert rows < 400 or over.any()


def test_a_tick_settled_ahead_and_redone_on_the_hosts_that_changed_is_the_whole_settle_bit_for_bit():
    """The allocation, report sums and resident guests by id of rows settled ahead (before the commands of the
    interval), then redone on the hosts whose rows changed since (their rows found from the rows by host made
    before, and the rows added after them), equal the whole computation on the rows as they are now: roles
    changed and rows removed (DEAD) on some hosts, rows added on others, on the end of the rows."""
    from cloudsim.model.shard import (
        _ALLOCATED,
        _PER_ROW,
        DEAD,
        INCOMING,
        N_MODES,
        OUTGOING,
        RESIDENT,
        SUPERSEDED,
        _allocate_redo,
        _allocate_rows,
        _redo_rows,
        _report_redo,
        _report_sums,
        _resident_by_id,
        _resident_redo,
        _rows_by_host,
    )  # fmt: skip

    rng = np.random.default_rng(5)
    for rows, n, added in ((0, 3, 4), (30, 4, 0), (400, 30, 25), (6000, 300, 500)):
        size = rows + added
        host = rng.integers(0, n, size)
        role = rng.choice([RESIDENT, RESIDENT, RESIDENT, OUTGOING, INCOMING, SUPERSEDED, DEAD], size)
        gid = rng.permutation(5 * size)[:size]
        cpu, c = rng.choice([1000.0, 2500.0, 4000.0], size), rng.choice([0.0, 0.02, 0.15], size)
        mode, mem = rng.integers(0, N_MODES, size), rng.uniform(0, 9000, size)
        util = rng.uniform(0, 1, size) * (rng.random(size) < 0.9)
        pe, total = rng.choice([1860.0, 2660.0], n), rng.choice([3720.0, 10640.0, 20000.0], n)
        before = slice(0, rows)
        ahead = _allocate_rows(host[before], role[before], cpu[before], c[before], util[before], pe, total, 0.1, 0.9,
                               False, n)  # fmt: skip
        al = dict(zip(_ALLOCATED, ahead, strict=True))
        sums = _report_sums(host[before], role[before], mode[before], al["resident"], al["req"], al["alloc"],
                            c[before], mem[before], n, N_MODES)  # fmt: skip
        keys, kept_util, kept_req, _ = _resident_by_id(gid[before], al["resident"], util[before], al["req"],
                                                       np.full(0, -1, dtype=np.int64))  # fmt: skip
        by_id = np.argsort(gid[before])
        was_on = host[by_id[np.searchsorted(gid[before], keys, sorter=by_id)]]  # each guest's host, by id
        by_host = _rows_by_host(host[before], n)
        # the interval: some hosts' rows change role or are removed, and rows come on others (on the end)
        redo = rng.random(n) < 0.3
        redo[host[rows:]] = True
        changed = redo[host[:rows]] & (rng.random(rows) < 0.5)
        role[:rows][changed] = rng.choice([RESIDENT, OUTGOING, INCOMING, DEAD], int(changed.sum()))
        hosts = np.flatnonzero(redo)
        redone = _redo_rows(redo, hosts, *by_host, host)
        grown = {k: np.concatenate((v, np.empty(added, dtype=v.dtype))) if k in _PER_ROW else v
                 for k, v in al.items()}  # fmt: skip
        _allocate_redo(host, role, cpu, c, util, pe, total, 0.1, 0.9, False, hosts, redone,
                       *(grown[k] for k in _ALLOCATED))  # fmt: skip
        whole = _allocate_rows(host, role, cpu, c, util, pe, total, 0.1, 0.9, False, n)
        for k, w in zip(_ALLOCATED, whole, strict=True):
            assert np.array_equal(grown[k], w), k
        res = grown["resident"]
        _report_redo(host, role, mode, res, grown["req"], grown["alloc"], c, mem, hosts, redone, *sums)
        for g, w in zip(sums, _report_sums(host, role, mode, res, grown["req"], grown["alloc"], c, mem, n, N_MODES),
                        strict=True):  # fmt: skip
            assert g.dtype == w.dtype and np.array_equal(g, w)
        got = _resident_redo(keys, was_on, kept_util, kept_req, redo, redone, gid, res, util, grown["req"])
        want = _resident_by_id(gid, res, util, grown["req"], np.full(0, -1, dtype=np.int64))[:3]
        for g, w in zip(got, want, strict=True):
            assert np.array_equal(g, w)


def _edits_by_the_rules(rows: list[list[float]], commands: list, first: int) -> list[list[float]]:
    """The rows after one event's commands, by the rules the compiled edits follow (written out plainly):
    places are appended after the batch in command order, a place the batch later removes or marks is
    changed where it waits, a removed row dies after the batch, a failure first settles what came before it
    and kills its host's rows."""
    import math

    from cloudsim.model import Fail, MigrateOut, Repair
    from cloudsim.model.shard import DEAD, INCOMING, OUTGOING, RESIDENT, SUPERSEDED

    rows = [list(r) for r in rows]
    added: dict[tuple[int, int], list[float]] = {}
    drop: list[int] = []

    def flush() -> None:
        for i in drop:
            rows[i][0], rows[i][9], rows[i][10] = -1, DEAD, math.inf
        drop.clear()
        rows.extend(added.values())
        added.clear()

    for cmd in commands:
        if isinstance(cmd, Fail | Repair):
            flush()
            if isinstance(cmd, Fail):
                for r in rows:
                    if r[1] == cmd.host_id - first and r[9] != DEAD:
                        r[0], r[9], r[10] = -1, DEAD, math.inf
            continue
        key = (cmd.guest_id, cmd.host_id - first)
        if isinstance(cmd, Place):
            end = math.inf if cmd.end_s is None else cmd.end_s
            role = RESIDENT if cmd.end_s is None else INCOMING
            added[key] = [cmd.guest_id, key[1], cmd.mode, cmd.cpu_mips, cmd.overhead_c, cmd.mem_mib, cmd.dist_kind,
                          cmd.p1, cmd.p2, role, end]  # fmt: skip
            continue
        role = OUTGOING if isinstance(cmd, MigrateOut) else SUPERSEDED
        if key in added:
            if isinstance(cmd, Remove):
                del added[key]
            else:
                added[key][9], added[key][10] = role, cmd.end_s
            continue
        i = next(i for i, r in enumerate(rows) if r[0] == key[0] and r[1] == key[1])
        if isinstance(cmd, Remove):
            drop.append(i)
        else:
            rows[i][9], rows[i][10] = role, cmd.end_s
    flush()
    return rows


def _random_events(rng_: np.random.Generator, first: int, hosts: int, events: int) -> list[list]:
    """Event batches of every kind of command on hosts ``first..first+hosts-1``, each valid where it lands:
    arrivals, departures, migrations (both sides, a guest moved twice), places undone or redone in the same
    batch, a guest placed again where it was just removed, failures and repairs among them."""
    from cloudsim.model import Fail, MigrateOut, Repair, Supersede

    on: set[tuple[int, int]] = set()  # (guest, host) with a live row
    out, g = [], 0
    for _ in range(events):
        batch, pending, gone = [], set(), []
        for _ in range(int(rng_.integers(1, 8))):
            kind = rng_.integers(0, 9)
            h = first + int(rng_.integers(0, hosts))
            live = sorted(on | pending)
            if kind <= 2 or not live:
                end = None if kind < 2 else float(rng_.uniform(10, 500))
                batch.append(Place(g, h, int(rng_.integers(0, 3)), float(rng_.uniform(500, 4000)), 0.05, 512.0,
                                   DIST_UNIFORM, 0.1, 0.9, end))  # fmt: skip
                pending.add((g, h))
                g += 1
                continue
            gid, hh = live[int(rng_.integers(0, len(live)))]
            if kind == 3:
                batch.append(Remove(gid, hh))
                gone.append((gid, hh))
                on.discard((gid, hh))
                pending.discard((gid, hh))
            elif kind == 4:
                batch.append(MigrateOut(gid, hh, float(rng_.uniform(10, 500))))
            elif kind == 5:
                batch.append(Supersede(gid, hh, float(rng_.uniform(10, 500))))
            elif kind == 6:  # placed again where it is or was (in the first one's place, or at the end)
                if gone:
                    gid, hh = gone.pop()
                batch.append(Place(gid, hh, 1, 1000.0, 0.1, 256.0, DIST_CONSTANT, 0.3, 0.0))
                pending.add((gid, hh))
            elif kind == 7:
                batch.append(Fail(hh))
                on = {k for k in on if k[1] != hh}
                pending = {k for k in pending if k[1] != hh}
            else:
                batch.append(Repair(hh))
        on |= pending
        out.append(batch)
    return out


@pytest.mark.parametrize("model", ["fair", "cloudsim"])
def test_the_compiled_edits_follow_the_rules_row_for_row(model):
    """Each event's row edits, compiled, against the rules written out plainly: the same rows in the same
    order with the same roles and ends (dead rows dropped at once in the cloudsim model)."""
    from cloudsim.model import Dynamics
    from cloudsim.model.shard import _FIELDS, DEAD

    first, hosts = 7, 5
    base = spec(list(range(first, first + hosts)), seed=3)
    shard = HostShard(ShardSpec(**{**base.__dict__, "dynamics": Dynamics(model=model)}))
    rows: list[list[float]] = []
    for k, batch in enumerate(_random_events(np.random.default_rng(5), first, hosts, 600)):
        shard.apply(1.0 + k, batch)
        rows = _edits_by_the_rules(rows, batch, first)
        if model == "cloudsim":
            rows = [r for r in rows if r[9] != DEAD]
        got = np.column_stack([shard._a[f].astype(np.float64) for f in _FIELDS])
        assert got.shape == (len(rows), len(_FIELDS)) and np.array_equal(got, np.array(rows).reshape(got.shape)), k


def test_the_compiled_draws_are_the_formulas_bit_for_bit():
    """A tick's draws, compiled in one pass, against the passes that define them: numpy's arithmetic, and the C
    library's logarithm and cosine as Python's ``math`` calls them (the compiled pass calls the same; numpy's
    own may differ in the last bit on a machine with AVX-512): uniform, normal (Box-Muller) and constant
    rows, clipped to [0, 1], zeros and ones among them."""
    from cloudsim.model.shard import DIST_NORMAL

    r = np.random.default_rng(8)
    n = 20_000
    gid = r.permutation(10 * n)[:n]
    p1, p2 = r.uniform(-0.2, 1.2, n), r.uniform(0, 0.6, n)
    p1[:50], p2[:50] = 0.0, 0.0
    shard = HostShard(spec([0], seed=4))
    for kinds in ([DIST_CONSTANT, DIST_UNIFORM, DIST_NORMAL], [DIST_UNIFORM], [DIST_NORMAL]):
        kind = r.choice(kinds, n)
        for tick in range(5):
            shard.tick = tick
            got = shard._draws({"gid": gid, "kind": kind, "p1": p1, "p2": p2})
            u1, u2 = rng.uniform(4, gid, tick, 0), rng.uniform(4, gid, tick, 1)
            want = np.where(kind == DIST_UNIFORM, p1 + (p2 - p1) * u1, p1)
            log = np.array([math.log1p(-x) for x in u1.tolist()])
            cos = np.array([math.cos(x) for x in (2.0 * np.pi * u2).tolist()])
            want = np.clip(np.where(kind == DIST_NORMAL, p1 + p2 * (np.sqrt(-2.0 * log) * cos), want), 0.0, 1.0)
            assert np.array_equal(got.view(np.int64), want.view(np.int64)), (kinds, tick)


def test_resident_rows_by_id_are_the_argsort_of_their_ids():
    """A report's resident guests come out by ascending id: the same as a stable argsort of the resident rows,
    whether their ids are dense (each placed at its id in a scratch, reused and left all -1) or spread as a
    long run's are (a radix sort of one, two or three passes), and for none."""
    from cloudsim.model.shard import _resident_by_id

    rng = np.random.default_rng(5)
    at = np.full(0, -1, dtype=np.int64)
    for rows, span in ((0, 1), (1, 1), (3, 3), (3000, 4000), (500, 2000), (2000, 2000), (3000, 1 << 21),
                       (3000, 1 << 40), (4000, 4500)):  # fmt: skip
        gid = rng.permutation(np.unique(rng.integers(0, span, rows)))
        rows = len(gid)
        res, util, req = rng.random(rows) < 0.8, rng.random(rows), rng.random(rows)
        ids, u, r, at = _resident_by_id(gid, res, util, req, at)
        order = np.argsort(gid[res], kind="stable")
        assert np.array_equal(ids, gid[res][order]), (rows, span)
        assert np.array_equal(u, util[res][order]) and np.array_equal(r, req[res][order])
        assert (at == -1).all()
    assert len(at) > 0  # the dense cases used it


def test_keeping_rows_in_place_is_the_mask_of_every_column():
    """Cutting rows moves the kept ones to the front of every column, in order, in place (and the draws only
    when they are kept): what a boolean mask of each column gives."""
    from cloudsim.model.shard import _FIELDS, _INT_FIELDS, _keep_rows

    rng = np.random.default_rng(6)
    for rows in (0, 1, 50, 2000):
        for draws in (True, False):
            cols = [rng.integers(0, 1000, rows + 5) if k in _INT_FIELDS else rng.random(rows + 5) for k in _FIELDS]
            draw = rng.random(rows + 5)
            keep = rng.random(rows) < 0.6
            want, want_draw = [c[:rows][keep] for c in cols], draw[:rows][keep] if draws else draw[: int(keep.sum())]
            m = _keep_rows(keep, draws, *cols, draw)
            assert m == int(keep.sum())
            for k, c, w in zip(_FIELDS, cols, want, strict=True):
                assert np.array_equal(c[:m], w), (rows, k)
            assert np.array_equal(draw[:m], want_draw), (rows, draws)


def test_rows_of_departed_guests_cut_late_change_nothing(monkeypatch):
    """The fair model cuts the rows of departed guests only once they are many (they count nothing meanwhile):
    a churning run gives the summary a cut at every tick gives, to the bit; rows wait to be cut; and the rows by
    host are made again once a few rows came, so that the events between ticks scan few rows by hand."""
    from cloudsim import bench
    from cloudsim.engine import LocalBackend, Simulation
    from cloudsim.model import shard as shard_module
    from tests.helpers import same_run_json

    def run() -> tuple[dict, list[int], list[int]]:
        dead, tail = [], []
        orig_rows_by_host = shard_module.HostShard._rows_by_host

        def rows_by_host(self):
            out = orig_rows_by_host(self)
            tail.append(len(self._a["host"]) - len(out[1]))
            dead.append(int((self._a["role"] == shard_module.DEAD).sum()))
            return out

        monkeypatch.setattr(shard_module.HostShard, "_rows_by_host", rows_by_host)
        sim = Simulation(bench.synthetic_datacenter(200, 600, "6h", 0.5), LocalBackend())
        return sim.run(), dead, tail

    late, dead, tail = run()
    monkeypatch.setattr(shard_module, "_DEAD_SHARE", 0.0)  # cut at every full settle
    every, dead_every, _ = run()
    assert same_run_json(late) == same_run_json(every)
    assert max(dead) > 0 and max(dead_every) == 0 and late["guests"]["completed"] > 50
    assert max(tail) <= 64
