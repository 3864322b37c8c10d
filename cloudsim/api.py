"""``cloudsim.run``: the Python API of a run, for notebooks, scripts, sweeps and tests.

It resolves the scenario (a built-in name, a YAML file, a mapping or a :class:`Scenario`, with overrides),
reads its trace, starts or joins Ray when asked, runs the engine, shuts Ray down and writes the outputs.
``cloudsim run`` is options, progress and printing over it. :func:`cloudsim.engine.run` is its innermost
step: one validated scenario on one backend, with no scenario files, Ray sessions or outputs.

Bad input is a :class:`~cloudsim.scenario.ScenarioError` (a field of the scenario) or a :class:`UsageError`
(an argument); ``str()`` of either is the one line ``cloudsim run`` prints before exiting with code 2.
"""

from __future__ import annotations

import copy
import datetime as _dt
import os
import time
import warnings as _warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudsim.files import (
    FolderLock,
    FolderUnavailable,
    atomic_open,
    existing_folder,
    hold_folder,
    probe_writable,
    why_unwritable,
)
from cloudsim.scenario import Scenario, ScenarioError, apply_override, read_base, set_value, with_overrides

if TYPE_CHECKING:
    from cloudsim.engine import Simulation
    from cloudsim.metrics.openmetrics import Written
    from cloudsim.metrics.prom import MetricsEndpoint
    from cloudsim.metrics.recorder import Recorder, Snapshot
    from cloudsim.workload.trace import Trace

#: ``backend=``: Ray host actors, or shards in this process (the same results).
BACKENDS = ("ray", "local")

#: Summary keys that measure the wall clock: they differ between equal runs (see the README's Summary keys).
WALL_CLOCK = ("wall_time_s", "wall_time_by_phase_s", "startup_s", "total_wall_time_s")

#: The file of a run folder (``out=``) that ``checkpoint_every=`` saves the run to and ``resume=`` reads.
CHECKPOINT = "checkpoint.pkl"

#: The files of a run folder (``out=``); ``force=True`` replaces only these (and a report's).
RUN_FILES = ("summary.json", "timeseries.csv", "placements.jsonl", "metrics.jsonl", "scenario.yaml", CHECKPOINT)


class ScenarioWarning(UserWarning):
    """Something a scenario asks that will not happen as asked: a guest larger than every host it can run
    on (every such guest will be rejected), an option the scenario's kind ignores. The message is the line
    ``cloudsim validate`` prints after ``warning:``."""


class UsageError(ValueError):
    """A bad argument that is not a field of the scenario (an output folder in use, a resume folder without
    a checkpoint, an option that needs another). ``str()`` is one line naming the option as ``cloudsim run``
    spells it; ``exit_code`` is what the CLI exits with (2; 1 for a run that could not finish)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class OutputError(UsageError):
    """An output (``out=``, ``openmetrics=``) could not be written after the run. The run itself stands:
    ``result`` holds it."""

    def __init__(self, message: str, result: Result) -> None:
        super().__init__(message)
        self.result = result


class TimeSeries(dict[str, list[Any]]):
    """The per-tick time series as columns: column name -> one value per tick, in time order, the columns
    of ``timeseries.csv`` (``time_s`` in simulated seconds first; see the README's Outputs section for the
    others and their units)."""

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` of the columns, one row per tick. pandas is not a dependency of cloudsim:
        an ImportError says how to install it."""
        try:
            import pandas
        except ImportError:
            raise ImportError(
                "TimeSeries.to_pandas needs pandas, which cloudsim does not install: pip install pandas"
            ) from None
        return pandas.DataFrame(dict(self))


