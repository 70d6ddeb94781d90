"""The Airflow contract: every name the package and Airflow share, and the alert definition.

The DAG factory writes these names into Airflow (tags, dag_ids, task ids, a param, an XCom
key, a Variable, ``[sqlsentinel]`` options); the operators, the config watch, the UI and the
CLI read them back. They live here once. Pure Python: importable without Airflow.

**The alert definition** (:class:`AlertDefinition`) is what the UI knows about an alert's
settings: typed, versioned, and free of secrets by construction (it holds conn_ids, the
*name* of an environment variable, and channel descriptions already masked by the factory,
never a URL, header or password). The factory embeds it in the DAG's ``doc_md`` as one JSON
line inside an HTML comment at the end (:func:`embed_definition`):

- ``doc_md`` travels inside the serialized DAG, so the api-server reads it from Airflow's
  metadata database even when it does not share the DAG folder (the manifests may be absent
  there; see docs/adr/0005-ui-plugin.md);
- Airflow's UI renders ``doc_md`` with raw HTML skipped, so the comment is invisible and the
  Markdown people read is unchanged;
- ``<`` and ``>`` are written as JSON escapes, so no text of the alert (a SQL comment ``-->``)
  can end the comment early.

Versioning: :data:`DEFINITION_VERSION` changes only when a field changes meaning or goes away;
new fields get defaults and keep the version. A reader takes every version up to its own and
returns None for a newer one (a DAG parsed by a newer release), as for a DAG without one.

"Dialect" has one meaning in this package: the SQL dialect (a sqlglot dialect name such as
``postgres``) a query is checked in, ``AlertConfig.dialect`` and ``sql_dialect`` here. The
database a query *executes* on is its backend (``execution/backends.py``).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from sqlsentinel_airflow.core.durations import format_duration
from sqlsentinel_airflow.errors import ConfigError

__all__ = [
    "ACTION_PAGE_PATH",
    "ALERT_TAB_ROUTE",
    "ALLOW_PRIVILEGED_CONN_IDS_OPTION",
    "CONFIG_ERRORS_DAG_SUFFIX",
    "CONFIG_SECTION",
    "CONFIG_WATCH_DAG_SUFFIX",
    "DASHBOARD_ROUTE",
    "DEFAULT_API_CONN_ID",
    "DEFAULT_DAG_ID_PREFIX",
    "DEFAULT_SLACK_APP_CONN_ID",
    "DEFINITION_VERSION",
    "DRY_RUN_PARAM",
    "EVALUATE_TASK_ID",
    "EVALUATION_XCOM_KEY",
    "HISTORY_RETENTION_OPTION",
    "INSTANCE_KEY_PARAM",
    "INVALID_TAG",
    "PLUGIN_NAME",
    "REPORT_ERRORS_TASK_ID",
    "REQUEST_REPARSE_TASK_ID",
    "SENTINEL_OWNER",
    "SENTINEL_TAG",
    "SILENCE_PARAM",
    "SLACK_APP_CONN_ID_OPTION",
    "STALE_TAG",
    "STATE_DB_CONN_ID_OPTION",
    "TAG_MAX_LEN",
    "UI_URL_PREFIX",
    "VALIDATE_CONFIG_TASK_ID",
    "WAIT_FOR_CHANGE_TASK_ID",
    "WATCH_TAG",
    "AlertDefinition",
    "ConfigErrorRecord",
    "DefinitionLink",
    "EscalationStepReached",
    "InvalidAlertDefinition",
    "ReceiverReached",
    "RoutingExplanation",
    "action_page_url",
    "alert_dag_id",
    "alert_tab_url",
    "baseline_variable_name",
    "config_errors_dag_id",
    "config_watch_dag_id",
    "dashboard_url",
    "embed_definition",
    "embed_invalid_alert",
    "read_definition",
    "read_invalid_alert",
    "strip_definition",
]

# --- tags: every DAG the package generates carries SENTINEL_TAG ------------------------------

SENTINEL_TAG = "sqlsentinel"
INVALID_TAG = "sqlsentinel-invalid"  # a placeholder for an invalid alert, the errors DAG
STALE_TAG = "sqlsentinel-stale"  # an alert DAG running its last valid version
WATCH_TAG = "sqlsentinel-watch"  # the config-watch DAG
TAG_MAX_LEN = 100  # Airflow's limit on a tag; longer user tags are left out

# --- dag_ids: ``<prefix><slug>`` for alerts and their placeholders, ``<prefix><suffix>`` else -

DEFAULT_DAG_ID_PREFIX = "sqlsentinel_"  # alerts.yaml's ``dag_id_prefix`` default
CONFIG_WATCH_DAG_SUFFIX = "config_watch"
CONFIG_ERRORS_DAG_SUFFIX = "config_errors"
SENTINEL_OWNER = "sqlsentinel"  # owner of the DAGs that are not an alert's


def _prefix(prefix: str | None) -> str:
    return DEFAULT_DAG_ID_PREFIX if prefix is None else prefix


def alert_dag_id(prefix: str | None, slug: str) -> str:
    """The dag_id of an alert (or of the placeholder of an invalid one)."""
    return f"{_prefix(prefix)}{slug}"


def config_watch_dag_id(prefix: str | None) -> str:
    return f"{_prefix(prefix)}{CONFIG_WATCH_DAG_SUFFIX}"


def config_errors_dag_id(prefix: str | None) -> str:
    return f"{_prefix(prefix)}{CONFIG_ERRORS_DAG_SUFFIX}"


def baseline_variable_name(watch_dag_id: str) -> str:
    """The Airflow Variable holding what the config watch last validated."""
    return f"{watch_dag_id}__baseline"


# --- task ids, params, XCom ----------------------------------------------------------------

EVALUATE_TASK_ID = "evaluate"  # the one task of an alert DAG (and of its placeholder)
REPORT_ERRORS_TASK_ID = "report_errors"  # the config-errors DAG
WAIT_FOR_CHANGE_TASK_ID = "wait_for_change"  # the config-watch DAG, in order
VALIDATE_CONFIG_TASK_ID = "validate_config"
REQUEST_REPARSE_TASK_ID = "request_reparse"
DRY_RUN_PARAM = "dry_run"  # the alert DAG's boolean param
EVALUATION_XCOM_KEY = "evaluation"  # what the evaluate task pushes, besides its return value

# --- configuration, connections, plugin -----------------------------------------------------

CONFIG_SECTION = "sqlsentinel"  # [sqlsentinel] in airflow.cfg, AIRFLOW__SQLSENTINEL__*
STATE_DB_CONN_ID_OPTION = "state_db_conn_id"
ALLOW_PRIVILEGED_CONN_IDS_OPTION = "allow_privileged_conn_ids"
HISTORY_RETENTION_OPTION = "history_retention"
# the Airflow connection whose password is the Slack app's signing secret (ui/slack_interactions)
SLACK_APP_CONN_ID_OPTION = "slack_app_conn_id"
DEFAULT_SLACK_APP_CONN_ID = "sqlsentinel_slack_app"
DEFAULT_API_CONN_ID = "sqlsentinel_airflow_api"  # http connection of the re-parse request
PLUGIN_NAME = "sqlsentinel"
UI_URL_PREFIX = "/sqlsentinel"  # where the api-server mounts the UI's FastAPI app
ALERT_TAB_ROUTE = "sqlsentinel-alert"  # plugin.py's url_route of the alert DAG's tab
SILENCE_PARAM = "silence"  # ?silence=open: the tab opens its silence dialog (never silences)
INSTANCE_KEY_PARAM = "instance_key"  # ... for this one instance of a keyed alert


def alert_tab_url(
    base_url: str, dag_id: str, *, silence: bool = False, instance_key: str | None = None
) -> str:
    """The alert's SQL Sentinel tab in Airflow's UI: ``{base}/dags/{dag_id}/plugin/sqlsentinel-alert``.

    ``silence``: the one-click-silence link, ``?silence=open`` (and ``&instance_key=...`` for
    one instance): the tab opens with its silence dialog open, and the user confirms; opening
    the link changes nothing. ``base_url`` is Airflow's ``[api] base_url``; where it is not
    set, messages leave these links out rather than show a wrong one (``core.payload``).
    """
    url = f"{base_url.strip().rstrip('/')}/dags/{quote(dag_id, safe='')}/plugin/{ALERT_TAB_ROUTE}"
    if not silence:
        return url
    params = {SILENCE_PARAM: "open"}
    if instance_key:
        params[INSTANCE_KEY_PARAM] = instance_key
    return f"{url}?{urlencode(params, quote_via=quote)}"


DASHBOARD_ROUTE = "sqlsentinel"  # the nav view's url_route: Airflow shows it at /plugin/<route>


ACTION_PAGE_PATH = "/ui/action"  # the action-link page, under UI_URL_PREFIX


def action_page_url(base_url: str, token: str) -> str:
    """The page an email's action link opens: ``{base}/sqlsentinel/ui/action#t=<token>``.

    The token is in the fragment, which browsers never send: it stays out of the server's
    access log and of Referer headers; the page's script reads it and POSTs it."""
    return f"{base_url.strip().rstrip('/')}{UI_URL_PREFIX}{ACTION_PAGE_PATH}#t={token}"


