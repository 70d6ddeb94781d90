"""The config watch's diff of alerts: added / removed / changed, and snapshots without secrets."""

from __future__ import annotations

import json
from typing import Any

from sqlsentinel_airflow.core.config import AlertsConfig, load_config_text
from sqlsentinel_airflow.dags.config_diff import (
    ConfigDiff,
    FieldChange,
    _hash,
    diff_snapshots,
    snapshot_alerts,
)

SECRET_URL = "https://hooks.example.com/services/T000/B000/very-secret-token"


def _config(alerts_yaml: str, defaults: str = "") -> AlertsConfig:
    text = "defaults:\n  conn_id: warehouse\n" + defaults + "alerts:\n" + alerts_yaml
    result = load_config_text(text, "alerts.yaml", env={"HOOK": SECRET_URL})
    assert result.config is not None and not result.errors, [e.format() for e in result.errors]
    return result.config


def _alert(name: str, schedule: str = "* * * * *", query: str = "SELECT 'OK' AS status") -> str:
    return f"  - name: {name}\n    schedule: '{schedule}'\n    query: \"{query}\"\n"


def _snap(config: AlertsConfig) -> dict[str, Any]:
    return snapshot_alerts(config.alerts)


def test_identical_configs_have_an_empty_diff() -> None:
    config = _config(_alert("a") + _alert("b"))
    diff = diff_snapshots(_snap(config), _snap(config))
    assert diff.empty
    assert diff.lines() == ["no alert was added, removed or changed"]
    assert diff.to_dict() == {"added": [], "removed": [], "changed": {}}


def test_added_removed_and_changed_schedule_are_reported_with_values() -> None:
    before = _config(_alert("keep") + _alert("moved", "*/5 * * * *") + _alert("gone"))
    after = _config(_alert("keep") + _alert("moved", "0 * * * *") + _alert("new"))
    diff = diff_snapshots(_snap(before), _snap(after))
    assert diff.added == ("new",)
    assert diff.removed == ("gone",)
    assert diff.changed == {"moved": (FieldChange("schedule", True, "*/5 * * * *", "0 * * * *"),)}
    assert diff.lines() == [
        "added: new",
        "removed: gone",
        'changed: moved (schedule: "*/5 * * * *" -> "0 * * * *")',
    ]
    assert diff.to_dict()["changed"] == {
        "moved": [{"field": "schedule", "before": "*/5 * * * *", "after": "0 * * * *"}]
    }


def test_a_changed_query_is_reported_without_its_text() -> None:
    before = _config(_alert("a", query="SELECT 'OK' AS status"))
    after = _config(_alert("a", query="SELECT 'ALERT' AS status"))
    diff = diff_snapshots(_snap(before), _snap(after))
    assert diff.changed == {"a": (FieldChange("query", False),)}
    assert diff.lines() == ["changed: a (query changed)"]
    assert "ALERT" not in json.dumps(diff.to_dict())


def test_durations_are_shown_as_written() -> None:
    before = _config(_alert("a") + "    timeout: 5m\n")
    after = _config(_alert("a") + "    timeout: 90s\n")
    diff = diff_snapshots(_snap(before), _snap(after))
    assert diff.changed["a"] == (FieldChange("timeout", True, "5m", "1m30s"),)


def test_moving_an_alert_within_the_file_is_not_a_change() -> None:
    before = _config(_alert("a") + _alert("b"))
    after = _config("  # a comment that shifts every line\n" + _alert("b") + _alert("a"))
    assert before.alerts[0].source_line != after.alerts[1].source_line
    assert diff_snapshots(_snap(before), _snap(after)).empty


def test_a_changed_default_shows_on_every_alert_it_applies_to() -> None:
    before = _config(_alert("a") + _alert("b"), defaults="  severity: warning\n")
    after = _config(_alert("a") + _alert("b"), defaults="  severity: critical\n")
    diff = diff_snapshots(_snap(before), _snap(after))
    assert sorted(diff.changed) == ["a", "b"]
    assert diff.changed["a"] == (FieldChange("severity", True, "warning", "critical"),)


def test_snapshots_never_hold_a_webhook_url_and_still_see_it_change() -> None:
    channel = "    notify:\n      - channel: webhook\n        url: ${HOOK}\n"
    before = _config(_alert("a") + channel)
    snapshot = _snap(before)
    assert SECRET_URL not in json.dumps(snapshot)
    assert "very-secret-token" not in json.dumps(snapshot)
    other = channel.replace("${HOOK}", "https://hooks.example.com/other")
    diff = diff_snapshots(snapshot, _snap(_config(_alert("a") + other)))
    assert diff.changed == {"a": (FieldChange("notify", False),)}


