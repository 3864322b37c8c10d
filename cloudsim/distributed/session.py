"""Connecting to Ray: join a cluster (``--address`` / ``RAY_ADDRESS``), reuse an initialised session
(tests), or start a private local instance and shut it down afterwards.

A private instance always requires a token. Ray 2.60's servers (GCS, raylet, workers, agents) bind
every interface whatever node address they are given, so a loopback-only instance cannot be had; instead
each process that starts one draws a random token, kept only in the environment Ray's processes inherit
(never on disk, never on a command line), and every call without it is refused. That holds even when
``RAY_AUTH_MODE=disabled`` is set, since nothing else has any reason to join a private instance; joining
a cluster (``--address``) in a process that has not started one leaves Ray's authentication settings to
the user.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import ray


class RayConnectError(RuntimeError):
    """Ray could not be reached or started; the message is one line for the CLI."""


def _ray_client_installed() -> bool:
    """Whether Ray Client (``ray://`` addresses) can run here: it needs grpcio, which ``ray[client]`` adds."""
    import importlib.util

    return importlib.util.find_spec("grpc") is not None


def _reachable(address: str, timeout_s: float = 3.0) -> str | None:
    """Why a ``host:port`` (or ``ray://host:port``) address cannot be reached, or None if a TCP
    connection opens. Ray's own client retries for minutes on a wrong address; this fails in seconds.
    ``auto`` and other forms are left to Ray."""
    if address.startswith("ray://") and not _ray_client_installed():
        return 'a ray:// address needs Ray Client: pip install "ray[client]" (in a clone: pip install -e ".[client]")'
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return None if address == "auto" or "://" in address else "expected host:port, auto or ray://host:port"
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


@contextmanager
def ray_session(
    address: str | None = None, num_cpus: int | None = None, status: Callable[[str], None] | None = None
) -> Iterator[dict[str, str]]:
    """A Ray session for one run. Yields a description (``{"address": ..., "started": "yes"|"no"}``).

    * Ray already initialised in this process: use it as it is (the caller owns it).
    * ``address`` given: connect to that cluster (``host:port``, ``auto`` or ``ray://``).
    * otherwise: start a local instance (no dashboard) and shut it down at the end.

    The SIGINT and SIGTERM handlers in place before are in place after: a stop while Ray starts raises
    KeyboardInterrupt (:func:`_stops_kept`), and Ray's own SIGTERM handler is not kept.

    ``status`` is told, in one line, what takes a moment before the session is there (starting a local
    instance takes seconds: ``Starting a local Ray instance (2 CPUs)…``).
    """
    if ray.is_initialized():
        if address and (why := _reachable(address)) is not None:
            raise RayConnectError(f"--address: cannot reach Ray at {address!r}: {why}")
        yield {"address": "current session", "started": "no"}
        return
    cpus = num_cpus or os.cpu_count() or 1
    if status is not None:
        status(f"Connecting to Ray at {address}…" if address else f"Starting a local Ray instance ({cpus} CPUs)…")
    if address and (why := _reachable(address)) is not None:
        raise RayConnectError(f"--address: cannot reach Ray at {address!r}: {why}")
    kwargs = {"log_to_driver": False, "logging_level": logging.WARNING, "configure_logging": True}
    try:
        with _stops_kept() as stopped:
            if address:
                ray.init(address=address, **kwargs)
            else:
                _private_token()
                ray.init(address="local", num_cpus=cpus, include_dashboard=False, **kwargs)
        if stopped:  # a stop whose exception ray.init's fork callbacks swallowed
            raise KeyboardInterrupt
    except (KeyboardInterrupt, SystemExit):  # SystemExit: Ray's SIGTERM handler, where _stops_kept cannot keep it out
        _shutdown(started=not address)  # interrupted while starting: leave no Ray processes behind
        raise KeyboardInterrupt from None
    except Exception as exc:  # ray raises ConnectionError, ValueError, RuntimeError...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = f"at {address!r}" if address else "locally"
        raise RayConnectError(f"--address: cannot start or reach Ray {where}: {first}") from None
    try:
        yield {"address": address or "local", "started": "yes"}
    finally:
        _shutdown(started=not address)


@contextmanager
def _stops_kept() -> Iterator[list[int]]:
    """While ``ray.init`` runs: SIGINT and SIGTERM raise KeyboardInterrupt and are also kept in the list
    yielded, and Ray does not put its own SIGTERM handler in place (it exits with SystemExit). ``ray.init``
    starts processes, and an exception raised in a fork callback (logging's lock, after a fork) is printed
    and ignored: the stop would be lost and the run go on, so the caller checks the list afterwards (and
    Python does not print the ignored KeyboardInterrupt). The handlers before are back at the end. Main
    thread only (elsewhere Python delivers no signal)."""
    import threading

    from cloudsim._signals import kept_in, lost_stops_quiet, stops_to

    stopped: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield stopped
        return
    utils = ray._private.utils
    ray_sets = getattr(utils, "set_sigterm_handler", None)
    if ray_sets is not None:
        utils.set_sigterm_handler = lambda handler: None
    try:
        with stops_to(kept_in(stopped)), lost_stops_quiet():  # the ignored stop is kept: Python need not print it
            yield stopped
    finally:
        if ray_sets is not None:
            utils.set_sigterm_handler = ray_sets


_TOKEN = secrets.token_hex(32)


def _private_token() -> None:
    """Token authentication with this process's token, for a private instance. It stays on for the rest
    of the process: Ray keeps the first token and mode it reads in its C++ core, so a later instance
    started here without a token would refuse its own workers."""
    from ray._raylet import Config  # Ray caches its configuration, the authentication mode included

    os.environ.pop("RAY_AUTH_TOKEN_PATH", None)
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=_TOKEN)
    Config.initialize("")


def _shutdown(started: bool) -> None:
    """Disconnect; for an instance this process started, also end the processes Ray leaves running (agents
    still starting when an interrupt came keep running for minutes after ``ray.shutdown``)."""
    ours = []
    if started:
        try:
            import psutil  # Ray ships it (ray/thirdparty_files)

            ours = [p for p in psutil.Process().children(recursive=True) if "ray" in " ".join(p.cmdline()).lower()]
        except Exception:  # no psutil, or a process gone meanwhile: ray.shutdown alone
            ours = []
    ray.shutdown()
    for proc in ours:
        with contextlib.suppress(Exception):
            if proc.is_running():
                proc.kill()
