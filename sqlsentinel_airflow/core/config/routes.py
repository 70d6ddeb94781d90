"""The routing tree of ``routes:``: which named receivers an alert reaches, and why.

Modelled on Alertmanager's route tree (docs/notifications.md, "Receivers and routes"):

- Every alert enters at the root (``routes:``), which matches everything. Its ``routes`` are
  tried in order; the first whose ``match`` holds takes the alert, and the siblings after it
  are tried only if that route says ``continue: true``.
- A route that took an alert hands it on the same way to its own ``routes``; when none of
  them takes it, the route itself delivers to its ``receiver`` (inherited from the parent
  route when it names none; the root's is the *default receiver*).
- ``renotify_after`` and ``escalation`` are inherited the same way.

The tree is resolved when the file loads: :func:`route_alert` gives each alert a
:class:`~sqlsentinel_airflow.core.config.models.Routing`, whose receivers' channels join
the alert's own ``notify:`` (``AlertConfig.channel_slots``). :func:`check_routes` makes the
static checks of validation: unknown receivers, receivers written with secrets, duplicate
names, and routes no alert can ever reach (:func:`unreachable_routes` says when).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlsentinel_airflow.airflow_contract import (
    EscalationStepReached,
    ReceiverReached,
    RoutingExplanation,
)
from sqlsentinel_airflow.core.config import checks
from sqlsentinel_airflow.core.config.matchers import Matchable, Matcher
from sqlsentinel_airflow.core.config.models import (
    DEFAULT_GROUP_WAIT,
    AlertConfig,
    EmailChannel,
    PagerDutyChannel,
    Receiver,
    RouteHit,
    RouteStep,
    Routing,
    SlackChannel,
    TeamsChannel,
    WebhookChannel,
    describe_channel,
)
from sqlsentinel_airflow.core.config.yamlpos import Path, Problem, format_path
from sqlsentinel_airflow.core.model import EscalationStep
from sqlsentinel_airflow.core.redact import secret_field_names

if TYPE_CHECKING:  # the raw models and the loader's helpers load only when a file is loaded:
    # the DAG factory imports this module for explain_routing on every task start
    from sqlsentinel_airflow.core.config.raw import (
        RawEscalationStep,
        RawMatch,
        RawReceiver,
        RawRoute,
        RawRoutes,
    )

__all__ = [
    "Route",
    "RoutingTree",
    "build_routing",
    "escalation_ladder",
    "explain_routing",
    "matcher_of",
    "route_alert",
    "unknown_escalation_receivers",
    "unreachable_routes",
]

# Fields a receiver's channel may not set: they hold secrets in the file itself, and a
# receiver takes its secrets from Airflow connections only.
_SECRET_FIELDS = frozenset(
    name
    for model in (EmailChannel, SlackChannel, WebhookChannel, PagerDutyChannel, TeamsChannel)
    for name in secret_field_names(model)
)
_SECRET_HINT = {
    "webhook_url": "use `conn_id` of a slackwebhook connection",
    "teams.webhook_url": "use `conn_id` of a connection whose password is the webhook URL",
    "url": "use `conn_id` of an http connection (its host, and `endpoint` for the path)",
    "headers": "use `conn_id` of an http connection: put the headers in its extra",
}


@dataclass(frozen=True)
class Route:
    """One route of the tree, as written, with its YAML path."""

    path: Path
    match: Matcher
    receiver: str | None = None
    continue_: bool = False
    renotify_after: timedelta | None = None
    sets_renotify: bool = False
    escalation: tuple[EscalationStep, ...] = ()
    sets_escalation: bool = False
    routes: tuple[Route, ...] = ()

    @property
    def step(self) -> RouteStep:
        return RouteStep(path=format_path(self.path), match=self.match.describe())


@dataclass(frozen=True)
class RoutingTree:
    """The root route and the receivers by name."""

    root: Route
    receivers: Mapping[str, Receiver]


def matcher_of(raw: RawMatch | None) -> Matcher:
    """The :class:`Matcher` of a ``match:`` as written (routes, mute windows)."""
    if raw is None:
        return Matcher()
    return Matcher(severity=raw.severity, owner=raw.owner, tags=raw.tags or (), alert=raw.alert)


def _route(raw: RawRoute | RawRoutes, path: Path) -> Route:
    children = tuple(
        _route(child, (*path, "routes", i)) for i, child in enumerate(raw.routes or ())
    )
    return Route(
        path=path,
        match=matcher_of(getattr(raw, "match", None)),  # the root (RawRoutes) has no match
        receiver=raw.receiver,
        continue_=bool(getattr(raw, "continue_", False)),
        renotify_after=raw.renotify_after,
        sets_renotify="renotify_after" in raw.model_fields_set,
        escalation=escalation_ladder(raw.escalation),
        sets_escalation=raw.escalation is not None,
        routes=children,
    )


def escalation_ladder(raw: tuple[RawEscalationStep, ...] | None) -> tuple[EscalationStep, ...]:
    """The :class:`EscalationStep` s of an ``escalation:`` as written (checked by its model)."""
    return tuple(EscalationStep(after=step.after, receiver=step.receiver) for step in raw or ())


def unknown_escalation_receivers(
    ladder: tuple[RawEscalationStep, ...] | None, known: Collection[str], path: Path
) -> list[Problem]:
    """A problem at each step of ``ladder`` (written at ``path``) naming no receiver of
    ``known``."""
    found = []
    for j, step in enumerate(ladder or ()):
        if step.receiver not in known:
            found.append(
                Problem(
                    (*path, j, "receiver"),
                    f"unknown receiver `{step.receiver}` in escalation step {j + 1}",
                    hint=_receiver_hint(step.receiver, known),
                )
            )
    return found


def _receiver_hint(name: str, known: Collection[str]) -> str:
    return checks.did_you_mean(name, known) or (
        "define it under `receivers:`, or name one of: " + ", ".join(known)
        if known
        else "define it under `receivers:` (a name and its `notify:` channels)"
    )


def build_routing(
    receivers: tuple[RawReceiver, ...] | None, routes: RawRoutes | None
) -> tuple[RoutingTree | None, list[Problem]]:
    """The routing tree of a file, or None with the problems that prevent it."""
    from sqlsentinel_airflow.core.config.raw import RawRoutes
    from sqlsentinel_airflow.core.config.resolve import grouping, resolve_channels

    problems: list[Problem] = []
    by_name: dict[str, Receiver] = {}
    first: dict[str, int] = {}
    for i, raw in enumerate(receivers or ()):
        if raw.name in first:
            problems.append(
                Problem(
                    ("receivers", i, "name"),
                    f"duplicate receiver name `{raw.name}` (also receivers[{first[raw.name]}])",
                    hint="receiver names must be unique",
                )
            )
            continue
        first[raw.name] = i
        problems.extend(_secret_problems(raw, i))
        by_name[raw.name] = Receiver(
            name=raw.name,
            notify=resolve_channels(raw.notify),
            group=grouping(raw.group) if raw.group is not None else None,
            group_by=tuple(dict.fromkeys(raw.group_by)),
            group_wait=raw.group_wait or DEFAULT_GROUP_WAIT,
        )
    root = _route(routes if routes is not None else RawRoutes.model_validate({}), ("routes",))
    problems.extend(_unknown_receivers(root, by_name))
    problems.extend(_unknown_ladder_receivers(routes, ("routes",), by_name))
    problems.extend(
        Problem(path, message, hint) for path, message, hint in unreachable_routes(root)
    )
    if problems:
        return None, problems
    return RoutingTree(root, by_name), []


def _secret_problems(raw: RawReceiver, index: int) -> list[Problem]:
    found = []
    for j, channel in enumerate(raw.notify):
        for name in sorted(_SECRET_FIELDS & channel.model_fields_set):
            found.append(
                Problem(
                    ("receivers", index, "notify", j, name),
                    f"a receiver's channel takes its secrets from an Airflow connection, "
                    f"not from `{name}`",
                    hint=_SECRET_HINT.get(f"{channel.channel}.{name}")
                    or _SECRET_HINT.get(name, "use `conn_id`"),
                    on_key=True,
                )
            )
    return found


def _unknown_receivers(route: Route, receivers: Mapping[str, Receiver]) -> list[Problem]:
    found = []
    if route.receiver is not None and route.receiver not in receivers:
        found.append(
            Problem(
                (*route.path, "receiver"),
                f"unknown receiver `{route.receiver}`",
                hint=_receiver_hint(route.receiver, receivers),
            )
        )
    for child in route.routes:
        found.extend(_unknown_receivers(child, receivers))
    return found


def _unknown_ladder_receivers(
    raw: RawRoute | RawRoutes | None, path: Path, receivers: Mapping[str, Receiver]
) -> list[Problem]:
    if raw is None:
        return []
    found = unknown_escalation_receivers(raw.escalation, receivers, (*path, "escalation"))
    for i, child in enumerate(raw.routes or ()):
        found.extend(_unknown_ladder_receivers(child, (*path, "routes", i), receivers))
    return found


def unreachable_routes(root: Route) -> list[tuple[Path, str, str]]:
    """Routes no alert can ever reach, whatever alerts the file holds: ``(path, why, hint)``.

    A route is unreachable when

    1. an earlier sibling without ``continue: true`` matches every alert it matches
       (:meth:`Matcher.covers`, e.g. the same conditions, or none at all), so that sibling
       always takes the alert first; or
    2. its ``severity`` is none of the severities its parent routes let through.

    The routes under an unreachable route are not checked again.
    """
    found: list[tuple[Path, str, str]] = []

    def walk(route: Route, severities: frozenset[str] | None) -> None:
        for j, child in enumerate(route.routes):
            own = child.match.severity
            allowed = severities
            if own is not None:
                allowed = frozenset(own) if severities is None else severities & frozenset(own)
            shadow = next(
                (s for s in route.routes[:j] if not s.continue_ and s.match.covers(child.match)),
                None,
            )
            if shadow is not None:
                found.append(
                    (
                        child.path,
                        f"route never reached: {format_path(shadow.path)} before it takes every "
                        f"alert this one matches ({shadow.match.describe()}) and has no "
                        "`continue: true`",
                        "move this route before it, narrow that route's `match`, or give it "
                        "`continue: true`",
                    )
                )
            elif allowed is not None and not allowed:
                found.append(
                    (
                        child.path,
                        f"route never reached: it matches severity {' or '.join(own or ())}, "
                        f"but only alerts of severity {' or '.join(sorted(severities or ()))} "
                        f"get to {format_path(route.path)}",
                        "move it where those alerts are routed, or fix its `severity`",
                    )
                )
            else:
                walk(child, allowed)

    walk(root, None)
    return found


def route_alert(tree: RoutingTree, alert: Matchable) -> Routing:
    """Where the tree sends ``alert``: every route that took it, the receivers reached (each
    once, in the order first reached) and the ``renotify_after`` its routes set, if any: the
    shortest of the routes that took it (reminders are per alert, so no receiver waits
    longer than its route asks; ``never`` is the longest). The escalation ladder is the one
    of the first route that took it and sets (or inherits) one: a ladder is one sequence of
    people, so two routes' ladders are not merged."""
    hits = _take(tree.root, alert, (), None, _Inherited())
    names = list(dict.fromkeys(hit.receiver for hit in hits if hit.receiver is not None))
    timed = [hit for hit in hits if hit.renotify_from is not None]
    shortest = min(timed, key=lambda h: h.renotify_after or timedelta.max) if timed else None
    laddered = next((hit for hit in hits if hit.escalation_from is not None), None)
    return Routing(
        hits=tuple(hits),
        receivers=tuple(tree.receivers[name] for name in names),
        renotify_after=shortest.renotify_after if shortest is not None else None,
        renotify_from=shortest.renotify_from if shortest is not None else None,
        escalation=laddered.escalation if laddered is not None else (),
        escalation_from=laddered.escalation_from if laddered is not None else None,
    )


