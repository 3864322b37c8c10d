"""The ``cloudsim`` console script. It installs a quiet handler for SIGINT and SIGTERM before the CLI's
imports (typer, rich, numpy take a moment): before a run has started there is nothing to keep, so a signal
then ends the process with one line and exit 130, not a traceback. The CLI and the run install their own."""

from __future__ import annotations

import contextlib
import os
import sys

from cloudsim._signals import early_stop, point_stops


def _stopped_at_exit(signum: int, frame: object) -> None:
    """A stop once the command is done: its files are written and closed, so the process ends at once."""
    os._exit(130)


def exit_now(code: int) -> None:
    """Leave with ``code`` once the command is done, its outputs written and closed: standard output and error
    flushed, then the process ends without the interpreter's teardown. That teardown does nothing a finished
    command needs, and it costs:

    - time: a quarter of a second after the summary is printed (numba's and LLVM's modules cleared);
    - stops: it puts SIGINT and SIGTERM back to the system's default first, so a stop then killed the process
      by that signal (exit -15, the summary maybe still in the buffer);
    - crashes: after a Ray session it can crash in Ray's native threads (a segmentation fault for the code);
    - the code: CPython marks a KeyboardInterrupt "unhandled" as it leaves code that ``exec`` ran from a string
      (dataclasses and named tuples make their methods so), even when a caller catches it, and at its exit
      under ``python -m`` an interpreter so marked kills itself with SIGINT (seen: exit -2 and no output after
      a SIGTERM at start-up).

    A stop while the streams are flushed ends the process with 130."""
    point_stops(_stopped_at_exit)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed or broken: nothing more to say there
            stream.flush()
    os._exit(code)


def main() -> int:
    point_stops(early_stop)
    # The engine runs one thread per process (parallelism is Ray's: actors, tasks). BLAS threads for its small
    # matrix-vector products only spin on the other cores: a 50,000-host day took 35 % more CPU, no less time.
    # Before numpy loads OpenBLAS; a value the user set stands.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from cloudsim.cli import main as cli_main

    exit_now(cli_main())
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
