"""Hostile query results (docs/reliability.md), through the real engine path.

A real SQLite or PostgreSQL query runs through QueryRunner; its columns and rows go through
``evaluate_result`` (the contract, ``jsonvalues`` bounds); a good result becomes an event
payload that must ``json.dumps`` strictly, a webhook body, and an email and Slack message
rendered by the notify templates. A bad result must be a clear ERROR naming the rule.
"""

from __future__ import annotations

import json
import re
import time
import tracemalloc
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sqlsentinel_airflow.core.config import AlertConfig, SlackChannel, load_config_text
from sqlsentinel_airflow.core.jsonvalues import MAX_BYTES, MAX_TEXT
from sqlsentinel_airflow.core.model import Event, EventKind, QueryEvaluation, Reason, State
from sqlsentinel_airflow.core.payload import event_payload
from sqlsentinel_airflow.core.result import evaluate_result
from sqlsentinel_airflow.execution import QueryRows, QueryRunner, resolve_db_hook
from sqlsentinel_airflow.notify import (
    OutboundEvent,
    build_channel,
    message_context,
    render_part,
    webhook_body,
)
from sqlsentinel_airflow.notify.slack import slack_message

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc)
ALERT_YAML = """\
alerts:
  - name: hostile
    conn_id: wh
    query: SELECT 'OK' AS status
    schedule: "0 * * * *"
    notify:
      - {channel: email, to: [oncall@example.com]}
      - {channel: webhook, url: https://hooks.example.com/x}
      - {channel: slack, webhook_url: "https://hooks.slack.com/services/T0/B0/x"}
"""


@pytest.fixture(scope="module")
def alert() -> AlertConfig:
    config = load_config_text(ALERT_YAML).config
    assert config is not None
    return config.alerts[0]


@pytest.fixture
def sqlite_conn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "hostile.db"
    spec = {"conn_type": "sqlite", "host": str(path)}
    monkeypatch.setenv("AIRFLOW_CONN_HOSTILE_SQLITE", json.dumps(spec))
    return "hostile_sqlite"


