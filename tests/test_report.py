"""cloudsim report and cloudsim compare: self-contained HTML pages with PNG charts."""

from __future__ import annotations

import base64
import re

from cloudsim.cli import main
from cloudsim.report import CHARTS

PNG = b"\x89PNG\r\n\x1a\n"


def run(tmp_path, name: str, seed: int) -> str:
    out = tmp_path / name
    assert main(["run", "quickstart", "--backend", "local", "--seed", str(seed), "--run-id", name,
                 "--out", str(out), "--no-progress"]) == 0  # fmt: skip
    return str(out)


def test_report_page_embeds_every_chart(tmp_path, capsys):
    d = run(tmp_path, "a", 1)
    assert main(["report", d]) == 0
    page = (tmp_path / "a" / "report.html").read_text()
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == len(CHARTS)
    assert all(base64.b64decode(i).startswith(PNG) for i in images)
    assert "energy_kwh" in page and "quickstart" in page and "<script" not in page
    for stem, *_ in CHARTS:
        assert (tmp_path / "a" / "charts" / f"{stem}.png").read_bytes().startswith(PNG)


def test_compare_puts_runs_side_by_side(tmp_path, capsys):
    a, b = run(tmp_path, "a", 1), run(tmp_path, "b", 2)
    out = tmp_path / "cmp"
    assert main(["compare", a, b, "--out", str(out)]) == 0
    page = (out / "compare.html").read_text()
    assert "quickstart · a" in page and "quickstart · b" in page
    assert page.count("<tr><th>energy_kwh</th>") == 1  # one row, a column per run
    capsys.readouterr()
    assert main(["compare", a, "--out", str(out)]) == 2
    assert "at least two" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "no summary.json" in capsys.readouterr().err
