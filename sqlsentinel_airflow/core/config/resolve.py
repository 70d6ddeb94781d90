"""From a checked raw alert and ``defaults`` to a concrete ``AlertConfig``.

Inheritance rules (docs/reference/alerts-yaml.md): a setting written on the alert wins
over ``defaults``; ``tags`` are the union (defaults first, order kept, no duplicates);
``notify``, ``escalation`` and ``ack`` replace; ``templates`` merge part by part (an alert's own ``subject`` keeps the
default ``html``); ``links`` are the union (defaults first, one per URL).
Settings nobody wrote take the resolved model's own defaults. This is also where checks
that need more than one value happen: the SQL is loaded from ``query_file`` and checked in
the dialect of the alert's connection, whose ``conn_id`` may come from ``defaults`` and whose
type only the Airflow edge knows (``conn_type_of``). The query's database is, in order: the
alert's ``conn_id``, the one in ``defaults``, the file's ``database.url``, the
``DATABASE_URL`` environment variable (as standalone SQL Sentinel reads it); an alert with
none of them is refused here.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from pydantic import ValidationError

from sqlsentinel_airflow.core.config.assets import ScheduleSpec
from sqlsentinel_airflow.core.config.checks import InvalidValue
from sqlsentinel_airflow.core.config.models import (
    DEFAULT_MAX_ROWS_KEYED,
    DEFAULT_MAX_ROWS_SINGLE,
    AlertConfig,
    ChannelConfig,
    EmailChannel,
    FreshnessCheck,
    Link,
    MessageGrouping,
    MessageTemplates,
    PagerDutyChannel,
    SlackChannel,
    TeamsChannel,
    WebhookChannel,
)
from sqlsentinel_airflow.core.config.queryfile import QueryFileRefused, read_query_file
from sqlsentinel_airflow.core.config.raw import (
    RawAlert,
    RawAlertSettings,
    RawChannel,
    RawEmailChannel,
    RawFlapDetection,
    RawFreshness,
    RawGrouping,
    RawPagerDutyChannel,
    RawSlackChannel,
    RawTeamsChannel,
    RawWebhookChannel,
    check_database_url,
)
from sqlsentinel_airflow.core.config.routes import escalation_ladder
from sqlsentinel_airflow.core.config.sqlcheck import (
    UnsafeQuery,
    check_query,
    dialect_for_conn_type,
    dialect_for_url,
)
from sqlsentinel_airflow.core.config.yamlpos import Path, Problem
from sqlsentinel_airflow.core.databases import DATABASE_URL_ENV
from sqlsentinel_airflow.core.freshness import IdentifierError, check_column, check_table, max_query
from sqlsentinel_airflow.core.model import FlapPolicy

__all__ = [
    "AIRFLOW_DAG_ID_MAX",
    "FileContext",
    "check_invalid_alert",
    "grouping",
    "resolve_alert",
    "resolve_channels",
]

AIRFLOW_DAG_ID_MAX = 250
_NULLABLE = frozenset({"renotify_after", "notify_on_error", "flap_detection"})
"""Settings where an explicit null means something ("never"), not "not written"."""
# `mute_windows` names windows; the loader gives the alert the windows themselves,
# and the file's `action_links` (not an alert setting) is copied onto each alert by the loader
_ALERT_FIELDS = frozenset(AlertConfig.model_fields) - {
    "mute_windows",
    "action_links",
    "schedule",  # from the written ScheduleSpec: `schedule` (the cron) and `assets`
    "produces",
}
"""Read once: ``model_fields`` on the class goes through a slow descriptor in pydantic 2.11+."""


@dataclass
class FileContext:
    """What resolving one alert needs to know about the file it came from."""

    source_file: str | None
    base_dir: FsPath
    dag_id_prefix: str
    database_url: str | None = None
    database_broken: bool = False
    broken_defaults: frozenset[str] = frozenset()
    conn_type_of: Callable[[str], str | None] | None = None
    # Where DATABASE_URL is read from; None when the file has a `database:` of its own.
    fallback_env: Mapping[str, str] | None = None
    _conn_dialects: dict[str, str | None] = field(default_factory=dict)
    _query_files: dict[str, str | Problem] = field(default_factory=dict)
    _fallback: tuple[str | None, InvalidValue | None] | None = None

    def fallback_database_url(self) -> tuple[str | None, InvalidValue | None]:
        """DATABASE_URL for alerts with no conn_id in a file with no ``database:``.

        ``(url, None)``, ``(None, None)`` when it is not set, ``(None, problem)`` when it is
        no URL an alert can run on. Read once, and only when an alert needs it, so a file
        whose alerts all name a connection does not depend on the variable.
        """
        if self._fallback is None:
            value = (self.fallback_env or {}).get(DATABASE_URL_ENV, "").strip()
            if not value:
                self._fallback = (None, None)
            else:
                try:
                    self._fallback = (check_database_url(value, DATABASE_URL_ENV), None)
                except InvalidValue as exc:
                    self._fallback = (None, exc)
        return self._fallback

    def dialect_of_conn(self, conn_id: str) -> str | None:
        """The sqlglot dialect of a connection, asked once per conn_id; None if unknown."""
        if conn_id not in self._conn_dialects:
            conn_type: str | None = None
            if self.conn_type_of is not None:
                try:
                    conn_type = self.conn_type_of(conn_id)
                except Exception:  # a missing connection is checked at run time, not here
                    conn_type = None
            self._conn_dialects[conn_id] = dialect_for_conn_type(conn_type)
        return self._conn_dialects[conn_id]

    def read_query_file(self, relative: str, path: Path) -> str | Problem:
        """The SQL text of ``query_file: relative``, or the problem (located at ``path``)."""
        if relative not in self._query_files:
            self._query_files[relative] = _read_sql(self.base_dir, relative, path)
        found = self._query_files[relative]
        return dataclasses.replace(found, path=path) if isinstance(found, Problem) else found


# What a text file of SQL never holds: C0 controls other than tab, newlines and form feed,
# DEL, C1 controls. Finding one means the file is not SQL (or not only SQL), so it is refused
# before the SQL parser could quote a piece of it back in its message.
_NOT_SQL_TEXT = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def _read_sql(base_dir: FsPath, relative: str, path: Path) -> str | Problem:
    """Read (see ``queryfile``) and decode a query file; messages never quote its contents."""
    name = f"query_file `{relative}`"
    try:
        data = read_query_file(base_dir, relative)
    except QueryFileRefused as refused:
        return Problem(path, refused.message, refused.hint)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _line_and_column(data, exc.start)
        return Problem(
            path,
            f"{name} is not UTF-8 text (line {line}, column {column} of the file)",
            hint="save it as UTF-8",
        )
    found = _NOT_SQL_TEXT.search(text)
    if found is not None:
        line, column = _line_and_column(text, found.start())
        return Problem(
            path,
            f"{name} is not SQL text: control character U+{ord(found.group()):04X} "
            f"at line {line}, column {column} of the file",
            hint="a query file holds the SQL text of one query, saved as UTF-8",
        )
    return text


def _line_and_column(data: str | bytes, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` (a byte offset when ``data`` is bytes)."""
    if isinstance(data, bytes):
        data = data[:offset].decode("utf-8", "replace")
        offset = len(data)
    before = data[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def resolve_alert(
    raw: RawAlert,
    defaults: RawAlertSettings | None,
    ctx: FileContext,
    *,
    base: Path,
    slug: str,
    line: int | None,
) -> tuple[AlertConfig | None, list[Problem]]:
    """The concrete alert, or None and the problems that prevent it."""
    settings = _merged_settings(raw, defaults)
    if raw.freshness is not None:
        checked = _check_freshness(settings, raw, ctx, base)
    else:
        checked = _check_query_and_connection(settings, raw.query, raw.query_file, ctx, base)
    if checked.problems or checked.query is None:
        return None, checked.problems
    has_database = settings.get("conn_id") or checked.database_url or checked.database_url_env
    if raw.freshness is not None and raw.freshness.table is None:
        has_database = True  # an asset's events only: no query, no connection needed
    if settings.get("schedule") is None or not has_database:
        return None, []  # inherits a broken default: that error is reported once, on `defaults`
    fields: dict[str, Any] = {
        key: value
        for key, value in settings.items()
        if key in _ALERT_FIELDS and (value is not None or key in _NULLABLE)
    }
    key_columns = settings.get("key_columns") or ()
    flap = settings.get("flap_detection")
    if isinstance(flap, RawFlapDetection):
        fields["flap_detection"] = FlapPolicy(flap.changes, flap.window, flap.stable_for)
    ladder = escalation_ladder(settings.get("escalation"))
    fields["escalation"] = ladder
    if ladder:  # a route's ladder may still replace one from defaults (loader._routed)
        own = "escalation" in raw.model_fields_set
        fields["escalation_from"] = "the alert" if own else "defaults"
    ack = settings.get("ack")
    fields["ack_rearm_factor"] = ack.rearm_factor if ack is not None else None
    schedule: ScheduleSpec = settings["schedule"]
    fields["schedule"], fields["assets"] = schedule.cron, schedule.assets
    fields["produces"] = raw.produces or ()
    fields.update(
        name=raw.name,
        slug=slug,
        dag_id=ctx.dag_id_prefix + slug,
        query=checked.query,
        query_file=raw.query_file,
        freshness=_freshness(raw.freshness),
        database_url=checked.database_url,
        database_url_env=checked.database_url_env,
        dialect=checked.dialect,
        notify=resolve_channels(settings.get("notify") or ()),
        max_rows=settings.get("max_rows")
        or (DEFAULT_MAX_ROWS_KEYED if key_columns else DEFAULT_MAX_ROWS_SINGLE),
        source_file=ctx.source_file,
        source_line=line,
        source_index=int(base[1]) if len(base) > 1 else None,
    )
    try:
        return AlertConfig(**fields), []
    except ValidationError as exc:  # pragma: no cover - raw checks should make this unreachable
        return None, [Problem(base, f"alert cannot be built: {exc.errors()[0]['msg']}")]


def check_invalid_alert(
    item: dict[str, Any], defaults: RawAlertSettings | None, ctx: FileContext, *, base: Path
) -> list[Problem]:
    """The checks ``resolve_alert`` would make, for an alert whose own keys failed validation.

    So that one pass reports a typo'd key *and* the DELETE in the same alert. Values that
    failed validation are left out here: they already have their problem.
    """
    settings: dict[str, Any] = {}
    if defaults is not None:
        settings.update((k, getattr(defaults, k)) for k in defaults.model_fields_set)
    if item.get("schedule") is not None:
        settings["schedule"] = item["schedule"]
    conn_id = item.get("conn_id")
    if "conn_id" in item:
        settings["conn_id"] = conn_id if isinstance(conn_id, str) and conn_id else None
    query, query_file = _text(item.get("query")), _text(item.get("query_file"))
    written = "query" in item or "query_file" in item or "freshness" in item
    problems = _check_query_and_connection(
        settings,
        query,
        query_file,
        ctx,
        base,
        check_sql=query is not None or query_file is not None or not written,
        conn_id_invalid="conn_id" in item and settings["conn_id"] is None,
    ).problems
    if "freshness" in item:
        problems.extend(_beside_freshness(item, base))
    return problems


def _beside_freshness(item: Mapping[str, Any], base: Path) -> list[Problem]:
    """A written query beside ``freshness:``: one of them must go."""
    return [
        Problem(
            (*base, key),
            f"both `{key}` and `freshness` are set",
            hint="a freshness check generates its own query: keep one of them",
            on_key=True,
        )
        for key in ("query", "query_file")
        if item.get(key) is not None
    ]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


@dataclass
class _Checked:
    query: str | None = None
    dialect: str | None = None
    database_url: str | None = None
    database_url_env: str | None = None
    problems: list[Problem] = field(default_factory=list)


def _check_query_and_connection(
    settings: dict[str, Any],
    query: str | None,
    query_file: str | None,
    ctx: FileContext,
    base: Path,
    *,
    check_sql: bool = True,
    conn_id_invalid: bool = False,
) -> _Checked:
    """Required settings, the SQL text (from ``query_file`` if so) and its read-only check.

    ``check_sql=False`` and ``conn_id_invalid`` skip what already failed validation.
    """
    checked = _Checked(problems=_missing_settings(settings, ctx, base, conn_id_invalid))
    if check_sql:
        checked.query, problem = _query_text(query, query_file, ctx, base)
        if problem is not None:
            checked.problems.append(problem)
    conn_id = settings.get("conn_id")
    checked.database_url = None if conn_id else ctx.database_url
    if conn_id:
        checked.dialect = ctx.dialect_of_conn(conn_id)
    elif checked.database_url:
        checked.dialect = dialect_for_url(checked.database_url)
    elif ctx.fallback_env is not None:
        url, _ = ctx.fallback_database_url()
        if url is not None:  # only its name travels on; the value is read again at run time
            checked.database_url_env = DATABASE_URL_ENV
            checked.dialect = dialect_for_url(url)
    if checked.query is not None:
        where = (*base, "query_file") if query_file is not None else (*base, "query")
        try:
            checked.dialect = check_query(checked.query, checked.dialect).dialect
        except UnsafeQuery as exc:
            checked.problems.append(Problem(where, exc.message, exc.hint))
    return checked


def _freshness(raw: RawFreshness | None) -> FreshnessCheck | None:
    if raw is None:
        return None
    return FreshnessCheck(
        table=raw.table,
        column=raw.column,
        asset=raw.asset,
        within=raw.within,
        timezone=raw.timezone or "UTC",
    )


def _check_freshness(
    settings: dict[str, Any], raw: RawAlert, ctx: FileContext, base: Path
) -> _Checked:
    """A freshness check's settings (docs/freshness.md): no written query beside it; a table
    needs a query connection, and its names must be SQL names in the alert's dialect; the
    generated MAX query passes the same read-only check as any alert query."""
    fresh = raw.freshness
    assert fresh is not None
    checked = _check_query_and_connection(settings, None, None, ctx, base, check_sql=False)
    if fresh.table is None:  # an asset's events only: no connection needed
        checked.problems = [p for p in checked.problems if p.path[-1:] != ("conn_id",)]
        checked.database_url = checked.database_url_env = checked.dialect = None
    checked.problems.extend(
        _beside_freshness({"query": raw.query, "query_file": raw.query_file}, base)
    )
    if fresh.table is None or fresh.column is None:
        checked.query = "" if not checked.problems else None
        return checked
    where = (*base, "freshness")
    for key, check in (("table", check_table), ("column", check_column)):
        try:
            check(getattr(fresh, key), checked.dialect)
        except IdentifierError as exc:
            checked.problems.append(Problem((*where, key), exc.message, exc.hint))
    if checked.problems:
        return checked
    sql = max_query(fresh.table, fresh.column, written_in=checked.dialect, runs_in=checked.dialect)
    try:
        check_query(sql, checked.dialect)
    except UnsafeQuery as exc:  # pragma: no cover - quoted names cannot make it unsafe
        checked.problems.append(Problem((*where, "table"), exc.message, exc.hint))
        return checked
    checked.query = sql
    return checked


def _merged_settings(raw: RawAlert, defaults: RawAlertSettings | None) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if defaults is not None:
        settings.update((k, getattr(defaults, k)) for k in defaults.model_fields_set)
    settings.update((k, getattr(raw, k)) for k in raw.model_fields_set)
    default_tags = (defaults.tags if defaults is not None else None) or ()
    settings["tags"] = tuple(dict.fromkeys((*default_tags, *(raw.tags or ()))))
    parts: dict[str, Any] = {}
    for source in (defaults.templates if defaults is not None else None, raw.templates):
        if source is not None:  # part by part: the alert's subject keeps the default body
            parts.update((k, getattr(source, k)) for k in source.model_fields_set)
    settings["templates"] = MessageTemplates(**parts)
    settings["group"] = grouping(defaults.group if defaults is not None else None, raw.group)
    links: dict[str, Link] = {}
    for written in (defaults.links if defaults is not None else None, raw.links):
        for link in written or ():
            links.setdefault(link.url, Link(title=link.title, url=link.url))
    settings["links"] = tuple(links.values())
    return settings


def grouping(*written: RawGrouping | None) -> MessageGrouping:
    """``group:`` as written in ``defaults``, an alert or a receiver, later ones winning
    key by key (``group: false`` in an alert keeps the default's ``max_listed``)."""
    fields: dict[str, Any] = {}
    for raw in written:
        if raw is not None:
            fields.update(
                (k, getattr(raw, k)) for k in raw.model_fields_set if getattr(raw, k) is not None
            )
    return MessageGrouping(**fields)


def _missing_settings(
    settings: dict[str, Any], ctx: FileContext, base: Path, conn_id_invalid: bool
) -> list[Problem]:
    problems = []
    if settings.get("schedule") is None and "schedule" not in ctx.broken_defaults:
        problems.append(
            Problem(
                (*base, "schedule"),
                "missing required key `schedule`",
                hint='write e.g. `schedule: "0 9 * * *"` or `schedule: {assets: '
                "s3://warehouse/orders}` here or in `defaults`",
            )
        )
    no_database = ctx.database_url is None and not ctx.database_broken
    known_broken = conn_id_invalid or "conn_id" in ctx.broken_defaults
    if not settings.get("conn_id") and no_database and not known_broken:
        url, invalid = ctx.fallback_database_url()
        if invalid is not None:
            problems.append(
                Problem(
                    (*base, "conn_id"),
                    f"{invalid.message}; this alert's query runs there (it has no `conn_id`, "
                    "the file no `database:`)",
                    hint=invalid.hint,
                )
            )
        elif url is None:
            problems.append(
                Problem(
                    (*base, "conn_id"),
                    "no connection for this alert's query",
                    hint="set `conn_id` here or in `defaults`, a top-level `database: {url: ...}`, "
                    f"or the {DATABASE_URL_ENV} environment variable",
                )
            )
    return problems


def _query_text(
    query: str | None, query_file: str | None, ctx: FileContext, base: Path
) -> tuple[str | None, Problem | None]:
    if query is not None and query_file is not None:
        return None, Problem(
            (*base, "query_file"),
            "both `query` and `query_file` are set",
            hint="keep one of them",
            on_key=True,
        )
    if query is not None:
        return query, None
    if query_file is not None:
        text = ctx.read_query_file(query_file, (*base, "query_file"))
        return (None, text) if isinstance(text, Problem) else (text, None)
    return None, Problem(
        (*base, "query"),
        "missing required key `query`",
        hint="or `query_file: sql/<name>.sql`, relative to this file, or `freshness:` "
        "(docs/freshness.md)",
    )


def resolve_channels(raws: tuple[RawChannel, ...]) -> tuple[ChannelConfig, ...]:
    """Concrete channel models; unwritten settings take the channel model's defaults."""
    return tuple(_resolve_channel(raw) for raw in raws)


def _resolve_channel(raw: RawChannel) -> ChannelConfig:
    written = {k: getattr(raw, k) for k in raw.model_fields_set if getattr(raw, k) is not None}
    if isinstance(raw, RawEmailChannel):
        to = written.pop("recipients", None) or written.pop("to")
        return EmailChannel(recipients=to, **written)
    if isinstance(raw, RawSlackChannel):
        return SlackChannel(**written)
    if isinstance(raw, RawWebhookChannel):
        return WebhookChannel(**written)
    if isinstance(raw, RawPagerDutyChannel):
        return PagerDutyChannel(**written)
    if isinstance(raw, RawTeamsChannel):
        return TeamsChannel(**written)
    raise TypeError(f"unknown channel model {type(raw).__name__}")  # pragma: no cover
