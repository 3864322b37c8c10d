"""Hostile or odd input gets one line (exit 2), never a traceback, and never echoes a file's contents."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudsim.cli import main
from cloudsim.scenario import load_scenario
from cloudsim.scenario.loader import builtin_text
from cloudsim.workload import TraceError, read_planetlab


def one_line(capsys, *args: str) -> str:
    code = main(list(args))
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("error: ")
    return err


def scenario_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "sc.yaml"
    path.write_text(text)
    return str(path)


def test_a_key_given_twice_is_an_error_with_its_line(tmp_path, capsys):
    text = builtin_text("quickstart").replace("seed: 42\n", "seed: 42\nseed: 43\n")
    err = one_line(capsys, "validate", scenario_file(tmp_path, text))
    assert "duplicate key 'seed'" in err and "line 4" in err


def test_nesting_beyond_a_sane_depth_is_an_error(tmp_path, capsys):
    err = one_line(capsys, "validate", scenario_file(tmp_path, "name: x\nextra: " + "[" * 200 + "]" * 200 + "\n"))
    assert "nested deeper than 32 levels" in err


def test_base_60_numbers_and_non_ascii_digits_are_not_durations(tmp_path, capsys):
    quick = builtin_text("quickstart")
    # YAML 1.1 reads 190:20:30 as 685,830 seconds; here it is a string, and not a duration
    err = one_line(capsys, "validate", scenario_file(tmp_path, quick.replace("duration: 4h", "duration: 190:20:30")))
    assert err.startswith("error: duration:") and "malformed duration" in err
    arabic = "\u0663\u0660\u0660"  # ٣٠٠: Python's float() reads it as 300
    err = one_line(capsys, "validate", "quickstart", "--set", f"tick={arabic}s")
    assert err.startswith("error: tick:") and "malformed duration" in err


def test_a_file_that_is_not_a_trace_is_named_but_never_shown(tmp_path):
    day = tmp_path / "day"
    day.mkdir()
    secret = "root:x:0:0:root:/root:/bin/bash"
    (day / "vm1").write_text(secret + "\n")
    with pytest.raises(TraceError) as exc:
        read_planetlab(day)
    assert "vm1" in str(exc.value) and "value 1 is not an integer percent" in str(exc.value)
    assert "root" not in str(exc.value).replace(str(tmp_path), "")
    (day / "vm1").write_bytes(b"1\n" * 40_000)  # 80 KB: more than any PlanetLab file
    with pytest.raises(TraceError, match="larger than"):
        read_planetlab(day)


def test_a_trace_path_in_a_scenario_file_is_relative_to_that_file(tmp_path, monkeypatch):
    folder = tmp_path / "exp"
    (folder / "traces" / "day").mkdir(parents=True)
    for i in range(3):
        (folder / "traces" / "day" / f"vm{i}").write_text("10\n" * 288)
    data = yaml.safe_load(builtin_text("planetlab-lr-mmt"))
    data["workload"]["trace"]["path"] = "traces/day"
    path = folder / "sc.yaml"
    path.write_text(yaml.safe_dump(data))
    monkeypatch.chdir(tmp_path)  # elsewhere: the path still resolves against the file
    sc, _ = load_scenario(str(path))
    assert Path(sc.workload.trace.path) == folder / "traces" / "day"
    sc, _ = load_scenario(str(path), ["workload.trace.path=exp/traces/day"])  # --set: the current folder
    assert sc.workload.trace.path == "exp/traces/day"


@pytest.mark.parametrize(
    ("override", "field", "fragment"),
    [
        ("tick=1ms", "tick", "ticks"),
        ("duration=1000000000", "workload", "GiB"),
        ("hosts[0].count=9223372036854775807", "hosts", "--max-memory"),
        ("workload.arrivals.rate_per_hour=1e300", "workload", "4e+300 guests"),
        ("seed=-1", "seed", "greater than or equal to 0"),
    ],
)
def test_runs_too_large_or_meaningless_are_refused_by_validate_and_run_alike(capsys, override, field, fragment):
    for command in ("validate", "run"):
        err = one_line(
            capsys, command, "quickstart", "--set", override, *(["--backend", "local"] if command == "run" else [])
        )
        assert err.startswith(f"error: {field}:") and fragment in err, err


def test_the_memory_limit_can_be_raised(capsys):
    one_line(capsys, "validate", "quickstart", "--set", "tick=1s", "--max-memory", "0.001")
    assert main(["validate", "quickstart", "--set", "tick=1s", "--max-memory", "4"]) == 0


def test_a_trace_run_cannot_outlast_its_trace(tmp_path, capsys):
    day = tmp_path / "day"
    day.mkdir()
    (day / "vm0").write_text("10\n" * 288)
    err = one_line(
        capsys, "validate", "planetlab-lr-mmt", "--set", f"workload.trace.path={day}", "--set", "duration=2d"
    )
    assert err.startswith("error: duration: a PlanetLab trace covers 1d")


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("big.txt", "4\n9223372036854775807\n" + "9223372036854775806\n" * 4, "beyond 2^53"),
        ("sum.txt", "4\n9007199254740000\n" + "9007199254740000\n" * 4, "add up beyond 2^53"),
        ("many.vbp", "1\n10\n1\n1 1000000000\n", "1,000,000,000 items"),
        ("bad.txt", "3\n10\n4\nroot:x:0:0\n7\n", "number 4 is not one"),
    ],
)
def test_pack_refuses_what_it_cannot_answer_exactly(tmp_path, capsys, name, text, fragment):
    path = tmp_path / name
    path.write_text(text)
    err = one_line(capsys, "pack", str(path), "--json")
    assert fragment in err and "root:x" not in err


def test_a_path_component_too_long_for_the_system_is_one_line(capsys):
    long = "/tmp/" + "a" * 300
    for args in (["validate", long[5:]], ["run", "quickstart", "--backend", "local", "--out", long],
                 ["validate", "planetlab-lr-mmt", "--set", f"workload.trace.path={long}"], ["pack", long],
                 ["report", long]):  # fmt: skip
        err = one_line(capsys, *args)
        assert "File name too long" in err and "…" in err, args
    for args in (["run", "quickstart", "--backend", "local"], ["sweep", "quickstart", "--set", "seed=1,2"]):
        assert one_line(capsys, *args, "--out", long).startswith("error: --out: cannot use '/tmp/aaa"), args  # named


def test_an_out_folder_that_is_a_link_to_nowhere_is_said_so(tmp_path, capsys):
    (tmp_path / "dangling").symlink_to(tmp_path / "nothing")
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    for name in ("dangling", "loop1"):
        for cmd in (["run", "quickstart", "--backend", "local"], ["sweep", "quickstart", "--set", "seed=1,2"]):
            err = one_line(capsys, *cmd, "--out", str(tmp_path / name))
            assert err.startswith("error: --out: ") and "symbolic link that leads nowhere" in err, (name, cmd, err)


@pytest.mark.parametrize("name", ["consolidation-demo", "ha-demo"])
def test_a_workload_that_draws_no_guest_runs_to_an_empty_summary(tmp_path, capsys, name):
    # a minute of a Poisson workload draws no arrival at this seed: the tables per guest shape had no rows
    # and the run stopped on numpy's reshape of them, a traceback
    out = tmp_path / "run"
    args = ["run", name, "--backend", "local", "--set", "duration=1m", "--set", "tick=1m", "--out", str(out), "--json"]
    assert main([*args, "--set", "workload.arrivals.rate_per_hour=0.01"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["guests"]["submitted"] == 0 and summary["overhead"] == {} and summary["energy_kwh"] >= 0
    assert main(["report", str(out)]) == 0 and (out / "report.html").is_file()
    capsys.readouterr()
    assert main([*args[:-3], "--set", "workload.arrivals.rate_per_hour=0.01", "--no-progress"]) == 0
    table = capsys.readouterr().out
    assert "0 / 0 / 0" in table and "overhead by mode" not in table  # no mode ran: no table of modes


@pytest.fixture(scope="module")
def quick_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "q"
    assert main(["run", "quickstart", "--backend", "local", "--no-progress", "--out", str(out)]) == 0
    return out


def _line(path: Path, n: int, edit: Any) -> None:
    lines = path.read_text().splitlines()
    record = json.loads(lines[n - 1])
    edit(record)
    lines[n - 1] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")


RUN_FOLDER_EDITS = {  # name: (file, edit, what the line says)
    "summary a list": ("summary.json", lambda p: p.write_text("[]"), "is not a cloudsim run summary"),
    "summary without its run": (
        "summary.json",
        lambda p: p.write_text(json.dumps({k: v for k, v in json.loads(p.read_text()).items() if k != "run"})),
        "is not a cloudsim run summary",
    ),
    "summary not UTF-8": ("summary.json", lambda p: p.write_bytes(b"\xff\xfe"), "is not JSON"),
    "a count that is text": (
        "metrics.jsonl",
        lambda p: _line(p, 3, lambda r: r.update(hosts_active="four")),
        "line 3: field 'hosts_active': expected a finite number",
    ),
    "guests not an object": (
        "metrics.jsonl",
        lambda p: _line(p, 2, lambda r: r.update(guests=3)),
        "line 2: field 'guests': expected an object of finite numbers",
    ),
    "a guest key without its state": (
        "metrics.jsonl",
        lambda p: _line(p, 2, lambda r: r.update(guests={"vm": 1})),
        "line 2: field 'guests': key 'vm' is not 2 names joined by '|'",
    ),
    "a line that is a number": (
        "metrics.jsonl",
        lambda p: p.write_text("1\n"),
        "line 1: not a metrics record",
    ),
    "time going back": (
        "metrics.jsonl",
        lambda p: _line(p, 4, lambda r: r.update(time_s=0.5)),
        "line 4: 'time_s' 0.5 is not a simulated time",
    ),
    "a time beyond any date": (
        "metrics.jsonl",
        lambda p: _line(p, 2, lambda r: r.update(time_s=1e300)),
        "line 2: 'time_s' 1e+300 is not a simulated time",
    ),
}


@pytest.mark.parametrize("name", list(RUN_FOLDER_EDITS))
def test_a_run_folder_edited_by_hand_is_one_line_naming_the_file(quick_run_dir, tmp_path, capsys, name):
    """``report``, ``compare`` and ``export openmetrics`` read a run folder a user may have edited, cut short or
    taken from another tool: what is not what ``run --out`` writes is one line naming the file (and the line),
    exit 2; it was a traceback (an AttributeError, a KeyError, an OverflowError) for many of these."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(quick_run_dir, run)
    file, edit, says = RUN_FOLDER_EDITS[name]
    edit(run / file)
    for args in (
        ["report", str(run), "--out", str(tmp_path / "page")],
        ["compare", str(quick_run_dir), str(run), "--out", str(tmp_path / "c.html")],
        ["export", "openmetrics", str(run), "--out", str(tmp_path / "m.om")],
    ):
        err = one_line(capsys, *args)
        assert f"'{run / file}'" in err and says in err, (args, err)


