"""The Ray backend on the session's local Ray instance: same results as in-process, whatever the grouping,
and the quickstart through the CLI."""

from __future__ import annotations

import json
import time

import pytest

from cloudsim.cli import main
from cloudsim.engine import LocalBackend, Simulation
from cloudsim.scenario import load_scenario
from tests.helpers import stable_json


@pytest.fixture(scope="module")
def mixed_local():
    sc, _ = load_scenario("mixed-modes")
    return Simulation(sc, LocalBackend()).run()


@pytest.mark.parametrize("hosts_per_actor", [2, 3])  # one host per actor: test_cluster
def test_ray_matches_local_byte_for_byte(ray_session, mixed_local, hosts_per_actor):
    from cloudsim.distributed import RayBackend

    sc, _ = load_scenario("mixed-modes", [f"ray.hosts_per_actor={hosts_per_actor}"])
    backend = RayBackend()
    summary = Simulation(sc, backend).run()
    assert summary["backend"] == "ray"
    assert summary["actors"] == {2: 4, 3: 3}[hosts_per_actor]  # 8 hosts: ceil(8/2) or ceil(8/3) actors
    # the session is one node, which holds every actor; in-process there is none
    assert summary["nodes"] == {ray_session.get_runtime_context().get_node_id(): summary["actors"]}
    assert mixed_local["nodes"] == {}
    assert stable_json(summary) == stable_json(mixed_local)
    assert backend.handles == []  # actors released at the end
    # the reports came through the buffers the actors share with the driver (on its node), each offered as the
    # actor started: all but the few that outgrew a buffer (a value, with the offer of a larger one)
    calls = summary["ticks"] * summary["actors"]
    assert calls - 2 * summary["actors"] <= backend.shared_reports <= calls
    assert backend._readers == [None] * summary["actors"]  # unmapped at the end
    # so was each actor's call socket: every call (the advances from the first, any saves, the last call for its
    # CPU time) came through it, none as a Ray task
    assert backend.calls["task"] == 0 and backend.calls["socket"] >= calls
    assert backend._channels == [None] * summary["actors"]  # closed at the end


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


