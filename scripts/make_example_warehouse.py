#!/usr/bin/env python3
"""Build the example SQLite warehouse the alerts in ``dags/alerts.yaml`` run against.

Every timestamp is relative to "now" (UTC, the clock SQLite's ``'now'`` uses), so that on the
day the demo runs exactly the intended alerts fire:

- ``daily_revenue``        OK      yesterday's revenue is about 15k, the threshold 10k;
- ``api_error_rate``       FIRING  about 12% of the last hour's requests failed (threshold 5%);
- ``table_freshness``      one FIRING instance (``customers``, loaded 30 h ago, SLA 24 h);
                                   ``orders`` and ``api_requests`` are fresh;
- ``stuck_orders``         OK      3 orders stuck in ``pending``, threshold 25;
- ``new_customers_drop``   disabled (manual runs only); OK with this data.

The data does not move afterwards, so it ages like a real warehouse whose loads stopped:
after an hour the error window is empty (the alert resolves), after about two hours the
fresh tables go stale. Run the script again (or ``scripts/demo``) to start over.

Usage: ``make_example_warehouse.py PATH [--now 2026-01-31T12:00:00Z] [--seed N]``.
The file is rebuilt from scratch each time and swapped in atomically, so a running
Airflow task never sees it half-written.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

__all__ = ["WarehouseSummary", "build_warehouse", "main"]

ERROR_RATE_LAST_HOUR = 0.12
ERROR_RATE_BEFORE = 0.008
ORDERS_PER_DAY = 140
STUCK_PENDING_ORDERS = 3
HISTORY_DAYS = 30

#: table -> (hours between loads, age of the last load, freshness SLA in hours, owner team)
MONITORED_TABLES: dict[str, tuple[float, timedelta, int, str]] = {
    "orders": (1.0, timedelta(minutes=20), 3, "sales-engineering"),
    "api_requests": (0.25, timedelta(minutes=5), 2, "platform"),
    "customers": (24.0, timedelta(hours=30), 24, "crm"),
}

_SCHEMA = """
CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    country     TEXT NOT NULL,
    created_at  TEXT NOT NULL            -- UTC, 'YYYY-MM-DD HH:MM:SS'
);
CREATE TABLE orders (
    order_id    INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (customer_id),
    created_at  TEXT NOT NULL,           -- UTC, 'YYYY-MM-DD HH:MM:SS'
    amount      REAL NOT NULL,           -- EUR
    status      TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'cancelled'))
);
CREATE INDEX orders_created_at ON orders (created_at);
CREATE TABLE api_requests (
    request_id   INTEGER PRIMARY KEY,
    requested_at TEXT NOT NULL,          -- UTC, 'YYYY-MM-DD HH:MM:SS'
    endpoint     TEXT NOT NULL,
    status_code  INTEGER NOT NULL,
    latency_ms   INTEGER NOT NULL
);
CREATE INDEX api_requests_requested_at ON api_requests (requested_at);
CREATE TABLE table_loads (
    load_id     INTEGER PRIMARY KEY,
    table_name  TEXT NOT NULL,
    loaded_at   TEXT NOT NULL,           -- UTC, 'YYYY-MM-DD HH:MM:SS'
    rows_loaded INTEGER NOT NULL
);
CREATE TABLE monitored_tables (
    table_name    TEXT PRIMARY KEY,
    max_age_hours INTEGER NOT NULL,      -- freshness SLA
    owner_team    TEXT NOT NULL
);
"""

_COUNTRIES = ("DE", "FR", "NL", "AT", "PL", "ES", "IT", "SE")
_ENDPOINTS = ("/checkout", "/search", "/products", "/cart", "/login")
_FIRST = ("Ada", "Ben", "Chloe", "Dev", "Emil", "Fatima", "Greta", "Hugo", "Ines", "Jonas")
_LAST = ("Meyer", "Rossi", "Novak", "Dubois", "Jensen", "Silva", "Kowalski", "Berg")


@dataclass(frozen=True)
class WarehouseSummary:
    """What was generated: the figures the example alerts will see at ``now``."""

    path: Path
    now: datetime
    revenue_yesterday: float
    requests_last_hour: int
    errors_last_hour: int
    stuck_orders: int
    stale_tables: tuple[str, ...]

    @property
    def error_rate_last_hour_pct(self) -> float:
        return 100.0 * self.errors_last_hour / max(self.requests_last_hour, 1)


def _ts(moment: datetime) -> str:
    """The UTC text form SQLite's ``datetime('now')`` produces, so comparisons are textual."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _customers(rng: random.Random, now: datetime) -> Iterator[tuple[int, str, str, str]]:
    customer_id = 0
    # A long-standing base, then about ten sign-ups a day for the last two weeks.
    for _ in range(400):
        customer_id += 1
        created = now - timedelta(days=rng.uniform(15, 365))
        yield customer_id, _name(rng), rng.choice(_COUNTRIES), _ts(created)
    for day in range(14, 0, -1):
        for _ in range(rng.randint(8, 12)):
            customer_id += 1
            created = now - timedelta(days=day - 1, seconds=rng.uniform(0, 86_399))
            yield customer_id, _name(rng), rng.choice(_COUNTRIES), _ts(created)


