"""Azure Public Dataset V1 VM requests as pre-processed by Huawei Cloud (GitHub ``huaweicloud/trace_generation_rnn``,
``resources/traces`` and ``resources/maps``; Bergsma et al., SOSP 2021, from the ``vmtable`` of Cortez et al.,
SOSP 2017; CC BY 4.0 data, MIT repository). A data folder holds:

- ``maps/flav_map.txt``: ``<vcpus>,<memory GB> <letter>`` per flavor (16, ``a`` .. ``p``);
- ``maps/v1.interval_map.txt``: ``<duration s> <bin>`` for every multiple of 300 s up to 20 days;
- ``traces/v1.<split>.txt``: ``<t> <tokens>`` per 300-s bin ending at ``t`` (seconds since the trace's start);
  the tokens are the flavor letters of the VMs that arrived in the bin, and ``|`` closes a tenant's batch;
- ``traces/v1.<split>.c<censor>.txt``: the same lines token for token, with ``U<k>`` (the VM ended before the
  censor time, its lifetime in duration bin ``k``) or ``C<k>`` (still running at the censor time) per VM.

How a VM becomes a guest (:func:`azure_guests`), the data recording creation and deletion on a 5-minute grid:

- its batch arrives together, at one instant drawn uniformly in the 300 s before ``t``; times count from the
  start of the split's first bin, so the split starts at 0;
- ``U<k>``: a recorded duration ``d`` is drawn uniformly among bin ``k``'s durations that end by the censor
  time, and the VM departs at an instant drawn uniformly in the 300 s before ``t + d`` (after its arrival:
  for ``d = 0``, between its arrival and ``t``);
- ``C<k>``: the VM outlives the data; it runs to the end of the run (lifetime None);
- its flavor gives its vCPUs and memory (GB read as GiB); mode, OS, utilization and kernel intensity come
  from the scenario.

Draws come from the seed's stream :data:`AZURE_STREAM`, made for every VM of the split in file order, so
``limit`` and ``duration`` keep a prefix of the same guests.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cloudsim.files import read_input
from cloudsim.scenario.schema import GuestShape, Scenario
from cloudsim.workload.synthetic import Guest

#: Stream id for ``SeedSequence(seed, spawn_key=...)`` (1: generated workloads; 2: host failures).
AZURE_STREAM = 3
#: Width of an arrival bin and the grid of recorded durations, seconds.
BIN_S = 300
#: What the reader reads at most, bytes: a trace file (the train split's flavors are 3 MB) and a map.
MAX_TRACE_BYTES = 64 * 2**20
MAX_MAP_BYTES = 2**20

_CENSOR_NAME = re.compile(r"^v1\.[a-z]+\.c([0-9]{1,12})\.txt$")


class AzureError(ValueError):
    """A data folder or file that cannot be used: the message names the file (and line and token) and says
    what is expected, never what the file holds. ``key`` is the ``workload.requests`` key to change."""

    def __init__(self, message: str, key: str = "path") -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class SplitFiles:
    """The four files of one split, and the censor time in the lifetime file's name (seconds)."""

    flavors: Path
    intervals: Path
    arrivals: Path
    lifetimes: Path
    censor_s: int


@dataclass(frozen=True)
class AzureRequests:
    """The VMs of one split, in file order. Times are seconds since the start of the split's first bin."""

    split: str
    flavors: tuple[tuple[str, int, float], ...]  # (letter, vcpus, memory GiB) in flav_map order
    flavor: np.ndarray  # per VM: index into ``flavors``
    batch: np.ndarray  # per VM: its tenant batch, numbered 0.. in file order
    bin_end_s: np.ndarray  # per VM: the end ``t`` of its arrival bin
    censored: np.ndarray  # per VM: True for ``C<k>`` (still running at the censor time)
    duration_bin: np.ndarray  # per VM: ``k``
    censor_s: float  # the censor time
    durations_s: np.ndarray  # the interval map's durations, ascending
    bin_first: np.ndarray  # bin k's durations are durations_s[bin_first[k]:bin_stop[k]]
    bin_stop: np.ndarray

    @property
    def vms(self) -> int:
        return len(self.flavor)

    @property
    def batches(self) -> int:
        return int(self.batch[-1]) + 1 if self.vms else 0