def test_a_placement_log_edited_by_hand_is_one_line_with_the_right_line(quick_run_dir, tmp_path, capsys):
    """``explain`` names the line of ``placements.jsonl`` that is not an entry (it said line 1 for every line)."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(quick_run_dir, run)
    log = run / "placements.jsonl"
    lines = log.read_text().splitlines()
    for bad in ("[1, 2]", '{"guest": ["api-1"]}', "{"):
        log.write_text("\n".join([*lines[:4], bad, *lines[5:]]) + "\n")
        err = one_line(capsys, "explain", str(run), "api-1")
        assert f"'{log}' line 5: not a placement log entry" in err, err
    log.write_bytes(b"\xff\xfe")
    assert "(not UTF-8 text)" in one_line(capsys, "explain", str(run), "api-1")


def test_a_summary_figure_of_the_wrong_type_is_a_dash_in_the_report(quick_run_dir, tmp_path, capsys):
    """The report's headline line formats a few summary figures: one that is not a number shows as "–"."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(quick_run_dir, run)
    summary = json.loads((run / "summary.json").read_text())
    summary["guests"]["submitted"], summary["hosts"] = [], "many"
    (run / "summary.json").write_text(json.dumps(summary))
    assert main(["report", str(run)]) == 0, capsys.readouterr().err
    assert "– guests submitted" in (run / "report.html").read_text()


