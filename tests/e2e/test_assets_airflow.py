"""End to end on a LocalExecutor deployment: an alert that runs when the data lands
(docs/assets.md).

A plain producer DAG, written as Airflow's docs write one (a task with
``outlets=[Asset(name=..., uri=...)]``), is triggered through the REST API. The alert
scheduled on that asset's URI (``schedule: {assets: s3://...}``) must run within 30 s of
the asset event and evaluate: its DAG run is ``asset_triggered`` and the state DB has its
history row with that run type. The alert fires and ``produces`` an asset; a plain consumer
DAG scheduled on it runs too, and the asset event it was triggered by says what happened
(``extra``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from urllib.parse import quote

import pytest
from e2e_deployment import AirflowDeployment, wait_until
from e2e_receivers import HttpReceiver
from e2e_support import launched, reader_conn_uri, record_figure

from sqlsentinel_airflow.store import StateStore

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e_assets")]

ALERTS = """\
alerts:
  - name: orders_landed_low
    conn_id: e2e_warehouse
    schedule: {assets: s3://e2e-warehouse/orders}
    retries: 0
    produces: s3://e2e-alerts/orders_landed_low
    # three seconds: long enough that the child, started by the same event, must wait for it
    query: >-
      SELECT 'ALERT' AS status, 3 AS actual_value, 10 AS threshold
      FROM (SELECT pg_sleep(3)) AS s
    notify:
      - channel: webhook
        url: {webhook}/hooks/orders
  - name: orders_revenue_low
    conn_id: e2e_warehouse
    schedule: {assets: s3://e2e-warehouse/orders}
    retries: 0
    depends_on: orders_landed_low
    query: "SELECT 'ALERT' AS status, 250 AS actual_value, 1000 AS threshold"
    notify:
      - channel: webhook
        url: {webhook}/hooks/revenue
"""
PRODUCER = '''\
"""A load DAG as Airflow's docs write one: its task updates the asset when it succeeds."""
import pendulum
from airflow.sdk import DAG, Asset, task

orders = Asset(name="orders", uri="s3://e2e-warehouse/orders")

with DAG(
    dag_id="e2e_load_orders",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    is_paused_upon_creation=False,
):

    @task(outlets=[orders])
    def load_orders():
        return "loaded"

    load_orders()
'''
CONSUMER = '''\
"""A plain DAG scheduled on the asset the alert produces."""
import pendulum
from airflow.sdk import DAG, Asset, task

orders_alert = Asset("s3://e2e-alerts/orders_landed_low")

with DAG(
    dag_id="e2e_on_orders_alert",
    schedule=[orders_alert],
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    is_paused_upon_creation=False,
):

    @task
    def react(triggering_asset_events=None):
        return [event.extra for event in triggering_asset_events[orders_alert]]

    react()
'''
ALERT_DAG = "sqlsentinel_orders_landed_low"
CHILD_DAG = "sqlsentinel_orders_revenue_low"  # depends_on the alert, on the same asset
PRODUCER_DAG = "e2e_load_orders"
CONSUMER_DAG = "e2e_on_orders_alert"


@pytest.fixture(scope="module")
def airflow(
    tmp_path_factory: pytest.TempPathFactory,
    databases: Callable[[str], str],
    webhook: HttpReceiver,
) -> Iterator[AirflowDeployment]:
    with launched(
        tmp_path_factory.mktemp("assets"),
        label="assets (LocalExecutor)",
        metadata_db=databases("meta"),
        alerts_yaml=ALERTS.replace("{webhook}", webhook.url),
        env={"AIRFLOW_CONN_E2E_WAREHOUSE": reader_conn_uri(databases("wh"))},
        extra_dags={"e2e_load_orders.py": PRODUCER, "e2e_on_orders_alert.py": CONSUMER},
    ) as deployment:
        yield deployment


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_the_alert_runs_when_the_data_lands_and_announces_what_it_found(
    airflow: AirflowDeployment, webhook: HttpReceiver
) -> None:
    api = airflow.api
    wait_until(
        lambda: all(api.dag(d) for d in (ALERT_DAG, CHILD_DAG, PRODUCER_DAG, CONSUMER_DAG)),
        timeout=120,
        what="the alerts, producer and consumer DAGs",
    )
    load = api.trigger(PRODUCER_DAG)
    api.wait_for_run(
        PRODUCER_DAG,
        lambda r: r["dag_run_id"] == load["dag_run_id"],
        states=("success",),
        timeout=120,
        what="the load run",
    )
    (landed,) = api.get("/api/v2/assets/events", source_dag_id=PRODUCER_DAG, limit=10)[
        "asset_events"
    ]
    assert landed["uri"] == "s3://e2e-warehouse/orders", landed

    # the alert: asset-triggered within 30 s of the event, and evaluated
    run = api.wait_for_run(
        ALERT_DAG,
        lambda r: r["run_type"] == "asset_triggered",
        timeout=60,
        what="the asset-triggered alert run",
    )
    assert run["state"] == "success", run
    delay = (_time(run["start_date"]) - _time(landed["timestamp"])).total_seconds()
    record_figure("assets: asset event -> alert run started", f"{delay:.1f}s")
    assert delay < 30, f"the alert started {delay:.1f}s after the asset event"
    evaluation = api.xcom(ALERT_DAG, run["dag_run_id"], "evaluate")
    assert evaluation["run_type"] == "asset_triggered"
    assert evaluation["state"] == "firing"
    store = StateStore.connect(f"sqlite:///{airflow.home / 'sqlsentinel' / 'state.db'}")
    try:
        (row,) = store.history("orders_landed_low")
    finally:
        store.dispose()
    assert (row.run_type.value, row.run_id) == ("asset_triggered", run["dag_run_id"])

    # what it produced, seen by a plain consumer DAG
    produce = api.task_instance(ALERT_DAG, run["dag_run_id"], "produce_firing_resolved")
    assert produce["state"] == "success", produce
    consumed = api.wait_for_run(
        CONSUMER_DAG,
        lambda r: r["run_type"] == "asset_triggered",
        timeout=60,
        what="the consumer of the produced asset",
    )
    upstream = api.get(
        f"/api/v2/dags/{quote(CONSUMER_DAG)}/dagRuns/{quote(consumed['dag_run_id'])}"
        "/upstreamAssetEvents"
    )["asset_events"]
    (announced,) = upstream
    assert announced["uri"] == "s3://e2e-alerts/orders_landed_low"
    assert announced["extra"]["alert"] == "orders_landed_low"
    assert announced["extra"]["run_id"] == run["dag_run_id"]
    assert announced["extra"]["state"] == "firing"
    assert [e["kind"] for e in announced["extra"]["events"]] == ["firing"]
    # read in the consumer's task as docs/assets.md shows
    assert api.xcom(CONSUMER_DAG, consumed["dag_run_id"], "react") == [announced["extra"]]

    # the alert that depends on it, started by the same asset event: it waited for the
    # parent's run, so it read the parent FIRING and held its own firing
    child_run = api.wait_for_run(
        CHILD_DAG,
        lambda r: r["run_type"] == "asset_triggered",
        timeout=60,
        what="the child's asset-triggered run",
    )
    assert child_run["state"] == "success", child_run
    child = api.xcom(CHILD_DAG, child_run["dag_run_id"], "evaluate")
    assert child["state"] == "firing" and child["events"] == [], child
    assert child["inhibited_by"] == ["orders_landed_low"]
    assert child["instances"][0]["held"] is True
    assert _time(child["evaluated_at"]) > _time(evaluation["evaluated_at"])
    started_apart = (_time(child_run["start_date"]) - _time(run["start_date"])).total_seconds()
    record_figure("assets: child run started after its parent's", f"{started_apart:.1f}s")
    wait_until(
        lambda: any(p["path"] == "/hooks/orders" for p in webhook.posts),
        timeout=30,
        what="the parent's firing webhook",
    )
    assert [p for p in webhook.posts if p["path"] == "/hooks/revenue"] == []
