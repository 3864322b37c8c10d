"""Shared fixtures. One session-scoped local Ray instance (num_cpus=2, no dashboard), started only when a
test asks for it and shut down at the end; tests that do not need Ray never start it."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


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
