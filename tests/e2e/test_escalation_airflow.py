"""End to end on a LocalExecutor deployment: an escalation ladder and an acknowledgement.

Two alerts fire from their first run, alike but for their names: reminders every second
(``renotify_after: 1s``, so every run would remind) and a one-step ladder to the receiver
``oncall`` after 20 s (a webhook from an Airflow connection, and an email). Their DAGs run
only when triggered (``enabled: false``), so the scenario takes as many runs as it needs, not
as many minutes. After the first run one of them is acknowledged with ``sqlsentinel ack`` on
the deployment's machine (its manifests say where the alert and its state DB are); then, past
the step's 20 s, two more runs:

- the unacknowledged alert escalates exactly once: ``oncall`` gets one webhook and one email
  saying "Escalated (step 1 of 1)", and its own channels keep getting the reminders;
- the acknowledged one still fires, and sends nothing: no reminder, no escalation.

Everything is observed through the REST API (XComs of the runs), the loopback receivers and
the state DB's incident actions.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from e2e_deployment import AirflowDeployment, wait_until
from e2e_receivers import HttpReceiver, MailReceiver
from e2e_support import launched, reader_conn_uri, record_figure, smtp_env

from sqlsentinel_airflow.store import StateStore

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e_escalation")]

ALERTS = """\
defaults:
  conn_id: e2e_warehouse
  timezone: UTC
  retries: 1
  retry_delay: 5s
  enabled: false
  schedule: "* * * * *"
  renotify_after: 1s
  notify:
    - channel: webhook
      url: {webhook}/hooks/own
receivers:
  - name: team
    notify:
      - channel: webhook
        conn_id: e2e_hooks
        endpoint: /hooks/team
  - name: oncall
    notify:
      - channel: webhook
        conn_id: e2e_hooks
        endpoint: /hooks/oncall
      - channel: email
        to: [oncall@example.com]
routes:
  receiver: team
  escalation:
    - after: 20s
      receiver: oncall
alerts:
  - name: unacked_backlog
    query: "SELECT 'ALERT' AS status, 9 AS actual_value, 5 AS threshold"
  - name: acked_backlog
    query: "SELECT 'ALERT' AS status, 9 AS actual_value, 5 AS threshold"
"""
UNACKED, ACKED = "unacked_backlog", "acked_backlog"
DAGS = {UNACKED: "sqlsentinel_unacked_backlog", ACKED: "sqlsentinel_acked_backlog"}
STEP = timedelta(seconds=20)
SUMMARY = "Escalated (step 1 of 1): not acknowledged for 20s"
SQLSENTINEL = str(Path(sys.executable).parent / "sqlsentinel")


@pytest.fixture(scope="module")
def airflow(
    tmp_path_factory: pytest.TempPathFactory,
    databases: Callable[[str], str],
    mail: MailReceiver,
    webhook: HttpReceiver,
) -> Iterator[AirflowDeployment]:
    hooks = urlsplit(webhook.url)
    env = {
        **smtp_env(mail),
        "AIRFLOW_CONN_E2E_WAREHOUSE": reader_conn_uri(databases("wh")),
        # a receiver's secrets come from a connection
        "AIRFLOW_CONN_E2E_HOOKS": json.dumps(
            {"conn_type": "http", "host": hooks.hostname, "port": hooks.port, "schema": "http"}
        ),
    }
    with launched(
        tmp_path_factory.mktemp("escalation"),
        label="escalation (LocalExecutor)",
        metadata_db=databases("meta"),
        alerts_yaml=ALERTS.format(webhook=webhook.url),
        env=env,
    ) as deployment:
        yield deployment


def _posts(webhook: HttpReceiver, path: str, alert: str) -> list[dict[str, Any]]:
    return [
        p["body"]
        for p in webhook.posts
        if p["path"] == path and (p["body"].get("alert") or {}).get("name") == alert
    ]


def _round(airflow: AirflowDeployment) -> dict[str, dict[str, Any]]:
    """Trigger both alerts' DAGs and wait for both runs: their evaluations (XCom)."""
    runs = {name: airflow.api.trigger(dag_id) for name, dag_id in DAGS.items()}
    out = {}
    for name, run in runs.items():
        done = airflow.api.wait_for_run(
            DAGS[name],
            lambda r, run_id=run["dag_run_id"]: r["dag_run_id"] == run_id,
            timeout=180,
            what=f"the triggered run of {name}",
        )
        assert done["state"] == "success", done
        out[name] = airflow.api.xcom(DAGS[name], done["dag_run_id"], "evaluate")
    return out


