"""cloudsim report and cloudsim compare: one self-contained HTML page laid out like the Grafana dashboard,
from the same panel definitions, checked here as HTML and (when Debian's chromium is installed, as .ci/run
does) rendered in a headless browser: every panel drawn, no script error, a screenshot that is not blank."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from cloudsim.cli import main
from cloudsim.metrics.panels import ROWS, panels
from cloudsim.metrics.recorder import Recorder
from cloudsim.report import ReportError, Run, fmt_value, run_labels
from cloudsim.report import compare as compare_runs
from tests.test_consolidation import scenario_file, tiny_day

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not found (Debian: apt-get install chromium; .ci/run installs it)"
)


def quick_run(folder: Path, *args: str) -> Path:
    assert main(["run", "quickstart", "--backend", "local", "--out", str(folder), "--no-progress", *args]) == 0
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two quickstart runs that differ in policy and seed, and a small consolidation run (trace-driven)."""
    base = tmp_path_factory.mktemp("runs")
    out = {
        "best": quick_run(base / "best", "--seed", "1", "--run-id", "best"),
        "worst": quick_run(base / "worst", "--seed", "2", "--run-id", "worst", "--set", "placement.policy=worst-fit"),
    }
    sc = scenario_file(base, tiny_day(base))
    assert main(["run", str(sc), "--backend", "local", "--out", str(base / "cons"), "--no-progress"]) == 0
    out["cons"] = base / "cons"
    return out


def page_data(page: str) -> dict:
    return json.loads(re.search(r"<script id='data' type='application/json'>(.*?)</script>", page, re.S).group(1))


def chart(page: str, title: str) -> dict:
    """The data of the chart whose panel has ``title`` (the n-th panel section holds the n-th chart)."""
    titles = re.findall(r"<section class='panel w\d+' data-title='([^']*)'", page)
    return page_data(page)["charts"][titles.index(title)]


# ------------------------------------------------------------------------------------ one set of panels


def test_the_dashboard_is_made_from_the_panel_definitions():
    dash = json.loads((ROOT / "dashboards" / "cloudsim.json").read_text())
    rows = [p["title"] for p in dash["panels"] if p["type"] == "row"]
    assert rows == [r.title for r in ROWS]
    shown = [p for p in dash["panels"] if p["type"] != "row"]
    assert [p["title"] for p in shown] == [p.title for p in panels()]
    for g, p in zip(shown, panels(), strict=True):
        assert g["type"] == p.kind and g["fieldConfig"]["defaults"]["unit"] == p.unit
        assert len(g["targets"]) == len(p.queries)
        for t, q in zip(g["targets"], p.queries, strict=True):
            assert t["expr"].split("{")[0].removesuffix("_total") == q.metric
        if p.kind == "timeseries":
            assert g["fieldConfig"]["defaults"]["custom"]["lineInterpolation"] == ("stepAfter" if p.step else "linear")


def test_the_report_shows_every_dashboard_panel_or_says_the_run_has_none(runs):
    assert main(["report", str(runs["best"])]) == 0
    page = (runs["best"] / "report.html").read_text()
    drawn = re.findall(r"<section class='panel w\d+' data-title='([^']*)'", page)
    stats = re.findall(r"<div class='stat' title='[^']*'><div class='label'>([^<]*)</div>", page)
    absent = re.findall(r"<span class='gone'>([^<]*)</span>", page)  # listed under the grid
    assert sorted([*drawn, *stats, *absent]) == sorted(p.title for p in panels())
    # a placement run has no consolidation or fault series
    assert "ESV (consolidation runs)" in absent and "Guest availability by mode" in absent
    assert stats[0] == "Active hosts (mean)" and "CPU not delivered (per tick)" in drawn


# ----------------------------------------------------------------------------------------- the page


def test_the_page_leads_with_figures_and_keeps_the_summary_below(runs):
    assert main(["report", str(runs["best"])]) == 0
    page = (runs["best"] / "report.html").read_text()
    summary = json.loads((runs["best"] / "summary.json").read_text())
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert page.index("class='stat'") < page.index("class='panel ") < page.index("<details><summary>Full summary")
    assert f"<div class='value'>{summary['energy_kwh']:.3g} kWh</div>" in page
    assert "<th>energy_kwh</th><td>" + f"{summary['energy_kwh']:.4g} kWh</td>" in page  # with its unit
    shards = summary["wall_time_by_phase_s"]["shards"]  # a figure of a key naming the unit of its figures
    assert "<th>wall_time_by_phase_s.shards</th><td>" + f"{shards:,.4g} s</td>" in page
    # self-contained: nothing is fetched (the only URL is uPlot's banner comment)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page) and "<link" not in page
    assert "Copyright (c) 2022 Leon Sorokin" in (ROOT / "cloudsim/vendor/uplot/LICENSE").read_text()


