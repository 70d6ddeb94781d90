"""``depends_on`` in the generated DAGs: the child's task knows its parents' DAGs and waits
for them within its execution_timeout; a renamed parent makes only the child invalid (its
last valid version keeps running, the located error on top of its docs)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.airflow

ERRORS_DAG = "sqlsentinel_config_errors"
ALERTS = """\
defaults: {conn_id: wh, schedule: "0 * * * *"}
alerts:
  - {name: orders_loaded, query: "SELECT 'OK' AS status", timeout: 10m}
  - {name: fx_rates, query: "SELECT 'OK' AS status", timeout: 1m}
  - name: revenue
    query: SELECT 'OK' AS status
    depends_on: [orders_loaded, fx_rates]
  - {name: steady, query: "SELECT 'OK' AS status"}
"""


def test_the_child_task_waits_within_its_execution_timeout(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any]
) -> None:
    write_alerts(ALERTS)
    bag = parse()
    assert bag.import_errors == {}
    (task,) = bag.dags["sqlsentinel_revenue"].tasks
    assert task.parent_dag_ids == ("sqlsentinel_orders_loaded", "sqlsentinel_fx_rates")
    # the longest parent task limit: orders_loaded's 10m timeout + the 2 min margin
    assert task.parents_wait == timedelta(minutes=12)
    assert task.execution_timeout == timedelta(minutes=5 + 2) + timedelta(minutes=12)
    (steady,) = bag.dags["sqlsentinel_steady"].tasks
    assert steady.parent_dag_ids == () and steady.parents_wait == timedelta(0)
    assert steady.execution_timeout == timedelta(minutes=7)


def test_a_renamed_parent_leaves_the_child_on_its_last_valid_version(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any]
) -> None:
    write_alerts(ALERTS)
    parse()
    write_alerts(ALERTS.replace("name: orders_loaded", "name: orders_landed"))
    bag = parse()

    assert bag.import_errors == {}
    assert set(bag.dags) == {
        "sqlsentinel_orders_landed",
        "sqlsentinel_fx_rates",
        "sqlsentinel_revenue",
        "sqlsentinel_steady",
        ERRORS_DAG,
    }
    revenue = bag.dags["sqlsentinel_revenue"]
    assert "sqlsentinel-stale" in revenue.tags
    message = (
        "alerts.yaml:7:18 alerts[2].depends_on[0]: unknown alert `orders_loaded` in "
        "`depends_on` (did you mean `orders_landed`?)"
    )
    assert message in revenue.doc_md
    assert revenue.tasks[0].alert.depends_on == ("orders_loaded", "fx_rates")
    assert "alert `revenue` keeps running its last valid version" in bag.dags[ERRORS_DAG].doc_md
    for other in ("sqlsentinel_orders_landed", "sqlsentinel_fx_rates", "sqlsentinel_steady"):
        assert "sqlsentinel-stale" not in bag.dags[other].tags


def test_a_call_s_own_prefix_applies_to_the_parents_too(tmp_path: Path) -> None:
    from sqlsentinel_airflow import load_alert_dags

    (tmp_path / "alerts.yaml").write_text(ALERTS)
    namespace: dict[str, Any] = {"__file__": str(tmp_path / "dags.py")}
    dags = load_alert_dags(
        "alerts.yaml",
        namespace,
        dag_id_prefix="team_",
        manifest_dir=tmp_path / "m",
        config_watch=False,
    )
    (task,) = dags["team_revenue"].tasks
    assert task.parent_dag_ids == ("team_orders_loaded", "team_fx_rates")
