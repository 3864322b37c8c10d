"""Explaining placements: the runner-up in the placement log, ``cloudsim explain RUN_DIR GUEST`` (every
host's filter outcome, every candidate's weighted scores), and the overhead-aware policy on a real cluster."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cloudsim.cli import main
from cloudsim.engine import LocalBackend, run
from cloudsim.engine.replay import explain_guest
from cloudsim.placement import POLICIES, Request, Snapshot, decide, get_policy
from cloudsim.placement.explain import CANDIDATE, TWIN, explain
from cloudsim.scenario import load_scenario


@pytest.fixture(autouse=True)
def _narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """quickstart under overhead-aware, written by ``cloudsim run --out``."""
    out = tmp_path_factory.mktemp("run")
    args = ["run", "quickstart", "--backend", "local", "--json", "--set", "placement.policy=overhead-aware"]
    assert main([*args, "--out", str(out), "--force"]) == 0
    return out


def _log(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "placements.jsonl").read_text().splitlines()]


def _first_container(log: list[dict]) -> dict:
    return next(e for e in log if e["mode"] == "container")


# ---------------------------------------------------------------------------- overhead-aware on quickstart


@pytest.mark.parametrize(("policy", "host"), [("best-fit", "desk-0"), ("overhead-aware", "kvm-0")])
def test_the_first_container_goes_to_kvm_under_overhead_aware_and_to_the_desktop_under_best_fit(policy, host):
    # quickstart's hosts are empty when web-0 arrives. A container reserves 2 x 2600 / (1 - 0.011) = 5258 MIPS
    # and 2058 MiB on KVM (c = 0.011), 2 x 3000 / (1 - 0.101) = 6674 MIPS and 2058 MiB on the VirtualBox
    # desktop (c = 0.101). Most allocated after: KVM (5258 / 166400 + 6218 / 131072) / 2 = 0.0395, desktop
    # (6674 / 48000 + 4170 / 32768) / 2 = 0.1332: best fit takes the desktop. Overhead share (mean of c and
    # 10 MiB / 2058 MiB): KVM 0.0079, desktop 0.0529. overhead-aware: KVM 0 x 1 + 1 x 2 = 2, desktop 1 x 1 + 0 x 2 = 1.
    sc, _ = load_scenario("quickstart", [f"placement.policy={policy}"])
    _, rec = run(sc, LocalBackend())
    first = _first_container(rec.placement_log)
    assert first["host"] == host, first


def test_overhead_aware_spends_less_cpu_on_overhead_than_best_fit():
    cpu = {}
    for policy in ("best-fit", "overhead-aware"):
        sc, _ = load_scenario("mixed-modes", [f"placement.policy={policy}"])
        _, rec = run(sc, LocalBackend())
        placed = [e for e in rec.placement_log if e["outcome"] == "placed"]
        cpu[policy] = sum(e["overhead_cpu_fraction"] * e["reserved_cpu_mips"] for e in placed) / len(placed)
    assert cpu["overhead-aware"] < cpu["best-fit"], cpu


# ------------------------------------------------------------------------------------- the placement log


def test_every_placement_logs_its_score_and_the_runner_up_with_the_margin(run_dir: Path) -> None:
    placed = [e for e in _log(run_dir) if e["outcome"] == "placed"]
    assert placed
    for e in placed:
        assert "score" in e
        if "runner_up" in e:
            assert e["runner_up"] != e["host"]
            assert e["score"] >= e["runner_up_score"]
            assert e["margin"] == pytest.approx(e["score"] - e["runner_up_score"], abs=2e-6)
    first = _first_container(_log(run_dir))
    assert (first["host"], first["score"], first["runner_up"], first["margin"]) == ("kvm-0", 2.0, "desk-0", 1.0)


# --------------------------------------------------------------------------- explain: the pure function


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_explain_adds_up_to_the_decision_the_pipeline_takes(policy):
    rng = np.random.default_rng(11)
    p = get_policy(policy)
    for trial in range(60):
        n, groups = int(rng.integers(1, 25)), int(rng.integers(1, 3))
        group = rng.integers(0, groups, n).astype(np.int64)
        cap_cpu, cap_mem = np.array([8000.0, 41600.0])[group], np.array([16384.0, 131072.0])[group]
        s = Snapshot(cap_cpu, cap_mem, cap_cpu * rng.integers(0, 5, n) / 4, cap_mem * rng.integers(0, 5, n) / 4,
                     rng.integers(0, 2, n), np.tile(np.linspace(100.0, 250.0, 11), (n, 1)))  # fmt: skip
        s.cpu_used[s.guests == 0] = 0.0
        s.mem_used[s.guests == 0] = 0.0
        r = Request(0, rng.choice([500.0, 4000.0], groups), rng.choice([1024.0, 8192.0], groups),
                    rng.random(groups) < 0.9, group=group, overhead=rng.choice([0.011, 0.101], groups))  # fmt: skip
        d, ex = decide(p, s, r), explain(p, s, r)
        ranked = ex.ranked()
        assert len(ex.hosts) == n and ex.decision == d, (policy, trial)
        if d.host is None:
            assert not ranked
            continue
        assert (ranked[0].host, ranked[0].total) == (d.host, d.score), (policy, trial)  # to the last bit
        if d.runner_up is None:
            assert len(ranked) == 1
        else:
            assert (ranked[1].host, ranked[1].total) == (d.runner_up, d.runner_up_score), (policy, trial)
        for h in ranked:
            assert [t.scorer for t in h.terms] == list(p.weights)
            assert all(t.contribution == t.weight * t.normalised and 0 <= t.normalised <= 1 for t in h.terms)
        for h in ex.hosts:
            if h.outcome == TWIN:
                twin = ex.hosts[h.twin_of]
                assert s.guests[h.host] == 0 and twin.host < h.host and group[twin.host] == group[h.host]


def test_explain_names_the_filter_each_host_failed_with_the_numbers():
    # 10,000 MIPS / 10,000 MiB hosts; the guest asks 3000 MIPS and 2000 MiB.
    # h0 incompatible; h1 has 2000 MIPS free (cpu); h2 has 1000 MiB free (memory); h3 fits
    s = Snapshot(np.full(4, 1e4), np.full(4, 1e4), np.array([0.0, 8000, 0, 0]), np.array([0.0, 0, 9000, 0]),
                 np.array([0, 1, 1, 0]))  # fmt: skip
    r = Request(0, np.full(4, 3000.0), np.full(4, 2000.0), np.array([False, True, True, True]),
                lambda h: f"host-{h}: no full_bt guests")  # fmt: skip
    ex = explain(get_policy("best-fit"), s, r)
    assert [h.outcome for h in ex.hosts] == ["incompatible", "insufficient_cpu", "insufficient_memory", CANDIDATE]
    assert ex.hosts[0].why == "no full_bt guests"
    assert (ex.hosts[1].cpu_requested_mips, ex.hosts[1].cpu_free_mips) == (3000.0, 2000.0)
    assert (ex.hosts[2].mem_requested_mib, ex.hosts[2].mem_free_mib) == (2000.0, 1000.0)
    assert ex.filtered() == {"incompatible": 1, "insufficient_cpu": 1, "insufficient_memory": 1, CANDIDATE: 1}
    assert ex.margin is None


# ------------------------------------------------------------------------------ explain: a finished run


def test_explain_replays_the_run_to_the_guests_decision(run_dir: Path) -> None:
    first = _first_container(_log(run_dir))
    story = explain_guest(run_dir, first["guest"])
    ex = story.explanation
    assert ex is not None and story.host_names[ex.decision.host] == "kvm-0"
    ranked = ex.ranked()
    assert [story.host_names[h.host] for h in ranked] == ["kvm-0", "desk-0"]
    assert [(t.scorer, t.normalised, t.weight, t.contribution) for t in ranked[0].terms] == [
        ("most_allocated", 0.0, 1.0, 0.0), ("overhead", 1.0, 2.0, 2.0)
    ]  # fmt: skip
    assert ranked[0].terms[1].raw == pytest.approx(-(0.011 + 10 / 2058) / 2, abs=1e-3)  # c and 10 MiB of 2058
    assert ex.margin == 1.0
    assert [h.outcome for h in ex.hosts if h.outcome == TWIN] == [TWIN, TWIN]  # kvm-1, kvm-2: kvm-0's state


def test_cli_explain_prints_the_candidates_and_the_runner_up(capsys, run_dir: Path) -> None:
    first = _first_container(_log(run_dir))
    code, out, err = _cli(capsys, "explain", str(run_dir), first["guest"])
    assert (code, err) == (0, "")
    assert f"{first['guest']} (container, linux)" in out and "placed on kvm-0" in out
    assert "runner-up desk-0" in out and "margin 1" in out
    for word in ("most_allocated", "overhead", "same state as kvm-0"):
        assert word in out


def test_cli_explain_of_a_lone_candidate_names_no_runner_up(capsys, run_dir: Path) -> None:
    """A guest only one host could take (a full_bt guest: only the VirtualBox host offers binary translation):
    the table's caption does not promise a runner-up."""
    lone = next(e for e in _log(run_dir) if e["outcome"] == "placed" and "runner_up" not in e)
    code, out, err = _cli(capsys, "explain", str(run_dir), lone["guest"])
    assert (code, err) == (0, "")
    assert "no runner-up" in out and "1 won, the only one" in out and "2 is the runner-up" not in out


