"""The Python API, ``cloudsim.run``: what it returns, what it accepts, its errors, its outputs, and the
README's example. The CLI's ``run`` is a layer over it, so its summary is the one ``--json`` prints."""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

import pytest
import yaml

import cloudsim
from cloudsim.cli import main
from tests.helpers import same_run_json

README = Path(__file__).resolve().parents[1] / "README.md"
#: a short quickstart: 2 simulated hours, about 2 s here
SHORT = {"duration": "2h"}


@pytest.fixture(scope="module")
def quick() -> cloudsim.Result:
    return cloudsim.run("quickstart", set={**SHORT, "placement.policy": "worst-fit"}, backend="local", run_id="q")


def test_the_summary_is_the_one_the_cli_prints_as_json(quick, capsys):
    code = main(["run", "quickstart", "--backend", "local", "--json", "--no-progress", "--run-id", "q",
                 "--set", "duration=2h", "--set", "placement.policy=worst-fit"])  # fmt: skip
    assert code == 0
    assert same_run_json(json.loads(capsys.readouterr().out)) == same_run_json(quick.summary)
    assert quick.summary["policy"] == "worst-fit" and quick.summary["sim_time_s"] == 7200


def test_saving_a_result_keeps_an_earlier_run_unless_forced(quick, tmp_path):
    quick.save(tmp_path / "r")
    (tmp_path / "r" / "summary.json").write_text("{}")  # an earlier run's, to be kept
    with pytest.raises(cloudsim.UsageError, match=r"already holds a previous run's outputs; .* --force"):
        quick.save(tmp_path / "r")
    assert (tmp_path / "r" / "summary.json").read_text() == "{}"
    quick.save(tmp_path / "r", force=True)
    assert json.loads((tmp_path / "r" / "summary.json").read_text()) == quick.summary
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(cloudsim.UsageError, match="not a cloudsim run"):
        quick.save(tmp_path / "other", force=True)
    with pytest.raises(cloudsim.UsageError, match="out_dir: a path, not int 7"):
        quick.save(7)  # type: ignore[arg-type]


