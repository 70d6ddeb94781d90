"""docs/notifications.md, run for real: every block of the page is exercised here.

One Airflow home per module: ``airflow db migrate``, then the page's ``airflow connections
add`` commands (snippet ``notif-connections``) exactly as written except for the
destinations, which point at local stand-ins: an aiosmtpd SMTP server (no TLS on loopback,
so ``disable_tls`` is flipped to true), an HTTP server answering like Slack's incoming
webhook API, and a webhook receiver. The page's alert (``notif-alerts-yaml``) then runs with
``airflow dags test`` against a SQLite warehouse, and what arrives is compared with the
templates, the payload example and schema, the header table and the HMAC snippet of the page.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from docs_site_support import markdown_table
from docs_snippets import DOCS, REPO, text

sys.path.insert(0, str(REPO / "tests" / "integration" / "notify"))
from notify_servers import HttpReceiver, Mail, Received, SmtpInbox, smtp_inbox

from sqlsentinel_airflow import __version__
from sqlsentinel_airflow.core.config.models import MessageTemplates
from sqlsentinel_airflow.core.payload import PAYLOAD_VERSION
from sqlsentinel_airflow.notify.templates import message_context, render_part
from sqlsentinel_airflow.notify.webhook import PAYLOAD_SCHEMA

# one worker runs the module: its deployment (an Airflow home, `airflow dags test`) is built
# once, not once per pytest-xdist worker
pytestmark = [pytest.mark.airflow, pytest.mark.xdist_group("docs_notifications")]

PAGE = DOCS / "notifications.md"
BIN = Path(sys.executable).parent
SMTP_LOGIN, SMTP_PASSWORD = "sqlsentinel", "app-password"  # as the page writes them
SIGNING_KEY = "a-long-random-signing-key"
DAG_ID = "sqlsentinel_orders_backlog"
UNSHIPPED = 150


def _replace_present(source: str, old: str, new: str) -> str:
    assert source.count(old) >= 1, f"the docs snippet no longer contains {old!r}"
    return source.replace(old, new)


def _local_destinations(
    snippet: str, smtp: SmtpInbox, slack: HttpReceiver, hooks: HttpReceiver
) -> str:
    """The page's commands, pointed at the loopback servers instead of example.com hosts."""
    out = snippet
    if "--conn-host smtp.example.com --conn-port 587" in snippet:
        out = _replace_present(
            out,
            "--conn-host smtp.example.com --conn-port 587",
            f"--conn-host 127.0.0.1 --conn-port {smtp.port}",
        )
    else:
        out = _replace_present(
            out,
            '"host": "smtp.example.com", "port": 587',
            f'"host": "127.0.0.1", "port": {smtp.port}',
        )
    out = _replace_present(out, '"disable_tls": false', '"disable_tls": true')
    out = _replace_present(out, "https://hooks.slack.com/services", slack.url("/services"))
    return _replace_present(out, "https://alerts.example.com", hooks.url("").rstrip("/"))


