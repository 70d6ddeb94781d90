"""One DAG per alert, as a real DagBag parses the example DAG file: every attribute users rely on."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
import pytest

pytestmark = pytest.mark.airflow

VALID_IDS = {
    "sqlsentinel_daily_revenue_check",
    "sqlsentinel_nightly_load_lag",
    "sqlsentinel_orders_on_database_url",
}
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dags"


def test_every_alert_becomes_a_dag_with_its_settings(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any]
) -> None:
    from airflow.sdk.definitions.timetables.trigger import CronTriggerTimetable

    from sqlsentinel_airflow.operators.alert import SentinelAlertOperator

    write_alerts("valid_alerts")
    bag = parse()

    assert bag.import_errors == {}
    assert set(bag.dags) == VALID_IDS  # and no config-errors DAG: nothing is wrong
    dag = bag.dags["sqlsentinel_daily_revenue_check"]
    assert isinstance(dag.timetable, CronTriggerTimetable)
    assert dag.timetable.expression == "0 9 * * *"
    assert dag.timetable.timezone.name == "Europe/Berlin"
    assert dag.timezone.name == "Europe/Berlin"  # start_date itself is stored in UTC
    assert dag.start_date == pendulum.datetime(2024, 1, 1, tz="Europe/Berlin")
    assert dag.max_active_runs == 1
    assert dag.is_paused_upon_creation is False
    assert dag.catchup is False
    assert dag.tags == {"sqlsentinel", "critical", "finance", "revenue"}
    assert dag.params["dry_run"] is False
    assert dag.params.get_param("dry_run").schema == {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "boolean",
    }
    assert dag.description == "Revenue below 10k yesterday"
    assert dag.fileloc == str(Path(bag.dag_folder) / "alert_dags.py")

    (task,) = dag.tasks
    assert task.task_id == "evaluate"
    assert isinstance(task, SentinelAlertOperator)
    assert task.alert.name == "daily_revenue_check"
    assert task.owner == "data-team"
    assert task.retries == 3
    assert task.retry_delay == timedelta(minutes=2)
    assert task.execution_timeout == timedelta(minutes=5) + timedelta(minutes=2)

    other = bag.dags["sqlsentinel_orders_on_database_url"]
    assert other.timetable.timezone.name == "UTC"
    assert other.tasks[0].owner == "ops"
    assert other.tasks[0].retries == 0
    assert other.tasks[0].execution_timeout == timedelta(seconds=30) + timedelta(minutes=2)


def test_disabled_alert_has_no_schedule_but_exists_for_manual_runs(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any]
) -> None:
    from airflow.sdk.definitions.timetables.simple import NullTimetable

    write_alerts("valid_alerts")
    dag = parse().dags["sqlsentinel_nightly_load_lag"]

    assert dag.schedule is None
    assert isinstance(dag.timetable, NullTimetable)
    assert dag.dag_display_name == "Nightly Load Lag"
    assert "disabled (`enabled: false`): manual runs only" in dag.doc_md


def test_doc_md_shows_sql_schedule_channels_and_source_without_secrets(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any], secrets: tuple[str, ...]
) -> None:
    write_alerts("valid_alerts")
    bag = parse()
    doc = bag.dags["sqlsentinel_daily_revenue_check"].doc_md

    assert "Revenue below 10k yesterday" in doc
    assert "```sql\nSELECT CASE WHEN SUM(amount) < 10000 THEN 'ALERT'" in doc
    assert "`0 9 * * *` in Europe/Berlin" in doc
    assert "- slack via webhook URL (hidden)" in doc
    assert "- slack to #data-alerts via connection `slack_alerts`" in doc
    assert "- webhook POST to URL (hidden)" in doc
    assert "- email to team@example.com via connection `smtp_default`" in doc
    assert "**Source:** `alerts.yaml:14`" in doc
    db_doc = bag.dags["sqlsentinel_orders_on_database_url"].doc_md
    assert "`database.url` of the alerts file (hidden)" in db_doc
    for dag in bag.dags.values():
        for secret in secrets:
            assert secret not in dag.doc_md


def test_serialized_dag_keeps_the_alert_timezone_and_no_secret(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any], secrets: tuple[str, ...]
) -> None:
    """What the scheduler and the UI actually get: the serialized DAG."""
    from airflow.serialization.serialized_objects import DagSerialization

    write_alerts("valid_alerts")
    bag = parse()
    serialized = DagSerialization.to_dict(bag.dags["sqlsentinel_daily_revenue_check"])
    timetable = serialized["dag"]["timetable"]

    assert timetable["__type"] == "airflow.timetables.trigger.CronTriggerTimetable"
    assert timetable["__var"]["expression"] == "0 9 * * *"
    assert timetable["__var"]["timezone"] == "Europe/Berlin"
    assert serialized["dag"]["timezone"] == "Europe/Berlin"
    restored = DagSerialization.from_dict(serialized)
    assert restored.timetable.summary == "0 9 * * *"
    for dag in bag.dags.values():
        text = json.dumps(DagSerialization.to_dict(dag), default=str)
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked into serialized {dag.dag_id}"


def test_dry_run_param_accepts_only_a_boolean_as_parsed_and_as_served(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any]
) -> None:
    """The trigger form's switch: its schema (draft 7, cheap to check at parse time,
    docs/benchmarks.md) still refuses a non-boolean, in the DAG file and on the server."""
    from airflow.sdk.exceptions import ParamValidationError
    from airflow.serialization.serialized_objects import DagSerialization

    write_alerts("valid_alerts")
    dag = parse().dags["sqlsentinel_daily_revenue_check"]
    param = dag.params.get_param("dry_run")
    assert param.resolve(True) is True
    with pytest.raises(ParamValidationError, match="'yes' is not of type 'boolean'"):
        param.resolve("yes")

    served = DagSerialization.from_dict(DagSerialization.to_dict(dag)).params
    assert served.get_param("dry_run").schema["type"] == "boolean"  # the form draws a switch
    assert served.deep_merge({"dry_run": True}).validate() == {"dry_run": True}
    with pytest.raises(ParamValidationError, match="dry_run: 1 is not of type 'boolean'"):
        served.deep_merge({"dry_run": 1}).validate()


def test_tasks_hold_no_copy_of_the_dry_run_param_yet_a_run_gets_it(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any]
) -> None:
    """The evaluate task joins its DAG after it is built, so it holds no copy of the DAG's
    params (serialising such a copy resolved the Param twice more per DAG: docs/benchmarks.md,
    section 1, run 13); a run's params are the DAG's merged with the conf all the same."""
    from airflow.sdk.definitions.param import process_params
    from airflow.sdk.exceptions import ParamValidationError
    from airflow.serialization.serialized_objects import DagSerialization

    write_alerts("valid_alerts")
    dag = parse().dags["sqlsentinel_daily_revenue_check"]
    (task,) = dag.tasks
    assert not task.params
    assert dag.default_args == {}  # the task has its settings itself (owner etc. above)
    serialized = DagSerialization.to_dict(dag)
    assert "params" not in serialized["dag"]["tasks"][0]["__var"]
    assert [name for name, _ in serialized["dag"]["params"]] == ["dry_run"]

    assert process_params(dag, task, None, suppress_exception=False) == {"dry_run": False}
    assert process_params(dag, task, {"dry_run": True}, suppress_exception=False) == {
        "dry_run": True
    }
    with pytest.raises(ParamValidationError, match="'yes' is not of type 'boolean'"):
        process_params(dag, task, {"dry_run": "yes"}, suppress_exception=False)


def test_alerts_of_one_timezone_share_one_start_date() -> None:
    """Made once per zone, not per DAG (docs/benchmarks.md, section 1, run 13)."""
    from sqlsentinel_airflow.dags.factory import start_date_in

    berlin = start_date_in("Europe/Berlin")
    assert berlin is start_date_in("Europe/Berlin")
    assert berlin == pendulum.datetime(2024, 1, 1, tz="Europe/Berlin")
    assert berlin.timezone_name == "Europe/Berlin"
    assert start_date_in("UTC") == pendulum.datetime(2024, 1, 1, tz="UTC")


def test_dags_are_registered_in_globals_under_identifier_names(tmp_path: Path) -> None:
    from airflow.sdk import DAG

    from sqlsentinel_airflow import load_alert_dags

    (tmp_path / "alerts.yaml").write_text(
        (FIXTURES / "valid_alerts.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    namespace: dict[str, Any] = {"__file__": str(tmp_path / "my_dags.py"), "sqlsentinel_x": 1}

    dags = load_alert_dags("alerts.yaml", namespace, dag_id_prefix="team1_", config_watch=False)

    assert set(dags) == {
        "team1_daily_revenue_check",
        "team1_nightly_load_lag",
        "team1_orders_on_database_url",
    }
    registered = {k: v for k, v in namespace.items() if isinstance(v, DAG)}
    assert {d.dag_id for d in registered.values()} == set(dags)
    assert all(name.isidentifier() for name in registered)
    assert namespace["sqlsentinel_x"] == 1  # the DAG file's own names are left alone


def test_relative_path_resolves_against_the_dag_file_not_the_cwd(
    write_alerts: Callable[[str], Path],
    parse: Callable[[], Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_alerts("valid_alerts")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    assert set(parse().dags) == VALID_IDS


def test_without_globals_the_calling_dag_file_is_used(
    dag_folder: Path, parse: Callable[[], Any]
) -> None:
    (dag_folder / "alert_dags.py").write_text(
        "# airflow dag\nfrom sqlsentinel_airflow import load_alert_dags\n"
        "load_alert_dags('alerts.yaml', config_watch=False)\n",
        encoding="utf-8",
    )
    (dag_folder / "alerts.yaml").write_text(
        (FIXTURES / "valid_alerts.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )

    bag = parse()

    assert bag.import_errors == {}
    assert set(bag.dags) == VALID_IDS


def test_a_glob_loads_every_matching_file_and_reports_duplicate_dag_ids(
    dag_folder: Path, parse: Callable[[], Any]
) -> None:
    (dag_folder / "alert_dags.py").write_text(
        "# airflow dag\nfrom sqlsentinel_airflow import load_alert_dags\n"
        "load_alert_dags('alerts/*.yaml', globals(), config_watch=False)\n",
        encoding="utf-8",
    )
    (dag_folder / "alerts").mkdir()
    one = "alerts:\n  - {name: %s, conn_id: wh, query: \"SELECT 'OK' AS status\", schedule: '0 * * * *'}\n"
    (dag_folder / "alerts" / "a.yaml").write_text(one % "from_a", encoding="utf-8")
    (dag_folder / "alerts" / "b.yaml").write_text(
        one % "from_b" + "  - {name: from_a, conn_id: wh, query: \"SELECT 'OK' AS status\", "
        "schedule: '5 * * * *'}\n",
        encoding="utf-8",
    )
    # a rule-test file beside them is no alerts file: the glob passes it by
    (dag_folder / "alerts" / "a.test.yaml").write_text("tests: []\n", encoding="utf-8")

    bag = parse()

    assert bag.import_errors == {}
    assert set(bag.dags) == {
        "sqlsentinel_from_a",
        "sqlsentinel_from_b",
        "sqlsentinel_config_errors",
    }
    assert bag.dags["sqlsentinel_from_a"].timetable.expression == "0 * * * *"  # a.yaml wins
    errors_doc = bag.dags["sqlsentinel_config_errors"].doc_md
    assert "dag_id 'sqlsentinel_from_a' is already defined by" in errors_doc
    assert "a.yaml" in errors_doc


SECRET_ALERTS = """\
database:
  url: postgresql://reporter:db-secret-pw@db.internal:5432/shop
