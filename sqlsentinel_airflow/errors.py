"""The exception tree of sqlsentinel_airflow.

Every error the package raises on purpose derives from :class:`SentinelError`::

    SentinelError
    ├── ConfigError          one problem in alerts.yaml, located (file, line, column, YAML path, hint)
    │   └── ConfigErrors     several ConfigError found in one pass (validation reports all of them)
    ├── QueryError           the alert query could not run or broke the query contract
    ├── DeliveryError        a notification could not be delivered (recoverable or not)
    └── StateStoreError      the state database is unreachable, locked or at an unknown schema

Messages never contain secrets: connection URIs, passwords, tokens and webhook URLs are
redacted before they reach an exception (see ``sqlsentinel_airflow.core.redact``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

__all__ = [
    "ConfigError",
    "ConfigErrors",
    "DeliveryError",
    "QueryError",
    "SentinelError",
    "StateStoreError",
]


class SentinelError(Exception):
    """Root of every error raised on purpose by sqlsentinel_airflow."""


@dataclass(eq=False)
class ConfigError(SentinelError):
    """One located problem in an alerts file.

    ``str(err)`` reads ``alerts.yaml:14:7 alerts[2].schedule: <message> (hint)``.
    ``alert`` names the alert the problem belongs to (None for file-level problems), so the
    DAG factory can skip just that alert.
    """

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str = ""
    hint: str | None = None
    alert: str | None = None
    alert_index: int | None = None

    def __post_init__(self) -> None:
        super().__init__(self.format())

    @property
    def location(self) -> str:
        parts = [self.file or "<alerts>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def format(self) -> str:
        text = self.location
        if self.path:
            text += f" {self.path}:"
        text += f" {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def __str__(self) -> str:
        return self.format()

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
            "alert": self.alert,
            "text": self.format(),
        }


@dataclass(eq=False)
class ConfigErrors(SentinelError):
    """Several :class:`ConfigError` reported together (all errors of one pass)."""

    errors: list[ConfigError] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.format())

    def format(self) -> str:
        return "\n".join(e.format() for e in self.errors)

    def __str__(self) -> str:
        return self.format()

    def __iter__(self) -> Iterator[ConfigError]:
        return iter(self.errors)

    def __len__(self) -> int:
        return len(self.errors)

    @classmethod
    def of(cls, errors: Iterable[ConfigError]) -> ConfigErrors:
        return cls(list(errors))


class QueryError(SentinelError):
    """The alert query failed, timed out, or its result broke the query contract."""


class DeliveryError(SentinelError):
    """A notification could not be delivered.

    ``recoverable`` tells whether a later attempt may succeed (timeouts, 5xx, 429) or not
    (4xx, a missing connection): like Alertmanager receivers returning ``(retry, err)``.
    """

    def __init__(self, message: str, *, recoverable: bool = True) -> None:
        super().__init__(message)
        self.recoverable = recoverable


class StateStoreError(SentinelError):
    """The state database could not be reached, migrated, locked or written."""
