"""``load_alert_dags``: one Airflow DAG per alert of an alerts file, and a DAG file that never raises.

A DAG file that raises hides every DAG it defines, so everything here is wrapped: each file
is resolved in its own try block, each DAG is built in its own try block (dag-factory's good
habit), problems are logged and shown as DAGs (``placeholder``), and the outermost call
catches whatever is left. Broken files fall back to their last valid version (``manifest``).

Parse cost: Airflow re-parses the DAG file every 30 s and at every task start. Unchanged
alerts files are read back from the manifest instead of re-validated, and when
``get_parsing_context().dag_id`` names one of our DAGs (a worker starting a task) only that
DAG is built.
"""

from __future__ import annotations

import functools
import glob
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, get_parsing_context

from sqlsentinel_airflow.airflow_contract import (
    DRY_RUN_PARAM,
    EVALUATE_TASK_ID,
    SENTINEL_TAG,
    STALE_TAG,
    TAG_MAX_LEN,
    AlertDefinition,
    DefinitionLink,
    alert_dag_id,
    config_errors_dag_id,
    config_watch_dag_id,
    embed_definition,
)
from sqlsentinel_airflow.core.config.assets import condition_to_yaml
from sqlsentinel_airflow.core.config.models import (
    AlertConfig,
    AlertsConfig,
    ChannelConfig,
    describe_channel,
    slugify,
)
from sqlsentinel_airflow.core.config.routes import explain_routing
from sqlsentinel_airflow.core.freshness import describe_check
from sqlsentinel_airflow.core.grouping import group_wait_allowance
from sqlsentinel_airflow.core.redact import mask_values, secret_values
from sqlsentinel_airflow.dags import manifest as manifests
from sqlsentinel_airflow.dags.assets import (
    AssetRefused,
    airflow_schedule,
    check_assets,
    produced_groups,
    produced_task_id,
    to_airflow_asset,
)
from sqlsentinel_airflow.dags.inlets import freshness_inlets
from sqlsentinel_airflow.dags.placeholder import (
    LoadProblem,
    StaleBanner,
    build_config_errors_dag,
    build_invalid_alert_dag,
    fenced,
    stale_banner,
)
from sqlsentinel_airflow.errors import ConfigError
from sqlsentinel_airflow.triggers.fingerprint import is_pattern

__all__ = [
    "DRY_RUN_SCHEMA",
    "EXECUTION_TIMEOUT_MARGIN",
    "START_DATE",
    "alert_definition",
    "alert_doc_md",
    "build_alert_dag",
    "describe_channel",
    "load_alert_dags",
]

log = logging.getLogger(__name__)

# The task's execution_timeout is the query's statement timeout plus this: connecting,
# writing state and delivering notifications (webhooks time out after 10 s each) take time
# too, and the database-side timeout should fire first with a clear message.
EXECUTION_TIMEOUT_MARGIN = timedelta(minutes=2)
# A fixed past date (naive: the alert's timezone is attached per DAG); the timetable takes its
# timezone from start_date's tzinfo. With catchup=False and a start date in the past, the
# scheduler runs the most recent past cron tick as soon as the DAG appears, so a new alert is
# evaluated once at deploy (which also proves its query works), then on its schedule.
START_DATE = (2024, 1, 1)


@functools.cache
def start_date_in(timezone: str) -> pendulum.DateTime:
    """:data:`START_DATE` in ``timezone``: one (immutable) object per zone, shared by its
    alerts' DAGs; making it per DAG cost ~0.04 ms for a zone other than UTC, ~4% of a
    parse (docs/benchmarks.md, section 1, run 13)."""
    return pendulum.datetime(*START_DATE, tz=timezone)


# The dry_run Param's schema. Airflow resolves a Param three times per DAG while parsing
# (``DAG._validate_params``, and ``ParamsDict.__eq__``/``__repr__`` when serialising the
# task), and each ``jsonschema.validate`` first checks the schema against its meta-schema.
# Without ``$schema`` that is draft 2020-12's (``$dynamicRef``, vocabularies): ~0.5 ms a
# resolve, a quarter of a parse. Draft 7's meta-schema checks the same ``type: boolean``
# 3-5x faster; the trigger form's switch and the validation of a run's conf are unchanged
# (docs/benchmarks.md, section 1, run 11).
DRY_RUN_SCHEMA: Mapping[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "boolean",
}


# --- one alert DAG -----------------------------------------------------------------------


