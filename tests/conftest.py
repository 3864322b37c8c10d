"""Shared fixtures. One session-scoped local Ray instance (num_cpus=2, no dashboard), started only when a
test asks for it and shut down at the end; tests that do not need Ray never start it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _signals_now() -> tuple:
    return tuple(sorted(signal.pthread_sigmask(signal.SIG_BLOCK, []))), signal.getsignal(signal.SIGINT), \
        signal.getsignal(signal.SIGTERM)  # fmt: skip


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """No test leaves a signal blocked in the main thread, or a SIGINT or SIGTERM handler of its own: the
    threads and processes started later inherit the mask (one leaked by an interrupted block once made the
    later tests' sweeps ignore SIGTERM). What a test leaves is put back, and the test fails."""
    mask, *handlers = _signals_now()
    try:
        result = yield
    finally:
        left = _signals_now()
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for sig, handler in zip((signal.SIGINT, signal.SIGTERM), handlers, strict=True):
            if handler is not None:
                signal.signal(sig, handler)
    if left != (mask, *handlers):
        pytest.fail(f"the test left the main thread's signals changed: {(mask, *handlers)} -> {left}", pytrace=False)
    return result


#: What the process beside the suite runs: a short consolidating run, then the packing's warm-up.
WARM = """
from cloudsim.engine import LocalBackend, Simulation
from cloudsim.packing.engine import warm_up
from cloudsim.scenario import load_scenario

Simulation(load_scenario("consolidation-demo", ["duration=2h"])[0], LocalBackend()).run()
warm_up()
"""


@pytest.fixture(scope="session", autouse=True)
def _kernels_compiled_beside():
    """On a fresh checkout numba compiles every kernel inside the suite, about 3 minutes here, in whichever
    test first reaches each. A process beside the suite compiles the consolidation's and the packing's at the
    start, on the core the suite mostly leaves idle; with the caches warm it loads them and ends in seconds.
    No test depends on it: a test that reaches a kernel first compiles it itself. Ended with the session."""
    proc = subprocess.Popen([sys.executable, "-c", WARM], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield
    if proc.poll() is None:
        proc.kill()
    proc.wait()


@pytest.fixture(autouse=True)
def data_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test has its own empty data cache (``$CLOUDSIM_DATA``), never the user's ~/.cache/cloudsim."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("CLOUDSIM_DATA", str(cache))
    return cache


@pytest.fixture(scope="session")
def ray_session():
    """A private local Ray instance for the whole session (address='local': never joins a stray cluster)."""
    import ray

    tmp = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # short path: unix sockets must stay < 108 chars
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _temp_dir=tmp,
        object_store_memory=100 * 2**20,
    )
    yield ray
    ray.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)
