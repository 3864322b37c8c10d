"""Parameter sweeps: a scenario run over the cartesian product of ``--set`` values, one output folder per
variant, one CSV row per variant and a comparison page. ``cloudsim sweep`` is a thin layer over this
module; the fan-out across a Ray cluster is :func:`cloudsim.distributed.fan_out` (passed in as
``parallel``, so this module never imports Ray).

A grid is written as ``--set KEY=V1,V2,...`` (one axis per key; ``a..b`` is an inclusive integer range, and
commas inside brackets, braces or quotes do not split). A ``--set`` with one value is a setting every
variant shares. Every variant is validated before anything runs.

A variant is complete when its folder holds a ``summary.json`` of a finished run and a ``scenario.yaml``
equal to the variant's scenario; a sweep run again on the same folder skips complete variants, so an
interrupted sweep loses nothing that finished.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import yaml

from cloudsim import api
from cloudsim.api import WALL_CLOCK, Result, scenario_text, write_run
from cloudsim.engine.core import is_stop
from cloudsim.files import (
    FolderLock,
    FolderUnavailable,
    atomic_open,
    existing_folder,
    finite,
    hold_folder,
    why_unwritable,
)
from cloudsim.scenario import Scenario, ScenarioError, read_base, with_overrides

#: The largest grid a sweep accepts (variants).
MAX_VARIANTS = 10_000
#: The most variants the comparison page shows side by side (a page of more is unreadable; sweep.csv has all).
COMPARE_LIMIT = 12
#: Longest variant folder name before it is shortened (with a hash of the whole name).
MAX_ID_CHARS = 120
#: Summary keys in ``sweep.csv`` after the axes: the headline figures of a run, then those of a
#: consolidation run (when any variant has them), then the wall time.
HEADLINE = (
    "guests.submitted",
    "guests.placed",
    "guests.rejected",
    "hosts.active_mean",
    "hosts.active_max",
    "packing_efficiency.mean",
    "consolidation_ratio.mean",
    "consolidation_ratio.final",
    "utilization.cpu_mean",
    "utilization.memory_mean",
    "energy_kwh",
    "sla.cpu_shortfall_ratio",
    "migrations",
)
CONSOLIDATION = ("sla.slatah_pct", "sla.pdm_pct", "sla.slav_pct", "esv", "hosts.shutdowns")
MARKER = "sweep.json"

_RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._,=+\-]")


class SweepError(ValueError):
    """Bad sweep input (the grid, the output folder); the message is the one line the CLI prints."""


@dataclass(frozen=True)
class Axis:
    """One ``--set``: a dotted key and its values as given (ranges expanded)."""

    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Variant:
    """One point of the grid: its folder name, its value on each axis of more than one value, the
    overrides that make it (every ``--set``, in the order given), the validated scenario and the raw
    mapping it came from (written as ``scenario.yaml``)."""

    id: str
    settings: tuple[tuple[str, str], ...]
    overrides: tuple[str, ...]
    scenario: Scenario = field(compare=False)
    raw: dict[str, Any] = field(compare=False)


@dataclass
class SweepResult:
    """What a sweep did: the summaries of the complete variants (by id, skipped ones included), the ids run
    now, skipped, and failed (with the first line of the error), whether it was interrupted, and the files
    written."""

    variants: list[Variant]
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False
    unwritable: str = ""  # why the sweep stopped at a write that failed (a full disk): the folder and the cause
    csv_path: Path | None = None
    page: Path | None = None
    page_note: str = ""


class _Unwritable(Exception):
    """A variant's folder could not be written: the sweep stops there, as at Ctrl-C, and says why."""


# ------------------------------------------------------------------------------------------------ the grid


