"""Reading a ``query_file``: only a regular file, inside the alerts file's folder, of bounded size.

An alerts file names its SQL files (``query_file: sql/late.sql``), and whoever can edit it
must not be able to make the DAG processor read anything else through it: ``../../etc/passwd``,
``/proc/self/environ`` (the secrets in the environment), a symlink out of the folder, or a
file that never ends (``/dev/zero``) or blocks (a FIFO). So, in this order:

1. the path as written must be relative, and once symlinks are resolved it must stay inside
   the resolved folder of the alerts file;
2. the file is opened with ``O_NONBLOCK`` (a FIFO opens at once instead of waiting for a
   writer) and ``O_NOFOLLOW`` (a last component swapped for a symlink after step 1 fails);
3. the *opened* descriptor is checked with ``fstat``: a regular file, else refused; checking
   what was opened, not the path, leaves no window to swap the file in between;
4. at most :data:`MAX_QUERY_FILE_BYTES` + 1 bytes are read, so a larger file is refused
   without reading it, whatever its reported size (``/proc`` files report 0).

Refusals never quote the file's contents. The loader (``resolve.py``) and the DAG manifest's
fingerprint (``dags/manifest.py``) both read query files through :func:`read_query_file`.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

__all__ = ["MAX_QUERY_FILE_BYTES", "QueryFileRefused", "read_query_file"]

MAX_QUERY_FILE_BYTES = 1024 * 1024
"""Largest ``query_file`` accepted (1 MiB): an alert query is a screen or two of SQL."""

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_CHUNK = 64 * 1024


class QueryFileRefused(Exception):
    """A ``query_file`` that is not read: ``message`` says why, ``hint`` what to do."""

    def __init__(self, message: str, hint: str | None = None, *, missing: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.missing = missing


def read_query_file(base_dir: Path, written: str) -> bytes:
    """The bytes of the query file ``written`` (as in alerts.yaml) under ``base_dir``.

    Raises :class:`QueryFileRefused` for a path outside ``base_dir``, anything but a regular
    file, a file larger than :data:`MAX_QUERY_FILE_BYTES`, or one that cannot be read.
    """
    name = f"query_file `{written}`"
    try:
        folder = base_dir.resolve()
    except (OSError, RuntimeError) as exc:
        raise QueryFileRefused(f"{name}: the folder of the YAML file cannot be resolved") from exc
    inside = f"paths are relative to the folder of the YAML file and stay inside it: {folder}"
    if PurePosixPath(written).is_absolute() or PureWindowsPath(written).is_absolute():
        raise QueryFileRefused(f"{name} is an absolute path", hint=inside)
    try:
        target = (folder / written).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        raise QueryFileRefused(f"{name} cannot be read: a loop of symbolic links") from None
    if not target.is_relative_to(folder):
        raise QueryFileRefused(
            f"{name} is outside the folder of the YAML file (through `..` or a symbolic link)",
            hint=inside,
        )
    try:
        fd = os.open(target, _OPEN_FLAGS)
    except OSError as exc:
        raise _refusal(name, target, exc, folder) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise QueryFileRefused(f"{name} is {_kind(info.st_mode)}, not a regular .sql file")
        if info.st_size > MAX_QUERY_FILE_BYTES:
            raise _too_large(name)
        return _read_at_most(fd, MAX_QUERY_FILE_BYTES, name)
    except OSError as exc:
        raise QueryFileRefused(f"{name} cannot be read: {exc.strerror or 'I/O error'}") from None
    finally:
        os.close(fd)


def _read_at_most(fd: int, limit: int, name: str) -> bytes:
    """Everything up to ``limit`` bytes; refused as soon as byte ``limit + 1`` is read."""
    chunks: list[bytes] = []
    total = 0
    while True:
        try:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
        except BlockingIOError:  # pragma: no cover - a regular file never blocks
            raise QueryFileRefused(f"{name} cannot be read without waiting") from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise _too_large(name)


def _too_large(name: str) -> QueryFileRefused:
    return QueryFileRefused(
        f"{name} is larger than 1 MiB",
        hint="an alert query is a screen or two of SQL; move the logic into a view",
    )


def _refusal(name: str, target: Path, exc: OSError, folder: Path) -> QueryFileRefused:
    if exc.errno == errno.ENOENT:
        return QueryFileRefused(
            f"{name} not found",
            hint=f"paths are relative to the folder of the YAML file: {folder}",
            missing=True,
        )
    if exc.errno == errno.ELOOP:  # the file became a symbolic link after it was resolved
        return QueryFileRefused(f"{name} changed while it was read; validate again")
    try:  # why open failed (a socket cannot be opened): say what the path is
        mode = os.lstat(target).st_mode
    except OSError:
        mode = 0
    if mode and not stat.S_ISREG(mode):
        return QueryFileRefused(f"{name} is {_kind(mode)}, not a regular .sql file")
    return QueryFileRefused(f"{name} cannot be read: {exc.strerror or type(exc).__name__}")


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISLNK, "a symbolic link"),
    )
    for test, kind in kinds:
        if test(mode):
            return kind
    return "not a regular file"  # pragma: no cover - every POSIX file type is named above
