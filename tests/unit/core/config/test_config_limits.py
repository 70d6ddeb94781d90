"""Values that parse but cannot work: a schedule that never fires, a timeout no database takes,
an invisible or control character in a name. Each is a located error, through the loader."""

from __future__ import annotations

import contextlib
import time
from datetime import timedelta

import pytest
from pydantic import ValidationError

from sqlsentinel_airflow.core.config import AlertConfig, checks, load_config_text
from sqlsentinel_airflow.core.config.checks import InvalidValue, check_cron
from sqlsentinel_airflow.errors import ConfigErrors

ALERT = """\
alerts:
  - name: probe
    conn_id: warehouse
    schedule: "0 9 * * *"
    query: SELECT 'OK' AS status
"""


def errors_of(text: str) -> list[str]:
    return [e.format() for e in load_config_text(text, "alerts.yaml").errors]


def with_setting(line: str) -> str:
    return ALERT + f"    {line}\n"


# --- schedules that never fire ----------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    ["0 0 31 2 *", "0 0 30 2 *", "0 0 30-31 feb *", "0 0 31 4,6,9,11 *", "15 3 31 2 ?"],
)
def test_a_schedule_that_never_fires_is_a_located_error(expression: str) -> None:
    text = ALERT.replace('"0 9 * * *"', f'"{expression}"')

    assert errors_of(text) == [
        f"alerts.yaml:4:15 alerts[0].schedule: '{expression}' never fires: none of its months "
        "has that day (check day-of-month against month: February has 28 or 29 days; April, "
        "June, September and November have 30)"
    ]


@pytest.mark.parametrize(
    "expression",
    [
        "0 0 29 2 *",  # leap years only: still fires
        "0 0 L 2 *",  # the last day of February
        "0 0 31 2 1",  # day-of-month OR day-of-week: fires on Mondays in February
        "0 0 31 1-3 *",
        "0 0 31 */2 *",
        "0 0 30 * *",
        "0 0 * 2 *",
        "@yearly",
    ],
)
def test_schedules_that_fire_are_kept(expression: str) -> None:
    assert check_cron(expression) == expression


def test_the_never_fires_check_is_cached_and_cheap() -> None:
    expressions = [f"{m} {h} {d} 2 *" for m in range(0, 60, 3) for h in range(24) for d in (29, 30)]

    def check_all() -> float:
        started = time.perf_counter()
        for expression in expressions:
            with contextlib.suppress(InvalidValue):
                check_cron(expression)
        return (time.perf_counter() - started) / len(expressions)

    checks._check_cron_cached.cache_clear()
    first = check_all()
    again = min(check_all() for _ in range(5))

    assert first < 0.002, f"{first * 1e6:.0f} us per expression the first time"
    assert again < 0.00005, f"{again * 1e6:.1f} us per alert once cached"
    with pytest.raises(InvalidValue, match=r"^'0 0 30 2 \*' never fires"):
        check_cron("0 0 30 2 *")  # a cached refusal still refuses
    with pytest.raises(InvalidValue, match=r"^'0 0 30 2 \*' never fires"):
        check_cron("0 0 30 2 *")


# --- timeouts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "shown"),
    [("25h", "'25h'"), ("2d", "'2d'"), ("86401", "86401"), ("9999999999", "9999999999")],
)
def test_a_statement_timeout_over_24h_is_refused(written: str, shown: str) -> None:
    assert errors_of(with_setting(f"timeout: {written}")) == [
        f"alerts.yaml:6:14 alerts[0].timeout: timeout {shown} is longer than 24h, the longest "
        "statement timeout allowed (24h is within the statement timeout range of every "
        "database (PostgreSQL's ends at about 24.8 days); a query that needs longer should "
        "read a summary table)"
    ]


def test_a_statement_timeout_in_defaults_is_checked_too() -> None:
    text = "defaults: {timeout: 30d}\n" + ALERT

    with pytest.raises(ConfigErrors, match=r"defaults\.timeout: timeout '30d' is longer than 24h"):
        _validate(text)


def test_a_timeout_of_24h_loads() -> None:
    config = load_config_text(with_setting("timeout: 24h")).config
    assert config is not None
    assert config.alerts[0].timeout == checks.MAX_STATEMENT_TIMEOUT


