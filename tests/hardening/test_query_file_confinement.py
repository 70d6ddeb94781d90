"""``query_file`` reads only regular files inside the alerts file's folder, of at most 1 MiB.

Real files on disk: an outside file holding a marker, symlinks in and out of the folder, a
FIFO, a directory, devices and ``/proc``. Every refusal is a located error whose text never
carries the marker; the manifest's fingerprint reads query files the same safe way.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from sqlsentinel_airflow.core.config import load_config, load_config_text
from sqlsentinel_airflow.core.config.queryfile import (
    MAX_QUERY_FILE_BYTES,
    QueryFileRefused,
    _read_at_most,
    read_query_file,
)
from sqlsentinel_airflow.dags.manifest import Fingerprint, RecordingEnv
from sqlsentinel_airflow.errors import ConfigError

MARKER = "SECRET_MARKER_7f3a"
OK_SQL = "SELECT 'OK' AS status\n"
T = TypeVar("T")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """``tmp/config`` with sql/ok.sql; ``tmp/outside/secret.sql`` holds the marker."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.sql").write_text(f"SELECT '{MARKER}' AS status\n")
    config = tmp_path / "config"
    (config / "sql").mkdir(parents=True)
    (config / "sql" / "ok.sql").write_text(OK_SQL)
    return config


def within(seconds: float, work: Callable[[], T]) -> T:
    """``work()``, failing the test if it takes longer than ``seconds`` (a FIFO could hang)."""
    box: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            box.append(work())
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if errors:
        raise errors[0]
    return box[0]


def assert_match(text: str, pattern: str) -> None:
    assert re.search(pattern, text), f"{text!r} does not match {pattern!r}"
    assert MARKER not in text


def load_one(folder: Path, query_file: str) -> list[ConfigError]:
    path = folder / "alerts.yaml"
    path.write_text(
        "alerts:\n"
        "  - name: probe\n"
        "    conn_id: warehouse\n"
        "    schedule: '@daily'\n"
        f"    query_file: '{query_file}'\n"
    )
    result = within(10, lambda: load_config(path))
    for error in result.errors:
        assert MARKER not in error.format()
    return result.errors


def only_error(folder: Path, query_file: str) -> str:
    errors = load_one(folder, query_file)
    assert len(errors) == 1, [e.format() for e in errors]
    text = errors[0].format()
    assert text.startswith(f"{folder / 'alerts.yaml'}:5:17 alerts[0].query_file: ")
    return text


def test_a_file_inside_the_folder_and_a_symlink_to_it_load(folder: Path) -> None:
    (folder / "sql" / "alias.sql").symlink_to("ok.sql")
    (folder / "linked").symlink_to(folder / "sql")  # a symlinked folder inside, absolute

    assert load_one(folder, "sql/ok.sql") == []
    assert load_one(folder, "sql/alias.sql") == []
    assert load_one(folder, "linked/ok.sql") == []
    assert load_one(folder, "sql/../sql/ok.sql") == []


def test_dot_dot_escapes_are_refused(folder: Path) -> None:
    expected = r"query_file `\.\./outside/secret\.sql` is outside the folder of the YAML file"
    assert_match(only_error(folder, "../outside/secret.sql"), expected)
    assert_match(
        only_error(folder, "../../../../../../etc/passwd"),
        r"query_file `\.\./\.\./\.\./\.\./\.\./\.\./etc/passwd` is outside the folder "
        r"of the YAML file \(through `\.\.` or a symbolic link\) \(paths are relative to "
        r"the folder of the YAML file and stay inside it: ",
    )


def test_absolute_paths_are_refused(folder: Path) -> None:
    outside = folder.parent / "outside" / "secret.sql"
    for path in ("/etc/passwd", "/proc/self/environ", "/dev/zero", str(outside)):
        assert_match(only_error(folder, path), rf"query_file `{path}` is an absolute path")


