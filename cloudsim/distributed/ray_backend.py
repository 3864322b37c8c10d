"""The Ray backend: host shards as Ray actors. With ``session`` and ``tasks``, the only modules that import Ray.

As in Ray Serve's ``ActorReplicaWrapper``, every Ray call is made here: the actor is a plain class
(:class:`ShardActor`) wrapped with ``ray.remote`` at run time. At each tick the controller advances all
actors in parallel; each actor's call carries the commands queued for it since its last call. The periodic
saves are fire-and-forget (a caller's calls to one actor run in order): the actors save while the controller
decides, and the next tick collects the saves. Errors raised by a fire-and-forget call surface at the next
``advance``.

**Calls on the driver's node skip Ray's task path.** An actor on the driver's node writes its reports into a
shared buffer (:class:`_Buffer`), and takes its calls through a socket of its own (:class:`_Server`), both
offered as it starts, so from its first call: a Ray task costs about a millisecond each way here, at one call a
tick most of what Ray added to a local run; the socket's round trip costs tens of microseconds, and its threads
wait blocked. (Ray's Compiled Graphs, built for this, measured as fast but keep a core busy polling per actor,
idle or not.) Elsewhere the calls are Ray tasks. Either way every call that touches a shard goes through
:meth:`ShardActor.call`, in order. The actor also loads its compiled kernels as it starts, not in its first calls.
"""

from __future__ import annotations

import contextlib
import math
import mmap
import os
import pickle
import queue
import secrets
import socket
import struct
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import ray

from cloudsim.engine.backend import BackendLost, Outbox
from cloudsim.model import Command, Events, HostReport, HostShard, ShardSpec
from cloudsim.model.shard import load_kernels


def _writable(a: np.ndarray) -> np.ndarray:
    """``a``, or a copy of it when it is read-only: Ray hands an actor read-only views of its buffers, for which
    the shard's kernels would compile a second specialization of each on a first run. (The shared trace stays
    read-only: it is read in place.)"""
    return a if a.flags.writeable else a.copy()


def _own(events: Events) -> Events:
    """``events`` with writable arrays (:func:`_writable`; a few kB a tick)."""
    return Events(*map(_writable, events))


_TOKEN_BYTES = 32  # a report buffer starts with its token (hex), then the report's float64 words


class Offer(NamedTuple):
    """An actor's report buffer, for the driver to map when it runs on the same node: an anonymous file
    (``memfd``) the actor holds open, reached through ``/proc/<pid>/fd/<fd>``; ``token`` begins it. With it,
    the address of the actor's socket for calls (:class:`_Server`) and the secret a caller first sends there."""

    node_id: str
    pid: int
    fd: int
    token: str
    nbytes: int
    address: bytes = b""
    secret: bytes = b""


class Mapped(NamedTuple):
    """A report written into the buffer ``token``: its time, its arrays' sizes (see
    :meth:`HostReport.packed_views`) and the word it starts at (its half of the buffer)."""

    token: str
    t: float
    hosts: int
    guests: int
    finished: int
    at: int = 0


class _Mapping:
    """A report buffer mapped in this process: ``token`` at its start, then the report's float64 ``words``."""

    def __init__(self, buffer: mmap.mmap, token: str) -> None:
        self.map, self.token = buffer, token
        self.words = np.frombuffer(buffer, dtype=np.float64, offset=_TOKEN_BYTES)

    def close(self) -> None:
        del self.words
        with contextlib.suppress(BufferError):  # a view still held: unmapped when it goes
            self.map.close()


