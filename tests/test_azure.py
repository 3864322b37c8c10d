"""The Azure V1 requests workload (``workload.requests``, format ``azure-v1``): the reader on small folders
written here, the guests it makes, the scenario form and its one-line errors, and (when
``../shared/data`` is present) the published test split."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from cloudsim.cli import main
from cloudsim.engine import LocalBackend
from cloudsim.engine import run as engine_run
from cloudsim.scenario import ScenarioError, load_scenario
from cloudsim.scenario.loader import builtin_text, estimate
from cloudsim.virt import OSFamily, VirtMode
from cloudsim.workload import azure as azure_module
from cloudsim.workload import generate
from cloudsim.workload.azure import AzureError, azure_guests, draw_times, read_azure_v1
from tests.conftest import SHARED_DATA
from tests.helpers import AZURE_ARRIVALS, AZURE_LIFETIMES, write_azure

AZURE_DATA = SHARED_DATA / "traces" / "azure_v1_vm_flavors_huawei"
needs_data = pytest.mark.skipif(
    not (AZURE_DATA / "traces" / "v1.test.txt").is_file(), reason=f"the Azure V1 data are not at {AZURE_DATA}"
)


def scenario(folder: Path, *sets: str):
    """The built-in azure-v1 on ``folder``, with a small fleet and ``--set`` overrides."""
    sc, _ = load_scenario("azure-v1", [f"workload.requests.path={folder}", "hosts[0].count=4", *sets])
    return sc


def one_line(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(list(args))
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("error: "), err
    return err


# ------------------------------------------------------------------------------------------------ reader


def test_the_reader_keeps_flavors_batches_bins_and_censoring(tmp_path):
    req = read_azure_v1(write_azure(tmp_path))
    # "600 b,b,|,g,|" / "900 a,|" / "1500 g,g,g,|"; the split starts at 600 - 300 = 300 s
    assert [req.flavors[f][0] for f in req.flavor] == ["b", "b", "g", "a", "g", "g", "g"]
    assert req.flavors[1] == ("b", 1, 1.75)
    assert req.batch.tolist() == [0, 0, 1, 2, 3, 3, 3] and req.batches == 4
    assert req.bin_end_s.tolist() == [300, 300, 300, 600, 1200, 1200, 1200]
    # "600 U1,U1,|,C2,|" / "900 U2,|" / "1500 U0,C0,U1,|", censored at 1800 - 300 = 1500 s
    assert req.censored.tolist() == [False, False, True, False, False, True, False]
    assert req.duration_bin.tolist() == [1, 1, 2, 2, 0, 0, 1]
    assert req.censor_s == 1500
    assert req.durations_s[req.bin_first[2] : req.bin_stop[2]].tolist() == [600, 900, 1200]


def test_arrivals_and_lifetimes_stay_in_their_bins(tmp_path):
    req = read_azure_v1(write_azure(tmp_path))
    for seed in range(200):
        arrival, lifetime = draw_times(req, seed)
        assert ((req.bin_end_s - 300 <= arrival) & (arrival < req.bin_end_s)).all()
        assert arrival[0] == arrival[1] and arrival[4] == arrival[5] == arrival[6]  # a batch arrives together
        assert np.isnan(lifetime[[2, 5]]).all()  # C<k>: runs to the end
        departure = arrival + lifetime
        # U1 at t = 300: d = 300, departure in (600 - 300, 600]
        assert (departure[:2] > 300).all() and (departure[:2] <= 600).all()
        # U2 at t = 600: d in {600, 900} (1200 would end after the censor time 1500), departure in (900, 1500]
        assert 900 < departure[3] <= 1500
        # U0 at t = 1200: created and deleted in one bin, departure in (arrival, 1200]
        assert arrival[4] < departure[4] <= 1200
        # U1 at t = 1200: departure in (1200, 1500]
        assert 1200 < departure[6] <= 1500
        assert (lifetime[~req.censored] > 0).all()


def test_a_duration_bin_is_drawn_uniformly_among_its_durations(tmp_path):
    # U2 at t = 300, censored at 3900: d is 600, 900 or 1200, each a third of the time; the departure lies
    # in (t + d - 300, t + d], so the 300-s slot it falls in tells d
    folder = write_azure(tmp_path, arrivals="600 a,|\n", lifetimes="600 U2,|\n", censor_s=3900)
    req = read_azure_v1(folder)
    slots = [int(np.ceil((sum(draw_times(req, seed)) - 300)[0] / 300)) for seed in range(600)]
    counts = np.bincount(slots, minlength=5)[2:5]
    assert counts.sum() == 600 and (counts > 150).all(), counts


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("v1.test.txt", "600 b,z,|\n", "line 1, token 2: expected a flavor letter (maps/flav_map.txt) or '|'"),
        ("v1.test.txt", "600 b,bb,|\n", "line 1, token 2: expected a flavor letter or '|'"),
        ("v1.test.txt", "600 b,,|\n", "line 1, token 2: expected a flavor letter"),
        ("v1.test.txt", "600 b,b\n", "line 1: the last batch is not closed by '|'"),
        ("v1.test.txt", "600 b,|,|\n", "line 1, token 3: an empty batch"),
        ("v1.test.txt", "600 |\n", "line 1, token 1: an empty batch"),
        ("v1.test.txt", "601 b,|\n", "line 1: expected '<t> <tokens>'"),
        ("v1.test.txt", "600 b,|\n600 b,|\n", "line 2: expected '<t> <tokens>'"),
        ("v1.test.txt", "six b,|\n", "line 1: expected '<t> <tokens>'"),
        ("v1.test.c1800.txt", "600 U1,|\n", "line 1: not aligned with v1.test.txt"),
        ("v1.test.c1800.txt", "600 U1,U1,|,C2,|\n900 U2,|\n", "line 3: not aligned"),
        ("v1.test.c1800.txt", "600 U1,X1,|,C2,|\n900 U2,|\n1500 U0,C0,U1,|\n", "line 1, token 2: expected U<bin>"),
        ("v1.test.c1800.txt", "600 U1,U,|,C2,|\n900 U2,|\n1500 U0,C0,U1,|\n", "line 1, token 2: expected U<bin>"),
        ("v1.test.c1800.txt", "600 U1,U1x,|,C2,|\n900 U2,|\n1500 U0,C0,U1,|\n", "line 1, token 2: expected"),
        ("v1.test.c1800.txt", "600 U1,U10000,|,C2,|\n900 U2,|\n1500 U0,C0,U1,|\n", "line 1, token 2: expected"),
        ("v1.test.c1800.txt", "600 U1,|,U1,C2,|\n900 U2,|\n1500 U0,C0,U1,|\n", "line 1, token 2: '|' where"),
        ("v1.test.c1800.txt", "600 U1,U9,|,C2,|\n900 U2,|\n1500 U0,C0,U1,|\n", "line 1, token 2: U<bin> with a bin"),
        ("v1.test.c1800.txt", "600 U1,U1,|,C2,|\n900 U2,|\n1500 U0,C0,U2,|\n", "line 3, token 3: U<bin> with"),
        ("flav_map.txt", "1,0.75 a\n1,1.75 b\n2,3.5 b\n", "line 3: a flavor letter given twice"),
        ("flav_map.txt", "1,0.75 a\n1 b\n", "line 2: expected '<vcpus>,<memory GB> <letter>'"),
        ("flav_map.txt", "1,0.75 a\n0,1 b\n", "line 2: expected '<vcpus>,<memory GB> <letter>'"),
        ("flav_map.txt", "1,nan a\n", "line 1: expected"),
        ("v1.interval_map.txt", "0 0\n300 1\n300 2\n", "line 3: durations must increase"),
        ("v1.interval_map.txt", "0 0\n300 1\n600 0\n", "line 3: durations must increase, and their bins never"),
        ("v1.interval_map.txt", "0 0\n-300 1\n", "line 2: expected '<duration s> <bin>'"),
    ],
)
def test_a_bad_file_is_one_error_naming_file_line_and_token(tmp_path, name, text, expected):
    folder = write_azure(tmp_path)
    path = next(folder.rglob(name))
    path.write_text(text)
    with pytest.raises(AzureError) as exc:
        read_azure_v1(folder)
    assert str(exc.value).startswith(f"{path}") and expected in str(exc.value), str(exc.value)
    assert "\n" not in str(exc.value)


def test_an_error_never_shows_what_the_file_holds(tmp_path):
    folder = write_azure(tmp_path, arrivals="600 b,root:x:0:0:/bin/bash,|\n")
    with pytest.raises(AzureError) as exc:
        read_azure_v1(folder)
    assert "root" not in str(exc.value).replace(str(tmp_path), "")


def test_reads_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(azure_module, "MAX_TRACE_BYTES", 20)
    with pytest.raises(AzureError, match=r"v1\.test\.txt: larger than 20 bytes"):
        read_azure_v1(write_azure(tmp_path))


def test_a_split_needs_its_four_files(tmp_path):
    folder = write_azure(tmp_path)
    (folder / "traces" / "v1.dev.txt").write_text(AZURE_ARRIVALS)  # flavors without lifetimes, like train
    with pytest.raises(AzureError, match=r"no lifetime file .*v1\.dev\.c<censor time>\.txt") as exc:
        read_azure_v1(folder, "dev")
    assert exc.value.key == "split"
    (folder / "traces" / "v1.test.c9000.txt").write_text(AZURE_LIFETIMES)
    with pytest.raises(AzureError, match="2 lifetime files"):
        read_azure_v1(folder)
    with pytest.raises(AzureError, match=r"no file .*maps/flav_map\.txt"):
        read_azure_v1(folder / "traces")
    with pytest.raises(AzureError, match="no folder"):
        read_azure_v1(tmp_path / "nowhere")


def test_the_censor_time_cannot_precede_the_last_bin(tmp_path):
    with pytest.raises(AzureError, match="censor time in its name is before"):
        read_azure_v1(write_azure(tmp_path, censor_s=1200))


# ------------------------------------------------------------------------------------------------ guests


def test_guests_follow_the_scenario_and_share_a_shape_per_flavor(tmp_path):
    sc = scenario(write_azure(tmp_path), "workload.requests.mode=para", "workload.requests.os=bsd")
    guests = generate(sc)
    assert len(guests) == 7 and [g.id for g in guests] == list(range(7))
    assert [g.arrival_s for g in guests] == sorted(g.arrival_s for g in guests)
    by_name = {g.name: g for g in guests}
    assert by_name["test-3"].kind == "a" and by_name["test-3"].shape.vcpus == 1
    assert by_name["test-2"].shape.memory_gib == 3.5 and by_name["test-2"].lifetime_s is None
    assert {g.shape.mode for g in guests} == {VirtMode.PARA} and {g.shape.os for g in guests} == {OSFamily.BSD}
    assert len({id(g.shape) for g in guests}) == 3  # b, g, a: one shape object each
    assert by_name["test-4"].shape is by_name["test-6"].shape


def test_guests_are_deterministic_from_the_seed_and_limit_keeps_a_prefix(tmp_path):
    folder = write_azure(tmp_path)
    a, b, c = generate(scenario(folder)), generate(scenario(folder)), generate(scenario(folder, "seed=1"))
    assert a == b
    assert [g.arrival_s for g in a] != [g.arrival_s for g in c]
    limited = generate(scenario(folder, "workload.requests.limit=3"))
    full = {g.name: g for g in a}
    assert sorted(g.name for g in limited) == ["test-0", "test-1", "test-2"]
    assert all((g.arrival_s, g.lifetime_s) == (full[g.name].arrival_s, full[g.name].lifetime_s) for g in limited)


def test_guests_arriving_after_the_end_are_dropped(tmp_path):
    guests = generate(scenario(write_azure(tmp_path), "duration=600s"))
    assert {g.name for g in guests} == {"test-0", "test-1", "test-2", "test-3"}  # bins ending at 300 and 600 s


def test_a_run_places_each_batch_as_one_wave(tmp_path):
    sc = scenario(write_azure(tmp_path), "duration=1500s", "hosts[0].count=1")
    summary, recorder = engine_run(sc, LocalBackend())
    assert summary["guests"]["submitted"] == summary["guests"]["placed"] == 7
    assert summary["guests"]["completed"] == 5 and summary["guests"]["running_at_end"] == 2  # the two C<k>
    times = {row["guest"]: row["time_s"] for row in recorder.placement_log}
    assert times["test-4"] == times["test-5"] == times["test-6"] != times["test-3"]


# ---------------------------------------------------------------------------------------------- scenario


def test_requests_are_a_workload_form_of_their_own(tmp_path):
    folder = write_azure(tmp_path)
    with pytest.raises(ScenarioError, match="workload: give requests alone, without arrivals/lifetime/classes"):
        load_scenario("quickstart", [f"workload.requests.path={folder}"])
    with pytest.raises(ScenarioError, match=r"workload\.requests\.path: the Azure V1 data are not in the cache"):
        load_scenario("azure-v1")
    with pytest.raises(ScenarioError, match=r"workload\.requests\.split: 'nope' is not one of: test, dev, train"):
        scenario(folder, "workload.requests.split=nope")
    with pytest.raises(ScenarioError, match=r"workload\.requests\.split: no file .*v1\.train\.txt"):
        scenario(folder, "workload.requests.split=train")
    (folder / "traces" / "v1.train.txt").write_text(AZURE_ARRIVALS)
    with pytest.raises(ScenarioError, match=r"workload\.requests\.split: no lifetime file .*dev and test only"):
        scenario(folder, "workload.requests.split=train")
    with pytest.raises(ScenarioError, match=r"workload\.requests\.limit: input should be greater than 0"):
        scenario(folder, "workload.requests.limit=0")
    with pytest.raises(ScenarioError, match=r"workload\.requests\.mode: no host .* windows guest in para mode"):
        scenario(folder, "workload.requests.mode=para", "workload.requests.os=windows")
    with pytest.raises(ScenarioError, match=r"workload\.requests\.cpu_utilization\.value: must be a utilization"):
        scenario(folder, "workload.requests.cpu_utilization.value=2")


def test_a_requests_path_in_a_scenario_file_is_relative_to_that_file(tmp_path, monkeypatch):
    write_azure(tmp_path / "data")
    data = yaml.safe_load(builtin_text("azure-v1"))
    data["workload"]["requests"]["path"] = "data"
    (tmp_path / "sc.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.chdir("/")
    sc, _ = load_scenario(str(tmp_path / "sc.yaml"))
    assert Path(sc.workload.requests.path) == tmp_path / "data"


def test_the_memory_estimate_counts_the_split_or_the_limit(tmp_path):
    folder = write_azure(tmp_path)
    assert estimate(scenario(folder))["guests"] == 410_276  # the test split's VMs (not this folder's)
    assert estimate(scenario(folder, "workload.requests.limit=1000"))["guests"] == 1000


def test_validate_reads_the_files_and_rejects_what_run_rejects(tmp_path, capsys):
    folder = write_azure(tmp_path)
    assert main(["validate", "azure-v1", "--set", f"workload.requests.path={folder}"]) == 0
    assert "7 VMs (azure-v1 test)" in capsys.readouterr().out
    (folder / "traces" / "v1.test.txt").write_text("600 b,q,|\n")
    sets = ["--set", f"workload.requests.path={folder}", "--set", "hosts[0].count=2"]
    for command in (["validate"], ["run", "--backend", "local", "--no-progress"]):
        err = one_line(capsys, *command, "azure-v1", *sets)
        assert err.startswith("error: workload.requests.path: ") and "v1.test.txt, line 1, token 2" in err


# ---------------------------------------------------------------------------------------- published data


@needs_data
def test_the_published_splits_have_the_documented_counts():
    t0 = time.perf_counter()
    test = read_azure_v1(AZURE_DATA, "test")
    assert time.perf_counter() - t0 < 5.0
    assert (test.vms, test.batches, int(test.censored.sum())) == (410_276, 82_946, 23_311)
    assert test.bin_end_s[0] == 300 and test.bin_end_s[-1] == 2_591_100 - 2_099_700
    assert test.censor_s == 2_591_400 - 2_099_700
    dev = read_azure_v1(AZURE_DATA, "dev")
    assert (dev.vms, dev.batches) == (259_159, 53_109)
    with pytest.raises(AzureError, match="no lifetime file"):
        read_azure_v1(AZURE_DATA, "train")


@needs_data
def test_the_test_split_becomes_guests_in_seconds():
    sc, _ = load_scenario("azure-v1", [f"workload.requests.path={AZURE_DATA}"])
    t0 = time.perf_counter()
    guests = azure_guests(sc)
    assert time.perf_counter() - t0 < 10.0
    assert len(guests) == 410_276 and guests[0].arrival_s >= 0
    assert sum(g.lifetime_s is None for g in guests) == 23_311
    assert max(g.arrival_s + g.lifetime_s for g in guests if g.lifetime_s is not None) <= sc.duration
    assert len({id(g.shape) for g in guests}) <= 16


@needs_data
def test_a_short_azure_run_through_the_cli(tmp_path, capsys):
    args = ["run", "azure-v1", "--backend", "local", "--no-progress", "--json", "--out", str(tmp_path / "out")]
    args += ["--set", f"workload.requests.path={AZURE_DATA}", "--set", "duration=6h", "--set", "hosts[0].count=700"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["guests"]["submitted"] > 10_000 and summary["guests"]["rejected"] == 0
    assert 0 < summary["hosts"]["lower_bound_mean"] <= summary["hosts"]["active_mean"]
    header, *rows = (tmp_path / "out" / "timeseries.csv").read_text().splitlines()
    assert "hosts_lower_bound" in header.split(",") and len(rows) == 72
