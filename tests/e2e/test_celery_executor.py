"""End to end on the distributed deployment: CeleryExecutor, Redis broker, two workers.

Twenty ``* * * * *`` alerts run for several minutes across two ``airflow celery worker``
processes, with the state DB on PostgreSQL (``state_db: {conn_id: sqlsentinel_state}``), so
two machines' worth of workers share one state. Every expected notification (one ``firing``
per alert, then one ``resolved`` after the data is fixed) must arrive exactly once, also
after one worker is SIGKILLed in the middle of a run: its tasks time out (heartbeat) and are
retried on the other worker, and the alerts still complete.

Redis DB 13 on 127.0.0.1:6379 is this module's own. Each run uses a Celery queue of its own
in it and deletes that queue's keys afterwards instead of flushing the DB: two runs of the
suite on one machine (a developer's and a colleague's) must not take each other's tasks or
wipe each other's queue.
"""

from __future__ import annotations

import json
import signal
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from e2e_deployment import AirflowDeployment, wait_until
from e2e_receivers import HttpReceiver, MailReceiver
from e2e_support import (
    airflow_conn_uri,
    launched,
    pg_url,
    reader_conn_uri,
    record_figure,
    smtp_env,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e_celery")]

REDIS_DB = 13
ALERT_COUNT = 20
NAMES = [f"celery_alert_{i:02d}" for i in range(1, ALERT_COUNT + 1)]
HEADER = """\
state_db: {{conn_id: sqlsentinel_state}}
defaults:
  conn_id: e2e_warehouse
  timezone: UTC
  retries: 3
  retry_delay: 10s
  notify:
    - channel: email
      to: [oncall@example.com]
    - channel: webhook
      url: {webhook}/hooks/sqlsentinel
alerts:
"""
ALERT = """\
  - name: {name}
    schedule: "* * * * *"
    query: |
      SELECT CASE WHEN firing THEN 'ALERT' ELSE 'OK' END AS status,
             {index} AS actual_value, 0 AS threshold
      FROM control WHERE name = '{name}'
"""


@dataclass
class Databases:
    warehouse: sa.Engine
    warehouse_uri: str
    state_uri: str


@pytest.fixture(scope="module")
def pg(databases: Callable[[str], str]) -> Iterator[Databases]:
    warehouse = databases("wh")
    state = databases("state")
    engine = sa.create_engine(pg_url(warehouse))
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE control (name text PRIMARY KEY, firing boolean)"))
        for name in NAMES:
            conn.execute(sa.text("INSERT INTO control VALUES (:n, true)"), {"n": name})
    yield Databases(engine, reader_conn_uri(warehouse), airflow_conn_uri(state))
    engine.dispose()


@dataclass
class Broker:
    url: str
    queue: str


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(f"Redis on 127.0.0.1:6379 is required and unreachable: {exc}")
    queue = f"sqlsentinel_e2e_{uuid.uuid4().hex[:8]}"
    yield Broker(f"redis://127.0.0.1:6379/{REDIS_DB}", queue)
    for key in list(client.scan_iter(match=f"*{queue}*")):
        client.delete(key)
    client.close()


@pytest.fixture(scope="module")
def airflow(
    tmp_path_factory: pytest.TempPathFactory,
    databases: Callable[[str], str],
    pg: Databases,
    broker: Broker,
    mail: MailReceiver,
    webhook: HttpReceiver,
) -> Iterator[AirflowDeployment]:
    metadata_db = databases("meta")
    alerts = HEADER.format(webhook=webhook.url) + "".join(
        ALERT.format(name=name, index=i) for i, name in enumerate(NAMES, start=1)
    )
    env = {
        **smtp_env(mail),
        "AIRFLOW_CONN_E2E_WAREHOUSE": pg.warehouse_uri,
        "AIRFLOW_CONN_SQLSENTINEL_STATE": pg.state_uri,
        "AIRFLOW__CELERY__BROKER_URL": broker.url,
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": broker.queue,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + pg_url(metadata_db),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "4",
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
        # A killed worker's unacknowledged tasks go back to the queue after this long.
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "60",
        # ... and its running tasks are failed (then retried) once their heartbeat stops.
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        # Tasks the killed worker had fetched but not started stay unacknowledged in Redis;
        # the scheduler re-queues tasks queued for longer than this.
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "60",
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "15",
        "AIRFLOW__CORE__PARALLELISM": "16",
    }
    with launched(
        tmp_path_factory.mktemp("celery"),
        label="CeleryExecutor",
        metadata_db=metadata_db,
        alerts_yaml=alerts,
        env=env,
        executor="CeleryExecutor",
        celery_workers=2,
        celery_queue=broker.queue,
    ) as deployment:
        yield deployment


def _count(
    webhook: HttpReceiver, mail: MailReceiver, kind: str
) -> tuple[Counter[str], Counter[str]]:
    posts: Counter[str] = Counter(
        p["body"]["alert"]["name"] for p in webhook.posts if p["body"].get("kind") == kind
    )
    word = {"firing": "FIRING: ", "resolved": "[RESOLVED] "}[kind]
    mails: Counter[str] = Counter(
        name for m in mail.mails for name in NAMES if m.subject.endswith(word + name)
    )
    return posts, mails


def _all_arrived(webhook: HttpReceiver, mail: MailReceiver, kind: str) -> bool:
    posts, mails = _count(webhook, mail, kind)
    return set(posts) == set(NAMES) and set(mails) == set(NAMES)


def _assert_exactly_once(webhook: HttpReceiver, mail: MailReceiver, kind: str) -> None:
    posts, mails = _count(webhook, mail, kind)
    assert posts == Counter(NAMES), f"{kind} webhooks: {posts}"
    assert mails == Counter(NAMES), f"{kind} emails: {mails}"


def _task_instances(api: Any, **filters: Any) -> list[dict[str, Any]]:
    data = api.get("/api/v2/dags/~/dagRuns/~/taskInstances", limit=500, **filters)
    return [ti for ti in data["task_instances"] if ti["dag_id"].startswith("sqlsentinel_celery")]


def test_twenty_alerts_fire_once_each_across_two_workers(
    airflow: AirflowDeployment, mail: MailReceiver, webhook: HttpReceiver
) -> None:
    dags = wait_until(
        lambda: (
            (d := airflow.api.dags(tag="sqlsentinel"))
            and len([x for x in d if x.startswith("sqlsentinel_celery_alert_")]) == ALERT_COUNT
            and d
        ),
        timeout=180,
        what="the 20 alert DAGs",
    )
    assert all(not dags[f"sqlsentinel_{n}"]["is_paused"] for n in NAMES)
    started = datetime.now(timezone.utc)
    wait_until(
        lambda: _all_arrived(webhook, mail, "firing"),
        timeout=300,
        interval=2,
        what="a firing email and webhook from each of the 20 alerts",
        on_timeout=lambda: str(_count(webhook, mail, "firing")),
    )
    record_figure(
        "Celery: 20 firing notifications delivered",
        f"{(datetime.now(timezone.utc) - started).total_seconds():.0f}s after the DAGs appeared",
    )
    _assert_exactly_once(webhook, mail, "firing")
    hosts = {ti["hostname"] for ti in _task_instances(airflow.api, state="success")}
    assert {"worker1", "worker2"} <= hosts, hosts


def test_a_killed_worker_does_not_lose_or_repeat_notifications(
    airflow: AirflowDeployment, pg: Databases, mail: MailReceiver, webhook: HttpReceiver
) -> None:
    api = airflow.api

    def running_on_worker1() -> list[dict[str, Any]]:
        return [
            ti for ti in _task_instances(api, state="running") if ti.get("hostname") == "worker1"
        ]

    victims = wait_until(
        running_on_worker1, timeout=240, interval=0.5, what="a task running on worker1"
    )
    airflow.kill("worker1", signal.SIGKILL)
    killed_at = datetime.now(timezone.utc)
    record_figure("Celery: worker1 SIGKILLed during", ", ".join(v["dag_id"] for v in victims))

    # Every interrupted run still completes (its task is retried on worker2).
    for victim in victims:
        run = api.wait_for_run(
            victim["dag_id"],
            lambda r, v=victim: r["dag_run_id"] == v["dag_run_id"],
            timeout=300,
            what=f"the interrupted run of {victim['dag_id']}",
        )
        assert run["state"] == "success", run
        task = api.task_instance(victim["dag_id"], victim["dag_run_id"], "evaluate")
        assert task["try_number"] >= 2 and task["hostname"] == "worker2", task
    # ... and every alert keeps running on the remaining worker.
    for name in NAMES:
        api.wait_for_run(
            f"sqlsentinel_{name}",
            lambda r: (
                r["run_type"] == "scheduled"
                and datetime.fromisoformat(r["run_after"].replace("Z", "+00:00")) > killed_at
            ),
            states=("success",),
            timeout=300,
            what=f"a run of {name} after the kill",
        )
    _assert_exactly_once(webhook, mail, "firing")
    assert not [p for p in webhook.posts if p["body"].get("kind") in ("resolved", "error")]

    with pg.warehouse.begin() as conn:  # fix the data: every alert resolves
        conn.execute(sa.text("UPDATE control SET firing = false"))
    wait_until(
        lambda: _all_arrived(webhook, mail, "resolved"),
        timeout=300,
        interval=2,
        what="a resolved email and webhook from each of the 20 alerts",
        on_timeout=lambda: str(_count(webhook, mail, "resolved")),
    )
    _assert_exactly_once(webhook, mail, "resolved")
    _assert_exactly_once(webhook, mail, "firing")
    keys = [p["body"]["idempotency_key"] for p in webhook.posts]
    assert len(keys) == len(set(keys)) == 2 * ALERT_COUNT, json.dumps(keys)
