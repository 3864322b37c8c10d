"""The packing engine: bounds by hand, valid packings from every policy, optima on instances with a known
optimum, the readers, and the pack / bench commands on the bundled generated set."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np
import pytest

from cloudsim.cli import main
from cloudsim.packing.bounds import l1, l2_1d, lower_bound
from cloudsim.packing.engine import PACKING_POLICIES, InvalidPacking, pack, verify
from cloudsim.packing.instance import Instance, PackingFormatError, read_bpplib, read_instance, read_vbp

DATA = Path(__file__).parent / "data" / "packing"


def one_d(weights, cap):
    return Instance("t", np.array(weights, dtype=np.int64)[:, None], np.array([cap], dtype=np.int64))


@pytest.mark.parametrize(
    ("weights", "cap", "expected_l1", "expected_l2"),
    [
        # 18 / 10 -> L1 = 2; but every item is > c/2, so each needs its own bin: L2 = 3
        ([6, 6, 6], 10, 2, 3),
        # alpha = 4: J2 = {6, 6, 6} leaves room 12 = w(J3) = 4 + 4 + 4 -> L2 = 3 = L1
        ([6, 6, 6, 4, 4, 4], 10, 3, 3),
        # alpha = 3: J2 = {7, 7, 7} (room 9), J3 = {3, 3, 3, 3} (12): 3 + ceil(3 / 10) = 4 = L1 = ceil(33 / 10)
        ([7, 7, 7, 3, 3, 3, 3], 10, 4, 4),
        # alpha = 4: J1 = {7, 7} (> 10 - 4), J3 = {4, 4, 4}: 2 + ceil(12 / 10) = 4 > L1 = ceil(26 / 10) = 3
        ([7, 7, 4, 4, 4], 10, 3, 4),
    ],
)
def test_lower_bounds_by_hand(weights, cap, expected_l1, expected_l2):
    inst = one_d(weights, cap)
    assert l1(inst.sizes, inst.capacity) == expected_l1
    assert l2_1d(np.array(weights), cap) == expected_l2
    assert lower_bound(inst.sizes, inst.capacity) == max(expected_l1, expected_l2)


def test_vector_bound_is_the_worst_dimension():
    sizes = np.array([[6, 1], [6, 1], [6, 1], [1, 9]])  # dim 0: three items > c/2 -> 3 bins
    assert lower_bound(sizes, np.array([10, 10])) == 3
    assert l1(sizes, np.array([10, 10])) == 2  # dim 0: 19 / 10 -> 2; dim 1: 12 / 10 -> 2


@pytest.mark.parametrize(
    ("weights", "cap", "optimum"),
    [
        ([5, 5, 5, 5, 4, 3, 3, 3, 2], 10, 4),  # 5+5, 5+5, 4+3+3, 3+2 -> L1 = ceil(35 / 10) = 4
        ([4, 4, 4, 3, 3, 3, 3, 3, 3], 12, 3),  # 4+4+4, 3+3+3+3, 3+3: L1 = ceil(30 / 12) = 3
        ([7, 5, 5, 4, 4, 4, 3, 3, 1], 12, 3),  # 7+5, 5+4+3, 4+4+3+1: L1 = 36 / 12 = 3
    ],
)
def test_search_reaches_the_optimum(weights, cap, optimum):
    r = pack(one_d(weights, cap), "search", time_limit_s=2.0)
    assert r.bins == optimum == r.lower_bound and r.proven_optimal
    assert verify(one_d(weights, cap), r.assignment) == optimum


def test_ffd_is_beaten_where_it_is_known_to_fail():
    # c = 10, items 5 4 4 3 2 2 (sum 20, L1 = 2).
    # FFD: [5, 4] (9: neither 4, 3 nor 2 fits), [4, 3, 2] (9), [2] -> 3 bins.
    # Optimum: [5, 3, 2], [4, 4, 2] -> 2 bins.
    inst = one_d([5, 4, 4, 3, 2, 2], 10)
    assert pack(inst, "ffd").bins == 3
    r = pack(inst, "search", time_limit_s=2.0)
    assert r.bins == 2 and r.proven_optimal


@pytest.mark.parametrize("policy", list(PACKING_POLICIES))
def test_every_policy_returns_a_valid_packing(policy):
    rng = np.random.default_rng(3)
    for d in (1, 3):
        cap = np.full(d, 100)
        inst = Instance("r", rng.integers(1, 60, size=(40, d)), cap)
        r = pack(inst, policy, time_limit_s=0.2)
        assert verify(inst, r.assignment) == r.bins >= r.lower_bound
        assert r.policy == policy


def test_verify_rejects_bad_packings():
    inst = one_d([6, 5, 4], 10)
    with pytest.raises(InvalidPacking, match="bin 0 holds"):
        verify(inst, np.array([0, 0, 1]))
    with pytest.raises(InvalidPacking, match="not packed"):
        verify(inst, np.array([0, -1, 1]))
    assert verify(inst, np.array([0, 1, 0])) == 2


def test_readers(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("3\r\n10\r\n6\r\n5\r\n4\r\n")  # BPPLIB files keep CRLF line ends
    inst = read_bpplib(f)
    assert inst.n == 3 and inst.capacity.tolist() == [10] and inst.sizes[:, 0].tolist() == [6, 5, 4]
    v = tmp_path / "b.vbp"
    v.write_text("2\n10 8\n2\n3 4 2\n5 1 1\n")  # type (3,4) x2, type (5,1) x1
    inst = read_vbp(v)
    assert inst.sizes.tolist() == [[3, 4], [3, 4], [5, 1]] and inst.capacity.tolist() == [10, 8]


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("short.txt", "4\n10\n1\n2\n", "header says 4 items, file has 2 weights"),
        ("letters.txt", "2\n10\nx\n3\n", "expected integers only"),
        ("big.txt", "2\n10\n11\n3\n", "larger than the bin capacity"),
        ("empty.txt", "", "expected n and capacity"),
        ("short.vbp", "2\n10 10\n2\n1 1 1\n", "header says 2 item types"),
    ],
)
def test_malformed_files(tmp_path, name, text, fragment):
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(PackingFormatError, match=fragment):
        read_instance(f)


def test_pack_cli_json_counts_vbp_demands_as_items(tmp_path, capsys):
    v = tmp_path / "b.vbp"
    v.write_text("2\n10 8\n2\n3 4 2\n5 1 1\n")
    assert main(["pack", str(v), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"bins", "lower_bound", "time_s", "policy", "assignment", "process_cpu_s"}
    assert out["process_cpu_s"] > 0  # the whole command's CPU time, start-up included; time_s: the packing
    assert len(out["assignment"]) == 3 and out["bins"] == max(out["assignment"]) + 1 == out["lower_bound"] == 2


def test_pack_cli_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("3\n10\n1\n")
    for args, fragment in (
        (["pack", str(bad)], "header says 3 items"),
        (["pack", str(tmp_path / "none.txt")], "no such file"),
        (["pack", str(bad), "--policy", "nope"], "known: first-fit"),
        (["pack", str(bad), "--format", "xml"], "one of: bpplib, vbp"),
    ):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.startswith("error:") and fragment in err and err.count("\n") == 1


def test_bench_on_the_bundled_set(tmp_path, capsys):
    out = tmp_path / "rows.csv"
    args = ["bench", "packing", str(DATA), "--optima", str(DATA / "optima.csv"), "--policy", "ffd",
            "--policy", "search", "--time-limit", "1", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "1d" in table and "vbp" in table and "search" in table
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2 * 10
    search = [r for r in rows if r["policy"] == "search"]
    # optima known by construction: the engine finds every one and proves it (bins = lower bound)
    assert all(r["bins"] == r["best"] == r["lower_bound"] for r in search), search
    ffd = [r for r in rows if r["policy"] == "ffd"]
    assert all(int(r["bins"]) >= int(r["best"]) for r in ffd)


def test_bench_errors(tmp_path, capsys):
    assert main(["bench", "packing", str(tmp_path / "none"), "--optima", str(DATA / "optima.csv")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(["bench", "packing", str(DATA), "--optima", str(DATA / "optima.csv"), "--sets", "1d,zz"]) == 2
    assert "unknown zz; known: 1d, vbp" in capsys.readouterr().err


def test_negative_components_are_packed_validly():
    # Caprara-style triplet items may be negative in a dimension; a bin fits when every sum fits
    sizes = np.array([[6, -2], [5, 4], [-1, 5], [4, 3], [3, -1], [2, 6]])
    inst = Instance("neg", sizes, np.array([10, 10]))
    for policy in ("ffd", "dot-product", "mbs", "search"):
        r = pack(inst, policy, time_limit_s=0.3)
        assert verify(inst, r.assignment) == r.bins >= r.lower_bound == 2


def test_two_bin_split_of_the_pool():
    from cloudsim.packing.cns import _split_two

    w = np.array([6, 5, 4, 3, 2], dtype=np.int64)
    out = np.zeros(5, dtype=np.int64)
    items = np.arange(5, dtype=np.int64)
    assert _split_two(items, w, 10, out)  # 6+4 | 5+3+2
    loads = [w[out == b].sum() for b in (0, 1)]
    assert max(loads) <= 10 and sum(loads) == 20
    assert not _split_two(items, w, 9, out)  # 20 > 2 x 9
    w2 = np.array([7, 7, 6], dtype=np.int64)
    assert not _split_two(np.arange(3, dtype=np.int64), w2, 10, np.zeros(3, dtype=np.int64))  # total fits, items do not


def test_consistent_neighbourhood_search_saves_the_bins_ffd_wastes():
    from cloudsim.packing import cns

    # a perfect packing into 6 bins of 100 (triplets), shuffled; FFD needs more
    rng = np.random.default_rng(3)
    triplets = [(50, 26, 24), (49, 27, 24), (48, 27, 25), (46, 28, 26), (45, 30, 25), (44, 29, 27)]
    w = np.array([x for t in triplets for x in t], dtype=np.int64)[rng.permutation(18)]
    inst = Instance("triplets", w[:, None], np.array([100]))
    ffd = pack(inst, "ffd")
    assert ffd.bins > 6
    got = cns.improve(w, 100, ffd.assignment, 6, time.perf_counter() + 5.0, seed=1)
    assert verify(inst, got) == 6
