"""Isolation and fallback: a broken alert or a broken file never hides or stops valid alerts.

Each test parses a DAG folder with a real DagBag, changes alerts.yaml the way people do
(break one alert, a YAML syntax error, delete the file) and parses again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sqlsentinel_airflow.core.config.loader import load_config
from sqlsentinel_airflow.dags import manifest

pytestmark = pytest.mark.airflow

ERRORS_DAG = "sqlsentinel_config_errors"
VALID_IDS = {
    "sqlsentinel_daily_revenue_check",
    "sqlsentinel_nightly_load_lag",
    "sqlsentinel_orders_on_database_url",
}


def test_one_broken_alert_leaves_the_others_and_shows_its_exact_message(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any]
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    path = write_alerts("one_broken_alert")
    (expected,) = load_config(path).errors
    message = expected.format().replace(str(path), "alerts.yaml")
    assert message == (
        "alerts.yaml:9:15 alerts[1].schedule: 'every morning' is not a valid cron expression "
        "(2 fields, not 5) (minute hour day-of-month month day-of-week, e.g. '0 9 * * *')"
    )

    bag = parse()

    assert bag.import_errors == {}
    assert set(bag.dags) == {
        "sqlsentinel_first_ok",
        "sqlsentinel_last_ok",
        "sqlsentinel_broken_schedule",
        ERRORS_DAG,
    }
    assert bag.dags["sqlsentinel_last_ok"].timetable.expression == "5 * * * *"
    placeholder = bag.dags["sqlsentinel_broken_schedule"]
    assert placeholder.schedule is None
    assert placeholder.tags == {"sqlsentinel", "sqlsentinel-invalid"}
    assert placeholder.description == f"INVALID: {message}"
    assert message in placeholder.doc_md
    assert "**not running**" in placeholder.doc_md
    (task,) = placeholder.tasks
    with pytest.raises(AirflowFailException, match=r"alerts\[1\]\.schedule: 'every morning'"):
        task.execute({})
    errors_doc = bag.dags[ERRORS_DAG].doc_md
    assert message in errors_doc
    assert "alert `broken_schedule` is not running; see DAG `sqlsentinel_broken_schedule`" in (
        errors_doc
    )


def test_an_alert_that_breaks_keeps_running_its_last_valid_version(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any]
) -> None:
    good = (
        "alerts:\n"
        "  - {name: steady, conn_id: wh, query: \"SELECT 'OK' AS status\", schedule: '0 * * * *'}\n"
        "  - {name: edited, conn_id: wh, query: \"SELECT 'OK' AS status -- v1\", "
        "schedule: '15 * * * *'}\n"
    )
    write_alerts(good)
    assert set(parse().dags) == {"sqlsentinel_steady", "sqlsentinel_edited"}

    write_alerts(good.replace("'15 * * * *'", "'15 * * *'").replace("-- v1", "-- v2"))
    bag = parse()

    assert bag.import_errors == {}
    assert set(bag.dags) == {"sqlsentinel_steady", "sqlsentinel_edited", ERRORS_DAG}
    edited = bag.dags["sqlsentinel_edited"]
    assert edited.timetable.expression == "15 * * * *"  # the last valid version runs
    assert edited.tasks[0].alert.query.endswith("-- v1")
    assert "sqlsentinel-stale" in edited.tags
    assert edited.doc_md.startswith("**⚠ This alert is invalid in the current alerts file.**")
    assert "alerts[1].schedule: '15 * * *' is not a valid cron expression" in edited.doc_md
    assert "alert `edited` keeps running its last valid version" in bag.dags[ERRORS_DAG].doc_md
    assert "sqlsentinel-stale" not in bag.dags["sqlsentinel_steady"].tags

    # Another edit while still broken, parsed by a new process: still the v1 version.
    manifest.clear_memory_cache()
    write_alerts(good.replace("'15 * * * *'", "'15 * * *'").replace("'0 * * * *'", "'1 * * * *'"))
    bag = parse()
    assert bag.dags["sqlsentinel_steady"].timetable.expression == "1 * * * *"
    assert bag.dags["sqlsentinel_edited"].tasks[0].alert.query.endswith("-- v1")

    # Fixed: the new version runs, the warning and the errors DAG are gone.
    write_alerts(good.replace("-- v1", "-- v3"))
    bag = parse()
    assert set(bag.dags) == {"sqlsentinel_steady", "sqlsentinel_edited"}
    assert bag.dags["sqlsentinel_edited"].tasks[0].alert.query.endswith("-- v3")
    assert "sqlsentinel-stale" not in bag.dags["sqlsentinel_edited"].tags


def test_yaml_syntax_error_keeps_every_previous_dag_and_shows_the_error(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any], fixtures_dir: Path
) -> None:
    write_alerts("valid_alerts")
    assert set(parse().dags) == VALID_IDS

    manifest.clear_memory_cache()  # as in a fresh dag-processor process: the disk manifest
    write_alerts((fixtures_dir / "syntax_error.yaml").read_text(encoding="utf-8"))
    bag = parse()

    assert bag.import_errors == {}
    assert set(bag.dags) == VALID_IDS | {ERRORS_DAG}
    syntax = "alerts.yaml:7:1 YAML syntax error: found unexpected end of stream"
    for dag_id in VALID_IDS:
        dag = bag.dags[dag_id]
        assert "sqlsentinel-stale" in dag.tags
        assert dag.doc_md.startswith("**⚠ The alerts file cannot be loaded.**")
        assert syntax in dag.doc_md
    revenue = bag.dags["sqlsentinel_daily_revenue_check"]
    assert revenue.timetable.expression == "0 9 * * *"
    assert revenue.timetable.timezone.name == "Europe/Berlin"
    errors_doc = bag.dags[ERRORS_DAG].doc_md
    assert syntax in errors_doc
    assert "the file cannot be loaded: its alerts run their last valid version" in errors_doc


def test_missing_file_after_a_valid_version_keeps_the_dags(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any]
) -> None:
    path = write_alerts("valid_alerts")
    parse()

    manifest.clear_memory_cache()
    path.unlink()
    bag = parse()

    assert bag.import_errors == {}
    assert set(bag.dags) == VALID_IDS | {ERRORS_DAG}
    assert f"alerts file not found: {path}" in bag.dags[ERRORS_DAG].doc_md
    assert f"alerts file not found: {path}" in bag.dags["sqlsentinel_nightly_load_lag"].doc_md


def test_broken_file_without_earlier_version_defines_only_the_errors_dag(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any]
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    write_alerts("alerts:\n  - name: [unclosed\n")
    bag = parse()

    assert bag.import_errors == {}
    assert set(bag.dags) == {ERRORS_DAG}
    errors_dag = bag.dags[ERRORS_DAG]
    assert errors_dag.schedule is None
    assert "no earlier version is known: none of its alerts run" in errors_dag.doc_md
    with pytest.raises(AirflowFailException, match=r"alerts\.yaml:3:1 YAML syntax error"):
        errors_dag.tasks[0].execute({})


def test_removing_an_alert_from_the_file_removes_its_dag(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any]
) -> None:
    path = write_alerts("one_broken_alert")
    parse()
    text = path.read_text(encoding="utf-8")
    write_alerts(text[: text.index("  - name: broken_schedule")])

    assert set(parse().dags) == {"sqlsentinel_first_ok"}


def test_an_unwritable_manifest_directory_does_not_break_parsing(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    from sqlsentinel_airflow import load_alert_dags

    (tmp_path / "alerts.yaml").write_text(
        (fixtures_dir / "valid_alerts.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "not_a_dir").write_text("", encoding="utf-8")
    namespace: dict[str, Any] = {"__file__": str(tmp_path / "dag.py")}

    dags = load_alert_dags(
        "alerts.yaml", namespace, manifest_dir=tmp_path / "not_a_dir" / "m", config_watch=False
    )

    assert set(dags) == VALID_IDS


def test_a_stale_alert_also_survives_a_later_file_level_failure(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any]
) -> None:
    good = (
        "alerts:\n"
        "  - {name: steady, conn_id: wh, query: \"SELECT 'OK' AS status\", schedule: '0 * * * *'}\n"
        "  - {name: edited, conn_id: wh, query: \"SELECT 'OK' AS status\", schedule: '15 * * * *'}\n"
    )
    write_alerts(good)
    parse()
    write_alerts(good.replace("'15 * * * *'", "'15 * *'"))  # edited breaks: stale v1
    parse()
    manifest.clear_memory_cache()
    write_alerts(good + "  - {name: [unclosed\n")  # now the whole file breaks

    bag = parse()

    assert set(bag.dags) == {"sqlsentinel_steady", "sqlsentinel_edited", ERRORS_DAG}
    assert bag.dags["sqlsentinel_edited"].timetable.expression == "15 * * * *"
    assert "sqlsentinel-stale" in bag.dags["sqlsentinel_edited"].tags


def test_a_glob_that_suddenly_matches_nothing_keeps_the_files_it_matched(
    dag_folder: Path, parse: Callable[[], Any]
) -> None:
    (dag_folder / "alert_dags.py").write_text(
        "# airflow dag\nfrom sqlsentinel_airflow import load_alert_dags\n"
        "load_alert_dags('alerts/*.yaml', globals(), config_watch=False)\n",
        encoding="utf-8",
    )
    folder = dag_folder / "alerts"
    folder.mkdir()
    (folder / "a.yaml").write_text(
        "alerts:\n  - {name: a, conn_id: wh, query: \"SELECT 'OK' AS status\", schedule: '0 * * * *'}\n",
        encoding="utf-8",
    )
    assert set(parse().dags) == {"sqlsentinel_a"}

    manifest.clear_memory_cache()
    (folder / "a.yaml").rename(folder / "a.yaml.bak")
    bag = parse()

    assert bag.import_errors == {}
    assert set(bag.dags) == {"sqlsentinel_a", ERRORS_DAG}
    errors_doc = bag.dags[ERRORS_DAG].doc_md
    assert f"no alerts file matches {folder / '*.yaml'}" in errors_doc
    assert f"alerts file not found: {folder / 'a.yaml'}" in errors_doc