def alert_definition(
    alert: AlertConfig,
    *,
    banner: StaleBanner | None = None,
    secrets: Sequence[str] | None = None,
) -> AlertDefinition:
    """The alert's secret-free definition, embedded in its DAG for the UI (``airflow_contract``).

    Channels are described without their secret fields, and the alert's declared secret values
    are masked in the free text too (a webhook URL pasted into the description or the SQL).
    ``secrets``: the alert's ``secret_values`` when the caller has them already.
    """
    renotify, flap = alert.renotify_after, alert.flap_detection
    if secrets is None:
        secrets = tuple(secret_values(alert))
    return AlertDefinition(
        name=alert.name,
        description=mask_values(alert.description, secrets),
        severity=alert.severity,
        owner=alert.owner,
        tags=alert.tags,
        enabled=alert.enabled,
        schedule=alert.schedule or "",
        timezone=alert.timezone,
        assets=None if alert.assets is None else condition_to_yaml(alert.assets),
        trigger=alert.trigger,
        produces=tuple(p.describe() for p in alert.produces),
        conn_id=alert.conn_id,
        database_url_env=alert.database_url_env,
        sql_dialect=alert.dialect,
        query=mask_values(alert.query, secrets),
        query_file=alert.query_file,
        freshness=describe_check(alert.freshness) if alert.freshness is not None else None,
        timeout_seconds=int(alert.timeout.total_seconds()),
        fire_after=alert.fire_after,
        resolve_after=alert.resolve_after,
        renotify_after_seconds=int(renotify.total_seconds()) if renotify else None,
        notify_on_recovery=alert.notify_on_recovery,
        notify_on_error=alert.notify_on_error,
        flap_changes=flap.changes if flap else None,
        flap_window_seconds=int(flap.window.total_seconds()) if flap else None,
        flap_stable_for_seconds=int(flap.stable_for.total_seconds()) if flap else None,
        key_columns=alert.key_columns,
        channels=tuple(
            describe_channel(slot.config)
            if slot.receiver is None
            else f"receiver `{slot.receiver}`: {describe_channel(slot.config)}"
            for slot in alert.channel_slots()
        ),
        routing=explain_routing(alert) if alert.routing is not None else None,
        source_file=alert.source_file,
        source_line=alert.source_line,
        banner=banner.text if banner is not None else "",
        runbook_url=mask_values(alert.runbook_url, secrets) if alert.runbook_url else None,
        links=tuple(
            DefinitionLink(title=link.title, url=mask_values(link.url, secrets))
            for link in alert.links
        ),
        config_errors=banner.located if banner is not None else (),
        depends_on=alert.depends_on,
    )


def alert_doc_md(
    alert: AlertConfig,
    *,
    banner: StaleBanner | None = None,
    secrets: Sequence[str] | None = None,
) -> str:
    """The DAG's documentation, rendered from the alert's definition, which it embeds."""
    if secrets is None:
        secrets = tuple(secret_values(alert))
    definition = alert_definition(alert, banner=banner, secrets=secrets)
    facts = [f"- **{label}:** {text}" for label, text in definition.facts()]
    channels = [f"- {c}" for c in definition.channels] or ["- none configured"]
    parts = [
        (banner.markdown() if banner is not None else "") + f"### {definition.name}",
        definition.description,
        "\n".join(facts),
        "#### Query\n\n" + fenced(definition.query, "sql"),
        "#### Notifications\n\n" + "\n".join(channels),
        f"Trigger with **{DRY_RUN_PARAM}** on to run the query and see the decision without "
        "changing state or notifying anyone.\n",
    ]
    markdown = "\n\n".join(p for p in parts if p)
    return embed_definition(mask_values(markdown, secrets), definition)


def _tags(alert: AlertConfig, extra: Sequence[str]) -> list[str]:
    tags: list[str] = []
    for tag in (SENTINEL_TAG, alert.severity, *alert.tags, *extra):
        if tag and len(tag) <= TAG_MAX_LEN and tag not in tags:
            tags.append(tag)
    return tags


def task_time_limit(alert: AlertConfig) -> timedelta:
    """The evaluating task's ``execution_timeout`` before any wait for its parents."""
    # plus the wait for its groups across alerts (docs/adr/0016-groups-across-alerts.md)
    return alert.timeout + EXECUTION_TIMEOUT_MARGIN + group_wait_allowance(alert)


