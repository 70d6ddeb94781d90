"""An unexpected failure inside a command (a bug, an Airflow release we do not support) is
one redacted line and exit 1, never a raw traceback; ``--debug`` re-raises it."""

from __future__ import annotations

import pytest

from sqlsentinel_airflow.cli import commands
from sqlsentinel_airflow.cli.main import EXIT_FAILED, main


def _broken(args: object) -> int:
    raise ImportError("cannot import name 'X' (dsn postgresql://reader:s3cr3t@db/wh)")


def test_an_unexpected_error_is_one_redacted_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(commands, "cmd_schema", _broken)
    assert main(["schema"]) == EXIT_FAILED
    err = capsys.readouterr().err
    (line,) = err.splitlines()
    assert line.startswith("sqlsentinel: error: unexpected ImportError: cannot import name 'X'")
    assert "s3cr3t" not in err and "postgresql://reader:***@db/wh" in err
    assert "Airflow 3." in line and "supports Airflow 3.1 to 3.3" in line
    assert "--debug shows the traceback" in line


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands, "cmd_schema", _broken)
    with pytest.raises(ImportError, match="cannot import name 'X'"):
        main(["--debug", "schema"])
