"""Which messages offer an Acknowledge link (notify/actionlinks.py), and the link itself."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from sqlsentinel_airflow.core.actionlinks import verify_action_token
from sqlsentinel_airflow.core.config.models import ActionLinks
from sqlsentinel_airflow.core.model import EventKind
from sqlsentinel_airflow.notify.actionlinks import ack_link_wanted, minter_for
from sqlsentinel_airflow.notify.sample import SAMPLE_ALERT, sample_payload

KEY = b"k" * 32
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


def _payload(kind: EventKind = EventKind.FIRING, **changes: Any) -> dict[str, Any]:
    payload = dict(sample_payload(SAMPLE_ALERT, kind))
    payload["test"] = False
    payload.update(changes)
    return payload


@pytest.mark.parametrize(
    ("changes", "wanted"),
    [
        ({}, True),
        ({"kind": "reminder"}, True),
        ({"escalation": {"step": 1, "steps": 2, "after_seconds": 900, "receiver": "x"}}, True),
        ({"kind": "resolved"}, False),
        ({"kind": "error"}, False),
        ({"flapping": True}, False),
        ({"test": True}, False),  # a notify-test sample
        ({"group": {"size": 2, "members": []}}, False),  # several incidents in one message
        ({"acknowledgement": {"by": "x"}}, False),
        ({"firing_since": None}, False),
        ({"firing_since": "2026-12-06T11:00:00"}, False),  # no zone: not one of ours
        ({"alert": {"name": "x"}}, False),  # no dag_id
    ],
)
def test_which_messages_offer_the_link(changes: dict[str, Any], wanted: bool) -> None:
    assert ack_link_wanted(_payload(**changes)) is wanted


def test_the_link_names_the_incident_and_expires_after_the_setting() -> None:
    assert minter_for(None, "https://airflow.example.com") is None
    settings = ActionLinks(conn_id="links", expire_after=timedelta(hours=6))
    assert minter_for(settings, None) is None
    minter = minter_for(settings, "https://airflow.example.com/a/")
    assert minter is not None
    minter = type(minter)(minter.settings, minter.base_url, clock=lambda: NOW)
    payload = _payload()
    url = minter.ack_url(payload, key=KEY, recipients="oncall@example.com")
    assert url is not None
    prefix = "https://airflow.example.com/a/sqlsentinel/ui/action#t="
    assert url.startswith(prefix)
    claims = verify_action_token(url.removeprefix(prefix), KEY, NOW)
    assert (claims.dag_id, claims.instance_key) == (
        payload["alert"]["dag_id"],
        payload["instance"]["key"],
    )
    assert claims.firing_since == datetime.fromisoformat(payload["firing_since"])
    assert claims.expires_at == NOW + timedelta(hours=6)
    assert minter.ack_url(_payload(EventKind.RESOLVED), key=KEY, recipients="") is None
