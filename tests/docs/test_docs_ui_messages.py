"""docs/ui.md, "What a message links to": the runbook snippet loads, and is what the browser
test (and its screenshot) shows."""

from __future__ import annotations

import ast
import textwrap

import yaml
from docs_snippets import REPO, text

from sqlsentinel_airflow.core.config import load_config_text


def _browser_alerts_yaml() -> str:
    tree = ast.parse((REPO / "tests" / "e2e" / "ui_browser.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "ALERTS_YAML":
            return str(ast.literal_eval(node.value))
    raise AssertionError("ALERTS_YAML not found in tests/e2e/ui_browser.py")


def test_the_runbook_snippet_loads_and_is_what_the_screenshot_shows() -> None:
    snippet = textwrap.dedent(text("ui-runbook-yaml"))
    alert_yaml = snippet.rstrip() + "\n  query: SELECT 'OK' AS status\n"
    head = 'defaults:\n  conn_id: warehouse\n  schedule: "@hourly"\nalerts:\n'
    result = load_config_text(head + textwrap.indent(alert_yaml, "  "), "alerts.yaml", env={})
    assert result.errors == []
    assert result.config is not None
    (alert,) = result.config.alerts
    assert alert.runbook_url == "https://wiki.example.com/runbooks/api-error-rate"
    assert [link.title for link in alert.links] == ["API dashboard", "Incident channel"]

    documented = yaml.safe_load(snippet)[0]
    shown = next(
        a for a in yaml.safe_load(_browser_alerts_yaml())["alerts"] if a["name"] == alert.name
    )
    assert (shown["runbook_url"], shown["links"]) == (
        documented["runbook_url"],
        documented["links"],
    )
