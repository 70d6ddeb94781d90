"""SQL verdicts kept across loads: after an edit only the edited queries are parsed again.

``sqlcheck.verdicts_kept_in(path)`` lets ``check_query`` reuse accepted verdicts a previous
load wrote to ``path``. What must hold: a kept verdict skips the parse, a new or edited
query is parsed, a refusal is never kept, and a file the checker did not write itself (other
rules, another sqlglot, another user, writable by others, damaged) is not trusted.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sqlsentinel_airflow.core.config import load_config_text, sqlcheck, sqltree
from sqlsentinel_airflow.core.config.sqlcheck import (
    UnsafeQuery,
    check_query,
    verdicts_file,
    verdicts_kept_in,
)

# Distinct shapes (different columns), so the literal-shape reuse cannot answer for them.
QUERIES = [
    "SELECT 'OK' AS status, COUNT(*) AS a FROM orders",
    "SELECT 'OK' AS status, MAX(amount) AS b FROM orders",
    "SELECT 'OK' AS status, MIN(amount) AS c FROM refunds",
]


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The queries sqlglot really parsed; in-process caches emptied (as in a new process)."""
    seen: list[str] = []
    real = sqltree.check_parsed

    def counting(sql: str, dialect: str | None) -> object:
        seen.append(sql)
        return real(sql, dialect)

    monkeypatch.setattr(sqltree, "check_parsed", counting)
    sqlcheck._check_cached.cache_clear()
    sqlcheck._ACCEPTED_SHAPES.clear()
    yield seen
    sqlcheck._check_cached.cache_clear()
    sqlcheck._ACCEPTED_SHAPES.clear()


def _load(path: Path, queries: list[str], dialect: str | None = "postgres") -> list[str | None]:
    """Check ``queries`` as one load of a file would; the dialect each was accepted in."""
    sqlcheck._check_cached.cache_clear()  # every load in its own "process"
    sqlcheck._ACCEPTED_SHAPES.clear()
    with verdicts_kept_in(path):
        return [check_query(q, dialect).dialect for q in queries]


def _kept(path: Path) -> dict[str, str | None]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == sqlcheck.VERDICTS_FORMAT
    assert data["checker"] == sqlcheck.checker_id()
    accepted: dict[str, str | None] = data["accepted"]
    return accepted


def test_unchanged_queries_are_not_parsed_again(tmp_path: Path, parses: list[str]) -> None:
    path = tmp_path / "v.json"
    assert _load(path, QUERIES) == ["postgres"] * 3
    assert parses == QUERIES
    assert len(_kept(path)) == 3
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    parses.clear()
    assert _load(path, QUERIES) == ["postgres"] * 3
    assert parses == []


def test_an_edited_query_is_parsed_and_the_old_verdict_dropped(
    tmp_path: Path, parses: list[str]
) -> None:
    path = tmp_path / "v.json"
    _load(path, QUERIES)
    before = _kept(path)
    edited = [QUERIES[0], QUERIES[1], "SELECT 'OK' AS status, SUM(amount) AS d FROM refunds"]

    parses.clear()
    _load(path, edited)
    assert parses == [edited[2]]
    after = _kept(path)
    assert len(after) == 3
    assert len(set(before) & set(after)) == 2  # QUERIES[2]'s verdict is gone


def test_the_dialect_is_part_of_the_verdict(tmp_path: Path, parses: list[str]) -> None:
    path = tmp_path / "v.json"
    _load(path, QUERIES[:1], dialect="postgres")
    parses.clear()
    assert _load(path, QUERIES[:1], dialect="mysql") == ["mysql"]
    assert parses == QUERIES[:1]


def test_a_refusal_is_never_kept(tmp_path: Path, parses: list[str]) -> None:
    path = tmp_path / "v.json"
    bad = "DELETE FROM orders"
    for _ in range(2):
        sqlcheck._check_cached.cache_clear()
        with verdicts_kept_in(path), pytest.raises(UnsafeQuery, match="DELETE"):
            check_query(bad, "postgres")
    assert parses == [bad, bad]
    assert not path.exists()  # nothing accepted, nothing written

    _load(path, [QUERIES[0]])
    with verdicts_kept_in(path), pytest.raises(UnsafeQuery):
        check_query(bad, "postgres")
    assert len(_kept(path)) == 1  # the refused query is not among them


def test_a_failed_load_leaves_the_kept_verdicts(tmp_path: Path, parses: list[str]) -> None:
    path = tmp_path / "v.json"
    _load(path, QUERIES)
    with pytest.raises(RuntimeError), verdicts_kept_in(path):
        check_query(QUERIES[0], "postgres")
        raise RuntimeError("the loader broke")
    with verdicts_kept_in(path):
        pass  # a file that did not load: no query accepted
    assert len(_kept(path)) == 3


