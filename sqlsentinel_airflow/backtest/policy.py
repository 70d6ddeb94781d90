"""A proposed policy: ``--set key=value`` overrides of an alert's state-machine settings.

Each value is read as YAML (``3``, ``4h``, ``never``, ``true``) and validated by the same
model as alerts.yaml (``core/config/raw.RawAlertSettings``), so ``--set fire_after=0`` fails
with the words ``sqlsentinel validate`` would use. Only the settings of ``core.model.Policy``
can change: the values a backtest sees do not depend on the others. Every problem is a
:class:`~sqlsentinel_airflow.errors.ConfigError` located as ``--set:N key`` (the N-th
``--set``), all reported at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import yaml
from pydantic import ValidationError

from sqlsentinel_airflow.backtest.result import POLICY_KEYS
from sqlsentinel_airflow.core.config.locate import problems_from_validation
from sqlsentinel_airflow.core.config.raw import RawAlertSettings
from sqlsentinel_airflow.core.model import Policy
from sqlsentinel_airflow.core.state_machine import check_policy
from sqlsentinel_airflow.errors import ConfigError, ConfigErrors

__all__ = ["SET_LOCATION", "apply_overrides", "parse_overrides"]

SET_LOCATION = "--set"
_NULLABLE = frozenset({"renotify_after", "notify_on_error"})  # null: never


def _error(position: int, key: str, message: str, hint: str | None = None) -> ConfigError:
    return ConfigError(message, file=SET_LOCATION, line=position, path=key, hint=hint)


def parse_overrides(assignments: Sequence[str]) -> dict[str, Any]:
    """``["fire_after=3", "renotify_after=4h"]`` as validated settings (``renotify_after`` a
    timedelta, ``notify_on_error`` an int or None, ...). Raises ConfigErrors naming every bad
    assignment."""
    written: dict[str, tuple[int, Any]] = {}
    errors: list[ConfigError] = []
    for position, text in enumerate(assignments, 1):
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key:
            errors.append(_error(position, text, "expected KEY=VALUE", "e.g. --set fire_after=3"))
            continue
        if key in written:
            errors.append(_error(position, key, f"`{key}` is set twice"))
            continue
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw  # let the model say what is wrong with it
        written[key] = (position, value)
    for key, (position, _value) in written.items():
        if key in RawAlertSettings.model_fields and key not in POLICY_KEYS:
            errors.append(
                _error(
                    position,
                    key,
                    f"`{key}` cannot be changed in a backtest",
                    "a backtest changes only " + ", ".join(POLICY_KEYS),
                )
            )
    candidates = {
        k: v
        for k, (_p, v) in written.items()
        if k not in RawAlertSettings.model_fields or k in POLICY_KEYS
    }
    values: dict[str, Any] = {}
    try:
        settings = RawAlertSettings.model_validate(candidates)
    except ValidationError as exc:
        for problem in problems_from_validation(exc, RawAlertSettings):
            key = str(problem.path[0]) if problem.path else ""
            position = written[key][0] if key in written else 0
            hint = problem.hint
            if problem.message.startswith("unknown key") and hint is None:
                hint = "a backtest changes " + ", ".join(POLICY_KEYS)
            errors.append(_error(position, key, problem.message, hint))
    else:
        values = {key: getattr(settings, key) for key in candidates}
    for key, value in values.items():
        if value is None and key not in _NULLABLE:
            errors.append(_error(written[key][0], key, "needs a value", f"e.g. --set {key}=3"))
    if errors:
        raise ConfigErrors.of(sorted(errors, key=lambda e: e.line or 0))
    return values


def apply_overrides(policy: Policy, overrides: dict[str, Any]) -> Policy:
    """``policy`` with ``overrides`` (from :func:`parse_overrides`) applied and checked as the
    state machine checks it."""
    proposed = dataclasses.replace(policy, **overrides)
    check_policy(proposed)
    return proposed
