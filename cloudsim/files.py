"""Files, carefully: outputs that appear whole or not at all, inputs read up to a bound, and JSON that
strict parsers accept."""

from __future__ import annotations

import errno
import math
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO


@contextmanager
def _replacing(path: Path, binary: bool, newline: str | None = None) -> Iterator[Any]:
    """A file beside ``path`` to write; flushed to disk and renamed over ``path`` when the block ends
    (``os.replace`` is atomic on POSIX), removed if it fails."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        # a path name that is not UTF-8 (``$'\\xff'``, kept as a surrogate) written in the text: escaped
        text = {"encoding": "utf-8", "errors": "backslashreplace", "newline": newline}
        with tmp.open("wb") if binary else tmp.open("w", **text) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename == str(tmp):  # name the file asked for, not the one beside it
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise


def probe_writable(folder: Path) -> None:
    """Make ``folder`` (and its parents) and check this process can write in it, before work whose output
    goes there: an :class:`OSError` when it cannot."""
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f".cloudsim-write-test-{os.getpid()}"
    probe.write_bytes(b"")
    probe.unlink()


class FolderLock:
    """This process's exclusive hold on an output folder while it writes there: another cloudsim asking for
    the same folder (a second terminal, the same command started twice) gets :class:`BlockingIOError` at
    once, rather than two runs' files mixed in one folder. The lock is ``flock`` on the folder itself, so no
    file is added to it, and the system drops it when the process ends, however it ends. Without ``flock``
    (Windows) it holds nothing."""

    def __init__(self, folder: Path) -> None:
        self.fd: int | None = None
        try:
            import fcntl
        except ImportError:  # pragma: no cover (not POSIX)
            return
        fd = os.open(folder, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __del__(self) -> None:
        self.release()


class FolderUnavailable(Exception):
    """An output folder this process cannot hold: the one-line reason, naming the option."""


def hold_folder(folder: Path, flag: str, holder: str) -> FolderLock:
    """Make ``folder``, check this process can write in it, and hold it (:class:`FolderLock`); a
    :class:`FolderUnavailable` naming ``flag`` when it cannot, or when another cloudsim ``holder`` (a run, a
    sweep) holds it."""
    try:
        probe_writable(folder)
        return FolderLock(folder)
    except BlockingIOError:
        raise FolderUnavailable(
            f"{flag}: {str(folder)!r} is in use by another cloudsim {holder}; wait for it to end, or choose another "
            "folder"
        ) from None
    except OSError as exc:
        raise FolderUnavailable(f"{flag}: cannot write in {str(folder)!r}: {why_unwritable(exc)}") from None


def why_unwritable(exc: OSError) -> str:
    """Why a path could not be written, in words for a one-line error: a folder on the way that is a file
    (``mkdir`` says "File exists", ``open`` "Not a directory") or a symbolic link that leads nowhere is said
    so; otherwise the system's reason."""
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        name = exc.filename
        if isinstance(name, (str, bytes, os.PathLike)) and os.path.islink(name) and not os.path.exists(name):
            return "it is a symbolic link that leads nowhere (to nothing, or round in a loop)"
        return "a part of it is a file, not a folder"
    return exc.strerror or type(exc).__name__


def existing_folder(folder: Path, flag: str) -> bool:
    """Whether ``folder`` is a folder already (``False``: nothing is there yet); a :class:`FolderUnavailable`
    naming ``flag`` when something else is there, or when the system will not say (a name too long, a loop of
    links, no permission)."""
    try:
        if folder.is_dir():
            return True
        if not folder.exists():
            return False
    except OSError as exc:
        name = str(folder) if len(str(folder)) <= 80 else f"{str(folder)[:40]}…{str(folder)[-30:]}"
        raise FolderUnavailable(f"{flag}: cannot use {name!r}: {why_unwritable(exc)}") from None
    raise FolderUnavailable(f"{flag}: {str(folder)!r} exists and is not a directory")


def _open_to_write(path: Path) -> int:
    """A descriptor to write ``path``, a file that is not regular (``/dev/stdout``, a named pipe). A named pipe
    is opened only while a program reads it (opening one to write waits for a reader): else an ENXIO
    :class:`OSError` that says so."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO and stat.S_ISFIFO(path.stat().st_mode):
            raise OSError(errno.ENXIO, "a named pipe that no program reads", str(path)) from None
        raise
    os.set_blocking(fd, True)
    return fd


@contextmanager
def atomic_open(path: Path, newline: str | None = None) -> Iterator[TextIO]:
    """Open ``path`` to write text so that it is replaced whole or not at all: an interruption or a full
    disk leaves the old file (or none), never a file cut short. A ``path`` that exists and is not a
    regular file (``/dev/stdout``) is written directly; a named pipe only while a program reads it (else an
    :class:`OSError` says so, where opening it would wait for a reader for ever)."""
    if path.exists() and not path.is_file():
        with os.fdopen(_open_to_write(path), "w", encoding="utf-8", errors="backslashreplace", newline=newline) as fh:
            yield fh
        return
    with _replacing(path, binary=False, newline=newline) as fh:
        yield fh


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (as :func:`atomic_open`)."""
    with _replacing(path, binary=True) as fh:
        fh.write(data)


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, reading at most ``limit``: a :class:`ValueError` (the caller words it) when
    the file is larger, an :class:`OSError` when it cannot be read."""
    with path.open("rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit:,} bytes")
    return data


def read_input(path: Path, limit: int, error: type[Exception], hint: str = "") -> bytes:
    """:func:`read_bounded` for an input the user gave: either failure is one ``error`` naming the file (and,
    for a file too large, ``hint``: what such a file should be), never its contents."""
    try:
        return read_bounded(path, limit)
    except OSError as exc:
        raise error(f"{path}: cannot read it ({exc.strerror or type(exc).__name__})") from None
    except ValueError as exc:
        raise error(f"{path}: {exc}" + (f"; {hint}" if hint else "")) from None


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None, recursively, so that the JSON written
    has no ``NaN`` or ``Infinity`` (which strict parsers reject)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value