@dataclass(frozen=True)
class _Inherited:
    """What a route hands its routes: the settings it or a parent set, and where."""

    renotify_from: str | None = None
    renotify: timedelta | None = None
    escalation_from: str | None = None
    escalation: tuple[EscalationStep, ...] = ()


def _take(
    route: Route,
    alert: Matchable,
    trail: tuple[RouteStep, ...],
    receiver: str | None,
    inherited: _Inherited,
) -> list[RouteHit]:
    """The hits of ``route``, which took ``alert``: its routes', or its own."""
    trail = (*trail, route.step)
    receiver = route.receiver if route.receiver is not None else receiver
    if route.sets_renotify:
        inherited = dataclasses.replace(
            inherited, renotify_from=format_path(route.path), renotify=route.renotify_after
        )
    if route.sets_escalation:
        inherited = dataclasses.replace(
            inherited, escalation_from=format_path(route.path), escalation=route.escalation
        )
    hits: list[RouteHit] = []
    for child in route.routes:
        if child.match.matches(alert):
            hits.extend(_take(child, alert, trail, receiver, inherited))
            if not child.continue_:
                break
    if hits:
        return hits
    return [
        RouteHit(
            steps=trail,
            receiver=receiver,
            renotify_after=inherited.renotify,
            renotify_from=inherited.renotify_from,
            escalation=inherited.escalation,
            escalation_from=inherited.escalation_from,
        )
    ]


