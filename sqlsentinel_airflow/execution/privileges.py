"""Least privilege, checked: refuse to run alert queries with a login that can do harm.

Every other guard (the SQL check, one statement per call, the read-only transaction) works
inside the session; a login that is superuser, or may read and write server files, signal
other sessions, create replication slots or write tables, turns any gap in them into damage.
So before the first query on a connection in a process, the login's privileges are read from
the database's own catalogs, on the same read-only connection:

- PostgreSQL: superuser, the REPLICATION attribute, membership (inherited or not) in
  ``pg_read_server_files``, ``pg_write_server_files``, ``pg_execute_server_program``,
  ``pg_signal_backend``, ``pg_write_all_data`` or any superuser or replication role, EXECUTE
  on a refused function (``core.config.sqlfunctions``) that PUBLIC may not execute,
  INSERT/UPDATE/DELETE/TRUNCATE on any table (column grants too), UPDATE on a sequence.
- MySQL / MariaDB: ``SHOW GRANTS`` of the login and of the roles granted to it: ALL, SUPER,
  FILE, SHUTDOWN, RELOAD, CREATE USER, PROCESS, GRANT OPTION, any ``... ADMIN`` /
  ``*_ADMIN`` privilege, any privilege that writes (INSERT, UPDATE, DELETE, CREATE, DROP,
  ALTER ...), and a granted role whose grants the login may not read.

A privileged login is refused with a message naming what was found and what to do, unless
its conn_id matches Airflow's ``[sqlsentinel] allow_privileged_conn_ids`` (an operator's
decision, not something alerts.yaml can say). SQLite has no logins: its connection is guarded
by an authorizer instead (``backends.SqliteSession``). See docs/security.md.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlsentinel_airflow.airflow_contract import ALLOW_PRIVILEGED_CONN_IDS_OPTION, CONFIG_SECTION
from sqlsentinel_airflow.core.config.sqlfunctions import POSTGRES
from sqlsentinel_airflow.errors import QueryError

__all__ = [
    "LoginPrivileges",
    "allowed_privileged_conn_ids",
    "ensure_least_privilege",
    "forget_checked_logins",
    "mysql_grant_findings",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoginPrivileges:
    """What a login may do beyond reading: empty ``findings`` means least privilege."""

    login: str
    findings: tuple[str, ...]

    @property
    def privileged(self) -> bool:
        return bool(self.findings)


_checked: dict[tuple[str, ...], LoginPrivileges] = {}
_lock = threading.Lock()


def forget_checked_logins() -> None:
    """Check every login again at its next query (tests; a changed grant in a long process)."""
    with _lock:
        _checked.clear()


def allowed_privileged_conn_ids() -> frozenset[str]:
    """``[sqlsentinel] allow_privileged_conn_ids``: conn_ids or globs (``dwh_admin_*``),
    separated by commas or spaces."""
    try:
        from airflow.configuration import conf
    except ImportError:  # pragma: no cover - Airflow is a dependency
        return frozenset()
    value = conf.get(CONFIG_SECTION, ALLOW_PRIVILEGED_CONN_IDS_OPTION, fallback=None)
    if not isinstance(value, str):
        return frozenset()
    return frozenset(part for part in re.split(r"[\s,]+", value) if part)


def ensure_least_privilege(
    session: Any, *, conn_id: str, key: tuple[str, ...], label: str, allow: bool | None
) -> LoginPrivileges:
    """Raise QueryError if the session's login is privileged and not allowed to be.

    ``allow``: True or False decides; None asks ``[sqlsentinel] allow_privileged_conn_ids``.
    The verdict is kept per (conn_id, ``key``: where and as whom) for the life of the process.
    """
    key = (conn_id, session.backend, *key)
    with _lock:
        known = _checked.get(key)
    if known is None:
        findings = tuple(session.privilege_findings())  # reads the login's name too
        known = LoginPrivileges(session.login_name(), findings)
        with _lock:
            _checked[key] = known
    if not known.privileged:
        return known
    if allow is None:
        allow = any(fnmatch.fnmatchcase(conn_id, p) for p in allowed_privileged_conn_ids())
    found = "; ".join(known.findings)
    if allow:
        log.warning(
            "%s logs in as '%s', a privileged login (%s); running anyway because it is listed "
            "in [%s] %s",
            label,
            known.login,
            found,
            CONFIG_SECTION,
            ALLOW_PRIVILEGED_CONN_IDS_OPTION,
        )
        return known
    raise QueryError(
        f"{label} logs in as '{known.login}', a privileged login ({found}); SQL Sentinel "
        "refuses to run alert queries with it. Give the connection a read-only login (see "
        "docs/security.md, 'A read-only login'), or, to accept the risk, add "
        f"'{conn_id}' to [{CONFIG_SECTION}] {ALLOW_PRIVILEGED_CONN_IDS_OPTION} in Airflow's configuration"
    )


# --- PostgreSQL ------------------------------------------------------------------------------

_PG_DANGEROUS_ROLES = (
    "pg_read_server_files",
    "pg_write_server_files",
    "pg_execute_server_program",
    "pg_signal_backend",
    "pg_write_all_data",
)
_PG_FUNCTION_NAMES = sorted({name for category in POSTGRES for name in category.names})
_PG_FUNCTION_PREFIXES = sorted({prefix for category in POSTGRES for prefix in category.prefixes})

# Memberships count with or without INHERIT ('MEMBER'): a NOINHERIT member can still
# SET ROLE to the role (set_config('role', ...) inside a statement) and act with its rights.
POSTGRES_PRIVILEGES_SQL = """
SELECT r.rolname, r.rolsuper, r.rolreplication,
  ARRAY(SELECT g.rolname::text FROM pg_roles g
        WHERE g.oid <> r.oid AND pg_has_role(r.oid, g.oid, 'MEMBER')
          AND (g.rolname = ANY(%(roles)s) OR g.rolsuper OR g.rolreplication)
        ORDER BY 1),
  ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
        WHERE (p.proname = ANY(%(functions)s) OR p.proname LIKE ANY(%(prefixes)s))
          AND has_function_privilege(r.oid, p.oid, 'EXECUTE')
          AND NOT has_function_privilege('public', p.oid, 'EXECUTE')
        ORDER BY 1 LIMIT 6),
  ARRAY(SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname !~ '^pg_(toast|temp_)'
          AND (has_table_privilege(r.oid, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')
               OR has_any_column_privilege(r.oid, c.oid, 'INSERT, UPDATE'))
        ORDER BY 1 LIMIT 6),
  ARRAY(SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND CASE WHEN c.relkind = 'S'  -- the planner may test privileges before relkind
                   THEN has_sequence_privilege(r.oid, c.oid, 'UPDATE') ELSE false END
        ORDER BY 1 LIMIT 6)
FROM pg_roles r WHERE r.rolname = current_user
"""


def postgres_findings(cursor: Any) -> tuple[str, list[str]]:
    """(login, findings) of the current PostgreSQL login, read with ``cursor``."""
    cursor.execute(
        POSTGRES_PRIVILEGES_SQL,
        {
            "roles": list(_PG_DANGEROUS_ROLES),
            "functions": _PG_FUNCTION_NAMES,
            "prefixes": [prefix.replace("_", r"\_") + "%" for prefix in _PG_FUNCTION_PREFIXES],
        },
    )
    row = cursor.fetchone()
    if row is None:  # pragma: no cover - current_user always has a pg_roles row
        return "?", ["the login's role could not be read from pg_roles"]
    login, superuser, replication, roles, functions, tables, sequences = row
    if superuser:  # may do anything; the rest would only repeat it
        return str(login), ["superuser"]
    findings: list[str] = []
    if replication:
        findings.append("REPLICATION attribute")
    if roles:
        findings.append("member of " + ", ".join(roles))
    if functions:
        findings.append("may execute " + _some(functions))
    if tables:
        findings.append("may write " + _some(tables))
    if sequences:
        findings.append("may change the sequences " + _some(sequences))
    return str(login), findings


def _some(items: Iterable[str], shown: int = 5) -> str:
    listed = list(items)
    text = ", ".join(listed[:shown])
    return text + (" and more" if len(listed) > shown else "")


# --- MySQL / MariaDB -------------------------------------------------------------------------

_MYSQL_HARMFUL = frozenset(
    {
        "ALL",
        "ALL PRIVILEGES",
        "SUPER",
        "FILE",
        "SHUTDOWN",
        "RELOAD",
        "CREATE USER",
        "PROCESS",
        "INSERT",
        "UPDATE",
        "DELETE",
        "CREATE",
        "DROP",
        "ALTER",
        "INDEX",
        "CREATE VIEW",
        "CREATE ROUTINE",
        "ALTER ROUTINE",
        "TRIGGER",
        "EVENT",
        "DELETE HISTORY",
        "CREATE TABLESPACE",
    }
)
_GRANT = re.compile(r"^GRANT (?P<privileges>.+?) ON (?P<target>.+?) TO ", re.IGNORECASE)
_ROLE_GRANT = re.compile(r"^GRANT (?P<roles>[^()]+?) TO [^ ]", re.IGNORECASE)
_QUOTED_NAME = re.compile(r"`((?:[^`]|``)*)`|'((?:[^']|'')*)'")


def mysql_grant_findings(lines: Iterable[str]) -> tuple[list[str], list[str]]:
    """(findings, granted role names) from ``SHOW GRANTS`` lines."""
    findings: list[str] = []
    roles: list[str] = []
    for line in lines:
        grant = _GRANT.match(line)
        if grant is None:
            role_grant = _ROLE_GRANT.match(line)
            if role_grant is not None and " ON " not in line.upper():
                for match in _QUOTED_NAME.finditer(role_grant.group("roles")):
                    roles.append((match.group(1) or match.group(2) or "").replace("``", "`"))
            continue
        privileges = re.sub(r"\([^)]*\)", "", grant.group("privileges"))  # column lists
        target = grant.group("target").strip()
        for privilege in (p.strip().upper() for p in privileges.split(",")):
            if privilege in _MYSQL_HARMFUL or privilege.endswith((" ADMIN", "_ADMIN")):
                findings.append(f"{privilege} ON {target}")
        if "WITH GRANT OPTION" in line.upper() or "WITH ADMIN OPTION" in line.upper():
            findings.append(f"GRANT OPTION ON {target}")
    return findings, roles


def mysql_findings(cursor: Any) -> tuple[str, list[str]]:
    """(login, findings) of the current MySQL/MariaDB login and the roles granted to it."""
    cursor.execute("SELECT CURRENT_USER()")
    login = str(cursor.fetchone()[0])
    cursor.execute("SHOW GRANTS")
    lines = [str(row[0]) for row in cursor.fetchall()]
    findings, pending = mysql_grant_findings(lines)
    seen: set[str] = set()
    while pending and len(seen) < 50:  # roles granted to roles; bounded against cycles
        role = pending.pop()
        if role in seen:
            continue
        seen.add(role)
        quoted = "'" + role.replace("'", "''") + "'"
        try:
            cursor.execute(f"SHOW GRANTS FOR {quoted}")
        except Exception as exc:
            # A login may not read the grants of a role it holds but has not set as its
            # default; what cannot be read counts as privileged.
            log.debug("SHOW GRANTS FOR role %s failed: %s", role, exc)
            findings.append(f"role {role}, whose privileges it may not read (SHOW GRANTS)")
            continue
        more, nested = mysql_grant_findings(str(row[0]) for row in cursor.fetchall())
        findings.extend(f"{finding} (through role {role})" for finding in more)
        pending.extend(nested)
    return login, list(dict.fromkeys(findings))