@dataclass
class Result:
    """What a run gives back. ``summary`` is the dict ``cloudsim run --json`` prints; ``recorder`` holds
    everything else the run recorded; ``raw`` is the scenario as run (the mapping ``scenario.yaml`` holds);
    ``written`` the files written for ``out=``, ``openmetrics`` what ``openmetrics=`` wrote."""

    summary: dict[str, Any]
    recorder: Recorder
    raw: dict[str, Any]
    written: list[Path] = field(default_factory=list)
    openmetrics: Written | None = None
    warnings: list[str] = field(default_factory=list)  # what the scenario asks that will not happen as asked

    @property
    def scenario(self) -> Scenario:
        """The validated scenario that ran."""
        return self.recorder.scenario

    @property
    def run_id(self) -> str:
        """The run label (``run`` in the summary and on every metric)."""
        return self.recorder.run_id

    @property
    def interrupted(self) -> bool:
        """Whether Ctrl-C (or SIGTERM) stopped the run early; the summary covers the time run."""
        return bool(self.summary.get("interrupted"))

    @cached_property
    def timeseries(self) -> TimeSeries:
        """The per-tick time series as columns (``.to_pandas()`` for a DataFrame); made on first use."""
        rows = self.recorder.rows
        return TimeSeries({k: [r[k] for r in rows] for k in (rows[0] if rows else ())})

    @property
    def placements(self) -> list[dict[str, Any]]:
        """The placement log: one entry per placement decision (placed or rejected, with the reasons), as
        ``placements.jsonl`` holds it."""
        return self.recorder.placement_log

    @property
    def snapshots(self) -> list[Snapshot]:
        """Every tick's metrics snapshot (what ``metrics.jsonl`` and the Prometheus endpoint show)."""
        return self.recorder.history

    def save(self, out_dir: str | Path, force: bool = False) -> list[Path]:
        """Write the run folder ``cloudsim run --out`` writes (summary.json, timeseries.csv, placements.jsonl,
        metrics.jsonl, scenario.yaml) into ``out_dir``; returns the paths. As ``--out``: a new or empty folder,
        or with ``force`` a previous run's, whose files this run's replace; never one another run writes in (a
        :class:`UsageError` otherwise)."""
        _check_arguments({"out_dir": out_dir}, {}, {})
        out = Path(out_dir)
        lock, replacing = _prepare_out(out, force)
        try:
            _remove(out, replacing)
            return write_run(out, self.summary, self.recorder, self.raw)
        finally:
            lock.release()


# ------------------------------------------------------------------------------------------------ outputs


def scenario_text(raw: Mapping[str, Any]) -> str:
    """The scenario as ``scenario.yaml`` holds it."""
    import yaml

    return yaml.safe_dump(dict(raw), sort_keys=False)


def write_scenario(out_dir: Path, raw: Mapping[str, Any]) -> Path:
    """``scenario.yaml`` in ``out_dir``, written whole or not at all."""
    path = out_dir / "scenario.yaml"
    with atomic_open(path) as fh:
        fh.write(scenario_text(raw))
    return path


def write_run(out_dir: Path, summary: dict[str, Any], recorder: Recorder, raw: Mapping[str, Any]) -> list[Path]:
    """A run folder: the scenario first and the summary last (an old summary is removed before anything
    else), so a folder with a summary always holds the whole run of the scenario beside it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").unlink(missing_ok=True)
    return [write_scenario(out_dir, raw), *recorder.write(out_dir, summary)]


def _hold_out(out_dir: Path, flag: str = "--out") -> FolderLock:
    """The run's hold on its folder (made if new): refused while another cloudsim run writes there."""
    try:
        return hold_folder(out_dir, flag, "run")
    except FolderUnavailable as exc:
        raise UsageError(str(exc)) from None


def _prepare_out(out_dir: Path, force: bool) -> tuple[FolderLock, tuple[str, ...]]:
    """Check ``out=`` before the run: a new or empty folder, or (with ``force``) a previous run's folder;
    and one this process can write in, and no other run writes in. Returns the run's hold on it
    (:class:`~cloudsim.files.FolderLock`) and the previous run's files to remove once the new run writes
    there (:func:`_remove`): not before, so a run refused or stopped before it writes keeps the old one."""
    try:
        existing_folder(out_dir, "--out")
    except FolderUnavailable as exc:
        raise UsageError(str(exc)) from None
    lock = _hold_out(out_dir)
    try:
        return lock, _check_out(out_dir, force)
    except BaseException:
        lock.release()
        raise


