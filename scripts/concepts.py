"""Count the places in the package that know each shared concept (aim: one).

    .venv/bin/python scripts/concepts.py [PACKAGE_DIR]     # default: sqlsentinel_airflow

A "place" is a module that defines or spells out the concept itself: a masking function, a
dict literal in the shape of a stored record, a hand-built event payload, a call that resolves
the state database, the evaluate-then-deliver sequence, the tag and DAG-id literals of the
Airflow contract, a private clock or timestamp format, a second definition of the same small
helper. It reads the source with ``ast`` and runs nothing. ``tests/unit/test_concepts.py``
holds the package to the census; docs/architecture.md shows the figures before and after.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

Finder = Callable[[ast.Module], bool]

_READ_SHAPE_KEYS = frozenset({"instance_key", "last_error", "attempts", "ends_at", "firing_since"})
_PAYLOAD_KEYS = frozenset({"event_id", "kind", "alert", "instance"})
_SMALL_HELPERS = ("_display_name", "one_line", "alert_doc_md", "_GLOB_CHARS")


def _walk(tree: ast.Module) -> Iterator[ast.AST]:
    return ast.walk(tree)


def _defines(tree: ast.Module, predicate: Callable[[str], bool]) -> bool:
    for node in _walk(tree):
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and predicate(node.name):
            return True
        if isinstance(node, ast.Assign) and any(
            predicate(getattr(t, "id", "")) for t in node.targets
        ):
            return True
    return False


def _calls(tree: ast.Module, name: str) -> bool:
    for node in _walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called == name:
                return True
    return False


def _dict_keys(node: ast.Dict) -> set[str]:
    return {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}


def _dicts_with(tree: ast.Module, needed: frozenset[str], at_least: int) -> bool:
    return any(
        isinstance(node, ast.Dict) and len(_dict_keys(node) & needed) >= at_least
        for node in _walk(tree)
    )


def _string_constants(tree: ast.Module) -> Iterator[str]:
    for node in _walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


def _masking(tree: ast.Module) -> bool:
    """A module-level function or class named for masking (methods that call one are uses)."""
    return any(
        isinstance(node, ast.FunctionDef | ast.ClassDef)
        and any(w in node.name.lower() for w in ("redact", "mask", "public_dump"))
        for node in tree.body
    )


def _read_shape(tree: ast.Module) -> bool:
    return _dicts_with(tree, _READ_SHAPE_KEYS, 2)


def _payload(tree: ast.Module) -> bool:
    """A dict literal in the payload's shape (its ``event_id`` and two more of its keys)."""
    return any(
        isinstance(node, ast.Dict)
        and "event_id" in _dict_keys(node)
        and len(_dict_keys(node) & _PAYLOAD_KEYS) >= 3
        for node in _walk(tree)
    ) or any(
        isinstance(node, ast.Dict) and "links" in _dict_keys(node) and "version" in _dict_keys(node)
        for node in _walk(tree)
    )


def _state_db_lookup(tree: ast.Module) -> bool:
    """Resolves the state DB, or reads ``[sqlsentinel] state_db_conn_id`` (declaring it in the
    provider's config schema is not reading it)."""
    reads_option = False
    for node in _walk(tree):
        if isinstance(node, ast.Call):
            args = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if "state_db_conn_id" in args:
                reads_option = True
    env_name = any(s == "AIRFLOW__SQLSENTINEL__STATE_DB_CONN_ID" for s in _string_constants(tree))
    return _calls(tree, "resolve_state_db_url") or reads_option or env_name


def _run_sequence(tree: ast.Module) -> bool:
    evaluates = _calls(tree, "evaluate_alert")
    delivers = _calls(tree, "deliver_pending") or _calls(tree, "deliver_notifications")
    return (evaluates and delivers) or _defines(tree, lambda n: n == "_already_evaluated")


