"""Grouped messages through the real engine, store and channels (docs/adr/0013-grouped-messages.md).

Fifty instances of one keyed alert fire in one evaluation: each receiver gets ONE message
(a real SMTP server, a Slack stand-in and a webhook receiver on loopback), then the instances
resolve ten per run over an hour: one resolved message per run and receiver, not fifty.
The delivery faults (receiver down, SIGKILL mid-send, two deliverers) are in
test_notify_delivery.py and test_notify_crash.py, beside the same tests for single rows.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
from notify_engine import Rows, evaluate, make_alert
from notify_servers import HttpReceiver, SmtpInbox

from sqlsentinel_airflow.core.model import EventKind
from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.notify.sample import send_samples
from sqlsentinel_airflow.readmodel import delivery_view
from sqlsentinel_airflow.store import OutboxStatus, StateStore

REPO = Path(__file__).resolve().parents[3]
PUBLISHED = json.loads((REPO / "docs/reference/event-payload.schema.json").read_text())
V1_AS_PUBLISHED = json.loads(
    (REPO / "tests/fixtures/payload/webhook-v1-as-published.schema.json").read_text()
)
REGIONS = [f"r{i:02d}" for i in range(50)]


def regions(firing: list[str], ok: tuple[str, ...] | list[str] = ()) -> Rows:
    rows = [[r, "ALERT", 100 + int(r[1:]), 10] for r in firing]
    rows += [[r, "OK", 1, 10] for r in ok]
    return Rows(["region", "status", "actual_value", "threshold"], rows)


def channels(slack_api: HttpReceiver, receiver: HttpReceiver) -> list[Any]:
    return [
        {"channel": "email", "to": ["oncall@example.com"]},
        {"channel": "slack", "webhook_url": slack_api.url("/services/T/B/x")},
        {"channel": "webhook", "url": receiver.url("/h")},
    ]


def valid(body: dict[str, Any]) -> dict[str, Any]:
    """A grouped body is a version 1 body: the published schema and the first one accept it."""
    for schema in (PUBLISHED, V1_AS_PUBLISHED):
        jsonschema.Draft202012Validator(schema).validate(body)
    return body


def test_fifty_instances_fire_as_one_message_and_resolve_as_one_per_run(
    smtp: SmtpInbox, slack_api: HttpReceiver, receiver: HttpReceiver, store: StateStore
) -> None:
    alert = make_alert(
        "orders_by_region",
        channels(slack_api, receiver),
        key_columns=["region"],
        max_rows=1000,
        severity="critical",
        group={"by_evaluation": True, "max_listed": 20},
    )

    report = evaluate(alert, store, regions(REGIONS), minute=0)
    assert deliver_pending(alert, store).complete

    assert len(report.events) == 50  # fifty events decided ...
    rows = store.outbox(alert_name=alert.name)
    assert len(rows) == 3  # ... one outbox row per channel carries them
    assert {len(r.members) for r in rows} == {50}
    assert {r.kind for r in rows} == {EventKind.FIRING}
    (mail,) = smtp.mails
    assert mail.message["Subject"] == "[CRITICAL] FIRING: 50 of 50 instances — orders_by_region"
    text = mail.part("text/plain")
    assert text.startswith("orders_by_region: 50 firing\n")
    assert "Instances:      50 of 50 instances" in text
    assert "  FIRING  region=r00: 100 (threshold 10)" in text
    assert "region=r19" in text and "region=r20" not in text  # 20 listed ...
    assert "  +30 more\n" in text  # ... and the rest counted
    assert "+30 more" in mail.part("text/html")
    (slack,) = slack_api.requests
    blocks = slack.json()["blocks"]
    assert blocks[0]["text"]["text"].endswith("FIRING: 50 of 50 instances — orders_by_region")
    listed = next(
        b["text"]["text"] for b in blocks if "region=r00" in b.get("text", {}).get("text", "")
    )
    assert listed.count("\n") == 20 and listed.endswith("+30 more")
    (hook,) = receiver.requests
    body = valid(hook.json())
    assert (body["kind"], body["reason_code"], body["state"]) == ("firing", "grouped", "FIRING")
    assert body["instance"] == {"key": "", "key_values": {}}
    group = body["group"]
    assert (group["size"], group["instances"], group["max_listed"]) == (50, 50, 20)
    assert group["counts"] == {
        "firing": 50,
        "reminder": 0,
        "resolved": 0,
        "error": 0,
        "flapping": 0,
    }
    assert [m["instance"]["key_values"]["region"] for m in group["members"]] == REGIONS
    webhook_row = next(r for r in rows if r.channel_kind == "webhook")
    assert hook.headers["Idempotency-Key"] == webhook_row.idempotency_key
    assert webhook_row.idempotency_key == f"{body['event_id']}:{webhook_row.channel_id}"

    # who a message covered, as the CLI and the UI read it
    view = delivery_view(next(r for r in rows if r.channel_kind == "email")).to_json()
    assert [m["label"] for m in view["members"]][:2] == ["region=r00", "region=r01"]
    assert {m["kind"] for m in view["members"]} == {"firing"}

    # ten instances resolve per run, over an hour: one resolved message per run and receiver
    for run in range(1, 6):
        still, ok = REGIONS[10 * run :], REGIONS[: 10 * run]  # the query still returns all 50
        evaluate(alert, store, regions(still, ok), minute=12 * run)
        assert deliver_pending(alert, store).complete
        assert smtp.mails[-1].message["Subject"] == (
            "[RESOLVED] 10 of 50 instances — orders_by_region"
        )
        assert f"RESOLVED  region=r{10 * run - 1:02d}: last value" in smtp.mails[-1].part(
            "text/plain"
        )

    assert (len(smtp.mails), len(slack_api.requests), len(receiver.requests)) == (6, 6, 6)
    assert {r.status for r in store.outbox(alert_name=alert.name)} == {OutboxStatus.DELIVERED}
    members = [
        (m["kind"], m["instance"]["key_values"]["region"])
        for r in receiver.requests
        for m in valid(r.json())["group"]["members"]
    ]
    assert Counter(members) == Counter(
        [("firing", r) for r in REGIONS] + [("resolved", r) for r in REGIONS]
    )  # every instance's firing and resolved, each once


def test_by_default_people_get_one_message_and_webhooks_one_per_event(
    smtp: SmtpInbox, slack_api: HttpReceiver, receiver: HttpReceiver, store: StateStore
) -> None:
    alert = make_alert(
        "orders_by_region",
        channels(slack_api, receiver),
        key_columns=["region"],
        max_rows=1000,
    )

    evaluate(alert, store, regions(REGIONS[:5]), minute=0)
    evaluate(alert, store, regions([*REGIONS[:5], "r07"]), minute=5)  # one more instance
    assert deliver_pending(alert, store).complete

    assert [m.message["Subject"] for m in smtp.mails] == [
        "[WARNING] FIRING: 5 of 5 instances — orders_by_region",
        "[WARNING] FIRING: orders_by_region [region=r07]",  # one instance: a single message
    ]
    assert len(slack_api.requests) == 2
    assert [r.json()["instance"]["key_values"] for r in receiver.requests] == [
        {"region": r} for r in [*REGIONS[:5], "r07"]
    ]
    assert not any("group" in r.json() for r in receiver.requests)  # the payload as it was


def test_a_mixed_evaluation_counts_each_kind_and_a_receiver_can_turn_grouping_off(
    smtp: SmtpInbox, slack_api: HttpReceiver, store: StateStore
) -> None:
    alert = make_alert(
        "orders_by_region",
        [{"channel": "email", "to": ["oncall@example.com"]}],
        key_columns=["region"],
        max_rows=1000,
        severity="critical",
        routing={
            "receivers": [
                {
                    "name": "chat",
                    "notify": [{"channel": "slack", "webhook_url": slack_api.url("/s")}],
                    "group": {"by_evaluation": False},
                }
            ]
        },
    )
    evaluate(alert, store, regions(["r00", "r01", "r02"]), minute=0)
    evaluate(alert, store, regions(["r00", "r03"], ["r01"]), minute=5)  # r02 goes missing

    assert deliver_pending(alert, store).complete

    assert [m.message["Subject"] for m in smtp.mails] == [
        "[CRITICAL] FIRING: 3 of 3 instances — orders_by_region",
        "[CRITICAL] FIRING: 1 firing, 2 resolved (of 4 instances) — orders_by_region",
    ]
    text = smtp.mails[1].part("text/plain")
    assert "  FIRING  region=r03: 103 (threshold 10)" in text
    assert "  RESOLVED  region=r01: last value 1 (threshold 10)" in text
    assert "  RESOLVED  region=r02: last value n/a (threshold n/a)" in text  # it went missing
    assert len(slack_api.requests) == 6  # the receiver said one message per event


def test_notify_test_sends_a_sample_grouped_message_through_every_channel(
    smtp: SmtpInbox, slack_api: HttpReceiver, receiver: HttpReceiver
) -> None:
    alert = make_alert(
        "orders_by_region", channels(slack_api, receiver), key_columns=["region"], max_rows=1000
    )

    results = send_samples(alert, "group")

    assert [r.result.delivered for r in results] == [True, True, True]
    (mail,) = smtp.mails
    assert mail.message["Subject"].startswith("[TEST] [WARNING] FIRING: 1 firing, 1 flapping")
    (hook,) = receiver.requests
    body = valid(hook.json())
    assert (body["test"], body["group"]["size"]) == (True, 4)
    header = slack_api.requests[0].json()["blocks"][0]["text"]["text"]
    assert "[TEST] FIRING: 1 firing, 1 flapping, 1 still firing, 1 resolved" in header
