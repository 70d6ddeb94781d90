"""One redaction, end to end: secrets planted in config, connections, a query error and the
receivers' error bodies are absent from everything the package stores or shows.

Planted: a webhook URL's token, a Slack bot token (a ``slackwebhook`` connection's password)
that a Slack-speaking server echoes *alone* in its error body, a per-alert Slack webhook URL
whose ``T…/B…/token`` path the server echoes without the URL around it, an SMTP password the
mail server quotes in its refusal, and a database connection's password that PostgreSQL
quotes in a query error. Checked, by facts: the outbox ``last_error`` and history ``error``
rows in the state DB, ``sqlsentinel outbox --format json``, ``status`` and ``history``
output (the CLI run in process), and the DAG's generated documentation.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from notify_servers import SMTP_PASSWORD, HttpReceiver, Received, SmtpInbox

from sqlsentinel_airflow.cli.main import main
from sqlsentinel_airflow.core.config import load_config
from sqlsentinel_airflow.dags.factory import alert_doc_md, build_alert_dag
from sqlsentinel_airflow.store import StateStore
from sqlsentinel_airflow.store.tables import history, outbox

BOT_TOKEN = "xoxb-1123581321-3455891442-RedactBotTok9Q"
SLACK_PATH_TOKEN = "T0RED4CT/B0RED4CT/slackPathTok7Wn"
HOOK_TOKEN = "hookTok-Red4ct-5Mz"
PG_PASSWORD = "pgPw-Red4ct-8Kd"
SECRETS = [BOT_TOKEN, SLACK_PATH_TOKEN, "slackPathTok7Wn", HOOK_TOKEN, SMTP_PASSWORD, PG_PASSWORD]

ALERTS = """\
defaults:
  conn_id: wh
  schedule: "*/5 * * * *"
alerts:
  - name: revenue
    description: "Runbook: replay the event to ${HOOK_URL} by hand"
    query: SELECT 'ALERT' AS status, 25 AS actual_value, 10 AS threshold
    notify:
      - channel: slack
        conn_id: slack_bot
      - channel: slack
        webhook_url: ${SLACK_WEBHOOK_URL}
      - channel: webhook
        url: ${HOOK_URL}
      - channel: email
        to: [oncall@example.com]
  - name: broken_cast
    query: SELECT CASE WHEN CAST(v AS integer) > 10 THEN 'ALERT' ELSE 'OK' END AS status FROM metric
"""


def slack_answer(request: Received) -> tuple[int, bytes]:
    """Slack's error bodies, made worse: they echo the credential without a URL around it."""
    if "xoxb-" in request.path:
        return 403, BOT_TOKEN.encode()
    return 404, f"no_service {SLACK_PATH_TOKEN}".encode()