def test_cli_explain_of_a_rejected_guest_gives_each_hosts_filter(capsys, run_dir: Path) -> None:
    rejected = next(e for e in _log(run_dir) if e["outcome"] == "rejected")
    code, out, err = _cli(capsys, "explain", str(run_dir), rejected["guest"])
    assert (code, err) == (0, "")
    assert f"rejected ({rejected['reason']})" in out
    assert rejected["detail"] in " ".join(out.split())
    assert "insufficient_memory" in out and "candidates" not in out


def test_cli_explain_of_an_unknown_guest_is_one_line_naming_it(capsys, run_dir: Path) -> None:
    code, out, err = _cli(capsys, "explain", str(run_dir), "nobody-1")
    n = len(_log(run_dir))
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and "'nobody-1'" in err and f"{n:,} guests" in err


def test_cli_explain_of_a_folder_that_is_not_a_run_is_one_line(capsys, tmp_path: Path) -> None:
    code, _, err = _cli(capsys, "explain", str(tmp_path), "web-0")
    assert code == 2 and err.startswith("error: RUN_DIR: ") and "placements.jsonl" in err


PLANETLAB_DAY = Path(__file__).resolve().parents[2] / "shared" / "data" / "planetlab" / "20110303"


@pytest.mark.skipif(not PLANETLAB_DAY.is_dir(), reason=f"PlanetLab traces not found at {PLANETLAB_DAY}")
def test_a_trace_vm_is_explained_as_cloudsims_allocation_and_the_ignored_policy_warned(capsys, tmp_path: Path) -> None:
    out = tmp_path / "run"
    sets = [
        f"workload.trace.path={PLANETLAB_DAY}",
        "workload.trace.limit=20",
        "duration=10m",
        "placement.policy=worst-fit",
    ]
    code, _, err = _cli(capsys, "run", "planetlab-lr-mmt", "--backend", "local", "--json", "--out", str(out),
                        *[x for s in sets for x in ("--set", s)])  # fmt: skip
    assert code == 0 and err.startswith("warning: placement.policy: ignored on a trace workload without faults")
    first = _log(out)[0]
    code, text, err = _cli(capsys, "explain", str(out), first["guest"])
    assert (code, err) == (0, "")
    assert "CloudSim's own allocation (power-aware best fit)" in text and "placement.policy does not apply" in text


@pytest.mark.parametrize("name", ["placements.jsonl", "scenario.yaml"])
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_run_file_that_is_no_regular_file_is_one_line_not_a_hang(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, kind: str
) -> None:
    """A FIFO (read for ever: no writer) or a device (``/dev/zero`` would be read until memory runs out; the
    test links the harmless ``/dev/null``) in place of a run file is refused by name."""
    import os
    import shutil
    import signal

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / name).unlink()
    if kind == "fifo":
        os.mkfifo(copy / name)
    else:
        (copy / name).symlink_to("/dev/null")
    guest = _first_container(_log(run_dir))["guest"] if name == "scenario.yaml" else "web-0"

    def hung(signum: int, frame: object) -> None:
        raise AssertionError("explain waits on the FIFO")

    before = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        code, _, err = _cli(capsys, "explain", str(copy), guest)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)
    assert (
        code == 2 and err.startswith(f"error: RUN_DIR: '{copy / name}' is not a regular file") and err.count("\n") == 1
    )
