"""Single-value checks: each failure says what is wrong and what to write instead."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sqlsentinel_airflow.core.config.checks import (
    InvalidValue,
    check_cron,
    check_email,
    check_http_url,
    check_timezone,
    did_you_mean,
    parse_notify_on_error,
    parse_optional_duration,
    parse_positive_duration,
)


@pytest.mark.parametrize(
    "expression",
    [
        "0 9 * * *",
        "*/15 * * * *",
        "0 9 * * mon-fri",
        "0 0 1 jan *",
        "5,35 8-18 * * 1-5",
        "@daily",
        "@HOURLY",
        "0 0 L * *",
    ],
)
def test_valid_cron(expression: str) -> None:
    assert check_cron(expression) == expression


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 25 * * *", "'0 25 * * *' is not a valid cron expression (hour 25)"),
        ("60 * * * *", "'60 * * * *' is not a valid cron expression (minute 60)"),
        ("0 0 32 * *", "'0 0 32 * *' is not a valid cron expression (day-of-month 32)"),
        ("0 0 0 * *", "'0 0 0 * *' is not a valid cron expression (day-of-month 0)"),
        ("0 0 1 13 *", "'0 0 1 13 *' is not a valid cron expression (month 13)"),
        ("0 0 * * 8", "'0 0 * * 8' is not a valid cron expression (day-of-week 8)"),
        ("*/0 * * * *", "'*/0 * * * *' is not a valid cron expression (minute step '0')"),
        ("0 9-x * * *", "'0 9-x * * *' is not a valid cron expression (hour 'x' is not a number)"),
        ("0 9 * *", "'0 9 * *' is not a valid cron expression (4 fields, not 5)"),
        ("0 0 9 * * *", "'0 0 9 * * *' is not a valid cron expression (6 fields, not 5)"),
        ("daily", "'daily' is not a valid cron expression (1 field, not 5)"),
        ("@dayly", "'@dayly' is not a cron macro"),
    ],
)
def test_invalid_cron_names_the_field(expression: str, message: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        check_cron(expression)
    assert caught.value.message == message


def test_cron_macro_typo_gets_a_suggestion() -> None:
    with pytest.raises(InvalidValue) as caught:
        check_cron("@dayly")
    assert caught.value.hint == "did you mean `@daily`?"


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires"])
def test_valid_timezone(name: str) -> None:
    assert check_timezone(name) == name


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("Europe/Berln", "did you mean `Europe/Berlin`?"),
        ("america/new_york", "did you mean `America/New_York`?"),
        ("Nowhere", "e.g. UTC, Europe/Berlin, America/New_York"),
        ("../../etc/passwd", "e.g. UTC, Europe/Berlin, America/New_York"),
    ],
)
def test_invalid_timezone(name: str, hint: str) -> None:
    with pytest.raises(InvalidValue, match="is not an IANA timezone") as caught:
        check_timezone(name)
    assert caught.value.hint == hint


@pytest.mark.parametrize(
    "address",
    [
        "team@company.com",
        "first.last+tag@sub.example.co.uk",
        "Data Team <data@example.org>",
        "root@localhost",
    ],
)
def test_valid_email(address: str) -> None:
    assert check_email(address) == address


@pytest.mark.parametrize(
    "address",
    [
        "team",
        "team@",
        "@company.com",
        "a b@company.com",
        "team@company",
        "a@@b.com",
        ".a@b.com",
        "a..b@c.com",
        "x@-bad.com",
    ],
)
def test_invalid_email(address: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        check_email(address)
    assert caught.value.message == f"{address!r} is not an email address"


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/services/T/B/X",
        "http://localhost:8080/hook",
        "http://127.0.0.1/x",
        "http://[::1]:9/x",
    ],
)
def test_accepted_urls(url: str) -> None:
    assert check_http_url(url) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://example.com/hook?token=abc",
            "http://example.com/***?token=*** uses plain http to example.com",
        ),
        ("ftp://example.com/x", "ftp://example.com/*** is not an http(s) URL"),
        ("hooks.slack.com/services/x", "*** is not an http(s) URL"),
        ("https:///nohost", "https:///*** is not an http(s) URL"),
    ],
)
def test_refused_urls_are_shown_redacted(url: str, message: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        check_http_url(url)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(minutes=90)),
        (90, timedelta(seconds=90)),
        ("120", timedelta(minutes=2)),
    ],
)
def test_positive_durations(value: object, expected: timedelta) -> None:
    assert parse_positive_duration(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "0 must be longer than zero"),
        ("0s", "'0s' must be longer than zero"),
        (
            "5 minutes",
            "'5 minutes' is not a duration (write e.g. 30s, 5m, 4h, 1d, 1h30m or an integer of seconds)",
        ),
        (True, "True is not a duration (write e.g. 30s, 5m, 4h, 1d or seconds)"),
    ],
)
def test_invalid_durations(value: object, message: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_positive_duration(value)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("never", None), ("NEVER", None), ("2h", timedelta(hours=2))],
)
def test_optional_duration(value: object, expected: timedelta | None) -> None:
    assert parse_optional_duration(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("after 3", 3),
        ("After 10", 10),
        (4, 4),
        ("4", 4),
        (True, 1),
        ("true", 1),
        (False, None),
        ("never", None),
        (None, None),
    ],
)
def test_notify_on_error(value: object, expected: int | None) -> None:
    assert parse_notify_on_error(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "notify_on_error must be at least 1, got 0"),
        ("after 0", "notify_on_error must be at least 1, got 0"),
        ("sometimes", "'sometimes' is not a notify_on_error setting"),
        (2.5, "2.5 is not a notify_on_error setting"),
    ],
)
def test_invalid_notify_on_error(value: object, message: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_notify_on_error(value)
    assert caught.value.message == message


def test_did_you_mean() -> None:
    assert (
        did_you_mean("renotfy_after", ["renotify_after", "retries"])
        == "did you mean `renotify_after`?"
    )
    assert did_you_mean("zzz", ["renotify_after", "retries"]) is None
