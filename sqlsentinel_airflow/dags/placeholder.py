"""How broken alerts and broken alerts files show up in the Airflow UI.

A DAG file that raises hides *every* DAG it defines (Airflow marks them all stale with an
import error), and Airflow has no other channel a DAG file can use to put a message in the UI
(captured Python warnings are logged, not shown). So configuration problems are shown as
DAGs (docs/adr/0003-broken-alerts-in-the-ui.md):

- an alert that is invalid and has never been valid gets a *placeholder DAG* under the
  dag_id it would have had: no schedule, tag ``sqlsentinel-invalid``, the exact validation
  messages in its description and docs, and one task that fails with them when triggered;
- an alert running its last valid version (it broke later, or the whole file broke) keeps
  its DAG, tagged ``sqlsentinel-stale``, with a banner naming the error on top of its docs;
- one ``<prefix>config_errors`` DAG lists every problem of the call, including file-level
  ones (YAML syntax error, missing file) that belong to no alert.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pendulum
from airflow.sdk import DAG

from sqlsentinel_airflow.airflow_contract import (
    EVALUATE_TASK_ID,
    INVALID_TAG,
    REPORT_ERRORS_TASK_ID,
    SENTINEL_TAG,
    ConfigErrorRecord,
    InvalidAlertDefinition,
    embed_invalid_alert,
)
from sqlsentinel_airflow.errors import ConfigError
from sqlsentinel_airflow.operators.config_errors import ConfigErrorOperator

__all__ = [
    "LoadProblem",
    "StaleBanner",
    "build_config_errors_dag",
    "build_invalid_alert_dag",
    "error_list",
    "fenced",
    "stale_banner",
]

# A fixed date in the past: these DAGs have no schedule, the date only has to be valid.
_START_DATE = pendulum.datetime(2024, 1, 1, tz="UTC")
_DESCRIPTION_LIMIT = 300


@dataclass(frozen=True)
class LoadProblem:
    """One configuration problem of a ``load_alert_dags`` call, and what was done about it.

    (Not ``core.config.yamlpos.Problem``, a loader's finding at a YAML path before it
    becomes a ``ConfigError``: this is what the config-errors DAG lists.)
    """

    source: str
    message: str
    consequence: str


def fenced(text: str, language: str = "") -> str:
    """``text`` in a Markdown code fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def error_list(messages: Sequence[str]) -> str:
    """Messages as a Markdown list of code spans: verbatim, and wrapped in Airflow's docs
    pop-up (a code block does not wrap, so long messages ran off its right edge)."""
    return "\n".join(f"- {_code_span(m)}" for m in messages)


def _code_span(text: str) -> str:
    line = " ".join(text.split())
    longest = max((len(run) for run in re.findall(r"`+", line)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if longest else ""
    return f"{ticks}{pad}{line}{pad}{ticks}"


def _short(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= _DESCRIPTION_LIMIT else line[: _DESCRIPTION_LIMIT - 1] + "…"


@dataclass(frozen=True)
class StaleBanner:
    """The warning on top of a DAG that runs the last valid version of an alert.

    ``text`` is plain (the alert definition carries it, the UI shows it); ``markdown`` is
    the top of the DAG's docs, with the current validation errors; ``located`` the same
    errors for the alert definition (the UI lists them).
    """

    headline: str
    detail: str
    errors: tuple[str, ...] = ()
    located: tuple[ConfigErrorRecord, ...] = ()

    @property
    def text(self) -> str:
        return f"{self.headline} {self.detail}"

    def markdown(self) -> str:
        return f"**{self.headline}** {self.detail}\n\n{error_list(self.errors)}\n\n---\n\n"


def stale_banner(
    errors: Sequence[ConfigError], *, whole_file: bool, since: datetime | None
) -> StaleBanner:
    """The banner of a DAG that runs its last valid version instead of the file's."""
    when = f" (loaded {since.strftime('%Y-%m-%d %H:%M:%S %Z').strip()})" if since else ""
    messages = tuple(e.format() for e in errors)
    located = tuple(ConfigErrorRecord.of(e) for e in errors)
    if whole_file:
        return StaleBanner(
            "⚠ The alerts file cannot be loaded.",
            f"This DAG runs the last valid version of the alert{when}. Fix the file; until "
            "then changes to it are not applied.",
            messages,
            located,
        )
    return StaleBanner(
        "⚠ This alert is invalid in the current alerts file.",
        f"This DAG runs its last valid version{when}. Fix the alert; until then changes to "
        "it are not applied.",
        messages,
        located,
    )


def build_invalid_alert_dag(
    *, dag_id: str, alert_name: str, errors: Sequence[ConfigError], source: str
) -> DAG:
    """A visible stand-in for an alert that never validated: no schedule, fails when run."""
    messages = [e.format() for e in errors]
    doc = (
        f"### ⚠ Invalid alert `{alert_name}`\n\n"
        f"This alert in `{source}` did not validate, so it is **not running**. "
        "Fix the errors below; the DAG becomes the real alert at the next parse.\n\n"
        f"{error_list(messages)}\n"
    )
    invalid = InvalidAlertDefinition(
        name=alert_name,
        source_file=next((e.file for e in errors if e.file), source),
        errors=tuple(ConfigErrorRecord.of(e) for e in errors),
    )
    dag = DAG(
        dag_id=dag_id,
        dag_display_name=f"{alert_name} (invalid)",
        description=_short(f"INVALID: {messages[0]}" if messages else "INVALID alert"),
        schedule=None,
        start_date=_START_DATE,
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=False,
        tags=[SENTINEL_TAG, INVALID_TAG],
        doc_md=embed_invalid_alert(doc, invalid),  # what the UI reads (airflow_contract)
    )
    ConfigErrorOperator(
        task_id=EVALUATE_TASK_ID,
        messages=messages,
        retries=0,
        execution_timeout=timedelta(minutes=1),
        dag=dag,
    )
    return dag


def build_config_errors_dag(*, dag_id: str, problems: Sequence[LoadProblem]) -> DAG:
    """One DAG listing every configuration problem of a ``load_alert_dags`` call."""
    lines = [
        "### ⚠ SQL Sentinel configuration errors\n",
        "Valid alerts keep running. Each problem below says what was done about it; "
        "this DAG disappears once every problem is fixed.\n",
    ]
    by_source: dict[str, list[LoadProblem]] = {}
    for problem in problems:
        by_source.setdefault(problem.source, []).append(problem)
    for source, items in by_source.items():
        lines.append(f"#### `{source}`\n")
        for item in items:
            lines.append(f"- {item.consequence}\n\n{fenced(item.message, 'text')}\n")
    messages = [f"{p.message} -> {p.consequence}" for p in problems]
    count = len(problems)
    dag = DAG(
        dag_id=dag_id,
        dag_display_name="SQL Sentinel: configuration errors",
        description=_short(f"{count} configuration problem(s): {problems[0].message}"),
        schedule=None,
        start_date=_START_DATE,
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=False,
        tags=[SENTINEL_TAG, INVALID_TAG],
        doc_md="\n".join(lines),
    )
    ConfigErrorOperator(
        task_id=REPORT_ERRORS_TASK_ID,
        messages=messages,
        retries=0,
        execution_timeout=timedelta(minutes=1),
        dag=dag,
    )
    return dag
