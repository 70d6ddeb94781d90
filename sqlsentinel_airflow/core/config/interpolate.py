"""``${VAR}`` and ``${VAR:-default}`` in string values of alerts.yaml.

Interpolation runs on parsed values, never on the raw text, so a variable's value can never
change the YAML structure (dag-factory's mistake), and it skips alert queries: SQL text is
sent to the database exactly as written, so ``${...}`` in a query (a PostgreSQL dollar
quote, a templating engine downstream) is never replaced by the environment. This was the
standalone tool's defect: it expanded variables inside SQL.

Rules, like a POSIX shell: ``${VAR}`` is the variable's value and an error when unset;
``${VAR:-default}`` uses the default when the variable is unset *or empty*; ``$${VAR}``
is a literal ``${VAR}``. Anything else with a dollar sign (``$5``, ``${{ x }}``) is left as
written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from sqlsentinel_airflow.core.config.yamlpos import Path, Problem

__all__ = ["UnsetVariable", "expand_string", "interpolate_tree", "is_query_path"]

_REFERENCE = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class UnsetVariable(LookupError):
    """A ``${VAR}`` without default whose variable is not set."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def expand_string(text: str, env: Mapping[str, str]) -> str:
    """``text`` with every variable reference replaced; raises :class:`UnsetVariable`."""
    if "${" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        escaped, name, default = match.groups()
        if escaped:
            return match.group(0)[1:]
        value = env.get(name)
        if default is not None and not value:
            return default
        if value is None:
            raise UnsetVariable(name)
        return value

    return _REFERENCE.sub(replace, text)


def is_query_path(path: Path) -> bool:
    """True for the SQL of an alert (``alerts[i].query``), which is never interpolated."""
    return len(path) == 3 and path[0] == "alerts" and path[2] == "query"


def interpolate_tree(
    value: Any,
    env: Mapping[str, str],
    *,
    skip: Callable[[Path], bool] = is_query_path,
    path: Path = (),
) -> tuple[Any, list[Problem]]:
    """Expand variables in every string of a parsed YAML tree (in place for containers).

    Returns the new value and one problem per string that names an unset variable; such a
    string is left as written so that later checks do not report it a second time.
    """
    problems: list[Problem] = []
    result = _walk(value, env, skip, path, problems)
    return result, problems


def _walk(
    value: Any,
    env: Mapping[str, str],
    skip: Callable[[Path], bool],
    path: Path,
    problems: list[Problem],
) -> Any:
    if isinstance(value, str):
        if "${" not in value or skip(path):
            return value
        try:
            return expand_string(value, env)
        except UnsetVariable as exc:
            problems.append(
                Problem(
                    path,
                    f"environment variable `{exc.name}` is not set",
                    hint=f"set it, write `${{{exc.name}:-default}}`, or `$${{{exc.name}}}` "
                    "for a literal",
                    supersedes=True,
                )
            )
            return value
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = _walk(item, env, skip, (*path, key), problems)
        return value
    if isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = _walk(item, env, skip, (*path, index), problems)
        return value
    return value
