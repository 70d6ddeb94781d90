"""``sqlsentinel run``'s exit code from its alerts' verdicts: the one mapping, every row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sqlsentinel_airflow.cli import exit_codes
from sqlsentinel_airflow.cli.exit_codes import (
    EXIT_ALERT,
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_OK,
    exit_code_for_run,
)
from sqlsentinel_airflow.service import Verdict


@pytest.mark.parametrize(
    ("verdict", "plain", "with_fail_on_alert"),
    [
        (Verdict.OK, EXIT_OK, EXIT_OK),
        (Verdict.FIRING, EXIT_OK, EXIT_ALERT),
        (Verdict.QUERY_FAILED, EXIT_FAILED, EXIT_FAILED),
        (Verdict.UNDELIVERED_RETRY_MAY_HELP, EXIT_FAILED, EXIT_FAILED),
        (Verdict.UNDELIVERED_NEEDS_FIX, EXIT_FAILED, EXIT_FAILED),
    ],
)
def test_each_verdict_alone(verdict: Verdict, plain: int, with_fail_on_alert: int) -> None:
    assert exit_code_for_run([verdict], config_errors=False, fail_on_alert=False) == plain
    assert exit_code_for_run([verdict], config_errors=False, fail_on_alert=True) == (
        with_fail_on_alert
    )
    assert exit_code_for_run([verdict], config_errors=True, fail_on_alert=True) == EXIT_INVALID


def test_the_most_serious_alert_decides() -> None:
    firing_and_failed = [Verdict.FIRING, Verdict.OK, Verdict.UNDELIVERED_NEEDS_FIX]
    assert exit_code_for_run(firing_and_failed, config_errors=False, fail_on_alert=True) == 1
    assert (
        exit_code_for_run([Verdict.OK, Verdict.FIRING], config_errors=False, fail_on_alert=True)
        == 3
    )
    assert exit_code_for_run([], config_errors=False, fail_on_alert=True) == EXIT_OK


def test_the_codes_are_defined_once() -> None:
    assert (EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_ALERT) == (0, 1, 2, 3)
    package = Path(exit_codes.__file__).parent.parent
    defining = [
        str(path.relative_to(package))
        for path in sorted(package.rglob("*.py"))
        if re.search(r"^\s*EXIT_[A-Z]+\b[^=\n]*=(?!=)", path.read_text(encoding="utf-8"), re.M)
    ]
    assert defining == ["cli/exit_codes.py"]
