"""Every ``airflow.*`` import of the installed package resolves on this Airflow release."""

from __future__ import annotations

from pathlib import Path

from import_audit import audit, unresolved


def test_every_airflow_import_resolves_or_has_a_working_fallback() -> None:
    import sqlsentinel_airflow

    rows = audit(Path(sqlsentinel_airflow.__file__).parent)
    assert len(rows) > 40  # the audit found the imports (a walk that finds none passes nothing)
    assert [f"{r.file}:{r.line} {r.module}.{r.name}: {r.error}" for r in unresolved(rows)] == []


def test_the_plugin_and_provider_entry_points_load() -> None:
    from importlib.metadata import entry_points

    (plugin,) = [e for e in entry_points(group="airflow.plugins") if e.name == "sqlsentinel"]
    assert plugin.load().name == "sqlsentinel"
    providers = [
        e for e in entry_points(group="apache_airflow_provider") if "sqlsentinel" in e.value
    ]
    info = providers[0].load()()
    assert info["package-name"] == "sqlsentinel-airflow"
