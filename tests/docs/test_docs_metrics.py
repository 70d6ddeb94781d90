"""docs/operations.md#metrics: the table, the Airflow settings, the Grafana dashboard and the
Prometheus alert rules name only what ``metrics.py`` emits.

The metrics themselves are received for real in
``tests/integration/airflow/test_metrics_statsd.py``; here every series the dashboard plots
and every rule watches must be one of those names as statsd_exporter's default mapping
exposes them (dots to underscores, counters with or without ``_total``, timers as summaries).
"""

from __future__ import annotations

import configparser
import itertools
import json
import re
import sys
from pathlib import Path
from typing import get_args

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_site_support import markdown_table
from docs_snippets import DOCS, text

from sqlsentinel_airflow.core.config.models import Severity
from sqlsentinel_airflow.core.config.yamlpos import CHANNEL_KINDS
from sqlsentinel_airflow.core.model import Outcome, State
from sqlsentinel_airflow.metrics import GAUGE_STATES, METRIC_NAMES, is_metric_name

PAGE = DOCS / "operations.md"
DASHBOARD = DOCS / "grafana" / "sqlsentinel-dashboard.json"
PARTS = {
    "outcome": [o.value.lower() for o in Outcome],
    "state": [s.value.lower() for s in State],
    "severity": list(get_args(Severity)),
    "channel": list(CHANNEL_KINDS),
}
SUFFIXES = ("", "_total", "_sum", "_count")


def emitted_names() -> set[str]:
    """Every name the code can emit, as Prometheus sees it through statsd_exporter."""
    names: set[str] = set()
    for template in METRIC_NAMES:
        fields = re.findall(r"\{([a-z_]+)\}", template)
        parts = dict(PARTS)
        if template.startswith("sqlsentinel.instances."):  # a stored state: never flapping
            parts["state"] = list(GAUGE_STATES)
        for values in itertools.product(*(parts[f] for f in fields)):
            name = template.format(**dict(zip(fields, values, strict=True)))
            assert is_metric_name(name), name
            names.add("airflow_" + name.replace(".", "_"))
    return names


EMITTED = emitted_names()
_SELECTOR = re.compile(r'__name__=~"([^"]+)"')
_PLAIN = re.compile(r"\bairflow_sqlsentinel_[a-z0-9_]+")


def plotted(expr: str) -> list[str]:
    """Problems with the series ``expr`` reads: a name not emitted, a selector matching none."""
    problems = []
    selectors = _SELECTOR.findall(expr)
    for selector in selectors:
        pattern = re.compile(selector)
        if not any(pattern.fullmatch(n + s) for n in EMITTED for s in ("", "_total")):
            problems.append(f"{selector} matches no emitted metric")
    for name in _PLAIN.findall(_SELECTOR.sub("", expr)):
        if not any(name == n + s for n in EMITTED for s in SUFFIXES):
            problems.append(f"{name} is not emitted")
    if not selectors and not _PLAIN.search(expr):
        problems.append(f"{expr} reads no SQL Sentinel metric")
    return problems


def test_the_table_is_the_code_s() -> None:
    rows = markdown_table(PAGE, "### Metrics")
    documented = {row[0].strip("`"): row[1] for row in rows}
    assert documented == {name: kind for name, (kind, _) in METRIC_NAMES.items()}


@pytest.mark.parametrize(
    ("snippet_id", "keys"),
    [
        ("ops-metrics-statsd-cfg", {"statsd_on", "statsd_host", "statsd_port", "statsd_prefix"}),
        ("ops-metrics-otel-cfg", {"otel_on", "otel_host", "otel_port", "otel_prefix"}),
    ],
)
def test_the_settings_are_airflow_s_metrics_options(snippet_id: str, keys: set[str]) -> None:
    from airflow.configuration import conf

    known = conf.configuration_description["metrics"]["options"]
    parser = configparser.ConfigParser()
    parser.read_string(text(snippet_id))
    assert parser.sections() == ["metrics"]
    assert set(parser["metrics"]) == keys
    for key, value in parser["metrics"].items():
        assert key in known, key  # an option of Airflow's [metrics] section
        if key.endswith("_on"):
            assert parser.getboolean("metrics", key) is True
        elif key.endswith("_port"):
            assert parser.getint("metrics", key) > 0
        elif key.endswith("_prefix"):
            assert value == "airflow"  # the prefix the table, dashboard and rules assume


def test_the_prometheus_rules_watch_emitted_metrics() -> None:
    rules = yaml.safe_load(text("ops-metrics-prometheus-rules"))
    (group,) = rules["groups"]
    names = [rule["alert"] for rule in group["rules"]]
    assert names == [
        "SqlSentinelOutboxStuck",
        "SqlSentinelOutboxBacklog",
        "SqlSentinelDeadLetters",
        "SqlSentinelNoEvaluations",
    ]
    for rule in group["rules"]:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert plotted(rule["expr"]) == [], rule["alert"]
    backlog = " ".join(r["expr"] for r in group["rules"])
    assert "oldest_pending_age_seconds" in backlog and "outbox_pending" in backlog


def test_the_grafana_dashboard_loads_and_plots_emitted_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] == "sqlsentinel"
    assert dashboard["templating"]["list"][0]["query"] == "prometheus"
    exprs = []
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            exprs.append(target["expr"])
            assert plotted(target["expr"]) == [], (panel["title"], target["expr"])
    # the backlog and the evaluations are on it, the things that say the system itself works
    joined = " ".join(exprs)
    for needed in ("outbox_oldest_pending_age_seconds", "outbox_pending", "evaluations_"):
        assert needed in joined
    assert "grafana/sqlsentinel-dashboard.json" in PAGE.read_text(encoding="utf-8")


def test_the_checker_refuses_names_the_code_does_not_emit() -> None:
    assert plotted("airflow_sqlsentinel_outbox_backlog") == [
        "airflow_sqlsentinel_outbox_backlog is not emitted"
    ]
    assert plotted('rate({__name__=~"airflow_sqlsentinel_evaluated_.+"}[5m])') == [
        "airflow_sqlsentinel_evaluated_.+ matches no emitted metric"
    ]
    assert plotted("airflow_sqlsentinel_instances_flapping") == [
        "airflow_sqlsentinel_instances_flapping is not emitted"
    ]
    assert plotted("up") == ["up reads no SQL Sentinel metric"]
