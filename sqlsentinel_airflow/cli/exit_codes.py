"""The CLI's exit codes, defined once, and the one mapping of run verdicts to them.

0 all went well (a firing alert is a result, not a failure); 1 a query failed, a
notification is still undelivered, or the state DB failed; 2 invalid config or usage;
3 with ``run --fail-on-alert`` when an alert fires (README, "Command line").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the service is imported by ``run`` only: other commands start faster
    from sqlsentinel_airflow.service import Verdict

__all__ = ["EXIT_ALERT", "EXIT_FAILED", "EXIT_INVALID", "EXIT_OK", "exit_code_for_run"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_ALERT = 3


def exit_code_for_run(
    verdicts: Iterable[Verdict], *, config_errors: bool, fail_on_alert: bool
) -> int:
    """``sqlsentinel run``'s exit code: 2 for config errors, else the most serious of its
    alerts' codes (1 before 3 before 0). Dry runs map the same way."""
    from sqlsentinel_airflow.service import Verdict

    code_of = {
        Verdict.QUERY_FAILED: EXIT_FAILED,
        Verdict.UNDELIVERED_RETRY_MAY_HELP: EXIT_FAILED,
        Verdict.UNDELIVERED_NEEDS_FIX: EXIT_FAILED,
        Verdict.FIRING: EXIT_ALERT if fail_on_alert else EXIT_OK,
        Verdict.OK: EXIT_OK,
    }
    if config_errors:
        return EXIT_INVALID
    codes = {code_of[v] for v in verdicts}
    return next((c for c in (EXIT_FAILED, EXIT_ALERT) if c in codes), EXIT_OK)
