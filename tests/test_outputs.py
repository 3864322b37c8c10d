"""Nothing lost: outputs written whole or not at all, --out checked before the run, writer errors as one
line with the summary still shown, JSON without NaN or Infinity."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cloudsim.cli import main
from cloudsim.engine import LocalBackend, Simulation, simulation
from cloudsim.files import atomic_open, finite
from cloudsim.scenario import load_scenario

QUICK = ["run", "quickstart", "--backend", "local", "--no-progress", "--set", "duration=30m"]


def test_atomic_open_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_open(path) as fh:
        fh.write("half of the new")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]  # no temporary file left
    with atomic_open(path) as fh:
        fh.write("new\n")
    assert path.read_text() == "new\n"


def test_json_never_holds_nan_or_infinity():
    data = {"a": float("nan"), "b": [1.0, float("inf"), {"c": -float("inf")}], "d": 2}
    assert json.dumps(finite(data), allow_nan=False) == '{"a": null, "b": [1.0, null, {"c": null}], "d": 2}'


def test_out_refuses_a_previous_run_unless_forced(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*QUICK, "--out", str(out)]) == 0
    first = json.loads((out / "summary.json").read_text())
    (out / "report.html").write_text("<!doctype html>")  # a report of the run belongs to the run too
    capsys.readouterr()
    assert main([*QUICK, "--out", str(out), "--seed", "5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out:") and "previous run" in err and "--force" in err and err.count("\n") == 1
    assert json.loads((out / "summary.json").read_text()) == first  # untouched
    assert main([*QUICK, "--out", str(out), "--seed", "5", "--force", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["seed"] == 5 and json.loads((out / "summary.json").read_text())["seed"] == 5
    assert not (out / "report.html").exists()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["summary.json", "timeseries.csv", "placements.jsonl", "metrics.jsonl", "scenario.yaml"]
    )


def test_a_forced_run_refused_or_stopped_before_it_writes_keeps_the_previous_run(tmp_path, capsys, monkeypatch):
    """--force replaces a previous run only once the new run writes: a run refused after the folder is checked
    (a trace folder that is no PlanetLab day, a --metrics-bind that is no address here) or stopped before its
    simulation starts leaves the previous run as it was; with --checkpoint-every (its scenario.yaml is written
    as the simulation starts) a stop before the first checkpoint leaves no scenario.yaml behind that would
    block the same command again."""
    out = tmp_path / "run"
    assert main([*QUICK, "--out", str(out)]) == 0
    (out / "report.html").write_text("<!doctype html>")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    empty = tmp_path / "empty"
    empty.mkdir()
    capsys.readouterr()
    refused = (
        ["--set", f"workload.trace.path={empty}"],  # on the trace scenario below
        ["--metrics-bind", "192.0.2.1", "--metrics-port", "0"],  # TEST-NET-1: no address of this machine
    )
    for args in refused:
        base = ["run", "planetlab-lr-mmt", "--backend", "local", "--no-progress"] if "--set" in args else QUICK
        assert main([*base, "--out", str(out), "--force", *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    from cloudsim import engine

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "run", stopped)
    assert main([*QUICK, "--out", str(out), "--force"]) == 130
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    fresh = tmp_path / "fresh"
    assert main([*QUICK, "--out", str(fresh), "--checkpoint-every", "10m"]) == 130
    assert list(fresh.iterdir()) == []  # the same command again is not refused


def test_out_refuses_other_files_and_unwritable_places(tmp_path, capsys):
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    for args in ([], ["--force"]):
        assert main([*QUICK, "--out", str(other), *args]) == 2
        assert "error: --out:" in capsys.readouterr().err
    assert (other / "notes.txt").read_text() == "keep me"
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main([*QUICK, "--out", str(blocker / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out: cannot write in") and err.count("\n") == 1
    assert main([*QUICK, "--force"]) == 2
    assert "--force" in capsys.readouterr().err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_an_output_that_cannot_be_written_is_one_line_and_the_summary_is_shown(tmp_path, capsys):
    out = tmp_path / "run"
    code = main([*QUICK, "--out", str(out), "--openmetrics", "/dev/full"])
    captured = capsys.readouterr()
    assert code == 2
    assert "guests submitted" in captured.out  # the summary was printed
    lines = [ln for ln in captured.err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith("error: --openmetrics: cannot write '/dev/full'")
    assert "Traceback" not in captured.err
    assert json.loads((out / "summary.json").read_text())["scenario"] == "quickstart"  # --out was kept


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_an_export_report_or_bench_csv_that_cannot_be_written_is_one_line(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*QUICK, "--out", str(out)]) == 0
    capsys.readouterr()
    shutil.copytree(out, tmp_path / "again")  # a second run to compare with
    bench = ["bench", "sim", "--hosts", "3", "--duration", "5m", "--backend", "local"]  # its tables shown first
    for args in (["export", "openmetrics", str(out)], ["compare", str(out), str(tmp_path / "again")], bench):
        assert main([*args, "--out", "/dev/full"]) == 2, args
        err = capsys.readouterr().err.splitlines()  # (bench sim says each row's CPU time as it goes)
        assert err[-1] == "error: --out: cannot write '/dev/full': No space left on device", (args, err)
        assert "Traceback" not in "\n".join(err) and sum(line.startswith("error:") for line in err) == 1
    assert main(["report", str(out), "--out", "/dev/full"]) == 2  # a folder to write in: a file is not one
    err = capsys.readouterr().err
    assert err == "error: --out: cannot write '/dev/full/report.html': a part of it is a file, not a folder\n"


def test_an_openmetrics_file_that_cannot_be_written_is_refused_before_the_run(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    for where, why in ((tmp_path / "file" / "m.om", "cannot write {}: a part of it is a file, not a folder"),
                       (tmp_path, "{} is a folder; give a file name such as")):  # fmt: skip
        assert main([*QUICK, "--openmetrics", str(where)]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.startswith(f"error: --openmetrics: {why.format(repr(str(where)))}")
    assert main([*QUICK, "--openmetrics", str(tmp_path / "new" / "m.om")]) == 0  # a folder not there yet is made
    assert (tmp_path / "new" / "m.om").is_file()


def test_resume_misuse_is_one_line(tmp_path, capsys, monkeypatch):
    assert main(["run", "--resume", str(tmp_path)]) == 2
    assert "no checkpoint.pkl" in capsys.readouterr().err
    (tmp_path / "checkpoint.pkl").write_bytes(b"not a pickle")
    (tmp_path / "scenario.yaml").write_text("name: x\n")
    assert main(["run", "--resume", str(tmp_path)]) == 2
    assert "is not a cloudsim checkpoint" in capsys.readouterr().err
    # a checkpoint another version saved (its state laid out otherwise): refused in one line, not run into
    current = simulation.CHECKPOINT_FORMAT
    with monkeypatch.context() as m:
        m.setattr(simulation, "CHECKPOINT_FORMAT", 1)
        Simulation(load_scenario("quickstart", [])[0], LocalBackend()).save(tmp_path / "checkpoint.pkl")
    assert main(["run", "--resume", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"saved by another version of cloudsim (checkpoint format 1; this one reads {current})" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["run", "quickstart", "--resume", str(tmp_path)]) == 2
    assert "--resume: continues a saved run as it was" in capsys.readouterr().err
    assert main(["run", "quickstart", "--checkpoint-every", "1h"]) == 2
    assert "--checkpoint-every" in capsys.readouterr().err
    assert main(["run"]) == 2
    assert "SCENARIO" in capsys.readouterr().err


def _failing_writes(monkeypatch, failing: set[int]) -> list[int]:
    """The checkpoint writes numbered from 1; those in ``failing`` raise ENOSPC, as a full disk does."""
    import errno

    calls: list[int] = []
    real = simulation.atomic_write_bytes

    def write(path, data):
        calls.append(len(calls) + 1)
        if calls[-1] in failing:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(simulation, "atomic_write_bytes", write)
    return calls


def test_a_checkpoint_that_cannot_be_written_does_not_stop_the_run(tmp_path, monkeypatch):
    sc, _ = load_scenario("consolidation-demo", ["duration=6h"])
    whole = Simulation(sc, LocalBackend()).run()
    calls = _failing_writes(monkeypatch, {2, 3, 6})  # a full disk at 2h and 3h, freed, then full again at 6h
    told: list[str] = []
    sim = Simulation(sc, LocalBackend())
    path = tmp_path / "checkpoint.pkl"
    sim.checkpoint(path, 3600.0)
    sim.warn = told.append
    s = sim.run()
    assert not s.get("interrupted") and len(calls) == 6  # every hour, the last tick's too
    assert told == [  # once for each spell of failures
        f"cannot write the checkpoint {str(path)!r} at 2h simulated (No space left on device); the one written at "
        "1h stays; the run goes on and tries again every 1h",
        f"cannot write the checkpoint {str(path)!r} at 6h simulated (No space left on device); the one written at "
        "5h stays; the run goes on and tries again every 1h",
    ]
    assert same(s, whole)
    resumed = Simulation.resume(path, LocalBackend())  # the one written at 5h, whole
    assert resumed._now == 5 * 3600 and same(resumed.run(), whole)


def same(a: dict, b: dict) -> bool:
    from tests.helpers import stable_json

    return stable_json(a) == stable_json(b)


def test_the_cli_warns_once_when_checkpoints_fail_and_keeps_the_run(tmp_path, capsys, monkeypatch):
    calls = _failing_writes(monkeypatch, set(range(1, 100)))
    out = tmp_path / "run"
    args = ["run", "consolidation-demo", "--backend", "local", "--no-progress", "--set", "duration=3h"]
    assert main([*args, "--out", str(out), "--checkpoint-every", "1h"]) == 0
    captured = capsys.readouterr()
    assert len(calls) == 3 and "guests submitted" in captured.out  # at 1h, 2h and 3h, told once
    assert captured.err.splitlines() == [
        f"warning: --checkpoint-every: cannot write the checkpoint {str(out / 'checkpoint.pkl')!r} at 1h simulated "
        "(No space left on device); there is none yet; the run goes on and tries again every 1h"
    ]
    assert json.loads((out / "summary.json").read_text())["scenario"] == "consolidation-demo"