def test_counts_are_steps_utilization_is_percent_and_power_kilowatts(runs):
    assert main(["report", str(runs["best"])]) == 0
    page = (runs["best"] / "report.html").read_text()
    rows = [line.split(",") for line in (runs["best"] / "timeseries.csv").read_text().splitlines()]
    col = {name: [float(r[i]) for r in rows[1:]] for i, name in enumerate(rows[0])}
    util = chart(page, "CPU and memory utilization of active hosts")
    assert (util["unit"], util["min"], util["max"], util["step"]) == ("%", 0, 100, False)
    cpu = next(s["y"] for s in util["series"] if s["name"] == "cpu")
    assert cpu == pytest.approx([100 * v for v in col["cpu_utilization"]], abs=1e-3)
    power = chart(page, "Power")
    assert power["unit"] == "kW" and power["series"][0]["y"] == pytest.approx(
        [v / 1000 for v in col["power_w"]], rel=1e-5
    )
    hosts = chart(page, "Hosts by state")
    assert hosts["step"] and {s["name"] for s in hosts["series"]} == {"active", "idle", "off"}
    shortfall = chart(page, "CPU not delivered (per tick)")["series"][0]["y"]
    assert shortfall == pytest.approx([100 * v for v in col["cpu_shortfall_tick"]], abs=1e-3)


def test_a_consolidation_run_gets_its_sla_panels(runs):
    assert main(["report", str(runs["cons"])]) == 0
    page = (runs["cons"] / "report.html").read_text()
    summary = json.loads((runs["cons"] / "summary.json").read_text())
    sla = chart(page, "SLATAH and overall violation (consolidation runs)")
    last = {s["name"]: s["y"][-1] for s in sla["series"]}
    assert last == pytest.approx(
        {"slatah": summary["sla"]["slatah_pct"], "overall": summary["sla"]["overall_violation_pct"]}, abs=1e-3
    )
    pdm = chart(page, "PDM and SLAV (consolidation runs)")
    assert {s["name"] for s in pdm["series"]} == {"pdm", "slav"}
    assert "Host shutdowns (consolidation runs)" in re.findall(r"data-title='([^']*)'", page)


