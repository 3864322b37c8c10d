"""Starting a scenario of your own: ``cloudsim scenarios show NAME`` prints a built-in to save and edit,
``cloudsim init`` writes a commented starter that is valid as written, ``cloudsim --version`` says which
cloudsim this is."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

import cloudsim
from cloudsim.cli import main
from cloudsim.placement.policies import policy_names
from cloudsim.scenario import builtin_names, starter_text
from cloudsim.virt import PRODUCTS, HypervisorType, OSFamily, VirtMode

ROOT = Path(__file__).resolve().parents[1]
BUILTIN = ROOT / "cloudsim" / "scenario" / "builtin"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: "), err
    for f in fragments:
        assert f in err, (f, err)


# ------------------------------------------------------------------------------------------ scenarios show


@pytest.mark.parametrize("name", ["quickstart", "planetlab-lr-mmt"])
def test_show_prints_the_builtin_file_itself_comments_kept(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "scenarios", "show", name)
    assert (code, err) == (0, "")
    assert out == (BUILTIN / f"{name}.yaml").read_text(encoding="utf-8")
    assert out.startswith("# ")  # the description line, and every other comment, come along


def test_a_shown_builtin_saved_to_a_file_validates_like_the_builtin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, shown, _ = cli(capsys, "scenarios", "show", "mixed-modes")
    saved = tmp_path / "mine.yaml"
    saved.write_text(shown, encoding="utf-8")
    code, by_file, err = cli(capsys, "validate", str(saved))
    assert (code, err) == (0, "")
    assert by_file == cli(capsys, "validate", "mixed-modes")[1]


def test_show_of_an_unknown_name_is_one_line_listing_the_builtins(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "scenarios", "show", "quickstrat")
    assert out == ""
    assert_one_line_error(code, err, "NAME: no built-in scenario 'quickstrat'", *builtin_names())


def test_scenarios_without_a_subcommand_still_lists_them(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "scenarios")
    assert (code, err) == (0, "")
    header, *rows = out.splitlines()
    assert header.split()[0] == "scenario"
    assert [line.split()[0] for line in rows] == builtin_names()


# ---------------------------------------------------------------------------------------------------- init


def test_init_writes_scenario_yaml_here_and_it_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "init")
    assert (code, err) == (0, "")
    assert "wrote scenario.yaml" in out
    assert (tmp_path / "scenario.yaml").read_text(encoding="utf-8") == starter_text("scenario.yaml")
    code, out, err = cli(capsys, "validate", "scenario.yaml")
    assert (code, err) == (0, "")
    assert out.startswith("ok: my-scenario: 5 hosts in 2 groups")


def test_init_refuses_to_overwrite_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "mine.yaml"
    target.write_text("name: precious\n", encoding="utf-8")
    code, _, err = cli(capsys, "init", str(target))
    assert_one_line_error(code, err, "PATH:", "exists", "--force")
    assert target.read_text(encoding="utf-8") == "name: precious\n"
    code, _, err = cli(capsys, "init", str(target), "--force")
    assert (code, err) == (0, "")
    assert target.read_text(encoding="utf-8") == starter_text(str(target))
    assert f"cloudsim validate {target}" in starter_text(str(target))  # the commands it suggests name it


def test_init_keeps_a_dangling_link_and_quotes_the_commands_it_suggests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    link = tmp_path / "link.yaml"
    link.symlink_to(tmp_path / "nowhere.yaml")  # exists() is False for it; writing would replace the link
    code, _, err = cli(capsys, "init", str(link))
    assert_one_line_error(code, err, "PATH:", "exists", "--force")
    assert link.is_symlink() and not (tmp_path / "nowhere.yaml").exists()
    spaced = tmp_path / "my scenario.yaml"
    code, out, err = cli(capsys, "init", str(spaced))
    assert (code, err) == (0, "")
    assert f"`cloudsim validate '{spaced}'`" in out and f"`cloudsim run '{spaced}'`" in out


def test_init_into_a_named_pipe_no_program_reads_is_one_line_not_a_wait(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.yaml"
    os.mkfifo(pipe)
    cmd = [sys.executable, "-m", "cloudsim.cli", "init", str(pipe), "--force"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)  # (it waited for a reader for ever)
    assert_one_line_error(done.returncode, done.stderr, "PATH:", "a named pipe that no program reads")
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # a pipe that is read: written (the text fits its buffer)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and os.read(reader, 1 << 16).decode() == starter_text(str(pipe))
    finally:
        os.close(reader)


def test_init_into_a_folder_or_through_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "init", str(tmp_path))
    assert_one_line_error(code, err, "PATH:", "is a directory")
    (tmp_path / "file").write_text("")
    for target in (tmp_path / "file" / "scenario.yaml", tmp_path / "file" / "sub" / "scenario.yaml"):
        code, _, err = cli(capsys, "init", str(target))
        assert_one_line_error(code, err, "PATH:", f"cannot write {str(target)!r}: a part of it is a file, not a folder")
    # a folder that is not there yet is made (as --out, --openmetrics and compare --out make theirs)
    code, _, err = cli(capsys, "init", str(tmp_path / "new" / "scenario.yaml"))
    assert (code, err) == (0, "") and (tmp_path / "new" / "scenario.yaml").is_file()


def test_a_write_that_fails_names_the_file_asked_for_not_the_temporary_one(tmp_path: Path) -> None:
    from cloudsim.files import atomic_write_bytes

    with pytest.raises(FileNotFoundError) as exc:
        atomic_write_bytes(tmp_path / "no" / "such.bin", b"x")
    assert exc.value.filename == str(tmp_path / "no" / "such.bin") and list(tmp_path.iterdir()) == []


def test_the_starter_explains_the_allowed_values_from_the_code() -> None:
    comments = "\n".join(line for line in starter_text().splitlines() if line.lstrip().startswith("#"))
    for values in (policy_names(), list(PRODUCTS), [m.value for m in VirtMode], [o.value for o in OSFamily],
                   [t.value for t in HypervisorType], ["poisson", "fixed", "batch"], ["P1", "P12"]):  # fmt: skip
        for v in values:
            assert v in comments, v
    data = yaml.safe_load(starter_text())
    assert set(data) == {"name", "seed", "duration", "tick", "hosts", "workload", "placement"}


def test_the_starter_runs_as_written(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    assert main(["init", str(path)]) == 0
    proc = subprocess.run(
        [sys.executable, "-m", "cloudsim.cli", "run", str(path), "--backend", "local", "--set", "duration=2h",
         "--json", "--no-progress"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["scenario"] == "my-scenario" and summary["guests"]["placed"] > 0


# ------------------------------------------------------------------------------------------------- version


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_prints_the_package_version(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, flag)
    assert (code, out, err) == (0, f"cloudsim {cloudsim.__version__}\n", "")


def test_the_version_has_one_source() -> None:
    # pyproject takes it from cloudsim.__version__; an installed copy's metadata carries that same string
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" in project["project"]["dynamic"] and "version" not in project["project"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "cloudsim.__version__"}
    try:
        installed = importlib.metadata.version(project["project"]["name"])
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("cloudsim is not installed here (only on the path), so there is no metadata to compare")
    assert installed == cloudsim.__version__
