"""printf()/format() on SQLite alert connections: SQLite's own text, without its slow loop.

Judged against SQLite itself: the bounded function and SQLite's built-in printf, under the
same length cap, must answer the same for random formats and arguments; the repeat count the
bounded function reads must be the one SQLite prints.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator

import pytest

from sqlsentinel_airflow.execution import sqlite_printf

CAP = 64

_CONVERSIONS = list("dsgzqQwcouxXfeEGipr%n") + ["T", "y", "lld", "ld", "lc"] + ["c"] * 8
_FLAGS = ["", "-", "+", " ", "#", "!", "0", ",", "-0", "+ "]


def _connection(*, bounded: bool, cap: int = CAP) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, cap)
    conn.text_factory = lambda raw: raw.decode("utf-8", "replace")  # '%.1s' of 'é' cuts it
    if bounded:
        sqlite_printf.install(conn, cap)
    return conn


@pytest.fixture
def pair() -> Iterator[tuple[sqlite3.Connection, sqlite3.Connection]]:
    plain, bounded = _connection(bounded=False), _connection(bounded=True)
    yield plain, bounded
    plain.close()
    bounded.close()


def _number(rng: random.Random) -> object:
    return rng.choice(
        [
            rng.randint(-3, 3),
            rng.randint(CAP - 3, CAP + 3),
            -rng.randint(CAP - 3, CAP + 3),
            # the C int cast keeps the low 32 bits (a huge repeat would make SQLite loop for
            # seconds here: test_a_billion_repeats_never_reach_sqlite has those)
            2**32 + rng.randint(0, 5),
            2**32 + rng.randint(CAP - 3, CAP + 3),
            -(2**32) - rng.randint(CAP - 3, CAP + 3),
            2**33 - rng.randint(CAP - 3, CAP + 3),
            float(rng.randint(0, 2 * CAP)) + 0.5,
            str(rng.randint(0, 2 * CAP)),
            f"  {rng.randint(0, 2 * CAP)}abc",
            None,
            b"7",
            "x",
        ]
    )


def _spec(rng: random.Random) -> str:
    width = rng.choice(["", "", "*", str(rng.randint(0, CAP + 4))])
    near_cap = f".{rng.randint(CAP - 2, CAP + 2)}"
    precision = rng.choice(
        ["", ".*", ".*", near_cap, near_cap, f".{rng.randint(0, CAP)}", ".", ".4294967297"]
    )
    return "%" + rng.choice(_FLAGS) + width + precision + rng.choice(_CONVERSIONS)


def _random_call(rng: random.Random) -> tuple[object, ...]:
    fmt = "".join(rng.choice([_spec(rng), "ab", "|", "é"]) for _ in range(rng.randint(1, 5)))
    args = [_number(rng) if rng.random() < 0.7 else rng.choice(["é", "xy", "", b"\x01"])]
    args += [_number(rng) for _ in range(rng.randint(0, 6))]
    return (fmt, *args)


def _call(conn: sqlite3.Connection, name: str, args: tuple[object, ...]) -> object:
    sql = f"SELECT {name}({', '.join('?' * len(args))})"
    return conn.execute(sql, args).fetchone()[0]


def test_random_formats_answer_as_sqlite_does(
    pair: tuple[sqlite3.Connection, sqlite3.Connection],
) -> None:
    plain, bounded = pair
    rng = random.Random(20261206)
    refused = 0
    for _ in range(3000):
        args = _random_call(rng)
        want = _call(plain, "printf", args)
        assert _call(bounded, "printf", args) == want, args
        if sqlite3.sqlite_version_info >= (3, 38, 0):
            assert _call(bounded, "format", args) == want, args
        if sqlite_printf.longest_repeat(args) > CAP:
            refused += 1
            assert want is None, args  # SQLite too gives NULL for a value over the cap
    assert refused > 50  # the corpus reaches the refusal, not only the pass-through


@pytest.mark.parametrize("seed", range(3))
def test_the_repeat_count_read_is_the_one_sqlite_prints(seed: int) -> None:
    """The %c's precision sits behind random other conversions and * arguments; the count
    the bounded function reads must equal the run of the character SQLite prints."""
    plain = _connection(bounded=False, cap=1_000_000)
    rng = random.Random(seed)
    for _ in range(500):
        before = [
            rng.choice(["%*d", "%.*f", "%%", "%n", "%-*.*s", "%lld", "%5.2e", "ab"])
            for _ in range(rng.randint(0, 4))
        ]
        args: list[object] = []
        for spec in before:
            args += [rng.randint(0, 9) for _ in range(spec.count("*"))]
            if spec not in ("%%", "%n", "ab"):
                args.append(rng.randint(0, 9))
        repeat = rng.randint(2, 300)
        star = rng.random() < 0.5
        fmt = "".join(before) + ("%.*c" if star else f"%.{repeat}c") + "|"
        args = [fmt, *args, *([repeat] if star else []), "Z"]
        printed = _call(plain, "printf", tuple(args))
        assert isinstance(printed, str) and printed.endswith("Z" * repeat + "|"), args
        assert sqlite_printf.longest_repeat(tuple(args)) == repeat, args
    plain.close()


def test_a_billion_repeats_never_reach_sqlite() -> None:
    """The call SQLite would loop on for seconds is answered without calling SQLite."""
    conn = _connection(bounded=False, cap=32 * 1024 * 1024)
    bounded = sqlite_printf.install(conn, 32 * 1024 * 1024)
    for sql in (
        "SELECT length(printf('%.*c', 1000000000, 'x'))",
        "SELECT length(printf('%.2147483647c', 'x'))",
        "SELECT length(format('%5s%.*c', 'a', -2000000000, 'x'))",
        "SELECT length(printf('%.*c', '1500000000', 'x'))",
    ):
        assert conn.execute(sql).fetchone()[0] is None, sql
    assert bounded._plain is None  # SQLite's printf was never called
    assert conn.execute("SELECT printf('%.3c|%d', 'x', 42)").fetchone()[0] == "xxx|42"
    bounded.close()
    conn.close()