def test_symlinks_out_of_the_folder_are_refused(folder: Path) -> None:
    links = {
        "secret.sql": folder.parent / "outside" / "secret.sql",
        "environ.sql": Path("/proc/self/environ"),
        "zero.sql": Path("/dev/zero"),
        "passwd.sql": Path("/etc/passwd"),
    }
    for name, target in links.items():
        (folder / "sql" / name).symlink_to(target)
    (folder / "sql" / "relative.sql").symlink_to("../../outside/secret.sql")

    for name in (*links, "relative.sql"):
        assert_match(
            only_error(folder, f"sql/{name}"),
            rf"query_file `sql/{name}` is outside the folder of the YAML file "
            r"\(through `\.\.` or a symbolic link\)",
        )


def test_a_fifo_is_refused_at_once(folder: Path) -> None:
    os.mkfifo(folder / "sql" / "pipe.sql")  # nobody writes: a plain open would wait forever

    assert_match(
        only_error(folder, "sql/pipe.sql"),
        r"query_file `sql/pipe\.sql` is a named pipe \(FIFO\), not a regular \.sql file$",
    )


def test_a_directory_is_refused(folder: Path) -> None:
    (folder / "sql" / "dir.sql").mkdir()

    assert_match(
        only_error(folder, "sql/dir.sql"),
        r"query_file `sql/dir\.sql` is a directory, not a regular \.sql file$",
    )
    assert_match(only_error(folder, "sql"), r"query_file `sql` is a directory")


def test_a_socket_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "c"  # AF_UNIX paths are short: keep this one near the root of tmp
    folder.mkdir()
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(folder / "s.sql"))
        assert_match(
            only_error(folder, "s.sql"), r"query_file `s\.sql` is a socket, not a regular \.sql"
        )
    finally:
        server.close()


def test_devices_inside_the_folder_are_refused() -> None:
    """A device the folder itself holds (``/dev``): refused by fstat, never read."""
    with pytest.raises(QueryFileRefused, match=r"^query_file `zero` is a character device, not"):
        within(5, lambda: read_query_file(Path("/dev"), "zero"))
    with pytest.raises(QueryFileRefused, match=r"^query_file `null` is a character device, not"):
        within(5, lambda: read_query_file(Path("/dev"), "null"))


def test_proc_files_inside_the_folder_are_never_quoted() -> None:
    """``/proc/self`` as the folder: environ is read (bounded) but refused as not SQL text."""
    data = within(5, lambda: read_query_file(Path("/proc/self"), "environ"))
    assert 0 < len(data) <= MAX_QUERY_FILE_BYTES

    result = load_config_text(
        "alerts:\n  - name: p\n    conn_id: c\n    schedule: '@daily'\n    query_file: environ\n",
        "alerts.yaml",
        base_dir="/proc/self",
    )

    [error] = result.errors
    assert_match(
        error.format(),
        r"^alerts\.yaml:5:17 alerts\[0\]\.query_file: query_file `environ` is not SQL text: "
        r"control character U\+0000 at line 1, column \d+ of the file",
    )
    for variable in data.split(b"\0"):
        assert not variable or variable.decode(errors="replace") not in error.format()


def test_a_file_over_one_mib_is_refused_without_reading_it(folder: Path) -> None:
    (folder / "sql" / "big.sql").write_bytes(b"-- " + b"x" * (2 * 1024 * 1024) + b"\n")
    (folder / "sql" / "edge.sql").write_bytes(b"-" * MAX_QUERY_FILE_BYTES)

    assert_match(
        only_error(folder, "sql/big.sql"),
        r"query_file `sql/big\.sql` is larger than 1 MiB \(an alert query is a screen or two "
        r"of SQL; move the logic into a view\)$",
    )
    assert len(read_query_file(folder, "sql/edge.sql")) == MAX_QUERY_FILE_BYTES


def test_the_reader_stops_one_byte_past_the_cap(folder: Path) -> None:
    """Whatever the reported size (``/proc`` files say 0), at most cap + 1 bytes are read."""
    path = folder / "sql" / "big.sql"
    path.write_bytes(b"x" * (2 * 1024 * 1024))
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(QueryFileRefused, match=r"is larger than 1 MiB"):
            _read_at_most(fd, MAX_QUERY_FILE_BYTES, "query_file `sql/big.sql`")
        assert os.lseek(fd, 0, os.SEEK_CUR) == MAX_QUERY_FILE_BYTES + 1
    finally:
        os.close(fd)


