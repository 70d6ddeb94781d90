"""Signed action links: a token that lets one email recipient act on one incident, once.

A token is ``base64url(body) "." base64url(HMAC-SHA256(key, body))`` (no padding), where
``body`` is compact JSON::

    {"v": 1, "act": "ack", "dag_id": ..., "key": <instance key>, "since": <firing_since,
     RFC 3339>, "exp": <unix seconds>, "jti": <128 random bits, hex>, "to": <recipients>}

- The key is the password of an Airflow connection (``action_links.conn_id`` in
  alerts.yaml); it never leaves the worker that mints and the api-server that verifies.
- :func:`verify_action_token` checks, in this order: the shape, the signature (constant-time
  comparison), the expiry, then the version and action. Each failure is its own exception
  with a message that says what is wrong with *the link*, never the key or the token.
- Single use and "this incident is over" are decided by the caller against the state
  database (``store.use_action_token``, the instance's current ``firing_since``): a token
  names the incident it was minted for, so it can never act on a later one.

Pure Python: no Airflow, no I/O (docs/responding.md, "Links in emails").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlsentinel_airflow.core.clock import rfc3339
from sqlsentinel_airflow.errors import SentinelError

__all__ = [
    "ACTIONS",
    "MAX_EXPIRE_AFTER",
    "MAX_TOKEN_CHARS",
    "MIN_KEY_CHARS",
    "TOKEN_VERSION",
    "ActionClaims",
    "ActionLinkError",
    "ActionLinkExpired",
    "ActionLinkInvalid",
    "action_key",
    "mint_action_token",
    "read_action_token",
    "verify_action_token",
]

TOKEN_VERSION = 1
ACTIONS = ("ack",)
MAX_EXPIRE_AFTER = timedelta(days=7)
MAX_TOKEN_CHARS = 4096  # a token is ~350 characters; a longer one is not ours
MIN_KEY_CHARS = 16
_MAX_RECIPIENTS_CHARS = 200


class ActionLinkError(SentinelError):
    """An action link that cannot be used; the message is safe to show to its holder."""


class ActionLinkInvalid(ActionLinkError):
    """Not a token, cut short, altered, or signed with another key."""


class ActionLinkExpired(ActionLinkError):
    """Signed by us, but past its ``exp``."""


@dataclass(frozen=True)
class ActionClaims:
    """What a token says: the action on one incident (an instance's firing since a time)."""

    action: str
    dag_id: str
    instance_key: str
    firing_since: datetime
    expires_at: datetime
    token_id: str
    recipients: str = ""  # who the email went to (to and cc), the author without a login
    version: int = TOKEN_VERSION


def action_key(password: str | None, conn_id: str) -> bytes:
    """The HMAC key from the connection's password; ActionLinkError (naming the connection,
    never the password) when it is missing or too short to be a key."""
    text = (password or "").strip()
    if len(text) < MIN_KEY_CHARS:
        raise ActionLinkError(
            f"the password of connection '{conn_id}' (action links) must be a random key of at "
            f"least {MIN_KEY_CHARS} characters; generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    return text.encode()


def mint_action_token(
    key: bytes,
    *,
    dag_id: str,
    instance_key: str,
    firing_since: datetime,
    now: datetime,
    expire_after: timedelta,
    action: str = "ack",
    recipients: str = "",
    token_id: str | None = None,
) -> str:
    """A new token for ``action`` on the incident of ``instance_key`` firing since
    ``firing_since``, valid ``expire_after`` from ``now``."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if not timedelta(0) < expire_after <= MAX_EXPIRE_AFTER:
        raise ValueError("expire_after must be positive and at most 7 days")
    body = {
        "v": TOKEN_VERSION,
        "act": action,
        "dag_id": dag_id,
        "key": instance_key,
        "since": rfc3339(firing_since),
        "exp": int((now + expire_after).timestamp()),
        "jti": token_id or secrets.token_hex(16),
        "to": recipients[:_MAX_RECIPIENTS_CHARS],
    }
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()
    return f"{_b64(raw)}.{_b64(_sign(key, raw))}"


def read_action_token(token: str) -> ActionClaims:
    """What ``token`` claims, NOT verified: only to find the key that verifies it (the
    alert's ``action_links.conn_id``). ActionLinkInvalid when it is not shaped like one."""
    raw, _signature = _split(token)
    return _claims(raw)


def verify_action_token(token: str, key: bytes, now: datetime) -> ActionClaims:
    """The claims of ``token`` once its signature is ours and it has not expired.

    Raises ActionLinkInvalid (malformed, altered, another key, unknown version or action)
    or ActionLinkExpired.
    """
    raw, signature = _split(token)
    if not hmac.compare_digest(signature, _sign(key, raw)):
        raise ActionLinkInvalid(_INVALID)
    claims = _claims(raw)
    if now >= claims.expires_at:
        raise ActionLinkExpired(
            "this link has expired: open the alert in SQL Sentinel to acknowledge it there"
        )
    if claims.version != TOKEN_VERSION or claims.action not in ACTIONS:
        raise ActionLinkInvalid(_INVALID)
    return claims


_INVALID = "this link is not valid (cut short, altered, or not from this Airflow)"


def _sign(key: bytes, raw: bytes) -> bytes:
    return hmac.new(key, raw, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or any(c not in _B64_CHARS for c in text):
        raise ActionLinkInvalid(_INVALID)
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ActionLinkInvalid(_INVALID) from None
    if _b64(data) != text:  # the last character's spare bits: one spelling per token
        raise ActionLinkInvalid(_INVALID)
    return data


_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _split(token: object) -> tuple[bytes, bytes]:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise ActionLinkInvalid(_INVALID)
    body, signature = token.strip().split(".")
    raw, sig = _unb64(body), _unb64(signature)
    if len(sig) != hashlib.sha256().digest_size:
        raise ActionLinkInvalid(_INVALID)
    return raw, sig


def _claims(raw: bytes) -> ActionClaims:
    try:
        body: Any = json.loads(raw)
        since = datetime.fromisoformat(body["since"])
        claims = ActionClaims(
            version=int(body["v"]),
            action=str(body["act"]),
            dag_id=_text(body["dag_id"]),
            instance_key=_text(body["key"]),
            firing_since=since if since.tzinfo else since.replace(tzinfo=timezone.utc),
            expires_at=datetime.fromtimestamp(int(body["exp"]), timezone.utc),
            token_id=_text(body["jti"]),
            recipients=_text(body.get("to", "")),
        )
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
        raise ActionLinkInvalid(_INVALID) from None
    if not claims.dag_id or len(claims.token_id) != 32:
        raise ActionLinkInvalid(_INVALID)
    return claims


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value
