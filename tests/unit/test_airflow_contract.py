"""The Airflow contract: names, dag_ids, and the alert definition embedded in doc_md."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sqlsentinel_airflow import airflow_contract as contract
from sqlsentinel_airflow.airflow_contract import (
    DEFINITION_VERSION,
    AlertDefinition,
    embed_definition,
    read_definition,
    strip_definition,
)

DOC = "### orders\n\nToo many orders.\n\n#### Query\n\n```sql\nSELECT 1\n```\n"


def _definition(**overrides: object) -> AlertDefinition:
    base: dict[str, object] = {
        "name": "orders",
        "description": "Too many orders wait -->  <!-- and <script>",
        "severity": "critical",
        "owner": "ops",
        "tags": ("shop",),
        "schedule": "*/5 * * * *",
        "timezone": "Europe/Berlin",
        "conn_id": "warehouse",
        "sql_dialect": "postgres",
        "query": "SELECT 'ALERT' AS status -- closes a comment? -->\nFROM orders\n",
        "timeout_seconds": 300,
        "fire_after": 2,
        "resolve_after": 3,
        "renotify_after_seconds": 3600,
        "key_columns": ("region",),
        "channels": ("email to a@example.com via connection `smtp_default`",),
        "source_file": "alerts.yaml",
        "source_line": 12,
    }
    base.update(overrides)
    return AlertDefinition.model_validate(base)


def test_the_contract_module_imports_without_airflow() -> None:
    code = (
        "import sys, sqlsentinel_airflow.airflow_contract; "
        "print(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_dag_ids_and_names() -> None:
    assert contract.alert_dag_id(None, "orders") == "sqlsentinel_orders"
    assert contract.alert_dag_id("team1_", "orders") == "team1_orders"
    assert contract.alert_dag_id("", "orders") == "orders"
    assert contract.config_watch_dag_id(None) == "sqlsentinel_config_watch"
    assert contract.config_errors_dag_id("team1_") == "team1_config_errors"
    assert contract.baseline_variable_name("x_config_watch") == "x_config_watch__baseline"
    tags = {contract.SENTINEL_TAG, contract.INVALID_TAG, contract.STALE_TAG, contract.WATCH_TAG}
    assert len(tags) == 4 and all(t.startswith(contract.SENTINEL_TAG) for t in tags)


def test_the_definition_round_trips_through_doc_md() -> None:
    definition = _definition()
    doc_md = embed_definition(DOC, definition)

    assert read_definition(doc_md) == definition
    assert definition.version == DEFINITION_VERSION == 1
    assert doc_md.startswith(DOC.rstrip())
    assert strip_definition(doc_md).rstrip() == DOC.rstrip()
    # Embedding again replaces the definition, it does not stack a second one.
    again = embed_definition(doc_md, _definition(severity="info"))
    assert again.count("sqlsentinel:alert-definition") == 1
    assert read_definition(again) == _definition(severity="info")


def test_no_text_of_the_alert_can_close_the_html_comment() -> None:
    doc_md = embed_definition(DOC, _definition())
    comment = doc_md.rstrip("\n").rsplit("\n", 1)[-1]
    assert comment.startswith("<!-- sqlsentinel:alert-definition {")
    assert comment.count("-->") == 1 and comment.endswith(" -->")
    assert comment.count("<") == 1  # only the comment's own opener
    json_text = comment.removeprefix("<!-- sqlsentinel:alert-definition ").removesuffix(" -->")
    assert json.loads(json_text)["query"].endswith("-->\nFROM orders\n")


@pytest.mark.parametrize(
    ("doc_md", "why"),
    [
        (None, "no docs"),
        ("", "empty docs"),
        (DOC, "docs of a DAG serialized before the definition existed"),
        (
            DOC + '\n<!-- sqlsentinel:alert-definition {"version": 2, "name": "x"} -->\n',
            "a newer version",
        ),
        (DOC + '\n<!-- sqlsentinel:alert-definition {"version": 0, "name": "x"} -->\n', "v0"),
        (DOC + "\n<!-- sqlsentinel:alert-definition {not json} -->\n", "broken JSON"),
        (DOC + '\n<!-- sqlsentinel:alert-definition {"version": 1} -->\n', "no name"),
        (
            '<!-- sqlsentinel:alert-definition {"version": 1, "name": "x"} -->\n\n' + DOC,
            "not at the end",
        ),
    ],
)
def test_docs_without_a_readable_definition_read_as_none(doc_md: str | None, why: str) -> None:
    assert read_definition(doc_md) is None, why


def test_fields_a_newer_release_adds_are_ignored() -> None:
    data = json.loads(_definition().to_json()) | {"escalation": "later"}
    doc_md = f"{DOC}\n<!-- sqlsentinel:alert-definition {json.dumps(data)} -->\n"
    assert read_definition(doc_md) == _definition()


def test_facts_are_the_settings_people_read() -> None:
    facts = dict(_definition().facts())
    assert facts == {
        "Schedule": "`*/5 * * * *` in Europe/Berlin",
        "Severity": "critical",
        "Runs on": "connection `warehouse`, statement timeout 5m",
        "Fires after": "2 ALERT result(s) in a row, resolves after 3 OK result(s); reminders: 1h",
        "Source": "`alerts.yaml:12`",
        "One instance per": "region",
    }
    disabled = dict(
        _definition(enabled=False, conn_id=None, database_url_env="DATABASE_URL").facts()
    )
    assert disabled["Schedule"] == (
        "disabled (`enabled: false`): manual runs only; cron `*/5 * * * *`"
    )
    assert disabled["Runs on"].startswith("the `DATABASE_URL` environment variable (hidden)")
    assert dict(_definition(conn_id=None).facts())["Runs on"].startswith(
        "`database.url` of the alerts file (hidden)"
    )
    child = dict(_definition(depends_on=("orders_loaded", "customers_loaded")).facts())
    assert child["Depends on"] == (
        "`orders_loaded`, `customers_loaded`: its messages are held while one of them fires "
        "or fails"
    )


def test_the_definition_has_no_field_for_a_secret() -> None:
    """Secret-free by construction: only names, masked descriptions and the query text."""
    assert set(AlertDefinition.model_fields) == {
        "version",
        "name",
        "description",
        "severity",
        "owner",
        "tags",
        "enabled",
        "schedule",
        "timezone",
        "assets",  # asset URIs and names as written: the loader refuses user info in them
        "trigger",  # when it runs, from the cron and the asset URIs and names
        "produces",  # the produced assets' URIs and names, and event kinds
        "conn_id",
        "database_url_env",
        "sql_dialect",
        "query",
        "query_file",
        "freshness",  # table, column and asset names and a duration (docs/freshness.md)
        "timeout_seconds",
        "fire_after",
        "resolve_after",
        "renotify_after_seconds",
        "notify_on_recovery",
        "notify_on_error",
        "flap_changes",
        "flap_window_seconds",
        "flap_stable_for_seconds",
        "key_columns",
        "channels",
        "source_file",
        "source_line",
        "banner",
        "runbook_url",  # a page people open, written in alerts.yaml (http(s) only)
        "links",
        "config_errors",  # located validation messages: they never quote a secret (errors.py)
        "depends_on",  # names of other alerts of the file
        "routing",  # receiver names, route paths, channel lines as in `channels` (no secret)
    }


def test_runbook_and_links_travel_in_the_definition_and_show_as_facts() -> None:
    definition = _definition(
        runbook_url="https://wiki.example.com/runbooks/orders",
        links=[{"title": "Orders dashboard", "url": "https://grafana.example.com/d/o?x=<1>"}],
    )
    doc_md = embed_definition(DOC, definition)
    assert "<1>" not in doc_md  # escaped inside the HTML comment like every other text
    read = read_definition(doc_md)
    assert read == definition
    assert read is not None and read.links[0].title == "Orders dashboard"
    facts = dict(definition.facts())
    assert facts["Runbook"] == "https://wiki.example.com/runbooks/orders"
    assert facts["Links"] == "Orders dashboard: https://grafana.example.com/d/o?x=<1>"
    assert "Runbook" not in dict(_definition().facts())  # none written, no line


def test_a_definition_written_before_runbooks_existed_reads_without_them() -> None:
    data = json.loads(_definition().to_json())
    del data["runbook_url"], data["links"]
    doc_md = f"{DOC}\n<!-- sqlsentinel:alert-definition {json.dumps(data)} -->\n"
    read = read_definition(doc_md)
    assert read is not None and read.runbook_url is None and read.links == ()


@pytest.mark.parametrize(
    ("base", "kwargs", "expected"),
    [
        (
            "http://localhost:8080",
            {},
            "http://localhost:8080/dags/sqlsentinel_orders/plugin/sqlsentinel-alert",
        ),
        (
            "https://airflow.example.com/team-a/",
            {"silence": True},
            "https://airflow.example.com/team-a/dags/sqlsentinel_orders/plugin/"
            "sqlsentinel-alert?silence=open",
        ),
        (
            "https://airflow.example.com",
            {"silence": True, "instance_key": '{"table_name": "customers"}'},
            "https://airflow.example.com/dags/sqlsentinel_orders/plugin/sqlsentinel-alert"
            "?silence=open&instance_key=%7B%22table_name%22%3A%20%22customers%22%7D",
        ),
        (  # the instance is for the silence link only
            "https://airflow.example.com",
            {"instance_key": "x"},
            "https://airflow.example.com/dags/sqlsentinel_orders/plugin/sqlsentinel-alert",
        ),
    ],
)
def test_alert_tab_url(base: str, kwargs: dict[str, object], expected: str) -> None:
    assert contract.alert_tab_url(base, "sqlsentinel_orders", **kwargs) == expected  # type: ignore[arg-type]


def test_alert_tab_url_is_the_route_the_plugin_registers() -> None:
    from sqlsentinel_airflow.plugin import SqlSentinelPlugin

    routes = {view["url_route"] for view in SqlSentinelPlugin.external_views}
    assert contract.ALERT_TAB_ROUTE in routes
    tab = next(v for v in SqlSentinelPlugin.external_views if v["url_route"] == "sqlsentinel-alert")
    assert tab["destination"] == "dag"
    url = contract.alert_tab_url("http://h", "d.x/y")
    assert url == "http://h/dags/d.x%2Fy/plugin/sqlsentinel-alert"


# --- invalid alerts and the dashboard's URL --------------------------------------------------


def test_a_placeholders_invalid_alert_reads_back_and_nothing_else_does() -> None:
    from sqlsentinel_airflow.airflow_contract import (
        ConfigErrorRecord,
        InvalidAlertDefinition,
        embed_invalid_alert,
        read_invalid_alert,
    )
    from sqlsentinel_airflow.errors import ConfigError

    error = ConfigError(
        "'every day' is not a valid cron expression -->",
        file="alerts.yaml",
        line=14,
        column=15,
        path="alerts[2].schedule",
    )
    invalid = InvalidAlertDefinition(
        name="orders", source_file="alerts.yaml", errors=(ConfigErrorRecord.of(error),)
    )
    doc = embed_invalid_alert("### ⚠ Invalid alert `orders`\n", invalid)
    assert "-->" not in doc.split("<!--", 1)[1].rsplit("-->", 1)[0]  # cannot end the comment
    found = read_invalid_alert(doc)
    assert found == invalid
    assert found.errors[0].to_error().format() == error.format()
    assert read_invalid_alert("### some DAG's docs") is None
    assert read_invalid_alert(doc.replace('"version": 1', '"version": 99')) is None
    assert read_definition(doc) is None  # a placeholder is no alert


def test_the_dashboard_url_is_the_nav_views_page() -> None:
    from sqlsentinel_airflow.airflow_contract import DASHBOARD_ROUTE, dashboard_url
    from sqlsentinel_airflow.plugin import SqlSentinelPlugin

    assert dashboard_url("http://airflow:8080/") == "http://airflow:8080/plugin/sqlsentinel"
    assert dashboard_url("https://x.test/airflow") == "https://x.test/airflow/plugin/sqlsentinel"
    (nav,) = [v for v in SqlSentinelPlugin.external_views if v["destination"] == "nav"]
    assert nav["url_route"] == DASHBOARD_ROUTE


def test_the_ui_scripts_link_to_the_names_of_the_contract() -> None:
    """common.js cannot import Python: it spells the task id and the tab's route, checked here."""
    from pathlib import Path

    from sqlsentinel_airflow.plugin import SqlSentinelPlugin

    script = (Path(contract.__file__).parent / "ui" / "static" / "common.js").read_text()
    assert f'const EVALUATE_TASK_ID = "{contract.EVALUATE_TASK_ID}";' in script
    (tab,) = [v for v in SqlSentinelPlugin.external_views if v["destination"] == "dag"]
    assert f"/plugin/{tab['url_route']}`" in script


def test_flap_detection_is_one_fact_when_on_and_none_when_off() -> None:
    off = AlertDefinition(name="a")
    assert "Flap detection" not in dict(off.facts())
    on = off.model_copy(
        update={"flap_changes": 4, "flap_window_seconds": 1800, "flap_stable_for_seconds": 900}
    )
    assert dict(on.facts())["Flap detection"] == (
        "4 changes within 30m make it flap; settled after 15m without one"
    )
    assert AlertDefinition.from_json(on.to_json()) == on