def _contract_literals(tree: ast.Module) -> bool:
    for node in _walk(tree):
        if (
            isinstance(node, ast.keyword)
            and node.arg == "tags"
            and isinstance(node.value, ast.List)
        ) and any(isinstance(e, ast.Constant) for e in node.value.elts):
            return True
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                name = getattr(target, "id", "")
                if not name.startswith("_") and name.endswith(
                    ("_TAG", "_DAG_SUFFIX", "DAG_ID_PREFIX")
                ):
                    return True
    params = any(
        isinstance(node, ast.Dict)
        and any(
            isinstance(k, ast.Constant) and k.value == "dry_run" and isinstance(v, ast.Call)
            for k, v in zip(node.keys, node.values, strict=True)
        )
        for node in _walk(tree)
    )
    return params or any(s == "evaluation" for s in _xcom_and_param_keys(tree))


def _xcom_and_param_keys(tree: ast.Module) -> Iterator[str]:
    for node in _walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in {
            "xcom_push",
            "xcom_pull",
        }:
            for kw in node.keywords:
                if kw.arg == "key" and isinstance(kw.value, ast.Constant):
                    yield str(kw.value.value)


def _doc_md_parsing(tree: ast.Module) -> bool:
    return _defines(tree, lambda n: n == "parse_alert_doc")


def _clock(tree: ast.Module) -> bool:
    for node in _walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"now", "utcnow"}
            and getattr(node.func.value, "id", "") == "datetime"
        ):
            return True
    return _defines(tree, lambda n: n in {"_utcnow", "_now"})


def _timestamp_format(tree: ast.Module) -> bool:
    return _defines(tree, lambda n: n == "_iso") or any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "isoformat"
        for node in _walk(tree)
    )


def _exit_codes(tree: ast.Module) -> bool:
    for node in _walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                names = target.elts if isinstance(target, ast.Tuple) else [target]
                if any(getattr(t, "id", "").startswith("EXIT_") for t in names):
                    return True
    return False


def _state_ranking(tree: ast.Module) -> bool:
    for node in _walk(tree):
        if isinstance(node, ast.Dict) and len(node.keys) >= 4:
            keys = [k for k in node.keys if isinstance(k, ast.Attribute)]
            if sum(1 for k in keys if getattr(k.value, "id", "") == "State") >= 4:
                return True
    return False


def _problem_class(tree: ast.Module) -> bool:
    return _defines(tree, lambda n: n == "Problem")


def _operators(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ClassDef)
        and any(getattr(b, "id", getattr(b, "attr", "")) == "BaseOperator" for b in node.bases)
        for node in _walk(tree)
    )


CONCEPTS: dict[str, Finder] = {
    "redaction (masking functions)": _masking,
    "read shapes (record dicts)": _read_shape,
    "event payload (built by hand)": _payload,
    "state-DB lookup": _state_db_lookup,
    "run sequence (evaluate then deliver)": _run_sequence,
    "Airflow contract literals": _contract_literals,
    "alert definition parsed from Markdown": _doc_md_parsing,
    "clock (datetime.now)": _clock,
    "timestamp format (isoformat)": _timestamp_format,
    "exit codes": _exit_codes,
    "state ranking": _state_ranking,
    "Problem classes": _problem_class,
}
for _helper in _SMALL_HELPERS:
    CONCEPTS[f"helper {_helper}"] = lambda tree, n=_helper: _defines(tree, lambda d: d == n)


def census(package: Path) -> dict[str, list[str]]:
    """Concept -> the modules (paths relative to ``package``'s parent) that know it."""
    found: dict[str, list[str]] = {name: [] for name in CONCEPTS}
    found["operator classes outside operators/ and sensors/"] = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = str(path.relative_to(package.parent))
        for name, finder in CONCEPTS.items():
            if finder(tree):
                found[name].append(where)
        parts = path.relative_to(package).parts
        if _operators(tree) and parts[0] not in {"operators", "sensors"}:
            found["operator classes outside operators/ and sensors/"].append(where)
    return found


def main(argv: list[str]) -> int:
    package = Path(argv[1]) if len(argv) > 1 else Path(__file__).parents[1] / "sqlsentinel_airflow"
    for name, places in census(package).items():
        print(f"{len(places):3d}  {name}: {', '.join(places) or '-'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
