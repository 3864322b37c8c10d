"""``cloudsim pack`` starts fast after its first run: every numba kernel it reaches is cached to disk
(``cache=True``; the bin completion and the exact cover are iterative, since numba does not cache recursive
functions reliably), so a later process loads them instead of compiling. Checked deterministically through
numba's own counters; the CPU-time figure is a benchmark (``-m benchmark``)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "data" / "packing" / "1d" / "perfect1d_0.txt"  # 24 items
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

#: Runs ``cloudsim pack FILE --json`` in this process, then writes, per numba kernel of cloudsim.packing that
#: ran, how many of its compiled versions were loaded from the cache and how many compiled, and whether
#: its cache index file exists.
PROBE = """
import json, os, sys
from numba.core.registry import CPUDispatcher
from cloudsim.cli import main

code = main(["pack", sys.argv[1], "--json"])
kernels = {}
for name, module in list(sys.modules.items()):
    if name.startswith("cloudsim.packing"):
        for attr, f in vars(module).items():
            if isinstance(f, CPUDispatcher) and (f.stats.cache_hits or f.stats.cache_misses):
                kernels[f"{name.rsplit('.', 1)[1]}.{attr}"] = {
                    "loaded": sum(f.stats.cache_hits.values()),
                    "compiled": sum(f.stats.cache_misses.values()),
                    "index": os.path.isfile(f._cache._cache_file._index_path),
                }
with open(sys.argv[2], "w") as fh:
    json.dump({"code": code, "kernels": kernels}, fh)
"""


def _probe(tmp_path: Path, tag: str) -> dict:
    report = tmp_path / f"{tag}.json"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(SMALL), str(report)], capture_output=True, text=True, env=ENV, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(report.read_text())


def test_a_second_pack_loads_every_kernel_from_the_cache(tmp_path: Path) -> None:
    _probe(tmp_path, "first")  # compiles what is not cached yet (a fresh clone, a changed kernel)
    second = _probe(tmp_path, "second")
    assert second["code"] == 0
    kernels = second["kernels"]
    # the search's kernels ran (the warm-up runs them): the once-recursive ones among them
    assert {"kernels.bin_completion", "colgen._cover", "cns.search", "kernels.min_bin_slack"} <= set(kernels)
    for name, k in kernels.items():
        assert (k["compiled"], k["index"]) == (0, True) and k["loaded"] >= 1, (name, k)


@pytest.mark.benchmark
def test_a_warm_pack_of_24_items_takes_under_a_second_of_cpu() -> None:
    cmd = [sys.executable, "-m", "cloudsim.cli", "pack", str(SMALL)]
    cpu = []
    for _ in range(2):  # the first run may compile; the second is the warm one
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(cmd, check=True, capture_output=True, env=ENV, timeout=600)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    print(f"cloudsim pack, 24 items: first run {cpu[0]:.2f} s CPU, second {cpu[1]:.2f} s")
    assert cpu[1] < 1.0, cpu
