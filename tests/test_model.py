"""The host shard: overhead, contention, power and energy by hand, and grouping invariance."""

from __future__ import annotations

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
    """The fair model settles only the hosts a command touches; after every such settle, settling every host
    of a copy must give the same per-host figures, bit for bit (arrivals, departures, migrations, failures)."""
    import copy

    from cloudsim.engine import LocalBackend, Simulation
    from cloudsim.model import shard as shard_module
    from cloudsim.scenario import load_scenario

    partial = shard_module.HostShard._settle_hosts
    checked = []

    def both(self, t, hosts):
        full = copy.deepcopy(self)
        partial(self, t, hosts)
        full._settle(t, remove_idle=False)
        for name in ("_used", "_requested", "_res_req", "_res_alloc", "_mig_loss", "_power", "_on", "shutdowns",
                     "shutdown_on_s", "_on_since", "_was_active"):  # fmt: skip
            assert np.array_equal(getattr(self, name), getattr(full, name)), (name, t)
        checked.append(len(hosts))

    monkeypatch.setattr(shard_module.HostShard, "_settle_hosts", both)
    for name in ("consolidation-demo", "ha-demo"):
        sc, _ = load_scenario(name, ["duration=6h"])
        Simulation(sc, LocalBackend()).run()
    assert len(checked) > 100 and max(checked) < 40  # many events, each touching a few of the 40 hosts


def test_report_sums_are_the_bincounts_of_the_rows_bit_for_bit():
    """A report's per-host sums in one compiled pass equal, to the bit, the bincounts over the rows that define
    them (in row order; a row that does not count adds 0)."""
    from cloudsim.model.shard import N_MODES, _report_sums

    rng = np.random.default_rng(12)
    for rows, n in ((0, 3), (1, 1), (40, 5), (3000, 200)):
        host, mode = rng.integers(0, n, rows), rng.integers(0, N_MODES, rows)
        res = rng.random(rows) < 0.8
        req, c, mem = rng.uniform(0, 4000, rows), rng.choice([0.0, 0.02, 0.1, 0.3], rows), rng.uniform(0, 9000, rows)
        alloc = req * rng.uniform(0.5, 1.0, rows)
        got = _report_sums(host, mode, res, req, alloc, c, mem, n, N_MODES)
        delivered = np.where(res, alloc * (1.0 - c), 0.0)
        flat = host * N_MODES + mode
        want = (
            np.bincount(host[res], minlength=n),
            np.bincount(host[~res], minlength=n),
            np.bincount(host, weights=np.where(res, req * (1.0 - c), 0.0), minlength=n),
            np.bincount(host, weights=delivered, minlength=n),
            np.bincount(flat, weights=np.where(res, alloc * c, 0.0), minlength=n * N_MODES).reshape(n, N_MODES),
            np.bincount(flat, weights=delivered, minlength=n * N_MODES).reshape(n, N_MODES),
            np.bincount(host, weights=mem, minlength=n),
        )
        for g, w in zip(got, want, strict=True):
            assert g.shape == w.shape and np.array_equal(g, w)


@pytest.mark.parametrize("cloudsim", [False, True])
def test_the_compiled_allocation_is_the_numpy_one_bit_for_bit(cloudsim):
    """Each row's request and allocation and each host's CPU in use, compiled, against the numpy formulas that
    define them: migrating rows on both sides, overloaded hosts scaled down (floored in the cloudsim model),
    hosts with no rows."""
    from cloudsim.model.shard import INCOMING, OUTGOING, RESIDENT, SUPERSEDED, _allocate_rows

    rng = np.random.default_rng(21)
    for rows, n in ((0, 2), (5, 3), (400, 30), (5000, 120)):
        host = rng.integers(0, n, rows)
        role = rng.choice([RESIDENT, RESIDENT, OUTGOING, INCOMING, SUPERSEDED], rows)
        cpu, c = rng.choice([1000.0, 2500.0, 4000.0], rows), rng.choice([0.0, 0.02, 0.15], rows)
        util = rng.uniform(0, 1, rows) * (rng.random(rows) < 0.9)
        pe, total = rng.choice([1860.0, 2660.0], n), rng.choice([3720.0, 10640.0, 20000.0], n)
        tshare, sshare = 0.1, 0.9
        got = _allocate_rows(host, role, cpu, c, util, pe, total, tshare, sshare, cloudsim, n)
        req = util * cpu / (1.0 - c)
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
        used = np.bincount(host, weights=np.where(out, alloc / sshare, alloc), minlength=n)
        for g, w in zip(got, (req, alloc, ~incoming, out, used), strict=True):
            assert g.shape == w.shape and np.array_equal(g, w)
        assert rows < 400 or over.any()


def test_the_settle_sums_are_the_bincounts_of_the_rows_bit_for_bit():
    """A settle's per-host sums in one compiled pass against the bincounts over the rows that define them."""
    from cloudsim.model.shard import _settle_sums

    rng = np.random.default_rng(8)
    for rows, n in ((0, 2), (3, 3), (2000, 150)):
        host = rng.integers(0, n, rows)
        req = rng.uniform(0, 3000, rows)
        alloc = req * rng.choice([1.0, 0.7, 1.1], rows)
        res, out = rng.random(rows) < 0.7, rng.random(rows) < 0.2
        got = _settle_sums(host, req, alloc, res, out, n)
        sums = [
            req,
            np.where(res, req, 0.0),
            np.where(res, alloc, 0.0),
            np.where(out & (alloc < req), req - alloc, 0.0),
        ]
        # (floats even over no rows, where np.bincount gives integers)
        want = [np.bincount(host, weights=w, minlength=n).astype(np.float64) for w in sums]
        want.append(np.bincount(host, minlength=n) > 0)
        for g, w in zip(got, want, strict=True):
            assert g.shape == w.shape and g.dtype == w.dtype and np.array_equal(g, w)
