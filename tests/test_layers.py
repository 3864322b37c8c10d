"""The layering contract: only cloudsim.distributed imports Ray."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cloudsim"


def test_pure_packages_do_not_import_ray_at_runtime():
    code = (
        "import sys\n"
        "import cloudsim.virt, cloudsim.model, cloudsim.placement, cloudsim.scenario, cloudsim.workload\n"
        "import cloudsim.engine, cloudsim.metrics, cloudsim.metrics.prom, cloudsim.cli\n"
        "assert 'ray' not in sys.modules, sorted(m for m in sys.modules if m.startswith('ray'))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_ray_import_outside_distributed():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "distributed" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "ray" or n.startswith("ray.") for n in names):
                offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


def test_a_host_actor_imports_the_shards_and_not_the_controller():
    """A host actor's worker process imports the actor's module when it unpickles its class: that brings the shard
    model and the backend's protocol, not the controller, the placement, the metrics or the scenario schema
    (cloudsim.engine loads its names on first use), which a new actor would take 0.15 s more to import."""
    code = (
        "import sys\n"
        "import cloudsim.distributed.ray_backend\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('cloudsim', 'pydantic', 'prometheus_client')))\n"
        "assert 'cloudsim.model.shard' in loaded and 'cloudsim.engine.backend' in loaded, loaded\n"
        "heavy = ('cloudsim.engine.simulation', 'cloudsim.placement', 'cloudsim.metrics', 'cloudsim.scenario',\n"
        "         'cloudsim.workload', 'pydantic', 'prometheus_client')\n"
        "assert not [m for m in loaded if m.startswith(heavy)], loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_engine_package_gives_each_of_its_names_from_its_module():
    import cloudsim.engine as engine

    assert sorted(engine.__all__) == sorted(engine._HOME)
    for name in engine.__all__:
        assert getattr(engine, name) is getattr(importlib.import_module(f"cloudsim.engine.{engine._HOME[name]}"), name)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        engine.Nope  # noqa: B018
