"""The ``cloudsim`` command line (typer).

Bad input never shows a traceback: it is one ``error: <field>: <what is wrong and what is allowed>``
line on stderr and exit code 2. Ray is imported only when a Ray run is asked for.
"""

from __future__ import annotations

from cloudsim._signals import early_stop, interrupt, lost_stops_quiet, point_stops, received, stopped_line, stops_to

if __name__ == "__main__":  # python -m cloudsim.cli (the console script installs it in cloudsim._entry)
    point_stops(early_stop)

import contextlib
import datetime as _dt
import errno
import functools
import itertools
import json
import os
import shlex
import socket
import sys
import time
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from cloudsim._typer import Typer
from cloudsim.api import CHECKPOINT, UsageError
from cloudsim.files import atomic_open, finite, why_unwritable
from cloudsim.scenario import ScenarioError, builtin_description, builtin_names, load_scenario

app = Typer(
    name="cloudsim",
    help="A distributed multi-host cloud simulator: hypervisors, virtualization modes, placement, on Ray.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
err = Console(stderr=True)
out = Console()


def _print_whole(table: Table) -> None:
    """Print ``table`` with no cell or header cut short, a row to a line: as wide as its rows, when that is wider
    than the terminal (which then wraps the lines; rich's narrower layouts cut the widest cells, such as a
    scenario's name, with an ellipsis)."""
    natural = Measurement.get(out, out.options.update(width=10_000), table).maximum
    Console(width=max(out.width, natural)).print(table)


def _print_version(value: bool) -> None:
    if value:
        from cloudsim import __version__

        typer.echo(f"cloudsim {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_print_version, is_eager=True, help="print the version and exit"),
    ] = False,
) -> None:
    """The options before any command (the app's help text is the one given to ``Typer`` above)."""


#: A bad argument found after parsing (or a run that could not finish): the API's :class:`UsageError`, printed
#: as one line, exit 2 (or its ``exit_code``).
UsageFailure = UsageError


class BackendName(StrEnum):
    ray = "ray"
    local = "local"


#: ``--address``: the Ray cluster to join (every command that can use Ray).
AddressOption = Annotated[
    str | None,
    typer.Option(
        metavar="ADDRESS",
        envvar="RAY_ADDRESS",
        help="Ray cluster to join (host:port, auto, ray://...); default: a local instance",
    ),
]


def _phase_shares(summary: dict[str, Any]) -> str | None:
    """Where the simulation's wall time went: its three largest phases as shares of it, one a line (narrow, so
    the table's labels keep their width): what bounds a run. None when the summary has no phases or no wall
    time."""
    phases, wall = summary.get("wall_time_by_phase_s"), summary["wall_time_s"]
    if not phases or wall <= 0:
        return None
    shares = sorted(((v / wall, k) for k, v in phases.items() if v > 0), reverse=True)[:3]
    return "\n".join(f"{k} {share:.0%}" for share, k in shares) or None