def split_files(folder: str | Path, split: str) -> SplitFiles:
    """The files of ``split`` in the data folder, or an :class:`AzureError` naming what is missing."""
    root = Path(folder)
    if not root.is_dir():
        raise AzureError(f"no folder {str(root)!r} (the Azure V1 data folder, with maps/ and traces/)")
    files = [root / "maps" / "flav_map.txt", root / "maps" / "v1.interval_map.txt", root / "traces" / f"v1.{split}.txt"]
    for file in files:
        if not file.is_file():  # the maps tell a wrong folder, the trace a split the folder lacks
            key = "split" if file.parent.name == "traces" and (root / "traces").is_dir() else "path"
            raise AzureError(f"no file {str(file)!r} (the Azure V1 data folder has maps/ and traces/)", key)
    lifetimes = sorted(
        p for p in (root / "traces").glob(f"v1.{split}.c*.txt") if p.is_file() and _CENSOR_NAME.match(p.name)
    )
    if not lifetimes:
        raise AzureError(
            f"no lifetime file {str(root / 'traces' / f'v1.{split}.c<censor time>.txt')!r} for split {split}; "
            "the published snapshot has them for dev and test only",
            key="split",
        )
    if len(lifetimes) > 1:
        raise AzureError(f"{len(lifetimes)} lifetime files v1.{split}.c*.txt in {str(root / 'traces')!r}; keep one")
    censor = int(_CENSOR_NAME.match(lifetimes[0].name).group(1))  # type: ignore[union-attr]
    return SplitFiles(*files, lifetimes[0], censor)


def _read(file: Path, limit: int) -> list[bytes]:
    """The lines of ``file`` (without line ends; a last empty line dropped)."""
    data = read_input(file, limit, AzureError, "an Azure V1 file is a few MB at most")
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line.removesuffix(b"\r") for line in lines]


def _number(text: bytes) -> int | None:
    """A non-negative whole number of at most 12 ASCII digits, or None."""
    return int(text) if 0 < len(text) <= 12 and text.isdigit() else None  # bytes.isdigit: ASCII only


def _read_flavors(file: Path) -> tuple[tuple[str, int, float], ...]:
    flavors: list[tuple[str, int, float]] = []
    for n, line in enumerate(_read(file, MAX_MAP_BYTES), start=1):
        size, _, letter = line.partition(b" ")
        vcpus, _, memory = size.partition(b",")
        try:
            memory_gib = float(memory) if memory.isascii() and len(memory) <= 12 else -1.0
        except ValueError:
            memory_gib = -1.0
        cpus = _number(vcpus)
        if not (len(letter) == 1 and letter.isalpha() and letter.isascii()) or not cpus or not 0 < memory_gib < 1e6:
            raise AzureError(f"{file}, line {n}: expected '<vcpus>,<memory GB> <letter>', e.g. '2,3.5 g'")
        if any(f[0] == letter.decode() for f in flavors):
            raise AzureError(f"{file}, line {n}: a flavor letter given twice")
        flavors.append((letter.decode(), cpus, memory_gib))
    if not flavors:
        raise AzureError(f"{file}: no flavors")
    return tuple(flavors)


