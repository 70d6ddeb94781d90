"""The DAG-run note's text, from the evaluate task's XCom (``AlertRun.to_dict()``)."""

from __future__ import annotations

from typing import Any

from sqlsentinel_airflow.run_note import (
    MAX_NAMED,
    NO_EVALUATION,
    NOTE_MAX_CHARS,
    is_run_note,
    note_text,
)


def _instance(state: str, value: Any, threshold: Any = 5, **key_values: Any) -> dict[str, Any]:
    return {
        "instance_key": "",
        "key_values": key_values,
        "state": state,
        "actual_value": value,
        "threshold": threshold,
        "events": [],
    }


def _run(*instances: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"verdict": "ok", "error": None, "instances": list(instances), **fields}


def test_single_instance_alerts_read_value_and_threshold() -> None:
    assert note_text(_run(_instance("firing", 17.99))) == "FIRING 17.99 (threshold 5)"
    assert note_text(_run(_instance("pending", 6))) == "PENDING 6 (threshold 5)"
    assert note_text(_run(_instance("ok", 3.2))) == "OK 3.2 (threshold 5)"
    resolved = {**_instance("ok", 3.2), "events": ["resolved"]}
    assert note_text(_run(resolved)) == "RESOLVED 3.2 (threshold 5)"
    assert note_text(_run(_instance("firing", None, None))) == "FIRING"  # status-only query


def test_keyed_alerts_count_and_name_the_firing_instances_capped() -> None:
    instances = [_instance("firing", i, table_name=f"t{i}") for i in range(8)]
    instances.append(_instance("ok", 1, table_name="quiet"))
    text = note_text(_run(*instances))
    assert text.startswith("FIRING 8 of 9 instances: table_name=t0 0, table_name=t1 1")
    assert text.count("table_name=") == MAX_NAMED
    assert text.endswith(", and 3 more (threshold 5)")
    quiet = note_text(_run(_instance("ok", 1, table_name="a"), _instance("ok", 2, table_name="b")))
    assert quiet == "OK: 2 instances, none alerting"


def test_errors_are_one_short_line_without_secrets() -> None:
    error = "connection to postgresql://app:hunter2secret@db.example.com/x failed\nDETAIL: more"
    text = note_text(_run(error=error, verdict="query_failed"))
    assert text.startswith("ERROR: connection to postgresql://app:") and "\n" not in text
    assert "hunter2secret" not in text and "DETAIL" not in text
    assert len(note_text(_run(error="x" * 5000))) < 320


def test_prefixes_delivery_and_the_length_limit() -> None:
    silenced = note_text(_run(_instance("firing", 9), silenced=True, dry_run=True))
    assert silenced == "DRY RUN: SILENCED FIRING 9 (threshold 5)"
    owed = _run(_instance("firing", 9), delivery={"complete": False, "failed": 1, "dead": 0})
    assert note_text(owed) == "FIRING 9 (threshold 5) · notifications not delivered: 1 failed"
    assert note_text({"verdict": "ok", "delivery_only": True}).startswith("DELIVERY ONLY")
    long_key = {"table_name": "n" * 80}
    many = [_instance("firing", 1, **{**long_key, "i": i}) for i in range(200)]
    assert len(note_text(_run(*many))) <= NOTE_MAX_CHARS


def test_only_our_notes_are_recognised_as_replaceable() -> None:
    for ours in (
        "FIRING 1",
        "OK 2 (threshold 5)",
        "DRY RUN: OK 1",
        "SILENCED FIRING 2",
        NO_EVALUATION,
    ):
        assert is_run_note(ours), ours
    for theirs in ("investigating with @ana", "Firing, known issue", "ok then"):
        assert not is_run_note(theirs), theirs


def test_a_flapping_alert_says_so() -> None:
    flapping = {**_instance("flapping", 6), "events": ["flapping"]}
    assert note_text(_run(flapping)) == "FLAPPING 6 (threshold 5)"
    keyed = [_instance("flapping", 6, table_name="a"), _instance("ok", 1, table_name="b")]
    assert note_text(_run(*keyed)).startswith("FLAPPING 1 of 2 instances: table_name=a 6")
    keyed.append(_instance("firing", 9, table_name="c"))
    assert note_text(_run(*keyed)).startswith("FIRING 1 of 3 instances: table_name=c 9")


def test_acknowledged_firing_instances_name_who_acknowledged() -> None:
    acked = {**_instance("firing", 17.99), "acked_by": "ana"}
    assert note_text(_run(acked)) == "FIRING 17.99 (threshold 5) · acked by ana"
    keyed = [
        {**_instance("firing", 9, table_name="orders"), "acked_by": "ana"},
        {**_instance("firing", 8, table_name="users"), "acked_by": "bo"},
        {**_instance("firing", 7, table_name="items"), "acked_by": None},
        # an instance that resolved keeps no acknowledgement worth a mention
        {**_instance("ok", 1, table_name="done"), "acked_by": "cy"},
    ]
    assert note_text(_run(*keyed)).endswith("(threshold 5) · acked by ana, bo")
    assert is_run_note(note_text(_run(acked)))
