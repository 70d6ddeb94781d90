"""``sqlsentinel status`` lists what each alert owes now (its pending notifications, at most
5), not its dead letters: a summary of every alert of a file, where a year of dead letters
listed 200 per alert was 200,000 lines (docs/benchmarks.md, section 5). ``--deliveries N``
lists the newest N pending or dead. The pending/dead counts stay whole and a line says how
many are not listed and where they are."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from sqlsentinel_airflow.cli.main import main
from sqlsentinel_airflow.core.model import EventKind
from sqlsentinel_airflow.readmodel import DELIVERIES_IN_STATUS
from sqlsentinel_airflow.store import AlertTransaction, OutboxEntry, StateStore

NOW = datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)
ALERTS = """\
database:
  url: sqlite:///{warehouse}
alerts:
  - name: busy
    schedule: "@hourly"
    query: SELECT 'OK' AS status
  - name: calm
    schedule: "@hourly"
    query: SELECT 'OK' AS status
"""


def _enqueue(store: StateStore, alert: str, dead: int, pending: int) -> list[int]:
    """``dead`` rows given up on, then ``pending`` ones; their ids, oldest first."""

    def entry() -> OutboxEntry:
        event_id = str(uuid.uuid4())
        return OutboxEntry(
            event_id=event_id,
            alert_name=alert,
            kind=EventKind.FIRING,
            channel_id="0:webhook:abc",
            channel_kind="webhook",
            payload={"version": 1, "alert": alert},
            idempotency_key=f"{event_id}:0:webhook:abc",
            created_at=NOW,
        )

    def work(tx: AlertTransaction) -> list[int]:
        return [tx.enqueue(entry()) for _ in range(dead + pending)]

    ids = store.run_in_alert_transaction(alert, work)
    for row_id in ids[:dead]:
        store.mark_attempt_failed(row_id, "HTTP 500", NOW, max_attempts=1)
    return ids


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, str, list[int], list[int]]:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with StateStore.connect(url) as store:
        busy = _enqueue(store, "busy", dead=7, pending=1)
        calm = _enqueue(store, "calm", dead=0, pending=1)
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(ALERTS.format(warehouse=tmp_path / "wh.db"))
    return alerts, url, busy, calm


def _status_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, dict[str, object]]:
    assert main(["status", *args, "--format", "json"]) == 0
    return {a["name"]: a for a in json.loads(capsys.readouterr().out)["alerts"]}


def test_status_lists_what_is_owed_and_counts_the_rest(
    setup: tuple[Path, str, list[int], list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    alerts, url, busy, calm = setup
    assert DELIVERIES_IN_STATUS == 5

    found = _status_json(capsys, str(alerts), "--state-db", url)
    listed = found["busy"]["deliveries"]
    assert isinstance(listed, list)
    assert [(d["id"], d["status"]) for d in listed] == [(busy[-1], "pending")]
    assert (found["busy"]["pending_deliveries"], found["busy"]["dead_deliveries"]) == (1, 7)
    assert [d["id"] for d in found["calm"]["deliveries"]] == calm  # type: ignore[union-attr]

    assert main(["status", str(alerts), "--state-db", url]) == 0
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if line[:1].isdigit() and "webhook" in line]
    assert [int(line.split()[0]) for line in rows] == [busy[-1], *calm]
    assert text.rstrip().endswith(
        "7 more undelivered notification(s) of 1 alert(s) not listed here: sqlsentinel outbox "
        "--alert NAME [--status dead] lists them (status --deliveries N: the newest N of each)"
    )


def test_pending_rows_beyond_five_are_not_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with StateStore.connect(url) as store:
        owed = _enqueue(store, "busy", dead=0, pending=7)
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(ALERTS.format(warehouse=tmp_path / "wh.db"))
    found = _status_json(capsys, str(alerts), "--state-db", url)
    assert [d["id"] for d in found["busy"]["deliveries"]] == owed[::-1][:5]  # type: ignore[union-attr]


def test_deliveries_n_lists_more_or_none(
    setup: tuple[Path, str, list[int], list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    alerts, url, busy, _calm = setup
    newest = _status_json(capsys, str(alerts), "--state-db", url, "--deliveries", "5")
    assert [d["id"] for d in newest["busy"]["deliveries"]] == busy[::-1][:5]  # type: ignore[union-attr]

    every = _status_json(capsys, str(alerts), "--state-db", url, "--deliveries", "200")
    assert [d["id"] for d in every["busy"]["deliveries"]] == busy[::-1]  # type: ignore[union-attr]

    none = _status_json(capsys, str(alerts), "--state-db", url, "--deliveries", "0")
    assert none["busy"]["deliveries"] == [] and none["calm"]["deliveries"] == []
    assert none["busy"]["dead_deliveries"] == 7

    assert main(["status", str(alerts), "--state-db", url, "--deliveries", "0"]) == 0
    text = capsys.readouterr().out
    assert "outbox id" not in text
    assert "9 more undelivered notification(s) of 2 alert(s) not listed here" in text


@pytest.mark.parametrize("bad", ["201", "-1", "many"])
def test_deliveries_out_of_range_is_refused(
    setup: tuple[Path, str, list[int], list[int]], capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    alerts, url, _busy, _calm = setup
    with pytest.raises(SystemExit) as exit_:
        main(["status", str(alerts), "--state-db", url, "--deliveries", bad])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --deliveries: {bad!r}: give a whole number from 0 to 200" in err
