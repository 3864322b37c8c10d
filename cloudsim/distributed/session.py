"""Connecting to Ray: join a cluster (``--address`` / ``RAY_ADDRESS``), reuse an initialised session
(tests), or start a private local instance and shut it down afterwards."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import ray


class RayConnectError(RuntimeError):
    """Ray could not be reached or started; the message is one line for the CLI."""


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[dict[str, str]]:
    """A Ray session for one run. Yields a description (``{"address": ..., "started": "yes"|"no"}``).

    * Ray already initialised in this process: use it as it is (the caller owns it).
    * ``address`` given: connect to that cluster (``host:port``, ``auto`` or ``ray://``).
    * otherwise: start a local instance (no dashboard) and shut it down at the end.
    """
    if ray.is_initialized():
        yield {"address": "current session", "started": "no"}
        return
    kwargs = {"log_to_driver": False, "logging_level": logging.WARNING, "configure_logging": True}
    try:
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(address="local", num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False, **kwargs)
    except Exception as exc:  # ray raises ConnectionError, ValueError, RuntimeError...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = f"at {address!r}" if address else "locally"
        raise RayConnectError(f"--address: cannot start or reach Ray {where}: {first}") from None
    try:
        yield {"address": address or "local", "started": "yes"}
    finally:
        ray.shutdown()
