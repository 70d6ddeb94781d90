"""docs/notifications.md, "Flap detection": the example loads as the page says, and its
hour of a value crossing the threshold every five-minute run sends what the page says."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from docs_snippets import DOCS, text

from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.model import FlapPolicy, Observation, Outcome, Reason
from sqlsentinel_airflow.core.state_machine import decide, initial_state

PAGE = DOCS / "notifications.md"


def test_the_example_turns_it_on_in_defaults_and_off_for_one_alert() -> None:
    result = load_config_text(text("notif-flap-detection"), "alerts.yaml", env={})
    assert result.errors == []
    assert result.config is not None
    flaps = {a.name: a.policy.flap for a in result.config.alerts}
    assert flaps == {
        "queue_depth": FlapPolicy(4, timedelta(minutes=30), timedelta(minutes=15)),
        "nightly_load_done": None,
    }


def test_an_hour_of_crossings_every_five_minutes_sends_what_the_page_says() -> None:
    result = load_config_text(text("notif-flap-detection"), "alerts.yaml", env={})
    assert result.config is not None
    policy = result.config.alert("queue_depth").policy
    t0 = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)
    state, sent = initial_state("queue_depth"), []
    # an hour of crossings, then another hour of changes, then it stays above the threshold
    for minute in range(0, 180, 5):
        crossing = minute < 120 and (minute // 5) % 2 == 1
        outcome = Outcome.OK if crossing else Outcome.ALERT
        decision = decide(
            state,
            Observation(outcome),
            now=t0 + timedelta(minutes=minute),
            policy=policy,
            silenced=False,
        )
        sent += [(minute, e.kind.value, e.reason) for e in decision.events]
        state = decision.state
    assert sent == [
        (0, "firing", Reason.FIRST_FIRING),
        (5, "resolved", Reason.RESOLVED),
        (10, "firing", Reason.FIRST_FIRING),
        (15, "flapping", Reason.FLAPPING_STARTED),
        (135, "firing", Reason.SETTLED_FIRING),  # fifteen minutes after the last change
    ]
    page = PAGE.read_text(encoding="utf-8")
    assert "then one `flapping` at the\nfourth" in page
    assert "one `firing` or `resolved` fifteen\nminutes after the value stops crossing" in page
