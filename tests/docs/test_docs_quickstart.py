"""docs/quickstart.md, performed step by step: real Airflow CLI, PostgreSQL, SMTP server.

What is not run as written, and why:
- ``pip install``: the package is installed (editable) in this venv already and is not on
  an index here; the test checks both distributions the command names are installed and
  runs the page's ``sqlsentinel --version`` against its shown output.
- The warehouse URI and the SMTP port: the page shows a placeholder host, login and
  database, and port 1025; the test uses its own PostgreSQL database on 127.0.0.1 (trust
  auth, so the page's password is sent and ignored) and a free port. Nothing else is changed.
- ``airflow db migrate`` runs first: the page starts from an existing Airflow.
"""

from __future__ import annotations

import re
import signal
import sys
from importlib import metadata
from pathlib import Path

import pytest
import sqlalchemy as sa
from docs_site_support import (
    background,
    commands_of,
    docs_env,
    free_port,
    lines_of,
    normalise,
    run_shell,
    wait_for_port,
)
from docs_snippets import text

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]

# One log line of `airflow dags test`: time, [level], message, [logger], key=value...
_LOG_LINE = re.compile(r"^\S+ \[\w+\s*\] (?P<msg>.*?) \[(?P<logger>[\w.]+)\](?: \S+=\S*)*\s*$")


def _airflow_uri(sa_url: str) -> sa.engine.URL:
    return sa.engine.make_url(sa_url)


def test_quickstart(tmp_path: Path, pg_url: str, pg_reader_url: str) -> None:
    home = tmp_path / "airflow"
    dags = home / "dags"
    dags.mkdir(parents=True)
    env = docs_env(home)
    smtp_port = free_port()

    # The existing Airflow the page starts from.
    run_shell("airflow db migrate", cwd=home, env=env)

    # 1. Install: both distributions present; `sqlsentinel --version` prints what is shown.
    install = commands_of(text("quickstart-install"))
    assert install[0] == "pip install sqlsentinel-airflow apache-airflow-providers-postgres"
    for distribution in install[0].split()[2:]:
        assert metadata.version(distribution)  # installed; PackageNotFoundError if not
    version = run_shell(install[1], cwd=home, env=env)
    assert lines_of(version.stdout) == lines_of(text("quickstart-install-output"))

    # 2. The table, in the test's own PostgreSQL database.
    engine = sa.create_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(text("quickstart-orders-sql"))
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM orders").scalar() == 30
    finally:
        engine.dispose()

    # 3. Connections: the page's commands, with the test's database and SMTP port.
    url = _airflow_uri(pg_reader_url)  # a read-only login, as docs/security.md sets up
    connections = text("quickstart-connections")
    placeholder = "postgresql://alerts_reader:change-me@warehouse.example.com:5432/analytics"
    assert placeholder in connections and "--conn-port 1025" in connections
    connections = connections.replace(
        placeholder,
        f"postgresql://{url.username}:change-me@{url.host}:{url.port}/{url.database}",
    ).replace("--conn-port 1025", f"--conn-port {smtp_port}")
    added = run_shell(connections, cwd=home, env=env)
    assert "Successfully added `conn_id`=warehouse" in added.stdout
    assert "Successfully added `conn_id`=smtp_default" in added.stdout
    assert "change-me" not in added.stdout + added.stderr  # "without its password"

    catcher = commands_of(text("quickstart-mail-catcher"))
    assert catcher == ["python -m aiosmtpd -n -l localhost:1025"]
    catcher_cmd = catcher[0].replace(":1025", f":{smtp_port}").split()
    catcher_cmd[0] = str(Path(sys.executable))
    mail_log = tmp_path / "catcher.log"
    with background(catcher_cmd, cwd=home, env=env, log=mail_log) as proc:
        wait_for_port(smtp_port)

        # 4. The two files, as shown.
        (dags / "alerts.yaml").write_text(text("quickstart-alerts-yaml"), encoding="utf-8")
        (dags / "sqlsentinel_alerts.py").write_text(text("quickstart-dag-file"), encoding="utf-8")

        # 5. Validate, with the connection check.
        valid = run_shell(text("quickstart-validate"), cwd=home, env=env)
        assert lines_of(valid.stdout) == lines_of(text("quickstart-validate-output"))

        # 6. Run the DAG; the task's log lines as shown (durations and ids normalised).
        ran = run_shell(text("quickstart-dags-test"), cwd=home, env=env, timeout=300)
        messages = []
        for line in (ran.stdout + ran.stderr).splitlines():
            match = _LOG_LINE.match(line)
            if match and match["logger"].startswith("sqlsentinel_airflow"):
                messages.append(normalise(match["msg"]).rstrip())
        expected = [normalise(line) for line in lines_of(text("quickstart-dags-test-output"))]
        found = [m for m in messages if m in expected]
        assert found == expected, (
            "\n".join(messages)
            or f"no sqlsentinel log line in:\n{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}"
        )

        status = run_shell(text("quickstart-status"), cwd=home, env=env)
        assert [normalise(x) for x in lines_of(status.stdout)] == [
            normalise(x) for x in lines_of(text("quickstart-status-output"))
        ]
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)

    printed = mail_log.read_text(encoding="utf-8", errors="replace").splitlines()
    for header in lines_of(text("quickstart-mail-output")):
        assert header in printed, f"{header!r} not in what the catcher printed:\n" + "\n".join(
            printed[:40]
        )
