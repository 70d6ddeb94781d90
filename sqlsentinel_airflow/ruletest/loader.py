"""Load a rule-test file: every error located (``file:line:col path: message (hint)``).

The same machinery as alerts.yaml (``core.config.yamlpos`` for positions, ``core.config.locate``
for pydantic errors in words), then the checks that need the alerts file: each test's alert
exists, its SQL dialect is known, instance names parse against its ``key_columns``; and the
fixtures: column types are SQL types, rows fit the columns, CSV files exist and match.
A file with any error runs no test (``sqlsentinel test`` exits 2).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath

from pydantic import ValidationError

from sqlsentinel_airflow.core.config.checks import did_you_mean
from sqlsentinel_airflow.core.config.loader import _without_noise, load_config
from sqlsentinel_airflow.core.config.locate import problems_from_validation
from sqlsentinel_airflow.core.config.models import AlertConfig, AlertsConfig
from sqlsentinel_airflow.core.config.yamlpos import (
    Path,
    Problem,
    YamlDocument,
    format_path,
    parse_yaml,
)
from sqlsentinel_airflow.core.instances import parse_instance
from sqlsentinel_airflow.errors import ConfigError
from sqlsentinel_airflow.ruletest.model import Cell, RuleTest, RuleTestFile, Table

__all__ = ["LoadedTable", "LoadedTest", "LoadedTests", "load_tests"]


@dataclass(frozen=True)
class LoadedTable:
    """A fixture table ready to create: typed columns and rows in column order."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (name, SQL type as written)
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True)
class LoadedTest:
    test: RuleTest
    alert: AlertConfig
    dialect: str
    line: int  # where the test is written
    tables: Mapping[str, LoadedTable]  # shared and the test's own
    step_tables: tuple[Mapping[str, LoadedTable], ...]  # per step: its own tables only


@dataclass(frozen=True)
class LoadedTests:
    file: str
    model: RuleTestFile
    config: AlertsConfig
    tests: tuple[LoadedTest, ...]


def load_tests(
    path: str,
    *,
    conn_type_of: Callable[[str], str | None] | None = None,
    dialect: str | None = None,
) -> tuple[LoadedTests | None, list[ConfigError]]:
    """The tests of the file at ``path``, or None and every error.

    ``dialect`` (``--conn``: the dialect of the database the tests run on) wins over the
    file's ``dialect`` and the alerts' connections.
    """
    loading = _Loading(path)
    return loading.run(conn_type_of, dialect)