def dashboard_url(base_url: str) -> str:
    """The SQL Sentinel page in Airflow's UI, for a link in a message (``base_url`` is
    ``[api] base_url``, e.g. ``airflow_compat.api_base_url()``)."""
    return f"{base_url.rstrip('/')}/plugin/{DASHBOARD_ROUTE}"


# --- the alert definition ------------------------------------------------------------------

DEFINITION_VERSION = 1
_MARKER = "sqlsentinel:alert-definition"
_EMBEDDED = re.compile(rf"\n*<!-- {re.escape(_MARKER)} (?P<json>\{{.*\}}) -->\n*\Z")
_INVALID_MARKER = "sqlsentinel:invalid-alert"
_EMBEDDED_INVALID = re.compile(rf"\n*<!-- {re.escape(_INVALID_MARKER)} (?P<json>\{{.*\}}) -->\n*\Z")


class ConfigErrorRecord(BaseModel):
    """One located configuration error (``errors.ConfigError``) as a DAG carries it to the UI."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str = ""
    hint: str | None = None

    @classmethod
    def of(cls, error: ConfigError) -> ConfigErrorRecord:
        return cls(
            message=error.message,
            file=error.file,
            line=error.line,
            column=error.column,
            path=error.path,
            hint=error.hint,
        )

    def to_error(self) -> ConfigError:
        return ConfigError(
            self.message,
            file=self.file,
            line=self.line,
            column=self.column,
            path=self.path,
            hint=self.hint,
        )


def _safe_json(model: BaseModel) -> str:
    text = json.dumps(model.model_dump(mode="json"), ensure_ascii=True, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


class DefinitionLink(BaseModel):
    """One of an alert's ``links``: its title and an http(s) URL."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    title: str
    url: str


