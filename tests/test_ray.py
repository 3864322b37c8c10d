"""The Ray backend on the session's local Ray instance: same results as in-process, whatever the grouping,
and the quickstart through the CLI."""

from __future__ import annotations

import json

import pytest

from cloudsim.cli import main
from cloudsim.engine import LocalBackend, Simulation
from cloudsim.scenario import load_scenario
from tests.helpers import stable_json


@pytest.fixture(scope="module")
def mixed_local():
    sc, _ = load_scenario("mixed-modes")
    return Simulation(sc, LocalBackend()).run()


@pytest.mark.parametrize("hosts_per_actor", [1, 3])
def test_ray_matches_local_byte_for_byte(ray_session, mixed_local, hosts_per_actor):
    from cloudsim.distributed import RayBackend

    sc, _ = load_scenario("mixed-modes", [f"ray.hosts_per_actor={hosts_per_actor}"])
    backend = RayBackend()
    summary = Simulation(sc, backend).run()
    assert summary["backend"] == "ray"
    assert summary["actors"] == {1: 8, 3: 3}[hosts_per_actor]  # 8 hosts: one actor each, or ceil(8/3)
    # the session is one node, which holds every actor; in-process there is none
    assert summary["nodes"] == {ray_session.get_runtime_context().get_node_id(): summary["actors"]}
    assert mixed_local["nodes"] == {}
    assert stable_json(summary) == stable_json(mixed_local)
    assert backend.handles == []  # actors released at the end


def test_quickstart_through_the_cli_on_ray(ray_session, tmp_path, capsys):
    out = tmp_path / "qs"
    code = main(["run", "quickstart", "--out", str(out), "--no-progress", "--run-id", "qs-test"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "consolidation ratio" in captured.out
    summary = json.loads((out / "summary.json").read_text())
    # hosts_per_actor: auto -> about one actor per CPU of the cluster less the controller's (2 - 1 here)
    assert summary["backend"] == "ray" and summary["actors"] == 1
    assert summary["run"] == "qs-test"
    assert summary["guests"]["placed"] > 0 and summary["consolidation_ratio"]["mean"] > 1
    assert set(summary["overhead"]) == {"container", "para", "full_hw", "full_bt"}
    header = (out / "timeseries.csv").read_text().splitlines()[0].split(",")
    assert {"time_s", "hosts_active", "consolidation_ratio", "energy_kwh"} <= set(header)
    assert (out / "placements.jsonl").read_text().count("\n") == summary["guests"]["submitted"]
    # the same run in-process gives the same figures
    code = main(["run", "quickstart", "--backend", "local", "--json", "--no-progress"])
    local = json.loads(capsys.readouterr().out)
    assert code == 0 and stable_json(local) == stable_json(summary)


def test_cli_hosts_per_actor_flag(ray_session, capsys):
    code = main(["run", "quickstart", "--hosts-per-actor", "2", "--json", "--set", "duration=30m"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["actors"] == 2


def test_joins_an_existing_cluster_with_address(ray_session, tmp_path):
    """A second driver (the real console entry point) joins the session's cluster by --address."""
    import os
    import subprocess
    import sys

    address = ray_session.get_runtime_context().gcs_address
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    cmd = [sys.executable, "-m", "cloudsim.cli", "run", "quickstart", "--address", address, "--no-progress",
           "--set", "duration=1h", "--hosts-per-actor", "4", "--out", str(tmp_path)]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["backend"] == "ray" and summary["actors"] == 1
    assert ray_session.is_initialized()  # the joining driver did not shut our cluster down


def test_unreachable_address_fails_fast_with_one_line(capsys):
    code = main(["run", "quickstart", "--address", "127.0.0.1:1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: --address: cannot reach Ray at '127.0.0.1:1'") and err.count("\n") == 1


def test_json_on_a_private_instance_is_the_summary_alone_while_ray_warns_on_stderr():
    """`cloudsim run quickstart --json` on the default backend (a private local instance). Ray's error listener
    prints what the raylet reports, e.g. "N PYTHON worker processes have been started", on standard output;
    cloudsim sends it to standard error. To make the raylet say it: no I/O workers counted, and 4 actors per
    CPU (the private instance's startup concurrency), one host each."""
    import os
    import subprocess
    import sys

    cpus = os.cpu_count() or 1
    if cpus > 8:
        pytest.skip(f"the raylet's warning would take {4 * cpus} actors on this {cpus}-CPU machine")
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_max_io_workers": "0"}
    env.pop("RAY_ADDRESS", None)
    cmd = [sys.executable, "-m", "cloudsim.cli", "run", "quickstart", "--json",
           "--set", f"hosts[0].count={4 * cpus - 1}", "--hosts-per-actor", "1"]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)  # one JSON document, nothing before or after it
    assert proc.stdout == json.dumps(summary, indent=2) + "\n"
    assert summary["backend"] == "ray" and summary["actors"] == 4 * cpus
    assert "(raylet)" in proc.stderr and "worker processes have been started" in proc.stderr


def test_a_shard_actor_works_on_writable_copies_of_what_ray_hands_it_read_only():
    """Ray hands an actor read-only views of its buffers (the spec, each tick's events). The actor's shard
    gets writable arrays, so that its kernels do not compile a second specialization of each on a first run;
    it runs the events as a local shard does."""
    import numpy as np

    from cloudsim.distributed.ray_backend import ShardActor
    from cloudsim.model import DIST_CONSTANT, Events, HostReport, HostShard, Place
    from tests.test_model import spec

    def frozen(a):
        a = a.copy()
        a.flags.writeable = False
        return a

    s = spec([0, 1])
    ro = type(s)(**{k: frozen(v) if isinstance(v, np.ndarray) else v for k, v in vars(s).items()})
    events = Events.encode([(0.0, [Place(3, 1, 0, 2000.0, 0.0, 1024.0, DIST_CONSTANT, 0.5, 0.0)])])
    actor = ShardActor(ro, None)
    packed = actor.advance(Events(*map(frozen, events)), 300.0, 1)
    assert all(v.flags.writeable for v in vars(actor.shard.spec).values() if isinstance(v, np.ndarray))
    from numba import types

    from cloudsim.model.shard import _fair_events

    # the events are its first four arguments (a trace, read in place, may be read-only)
    read_only = [
        sig for sig in _fair_events.signatures if any(isinstance(t, types.Array) and not t.mutable for t in sig[:4])
    ]
    assert not read_only  # no second specialization for read-only arrays
    local = HostShard(s)
    local.run(events)
    want = local.advance(300.0, 1)
    got = HostReport.unpack(packed)
    assert np.array_equal(got.power_w, want.power_w) and np.array_equal(got.guest_ids, want.guest_ids)
