"""Asset references in alerts.yaml: what an alert waits for (``schedule: {assets: ...}``) and
what it announces (``produces:``); docs/assets.md.

Pure Python, no Airflow import: the DAG edge (``dags/``) maps these to Airflow's ``Asset``,
``AssetAll`` and ``AssetAny``. The checks here refuse, with a located error, every URI that
Airflow's own normalizer would refuse or silently change when the DAG is built (so one bad
alert never reaches the DAG processor):

- a leaf is a URI with a scheme (``s3://warehouse/orders``), ``{uri: ...}`` (the same) or
  ``{name: orders}`` (an asset referred to by its Airflow name);
- a list means all of them (Airflow's list semantics); ``{all: [...]}`` / ``{any: [...]}``
  nest.

Errors are :class:`AssetProblem`: a :class:`~.checks.InvalidValue` with the path *inside*
the written condition (``("any", 1, "all", 0)``), which ``locate.py`` appends to the field's
YAML path.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, model_validator

from sqlsentinel_airflow.core.config.checks import InvalidValue, check_cron, did_you_mean

__all__ = [
    "ASSET_CONDITION_SCHEMA",
    "ASSET_REF_SCHEMA",
    "DEFAULT_PRODUCED_ON",
    "MAX_ASSET_IDENTIFIER",
    "PRODUCED_ON_KINDS",
    "PRODUCES_SCHEMA",
    "SCHEDULE_SCHEMA",
    "AssetAll",
    "AssetAny",
    "AssetCondition",
    "AssetProblem",
    "AssetRef",
    "ProducedAsset",
    "ScheduleSpec",
    "asset_refs",
    "check_asset_name",
    "check_asset_uri",
    "condition_to_yaml",
    "describe",
    "describe_trigger",
    "parse_asset_condition",
    "parse_asset_ref",
    "parse_produces",
    "parse_schedule",
]

MAX_ASSET_IDENTIFIER = 1500
"""Airflow refuses a longer asset name or URI (``_validate_identifier``, 3.1 and 3.3)."""

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_UNSAFE_RE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_RESERVED_NAMES = frozenset({"self", "context"})  # Airflow's _validate_asset_name
_NAME_HINT = "write {name: orders} to refer to an asset by its name"
_LEAF_HINT = "write a URI such as s3://warehouse/orders, {uri: ...} or {name: ...}"
_CONDITION_HINT = (
    "write an asset (s3://warehouse/orders or {name: orders}), a list of them (all), "
    "or {all: [...]} / {any: [...]}"
)

Path = tuple[str | int, ...]


class AssetProblem(InvalidValue):
    """A bad asset reference; ``path`` is where inside the written condition it is."""

    def __init__(self, message: str, hint: str | None = None, path: Path = ()) -> None:
        super().__init__(message, hint)
        self.path = path


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AssetRef(_Frozen):
    """One asset: by URI (``s3://warehouse/orders``) or by its Airflow name; exactly one set."""

    uri: str | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> AssetRef:
        if (self.uri is None) == (self.name is None):
            raise ValueError("an asset reference has exactly one of `uri` and `name`")
        return self

    def describe(self) -> str:
        return self.uri if self.uri is not None else f"{{name: {self.name}}}"


class AssetAll(_Frozen):
    """All of the conditions (an Airflow ``AssetAll``, ``a & b``)."""

    # tells the two apart in JSON (a manifest keeps resolved alerts): same fields otherwise
    op: Literal["all"] = "all"
    items: tuple[AssetCondition, ...]


class AssetAny(_Frozen):
    """Any of the conditions (an Airflow ``AssetAny``, ``a | b``)."""

    op: Literal["any"] = "any"
    items: tuple[AssetCondition, ...]


AssetCondition = Union[AssetRef, AssetAll, AssetAny]  # noqa: UP007 - used at runtime by pydantic
AssetAll.model_rebuild()
AssetAny.model_rebuild()


# --- checks -------------------------------------------------------------------------------


def _check_identifier(value: str, what: str, hint: str | None) -> None:
    if not value.strip():
        raise InvalidValue(f"the asset {what} is empty", hint=hint)
    if len(value) > MAX_ASSET_IDENTIFIER:
        raise InvalidValue(
            f"the asset {what} is {len(value)} characters long; Airflow allows at most "
            f"{MAX_ASSET_IDENTIFIER}",
            hint=hint,
        )
    if not value.isascii():
        char = next(c for c in value if not c.isascii())
        raise InvalidValue(
            f"the asset {what} contains the non-ASCII character {char!r} "
            f"(U+{ord(char):04X}); Airflow stores asset {what}s as ASCII on MySQL",
            hint="percent-encode it (e.g. %C3%A9) or use ASCII only",
        )
    found = _UNSAFE_RE.search(value)
    if found is not None:
        char = found.group()
        raise InvalidValue(
            f"the asset {what} contains whitespace or a control character "
            f"(U+{ord(char):04X}, character {found.start() + 1})",
            hint="percent-encode spaces as %20; an asset " + what + " is one word",
        )


def check_asset_uri(uri: str) -> str:
    """``uri`` if Airflow accepts it unchanged in meaning, else :class:`InvalidValue`."""
    _check_identifier(uri, "URI", _LEAF_HINT)
    match = _SCHEME_RE.match(uri)
    if match is None:
        raise InvalidValue(f"the asset URI {uri!r} has no scheme (like s3://)", hint=_NAME_HINT)
    scheme = match.group(1).lower()
    if scheme == "airflow":
        raise InvalidValue(
            "the asset URI scheme `airflow` is reserved by Airflow",
            hint="use your storage's scheme (s3://, gs://, postgres://, file://) or a "
            "scheme of your own starting with x- (x-warehouse://orders)",
        )
    try:
        parsed = urllib.parse.urlsplit(uri)
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise InvalidValue(f"the asset URI is not a valid URI: {exc}", hint=_LEAF_HINT) from None
    if "@" in parsed.netloc:
        raise InvalidValue(
            "the asset URI contains user information (user@ or user:password@); Airflow "
            "drops it, and credentials do not belong in alerts.yaml",
            hint="write the URI without user and password, e.g. postgres://host:5432/db/"
            "schema/table",
        )
    return uri


def check_asset_name(name: str) -> str:
    """``name`` if Airflow accepts it as an asset name, else :class:`InvalidValue`."""
    _check_identifier(name, "name", "write {name: orders}")
    if name in _RESERVED_NAMES:
        raise InvalidValue(
            f"`{name}` is not allowed as an asset name by Airflow", hint="choose another name"
        )
    return name


# --- parsing the written forms -------------------------------------------------------------


def parse_asset_ref(value: Any, path: Path = ()) -> AssetRef:
    """A leaf: ``"s3://..."``, ``{uri: ...}`` or ``{name: ...}``; :class:`AssetProblem` if bad."""
    if isinstance(value, str):
        return AssetRef(uri=_checked(check_asset_uri, value, path))
    if isinstance(value, dict):
        keys = set(value)
        unknown = sorted(str(k) for k in keys - {"uri", "name"})
        if unknown:
            raise AssetProblem(
                f"unknown key `{unknown[0]}` in an asset reference",
                hint="an asset is {uri: ...} or {name: ...}",
                path=(*path, unknown[0]),
            )
        if len(keys) != 1:
            raise AssetProblem(
                "an asset reference has exactly one of `uri` and `name`"
                if keys
                else "an empty mapping is not an asset",
                hint=_LEAF_HINT,
                path=path,
            )
        (key,) = keys
        text = value[key]
        if not isinstance(text, str):
            raise AssetProblem(
                f"expected a string, got {_kind(text)}", hint=_LEAF_HINT, path=(*path, key)
            )
        if key == "uri":
            return AssetRef(uri=_checked(check_asset_uri, text, (*path, key)))
        return AssetRef(name=_checked(check_asset_name, text, (*path, key)))
    raise AssetProblem(f"expected an asset, got {_kind(value)}", hint=_LEAF_HINT, path=path)


def parse_asset_condition(value: Any, path: Path = ()) -> AssetCondition:
    """A condition as written: a leaf, a list (all of them), ``{all: [...]}`` or ``{any: [...]}``."""
    if isinstance(value, list):
        return AssetAll(items=_parse_items(value, path, "a list of assets"))
    if isinstance(value, dict) and set(value) & {"all", "any"}:
        if len(value) != 1:
            other = sorted(str(k) for k in value if k not in ("all", "any"))
            raise AssetProblem(
                f"`{'all' if 'all' in value else 'any'}` stands alone in its mapping"
                + (f"; found also `{other[0]}`" if other else "; found both `all` and `any`"),
                hint="nest them: {any: [s3://a, {all: [s3://b, s3://c]}]}",
                path=path,
            )
        ((key, items),) = value.items()
        if not isinstance(items, list):
            raise AssetProblem(
                f"`{key}` takes a list, got {_kind(items)}",
                hint=f"write {{{key}: [s3://a, s3://b]}}",
                path=(*path, key),
            )
        parsed = _parse_items(items, (*path, key), f"`{key}`")
        return AssetAll(items=parsed) if key == "all" else AssetAny(items=parsed)
    if isinstance(value, (str, dict)):
        return parse_asset_ref(value, path)
    raise AssetProblem(
        f"expected an asset condition, got {_kind(value)}", hint=_CONDITION_HINT, path=path
    )


def _parse_items(items: list[Any], path: Path, what: str) -> tuple[AssetCondition, ...]:
    if not items:
        raise AssetProblem(f"{what} is empty", hint=_CONDITION_HINT, path=path)
    return tuple(parse_asset_condition(item, (*path, i)) for i, item in enumerate(items))


def _checked(check: Any, text: str, path: Path) -> str:
    try:
        return str(check(text))
    except InvalidValue as exc:
        raise AssetProblem(exc.message, exc.hint, path) from None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


# --- reading a condition -------------------------------------------------------------------


def asset_refs(condition: AssetCondition) -> tuple[AssetRef, ...]:
    """The leaves of ``condition``, left to right, each once."""
    if isinstance(condition, AssetRef):
        return (condition,)
    seen: dict[AssetRef, None] = {}
    for item in condition.items:
        for ref in asset_refs(item):
            seen.setdefault(ref, None)
    return tuple(seen)


def describe(condition: AssetCondition) -> str:
    """One line for people: ``s3://a``, ``s3://a and s3://b``, ``any of (s3://a, {name: b})``."""
    return _describe(condition, top=True)


def _describe(condition: AssetCondition, *, top: bool) -> str:
    if isinstance(condition, AssetRef):
        return condition.describe()
    parts = [_describe(item, top=False) for item in condition.items]
    if len(parts) == 1:
        return parts[0]
    if isinstance(condition, AssetAll):
        text = " and ".join(parts)
        return text if top else f"({text})"
    return f"any of ({', '.join(parts)})"


def condition_to_yaml(condition: AssetCondition) -> Any:
    """``condition`` as alerts.yaml writes it (JSON-able); ``parse_asset_condition`` reads
    it back. The alert's definition in its DAG carries this form (airflow_contract)."""
    if isinstance(condition, AssetRef):
        return condition.uri if condition.uri is not None else {"name": condition.name}
    items = [condition_to_yaml(item) for item in condition.items]
    return items if isinstance(condition, AssetAll) else {"any": items}


# --- JSON Schema (editors; schema.py) ------------------------------------------------------

ASSET_REF_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9+.-]*:", "maxLength": 1500},
        {
            "type": "object",
            "properties": {"uri": {"type": "string", "maxLength": 1500}},
            "required": ["uri"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 1500}},
            "required": ["name"],
            "additionalProperties": False,
        },
    ],
    "examples": ["s3://warehouse/orders", {"name": "orders"}],
}
"""One asset: a URI with a scheme, ``{uri: ...}`` or ``{name: ...}``."""

