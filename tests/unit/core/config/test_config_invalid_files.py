"""Each file in tests/fixtures/config/invalid/ fails with exactly the located message we promise."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlsentinel_airflow.core.config import load_config, load_config_text, validate_config
from sqlsentinel_airflow.errors import ConfigErrors

INVALID = Path(__file__).parents[3] / "fixtures" / "config" / "invalid"

RULE = "alert queries must be a single read-only SELECT"

# file -> every error it must report, formatted exactly (file as the caller gave it)
EXPECTED: dict[str, list[str]] = {
    "unknown_key.yaml": [
        "unknown_key.yaml:7:5 alerts[0].renotfy_after: unknown key `renotfy_after` "
        "(did you mean `renotify_after`?)"
    ],
    "bad_cron.yaml": [
        "bad_cron.yaml:14:7 alerts[2].schedule: '0 25 * * *' is not a valid cron expression "
        "(hour 25)"
    ],
    "bad_timezone.yaml": [
        "bad_timezone.yaml:7:15 alerts[0].timezone: 'Europe/Berln' is not an IANA timezone "
        "(did you mean `Europe/Berlin`?)"
    ],
    "duplicate_name.yaml": [
        "duplicate_name.yaml:7:11 alerts[1].name: duplicate alert name `orders_late` "
        "(also alerts[0] at line 4) (alert names must be unique)"
    ],
    "slug_collision.yaml": [
        "slug_collision.yaml:7:11 alerts[1].name: name `orders-late` gives dag_id "
        "`sqlsentinel_orders_late`, already used by `Orders Late` (alerts[0] at line 4) "
        "(rename one of them: names must differ in letters or digits)"
    ],
    "dml.yaml": [f"dml.yaml:5:12 alerts[0].query: query is a DELETE statement; {RULE}"],
    "ddl.yaml": [f"ddl.yaml:5:12 alerts[0].query: query is a CREATE statement; {RULE}"],
    "multi_statement.yaml": [
        "multi_statement.yaml:5:12 alerts[0].query: query contains 2 statements "
        f"(SELECT, DROP); {RULE} (remove every statement but the SELECT, and the `;` between them)"
    ],
    "missing_query.yaml": [
        "missing_query.yaml:4:5 alerts[0].query: missing required key `query` "
        "(or `query_file: sql/<name>.sql`, relative to this file, or `freshness:` "
        "(docs/freshness.md))"
    ],
    "bad_email.yaml": [
        "bad_email.yaml:9:32 alerts[0].notify[0].to[1]: 'data team at company' is not an "
        "email address (write it like team@example.com)"
    ],
    "bad_duration.yaml": [
        "bad_duration.yaml:3:19 defaults.renotify_after: '4 hours' is not a duration "
        "(write e.g. 30s, 5m, 4h, 1d, 1h30m or an integer of seconds)"
    ],
    "unset_variable.yaml": [
        "unset_variable.yaml:9:22 alerts[0].notify[0].webhook_url: environment variable "
        "`SQLSENTINEL_TEST_UNSET_SLACK_URL` is not set (set it, write "
        "`${SQLSENTINEL_TEST_UNSET_SLACK_URL:-default}`, or `$${SQLSENTINEL_TEST_UNSET_SLACK_URL}` "
        "for a literal)"
    ],
    "syntax_error.yaml": [
        "syntax_error.yaml:8:1 YAML syntax error: found unexpected end of stream "
        "(while scanning a quoted scalar at line 6)"
    ],
    "duplicate_key.yaml": [
        "duplicate_key.yaml:7:5 alerts[0].schedule: duplicate key `schedule` "
        "(first written at line 6) (keep only one of them)"
    ],
    "alias_bomb.yaml": [
        "alias_bomb.yaml:7:4 anchors and aliases expand to 11,434,292 YAML nodes "
        "(limit 100,250); refusing to expand them (this looks like a 'billion laughs' alias "
        "bomb; repeat fewer nested aliases)"
    ],
    "not_utf8.yaml": [
        "not_utf8.yaml:2:14 the file is not UTF-8 text (byte 0xe9) (save it as UTF-8)"
    ],
    "one_broken_alert.yaml": [
        f"one_broken_alert.yaml:8:12 alerts[1].query: query is a TRUNCATE statement; {RULE}"
    ],
}

# errors inside one alert leave the rest of the file usable; the others make it unusable
FILE_LEVEL = {"bad_duration.yaml", "syntax_error.yaml", "alias_bomb.yaml", "not_utf8.yaml"}


def test_every_invalid_fixture_has_an_expectation() -> None:
    assert sorted(p.name for p in INVALID.glob("*.yaml")) == sorted(
        [*EXPECTED, "missing_query_file.yaml", "several_errors.yaml"]
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_file_reports_located_message(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    result = load_config(name, env={})
    assert [e.format() for e in result.errors] == EXPECTED[name]
    assert not result.ok
    if name in FILE_LEVEL:
        assert result.config is None
        assert result.file_errors == result.errors
    else:
        assert result.file_errors == []
        assert result.config is not None


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validate_config_raises_the_same_errors(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    with pytest.raises(ConfigErrors) as caught:
        validate_config(name, env={})
    assert str(caught.value) == "\n".join(EXPECTED[name])


def test_spec_example_message_reads_exactly_as_documented() -> None:
    text = (INVALID / "bad_cron.yaml").read_text()
    [error] = load_config_text(text, "alerts.yaml", env={}).errors
    assert str(error) == (
        "alerts.yaml:14:7 alerts[2].schedule: '0 25 * * *' is not a valid cron expression (hour 25)"
    )
    assert (error.alert, error.alert_index) == ("third", 2)


def test_missing_query_file_names_the_file_and_the_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    [error] = load_config("missing_query_file.yaml", env={}).errors
    assert error.location == "missing_query_file.yaml:5:17"
    assert error.path == "alerts[0].query_file"
    assert error.message == "query_file `sql/does_not_exist.sql` not found"
    assert error.hint == f"paths are relative to the folder of the YAML file: {INVALID}"


def test_all_errors_of_a_file_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    result = load_config("several_errors.yaml", env={})
    assert [(e.line, e.path, e.alert) for e in result.errors] == [
        (1, "dag_id_prefx", None),
        (7, "alerts[0].schedule", "one"),
        (9, "alerts[1].query", "two"),
        (11, "alerts[1].severity", "two"),
        (15, "alerts[2].timezone", "three"),
        (18, "alerts[2].notify[0].url", "three"),
    ]
    assert [e.path for e in result.file_errors] == ["dag_id_prefx"]
    assert result.errors[2].message == f"query is an UPDATE statement; {RULE}"
    assert result.errors[5].message == "http://example.com/*** uses plain http to example.com"
    assert result.config is None  # a file-level error makes the whole file unusable


def test_one_broken_alert_does_not_hide_the_valid_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    result = load_config("one_broken_alert.yaml", env={})
    assert result.config is not None
    assert [a.name for a in result.config.alerts] == ["good_one", "good_two"]
    [error] = result.errors
    assert (error.alert, error.alert_index) == ("bad_one", 1)
    assert result.alert_errors == [error]
    assert not result.ok


def test_later_duplicate_is_the_invalid_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    result = load_config("duplicate_name.yaml", env={})
    assert result.config is not None
    [alert] = result.config.alerts
    assert alert.schedule == "0 * * * *"  # alerts[0], which already had the DAG