def _check_out(out_dir: Path, force: bool) -> tuple[str, ...]:
    """The folder's contents checked (it is made, writable and held already: :func:`_hold_out`): the names of
    a previous run's files that ``force`` replaces."""
    present = {p.name for p in out_dir.iterdir()} if out_dir.is_dir() else set()
    if present and not force:
        what = "a previous run's outputs" if present & set(RUN_FILES) else "other files"
        raise UsageError(
            f"--out: {str(out_dir)!r} already holds {what}; choose a new or empty folder, or add --force "
            "to replace a previous run"
        )
    if present and not present & set(RUN_FILES):
        raise UsageError(
            f"--out: {str(out_dir)!r} holds files that are not a cloudsim run; --force clears only a run folder"
        )
    return tuple(sorted(present & {*RUN_FILES, "report.html"}))


def _remove(out_dir: Path, names: Iterable[str]) -> None:
    """A previous run's files (``force``), removed as the new run first writes in ``out_dir``."""
    import shutil

    for name in names:
        p = out_dir / name
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink(missing_ok=True)


def _prepare_file(path: Path, flag: str) -> None:
    """Check an output file before the run (``--openmetrics``): not a folder, and its folder made and
    writable, so a long run does not fail at its end. A path that exists and is no regular file
    (``/dev/stdout``) is written as it is."""
    if path.is_dir():
        raise UsageError(f"{flag}: {str(path)!r} is a folder; give a file name such as {str(path / 'run.om')!r}")
    if path.exists() and not path.is_file():
        return
    try:
        probe_writable(path.parent)
    except OSError as exc:
        raise UsageError(f"{flag}: cannot write {str(path)!r}: {why_unwritable(exc)}") from None


# ------------------------------------------------------------------------------------------------ scenario

#: ``set=``: a mapping of dotted paths to values (taken as they are), or ``path=value`` strings (the
#: value's text parsed as YAML, as ``--set`` does).
Overrides = Mapping[str, Any] | Iterable[str]


def resolve(
    scenario: str | Path | Scenario | Mapping[str, Any],
    overrides: Overrides = (),
    *,
    seed: int | None = None,
    hosts_per_actor: int | None = None,
    max_memory_gib: float | None = None,
) -> tuple[Scenario, dict[str, Any]]:
    """The validated scenario and its raw mapping, from a built-in name, a YAML file, a mapping (as the
    YAML would hold it) or a :class:`Scenario`, after the overrides (``path=value`` strings first, in order,
    then ``hosts_per_actor``, then ``seed``). A bad field is a :class:`ScenarioError`; ``max_memory_gib``
    bounds what a run may need (default: half this machine's memory)."""
    if isinstance(overrides, str):
        overrides = [overrides]
    pairs = list(overrides.items()) if isinstance(overrides, Mapping) else [(a, None) for a in overrides]
    if isinstance(scenario, Scenario):
        if not pairs and seed is None and hosts_per_actor is None:
            return scenario, scenario.model_dump(mode="json")
        raw = scenario.model_dump(mode="json")
    elif isinstance(scenario, Mapping):
        raw = copy.deepcopy(dict(scenario))
    elif isinstance(scenario, str | Path):
        raw = read_base(scenario)
    else:
        raise UsageError(
            f"scenario: a built-in name, a YAML file, a mapping or a Scenario, not a {type(scenario).__name__}"
        )
    for path, value in pairs:
        if isinstance(overrides, Mapping):
            set_value(raw, str(path), value)
        else:
            apply_override(raw, str(path))
    if hosts_per_actor is not None:
        set_value(raw, "ray.hosts_per_actor", hosts_per_actor)
    return with_overrides(raw, (), seed, max_memory_gib)


def read_trace(sc: Scenario) -> Trace | None:
    """The scenario's trace, read before any Ray start-up (a bad folder is one line)."""
    if sc.workload.trace is None:
        return None
    from cloudsim.workload import TraceError, read_planetlab

    tr = sc.workload.trace
    try:
        return read_planetlab(tr.path, tr.limit)
    except TraceError as exc:
        raise ScenarioError("workload.trace.path", str(exc)) from None