class _Buffer(_Mapping):
    """The actor's side of a report buffer: an anonymous shared file, mapped, which it writes a report into
    instead of returning it through the object store (about 2.4 ms less per call for a 2.5 MB report here:
    no object to create, seal, fetch and free). No name anywhere: it is gone once both sides close it.

    **Two halves, in turn.** The driver reads a report where it lies, without a copy of its own (0.23-0.33 ms
    a tick less at 10,000 hosts), and the actor writes the next report into the other half: a report stays
    whole until the advance after the next, as :meth:`Backend.advance <cloudsim.engine.Backend.advance>`
    promises. A stop that lands while the actor writes leaves the last report read as it was."""

    def __init__(self, nbytes: int) -> None:
        self.fd = os.memfd_create("cloudsim-report", os.MFD_CLOEXEC)
        os.ftruncate(self.fd, nbytes)
        buffer, token = mmap.mmap(self.fd, nbytes), secrets.token_hex(_TOKEN_BYTES // 2)
        buffer[:_TOKEN_BYTES] = token.encode()
        super().__init__(buffer, token)
        self.half = len(self.words) // 2  # words in each half
        self._next = 0  # the half the next report goes to

    def offer(self, server: _Server | None) -> Offer:
        """This buffer, with ``server``'s address and secret (none without a server: the calls stay tasks)."""
        address, secret = (server.address, server.secret) if server is not None else (b"", b"")
        node = ray.get_runtime_context().get_node_id()
        return Offer(node, os.getpid(), self.fd, self.token, len(self.map), address, secret)

    def write(self, report: HostReport) -> Mapped | None:
        """``report`` packed into the half after the last one's (:meth:`HostReport.pack`), or None when it does
        not fit in half the buffer."""
        if report.pack_size() > self.half:
            return None
        at = self._next * self.half
        report.pack(out=self.words[at : at + self.half])
        self._next ^= 1
        return Mapped(self.token, report.t, len(report.host_ids), len(report.guest_ids), len(report.finished), at)

    def close(self) -> None:
        super().close()
        os.close(self.fd)


_HEADER = struct.Struct("<Q")  # a message on a call socket: its length, then its pickle


def _framed(message: Any) -> bytes:
    """``message`` as it goes on a call socket: its length, then its pickle."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


def _send_message(conn: socket.socket, message: Any) -> None:
    conn.sendall(_framed(message))


def _receive_message(conn: socket.socket) -> Any:
    """The next message on ``conn``; :class:`ChannelLost` when the other side is gone."""
    (size,) = _HEADER.unpack(_receive(conn, _HEADER.size))
    return pickle.loads(_receive(conn, size))


def _receive(conn: socket.socket, size: int) -> bytearray:
    data, got = bytearray(size), 0
    view = memoryview(data)
    while got < size:
        n = conn.recv_into(view[got:])
        if not n:
            raise ChannelLost("the actor's call socket closed")
        got += n
    return data


class ChannelLost(ConnectionError):
    """The socket to an actor closed (its process is gone: it is rebuilt, as when Ray raises ``RayActorError``),
    or a stop landed in the middle of a message, after which the socket is not used again."""


class _Server:
    """The actor's side of its call socket: an abstract Unix socket (no file; the driver's node only), which takes
    one caller, the first to send :attr:`secret` (it travels through Ray). One thread runs the calls in order
    (:meth:`ShardActor.call`) and sends their results (:class:`_Results`). Once a result is on its way it does
    what the shard's next call would (:meth:`ShardActor.idle`), while the driver works on the result."""

    def __init__(self, actor: ShardActor) -> None:
        self.secret = secrets.token_bytes(16)
        self.address = b"\0cloudsim-calls-" + secrets.token_hex(16).encode()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.address)
        self._listener.listen(1)
        threading.Thread(target=self._serve, args=(actor,), name="cloudsim-calls", daemon=True).start()

    secret_wait_s = 10.0  # how long a caller has to send the secret

    def _accept(self) -> socket.socket:
        """The caller that sends the secret; one that does not within :attr:`secret_wait_s` (or sends another) is
        dropped."""
        while True:
            conn, _ = self._listener.accept()
            with contextlib.suppress(OSError):  # (socket.timeout, ChannelLost)
                conn.settimeout(self.secret_wait_s)
                if secrets.compare_digest(bytes(_receive(conn, len(self.secret))), self.secret):
                    conn.settimeout(None)
                    self._listener.close()
                    return conn
            conn.close()

    def _serve(self, actor: ShardActor) -> None:
        conn = self._accept()
        results = self.results = _Results(conn)
        try:
            while True:
                request = _receive_message(conn)
                try:
                    results.send((True, actor.call(request, idle_follows=True)))
                except Exception as exc:  # the caller raises it, as Ray raises a task's error, with where it was
                    exc.add_note(f"in the host actor (pid {os.getpid()}):\n{traceback.format_exc().rstrip()}")
                    results.send((False, exc))
                    continue
                actor.idle()
        except Exception:  # the caller is gone (or sent what is not a call): the socket closes
            results.close()


