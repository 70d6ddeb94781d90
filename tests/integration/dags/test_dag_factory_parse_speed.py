"""Parse cost: one DAG when a worker starts a task, and no re-validation of unchanged files.

The counts are asserted; the timings are printed (``pytest -s``) for the report, not
asserted, since they depend on the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sqlsentinel_airflow import __version__
from sqlsentinel_airflow.core.config.sqlcheck import verdicts_file
from sqlsentinel_airflow.dags import manifest

pytestmark = pytest.mark.airflow

ALERT_COUNT = 2000


def _many_alerts(count: int) -> str:
    parts = ["defaults:\n  conn_id: warehouse\n  timezone: Europe/Berlin\nalerts:\n"]
    for i in range(count):
        parts.append(
            f"  - name: alert_{i:04d}\n"
            f"    description: generated alert {i}\n"
            "    query: |\n"
            f"      SELECT CASE WHEN COUNT(*) > {i} THEN 'ALERT' ELSE 'OK' END AS status\n"
            f"      FROM orders WHERE region = 'r{i % 7}'\n"
            f'    schedule: "{i % 60} * * * *"\n'
            "    notify:\n"
            f"      - {{channel: email, to: [team{i % 5}@example.com]}}\n"
        )
    return "".join(parts)


@pytest.fixture
def parsing_context(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Set the dag_id a worker would put in the environment before parsing."""

    def _set(dag_id: str) -> None:
        monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", dag_id)
        monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_TASK_ID", "evaluate")

    yield _set


def _timed(parse: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    bag = parse()
    return bag, time.perf_counter() - started


def test_task_start_parse_builds_exactly_one_dag_of_2000(
    write_alerts: Callable[[str], Path],
    parse: Callable[[], Any],
    parsing_context: Callable[[str], None],
) -> None:
    write_alerts(_many_alerts(ALERT_COUNT))
    parsing_context("sqlsentinel_alert_1234")

    cold, cold_s = _timed(parse)  # validates all 2,000 alerts, writes the manifest
    assert cold.import_errors == {}
    assert list(cold.dags) == ["sqlsentinel_alert_1234"]
    assert cold.dags["sqlsentinel_alert_1234"].timetable.expression == "34 * * * *"

    manifest.clear_memory_cache()
    from_disk, disk_s = _timed(parse)  # a new worker process: reads the manifest
    assert list(from_disk.dags) == ["sqlsentinel_alert_1234"]

    warm, warm_s = _timed(parse)  # same process again: in-memory cache
    assert list(warm.dags) == ["sqlsentinel_alert_1234"]
    print(
        f"\n[parse timings, {ALERT_COUNT} alerts, one DAG] validate: {cold_s:.3f}s, "
        f"manifest from disk: {disk_s:.3f}s, in-memory: {warm_s:.3f}s"
    )


def test_full_parse_of_2000_alerts_then_cached_parse(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any]
) -> None:
    write_alerts(_many_alerts(ALERT_COUNT))
    full, full_s = _timed(parse)
    assert full.import_errors == {}
    assert len(full.dags) == ALERT_COUNT

    manifest.clear_memory_cache()
    again, again_s = _timed(parse)
    assert len(again.dags) == ALERT_COUNT
    print(
        f"\n[parse timings, {ALERT_COUNT} alerts, all DAGs] validate + build: {full_s:.3f}s, "
        f"manifest + build: {again_s:.3f}s"
    )


def test_parsing_context_for_another_file_builds_nothing_and_for_a_placeholder_only_it(
    write_alerts: Callable[[str], Path],
    parse: Callable[[], Any],
    parsing_context: Callable[[str], None],
) -> None:
    write_alerts("one_broken_alert")

    parsing_context("some_other_dag")
    assert parse().dags == {}

    parsing_context("sqlsentinel_broken_schedule")
    bag = parse()
    assert list(bag.dags) == ["sqlsentinel_broken_schedule"]
    assert "sqlsentinel-invalid" in bag.dags["sqlsentinel_broken_schedule"].tags

    parsing_context("sqlsentinel_first_ok")
    assert list(parse().dags) == ["sqlsentinel_first_ok"]  # no placeholder, no errors DAG