def test_validate_refuses_a_trace_folder_that_run_refuses(tmp_path, capsys):
    """``validate`` reads the trace as ``run`` does (it said ``ok`` for ``/etc``, which ``run`` refused)."""
    day = tmp_path / "day"
    day.mkdir()
    (day / "vm1").write_text("root:x:0:0:root:/root:/bin/bash\n")
    trace = f"workload.trace.path={day}"
    for args in (["validate", "planetlab-lr-mmt", "--set", trace], ["run", "planetlab-lr-mmt", "--set", trace]):
        err = one_line(capsys, *args)
        assert err.startswith("error: workload.trace.path:") and "vm1: not a PlanetLab trace" in err, err
        assert "root" not in err.replace(str(tmp_path), "")


def test_a_path_name_that_is_not_utf8_is_written_in_the_files_escaped(tmp_path: Path, capsys) -> None:
    """A file name of bytes that are no UTF-8 (``$'\\xff'``: Python keeps them as surrogates) in a text that is
    written (init's starter names its path, a report page its run folder) was a UnicodeEncodeError
    traceback; it is written escaped, and the files are made."""
    odd = tmp_path / os.fsdecode(b"\xff")
    scenario = Path(f"{odd}.yaml")
    assert main(["init", str(scenario)]) == 0 and scenario.is_file()
    assert main(["validate", str(scenario)]) == 0
    run = Path(f"{odd}-run")
    assert main(["run", "quickstart", "--backend", "local", "--no-progress", "--set", "duration=30m",
                 "--out", str(run)]) == 0  # fmt: skip
    assert main(["report", str(run)]) == 0 and (run / "report.html").is_file()
    assert main(["compare", str(run), str(run.with_name("other")), "--out", f"{odd}.html"]) == 2  # no such run
    other = run.with_name("other")
    assert main(["run", "quickstart", "--backend", "local", "--no-progress", "--set", "duration=30m", "--seed", "2",
                 "--out", str(other)]) == 0  # fmt: skip
    assert main(["compare", str(run), str(other), "--out", f"{odd}.html"]) == 0 and Path(f"{odd}.html").is_file()
    capsys.readouterr()
