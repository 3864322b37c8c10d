"""Typer with click's plain help: ``--seed N``, ``--set KEY=VALUE``, ``SCENARIO``, ``[RUN_DIR]...``.

Typer 0.2x labels every value with its Python type (``--set <list[str]>``, ``--hosts <int range>``) and
wraps a required argument in braces (``{scenario}``). Here an option shows its ``metavar=`` (each option of
the CLI sets one that says what to give) or, failing that, click's name for its type (``INTEGER``,
``FLOAT``, ``TEXT``, ``PATH``, the choices ``a|b``); an argument shows its ``metavar=`` or its name in capitals,
in the usage line as click writes it (``SCENARIO``, ``[RUN_DIR]...``).

Build every command group of the CLI with :class:`Typer`; its ``command`` decorator makes the command a
:class:`Command`.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand

_CLICK_NAMES: dict[type, str] = {int: "INTEGER", float: "FLOAT", str: "TEXT", Path: "PATH"}


def _type_metavar(param: Any) -> str:
    """click's metavar for a parameter's type: ``INTEGER``, ``FLOAT``, ``TEXT``, ``PATH`` or ``a|b``."""
    desc = param.type_descriptor
    if desc.is_choice:
        return "|".join(str(c.value if isinstance(c, enum.Enum) else c) for c in desc.choices or ())
    if desc.is_path:
        return "PATH"
    annotation = desc.annotation
    if typing.get_origin(annotation) is list:
        annotation = typing.get_args(annotation)[0]
    return _CLICK_NAMES.get(annotation, "VALUE")


def _argument_name(param: TyperArgument) -> str:
    name = param.metavar or (param.name or "").upper()
    return name + "..." if param.nargs != 1 and not name.endswith("...") else name


class Command(TyperCommand):
    """A typer command whose help reads like click's (see the module notes)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for p in self.params:
            if p.metavar is None and not isinstance(p, TyperArgument) and not getattr(p, "is_flag", False):
                p.metavar = _type_metavar(p)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for p in self.get_params(ctx):
            if isinstance(p, TyperArgument):
                name = _argument_name(p)
                pieces.append(name if p.required else f"[{name.removesuffix('...')}]" + "..." * (p.nargs != 1))
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments, options = [], []
        for p in self.get_params(ctx):
            record = p.get_help_record(ctx)
            if record is None:
                continue
            if isinstance(p, TyperArgument):
                arguments.append((_argument_name(p), record[1]))
            else:
                options.append(record)
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


class Typer(typer.Typer):
    """``typer.Typer`` whose commands are :class:`Command` unless told otherwise."""

    def command(self, *args: Any, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Callable[..., Any]:
        return super().command(*args, cls=cls or Command, **kwargs)