def _resolve(path: Path, directory: Path, **overrides: Any) -> manifest.SourceState:
    options: dict[str, Any] = {
        "directory": directory,
        "env": dict(os.environ),
        "conn_type_of": None,
        "package_version": __version__,
        "display_name": "alerts.yaml",
    }
    options.update(overrides)
    return manifest.resolve_source(path, **options)


def test_unchanged_file_is_read_back_not_revalidated(tmp_path: Path) -> None:
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "q.sql").write_text("SELECT 'OK' AS status", encoding="utf-8")
    path = tmp_path / "alerts.yaml"
    path.write_text(
        "alerts:\n"
        "  - name: from_file\n"
        "    conn_id: wh\n"
        "    query_file: sql/q.sql\n"
        "    schedule: '0 * * * *'\n"
        "    notify: [{channel: slack, webhook_url: '${HOOK_URL}'}]\n",
        encoding="utf-8",
    )
    directory = tmp_path / "manifests"
    env = {"HOOK_URL": "https://hooks.slack.com/services/one"}

    first = _resolve(path, directory, env=env)
    assert first.from_cache is False
    assert first.config is not None
    assert first.config.alerts[0].query == "SELECT 'OK' AS status"
    stored = manifest.read_manifest(manifest.manifest_path(path, directory))
    assert stored is not None
    assert stored.config == first.config
    assert set(stored.fingerprint.env) == {"HOOK_URL"}
    assert "hooks.slack.com" not in stored.fingerprint.model_dump_json()  # values only hashed
    assert (manifest.manifest_path(path, directory).stat().st_mode & 0o777) == 0o600

    assert _resolve(path, directory, env=env).from_cache is True
    manifest.clear_memory_cache()
    again = _resolve(path, directory, env=env)
    assert again.from_cache is True  # from the file on disk
    assert again.config == first.config

    # Each thing the validation read invalidates it.
    changed_env = _resolve(path, directory, env={"HOOK_URL": "https://hooks.slack.com/services/2"})
    assert changed_env.from_cache is False
    assert changed_env.config is not None
    assert changed_env.config.alerts[0].notify[0].webhook_url.endswith("/2")  # type: ignore[union-attr]
    (tmp_path / "sql" / "q.sql").write_text("SELECT 'ALERT' AS status", encoding="utf-8")
    changed_sql = _resolve(path, directory, env=env)
    assert changed_sql.from_cache is False
    assert changed_sql.config is not None
    assert changed_sql.config.alerts[0].query == "SELECT 'ALERT' AS status"
    assert _resolve(path, directory, env=env, package_version="9.9.9").from_cache is False
    path.write_text(path.read_text(encoding="utf-8") + "# comment\n", encoding="utf-8")
    assert _resolve(path, directory, env=env).from_cache is False


def test_connection_types_are_part_of_the_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(
        "alerts:\n  - {name: a, conn_id: wh, query: \"SELECT 'OK' AS status\", schedule: '0 * * * *'}\n",
        encoding="utf-8",
    )
    directory = tmp_path / "manifests"
    types = {"wh": "postgres"}

    first = _resolve(path, directory, conn_type_of=types.get)
    assert first.config is not None
    assert first.config.alerts[0].dialect == "postgres"
    assert _resolve(path, directory, conn_type_of=types.get).from_cache is True
    types["wh"] = "mysql"
    second = _resolve(path, directory, conn_type_of=types.get)
    assert second.from_cache is False
    assert second.config is not None
    assert second.config.alerts[0].dialect == "mysql"