def _name(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


def _orders(
    rng: random.Random, now: datetime, n_customers: int
) -> Iterator[tuple[int, int, str, float, str]]:
    today = now.date()
    order_id = 0
    for back in range(HISTORY_DAYS, -1, -1):
        day_start = datetime.combine(
            today - timedelta(days=back), datetime.min.time(), timezone.utc
        )
        for _ in range(ORDERS_PER_DAY):
            created = day_start + timedelta(seconds=rng.uniform(0, 86_399))
            if created > now:
                continue  # only what has happened so far today
            order_id += 1
            recent = now - created < timedelta(hours=2)
            if recent:
                status = "pending" if rng.random() < 0.35 else "completed"
            else:
                status = "cancelled" if rng.random() < 0.02 else "completed"
            amount = round(rng.uniform(20.0, 200.0), 2)
            yield order_id, rng.randint(1, n_customers), _ts(created), amount, status


def _api_requests(rng: random.Random, now: datetime) -> Iterator[tuple[int, str, str, int, int]]:
    moment = now - timedelta(hours=24)
    request_id = 0
    while True:
        moment += timedelta(seconds=rng.uniform(5, 25))
        if moment > now:
            return
        request_id += 1
        in_last_hour = now - moment < timedelta(hours=1)
        error_rate = ERROR_RATE_LAST_HOUR if in_last_hour else ERROR_RATE_BEFORE
        failed = rng.random() < error_rate
        status_code = (
            rng.choice((500, 502, 503)) if failed else rng.choice((200, 200, 200, 201, 404))
        )
        latency = rng.randint(800, 5000) if failed else rng.randint(20, 400)
        yield request_id, _ts(moment), rng.choice(_ENDPOINTS), status_code, latency


def _table_loads(rng: random.Random, now: datetime) -> Iterator[tuple[str, str, int]]:
    for table, (every_hours, last_age, _sla, _owner) in MONITORED_TABLES.items():
        last = now - last_age
        for k in range(48):
            loaded = last - timedelta(hours=every_hours * k)
            yield table, _ts(loaded), rng.randint(50, 5000)


def build_warehouse(path: Path, now: datetime | None = None, seed: int = 7) -> WarehouseSummary:
    """(Re)create the warehouse at ``path`` with data relative to ``now``; atomic replace."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    rng = random.Random(seed)
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    try:
        with conn:
            conn.executescript(_SCHEMA)
            customers = list(_customers(rng, now))
            conn.executemany("INSERT INTO customers VALUES (?, ?, ?, ?)", customers)
            orders = list(_orders(rng, now, len(customers)))
            _make_stuck(rng, orders, now)
            conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", orders)
            requests = list(_api_requests(rng, now))
            conn.executemany("INSERT INTO api_requests VALUES (?, ?, ?, ?, ?)", requests)
            conn.executemany(
                "INSERT INTO table_loads (table_name, loaded_at, rows_loaded) VALUES (?, ?, ?)",
                list(_table_loads(rng, now)),
            )
            conn.executemany(
                "INSERT INTO monitored_tables VALUES (?, ?, ?)",
                [(t, sla, owner) for t, (_e, _a, sla, owner) in MONITORED_TABLES.items()],
            )
    finally:
        conn.close()
    os.replace(tmp, path)
    return _summary(path, now, orders, requests)


def _make_stuck(
    rng: random.Random, orders: list[tuple[int, int, str, float, str]], now: datetime
) -> None:
    """Turn a few older orders into 'pending': the handful stuck_orders tolerates."""
    cutoff = _ts(now - timedelta(hours=3))
    older = [i for i, o in enumerate(orders) if o[2] < cutoff and o[4] == "completed"]
    for i in rng.sample(older, STUCK_PENDING_ORDERS):
        order_id, customer_id, created, amount, _status = orders[i]
        orders[i] = (order_id, customer_id, created, amount, "pending")


def _summary(
    path: Path,
    now: datetime,
    orders: Sequence[tuple[int, int, str, float, str]],
    requests: Sequence[tuple[int, str, str, int, int]],
) -> WarehouseSummary:
    yesterday: date = now.date() - timedelta(days=1)
    revenue = sum(
        o[3] for o in orders if o[2][:10] == yesterday.isoformat() and o[4] != "cancelled"
    )
    hour_ago = _ts(now - timedelta(hours=1))
    last_hour = [r for r in requests if r[1] >= hour_ago]
    stale = tuple(
        t for t, (_e, age, sla, _o) in MONITORED_TABLES.items() if age > timedelta(hours=sla)
    )
    two_hours_ago = _ts(now - timedelta(hours=2))
    stuck = sum(1 for o in orders if o[4] == "pending" and o[2] < two_hours_ago)
    return WarehouseSummary(
        path=path,
        now=now,
        revenue_yesterday=round(revenue, 2),
        requests_last_hour=len(last_hour),
        errors_last_hour=sum(1 for r in last_hour if r[3] >= 500),
        stuck_orders=stuck,
        stale_tables=stale,
    )


def _parse_now(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("path", type=Path, help="SQLite file to (re)create")
    parser.add_argument("--now", type=_parse_now, help="ISO time the data is relative to (UTC)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    summary = build_warehouse(args.path, args.now, args.seed)
    if not args.quiet:
        print(
            f"example warehouse {summary.path} (data relative to {_ts(summary.now)} UTC):\n"
            f"  revenue yesterday      {summary.revenue_yesterday:>10,.2f}  (alert below 10,000)\n"
            f"  errors in last hour    {summary.error_rate_last_hour_pct:>9.1f}%  "
            f"({summary.errors_last_hour}/{summary.requests_last_hour}, alert above 5%)\n"
            f"  stale tables           {', '.join(summary.stale_tables) or 'none':>10}\n"
            f"  stuck pending orders   {summary.stuck_orders:>10}  (alert above 25)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
