"""Trace data in a local cache: which data sets there are, where they come from (source, licence,
citation), fetching them (downloaded from their published source, or imported from a local copy) with
checksums, and finding them for a scenario whose workload names no folder.

The cache is ``$CLOUDSIM_DATA`` when set, else ``$XDG_CACHE_HOME/cloudsim``, else ``~/.cache/cloudsim``.
Its layout::

    planetlab/<day>/<one file per VM>     PlanetLab, one folder per day (20110303, ...)
    azure-v1/maps/..., azure-v1/traces/...  Azure V1 VM requests as Huawei Cloud pre-processed them

A data set is made of *parts*, each one folder installed whole: a PlanetLab day, or the Azure folder. A
part is written to a staging folder inside the cache, checked against the checksums shipped with the
package (``data_manifest.json``), and only then renamed into place, so a part in the cache is always
complete and verified; a checksum mismatch leaves nothing behind. The checksum of a part is the SHA-256
of its sorted ``<relative path>\\t<sha256 of the file>\\n`` lines (computed from the copies in
``shared/data``, which are byte-identical to the published files).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import IO, Any

from cloudsim.files import why_unwritable

#: Environment variable naming the cache folder.
CACHE_ENV = "CLOUDSIM_DATA"
#: At most this many bytes are taken from one file of a source (the largest file is about 3 MB).
MAX_FILE_BYTES = 64 * 2**20
#: Seconds a download waits for the server before giving up.
DOWNLOAD_TIMEOUT_S = 60.0
_CHUNK = 1 << 20


class DataError(ValueError):
    """A data set that cannot be fetched or found; the message is one line naming what and the fix."""


@dataclass(frozen=True)
class Part:
    """One folder of a data set, installed whole: ``files`` files of ``bytes`` bytes in all whose checksum
    (see the module docstring) is ``sha256``. ``names``: when given, only these relative paths are taken
    from a source (the published folder holds more)."""

    name: str
    files: int
    bytes: int
    sha256: str
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dataset:
    """A data set the cache can hold.

    ``url`` is the published archive (a ``.tar.gz``); ``archive_root`` the folder inside it (below the
    archive's top folder) that holds the parts; ``renames`` maps a published relative path to the one the
    cache keeps. ``field`` is the scenario field that names such a folder explicitly."""

    name: str
    title: str
    source: str
    url: str
    archive_root: str
    licence: str
    citation: str
    field: str
    parts: tuple[Part, ...]
    renames: tuple[tuple[str, str], ...] = ()

    def part(self, name: str) -> Part:
        """The part called ``name`` (a PlanetLab day; ``""`` for a data set of one folder)."""
        for p in self.parts:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def part_names(self) -> list[str]:
        return [p.name for p in self.parts]


def _manifest() -> dict[str, Any]:
    text = (resources.files("cloudsim") / "data_manifest.json").read_text(encoding="utf-8")
    return json.loads(text)


def _datasets() -> dict[str, Dataset]:
    manifest = _manifest()

    def parts(name: str) -> tuple[Part, ...]:
        return tuple(
            Part(key, p["files"], p["bytes"], p["sha256"], tuple(p.get("names", ())))
            for key, p in manifest[name].items()
        )

    return {
        "planetlab": Dataset(
            name="planetlab",
            title="PlanetLab VM CPU utilization, 10 days of March-April 2011 (CloudSim's power examples)",
            source="github.com/Cloudslab/cloudsim, tag cloudsim-3.0.3, "
            "modules/cloudsim-examples/src/main/resources/workload/planetlab/<day>/",
            url="https://codeload.github.com/Cloudslab/cloudsim/tar.gz/refs/tags/cloudsim-3.0.3",
            archive_root="modules/cloudsim-examples/src/main/resources/workload/planetlab",
            licence="Apache License 2.0 (CloudSim); data from the CoMon project's monitoring of PlanetLab",
            citation="A. Beloglazov, R. Buyya, CCPE 24(13):1397-1420, 2012, doi:10.1002/cpe.1867",
            field="workload.trace.path",
            parts=parts("planetlab"),
        ),
        "azure-v1": Dataset(
            name="azure-v1",
            title="Azure Public Dataset V1 VM requests (flavor, batch, arrival, lifetime) as Huawei Cloud "
            "pre-processed them",
            source="github.com/huaweicloud/trace_generation_rnn, commit fa856db, resources/traces/*, resources/maps/*",
            url="https://github.com/huaweicloud/trace_generation_rnn/archive/fa856db.tar.gz",
            archive_root="resources",
            licence="CC BY 4.0 (Azure Public Dataset; traces/DATA_LICENSE_NOTE.txt); Huawei's repository MIT",
            citation="E. Cortez et al., Resource Central, SOSP 2017; S. Bergsma et al., SOSP 2021, "
            "doi:10.1145/3477132.3483590",
            field="workload.requests.path",
            parts=parts("azure-v1"),
            renames=(("traces/LICENSE", "traces/DATA_LICENSE_NOTE.txt"),),
        ),
    }


#: The data sets, by name.
DATASETS: dict[str, Dataset] = _datasets()
#: The PlanetLab days, in order; CloudSim's examples use the first.
PLANETLAB_DAYS: tuple[str, ...] = tuple(DATASETS["planetlab"].part_names)
DEFAULT_DAY = "20110303"


def dataset(name: str) -> Dataset:
    """The data set ``name``, or a :class:`DataError` listing the known ones."""
    if name not in DATASETS:
        raise DataError(f"DATASET: unknown data set {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


# ------------------------------------------------------------------------------------------------- cache


def cache_dir(override: str | Path | None = None) -> Path:
    """The cache folder: ``override`` (``--cache``), else ``$CLOUDSIM_DATA``, else
    ``$XDG_CACHE_HOME/cloudsim``, else ``~/.cache/cloudsim``. It need not exist."""
    if override is not None and str(override):
        return Path(override).expanduser()
    if env := os.environ.get(CACHE_ENV):
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "cloudsim"


def cache_name(cache: Path) -> str:
    """How the user gave the cache folder ``cache``, to name it in an error: ``$CLOUDSIM_DATA``, ``--cache``,
    or the default folder."""
    env = os.environ.get(CACHE_ENV)
    if env and Path(env).expanduser() == cache:
        return f"${CACHE_ENV}"
    return "the data cache" if cache == cache_dir() else "--cache"


def part_dir(ds: Dataset, part: str, cache: Path | None = None) -> Path:
    """Where part ``part`` of ``ds`` lives in the cache (``planetlab/20110303``, ``azure-v1``)."""
    root = (cache if cache is not None else cache_dir()) / ds.name
    return root / part if part else root


@dataclass(frozen=True)
class Status:
    """What the cache holds of a data set: the parts present, their size in bytes, and where."""

    dataset: Dataset
    folder: Path
    present: tuple[str, ...]
    bytes: int

    @property
    def complete(self) -> bool:
        return len(self.present) == len(self.dataset.parts)


def status(name: str, cache: Path | None = None) -> Status:
    """The parts of data set ``name`` in the cache (a part is there whole or not at all) and their size."""
    ds = dataset(name)
    cache = cache if cache is not None else cache_dir()
    present = tuple(p.name for p in ds.parts if part_dir(ds, p.name, cache).is_dir())
    size = sum(f.stat().st_size for p in present for f in _files(part_dir(ds, p, cache)))
    return Status(ds, part_dir(ds, "", cache), present, size)


def _files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            yield path


def digest(entries: Iterable[tuple[str, str]]) -> str:
    """The checksum of a part from its ``(relative path, file sha256)`` pairs (any order)."""
    h = hashlib.sha256()
    for rel, sha in sorted(entries):
        h.update(f"{rel}\t{sha}\n".encode())
    return h.hexdigest()


def folder_digest(folder: Path, names: Iterable[str] = ()) -> tuple[str, int, int]:
    """The checksum of a folder as a part (only ``names`` when given), its file count and bytes."""
    wanted = list(names) or [f.relative_to(folder).as_posix() for f in _files(folder)]
    entries, size = [], 0
    for rel in wanted:
        data = (folder / rel).read_bytes()
        entries.append((rel, hashlib.sha256(data).hexdigest()))
        size += len(data)
    return digest(entries), len(entries), size


def verify(name: str, cache: Path | None = None) -> dict[str, bool]:
    """Re-check every part of data set ``name`` present in the cache against its checksum: part -> ok."""
    ds = dataset(name)
    st = status(name, cache)
    return {
        p: folder_digest(part_dir(ds, p, st.folder.parent), ds.part(p).names)[0] == ds.part(p).sha256
        for p in st.present
    }


# ------------------------------------------------------------------------------------------------- fetch


class _Staging:
    """Files of the parts being fetched, written under a staging folder in the cache, hashed as written."""

    def __init__(self, ds: Dataset, parts: list[str], root: Path) -> None:
        self.ds, self.parts, self.root = ds, parts, root
        self.entries: dict[str, list[tuple[str, str]]] = {p: [] for p in parts}
        self.bytes: dict[str, int] = dict.fromkeys(parts, 0)

    def locate(self, path: str) -> tuple[str, str] | None:
        """The (part, relative path) a source file at ``path`` (below the data set's root) belongs to, or
        None for a file outside the wanted parts. Paths that could leave the folder are never taken."""
        pure = PurePosixPath(path)
        if pure.is_absolute() or any(c in ("", ".", "..") for c in pure.parts):
            return None
        rel = pure.as_posix()
        rel = dict(self.ds.renames).get(rel, rel)
        for part in self.parts:
            names = self.ds.part(part).names
            if part:  # a day folder: its files, no sub-folders
                if len(pure.parts) == 2 and pure.parts[0] == part:
                    return part, pure.parts[1]
            elif rel in names:
                return part, rel
        return None

    def add(self, part: str, rel: str, stream: IO[bytes]) -> None:
        """Copy one file into the staging folder, hashing it; at most :data:`MAX_FILE_BYTES`, and no more
        files than the part has."""
        if len(self.entries[part]) >= self.ds.part(part).files:
            label = f"{self.ds.name} {part}".strip()
            raise DataError(f"{label}: more than its {self.ds.part(part).files} files in the source; not this data set")
        target = self.root / (part or "_") / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        h, size = hashlib.sha256(), 0
        with target.open("xb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise DataError(f"{self.ds.name}: {rel} is larger than {MAX_FILE_BYTES:,} bytes; not this data set")
                h.update(chunk)
                out.write(chunk)
        self.entries[part].append((rel, h.hexdigest()))
        self.bytes[part] += size

    def check(self, origin: str) -> None:
        """Every wanted part is complete and matches its checksum, or a :class:`DataError` naming the first
        that does not."""
        for part in self.parts:
            want, got = self.ds.part(part), self.entries[part]
            label = f"{self.ds.name} {part}".strip()
            if not got:
                raise DataError(f"{label}: not found in {origin}; nothing was written to the cache")
            sha = digest(got)
            if sha != want.sha256:
                raise DataError(
                    f"{label}: checksum mismatch in {origin} ({len(got)} files, {self.bytes[part]:,} bytes; "
                    f"expected {want.files} files, {want.bytes:,} bytes, sha256 {want.sha256[:12]}…, got "
                    f"{sha[:12]}…); nothing was written to the cache"
                )

    def install(self, cache: Path, force: bool) -> None:
        """Rename each checked part into place (replacing an existing one only with ``force``)."""
        for part in self.parts:
            final = part_dir(self.ds, part, cache)
            final.parent.mkdir(parents=True, exist_ok=True)
            old = None
            if final.exists():
                if not force:
                    continue
                old = self.root / f".old-{part or 'all'}"
                final.rename(old)
            try:
                (self.root / (part or "_")).rename(final)
            except OSError:
                if not final.exists():  # not a concurrent fetch that got there first: undo and report
                    if old is not None:
                        old.rename(final)
                    raise


@dataclass(frozen=True)
class Fetched:
    """What a fetch did: the parts installed, those already present (kept), and the bytes read."""

    dataset: str
    installed: tuple[str, ...]
    kept: tuple[str, ...]
    bytes: int
    folder: Path


def _wanted(ds: Dataset, parts: Iterable[str] | None) -> list[str]:
    chosen = list(dict.fromkeys(parts or ()))
    if not chosen:
        return ds.part_names
    if ds.part_names == [""]:
        raise DataError(f"--day: {ds.name} has no days; give --day only for planetlab")
    for p in chosen:
        if p not in ds.part_names:
            raise DataError(f"--day: {p!r} is not a {ds.name} day; days: {', '.join(ds.part_names)}")
    return chosen


def fetch(
    name: str,
    cache: Path | None = None,
    *,
    source: Path | None = None,
    url: str | None = None,
    parts: Iterable[str] | None = None,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Fetched:
    """Put data set ``name`` in the cache: imported from the local folder ``source`` (laid out as the
    cache: PlanetLab day folders, or Azure's ``maps/`` and ``traces/``), or downloaded from ``url``
    (default: the published archive). ``parts``: only these (PlanetLab days). Parts already in the cache
    are kept unless ``force``. ``progress`` gets the bytes downloaded so far (0 as the download starts). Every part is checked against its
    checksum before anything is renamed into the cache; a mismatch is a :class:`DataError` and leaves the
    cache as it was."""
    ds = dataset(name)
    cache = cache if cache is not None else cache_dir()
    wanted = _wanted(ds, parts)
    todo = [p for p in wanted if force or not part_dir(ds, p, cache).is_dir()]
    kept = tuple(p for p in wanted if p not in todo)
    if not todo:
        return Fetched(name, (), kept, 0, part_dir(ds, "", cache))
    try:
        cache.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix=".fetch-", dir=cache))
    except OSError as exc:
        raise DataError(f"{cache_name(cache)}: cannot write to {str(cache)!r}: {why_unwritable(exc)}") from None
    try:
        staging = _Staging(ds, todo, root)
        if source is not None:
            origin = str(source)
            _import(staging, source)
        else:
            origin = url or ds.url
            _download(staging, origin, progress)
        staging.check(origin)
        staging.install(cache, force)
    except OSError as exc:
        raise DataError(f"{name}: {exc.strerror or exc} ({exc.filename or cache}); nothing was written") from None
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return Fetched(name, tuple(todo), kept, sum(staging.bytes.values()), part_dir(ds, "", cache))


def _import(staging: _Staging, source: Path) -> None:
    if not source.is_dir():
        raise DataError(f"--from: no folder {str(source)!r}")
    for part in staging.parts:
        folder = source / part if part else source
        names = staging.ds.part(part).names
        if not folder.is_dir():
            continue  # reported by check(): not found
        if names:  # a file may still have its published name (traces/LICENSE)
            published = {new: old for old, new in staging.ds.renames}
            pairs = [(n, folder / (n if (folder / n).is_file() else published.get(n, n))) for n in names]
        else:  # a day folder: its files, no sub-folders
            pairs = [(f.name, f) for f in sorted(folder.iterdir()) if f.is_file()]
        for rel, f in pairs:
            if f.is_file():
                with f.open("rb") as fh:
                    staging.add(part, rel, fh)


def _download(staging: _Staging, url: str, progress: Callable[[int], None] | None) -> None:
    """Stream the tar.gz at ``url`` and take the wanted files as they pass (the archive is not kept)."""
    if not url.startswith(("https://", "http://")):
        raise DataError(f"--url: {url!r} is not an http(s) URL")
    if progress is not None:
        progress(0)
    try:
        response = urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DataError(
            f"{staging.ds.name}: cannot download {url}: {reason}; with a local copy, use "
            f"'cloudsim data fetch {staging.ds.name} --from DIR'"
        ) from None
    counted = _Counting(response, progress)
    prefix = staging.ds.archive_root.strip("/") + "/"
    try:
        with response, tarfile.open(fileobj=counted, mode="r|*") as tar:
            for member in tar:
                below = member.name.partition("/")[2]  # below the archive's top folder (<repo>-<ref>/)
                if not member.isfile() or not below.startswith(prefix):
                    continue
                where = staging.locate(below[len(prefix) :])
                if where is None:
                    continue
                stream = tar.extractfile(member)
                if stream is not None:
                    staging.add(*where, stream)
    except (tarfile.TarError, EOFError, OSError, urllib.error.URLError) as exc:
        raise DataError(
            f"{staging.ds.name}: {url} is not a readable tar archive ({exc}); nothing was written"
        ) from None


class _Counting:
    """A read-only stream that reports the bytes read so far."""

    def __init__(self, raw: Any, progress: Callable[[int], None] | None) -> None:
        self.raw, self.progress, self.count = raw, progress, 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.count += len(data)
        if self.progress is not None:
            self.progress(self.count)
        return data


# ---------------------------------------------------------------------------------------- for scenarios


def planetlab_day(day: str, cache: Path | None = None) -> Path:
    """The cached folder of PlanetLab day ``day``, or a :class:`DataError` (one line: the field, the cache
    and the two fixes) when it is not there."""
    return _cached("planetlab", day, f"PlanetLab day {day} is", "workload.trace.path", cache)


def azure_v1_folder(cache: Path | None = None) -> Path:
    """The cached Azure V1 folder, or a :class:`DataError` (as :func:`planetlab_day`)."""
    return _cached("azure-v1", "", "the Azure V1 data are", "workload.requests.path", cache)


def _cached(dataset: str, part: str, what: str, field: str, cache: Path | None) -> Path:
    folder = part_dir(DATASETS[dataset], part, cache)
    if not folder.is_dir():
        where = cache if cache is not None else cache_dir()
        raise DataError(
            f"{what} not in the cache ({where}); run 'cloudsim data fetch {dataset}' or give --set {field}=DIR"
        )
    return folder


@dataclass(frozen=True)
class Need:
    """Data a scenario reads from the cache: the data set, the part (a day), and whether it is there."""

    dataset: str
    part: str
    present: bool

    @property
    def label(self) -> str:
        """``planetlab 20110303 ✓`` or ``planetlab 20110303 ✗ (cloudsim data fetch planetlab)``."""
        what = f"{self.dataset} {self.part}".strip()
        return f"{what} ✓" if self.present else f"{what} ✗ (cloudsim data fetch {self.dataset})"


def needs(raw: dict[str, Any], cache: Path | None = None) -> list[Need]:
    """The cached data a raw scenario mapping (before validation) will read: a trace or requests workload
    that names no folder of its own reads the cache."""
    workload = raw.get("workload") if isinstance(raw.get("workload"), dict) else {}
    found: list[Need] = []
    trace, requests = workload.get("trace"), workload.get("requests")
    if isinstance(trace, dict) and trace.get("path") is None:
        day = str(trace.get("day", DEFAULT_DAY))
        found.append(Need("planetlab", day, part_dir(DATASETS["planetlab"], day, cache).is_dir()))
    if isinstance(requests, dict) and requests.get("path") is None:
        found.append(Need("azure-v1", "", part_dir(DATASETS["azure-v1"], "", cache).is_dir()))
    return found