def parents_wait(alert: AlertConfig, config: AlertsConfig | None) -> timedelta:
    """How long the task of an alert with ``depends_on`` waits at most for its parents' DAG
    runs: the longest a parent's task may run (its own limit), so a parent evaluating when
    the child starts is waited for to its end; a parent that is not a valid alert of
    ``config`` (a placeholder, whose task fails at once) counts as the margin alone."""
    if not alert.depends_on:
        return timedelta(0)
    by_name = {a.name: a for a in config.alerts} if config is not None else {}
    return max(
        task_time_limit(by_name[name]) if name in by_name else EXECUTION_TIMEOUT_MARGIN
        for name in alert.depends_on
    )


def build_alert_dag(
    alert: AlertConfig,
    *,
    dag_id: str | None = None,
    config: AlertsConfig | None = None,
    banner: StaleBanner | None = None,
    extra_tags: Sequence[str] = (),
    parent_dag_ids: Sequence[str] | None = None,
) -> DAG:
    """The DAG of one alert: its cron in its timezone and/or its assets (``dags/assets.py``),
    one ``SentinelAlertOperator`` task, and one ``ProducedAssetsOperator`` per group of
    ``produces`` (docs/assets.md).

    ``parent_dag_ids``: the DAGs of its ``depends_on`` when the call gives the dag_ids
    another prefix (None: ``alert.depends_on_dag_ids``)."""
    from sqlsentinel_airflow.operators.alert import SentinelAlertOperator

    wait = parents_wait(alert, config)
    secrets = tuple(secret_values(alert))  # found once: the texts below are all masked

    dag = DAG(
        dag_id=dag_id or alert.dag_id,
        dag_display_name=alert.name,
        description=mask_values(alert.description, secrets).strip().splitlines()[0]
        if alert.description.strip()
        else None,
        schedule=airflow_schedule(alert),
        start_date=start_date_in(alert.timezone),
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=False,
        tags=_tags(alert, extra_tags),
        params={
            DRY_RUN_PARAM: Param(
                False,
                description="Run the query and show the decision without changing state "
                "or sending notifications.",
                schema=dict(DRY_RUN_SCHEMA),
            )
        },
        doc_md=alert_doc_md(alert, banner=banner, secrets=secrets),
    )
    # Each task gets its settings itself and joins the DAG once built (``add_task``): built
    # with ``dag=``, a task takes a deep copy of the DAG's params, and serialising it resolves
    # the dry_run Param twice more (``ParamsDict.__eq__`` and ``__repr__``): two thirds of
    # the Param's parse cost, for a copy Airflow never needs (a run's params are the DAG's,
    # merged with the task's own: ``process_params``). Same owner, retries, retry delay and
    # time limit as DAG-level default_args gave (docs/benchmarks.md, section 1, run 13).
    task_args: dict[str, Any] = {
        "owner": alert.owner,
        "retries": alert.retries,
        "retry_delay": alert.retry_delay,
        # plus the wait for its parents' DAG runs (depends_on)
        "execution_timeout": task_time_limit(alert) + wait,
    }
    evaluate = SentinelAlertOperator(
        task_id=EVALUATE_TASK_ID,
        alert=alert,
        state_db=config.state_db if config is not None else None,
        file_silences=config.silences if config is not None else (),
        inlets=freshness_inlets(alert),
        parent_dag_ids=parent_dag_ids,
        parents_wait=wait,
        **task_args,
    )
    dag.add_task(evaluate)
    if alert.produces:
        from sqlsentinel_airflow.operators.produces import ProducedAssetsOperator

        for on, produced in produced_groups(alert.produces).items():
            announce = ProducedAssetsOperator(
                task_id=produced_task_id(on),
                alert_name=alert.name,
                on=on,
                outlets=[to_airflow_asset(p.asset, "produces") for p in produced],
                **{**task_args, "retries": 0},
            )
            dag.add_task(announce)
            evaluate >> announce
    return dag


# --- planning: which DAGs a call defines ----------------------------------------------------


@dataclass
class _Plan:
    """The DAGs of one call, each buildable on its own, and the problems found so far."""

    builders: dict[str, Callable[[], DAG]] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    problems: list[LoadProblem] = field(default_factory=list)

    def add(self, dag_id: str, source: str, build: Callable[[], DAG]) -> None:
        if dag_id in self.builders:
            self.problems.append(
                LoadProblem(
                    source=source,
                    message=f"dag_id {dag_id!r} is already defined by {self.origin[dag_id]}",
                    consequence=f"the second definition of `{dag_id}` is skipped",
                )
            )
            return
        self.builders[dag_id] = build
        self.origin[dag_id] = source