@pytest.fixture
def pg_conn(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    spec = {
        "conn_type": "postgres",
        "host": "127.0.0.1",
        "port": 5432,
        "login": "postgres",
        "schema": sa.engine.make_url(pg_url).database,
    }
    monkeypatch.setenv("AIRFLOW_CONN_HOSTILE_PG", json.dumps(spec))
    return "hostile_pg"


def run(conn_id: str, sql: str, *, max_rows: int = 1) -> QueryRows:
    runner = QueryRunner(resolve_db_hook(conn_id), timeout=timedelta(seconds=30), max_rows=max_rows)
    return runner.run(sql)


def evaluate(rows: QueryRows, *, key_columns: tuple[str, ...] = (), max_rows: int = 1) -> Any:
    return evaluate_result(rows.columns, rows.rows, key_columns=key_columns, max_rows=max_rows)


def messages(evaluation: QueryEvaluation, alert: AlertConfig) -> dict[str, str]:
    """Every outward form of the first instance's firing event; all must be well-formed."""
    instance = evaluation.instances[0]
    event = Event(
        kind=EventKind.FIRING,
        alert_name=alert.name,
        instance_key=instance.key,
        reason=Reason.FIRST_FIRING,
        occurred_at=NOW,
        state=State.FIRING,
        actual_value=instance.actual_value,
        threshold=instance.threshold,
        context=instance.context,
        key_values=instance.key_values,
        firing_since=NOW,
    )
    payload = event_payload(
        event, alert, event_id=str(uuid.uuid4()), run_id="r", evaluated_at=NOW
    ).to_json()
    stored = json.dumps(payload, allow_nan=False)  # what history and the outbox keep
    outbound = OutboundEvent(json.loads(stored), "idem-1")
    body = webhook_body(outbound)
    context = message_context(outbound.payload)
    parts = {part: render_part(part, context).text for part in ("subject", "text", "html")}
    slack = alert.notify[2]
    assert isinstance(slack, SlackChannel)
    blocks, problems = slack_message(slack, outbound, build_channel(slack), strict=True)
    assert problems == []
    return {"payload": stored, "webhook": body.decode(), "slack": json.dumps(blocks), **parts}


def test_null_and_wrong_type_statuses_are_clear_errors(sqlite_conn: str) -> None:
    cases = {
        "SELECT NULL AS status": "row 1: status is NULL",
        "SELECT 1 AS status": "row 1: unknown status 1",
        "SELECT 'FIRING' AS status": "row 1: unknown status 'FIRING'",
        "SELECT 'ALERT' || char(0) AS status": r"row 1: unknown status 'ALERT\x00'",
        "SELECT 1 AS actual_value": "the result has no 'status' column",
        "SELECT 'OK' AS status WHERE 0": "returned no rows",
        "SELECT 'OK' AS status UNION ALL SELECT 'OK'": "more than 1 row",
    }
    errors = {sql: evaluate(run(sqlite_conn, sql)).error for sql in cases}

    for sql, expected in cases.items():
        assert errors[sql] is not None and expected in errors[sql], (sql, errors[sql])


def test_duplicate_column_names_are_a_clear_error(sqlite_conn: str) -> None:
    rows = run(sqlite_conn, "SELECT 'OK' AS status, 1 AS a, 2 AS A")

    assert evaluate(rows).error == (
        "duplicate column names: 'A' (names are compared case-insensitively; give every "
        "column its own alias, e.g. AS table_name_2)"
    )


def test_huge_text_and_binary_values_are_bounded(sqlite_conn: str, alert: AlertConfig) -> None:
    sql = (
        "SELECT 'ALERT' AS status, length(x) AS actual_value, x AS big_text, b AS big_blob "
        "FROM (SELECT printf('%.*c', 5000000, 'x') AS x, randomblob(5000000) AS b)"
    )
    evaluation = evaluate(run(sqlite_conn, sql))

    assert evaluation.ok, evaluation.error
    context = evaluation.instances[0].context
    assert evaluation.instances[0].actual_value == 5_000_000
    assert len(context["big_text"]) == MAX_TEXT and "truncated" in context["big_text"]
    assert isinstance(context["big_blob"], str) and len(context["big_blob"]) < 2 * MAX_BYTES
    out = messages(evaluation, alert)
    assert all(len(text) < 100_000 for text in out.values()), {k: len(v) for k, v in out.items()}


def test_unicode_and_control_characters_stay_data(sqlite_conn: str, alert: AlertConfig) -> None:
    sql = (
        "SELECT 'alert' AS status, 'Grüße 💥 \u202eevil' AS uni, "
        "'a' || char(0) || 'b' || char(7) || char(27) || '[31m' AS ctrl, "
        "'<script>alert(1)</script>' AS html, '{{ 7*7 }}' AS \"{{ 7*7 }}\", "
        "'{% for x in range(10**9) %}x{% endfor %}' AS loop"
    )
    evaluation = evaluate(run(sqlite_conn, sql))

    assert evaluation.ok, evaluation.error
    context = evaluation.instances[0].context
    assert context["uni"] == "Grüße 💥 \u202eevil"
    assert context["ctrl"] == "a\ufffdb\x07\x1b[31m"  # NUL replaced, the rest kept as data
    assert context["{{ 7*7 }}"] == "{{ 7*7 }}"
    out = messages(evaluation, alert)
    assert "<script>" not in out["html"] and "&lt;script&gt;" in out["html"]
    # Not evaluated: no 49 anywhere but in the random event id ("event 5c851049") footer.
    rendered = re.sub(r"event [0-9a-f]{8}\b", "event <id>", out["text"] + out["html"])
    assert "{{ 7*7 }}" in out["text"] and "49" not in rendered
    assert "{% for x" in out["text"]
    assert json.loads(out["webhook"])["context"]["{{ 7*7 }}"] == "{{ 7*7 }}"


@pytest.mark.postgres
def test_dates_decimals_uuids_and_json_become_json(pg_conn: str, alert: AlertConfig) -> None:
    sql = """
        SELECT 'ALERT' AS status, 12345.678901234567890123::numeric AS actual_value,
               10::numeric AS threshold, timestamptz '2026-11-28 09:00:00+00' AS ts,
               date '2026-11-28' AS d, time '09:30' AS t, interval '1 day 2 hours' AS iv,
               'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u,
               '{"a": [1, 2, {"b": null}]}'::jsonb AS j, ARRAY[1, NULL, 3] AS arr,
               'NaN'::float8 AS nan, 'Infinity'::float8 AS inf, 1e400::numeric AS huge,
               '\\x00ff'::bytea AS bin, NULL::text AS nothing
    """
    evaluation = evaluate(run(pg_conn, sql))

    assert evaluation.ok, evaluation.error
    instance = evaluation.instances[0]
    assert instance.actual_value == pytest.approx(12345.678901234567)
    assert instance.threshold == 10
    context = instance.context
    assert context["ts"] == "2026-11-28T09:00:00+00:00"
    assert context["d"] == "2026-11-28"
    assert context["u"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert context["j"] == {"a": [1, 2, {"b": None}]}
    assert context["arr"] == [1, None, 3]
    assert context["nan"] is None and context["inf"] is None
    assert isinstance(context["huge"], str) and context["huge"].startswith("1")
    assert context["nothing"] is None
    out = messages(evaluation, alert)
    assert json.loads(out["payload"])["context"]["d"] == "2026-11-28"


@pytest.mark.postgres
def test_a_million_rows_stop_at_the_cap_with_bounded_memory(pg_conn: str) -> None:
    sql = "SELECT 'ALERT' AS status, g AS k, repeat('x', 100) AS pad FROM generate_series(1, 1000000) g"
    tracemalloc.start()
    started = time.perf_counter()
    try:
        rows = run(pg_conn, sql, max_rows=1000)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert len(rows.rows) == 1001 and rows.truncated
    assert peak < 50 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB: rows were buffered"
    assert seconds < 20
    evaluation = evaluate(rows, key_columns=("k",), max_rows=1000)
    assert evaluation.error is not None
    assert evaluation.error.startswith("the query returned more than 1000 rows (max_rows)")
