"""``printf()``/``format()`` for alert queries on SQLite, without SQLite's one slow loop.

SQLite builds ``printf('%.*c', n, 'x')`` (the character repeated ``n`` times) one character at
a time in the SQLite shipped with Python 3.11 (3.40) and earlier, and keeps looping after the
value has passed the length cap. Nothing interrupts that loop: the progress handler and
``interrupt()`` are only checked between virtual-machine instructions, and the whole ``printf``
call is one instruction. ``printf('%.*c', 2147483647, 'x')`` so holds the thread for seconds
(4 s for 10**9 on an idle 2-core machine), long after the alert's timeout.

:func:`install` replaces ``printf`` and ``format`` on one connection with a function that reads
the format as SQLite does and answers NULL, at once, when a ``%c`` asks for more characters than
the length cap allows: exactly what SQLite answers for a value over the cap, without the loop.
Every other call is handed, with its arguments unchanged, to SQLite's own ``printf`` on a private
in-memory connection, so the text is SQLite's to the byte (where a precision cuts a UTF-8
character in two, the broken bytes come back as U+FFFD rather than as invalid text).

The format grammar and the argument rules follow SQLite's ``sqlite3_str_vappendf`` (printf.c):
``%[flags][width][.precision][l|ll]type``; ``*`` for the width or the precision takes the next
argument as a 64-bit integer cast to a C ``int`` (``sqlite3_value_int64``); ``%%`` and ``%n``
take no argument; an unknown type ends the format.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

# Conversions that take one argument (printf.c's fmtinfo table, as SQL's printf sees it).
_TAKES_ARGUMENT = frozenset("dsgzqQwcouxXfeEGipr")
_NO_ARGUMENT = frozenset("%n")
_FLAGS = "-+ #!0,"
_LEADING_INT = re.compile(rb"\s*([+-]?\d+)")


def _int64(value: Any) -> int:
    """``sqlite3_value_int64`` of a value as Python hands it to a user function."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value:  # NaN
            return 0
        return int(max(-(2**63), min(2**63 - 1, value)))
    raw = value.encode() if isinstance(value, str) else bytes(value)
    match = _LEADING_INT.match(raw)
    if match is None:
        return 0
    return max(-(2**63), min(2**63 - 1, int(match.group(1))))


def _c_int(value: int) -> int:
    """The C cast ``(int)`` of a 64-bit integer: its low 32 bits, signed."""
    low = value & 0xFFFFFFFF
    return low - 2**32 if low >= 2**31 else low


def _star(args: tuple[Any, ...], used: int) -> tuple[int, int]:
    """The next argument as ``getIntArg`` reads it (0 once the arguments run out)."""
    if used >= len(args):
        return 0, used
    return _c_int(_int64(args[used])), used + 1


def longest_repeat(args: tuple[Any, ...]) -> int:
    """The largest precision any ``%c`` in ``printf(*args)`` asks for (its repeat count)."""
    if not args or args[0] is None:
        return 0
    head = args[0]
    if isinstance(head, bytes):
        fmt = head.decode("utf-8", "replace")
    else:
        fmt = head if isinstance(head, str) else str(head)
    used = 1
    longest = 0
    i, end = 0, len(fmt)
    while i < end:
        if fmt[i] != "%":
            i += 1
            continue
        i += 1
        while i < end and fmt[i] in _FLAGS:
            i += 1
        if i < end and fmt[i] == "*":
            _, used = _star(args, used)
            i += 1
        else:
            while i < end and "0" <= fmt[i] <= "9":
                i += 1
        precision = -1
        if i < end and fmt[i] == ".":
            i += 1
            if i < end and fmt[i] == "*":
                value, used = _star(args, used)
                precision = -value if value < 0 else value
                i += 1
            else:
                digits = 0
                while i < end and "0" <= fmt[i] <= "9":
                    digits = (digits * 10 + ord(fmt[i]) - 48) & 0xFFFFFFFF
                    i += 1
                precision = digits & 0x7FFFFFFF
        if i < end and fmt[i] == "l":
            i += 1
            if i < end and fmt[i] == "l":
                i += 1
        if i >= end:
            break
        kind = fmt[i]
        i += 1
        if kind in _NO_ARGUMENT:
            continue
        if kind not in _TAKES_ARGUMENT:
            break  # SQLite stops formatting at an unknown type
        used += 1
        if kind == "c":
            longest = max(longest, precision)
    return longest


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class BoundedPrintf:
    """SQLite's ``printf`` with repeats over ``max_bytes`` answered NULL without the loop."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._plain: sqlite3.Connection | None = None
        self._statements: dict[int, str] = {}

    def __call__(self, *args: Any) -> Any:
        if longest_repeat(args) > self.max_bytes:
            return None
        if self._plain is None:
            # check_same_thread=False: the session's connection may be used from the thread
            # that opened it and from the watchdog's; this one holds no data and no lock.
            self._plain = sqlite3.connect(":memory:", check_same_thread=False)
            self._plain.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, self.max_bytes)
            # a precision can cut a character in two; the text goes back as U+FFFD there
            self._plain.text_factory = _decode
        sql = self._statements.get(len(args))
        if sql is None:
            sql = self._statements[len(args)] = f"SELECT printf({', '.join('?' * len(args))})"
        return self._plain.execute(sql, args).fetchone()[0]

    def close(self) -> None:
        if self._plain is not None:
            self._plain.close()
            self._plain = None


def install(conn: sqlite3.Connection, max_bytes: int) -> BoundedPrintf:
    """Replace ``printf`` (and ``format``, SQLite 3.38+) on ``conn``; returns the function
    (``close()`` it with the connection)."""
    bounded = BoundedPrintf(max_bytes)
    conn.create_function("printf", -1, bounded, deterministic=True)
    if sqlite3.sqlite_version_info >= (3, 38, 0):
        conn.create_function("format", -1, bounded, deterministic=True)
    return bounded
