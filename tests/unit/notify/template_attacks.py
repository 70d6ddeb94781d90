"""Templates that ask for unbounded work or memory, and a guard that measures what they cost.

Each attack is (id, template, the limit it must hit as a regex). Without the bounded sandbox
(sqlsentinel_airflow/notify/sandbox.py) every one of them hangs for minutes or allocates
gigabytes; with it each must fail in well under the time limit's second or so.
"""

from __future__ import annotations

import signal
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

VALUE = r"the value size limit \(262,144 characters or items\) is exceeded by "
OUTPUT = r"the output limit \(262,144 characters\) is exceeded by "
RANGE = r"the range limit \(10,000 numbers\) is exceeded by "
WORK = r"the work limit \(100,000 loop iterations and calls\) is exceeded by "
DEPTH = r"the call depth limit \(64 nested calls\) is exceeded by "
INTEGER = r"the integer size limit \(4,096 bits\) is exceeded by "
TIME = r"the time limit \(1 s of CPU time\) is exceeded by "

_BIG = "{% set big = 'x' * 250000 %}"

ATTACKS: list[tuple[str, str, str]] = [
    (
        "nested-range-100000",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        RANGE + r"range\(100,000\)",
    ),
    (
        "nested-range-10000",
        "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
        WORK,
    ),
    (
        "loop-filter-skips-items",
        "{% for i in range(10000) %}{% for j in range(10000) if false %}{% endfor %}{% endfor %}",
        WORK,
    ),
    ("str-times-billion", "{{ 'a' * 10**9 }}", VALUE + r"`\*` \(x 1,000,000,000\)"),
    ("printf-width", "{{ '%0999999999d' % 1 }}", VALUE + "a `%` format"),
    ("printf-precision", "{{ '%.999999999f' % 1.0 }}", VALUE + "a `%` format"),
    ("printf-star-width", "{{ '%*d' % (999999999, 1) }}", VALUE + r"a `%` format with a `\*`"),
    ("str-center", "{{ 'x'.center(2000000000) }}", VALUE + r"`\.center\(\)`"),
    ("str-zfill", "{{ 'x'.zfill(2000000000) }}", VALUE + r"`\.zfill\(\)`"),
    ("str-expandtabs", "{{ ('\t' * 1000).expandtabs(10**6) }}", VALUE + r"`\.expandtabs\(\)`"),
    ("int-power", "{{ 10**100000000 }}", INTEGER + r"`\*\*`"),
    (
        "int-square-in-loop",
        "{% set ns = namespace(n=3) %}{% for i in range(64) %}{% set ns.n = ns.n * ns.n %}"
        "{% endfor %}",
        INTEGER + r"`\*`",
    ),
    ("int-to-bytes", "{{ (1).to_bytes(10**9, 'big') }}", VALUE + r"`\.to_bytes\(\)`"),
    ("list-times", "{{ range(10)|list * 100000000 }}", VALUE + r"`\*`"),
    ("format-str-times", '{{ "%s" * 100000000 }}', VALUE + r"`\*`"),
    (
        "replace-empty",
        "{{ ('a' * 1000)|replace('', 'x' * 1000) }}",
        VALUE + "the `replace` filter",
    ),
    (
        "str-replace-empty",
        "{{ ('a' * 1000).replace('', 'x' * 1000) }}",
        VALUE + r"`\.replace\(\)`",
    ),
    (
        "recursive-macro",
        "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}",
        DEPTH + "calls, e.g. a macro calling itself",
    ),
    ("recursive-loop", "{% for x in [1] recursive %}{{ loop([x, x]) }}{% endfor %}", DEPTH),
    ("lipsum", "{{ lipsum(100000) }}", VALUE + r"lipsum\(100,000"),
    ("indent-filter", "{{ 'x' | indent(10**9) }}", VALUE + "the `indent` filter"),
    ("center-filter", "{{ 'x'|center(1000000000) }}", VALUE + "the `center` filter"),
    ("format-method", "{{ '{:>999999999}'.format(1) }}", VALUE + r"`\.format\(\)` \(width"),
    (
        "format-method-fields",
        "{{ ('{0}' * 1000).format('x' * 1000) }}",
        VALUE + r"`\.format\(\)`",
    ),
    ("format-filter", "{{ '%0999999999d'|format(1) }}", VALUE + "the `format` filter"),
    (
        "join-filter",
        "{{ (['x' * 1000] * 200)|join('y' * 100000) }}",
        VALUE + "the `join` filter",
    ),
    (
        "str-join",
        "{{ ('y' * 100000).join(['x' * 1000] * 200) }}",
        VALUE + r"`\.join\(\)`",
    ),
    (
        "wordwrap",
        "{{ ('x' * 100000)|wordwrap(1, wrapstring='y' * 1000) }}",
        VALUE + "the `wordwrap` filter",
    ),
    (
        "translate",
        "{{ ('a' * 1000).translate('a'.maketrans({'a': 'b' * 100000})) }}",
        VALUE + r"`\.translate\(\)`",
    ),
    ("batch-fill", "{{ [1]|batch(1000000000, 0)|list }}", VALUE + "the `batch` filter"),
    ("slice-count", "{{ [1]|slice(1000000000)|list }}", VALUE + "the `slice` filter"),
    ("tojson-indent", "{{ [[[1]]]|tojson(indent=1000000000) }}", VALUE + "the `tojson` filter"),
    (
        "concat-doubling",
        "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}",
        VALUE + "`~` or a literal",
    ),
    (
        "nested-list-doubling",
        "{% set ns = namespace(x=[1]) %}{% for i in range(100) %}{% set ns.x = [ns.x, ns.x] %}"
        "{% endfor %}{{ ns.x }}",
        VALUE + "`~` or a literal",
    ),
    (
        "aliased-list-printed",
        "{% set a = range(10000)|list %}{{ ([a] * 10000)|string }}",
        VALUE + r"`\*`",
    ),
    (
        "list-extend",
        "{% set ns = namespace(l=[]) %}{% for i in range(10000) %}"
        "{% set _ = ns.l.extend(range(10000)) %}{% endfor %}",
        VALUE + "calling `extend`",
    ),
    (
        "set-block-output",
        _BIG + "{% set s %}{% for i in range(10000) %}{{ big }}{% endfor %}{% endset %}",
        OUTPUT + "the template's output",
    ),
    (
        "output",
        "{% for i in range(10000) %}{{ 'x' * 1000 }}{% endfor %}",
        OUTPUT + "the template's output",
    ),
    (
        "cpu-per-step",
        _BIG + "{% for i in range(9000) %}{% for j in range(10) %}{% if big.upper() %}{% endif %}"
        "{% endfor %}{% endfor %}",
        TIME + "the render",
    ),
]

TIME_TO_FAIL_SECONDS = 3.0
"""A failing render's CPU-time bound in tests: the 1 s CPU limit plus tracing overhead.

CPU time, not wall time: on a loaded 2-core machine a 1 s render took 3.7 s of wall time while
it spent the same CPU; a hang is caught by ``bounded_cost``'s wall-clock alarm instead."""
PEAK_MEMORY_BYTES = 100 * 1024 * 1024


@dataclass
class Cost:
    seconds: float = 0.0
    peak_bytes: int = 0


@contextmanager
def bounded_cost(hard_timeout: float = 20.0) -> Iterator[Cost]:
    """Measure CPU time and peak traced memory; SIGALRM ends a render that would hang."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"still running after {hard_timeout} s")

    cost = Cost()
    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, hard_timeout)
    tracemalloc.start()
    start = time.process_time()
    try:
        yield cost
    finally:
        cost.seconds = time.process_time() - start
        cost.peak_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def assert_cheap(cost: Cost) -> None:
    assert cost.seconds < TIME_TO_FAIL_SECONDS, f"took {cost.seconds:.2f} s of CPU"
    assert cost.peak_bytes < PEAK_MEMORY_BYTES, f"peaked at {cost.peak_bytes / 2**20:.0f} MiB"
