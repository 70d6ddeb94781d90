"""The one place that knows what a secret looks like and how it is masked.

Everything the package shows, logs or stores (CLI output, UI JSON, task logs, history and
outbox errors, DAG docs, config diffs) goes through these functions; see docs/security.md,
"What is masked, where". Pure Python: never imports Airflow.

Three kinds of secrets, three rules:
- **Declared config fields.** A config model marks a field that holds a secret with
  ``Annotated[..., SECRET]`` (``core/config/models.py``, declared once, like cosmos
  profiles' secret fields); :func:`secret_values` collects their values and
  :func:`public_dump` dumps a model with them masked.
- **Known values** (declared fields, connection passwords): a :class:`Redactor` collects
  them and replaces every occurrence, longest first. Values shorter than
  :data:`MIN_SECRET_LENGTH` are not masked (see there).
- **Shapes**, for texts written where the values are not known (a second pass at the
  edges, or a receiver echoing a token back): URLs keep scheme, user, host and port
  (:func:`redact_url`), plus the bare tokens listed at ``_BARE_TOKENS``.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
import types
import typing
from collections import abc
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol, overload
from urllib.parse import SplitResult, quote, urlsplit

from pydantic import BaseModel

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "SECRET",
    "Redactor",
    "SecretField",
    "is_maskable",
    "mask_values",
    "one_line",
    "public_dump",
    "public_text",
    "redact_db_url",
    "redact_text",
    "redact_url",
    "secret_field_names",
    "secret_values",
    "url_origin",
]

MASK = "***"

MIN_SECRET_LENGTH = 4
"""Known values shorter than this (after stripping) are not masked, nor registered with
Airflow's task-log masker: replacing every ``abc`` or ``dev`` in a text garbles messages and
protects nothing a guess would not find. Airflow's own masker applies its
``[logging] min_length_masked_secret`` (5 by default) on top."""

# URLs in free text; the end excludes quotes, brackets and other characters no URL ends with.
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>()\[\]{}|\\^`]+")

# Schemes whose path is a database name (or a file), kept when shown: a message saying which
# database failed is worth more than hiding its name. Every other path is masked, because
# webhook tokens live there.
_DATABASE_SCHEMES = frozenset(
    {
        "bigquery",
        "clickhouse",
        "databricks",
        "duckdb",
        "mariadb",
        "mssql",
        "mysql",
        "oracle",
        "postgres",
        "postgresql",
        "redshift",
        "snowflake",
        "sqlite",
        "trino",
    }
)

# Bare tokens a receiver may echo back without a URL around them (Slack puts the token in an
# error body), or a header or key=value pair a library prints. A small set on purpose: each
# shape is unmistakably a credential.
_SLACK_TOKEN = re.compile(r"(?<![A-Za-z0-9])(?:xoxe\.)?(?:xox[a-z]|xapp)-[A-Za-z0-9-]+")
_SLACK_WEBHOOK_PATH = re.compile(r"(?<![A-Za-z0-9])T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9_-]{8,}")
_AUTHORIZATION = re.compile(
    r"(?i)\b((?:proxy-)?authorization[\"']?\s*[:=]\s*)"
    r"(?:(?:bearer|basic|token|digest)\s+)?(\"[^\"]*\"|'[^']*'|[^\s,;]+)"
)
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{4,}")
_KEY_VALUE = re.compile(
    r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?token|refresh[_-]?token"
    r"|client[_-]?secret)([\"']?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&,;]+)"
)
_BARE_TOKENS = (_SLACK_TOKEN, _SLACK_WEBHOOK_PATH)


@dataclass(frozen=True)
class SecretField:
    """``Annotated`` metadata: the config field holds a secret (never shown, logged or stored)."""


SECRET = SecretField()
"""Mark a config field as secret: ``webhook_url: Annotated[str | None, SECRET] = None``."""


class _RendersUrl(Protocol):
    """A SQLAlchemy ``URL`` (or anything rendering itself with its password)."""

    def render_as_string(self, hide_password: bool = ...) -> str: ...


# --- URLs -------------------------------------------------------------------------------


def redact_url(url: str, *, keep_path: bool = False) -> str:
    """``url`` with the password, query values and fragment masked.

    The path is masked too unless ``keep_path`` is true, because webhook tokens live there
    (use :func:`redact_db_url` for database URLs, whose path is the database name).
    Something that does not parse as a URL is masked entirely.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return MASK
    if not parts.scheme or not (parts.netloc or parts.path):
        return MASK
    netloc = _redacted_netloc(parts, port)
    path = parts.path
    if path not in ("", "/") and not keep_path:
        path = "/" + MASK
    query = "&".join(_redacted_pair(pair) for pair in parts.query.split("&")) if parts.query else ""
    text = f"{parts.scheme}://{netloc}{path}"
    if query:
        text += f"?{query}"
    if parts.fragment:
        text += f"#{MASK}"
    return text


