"""Every ``airflow.*`` import in the package, checked against the Airflow that is installed.

The package imports Airflow lazily, inside functions, so a name that a release moved or never
had only fails when that code path runs (a task, a CLI command). This walks the package's
source with ``ast`` instead: each ``from airflow... import name`` and ``import airflow...`` is
resolved here and now. Imports inside ``try: ... except ImportError:`` are alternatives: the
group passes when every import of the ``try`` body resolves, or every import of a handler.

``python tests/compat/import_audit.py [PACKAGE_DIR]`` prints the table; the compatibility
suite asserts it has no unresolved row.
"""

from __future__ import annotations

import ast
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AirflowImport", "audit", "unresolved"]

_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError"}


@dataclass(frozen=True)
class AirflowImport:
    file: str
    line: int
    module: str
    name: str | None  # None for ``import airflow.x``
    group: int | None  # the try/except ImportError statement it is an alternative in
    branch: int  # 0: the try body, n: the n-th handler
    resolves: bool
    error: str


def _resolve(module: str, name: str | None) -> tuple[bool, str]:
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # any failure to import is a finding, not a crash of the audit
        return False, f"{type(exc).__name__}: {exc}"
    if name is None or hasattr(mod, name):
        return True, ""
    try:
        importlib.import_module(f"{module}.{name}")
    except Exception:
        return False, f"cannot import name {name!r} from {module!r}"
    return True, ""


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type
    names: list[ast.expr] = []
    if kinds is None:
        return True
    names = list(kinds.elts) if isinstance(kinds, ast.Tuple) else [kinds]
    return any(isinstance(n, ast.Name) and n.id in _IMPORT_ERRORS | {"Exception"} for n in names)


def _imports_in(nodes: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Import | ast.ImportFrom):
                found.append(sub)
    return found


def _rows(node: ast.Import | ast.ImportFrom) -> list[tuple[str, str | None]]:
    if isinstance(node, ast.ImportFrom):
        if node.level or not node.module or not node.module.startswith("airflow"):
            return []
        if node.module != "airflow" and not node.module.startswith("airflow."):
            return []
        return [(node.module, alias.name) for alias in node.names]
    return [(a.name, None) for a in node.names if a.name.split(".")[0] == "airflow"]


def audit(package_dir: Path) -> list[AirflowImport]:
    """One row per imported name, for every ``.py`` file under ``package_dir``."""
    found: list[AirflowImport] = []
    group_id = 0
    for path in sorted(package_dir.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        placed: dict[int, tuple[int, int]] = {}  # id(import node) -> (group, branch)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Try):
                continue
            if not any(_catches_import_error(h) for h in node.handlers):
                continue
            group_id += 1
            for imp in _imports_in(node.body):
                placed.setdefault(id(imp), (group_id, 0))
            for n, handler in enumerate(node.handlers, start=1):
                for imp in _imports_in(handler.body):
                    placed.setdefault(id(imp), (group_id, n))
        rel = str(path.relative_to(package_dir.parent))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            group, branch = placed.get(id(node), (None, 0))
            for module, name in _rows(node):
                ok, error = _resolve(module, name)
                found.append(
                    AirflowImport(rel, node.lineno, module, name, group, branch, ok, error)
                )
    return found


def unresolved(rows: list[AirflowImport]) -> list[AirflowImport]:
    """The imports that fail on this Airflow with no alternative that works."""
    bad = [r for r in rows if r.group is None and not r.resolves]
    groups: dict[int, dict[int, list[AirflowImport]]] = {}
    for r in rows:
        if r.group is not None:
            groups.setdefault(r.group, {}).setdefault(r.branch, []).append(r)
    for branches in groups.values():
        if not any(all(r.resolves for r in members) for members in branches.values()):
            bad.extend(r for members in branches.values() for r in members if not r.resolves)
    return sorted(bad, key=lambda r: (r.file, r.line))


def main(argv: list[str]) -> int:
    if argv:
        package_dir = Path(argv[0])
    else:
        import sqlsentinel_airflow

        package_dir = Path(sqlsentinel_airflow.__file__).parent
    rows = audit(package_dir)
    bad = unresolved(rows)
    for r in rows:
        status = "ok" if r.resolves else ("FALLBACK" if r not in bad else "MISSING")
        what = f"{r.module}.{r.name}" if r.name else r.module
        print(f"{status:8} {r.file}:{r.line} {what} {r.error}")
    print(f"{len(rows)} airflow imports, {len(bad)} unresolved")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
