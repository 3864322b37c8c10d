"""`cloudsim data`: trace data sets in a local cache, fetched (downloaded or imported --from a local copy)
with checksums, written whole or not at all; trace scenarios that name no folder read the cache.

The download is tested against an HTTP server on 127.0.0.1 serving archives built here with the
published layout (this machine has no other network). Tests that need the real files (whose checksums
ship with cloudsim) read ../shared/data and skip when it is absent. Every test has its own empty cache
(``$CLOUDSIM_DATA``, see conftest.py)."""

from __future__ import annotations

import functools
import http.server
import io
import json
import shutil
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudsim import data
from cloudsim.cli import main
from cloudsim.scenario import load_scenario
from tests.conftest import SHARED_DATA

PLANETLAB = SHARED_DATA / "planetlab"
AZURE = SHARED_DATA / "traces" / "azure_v1_vm_flavors_huawei"
needs_planetlab = pytest.mark.skipif(not PLANETLAB.is_dir(), reason=f"PlanetLab traces not found at {PLANETLAB}")
needs_azure = pytest.mark.skipif(not AZURE.is_dir(), reason=f"Azure V1 data not found at {AZURE}")

#: The published archives' layouts: the top folder codeload gives, then the data set's folder.
PLANETLAB_ROOT = "cloudsim-cloudsim-3.0.3/modules/cloudsim-examples/src/main/resources/workload/planetlab"
AZURE_ROOT = "trace_generation_rnn-fa856db/resources"

#: A short run: 40 VMs of the day on 2 x 10 hosts for 2 hours.
SHORT = ["--set", "duration=2h", "--set", "workload.trace.limit=40", "--set", "hosts[0].count=10",
         "--set", "hosts[1].count=10"]  # fmt: skip


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# ------------------------------------------------------------------------------------------------ cache