def split_values(text: str) -> list[str]:
    """The comma-separated values of one ``--set``; a comma inside ``[]``, ``{}`` or quotes is part of a
    value (``{cpu: 2, memory: 1},{cpu: 1}`` is two values)."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _range(text: str) -> tuple[int, int] | None:
    m = _RANGE.match(text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def parse_axes(sets: Iterable[str]) -> list[Axis]:
    """One :class:`Axis` per ``--set KEY=V1,V2,...``, in the order given. Ranges are counted before they
    are expanded, so an absurd grid is refused without building it."""
    raw_axes: list[tuple[str, list[str]]] = []
    for assignment in sets:
        key, sep, text = assignment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError(f"--set {assignment}", "expected dotted.path=value, e.g. placement.policy=worst-fit")
        if any(k == key for k, _ in raw_axes):
            raise SweepError(f"--set {key}: given twice; give all the values of an axis in one --set KEY=V1,V2")
        pieces = split_values(text) if "," in text or _range(text) else [text]
        if len(pieces) > 1 and any(not p for p in pieces):
            raise SweepError(f"--set {key}: an empty value in {text!r}; separate values with single commas")
        raw_axes.append((key, pieces))
    total = 1
    for key, pieces in raw_axes:
        count = 0
        for p in pieces:
            if (r := _range(p)) is not None:
                if r[0] > r[1]:
                    raise SweepError(f"--set {key}: empty range {p!r}; a..b needs a <= b (both included)")
                count += r[1] - r[0] + 1
            else:
                count += 1
        total *= count
        if total > MAX_VARIANTS:
            raise SweepError(
                f"--set: the grid has more than {MAX_VARIANTS:,} variants (at {key}); split the sweep or use fewer values"
            )
    axes = []
    for key, pieces in raw_axes:
        values: list[str] = []
        for p in pieces:
            r = _range(p)
            values += [str(v) for v in range(r[0], r[1] + 1)] if r is not None else [p]
        seen: dict[str, str] = {}  # each value as the scenario reads it (YAML: 01 is 1) -> as given
        for v in values:
            if (same := seen.get(read := _as_read(v))) is not None:
                why = "given twice" if same == v else f"is the same value as {same!r}; give each value once"
                raise SweepError(f"--set {key}: value {v!r} {why}")
            seen[read] = v
        axes.append(Axis(key, tuple(values)))
    return axes


def _as_read(text: str) -> str:
    """A ``--set`` value as the scenario reads it (YAML), to compare two values; the text when YAML cannot."""
    if text.isascii() and text.isdigit() and (text == "0" or text[0] != "0"):
        return text  # an integer as JSON writes it (the values of a range, quickly)
    try:
        return json.dumps(yaml.safe_load(text), sort_keys=True)
    except (yaml.YAMLError, TypeError, ValueError):
        return text


def _short_names(keys: Sequence[str]) -> dict[str, str]:
    """The shortest dotted suffix of each key that no other key ends with (``placement.policy`` ->
    ``policy``; ``hosts[0].count`` and ``hosts[1].count`` keep their whole paths)."""
    names = {}
    for key in keys:
        parts = key.split(".")
        for n in range(1, len(parts) + 1):
            name = ".".join(parts[-n:])
            if all(other == key or not (other == name or other.endswith("." + name)) for other in keys):
                break
        names[key] = name
    return names


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def variant_ids(settings: Sequence[tuple[tuple[str, str], ...]]) -> list[str]:
    """Folder names for the variants: ``policy=best-fit,seed=1`` (axis names shortened as far as they stay
    distinct), made safe for a file system (characters other than letters, digits and ``._,=+-`` become
    ``_``); a name too long, or one that two variants would share once made safe, gets a hash of the whole
    setting. A grid of one variant is ``base``."""
    keys = [k for k, _ in settings[0]] if settings else []
    names = _short_names(keys)
    plain = [",".join(f"{names[k]}={v}" for k, v in s) or "base" for s in settings]
    safe = [_UNSAFE.sub("_", p) for p in plain]
    taken: dict[str, int] = {}
    for s in safe:
        taken[s] = taken.get(s, 0) + 1
    out = []
    for p, s in zip(plain, safe, strict=True):
        if taken[s] > 1 or len(s) > MAX_ID_CHARS:
            s = f"{s[: MAX_ID_CHARS - 9]}-{_digest(p)}"
        out.append(s)
    return out


def plan(
    source: str | Path, sets: Iterable[str], max_memory_gib: float | None = None, max_variants: int = MAX_VARIANTS
) -> list[Variant]:
    """The variants of a sweep, every one validated: a bad value is the loader's one-line
    :class:`ScenarioError` (naming the key and the allowed values, and the variant when the grid has more
    than one); a grid over ``max_variants`` is a :class:`SweepError`."""
    sets = list(sets)
    axes = parse_axes(sets)
    size = 1
    for a in axes:
        size *= len(a.values)
    if size > max_variants:
        raise SweepError(f"--set: the grid has {size:,} variants, more than {max_variants:,}")
    varying = [a for a in axes if len(a.values) > 1]
    combos = list(product(*(a.values for a in axes)))
    settings = [tuple((a.key, v) for a, v in zip(axes, combo, strict=True) if len(a.values) > 1) for combo in combos]
    ids = variant_ids(settings) if combos else []
    base = read_base(source)  # read once; each variant overrides a copy
    variants = []
    for vid, combo, setting in zip(ids, combos, settings, strict=True):
        overrides = tuple(f"{a.key}={v}" for a, v in zip(axes, combo, strict=True))
        try:
            sc, raw = with_overrides(copy.deepcopy(base), overrides, max_memory_gib=max_memory_gib)
        except ScenarioError as exc:
            if not varying:
                raise
            raise ScenarioError(exc.path, f"{exc.message} (variant {vid})") from None
        variants.append(Variant(vid, setting, overrides, sc, raw))
    return variants


# ------------------------------------------------------------------------------------------------ outputs


#: libyaml's loader when PyYAML has it: checking 10,000 variants' scenarios takes seconds, not minutes
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def is_complete(folder: Path, variant: Variant) -> bool:
    """Whether ``folder`` holds this variant's finished run: a ``summary.json`` of a run that was neither
    interrupted nor lost, and a ``scenario.yaml`` equal to the variant's scenario."""
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        stored = yaml.load((folder / "scenario.yaml").read_text(encoding="utf-8"), Loader=_FAST_LOADER)
    except (OSError, ValueError, yaml.YAMLError):
        return False
    if not isinstance(summary, dict) or summary.get("interrupted") or summary.get("lost"):
        return False
    # the mapping as parsed, or else as written and read back (in case YAML changes a value's form)
    return stored == variant.raw or stored == yaml.load(scenario_text(variant.raw), Loader=_FAST_LOADER)