def _hms(seconds: float) -> str:
    seconds = round(seconds)
    d, rem = divmod(seconds, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    return (f"{d}d " if d else "") + f"{h:02d}:{m:02d}:{s:02d}"


def _summary_tables(summary: dict[str, Any]) -> list[Table]:
    """The run's headline figures, and the virtualization overhead per mode."""
    t = Table(title=f"cloudsim · {summary['scenario']} · seed {summary['seed']} · {summary['backend']}")
    t.add_column("figure")
    t.add_column("value", justify="right")
    g, h = summary["guests"], summary["hosts"]
    c, u = summary["consolidation_ratio"], summary["utilization"]
    t.add_row("guests submitted / placed / rejected", f"{g['submitted']} / {g['placed']} / {g['rejected']}")
    t.add_row("guests completed / running at end", f"{g['completed']} / {g['running_at_end']}")
    if summary["rejections"]:
        t.add_row("rejections", ", ".join(f"{k} {v}" for k, v in summary["rejections"].items()))
    t.add_row("hosts total / active mean / max", f"{h['total']} / {h['active_mean']:.2f} / {h['active_max']}")
    t.add_row("consolidation ratio mean / max / final", f"{c['mean']:.2f} / {c['max']:.2f} / {c['final']:.2f}")
    t.add_row("cpu / memory utilization (active hosts)", f"{u['cpu_mean']:.1%} / {u['memory_mean']:.1%}")
    t.add_row("energy", f"{summary['energy_kwh']:.3f} kWh")
    t.add_row("cpu shortfall (contention)", f"{summary['sla']['cpu_shortfall_ratio']:.2%}")
    t.add_row("migrations", f"{summary['migrations']:,}")
    for mode, m in summary.get("migrations_by_mode", {}).items():
        t.add_row(f"migrations of {mode} guests", f"{m['count']:,}, mean {m['mean_time_s']:.2f} s, "
                  f"downtime {m['downtime_mean_s']:.3f} s")  # fmt: skip
    if "faults" in summary:
        f = summary["faults"]
        t.add_row(
            "host failures (drains) / restarts / waiting",
            f"{f['host_failures']} ({f['drains']}) / {f['restarts']} / {f['waiting_at_end']}",
        )
        for mode, v in f["by_mode"].items():
            t.add_row(f"availability of {mode} guests", f"{v['availability']:.4%} ({v['downtime_s']:,.0f} s down)")
    if summary.get("kind") == "consolidation":
        sla, h = summary["sla"], summary["hosts"]
        t.add_row(
            "SLATAH / PDM / SLAV", f"{sla['slatah_pct']:.3f} % / {sla['pdm_pct']:.4f} % / {sla['slav_pct']:.6f} %"
        )
        t.add_row("ESV", f"{summary['esv']:.3e}")
        t.add_row("host shutdowns", f"{h['shutdowns']:,} (mean {h['mean_time_before_shutdown_s']:.0f} s on before)")

    nodes = f" on {len(summary['nodes'])} Ray nodes" if len(summary["nodes"]) > 1 else ""
    t.add_row("policy / actors", f"{summary['policy']} / {summary['actors']}{nodes}")
    stop = " (interrupted)" if summary.get("interrupted") else ""
    t.add_row("simulated / wall time", f"{_hms(summary['sim_time_s'])}{stop} / {summary['wall_time_s']:.2f} s")
    if "total_wall_time_s" in summary:  # a run of cloudsim.run (a sweep's variants report their run alone)
        t.add_row("start-up / total wall time", f"{summary['startup_s']:.2f} s / {summary['total_wall_time_s']:.2f} s")
    if (phases := _phase_shares(summary)) is not None:
        t.add_row("wall time: largest phases", phases)
    m = Table(title="virtualization overhead by mode")
    for col in ("mode", "guests (mean)", "cpu overhead", "overhead cores", "memory MiB/guest"):
        m.add_column(col, justify="left" if col == "mode" else "right")
    for mode, o in summary["overhead"].items():
        m.add_row(
            mode,
            f"{o['guests_mean']:.1f}",
            f"{o['cpu_fraction']:.1%}",
            f"{o['cpu_cores_mean']:.2f}",
            f"{o['memory_mib_per_guest']:.0f}",
        )
    return [t, m] if summary["overhead"] else [t]  # (no guest ran: no mode to show)


class _Stopper:
    """SIGINT (Ctrl-C) and SIGTERM (a scheduler, ``timeout``, Kubernetes, ``kill``) stop a run the same way:
    the first one ends the simulation, which keeps what it computed; later ones, and any that arrive while
    outputs are written (``hold``), only wait, so no file is cut short. (Starting Ray leaves it in place:
    see :func:`~cloudsim.distributed.ray_session`.)"""

    def __init__(self) -> None:
        self.count = 0
        self.hold = False

    def __call__(self, signum: int, frame: Any) -> None:
        self.count += 1
        if self.count == 1 and not self.hold:
            raise KeyboardInterrupt
        err.print("stopping: finishing the outputs first", highlight=False)

    def install(self) -> None:
        """In place of :data:`~cloudsim._signals.interrupt`; a stop that reached that one and was swallowed
        (see :data:`~cloudsim._signals.received`) stops the command now."""
        point_stops(self)  # main() puts back the handlers before when the command returns
        if received:
            received.clear()
            raise KeyboardInterrupt

    def check(self) -> None:
        """Between ticks: a first stop whose KeyboardInterrupt Python swallowed stops the run here (one that
        was not swallowed has ended the run already)."""
        if self.count and not self.hold:
            raise KeyboardInterrupt


@contextlib.contextmanager
def _ray_output_to_stderr() -> Iterator[None]:
    """Standard output carries only cloudsim's own output (``--json`` is pure JSON): while Ray runs in this
    process, what it writes there goes to standard error. Ray's error listener prints what raylets and the
    GCS report (``(raylet) WARNING: ...``) to ``sys.stdout`` whatever ``log_to_driver`` says, and
    ``ray.shutdown`` flushes buffered worker lines there; those follow ``sys.stdout``. Writers below Python
    follow file descriptor 1 (Ray 2.60's C++ core worker logs to standard error, and the processes it starts
    get pipes or log files, but nothing promises that), so it points at standard error too until the end."""
    sys.stdout.flush()
    saved: int | None = None
    with contextlib.suppress(OSError):  # no descriptor 1 or 2 (closed by the caller): sys.stdout alone
        fd = os.dup(1)
        try:
            os.dup2(2, 1)
            saved = fd
        except OSError:
            os.close(fd)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if saved is not None:
            sys.stdout.flush()  # what went to the original sys.stdout meanwhile goes where descriptor 1 went
            os.dup2(saved, 1)
            os.close(saved)


#: ``--max-memory``: the memory one run may need (``run``, ``validate``; each variant of ``sweep``, each run of
#: ``bench sim``); the scenario's estimate past it is refused before anything runs.
MaxMemoryOption = Annotated[
    float | None,
    typer.Option(
        "--max-memory", metavar="GIB", min=0.001, help="GiB one run may need (default: half this machine's memory)"
    ),
]


#: ``--day``: the PlanetLab day of a trace scenario (``run``, ``validate``).
DayOption = Annotated[
    str | None,
    typer.Option(
        metavar="DAY",
        help="the PlanetLab day of a trace scenario (YYYYMMDD), read from the data cache (`cloudsim data fetch "
        "planetlab`); default: the scenario's workload.trace.day, 20110303",
    ),
]


def _with_day(set_: list[str] | None, day: str | None) -> list[str] | None:
    """``--day D`` is the override ``workload.trace.day=D`` after the ``--set`` ones."""
    return set_ if day is None else [*(set_ or []), f"workload.trace.day={json.dumps(day)}"]


@app.command()
def run(
    scenario: Annotated[
        str | None,
        typer.Argument(metavar="SCENARIO", help="scenario file (YAML) or built-in name (see `cloudsim scenarios`)"),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", metavar="KEY=VALUE", help="override a field: dotted.path=value, e.g. placement.policy=worst-fit"
        ),
    ] = None,
    backend: Annotated[
        BackendName | None,
        typer.Option(help="ray (host actors; the default) or local (in-process shards)"),
    ] = None,
    address: AddressOption = None,
    hosts_per_actor: Annotated[
        int | None,
        typer.Option(metavar="N", min=1, help="hosts per Ray actor (default: the scenario's ray.hosts_per_actor)"),
    ] = None,
    seed: Annotated[int | None, typer.Option(metavar="N", help="override the scenario seed")] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", metavar="DIR", help="write summary.json, timeseries.csv, ...")
    ] = None,
    day: DayOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="with --out: replace a previous run's outputs in that folder")
    ] = False,
    max_memory: MaxMemoryOption = None,
    checkpoint_every: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION",
            help="with --out: save the run to DIR/checkpoint.pkl every this much simulated time (30m, 6h)",
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="continue the run saved in this --out folder (its checkpoint.pkl; resume only your own runs)",
        ),
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(metavar="PORT", min=0, max=65535, help="serve Prometheus metrics on this port")
    ] = None,
    metrics_bind: Annotated[
        str, typer.Option(metavar="ADDRESS", help="address the metrics endpoint binds to")
    ] = "127.0.0.1",
    run_id: Annotated[
        str | None, typer.Option(metavar="ID", help="the run label (default: scenario-seed-timestamp)")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the summary as JSON instead of a table")] = False,
    progress: Annotated[
        bool, typer.Option(help="on stderr: what Ray is doing while it starts, then a progress bar")
    ] = True,
    realtime_factor: Annotated[
        float | None,
        typer.Option(
            metavar="FACTOR", help="pace the run: this many simulated seconds per wall-clock second (default: flat out)"
        ),
    ] = None,
    hold: Annotated[
        bool, typer.Option("--hold", help="keep the metrics endpoint up after the run until Ctrl-C")
    ] = False,
    openmetrics: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="write the whole run as OpenMetrics with timestamps (for promtool backfill)"),
    ] = None,
    anchor: Annotated[
        str | None,
        typer.Option(
            metavar="TIME",
            help="wall time of simulated t=0 for --openmetrics: auto (end at least 3 h before now), now-6h, or ISO",
        ),
    ] = None,
    host_series: Annotated[
        bool,
        typer.Option(help="include the bounded per-host view (utilization histogram across hosts, top 5 hosts)"),
    ] = True,
) -> None:
    """Run a scenario and print its summary."""
    stopper = _Stopper()
    stopper.install()
    import cloudsim
    from cloudsim.metrics.prom import MetricsEndpoint

    if hold and metrics_port is None:
        raise UsageFailure("--hold: keeps the metrics endpoint up, so it needs --metrics-port")
    job = cloudsim.prepare(
        scenario,
        set=_with_day(set_, day) or [],
        seed=seed,
        backend=(backend or BackendName.ray).value,
        address=address,
        hosts_per_actor=hosts_per_actor,
        run_id=run_id,
        out=out_dir,
        force=force,
        openmetrics=openmetrics,
        anchor=anchor,
        host_series=host_series,
        checkpoint_every=checkpoint_every,
        resume=resume,
        max_memory_gib=max_memory,
        realtime_factor=realtime_factor,
    )
    _warn(job.warnings)  # every argument and the data are good: what will not happen as asked, before it starts
    endpoint = None
    if metrics_port is not None:
        try:
            endpoint = MetricsEndpoint(metrics_port, metrics_bind)
        except OSError as exc:
            if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:  # no address of this machine
                raise UsageFailure(
                    f"--metrics-bind: {metrics_bind!r} is not an address of this machine ({exc.strerror})"
                ) from None
            raise UsageFailure(f"--metrics-port: cannot listen on {metrics_bind}:{metrics_port}: {exc}") from None
        err.print(f"metrics: {endpoint.url}", highlight=False)
    try:
        with _Feedback(job.scenario, progress and (err.is_terminal or not json_out)) as feedback:

            def progressed(done_s: float, total_s: float) -> None:
                stopper.check()  # a first stop that Python swallowed ends the run at this tick
                feedback.progress(done_s, total_s)

            local = job.backend == "local" and job.address is None
            with contextlib.nullcontext() if local else _ray_output_to_stderr():
                try:
                    result = job.run(
                        progress=progressed,
                        status=feedback.status,
                        endpoint=endpoint,
                        finishing=lambda: setattr(stopper, "hold", True),  # later signals wait for the outputs
                        warn=_checkpoint_warning,
                    )
                except cloudsim.OutputError as exc:
                    failed = exc  # the run stands: its summary is shown first
                    result = exc.result
                else:
                    failed = None
        stopper.hold = True
        if json_out:
            sys.stdout.write(json.dumps(finite(result.summary), indent=2, allow_nan=False) + "\n")
        else:
            for table in _summary_tables(result.summary):
                out.print(table)
        if result.openmetrics is not None:
            _print_openmetrics(result.openmetrics)
        if failed is not None:
            raise failed
        if result.written and not json_out:
            out.print(f"wrote {job.out}/summary.json, timeseries.csv, placements.jsonl, metrics.jsonl, scenario.yaml")
        stopped = stopper.count  # a signal during the run or the writing: exit 130 once the outputs are kept
        stopper.hold = False
        if hold and endpoint is not None and not stopped and not result.interrupted:
            err.print("run finished; holding the metrics endpoint (Ctrl-C to stop)")
            endpoint.wait()  # a signal now ends the hold (exit 0)
    finally:
        if endpoint is not None:
            endpoint.close()
    if result.summary.get("lost"):
        raise UsageFailure(f"backend: {result.summary['lost']}; the summary covers the time run", exit_code=1)
    if result.interrupted:
        err.print(_interrupted_line(result.summary["sim_time_s"], job.scenario.duration, job.out), highlight=False,
                  markup=False, soft_wrap=True)  # fmt: skip
    elif stopped:  # the stop came as the outputs were written, after the last tick
        written = ", and every output is written" if job.out is not None else ""
        err.print(f"stopped as the run finished: the summary covers the whole run{written}", highlight=False,
                  soft_wrap=True)  # fmt: skip
    if result.interrupted or stopped:
        raise _Stopped


@contextlib.contextmanager
def _writing(flag: str, path: Path) -> Iterator[None]:
    """Writing the file ``path`` that option ``flag`` names: one that cannot be written (a full disk, a file
    in the way of its folder) is one line naming both, after whatever was printed before it."""
    try:
        yield
    except OSError as exc:
        raise UsageFailure(f"{flag}: cannot write {str(path)!r}: {why_unwritable(exc)}") from None