def _plan_source(plan: _Plan, state: manifests.SourceState, prefix: str | None) -> None:
    source = str(state.source)
    config = state.config
    file_prefix = config.dag_id_prefix if config is not None else None
    effective_prefix = prefix if prefix is not None else file_prefix

    def dag_id_of(alert: AlertConfig) -> str:
        return alert.dag_id if prefix is None else alert_dag_id(prefix, alert.slug)

    def parents_of(alert: AlertConfig) -> tuple[str, ...] | None:
        """Its parents' dag_ids under this call's prefix (None: as the loader made them)."""
        if prefix is None:
            return None
        return tuple(alert_dag_id(prefix, slugify(name)) for name in alert.depends_on)

    whole_file_banner: StaleBanner | None = None
    if state.fallback_since is not None:
        whole_file_banner = stale_banner(
            state.file_errors, whole_file=True, since=state.fallback_since
        )
    for error in state.file_errors:
        if state.fallback_since is not None:
            consequence = "the file cannot be loaded: its alerts run their last valid version"
        elif config is None:
            consequence = (
                "the file cannot be loaded and no earlier version is known: none of its alerts run"
            )
        else:
            consequence = "reported only: the valid alerts of the file are running"
        plan.problems.append(LoadProblem(source, error.format(), consequence))

    if config is not None:
        for alert in config.alerts:
            refused = _refused_asset(alert)
            if refused is not None:  # Airflow's asset normalizer says no: like an invalid alert
                dag_id = dag_id_of(alert)
                plan.add(dag_id, source, _invalid_builder(dag_id, alert.name, [refused], source))
                plan.problems.append(
                    LoadProblem(
                        source,
                        refused.format(),
                        f"alert `{alert.name}` is not running; see DAG `{dag_id}`",
                    )
                )
                continue
            plan.add(
                dag_id_of(alert),
                source,
                _alert_builder(
                    alert, dag_id_of(alert), config, whole_file_banner, parents_of(alert)
                ),
            )
    for name, errors in state.alert_errors.items():
        messages = "\n".join(e.format() for e in errors)
        last_valid = state.stale.get(name)
        if last_valid is not None:
            dag_id = dag_id_of(last_valid)
            banner = stale_banner(errors, whole_file=False, since=None)
            plan.add(
                dag_id,
                source,
                _alert_builder(
                    last_valid, dag_id, config, banner, parents_of(last_valid), stale=True
                ),
            )
            plan.problems.append(
                LoadProblem(
                    source,
                    messages,
                    f"alert `{name}` keeps running its last valid version (DAG `{dag_id}`)",
                )
            )
            continue
        slug = slugify(name)
        if not slug:
            plan.problems.append(LoadProblem(source, messages, f"alert `{name}` is not running"))
            continue
        dag_id = alert_dag_id(effective_prefix, slug)
        plan.add(dag_id, source, _invalid_builder(dag_id, name, errors, source))
        plan.problems.append(
            LoadProblem(source, messages, f"alert `{name}` is not running; see DAG `{dag_id}`")
        )
    if state.fallback_since is not None:
        # The whole file failed: alerts that were invalid in the last valid version and
        # had a version before that keep running it, with the file-level banner.
        for name, alert in state.stale.items():
            if name not in state.alert_errors:
                plan.add(
                    dag_id_of(alert),
                    source,
                    _alert_builder(
                        alert,
                        dag_id_of(alert),
                        config,
                        whole_file_banner,
                        parents_of(alert),
                        stale=True,
                    ),
                )


def _refused_asset(alert: AlertConfig) -> ConfigError | None:
    """The located error for an asset of ``alert`` that Airflow refuses (its schedule's,
    ``produces``', its freshness check's: ``check_assets``), or None."""
    try:
        check_assets(alert)
    except AssetRefused as exc:
        index = "" if alert.source_index is None else f"[{alert.source_index}]"
        return ConfigError(
            exc.message,
            file=alert.source_file,
            line=alert.source_line,
            path=f"alerts{index}.{exc.key}",
            hint="write the URI the way Airflow's asset docs show for its scheme",
            alert=alert.name,
            alert_index=alert.source_index,
        )
    return None


def _alert_builder(
    alert: AlertConfig,
    dag_id: str,
    config: AlertsConfig | None,
    banner: StaleBanner | None,
    parent_dag_ids: tuple[str, ...] | None,
    *,
    stale: bool = False,
) -> Callable[[], DAG]:
    extra = (STALE_TAG,) if stale or banner is not None else ()
    return lambda: build_alert_dag(
        alert,
        dag_id=dag_id,
        config=config,
        banner=banner,
        extra_tags=extra,
        parent_dag_ids=parent_dag_ids,
    )


