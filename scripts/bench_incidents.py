"""Time incident listings over a year of minute evaluations on PostgreSQL.

    .venv/bin/python scripts/bench_incidents.py [ADMIN_URL]   # default postgresql://postgres@127.0.0.1:5432/postgres

Creates a scratch database, fills the history in SQL (``generate_series``, the alerts'
evaluations interleaved minute by minute) and drops it after:

- ``daily``: 525,600 evaluations (a minute schedule for a year), firing 30 minutes a day
  (365 incidents, each with its ``firing`` and ``resolved``);
- ``quiet``: 525,600 evaluations, never firing (a listing must scan and find nothing);
- ``long``: 525,600 evaluations, firing for the last 90 days without a break (one open
  incident of 129,600 evaluations, the worst case of reading an incident's own rows).

Each listing is run three times; the best time is printed with the rows its scans compared.
"""

from __future__ import annotations

import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlsentinel_airflow.readmodel import incidents
from sqlsentinel_airflow.store import StateStore

YEAR = 525_600
T0 = datetime(2025, 12, 1, tzinfo=timezone.utc)

KINDS = {
    "daily": "n % 1440 BETWEEN 600 AND 629",
    "quiet": "false",
    "long": f"n >= {YEAR - 129_600}",
}


def _firing(n: str) -> str:
    """Whether alert ``a.name`` fires at minute ``n`` (SQL)."""
    cases = " ".join(f"WHEN '{name}' THEN ({rule.replace('n', n)})" for name, rule in KINDS.items())
    return f"CASE a.name {cases} ELSE false END"


# The alerts' evaluations interleaved minute by minute, as a scheduler writes them.
FILL = f"""
INSERT INTO sqlsentinel_history
  (alert_name, instance_key, evaluated_at, run_type, run_id, outcome, state, reason,
   actual_value, threshold, events, dag_id)
SELECT name, '', CAST(:t0 AS timestamptz) + n * interval '1 minute', 'scheduled',
       'scheduled__' || n,
       CASE WHEN f THEN 'ALERT' ELSE 'OK' END,
       CASE WHEN f THEN 'FIRING' ELSE 'OK' END,
       CASE WHEN f AND NOT pf THEN 'first_firing' WHEN pf AND NOT f THEN 'resolved'
            WHEN f THEN 'still_firing_no_reminders' ELSE 'ok' END,
       (CASE WHEN f THEN 6 + (n % 7) ELSE n % 4 END)::text, '5',
       CASE WHEN f AND NOT pf THEN '["firing"]' WHEN pf AND NOT f THEN '["resolved"]'
            ELSE '[]' END,
       'dag_' || name
FROM (
  SELECT a.name, n, {_firing("n")} AS f, {_firing("(n - 1)")} AS pf
  FROM generate_series(0, CAST(:rows AS integer) - 1) AS n,
       (VALUES {", ".join(f"('{name}')" for name in KINDS)}) AS a(name)
) AS s
ORDER BY n, name
"""


def _timed(label: str, store: StateStore, alert: str, **kwargs: Any) -> None:
    """The best of three listings (views with their figures, as the API answers)."""
    best, views = float("inf"), ()
    for _ in range(3):
        started = time.perf_counter()
        views, _cursor = incidents.incident_views(store, alert, **kwargs)
        best = min(best, time.perf_counter() - started)
    rows = incidents.find_incidents(store, alert, **kwargs).rows_read
    print(f"{label:<50} {best * 1000:7.0f} ms {len(views):4d} incidents {rows:8d} rows compared")


def main(argv: list[str]) -> int:
    admin_url = argv[1] if len(argv) > 1 else "postgresql://postgres@127.0.0.1:5432/postgres"
    name = f"sst_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(admin_url).set(database=name)
    try:
        store = StateStore.connect(url)
        started = time.perf_counter()
        with store.engine.begin() as conn:
            conn.execute(sa.text(FILL), {"t0": T0, "rows": YEAR})
            conn.execute(sa.text("ANALYZE sqlsentinel_history"))
        print(f"filled {len(KINDS) * YEAR:,} rows in {time.perf_counter() - started:.0f} s")
        now = T0 + timedelta(minutes=YEAR)

        _timed("daily: first page (50)", store, "daily")
        _timed("daily: the UI's first page (20)", store, "daily", limit=20)
        _timed("daily: --since 30d", store, "daily", since=now - timedelta(days=30))
        _timed("daily: 500 (the whole year)", store, "daily", limit=500)
        _timed("quiet: first page (nothing in a year)", store, "quiet")
        _timed("long: first page (one incident of 129,600 rows)", store, "long")
        store.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