class ReceiverReached(BaseModel):
    """A named receiver an alert reaches through ``routes:``: its channels (one line each,
    no secret) and each path of routes that led there (``routes > routes.routes[0]
    (severity: critical)``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    channels: tuple[str, ...] = ()
    via: tuple[str, ...] = ()


class EscalationStepReached(BaseModel):
    """One step of an alert's escalation ladder: after how long unacknowledged, and the
    receiver it tells (its channels, one line each, no secret)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    step: int  # from 1
    after_seconds: int
    receiver: str
    channels: tuple[str, ...] = ()

    def text(self) -> str:
        """``step 1 after 15m: receiver oncall``, as ``sqlsentinel routes`` prints it."""
        after = format_duration(timedelta(seconds=self.after_seconds))
        return f"step {self.step} after {after}: receiver {self.receiver}"


class RoutingExplanation(BaseModel):
    """Which receivers an alert reaches and why (``sqlsentinel routes``, the UI's Routing
    section): its own channels, the receivers, the routes that took it without naming a
    receiver, and the ``renotify_after`` a route sets (``renotify_applied``: the alert uses
    it, having none of its own)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    alert: str
    own_channels: tuple[str, ...] = ()
    routed: bool = False  # the file has `routes:` / `receivers:`
    receivers: tuple[ReceiverReached, ...] = ()
    nobody_via: tuple[str, ...] = ()
    renotify_after_seconds: int | None = None
    renotify_from: str | None = None
    renotify_applied: bool = False
    escalation: tuple[EscalationStepReached, ...] = ()
    escalation_from: str | None = None  # the alert, defaults, or the route that set it

    @property
    def reaches_nobody(self) -> bool:
        return not self.own_channels and not self.receivers

    def renotify_text(self) -> str | None:
        """``1h from routes.routes[0] (applies)``; None when no route sets one."""
        if self.renotify_from is None:
            return None
        seconds = self.renotify_after_seconds
        every = format_duration(timedelta(seconds=seconds)) if seconds else "never"
        used = "applies" if self.renotify_applied else "not used: the alert sets its own"
        return f"{every} from {self.renotify_from} ({used})"

    def lines(self) -> list[str]:
        """The explanation for people, one line each (the CLI's text output)."""
        out = [f"alert {self.alert}"]
        if self.own_channels:
            out.append("  own channels (notify:):")
            out.extend(f"    - {c}" for c in self.own_channels)
        for receiver in self.receivers:
            out.append(f"  receiver {receiver.name}:")
            out.extend(f"    via {v}" for v in receiver.via)
            out.extend(f"    - {c}" for c in receiver.channels)
        out.extend(f"  no receiver via {v}" for v in self.nobody_via)
        if not self.routed:
            out.append("  (the file has no routes:)")
        renotify = self.renotify_text()
        if renotify is not None:
            out.append(f"  renotify_after {renotify}")
        if self.escalation:
            out.append(f"  escalation (from {self.escalation_from}), while unacknowledged:")
        for step in self.escalation:
            out.append(f"    {step.text()}")
            out.extend(f"      - {c}" for c in step.channels)
        if self.reaches_nobody:
            out.append("  reaches nobody")
        return out


class AlertDefinition(BaseModel):
    """An alert's settings as the DAG factory resolved them, without a secret.

    ``channels`` are the factory's one-line descriptions (``email to a@x via connection
    `smtp_default```, ``webhook POST to URL (hidden)``). ``banner`` is the plain-text warning
    of a DAG running the last valid version of an alert ("" when it runs the current one).
    Durations are whole seconds.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    version: int = DEFINITION_VERSION
    name: str
    description: str = ""
    severity: str = "warning"
    owner: str = ""
    tags: tuple[str, ...] = ()
    enabled: bool = True
    schedule: str = ""  # the cron; "" when it runs only when its assets are updated
    timezone: str = "UTC"
    # Runs on assets (docs/assets.md): the condition as alerts.yaml writes it (a URI, a list,
    # {any: [...]}), None when on a cron only; ``trigger`` says when it runs, for people
    # ("" in a definition written before assets: the schedule says it).
    assets: JsonValue = None
    trigger: str = ""
    produces: tuple[str, ...] = ()  # `s3://alerts/x on firing, resolved`
    conn_id: str | None = None
    database_url_env: str | None = None  # the variable's name; its value is never here
    sql_dialect: str | None = None
    query: str = ""
    query_file: str | None = None
    freshness: str | None = None  # a freshness check, for people (docs/freshness.md)
    # the alerts it depends on (docs/assets.md, "Dependencies between alerts")
    depends_on: tuple[str, ...] = ()
    timeout_seconds: int = 0
    fire_after: int = 1
    resolve_after: int = 1
    renotify_after_seconds: int | None = None
    notify_on_recovery: bool = True
    notify_on_error: int | None = None
    # flap_detection (docs/notifications.md): all three set, or all None when it is off
    flap_changes: int | None = None
    flap_window_seconds: int | None = None
    flap_stable_for_seconds: int | None = None
    key_columns: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    source_file: str | None = None
    source_line: int | None = None
    banner: str = ""
    runbook_url: str | None = None  # http(s), checked by the loader
    links: tuple[DefinitionLink, ...] = ()
    config_errors: tuple[ConfigErrorRecord, ...] = ()  # what makes a stale version stale
    routing: RoutingExplanation | None = None  # None: its file has no routes

    @property
    def stale(self) -> bool:
        return bool(self.banner)

    def facts(self) -> tuple[tuple[str, str], ...]:
        """The settings as (label, text) lines: the DAG docs' bullets and the UI's list."""
        on_assets = self.assets is not None and self.trigger
        when = self.trigger if on_assets else f"`{self.schedule}` in {self.timezone}"
        if self.enabled:
            schedule = when
        elif on_assets:
            schedule = f"disabled (`enabled: false`): manual runs only; written: {when}"
        else:
            schedule = f"disabled (`enabled: false`): manual runs only; cron `{self.schedule}`"
        if self.conn_id:
            connection = f"connection `{self.conn_id}`"
        elif self.database_url_env:
            connection = f"the `{self.database_url_env}` environment variable (hidden)"
        else:
            connection = "`database.url` of the alerts file (hidden)"
        timeout = format_duration(timedelta(seconds=self.timeout_seconds))
        renotify = self.renotify_after_seconds
        reminders = format_duration(timedelta(seconds=renotify)) if renotify else "never"
        source = self.source_file or "?"
        if self.source_line is not None:
            source += f":{self.source_line}"
        facts = [
            ("Schedule", schedule),
            ("Severity", self.severity),
            ("Runs on", f"{connection}, statement timeout {timeout}"),
            (
                "Fires after",
                f"{self.fire_after} ALERT result(s) in a row, resolves after "
                f"{self.resolve_after} OK result(s); reminders: {reminders}",
            ),
            ("Source", f"`{source}`"),
        ]
        if self.flap_changes and self.flap_window_seconds and self.flap_stable_for_seconds:
            window = format_duration(timedelta(seconds=self.flap_window_seconds))
            stable = format_duration(timedelta(seconds=self.flap_stable_for_seconds))
            facts.append(
                (
                    "Flap detection",
                    f"{self.flap_changes} changes within {window} make it flap; settled after "
                    f"{stable} without one",
                )
            )
        if self.key_columns:
            facts.append(("One instance per", ", ".join(self.key_columns)))
        if self.produces:
            facts.append(("Produces", "; ".join(self.produces)))
        if self.query_file:
            facts.append(("Query file", f"`{self.query_file}`"))
        if self.freshness:
            facts.append(("Freshness", self.freshness))
        if self.depends_on:
            facts.append(
                (
                    "Depends on",
                    ", ".join(f"`{name}`" for name in self.depends_on)
                    + ": its messages are held while one of them fires or fails",
                )
            )
        if self.runbook_url:
            facts.append(("Runbook", self.runbook_url))
        if self.links:
            facts.append(("Links", ", ".join(f"{link.title}: {link.url}" for link in self.links)))
        return tuple(facts)

    def to_json(self) -> str:
        """One line of JSON without ``<`` or ``>`` (escaped), safe inside an HTML comment."""
        return _safe_json(self)

    @classmethod
    def from_json(cls, text: str) -> AlertDefinition | None:
        """The definition in ``text``; None when it is not one, or of a newer version."""
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        version = data.get("version")
        if not isinstance(version, int) or not 1 <= version <= DEFINITION_VERSION:
            return None
        try:
            return cls.model_validate(data)
        except ValidationError:
            return None


def embed_definition(doc_md: str, definition: AlertDefinition) -> str:
    """``doc_md`` with the definition appended as an HTML comment (invisible when rendered)."""
    return f"{strip_definition(doc_md).rstrip()}\n\n<!-- {_MARKER} {definition.to_json()} -->\n"


def read_definition(doc_md: str | None) -> AlertDefinition | None:
    """The definition embedded in a DAG's ``doc_md``; None when there is none (not an alert's
    DAG, a DAG serialized before the definition existed, or a newer version)."""
    if not doc_md:
        return None
    found = _EMBEDDED.search(doc_md)
    return AlertDefinition.from_json(found.group("json")) if found else None


def strip_definition(doc_md: str) -> str:
    """``doc_md`` without its embedded definition: the Markdown people read."""
    return _EMBEDDED.sub("\n", doc_md) if _EMBEDDED.search(doc_md) else doc_md


class InvalidAlertDefinition(BaseModel):
    """What the placeholder DAG of an invalid alert carries for the UI: its name, its file
    and its errors, embedded in its ``doc_md`` like :class:`AlertDefinition`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    version: int = DEFINITION_VERSION
    name: str
    source_file: str | None = None
    errors: tuple[ConfigErrorRecord, ...] = ()


def embed_invalid_alert(doc_md: str, invalid: InvalidAlertDefinition) -> str:
    """``doc_md`` of a placeholder DAG with ``invalid`` appended (invisible when rendered)."""
    return f"{doc_md.rstrip()}\n\n<!-- {_INVALID_MARKER} {_safe_json(invalid)} -->\n"


def read_invalid_alert(doc_md: str | None) -> InvalidAlertDefinition | None:
    """The invalid alert a placeholder DAG's ``doc_md`` embeds; None for any other DAG (the
    config-errors DAG, an alert's) and for a newer version."""
    found = _EMBEDDED_INVALID.search(doc_md) if doc_md else None
    if found is None:
        return None
    try:
        data = json.loads(found.group("json"))
    except ValueError:
        return None
    version = data.get("version") if isinstance(data, dict) else None
    if not isinstance(version, int) or not 1 <= version <= DEFINITION_VERSION:
        return None
    try:
        return InvalidAlertDefinition.model_validate(data)
    except ValidationError:
        return None
