"""``validate`` refuses a template that exceeds a rendering limit on a sample event, located."""

from __future__ import annotations

import json
import time

import pytest
from template_attacks import ATTACKS, assert_cheap, bounded_cost

from sqlsentinel_airflow.core.config import checks
from sqlsentinel_airflow.core.config.checks import InvalidValue, check_template
from sqlsentinel_airflow.core.config.loader import load_config_text
from sqlsentinel_airflow.notify.sample import template_problem

IDS = [a[0] for a in ATTACKS]
HINT = (
    " (templates are bounded so that a message cannot hang a run or exhaust memory; "
    "see the limits in docs/notifications.md)"
)


def _file(subject: str, *, alerts: int = 1) -> str:
    items = "".join(
        f"  - name: a{i}\n    query: SELECT 1\n"
        f"    notify:\n      - {{channel: email, to: a@example.com, subject: {json.dumps(subject)}}}\n"
        for i in range(alerts)
    )
    return "defaults: {conn_id: c, schedule: '@daily'}\nalerts:\n" + items


def _forget_checked_templates() -> None:
    checks._check_jinja_cached.cache_clear()
    template_problem.cache_clear()


@pytest.mark.parametrize(("name", "source", "limit"), ATTACKS, ids=IDS)
def test_an_attack_is_refused_by_the_loader_with_its_place(
    name: str, source: str, limit: str
) -> None:
    _forget_checked_templates()
    with bounded_cost() as cost:
        result = load_config_text(_file(source), "f.yaml", env={})
    assert_cheap(cost)
    [error] = result.errors
    assert error.alert == "a0"
    assert result.config is not None and result.config.alerts == ()  # only that alert is out
    with pytest.raises(InvalidValue, match=limit):  # the message as the loader shows it
        raise InvalidValue(error.message)
    assert error.format().startswith(
        "f.yaml:6:54 alerts[0].notify[0].subject: template exceeds a limit on a sample "
        "`firing` event: the "
    )
    assert error.format().endswith(HINT)


def test_a_standalone_format_subject_is_checked_too() -> None:
    with pytest.raises(InvalidValue, match=r"exceeded by the format of `\{alert_name\}`"):
        check_template("Alert {alert_name:>999999999}")
    assert check_template("Alert {alert_name:>20}") == "Alert {alert_name:>20}"


def test_a_failure_that_may_come_from_the_sample_values_is_left_to_delivery() -> None:
    # the sample has no `region` context column; a real row may: not a reason to drop the alert
    source = "{{ context.region.upper() }} {{ raw.actual_value / raw.threshold }}"
    assert template_problem(source) is None
    assert load_config_text(_file(source), "f.yaml", env={}).errors == []


def test_a_template_is_rendered_once_however_many_alerts_share_it() -> None:
    _forget_checked_templates()
    result = load_config_text(_file(ATTACKS[3][1], alerts=50), "f.yaml", env={})
    assert len(result.errors) == 50
    info = template_problem.cache_info()
    assert (info.misses, info.hits) == (1, 0)  # the loader's own cache answers the rest


def test_validating_a_thousand_alerts_with_their_own_templates_stays_cheap() -> None:
    plain = "".join(
        f"  - name: a{i}\n    query: SELECT 1\n"
        "    notify: [{channel: email, to: a@example.com}]\n"
        for i in range(1000)
    )
    templated = "".join(
        f"  - name: a{i}\n    query: SELECT 1\n"
        "    notify: [{channel: email, to: a@example.com, subject: "
        f"'{{{{ alert.name }}}} #{i}: {{{{ actual_value }}}} > {{{{ threshold }}}}'}}]\n"
        for i in range(1000)
    )
    head = "defaults: {conn_id: c, schedule: '@daily'}\nalerts:\n"
    timings = []
    for body in (plain, templated):
        start = time.perf_counter()
        assert load_config_text(head + body, "f.yaml", env={}).errors == []
        timings.append(time.perf_counter() - start)
    added_per_alert = (timings[1] - timings[0]) / 1000
    assert added_per_alert < 0.01, f"{added_per_alert * 1000:.2f} ms per alert"