def test_the_time_series_are_the_columns_of_timeseries_csv(quick, tmp_path):
    ts = quick.timeseries
    assert len(ts["time_s"]) == quick.summary["ticks"] and ts["time_s"] == sorted(ts["time_s"])
    paths = quick.save(tmp_path)
    assert sorted(p.name for p in paths) == sorted(
        ["summary.json", "timeseries.csv", "placements.jsonl", "metrics.jsonl", "scenario.yaml"]
    )
    with (tmp_path / "timeseries.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(ts) == list(rows[0])
    assert [float(r["hosts_active"]) for r in rows] == ts["hosts_active"]
    assert json.loads((tmp_path / "summary.json").read_text()) == quick.summary
    assert len(quick.placements) == quick.summary["guests"]["submitted"]
    assert (tmp_path / "placements.jsonl").read_text().count("\n") == len(quick.placements)
    assert len(quick.snapshots) == quick.summary["ticks"]


def test_to_pandas_gives_one_row_per_tick(quick):
    pytest.importorskip("pandas")
    df = quick.timeseries.to_pandas()
    assert list(df.columns) == list(quick.timeseries) and len(df) == quick.summary["ticks"]


def test_to_pandas_without_pandas_says_how_to_install_it(quick, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(ImportError, match=r"needs pandas, which cloudsim does not install: pip install pandas"):
        quick.timeseries.to_pandas()


def test_a_file_a_mapping_and_a_scenario_object_run_alike(quick, tmp_path):
    raw = yaml.safe_load((Path(cloudsim.__file__).parent / "scenario" / "builtin" / "quickstart.yaml").read_text())
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(raw))
    overrides = {**SHORT, "placement.policy": "worst-fit"}
    from_file = cloudsim.run(path, set=overrides, backend="local", run_id="q")
    from_mapping = cloudsim.run(raw, set=overrides, backend="local", run_id="q")
    from_object = cloudsim.run(quick.scenario, backend="local", run_id="q")
    for r in (from_file, from_mapping, from_object):
        assert same_run_json(r.summary) == same_run_json(quick.summary)
    # overrides on a Scenario object, and strings parsed as --set parses them
    reseeded = cloudsim.run(quick.scenario, set=["seed=7"], backend="local")
    assert reseeded.summary["seed"] == 7 and reseeded.raw["seed"] == 7
    assert cloudsim.run(quick.scenario, seed=7, backend="local").summary["guests"] == reseeded.summary["guests"]


def test_set_values_are_taken_as_they_are():
    """A string in ``set={...}`` stays a string (``--set`` would parse ``name=123`` as a number)."""
    r = cloudsim.run("quickstart", set={**SHORT, "name": "123"}, backend="local")
    assert r.summary["scenario"] == "123" and r.raw["name"] == "123"


def test_bad_input_raises_the_line_the_cli_prints(capsys, tmp_path):
    cases = [
        ({"set": {"placement.policy": "nope"}}, cloudsim.ScenarioError, ["--set", "placement.policy=nope"]),
        ({"set": {"hosts[5].count": 1}}, cloudsim.ScenarioError, ["--set", "hosts[5].count=1"]),
        ({"force": True}, cloudsim.UsageError, ["--force"]),
        ({"checkpoint_every": "1h"}, cloudsim.UsageError, ["--checkpoint-every", "1h"]),
        ({"anchor": "now-6h"}, cloudsim.UsageError, ["--anchor", "now-6h"]),
        ({"realtime_factor": 0.0}, cloudsim.UsageError, ["--realtime-factor", "0"]),
    ]
    for kwargs, kind, flags in cases:
        with pytest.raises(kind) as info:
            cloudsim.run("quickstart", backend="local", **kwargs)
        assert main(["run", "quickstart", "--backend", "local", "--no-progress", *flags]) == 2
        assert capsys.readouterr().err == f"error: {info.value}\n", kwargs
    with pytest.raises(cloudsim.ScenarioError, match="no file 'no-such' and no built-in of that name"):
        cloudsim.run("no-such", backend="local")
    with pytest.raises(cloudsim.UsageError, match="backend: 'gpu' is not one of ray, local"):
        cloudsim.run("quickstart", backend="gpu")
    with pytest.raises(cloudsim.UsageError, match="scenario: a built-in name, a YAML file, a mapping or a Scenario"):
        cloudsim.run(42, backend="local")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"out": 123}, "--out: a path, not int 123"),
        ({"openmetrics": ["m.om"]}, "--openmetrics: a path, not list"),
        ({"run_id": 7}, "--run-id: text, not int 7"),
        ({"max_memory_gib": -1}, "--max-memory: must be a positive number of GiB, got -1"),
        ({"max_memory_gib": "4"}, "--max-memory: must be a positive number of GiB, got '4'"),
        ({"realtime_factor": "fast"}, "--realtime-factor: must be a positive number of simulated seconds per second"),
        ({"progress": 5}, "progress: a function, not int 5"),
        ({"warn": "loud"}, "warn: a function, not str 'loud'"),
        ({"listeners": print}, "listeners: a list of functions"),
        ({"listeners": [5]}, "listeners: a list of functions"),
        ({"endpoint": 8000}, "endpoint: a cloudsim.MetricsEndpoint, not int"),
    ],
)
def test_an_argument_of_the_wrong_type_is_a_usage_error_before_anything_runs(tmp_path, kwargs, says):
    """A Python caller's ``out=123`` or ``progress=5`` was a TypeError from deep inside (``progress`` only
    once the run had made its ``--out`` folder); now it is a UsageError naming the argument, before anything
    is made or run."""
    out = tmp_path / "run"
    with pytest.raises(cloudsim.UsageError, match=re.escape(says)):
        cloudsim.run("quickstart", backend="local", **{"out": out, **kwargs})
    assert not out.exists() or "out" in kwargs


def test_what_will_not_happen_as_asked_is_a_warning_and_stays_in_the_result(capsys):
    """A guest class larger than every host: the API warns (Python's warnings) before it runs, with the line
    `cloudsim run` prints after "warning:", and keeps it in the result; a scenario without one warns of nothing."""
    huge = {**SHORT, "workload.classes[0].vcpus": 512}
    with pytest.warns(cloudsim.ScenarioWarning) as caught:
        r = cloudsim.run("quickstart", set=huge, backend="local")
    assert [str(w.message) for w in caught] == r.warnings and len(r.warnings) == 1
    assert "512 vCPUs" in r.warnings[0] and "every such guest will be rejected" in r.warnings[0]
    flags = [x for k, v in huge.items() for x in ("--set", f"{k}={v}")]
    assert main(["run", "quickstart", "--backend", "local", "--no-progress", "--json", *flags]) == 0
    assert capsys.readouterr().err == f"warning: {r.warnings[0]}\n"
    assert cloudsim.run("quickstart", set=SHORT, backend="local").warnings == []


