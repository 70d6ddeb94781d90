"""Checks of single values in alerts.yaml, each failing with what to write instead.

Every check raises :class:`InvalidValue` (a ``ValueError``, so pydantic validators can use
them) whose message says what is wrong and whose ``hint`` says what to write. The messages
are part of the product: ``'0 25 * * *' is not a valid cron expression (hour 25)`` tells
the analyst which field to fix, where croniter alone would only say "invalid".

Results that cost something (croniter, the timezone database) are cached: a file of
thousands of alerts usually repeats a handful of schedules and timezones.
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from croniter import CroniterBadDateError, croniter
from jinja2 import TemplateSyntaxError

from sqlsentinel_airflow.core.durations import parse_duration
from sqlsentinel_airflow.core.redact import redact_url

__all__ = [
    "CRON_HORIZON_YEARS",
    "CRON_MACROS",
    "MAX_STATEMENT_TIMEOUT",
    "MAX_WEBHOOK_TIMEOUT",
    "InvalidValue",
    "check_cron",
    "check_email",
    "check_http_url",
    "check_link_url",
    "check_plain_text",
    "check_template",
    "check_timezone",
    "did_you_mean",
    "longest_schedule_gap",
    "parse_notify_on_error",
    "parse_optional_duration",
    "parse_positive_duration",
    "parse_statement_timeout",
    "parse_template_text",
    "parse_webhook_timeout",
]

CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class InvalidValue(ValueError):
    """A value that fails a check; ``hint`` says what to write instead."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def did_you_mean(word: str, choices: Iterable[str], n: int = 1) -> str | None:
    """``did you mean `x`?`` for the closest choice (``x` or `y`?`` for the ``n`` closest),
    or None when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=n, cutoff=0.6)
    return "did you mean " + " or ".join(f"`{c}`" for c in close) + "?" if close else None


# --- cron -----------------------------------------------------------------------------

_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _DAYS),
)
_CRON_HINT = "minute hour day-of-month month day-of-week, e.g. '0 9 * * *'"
CRON_HORIZON_YEARS = 5
"""A schedule must fire within this many years of a fixed start that has a 29 February."""
_CRON_HORIZON_START = datetime(2023, 3, 1)  # fixed, so a verdict never depends on today


def check_cron(expression: str) -> str:
    """A five-field cron expression or macro (``@daily``) that croniter accepts and that fires."""
    refused = _check_cron_cached(expression)
    if refused is not None:
        raise InvalidValue(refused.message, refused.hint)
    return expression


@functools.lru_cache(maxsize=1024)
def _check_cron_cached(expression: str) -> InvalidValue | None:
    """The refusal of ``expression``, or None; cached both ways (lru_cache keeps no raise)."""
    try:
        _check_cron_uncached(expression)
    except InvalidValue as refused:
        return refused.with_traceback(None)  # keep no frames alive in the cache
    return None


@functools.lru_cache(maxsize=1024)
def longest_schedule_gap(expression: str, ticks: int = 64) -> timedelta:
    """The longest time between two of the next ``ticks`` runs of a valid cron expression
    (from a fixed start, so the verdict never depends on today; UTC, no DST): how late
    something decided at the runs can be (an escalation step, docs/responding.md)."""
    cron = croniter(expression.strip(), start_time=_CRON_HORIZON_START)
    previous = cron.get_next(datetime)
    longest = timedelta(0)
    for _ in range(ticks):
        current = cron.get_next(datetime)
        longest = max(longest, current - previous)
        previous = current
    return longest


def _check_cron_uncached(expression: str) -> None:
    text = expression.strip()
    if text.startswith("@"):
        if text.lower() in CRON_MACROS:
            return
        raise InvalidValue(
            f"{expression!r} is not a cron macro",
            hint=did_you_mean(text.lower(), CRON_MACROS) or f"one of {', '.join(CRON_MACROS)}",
        )
    fields = text.split()
    if len(fields) != 5:
        raise InvalidValue(
            f"{expression!r} is not a valid cron expression "
            f"({len(fields)} field{'' if len(fields) == 1 else 's'}, not 5)",
            hint=_CRON_HINT,
        )
    if not croniter.is_valid(text):
        reason = _cron_reason(fields) or "croniter rejects it"
        raise InvalidValue(f"{expression!r} is not a valid cron expression ({reason})")
    if not _may_fire(fields):
        raise InvalidValue(
            f"{expression!r} never fires: none of its months has that day",
            hint="check day-of-month against month: February has 28 or 29 days; "
            "April, June, September and November have 30",
        )


def _may_fire(fields: list[str]) -> bool:
    """False for a valid expression that can never fire (``0 0 31 2 *``).

    Only a day-of-month restricted together with the month can do that, and only when the
    day-of-week is ``*`` (cron fires when *either* day field matches). Everything else fires
    for sure and costs no search; the rest ask croniter for the next fire time.
    """
    day, month, weekday = fields[2], fields[3], fields[4]
    if day in ("*", "?") or month in ("*", "?") or weekday not in ("*", "?"):
        return True
    try:
        schedule = croniter(
            " ".join(fields), _CRON_HORIZON_START, max_years_between_matches=CRON_HORIZON_YEARS
        )
        schedule.get_next(datetime)
    except CroniterBadDateError:
        return False
    return True


def _cron_reason(fields: list[str]) -> str | None:
    """The first field that makes a cron expression invalid, e.g. ``hour 25``."""
    for text, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        for part in text.split(","):
            reason = _cron_part_reason(part, name, low, high, names)
            if reason:
                return reason
    return None


def _cron_part_reason(
    part: str, name: str, low: int, high: int, names: dict[str, int]
) -> str | None:
    if not part:
        return f"{name} has an empty list item"
    span, slash, step = part.partition("/")
    if slash and not (step.isdigit() and int(step) > 0):
        return f"{name} step {step!r}"
    if span in ("*", "?"):
        return None
    bounds = span.split("-")
    if len(bounds) > 2:
        return f"{name} {span!r}"
    values: list[int] = []
    for bound in bounds:
        token = bound.strip().lower()
        if token in names:
            values.append(names[token])
        elif token.isdigit():
            values.append(int(token))
        else:
            return f"{name} {bound!r} is not a number"
    for value in values:
        if not low <= value <= high:
            return f"{name} {value}"
    if len(values) == 2 and values[0] > values[1] and name != "day-of-week":
        return f"{name} range {span} is reversed"
    return None


# --- names, tags, owners, silence matches --------------------------------------------------

# C0 controls and DEL, C1 controls, the line and paragraph separators, and the invisible
# marks that reorder text (bidi embeddings, overrides, isolates): in a name they hide or
# disguise what is shown in the UI, logs and messages, and PostgreSQL refuses NUL outright.
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]"
)


def check_plain_text(value: str) -> str:
    """Text shown to people and used as an identifier: no control or bidi characters."""
    found = _UNPRINTABLE.search(value)
    if found is not None:
        char = found.group()
        raise InvalidValue(
            f"contains {_describe_char(char)} (U+{ord(char):04X}, character {found.start() + 1})",
            hint="names, tags, owners and silence matches are one line of printable text: "
            "remove it; in a quoted string it may be an escape such as \\t or \\u202e",
        )
    return value


def _describe_char(char: str) -> str:
    if char in "\u2028\u2029":
        return "a line separator"
    if ord(char) < 0xA0:
        return "a control character"
    return "an invisible bidirectional-text control"


# --- timezone ---------------------------------------------------------------------------


def check_timezone(name: str) -> str:
    """An IANA timezone name known to this Python's zoneinfo (``Europe/Berlin``, ``UTC``)."""
    if not _timezone_exists(name):
        raise InvalidValue(
            f"{name!r} is not an IANA timezone",
            hint=did_you_mean(name, _all_timezones())
            or "e.g. UTC, Europe/Berlin, America/New_York",
        )
    return name