def _state_store(airflow: AirflowDeployment) -> StateStore:
    return StateStore.connect(f"sqlite:///{airflow.home / 'sqlsentinel' / 'state.db'}")


def test_an_unacknowledged_alert_escalates_once_an_acknowledged_one_goes_quiet(
    airflow: AirflowDeployment, mail: MailReceiver, webhook: HttpReceiver
) -> None:
    started = time.monotonic()
    wait_until(
        lambda: all(airflow.api.dag(d) for d in DAGS.values()),
        timeout=180,
        what="the two alert DAGs",
    )
    first = _round(airflow)
    for name in DAGS:
        assert first[name]["state"] == "firing"
        assert [e["kind"] for e in first[name]["events"]] == ["firing"]
    wait_until(
        lambda: all(_posts(webhook, "/hooks/team", name) for name in DAGS),
        timeout=60,
        what="the firing messages",
    )
    fired_at = datetime.fromisoformat(first[UNACKED]["evaluated_at"].replace("Z", "+00:00"))

    acked = subprocess.run(
        [SQLSENTINEL, "ack", ACKED, "--by", "e2e-oncall", "--comment", "on it", "--format", "json"],
        env=airflow.env,
        cwd=airflow.root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert acked.returncode == 0, acked.stderr
    (instance,) = json.loads(acked.stdout)["instances"]
    assert instance["changed"] and instance["ack"]["by"] == "e2e-oncall"

    # past the step: the first run after it sends the step, the next one does not again
    wait = (fired_at + STEP - datetime.now(fired_at.tzinfo)).total_seconds()
    time.sleep(max(0.0, wait) + 1)
    second, third = _round(airflow), _round(airflow)

    assert sorted(e["kind"] for e in second[UNACKED]["events"]) == ["escalation", "reminder"]
    assert [e["kind"] for e in third[UNACKED]["events"]] == ["reminder"]
    for evaluation in (second[ACKED], third[ACKED]):
        assert evaluation["state"] == "firing"
        assert evaluation["events"] == []
        assert evaluation["instances"][0]["reason"] == "still firing, acknowledged"

    wait_until(
        lambda: _posts(webhook, "/hooks/oncall", UNACKED) and mail.mails,
        timeout=60,
        what="the escalation webhook and email",
    )
    time.sleep(2)  # anything still on its way
    (step,) = _posts(webhook, "/hooks/oncall", UNACKED)
    assert (step["kind"], step["reason_code"]) == ("firing", "escalated")
    assert step["escalation"]["summary"] == SUMMARY
    (escalation_mail,) = [m for m in mail.mails if "oncall@example.com" in m.recipients]
    assert SUMMARY in escalation_mail.subject and UNACKED in escalation_mail.subject
    # the ladder's receiver heard nothing else, and the alert's own channels no escalation
    assert _posts(webhook, "/hooks/oncall", ACKED) == []
    assert len(mail.mails) == 1
    own = [b["reason_code"] for b in _posts(webhook, "/hooks/own", UNACKED)]
    assert own == ["first_firing", "reminder_due", "reminder_due"], own
    assert [b["reason_code"] for b in _posts(webhook, "/hooks/own", ACKED)] == ["first_firing"]
    assert [b["reason_code"] for b in _posts(webhook, "/hooks/team", ACKED)] == ["first_firing"]

    store = _state_store(airflow)
    try:
        escalated = [(a.action, a.detail) for a in store.incident_actions(UNACKED)]
        acknowledged = [(a.action, a.actor, a.comment) for a in store.incident_actions(ACKED)]
    finally:
        store.dispose()
    assert escalated == [
        ("escalated", {"step": 1, "steps": 1, "receiver": "oncall", "after_seconds": 20})
    ]
    assert acknowledged == [("acknowledged", "e2e-oncall", "on it")]
    record_figure("escalation scenario (3 rounds of runs)", f"{time.monotonic() - started:.0f}s")
