"""docs/migrating.md, run for real: the standalone SQL Sentinel file of the worked example is
validated (output compared with the page), turned into DAGs (DagBag over a temp DAGs folder)
and run with ``sqlsentinel run`` against PostgreSQL, delivering its legacy-subject email to a
local SMTP server (through the ``smtp_default`` built as the page shows) and its Slack message
to the file's own ``webhook_url`` (pointed at a local stand-in). The page's claims about
what changes (legacy placeholders, the standalone state table clash, BigQuery URLs, the CLI
mapping) are checked against the code.

The standalone tool itself (``sqlsentinel==0.1.0``) is not installed in CI; the page's
example was checked with it by hand when the page was written.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_site_support import console_steps, docs_env, run_shell
from docs_snippets import DOCS, REPO, text

sys.path.insert(0, str(REPO / "tests" / "integration" / "notify"))
from notify_servers import HttpReceiver, SmtpInbox, smtp_inbox

from sqlsentinel_airflow.errors import StateStoreError
from sqlsentinel_airflow.notify.templates import LEGACY_FIELDS
from sqlsentinel_airflow.store import StateStore

PAGE = DOCS / "migrating.md"
BIN = Path(sys.executable).parent
EXAMPLE_DB = "postgresql://analyst@warehouse.example.com:5432/analytics"
SLACK_URL = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"


def _env(home: Path, **extra: str) -> dict[str, str]:
    return docs_env(home, extra)


def _bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_shell(script, cwd=cwd, env=env, check=False)


def _console(snippet_id: str) -> list[tuple[str, list[str]]]:
    """``$ command`` lines and the output lines that follow each."""
    return console_steps(text(snippet_id))


def test_standalone_file_validates_with_the_documented_output(tmp_path: Path) -> None:
    (tmp_path / "alerts.yaml").write_text(text("migr-standalone-yaml"), encoding="utf-8")
    ((command, expected),) = _console("migr-validate")

    proc = _bash(command, _env(tmp_path), tmp_path)

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == expected
    assert EXAMPLE_DB not in proc.stdout + proc.stderr  # no URL echoed, unlike the standalone


def test_dag_file_turns_the_standalone_file_into_the_documented_dags(tmp_path: Path) -> None:
    from airflow.dag_processing.dagbag import DagBag

    (tmp_path / "alerts.yaml").write_text(text("migr-standalone-yaml"), encoding="utf-8")
    (tmp_path / "sqlsentinel_alerts.py").write_text(text("migr-dag-file"), encoding="utf-8")

    bag = DagBag(dag_folder=str(tmp_path))

    assert bag.import_errors == {}
    documented = {}
    for line in text("migr-dags").splitlines():
        dag_id, rest = line.split(None, 1)
        documented[dag_id] = rest.strip()
    assert sorted(bag.dags) == sorted(documented)
    for dag_id, rest in documented.items():
        dag = bag.dags[dag_id]
        if dag_id == "sqlsentinel_config_watch":
            continue
        if rest.startswith("manual runs only"):
            assert type(dag.timetable).__name__ == "NullTimetable", dag.timetable
        else:
            assert type(dag.timetable).__name__ == "CronTriggerTimetable", dag.timetable
            assert dag.timetable.expression == rest, dag_id
            assert str(dag.timetable.timezone) == "UTC"  # the standalone daemon's default
        assert dag.max_active_runs == 1
        assert "sqlsentinel" in dag.tags


@pytest.fixture
def warehouse(pg_url: str, pg_reader_url: str) -> Iterator[str]:
    """The example's warehouse on PostgreSQL: yesterday's orders sum to 8,500."""
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (order_date DATE, amount INTEGER)"))
        conn.execute(
            sa.text("INSERT INTO orders VALUES (CURRENT_DATE - 1, 5000), (CURRENT_DATE - 1, 3500)")
        )
    engine.dispose()
    u = sa.engine.make_url(pg_reader_url)  # a read-only login, as docs/security.md sets up
    yield f"postgresql://{u.username}:{u.password}@{u.host}:{u.port}/{u.database}"


def _subjects() -> dict[str, str]:
    return dict(
        line.split(":   ", 1) if ":   " in line else line.split(": ", 1)
        for line in text("migr-subjects").splitlines()
    )


def test_the_standalone_file_runs_unchanged_and_delivers(
    tmp_path: Path, warehouse: str, pg_url: str
) -> None:
    slack = HttpReceiver()
    try:
        with smtp_inbox("mailer", "mail-pw") as inbox:
            _run_example(tmp_path, warehouse, pg_url, slack, inbox)
    finally:
        slack.close()


def _run_example(
    tmp_path: Path, warehouse: str, pg_url: str, slack: HttpReceiver, inbox: SmtpInbox
) -> None:
    source = text("migr-standalone-yaml")
    local = source.replace(EXAMPLE_DB, warehouse).replace(
        SLACK_URL, slack.url("/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX")
    )
    assert local.count("127.0.0.1") == 2
    (tmp_path / "alerts.yaml").write_text(local, encoding="utf-8")
    smtp = text("migr-smtp").replace("disable_ssl=true", "disable_ssl=true&disable_tls=true")
    assert smtp != text("migr-smtp")  # the loopback SMTP server speaks no TLS
    env = _env(
        tmp_path,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(inbox.port),
        SMTP_USERNAME=inbox.login,
        SMTP_PASSWORD=inbox.password,
        SMTP_FROM_ADDRESS="sqlsentinel@example.com",
        SQLSENTINEL_STATE_DB_URL=f"sqlite:///{tmp_path / 'state.db'}",
    )
    run = "sqlsentinel run alerts.yaml --alert daily_revenue_check --format json"
    assert run.rsplit(" --format", 1)[0] in PAGE.read_text(encoding="utf-8")

    proc = _bash(smtp + run, env, tmp_path)

    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    (evaluation,) = json.loads(proc.stdout)["evaluations"]
    assert (evaluation["outcome"], evaluation["state"]) == ("alert", "firing")
    (mail,) = inbox.mails
    assert mail.rcpt_tos == ["finance@example.com"]
    assert mail.mail_from == "sqlsentinel@example.com"
    subjects = _subjects()
    assert mail.message["Subject"] == subjects["firing"]
    (posted,) = slack.requests
    assert posted.path == "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
    assert posted.json()["username"] == "SQL Sentinel"

    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO orders VALUES (CURRENT_DATE - 1, 3500)"))
    engine.dispose()
    proc = _bash(smtp + run, env, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert [m.message["Subject"] for m in inbox.mails][1:] == [subjects["resolved"]]


def test_documented_legacy_placeholders_are_the_code_s() -> None:
    page = " ".join(PAGE.read_text(encoding="utf-8").split())
    section = page[
        page.index("is filled the old way:") : page.index("<!-- snippet: migr-subjects -->")
    ]
    documented = re.findall(r"`\{(\w+)\}`", section)
    assert sorted(documented) == sorted(LEGACY_FIELDS)
    assert "`{actual_value:.2f}`" in section


def test_mapped_cli_commands_exist() -> None:
    from sqlsentinel_airflow.cli.main import build_parser

    parser = build_parser()
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    start = lines.index("## What maps to what")
    end = lines.index("## A worked example")
    table = [line for line in lines[start:end] if line.startswith("| ")][1:]  # no header
    ours = {
        c for line in table for c in re.findall(r"`sqlsentinel (\w[\w-]*)", line.split(" | ")[1])
    }
    assert {"validate", "status", "history", "silence", "unsilence", "run"} <= ours
    for command in ours:
        args = {"validate": ["x.yaml"], "status": ["x.yaml"], "run": ["x.yaml"]}.get(command, [])
        extra = {"silence": ["n", "--for", "2h", "--reason", "r"], "unsilence": ["n"]}
        parser.parse_args([command, *args, *extra.get(command, [])])


def test_standalone_state_database_clash(tmp_path: Path) -> None:
    """The standalone tool's own ``sqlsentinel_state`` table (its 0.1.0 columns) in the state DB."""
    url = f"sqlite:///{tmp_path / 'standalone.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE sqlsentinel_state (alert_name VARCHAR(255) PRIMARY KEY, "
                "last_executed_at DATETIME, last_alert_at DATETIME, last_ok_at DATETIME, "
                "consecutive_alerts INTEGER NOT NULL, consecutive_oks INTEGER NOT NULL, "
                "current_status VARCHAR(50), silenced_until DATETIME, "
                "escalation_count INTEGER NOT NULL, notification_failures INTEGER NOT NULL, "
                "last_notification_channel VARCHAR(50), updated_at DATETIME NOT NULL)"
            )
        )
    engine.dispose()
    expected = "already has a table 'sqlsentinel_state' that is not sqlsentinel-airflow's"
    assert f"`{expected}`" in PAGE.read_text(encoding="utf-8")
    with pytest.raises(StateStoreError) as refused:
        StateStore.connect(url)
    message = str(refused.value)
    assert expected in message and "standalone SQL Sentinel" in message, message
    assert "no column alert_name" not in message and "key_hash" in message  # names what differs
    # nothing was written: no table of ours, no schema version recorded
    engine = sa.create_engine(url)
    try:
        assert sa.inspect(engine).get_table_names() == ["sqlsentinel_state"]
    finally:
        engine.dispose()


