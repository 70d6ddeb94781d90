"""The shape every notification channel shares: declared fields, a verdict, no leaked secrets.

Channels are declarative, like astronomer-cosmos profiles: a subclass of :class:`Channel`
names the config model it accepts and the fields of which at least one must be set
(``required``); the base validates the config on construction, so a channel that cannot work
is refused before anything is sent. Which fields hold secrets is declared on the config
model itself (``SECRET`` in ``core/config/models.py``).

Sending returns a :class:`DeliveryResult` instead of raising, like Alertmanager receivers
returning ``(retry, err)``: ``recoverable`` tells whether a later attempt may succeed (a
timeout, a 5xx, a 429) or not until someone fixes something (a 4xx, a missing connection).
Every error text goes through the channel's ``core.redact.Redactor`` first, which masks the
channel's secrets (declared fields, connection passwords, HMAC keys), the path and query of
any URL and bare tokens (a Slack token echoed in an error body), so a message says *which*
endpoint failed without saying how to call it.

Airflow is imported inside functions only: importing ``sqlsentinel_airflow.notify`` is cheap.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from sqlsentinel_airflow.core.config.models import MessageTemplates
from sqlsentinel_airflow.core.redact import Redactor, one_line, secret_values
from sqlsentinel_airflow.errors import DeliveryError

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from sqlsentinel_airflow.notify.actionlinks import ActionLinkMinter

__all__ = [
    "Channel",
    "DeliveryResult",
    "OutboundEvent",
    "RedactingLogger",
    "recoverable_status",
]

log = logging.getLogger(__name__)

ConfigT = TypeVar("ConfigT", bound=BaseModel)


@dataclass(frozen=True)
class OutboundEvent:
    """What a channel sends: the stored event payload and the row's idempotency key."""

    payload: Mapping[str, Any]
    idempotency_key: str

    @property
    def kind(self) -> str:
        return str(self.payload.get("kind", "firing"))

    @property
    def event_id(self) -> str:
        return str(self.payload.get("event_id", ""))

    @property
    def alert_name(self) -> str:
        return str((self.payload.get("alert") or {}).get("name") or "?")


@dataclass(frozen=True)
class DeliveryResult:
    """The verdict of one send: delivered, or an error (already redacted) and whether to retry."""

    delivered: bool
    recoverable: bool = False
    error: str | None = None

    @classmethod
    def ok(cls) -> DeliveryResult:
        return cls(delivered=True)

    @classmethod
    def failed(cls, error: str, *, recoverable: bool) -> DeliveryResult:
        return cls(delivered=False, recoverable=recoverable, error=error)


def recoverable_status(status: int) -> bool:
    """Whether an HTTP status may turn into a success later: 5xx, 408, 425 and 429."""
    return status >= 500 or status in (408, 425, 429)


class RedactingLogger:
    """A logger for provider code (hooks, slack_sdk) that redacts every line it is given.

    Providers log the URL they call (slack_sdk on retries, HttpHook on connection errors);
    their clients accept a logger, so they get this one instead of their own.
    """

    def __init__(self, target: logging.Logger, redactor: Redactor) -> None:
        self._target = target
        self._redact = redactor

    @property
    def level(self) -> int:
        return self._target.getEffectiveLevel()

    def isEnabledFor(self, level: int) -> bool:  # the logging API's name
        return self._target.isEnabledFor(level)

    def _log(self, level: int, msg: object, args: tuple[object, ...]) -> None:
        if not self._target.isEnabledFor(level):
            return
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = " ".join(str(part) for part in (msg, *args))
        self._target.log(level, "%s", self._redact(text))

    def debug(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.DEBUG, msg, args)

    def info(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.INFO, msg, args)

    def warning(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.WARNING, msg, args)

    warn = warning

    def error(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.ERROR, msg, args)

    def exception(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.ERROR, msg, args)

    def critical(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.CRITICAL, msg, args)


