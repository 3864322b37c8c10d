"""Every command's ``--help`` reads like a man page: options show what to give (``--seed N``,
``--set KEY=VALUE``), arguments their name in capitals (``SCENARIO``, ``[RUN_DIR]...``), never typer's type
labels (``<list[str]>``, ``<int range>``) or braces (``{scenario}``), and no help sends the reader to
itself. The walk covers every command and subcommand the app has, including ones added later."""

from __future__ import annotations

import re

import pytest
import typer

from cloudsim.cli import app, main

#: typer's type labels: <str>, <path>, <int range>, <list[str]>, <ray|local> (but not "0<=x<=65535")
TYPE_LABEL = re.compile(r"<\w[\w\[\]| ,.]*>")
#: a usage word: OPTIONS, COMMAND, SCENARIO, [PATH], RUN_DIR..., [ARGS]...
USAGE_WORD = re.compile(r"^\[?[A-Z][A-Z0-9_]*\]?(\.\.\.)?$")


def _command_paths() -> list[tuple[str, ...]]:
    """Every command and group under the root, as the words that name it (``("bench", "sim")``)."""
    paths: list[tuple[str, ...]] = [()]

    def walk(cmd: object, path: tuple[str, ...]) -> None:
        for name, sub in getattr(cmd, "commands", {}).items():
            paths.append((*path, name))
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return paths


PATHS = _command_paths()


def test_the_walk_finds_the_commands_and_their_subcommands() -> None:
    found = {" ".join(p) for p in PATHS}
    assert {
        "",
        "run",
        "pack",
        "init",
        "scenarios",
        "scenarios show",
        "bench",
        "bench sim",
        "export openmetrics",
    } <= found


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "cloudsim")
def test_help_names_values_plainly_and_never_refers_to_itself(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    assert main([*path, "--help"]) == 0
    text = capsys.readouterr().out
    usage = next(line for line in text.splitlines() if line.startswith("Usage:"))
    words = usage.split()
    start = words.index("[OPTIONS]")  # after the program's name (python -m pytest, here) and the command's
    assert words[start - len(path) : start] == list(path)
    for word in words[start:]:
        assert USAGE_WORD.match(word), f"usage word {word!r} in {usage!r}"
    assert not TYPE_LABEL.findall(text), text
    assert "{" not in usage
    if path:
        assert f"cloudsim {' '.join(path)} --help" not in text, text


def test_every_option_that_takes_a_value_says_what_to_give(capsys: pytest.CaptureFixture[str]) -> None:
    # the option column: "--seed N", "--set KEY=VALUE", "--backend ray|local"; flags stand alone
    for path in PATHS:
        main([*path, "--help"])
        for line in capsys.readouterr().out.splitlines():
            if m := re.match(r"^  (-\w, )?(--[a-z][a-z-]*)(?: (\S+))?", line):
                metavar = m.group(3)
                assert metavar in (None, "/") or re.match(r"^[A-Za-z][\w=,.|:-]*(\.\.\.)?$", metavar), (path, line)


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["scenarios", "show"], "(see `cloudsim scenarios show --help`)"),
        (["bench", "sim", "--hosts", "x"], "(see `cloudsim bench sim --help`)"),
        (["run", "--seed", "x"], "(see `cloudsim run --help`)"),
        (["nope"], "(see `cloudsim --help`)"),
    ],
)
def test_a_usage_error_points_to_the_help_of_the_command_as_typed(
    args: list[str], hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and err.rstrip().endswith(hint), err
