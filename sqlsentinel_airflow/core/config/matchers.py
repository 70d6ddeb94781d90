"""Matchers: which alerts a rule applies to, by severity, owner, tags and alert name.

A :class:`Matcher` is what a route of ``routes:`` writes under ``match:``
(docs/notifications.md, "Receivers and routes"); other rules that select alerts the same way
use it too. Every condition that is given must hold, like Alertmanager's matchers:

- ``severity``: one of these severities;
- ``owner``: the owner matches one of these globs;
- ``tags``: for *each* of these globs the alert has a tag that matches it;
- ``alert``: the alert name matches one of these globs.

Globs are ``fnmatch``'s (``*``, ``?``, ``[...]``), case-sensitive, as in silences. A matcher
with no condition matches every alert.

:meth:`Matcher.covers` answers the static question validation asks ("does every alert that
``other`` matches also match this one?"), conservatively: True only when that holds for
sure, so a route is never called unreachable when some alert could still reach it.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Protocol

from pydantic import BaseModel, ConfigDict

__all__ = ["Matchable", "Matcher", "glob_covers", "is_pattern"]

_GLOB_CHARS = re.compile(r"[*?\[]")


def is_pattern(text: str) -> bool:
    """Whether ``text`` holds a glob wildcard (``*``, ``?``, ``[``), not only literal text
    (alert-name globs here, alerts-file globs in ``triggers/fingerprint``)."""
    return bool(_GLOB_CHARS.search(text))


class Matchable(Protocol):
    """What a matcher looks at: an alert's name, severity, owner and tags."""

    @property
    def name(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def owner(self) -> str: ...
    @property
    def tags(self) -> tuple[str, ...]: ...


def _any_glob(value: str, globs: tuple[str, ...]) -> bool:
    return any(fnmatchcase(value, glob) for glob in globs)


def glob_covers(wide: str, narrow: str) -> bool:
    """Whether every text glob ``narrow`` matches is matched by glob ``wide`` too (sure cases
    only: the same glob, ``*``, or a ``narrow`` without wildcards that ``wide`` matches)."""
    if wide in (narrow, "*"):
        return True
    return not is_pattern(narrow) and fnmatchcase(narrow, wide)


def _any_covers(wide: tuple[str, ...], narrow: tuple[str, ...]) -> bool:
    """Each of ``narrow``'s globs is covered by one of ``wide``'s."""
    return all(any(glob_covers(w, n) for w in wide) for n in narrow)


class Matcher(BaseModel):
    """Conditions on an alert; each one given must hold. ``None``: no condition."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    severity: tuple[str, ...] | None = None
    owner: tuple[str, ...] | None = None
    tags: tuple[str, ...] = ()
    alert: tuple[str, ...] | None = None

    @property
    def empty(self) -> bool:
        """No condition: matches every alert."""
        return self.severity is None and self.owner is None and not self.tags and not self.alert

    def matches(self, alert: Matchable) -> bool:
        if self.severity is not None and alert.severity not in self.severity:
            return False
        if self.owner is not None and not _any_glob(alert.owner, self.owner):
            return False
        if self.alert is not None and not _any_glob(alert.name, self.alert):
            return False
        return all(_has_tag(alert, glob) for glob in self.tags)

    def covers(self, other: Matcher) -> bool:
        """Whether every alert ``other`` matches surely matches this matcher too."""
        if self.severity is not None and (
            other.severity is None or not set(other.severity) <= set(self.severity)
        ):
            return False
        for mine, theirs in ((self.owner, other.owner), (self.alert, other.alert)):
            if mine is not None and (theirs is None or not _any_covers(mine, theirs)):
                return False
        # other requires a tag matching each of its globs; each of mine needs one of them
        return all(any(glob_covers(mine, theirs) for theirs in other.tags) for mine in self.tags)

    def describe(self) -> str:
        """The conditions for people: ``severity: critical; tags: finance``; ``any alert``."""
        parts = []
        if self.severity is not None:
            parts.append("severity: " + " or ".join(self.severity))
        if self.owner is not None:
            parts.append("owner: " + " or ".join(self.owner))
        if self.tags:
            parts.append("tags: " + " and ".join(self.tags))
        if self.alert is not None:
            parts.append("alert: " + " or ".join(self.alert))
        return "; ".join(parts) or "any alert"


def _has_tag(alert: Matchable, glob: str) -> bool:
    return any(fnmatchcase(tag, glob) for tag in alert.tags)