def _trail(hit: RouteHit) -> str:
    """The routes that took the alert, root left out: ``routes.routes[0] (severity:
    critical) > routes.routes[0].routes[1] (tags: finance)``."""
    if len(hit.steps) <= 1:
        return "routes (the root: no route under it matched)"
    return " > ".join(f"{step.path} ({step.match})" for step in hit.steps[1:])


def explain_routing(alert: AlertConfig) -> RoutingExplanation:
    """Which receivers ``alert`` reaches and why, without a secret (``sqlsentinel routes``,
    the alert's DAG definition and so the UI)."""
    own = tuple(describe_channel(c) for c in alert.notify)
    routing = alert.routing
    if routing is None:
        return RoutingExplanation(alert=alert.name, own_channels=own)
    renotify = routing.renotify_after
    receivers = {r.name: r for r in alert.escalation_receivers}
    return RoutingExplanation(
        alert=alert.name,
        own_channels=own,
        routed=True,
        receivers=tuple(
            ReceiverReached(
                name=receiver.name,
                channels=tuple(describe_channel(c) for c in receiver.notify),
                via=tuple(_trail(hit) for hit in routing.via(receiver.name)),
            )
            for receiver in routing.receivers
        ),
        nobody_via=tuple(_trail(hit) for hit in routing.hits if hit.receiver is None),
        renotify_after_seconds=int(renotify.total_seconds()) if renotify else None,
        renotify_from=routing.renotify_from,
        renotify_applied=routing.renotify_applied,
        escalation=tuple(
            EscalationStepReached(
                step=i + 1,
                after_seconds=int(step.after.total_seconds()),
                receiver=step.receiver,
                channels=tuple(
                    describe_channel(c)
                    for c in (receivers[step.receiver].notify if step.receiver in receivers else ())
                ),
            )
            for i, step in enumerate(alert.escalation)
        ),
        escalation_from=alert.escalation_from if alert.escalation else None,
    )
