"""Domain types shared by the core, the state store and the edges.

Plain frozen dataclasses: the state machine is a pure function over them
(``state_machine.decide``), and the store persists ``InstanceState`` field by field.

Vocabulary
- *alert*: one entry of alerts.yaml; *instance*: one key of a multi-row alert
  (``key_columns``); single-row alerts have exactly one instance, key ``""``.
- *outcome*: what one evaluation observed for an instance: ALERT, OK, ERROR, or MISSING
  (a keyed instance that stopped appearing; it counts like OK for resolution).
- *state*: OK, PENDING (ALERT seen, fewer than ``fire_after`` in a row), FIRING, ERROR
  (the query failed; ``last_good_state`` keeps the state from before). FLAPPING is shown,
  never held: an instance in flap keeps its alerting state and ``flapping_since`` beside it
  (``InstanceState.shown_state``; docs/notifications.md, "Flap detection").
- *event*: something to notify: firing, reminder, resolved, error, flapping.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeAlias

__all__ = [
    "Decision",
    "EscalationStep",
    "Event",
    "EventKind",
    "FlapPolicy",
    "InstanceResult",
    "InstanceState",
    "JsonValue",
    "Observation",
    "Outcome",
    "Policy",
    "QueryEvaluation",
    "Reason",
    "RunType",
    "Silence",
    "State",
]

JsonValue: TypeAlias = Any
"""A value that ``json.dumps`` accepts (str, int, float, bool, None, list, dict)."""


class Outcome(str, enum.Enum):
    ALERT = "ALERT"
    OK = "OK"
    ERROR = "ERROR"
    MISSING = "MISSING"


class State(str, enum.Enum):
    OK = "OK"
    PENDING = "PENDING"
    FIRING = "FIRING"
    ERROR = "ERROR"
    # Shown (history, UI, CLI), never held in ``InstanceState.state``: see ``shown_state``.
    FLAPPING = "FLAPPING"

    @property
    def urgency(self) -> int:
        """How urgent the state is, for "the worst instance":
        FIRING > FLAPPING > ERROR > PENDING > OK."""
        return _URGENCY[self]


_URGENCY = {State.OK: 0, State.PENDING: 1, State.ERROR: 2, State.FLAPPING: 3, State.FIRING: 4}


class EventKind(str, enum.Enum):
    FIRING = "firing"
    REMINDER = "reminder"
    RESOLVED = "resolved"
    ERROR = "error"
    FLAPPING = "flapping"
    # acknowledgements and escalation (docs/responding.md); on the payload's wire both are
    # ``kind: firing`` with their own field, as a flapping notice is
    ESCALATION = "escalation"  # an escalation step: sent to that step's receiver only
    ACKNOWLEDGED = "acknowledged"  # someone acknowledged: to channels that track incidents


class RunType(str, enum.Enum):
    SCHEDULED = "scheduled"
    MANUAL = "manual"
    BACKFILL = "backfill"
    ASSET_TRIGGERED = "asset_triggered"  # its assets were updated (docs/assets.md)
    CLI = "cli"
    OTHER = "other"


class Reason(str, enum.Enum):
    """Why the notify decision came out the way it did (explicit, like Alertmanager's dedup stage)."""

    FIRST_FIRING = "first firing"
    FIRING_AFTER_SILENCE = "silence ended while firing"
    REMINDER_DUE = "reminder due (renotify_after elapsed)"
    STILL_FIRING = "still firing, reminder not due"
    STILL_FIRING_NO_REMINDERS = "still firing, reminders off"
    RESOLVED = "resolved"
    RESOLVED_QUIETLY = "resolved (notify_on_recovery is off)"
    RESOLVED_UNNOTIFIED = "resolved (firing was never notified)"
    PENDING_FIRE_AFTER = "suppressed by fire_after"
    PENDING_RESOLVE_AFTER = "suppressed by resolve_after"
    SILENCED = "silenced"
    OK = "ok"
    ERROR_NOTIFIED = "query failed notify_on_error times in a row"
    ERROR_BELOW_THRESHOLD = "query failed, below notify_on_error"
    ERROR_ALREADY_NOTIFIED = "query still failing, already notified"
    ERROR_NOT_NOTIFIED = "query failed, notify_on_error is off"
    RECOVERED_FROM_ERROR = "query succeeded again"
    FLAPPING_STARTED = "started flapping (flap_detection)"
    FLAPPING_AFTER_SILENCE = "silence ended while flapping"
    FLAPPING = "flapping, notifications held until stable"
    SETTLED_FIRING = "settled firing after flapping"
    SETTLED_OK = "settled ok after flapping"
    BACKFILL = "backfill runs never notify"
    ACKNOWLEDGED = "still firing, acknowledged"
    ACK_REARMED = "worse than when acknowledged (ack rearm_factor)"
    ESCALATED = "not acknowledged within the escalation step"
    INHIBITED = "held while a parent alert (depends_on) fires or fails"
    FIRING_AFTER_INHIBITION = "parent alert recovered while firing"

    @property
    def code(self) -> str:
        """The stable name (``first_firing``): what is stored and what programs match on.

        The value is the English a person reads; it may be reworded, the code may not.
        """
        return self.name.lower()

    @classmethod
    def from_code(cls, code: str) -> Reason:
        """The reason named ``code`` (``first_firing``); ValueError for an unknown one."""
        try:
            return cls[code.upper()]
        except KeyError:
            raise ValueError(f"unknown reason code {code!r}") from None

    @classmethod
    def parse(cls, text: str) -> Reason | None:
        """The reason ``text`` names by its code (``first_firing``) or by its English (what
        releases before the codes stored); None for a name this release does not know."""
        return _REASONS_BY_NAME.get(text)


# Codes and English texts never name two different reasons (``ok``, ``resolved`` and
# ``silenced`` are both the code and the text of the same one).
_REASONS_BY_NAME = {**{r.value: r for r in Reason}, **{r.code: r for r in Reason}}


@dataclass(frozen=True)
class FlapPolicy:
    """``flap_detection``: ``changes`` OK<->FIRING changes within ``window`` make the instance
    flap; it settles after ``stable_for`` without a change (docs/notifications.md)."""

    changes: int
    window: timedelta
    stable_for: timedelta


@dataclass(frozen=True)
class EscalationStep:
    """One step of an escalation ladder: when the incident is still unacknowledged ``after``
    its start, notify ``receiver`` (a name of ``receivers:``) once."""

    after: timedelta
    receiver: str


@dataclass(frozen=True)
class Policy:
    """The per-alert knobs of the state machine (resolved from the alert and defaults)."""

    fire_after: int = 1
    resolve_after: int = 1
    renotify_after: timedelta | None = None
    notify_on_recovery: bool = True
    notify_on_error: int | None = 3  # None: never notify query errors
    flap: FlapPolicy | None = None  # None: no flap detection
    # an acknowledgement ends (and one reminder goes out) when the value gets this many times
    # worse than when it was acknowledged; None: it lasts until the incident resolves
    ack_rearm_factor: float | None = None
    escalation: tuple[EscalationStep, ...] = ()  # in order of ``after``


@dataclass(frozen=True)
class InstanceResult:
    """One row of a successful query, checked against the contract."""

    key: str  # "" for single-row alerts; canonical JSON of the key values otherwise
    key_values: dict[str, JsonValue]
    status: Outcome  # ALERT or OK
    actual_value: JsonValue = None
    threshold: JsonValue = None
    context: dict[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True)
class QueryEvaluation:
    """The contract check of one query result: instances, or an error that says which rule broke."""

    instances: tuple[InstanceResult, ...] = ()
    error: str | None = None
    columns: tuple[str, ...] = ()
    row_count: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Observation:
    """What the state machine is told about one instance in one evaluation."""

    outcome: Outcome
    actual_value: JsonValue = None
    threshold: JsonValue = None
    context: dict[str, JsonValue] = field(default_factory=dict)
    error: str | None = None  # the query error, when outcome is ERROR


@dataclass(frozen=True)
class InstanceState:
    """Persisted state of one alert instance (one row of the state table)."""

    alert_name: str
    instance_key: str = ""
    state: State = State.OK
    last_good_state: State = State.OK  # the state before ERROR; equals ``state`` otherwise
    consecutive_alerts: int = 0
    consecutive_oks: int = 0
    consecutive_errors: int = 0
    state_since: datetime | None = None  # when ``state`` was entered
    firing_since: datetime | None = None  # start of the current incident (FIRING)
    firing_notified: bool = False  # a firing event went out for the current incident
    last_notified_at: datetime | None = None  # last firing/reminder event enqueued
    error_notified: bool = False  # an error event went out for the current error streak
    last_evaluated_at: datetime | None = None
    last_outcome: Outcome | None = None
    last_value: JsonValue = None
    last_threshold: JsonValue = None
    last_context: dict[str, JsonValue] = field(default_factory=dict)
    last_error: str | None = None
    key_values: dict[str, JsonValue] = field(default_factory=dict)
    # flap detection: set while the instance flaps (per-change events held back)
    flapping_since: datetime | None = None
    # its recent OK<->FIRING changes (within the window; while flapping only the last one)
    flap_changes: tuple[datetime, ...] = ()
    flap_notified: bool = False  # a flapping event went out for the current flap
    # acknowledgement of the current incident (cleared when it resolves or re-arms)
    acked_at: datetime | None = None
    acked_by: str | None = None
    ack_comment: str | None = None
    ack_source: str | None = None  # ui | cli | slack | email
    ack_value: JsonValue = None  # the value when acknowledged (ack_rearm_factor compares)
    escalation_steps: int = 0  # escalation steps sent in the current incident
    # the parent alerts (``depends_on``) that inhibited its last evaluation (core/inhibition.py)
    inhibited_by: tuple[str, ...] = ()

    @property
    def acknowledged(self) -> bool:
        """Whether someone acknowledged the current incident."""
        return self.acked_at is not None

    @property
    def effective_state(self) -> State:
        """The alerting state, looking through ERROR to the state kept beside it."""
        return self.last_good_state if self.state is State.ERROR else self.state

    @property
    def shown_state(self) -> State:
        """What history, the UI and the CLI show: FLAPPING while it flaps (unless the query
        failed: ERROR says more), else ``state``."""
        if self.flapping_since is not None and self.state is not State.ERROR:
            return State.FLAPPING
        return self.state

    @property
    def remembers_flaps(self) -> bool:
        """Whether flap detection needs this instance's row (it flaps, or changed lately)."""
        return self.flapping_since is not None or bool(self.flap_changes)


@dataclass(frozen=True)
class Event:
    """A notification to enqueue: one row per channel goes into the outbox."""

    kind: EventKind
    alert_name: str
    instance_key: str
    reason: Reason
    occurred_at: datetime
    state: State
    actual_value: JsonValue = None
    threshold: JsonValue = None
    context: dict[str, JsonValue] = field(default_factory=dict)
    key_values: dict[str, JsonValue] = field(default_factory=dict)
    firing_since: datetime | None = None
    error: str | None = None
    escalation_step: int | None = None  # ESCALATION: the step's index in the ladder
    # RESOLVED of an incident: the escalation steps it had sent (their receivers hear the end)
    escalated_steps: int = 0


@dataclass(frozen=True)
class Decision:
    """Result of ``decide``: the next state, the events to enqueue, and why."""

    state: InstanceState
    events: tuple[Event, ...]
    reason: Reason


@dataclass(frozen=True)
class Silence:
    """Suppresses events (not evaluation) for alerts whose name matches ``match`` (a glob).

    Whether a silence is active is computed from ``starts_at``/``ends_at``/``ended_at`` and the
    clock, never stored (as in Alertmanager). ``ended_at`` is set when someone ends it early.
    ``id`` is None for silences declared in alerts.yaml (they are not stored).
    """

    match: str
    starts_at: datetime
    ends_at: datetime
    reason: str = ""
    author: str = ""
    id: int | None = None
    created_at: datetime | None = None
    ended_at: datetime | None = None
    source: str = "cli"  # cli | ui | config | slack
    # the one instance it covers (an ``instance_key``); None: every instance of the alert
    instance_key: str | None = None
