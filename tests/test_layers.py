"""The layering contract: only cloudsim.distributed imports Ray."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

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