def _rewrite(path: Path, **changes: object) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")
    path.chmod(0o600)


@pytest.mark.parametrize(
    "damage",
    ["other checker", "other format", "not json", "tampered dialect", "not a mapping"],
)
def test_a_file_this_checker_did_not_write_is_not_trusted(
    tmp_path: Path, parses: list[str], damage: str
) -> None:
    path = tmp_path / "v.json"
    _load(path, QUERIES)
    if damage == "other checker":  # other rules or another sqlglot release
        _rewrite(path, checker="0" * 32)
    elif damage == "other format":
        _rewrite(path, format=99)
    elif damage == "not json":
        path.write_text("{not json", encoding="utf-8")
    elif damage == "tampered dialect":  # a verdict may only name the asked dialect or None
        _rewrite(path, accepted={k: "tsql" for k in _kept(path)})
    else:
        _rewrite(path, accepted=["x"])

    parses.clear()
    assert _load(path, QUERIES) == ["postgres"] * 3
    assert parses == QUERIES
    assert len(_kept(path)) == 3  # and written again, in good order


def test_a_file_others_can_write_is_not_trusted(
    tmp_path: Path, parses: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "v.json"
    _load(path, QUERIES)
    path.chmod(0o622)
    parses.clear()
    with caplog.at_level(logging.WARNING, logger="sqlsentinel_airflow.core.config.sqlcheck"):
        _load(path, QUERIES)
    assert parses == QUERIES
    assert "another user owns it or may write it" in caplog.text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # replaced by a private file


def test_an_unwritable_directory_only_costs_the_cache(tmp_path: Path, parses: list[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    path = blocker / "cannot" / "v.json"  # a directory under a file cannot be made
    assert _load(path, QUERIES) == ["postgres"] * 3
    assert _load(path, QUERIES) == ["postgres"] * 3
    assert parses == QUERIES * 2
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_without_the_rules_source_nothing_is_kept_and_nothing_breaks(
    tmp_path: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sourceless install (only bytecode) cannot hash the rules: it keeps no verdicts."""

    def no_source() -> str:
        raise FileNotFoundError("sqlcheck.py")

    monkeypatch.setattr(sqlcheck, "checker_id", no_source)
    path = tmp_path / "v.json"
    assert _load(path, QUERIES) == ["postgres"] * 3
    assert not path.exists()
    assert _load(path, QUERIES) == ["postgres"] * 3
    assert parses == QUERIES * 2


def test_verdicts_file_is_per_alerts_file(tmp_path: Path) -> None:
    one = verdicts_file(tmp_path, Path("/etc/alerts/a.yaml"))
    two = verdicts_file(tmp_path, Path("/etc/alerts/b.yaml"))
    assert one != two and one.parent == tmp_path and one.name.startswith("verdicts-")


def test_a_whole_file_load_keeps_its_verdicts(tmp_path: Path, parses: list[str]) -> None:
    text = "alerts:\n" + "".join(
        f"  - {{name: a{i}, conn_id: wh, query: \"{q}\", schedule: '0 * * * *'}}\n"
        for i, q in enumerate(QUERIES)
    )
    path = tmp_path / "v.json"
    for expected in (QUERIES, []):
        sqlcheck._check_cached.cache_clear()
        parses.clear()
        with verdicts_kept_in(path):
            result = load_config_text(text, conn_type_of={"wh": "postgres"}.get)
        assert result.ok, result.errors
        assert [a.dialect for a in result.config.alerts] == ["postgres"] * 3  # type: ignore[union-attr]
        assert parses == expected


def test_sqlglot_is_imported_only_when_a_query_must_be_parsed(tmp_path: Path) -> None:
    """In a fresh process: all verdicts kept -> no sqlglot; one new query -> sqlglot."""
    path = tmp_path / "v.json"
    with verdicts_kept_in(path):
        for q in QUERIES:
            check_query(q, "postgres")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from sqlsentinel_airflow.core.config.sqlcheck import check_query, verdicts_kept_in\n"
        "with verdicts_kept_in(Path(sys.argv[1])):\n"
        "    for q in sys.argv[2:]:\n"
        "        check_query(q, 'postgres')\n"
        "print('sqlglot' in sys.modules)\n"
    )

    def imports_sqlglot(*queries: str) -> bool:
        proc = subprocess.run(
            [sys.executable, "-c", script, str(path), *queries],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip() == "True"

    assert imports_sqlglot(*QUERIES) is False
    assert imports_sqlglot(*QUERIES, "SELECT 'OK' AS status, 1 AS e FROM x") is True