def _invalid_builder(
    dag_id: str, name: str, errors: Sequence[ConfigError], source: str
) -> Callable[[], DAG]:
    return lambda: build_invalid_alert_dag(
        dag_id=dag_id, alert_name=name, errors=errors, source=source
    )


# --- the entry point ------------------------------------------------------------------------


def _caller_globals() -> dict[str, Any]:
    """The globals of the first frame outside this package: the DAG file calling us."""
    frame = sys._getframe(1)
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith(
        "sqlsentinel_airflow"
    ):
        frame = frame.f_back  # type: ignore[assignment]
    return frame.f_globals if frame is not None else {}


def _sources(
    path_or_glob: str, base_dir: Path, directory: Path
) -> tuple[list[Path], list[LoadProblem]]:
    pattern = Path(os.path.expanduser(path_or_glob))
    if not pattern.is_absolute():
        pattern = base_dir / pattern
    if not is_pattern(str(pattern)):
        return [pattern], []
    matches = sorted(
        Path(p)
        for p in glob.glob(str(pattern), recursive=True)
        if Path(p).is_file() and not is_rule_test_file(p)
    )
    if matches:
        manifests.remember_glob(str(pattern), matches, directory)
        return matches, []
    remembered = manifests.remembered_glob(str(pattern), directory)
    problem = LoadProblem(
        source=str(pattern),
        message=f"no alerts file matches {pattern}",
        consequence="the files it matched before run their last valid version"
        if remembered
        else "no alerts are defined by this pattern",
    )
    return remembered, [problem]


def is_rule_test_file(path: str) -> bool:
    """A rule-test file (``alerts.test.yaml``, docs/rule-tests.md): never an alerts file, so
    a glob such as ``alerts*.yaml`` passes it by."""
    return Path(path).name.endswith((".test.yaml", ".test.yml"))


def _env_conn_types(env: Mapping[str, str]) -> Callable[[str], str | None]:
    """Connection types from ``AIRFLOW_CONN_*`` only, like ``sqlsentinel validate``.

    Looking connections up in the metadata DB or a secrets backend on every parse is what
    Airflow's best practices warn against (slow, and a backend outage would break parsing).
    """
    from sqlsentinel_airflow.core.databases import conn_type_from_env

    return lambda conn_id: conn_type_from_env(conn_id, env)


def _var_name(dag_id: str, globals_: Mapping[str, Any]) -> str:
    name = re.sub(r"\W", "_", dag_id)
    if not name.isidentifier() or name[0].isdigit():
        name = f"dag_{name}"
    existing = globals_.get(name)
    if existing is not None and not isinstance(existing, DAG):
        name = f"sqlsentinel_dag__{name}"  # never overwrite the DAG file's own names
    return name


def load_alert_dags(
    path_or_glob: str,
    globals_: dict[str, Any] | None = None,
    *,
    dag_id_prefix: str | None = None,
    errors_dag_id: str | None = None,
    manifest_dir: str | os.PathLike[str] | None = None,
    conn_type_of: Callable[[str], str | None] | None = None,
    env: Mapping[str, str] | None = None,
    config_watch: bool = True,
) -> dict[str, DAG]:
    """Define one Airflow DAG per alert of the alerts file(s) and register them in ``globals_``.

    ``path_or_glob`` is relative to the calling DAG file's folder (``globals_["__file__"]``).
    ``dag_id_prefix`` replaces the files' ``dag_id_prefix``; ``errors_dag_id`` names the DAG
    listing configuration problems (default ``<prefix>config_errors``). ``manifest_dir``
    defaults to ``$AIRFLOW_HOME/sqlsentinel/manifests``; ``conn_type_of`` lets validation pick
    each connection's SQL dialect; ``env`` replaces ``os.environ`` for ``${VAR}``.
    ``config_watch`` adds the ``<prefix>config_watch`` DAG (``dags/watch.py``).

    Never raises: problems are logged and shown as DAGs. Returns the DAGs by dag_id.
    """
    try:
        if globals_ is None:
            globals_ = _caller_globals()
        started = time.perf_counter()
        dags = _load(
            path_or_glob,
            globals_,
            dag_id_prefix=dag_id_prefix,
            errors_dag_id=errors_dag_id,
            manifest_dir=manifest_dir,
            conn_type_of=conn_type_of,
            env=os.environ if env is None else env,
            config_watch=config_watch,
        )
        log.info(
            "sqlsentinel: %d DAG(s) from %s in %.3fs",
            len(dags),
            path_or_glob,
            time.perf_counter() - started,
        )
        return dags
    except Exception:
        log.exception(
            "sqlsentinel: load_alert_dags(%r) failed; no alert DAGs defined", path_or_glob
        )
        return {}