def test_out_writes_the_run_folder_and_refuses_to_overwrite_it(tmp_path):
    out = tmp_path / "run"
    r = cloudsim.run("quickstart", set=SHORT, backend="local", out=out)
    assert json.loads((out / "summary.json").read_text()) == r.summary
    assert yaml.safe_load((out / "scenario.yaml").read_text()) == r.raw and r.raw["duration"] == "2h"
    assert sorted(p.name for p in r.written) == sorted(p.name for p in out.iterdir())
    with pytest.raises(cloudsim.UsageError, match="already holds a previous run's outputs"):
        cloudsim.run("quickstart", set=SHORT, backend="local", out=out)
    again = cloudsim.run("quickstart", set=SHORT, seed=3, backend="local", out=out, force=True)
    assert json.loads((out / "summary.json").read_text())["seed"] == again.summary["seed"] == 3


def test_a_folder_another_run_writes_in_is_refused_until_that_run_ends(tmp_path, capsys):
    """Two runs writing one folder (a second terminal, the same command twice) would mix their files: while a
    run holds its ``out`` (from ``prepare`` until its outputs are written), another is refused in one line,
    in Python and from the command line, and a refused or finished one holds nothing."""
    from cloudsim.files import FolderLock

    out = tmp_path / "run"
    first = cloudsim.prepare("quickstart", set=SHORT, backend="local", out=out)
    with pytest.raises(cloudsim.UsageError, match=r"'.*run' is in use by another cloudsim run; wait for it to end"):
        cloudsim.prepare("quickstart", set=SHORT, backend="local", out=out)
    assert main(["run", "quickstart", "--backend", "local", "--no-progress", "--out", str(out)]) == 2
    assert "is in use by another cloudsim run" in capsys.readouterr().err
    first.run()
    with pytest.raises(cloudsim.UsageError, match="already holds a previous run's outputs"):  # and holds nothing
        cloudsim.prepare("quickstart", set=SHORT, backend="local", out=out)
    again = cloudsim.prepare("quickstart", set=SHORT, backend="local", out=out, force=True)
    again.lock.release()
    held = FolderLock(out)  # another process's hold, as the system sees it (a lock of its own)
    try:
        assert main(["run", "quickstart", "--backend", "local", "--no-progress", "--out", str(out), "--force"]) == 2
        assert "is in use by another cloudsim run" in capsys.readouterr().err
        from cloudsim import sweep as sw

        (tmp_path / "sweep").mkdir()
        swept = FolderLock(tmp_path / "sweep")
        with pytest.raises(sw.SweepError, match="is in use by another cloudsim sweep"):
            sw.prepare(tmp_path / "sweep")
        swept.release()
        sw.prepare(tmp_path / "sweep").release()
    finally:
        held.release()
    assert main(["run", "quickstart", "--backend", "local", "--no-progress", "--out", str(out), "--force"]) == 0


def test_an_output_that_cannot_be_written_keeps_the_result(tmp_path):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    with pytest.raises(cloudsim.OutputError, match="--openmetrics: cannot write '/dev/full'") as info:
        cloudsim.run("quickstart", set=SHORT, backend="local", openmetrics="/dev/full")
    assert info.value.result.summary["sim_time_s"] == 7200


def test_progress_status_and_times():
    seen: list[tuple[float, float]] = []
    status: list[str] = []
    r = cloudsim.run("quickstart", set=SHORT, backend="local", progress=lambda d, t: seen.append((d, t)),
                     status=status.append)  # fmt: skip
    assert seen and all(t == 7200 for _, t in seen) and seen[-1][0] == 7200
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert status == []  # nothing to wait for on the local backend
    s = r.summary
    keys = list(s)
    assert keys[keys.index("wall_time_s") : keys.index("wall_time_s") + 3] == [
        "wall_time_s", "startup_s", "total_wall_time_s"
    ]  # fmt: skip
    assert 0 <= s["startup_s"] < s["total_wall_time_s"]
    assert s["total_wall_time_s"] >= s["startup_s"] + s["wall_time_s"] - 0.002  # rounded to ms each


def test_the_same_run_on_ray_gives_the_same_summary(ray_session, quick):
    status: list[str] = []
    r = cloudsim.run(quick.scenario, run_id="q", status=status.append)
    assert r.summary["backend"] == "ray" and r.summary["actors"] >= 1
    assert same_run_json(r.summary) == same_run_json(quick.summary)
    assert status == ["Starting the host actors…"]  # the session's Ray was running already


def test_the_readme_example_runs():
    """The ``python`` block of the README's "Python API" section, run as it is."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    namespace: dict[str, object] = {}
    exec(compile(blocks[0], "README.md (Python API)", "exec"), namespace)
    r = namespace["r"]
    assert isinstance(r, cloudsim.Result) and r.summary["policy"] == "worst-fit"