alerts:
  - name: guarded
    description: "Ends with an HTML comment closer --> and <b>tags</b>"
    conn_id: warehouse
    query: SELECT 'OK' AS status -- a closing comment --> here
    schedule: "*/5 * * * *"
    key_columns: [region]
    renotify_after: 4h
    notify:
      - channel: slack
        webhook_url: ${TEST_SLACK_WEBHOOK}
      - channel: slack
        conn_id: slack_token_conn
        channel: "#ops"
      - channel: webhook
        url: https://hooks.example.com/alerts?token=webhook-secret-token
        headers: {Authorization: "Bearer header-secret-token"}
      - channel: webhook
        conn_id: pager
        endpoint: /v2/enqueue
        hmac_secret_conn_id: pager_hmac
  - name: on_file_database
    conn_id: null
    query: SELECT 'OK' AS status
    schedule: "0 6 * * *"
"""


def test_the_serialized_dag_embeds_the_alert_definition_without_a_secret(
    write_alerts: Callable[[str], Path],
    parse: Callable[[], Any],
    secrets: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the api-server reads: the definition inside the serialized DAG's doc_md."""
    from airflow.serialization.serialized_objects import DagSerialization

    from sqlsentinel_airflow.airflow_contract import DEFINITION_VERSION, read_definition

    slack_token = "xoxb-slack-connection-token"
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_TOKEN_CONN", f"slack://:{slack_token}@/")
    monkeypatch.setenv("AIRFLOW_CONN_PAGER", "http://user:pager-conn-pw@pager.example.org")
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", "postgres://reader:warehouse-pw@wh.internal/dw")
    write_alerts(SECRET_ALERTS)
    bag = parse()
    assert bag.import_errors == {}

    serialized = DagSerialization.to_dict(bag.dags["sqlsentinel_guarded"])
    doc_md = serialized["dag"]["doc_md"]
    definition = read_definition(doc_md)
    assert definition is not None
    assert definition.version == DEFINITION_VERSION
    assert (definition.name, definition.conn_id, definition.sql_dialect) == (
        "guarded",
        "warehouse",
        "postgres",  # the SQL dialect of the connection's type, from AIRFLOW_CONN_WAREHOUSE
    )
    assert definition.query == "SELECT 'OK' AS status -- a closing comment --> here"
    assert definition.description.endswith("--> and <b>tags</b>")
    assert definition.key_columns == ("region",)
    assert definition.renotify_after_seconds == 4 * 3600
    assert definition.channels == (
        "slack via webhook URL (hidden)",
        "slack to #ops via connection `slack_token_conn`",
        "webhook POST to URL (hidden)",
        "webhook POST via connection `pager` endpoint `/v2/enqueue`",
    )
    # The embedded line is one HTML comment at the very end that no text of the alert closes.
    comment = doc_md.rstrip("\n").rsplit("\n", 1)[-1]
    assert comment.startswith("<!-- sqlsentinel:alert-definition {")
    assert comment.endswith("} -->") and comment.count("-->") == 1

    hidden = read_definition(
        DagSerialization.to_dict(bag.dags["sqlsentinel_on_file_database"])["dag"]["doc_md"]
    )
    assert hidden is not None and hidden.conn_id is None
    assert (
        "Runs on",
        "`database.url` of the alerts file (hidden), statement timeout 5m",
    ) in hidden.facts()

    for dag in bag.dags.values():
        text = json.dumps(DagSerialization.to_dict(dag), default=str)
        leaks = ("header-secret-token", "pager-conn-pw", "warehouse-pw", "Bearer")
        for secret in (*secrets, slack_token, *leaks):
            assert secret not in text, f"{secret!r} leaked into serialized {dag.dag_id}"