def _load(
    path_or_glob: str,
    globals_: dict[str, Any],
    *,
    dag_id_prefix: str | None,
    errors_dag_id: str | None,
    manifest_dir: str | os.PathLike[str] | None,
    conn_type_of: Callable[[str], str | None] | None,
    env: Mapping[str, str],
    config_watch: bool = True,
) -> dict[str, DAG]:
    from sqlsentinel_airflow import __version__

    caller = globals_.get("__file__")
    base_dir = Path(caller).absolute().parent if caller else Path.cwd()
    directory = Path(manifest_dir) if manifest_dir else manifests.default_manifest_dir(env)
    sources, problems = _sources(path_or_glob, base_dir, directory)

    if conn_type_of is None:
        conn_type_of = _env_conn_types(env)
    plan = _Plan(problems=problems)
    watch_notify: list[ChannelConfig] = []
    for source in sources:
        try:
            state = manifests.resolve_source(
                source,
                directory=directory,
                env=env,
                conn_type_of=conn_type_of,
                package_version=__version__,
                display_name=manifests.display_name(source, base_dir),
            )
            _plan_source(plan, state, dag_id_prefix)
            if state.config is not None:
                watch_notify.extend(state.config.default_notify)
        except Exception as exc:
            log.exception("sqlsentinel: cannot load alerts from %s", source)
            plan.problems.append(
                LoadProblem(str(source), f"internal error: {exc}", "none of its alerts run")
            )

    if config_watch:  # the config-watch DAG (dags/watch.py, ADR 6)
        _plan_config_watch(plan, path_or_glob, base_dir, watch_notify, dag_id_prefix)
    errors_id = errors_dag_id or config_errors_dag_id(dag_id_prefix)
    wanted = get_parsing_context().dag_id
    if wanted is not None:
        # A worker starting a task of ``wanted``: build that one DAG and nothing else.
        if wanted in plan.builders:
            return _register({wanted: plan.builders[wanted]}, plan, globals_)
        if wanted == errors_id and plan.problems:
            return _register({}, plan, globals_, errors_id=errors_id)
        return {}
    return _register(plan.builders, plan, globals_, errors_id=errors_id)


def _plan_config_watch(
    plan: _Plan,
    path_or_glob: str,
    base_dir: Path,
    notify: Sequence[ChannelConfig],
    prefix: str | None,
) -> None:
    from sqlsentinel_airflow.dags.watch import build_config_watch_dag

    pattern = Path(os.path.expanduser(path_or_glob))
    if not pattern.is_absolute():
        pattern = base_dir / pattern
    dag_id = config_watch_dag_id(prefix)
    plan.add(
        dag_id,
        str(pattern),
        lambda: build_config_watch_dag(
            dag_id=dag_id,
            path_or_glob=str(pattern),
            base_dir=str(base_dir),
            default_notify=tuple(notify),
        ),
    )


def _register(
    builders: Mapping[str, Callable[[], DAG]],
    plan: _Plan,
    globals_: dict[str, Any],
    *,
    errors_id: str | None = None,
) -> dict[str, DAG]:
    dags: dict[str, DAG] = {}
    for dag_id, build in builders.items():
        try:
            dags[dag_id] = build()
        except Exception as exc:
            log.exception("sqlsentinel: building DAG %s failed", dag_id)
            plan.problems.append(
                LoadProblem(
                    plan.origin.get(dag_id, "?"),
                    f"building DAG {dag_id!r} failed: {type(exc).__name__}: {exc}",
                    f"`{dag_id}` is not running",
                )
            )
    for problem in plan.problems:
        log.warning(
            "sqlsentinel: %s: %s -> %s", problem.source, problem.message, problem.consequence
        )
    if errors_id is not None and plan.problems and errors_id not in dags:
        try:
            dags[errors_id] = build_config_errors_dag(dag_id=errors_id, problems=plan.problems)
        except Exception:
            log.exception("sqlsentinel: building the configuration errors DAG failed")
    for dag_id, dag in dags.items():
        globals_[_var_name(dag_id, globals_)] = dag
    return dags
