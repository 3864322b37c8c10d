"""A real two-node Ray cluster on this machine (``ray start --head`` and ``ray start --address``, each node with
its own temp dir, ports and one CPU; the second node carries a custom resource that tells it apart). A scenario
run through the real command line with ``--address`` puts host actors on both nodes and prints the same summary
as ``--backend local``, and its ``--json`` output is pure JSON although Ray prints its warnings meanwhile.

The cluster requires a token of its own (Ray 2.60 binds its servers to every interface); it never collides with
the suite's ``ray_session`` instance (other temp dirs, other ports) and is stopped by the pids that belong to it,
never with ``ray stop``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import processes_with, same_run_json, side_by_side

RAY = str(Path(sys.executable).with_name("ray"))
SECOND_NODE = "cloudsim_second_node"  # the custom resource only the second node has

# Reads the nodes from the head's GCS until both are alive: {node id: its resources}.
NODES = textwrap.dedent(
    """
    import json, sys, time
    from ray._raylet import GcsClient

    client, deadline = GcsClient(address=sys.argv[1]), time.monotonic() + 90
    while True:
        info = client.get_all_node_info(timeout=10).values()
        alive = {n.node_id.hex(): dict(n.resources_total) for n in info if n.state == 0}
        if len(alive) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    print(json.dumps(alive))
    """
)


@dataclass
class TwoNodes:
    address: str  # the head's GCS, host:port
    env: dict[str, str]  # what a driver needs to join (the cluster's token)
    head: str  # node ids
    second: str
    temp_dirs: list[str]  # the head's, the second node's

    def logs(self, tail: int = 1500) -> str:
        """The end of each node's raylet and GCS logs: what an assertion about where the actors ran prints."""
        out = []
        for d in self.temp_dirs:
            for name in ("raylet.out", "gcs_server.out"):
                for log in Path(d).glob(f"session_latest/logs/{name}"):
                    out.append(f"--- {log}\n{log.read_text(errors='replace')[-tail:]}")
        return "\n".join(out)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node_args(temp_dir: str, resources: dict[str, float]) -> list[str]:
    """One node: loopback address, one CPU, its own temp dir and ports (workers' ports: any free one, as a
    private ``ray.init`` does), no dashboard agent port in common with another node; ``--block`` keeps the
    ``ray start`` process in the foreground so the node is one process to stop."""
    return [
        "--node-ip-address=127.0.0.1",
        "--num-cpus=1",
        f"--resources={json.dumps(resources)}",
        f"--temp-dir={temp_dir}",
        "--object-store-memory=100000000",
        f"--node-manager-port={_free_port()}",
        f"--object-manager-port={_free_port()}",
        "--min-worker-port=0",
        "--max-worker-port=0",
        f"--dashboard-agent-listen-port={_free_port()}",
        f"--dashboard-agent-grpc-port={_free_port()}",
        f"--runtime-env-agent-port={_free_port()}",
        f"--metrics-export-port={_free_port()}",
        "--disable-usage-stats",
        "--block",
    ]


