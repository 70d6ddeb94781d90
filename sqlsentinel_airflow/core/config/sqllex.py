"""What the database's own lexer sees, where the SQL parser might see something else.

The read-only check looks at names in sqlglot's tree, so a name must mean there what it
means to the database. Two things are settled here, before parsing:

- Control characters (NUL, ESC, form feed ...) are refused anywhere in a query: databases
  disagree on whether they are white space, and no alert needs them.
- PostgreSQL's Unicode-escaped identifiers, ``U&"pg_terminate\\005fbackend"`` with an optional
  ``UESCAPE 'c'``, are resolved to the plain quoted identifier the server resolves them to
  (``"pg_terminate_backend"``), so the function rules see the real name. sqlglot reads ``U&``
  as a column ``U`` and a bitwise AND, and would check the escaped spelling. The scan follows
  PostgreSQL's lexical rules (manual, "Lexical Structure"): ``--`` and nested ``/* */``
  comments, ``'...'`` with standard_conforming_strings on (the executor sets it), ``E'...'``
  with backslash escapes, dollar quoting, ``"..."`` identifiers.

The rewritten text is only checked, never run: the database runs the text as written.
"""

from __future__ import annotations

import re

__all__ = ["control_character", "resolve_postgres_identifiers"]

# Control characters, and every non-ASCII character Python (so the SQL parser) takes for
# white space while the databases do not: PostgreSQL reads U+00A0 as part of a name, so
# `AS\u00a0$$` is a name there and a dollar quote to the parser; MySQL starts a `--` comment
# only before ASCII white space.
NON_ASCII_SPACE = "\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""Every character above ASCII that ``str.isspace`` accepts (a regex class; a unit test
compares it with Python's own table)."""
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f" + NON_ASCII_SPACE + "]")


def control_character(sql: str) -> tuple[int, int, str] | None:
    """(line, column, U+XXXX) of the first control character or non-ASCII white space in
    ``sql``, or None."""
    match = _CONTROL.search(sql)
    if match is None:
        return None
    before = sql[: match.start()]
    line = before.count("\n") + 1
    column = match.start() - (before.rfind("\n") + 1) + 1
    return line, column, f"U+{ord(match.group()):04X}"


class UnicodeEscapeError(ValueError):
    """A ``U&"..."`` identifier whose escapes PostgreSQL would reject."""


_IDENT_CHAR = re.compile(r"[A-Za-z0-9_$\x80-\U0010ffff]")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$")
_UESCAPE = re.compile(r"(?:\s|--[^\n]*\n?)*UESCAPE(?:\s|--[^\n]*\n?)*'([^'])'", re.IGNORECASE)


def resolve_postgres_identifiers(sql: str) -> str:
    """``sql`` with every ``U&"..."`` identifier replaced by the plain identifier it names.

    Raises :class:`UnicodeEscapeError` for an escape PostgreSQL would refuse too.
    """
    if "&" not in sql:
        return sql
    out: list[str] = []
    i, n, copied = 0, len(sql), 0
    while i < n:
        c = sql[i]
        nxt = sql[i + 1] if i + 1 < n else ""
        if c == "-" and nxt == "-":
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif c == "/" and nxt == "*":
            i = _skip_block_comment(sql, i)
        elif c == "'":
            i = _skip_quoted(sql, i, "'", backslash=_is_escape_string(sql, i))
        elif c == '"':
            i = _skip_quoted(sql, i, '"', backslash=False)
        elif c == "$" and (i == 0 or not _IDENT_CHAR.match(sql[i - 1])):
            tag = _DOLLAR_TAG.match(sql, i)
            if tag is None:
                i += 1
                continue
            end = sql.find(tag.group(), tag.end())
            i = n if end < 0 else end + len(tag.group())
        elif (
            c in "uU"
            and nxt == "&"
            and sql[i + 2 : i + 3] == '"'
            and (i == 0 or not _IDENT_CHAR.match(sql[i - 1]))
        ):
            close = _skip_quoted(sql, i + 2, '"', backslash=False)
            body = sql[i + 3 : close - 1].replace('""', '"')
            escape = "\\"
            uescape = _UESCAPE.match(sql, close)
            if uescape is not None:
                escape = uescape.group(1)
                close = uescape.end()
            name = _decode_unicode_escapes(body, escape)
            out.append(sql[copied:i])
            out.append('"' + name.replace('"', '""') + '"')
            copied = i = close
        else:
            i += 1
    if not out:
        return sql
    out.append(sql[copied:])
    return "".join(out)


def _is_escape_string(sql: str, quote: int) -> bool:
    """``E'...'``: the quote follows a lone E (not the end of a longer word)."""
    if quote == 0 or sql[quote - 1] not in "eE":
        return False
    return quote == 1 or not _IDENT_CHAR.match(sql[quote - 2])


def _skip_block_comment(sql: str, start: int) -> int:
    depth, i, n = 0, start, len(sql)
    while i < n:
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return n


def _skip_quoted(sql: str, start: int, quote: str, *, backslash: bool) -> int:
    """The index after the closing quote of the literal opened at ``start``."""
    i, n = start + 1, len(sql)
    while i < n:
        c = sql[i]
        if backslash and c == "\\":
            i += 2
        elif c == quote:
            if sql[i + 1 : i + 2] == quote:
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return n


def _decode_unicode_escapes(body: str, escape: str) -> str:
    if escape in "+'\" \t\n\r" or re.fullmatch(r"[0-9A-Fa-f]", escape):
        raise UnicodeEscapeError(f"invalid Unicode escape character {escape!r}")
    out: list[str] = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c != escape:
            out.append(c)
            i += 1
            continue
        if body[i + 1 : i + 2] == escape:
            out.append(escape)
            i += 2
            continue
        if body[i + 1 : i + 2] == "+":
            digits, i = body[i + 2 : i + 8], i + 8
        else:
            digits, i = body[i + 1 : i + 5], i + 5
        if not re.fullmatch(r"[0-9A-Fa-f]{4}|[0-9A-Fa-f]{6}", digits):
            raise UnicodeEscapeError("invalid Unicode escape in a U& identifier")
        code = int(digits, 16)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise UnicodeEscapeError("invalid Unicode escape value in a U& identifier")
        out.append(chr(code))
    return "".join(out)