def url_origin(url: str) -> str:
    """Only the scheme, host and port of ``url`` (``https://hooks.example.com``): no user,
    password, path, query or fragment, where webhook tokens live. Masked if it does not parse."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return MASK
    if not parts.scheme or not parts.hostname:
        return MASK
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def redact_db_url(url: str | _RendersUrl) -> str:
    """A database URL as it may be shown: the database name kept, password and query masked."""
    text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    return redact_url(text, keep_path=True)


def _redacted_netloc(parts: SplitResult, port: int | None) -> str:
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None:
        host = f"{host}:{port}"
    if parts.username is None and parts.password is None:
        return host
    user = parts.username or ""
    if parts.password is not None:
        user = f"{user}:{MASK}"
    return f"{user}@{host}"


def _redacted_pair(pair: str) -> str:
    name, sep, _value = pair.partition("=")
    return f"{name}={MASK}" if sep else name


def _redact_any_url(match: re.Match[str]) -> str:
    url = match.group(0)
    scheme = url.partition(":")[0].partition("+")[0].lower()
    return redact_url(url, keep_path=scheme in _DATABASE_SCHEMES)


# --- texts ------------------------------------------------------------------------------


def is_maskable(value: str | None) -> bool:
    """Whether ``value`` is long enough to be masked (:data:`MIN_SECRET_LENGTH`)."""
    return value is not None and len(value.strip()) >= MIN_SECRET_LENGTH


class Redactor:
    """Masks known secret values, then every URL and bare token, in a text.

    ``add`` takes a value in every form a library may print it: as given, URL-quoted (a
    password inside a connection URI) and, for a URL, its path and its query on their own
    (urllib3 reports ``with url: /services/T0/B0/x``).
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: set[str] = set()
        self.add(*secrets)

    def add(self, *values: str | None) -> None:
        for value in values:
            if value is None or not is_maskable(value):
                continue
            text = value.strip()
            forms = {text, quote(text, safe="")}
            if "://" in text:
                try:
                    parts = urlsplit(text)
                except ValueError:
                    parts = None
                if parts is not None:
                    forms.update((parts.path, parts.query))
            self._secrets.update(form for form in forms if is_maskable(form.strip("/")))

    @property
    def secrets(self) -> frozenset[str]:
        """Every form of every known value that is masked."""
        return frozenset(self._secrets)

    def mask_known(self, text: str) -> str:
        """``text`` with the known values (in every form) masked, and nothing else changed."""
        return mask_values(text, self._secrets)

    def __call__(self, text: str) -> str:
        """``text`` with the known values, every URL's secrets and every bare token masked."""
        text = _URL.sub(_redact_any_url, self.mask_known(text))
        for pattern in _BARE_TOKENS:
            text = pattern.sub(MASK, text)
        text = _AUTHORIZATION.sub(lambda m: m.group(1) + _masked_value(m.group(2)), text)
        text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
        return _KEY_VALUE.sub(lambda m: m.group(1) + m.group(2) + _masked_value(m.group(3)), text)


