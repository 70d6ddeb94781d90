"""Show URLs without their secrets.

Connection URIs carry passwords, webhook URLs carry their token in the path (Slack's
``/services/T0/B0/XXXX``) and query strings carry API keys. Anything the package prints,
logs or stores about a URL goes through :func:`redact_url` first, so a message can say
*which* endpoint failed without saying how to call it.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

__all__ = ["MASK", "redact_text", "redact_url"]

MASK = "***"
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def redact_text(text: str | None) -> str | None:
    """``text`` with every URL in it redacted (password, path, query values)."""
    if text is None:
        return None
    return _URL.sub(lambda m: redact_url(m.group(0)), text)


def redact_url(url: str, *, keep_path: bool = False) -> str:
    """``url`` with the password, query values and fragment masked.

    The path is masked too unless ``keep_path`` is true, because webhook tokens live there;
    pass ``keep_path=True`` for database URLs, whose path is just the database name.
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