def test_a_ray_client_address_without_ray_client_says_what_to_install(capsys, monkeypatch):
    """``ray://`` needs Ray Client (grpcio, from ``ray[client]``), which plain ``ray`` lacks: one line saying
    what to install, before any connection is tried."""
    monkeypatch.setattr("cloudsim.distributed.session._ray_client_installed", lambda: False)
    code = main(["run", "quickstart", "--address", "ray://127.0.0.1:1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: --address: cannot reach Ray at 'ray://127.0.0.1:1'") and "ray[client]" in err


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
    packed, mapped, offer = actor.advance(Events(*map(frozen, events)), 300.0, 1)
    assert mapped is None and offer is None  # (no token: the report travels as a value)
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


def _same_report(a, b) -> bool:
    import dataclasses

    import numpy as np

    return all(np.array_equal(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))


def _actor_beside_a_shard():
    """A shard actor (in this process) and the same shard in-process, on two hosts: ``step(k, commands, token)``
    gives both the same commands and advances both to tick ``k``: (the actor's advance's result, the shard's
    report)."""
    from cloudsim.distributed.ray_backend import ShardActor
    from cloudsim.model import Events, HostShard
    from tests.test_model import spec

    s = spec([0, 1])
    actor, local = ShardActor(s, None), HostShard(s)

    def step(k, commands, token):
        events = Events.encode([(300.0 * k - 1, commands)])
        local.run(events)
        return actor.advance(events, 300.0 * k, k, token), local.advance(300.0 * k, k)

    return step


def test_a_shard_actor_writes_its_report_into_the_buffer_the_driver_mapped_and_grows_it(ray_session):
    """On the driver's node an actor's report needs no trip through the object store: told ``""`` it returns
    the report as a value with an offer of a shared buffer; told that buffer's token it writes the report
    there and returns its sizes alone; a report that does not fit comes as a value again, with a larger
    buffer offered. What the driver reads is the report a local shard makes."""
    import os

    from cloudsim.distributed.ray_backend import _Reader
    from cloudsim.model import DIST_CONSTANT, DIST_UNIFORM, HostReport, Place

    step = _actor_beside_a_shard()

    (packed, mapped, offer), want = step(1, [Place(3, 1, 0, 2000.0, 0.1, 1024.0, DIST_CONSTANT, 0.5, 0.0)], "")
    assert mapped is None and offer.pid == os.getpid() and _same_report(HostReport.unpack(packed), want)
    reader = _Reader(offer)
    (packed, mapped, again), want = step(2, [], reader.token)
    assert packed is None and again is None and mapped.token == reader.token
    assert _same_report(HostReport.unpack(reader.read(mapped)), want)
    many = [Place(10 + i, i % 2, 0, 100.0, 0.0, 64.0, DIST_UNIFORM, 0.1, 0.9) for i in range(40)]
    (packed, mapped, bigger), want = step(3, many, reader.token)  # 41 guests: no room for them in 8
    assert mapped is None and bigger.nbytes > offer.nbytes and _same_report(HostReport.unpack(packed), want)
    second = _Reader(bigger)
    (packed, mapped, again), want = step(4, [], second.token)
    assert packed is None and again is None and _same_report(HostReport.unpack(second.read(mapped)), want)
    (packed, mapped, again), want = step(5, [], reader.token)  # a buffer it dropped: a value, the current offered
    assert mapped is None and again.token == second.token and _same_report(HostReport.unpack(packed), want)
    (packed, mapped, again), want = step(6, [], None)  # the driver wants no buffer
    assert mapped is None and again is None and _same_report(HostReport.unpack(packed), want)
    reader.close()
    second.close()


def test_a_report_read_in_place_stays_whole_until_the_advance_after_the_next(ray_session):
    """The driver reads an actor's report where the actor wrote it, read-only and without a copy of its own; the
    actor writes its next report into the other half of the buffer, so a report stays whole through the next
    advance (what ``Backend.advance`` promises, and what a tick's row made during the next advance reads), and
    the advance after that writes over it."""
    import numpy as np

    from cloudsim.distributed.ray_backend import _Reader
    from cloudsim.model import DIST_CONSTANT, HostReport, Place

    step = _actor_beside_a_shard()

    def place(g, h):
        return [Place(g, h, 0, 2000.0, 0.1, 1024.0, DIST_CONSTANT, 0.2 * (g % 4 + 1), 0.0)]

    (_, _, offer), _ = step(1, place(3, 1), "")
    reader = _Reader(offer)
    (_, second, _), want_second = step(2, place(4, 0), reader.token)
    report = HostReport.unpack(reader.read(second))
    assert np.shares_memory(report.cpu_used_mips, reader.words) and not report.cpu_used_mips.flags.writeable
    (_, third, _), want_third = step(3, place(5, 1), reader.token)
    assert third.at != second.at and _same_report(HostReport.unpack(reader.read(third)), want_third)
    assert _same_report(report, want_second)  # whole through the next advance
    (_, fourth, _), want_fourth = step(4, place(6, 0), reader.token)
    assert fourth.at == second.at and not np.array_equal(want_fourth.cpu_used_mips, want_second.cpu_used_mips)
    assert np.array_equal(report.cpu_used_mips, want_fourth.cpu_used_mips)  # the advance after the next: over it
    reader.close()


def test_an_offer_the_driver_cannot_map_is_declined_and_the_reports_come_as_values(tmp_path):
    import os

    import numpy as np

    from cloudsim.distributed.ray_backend import Mapped, Offer, RayBackend

    backend = RayBackend()
    backend._readers, backend._share, backend._node = [None, None], [True, True], "this-node"
    backend._offers = [None, None]
    packed = (0.0, np.zeros((1, 1)), np.zeros((3, 0)), np.zeros(0, dtype=np.int64))
    assert backend._token(0) == "" and backend._token(1) == ""
    # an actor on another node, and a "buffer" that is not the one offered (its token differs)
    assert backend._received(0, (packed, None, Offer("other-node", os.getpid(), 0, "a" * 32, 64))) is packed
    with open(tmp_path / "not-a-buffer", "wb+") as f:
        f.write(b"b" * 64)
        f.flush()
        assert backend._received(1, (packed, None, Offer("this-node", os.getpid(), f.fileno(), "a" * 32, 64))) is packed
    assert backend._token(0) is None and backend._token(1) is None and backend._readers == [None, None]
    with pytest.raises(RuntimeError, match="has not mapped"):
        backend._received(0, (None, Mapped("a" * 32, 0.0, 1, 0, 0), None))


def test_without_shared_buffers_the_reports_take_the_object_store_with_the_same_summary(
    ray_session, mixed_local, monkeypatch
):
    """Where no buffer can be shared (no ``memfd``, a Ray client's driver) every report is a value."""
    from cloudsim.distributed import RayBackend, ray_backend

    monkeypatch.setattr(ray_backend, "_can_share", lambda: False)
    sc, _ = load_scenario("mixed-modes", ["ray.hosts_per_actor=3"])
    backend = RayBackend()
    assert stable_json(Simulation(sc, backend).run()) == stable_json(mixed_local) and backend.shared_reports == 0
    assert backend.calls["socket"] == 0 and backend.calls["task"] > 0  # no socket either: the calls are tasks


class _Echo:
    """Stands for a shard actor behind a call socket: ``call`` runs (method, args) as :class:`ShardActor`'s
    does, on a small set of methods."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def idle(self) -> None:
        self.seen.append("idle")

    def call(self, request, idle_follows=False):
        method, args = request
        assert idle_follows  # the socket's calls: an idle follows each that succeeds
        self.seen.append(method)
        if method == "advance":
            return args
        if method == "snapshot":  # a long result: more than a socket holds
            return b"s" * (8 << 20)
        raise ValueError(f"not a shard call: {method!r}")


def _served():
    from cloudsim.distributed.ray_backend import Offer, _Channel, _Server

    actor = _Echo()
    server = _Server(actor)
    offer = Offer("node", 0, 0, "", 0, server.address, server.secret)
    return actor, server, _Channel(offer)


def test_calls_through_an_actors_socket_come_back_in_order_with_their_errors():
    """The socket runs the calls in the order sent and hands each result to its own call, whatever order the
    driver reads them in; an error raised by a call is raised where its result is read, and the calls after it
    still run."""
    from cloudsim.distributed.ray_backend import _get

    actor, server, channel = _served()
    first = channel.send(("advance", (1, "a")))
    bad = channel.send(("nonsense", ()))
    third = channel.send(("advance", (3,)))
    assert _get(third) == (3,)  # read first: the two before it wait, in order
    with pytest.raises(ValueError, match="not a shard call: 'nonsense'") as raised:
        _get(bad)
    note = raised.value.__notes__[0]  # with where it was raised, as Ray's task errors say
    assert note.startswith("in the host actor (pid ") and 'raise ValueError(f"not a shard call' in note
    assert _get(first) == (1, "a")
    # between calls, with a result sent, the actor works ahead (not after a call that failed): the last idle may
    # still be under way as its result arrives
    deadline = time.monotonic() + 10
    while len(actor.seen) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert actor.seen == ["advance", "idle", "nonsense", "advance", "idle"]
    assert server.results.handed == 0  # small results: sent by the thread that ran the call, no hand-over
    channel.close()


def test_a_long_call_behind_an_unread_long_result_does_not_block_the_socket():
    """A save's result (MBs) that the driver has not read yet must not stop the actor from reading the next
    call, which may be as long (a wave of arrivals): the results go out on a thread of their own."""
    import threading

    import numpy as np

    from cloudsim.distributed.ray_backend import _get

    _, server, channel = _served()
    done: list[bool] = []

    def calls():
        saves = [channel.send(("snapshot", ())) for _ in range(2)]
        small = channel.send(("advance", (7,)))  # behind the long results: it waits its turn
        big = channel.send(("advance", (np.ones(1 << 20),)))  # 8 MB, sent before any result is read
        last = channel.send(("advance", (8,)))
        assert [len(_get(s)) for s in saves] == [8 << 20] * 2 and len(_get(big)[0]) == 1 << 20
        assert _get(small) == (7,) and _get(last) == (8,)
        done.append(True)

    thread = threading.Thread(target=calls, daemon=True)
    thread.start()
    thread.join(60)
    assert done == [True]
    assert server.results.handed >= 3  # the long ones, and what came behind them, went out on the thread
    channel.close()


def test_an_actors_socket_takes_only_the_caller_with_its_secret(monkeypatch):
    """Anyone on the node can reach an abstract socket: one that connects first without the secret (which
    travels through Ray), or sends nothing, is dropped, and the driver still gets in."""
    import socket

    from cloudsim.distributed.ray_backend import ChannelLost, Offer, _Channel, _get, _Server

    monkeypatch.setattr(_Server, "secret_wait_s", 0.5)
    actor = _Echo()
    server = _Server(actor)
    for sends in (b"x" * len(server.secret), b""):  # another secret; nothing at all
        stranger = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stranger.settimeout(30)
        stranger.connect(server.address)
        stranger.sendall(sends)
        assert stranger.recv(1) == b""  # closed on it
        stranger.close()
    channel = _Channel(Offer("node", 0, 0, "", 0, server.address, server.secret))
    assert _get(channel.send(("advance", (7,)))) == (7,)
    with pytest.raises(OSError):  # one caller: the socket listens no more
        _Channel(Offer("node", 0, 0, "", 0, server.address, server.secret))
    channel.close()
    assert issubclass(ChannelLost, OSError)


def test_a_stop_in_the_middle_of_a_message_leaves_the_socket_unused_and_a_closed_one_is_a_lost_actor(monkeypatch):
    """A stop (KeyboardInterrupt) that lands while a result is half read leaves the socket out of step: it is
    not used again (the run only closes the backend after a stop, and an actor whose socket is so gives no CPU
    time). An actor whose socket closes is gone: ChannelLost, which the backend rebuilds like Ray's actor
    errors."""
    from cloudsim.distributed import ray_backend
    from cloudsim.distributed.ray_backend import _LOST, ChannelLost, _get

    _, _, channel = _served()
    call = channel.send(("advance", (1,)))

    def stop(conn):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(ray_backend, "_receive_message", stop)
        with pytest.raises(KeyboardInterrupt):
            _get(call)
    later = channel.send(("advance", (2,)))  # not sent: it fails where its result is read
    with pytest.raises(ChannelLost, match="a stop left the actor's call socket in the middle of a message"):
        _get(later)
    channel.close()
    _, _, channel = _served()
    call = channel.send(("advance", (3,)))
    channel.conn.sendall(ray_backend._HEADER.pack(3) + b"???")  # not a call: the actor's side closes the socket
    assert _get(call) == (3,)  # what it had sent before closing arrives
    assert channel.conn.recv(1) == b""  # closed
    later = channel.send(("advance", (4,)))  # a call to an actor gone raises where its result is read, as on Ray
    with pytest.raises(_LOST, match="socket closed"):
        _get(later)


def test_an_actor_draws_the_next_tick_while_the_driver_works_on_its_result(monkeypatch):
    """Between calls, its result sent, an actor on the driver's node makes the next tick's draws (the shard would
    make them at the tick below BESIDE_ROWS rows): the next tick draws only the rows added since, and reports
    what a local shard does."""
    import numpy as np

    from cloudsim.distributed.ray_backend import ShardActor
    from cloudsim.model import DIST_UNIFORM, Events, HostReport, HostShard, Place
    from tests.test_model import spec

    drawn: list[tuple[int, int]] = []
    draws_at = HostShard._draws_at

    def counted(self, tick, a):
        drawn.append((tick, len(a["gid"])))
        return draws_at(self, tick, a)

    monkeypatch.setattr(HostShard, "_draws_at", counted)
    s = spec([0, 1])
    actor, local = ShardActor(s, None), HostShard(s)
    guests = [Place(10 + i, i % 2, 0, 100.0, 0.0, 64.0, DIST_UNIFORM, 0.1, 0.9) for i in range(6)]
    for k, commands in ((1, guests[:4]), (2, guests[4:]), (3, [])):
        events = Events.encode([(300.0 * k - 1, commands)])
        local.run(events)
        want = local.advance(300.0 * k, k)
        drawn.clear()
        packed, _, _ = actor.advance(events, 300.0 * k, k)
        got = HostReport.unpack(packed)
        assert np.array_equal(got.guest_util, want.guest_util) and np.array_equal(got.power_w, want.power_w)
        if k > 1:  # drawn ahead: tick k's draws at the tick only for the rows added since (two at 2, none at 3)
            assert [d for d in drawn if d[0] == k] == ([(2, 2)] if k == 2 else [])
        drawn.clear()
        actor.idle()
        assert drawn == [(k + 1, 4 if k == 1 else 6)] and actor.shard._ahead[0] == k + 1
        actor.idle()  # drawn already: not again
        assert drawn == [(k + 1, 4 if k == 1 else 6)]


def test_a_socket_call_leaves_the_draws_to_the_idle_after_it_and_a_task_starts_them_beside(monkeypatch):
    """From BESIDE_ROWS rows (here from any), an advance that comes as a Ray task starts the next tick's draws on
    the thread beside, since no idle follows it; one through the socket starts nothing beside, so nothing holds
    the GIL while it packs its report, and its idle draws them. The reports are a local shard's either way."""
    import numpy as np

    from cloudsim.distributed.ray_backend import ShardActor
    from cloudsim.model import DIST_UNIFORM, Events, HostReport, HostShard, Place, shard
    from tests.test_model import spec

    monkeypatch.setattr(shard, "BESIDE_ROWS", 0)
    s = spec([0, 1])
    task, served, local = ShardActor(s, None), ShardActor(s, None), HostShard(s)
    guests = [Place(10 + i, i % 2, 0, 100.0, 0.0, 64.0, DIST_UNIFORM, 0.1, 0.9) for i in range(6)]
    for k, commands in ((1, guests[:4]), (2, guests[4:]), (3, [])):
        events = Events.encode([(300.0 * k - 1, commands)])
        local.run(events)
        want = local.advance(300.0 * k, k)
        request = ("advance", (events, 300.0 * k, k))
        by_task = HostReport.unpack(task.call(request)[0])
        assert task.shard._drawing is not None  # drawing beside
        by_socket = HostReport.unpack(served.call(request, idle_follows=True)[0])
        assert served.shard._drawing is None and served.shard._ahead is None  # nothing beside, nothing drawn
        served.idle()
        assert served.shard._ahead[0] == k + 1
        for got in (by_task, by_socket):
            assert np.array_equal(got.guest_util, want.guest_util) and np.array_equal(got.power_w, want.power_w)
    task.shard._drawn_ahead()  # nothing left running beside after the test


def test_without_a_socket_the_calls_stay_tasks_and_the_buffer_is_kept(ray_session, monkeypatch):
    """An actor that cannot open a socket (a sandbox without Unix sockets) offers its buffer without one; a
    driver that cannot reach the socket offered keeps the buffer: either way the calls stay Ray tasks."""
    import os

    import numpy as np

    from cloudsim.distributed import ray_backend
    from cloudsim.distributed.ray_backend import Offer, RayBackend, ShardActor, _Buffer
    from cloudsim.model import Events
    from tests.test_model import spec

    def no_socket(actor):
        raise PermissionError("no Unix sockets here")

    monkeypatch.setattr(ray_backend, "_Server", no_socket)
    actor = ShardActor(spec([0, 1]), None)
    _, _, offer = actor.advance(Events.encode([]), 300.0, 1, "")
    assert offer is not None and offer.address == b"" and actor._server is None
    buf = _Buffer(4096)
    backend = RayBackend()
    backend._readers, backend._share, backend._node, backend._channels = [None], [True], "this-node", [None]
    backend._offers = [None]
    unreachable = Offer("this-node", os.getpid(), buf.fd, buf.token, len(buf.map), b"\0cloudsim-calls-none", b"s" * 16)
    packed = (0.0, np.zeros((1, 1)), np.zeros((3, 0)), np.zeros(0, dtype=np.int64))
    assert backend._received(0, (packed, None, unreachable)) is packed
    assert backend._token(0) == buf.token and backend._channels == [None]  # the buffer mapped, no socket
    backend._drop_reader(0)
    buf.close()
