"""Where SIGINT and SIGTERM go. A run stops the same way on both (Ctrl-C; a scheduler, ``timeout``, Kubernetes,
``kill``), and whoever points them at a handler for a while puts the ones before back: :func:`stops_to`.
Standard library only: the console script uses it before the CLI's imports."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

#: The signals that stop a run: Ctrl-C, and what a scheduler, ``timeout``, Kubernetes or ``kill`` send.
STOPS = (signal.SIGINT, signal.SIGTERM)

Handler = Callable[[int, FrameType | None], Any]


#: The line a stop before the run has started prints (exit 130).
BEFORE_START = "interrupted before the simulation started; nothing to keep"
#: The commands that run simulations (the others are stopped before they finish: :func:`stopped_line`).
SIMULATING = frozenset({"run", "sweep", "validate", "bench"})


def stopped_line(argv: list[str] | None = None) -> str:
    """What a stop before a run has started says, for the command in ``argv`` (default: this process's)."""
    words = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")]
    if not words or words[0] in SIMULATING or not words[0].isidentifier():
        return BEFORE_START
    return f"interrupted: {words[0]} stopped before it finished"


def early_stop(signum: int, frame: object) -> None:
    """Before a run has started: one line, exit 130."""
    # os._exit: a library's import may swallow SystemExit; nothing has started that needs cleaning up
    sys.stderr.write(stopped_line() + "\n")
    sys.stderr.flush()
    os._exit(130)


def kept_in(stops: list[int]) -> Handler:
    """A handler for SIGINT and SIGTERM alike: the stop appended to ``stops``, then a KeyboardInterrupt. Python
    swallows an exception raised where nothing can catch it (a weakref callback, such as the import system's
    module locks', a ``__del__``, a fork callback: "Exception ignored in ...", and the program goes on), so a
    stop that lands there is lost unless someone looks in ``stops`` afterwards."""

    def keep(signum: int, frame: FrameType | None) -> None:
        stops.append(signum)
        raise KeyboardInterrupt

    return keep


#: The stops :data:`interrupt` raised a KeyboardInterrupt for (the CLI clears it as a command starts, and its
#: commands look here once their own handler is in place: see ``cloudsim.cli``).
received: list[int] = []
#: SIGINT and SIGTERM alike: a KeyboardInterrupt, which the commands handle (the stop also kept in
#: :data:`received`).
interrupt = kept_in(received)


@contextlib.contextmanager
def lost_stops_quiet() -> Iterator[None]:
    """Inside the block Python does not print a KeyboardInterrupt it swallows ("Exception ignored in ..."):
    the handler that raised it kept the stop, which is acted on where it can be."""
    hook = sys.unraisablehook

    def quiet(unraisable: Any) -> None:
        if not issubclass(unraisable.exc_type, KeyboardInterrupt):
            hook(unraisable)

    sys.unraisablehook = quiet
    try:
        yield
    finally:
        sys.unraisablehook = hook


def point_stops(handler: Handler) -> None:
    """From now on SIGINT and SIGTERM go to ``handler``. Main thread only (Python sets handlers there alone);
    a signal ignored (a background job's SIGINT) stays ignored, and one whose handler was not set from Python
    is left alone."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in STOPS:
        if signal.getsignal(sig) not in (None, signal.SIG_IGN):
            signal.signal(sig, handler)


def _put_back(handlers: list[tuple[int, Any]]) -> None:
    """Each handler back, the later ones even if a stop lands (and its handler raises) during an earlier one."""
    if handlers:
        try:
            signal.signal(*handlers[0])
        finally:
            _put_back(handlers[1:])


@contextlib.contextmanager
def stops_to(handler: Handler) -> Iterator[None]:
    """Inside the block SIGINT and SIGTERM go to ``handler`` (as :func:`point_stops`, which may also be called
    again inside it); the handlers before are back at the end, whatever happens meanwhile."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = [(sig, h) for sig in STOPS if (h := signal.getsignal(sig)) is not None]
    try:
        point_stops(handler)
        yield
    finally:
        _put_back(before)