@dataclass
class Deployment:
    home: Path
    env: dict[str, str]
    smtp: SmtpInbox
    slack: HttpReceiver
    hooks: HttpReceiver
    mail: Mail
    slack_request: Received
    webhook_request: Received

    def run(self, script: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _clean_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW__SQLSENTINEL__", "SQLSENTINEL_"))
    }
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__API__BASE_URL="http://localhost:8080",  # the links to the alert's tab
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    home = tmp_path_factory.mktemp("notif-airflow-home")
    env = _clean_env(home)
    slack, hooks = HttpReceiver(), HttpReceiver()
    try:
        with smtp_inbox(SMTP_LOGIN, SMTP_PASSWORD) as smtp:
            proc = subprocess.run(
                ["airflow", "db", "migrate"], env=env, capture_output=True, text=True, timeout=300
            )
            assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]

            dags = home / "dags"
            dags.mkdir()
            (dags / "alerts.yaml").write_text(text("notif-alerts-yaml"), encoding="utf-8")
            (dags / "sqlsentinel_alerts.py").write_text(
                "# airflow dag file\nfrom sqlsentinel_airflow import load_alert_dags\n\n"
                'load_alert_dags("alerts.yaml", globals())\n',
                encoding="utf-8",
            )
            warehouse = home / "warehouse.db"
            with sqlite3.connect(warehouse) as conn:
                conn.execute("CREATE TABLE orders (id INTEGER, created_at TEXT, shipped_at TEXT)")
                conn.executemany(
                    "INSERT INTO orders VALUES (?, ?, NULL)",
                    [(i, f"2026-11-27 {8 + i % 10:02d}:00:00") for i in range(UNSHIPPED)],
                )
            env["AIRFLOW_CONN_WAREHOUSE"] = json.dumps(
                {"conn_type": "sqlite", "host": str(warehouse)}
            )

            script = _local_destinations(text("notif-connections"), smtp, slack, hooks)
            dep = Deployment(home, env, smtp, slack, hooks, None, None, None)  # type: ignore[arg-type]
            proc = dep.run(script)
            assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
            assert proc.stdout.count("Successfully added") == 4, proc.stdout[-2000:]

            proc = subprocess.run(
                ["airflow", "dags", "test", DAG_ID],
                cwd=home,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
            assert len(smtp.mails) == 1, proc.stdout[-3000:]
            assert len(slack.requests) == 1 and len(hooks.requests) == 1, proc.stdout[-3000:]
            dep.mail, dep.slack_request, dep.webhook_request = (
                smtp.mails[0],
                slack.requests[0],
                hooks.requests[0],
            )
            yield dep
    finally:
        slack.close()
        hooks.close()


def _payload(dep: Deployment) -> dict[str, Any]:
    body: dict[str, Any] = dep.webhook_request.json()
    return body


# --- connections and the alert ----------------------------------------------------------------


def test_documented_connections_deliver_the_alert_to_all_three_channels(
    deployment: Deployment,
) -> None:
    alert = yaml.safe_load(text("notif-alerts-yaml"))["alerts"][0]
    context = message_context(_payload(deployment))
    email_channel, _slack_channel, webhook_channel = alert["notify"]

    mail = deployment.mail
    assert mail.rcpt_tos == email_channel["to"]
    assert mail.mail_from == "sqlsentinel@example.com"  # the connection's from_email extra
    attempts = deployment.smtp.auth_attempts  # the page's login and password were accepted
    assert attempts and all(ok for _, ok in attempts)
    subject = render_part("subject", context, channel_template=email_channel["subject"])
    assert (subject.origin, subject.problem) == ("channel", None)
    assert (
        mail.message["Subject"]
        == subject.text
        == f"[CRITICAL] FIRING: orders_backlog = {UNSHIPPED}"
    )
    assert mail.part("text/plain").startswith("orders_backlog is firing")
    assert "Unshipped orders are piling up" in mail.part("text/html")

    slack = deployment.slack_request
    assert slack.path == "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
    blocks = slack.json()["blocks"]
    rendered = render_part(
        "slack", context, templates=MessageTemplates.model_validate(alert["templates"])
    )
    assert blocks[1]["text"]["text"] == rendered.text
    assert rendered.text == f"*orders_backlog*: {UNSHIPPED} unshipped orders (limit 100)"

    hook = deployment.webhook_request
    assert (hook.method, hook.path) == ("POST", webhook_channel["endpoint"])
    assert context["context"] == {"oldest_order": "2026-11-27 08:00:00"}


def test_every_message_links_the_runbook_the_tab_and_a_silence(deployment: Deployment) -> None:
    """ "Links in every message": the task read [api] base_url from Airflow's config."""
    alert = yaml.safe_load(text("notif-alerts-yaml"))["alerts"][0]
    tab = "http://localhost:8080/dags/sqlsentinel_orders_backlog/plugin/sqlsentinel-alert"
    mail = deployment.mail.part("text/plain")
    assert f"Runbook: {alert['runbook_url']}\n" in mail
    assert "Orders dashboard: https://bi.example.com/d/orders\n" in mail
    assert f"Open in SQL Sentinel: {tab}\n" in mail
    assert f"{tab}?silence=open\n" in mail
    assert f'<a href="{tab}?silence=open">' in deployment.mail.part("text/html")
    (actions,) = [b for b in deployment.slack_request.json()["blocks"] if b["type"] == "actions"]
    assert [e["text"]["text"] for e in actions["elements"]][:5] == [
        "Runbook",
        "Orders dashboard",
        "Open in SQL Sentinel",
        "Silence…",
        "Open task log",
    ]
    assert _payload(deployment)["links"]["silence"] == f"{tab}?silence=open"


# --- the payload --------------------------------------------------------------------------


def test_payload_schema_on_the_page_is_the_code_s_and_validates_the_real_body(
    deployment: Deployment,
) -> None:
    # the page includes the published file (generated from the type, see
    # test_docs_payload_schema.py), so what readers see is what the code validates with
    assert text("notif-webhook-schema") == '--8<-- "docs/reference/event-payload.schema.json"\n'
    documented = json.loads((DOCS / "reference" / "event-payload.schema.json").read_text())
    assert documented == PAYLOAD_SCHEMA
    validator = jsonschema.Draft202012Validator(
        PAYLOAD_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    payload = _payload(deployment)
    validator.validate(payload)
    assert payload["version"] == PAYLOAD_VERSION == 1
    assert "`version` is 1." in PAGE.read_text(encoding="utf-8")


def test_payload_example_has_the_real_shape(deployment: Deployment) -> None:
    example = json.loads(text("notif-webhook-payload"))
    real = _payload(deployment)
    jsonschema.Draft202012Validator(
        PAYLOAD_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(example)
    assert sorted(example) == sorted(real)
    same = ("alert", "instance", "context", "kind", "reason", "reason_code", "state", "test")
    for key in (*same, "version"):
        assert example[key] == real[key], key
    assert (example["actual_value"], example["threshold"]) == (
        real["actual_value"],
        real["threshold"],
    )
    # idempotency_key = event_id:channel_id, and the channel_id is this alert's webhook channel
    assert example["idempotency_key"].startswith(example["event_id"] + ":")
    assert real["idempotency_key"] == deployment.webhook_request.headers["Idempotency-Key"]
    real_channel = real["idempotency_key"].split(":", 1)[1]
    assert example["idempotency_key"].split(":", 1)[1] == real_channel
    assert re.fullmatch(
        r"/dags/sqlsentinel_orders_backlog/runs/[^/]+/tasks/evaluate",
        re.sub(r"^https?://[^/]+", "", example["links"]["task_log"]),
    )


def test_header_table_lists_what_the_channel_sends(deployment: Deployment) -> None:
    documented = {
        row[0].strip("`") for row in markdown_table(PAGE, "## The webhook payload (version 1)")
    }
    sent = deployment.webhook_request.headers
    ours = {
        name
        for name in sent
        if name.startswith("X-SQLSentinel") or name in ("Idempotency-Key", "Content-Type")
    }
    assert documented == ours | {"User-Agent"}
    assert sent["User-Agent"] == f"sqlsentinel-airflow/{__version__}"
    assert sent["X-SQLSentinel-Event"] == "firing"
    assert sent["X-SQLSentinel-Event-Id"] == _payload(deployment)["event_id"]


def test_hmac_snippet_verifies_the_real_signed_request(deployment: Deployment) -> None:
    assert f"--conn-password '{SIGNING_KEY}'" in text("notif-connections")
    namespace: dict[str, Any] = {}
    exec(compile(text("notif-hmac-verify"), "notif-hmac-verify", "exec"), namespace)
    assert namespace["SIGNING_KEY"] == SIGNING_KEY.encode()
    request = deployment.webhook_request
    assert request.headers["X-SQLSentinel-Signature"].startswith("sha256=")

    assert namespace["handle"](request.headers, request.body) == 200
    assert namespace["handle"](request.headers, request.body) == 200  # the repeat is dropped
    assert namespace["seen_keys"] == {request.headers["Idempotency-Key"]}
    tampered = request.body.replace(b'"kind":"firing"', b'"kind":"resolved"')
    assert tampered != request.body
    assert namespace["handle"](request.headers, tampered) == 401
    unsigned = {k: v for k, v in request.headers.items() if k != "X-SQLSentinel-Signature"}
    assert namespace["handle"](unsigned, request.body) == 401


# --- templates ------------------------------------------------------------------------------


def _flatten(context: dict[str, Any]) -> set[str]:
    names = set()
    for key, value in context.items():
        if key in ("alert", "event", "instance", "raw"):
            names.update(f"{key}.{sub}" for sub in value)
        else:
            names.add(key)
    return names


def test_template_variable_table_is_what_the_code_provides(deployment: Deployment) -> None:
    documented = [row[0].strip("`") for row in markdown_table(PAGE, "### Template variables")]
    assert len(documented) == len(set(documented))
    assert set(documented) == _flatten(message_context(_payload(deployment)))


def test_per_kind_templates_render_and_fall_back(deployment: Deployment) -> None:
    templates = MessageTemplates.model_validate(
        yaml.safe_load(text("notif-templates-per-kind"))["templates"]
    )
    payload = _payload(deployment)
    firing = render_part("subject", message_context(payload), templates=templates)
    assert (firing.origin, firing.text) == (
        "templates",
        f"orders_backlog is over the limit: {UNSHIPPED} > 100",
    )
    resolved = render_part(
        "subject", message_context({**payload, "kind": "resolved"}), templates=templates
    )
    assert resolved.text == "orders_backlog is back under 100"
    reminder = render_part(
        "subject", message_context({**payload, "kind": "reminder"}), templates=templates
    )
    assert reminder.origin == "default"
    assert reminder.text.startswith("[CRITICAL] STILL FIRING: orders_backlog")
    # query values are data: a value that looks like a template is shown as written
    tricky = message_context({**payload, "actual_value": "{{ 7*7 }}"})
    assert "{{ 7*7 }}" in render_part("subject", tricky, templates=templates).text


# --- the CLI commands of the page -------------------------------------------------------------


def test_notify_test_with_connections_from_the_environment(deployment: Deployment) -> None:
    before = (
        len(deployment.smtp.mails),
        len(deployment.slack.requests),
        len(deployment.hooks.requests),
    )
    script = _local_destinations(
        text("notif-notify-test"), deployment.smtp, deployment.slack, deployment.hooks
    )
    proc = deployment.run(script)

    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    rows = proc.stdout.splitlines()[1:]
    assert [r.split()[1] for r in rows] == ["email", "slack", "webhook"]
    assert all(r.rstrip().endswith("sent") for r in rows), proc.stdout
    assert len(deployment.smtp.mails) == before[0] + 1
    assert deployment.smtp.mails[-1].part("text/plain").startswith("[TEST] orders_backlog")
    assert len(deployment.slack.requests) == before[1] + 1
    assert deployment.slack.requests[-1].json()["text"].startswith("[TEST] FIRING")
    assert len(deployment.hooks.requests) == before[2] + 1
    assert deployment.hooks.requests[-1].json()["test"] is True


def test_notify_test_reads_the_connections_airflow_connections_add_made(
    deployment: Deployment,
) -> None:
    """The page says the CLI reads connections from the metadata DB too (no env vars here)."""
    before = len(deployment.hooks.requests)
    proc = deployment.run("sqlsentinel notify-test dags/alerts.yaml --alert orders_backlog")
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert len(deployment.hooks.requests) == before + 1


def test_outbox_commands_show_the_deliveries(deployment: Deployment) -> None:
    outputs = []
    for line in text("notif-outbox").splitlines():
        command = line.split("#", 1)[0].strip()
        if not command:
            continue
        proc = deployment.run(command)
        assert proc.returncode == 0, f"{command}: {proc.stderr[-2000:]}"
        outputs.append((command, proc.stdout))
    (_, everything), (_, pending), (_, dead), (_, status) = outputs
    rows = everything.splitlines()[1:]
    assert len(rows) == 3 and all(" delivered " in r for r in rows), everything
    channels = {word for r in rows for word in r.split() if word in ("email", "slack", "webhook")}
    assert channels == {"email", "slack", "webhook"}, everything
    assert pending.splitlines()[1:] == [] and dead.splitlines()[1:] == [], pending + dead
    (row,) = status.splitlines()[1:]
    assert row.split()[:3] == ["orders_backlog", "-", "FIRING"] and row.endswith("0/0"), status