ASSET_CONDITION_SCHEMA: dict[str, Any] = {
    "anyOf": [
        *ASSET_REF_SCHEMA["anyOf"],
        {"type": "array", "minItems": 1},
        {
            "type": "object",
            "properties": {"all": {"type": "array", "minItems": 1}},
            "required": ["all"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"any": {"type": "array", "minItems": 1}},
            "required": ["any"],
            "additionalProperties": False,
        },
    ],
    "examples": ["s3://warehouse/orders", ["s3://a", "s3://b"], {"any": ["s3://a", "s3://b"]}],
}
"""An asset condition; nested items are checked by the loader (the schema stays shallow)."""


# --- schedule: a cron string, or {assets, cron?} -------------------------------------------


class ScheduleSpec(_Frozen):
    """``schedule:`` as written: a cron, an asset condition, or both (assets, or at least
    on the cron: Airflow's ``AssetOrTimeSchedule``)."""

    cron: str | None = None
    assets: AssetCondition | None = None


_SCHEDULE_HINT = (
    'write a cron string ("0 9 * * *") or {assets: s3://warehouse/orders}, optionally with '
    '`cron: "0 */6 * * *"`'
)


def parse_schedule(value: Any) -> ScheduleSpec | None:
    """``schedule:`` as written; :class:`AssetProblem` (path inside ``schedule``) when bad."""
    if value is None:
        return None
    if isinstance(value, str):
        return ScheduleSpec(cron=_checked(check_cron, value, ()))
    if not isinstance(value, dict):
        raise AssetProblem(
            f"expected a cron string or a mapping, got {_kind(value)}", hint=_SCHEDULE_HINT
        )
    unknown = sorted(str(k) for k in value if k not in ("assets", "cron"))
    if unknown:
        raise AssetProblem(
            f"unknown key `{unknown[0]}` in `schedule`",
            hint=did_you_mean(unknown[0], ("assets", "cron")) or _SCHEDULE_HINT,
            path=(unknown[0],),
        )
    if "assets" not in value:
        raise AssetProblem(
            "missing required key `assets`",
            hint='a schedule on a cron only is written as a string: `schedule: "0 9 * * *"`',
            path=("assets",),
        )
    cron = value.get("cron")
    if cron is not None and not isinstance(cron, str):
        raise AssetProblem(
            f"expected a cron string, got {_kind(cron)}", hint='e.g. "0 */6 * * *"', path=("cron",)
        )
    return ScheduleSpec(
        cron=None if cron is None else _checked(check_cron, cron, ("cron",)),
        assets=parse_asset_condition(value["assets"], ("assets",)),
    )