def _checkpoint_warning(text: str) -> None:
    """A checkpoint the run could not write (it goes on): one line on standard error, above the progress bar."""
    err.print(f"warning: --checkpoint-every: {text}", highlight=False, markup=False, soft_wrap=True)


def _interrupted_line(reached_s: float, duration_s: float, out_dir: Path | None) -> str:
    """What an interrupted run tells its user: how far it got, and how to go on from its last checkpoint."""
    line = f"interrupted at {_hms(reached_s)} of {_hms(duration_s)} simulated: the summary covers the time run"
    if out_dir is not None and (out_dir / CHECKPOINT).is_file():
        line += f"; continue it from its last checkpoint with: cloudsim run --resume {shlex.quote(str(out_dir))}"
    return line


class _Feedback:
    """What ``cloudsim run`` shows on standard error while it runs: a status line while no simulated time
    passes (Ray starting), then the progress bar. On a terminal both are transient; elsewhere a status is one
    plain line and the bar is not drawn. Nothing when ``enabled`` is false (``--no-progress``)."""

    def __init__(self, scenario: Any, enabled: bool, name: str | None = None) -> None:
        self.enabled, self.name, self.duration = enabled, name or scenario.name, scenario.duration
        self.started = False
        self.bar = _progress_bar(disable=not (enabled and err.is_terminal))  # (off one, it left a blank line)
        self.task = self.bar.add_task(self.name, total=scenario.duration, sim=_hms(0), visible=False)

    def __enter__(self) -> _Feedback:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)  # type: ignore[arg-type]

    def status(self, text: str) -> None:
        """Show ``text`` until simulated time passes. Off a terminal only the start-up's lines are printed:
        once the simulation has started, nothing is left to wait for that a log needs to show."""
        if not self.enabled:
            return
        if not err.is_terminal:
            if not self.started:
                err.print(text, highlight=False, markup=False)
            return
        self.bar.update(self.task, description=text, visible=True, total=None)

    def progress(self, done_s: float, total_s: float) -> None:
        """Simulated time: the bar, under the scenario's name."""
        self.started = True
        self.bar.update(
            self.task, description=self.name, completed=done_s, total=total_s, sim=_hms(done_s), visible=True
        )


def _print_openmetrics(w: Any) -> None:
    """One line on standard error for an OpenMetrics file written (its series, samples and time span)."""
    first = _dt.datetime.fromtimestamp(w.start_ts, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    last = _dt.datetime.fromtimestamp(w.end_ts, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    err.print(
        f"openmetrics: {w.path}: {w.series} series, {w.samples} samples, {first} .. {last} ({w.seconds:.2f} s)",
        highlight=False,
    )


def _times() -> tuple[Any, ...]:
    """A bar's last columns: the wall time so far, and what is left at the pace of the last 30 s."""
    return TimeElapsedColumn(), TextColumn("elapsed,"), TimeRemainingColumn(), TextColumn("left")


def _progress_bar(disable: bool = False) -> Progress:
    """The transient progress bar of a run on standard error: the scenario, the bar, the simulated time, the
    wall time so far and left."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("sim {task.fields[sim]}"),
        *_times(),
        console=err,
        transient=True,
        disable=disable,
    )


export_app = Typer(help="Export a finished run: OpenMetrics for Prometheus backfill.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("openmetrics")
def export_openmetrics(
    run_dir: Annotated[
        Path, typer.Argument(metavar="RUN_DIR", help="a run directory written by cloudsim run --out DIR")
    ],
    out_file: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="the OpenMetrics file (default RUN_DIR/metrics.om)")
    ] = None,
    anchor: Annotated[
        str | None,
        typer.Option(
            metavar="TIME", help="wall time of simulated t=0: auto (end at least 3 h before now), now-6h, or ISO"
        ),
    ] = None,
    host_series: Annotated[
        bool, typer.Option(help="include the bounded per-host view (histogram across hosts, top 5 hosts)")
    ] = True,
) -> None:
    """Write a finished run as OpenMetrics text with explicit timestamps (seconds), each series in time
    order, ending # EOF; load it with promtool tsdb create-blocks-from openmetrics."""
    from cloudsim.metrics.openmetrics import frames_from_run_dir

    try:
        summary, frames = frames_from_run_dir(run_dir)
    except (FileNotFoundError, ValueError) as exc:  # one line naming the file
        raise UsageFailure(str(exc)) from None
    end = max((t for t, _ in frames), default=0.0)
    from cloudsim.metrics.openmetrics import AnchorError, write_run

    path = out_file or run_dir / "metrics.om"
    try:
        with _writing("--out", path):  # (a full disk: the file is left as it was, or not made)
            written = write_run(path, frames, summary["scenario"], summary["run"], anchor, end, host_series)
    except AnchorError as exc:
        raise UsageFailure(str(exc)) from None
    _print_openmetrics(written)


@app.command()
def report(
    run_dir: Annotated[
        Path, typer.Argument(metavar="RUN_DIR", help="a run directory written by cloudsim run --out DIR")
    ],
    out_dir: Annotated[
        Path | None, typer.Option("--out", metavar="DIR", help="where to write (default: RUN_DIR)")
    ] = None,
) -> None:
    """Write report.html: one self-contained page of the run's headline figures and dashboard panels."""
    from cloudsim.report import report as make_report

    _write_page(make_report, run_dir, out_dir)


@app.command()
def compare(
    run_dirs: Annotated[
        list[Path], typer.Argument(metavar="RUN_DIR", help="two or more run directories (cloudsim run --out DIR)")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="FILE", help="the page to write (default: compare.html here; a folder: inside it)"
        ),
    ] = None,
) -> None:
    """One HTML page with several runs overlaid, each named by what differs between their scenarios."""
    from cloudsim.report import compare as make_compare

    _write_page(make_compare, run_dirs, out)


def _write_page(make: Any, *args: Any) -> None:
    """Run a report builder; its input errors become one-line usage errors."""
    from cloudsim.report import ReportError

    try:
        page = make(*args)
    except ReportError as exc:
        raise UsageFailure(str(exc)) from None
    typer.echo(f"wrote {page}")


@app.command()
def sweep(
    scenario: Annotated[
        str, typer.Argument(metavar="SCENARIO", help="scenario file (YAML) or built-in name (see `cloudsim scenarios`)")
    ],
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="DIR",
            help="the sweep's folder: one run folder per variant, sweep.csv, compare.html (run again to finish it)",
        ),
    ],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=V1,V2,...",
            help="an axis of the grid: dotted.path=V1,V2,... (a..b: the integers a to b); one value: every variant",
        ),
    ] = None,
    backend: Annotated[
        BackendName | None,
        typer.Option(help="ray: one Ray task per variant across the cluster (the default); local: one after another"),
    ] = None,
    address: AddressOption = None,
    max_memory: MaxMemoryOption = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar (variants done / total)")] = True,
) -> None:
    """Run a scenario over the cartesian product of --set values: each variant in-process in its own Ray task,
    one run folder per variant, sweep.csv (one row per variant) and compare.html. Variants already complete
    in --out (same scenario) are skipped, so running the command again finishes an interrupted sweep."""
    stopper = _Stopper()
    stopper.install()
    from rich.progress import MofNCompleteColumn

    from cloudsim import sweep as sw

    sets = list(set_ or [])
    try:
        variants = sw.plan(scenario, sets, max_memory_gib=max_memory)
        held = sw.prepare(out_dir)  # the folder is this sweep's until the command returns
        sw.write_marker(out_dir, scenario, sets, variants)
    except sw.SweepError as exc:
        raise UsageFailure(str(exc)) from None

    @contextlib.contextmanager
    def holding() -> Any:
        """A write no signal cuts short; a first signal meanwhile stops the sweep once it is written."""
        before, stopper.hold = stopper.count, True
        try:
            yield
        finally:
            stopper.hold = False
        if before == 0 and stopper.count:
            raise KeyboardInterrupt

    parallel, starting = sw.one_after_another, None
    if backend is not BackendName.local or address is not None:

        def parallel(fn: Any, jobs: Any, on_result: Any) -> None:
            from cloudsim.distributed import fan_out

            fan_out(fn, jobs, on_result)

        @contextlib.contextmanager
        def starting(count: int) -> Any:
            """Ray, only when some variant must run."""
            from cloudsim.distributed import RayConnectError, ray_session

            try:
                session = ray_session(address)
                session.__enter__()
            except RayConnectError as exc:
                raise UsageFailure(str(exc)) from None
            try:
                yield
            finally:
                with holding():
                    session.__exit__(None, None, None)

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        *_times(),
        console=err,
        transient=True,
        disable=not (progress and err.is_terminal),  # off a terminal it draws nothing but a blank line
    )
    with bar:
        task = bar.add_task(f"sweep {variants[0].scenario.name}", total=len(variants), last="")

        def done(v: Any, how: str) -> None:
            bar.update(task, advance=1, last=f"{how} {v.id}")
            if how != "skipped":  # between variants: a first stop that Python swallowed stops the sweep here
                stopper.check()

        result = sw.run(
            variants,
            out_dir,
            parallel,
            on_done=done,
            guard=holding,
            before_running=starting,
        )
    stopper.hold = True
    _sweep_table(result)
    complete = len(result.summaries)
    out.print(
        f"{len(variants)} variant{'' if len(variants) == 1 else 's'}: {len(result.ran)} ran, {len(result.skipped)} complete already (skipped), "
        f"{len(result.failed)} failed",
        highlight=False,
        soft_wrap=True,
    )
    for vid, why in result.failed.items():
        err.print(f"variant {vid} failed: {why}", highlight=False, markup=False, soft_wrap=True)
    written = [f"{out_dir}/<variant>/ (summary.json, timeseries.csv, ...)"] if complete else []
    written += [str(p) for p in (result.csv_path, result.page) if p is not None]
    if written:
        out.print("wrote " + ", ".join(written), highlight=False, markup=False, soft_wrap=True)
    if result.page_note:
        out.print(result.page_note, highlight=False, soft_wrap=True)
    held.release()  # everything is written (a failure before this releases it as the process ends)
    if result.unwritable:
        listed = ", listed in sweep.csv" if result.csv_path is not None else ""
        left = "finish the others" if complete < len(variants) else "write what is missing"
        raise UsageFailure(f"--out: {result.unwritable}; {complete} of {len(variants)} variants complete{listed}; "
                           f"make room and run the same command again to {left}")  # fmt: skip
    if result.interrupted:
        if complete < len(variants):
            then = "run the same command again to finish the others"
        elif sw.compares(len(variants)):  # the stop came after the last variant, before the page
            then = "compare.html was not written: run the same command again to write it"
        else:
            then = "nothing is left to run"
        err.print(
            f"interrupted: {complete} of {len(variants)} variants complete, listed in sweep.csv; {then}",
            highlight=False,
            soft_wrap=True,
        )
        raise _Stopped
    if result.failed:
        raise UsageFailure(f"sweep: {len(result.failed)} of {len(variants)} variants failed (above)", exit_code=1)