class Channel(ABC, Generic[ConfigT]):
    """One configured notification channel. Subclasses declare; the base validates and redacts.

    Class attributes a subclass sets:
    - ``kind``: the ``channel:`` value in alerts.yaml;
    - ``config_type``: the pydantic model of its config;
    - ``required``: groups of field names, at least one field of each group must be set;
    - ``SENDS_ACKNOWLEDGEMENTS``: an acknowledgement of an incident is enqueued for this
      channel too (PagerDuty acknowledges its own incident; docs/notifications.md).
    """

    kind: ClassVar[str]
    config_type: ClassVar[type[BaseModel]]
    required: ClassVar[tuple[tuple[str, ...], ...]] = ()
    SENDS_ACKNOWLEDGEMENTS: ClassVar[bool] = False

    def __init__(
        self,
        config: ConfigT,
        *,
        templates: MessageTemplates | None = None,
        strict_templates: bool = False,
    ) -> None:
        """Validate ``config``; ``strict_templates`` makes a failing custom template an error
        instead of falling back to the default (``notify-test`` uses it)."""
        if not isinstance(config, self.config_type):
            raise DeliveryError(
                f"{self.kind} channel got a {type(config).__name__} config, "
                f"expected {self.config_type.__name__}",
                recoverable=False,
            )
        problems = self.config_problems(config)
        if problems:
            raise DeliveryError(f"{self.kind} channel: {'; '.join(problems)}", recoverable=False)
        self.config: ConfigT = config
        self.templates = templates or MessageTemplates()
        self.strict_templates = strict_templates
        self.redactor = Redactor(secret_values(config))

    @classmethod
    def config_problems(cls, config: BaseModel) -> list[str]:
        """What is missing from ``config`` for this channel to work (empty: nothing)."""
        problems = []
        for group in cls.required:
            if not any(_is_set(getattr(config, name, None)) for name in group):
                problems.append(f"set {' or '.join(f'`{name}`' for name in group)}")
        return problems

    # --- what subclasses implement -----------------------------------------------------------

    @abstractmethod
    def describe(self) -> str:
        """Where this channel sends, for people: ``slack (connection 'alerts')``, no secrets."""

    @abstractmethod
    def deliver(self, event: OutboundEvent) -> None:
        """Send ``event`` once; raise DeliveryError (or anything) when it did not arrive."""

    def is_recoverable(self, exc: BaseException) -> bool:
        """Whether an unexpected exception from a send may pass on a later attempt."""
        return True

    def offer_action_links(self, minter: ActionLinkMinter) -> None:
        """The alert has ``action_links``: a channel whose messages can carry them (email)
        keeps ``minter``; the others ignore it."""

    # --- what callers use ---------------------------------------------------------------------

    def send(self, event: OutboundEvent) -> DeliveryResult:
        """Send ``event``; never raises for a failed send, the result says what happened."""
        from sqlsentinel_airflow.airflow_compat import mask_in_task_logs

        mask_in_task_logs(*secret_values(self.config))
        try:
            self.deliver(event)
        except DeliveryError as exc:
            return DeliveryResult.failed(self.redactor(str(exc)), recoverable=exc.recoverable)
        except Exception as exc:  # a receiver reports failures, it does not raise
            text = one_line(str(exc)) or "no details"
            return DeliveryResult.failed(
                self.redactor(f"{type(exc).__name__}: {text}"),
                recoverable=self.is_recoverable(exc),
            )
        return DeliveryResult.ok()

    def connection(self, conn_id: str, *, purpose: str) -> Connection:
        """An Airflow connection; its password joins this channel's secrets.

        A connection that is not defined is not recoverable: someone has to create it.
        """
        from airflow.sdk import BaseHook

        from sqlsentinel_airflow.airflow_compat import AirflowNotFoundException, mask_in_task_logs

        try:
            conn = BaseHook.get_connection(conn_id)
        except AirflowNotFoundException:
            env_name = "AIRFLOW_CONN_" + re.sub(r"[^A-Za-z0-9]", "_", conn_id).upper()
            raise DeliveryError(
                f"{purpose} connection '{conn_id}' is not defined; create it in "
                f"Admin > Connections or set {env_name}",
                recoverable=False,
            ) from None
        self.redactor.add(conn.password)
        mask_in_task_logs(conn.password)
        return conn

    def provider_logger(self) -> RedactingLogger:
        """The logger handed to provider clients, so their lines are redacted too."""
        return RedactingLogger(
            logging.getLogger(f"{__package__}.{self.kind}.provider"), self.redactor
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


def _is_set(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, (str, tuple, list, dict)):
        return bool(value)
    return True
