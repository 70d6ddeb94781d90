"""Asset references in alerts.yaml (pure: no Airflow import).

MINIMAL STAND-IN: the full module (``AssetCondition``, ``describe``) comes with asset
schedules; this copy keeps the same names for ``AssetRef`` so freshness checks can use it,
and is replaced by that module at merge.

A leaf is written as a string (a URI with a scheme: ``s3://warehouse/orders``), as
``{uri: ...}`` (the same) or as ``{name: orders}`` (an asset referred to by its Airflow name).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from sqlsentinel_airflow.core.config.checks import InvalidValue

__all__ = ["MAX_ASSET_REF_LENGTH", "AssetRef", "describe"]

MAX_ASSET_REF_LENGTH = 1500
"""Airflow's limit on an asset's name and URI."""

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_BAD_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")


class AssetRef(BaseModel):
    """One asset, by URI or by name (exactly one is set)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    uri: str | None = None
    name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _leaf(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"uri": value}
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> AssetRef:
        if (self.uri is None) == (self.name is None):
            raise InvalidValue(
                "an asset needs exactly one of `uri` or `name`",
                hint="write s3://warehouse/orders, {uri: s3://warehouse/orders} or {name: orders}",
            )
        text = self.uri if self.uri is not None else self.name
        assert text is not None
        what = "asset URI" if self.uri is not None else "asset name"
        if not text:
            raise InvalidValue(f"the {what} is empty")
        if len(text) > MAX_ASSET_REF_LENGTH:
            raise InvalidValue(f"the {what} is longer than Airflow's {MAX_ASSET_REF_LENGTH}")
        if not text.isascii():
            raise InvalidValue(f"the {what} {text!r} is not ASCII (Airflow refuses it)")
        if _BAD_CHARS.search(text):
            raise InvalidValue(f"the {what} {text!r} holds whitespace or control characters")
        if self.uri is not None:
            scheme = _SCHEME.match(self.uri)
            if scheme is None:
                raise InvalidValue(
                    f"the asset URI {self.uri!r} has no scheme",
                    hint=f"write {{name: {self.uri}}} to refer to an asset by its name",
                )
            if scheme.group(1).lower() == "airflow":
                raise InvalidValue("the URI scheme `airflow` is reserved by Airflow")
            if "@" in self.uri.split("://", 1)[1].split("/", 1)[0]:
                raise InvalidValue(
                    "an asset URI may not hold user:password (Airflow refuses auth info)"
                )
        return self


def describe(ref: AssetRef) -> str:
    """One line for people: the URI, or ``{name: orders}``."""
    return ref.uri if ref.uri is not None else f"{{name: {ref.name}}}"