def _read_intervals(file: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Durations (ascending), and per bin the first and stop index of its durations."""
    durations, bins = [], []
    for n, line in enumerate(_read(file, MAX_MAP_BYTES), start=1):
        duration, _, k = line.partition(b" ")
        d, b = _number(duration), _number(k)
        if d is None or b is None:
            raise AzureError(f"{file}, line {n}: expected '<duration s> <bin>', two whole numbers")
        if durations and (d <= durations[-1] or b < bins[-1]):
            raise AzureError(f"{file}, line {n}: durations must increase, and their bins never decrease")
        durations.append(d)
        bins.append(b)
    if not durations:
        raise AzureError(f"{file}: no durations")
    k = np.asarray(bins)
    kinds = np.arange(k[-1] + 1)
    return np.asarray(durations, dtype=np.float64), np.searchsorted(k, kinds), np.searchsorted(k, kinds, "right")


def _tokens(file: Path, lines: list[bytes], width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bin end times per line, tokens per line, and every token as a row of ``width`` bytes (zero-padded)."""
    times = np.empty(len(lines), dtype=np.int64)
    counts = np.empty(len(lines), dtype=np.int64)
    tokens: list[bytes] = []
    previous = -1
    for i, line in enumerate(lines):
        head, _, body = line.partition(b" ")
        t = _number(head)
        if t is None or t % BIN_S or t <= previous:
            raise AzureError(
                f"{file}, line {i + 1}: expected '<t> <tokens>', t the end of a {BIN_S}-s bin in seconds "
                "(a multiple of 300, after the previous line's)"
            )
        part = body.split(b",") if body else []
        times[i], counts[i], previous = t, len(part), t
        tokens += part
    if not lines:
        raise AzureError(f"{file}: no lines")
    if (too_long := next((j for j, x in enumerate(tokens) if len(x) > width), None)) is not None:
        raise AzureError(f"{file}, {_where(counts, too_long)}: {_expected(width)}")
    return times, counts, np.array(tokens, dtype=f"S{width}").view(np.uint8).reshape(-1, width)


def _where(counts: np.ndarray, index: int) -> str:
    """``line L, token K`` (both from 1) of the token at ``index`` of the flattened tokens."""
    line = int(np.searchsorted(np.cumsum(counts), index, "right"))
    return f"line {line + 1}, token {index - int(counts[:line].sum()) + 1}"


def _expected(width: int) -> str:
    return "expected a flavor letter or '|'" if width == 1 else "expected U<bin>, C<bin> or '|'"


def read_azure_v1(folder: str | Path, split: str = "test") -> AzureRequests:
    """Read one split (``test``, ``dev``; ``train`` when its lifetime file is there) of the data folder.
    Raises :class:`AzureError` naming the file, line and token."""
    files = split_files(folder, split)
    flavors = _read_flavors(files.flavors)
    durations, bin_first, bin_stop = _read_intervals(files.intervals)

    # the flavor trace: one byte per token
    times, counts, rows = _tokens(files.arrivals, _read(files.arrivals, MAX_TRACE_BYTES), 1)
    lookup = np.full(256, -2, dtype=np.int64)
    lookup[ord("|")] = -1
    for i, (letter, _, _) in enumerate(flavors):
        lookup[ord(letter)] = i
    code = lookup[rows[:, 0]]
    bar = code == -1
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    starts = np.zeros(len(code), dtype=bool)
    starts[first[counts > 0]] = True
    problems = [
        (code == -2, "expected a flavor letter (maps/flav_map.txt) or '|'"),
        (bar & (starts | np.concatenate([[False], bar[:-1]])), "an empty batch ('|' with no VM before it)"),
    ]
    for mask, what in problems:
        if mask.any():
            raise AzureError(f"{files.arrivals}, {_where(counts, int(np.argmax(mask)))}: {what}")
    if (unclosed := np.flatnonzero((counts > 0) & ~bar[np.maximum(first + counts - 1, 0)])).size:
        raise AzureError(f"{files.arrivals}, line {unclosed[0] + 1}: the last batch is not closed by '|'")

    # the lifetime trace: U<k>, C<k> or |, aligned token for token
    ltimes, lcounts, lrows = _tokens(files.lifetimes, _read(files.lifetimes, MAX_TRACE_BYTES), 4)
    common = min(len(times), len(ltimes))
    differ = np.flatnonzero((ltimes[:common] != times[:common]) | (lcounts[:common] != counts[:common]))
    if differ.size or len(ltimes) != len(times):
        line = int(differ[0]) + 1 if differ.size else common + 1
        raise AzureError(
            f"{files.lifetimes}, line {line}: not aligned with {files.arrivals.name} (same times, same tokens per line)"
        )
    kind, digits = lrows[:, 0], lrows[:, 1:]
    is_digit = (digits >= ord("0")) & (digits <= ord("9"))
    ndigits = is_digit.sum(axis=1)
    # a bin is 1-3 digits then padding: the first ndigits bytes are digits, the rest zero
    position = np.arange(digits.shape[1])
    shaped = np.where(position < ndigits[:, None], is_digit, digits == 0).all(axis=1)
    vm = (kind == ord("U")) | (kind == ord("C"))
    lbar = (kind == ord("|")) & (ndigits == 0) & shaped
    bad = ~((vm & (ndigits > 0) & shaped) | lbar)
    if bad.any():
        raise AzureError(f"{files.lifetimes}, {_where(lcounts, int(np.argmax(bad)))}: {_expected(4)}")
    if (mismatch := lbar != bar).any():
        raise AzureError(
            f"{files.lifetimes}, {_where(lcounts, int(np.argmax(mismatch)))}: "
            f"'|' where {files.arrivals.name} has a VM, or the reverse"
        )
    values = np.where(position < ndigits[:, None], digits.astype(np.int64) - ord("0"), 0)
    k = (values * 10 ** np.maximum(ndigits[:, None] - 1 - position, 0)).sum(axis=1)

    origin = int(times[0]) - BIN_S  # the start of the split's first bin
    keep = ~bar
    line_of = np.repeat(np.arange(len(times)), counts)
    bin_end = (times[line_of] - origin).astype(np.float64)[keep]
    censored = kind[keep] == ord("C")
    k = k[keep]
    censor_s = float(files.censor_s - origin)
    if censor_s < float(times[-1] - origin):
        raise AzureError(f"{files.lifetimes}: the censor time in its name is before the last line's time")
    # an ended VM's bin must exist and hold a duration that ends by the censor time
    last = np.minimum(k, len(bin_first) - 1)
    exists = (k < len(bin_first)) & (bin_first[last] < bin_stop[last])
    shortest = np.where(exists, durations[bin_first[last]], np.inf)  # the last bin is never empty
    late = ~censored & ~(bin_end + shortest <= censor_s)
    if late.any():
        token = int(np.flatnonzero(keep)[np.argmax(late)])
        raise AzureError(
            f"{files.lifetimes}, {_where(lcounts, token)}: U<bin> with a bin not in {files.intervals.name} "
            "or whose shortest duration ends after the censor time"
        )
    return AzureRequests(
        split=split,
        flavors=flavors,
        flavor=code[keep],
        batch=np.cumsum(bar)[keep],
        bin_end_s=bin_end,
        censored=censored,
        duration_bin=k,
        censor_s=censor_s,
        durations_s=durations,
        bin_first=bin_first,
        bin_stop=bin_stop,
    )


def draw_times(req: AzureRequests, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Arrival and lifetime (NaN: censored) of every VM of the split, seconds, from the seed (module doc)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(AZURE_STREAM,)))
    u_batch, u_duration, u_departure = rng.random(req.batches), rng.random(req.vms), rng.random(req.vms)
    t = req.bin_end_s
    arrival = t - BIN_S * (1.0 - u_batch[req.batch])  # in [t - 300, t)
    ended = ~req.censored
    k = req.duration_bin[ended]
    cap = np.searchsorted(req.durations_s, req.censor_s - t[ended], "right")  # durations ending by the censor
    first = req.bin_first[k]
    n = np.minimum(req.bin_stop[k], cap) - first  # >= 1: checked when read
    d = req.durations_s[first + (u_duration[ended] * n).astype(np.int64)]
    end = t[ended] + d
    low = np.maximum(arrival[ended], end - BIN_S)
    departure = end - (end - low) * u_departure[ended]  # in (low, end]
    lifetime = np.full(req.vms, np.nan)
    lifetime[ended] = np.maximum(departure - arrival[ended], 1e-3)
    return arrival, lifetime