def _sweep_table(result: Any, limit: int = 40) -> None:
    """The complete variants' headline figures (the first ``limit``; sweep.csv has them all)."""
    table = Table(title="sweep")
    cols = ("variant", "placed / rejected", "active hosts", "consolidation", "cpu util.", "energy kWh", "migrations",
            "wall s")  # fmt: skip
    shown = [v for v in result.variants if v.id in result.summaries]
    table.add_column("variant", no_wrap=True)
    for c in cols[1:]:
        table.add_column(c, justify="right")
    for v in shown[:limit]:
        s = result.summaries[v.id]
        g = s["guests"]
        table.add_row(
            v.id, f"{g['placed']} / {g['rejected']}", f"{s['hosts']['active_mean']:.2f}",
            f"{s['consolidation_ratio']['mean']:.2f}", f"{s['utilization']['cpu_mean']:.1%}", f"{s['energy_kwh']:.3f}",
            f"{s['migrations']:,}", f"{s['wall_time_s']:.2f}",
        )  # fmt: skip
    if len(shown) > limit:
        table.caption = f"{len(shown) - limit:,} more in sweep.csv"
    if shown:
        _print_whole(table)


@app.command()
def validate(
    scenario: Annotated[str, typer.Argument(metavar="SCENARIO", help="scenario file (YAML) or built-in name")],
    set_: Annotated[
        list[str] | None, typer.Option("--set", metavar="KEY=VALUE", help="override a field: dotted.path=value")
    ] = None,
    day: DayOption = None,
    max_memory: MaxMemoryOption = None,
    strict: Annotated[bool, typer.Option("--strict", help="exit 2 when there are warnings")] = False,
) -> None:
    """Check a scenario without running it (everything `run` would refuse, this refuses). Warnings (on stderr)
    name guests larger than every host and options the scenario's kind ignores; they leave the exit code 0
    unless --strict."""
    from cloudsim.scenario.schema import format_duration

    sc, _ = load_scenario(scenario, _with_day(set_, day) or [], max_memory_gib=max_memory)
    from cloudsim.api import read_trace

    read_trace(sc)  # a folder that is not a PlanetLab day is refused here as by run
    hosts = sum(g.count for g in sc.hosts)
    policy = f"policy {sc.placement.policy}"
    if (rq := sc.workload.requests) is not None:
        from cloudsim.workload import AzureError, read_azure_v1

        try:
            vms = read_azure_v1(rq.path or "", rq.split).vms
        except AzureError as exc:
            raise UsageFailure(f"workload.requests.{exc.key}: {exc}") from None
        policy += f", {min(vms, rq.limit or vms):,} VMs (azure-v1 {rq.split}) from {rq.path}"
    if sc.consolidation is not None:
        from cloudsim.metrics.recorder import policy_label

        policy = f"consolidation {policy_label(sc)}"
        if sc.workload.trace is not None:
            policy += f" on trace {sc.workload.trace.path}"
    from cloudsim.engine.checks import scenario_warnings

    warned = _warn(scenario_warnings(sc))  # after every check that can fail: an error stays one line
    if strict and warned:
        raise UsageFailure(f"--strict: {warned} warning{'s' if warned > 1 else ''} (above)")
    out.print(
        f"ok: {sc.name}: {hosts} host{'s' * (hosts != 1)} in {len(sc.hosts)} group{'s' * (len(sc.hosts) != 1)}, duration {format_duration(sc.duration)}, {policy}",
        soft_wrap=True,
    )


def _warn(found: list[str]) -> int:
    """Print a scenario's warnings on stderr (``warning: ...``, one line each); how many there were."""
    for message in found:
        sys.stderr.write(f"warning: {message}\n")
    return len(found)


@app.command()
def policies() -> None:
    """List the placement policies."""
    from cloudsim.placement import POLICIES

    width = max(len(n) for n in POLICIES)
    for name, p in POLICIES.items():
        typer.echo(f"{name:<{width}}  {p.description}")


@app.command()
def explain(
    run_dir: Annotated[
        Path, typer.Argument(metavar="RUN_DIR", help="a run directory written by cloudsim run --out DIR")
    ],
    guest: Annotated[
        str, typer.Argument(metavar="GUEST", help="a guest name from the run's placements.jsonl, e.g. web-0")
    ],
    top: Annotated[int, typer.Option(min=1, help="rows of candidates and of filtered-out hosts to show")] = 10,
) -> None:
    """Why a guest went where it went: each host's filter outcome, each candidate's weighted scores per
    scorer, the winner and the runner-up (the run is replayed in this process up to the guest's arrival)."""
    from cloudsim.engine.replay import ExplainError, explain_guest

    try:
        story = explain_guest(run_dir, guest)
    except ExplainError as exc:
        raise UsageFailure(str(exc)) from None
    for table in _explain_tables(story, top):
        out.print(table, soft_wrap=isinstance(table, str))


def _explain_tables(story: Any, top: int) -> list[Any]:
    """The decision's headline, the scored candidates best first, and the hosts the filters removed."""
    from cloudsim.placement.explain import CANDIDATE, TWIN

    e, ex, names = story.entry, story.explanation, story.host_names
    where = f"placed on {e['host']}" if e.get("outcome") == "placed" else f"rejected ({e.get('reason')})"
    lines = [f"{story.guest} ({e.get('mode')}, {e.get('os')}) at t = {e.get('time_s')} s: {where}; {story.note}"]
    if ex is None:
        return [*lines, f"detail: {e.get('detail')}"]
    d = ex.decision
    if d.host is not None:
        second = "no runner-up" if d.runner_up is None else f"runner-up {names[d.runner_up]} {d.runner_up_score:.6g}"
        lines.append(f"score {d.score:.6g}, {second}" + (f", margin {ex.margin:.6g}" if ex.margin is not None else ""))
    counts = ex.filtered()
    parts = [f"{counts.get(CANDIDATE, 0)} scored"]
    parts += [f"{n} same state as an earlier empty host (not scored)" for k, n in counts.items() if k == TWIN]
    parts += [f"{n} {k.replace('_', ' ')}" for k, n in counts.items() if k not in (CANDIDATE, TWIN)]
    lines.append(f"{len(ex.hosts)} hosts: " + ", ".join(parts))
    if d.host is None:
        lines.append(f"detail: {d.detail}")
    tables: list[Any] = list(lines)
    ranked = ex.ranked()
    if ranked:
        won = "1 won, 2 is the runner-up" if len(ranked) > 1 else "1 won, the only one"
        t = Table(title=f"candidates, best first: {won} (policy {ex.policy.name})")
        for col in ("rank", "host", "total", "scorer", "raw", "norm", "weight", "points"):
            t.add_column(col, justify="left" if col in ("host", "scorer") else "right")
        for k, h in enumerate(ranked[:top], start=1):
            for j, x in enumerate(h.terms):
                head = (str(k), names[h.host], f"{h.total:.4f}") if j == 0 else ("", "", "")
                t.add_row(*head, x.scorer, f"{x.raw:.4g}", f"{x.normalised:.4f}", f"{x.weight:g}",
                          f"{x.contribution:.4f}", end_section=j == len(h.terms) - 1)  # fmt: skip
        if len(ranked) > top:
            t.caption = f"{len(ranked) - top:,} more candidates (--top)"
        tables.append(t)
    others = [h for h in ex.hosts if h.outcome != CANDIDATE]
    if others:
        f = Table(title="hosts not scored: what the guest would reserve there and what is free")
        for col in ("host", "outcome", "cpu MIPS", "memory MiB"):
            f.add_column(col, justify="left" if col in ("host", "outcome") else "right")
        for h in others[:top]:
            what = f"same state as {names[h.twin_of]}" if h.twin_of is not None else h.outcome
            what += f" ({h.why})" if h.why else ""
            f.add_row(names[h.host], what, f"{h.cpu_requested_mips:,.0f} / {h.cpu_free_mips:,.0f}",
                      f"{h.mem_requested_mib:,.0f} / {h.mem_free_mib:,.0f}")  # fmt: skip
        if len(others) > top:
            f.caption = f"{len(others) - top:,} more hosts (--top)"
        tables.append(f)
    return tables