def describe_trigger(cron: str | None, assets: AssetCondition | None, timezone: str = "") -> str:
    """When an alert runs, for people: ``0 9 * * * in UTC``, ``when s3://a is updated``,
    ``when s3://a is updated, or at least on 0 */6 * * * in UTC``."""
    at = f"{cron} in {timezone}" if cron is not None and timezone else cron
    if assets is None:
        return at or ""
    top = assets
    while not isinstance(top, AssetRef) and len(top.items) == 1:
        top = top.items[0]
    verb = "are" if isinstance(top, AssetAll) else "is"
    when = f"when {describe(assets)} {verb} updated"
    return when if at is None else f"{when}, or at least on {at}"


# --- produces: assets an alert announces ---------------------------------------------------

PRODUCED_ON_KINDS = ("firing", "reminder", "resolved", "error", "flapping", "escalation")
"""Event kinds (their wire values, ``core.model.EventKind``) an evaluation may send."""
DEFAULT_PRODUCED_ON = ("firing", "resolved")


class ProducedAsset(_Frozen):
    """An asset the alert's DAG updates when its evaluation sends events of kinds ``on``."""

    asset: AssetRef
    on: tuple[str, ...] = DEFAULT_PRODUCED_ON

    def describe(self) -> str:
        """``s3://alerts/x on firing, resolved``."""
        return f"{self.asset.describe()} on {', '.join(self.on)}"