def mask_values(text: str, values: Iterable[str | None]) -> str:
    """``text`` with exactly ``values`` masked (longest first; too short ones left alone).

    For texts people wrote (a DAG's description, SQL), where a URL or a word that happens
    to be part of a secret URL must stay readable.
    """
    maskable = {v.strip() for v in values if v is not None and is_maskable(v)}
    for value in sorted(maskable, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def _masked_value(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return f"{value[0]}{MASK}{value[0]}"
    return MASK


@overload
def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str: ...
@overload
def redact_text(text: None, secrets: Iterable[str | None] = ()) -> None: ...
def redact_text(text: str | None, secrets: Iterable[str | None] = ()) -> str | None:
    """``text`` with ``secrets``, URL secrets and bare tokens masked (None stays None)."""
    if text is None:
        return None
    return Redactor(secrets)(text)


def one_line(text: str) -> str:
    """The first non-blank line of a message (drivers and clients add context lines)."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


# --- declared secret fields of config models --------------------------------------------


def secret_field_names(model: type[BaseModel] | BaseModel) -> tuple[str, ...]:
    """The fields of ``model`` declared secret with :data:`SECRET`, in declaration order."""
    return _secret_fields(model if isinstance(model, type) else type(model))


@functools.cache
def _secret_fields(cls: type[BaseModel]) -> tuple[str, ...]:
    # Per class, once: every alert DAG masks its texts with its alert's secret values, and
    # scanning each field's metadata again per alert was ~4% of a parse (docs/benchmarks.md).
    return tuple(
        name
        for name, info in cls.model_fields.items()
        if any(isinstance(meta, SecretField) for meta in info.metadata)
    )


def secret_values(model: BaseModel) -> Iterator[str]:
    """Every value held by a declared secret field of ``model`` or of a model nested in it,
    in field declaration order."""
    for name, secret in _walk_plan(type(model)):
        value = getattr(model, name)
        if secret:
            yield from _strings(value)
        else:
            for nested in _models(value):
                yield from secret_values(nested)


@functools.cache
def _walk_plan(cls: type[BaseModel]) -> tuple[tuple[str, bool], ...]:
    """The fields of ``cls`` the walk looks at, in declaration order, each with whether it is
    declared secret: the secret ones and those whose type may hold a model.

    A field whose type admits no model (``str``, ``timedelta``, ``tuple[str, ...]``...) holds
    no secret of a nested model, so the walk skips it: an alert has ~50 fields and 11 that
    may nest, and ``sqlsentinel status`` walks every alert of its file. What a field may
    hold is read from its annotation; a field whose type is not understood is walked."""
    secret = _secret_fields(cls)
    return tuple(
        (name, name in secret)
        for name, info in cls.model_fields.items()
        if name in secret or _may_hold_model(info.annotation)
    )


_SCALARS = (str, bytes, int, float, complex, bool, type(None), dt.date, dt.time, dt.timedelta)
_CONTAINERS = (tuple, list, set, frozenset, dict, abc.Collection, abc.Mapping, abc.Iterable)


def _may_hold_model(annotation: object) -> bool:
    """Whether a field so annotated may hold a pydantic model, in itself or as an item or
    value of a collection (where :func:`_models` looks). False only when sure."""
    if annotation is typing.Any or annotation is object:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return False
    if origin is typing.Annotated:
        return _may_hold_model(typing.get_args(annotation)[0])
    if origin is not None:
        if origin in (typing.Union, types.UnionType) or origin in _CONTAINERS:
            return any(
                _may_hold_model(arg) for arg in typing.get_args(annotation) if arg is not Ellipsis
            )
        return True  # a generic class of its own: walked
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return True
        if issubclass(annotation, (*_SCALARS, enum.Enum)):
            return False
        # a bare container may hold anything; another class (a dataclass, a ZoneInfo) is no
        # model
        return issubclass(annotation, _CONTAINERS)
    return True  # a TypeVar, a forward reference: walked


def public_text(model: BaseModel, text: str) -> str:
    """``text`` people wrote for ``model`` (an alert's description or SQL) with the model's
    declared secret values masked: a webhook URL interpolated into a description must not
    reach the DAG list, the UI, the CLI or a message."""
    return mask_values(text, secret_values(model))


def public_dump(model: BaseModel) -> dict[str, object]:
    """``model.model_dump(mode="json")`` with declared secret fields masked (unset stays None)."""
    data: dict[str, object] = model.model_dump(mode="json", by_alias=False)
    _mask_dump(model, data)
    return data


def _mask_dump(model: BaseModel, data: dict[str, object]) -> None:
    secret = set(secret_field_names(model))
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name in secret:
            data[name] = _masked(data.get(name))
        elif isinstance(value, BaseModel):
            dumped = data.get(name)
            if isinstance(dumped, dict):
                _mask_dump(value, dumped)
        elif isinstance(value, (tuple, list)):
            dumped_items = data.get(name)
            if isinstance(dumped_items, list):
                for item, dumped_item in zip(value, dumped_items, strict=False):
                    if isinstance(item, BaseModel) and isinstance(dumped_item, dict):
                        _mask_dump(item, dumped_item)


def _masked(value: object) -> object:
    if value is None or value == "":
        return value
    if isinstance(value, dict):
        return {key: MASK for key in value}
    if isinstance(value, list):
        return [MASK for _ in value]
    return MASK


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (tuple, list, set, frozenset)):
        for item in value:
            yield from _strings(item)


def _models(value: object) -> Iterator[BaseModel]:
    if isinstance(value, BaseModel):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            if isinstance(item, BaseModel):
                yield item
    elif isinstance(value, Mapping):
        for item in value.values():
            if isinstance(item, BaseModel):
                yield item
