"""The first run after an install compiles numba's kernels; the run says so (cloudsim._jit)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from cloudsim._jit import uncached

KERNEL = """
from numba import njit


@njit(cache=True)
def twice(x):
    return 2 * x
"""


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_a_kernel_is_uncached_until_it_compiles_and_again_when_its_source_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    path = tmp_path / "jit_probe.py"
    path.write_text(KERNEL)
    first = _load(path, "jit_probe_1")
    assert uncached(first.twice)
    assert first.twice(21) == 42
    assert not uncached(first.twice)  # compiled into the cache
    assert not uncached(_load(path, "jit_probe_2").twice)  # a later process loads it
    path.write_text(KERNEL.replace("2 * x", "x + x"))  # an upgrade: numba's index no longer matches
    changed = _load(path, "jit_probe_3")
    assert uncached(changed.twice)
    assert not uncached(object())  # unknown internals: nothing said


def test_a_run_that_compiles_says_so_first(monkeypatch, capsys):
    from cloudsim import _jit
    from cloudsim.cli import main

    asked = []

    def uncached_run(consolidating: bool) -> bool:
        asked.append(consolidating)
        return True

    monkeypatch.setattr(_jit, "run_kernels_uncached", uncached_run)
    assert main(["run", "consolidation-demo", "--backend", "local", "--set", "duration=1h"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert "Compiling the simulation's kernels (once after an install or upgrade)…" in err
    assert asked == [True]
    monkeypatch.setattr(_jit, "run_kernels_uncached", lambda consolidating: asked.append(consolidating))
    assert main(["run", "quickstart", "--backend", "local", "--set", "duration=1h"]) == 0
    assert "Compiling" not in capsys.readouterr().err and asked == [True, False]


@pytest.mark.parametrize("consolidating", [False, True])
def test_this_checkout_has_the_run_kernels_cached_after_a_run(consolidating):
    from cloudsim._jit import run_kernels_uncached
    from cloudsim.cli import main

    main(["run", "consolidation-demo" if consolidating else "quickstart", "--backend", "local", "--no-progress",
          "--json", "--set", "duration=1h"])  # fmt: skip
    assert not run_kernels_uncached(consolidating)