scenarios_app = Typer(invoke_without_command=True)  # its help: the callback's docstring
app.add_typer(scenarios_app, name="scenarios")


@scenarios_app.callback()
def scenarios(ctx: typer.Context) -> None:
    """List the built-in scenarios and the data each needs (✓ in the cache, ✗ not yet: fetch it);
    `cloudsim scenarios show NAME` prints one to save and edit."""
    if ctx.invoked_subcommand is not None:
        return
    from cloudsim.data import needs
    from cloudsim.scenario import read_base

    names = builtin_names()
    needed = {name: ", ".join(n.label for n in needs(read_base(name))) or "—" for name in names}
    width, nw = max(len(n) for n in names), max(len(n) for n in needed.values())
    typer.echo(f"{'scenario':<{width}}  {'needs':<{nw}}  description")
    for name in names:
        typer.echo(f"{name:<{width}}  {needed[name]:<{nw}}  {builtin_description(name)}")


# --------------------------------------------------------------------------------------------- data

data_app = Typer(
    help="Trace data in a local cache: PlanetLab days and the Azure V1 requests, fetched with checksums.",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")

#: ``--cache``: the data cache folder.
CacheOption = Annotated[
    Path | None,
    typer.Option(
        "--cache",
        metavar="DIR",
        help="the cache folder (default: $CLOUDSIM_DATA, else $XDG_CACHE_HOME/cloudsim, else ~/.cache/cloudsim)",
    ),
]


@data_app.command("fetch")
def data_fetch(
    dataset: Annotated[str, typer.Argument(metavar="DATASET", help="the data set: planetlab or azure-v1")],
    from_: Annotated[
        Path | None,
        typer.Option(
            "--from",
            metavar="DIR",
            help="import a local copy instead of downloading: the folder of day folders (planetlab) or of maps/ "
            "and traces/ (azure-v1)",
        ),
    ] = None,
    day: Annotated[
        list[str] | None,
        typer.Option(metavar="DAY", help="planetlab: only this day (YYYYMMDD); repeat (default: all ten)"),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(metavar="URL", help="download this tar.gz (a mirror of the published archive) instead"),
    ] = None,
    cache: CacheOption = None,
    force: Annotated[bool, typer.Option("--force", help="replace what the cache holds already")] = False,
) -> None:
    """Put a data set in the cache: downloaded from its published source (or --from a local copy), checked
    against the checksums shipped with cloudsim, then moved into place; a mismatch writes nothing."""
    from cloudsim import data

    if from_ is not None and url is not None:
        raise UsageFailure("--from: imports a local copy; give either --from DIR or --url URL")
    if url is not None and not url.strip():
        raise UsageFailure("--url: empty; give the address of a tar.gz (http:// or https://), or leave --url out")
    step = [0]

    def progress(read: int) -> None:
        if read == 0:
            err.print(f"{dataset}: downloading {url or data.dataset(dataset).url}", highlight=False, soft_wrap=True)
        elif read >= step[0] + 4 * 2**20:
            step[0] = read
            err.print(f"{dataset}: {read / 2**20:,.0f} MiB read", highlight=False)

    try:
        done = data.fetch(dataset, data.cache_dir(cache), source=from_, url=url, parts=day, force=force,
                          progress=progress)  # fmt: skip
    except data.DataError as exc:
        raise UsageFailure(str(exc)) from None
    n = len(done.installed)
    what = f"{n} day{'s' * (n != 1)}" if done.installed != ("",) else "its files"
    installed = f"{what} ({done.bytes:,} bytes, checksums ok) into {done.folder}" if done.installed else "nothing new"
    kept = f"; {len(done.kept)} days already there (--force replaces them)" if done.kept else ""
    kept = "; already there (--force replaces it)" if done.kept == ("",) else kept
    out.print(f"{dataset}: {installed}{kept}", highlight=False, soft_wrap=True)


@data_app.command("list")
def data_list(
    cache: CacheOption = None,
    verify: Annotated[bool, typer.Option("--verify", help="re-check the cached files against their checksums")] = False,
) -> None:
    """Each data set: whether it is in the cache, where, its size, its source and licence."""
    from cloudsim import data

    folder = data.cache_dir(cache)
    out.print(f"data cache: {folder}", highlight=False, soft_wrap=True)
    failed = []
    for name, ds in data.DATASETS.items():
        st = data.status(name, folder)
        present = "✓" if st.complete else "✗"
        if ds.part_names != [""]:
            present += f" {len(st.present)}/{len(ds.parts)} days"
        if verify and st.present:
            bad = [p for p, ok in data.verify(name, folder).items() if not ok]
            failed += [f"{name} {p}".strip() for p in bad]
            present += f", {'checksum MISMATCH' if bad else 'checksums ok'}"
        where = str(st.folder) if st.present else f"not fetched: cloudsim data fetch {name}"
        out.print(f"{name:<10} {present}  {st.bytes / 2**20:.1f} MiB  {where}", highlight=False, soft_wrap=True)
        for line in (ds.title, f"source: {ds.source}", f"licence: {ds.licence}", f"cite: {ds.citation}"):
            out.print(f"{'':<10} {line}", highlight=False, soft_wrap=True)
    if failed:
        raise UsageFailure(f"--verify: checksum mismatch in {', '.join(failed)}; fetch again with --force", 1)


@scenarios_app.command("show")
def scenarios_show(
    name: Annotated[str, typer.Argument(metavar="NAME", help="a built-in scenario (see `cloudsim scenarios`)")],
) -> None:
    """Print a built-in scenario as YAML, its comments kept: save it to a file, edit it, run the file.

    For example: cloudsim scenarios show quickstart > my.yaml"""
    from cloudsim.scenario import builtin_text

    try:
        text = builtin_text(name)
    except KeyError as exc:
        raise UsageFailure(f"NAME: {exc.args[0]}") from None
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command()
def init(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="the file to write")] = Path("scenario.yaml"),
    force: Annotated[bool, typer.Option("--force", help="replace the file if it exists")] = False,
) -> None:
    """Write a starter scenario: a small data centre and workload, every section explained in comments with
    its allowed values. Check it with `cloudsim validate PATH`, run it with `cloudsim run PATH`."""
    from cloudsim.scenario import starter_text

    if path.is_dir():
        raise UsageFailure(
            f"PATH: {str(path)!r} is a directory; give a file name such as {str(path / 'scenario.yaml')!r}"
        )
    if os.path.lexists(path) and not force:  # (a dangling link too: writing would replace it)
        raise UsageFailure(f"PATH: {str(path)!r} exists; choose another name, or add --force to replace it")
    with _writing("PATH", path):
        path.parent.mkdir(parents=True, exist_ok=True)  # (as --out, --openmetrics and compare --out do)
        with atomic_open(path) as fh:
            fh.write(starter_text(str(path)))
    quoted = shlex.quote(str(path))
    typer.echo(f"wrote {path}; check it with `cloudsim validate {quoted}`, run it with `cloudsim run {quoted}`")


# ------------------------------------------------------------------------------------------ packing

bench_app = Typer(
    help="Benchmarks: packing quality against known optima; consolidation policies on PlanetLab days; the "
    "engine's CPU time locally and on Ray.",
    no_args_is_help=True,
)
app.add_typer(bench_app, name="bench")