def _wait_for_port(port: int, node: subprocess.Popen, log: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if node.poll() is not None:
            pytest.fail(f"ray start --head exited ({node.returncode}): {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"the head's GCS did not listen on {port} in {timeout_s} s: {log.read_text()[-2000:]}")


def _stop(nodes: list[subprocess.Popen], temp_dirs: list[str]) -> None:
    """SIGTERM each ``ray start --block`` (the node drains, then stops its GCS, raylet, agents and workers);
    then SIGKILL whatever still runs with one of the nodes' temp dirs on its command line, or is a child of
    one that does (a node's workers do not have it), and the ``ray start`` processes themselves if they
    hang."""
    for node in nodes:
        if node.poll() is None:
            node.send_signal(signal.SIGTERM)
    for node in nodes:
        try:
            node.wait(timeout=40)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait(timeout=10)
    deadline = time.monotonic() + 10
    while (left := processes_with(temp_dirs)) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[TwoNodes]:
    with _cluster() as nodes:
        yield nodes


@contextlib.contextmanager
def _cluster() -> Iterator[TwoNodes]:
    """A two-node cluster on this machine, stopped at the end (the fixture's; a test that kills a node has its
    own)."""
    # Short temp dirs: Ray's unix sockets live under them and their paths must stay < 108 characters.
    temp_dirs = [tempfile.mkdtemp(prefix="csh", dir="/tmp"), tempfile.mkdtemp(prefix="csw", dir="/tmp")]
    logs = [Path(d) / "ray-start.log" for d in temp_dirs]
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_TOKEN_PATH")}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    # No I/O workers counted: a raylet warns "N PYTHON worker processes have been started" once a node has 4
    # workers per CPU instead of 4 + 2 x 4 I/O workers, so with 4 actors a node Ray prints a (raylet) line
    # to the driver during the run, which --json must keep off standard output.
    node_env = {**env, "RAY_max_io_workers": "0"}
    port = _free_port()
    nodes: list[subprocess.Popen] = []
    try:
        with logs[0].open("w") as log:
            head = [RAY, "start", "--head", f"--port={port}", "--include-dashboard=false"]
            head += _node_args(temp_dirs[0], {})
            nodes.append(subprocess.Popen(head, env=node_env, stdout=log, stderr=subprocess.STDOUT))
        _wait_for_port(port, nodes[0], logs[0])
        with logs[1].open("w") as log:
            second = [RAY, "start", f"--address=127.0.0.1:{port}", *_node_args(temp_dirs[1], {SECOND_NODE: 1})]
            nodes.append(subprocess.Popen(second, env=node_env, stdout=log, stderr=subprocess.STDOUT))
        probe = subprocess.run(
            [sys.executable, "-c", NODES, f"127.0.0.1:{port}"], env=env, capture_output=True, text=True, timeout=150
        )
        alive = json.loads(probe.stdout or "{}")
        assert len(alive) == 2, f"{alive} {probe.stderr[-2000:]} {logs[1].read_text()[-2000:]}"
        (second_id,) = [n for n, res in alive.items() if SECOND_NODE in res]
        (head_id,) = [n for n in alive if n != second_id]
        yield TwoNodes(f"127.0.0.1:{port}", env, head_id, second_id, temp_dirs)
    finally:
        _stop(nodes, temp_dirs)
        for d in temp_dirs:
            shutil.rmtree(d, ignore_errors=True)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "cloudsim.cli", "run", "mixed-modes", "--json", "--run-id", "two-nodes", *args]


@pytest.fixture(scope="module")
def runs(two_nodes: TwoNodes) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """mixed-modes (8 hosts) with one actor per host on the cluster, and the same run in-process, side by
    side."""
    local_env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    on_cluster, local = side_by_side(
        [_cli("--address", two_nodes.address, "--hosts-per-actor", "1"), _cli("--backend", "local")],
        envs=[two_nodes.env, local_env],
    )
    assert on_cluster.returncode == 0, on_cluster.stderr[-3000:]
    assert local.returncode == 0, local.stderr[-3000:]
    return on_cluster, local


def test_actors_run_on_both_nodes_and_the_summary_equals_the_local_one(two_nodes, runs):
    on_cluster, local = (json.loads(p.stdout) for p in runs)
    assert on_cluster["backend"] == "ray" and on_cluster["actors"] == 8
    # the host actors ran on the head and on the node with the custom resource, and nowhere else (the node
    # logs come with a failure)
    where = f"{on_cluster['nodes']} {runs[0].stderr[-2000:]}\n{two_nodes.logs()}"
    assert set(on_cluster["nodes"]) == {two_nodes.head, two_nodes.second}, where
    assert sum(on_cluster["nodes"].values()) == 8
    assert local["backend"] == "local" and local["actors"] == 0 and local["nodes"] == {}
    # Equal but for the wall-clock times and backend, actors and nodes, which say where the shards ran;
    # the run id is the same (--run-id), so it is compared too.
    assert same_run_json(on_cluster) == same_run_json(local)
    assert on_cluster["guests"]["placed"] > 0


def test_json_on_a_cluster_is_the_summary_alone_while_ray_warns_on_stderr(runs):
    on_cluster, _ = runs
    summary = json.loads(on_cluster.stdout)  # one JSON document, nothing before or after it
    assert on_cluster.stdout == json.dumps(summary, indent=2) + "\n"
    # the raylet's warning reached the driver during the run, and went to standard error
    assert "(raylet)" in on_cluster.stderr and "worker processes have been started" in on_cluster.stderr


# A driver on the cluster whose first try at actor 0 names a node that is not there (one gone between the
# listing and the start, with the hard affinity): the actor cannot start, is rebuilt on a node alive, and the
# run ends as the local one does.
GONE = textwrap.dedent(
    """
    import json, sys
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    from cloudsim.distributed.ray_backend import RayBackend, ShardActor
    from cloudsim.engine import LocalBackend, Simulation
    from cloudsim.scenario import load_scenario

    ray.init(address=sys.argv[1], include_dashboard=False, log_to_driver=False)
    backend, tries = RayBackend(), []
    asked = backend._actor_class

    def actor_class(index, avoid=frozenset()):
        tries.append(index)
        if tries == [0]:
            gone = NodeAffinitySchedulingStrategy("ab" * 28, soft=False)
            return ray.remote(num_cpus=0, max_restarts=0, scheduling_strategy=gone)(ShardActor)
        return asked(index, avoid)

    backend._actor_class = actor_class
    sc, _ = load_scenario("mixed-modes", ["ray.hosts_per_actor=2", "duration=2h"])
    on_cluster = Simulation(sc, backend).run()
    local = Simulation(sc, LocalBackend()).run()
    print(json.dumps({"tries": tries, "recovered": backend.recovered, "nodes": backend.nodes,
                      "on_cluster": on_cluster, "local": local}))
    """
)


def _driver(script: str, address: str, env: dict[str, str], timeout_s: float) -> subprocess.CompletedProcess:
    """A driver script run on the cluster at ``address``, from the project's root (it imports ``tests``)."""
    return subprocess.run(
        [sys.executable, "-c", script, address], env=env, capture_output=True, text=True, timeout=timeout_s,
        cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip


def _printed(probe: subprocess.CompletedProcess) -> dict:
    """The JSON line a driver script printed (the raylets may print to its standard output too)."""
    (out,) = [json.loads(line) for line in probe.stdout.splitlines() if line.startswith("{")]
    return out


def test_an_actor_whose_node_is_gone_is_rebuilt_on_one_alive(two_nodes):
    probe = _driver(GONE, two_nodes.address, two_nodes.env, 180)
    assert probe.returncode == 0, probe.stderr[-3000:]
    out = _printed(probe)
    # actor 0 rebuilt first (its calls fail first); were another to fail for a moment, it would be rebuilt too
    assert out["tries"][:5] == [0, 1, 2, 3, 0] and out["recovered"] == len(out["tries"]) - 4
    # round robin over both nodes, actor 0 rebuilt on the first of the nodes alive
    assert out["nodes"] == {two_nodes.head: 2, two_nodes.second: 2}
    assert same_run_json(out["on_cluster"]) == same_run_json(out["local"])
    assert out["on_cluster"]["guests"]["placed"] > 0


def test_host_actors_go_to_the_alive_nodes_with_cpus():
    from cloudsim.distributed.ray_backend import shard_nodes

    def node(node_id: str, alive: bool, cpus: float) -> dict:  # as ray.nodes() describes one
        return {"NodeID": node_id, "Alive": alive, "Resources": {"CPU": cpus, "memory": 1e9} if cpus else {}}

    # a KubeRay head started with num-cpus 0 keeps the driver; a dead node takes nothing
    nodes = [node("c", True, 2), node("a", True, 0), node("b", True, 2), node("d", False, 2)]
    assert shard_nodes(nodes) == ["b", "c"]
    # no node with CPUs: every alive one
    assert shard_nodes([node("b", True, 0), node("a", True, 0), node("d", False, 0)]) == ["a", "b"]
    assert shard_nodes([]) == []


# A driver on a cluster of its own that kills every process of the second node at 30 minutes of simulated
# time (its raylet, its workers, the actors on it): the two actors there are rebuilt on the head (from the
# start: the run is too short for a save), and the run ends as the local one does.
NODE_LOST = textwrap.dedent(
    """
    import json, os, signal, sys
    import ray
    from cloudsim.distributed.ray_backend import RayBackend
    from cloudsim.engine import LocalBackend, Simulation
    from cloudsim.scenario import load_scenario
    from tests.helpers import processes_with

    # the driver joins the head's raylet (its temp dir tells it from the second node's, on the same address)
    ray.init(address=sys.argv[1], include_dashboard=False, log_to_driver=False, _temp_dir=os.environ["HEAD_DIR"])
    second = os.environ["SECOND_DIR"]  # on the command line of each of its processes (not of this one)
    sc, _ = load_scenario("mixed-modes", ["ray.hosts_per_actor=2", "duration=3h"])
    backend = RayBackend()
    sim = Simulation(sc, backend)
    killed = []

    def kill(now, report):
        if not killed and now >= 1800:
            killed.extend(processes_with([second]))  # its workers too: the actors outlive their raylet
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

    sim.tick_hooks.append(kill)
    on_cluster = sim.run()
    local = Simulation(sc, LocalBackend()).run()
    print(json.dumps({"killed": len(killed), "recovered": backend.recovered, "nodes": backend.nodes,
                      "driver": ray.get_runtime_context().get_node_id(),
                      "on_cluster": on_cluster, "local": local}))
    """
)


def test_a_node_lost_during_a_run_loses_nothing():
    with _cluster() as nodes:
        env = {**nodes.env, "HEAD_DIR": nodes.temp_dirs[0], "SECOND_DIR": nodes.temp_dirs[1]}
        probe = _driver(NODE_LOST, nodes.address, env, 300)
        assert probe.returncode == 0, probe.stderr[-3000:]
    out = _printed(probe)
    assert out["killed"] > 0
    # the two actors on the second node, each rebuilt once, on the head (the second is still listed alive for
    # a few seconds: a rebuilt actor does not go back to the node it was lost on)
    assert out["recovered"] == 2 and out["nodes"] == {nodes.head: 4} and out["driver"] == nodes.head
    assert same_run_json(out["on_cluster"]) == same_run_json(out["local"])
