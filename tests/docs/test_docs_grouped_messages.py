"""docs/notifications.md, "Grouped messages": the example file groups as the page says, the
subjects shown are what real evaluations render, and the webhook body shown has the shape
the code produces and the published schema accepts."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
from docs_snippets import REPO, text

from sqlsentinel_airflow.core.clock import utcnow
from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.core.grouping import group_wait_allowance
from sqlsentinel_airflow.core.model import RunType
from sqlsentinel_airflow.evaluation import evaluate_alert
from sqlsentinel_airflow.notify.delivery import CLAIM_LEASE
from sqlsentinel_airflow.notify.group_delivery import group_message
from sqlsentinel_airflow.notify.templates import message_context, render_part
from sqlsentinel_airflow.store import StateStore

SCHEMA = json.loads((REPO / "docs/reference/event-payload.schema.json").read_text())


class _Rows:
    def __init__(self, firing: list[str], ok: list[str]) -> None:
        self.columns = ["region", "status", "actual_value", "threshold"]
        self.rows = [[r, "ALERT", 130, 100] for r in firing] + [[r, "OK", 40, 100] for r in ok]


def _example() -> dict[str, AlertConfig]:
    loaded = load_config_text(text("notif-group-yaml"), "alerts.yaml")
    assert loaded.ok and loaded.warnings == [], [e.format() for e in loaded.errors]
    assert loaded.config is not None
    return {a.name: a for a in loaded.config.alerts}


def test_the_example_groups_as_described() -> None:
    alerts = _example()
    orders, stale = alerts["orders_by_region"], alerts["stale_tables"]
    assert [
        (s.receiver, s.config.channel, orders.grouping(s).groups(s.config.channel))
        for s in orders.channel_slots()
    ] == [
        (None, "email", True),
        ("pager", "webhook", True),  # the receiver asks for groups
    ]
    assert [orders.grouping(s).max_listed for s in orders.channel_slots()] == [30, 20]
    assert [stale.grouping(s).groups("slack") for s in stale.channel_slots()] == [False]


def _subjects(db: Path, runs: list[tuple[list[str], list[str]]]) -> list[str]:
    """The email subject of each run of the example alert (a fresh state database)."""
    alert = _example()["orders_by_region"]
    name = alert.name
    subjects: list[str] = []
    with StateStore.connect(f"sqlite:///{db}") as store:
        for firing, ok in runs:
            evaluate_alert(
                alert,
                fetch=lambda f=firing, o=ok: _Rows(f, o),
                store=store,
                run_type=RunType.SCHEDULED,
                run_id=f"run{len(subjects)}",
            )
            emails = [r for r in store.pending_outbox(name) if r.channel_kind == "email"]
            payload = emails[-1].payload
            subjects.append(render_part("subject", message_context(payload)).text)
            for row in store.pending_outbox(name):
                store.mark_delivered(row.id or 0, row.created_at)
    return subjects


def test_the_subjects_shown_are_what_runs_render(tmp_path: Path) -> None:
    regions = [f"r{i:02d}" for i in range(50)]
    fifty = _subjects(tmp_path / "a.db", [(regions, []), (regions[10:], regions[:10])])
    mixed = _subjects(tmp_path / "b.db", [(["eu", "us", "ap"], []), (["eu", "sa"], ["us"])])
    assert [*fifty, mixed[1]] == text("notif-group-subjects").splitlines()


def _keys(value: dict[str, Any]) -> set[str]:
    return set(value)


def test_the_payload_shown_has_the_shape_the_code_sends(tmp_path: Path) -> None:
    shown = json.loads(text("notif-group-payload"))
    alert = _example()["orders_by_region"]
    with StateStore.connect(f"sqlite:///{tmp_path / 'p.db'}") as store:
        evaluate_alert(alert, fetch=lambda: _Rows(["us"], []), store=store)
        evaluate_alert(alert, fetch=lambda: _Rows(["eu"], ["us"]), store=store)
        (row,) = [r for r in store.pending_outbox(alert.name) if r.channel_kind == "email"][1:]
    sent = row.payload
    assert set(shown) <= set(sent)  # trimmed, but nothing the code does not send
    assert {k: sent[k] for k in ("kind", "reason", "reason_code", "state", "instance")} == {
        k: shown[k] for k in ("kind", "reason", "reason_code", "state", "instance")
    }
    assert _keys(shown["group"]) == _keys(sent["group"])
    assert [_keys(m) for m in shown["group"]["members"]] == [
        _keys(m) for m in sent["group"]["members"]
    ]
    assert [(m["kind"], m["instance"]) for m in shown["group"]["members"]] == [
        (m["kind"], m["instance"]) for m in sent["group"]["members"]
    ]
    group_schema = {"$defs": SCHEMA["$defs"], **SCHEMA["$defs"]["PayloadGroup"]}
    jsonschema.Draft202012Validator(group_schema).validate(shown["group"])


def test_the_groups_across_alerts_example_sends_one_message_for_both_alerts(
    tmp_path: Path,
) -> None:
    loaded = load_config_text(text("notif-group-across-yaml"), "alerts.yaml")
    assert loaded.ok and loaded.warnings == [], [e.format() for e in loaded.errors]
    assert loaded.config is not None
    orders, payments = loaded.config.alerts
    (team,) = orders.routing.receivers  # type: ignore[union-attr]
    assert (team.group_by, team.group_wait) == (("owner",), timedelta(minutes=2))
    assert group_wait_allowance(orders) == timedelta(minutes=3)  # the task's extra time

    with StateStore.connect(f"sqlite:///{tmp_path / 'g.db'}") as store:
        for alert in (orders, payments):
            evaluate_alert(alert, fetch=lambda: _Single("ALERT"), store=store)
        rows = [*store.pending_outbox(orders.name), *store.pending_outbox(payments.name)]
        email = [r for r in rows if r.channel_kind == "email"]
        assert len({r.group_key for r in email}) == 1  # both alerts, one group per channel
        claim = store.claim_group(
            email[0].group_key or "",
            "t",
            utcnow() + timedelta(minutes=2),
            CLAIM_LEASE,
            team.group_wait,
        )
    assert claim.status == "claimed" and len(claim.rows) == 2
    message = group_message(claim.rows, claim.batch_id or "", team.group_by, 20)
    subject = render_part("subject", message_context(message)).text
    assert subject == "[WARNING] FIRING: 2 of 2 instances — 2 alerts (owner data-team)"


class _Single:
    def __init__(self, status: str) -> None:
        self.columns = ["status"]
        self.rows = [[status]]