def test_planted_secrets_are_absent_from_rows_cli_output_and_docs(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    pg_url: str,
    receiver: HttpReceiver,
    slack_api: HttpReceiver,
    smtp: SmtpInbox,
) -> None:
    warehouse = sa.engine.make_url(pg_url)
    engine = sa.create_engine(warehouse)
    with engine.begin() as conn:  # the password is data too: PostgreSQL quotes it back
        conn.execute(sa.text("CREATE TABLE metric (v text)"))
        conn.execute(sa.text("INSERT INTO metric VALUES (:v)"), {"v": PG_PASSWORD})
    engine.dispose()
    slack_api.respond = slack_answer
    receiver.default_status = 500
    smtp.data_reply = f"554 5.7.1 refused: login mailer password={SMTP_PASSWORD} is blocked"
    env = {
        "AIRFLOW_CONN_WH": json.dumps(
            {
                "conn_type": "postgres",
                "host": warehouse.host,
                "port": warehouse.port,
                "login": warehouse.username,
                "password": PG_PASSWORD,  # trust authentication: sent, never checked
                "schema": warehouse.database,
            }
        ),
        "AIRFLOW_CONN_SLACK_BOT": json.dumps(
            {"conn_type": "slackwebhook", "host": slack_api.url("/api"), "password": BOT_TOKEN}
        ),
        "SLACK_WEBHOOK_URL": slack_api.url(f"/services/{SLACK_PATH_TOKEN}"),
        "HOOK_URL": receiver.url(f"/hooks/{HOOK_TOKEN}"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(ALERTS)
    state = f"sqlite:///{tmp_path / 'state.db'}"

    def cli(*args: str) -> str:
        main(list(args))
        captured = capsys.readouterr()
        return captured.out + captured.err

    run_output = cli("run", str(alerts), "--state-db", state)
    outputs = {
        "run": run_output,
        "outbox": cli("outbox", "--state-db", state, "--format", "json"),
        "status": cli("status", str(alerts), "--state-db", state),
        "status json": cli("status", str(alerts), "--state-db", state, "--format", "json"),
        "history": cli("history", "--state-db", state, "--format", "json"),
    }
    with StateStore.connect(state) as store, store.engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.channel_kind, outbox.c.last_error)).all()
        history_errors = [
            row.error
            for row in conn.execute(
                sa.select(history.c.error).where(history.c.alert_name == "broken_cast")
            )
        ]
    loaded = load_config(str(alerts)).config
    assert loaded is not None
    docs = {alert.name: alert_doc_md(alert) for alert in loaded.alerts}
    # what Airflow's DAG list and the messages people read show of the description
    dag_descriptions = [build_alert_dag(alert).description or "" for alert in loaded.alerts]
    messages = [m.part("text/plain") for m in smtp.mails] + [
        r.body.decode() for r in slack_api.requests
    ]

    # every error path ran and said what failed
    assert len(slack_api.requests) == 2 and len(receiver.requests) == 1
    assert len(smtp.mails) == 1
    assert sorted(row.channel_kind for row in rows) == ["email", "slack", "slack", "webhook"]
    stored = [row.last_error or "" for row in rows]
    assert any("Slack answered HTTP 403: ***" in e for e in stored), stored
    assert any("SMTP server replied 554" in e and "password=***" in e for e in stored), stored
    assert any("answered HTTP 500" in e for e in stored), stored
    assert history_errors and all("invalid input syntax" in (e or "") for e in history_errors)
    assert "Runbook: replay the event to *** by hand" in docs["revenue"]
    assert "Runbook: replay the event to *** by hand" in dag_descriptions

    haystacks = {
        **outputs,
        "outbox rows": json.dumps(stored),
        "history rows": json.dumps(history_errors),
        **{f"doc_md {name}": doc for name, doc in docs.items()},
        "DAG descriptions": json.dumps(dag_descriptions),
        "messages sent": json.dumps(messages),
    }
    leaked = {where: [s for s in SECRETS if s in text] for where, text in haystacks.items()}
    assert leaked == {where: [] for where in haystacks}


def test_a_slack_path_echoed_alone_is_masked_in_the_outbox_row(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    slack_api: HttpReceiver,
) -> None:
    """The echoed ``T…/B…/token`` is no form of the configured URL the channel knows; the
    bare-token rule is what masks it."""
    warehouse = tmp_path / "wh.db"
    monkeypatch.setenv(
        "AIRFLOW_CONN_WH", json.dumps({"conn_type": "sqlite", "host": str(warehouse)})
    )
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_api.url(f"/services/{SLACK_PATH_TOKEN}"))
    slack_api.respond = slack_answer
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(
        "alerts:\n  - name: a\n    conn_id: wh\n    schedule: '@daily'\n"
        "    query: SELECT 'ALERT' AS status\n"
        "    notify: [{channel: slack, webhook_url: '${SLACK_WEBHOOK_URL}'}]\n"
    )
    state = f"sqlite:///{tmp_path / 'state.db'}"
    main(["run", str(alerts), "--state-db", state])
    capsys.readouterr()
    with StateStore.connect(state) as store:
        (entry,) = store.outbox(limit=10)
    assert entry.last_error == "Slack answered HTTP 404: no_service ***"
