"""``cloudsim sweep``: the grid (axes, ranges, variant names), one-line errors before anything runs, the
outputs, re-runs that skip complete variants, a stop that keeps what finished, and a variant equal to
``cloudsim run --backend local`` of the same settings. The Ray tests share the session's Ray instance."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudsim import sweep as sw
from cloudsim.cli import main
from cloudsim.scenario import ScenarioError
from tests.helpers import stable_json

RUN_FILES = {"summary.json", "timeseries.csv", "placements.jsonl", "metrics.jsonl", "scenario.yaml"}
#: 2 policies x 2 seeds of a two-hour quickstart: four variants of a few hundredths of a second each
GRID = ["--set", "duration=2h", "--set", "placement.policy=best-fit,dot-product", "--set", "seed=1..2"]
IDS = ["policy=best-fit,seed=1", "policy=best-fit,seed=2", "policy=dot-product,seed=1", "policy=dot-product,seed=2"]


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# -------------------------------------------------------------------------------------------- the grid


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("best-fit,dot-product", ["best-fit", "dot-product"]),
        ("best-fit, dot-product ", ["best-fit", "dot-product"]),  # spaces around values are dropped
        ("{cpu: 2, memory: 1},{cpu: 1}", ["{cpu: 2, memory: 1}", "{cpu: 1}"]),  # a mapping's commas stay
        ("[1, 2],[3]", ["[1, 2]", "[3]"]),  # so do a list's
        ("'a,b',c", ["'a,b'", "c"]),  # and a quoted string's
        ("1..3", ["1..3"]),  # a range is one piece, expanded by parse_axes
    ],
)
def test_values_split_on_commas_outside_brackets_and_quotes(text: str, values: list[str]) -> None:
    assert sw.split_values(text) == values


def test_axes_expand_inclusive_integer_ranges() -> None:
    axes = sw.parse_axes(["seed=1..3,7", "dynamics.migration_slowdown=0.1,0.2", "x=-1..1", "duration=2h", "y=4..4"])
    assert [(a.key, a.values) for a in axes] == [
        ("seed", ("1", "2", "3", "7")),
        ("dynamics.migration_slowdown", ("0.1", "0.2")),
        ("x", ("-1", "0", "1")),
        ("duration", ("2h",)),  # one value: a setting every variant shares
        ("y", ("4",)),
    ]


def test_the_variants_are_the_cartesian_product_in_order() -> None:
    variants = sw.plan("quickstart", GRID[1::2])
    assert [v.id for v in variants] == IDS
    assert [(v.scenario.placement.policy, v.scenario.seed) for v in variants] == [
        ("best-fit", 1), ("best-fit", 2), ("dot-product", 1), ("dot-product", 2)
    ]  # fmt: skip
    assert all(v.scenario.duration == 7200 for v in variants)  # the shared setting
    assert variants[2].overrides == ("duration=2h", "placement.policy=dot-product", "seed=1")
    assert variants[2].settings == (("placement.policy", "dot-product"), ("seed", "1"))
    assert variants[2].raw["seed"] == 1 and variants[2].raw["placement"]["policy"] == "dot-product"
    assert [v.id for v in sw.plan("quickstart", ["duration=2h"])] == ["base"]  # no axis: one variant


@pytest.mark.parametrize(
    ("keys", "names"),
    [
        (["placement.policy", "seed"], ["policy", "seed"]),
        (["placement.overcommit.cpu", "overheads.para.type1.cpu"], ["overcommit.cpu", "type1.cpu"]),
        (["hosts[0].count", "hosts[1].count"], ["hosts[0].count", "hosts[1].count"]),
        (["cpu", "placement.overcommit.cpu"], ["cpu", "overcommit.cpu"]),
    ],
)
def test_axis_names_in_a_variant_are_the_shortest_distinct_suffix(keys: list[str], names: list[str]) -> None:
    assert list(sw._short_names(keys).values()) == names


def test_variant_names_are_safe_for_a_file_system() -> None:
    ids = sw.variant_ids([(("workload.trace.path", "/data/day 1"),), (("workload.trace.path", "/data/day?1"),)])
    # both become path=_data_day_1 once made safe, so each gets a hash of its whole setting
    assert ids[0] != ids[1] and all(i.startswith("path=_data_day_1-") for i in ids)
    long = sw.variant_ids([(("name", "x" * 500),)])[0]
    assert len(long) == sw.MAX_ID_CHARS and long.startswith("name=xxx")
    assert sw.variant_ids([(("hosts[0].count", "3"),)]) == ["count=3"]


# ------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("sets", "fragments"),
    [
        (["placement.policy=best-fit,nope"], ["placement.policy", "unknown policy 'nope'", "best-fit, worst-fit"]),
        (["hosts[0].hypervisor.type=type1,type3"], ["hosts[0].hypervisor.type", "'type3'", "type1, type2"]),
        (["placement.nope=1,2"], ["placement.nope", "unknown key 'nope'", "policy"]),
        (["seed=5..1"], ["seed", "empty range '5..1'"]),
        (["seed=0..999999999999"], ["more than 10,000 variants"]),  # refused before any range is expanded
        (
            [
                "seed=1..200",
                "placement.policy=best-fit,worst-fit,first-fit,dot-product,balanced,l2-norm,power-aware",
                "duration=1h,2h,3h,4h,5h,6h,7h,8h",
            ],
            ["more than 10,000 variants", "at duration"],
        ),
        (["seed=1,2,1"], ["seed", "'1' given twice"]),
        (["seed=1,01"], ["--set seed: value '01' is the same value as '1'"]),  # YAML reads 01 as 1: one variant twice
        (["workload.classes[0].os=linux,'linux'"], ["\"'linux'\" is the same value as 'linux'"]),
        (["seed=1,2", "seed=3"], ["seed", "given twice"]),
        (["seed=1,,2"], ["seed", "empty value"]),
        (["seed"], ["--set seed", "expected dotted.path=value"]),
    ],
)
def test_bad_input_is_one_line_exit_2_and_runs_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sets: list[str], fragments: list[str]
) -> None:
    out = tmp_path / "sweep"
    args = ["sweep", "quickstart", "--out", str(out), "--backend", "local", "--no-progress"]
    code = main([*args, *(x for s in sets for x in ("--set", s))])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    for fragment in fragments:
        assert fragment in lines[0]
    assert not out.exists()  # validated before anything was written or run


def test_an_error_names_its_variant() -> None:
    with pytest.raises(ScenarioError) as exc:
        sw.plan("quickstart", ["hosts[0].cpu.cores=32,0"])
    assert "hosts[0].cpu.cores" in str(exc.value) and "(variant cores=0)" in str(exc.value)


def test_out_must_be_new_empty_or_a_sweeps(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["sweep", "quickstart", "--set", "seed=1,2", "--out", str(tmp_path), "--backend", "local"]) == 2
    assert "holds files that are not a sweep's" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # untouched
    assert main(["sweep", "quickstart", "--set", "seed=1,2", "--out", str(tmp_path / "notes.txt")]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_off_a_terminal_the_progress_bar_leaves_no_blank_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The bar is drawn on a terminal only: in a log (here captured) it left an empty line on standard error."""
    assert main(["sweep", "quickstart", "--set", "seed=1,2", "--set", "duration=1h", "--out", str(tmp_path / "s"),
                 "--backend", "local"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert all(line.strip() for line in err.splitlines()), repr(err)


# -------------------------------------------------------------------------------------------- on Ray


@pytest.fixture(scope="module")
def swept(ray_session, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four-variant grid, run as Ray tasks on the session's instance."""
    out = tmp_path_factory.mktemp("sweep") / "grid"
    assert main(["sweep", "quickstart", *GRID, "--out", str(out), "--no-progress"]) == 0
    return out


def test_a_sweep_writes_a_run_folder_per_variant_a_csv_and_a_page(swept: Path) -> None:
    assert sorted(p.name for p in swept.iterdir()) == sorted([*IDS, "compare.html", "sweep.csv", "sweep.json"])
    for vid in IDS:
        assert {p.name for p in (swept / vid).iterdir()} == RUN_FILES
        summary = json.loads((swept / vid / "summary.json").read_text())
        assert summary["run"] == vid and summary["backend"] == "local"  # in-process inside its Ray task
    table = rows(swept / "sweep.csv")
    header = list(table[0])
    assert header[:4] == ["variant", "placement.policy", "seed", "guests.submitted"] and header[-1] == "wall_time_s"
    assert [(r["variant"], r["placement.policy"], r["seed"]) for r in table] == [
        (vid, vid.split(",")[0].split("=")[1], vid[-1]) for vid in IDS
    ]
    for r in table:
        s = json.loads((swept / r["variant"] / "summary.json").read_text())
        assert int(r["guests.placed"]) == s["guests"]["placed"]
        assert float(r["energy_kwh"]) == s["energy_kwh"]
        assert float(r["hosts.active_mean"]) == s["hosts"]["active_mean"]
    page = (swept / "compare.html").read_text()
    for r in table:  # cloudsim compare's page, each variant named by what differs (in the scenario's order)
        assert f"<b>seed={r['seed']}, policy={r['placement.policy']}</b>" in page
    assert json.loads((swept / "sweep.json").read_text())["variants"] == IDS


def test_a_variant_gives_what_cloudsim_run_gives_with_the_same_settings(
    swept: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    args = ["run", "quickstart", "--set", "duration=2h", "--set", "placement.policy=dot-product", "--set", "seed=2",
            "--backend", "local", "--out", str(run_dir), "--no-progress", "--json"]  # fmt: skip
    assert main(args) == 0
    capsys.readouterr()
    variant = swept / "policy=dot-product,seed=2"
    ours, theirs = (json.loads((d / "summary.json").read_text()) for d in (variant, run_dir))
    assert stable_json(ours) == stable_json(theirs)  # all but the run id and the wall time
    for name in ("placements.jsonl", "scenario.yaml"):
        assert (variant / name).read_bytes() == (run_dir / name).read_bytes()


def test_running_again_skips_the_complete_variants(
    swept: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "grid"
    shutil.copytree(swept, out)
    before = {vid: (out / vid / "summary.json").stat().st_mtime_ns for vid in IDS}
    lost = json.loads((out / IDS[1] / "summary.json").read_text())
    shutil.rmtree(out / IDS[1])
    assert main(["sweep", "quickstart", *GRID, "--out", str(out), "--no-progress"]) == 0
    assert "4 variants: 1 ran, 3 complete already (skipped), 0 failed" in capsys.readouterr().out
    for vid in (IDS[0], IDS[2], IDS[3]):
        assert (out / vid / "summary.json").stat().st_mtime_ns == before[vid]  # not run, not rewritten
    again = json.loads((out / IDS[1] / "summary.json").read_text())
    assert stable_json(again) == stable_json(lost)
    assert [r["variant"] for r in rows(out / "sweep.csv")] == IDS


def test_a_changed_scenario_runs_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "grid"
    base = ["sweep", "quickstart", "--set", "seed=1,2", "--out", str(out), "--backend", "local", "--no-progress"]
    assert main([*base, "--set", "duration=1h"]) == 0
    assert main([*base, "--set", "duration=1h"]) == 0
    assert "2 variants: 0 ran, 2 complete already" in capsys.readouterr().out
    assert main([*base, "--set", "duration=2h"]) == 0  # same variant names, another scenario: both run
    assert "2 variants: 2 ran, 0 complete already" in capsys.readouterr().out
    assert all(json.loads((out / f"seed={s}" / "summary.json").read_text())["sim_time_s"] == 7200 for s in (1, 2))


def test_a_sweep_of_one_variant_leaves_no_page_of_an_earlier_grid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "grid"
    base = ["sweep", "quickstart", "--out", str(out), "--backend", "local", "--no-progress", "--set", "duration=30m"]
    assert main([*base, "--set", "seed=1,2"]) == 0 and (out / "compare.html").is_file()
    capsys.readouterr()
    assert main([*base, "--set", "seed=3"]) == 0
    printed = capsys.readouterr().out
    assert "1 variant: 1 ran, 0 complete already" in printed and "no comparison page" in printed
    assert not (out / "compare.html").exists()  # it compared seeds 1 and 2, which this sweep's files do not list


def test_a_failed_variant_is_one_line_exit_1_and_the_others_are_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_consolidation import tiny_day

    good = tiny_day(tmp_path / "good", n=8)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "vm000").write_text("not a trace\n")  # a folder passes validation; reading it fails in the run
    code = main(["sweep", "planetlab-lr-mmt", "--set", f"workload.trace.path={good},{bad}", "--set", "duration=1h",
                 "--set", "hosts[0].count=2", "--set", "hosts[1].count=2", "--out", str(tmp_path / "out"),
                 "--backend", "local", "--no-progress"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    failed = [ln for ln in captured.err.splitlines() if "failed" in ln]
    # the variant's run (cloudsim.run) names the field, as `cloudsim run` does for the same trace
    assert len(failed) == 2 and failed[1].startswith("error: sweep: 1 of 2 variants")
    assert "ScenarioError: workload.trace.path:" in failed[0] and "not a PlanetLab trace" in failed[0]
    table = rows(tmp_path / "out" / "sweep.csv")
    assert len(table) == 1 and table[0]["workload.trace.path"] == str(good)
    assert "sla.slatah_pct" in table[0] and "esv" in table[0]  # a consolidation run's figures


def test_a_full_disk_stops_the_sweep_in_one_line_and_running_again_finishes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    out = tmp_path / "grid"
    args = ["sweep", "quickstart", "--set", "duration=1h", "--set", "seed=1..3", "--out", str(out), "--backend",
            "local", "--no-progress"]  # fmt: skip
    real = sw.write_variant

    def full_at_the_second(folder: Path, *rest: object) -> None:
        if folder.name == "seed=2":  # the disk fills while its files are written (the summary comes last)
            folder.mkdir(parents=True, exist_ok=True)
            raise OSError(errno.ENOSPC, "No space left on device")
        real(folder, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(sw, "write_variant", full_at_the_second)
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"error: --out: cannot write {str(out / 'seed=2')!r} (No space left on device); 1 of 3 variants complete, "
        "listed in sweep.csv; make room and run the same command again to finish the others"
    ]
    assert "seed=1" in captured.out and [r["variant"] for r in rows(out / "sweep.csv")] == ["seed=1"]
    assert not (out / "compare.html").exists()
    monkeypatch.setattr(sw, "write_variant", real)  # room again
    assert main(args) == 0
    assert "3 variants: 2 ran, 1 complete already (skipped), 0 failed" in capsys.readouterr().out
    assert (out / "compare.html").is_file() and len(rows(out / "sweep.csv")) == 3


def test_a_sweep_that_cannot_write_its_record_runs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sw, "atomic_open", full)
    out = tmp_path / "grid"
    assert main(["sweep", "quickstart", "--set", "seed=1,2", "--out", str(out), "--backend", "local"]) == 2
    assert (
        capsys.readouterr().err == f"error: --out: cannot write {str(out / 'sweep.json')!r}: No space left on device\n"
    )
    assert list(out.iterdir()) == []


# -------------------------------------------------------------------------------------- interruption


def test_a_stop_asked_for_during_a_write_keeps_that_variant_in_the_csv(tmp_path: Path) -> None:
    """The CLI's guard holds a signal until the variant is written, then stops: that variant is finished."""
    variants = sw.plan("quickstart", ["duration=1h", "seed=1..3"])
    asked = []

    @contextlib.contextmanager
    def signal_during_the_first_write() -> Iterator[None]:
        yield
        if not asked:
            asked.append(True)
            raise KeyboardInterrupt

    result = sw.run(variants, tmp_path, guard=signal_during_the_first_write)
    assert result.interrupted and result.ran == ["seed=1"]
    assert [r["variant"] for r in rows(tmp_path / "sweep.csv")] == ["seed=1"]
    assert sorted(p.parent.name for p in tmp_path.glob("*/summary.json")) == ["seed=1"]


def _sigint_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a background job inherits SIGINT ignored


def _stop_after_the_first_variant(cmd: list[str], out: Path, sig: signal.Signals, env: dict[str, str]) -> tuple:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=_sigint_as_in_a_terminal)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob("*/summary.json")) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, stdout, stderr


def _check_stopped(code: int, stdout: str, stderr: str, out: Path, total: int, days: float = 2) -> list[str]:
    assert code == 130, stderr[-2000:]
    assert "Traceback" not in stdout + stderr
    assert "run the same command again" in stderr
    done = sorted(p.parent.name for p in out.glob("*/summary.json"))
    assert 1 <= len(done) < total
    assert sorted(r["variant"] for r in rows(out / "sweep.csv")) == done  # the CSV of what finished
    for vid in done:
        summary = json.loads((out / vid / "summary.json").read_text())
        assert "interrupted" not in summary and summary["sim_time_s"] == days * 86400
    assert not list(out.rglob(".*.tmp"))  # no write was cut short
    return done


def test_sigterm_keeps_the_finished_variants_and_running_again_finishes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "grid"
    # enough variants that the rest outlast a loaded machine's delay between the first summary and the signal
    args = ["sweep", "quickstart", "--set", "duration=12h", "--set", "seed=1..24", "--backend", "local",
            "--no-progress", "--out", str(out)]  # fmt: skip
    code, stdout, stderr = _stop_after_the_first_variant(
        [sys.executable, "-m", "cloudsim.cli", *args], out, signal.SIGTERM, dict(os.environ)
    )
    done = _check_stopped(code, stdout, stderr, out, 24, days=0.5)
    assert main(args) == 0
    assert f"24 variants: {24 - len(done)} ran, {len(done)} complete already" in capsys.readouterr().out
    assert len(rows(out / "sweep.csv")) == 24


def test_ctrl_c_on_ray_cancels_the_unfinished_tasks(ray_session, tmp_path: Path) -> None:
    """A second driver joins the session's cluster with --address; Ctrl-C ends it with the finished
    variants kept, and the tasks it left leave the cluster's CPUs free."""
    out = tmp_path / "grid"
    address = ray_session.get_runtime_context().gcs_address
    cmd = [sys.executable, "-m", "cloudsim.cli", "sweep", "quickstart", "--set", "duration=2d", "--set", "seed=1..8",
           "--address", address, "--no-progress", "--out", str(out)]  # fmt: skip
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    code, stdout, stderr = _stop_after_the_first_variant(cmd, out, signal.SIGINT, env)
    _check_stopped(code, stdout, stderr, out, 8)
    deadline = time.monotonic() + 30
    while ray_session.available_resources().get("CPU", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ray_session.available_resources().get("CPU", 0) == 2


# ---------------------------------------------------------------------------------------- throughput


def test_bench_sweep_times_both_ways_with_the_same_summaries(
    ray_session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench"
    args = ["bench", "sweep", "quickstart", "--set", "duration=2h", "--set", "seed=1,2", "--out", str(out)]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "one after another s" in table and "yes" in table.splitlines()[-2]  # the same summaries
    assert {p.name for p in out.iterdir()} == {"serial", "parallel"}
    assert main(args) == 2  # a second timing into the same folder would skip every variant
    assert "not a new or empty folder" in capsys.readouterr().err


@pytest.mark.benchmark
def test_eight_variants_as_ray_tasks_beat_one_after_another(ray_session, tmp_path: Path) -> None:
    """Eight consolidation-demo variants of several seconds each (seven simulated days): as Ray tasks on the
    session's 2 CPUs, at least 1.7 times the throughput of running them one after another, with the same
    summaries. Ray's start-up is the session's, outside both timings."""
    from cloudsim.distributed import fan_out

    variants = sw.plan("consolidation-demo", ["duration=7d", "seed=1..8"])
    row = sw.time_backends(variants, tmp_path, fan_out)
    print(row)
    assert row["identical"] and not row["failed"]
    assert row["speedup"] >= 1.7, row


def test_a_stop_while_a_variant_is_set_up_stops_the_local_sweep_and_a_failure_does_not():
    """On the local backend a stop can land in a compiled call before a variant's run has begun (outside the
    run's own handling): the call's SystemError caused by the KeyboardInterrupt stops the sweep, while any
    other error fails that variant only."""
    seen: list[tuple[int, object]] = []

    def stop_at_the_second(i: int) -> str:
        if i == 1:
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt as exc:
                raise SystemError("CPUDispatcher(<function _rows_by_host>) returned a result") from exc
        if i == 2:
            raise ValueError("a broken variant")
        return f"ran {i}"

    sw.one_after_another(stop_at_the_second, [(0,), (2,), (3,)], lambda i, v: seen.append((i, v)))
    assert [(i, str(v)) for i, v in seen] == [(0, "ran 0"), (1, "a broken variant"), (2, "ran 3")]
    seen.clear()
    with pytest.raises(KeyboardInterrupt):
        sw.one_after_another(stop_at_the_second, [(0,), (1,), (3,)], lambda i, v: seen.append((i, v)))
    assert [i for i, _ in seen] == [0]


@pytest.mark.parametrize(("seeds", "then"), [("1,2", "compare.html was not written"), ("1", "nothing is left to run")])
def test_a_stop_during_the_last_variants_write_says_what_is_left_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], seeds: str, then: str
) -> None:
    """A stop while the last variant is written keeps it, and the sweep stops before the comparison page: the
    message says what is left (not "finish the others": no variant is), and running the command again writes the
    page, when there is one, without running anything."""
    write, written = sw.write_variant, []
    n = len(seeds.split(","))

    def write_then_stop(*args: object) -> None:
        write(*args)  # type: ignore[arg-type]
        written.append(True)
        if len(written) == n:
            os.kill(os.getpid(), signal.SIGINT)  # held by the CLI until the write is done

    monkeypatch.setattr(sw, "write_variant", write_then_stop)
    out = tmp_path / "sweep"
    args = ["sweep", "quickstart", "--set", f"seed={seeds}", "--set", "duration=1h", "--out", str(out),
            "--backend", "local", "--no-progress"]  # fmt: skip
    assert main(args) == 130
    err = capsys.readouterr().err
    assert f"interrupted: {n} of {n} variants complete" in err and then in err
    assert "finish the others" not in err and not (out / "compare.html").exists()
    assert main(args) == 0
    assert f"0 ran, {n} complete already" in capsys.readouterr().out
    assert (out / "compare.html").exists() == (n > 1)


def test_a_stop_python_swallows_during_a_variant_stops_the_sweep_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A first stop whose KeyboardInterrupt Python swallowed while a variant ran (here in a weakref callback) is
    kept: that variant is written, the sweep stops there (exit 130) and the next run finishes it."""
    from cloudsim.metrics.recorder import Recorder
    from tests.test_cli_run import _swallowed_stop

    publish, swallowed = Recorder.publish, []

    def publish_then_stop(self: Recorder) -> None:
        publish(self)
        if len(self.rows) == 3 and not swallowed:
            swallowed.append(True)
            _swallowed_stop()

    monkeypatch.setattr(Recorder, "publish", publish_then_stop)
    out = tmp_path / "sweep"
    args = ["sweep", "quickstart", "--set", "seed=1,2,3", "--set", "duration=1h", "--out", str(out),
            "--backend", "local", "--no-progress"]  # fmt: skip
    assert main(args) == 130
    captured = capsys.readouterr()
    assert "1 ran" in captured.out and "Exception ignored" not in captured.err
    assert sorted(p.name for p in out.iterdir() if (p / "summary.json").exists()) == ["seed=1"]
    assert main(args) == 0 and "2 ran, 1 complete already" in capsys.readouterr().out