class _Results:
    """The results an actor sends on its call socket, in order: from the thread that ran the call while the socket
    takes a whole result at once (a result is small when the report goes through the shared buffer), else from a
    thread of its own, which then sends every later result too until it has caught up. So the caller, which may
    be sending a long call, is never blocked by a long result it has not read yet, and a small result costs no
    hand-over between threads (a quarter of a millisecond on average here). The socket closes after the last."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self._queue: queue.SimpleQueue[bytes | memoryview | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._behind = 0  # results handed to the thread and not sent yet
        self.handed = 0  # results handed to the thread, in all
        threading.Thread(target=self._send_all, name="cloudsim-results", daemon=True).start()

    def send(self, result: tuple[bool, Any]) -> None:
        try:
            data: bytes | memoryview = _framed(result)
        except pickle.PicklingError:  # an error that does not pickle: its text
            data = _framed((False, RuntimeError(repr(result[1]))))
        with self._lock:
            if not self._behind:
                try:
                    sent = self.conn.send(data, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    sent = 0
                except OSError:  # the caller is gone: the next read finds out
                    return
                if sent == len(data):
                    return
                data = memoryview(data)[sent:]
            self._behind += 1
            self.handed += 1
        self._queue.put(data)

    def close(self) -> None:
        self._queue.put(None)

    def _send_all(self) -> None:
        with self.conn:
            while (data := self._queue.get()) is not None:
                try:
                    self.conn.sendall(data)
                except OSError:
                    return
                with self._lock:
                    self._behind -= 1


class _Channel:
    """The driver's side of an actor's call socket: calls sent in order, their results read in order. A call to
    an actor whose socket closed fails when its result is read (:class:`ChannelLost`), as a Ray task to a lost
    actor does. So does every call after a stop (KeyboardInterrupt) that lands in the middle of a message,
    which leaves the socket out of step (after a stop the run only closes the backend)."""

    def __init__(self, offer: Offer) -> None:
        self.conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.conn.connect(offer.address)
            self.conn.sendall(offer.secret)
        except OSError:
            self.conn.close()
            raise
        self.sent = self.read = 0
        self.lost = ""  # why the socket is not used any more ("": it is)
        self._early: dict[int, tuple[bool, Any]] = {}  # results read before their caller asked for them

    def _failed(self, exc: BaseException) -> None:
        self.lost = (
            f"the actor's call socket closed: {exc}"
            if isinstance(exc, OSError)
            else "a stop left the actor's call socket in the middle of a message"
        )

    def send(self, request: tuple[str, tuple[Any, ...]]) -> _Call:
        if not self.lost:
            try:
                _send_message(self.conn, request)
            except BaseException as exc:
                self._failed(exc)
                if not isinstance(exc, OSError):  # a closed socket: the call's result says so
                    raise
        self.sent += 1
        return _Call(self, self.sent)

    def result(self, n: int) -> Any:
        while self.read < n:
            if self.lost:
                raise ChannelLost(self.lost)
            try:
                result = _receive_message(self.conn)
            except BaseException as exc:
                self._failed(exc)
                if isinstance(exc, OSError):
                    raise ChannelLost(self.lost) from None
                raise
            self.read += 1
            self._early[self.read] = result
        ok, value = self._early.pop(n)
        if not ok:
            raise value
        return value

    def close(self) -> None:
        self.conn.close()


class _Call(NamedTuple):
    """A call sent through a :class:`_Channel`, whose result :func:`_get` reads."""

    channel: _Channel
    n: int


def _get(ref: Any) -> Any:
    """The result of a call: a Ray task's or a channel's."""
    return ref.channel.result(ref.n) if isinstance(ref, _Call) else ray.get(ref)


def _can_share() -> bool:
    """Whether reports can come through a shared buffer: Linux (``memfd``, ``/proc``), and a driver that runs
    on a node itself (not a Ray client's, whose node is the cluster's)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "memfd_create"):
        return False
    with contextlib.suppress(Exception):
        from ray.util.client import ray as client

        if client.is_connected():
            return False
    return True


class _Reader(_Mapping):
    """The driver's side of an actor's report buffer (:class:`Offer`), mapped read-only."""

    def __init__(self, offer: Offer) -> None:
        fd = os.open(f"/proc/{offer.pid}/fd/{offer.fd}", os.O_RDONLY)
        try:
            buffer = mmap.mmap(fd, offer.nbytes, prot=mmap.PROT_READ)
        finally:
            os.close(fd)
        if buffer[:_TOKEN_BYTES] != offer.token.encode():  # not that actor's buffer (a pid of another host)
            buffer.close()
            raise OSError("not the buffer offered")
        super().__init__(buffer, offer.token)

    def read(self, m: Mapped) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """The packed report ``m`` where it lies in the buffer, read-only like the object store's: whole until
        the actor's advance after the next writes its half again (:class:`_Buffer`)."""
        hosts, guests, finished = HostReport.packed_views(self.words[m.at :], m.hosts, m.guests, m.finished)
        return m.t, hosts, guests, finished