def test_a_corrupt_manifest_is_a_cache_miss_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(
        "alerts:\n  - {name: a, conn_id: wh, query: \"SELECT 'OK' AS status\", schedule: '0 * * * *'}\n",
        encoding="utf-8",
    )
    directory = tmp_path / "manifests"
    _resolve(path, directory)
    target = manifest.manifest_path(path, directory)
    target.write_text('{"format": 1, "config": ', encoding="utf-8")
    manifest.clear_memory_cache()

    assert manifest.read_manifest(target) is None
    state = _resolve(path, directory)
    assert state.from_cache is False
    assert state.config is not None
    assert [a.name for a in state.config.alerts] == ["a"]
    assert manifest.read_manifest(target) is not None  # rewritten
    kept = verdicts_file(directory, path).name  # the SQL verdicts, beside the manifest
    assert sorted(p.name for p in directory.iterdir()) == sorted([target.name, kept])  # no temp


def test_default_manifest_dir_follows_airflow_home(airflow_home: Path) -> None:
    assert manifest.default_manifest_dir() == airflow_home / "sqlsentinel" / "manifests"
    home_default = Path.home() / "airflow" / "sqlsentinel" / "manifests"
    assert manifest.default_manifest_dir({}) == home_default


def test_parsing_never_creates_home_airflow(
    write_alerts: Callable[[str], Path], dag_folder: Path, tmp_path: Path, airflow_home: Path
) -> None:
    """A fresh process parses the DAG folder with HOME pointing at an empty directory."""
    write_alerts("valid_alerts")
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "AIRFLOW_HOME": str(airflow_home)}
    code = (
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(dag_folder)!r})\n"
        "assert not bag.import_errors and len(bag.dags) == 3, (bag.import_errors, bag.dags)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )

    assert proc.returncode == 0, proc.stderr[-2000:]
    assert list(home.iterdir()) == []


_RESOLVE_IN_A_NEW_PROCESS = """
import json, os, sys
from pathlib import Path
from sqlsentinel_airflow import __version__
from sqlsentinel_airflow.dags import manifest
state = manifest.resolve_source(
    Path(sys.argv[1]), directory=Path(sys.argv[2]), env=dict(os.environ),
    conn_type_of=None, package_version=__version__, display_name="alerts.yaml",
)
print(json.dumps({
    "from_cache": state.from_cache,
    "alerts": len(state.config.alerts) if state.config else None,
    "errors": [e.message for e in state.file_errors]
    + [e.message for errors in state.alert_errors.values() for e in errors],
    "sqlglot": "sqlglot" in sys.modules,
}))
"""


def test_after_an_edit_only_the_edited_queries_are_parsed(tmp_path: Path) -> None:
    """The first parse after an edit keeps the SQL verdicts of the queries it did not touch:
    it imports sqlglot only when a query changed (each step is a new process, as in the dag
    processor)."""
    path = tmp_path / "alerts.yaml"
    directory = tmp_path / "manifests"
    text = _many_alerts(50)

    def resolve(valid: bool = True) -> dict[str, Any]:
        proc = subprocess.run(
            [sys.executable, "-c", _RESOLVE_IN_A_NEW_PROCESS, str(path), str(directory)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        if valid:
            assert result["errors"] == [] and result["alerts"] == 50
        return result

    path.write_text(text, encoding="utf-8")
    first = resolve()
    assert first["from_cache"] is False and first["sqlglot"] is True
    kept = list(directory.glob("verdicts-*.json"))
    assert len(kept) == 1

    path.write_text(text.replace("generated alert 7\n", "edited alert 7\n"), encoding="utf-8")
    described = resolve()
    assert described["from_cache"] is False  # validated again: the file changed
    assert described["sqlglot"] is False  # every query's verdict was kept

    path.write_text(text.replace("COUNT(*) > 7 ", "COUNT(*) + 1 > 7 "), encoding="utf-8")
    requeried = resolve()
    assert requeried["from_cache"] is False and requeried["sqlglot"] is True

    # A refusal is never kept: the same write, checked again, is refused again.
    path.write_text(
        text.replace(
            "COUNT(*) > 7 ",
            "COUNT(*) > 7 THEN 1 END FROM t; DELETE FROM orders; SELECT CASE WHEN 1 ",
        ),
        encoding="utf-8",
    )
    broken = resolve(valid=False)
    assert broken["alerts"] == 49, broken
    assert any("3 statements (SELECT, DELETE, SELECT)" in m for m in broken["errors"]), broken