def test_bigquery_url_is_refused_by_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlsentinel_airflow.cli.main import main

    assert "a BigQuery URL is refused by `validate`" in PAGE.read_text(encoding="utf-8")
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(
        text("migr-standalone-yaml").replace(EXAMPLE_DB, "bigquery://my-project/analytics"),
        encoding="utf-8",
    )
    assert main(["validate", str(alerts)]) == 2
    err = capsys.readouterr().err
    assert "database.url: database.url uses 'bigquery', which cannot run from a URL" in err
    assert "set conn_id on the alerts" in err
    assert "my-project" not in err  # the URL itself is never echoed


def test_file_without_database_section_runs_on_database_url(tmp_path: Path) -> None:
    """The page's file with no ``database:``: valid with DATABASE_URL set, a located error
    naming the variable without it; the URL's password is never printed."""
    (tmp_path / "alerts.yaml").write_text(text("migr-no-database-yaml"), encoding="utf-8")
    steps = _console("migr-database-url-env")
    assert [command.startswith("DATABASE_URL=") for command, _ in steps] == [True, False]

    env = _env(tmp_path)
    env.pop("DATABASE_URL", None)  # the second command runs without it, whatever CI sets
    for command, expected in steps:
        proc = _bash(command, env, tmp_path)

        assert proc.returncode == (0 if command.startswith("DATABASE_URL=") else 2), proc.stderr
        assert proc.stderr.splitlines() + proc.stdout.splitlines() == expected
        assert "change-me" not in proc.stdout + proc.stderr