# -------------------------------------------------------------------------------------------------- a run


@dataclass
class Prepared:
    """A run checked and ready (:func:`prepare`): the scenario resolved and validated, its trace read, the
    output folder prepared. :meth:`run` runs it; the summary's ``startup_s`` counts from ``prepare`` (``t0``,
    a ``time.perf_counter`` reading)."""

    scenario: Scenario
    raw: dict[str, Any]
    run_id: str
    backend: str
    address: str | None
    trace: Trace | None
    saved: Simulation | None
    out: Path | None
    checkpoint_every_s: float | None
    openmetrics: Path | None
    anchor: str | None
    host_series: bool
    realtime_factor: float | None
    t0: float
    #: What will not happen as the scenario asks (guests larger than every host, options its kind ignores):
    #: one line each, as ``cloudsim validate`` and ``cloudsim run`` print them after ``warning:``; none for a
    #: resumed run (they were given when it started).
    warnings: list[str] = field(default_factory=list)
    #: The hold on ``out`` (no other run writes there meanwhile), released once the outputs are written.
    lock: FolderLock | None = None
    #: A previous run's files in ``out`` (``force``), removed when this run first writes there (its
    #: ``scenario.yaml`` before the first checkpoint, else its outputs): a run refused or stopped before
    #: then keeps them.
    replacing: tuple[str, ...] = ()

    def run(
        self,
        *,
        progress: Callable[[float, float], None] | None = None,
        status: Callable[[str], None] | None = None,
        endpoint: MetricsEndpoint | None = None,
        listeners: Iterable[Callable[[Snapshot], None]] = (),
        finishing: Callable[[], None] | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> Result:
        """Run to the end (or to Ctrl-C / SIGTERM, which stop the run and keep what it computed), then shut
        Ray down and write the outputs; the hold on ``out`` is released then, whatever happened. See
        :func:`run` for the arguments."""
        try:
            return self._run(progress, status, endpoint, listeners, finishing, warn)
        finally:
            if self.lock is not None:
                self.lock.release()

    def _run(
        self,
        progress: Callable[[float, float], None] | None,
        status: Callable[[str], None] | None,
        endpoint: MetricsEndpoint | None,
        listeners: Iterable[Callable[[Snapshot], None]],
        finishing: Callable[[], None] | None,
        warn: Callable[[str], None] | None,
    ) -> Result:
        from cloudsim import engine  # engine.run looked up at call time (tests replace it)
        from cloudsim.workload import AzureError

        listeners = _checked_callbacks(progress=progress, status=status, endpoint=endpoint, listeners=listeners,
                                       finishing=finishing, warn=warn)  # fmt: skip

        sc = self.scenario
        subscribers = list(listeners)
        if endpoint is not None:
            from cloudsim.metrics.prom import SimCollector

            collector = SimCollector(sc.name, self.run_id, sc.placement.policy, self.host_series)
            endpoint.show(collector)
            subscribers.append(collector.update)
        pace = _Pace(self.realtime_factor) if self.realtime_factor is not None else None
        if pace is not None:
            subscribers.append(pace)
        session: Any = None
        private = False  # a Ray instance this run started (and shuts down)
        if self.backend == "local" and self.address is None:
            be: Any = engine.LocalBackend()
        else:
            from cloudsim.distributed import RayBackend, RayConnectError, ray_session

            try:  # (the session leaves the caller's SIGINT and SIGTERM handlers in place)
                session = ray_session(self.address, status=status)
                private = session.__enter__()["started"] == "yes" and self.address is None
            except RayConnectError as exc:
                raise UsageError(str(exc)) from None
            be = RayBackend()
        started = time.perf_counter()
        if session is not None and status is not None:
            status("Starting the host actors…")  # part of the run's own wall time (wall_time_s)
        if status is not None:
            from cloudsim._jit import run_kernels_uncached

            if run_kernels_uncached(sc):
                status("Compiling the simulation's kernels (once after an install or upgrade)…")
        if pace is not None:
            pace.start()
        wrote_scenario = False
        if self.checkpoint_every_s is not None and self.out is not None and self.saved is None:
            self._replace()
            write_scenario(self.out, self.raw)  # a resumed run reads it back
            wrote_scenario = True
        try:
            summary, recorder = engine.run(
                sc,
                be,
                run_id=self.run_id,
                trace=self.trace,
                progress=None if progress is None else (lambda t: progress(t, sc.duration)),
                listeners=subscribers,
                checkpoint=None
                if self.checkpoint_every_s is None or self.out is None
                else (self.out / CHECKPOINT, self.checkpoint_every_s),
                resume=self.saved,
                warn=warn,
            )
        except BaseException as exc:
            if wrote_scenario and not (self.out / CHECKPOINT).exists():  # no run to resume: the folder as new
                (self.out / "scenario.yaml").unlink(missing_ok=True)
            if isinstance(exc, AzureError):  # the requests of an azure-v1 workload are read as the run goes
                raise ScenarioError(f"workload.requests.{exc.key}", str(exc)) from None
            raise
        finally:
            if finishing is not None:
                finishing()
            if session is not None:
                if private and status is not None:
                    status("Shutting down the local Ray instance…")
                session.__exit__(None, None, None)
        summary = _with_times(summary, startup_s=started - self.t0, total_s=time.perf_counter() - self.t0)
        result = Result(summary, recorder, self.raw, warnings=list(self.warnings))
        self._write(result)
        return result

    def _replace(self) -> None:
        """Remove the previous run's files that ``force`` replaces, once (this run writes in ``out`` now)."""
        if self.out is not None and self.replacing:
            _remove(self.out, self.replacing)
            self.replacing = ()

    def _write(self, result: Result) -> None:
        """``out=`` and ``openmetrics=``, each file whole or not at all."""
        from cloudsim.metrics.openmetrics import AnchorError
        from cloudsim.metrics.openmetrics import write_run as write_openmetrics

        wrote_out = False
        try:
            if self.out is not None:
                self._replace()
                result.written = write_run(self.out, result.summary, result.recorder, self.raw)
                wrote_out = True
                if not result.interrupted:
                    (self.out / CHECKPOINT).unlink(missing_ok=True)  # a finished run needs none
            if self.openmetrics is not None:
                from cloudsim.metrics.families import run_families

                sc, rec = result.scenario, result.recorder
                frames = [(x.time_s, run_families(x, sc.placement.policy)) for x in rec.history]
                result.openmetrics = write_openmetrics(
                    self.openmetrics, frames, sc.name, rec.run_id, self.anchor, sc.duration, self.host_series
                )
        except AnchorError as exc:
            raise OutputError(str(exc), result) from None
        except OSError as exc:
            flag, where = (
                ("--out", self.out) if self.out is not None and not wrote_out else ("--openmetrics", self.openmetrics)
            )
            raise OutputError(
                f"{flag}: cannot write {str(where)!r}: {why_unwritable(exc)}; the summary above is the run's result",
                result,
            ) from None


def _with_times(summary: dict[str, Any], startup_s: float, total_s: float) -> dict[str, Any]:
    """The summary with ``startup_s`` and ``total_wall_time_s`` right after ``wall_time_s``."""
    timed: dict[str, Any] = {}
    for k, v in summary.items():
        timed[k] = v
        if k == "wall_time_s":
            timed["startup_s"] = round(startup_s, 3)
            timed["total_wall_time_s"] = round(total_s, 3)
    return timed


class _Pace:
    """A listener that sleeps until the wall clock catches up with simulated time / ``factor``."""

    def __init__(self, factor: float) -> None:
        self.factor = factor
        self.wall0 = time.perf_counter()

    def start(self) -> None:
        """Simulated time 0 is now (the run starts, Ray's start-up behind it)."""
        self.wall0 = time.perf_counter()

    def __call__(self, snapshot: Snapshot) -> None:
        ahead = snapshot.time_s / self.factor - (time.perf_counter() - self.wall0)
        if ahead > 0:
            time.sleep(ahead)


def _check_arguments(
    paths: Mapping[str, object], texts: Mapping[str, object], positives: Mapping[str, tuple[object, str]]
) -> None:
    """A :class:`UsageError` for an argument of the wrong type (``out=123``), named as ``cloudsim run``'s
    option, before anything else reads it: paths (text or ``os.PathLike``), texts, positive finite numbers
    (each with what it counts)."""
    for flag, v in paths.items():
        if v is not None and not isinstance(v, str | os.PathLike):
            raise UsageError(f"{flag}: a path, not {type(v).__name__} {v!r}")
    for flag, v in texts.items():
        if v is not None and not isinstance(v, str):
            raise UsageError(f"{flag}: text, not {type(v).__name__} {v!r}")
    for flag, (v, unit) in positives.items():
        number = isinstance(v, int | float) and not isinstance(v, bool)
        if v is not None and not (number and 0 < v < float("inf")):  # type: ignore[operator]
            raise UsageError(f"{flag}: must be a positive number of {unit}, got {v!r}")


def _checked_callbacks(**callbacks: Any) -> list[Callable[[Snapshot], None]]:
    """The ``listeners`` as a list, once every callback is checked: a :class:`UsageError` for one that cannot
    be called (``progress=5``), before the run starts. Each is a function or ``None``; ``listeners`` an
    iterable of functions; ``endpoint`` a ``MetricsEndpoint``."""
    listeners = callbacks["listeners"]
    if isinstance(listeners, Iterable) and not isinstance(listeners, str | bytes):
        callbacks["listeners"] = listeners = list(listeners)  # (a generator is read once, here)
    for name, fn in callbacks.items():
        if name == "listeners":
            if not isinstance(fn, list) or not all(callable(f) for f in fn):
                raise UsageError(f"listeners: a list of functions (each given a Snapshot), not {fn!r}")
        elif name == "endpoint":
            from cloudsim.metrics.prom import MetricsEndpoint

            if fn is not None and not isinstance(fn, MetricsEndpoint):
                raise UsageError(f"endpoint: a cloudsim.MetricsEndpoint, not {type(fn).__name__}")
        elif fn is not None and not callable(fn):
            raise UsageError(f"{name}: a function, not {type(fn).__name__} {fn!r}")
    return listeners


def prepare(
    scenario: str | Path | Scenario | Mapping[str, Any] | None = None,
    *,
    set: Overrides = (),
    seed: int | None = None,
    backend: str = "ray",
    address: str | None = None,
    hosts_per_actor: int | None = None,
    run_id: str | None = None,
    out: str | Path | None = None,
    force: bool = False,
    openmetrics: str | Path | None = None,
    anchor: str | None = None,
    host_series: bool = True,
    checkpoint_every: str | float | None = None,
    resume: str | Path | None = None,
    max_memory_gib: float | None = None,
    realtime_factor: float | None = None,
) -> Prepared:
    """Check a run before it starts: every bad argument or field is found here, before Ray starts or a
    simulated second passes. Prepares ``out`` (which it creates, or clears with ``force``) and reads the
    scenario's trace. See :func:`run` for the arguments; :meth:`Prepared.run` runs it."""
    t0 = time.perf_counter()
    import cloudsim.engine  # noqa: F401  loaded before ``out`` is made: a signal meanwhile leaves no empty folder

    if backend not in BACKENDS:
        raise UsageError(f"backend: {backend!r} is not one of {', '.join(BACKENDS)}")
    _check_arguments(
        {"--out": out, "--openmetrics": openmetrics, "--resume": resume},
        {"--run-id": run_id, "--address": address, "--anchor": anchor},
        {
            "--max-memory": (max_memory_gib, "GiB"),
            "--realtime-factor": (realtime_factor, "simulated seconds per second"),
        },
    )
    out_dir = Path(out) if out is not None else None
    every_s: float | None = None
    if checkpoint_every is not None:
        from cloudsim.scenario.schema import parse_duration

        try:
            every_s = parse_duration(checkpoint_every)
        except ValueError as exc:
            raise UsageError(f"--checkpoint-every: {exc}") from None
        if not every_s > 0 or (out_dir is None and resume is None):
            raise UsageError("--checkpoint-every: a positive duration, with --out DIR (the checkpoint goes there)")
    saved = None
    if resume is not None:
        if scenario is not None or set or seed is not None or hosts_per_actor is not None or out_dir is not None:
            raise UsageError("--resume: continues a saved run as it was; give no scenario, --set, --seed or --out")
        resume = Path(resume)
        checkpoint = resume / CHECKPOINT
        if not checkpoint.is_file():
            raise UsageError(f"--resume: no {CHECKPOINT} in {str(resume)!r} (run with --out DIR --checkpoint-every)")
        import yaml

        from cloudsim.engine import LocalBackend, Simulation
        from cloudsim.engine.simulation import StaleCheckpoint

        try:
            saved = Simulation.resume(checkpoint, LocalBackend())
            raw = yaml.safe_load((resume / "scenario.yaml").read_text(encoding="utf-8"))
        except StaleCheckpoint as exc:
            raise UsageError(f"--resume: {exc}") from None
        except Exception as exc:  # a file that is not our checkpoint: one line
            raise UsageError(
                f"--resume: {str(checkpoint)!r} is not a cloudsim checkpoint ({type(exc).__name__})"
            ) from None
        sc, rid, out_dir = saved.scenario, saved.recorder.run_id, resume
    elif scenario is None:
        raise UsageError("SCENARIO: give a scenario file or built-in name (or --resume DIR)")
    else:
        sc, raw = resolve(scenario, set, seed=seed, hosts_per_actor=hosts_per_actor, max_memory_gib=max_memory_gib)
        rid = run_id or f"{sc.name}-{sc.seed}-{_dt.datetime.now(_dt.UTC).strftime('%Y%m%dT%H%M%S')}"
    if anchor is not None and openmetrics is None:
        raise UsageError("--anchor: places the --openmetrics output in time, so it needs --openmetrics FILE")
    if openmetrics is not None:
        from cloudsim.metrics.openmetrics import AnchorError, parse_anchor

        try:
            parse_anchor(anchor, sc.duration)  # checked now, so a long run does not fail at the end
        except AnchorError as exc:
            raise UsageError(str(exc)) from None
        _prepare_file(Path(openmetrics), "--openmetrics")
    if force and out_dir is None:
        raise UsageError("--force: replaces a previous run's outputs, so it needs --out DIR")
    lock = _hold_out(resume, "--resume") if saved is not None else None
    replacing: tuple[str, ...] = ()
    if out_dir is not None and resume is None:
        lock, replacing = _prepare_out(out_dir, force)
    try:
        trace = None if saved is not None else read_trace(sc)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    return Prepared(
        scenario=sc,
        raw=raw,
        run_id=rid,
        backend=backend,
        address=address,
        trace=trace,
        saved=saved,
        out=out_dir,
        checkpoint_every_s=every_s,
        openmetrics=Path(openmetrics) if openmetrics is not None else None,
        anchor=anchor,
        host_series=host_series,
        realtime_factor=realtime_factor,
        t0=t0,
        warnings=[] if saved is not None else _scenario_warnings(sc),  # a resumed run warned when it started
        lock=lock,
        replacing=replacing,
    )


def _scenario_warnings(sc: Scenario) -> list[str]:
    from cloudsim.engine.checks import scenario_warnings

    return scenario_warnings(sc)


def run(
    scenario: str | Path | Scenario | Mapping[str, Any] | None = None,
    *,
    set: Overrides = (),
    seed: int | None = None,
    backend: str = "ray",
    address: str | None = None,
    hosts_per_actor: int | None = None,
    run_id: str | None = None,
    out: str | Path | None = None,
    force: bool = False,
    openmetrics: str | Path | None = None,
    anchor: str | None = None,
    host_series: bool = True,
    checkpoint_every: str | float | None = None,
    resume: str | Path | None = None,
    max_memory_gib: float | None = None,
    progress: Callable[[float, float], None] | None = None,
    status: Callable[[str], None] | None = None,
    endpoint: MetricsEndpoint | None = None,
    realtime_factor: float | None = None,
    listeners: Iterable[Callable[[Snapshot], None]] = (),
    finishing: Callable[[], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> Result:
    """Run a scenario and return its :class:`Result` (``.summary``, ``.timeseries``, ``.placements``,
    ``.save(dir)``). What ``cloudsim run`` does, option for option.

    * ``scenario``: a built-in name, a YAML file, a mapping as the YAML would hold it, or a :class:`Scenario`.
    * ``set``: overrides, ``{"placement.policy": "worst-fit", "hosts[0].count": 8}`` (values as they are) or
      ``["placement.policy=worst-fit"]`` (text parsed as YAML, as ``--set``); ``seed``, ``hosts_per_actor``
      override those fields; ``max_memory_gib``: GiB the run may need (default: half this machine's memory).
    * ``backend``: ``"ray"`` (host actors on a private local Ray instance, or the cluster at ``address``;
      the default, as on the command line) or ``"local"`` (in this process). Both give the same summary.
    * ``run_id``: the run label (default: scenario-seed-timestamp).
    * ``out``: write the run folder (summary.json, timeseries.csv, placements.jsonl, metrics.jsonl,
      scenario.yaml) there: a new or empty folder, or a previous run's with ``force=True``.
      ``checkpoint_every`` (``"30m"`` or seconds): save the run to ``out/checkpoint.pkl`` as it goes (a
      checkpoint that cannot be written, a full disk say, does not stop the run: ``warn(text)`` is told in
      one line, by default as a Python ``RuntimeWarning``, and the next is tried an interval later);
      ``resume``: continue the run saved in that folder (give no scenario then).
    * ``openmetrics``: also write the run as OpenMetrics for Prometheus backfill, placed in time by
      ``anchor`` (``auto``, ``now-6h`` or ISO); ``host_series``: include the bounded per-host view there and
      on the endpoint.
    * ``progress(done_s, total_s)``: called as simulated time passes (seconds). ``status(text)``: what the
      run does while no simulated time passes: "Starting a local Ray instance (2 CPUs)…" (or "Connecting to
      Ray at ADDR…"), "Starting the host actors…", and after the run "Shutting down the local Ray
      instance…" when it started one; nothing on the local backend. ``endpoint``: a :class:`~cloudsim.metrics.prom.MetricsEndpoint` to serve the
      run's metrics on (the caller closes it). ``realtime_factor``: pace the run to that many simulated
      seconds per wall-clock second. ``listeners``: called with each tick's metrics snapshot.
      ``finishing()``: called once the simulation has ended, before Ray shuts down and the outputs are
      written (the CLI makes later signals wait from there).

    Ctrl-C stops the run and keeps what it computed (``result.interrupted``). The summary's ``wall_time_s``
    is the simulation's own time; ``startup_s`` the time from this call to the simulation's start (reading
    the scenario and trace, starting or joining Ray); ``total_wall_time_s`` from this call to the end of the
    run, Ray's shutdown included (the outputs are written after). Bad input raises :class:`ScenarioError`
    or :class:`UsageError`; an output that cannot be written, :class:`OutputError` (with the result). What
    the scenario asks that will not happen as asked is a :class:`ScenarioWarning` (Python's ``warnings``,
    before the run starts) and stays in ``result.warnings``."""
    listeners = _checked_callbacks(  # before prepare makes the --out folder
        progress=progress, status=status, endpoint=endpoint, listeners=listeners, finishing=finishing, warn=warn
    )
    job = prepare(
        scenario,
        set=set,
        seed=seed,
        backend=backend,
        address=address,
        hosts_per_actor=hosts_per_actor,
        run_id=run_id,
        out=out,
        force=force,
        openmetrics=openmetrics,
        anchor=anchor,
        host_series=host_series,
        checkpoint_every=checkpoint_every,
        resume=resume,
        max_memory_gib=max_memory_gib,
        realtime_factor=realtime_factor,
    )
    for message in job.warnings:
        _warnings.warn(message, ScenarioWarning, stacklevel=2)
    return job.run(
        progress=progress,
        status=status,
        endpoint=endpoint,
        listeners=listeners,
        finishing=finishing,
        warn=warn,
    )