def azure_guests(scenario: Scenario, requests: AzureRequests | None = None) -> list[Guest]:
    """One guest per VM of ``workload.requests`` (read from its path unless given) arriving before the end of
    the run, in arrival order (ids in that order; a batch keeps its file order). Guest ``{split}-{i}`` is the
    split's ``i``-th VM (from 0, file order); its kind is its flavor letter."""
    rq = scenario.workload.requests
    assert rq is not None and rq.path is not None
    req = requests or read_azure_v1(rq.path, rq.split)
    arrival, lifetime = draw_times(req, scenario.seed)
    n = min(req.vms, rq.limit or req.vms)
    order = np.argsort(arrival[:n], kind="stable")
    order = order[arrival[order] < scenario.duration]
    shapes = [
        GuestShape(
            mode=rq.mode,
            os=rq.os,
            vcpus=vcpus,
            memory_gib=memory_gib,
            cpu_utilization=rq.cpu_utilization,
            kernel_intensity=rq.kernel_intensity,
        )
        for _, vcpus, memory_gib in req.flavors
    ]
    letters = [f[0] for f in req.flavors]
    split = req.split
    life = [None if math.isnan(x) else x for x in lifetime[order].tolist()]  # NaN: censored
    return [
        Guest(gid, f"{split}-{i}", letters[f], shapes[f], a, lt)
        for gid, (i, f, a, lt) in enumerate(
            zip(order.tolist(), req.flavor[order].tolist(), arrival[order].tolist(), life, strict=True)
        )
    ]