@pytest.mark.parametrize(
    ("cloudsim_data", "xdg", "expected"),
    [
        ("/data/cs", "/xdg", "/data/cs"),  # $CLOUDSIM_DATA first
        (None, "/xdg", "/xdg/cloudsim"),  # then $XDG_CACHE_HOME/cloudsim
        (None, None, "~/.cache/cloudsim"),  # then ~/.cache/cloudsim
        (None, "relative/xdg", "~/.cache/cloudsim"),  # XDG says a relative path is to be ignored
    ],
)
def test_the_cache_folder_follows_the_environment(monkeypatch, cloudsim_data, xdg, expected):
    for name, value in (("CLOUDSIM_DATA", cloudsim_data), ("XDG_CACHE_HOME", xdg)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert data.cache_dir() == Path(expected).expanduser()
    assert data.cache_dir("/given") == Path("/given")  # --cache wins over all


def test_a_cache_folder_that_cannot_be_made_is_named_as_the_user_gave_it(monkeypatch, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    source = tmp_path / "src"  # never read: the cache fails first
    source.mkdir()
    monkeypatch.delenv("CLOUDSIM_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    fetch = ["data", "fetch", "planetlab", "--from", str(source), "--day", "20110303"]
    why = "a part of it is a file, not a folder"
    code, _, err = cli(capsys, *fetch)
    assert (code, err) == (2, f"error: the data cache: cannot write to {str(blocker / 'cloudsim')!r}: {why}\n")
    code, _, err = cli(capsys, *fetch, "--cache", str(blocker / "x"))
    assert (code, err) == (2, f"error: --cache: cannot write to {str(blocker / 'x')!r}: {why}\n")
    monkeypatch.setenv("CLOUDSIM_DATA", str(blocker))
    code, _, err = cli(capsys, *fetch)
    assert (code, err) == (2, f"error: $CLOUDSIM_DATA: cannot write to {str(blocker)!r}: {why}\n")


def test_the_manifest_matches_the_published_day_table():
    # counts and bytes from shared/data/planetlab/README.md (which match the paper's Table II)
    days = {p.name: (p.files, p.bytes) for p in data.DATASETS["planetlab"].parts}
    assert days["20110303"] == (1052, 713_034) and days["20110322"] == (1516, 1_006_948)
    assert len(days) == 10 and sum(f for f, _ in days.values()) == 11_746
    assert sum(b for _, b in days.values()) == 7_931_494
    assert data.PLANETLAB_DAYS[0] == data.DEFAULT_DAY == "20110303"


# ------------------------------------------------------------------------------------------------ --from


@needs_planetlab
def test_import_all_days_then_a_planetlab_scenario_runs_with_no_path(data_cache, capsys):
    code, out, err = cli(capsys, "data", "fetch", "planetlab", "--from", str(PLANETLAB))
    assert (code, err) == (0, "")
    assert "10 days (7,931,494 bytes, checksums ok)" in out
    for day in data.PLANETLAB_DAYS:  # the same files, copied
        assert [p.name for p in files_in(data_cache / "planetlab" / day)] == [p.name for p in files_in(PLANETLAB / day)]
    code, out, err = cli(capsys, "data", "list", "--verify")
    assert code == 0 and "planetlab  ✓ 10/10 days, checksums ok  7.6 MiB" in out
    code, out, err = cli(capsys, "run", "planetlab-lr-mmt", "--day", "20110306", "--backend", "local", *SHORT,
                         "--json", "--no-progress")  # fmt: skip
    assert (code, err) == (0, "")
    summary = json.loads(out)
    assert summary["trace"]["path"] == str(data_cache / "planetlab" / "20110306") and summary["trace"]["vms"] == 40
    # fetching again keeps what is there
    code, out, _ = cli(capsys, "data", "fetch", "planetlab", "--from", str(PLANETLAB))
    assert code == 0 and "nothing new; 10 days already there" in out


@needs_planetlab
def test_the_default_day_is_the_scenarios_and_an_explicit_path_wins(data_cache, capsys):
    assert main(["data", "fetch", "planetlab", "--from", str(PLANETLAB), "--day", "20110303"]) == 0
    sc, raw = load_scenario("planetlab-ours")
    assert sc.workload.trace.path == str(data_cache / "planetlab" / "20110303")
    assert raw["workload"]["trace"]["path"] is None  # the run's scenario.yaml still says "the cache"
    own = PLANETLAB / "20110309"
    sc, _ = load_scenario("planetlab-ours", [f"workload.trace.path={own}", "workload.trace.day=20110306"])
    assert sc.workload.trace.path == str(own)  # not in the cache, and not needed
    code, out, err = cli(capsys, "validate", "planetlab-lr-mmt")
    assert (code, err) == (0, "") and f"on trace {data_cache / 'planetlab' / '20110303'}" in out


@needs_planetlab
def test_a_tampered_copy_is_refused_and_nothing_is_written(data_cache, tmp_path, capsys):
    copy = tmp_path / "planetlab"
    shutil.copytree(PLANETLAB / "20110306", copy / "20110306")
    victim = files_in(copy / "20110306")[5]
    victim.chmod(0o644)
    victim.write_bytes(victim.read_bytes().replace(b"\n", b"\r\n", 1))
    code, out, err = cli(capsys, "data", "fetch", "planetlab", "--from", str(copy), "--day", "20110306")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("error: planetlab 20110306: checksum mismatch in ") and "nothing was written" in err
    assert list(data_cache.iterdir()) == []  # no day, no staging folder


@needs_planetlab
def test_a_day_with_extra_files_is_refused(data_cache, tmp_path, capsys):
    copy = tmp_path / "planetlab"
    shutil.copytree(PLANETLAB / "20110306", copy / "20110306")
    (copy / "20110306").chmod(0o755)  # the shared copy is read-only
    (copy / "20110306" / "zz_extra_vm").write_text("1\n" * 288)
    code, _, err = cli(capsys, "data", "fetch", "planetlab", "--from", str(copy), "--day", "20110306")
    assert code == 2 and err == "error: planetlab 20110306: more than its 898 files in the source; not this data set\n"
    assert list(data_cache.iterdir()) == []


@needs_planetlab
def test_a_missing_day_in_the_source_is_refused(data_cache, tmp_path, capsys):
    (tmp_path / "20110303").mkdir()
    code, _, err = cli(capsys, "data", "fetch", "planetlab", "--from", str(tmp_path), "--day", "20110303")
    assert (
        code == 2 and err == f"error: planetlab 20110303: not found in {tmp_path}; nothing was written to the cache\n"
    )
    assert list(data_cache.iterdir()) == []


@needs_azure
def test_import_azure_then_the_azure_scenario_validates_with_no_path(data_cache, capsys):
    code, out, err = cli(capsys, "data", "fetch", "azure-v1", "--from", str(AZURE))
    assert (code, err) == (0, "") and "its files (7,322,839 bytes, checksums ok)" in out
    assert (data_cache / "azure-v1" / "traces" / "DATA_LICENSE_NOTE.txt").is_file()
    assert not (data_cache / "azure-v1" / "README.md").exists()  # the data, not our notes
    code, out, err = cli(capsys, "validate", "azure-v1")
    assert code == 0 and f"410,276 VMs (azure-v1 test) from {data_cache / 'azure-v1'}" in out


# ---------------------------------------------------------------------------------------------- download


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 serving a folder: (base URL, folder)."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def archive(path: Path, members: dict[str, bytes]) -> Path:
    """A tar.gz holding ``members`` (archive name -> bytes)."""
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return path


def planetlab_members(day: str) -> dict[str, bytes]:
    members = {f"{PLANETLAB_ROOT}/{day}/{f.name}": f.read_bytes() for f in files_in(PLANETLAB / day)}
    members["cloudsim-cloudsim-3.0.3/README.md"] = b"the rest of the repository is skipped\n"
    return members


@needs_planetlab
def test_download_takes_the_days_from_the_published_layout(data_cache, server, capsys):
    base, www = server
    archive(www / "good.tar.gz", planetlab_members("20110306"))
    code, out, err = cli(capsys, "data", "fetch", "planetlab", "--day", "20110306", "--url", f"{base}/good.tar.gz")
    assert code == 0 and "1 day (598,867 bytes, checksums ok)" in out
    assert err.startswith(f"planetlab: downloading {base}/good.tar.gz")
    assert len(files_in(data_cache / "planetlab" / "20110306")) == 898
    assert [p.name for p in data_cache.iterdir()] == ["planetlab"]  # no staging folder left
    assert data.verify("planetlab", data_cache) == {"20110306": True}


@needs_planetlab
def test_download_of_a_tampered_archive_is_refused_and_the_cache_stays_empty(data_cache, server, capsys):
    base, www = server
    members = planetlab_members("20110306")
    name = f"{PLANETLAB_ROOT}/20110306/{files_in(PLANETLAB / '20110306')[0].name}"
    members[name] = members[name].replace(b"1", b"2", 1)  # one sample, 1x% -> 2x%
    archive(www / "bad.tar.gz", members)
    code, out, err = cli(capsys, "data", "fetch", "planetlab", "--day", "20110306", "--url", f"{base}/bad.tar.gz")
    assert code == 2 and out == ""
    assert err.splitlines()[-1].startswith("error: planetlab 20110306: checksum mismatch in ")
    assert "898 files, 598,867 bytes; expected 898 files, 598,867 bytes" in err
    assert files_in(data_cache) == [] and list(data_cache.iterdir()) == []


@needs_planetlab
def test_download_never_writes_outside_the_cache(data_cache, server, capsys):
    """Members that climb out of the day's folder, by one to three ``..`` (the staging folder, the cache, the
    folder that holds the cache) or by an absolute path, are skipped. They come first in the archive, and each
    would land under the cache's parent folder, which the test searches (deeper, it would be the machine's
    root)."""
    base, www = server
    watched = data_cache.parent
    odd = {f"{PLANETLAB_ROOT}/20110306/{'../' * k}escaped-{k}": b"x" for k in (1, 2, 3)}
    odd[f"{PLANETLAB_ROOT}/../escaped-root"] = b"x"
    odd[f"{watched}/escaped-absolute"] = b"x"
    archive(www / "odd.tar.gz", {**odd, **planetlab_members("20110306")})
    code = main(["data", "fetch", "planetlab", "--day", "20110306", "--url", f"{base}/odd.tar.gz"])
    assert not list(watched.rglob("escaped*"))
    assert code == 0 and len(files_in(data_cache)) == 898


@needs_azure
def test_download_of_azure_renames_the_licence_and_skips_the_code(data_cache, server, capsys):
    base, www = server
    members = {f"{AZURE_ROOT}/{f.relative_to(AZURE).as_posix()}": f.read_bytes() for f in files_in(AZURE)}
    members.pop(f"{AZURE_ROOT}/README.md")  # ours, not published
    note = members.pop(f"{AZURE_ROOT}/traces/DATA_LICENSE_NOTE.txt")
    members[f"{AZURE_ROOT}/traces/LICENSE"] = note  # its published name
    members["trace_generation_rnn-fa856db/tracegen/model.py"] = b"# code, not data\n"
    archive(www / "azure.tar.gz", members)
    code, out, err = cli(capsys, "data", "fetch", "azure-v1", "--url", f"{base}/azure.tar.gz")
    assert code == 0 and "azure-v1: its files (7,322,839 bytes, checksums ok)" in out, err
    assert (data_cache / "azure-v1" / "traces" / "DATA_LICENSE_NOTE.txt").read_bytes() == note
    assert len(files_in(data_cache)) == 9


def test_download_failures_are_one_line(data_cache, server, capsys):
    base, www = server
    (www / "not.tar.gz").write_bytes(b"<html>not found</html>")
    for url, fragment in (
        (f"{base}/missing.tar.gz", "cannot download"),
        (f"{base}/not.tar.gz", "is not a readable tar archive"),
        ("ftp://example.org/x.tar.gz", "--url: 'ftp://example.org/x.tar.gz' is not an http(s) URL"),
        ("", "--url: empty"),  # (it downloaded from the published address, as with no --url)
        (" ", "--url: empty"),
    ):
        code, _, err = cli(capsys, "data", "fetch", "azure-v1", "--url", url)
        assert code == 2 and err.splitlines()[-1].startswith("error: ") and fragment in err, err
    assert list(data_cache.iterdir()) == []


# ------------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["data", "fetch", "alibaba"], "DATASET: unknown data set 'alibaba'; known: planetlab, azure-v1"),
        (["data", "fetch", "planetlab", "--day", "20110304"], "--day: '20110304' is not a planetlab day; days: 20110303,"),
        (["data", "fetch", "azure-v1", "--day", "20110303"], "--day: azure-v1 has no days; give --day only for planetlab"),
        (["data", "fetch", "planetlab", "--from", "/nonexistent"], "--from: no folder '/nonexistent'"),
        (["data", "fetch", "planetlab", "--from", "/x", "--url", "http://x/"], "--from: imports a local copy; give either"),
        (["run", "planetlab-lr-mmt", "--backend", "local"],
         "workload.trace.path: PlanetLab day 20110303 is not in the cache ({cache}); run 'cloudsim data fetch "
         "planetlab' or give --set workload.trace.path=DIR"),
        (["validate", "planetlab-npa", "--day", "20110420"], "workload.trace.path: PlanetLab day 20110420 is not in"),
        (["run", "planetlab-lr-mmt", "--day", "2011-03-03"],
         "workload.trace.day: '2011-03-03' is not one of: 20110303, 20110306,"),
        (["run", "planetlab-lr-mmt", "--set", "workload.trace.day=2011-03-04"],  # a YAML date
         "workload.trace.day: '20110304' is not one of: 20110303, 20110306,"),
        (["run", "quickstart", "--day", "20110303"],
         "workload.trace: this workload has no trace, so no PlanetLab day to pick (--day)"),
        (["validate", "azure-v1"],
         "workload.requests.path: the Azure V1 data are not in the cache ({cache}); run 'cloudsim data fetch "
         "azure-v1' or give --set workload.requests.path=DIR"),
        (["bench", "consolidation"], "DATA_DIR: not given, and no PlanetLab data in the cache ({cache})"),
    ],
)  # fmt: skip
def test_bad_input_and_missing_data_are_one_line_exit_2(data_cache, capsys, args, message):
    code, out, err = cli(capsys, *args)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert err.startswith("error: " + message.format(cache=data_cache)), err


# --------------------------------------------------------------------------------------------- scenarios


def _needs_column(out: str) -> dict[str, str]:
    """scenario -> its "needs" cell, from the `cloudsim scenarios` table (columns two spaces apart)."""
    lines = out.splitlines()
    start, end = lines[0].index("needs"), lines[0].index("description")
    return {line.split()[0]: line[start:end].strip() for line in lines[1:]}


def test_scenarios_marks_the_data_each_needs(data_cache, capsys):
    code, out, _ = cli(capsys, "scenarios")
    needs = _needs_column(out)
    assert code == 0 and out.startswith("scenario ")
    assert needs["quickstart"] == needs["consolidation-demo"] == "—"
    assert needs["planetlab-lr-mmt"] == "planetlab 20110303 ✗ (cloudsim data fetch planetlab)"
    assert needs["azure-v1"] == "azure-v1 ✗ (cloudsim data fetch azure-v1)"
    (data_cache / "planetlab" / "20110303").mkdir(parents=True)  # what a fetch leaves (it checks before)
    needs = _needs_column(cli(capsys, "scenarios")[1])
    assert needs["planetlab-npa"] == needs["planetlab-ours"] == "planetlab 20110303 ✓"
    assert needs["azure-v1"] == "azure-v1 ✗ (cloudsim data fetch azure-v1)"


def test_needs_reads_the_raw_scenario():
    cases = [
        ({"workload": {"trace": {"path": None}}}, [("planetlab", "20110303")]),
        ({"workload": {"trace": {"day": 20110420}}}, [("planetlab", "20110420")]),  # YAML's number
        ({"workload": {"trace": {"path": "/my/day"}}}, []),  # a folder of its own
        ({"workload": {"requests": {"split": "dev"}}}, [("azure-v1", "")]),
        ({"workload": {"arrivals": {"process": "batch"}}}, []),
    ]
    for raw, expected in cases:
        assert [(n.dataset, n.part) for n in data.needs(raw)] == expected, raw


def test_a_sweep_ranges_over_cached_days_and_names_the_missing_one(data_cache):
    from cloudsim.scenario import ScenarioError
    from cloudsim.sweep import plan

    for day in ("20110303", "20110306"):
        (data_cache / "planetlab" / day).mkdir(parents=True)  # what a fetch leaves (read when the run starts)
    variants = plan("planetlab-lr-mmt", ["workload.trace.day=20110303,20110306"])
    assert [v.scenario.workload.trace.path for v in variants] == [
        str(data_cache / "planetlab" / "20110303"),
        str(data_cache / "planetlab" / "20110306"),
    ]
    with pytest.raises(ScenarioError, match=r"^workload\.trace\.path: PlanetLab day 20110309 is not in the cache"):
        plan("planetlab-lr-mmt", ["workload.trace.day=20110303,20110309"])


@needs_planetlab
def test_bench_consolidation_runs_on_the_cached_days_when_given_no_folder(data_cache, capsys):
    assert main(["data", "fetch", "planetlab", "--from", str(PLANETLAB), "--day", "20110306"]) == 0
    code, out, err = cli(capsys, "bench", "consolidation", "--scenario", "planetlab-lr-mmt", *SHORT)
    assert code == 0 and "consolidation benchmark" in out, err
    assert err.startswith("20110306 LR-MMT-1.2: ESV ") and err.count("\n") == 1  # the one cached day, only it


@needs_planetlab
def test_verify_finds_a_damaged_cache_and_force_fetches_it_again(data_cache, capsys):
    assert main(["data", "fetch", "planetlab", "--from", str(PLANETLAB), "--day", "20110306"]) == 0
    damaged = files_in(data_cache / "planetlab" / "20110306")[0]
    damaged.write_bytes(b"0\n" * 288)
    code, out, err = cli(capsys, "data", "list", "--verify")
    assert "planetlab  ✗ 1/10 days, checksum MISMATCH" in out
    assert code == 1 and err == "error: --verify: checksum mismatch in planetlab 20110306; fetch again with --force\n"
    code, out, _ = cli(capsys, "data", "fetch", "planetlab", "--from", str(PLANETLAB), "--day", "20110306", "--force")
    assert code == 0 and "1 day (598,867 bytes, checksums ok)" in out
    assert data.verify("planetlab") == {"20110306": True}
    assert [p.name for p in data_cache.iterdir()] == ["planetlab"]  # the replaced copy is gone too