def test_snapshots_survive_a_json_round_trip() -> None:
    config = _config(_alert("a") + "    renotify_after: 4h\n    tags: [x, y]\n")
    stored = json.loads(json.dumps(_snap(config)))
    assert diff_snapshots(stored, _snap(config)).empty
    assert stored["a"]["values"]["renotify_after"] == "4h"
    assert stored["a"]["values"]["tags"] == ["x", "y"]


def test_diff_from_nothing_adds_everything() -> None:
    diff = diff_snapshots({}, _snap(_config(_alert("b") + _alert("a"))))
    assert diff == ConfigDiff(added=("a", "b"))


def test_a_mute_window_that_now_matches_an_alert_changes_it_and_none_is_no_change() -> None:
    plain = _config(_alert("a") + _alert("b"))
    snapshot = _snap(plain)
    assert "mute_windows" not in snapshot["a"]["hashes"]  # as snapshots before mute windows
    window = "mute_windows:\n  - {name: w, match: {alert: a}, intervals: [{months: [may]}]}\n"
    muted = load_config_text(
        "defaults:\n  conn_id: warehouse\nalerts:\n" + _alert("a") + _alert("b") + window,
        "alerts.yaml",
    )
    assert muted.config is not None
    diff = diff_snapshots(snapshot, _snap(muted.config))
    assert diff.changed == {"a": (FieldChange("mute_windows", False),)}


def test_an_alert_without_a_ladder_reads_as_before_ladders_and_one_changes_it() -> None:
    receivers = (
        "receivers:\n  - {name: oncall, notify: [{channel: email, to: [o@example.com]}]}\n"
        "routes:\n  receiver: oncall\n"
    )
    plain = load_config_text(
        receivers + "defaults:\n  conn_id: warehouse\nalerts:\n" + _alert("a"), "alerts.yaml"
    )
    assert plain.config is not None
    snapshot = _snap(plain.config)
    # as snapshots taken before ladders: none of their settings, nor inside the routing
    assert not {"escalation", "escalation_receivers", "escalation_from", "ack_rearm_factor"} & set(
        snapshot["a"]["hashes"]
    )
    routing = plain.config.alert("a").routing
    assert routing is not None
    dumped = routing.model_dump(mode="json")
    for key in ("escalation", "escalation_from", "escalation_applied"):
        dumped.pop(key)
        for hit in dumped["hits"]:
            hit.pop(key, None)
    assert snapshot["a"]["hashes"]["routing"] == _hash(dumped)
    laddered = load_config_text(
        receivers.replace(
            "receiver: oncall\n",
            "receiver: oncall\n  escalation: [{after: 15m, receiver: oncall}]\n",
        )
        + "defaults:\n  conn_id: warehouse\nalerts:\n"
        + _alert("a"),
        "alerts.yaml",
    )
    assert laddered.config is not None
    diff = diff_snapshots(snapshot, _snap(laddered.config))
    assert {c.field for c in diff.changed["a"]} == {
        "escalation",
        "escalation_from",
        "escalation_receivers",
        "routing",
    }


def test_asset_schedules_and_produces_are_shown_and_absent_ones_are_no_change() -> None:
    """docs/assets.md: the condition and the produced assets as people read them; an alert
    without them reads as in a snapshot taken before they existed."""
    cron = _config(_alert("a"))
    on_assets = _config(
        "  - name: a\n    schedule: {assets: [s3://x, {name: y}], cron: '* * * * *'}\n"
        "    produces: s3://alerts/a\n    query: \"SELECT 'OK' AS status\"\n"
    )
    diff = diff_snapshots(_snap(cron), _snap(on_assets))
    assert diff.changed == {
        "a": (
            FieldChange("assets", True, None, "s3://x and {name: y}"),
            FieldChange("produces", True, None, ["s3://alerts/a on firing, resolved"]),
        )
    }
    old = _snap(cron)  # a snapshot of a release before assets: neither key anywhere
    assert "assets" not in old["a"]["values"] and "assets" not in old["a"]["hashes"]
    assert "produces" not in old["a"]["values"] and "produces" not in old["a"]["hashes"]