def _packing_policy(name: str) -> str:
    from cloudsim.packing.engine import check_policy

    try:
        return check_policy(name)
    except KeyError as exc:
        raise UsageFailure(f"--policy: {exc.args[0]}") from None


def _finite_time_limit(seconds: float) -> None:
    """``--time-limit inf`` searched for ever (the search paces itself by the limit): refused."""
    if not seconds < float("inf"):
        raise UsageFailure(f"--time-limit: a finite number of seconds >= 0, got {seconds}")


@app.command()
def pack(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="a BPPLIB text instance or a VPSolver .vbp instance")],
    fmt: Annotated[
        str | None, typer.Option("--format", metavar="bpplib|vbp", help="bpplib or vbp (default: by extension)")
    ] = None,
    policy: Annotated[str, typer.Option(metavar="NAME", help="packing policy, one of those above")] = "search",
    time_limit: Annotated[float, typer.Option(metavar="SECONDS", min=0.0, help="seconds for the search policy")] = 1.0,
    seed: Annotated[int, typer.Option(metavar="N", help="seed of the search")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Pack one bin packing instance and print the bins used, the lower bound, the time the packing took,
    and the CPU time of the whole command (start-up, imports and loading the compiled kernels included).

    Policies: first-fit, best-fit, ffd, bfd, ffd-max, ffd-l2, bfd-max, bfd-l2, dot-product, l2-norm, mbs,
    portfolio, search (default)."""
    from cloudsim.packing.engine import pack as run_pack
    from cloudsim.packing.engine import warm_up
    from cloudsim.packing.instance import PackingFormatError, read_instance

    _packing_policy(policy)
    _finite_time_limit(time_limit)
    try:
        inst = read_instance(file, fmt)
    except PackingFormatError as exc:
        raise UsageFailure(str(exc)) from None
    t0 = time.process_time()
    warm_up([policy])
    if (compiled := time.process_time() - t0) > 1.0:  # loading them from the cache takes a fraction of that
        err.print(
            f"compiled the packing kernels: {compiled:.1f} s CPU (once after an install or upgrade; later runs "
            "load them from numba's cache)",
            highlight=False,
            soft_wrap=True,
        )
    result = run_pack(inst, policy, time_limit, seed)
    cpu_s = time.process_time()  # this process since it started
    if json_out:
        sys.stdout.write(json.dumps({**result.to_json(), "process_cpu_s": round(cpu_s, 3)}) + "\n")
        return
    proven = " (optimal: equals the lower bound)" if result.proven_optimal else ""
    typer.echo(
        f"{inst.name}: {inst.n} items, {inst.dims} dimension(s): {result.bins} bins{proven}; "
        f"lower bound {result.lower_bound}; policy {policy}; packing {result.time_s:.3g} s, "
        f"whole command {cpu_s:.2f} s CPU"
    )


@bench_app.command("packing")
def bench_packing(
    data_dir: Annotated[
        Path, typer.Argument(metavar="DATA_DIR", help="folder with the benchmark sets (e.g. shared/data/binpacking)")
    ],
    optima: Annotated[
        Path, typer.Option(metavar="CSV", help="optima.csv: set, instance, opt_or_best, is_proven_optimal")
    ],
    sets: Annotated[
        str | None, typer.Option(metavar="SET,...", help="comma-separated sets (default: all in optima.csv)")
    ] = None,
    policy: Annotated[list[str] | None, typer.Option(metavar="NAME", help="packing policy; repeat to compare")] = None,
    time_limit: Annotated[
        float, typer.Option(metavar="SECONDS", min=0.0, help="seconds per instance for search")
    ] = 1.0,
    limit: Annotated[int | None, typer.Option(metavar="N", min=1, help="at most this many instances per set")] = None,
    out_csv: Annotated[
        Path | None, typer.Option("--out", metavar="CSV", help="per-instance rows (CSV), written as they finish")
    ] = None,
) -> None:
    """Run packing policies over benchmark sets and print, per set and policy: instances, share at the
    optimum (or best known), mean and max gap, median and max time per instance."""
    from cloudsim.packing import bench

    policies = [_packing_policy(p) for p in (policy or ["ffd", "bfd", "search"])]
    _finite_time_limit(time_limit)
    chosen = [s.strip() for s in sets.split(",")] if sets else None
    writer = None
    if out_csv is not None:
        with _writing("--out", out_csv):
            writer = bench.RowWriter(out_csv)

    def tick(o: bench.Outcome) -> None:
        if writer is not None and out_csv is not None:
            with _writing("--out", out_csv):  # (the rows written so far stay)
                writer.write(o)
        if writer is not None and writer.count % 100 == 0:
            err.print(f"{writer.count} runs...", highlight=False)

    try:
        outcomes = bench.run(data_dir, optima, chosen, policies, time_limit, limit, tick)
    except bench.BenchError as exc:
        raise UsageFailure(str(exc)) from None
    finally:
        if writer is not None:
            with contextlib.suppress(OSError):  # (a write that failed is told above)
                writer.close()
    table = Table(title=f"packing benchmark · time limit {time_limit:g} s")
    for col in (
        "set",
        "policy",
        "inst.",
        "at best",
        "below best",
        "mean gap",
        "mean gap %",
        "max gap",
        "median s",
        "max s",
    ):
        table.add_column(col, justify="left" if col in ("set", "policy") else "right", no_wrap=col == "set")
    for r in bench.summarize(outcomes):
        table.add_row(
            str(r["set"]),
            str(r["policy"]),
            str(r["instances"]),
            f"{r['at_best_pct']:.1f}%",
            str(r["below_best"]),
            f"{r['mean_gap_bins']:.2f}",
            f"{r['mean_gap_pct']:.2f}%",
            f"{r['max_gap_bins']} ({r['max_gap_pct']:.1f}%)",
            f"{r['median_time_s']:.3f}",
            f"{r['max_time_s']:.2f}",
        )
    _print_whole(table)
    if out_csv is not None:
        typer.echo(f"wrote {out_csv}")


@bench_app.command("consolidation")
def bench_consolidation(
    data_dir: Annotated[
        Path | None,
        typer.Argument(
            metavar="PLANETLAB_DIR",
            help="the PlanetLab folder with one folder per day (default: the data cache's; cloudsim data fetch planetlab)",
        ),
    ] = None,
    days: Annotated[
        str | None, typer.Option(metavar="DAY,...", help="comma-separated days (default: every day folder)")
    ] = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            metavar="SCENARIO",
            help="consolidation scenario (built-in name or file); repeat (default: the references and ours)",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", metavar="KEY=VALUE", help="override a field in every scenario")
    ] = None,
    out_csv: Annotated[
        Path | None, typer.Option("--out", metavar="CSV", help="one row per day and scenario (CSV)")
    ] = None,
    backend: Annotated[
        BackendName, typer.Option(help="local: one run after another here; ray: one Ray task per run, across a cluster")
    ] = BackendName.local,
    address: AddressOption = None,
) -> None:
    """Run consolidation scenarios on PlanetLab days: energy, migrations, SLATAH, PDM, SLAV and ESV per day
    and scenario, then our policy's ESV against the best reference policy's, day by day."""
    from cloudsim import bench

    names = list(scenario or [*bench.REFERENCE_POLICIES, bench.OURS])
    chosen = [d.strip() for d in days.split(",")] if days else None

    def tick(r: dict[str, Any]) -> None:
        err.print(f"{r['day']} {r['policy']}: ESV {r['esv']:.3e} ({r['wall_s']:.1f} s)", highlight=False)

    try:
        if backend is BackendName.ray or address is not None:
            from cloudsim.distributed import RayConnectError, ray_session, sweep

            try:
                with _ray_output_to_stderr(), ray_session(address):
                    rows = bench.run(data_dir, names, chosen, set_ or [], tick, parallel=sweep)
            except RayConnectError as exc:
                raise UsageFailure(str(exc)) from None
        else:
            rows = bench.run(data_dir, names, chosen, set_ or [], tick)
    except bench.BenchError as exc:
        raise UsageFailure(str(exc)) from None
    table = Table(title="consolidation benchmark")
    for col in ("day", "policy", "energy kWh", "migrations", "SLATAH %", "PDM %", "SLAV %", "ESV", "wall s"):
        table.add_column(col, justify="left" if col in ("day", "policy") else "right")
    for r in rows:
        table.add_row(
            r["day"], r["policy"], f"{r['energy_kwh']:.2f}", f"{r['migrations']:,}", f"{r['slatah_pct']:.3f}",
            f"{r['pdm_pct']:.4f}", f"{r['slav_pct']:.6f}", f"{r['esv']:.3e}", f"{r['wall_s']:.2f}",
        )  # fmt: skip
    _print_whole(table)
    cmp = bench.compare(rows)
    if cmp:
        t2 = Table(title="ours against the best reference policy (lowest ESV) per day")
        for col in ("day", "best reference", "its ESV", "our ESV", "ESV change", "energy kWh (ours / best)",
                    "SLAV % (ours / best)"):  # fmt: skip
            t2.add_column(col, justify="left" if col in ("day", "best reference") else "right")
        for c in cmp:
            t2.add_row(
                c["day"], c["best_reference"], f"{c['best_esv']:.3e}", f"{c['ours_esv']:.3e}",
                f"{c['esv_change_pct']:+.1f}%", f"{c['ours_energy_kwh']:.1f} / {c['best_energy_kwh']:.1f}",
                f"{c['ours_slav_pct']:.6f} / {c['best_slav_pct']:.6f}",
            )  # fmt: skip
        _print_whole(t2)
    if out_csv is not None:
        with _writing("--out", out_csv):
            bench.write_csv(out_csv, rows)
        typer.echo(f"wrote {out_csv}")


@bench_app.command("sim")
def bench_sim(
    planetlab: Annotated[
        Path | None,
        typer.Option(
            metavar="DAY_DIR",
            help="a PlanetLab day folder: time planetlab-lr-mmt on it (e.g. shared/data/planetlab/20110303)",
        ),
    ] = None,
    hosts: Annotated[
        list[int] | None,
        typer.Option(
            metavar="N",
            min=0,
            help="hosts of the synthetic data centre (0: leave it out); repeat to time several sizes and fit "
            "time to hosts^k (default: 10000)",
        ),
    ] = None,
    guests: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            min=1,
            help="guests of the synthetic data centre at the first --hosts; the others keep as many per host "
            "(default: 2 a host)",
        ),
    ] = None,
    duration: Annotated[
        str, typer.Option(metavar="DURATION", help="simulated time of the synthetic run (300s, 6h, 1d)")
    ] = "1d",
    churn: Annotated[
        float,
        typer.Option(
            metavar="DAYS",
            min=0,
            help="mean guest lifetime in days: Poisson arrivals and departures keep --guests steady (0: the "
            "guests arrive at the start and stay)",
        ),
    ] = 0.0,
    policy: Annotated[
        str, typer.Option(metavar="NAME", help="placement policy of the synthetic data centre")
    ] = "worst-fit",
    backend: Annotated[
        list[BackendName] | None, typer.Option(help="backends to time, side by side; repeat (default: local and ray)")
    ] = None,
    grain: Annotated[
        list[str] | None,
        typer.Option(
            metavar="auto|N", help="hosts per actor on Ray: auto or a number; repeat to compare grains (default: auto)"
        ),
    ] = None,
    address: AddressOption = None,
    repeat: Annotated[
        int,
        typer.Option(
            metavar="N",
            min=1,
            help="rounds: each row runs N times, a round of every backend and grain after another (this machine "
            "is noisy); the tables show each figure's median, the wall time's range, and the median of each "
            "round's ratios",
        ),
    ] = 1,
    out_csv: Annotated[
        Path | None, typer.Option("--out", metavar="CSV", help="the rows as CSV, one per run (column run)")
    ] = None,
    max_memory: MaxMemoryOption = None,
) -> None:
    """Time the engine side by side in one process: the PlanetLab LR-MMT day and a synthetic data centre with
    consolidation on, locally (one shard) and on Ray at each grain. CPU seconds count the driver and every
    actor during the run (the actors' worker start-up, Ray and imports, is its own column); the last two
    columns are the ratios of CPU and wall seconds to the first row of the same workload (in the same round,
    with --repeat). A few ticks of each kind of workload run untimed first, so no row pays for loading the
    compiled kernels."""
    import csv

    from cloudsim import bench
    from cloudsim.engine import LocalBackend
    from cloudsim.engine.core import PHASES

    backends = list(dict.fromkeys(backend or [BackendName.local, BackendName.ray]))
    grains: list[int | str] = []
    for g in grain or ["auto"]:
        if g != "auto" and not (g.isdigit() and int(g) >= 1):
            raise UsageFailure(f"--grain: auto or a whole number of hosts per actor >= 1, got {g!r}")
        grains.append(g if g == "auto" else int(g))
    cases: list[tuple[Any, Any]] = []
    if planetlab is not None:
        sc, _ = load_scenario("planetlab-lr-mmt", [f"workload.trace.path={planetlab}"])
        from cloudsim.api import read_trace

        cases.append((sc, read_trace(sc)))
    sizes = [n for n in (hosts if hosts is not None else [10_000]) if n > 0]
    per_host = 2.0 if guests is None else (guests / sizes[0] if sizes else 0.0)

    def synthetic(n: int) -> Any:
        """The synthetic data centre of ``n`` hosts, with as many guests per host as the first size."""
        return bench.synthetic_datacenter(n, max(1, round(per_host * n)), duration, churn, policy, max_memory)

    # the option a field of the synthetic scenario comes from (the memory estimate names its largest part)
    options = {"placement.policy": "--policy", "workload": "--guests", "hosts": "--hosts"}
    for n in sizes:
        try:
            cases.append((synthetic(n), None))
        except ScenarioError as exc:
            raise UsageFailure(f"{options.get(exc.path, '--duration')}: {exc.message}") from None
    if not cases:
        raise UsageFailure("--planetlab: give a PlanetLab day folder, or --hosts > 0 for the synthetic data centre")
    if len(set(sizes)) < len(sizes):
        raise UsageFailure(f"--hosts: each size once, got {', '.join(map(str, sizes))}")
    # untimed, first: the kernels loaded before any row is timed (the PlanetLab day as it is, a small synthetic
    # data centre for every size)
    warm = [c for c in cases if c[1] is not None] + ([(synthetic(8), None)] if sizes else [])
    bench.warm_up(warm)
    rows: list[dict[str, Any]] = []

    def timed(sc: Any, backend: Any, trace: Any, run: int, grain: int | str | None = None) -> None:
        """One timed run, with ``cloudsim run``'s progress bar on a terminal (a long run shows how far it is)."""
        with _Feedback(sc, err.is_terminal, f"{sc.name} {backend.name}") as feedback:
            row = bench.time_run(sc, backend, trace, grain, lambda t: feedback.progress(t, sc.duration))
        rows.append({**row, "run": run})
        n = f" (run {run} of {repeat})" if repeat > 1 else ""
        err.print(f"{row['scenario']} {row['backend']} x{row['actors']}: {row['cpu_s']} s CPU{n}", highlight=False)

    session = None
    quiet = contextlib.ExitStack()  # Ray's output to stderr while a session is open
    try:
        for sc, trace in cases:
            for run, be in itertools.product(range(1, repeat + 1), backends):
                if be is BackendName.local:
                    timed(sc, LocalBackend(), trace, run)
                    continue
                if session is None:
                    from cloudsim.distributed import RayConnectError, ray_session

                    try:
                        quiet.enter_context(_ray_output_to_stderr())
                        session = ray_session(address)
                        session.__enter__()
                    except RayConnectError as exc:
                        session = None
                        raise UsageFailure(str(exc)) from None
                from cloudsim.distributed import RayBackend

                for g in grains:
                    timed(sc, RayBackend(), trace, run, g)
    finally:
        if session is not None:
            session.__exit__(None, None, None)
        quiet.close()
    bench.ratios(rows)
    shown = bench.medians(rows) if repeat > 1 else rows
    title = "engine benchmark (CPU seconds: driver + actors during the run)"
    table = Table(title=title if repeat == 1 else f"{title}, the median of {repeat} runs")
    cols = ("scenario", "backend", "hosts_per_shard", "actors", "driver_cpu_s", "actor_cpu_s", "cpu_s",
            "actor_startup_cpu_s", "wall_s", "decisions_per_s", "migrations", "cpu_ratio", "wall_ratio")  # fmt: skip
    for c in cols:
        table.add_column(c.replace("_", " "), justify="left" if c in ("scenario", "backend") else "right")
    for r in shown:
        cells = {c: str(r[c]) for c in cols}
        if repeat > 1:
            cells["wall_s"] = f"{r['wall_s']} ({r['wall_min_s']}–{r['wall_max_s']})"
        table.add_row(*cells.values())
    _print_whole(table)
    # where each run's wall time went, by phase of the controller's loop: what bounds it
    phases = [f"{p}_s" for p in PHASES]
    shares = Table(
        title="where the wall time went (seconds, and share of the wall time)"
        + ("" if repeat == 1 else f", the median of {repeat} runs")
    )
    for c in ("scenario", "backend", "actors", *phases, "wall_s"):
        shares.add_column(c.removesuffix("_s"), justify="left" if c in ("scenario", "backend") else "right")
    for r in shown:
        share = [f"{r[c]} ({r[c] / r['wall_s']:.0%})" if r["wall_s"] else str(r[c]) for c in phases]
        shares.add_row(r["scenario"], r["backend"], str(r["actors"]), *share, str(r["wall_s"]))
    _print_whole(shares)
    for be in backends:  # how time grows with the data centre's size, one backend at a time
        points = [(r["hosts"], r["cpu_s"]) for r in shown if r.get("hosts") and r["backend"] == be.value]
        if fit := bench.growth(points):
            overall = bench.overall_growth(points)
            typer.echo(
                f"{be.value}: CPU time ∝ hosts^k, "
                + ", ".join(f"k = {k:.2f} from {a:,} to {b:,} hosts" for a, b, k in fit)
                + (f"; k = {overall:.2f} fitted over all {len(points)} sizes" if overall is not None else "")
            )
    if out_csv is not None:
        with _writing("--out", out_csv), out_csv.open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=[*cols, "energy_kwh", *phases, "run"])
            w.writeheader()
            w.writerows({k: r[k] for k in w.fieldnames} for r in rows)
        typer.echo(f"wrote {out_csv}")


@bench_app.command("sweep")
def bench_sweep(
    scenario: Annotated[
        str,
        typer.Argument(metavar="SCENARIO", help="scenario file (YAML) or built-in name (default: consolidation-demo)"),
    ] = "consolidation-demo",
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", metavar="KEY=V1,V2,...", help="the grid, as for `cloudsim sweep` (default: duration=7d, seed=1..8)"
        ),
    ] = None,
    address: AddressOption = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="DIR", help="where the two sweeps write (serial/, parallel/); default: a temporary folder"
        ),
    ] = None,
) -> None:
    """Time a sweep side by side in one process: its variants one after another here, then as Ray tasks
    across the cluster. Prints both wall times, the throughput ratio, and whether every summary is the same.
    Ray's start-up is timed on its own, outside the ratio."""
    import shutil
    import tempfile

    from cloudsim import sweep as sw

    sets = list(set_ or ["duration=7d", "seed=1..8"])
    try:
        variants = sw.plan(scenario, sets)
    except sw.SweepError as exc:
        raise UsageFailure(str(exc)) from None
    from cloudsim.distributed import RayConnectError, cluster_cpus, fan_out, ray_session

    if out_dir is not None and out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise UsageFailure(f"--out: {str(out_dir)!r} is not a new or empty folder (both sweeps must run every variant)")
    folder = out_dir if out_dir is not None else Path(tempfile.mkdtemp(prefix="cloudsim-bench-sweep-"))
    try:
        t0 = time.perf_counter()
        with ray_session(address):
            startup = time.perf_counter() - t0
            cpus = cluster_cpus()
            row = sw.time_backends(variants, folder, fan_out)
    except RayConnectError as exc:
        raise UsageFailure(str(exc)) from None
    finally:
        if out_dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    table = Table(title=f"sweep benchmark · {variants[0].scenario.name} · {' '.join(sets)}")
    for col in ("variants", "one after another s", "Ray tasks s", "throughput ×", "cluster CPUs", "Ray start-up s",
                "same summaries"):  # fmt: skip
        table.add_column(col, justify="right")
    table.add_row(
        str(row["variants"]), f"{row['serial_s']:.2f}", f"{row['parallel_s']:.2f}", f"{row['speedup']:.2f}",
        str(cpus), f"{startup:.2f}", "yes" if row["identical"] else "no",
    )  # fmt: skip
    _print_whole(table)
    if row["interrupted"]:
        err.print("interrupted: the timings above are incomplete", highlight=False)
        raise _Stopped
    if row["failed"]:
        vid, why = next(iter(row["failed"].items()))
        raise UsageFailure(f"bench sweep: variant {vid} failed: {why}", exit_code=1)
    if not row["identical"]:
        raise UsageFailure("bench sweep: the Ray tasks' summaries differ from the serial ones", exit_code=1)