def shard_nodes(nodes: list[dict[str, Any]]) -> list[str]:
    """The nodes the host actors go to, round robin, in id order (``nodes``: ``ray.nodes()``): the alive ones
    with CPUs. A node started with ``--num-cpus=0``, as a KubeRay head often is (``deploy/kuberay``), is
    left to the driver and Ray's own services; every alive node when none has CPUs."""
    alive = [n for n in nodes if n.get("Alive")]
    with_cpus = [n for n in alive if (n.get("Resources") or {}).get("CPU", 0) > 0]
    return sorted(n["NodeID"] for n in (with_cpus or alive))


#: What a call to an actor raises when the actor is gone (its process or node lost), or could not start (the
#: node its hard affinity names went away): it is rebuilt.
_LOST = (ray.exceptions.RayActorError, ray.exceptions.ActorUnschedulableError, ChannelLost)

#: The actor's methods that touch its shard, which :meth:`ShardActor.call` runs.
_CALLS = frozenset({"apply_all", "advance", "snapshot", "cpu_s"})


class ShardActor:
    """A :class:`~cloudsim.model.HostShard` in an actor process. ``trace`` arrives from the object store
    (one copy per node, read in place). Every call first ends the migrations due at the completion times
    it carries (the controller batches them into the next call instead of one call each). ``state``: a
    shard saved by :meth:`snapshot`, to rebuild a lost actor."""

    def __init__(self, spec: ShardSpec, trace: np.ndarray | None, state: bytes | None = None) -> None:
        self._cpu0 = time.process_time()  # the worker's start-up (Ray, imports) before this actor began
        spec = spec.with_arrays(_writable)
        self.shard = HostShard(spec, trace) if state is None else HostShard.restore(state, trace)
        load_kernels(spec, trace)  # while the driver places the first guests, rather than in the first calls
        self._buffer: _Buffer | None = None
        self._server: _Server | None = None  # made with the first buffer

    def call(self, request: tuple[str, tuple[Any, ...]], idle_follows: bool = False) -> Any:
        """``request`` = (method, arguments): the method's result. Every call that touches the shard comes this
        way, as a Ray task or through the actor's socket (:class:`_Server`), never both at once: the driver
        sends through the socket once it has the offer of it, and only after its tasks have ended.
        ``idle_follows``: :meth:`idle` runs once the result is sent (the socket's calls). A Ray task has no idle
        after it: after its advance the next tick's draws start beside (nothing else runs beside in an actor),
        once the result is made. Started beside before the report's pack, their Python held the GIL against it:
        1.2 ms a tick at 10,000 hosts, not 0.3 ms."""
        method, args = request
        if method not in _CALLS:
            raise ValueError(f"not a shard call: {method!r}")
        result = getattr(self, method)(*args)
        if method == "advance" and not idle_follows:
            self.shard.start_ahead()
        return result

    def idle(self) -> None:
        """Between calls, with the last result sent (:class:`_Server`): the next tick's draws and its settle as
        far as the rows give it (:meth:`HostShard.ahead_now`), which the shard would make at the tick. After an
        advance that comes as a Ray task :meth:`call` starts them beside instead (from ``BESIDE_ROWS`` rows).
        The same figures either way."""
        self.shard.ahead_now()

    def apply_all(self, events: Events) -> None:
        """The events since the last call, in order (:meth:`HostShard.run`), in one call."""
        self.shard.run(_own(events))

    def advance(self, events: Events, t: float, tick: int, token: str | None = None) -> Any:
        """:meth:`apply_all` of ``events`` (those since the last call), then advance to ``t``. The report travels
        packed (see :meth:`HostReport.pack`): through this actor's shared buffer when the driver has mapped it
        (``token`` is that buffer's), else through the object store, with an :class:`Offer` of a buffer (one
        large enough) unless the driver wants none (``token`` None). Returns (packed or None, :class:`Mapped`
        or None, :class:`Offer` or None)."""
        self.shard.run(_own(events))
        report = self.shard.advance(t, tick, copy=False)  # packed before the shard changes
        if token is None:
            return report.pack(), None, None
        buf = self._buffer
        if buf is not None and token == buf.token and (mapped := buf.write(report)) is not None:
            return None, mapped, None
        return report.pack(), None, self.offer(len(report.host_ids), len(report.guest_ids), len(report.finished))

    def offer(self, hosts: int, guests: int = 0, finished: int = 0) -> Offer:
        """This actor's report buffer, made (again) when a half of it has no room for a report of ``hosts`` hosts,
        ``guests`` guests and ``finished`` finished ones, each half with room for twice the guests and at least 4
        a host; with its call socket, made with the first buffer. The driver asks for it as the actor starts, to
        take the first calls through the socket (:meth:`RayBackend.start`), and an advance offers it when a
        report does not fit or the driver has none mapped."""
        words = HostReport.packed_words(hosts, guests, finished)
        buf = self._buffer
        if buf is None or words > buf.half:
            if buf is not None:
                buf.close()
            half = words + max(3 * guests + finished, 12 * hosts)
            buf = self._buffer = _Buffer(_TOKEN_BYTES + 8 * 2 * half)
        if self._server is None:
            with contextlib.suppress(OSError):  # no socket (a sandbox without Unix sockets): the calls stay tasks
                self._server = _Server(self)
        return buf.offer(self._server)

    def snapshot(self, events: Events) -> bytes:
        """The shard's whole state (without the shared trace), after ``events``."""
        self.shard.run(_own(events))
        return self.shard.save()

    def pid(self) -> int:
        import os

        return os.getpid()

    def node_id(self) -> str:
        """The Ray node this actor runs on (hex id)."""
        return ray.get_runtime_context().get_node_id()

    def cpu_s(self, events: Events) -> tuple[float, float]:
        """(CPU seconds of the worker's start-up, CPU seconds since this actor began), after ``events``, for
        ``bench sim``."""
        self.shard.run(_own(events))
        return self._cpu0, time.process_time() - self._cpu0