class _Loading:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.folder = FsPath(filename).parent
        self.doc = YamlDocument(None)
        self.problems: list[Problem] = []
        self.extra_errors: list[ConfigError] = []

    def run(
        self, conn_type_of: Callable[[str], str | None] | None, dialect: str | None
    ) -> tuple[LoadedTests | None, list[ConfigError]]:
        try:
            text = FsPath(self.filename).read_bytes().decode("utf-8")
        except OSError as exc:
            return None, [ConfigError(f"cannot read the file: {exc.strerror}", file=self.filename)]
        except UnicodeDecodeError as exc:
            return None, [ConfigError(f"not UTF-8 text ({exc.reason})", file=self.filename)]
        doc, problems = parse_yaml(text)
        self.problems.extend(problems)
        if doc is None:
            return None, self._errors()
        self.doc = doc
        if not isinstance(doc.value, dict):
            self.problems.append(
                Problem((), "the top level must be a mapping", "start with `alerts:`")
            )
            return None, self._errors()
        try:
            model = RuleTestFile.model_validate(doc.value)
        except ValidationError as exc:
            self.problems.extend(
                self._in_document(p) for p in problems_from_validation(exc, RuleTestFile)
            )
            return None, self._errors()
        if not model.tests:
            self.problems.append(
                Problem(("tests",), "must not be empty", "write at least one test")
            )
        for index, test in enumerate(model.tests):
            if not test.steps:
                self.problems.append(
                    Problem(
                        ("tests", index, "steps"), "must not be empty", "write at least one step"
                    )
                )
        config = self._alerts_file(model, conn_type_of)
        shared = self._tables(model.fixtures, ("fixtures",))
        tests = []
        for index, test in enumerate(model.tests):
            loaded = self._test(model, config, index, test, shared, dialect)
            if loaded is not None:
                tests.append(loaded)
        errors = self._errors()
        if errors or config is None:
            return None, errors
        return LoadedTests(self.filename, model, config, tuple(tests)), []

    # --- pieces ---------------------------------------------------------------------

    def _alerts_file(
        self, model: RuleTestFile, conn_type_of: Callable[[str], str | None] | None
    ) -> AlertsConfig | None:
        alerts_path = self.folder / model.alerts
        if not alerts_path.is_file():
            self.problems.append(
                Problem(
                    ("alerts",),
                    f"no alerts file at {alerts_path}",
                    "the path is relative to this file",
                )
            )
            return None
        result = load_config(alerts_path, conn_type_of=conn_type_of)
        if result.errors:
            self.extra_errors.extend(result.errors)
            self.problems.append(
                Problem(
                    ("alerts",), f"{alerts_path} has {len(result.errors)} error(s), listed above"
                )
            )
        return result.config

    def _test(
        self,
        model: RuleTestFile,
        config: AlertsConfig | None,
        index: int,
        test: RuleTest,
        shared: dict[str, LoadedTable],
        dialect: str | None,
    ) -> LoadedTest | None:
        where: Path = ("tests", index)
        tables = {**shared, **self._tables(test.fixtures, (*where, "fixtures"))}
        step_tables = tuple(
            self._tables(step.fixtures, (*where, "steps", j, "fixtures"))
            for j, step in enumerate(test.steps)
        )
        self._times(test, where)
        if config is None:
            return None
        names = [a.name for a in config.alerts]
        alert = next((a for a in config.alerts if a.name == test.alert), None)
        if alert is None:
            hint = did_you_mean(test.alert, names) or f"the alerts are: {', '.join(names)}"
            self.problems.append(Problem((*where, "alert"), f"no alert named {test.alert!r}", hint))
            return None
        chosen = dialect or model.dialect or alert.dialect
        if chosen is None:
            self.problems.append(
                Problem(
                    (*where, "alert"),
                    f"the SQL dialect of alert {alert.name!r} is not known here (its connection "
                    f"{alert.conn_id!r} is not defined in this environment)",
                    "write the dialect at the top of the test file, e.g. `dialect: sqlite`",
                )
            )
            return None
        self._instances(test, alert, where)
        line = self.doc.position(where)[0]
        return LoadedTest(test, alert, chosen, line, tables, step_tables)

    def _times(self, test: RuleTest, where: Path) -> None:
        previous = None
        for j, step in enumerate(test.steps):
            at = (*where, "steps", j, "at")
            if step.at.tzinfo is None or step.at.utcoffset() is None:
                self.problems.append(
                    Problem(
                        at, "the time has no offset", "write it like 2026-03-01T09:00:00Z (Z: UTC)"
                    )
                )
                return
            if previous is not None and step.at <= previous:
                self.problems.append(
                    Problem(at, "steps must go forward in time", "each `at` after the previous one")
                )
            previous = step.at

    def _instances(self, test: RuleTest, alert: AlertConfig, where: Path) -> None:
        for j, step in enumerate(test.steps):
            base = (*where, "steps", j)
            written: list[tuple[Path, str]] = [
                ((*base, "silences", k, "instance"), s.instance)
                for k, s in enumerate(step.silences)
                if s.instance is not None
            ]
            for name in step.expect.instances or {}:
                written.append(((*base, "expect", "instances", name), name))
            for event_index, event in enumerate(step.expect.events or ()):
                if not isinstance(event, str) and event.instance is not None:
                    written.append(
                        ((*base, "expect", "events", event_index, "instance"), event.instance)
                    )
            keys = {(*base, "expect", "instances", name) for name in step.expect.instances or {}}
            for path, text in written:
                if text == "":
                    continue  # the alert-level instance (query errors of a keyed alert)
                if not alert.key_columns:
                    self.problems.append(
                        Problem(
                            path,
                            f"alert {alert.name!r} has no key_columns, so no instances",
                            'write `""` or leave the instance out',
                            on_key=path in keys,
                        )
                    )
                    continue
                try:
                    parse_instance(text, alert.key_columns)
                except ValueError as exc:
                    self.problems.append(Problem(path, str(exc), on_key=path in keys))

    def _tables(self, tables: Mapping[str, Table], where: Path) -> dict[str, LoadedTable]:
        from sqlglot import exp
        from sqlglot.errors import SqlglotError

        out: dict[str, LoadedTable] = {}
        for name, table in tables.items():
            base = (*where, name)
            columns = tuple(table.columns.items())
            for column, type_name in columns:
                try:
                    exp.DataType.build(type_name, dialect="duckdb")
                except (SqlglotError, ValueError):
                    self.problems.append(
                        Problem(
                            (*base, "columns", column),
                            f"{type_name!r} is not a SQL type",
                            "e.g. INTEGER, DOUBLE, VARCHAR, TIMESTAMP",
                        )
                    )
            rows = (
                self._csv(table, base, columns)
                if table.csv is not None
                else self._rows(table, base, columns)
            )
            out[name] = LoadedTable(name, columns, rows)
        return out

    def _rows(
        self, table: Table, base: Path, columns: tuple[tuple[str, str], ...]
    ) -> tuple[tuple[Cell, ...], ...]:
        names = [c for c, _t in columns]
        rows: list[tuple[Cell, ...]] = []
        for i, row in enumerate(table.rows):
            if isinstance(row, dict):
                unknown = [k for k in row if k not in names]
                for key in unknown:
                    self.problems.append(
                        Problem(
                            (*base, "rows", i, key),
                            f"unknown column `{key}`",
                            did_you_mean(key, names),
                            on_key=True,
                        )
                    )
                rows.append(tuple(row.get(c) for c in names))
            elif len(row) != len(names):
                self.problems.append(
                    Problem(
                        (*base, "rows", i),
                        f"{len(row)} values for {len(names)} columns ({', '.join(names)})",
                    )
                )
            else:
                rows.append(tuple(row))
        return tuple(rows)

    def _csv(
        self, table: Table, base: Path, columns: tuple[tuple[str, str], ...]
    ) -> tuple[tuple[Cell, ...], ...]:
        assert table.csv is not None
        csv_path = self.folder / table.csv
        try:
            text = csv_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            self.problems.append(
                Problem(
                    (*base, "csv"),
                    f"cannot read {csv_path}: {reason}",
                    "the path is relative to this file",
                )
            )
            return ()
        reader = csv.reader(io.StringIO(text))
        header = next(reader, [])
        names = [c for c, _t in columns]
        if [h.strip() for h in header] != names:
            self.problems.append(
                Problem(
                    (*base, "csv"),
                    f"{csv_path}: the header is {', '.join(header) or 'empty'}, the columns are {', '.join(names)}",
                    "the header names the columns, in the same order",
                )
            )
            return ()
        rows: list[tuple[Cell, ...]] = []
        for number, record in enumerate(reader, start=2):
            if not record:
                continue
            if len(record) != len(names):
                self.problems.append(
                    Problem(
                        (*base, "csv"),
                        f"{csv_path}:{number}: {len(record)} fields for {len(names)} columns",
                    )
                )
                return ()
            rows.append(tuple(value if value != "" else None for value in record))
        return tuple(rows)

    # --- errors ---------------------------------------------------------------------

    def _in_document(self, problem: Problem) -> Problem:
        """Pydantic may add union members to a path; keep the part written in the file."""
        path = problem.path
        while path and path not in self.doc.positions and path not in self.doc.key_positions:
            path = path[:-1]
        if path == problem.path:
            return problem
        return Problem(
            path,
            problem.message,
            problem.hint,
            problem.on_key and False,
            problem.position,
            problem.supersedes,
        )

    def _errors(self) -> list[ConfigError]:
        errors = []
        for problem in _without_noise(self.problems):
            if problem.position is not None:
                line, column = problem.position
            elif problem.on_key:
                line, column = self.doc.key_position(problem.path)
            else:
                line, column = self.doc.position(problem.path)
            errors.append(
                ConfigError(
                    problem.message,
                    file=self.filename,
                    line=line,
                    column=column,
                    path=format_path(problem.path),
                    hint=problem.hint,
                )
            )
        errors.sort(key=lambda e: (e.line or 0, e.column or 0))
        return [*self.extra_errors, *errors]