def test_a_webhook_timeout_over_10m_is_refused() -> None:
    text = with_setting(
        "notify: [{channel: webhook, url: 'https://hooks.example.com/x', timeout: 1h}]"
    )

    assert errors_of(text) == [
        "alerts.yaml:6:78 alerts[0].notify[0].timeout: timeout '1h' is longer than 10m, the "
        "longest webhook timeout allowed (a receiver that has not answered in minutes will "
        "not; failed sends are retried, up to delivery_attempts)"
    ]


# --- control and bidi characters ----------------------------------------------------------

HINT = (
    "(names, tags, owners and silence matches are one line of printable text: remove it; "
    "in a quoted string it may be an escape such as \\t or \\u202e)"
)


@pytest.mark.parametrize(
    ("escaped", "described"),
    [
        ("\\0", "a control character (U+0000, character 3)"),
        ("\\t", "a control character (U+0009, character 3)"),
        ("\\n", "a control character (U+000A, character 3)"),
        ("\\e[31m", "a control character (U+001B, character 3)"),
        ("\\x7f", "a control character (U+007F, character 3)"),
        ("\\x85", "a control character (U+0085, character 3)"),
        ("\\x9b", "a control character (U+009B, character 3)"),
        ("\\L", "a line separator (U+2028, character 3)"),
        ("\\P", "a line separator (U+2029, character 3)"),
        ("\\u202e", "an invisible bidirectional-text control (U+202E, character 3)"),
        ("\\u202a", "an invisible bidirectional-text control (U+202A, character 3)"),
        ("\\u2066", "an invisible bidirectional-text control (U+2066, character 3)"),
        ("\\u2069", "an invisible bidirectional-text control (U+2069, character 3)"),
        ("\\u200f", "an invisible bidirectional-text control (U+200F, character 3)"),
        ("\\u061c", "an invisible bidirectional-text control (U+061C, character 3)"),
    ],
)
def test_a_name_with_a_control_or_bidi_character_is_refused(escaped: str, described: str) -> None:
    text = ALERT.replace("name: probe", f'name: "pr{escaped}obe"')

    assert errors_of(text) == [f"alerts.yaml:2:11 alerts[0].name: contains {described} {HINT}"]


def test_tags_owner_and_silence_match_are_checked_alike() -> None:
    text = (
        'defaults: {owner: "ops\\u202e"}\n'
        + with_setting('tags: [finance, "a\\0b"]')
        + 'silences:\n  - {match: "probe\\n", until: 2030-01-01}\n'
    )

    assert errors_of(text) == [
        "alerts.yaml:1:19 defaults.owner: contains an invisible bidirectional-text control "
        f"(U+202E, character 4) {HINT}",
        "alerts.yaml:7:21 alerts[0].tags[1]: contains a control character (U+0000, "
        f"character 2) {HINT}",
        "alerts.yaml:9:13 silences[0].match: contains a control character (U+000A, "
        f"character 6) {HINT}",
    ]


def test_an_owner_on_the_alert_is_checked() -> None:
    with pytest.raises(ConfigErrors, match=r"alerts\[0\]\.owner: contains a control character"):
        _validate(with_setting('owner: "bob\\e[2J"'))


def test_printable_unicode_names_are_kept() -> None:
    text = ALERT.replace("name: probe", 'name: "Umsätze — Tagesbericht 📉 (zero\\u200dwidth ok)"')

    config = load_config_text(text).config

    assert config is not None
    assert config.alerts[0].name.startswith("Umsätze")


def _validate(text: str) -> None:
    result = load_config_text(text, "alerts.yaml")
    if result.errors:
        raise ConfigErrors(result.errors)


def test_a_resolved_alert_cannot_carry_a_longer_timeout() -> None:
    """A manifest written by an earlier release that held one is a cache miss, not a fallback."""
    config = load_config_text(ALERT).config
    assert config is not None
    fields = config.alerts[0].model_dump()

    with pytest.raises(
        ValidationError, match=r"timeout\n  Input should be less than or equal to 1 day"
    ):
        AlertConfig(**{**fields, "timeout": timedelta(days=30)})