class RayBackend:
    """Host shards as Ray actors (one per physical host when ``hosts_per_actor`` is 1; ``auto``: about one
    per CPU of the cluster but the controller's). Ray must be initialised (see
    :func:`cloudsim.distributed.session.ray_session`).

    **A lost actor is rebuilt.** Every ``checkpoint_ticks`` ticks, but no sooner than ``checkpoint_s`` seconds
    of wall time after the last save, each actor's shard is saved in the driver, and every call made to an
    actor since is logged. When an actor dies (its process killed, its node lost), a new one starts from the
    last save and replays the calls since, in order: the shard is deterministic, so it reaches the same
    state, and the run's summary is byte-identical to an undisturbed one. ``recovered`` counts the actors
    rebuilt. The wall-time floor bounds what saves cost a fast run (a save copies the whole shard in the
    actor, beside the controller's work on two cores, and sends it to the driver: 5.2 MB and 10-15 ms of
    CPU between the two at 10,000 hosts, where a tick takes about 12 ms); a rebuilt actor then replays at
    most about that much of its work. ``saves`` counts the saves started during the run."""

    name = "ray"

    def __init__(self, checkpoint_ticks: int = 12, checkpoint_s: float = 5.0) -> None:
        self.handles: list[Any] = []
        self.checkpoint_ticks, self.checkpoint_s = checkpoint_ticks, checkpoint_s
        self._last_save = (0, 0.0)  # (tick, wall time) of the last save
        self.saves = 0
        self._pending: list[tuple[int, Any]] = []  # fire-and-forget calls not yet confirmed: (actor, ref)
        self.outbox = Outbox(0)  # per actor, the events not sent yet
        self._log: list[list[tuple[str, tuple[Any, ...]]]] = []  # per actor: calls since its last save
        self._saved: list[bytes | None] = []  # per actor: its shard at the last save (None: from the spec)
        self._specs: list[ShardSpec] = []
        self._trace_ref: Any = None
        self._ticks = 0
        self.recovered = 0
        self.actor_cpu_s = 0.0  # CPU the actors used for the run (after ``close``)
        self.node_ids: list[str] = []  # the node each actor ran on at the end (after ``close``)
        self._nodes: list[str] = []  # the alive nodes with CPUs at the start or the last rebuild, in id order
        self._placed: list[str] = []  # per actor: the node it was asked to run on ("": any)
        self._snapping: list[tuple[int, Any, int]] = []  # saves under way: (actor, ref, its log's length then)
        self.actor_startup_cpu_s = 0.0  # CPU their worker processes used before (Ray and imports)
        self._readers: list[_Reader | None] = []  # per actor: its report buffer, mapped (same node only)
        self._share: list[bool] = []  # per actor: whether its reports may come through a buffer
        self._node = ""  # the driver's node
        self.shared_reports = 0  # reports that came through a buffer rather than the object store
        self._channels: list[_Channel | None] = []  # per actor: its call socket, connected (same node only)
        self.calls = Counter[str]()  # the calls sent to the actors by way: "socket" or "task"
        self._offers: list[Any] = []  # per actor: its offer asked for at the start and not taken yet (a ref)

    def grain(self, hosts: int) -> int:
        """About one actor per CPU of the cluster that the controller leaves: the driver is busy most of a
        tick, and the actors' tick waits for it (on 2 CPUs, one actor measured faster than two)."""
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)) - 1)
        return max(1, math.ceil(hosts / cpus))

    def _actor_class(self, index: int, avoid: frozenset[str] = frozenset()) -> Any:
        """Actor ``index``'s class. num_cpus=0: an idle shard holds no CPU slot. On a cluster the shards go
        round robin over the nodes alive when they start (:func:`shard_nodes`), or when one is rebuilt
        (:meth:`_recover` lists them again), and the node asked is kept in :attr:`_placed`. The affinity is
        hard. Ray's SPREAD is best effort and, on a loaded machine, was seen to put every shard on one node.
        A soft affinity does the same at times: on a two-node cluster just started, 8 of 10 runs of a test
        saw actors put on the other node while the node asked was alive, one of them four tries in a row. A
        hard one put them where asked every time; an actor whose node is gone is unschedulable, and is
        rebuilt on one alive (:meth:`_gather`). The nodes ``avoid`` are left out while others are alive (a
        node lost is still listed alive for seconds)."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        if not self._nodes:
            self._nodes = shard_nodes(ray.nodes())
        nodes = [n for n in self._nodes if n not in avoid] or self._nodes
        node = nodes[index % len(nodes)] if nodes else None
        self._placed[index] = node or ""
        strategy = NodeAffinitySchedulingStrategy(node, soft=False) if node else "SPREAD"
        return ray.remote(num_cpus=0, max_restarts=0, scheduling_strategy=strategy)(ShardActor)

    def start(self, specs: list[ShardSpec], trace: np.ndarray | None = None, saved: list[bytes] | None = None) -> None:
        # The trace goes to the object store once; every actor reads its guests' columns from the shared copy.
        self._trace_ref = None if trace is None else ray.put(trace)
        self._specs = list(specs)
        self._saved = list(saved) if saved is not None else [None for _ in specs]
        self._nodes, self._placed = [], [""] * len(specs)
        self.handles = [
            self._actor_class(i).remote(spec, self._trace_ref, st)
            for i, (spec, st) in enumerate(zip(specs, self._saved, strict=True))
        ]
        self.outbox = Outbox.for_specs(specs)
        self._log = [[] for _ in specs]
        self._pending, self._snapping = [], []
        self.node_ids = []
        self._node = ray.get_runtime_context().get_node_id()
        self._readers = [None for _ in specs]
        self._share = [_can_share()] * len(specs)
        self._channels = [None for _ in specs]
        # each actor's buffer and socket, asked for now: made while the driver places the first guests, they
        # take the first advance (:meth:`_take_offer`), which would otherwise go as a task and offer them
        self._offers = [
            h.offer.remote(len(spec.host_ids)) if share else None
            for h, spec, share in zip(self.handles, specs, self._share, strict=True)
        ]
        self._last_save = (self._ticks, time.perf_counter())

    def save(self) -> list[bytes]:
        self._save()
        return list(self._saved)  # type: ignore[arg-type]

    def _call(self, index: int, method: str, *args: Any) -> Any:
        """Call ``method`` on actor ``index``, logged for a replay."""
        self._log[index].append((method, args))
        return self._send(index, method, args)

    def _send(self, index: int, method: str, args: tuple[Any, ...]) -> Any:
        """Call ``method`` on actor ``index`` (:meth:`ShardActor.call`): through its socket once connected, else
        as a Ray task. :func:`_get` waits for the result."""
        channel = self._channels[index]
        self.calls["socket" if channel is not None else "task"] += 1
        return channel.send((method, args)) if channel is not None else self.handles[index].call.remote((method, args))

    def apply(self, t: float, commands: dict[int, list[Command]]) -> None:
        # queued, and sent with the actor's next advance: the driver needs no answer before the next tick,
        # and the actor applies them in order, at their own times, all the same. (Sending the consolidation's
        # moves at once, for the actor to apply them while the controller places arrivals, measured slower:
        # the extra call costs more than the overlap gains.)
        self.outbox.apply(t, commands)

    def _flush(self, index: int) -> None:
        """Send actor ``index`` the events queued for it (one call carries every event time since the last)."""
        events = self.outbox.take(index)
        if len(events.times):
            self._pending.append((index, self._call(index, "apply_all", events)))

    def complete(self, t: float) -> None:
        self.outbox.complete(t)

    def _recover(self, index: int, attempts: int = 3) -> Any:
        """Rebuild actor ``index`` from its last save and replay the calls since; the last call's result.
        :class:`~cloudsim.engine.BackendLost` when it cannot be rebuilt in ``attempts`` tries."""
        why = ""
        avoid = {self._placed[index]}  # its node may be the one lost
        for _ in range(attempts):
            self.recovered += 1
            with contextlib.suppress(ray.exceptions.RayError):
                ray.kill(self.handles[index])
            self._drop_reader(index)
            self._drop_channel(index)
            self._offers[index] = None  # (the new actor offers its buffer at its next advance)
            self._nodes = []  # the nodes alive now
            cls = self._actor_class(index, frozenset(avoid))
            avoid.add(self._placed[index])  # a node a try failed on is not tried again while others are alive
            handle = cls.remote(self._specs[index], self._trace_ref, self._saved[index])
            self.handles[index] = handle
            refs = [handle.call.remote(request) for request in self._log[index]]  # as tasks: no socket yet
            try:
                return ray.get(refs)[-1] if refs else None
            except ray.exceptions.RayError as exc:
                why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BackendLost(f"host actor {index} was lost and could not be rebuilt in {attempts} tries: {why}")

    def _gather(self, calls: list[tuple[int, Any]]) -> list[Any]:
        """The results of ``calls`` (one per actor, in actor order), after the pending fire-and-forget calls
        and the saves under way; an actor found dead is rebuilt and its calls replayed (from its last save
        received: a save it did not deliver is replayed like any call)."""
        pending, self._pending = self._pending, []
        snapping, self._snapping = self._snapping, []
        dead: set[int] = set()
        for index, ref in pending:
            try:
                _get(ref)
            except _LOST:
                dead.add(index)
        for index, ref, cut in snapping:
            try:
                saved = _get(ref)
            except _LOST:
                dead.add(index)
                continue
            if index not in dead:  # the calls after the save are what a rebuilt actor replays from it
                self._saved[index], self._log[index] = saved, self._log[index][cut:]
        results: list[Any] = []
        for index, ref in calls:
            try:
                results.append(None if index in dead else _get(ref))
            except _LOST:
                dead.add(index)
                results.append(None)
        for index in sorted(dead):
            value = self._recover(index)
            for k, (i, _) in enumerate(calls):
                if i == index:
                    results[k] = value
        return results

    def _token(self, index: int) -> str | None:
        """What actor ``index``'s next advance is told of its report buffer: the token of the one mapped,
        ``""`` for none yet, None when its reports take the object store."""
        reader = self._readers[index]
        return reader.token if reader is not None else "" if self._share[index] else None

    def _drop_reader(self, index: int) -> None:
        reader, self._readers[index] = self._readers[index], None
        if reader is not None:
            reader.close()

    def _drop_channel(self, index: int) -> None:
        channel, self._channels[index] = self._channels[index], None
        if channel is not None:
            channel.close()

    def _received(self, index: int, result: tuple[Any, Mapped | None, Offer | None]) -> Any:
        """Actor ``index``'s packed report from its advance's ``result``, read from its buffer when it came
        there; an offered buffer is mapped for the next ones (on the driver's node), else declined. With the first
        offer mapped the driver connects to the actor's call socket: no task of the actor's is under way then
        (every call before this one has been waited for)."""
        packed, mapped, offer = result
        if mapped is not None:
            reader = self._readers[index]
            if reader is None or reader.token != mapped.token:
                raise RuntimeError(f"host actor {index} wrote its report into a buffer the driver has not mapped")
            packed = reader.read(mapped)
            self.shared_reports += 1
        if offer is not None:
            self._accept(index, offer)
        return packed

    def _accept(self, index: int, offer: Offer) -> None:
        """Map actor ``index``'s report buffer ``offer`` for its next reports when the actor runs on the driver's
        node, and connect to its call socket the first time; else its reports take the object store. No task of
        the actor's may be under way (its calls would then run beside the socket's). It supersedes an offer asked
        for at the start and not taken yet."""
        self._offers[index] = None
        self._drop_reader(index)
        if offer.node_id == self._node:
            try:
                self._readers[index] = _Reader(offer)
            except (OSError, ValueError):  # not reachable here (another machine's pid, a /proc that hides it)
                self._share[index] = False
            if self._share[index] and self._channels[index] is None and offer.address:
                with contextlib.suppress(OSError):  # (a socket the driver cannot reach: the calls stay tasks)
                    self._channels[index] = _Channel(offer)
        else:
            self._share[index] = False

    def _take_offer(self, index: int) -> None:
        """Accept actor ``index``'s offer asked for at the start (:meth:`start`), once it has no task under way.
        An actor lost by then is found lost by the call that follows, and rebuilt."""
        ref = self._offers[index]
        if ref is None or any(i == index for i, _ in self._pending) or any(i == index for i, *_ in self._snapping):
            return
        with contextlib.suppress(*_LOST):
            self._accept(index, ray.get(ref))

    def advance(self, t: float, tick: int, meanwhile: Callable[[], None] | None = None) -> HostReport:
        calls = []
        for i in range(len(self.handles)):  # the commands queued for the actor travel with the call
            self._take_offer(i)
            calls.append((i, self._call(i, "advance", self.outbox.take(i), t, tick, self._token(i))))
        self.outbox.advanced(t)
        if meanwhile is not None:
            meanwhile()
        packed = [self._received(i, r) for (i, _), r in zip(calls, self._gather(calls), strict=True)]
        self._ticks += 1
        tick, at = self._last_save
        now = time.perf_counter()
        if self.checkpoint_ticks and self._ticks - tick >= self.checkpoint_ticks and now - at >= self.checkpoint_s:
            self._last_save = (self._ticks, now)
            self.saves += 1
            # each actor saves its shard while the controller decides; the next call collects the saves
            for i in range(len(self.handles)):
                ref = self._call(i, "snapshot", self.outbox.take(i))
                self._snapping.append((i, ref, len(self._log[i])))
        return HostReport.concat([HostReport.unpack(r) for r in packed])

    def ahead(self) -> None:
        """The actors draw ahead in their own processes (:meth:`ShardActor.advance`, :meth:`ShardActor.idle`)."""

    def _save(self) -> None:
        """Save every actor's shard in the driver; the call logs start afresh."""
        for i in range(len(self.handles)):
            self._flush(i)
        saved = self._gather([(i, self._call(i, "snapshot", self.outbox.take(i))) for i in range(len(self.handles))])
        self._saved = saved
        self._log = [[] for _ in self.handles]
        self._last_save = (self._ticks, time.perf_counter())

    def pids(self) -> list[int]:
        """The process id of each actor (tests kill one to check the recovery)."""
        return ray.get([h.pid.remote() for h in self.handles])

    @property
    def actors(self) -> int:
        return len(self.handles)

    @property
    def nodes(self) -> dict[str, int]:
        """The Ray nodes the actors ran on at the end of the run (known after ``close``): node id → actors."""
        return dict(sorted(Counter(self.node_ids).items()))

    def close(self) -> None:
        """Release the actors, after asking them for the CPU time they used (``actor_cpu_s``,
        ``actor_startup_cpu_s``) and the node they ran on (``nodes``)."""
        if self.handles:
            for i in range(len(self.handles)):
                self._flush(i)
            try:
                refs = [self._send(i, "cpu_s", (self.outbox.take(i),)) for i in range(len(self.handles))]
                where = [h.node_id.remote() for h in self.handles]
                cpu, self.node_ids = [_get(r) for r in refs], ray.get(where)
                self.actor_startup_cpu_s = float(sum(c[0] for c in cpu))
                self.actor_cpu_s = float(sum(c[1] for c in cpu))
            except Exception:  # (a measure only) an actor lost, or its socket left by a stop
                self.actor_cpu_s = self.actor_startup_cpu_s = float("nan")
        for h in self.handles:
            ray.kill(h)
        for i in range(len(self._readers)):
            self._drop_reader(i)
            self._drop_channel(i)
        self.handles, self._offers = [], []
        self._pending, self._snapping = [], []
