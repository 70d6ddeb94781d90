"""docs/assets.md, "Dependencies between alerts", performed: the page's alerts.yaml on a real
PostgreSQL warehouse, `sqlsentinel run` twice (the load late, then landed) printing exactly
what the page shows, and the emails a loopback SMTP server received: the data team hears of
the late load and its end, finance hears of low revenue once, after the load landed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest
import sqlalchemy as sa
import yaml
from docs_snippets import REPO, text

sys.path.insert(0, str(REPO / "tests" / "integration" / "notify"))
from notify_servers import smtp_inbox

from sqlsentinel_airflow.cli.main import main
from sqlsentinel_airflow.core.config import json_schema, load_config_text


def test_the_example_loads_with_its_dependency() -> None:
    loaded = load_config_text(text("assets-depends-on-yaml"), "alerts.yaml")
    assert loaded.ok, [e.format() for e in loaded.errors]
    assert loaded.config is not None
    parents = {a.name: a.depends_on for a in loaded.config.alerts}
    assert parents == {"orders_loaded": (), "revenue_low": ("orders_loaded",)}
    validator = jsonschema.Draft202012Validator(json_schema())
    assert list(validator.iter_errors(yaml.safe_load(text("assets-depends-on-yaml")))) == []


def _run_as_shown(snippet: str, capsys: pytest.CaptureFixture[str]) -> None:
    command, *shown = text(snippet).splitlines()
    assert main(command.removeprefix("$ sqlsentinel ").split()) == 0
    assert capsys.readouterr().out.splitlines() == shown


def test_a_late_load_holds_the_revenue_message_until_it_lands(
    tmp_path: Path,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("CREATE TABLE orders (order_date date, amount numeric, loaded_at timestamptz)")
        )
        conn.execute(
            sa.text("INSERT INTO orders VALUES (CURRENT_DATE, 250, now() - interval '5 hours')")
        )
    url = sa.engine.make_url(pg_url)
    warehouse = {
        "conn_type": "postgres",
        "host": url.host,
        "port": url.port,
        "login": url.username,
        "schema": url.database,
    }
    (tmp_path / "alerts.yaml").write_text(text("assets-depends-on-yaml"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", json.dumps(warehouse))
    # the test's login is a superuser: accepted for this test only (docs/security.md)
    monkeypatch.setenv("AIRFLOW__SQLSENTINEL__ALLOW_PRIVILEGED_CONN_IDS", "warehouse")
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", f"sqlite:///{tmp_path / 'state.db'}")
    with smtp_inbox("sentinel", "pw") as smtp:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp.connection_json())
        _run_as_shown("assets-depends-on-run-late", capsys)
        assert [(m.rcpt_tos, m.message["Subject"]) for m in smtp.mails] == [
            (["data-eng@example.com"], smtp.mails[0].message["Subject"])
        ]
        assert "orders_loaded" in smtp.mails[0].message["Subject"]
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE orders SET loaded_at = now()"))
        _run_as_shown("assets-depends-on-run-landed", capsys)
        # once more: nothing new for anyone
        assert main(["run", "alerts.yaml"]) == 0
    engine.dispose()
    sent = [(m.rcpt_tos[0], m.message["Subject"]) for m in smtp.mails]
    assert [to for to, _s in sent] == [
        "data-eng@example.com",
        "data-eng@example.com",
        "finance@example.com",
    ], sent
    assert "revenue_low" in sent[2][1] and "orders_loaded" in sent[1][1]