def test_a_run_recorded_before_the_per_tick_figure_has_no_such_panel_rather_than_zeros(runs, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(runs["best"], old)
    lines = [json.loads(x) for x in (old / "metrics.jsonl").read_text().splitlines()]
    (old / "metrics.jsonl").write_text("".join(json.dumps({k: v for k, v in x.items() if k != "cpu_shortfall_tick"})
                                               + "\n" for x in lines))  # fmt: skip
    assert main(["report", str(old)]) == 0
    page = (old / "report.html").read_text()
    assert "<span class='gone'>CPU not delivered (per tick)</span>" in page


def test_cpu_not_delivered_per_tick_is_the_increment_of_the_running_ratio():
    # asked 100 then 200 more MIPS*s; delivered 100 then 150 more: 0 % short in the first tick, 25 % in the
    # second (50 / 200), while the running ratio is 50 / 300 = 16.7 %
    rec = Recorder.__new__(Recorder)
    rec._mips_so_far = (0.0, 0.0)
    ticks = [(100.0, 100.0), (300.0, 250.0), (300.0, 250.0)]
    got = [
        rec._shortfall_tick(SimpleNamespace(requested_mips_s=np.array([req / 2, req / 2]),
                                            allocated_mips_s=np.array([alloc]))) for req, alloc in ticks
    ]  # fmt: skip
    assert got == [0.0, 0.25, 0.0]  # a tick with nothing asked has nothing short


def test_figures_read_with_units():
    cases = [(0.625, "percentunit", "62.5 %"), (4.2134, "kwatth", "4.21 kWh"), (14400.0, "s", "4 h"),
             (1234.0, "none", "1,234"), (62.34, "kwatt", "62.3 kW"), (None, "none", "–")]  # fmt: skip
    for value, unit, text in cases:
        assert fmt_value(value, unit) == text


# -------------------------------------------------------------------------------------------- compare


def fake_run(name: str, scenario: dict) -> Run:
    return Run(Path(name), {"run": name}, scenario, [])


def test_runs_are_named_by_what_differs_between_their_scenarios():
    base = {"name": "quickstart", "seed": 1, "placement": {"policy": "best-fit"}, "hosts": [{"count": 3}]}
    worst = {**base, "seed": 2, "placement": {"policy": "worst-fit"}}
    assert run_labels([fake_run("a", base), fake_run("b", worst)]) == ["seed=1, policy=best-fit",
                                                                       "seed=2, policy=worst-fit"]  # fmt: skip
    more = {**base, "hosts": [{"count": 5}]}
    assert run_labels([fake_run("a", base), fake_run("b", more)]) == ["count=3", "count=5"]
    assert run_labels([fake_run("a", base), fake_run("b", base)]) == ["a", "b"]  # the same scenario: run ids


def test_compare_overlays_runs_with_distinct_colours(runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["compare", str(runs["best"]), str(runs["worst"])]) == 0  # --out is optional
    page = (tmp_path / "compare.html").read_text()
    assert "seed=1, policy=best-fit" in page and "seed=2, policy=worst-fit" in page
    hosts = chart(page, "Active hosts vs the packing lower bound")
    colours = {s["run"]: s["color"] for s in hosts["series"]}
    assert len(set(colours.values())) == 2 and len(hosts["series"]) == 4  # active and lower bound per run
    assert page.count('<tr class="differs"><th>policy</th>') == 1  # the summaries side by side
    out = tmp_path / "elsewhere" / "two.html"
    assert main(["compare", str(runs["best"]), str(runs["worst"]), "--out", str(out)]) == 0 and out.is_file()
    capsys.readouterr()
    (tmp_path / "notes.txt").write_text("")
    assert (
        main(["compare", str(runs["best"]), str(runs["worst"]), "--out", str(tmp_path / "notes.txt" / "x.html")]) == 2
    )
    assert "--out: cannot write" in capsys.readouterr().err
    assert main(["compare", str(runs["best"])]) == 2
    assert "at least two" in capsys.readouterr().err
    assert main(["compare", str(runs["best"]), str(runs["worst"]), f"{runs['best']}/."]) == 2  # the same run again
    assert capsys.readouterr().err == f"error: RUN_DIR: {str(runs['best'])!r} given twice; give each run once\n"
    with pytest.raises(ReportError, match="given twice"):  # the same Path object twice, from Python
        compare_runs([runs["best"], runs["best"]], tmp_path / "same.html")
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "no summary.json" in capsys.readouterr().err


# -------------------------------------------------------------------------------------- in a browser


def render(page: Path, tmp_path: Path) -> tuple[str, bytes]:
    """The DOM after the page's scripts ran, and a 1400 x 1000 screenshot, from headless chromium."""
    shot = tmp_path / f"{page.stem}.png"
    profile = tmp_path / f"profile-{page.stem}"
    profile.mkdir()
    r = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--window-size=1400,1000",
         f"--screenshot={shot}", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout, shot.read_bytes()


def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def assert_rendered(dom: str, shot: bytes, panels_on_page: int) -> None:
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert "data-errors" not in body, re.search(r"<pre id=\"errors\"[^>]*>([^<]*)", dom).group(1)
    assert f'data-panels-rendered="{panels_on_page}"' in body, body
    assert dom.count("<canvas") >= panels_on_page  # uPlot drew a canvas per panel
    width, height, pixels = png_pixels(shot)
    assert (width, height) == (1400, 1000)
    assert len(set(pixels)) > 64, "the screenshot is (nearly) one colour"


@needs_chromium
def test_the_report_renders_in_a_browser_without_errors(runs, tmp_path):
    assert main(["report", str(runs["cons"]), "--out", str(tmp_path)]) == 0
    page = tmp_path / "report.html"
    dom, shot = render(page, tmp_path)
    assert_rendered(dom, shot, page.read_text().count("<section class='panel "))


@needs_chromium
def test_a_percent_axis_reaches_100_and_goes_past_it_when_the_values_do(runs, tmp_path):
    """Utilization has an axis of at least 0-100 %; memory of a consolidation run in CloudSim's dynamics
    (bookings end at instantiation) passes 100 %, and the axis extends instead of cutting the line off."""
    assert main(["report", str(runs["cons"]), "--out", str(tmp_path)]) == 0
    page = tmp_path / "report.html"
    dom, _ = render(page, tmp_path)
    titles = re.findall(r"<section class='panel w\d+' data-title='([^']*)'", page.read_text())
    maxima = re.findall(r'id="chart-\d+" data-y-max="([^"]+)"', dom)
    y_max = {t: float(m) for t, m in zip(titles, maxima, strict=True) if m != "null"}  # null: a panel with no data
    util = chart(page.read_text(), "CPU and memory utilization of active hosts")
    highest = max(v for s in util["series"] for v in s["y"] if v is not None)  # in % on the page
    assert (util["min"], util["max"]) == (0, 100) and highest > 100  # the run's memory passes 100 %
    assert y_max["CPU and memory utilization of active hosts"] >= highest
    assert y_max["Busiest hosts"] >= 100


@needs_chromium
def test_the_compare_page_renders_in_a_browser_without_errors(runs, tmp_path):
    page = tmp_path / "compare.html"
    assert main(["compare", str(runs["best"]), str(runs["worst"]), "--out", str(page)]) == 0
    dom, shot = render(page, tmp_path)
    assert_rendered(dom, shot, page.read_text().count("<section class='panel "))


@needs_chromium
def test_a_script_error_on_the_page_is_caught(runs, tmp_path):
    assert main(["report", str(runs["best"]), "--out", str(tmp_path)]) == 0
    page = tmp_path / "report.html"
    text = page.read_text()
    page.write_text(text.replace("var uPlot=function", "var notUPlot=function", 1))  # the chart library missing
    dom, _ = render(page, tmp_path)
    assert 'data-errors="1"' in dom and "uPlot is not defined" in dom and "data-panels-rendered" not in dom