def test_non_utf8_and_binary_files_are_refused_before_parsing(folder: Path) -> None:
    (folder / "sql" / "latin1.sql").write_bytes(f"SELECT '{MARKER}' AS status\n".encode() + b"\xe9")
    (folder / "sql" / "nul.sql").write_bytes(f"SELECT '{MARKER}'\nAS\x00status".encode())
    (folder / "sql" / "esc.sql").write_bytes(f"SELECT '{MARKER}\x1b[2J' AS status".encode())
    (folder / "sql" / "bom.sql").write_bytes(b"\xef\xbb\xbf" + OK_SQL.encode())

    assert_match(
        only_error(folder, "sql/latin1.sql"),
        r"query_file `sql/latin1\.sql` is not UTF-8 text \(line 2, column 1 of the file\) "
        r"\(save it as UTF-8\)$",
    )
    assert_match(
        only_error(folder, "sql/nul.sql"),
        r"query_file `sql/nul\.sql` is not SQL text: control character U\+0000 at line 2, "
        r"column 3 of the file",
    )
    assert_match(
        only_error(folder, "sql/esc.sql"),
        r"query_file `sql/esc\.sql` is not SQL text: control character U\+001B at line 1, "
        r"column 27 of the file",
    )
    assert load_one(folder, "sql/bom.sql") == []


def test_a_symlink_loop_and_a_missing_file_are_located_errors(folder: Path) -> None:
    (folder / "sql" / "loop.sql").symlink_to("loop.sql")

    assert_match(
        only_error(folder, "sql/loop.sql"),
        r"query_file `sql/loop\.sql` cannot be read: a loop of symbolic links$",
    )
    assert_match(
        only_error(folder, "sql/none.sql"),
        r"query_file `sql/none\.sql` not found \(paths are relative to the folder of the "
        r"YAML file: ",
    )


def test_two_alerts_naming_one_bad_file_each_get_their_own_error(folder: Path) -> None:
    path = folder / "alerts.yaml"
    path.write_text(
        "defaults: {conn_id: warehouse, schedule: '@daily'}\n"
        "alerts:\n"
        "  - {name: one, query_file: ../outside/secret.sql}\n"
        "  - {name: two, query_file: ../outside/secret.sql}\n"
    )

    errors = load_config(path).errors

    assert [(e.alert, e.path, e.line) for e in errors] == [
        ("one", "alerts[0].query_file", 3),
        ("two", "alerts[1].query_file", 4),
    ]


def test_the_manifest_fingerprint_never_hangs_nor_reads_devices(folder: Path) -> None:
    os.mkfifo(folder / "sql" / "pipe.sql")
    (folder / "sql" / "zero.sql").symlink_to("/dev/zero")
    names = ["sql/ok.sql", "sql/pipe.sql", "sql/zero.sql", "/dev/zero", "/proc/self/environ"]
    names += ["../outside/secret.sql", "sql/none.sql"]

    def observe() -> Fingerprint:
        return Fingerprint.observe(
            content=b"",
            package_version="test",
            display_name="alerts.yaml",
            base_dir=folder,
            env=RecordingEnv({}),
            conn_types=None,
            query_files=names,
        )

    fingerprint = within(5, observe)

    files = fingerprint.files
    assert files["sql/ok.sql"] is not None and len(files["sql/ok.sql"] or "") == 64
    assert files["sql/none.sql"] is None
    assert files["sql/pipe.sql"] == (
        "refused: query_file `sql/pipe.sql` is a named pipe (FIFO), not a regular .sql file"
    )
    assert files["/dev/zero"] == "refused: query_file `/dev/zero` is an absolute path"
    assert "outside the folder" in (files["sql/zero.sql"] or "")
    assert MARKER not in repr(files)
    still = within(
        5,
        lambda: fingerprint.still_holds(
            content_hash=fingerprint.content_hash,
            package_version="test",
            display_name="alerts.yaml",
            base_dir=folder,
            env={},
            conn_type_of=None,
        ),
    )
    assert still is True
    (folder / "sql" / "ok.sql").write_text("SELECT 'ALERT' AS status\n")
    assert not fingerprint.still_holds(
        content_hash=fingerprint.content_hash,
        package_version="test",
        display_name="alerts.yaml",
        base_dir=folder,
        env={},
        conn_type_of=None,
    )