def _click_exceptions(name: str) -> tuple[type[BaseException], ...]:
    """The exception class ``name`` from typer's vendored click (typer >= 0.2x) and from click itself
    (older typer), whichever exist."""
    found: list[type[BaseException]] = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            mod = __import__(module, fromlist=[name])
        except ImportError:
            continue
        if isinstance(cls := getattr(mod, name, None), type) and cls not in found:
            found.append(cls)
    return tuple(found)


_NO_ARGS = _click_exceptions("NoArgsIsHelpError")
_USAGE = _click_exceptions("UsageError")
_CLICK = _click_exceptions("ClickException")
_EXIT = (typer.Exit, *_click_exceptions("Exit"))
_ABORT = (typer.Abort, *_click_exceptions("Abort"))


class _Stopped(Exception):
    """A command stopped by SIGINT or SIGTERM that has said so on standard error: exit 130. Not a
    ``typer.Exit(130)``: typer answers a KeyboardInterrupt inside a command with that Exit, silently, so an
    exit code of 130 from typer means that no one has said a word yet."""


def _fail(message: str) -> int:
    """Print one ``error:`` line (never wrapped) and return exit code 2."""
    sys.stderr.write(f"error: {' '.join(message.split())}\n")
    return 2


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: runs the app and turns every expected failure into one line, exit 2.
    Meanwhile SIGINT and SIGTERM stop the command (a KeyboardInterrupt, which the commands handle); the
    handlers before are back when it returns, so a caller in Python keeps its own."""
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    # Ray's C++ failure handler takes SIGTERM while ray.init runs (and aborts with a stack dump); without it
    # a scheduler's SIGTERM at that moment reaches the CLI's handler like any other
    os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")
    received.clear()
    # a path name that is not UTF-8 (``$'\\xff'``, a surrogate in Python) in a line printed: escaped, not a
    # UnicodeEncodeError after the work is done (standard output is strict in a UTF-8 locale; stderr escapes)
    stdout, strict = sys.stdout, getattr(sys.stdout, "errors", None) == "strict" and hasattr(sys.stdout, "reconfigure")
    if strict:
        with contextlib.suppress(Exception):
            stdout.reconfigure(errors="backslashreplace")
    try:
        with stops_to(interrupt), lost_stops_quiet():
            return _main(argv)
    finally:
        if strict:  # (a caller in Python keeps its standard output as it was)
            with contextlib.suppress(Exception):
                stdout.reconfigure(errors="strict")


@functools.cache
def _command() -> Any:
    """The app as a click command, built once: typer rebuilds it from the functions' signatures on every call
    (about 50 ms here), which a caller in Python that runs many commands would pay each time."""
    return typer.main.get_command(app)


def _main(argv: list[str] | None) -> int:
    try:
        rv = _command()(args=argv, standalone_mode=False)
    except UsageFailure as exc:
        _fail(str(exc))
        return exc.exit_code
    except ScenarioError as exc:
        return _fail(str(exc))
    except _NO_ARGS as exc:
        ctx = getattr(exc, "ctx", None)
        sys.stdout.write((ctx.get_help() if ctx else exc.format_message()) + "\n")  # type: ignore[attr-defined]
        return 0
    except _USAGE as exc:
        ctx = getattr(exc, "ctx", None)
        words = []  # the command's words below the root: "scenarios show"
        while ctx is not None and ctx.parent is not None:
            words.insert(0, ctx.info_name or "")
            ctx = ctx.parent
        cmd = f" (see `{' '.join(['cloudsim', *words, '--help'])}`)"
        # typer checks a choice with pydantic, whose "Value error, " prefix says nothing to the user
        message = exc.format_message().replace(": Value error, ", ": ")  # type: ignore[attr-defined]
        return _fail(message + cmd)
    except _Stopped:
        return 130
    except _EXIT as exc:
        return int(getattr(exc, "exit_code", 0))
    except (*_ABORT, KeyboardInterrupt, SystemError) as exc:
        from cloudsim.engine.core import is_stop

        if isinstance(exc, SystemError) and not is_stop(exc):  # not a stop that landed in a compiled call
            raise
        return _stopped_before_start(argv)
    except _CLICK as exc:
        _fail(exc.format_message())  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", 1))
    except OSError as exc:  # a path the system refuses (too long, not a folder, no permission...): one line
        name = str(exc.filename or "")
        name = name if len(name) <= 80 else name[:40] + "…" + name[-30:]
        why = exc.strerror or type(exc).__name__
        return _fail(f"{name}: {why}" if name else f"cannot read or write a file: {why}")
    if rv == 130:  # typer's answer to a KeyboardInterrupt inside the command (see _Stopped)
        return _stopped_before_start(argv)
    return rv if isinstance(rv, int) else 0


def _stopped_before_start(argv: list[str] | None) -> int:
    sys.stderr.write(stopped_line(argv) + "\n")
    return 130


if __name__ == "__main__":
    from cloudsim._entry import exit_now

    exit_now(main())
