"""Pydantic validation errors, rewritten as located problems people can act on.

Pydantic says ``Extra inputs are not permitted`` at ``('notify', 0, 'email', 'to')``; users
need ``unknown key `renotfy_after` (did you mean `renotify_after`?)`` at
``alerts[3].renotfy_after`` with a line and column. This module maps each error's ``loc``
to the YAML path (dropping the discriminator tags pydantic inserts for channel unions),
finds the model at that place to suggest the closest allowed key, and words the common
error types plainly. Values that may be secrets (URLs) are never quoted back.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Union

from pydantic import BaseModel, ValidationError

from sqlsentinel_airflow.core.config import checks
from sqlsentinel_airflow.core.config.raw import ALERT_ONLY_KEYS, RawDefaults
from sqlsentinel_airflow.core.config.yamlpos import CHANNEL_KINDS, Path, Problem

__all__ = ["problems_from_validation"]

_SECRET_KEYS = frozenset({"webhook_url", "url", "password", "database_url"})
_EXPECTED = {
    "string_type": "expected a string",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected a whole number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
}


def problems_from_validation(
    exc: ValidationError, model: type[BaseModel], base: Path = ()
) -> list[Problem]:
    """One problem per pydantic error of ``model.model_validate(...)`` at YAML path ``base``."""
    return [_problem(error, model, base) for error in exc.errors()]


def _problem(error: Any, model: type[BaseModel], base: Path) -> Problem:
    loc = tuple(error["loc"])
    path = (*base, *_without_tags(loc))
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return _unknown_key(model, loc, path)
    if kind == "missing":
        return Problem(path, f"missing required key `{path[-1]}`")
    if kind == "union_tag_invalid":
        tag = str(ctx.get("tag"))
        return Problem(
            (*path, "channel"),
            f"unknown channel `{tag}`",
            hint=checks.did_you_mean(tag, CHANNEL_KINDS) or _CHANNEL_HINT,
        )
    if kind == "union_tag_not_found":
        if isinstance(value, dict):
            return Problem((*path, "channel"), "missing required key `channel`", _CHANNEL_HINT)
        return Problem(
            path,
            f"expected a mapping, got {_describe(value, path)}",
            hint=_CHANNEL_EXAMPLE,
        )
    if kind in ("value_error", "assertion_error"):
        cause = ctx.get("error")
        if isinstance(cause, checks.InvalidValue):  # an AssetProblem knows where inside
            return Problem((*path, *getattr(cause, "path", ())), cause.message, cause.hint)
        return Problem(path, str(cause) if cause is not None else error["msg"])
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        hint = checks.did_you_mean(str(value), _literal_choices(expected)) if value else None
        return Problem(path, f"{_describe(value, path)} is not one of {expected}", hint)
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return Problem(path, f"must be at least {bound}, got {_describe(value, path)}")
    if kind in ("string_too_short", "too_short"):
        return Problem(path, "must not be empty")
    if kind in _EXPECTED:
        hint = None
        if len(path) >= 2 and path[-2] == "notify" and isinstance(path[-1], int):
            hint = _CHANNEL_EXAMPLE
        return Problem(path, f"{_EXPECTED[kind]}, got {_describe(value, path)}", hint)
    return Problem(path, str(error["msg"]))


_CHANNEL_HINT = "`channel` is one of: " + ", ".join(CHANNEL_KINDS)
_CHANNEL_EXAMPLE = "write a channel like `{channel: email, to: [team@example.com]}`"


def _without_tags(loc: tuple[Any, ...]) -> Path:
    """Drop the discriminator tags pydantic inserts after ``notify[i]``."""
    out: list[str | int] = []
    for i, part in enumerate(loc):
        is_tag = (
            i >= 2
            and loc[i - 2] == "notify"
            and isinstance(loc[i - 1], int)
            and part in CHANNEL_KINDS
        )
        if not is_tag:
            out.append(part)
    return tuple(out)


def _unknown_key(model: type[BaseModel], loc: tuple[Any, ...], path: Path) -> Problem:
    key = str(loc[-1])
    parent = _model_at(model, loc[:-1])
    hint = None
    if parent is not None:
        if issubclass(parent, RawDefaults) and key in ALERT_ONLY_KEYS:
            hint = f"`{key}` belongs to each alert, not to `defaults`"
        else:  # the keys as written: a field's alias (`continue`) where it has one
            written = [f.alias or name for name, f in parent.model_fields.items()]
            hint = checks.did_you_mean(key, written)
    return Problem(path, f"unknown key `{key}`", hint=hint, on_key=True, supersedes=True)


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that validated the mapping at ``loc`` (tags included)."""
    current: Any = model
    for part in loc:
        current = _child_type(_unwrap(current), part)
        if current is None:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated`` and ``| None`` until a model, container or union of models is left."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return tp
            tp = members[0]
        else:
            return tp


def _child_type(tp: Any, part: Any) -> Any:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(part) if isinstance(part, str) else None
        return field.annotation if field is not None else None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (tuple, list) and isinstance(part, int) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    if origin in (Union, types.UnionType):
        for member in args:
            member = _unwrap(member)
            if isinstance(member, type) and issubclass(member, BaseModel):
                field = member.model_fields.get("channel")
                if field is not None and part in typing.get_args(field.annotation):
                    return member
    return None


def _literal_choices(expected: str) -> list[str]:
    return [c.strip().strip("'\"") for c in expected.replace(" or ", ",").split(",") if c.strip()]


def _describe(value: Any, path: Path) -> str:
    """A short, secret-free description of a written value for messages."""
    if path and path[-1] in _SECRET_KEYS:
        return "a value"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
