"""The vocabulary of the read-only corpora (``corpus_pg``, ``corpus_mysql``, ``corpus_sqlite``):
one hostile case, one legitimate read, the registry that names cases per class, and how two
snapshots of facts are compared.

The marks say which layer is expected to stop a case, so each test mode knows what to demand
(see the modes in docs/reliability.md, section 4.2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HostileCase:
    """One attack: SQL text shaped like an alert, its class and what it would do.

    ``db_layer_only``: why the SQL check cannot judge it, and what in the database stops it.
    ``db_layer_gap``: why the database lets it through for any login, so that only the check
    stops it (mode B expects the side effect; the day it does not, the test says so).
    ``server_wide``: never run it as a superuser unless the check refused it (it could stop
    or reconfigure the shared server for everyone).
    ``opt_in_risk``: what a privileged login that an operator opted in
    (``allow_privileged_conn_ids``) lets through, as docs/security.md says: the body of a
    function or view the database's own users created runs with the login's rights. Not run
    as a superuser; the read-only login and the refusal of a privileged login stop it.
    """

    name: str
    klass: str
    sql: str
    note: str
    db_layer_only: str | None = None
    db_layer_gap: str | None = None
    server_wide: bool = False
    opt_in_risk: str | None = None


@dataclass(frozen=True)
class ReadCase:
    """A legitimate analytics query that must be accepted and run."""

    sql: str
    note: str


@dataclass
class Corpus:
    """Hostile cases in the order written, named ``<class>-NN``."""

    cases: list[HostileCase] = field(default_factory=list)

    def add(
        self,
        klass: str,
        sql: str,
        note: str,
        *,
        db_layer_only: str | None = None,
        db_layer_gap: str | None = None,
        server_wide: bool = False,
        opt_in_risk: str | None = None,
    ) -> None:
        number = sum(1 for case in self.cases if case.klass == klass) + 1
        self.cases.append(
            HostileCase(
                f"{klass}-{number:02d}",
                klass,
                sql,
                note,
                db_layer_only=db_layer_only,
                db_layer_gap=db_layer_gap,
                server_wide=server_wide,
                opt_in_risk=opt_in_risk,
            )
        )


def fact_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """One readable line per fact that differs between two snapshots: a changed value, the
    changed entries of a mapping, the removed and added items of a list."""
    lines = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            for sub in sorted(set(old) | set(new)):
                if old.get(sub) != new.get(sub):
                    lines.append(f"{key}.{sub}: {old.get(sub)!r} -> {new.get(sub)!r}")
        elif isinstance(old, list) and isinstance(new, list):
            gone = [x for x in old if x not in new]
            added = [x for x in new if x not in old]
            lines.append(f"{key}: removed {gone!r}, added {added!r}")
        else:
            lines.append(f"{key}: {old!r} -> {new!r}")
    return lines


def add_size_cases(corpus: Corpus) -> None:
    """Huge inputs hiding a second statement, shared by the MySQL and SQLite corpora: a 200 kB
    comment, 3,000 nested parentheses and a 5,000-term WHERE, each followed by a DELETE."""
    corpus.add(
        "size",
        "SELECT 'OK' AS status /* " + "x" * 200_000 + " */; DELETE FROM victim",
        "a 200 kB comment hiding the ;",
    )
    corpus.add(
        "size",
        "SELECT " + "(" * 3000 + "1" + ")" * 3000 + " AS status; DELETE FROM victim",
        "deep parentheses then a DELETE",
    )
    corpus.add(
        "size",
        "SELECT 'OK' AS status FROM victim WHERE "
        + " OR ".join(f"id = {i}" for i in range(5000))
        + "; DELETE FROM victim",
        "a 5000-term WHERE then a DELETE",
    )