_PRODUCES_HINT = (
    "write produces: s3://alerts/orders_low, a list of them, or "
    "{uri: ..., on: [firing, resolved]} / {name: ..., on: [...]}"
)


def parse_produces(value: Any) -> tuple[ProducedAsset, ...]:
    """``produces:`` as written; :class:`AssetProblem` (path inside ``produces``) when bad."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    many = isinstance(value, list)
    if many and not items:
        raise AssetProblem("`produces` is an empty list", hint=_PRODUCES_HINT)
    produced: dict[AssetRef, ProducedAsset] = {}
    for index, item in enumerate(items):
        path: Path = (index,) if many else ()
        one = _produced(item, path)
        if one.asset in produced:
            raise AssetProblem(
                f"{one.asset.describe()} is listed twice in `produces`",
                hint="list each asset once; give it every kind in `on`",
                path=path,
            )
        produced[one.asset] = one
    return tuple(produced.values())


def _produced(item: Any, path: Path) -> ProducedAsset:
    if isinstance(item, str):
        return ProducedAsset(asset=parse_asset_ref(item, path))
    if not isinstance(item, dict):
        raise AssetProblem(f"expected an asset, got {_kind(item)}", hint=_PRODUCES_HINT, path=path)
    leaf = {k: v for k, v in item.items() if k != "on"}
    asset = parse_asset_ref(leaf, path)
    if "on" not in item:
        return ProducedAsset(asset=asset)
    on = item["on"]
    kinds = [on] if isinstance(on, str) else on
    if not isinstance(kinds, list) or not kinds:
        raise AssetProblem(
            f"`on` takes a list of event kinds, got {_kind(on) if on != [] else 'an empty list'}",
            hint="one or more of: " + ", ".join(PRODUCED_ON_KINDS),
            path=(*path, "on"),
        )
    for i, kind in enumerate(kinds):
        if kind not in PRODUCED_ON_KINDS:
            where = (*path, "on") if isinstance(on, str) else (*path, "on", i)
            raise AssetProblem(
                f"{kind!r} is not an event kind an evaluation sends",
                hint=did_you_mean(str(kind), PRODUCED_ON_KINDS)
                or "one or more of: " + ", ".join(PRODUCED_ON_KINDS),
                path=where,
            )
    return ProducedAsset(asset=asset, on=tuple(dict.fromkeys(kinds)))


SCHEDULE_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "examples": ["0 9 * * *", "@daily"]},
        {
            "type": "object",
            "properties": {
                "assets": ASSET_CONDITION_SCHEMA,
                "cron": {"type": "string"},
            },
            "required": ["assets"],
            "additionalProperties": False,
        },
        {"type": "null"},
    ],
    "x-type-text": "cron string, or mapping of `assets` (asset condition) and `cron`",
}

_PRODUCED_OBJECT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "uri": {"type": "string", "maxLength": 1500},
        "name": {"type": "string", "minLength": 1, "maxLength": 1500},
        "on": {
            "anyOf": [
                {"enum": list(PRODUCED_ON_KINDS)},
                {"type": "array", "items": {"enum": list(PRODUCED_ON_KINDS)}, "minItems": 1},
            ]
        },
    },
    "additionalProperties": False,
}
PRODUCES_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string"},
        _PRODUCED_OBJECT,
        {"type": "array", "items": {"anyOf": [{"type": "string"}, _PRODUCED_OBJECT]}},
        {"type": "null"},
    ],
    "x-type-text": "asset (URI or `{name}`), mapping of `uri`/`name` and `on`, or a list of them",
}