@functools.lru_cache(maxsize=256)
def _timezone_exists(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


@functools.lru_cache(maxsize=1)
def _all_timezones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


# --- email and URLs -------------------------------------------------------------------

_LOCAL_PART = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^{_LOCAL_PART}@(?:(?:{_LABEL}\.)+[A-Za-z]{{2,63}}|localhost)$")
_NAMED_EMAIL = re.compile(r"^[^<>@]*<([^<>]+)>$")


def check_email(address: str) -> str:
    """``team@example.com`` or ``Data Team <team@example.com>``; syntax only, no DNS."""
    text = address.strip()
    named = _NAMED_EMAIL.match(text)
    if not _EMAIL.match(named.group(1).strip() if named else text):
        raise InvalidValue(
            f"{address!r} is not an email address", hint="write it like team@example.com"
        )
    return text


def check_http_url(url: str) -> str:
    """An ``https://`` URL, or ``http://`` to this machine (localhost, 127.0.0.1, ::1)."""
    shown = redact_url(url)
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise InvalidValue(f"{shown} is not an http(s) URL", hint="write it like https://host/path")
    if parts.scheme == "http" and host not in LOCAL_HOSTS:
        raise InvalidValue(
            f"{shown} uses plain http to {host}",
            hint="use https://, or http:// only to localhost, 127.0.0.1 or ::1",
        )
    return url.strip()


MAX_LINK_URL_CHARS = 2000


def check_link_url(url: str) -> str:
    """A link people open (``runbook_url``, ``links[].url``): ``http://`` or ``https://`` with
    a host, one line, at most 2000 characters. Other schemes (``javascript:``, ``file:``) are
    refused: the UI and every message make a clickable link of it."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
        raise InvalidValue(
            f"{text[:80]!r} is not an http(s) URL",
            hint="write a link people can open, like https://wiki.example.com/runbooks/x",
        )
    if (
        len(text) > MAX_LINK_URL_CHARS
        or _UNPRINTABLE.search(text)
        or any(c.isspace() for c in text)
    ):
        raise InvalidValue(
            f"{text[:80]!r} is not one line of at most {MAX_LINK_URL_CHARS} characters "
            "without spaces",
            hint="percent-encode spaces (%20)",
        )
    return text


# --- message templates ------------------------------------------------------------------

EVENT_KINDS = ("firing", "reminder", "resolved", "error", "flapping", "escalation", "group")


def check_template(source: str) -> str:
    """A Jinja template that compiles and renders a sample event within the rendering limits.

    Text without Jinja markers is a legacy ``{alert_name}`` format string, checked for the
    limits too (a format spec can ask for a billion-character field).
    """
    if "{" in source:
        problem = _check_jinja_cached(source)
        if problem is not None:
            raise InvalidValue(*problem)
    return source


_LIMITS_HINT = (
    "templates are bounded so that a message cannot hang a run or exhaust memory; "
    "see the limits in docs/notifications.md"
)


@functools.lru_cache(maxsize=1024)
def _check_jinja_cached(source: str) -> tuple[str, str] | None:
    """(message, hint) of what is wrong with ``source``, or None; failures are cached too."""
    # Imported here: rendering (the bounded sandbox, the sample events) lives in notify, whose
    # modules import the config models, which import this module.
    from sqlsentinel_airflow.notify.sample import template_problem

    try:
        problem = template_problem(source)  # compiling it checks the syntax
    except TemplateSyntaxError as exc:
        return (
            f"template syntax error: {exc.message} (line {exc.lineno} of the template)",
            "templates are Jinja, e.g. `{{ alert.name }} is {{ status }}`",
        )
    return (problem, _LIMITS_HINT) if problem is not None else None


def parse_template_text(value: object) -> str | dict[str, str]:
    """One template for every event kind, or a mapping ``{firing: ..., resolved: ...}``."""
    if isinstance(value, str):
        return check_template(value)
    if isinstance(value, dict):
        texts: dict[str, str] = {}
        for kind, text in value.items():
            if kind not in EVENT_KINDS:
                raise InvalidValue(
                    f"unknown event kind `{kind}`",
                    hint=did_you_mean(str(kind), EVENT_KINDS) or "one of " + ", ".join(EVENT_KINDS),
                )
            if not isinstance(text, str):
                raise InvalidValue(f"the `{kind}` template must be a string")
            texts[kind] = check_template(text)
        return texts
    raise InvalidValue(
        "a template is a string, or a mapping of event kind to string",
        hint="e.g. `{firing: '...', resolved: '...'}`",
    )


# --- durations and counts ----------------------------------------------------------------


def parse_positive_duration(value: object) -> timedelta:
    """A duration greater than zero (``30s``, ``5m``, ``4h``, ``1d`` or seconds)."""
    try:
        delta = parse_duration(value)
    except ValueError as exc:
        raise InvalidValue(str(exc)) from None
    if delta <= timedelta(0):
        raise InvalidValue(f"{value!r} must be longer than zero", hint="e.g. 30s, 5m, 4h")
    return delta


MAX_STATEMENT_TIMEOUT = timedelta(hours=24)
"""Longest alert ``timeout``. Every database must be able to take it as its statement
timeout (PostgreSQL's ``statement_timeout`` stops at 2147483647 ms, about 24.8 days) and the
task's ``execution_timeout`` and the query watchdog are built from it."""
MAX_WEBHOOK_TIMEOUT = timedelta(minutes=10)
"""Longest webhook ``timeout``: one request must not hold up the deliveries behind it."""


def parse_statement_timeout(value: object) -> timedelta:
    """An alert's ``timeout``: a positive duration of at most :data:`MAX_STATEMENT_TIMEOUT`."""
    delta = parse_positive_duration(value)
    if delta > MAX_STATEMENT_TIMEOUT:
        raise InvalidValue(
            f"timeout {value!r} is longer than 24h, the longest statement timeout allowed",
            hint="24h is within the statement timeout range of every database (PostgreSQL's "
            "ends at about 24.8 days); a query that needs longer should read a summary table",
        )
    return delta


MAX_GROUP_WAIT = timedelta(minutes=10)
"""Longest receiver ``group_wait``: the alert task waits it out holding a worker slot
(docs/adr/0016-groups-across-alerts.md)."""


def parse_group_wait(value: object) -> timedelta:
    """A receiver's ``group_wait``: a positive duration of at most :data:`MAX_GROUP_WAIT`."""
    delta = parse_positive_duration(value)
    if delta > MAX_GROUP_WAIT:
        raise InvalidValue(
            f"group_wait {value!r} is longer than 10m, the longest allowed",
            hint="the alert task waits for its group while holding a worker slot; e.g. 30s, 1m, 5m",
        )
    return delta


MAX_ACTION_LINK_LIFETIME = timedelta(days=7)
"""Longest ``action_links.expire_after``: a link in a mailbox is a credential; a week covers
a long weekend and a holiday."""


def parse_action_link_lifetime(value: object) -> timedelta:
    """``action_links.expire_after``: a positive duration of at most 7 days."""
    delta = parse_positive_duration(value)
    if delta > MAX_ACTION_LINK_LIFETIME:
        raise InvalidValue(
            f"expire_after {value!r} is longer than 7d, the longest an action link may live",
            hint="a link in a mailbox acts without a password when require_login is false; "
            "e.g. 24h, 3d",
        )
    return delta


def parse_webhook_timeout(value: object) -> timedelta:
    """A webhook's ``timeout``: a positive duration of at most :data:`MAX_WEBHOOK_TIMEOUT`."""
    delta = parse_positive_duration(value)
    if delta > MAX_WEBHOOK_TIMEOUT:
        raise InvalidValue(
            f"timeout {value!r} is longer than 10m, the longest webhook timeout allowed",
            hint="a receiver that has not answered in minutes will not; "
            "failed sends are retried, up to delivery_attempts",
        )
    return delta


def parse_optional_duration(value: object) -> timedelta | None:
    """A positive duration, or ``never`` / null for none (``renotify_after``)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("never", "")):
        return None
    return parse_positive_duration(value)


_AFTER = re.compile(r"^\s*after\s+(\d+)\s*$", re.IGNORECASE)


def parse_notify_on_error(value: object) -> int | None:
    """``after 3`` or ``3``: notify after that many failed runs; ``true`` = 1; ``false``/``never``."""
    if value is None or value is False:
        return None
    if value is True:
        return 1
    count: int | None = None
    if isinstance(value, int):
        count = value
    elif isinstance(value, str):
        text = value.strip().lower()
        if text in ("never", "false", "no", "off"):
            return None
        if text in ("true", "yes", "on"):
            return 1
        if text.isdigit():
            count = int(text)
        elif match := _AFTER.match(text):
            count = int(match.group(1))
    if count is None:
        raise InvalidValue(
            f"{value!r} is not a notify_on_error setting",
            hint="write `after 3`, a number of failed runs, true (=1), or never",
        )
    if count < 1:
        raise InvalidValue(
            f"notify_on_error must be at least 1, got {count}", hint="write `never` to disable"
        )
    return count