def read_summary(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "summary.json").read_text(encoding="utf-8"))


def write_variant(folder: Path, variant: Variant, result: Result) -> None:
    """A variant's run folder, as ``cloudsim run --out`` writes it (:func:`cloudsim.api.write_run`), with
    the variant's scenario mapping as written in ``scenario.yaml``."""
    write_run(folder, result.summary, result.recorder, variant.raw)


def _get(summary: dict[str, Any], dotted: str) -> Any:
    node: Any = summary
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return ""
        node = node[part]
    return node


def csv_columns(variants: Sequence[Variant], summaries: Iterable[dict[str, Any]]) -> list[str]:
    """``variant``, the axes (full keys), the headline summary keys (with the consolidation ones when any
    summary has them) and ``wall_time_s``."""
    axes = [k for k, _ in variants[0].settings] if variants else []
    extra = list(CONSOLIDATION) if any(s.get("kind") == "consolidation" for s in summaries) else []
    return ["variant", *axes, *HEADLINE, *extra, "wall_time_s"]


def write_csv(path: Path, variants: Sequence[Variant], summaries: dict[str, dict[str, Any]]) -> None:
    """``sweep.csv``: one row per complete variant, in grid order."""
    columns = csv_columns(variants, summaries.values())
    with atomic_open(path, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        for v in variants:
            if v.id not in summaries:
                continue
            s = finite(summaries[v.id])
            w.writerow(
                [v.id, *(value for _, value in v.settings), *(_get(s, c) for c in columns[1 + len(v.settings) :])]
            )


def prepare(out_dir: Path) -> FolderLock:
    """Check ``--out``: a new or empty folder, or a previous sweep's (it holds ``sweep.json``); one this
    process can write in, and no other sweep writes in. Returns the sweep's hold on it, to keep until the
    sweep ends (:class:`~cloudsim.files.FolderLock`)."""
    try:
        folder = existing_folder(out_dir, "--out")
    except FolderUnavailable as exc:
        raise SweepError(str(exc)) from None
    if folder and any(out_dir.iterdir()) and not (out_dir / MARKER).is_file():
        raise SweepError(
            f"--out: {str(out_dir)!r} holds files that are not a sweep's; choose a new or empty folder, or the "
            "folder of a previous sweep to finish it"
        )
    try:
        return hold_folder(out_dir, "--out", "sweep")
    except FolderUnavailable as exc:
        raise SweepError(str(exc)) from None


def write_marker(out_dir: Path, source: str | Path, sets: Sequence[str], variants: Sequence[Variant]) -> None:
    """``sweep.json``: the scenario, the ``--set`` options and the variants of the last sweep in this folder."""
    record = {"scenario": str(source), "sets": list(sets), "variants": [v.id for v in variants]}
    try:
        with atomic_open(out_dir / MARKER) as fh:
            fh.write(json.dumps(record, indent=2) + "\n")
    except OSError as exc:  # (a full disk: nothing has run yet)
        raise SweepError(f"--out: cannot write {str(out_dir / MARKER)!r}: {why_unwritable(exc)}") from None


# ------------------------------------------------------------------------------------------------ running


def simulate(scenario: Scenario, run_id: str) -> Result:
    """One variant, in this process (:func:`cloudsim.run` on the local backend, through :func:`cloudsim.prepare`
    so that no task issues Python warnings of its own). What each Ray task of a sweep runs, and what
    ``--backend local`` runs one after another."""
    return api.prepare(scenario, backend="local", run_id=run_id).run()


#: ``parallel(fn, jobs, on_result)``: calls ``on_result(index, fn(*jobs[index]))`` for every job, in any
#: order, with the exception instead of a result for a job that failed (:func:`cloudsim.distributed.fan_out`).
Parallel = Callable[[Callable[..., Any], Sequence[tuple[Any, ...]], Callable[[int, Any], None]], None]


def one_after_another(
    fn: Callable[..., Any], jobs: Sequence[tuple[Any, ...]], on_result: Callable[[int, Any], None]
) -> None:
    """The :data:`Parallel` of ``--backend local``: every job in this process, in order."""
    for i, job in enumerate(jobs):
        try:
            value = fn(*job)
        except Exception as exc:  # a variant that fails is reported, the others still run (as on Ray)
            if is_stop(exc):  # a stop that landed in a compiled call while the variant was set up
                raise KeyboardInterrupt from None
            value = exc
        on_result(i, value)


def _first_line(exc: BaseException) -> str:
    """One line for a failed variant: a Ray task error's last line (the exception raised in the task; the
    lines before are Ray's header and the traceback), or ``Type: first line``."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    if type(exc).__module__.startswith("ray."):
        return (lines[-1] if lines else type(exc).__name__)[:300]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:300]


def run(
    variants: list[Variant],
    out_dir: Path,
    parallel: Parallel = one_after_another,
    *,
    on_done: Callable[[Variant, str], None] | None = None,
    guard: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext,
    before_running: Callable[[int], AbstractContextManager[Any]] | None = None,
    compare_limit: int = COMPARE_LIMIT,
) -> SweepResult:
    """Run the variants not yet complete in ``out_dir`` through ``parallel``, writing each one's folder as
    it finishes, then ``sweep.csv`` and (for 2 to ``compare_limit`` variants) the comparison page,
    ``compare.html``. ``on_done(variant, "ran" | "skipped" | "failed")`` follows the progress. ``guard()``
    wraps every write (the CLI holds signals there, so no write is cut short). ``before_running(n)``
    is entered only when ``n > 0`` variants must run (the CLI starts Ray there).

    Ctrl-C (KeyboardInterrupt) stops the sweep: the finished variants are kept, ``sweep.csv`` lists them,
    and the result says ``interrupted``. A folder that cannot be written (a full disk) stops it the same way,
    and the result says why (``unwritable``)."""
    result = SweepResult(variants)
    todo = []
    for v in variants:
        if is_complete(out_dir / v.id, v):
            result.summaries[v.id] = read_summary(out_dir / v.id)
            result.skipped.append(v.id)
            if on_done is not None:
                on_done(v, "skipped")
        else:
            todo.append(v)

    def finished(i: int, value: Any) -> None:
        v = todo[i]
        if isinstance(value, BaseException):
            result.failed[v.id] = _first_line(value)
            if on_done is not None:
                on_done(v, "failed")
            return
        if value.interrupted:  # the run in this process saw the Ctrl-C and stopped early
            raise KeyboardInterrupt
        with guard():  # a stop asked for meanwhile takes effect on leaving: the variant counts as finished
            try:
                write_variant(out_dir / v.id, v, value)
            except OSError as exc:  # (its summary, written last, is not there: a run again redoes the variant)
                raise _Unwritable(f"cannot write {str(out_dir / v.id)!r} ({why_unwritable(exc)})") from None
            result.summaries[v.id] = value.summary
            result.ran.append(v.id)
        if on_done is not None:
            on_done(v, "ran")

    try:
        if todo:
            with before_running(len(todo)) if before_running is not None else contextlib.nullcontext():
                parallel(simulate, [(v.scenario, v.id) for v in todo], finished)
    except KeyboardInterrupt:
        result.interrupted = True
    except _Unwritable as exc:
        result.unwritable = str(exc)
    try:
        with guard():
            write_csv(out_dir / "sweep.csv", variants, result.summaries)
            result.csv_path = out_dir / "sweep.csv"
        if not result.interrupted and not result.unwritable:
            result.page, result.page_note = _compare_page(out_dir, variants, result.summaries, compare_limit)
    except KeyboardInterrupt:
        result.interrupted = True
    except OSError as exc:
        written = "sweep.csv" if result.csv_path is None else "compare.html"
        result.unwritable = result.unwritable or f"cannot write {str(out_dir / written)!r} ({why_unwritable(exc)})"
    return result


def compares(complete: int, limit: int = COMPARE_LIMIT) -> bool:
    """Whether ``complete`` variants make a comparison page: two to ``limit`` of them."""
    return 2 <= complete <= limit


def _compare_page(
    out_dir: Path, variants: Sequence[Variant], summaries: dict[str, dict[str, Any]], limit: int
) -> tuple[Path | None, str]:
    """``compare.html`` of the complete variants (``cloudsim compare``'s page), or why not."""
    from cloudsim.report import compare

    done = [out_dir / v.id for v in variants if v.id in summaries]
    if compares(len(done), limit):
        return compare(done, out_dir / "compare.html"), ""
    (out_dir / "compare.html").unlink(missing_ok=True)  # an earlier sweep's page here would compare other variants
    if len(done) < 2:
        return None, "no comparison page: fewer than two variants complete"
    return None, f"no comparison page: {len(done):,} variants, more than {limit} side by side (see sweep.csv)"


def time_backends(variants: list[Variant], out_dir: Path, parallel: Parallel) -> dict[str, Any]:
    """The same variants one after another in this process, then through ``parallel``, each sweep into a
    folder of its own that must not exist yet (``out_dir/serial``, ``out_dir/parallel``, so nothing is
    skipped): the wall seconds of each, their ratio, and whether every summary is the same (wall time aside)."""
    import time

    walls, results = {}, {}
    for name, how in (("serial", one_after_another), ("parallel", parallel)):
        folder = out_dir / name
        folder.mkdir(parents=True)
        t0 = time.perf_counter()
        results[name] = run(variants, folder, how, compare_limit=0)
        walls[name] = time.perf_counter() - t0
        if results[name].failed or results[name].interrupted:
            break

    def stable(s: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in s.items() if k not in WALL_CLOCK}

    a, b = results["serial"], results.get("parallel")
    same = b is not None and all(stable(a.summaries[v.id]) == stable(b.summaries.get(v.id, {})) for v in variants)
    return {
        "variants": len(variants),
        "serial_s": round(walls["serial"], 2),
        "parallel_s": round(walls.get("parallel", float("nan")), 2),
        "speedup": round(walls["serial"] / walls["parallel"], 2) if walls.get("parallel") else float("nan"),
        "identical": same,
        "interrupted": any(r.interrupted for r in results.values()),
        "failed": {**a.failed, **(b.failed if b is not None else {})},
    }
