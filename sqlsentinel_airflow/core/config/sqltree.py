"""The read-only verdict from a real parse: sqlglot's tree of the query, walked for writes.

Split from :mod:`sqlcheck` so that sqlglot (about 55 ms to import, a third of a cold DAG
parse at 100 alerts) is imported only when a query is actually parsed: a query whose
verdict is already known (same literal shape, or kept from an earlier load of the file)
needs none of this. Everything here is called through ``sqlcheck.check_query``.
"""

from __future__ import annotations

from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError, TokenError

from sqlsentinel_airflow.core.config.sqlcheck import READ_ONLY_RULE
from sqlsentinel_airflow.core.config.sqlfunctions import (
    POSTGRES_REFUSED_SCHEMAS,
    refused_function,
    refused_relation,
)
from sqlsentinel_airflow.core.config.sqllex import (
    UnicodeEscapeError,
    control_character,
    resolve_postgres_identifiers,
)

__all__ = ["check_parsed"]

_READ_ROOTS = (exp.Select, exp.SetOperation, exp.Values, exp.Subquery)
_WRITES: tuple[type[exp.Expression], ...] = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.TruncateTable,
    exp.Grant,
    exp.Revoke,
    exp.Copy,
    exp.Set,
    exp.Command,
    exp.Pragma,
    exp.Use,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.LoadData,
    exp.Execute,
    exp.Declare,
    exp.Attach,
    exp.Detach,
    exp.Comment,
    exp.Analyze,
    exp.Kill,
    exp.Cache,
    exp.Uncache,
    exp.Refresh,
    exp.NextValueFor,
)
# Dialects whose identifiers follow PostgreSQL's lexer (``U&"..."``); None: not known yet.
_POSTGRES_LEXER = ("postgres", "redshift", None)
_KEYWORDS = {
    "TruncateTable": "TRUNCATE",
    "LoadData": "LOAD DATA",
    "Transaction": "BEGIN",
    "Execute": "EXECUTE",
    "NextValueFor": "NEXT VALUE FOR",
}


def check_parsed(sql: str, dialect: str | None) -> tuple[str | None, tuple[str, str | None] | None]:
    """(dialect that parsed it, None) if accepted, else (dialect, (message, hint))."""
    try:
        return _check(sql, dialect)
    except RecursionError:  # sqlglot parses and walks recursively; depth is the input's
        return dialect, (
            "query is nested too deeply to check (the SQL parser ran out of recursion depth)",
            "flatten the nesting, or move the logic into a view and select from it",
        )
    except Exception as exc:  # sqlglot raises plain errors on some literals
        # e.g. ``DATEDIFF('', a, b)`` in tsql: "Cannot convert empty name into var". Without
        # this the whole file failed to load; now it is this alert's located error.
        return dialect, _parse_problem(exc, dialect)


def _check(sql: str, dialect: str | None) -> tuple[str | None, tuple[str, str | None] | None]:
    """Parse in ``dialect`` only: a more lenient dialect reads comments and strings differently
    from the database (``--x`` is no comment in MySQL), so what it accepts may not be what runs.
    """
    control = control_character(sql)
    if control is not None:
        line, column, code = control
        return dialect, (
            f"query contains the character {code} at line {line}, column {column} of the "
            "query, a control character or non-ASCII white space, which databases and the SQL "
            "parser read differently",
            "remove it (write it as a function of its code, e.g. chr(27), if the data needs it)",
        )
    text = sql
    if dialect in _POSTGRES_LEXER:
        try:
            text = resolve_postgres_identifiers(sql)
        except UnicodeEscapeError as exc:
            return dialect, (f"query does not parse as {dialect} SQL: {exc}", None)
    try:
        statements = _parse(text, dialect)
    except SqlglotError as exc:
        return dialect, _parse_problem(exc, dialect)
    try:
        return dialect, _executable_comment_problem(sql, dialect) or _statement_problem(
            statements, dialect
        )
    finally:
        _unlink(statements)


def _executable_comment_problem(sql: str, dialect: str | None) -> tuple[str, str | None] | None:
    """MySQL and MariaDB run the text of ``/*! ... */`` (and MariaDB ``/*M! ... */``) comments
    as part of the statement, while the parser skips every comment: ``SELECT 1 AS status
    /*! INTO OUTFILE '/tmp/x' */`` would pass as a plain SELECT. Refused where the database
    may be MySQL (its dialect, or an unknown one); elsewhere such a comment is only a comment.
    """
    if dialect not in ("mysql", None) or "/*" not in sql:
        return None
    try:
        tokens = sqlglot.tokenize(sql, read="mysql")
    except SqlglotError:
        return None  # the parse succeeded; a tokenizer disagreement is not a hidden statement
    for token in tokens:
        for comment in token.comments:
            if comment.startswith(("!", "M!")):
                return (
                    "query has a /*! ... */ comment, which MySQL and MariaDB execute as part "
                    "of the statement; " + READ_ONLY_RULE,
                    "remove the comment, or write its text as plain SQL so it can be checked",
                )
    return None


def _unlink(statements: list[Any]) -> None:
    """Cut the child-to-parent links of parsed trees so reference counting frees them.

    Every node points at its parent, so a parsed query is a reference cycle that only the
    cyclic garbage collector can free; the loader pauses that collector while it validates
    a file (``loader.load_config_text``), and thousands of unfreed trees would pile up.
    """
    for statement in statements:
        for node in list(statement.walk()):
            node.parent = None


def _parse(sql: str, dialect: str | None) -> list[Any]:
    """The statements of ``sql`` (sqlglot expressions), empty ones dropped."""
    return [s for s in sqlglot.parse(sql, read=dialect) if s is not None]


def _statement_problem(statements: list[Any], dialect: str | None) -> tuple[str, str | None] | None:
    if not statements:
        return "query is empty (only comments or `;`); " + READ_ONLY_RULE, None
    if len(statements) > 1:
        kinds = ", ".join(_kind(s) for s in statements)
        return (
            f"query contains {len(statements)} statements ({kinds}); {READ_ONLY_RULE}",
            "remove every statement but the SELECT, and the `;` between them",
        )
    statement = statements[0]
    if not isinstance(statement, _READ_ROOTS):
        return f"query is {_a(_kind(statement))} statement; {READ_ONLY_RULE}", None
    for node in statement.walk():
        if isinstance(node, exp.Func):
            problem = _function_problem(node, dialect)
            if problem is not None:
                return problem
        if isinstance(node, exp.Table) and refused_relation(str(node.name).lower(), dialect):
            return (
                f"query reads {node.name}, a system table whose reading reads server files or "
                f"resets statistics; {READ_ONLY_RULE}",
                None,
            )
        if dialect in _POSTGRES_LEXER:
            problem = _functional_notation_problem(node, dialect)
            if problem is not None:
                return problem
        if isinstance(node, exp.PropertyEQ) and isinstance(node.this, exp.SessionParameter):
            return (
                f"query assigns the server variable @@{node.this.name}; {READ_ONLY_RULE}",
                "read variables with @@name; an alert query may not set them",
            )
        if isinstance(node, _WRITES):
            return (
                f"query contains {_a(_kind(node))} statement; {READ_ONLY_RULE}",
                "data-modifying statements inside WITH are not allowed",
            )
        if isinstance(node, exp.Select):
            if node.args.get("into") is not None:
                return f"query is a SELECT ... INTO statement; {READ_ONLY_RULE}", None
            locks = node.args.get("locks")
            if locks:
                mode = "UPDATE" if any(lock.args.get("update") for lock in locks) else "SHARE"
                return (
                    f"query is a SELECT ... FOR {mode} statement; {READ_ONLY_RULE}",
                    "remove the locking clause (FOR UPDATE / FOR SHARE / LOCK IN SHARE MODE)",
                )
    return None


def _function_names(node: exp.Func) -> tuple[str, ...]:
    """The names a call may resolve to in the database, case-folded: the written name of a
    function sqlglot does not know, else every SQL name of the function it parsed."""
    if isinstance(node, exp.Anonymous):
        return (str(node.name).lower(),)
    return tuple(name.lower() for name in type(node).sql_names())


def _function_problem(node: exp.Func, dialect: str | None) -> tuple[str, str | None] | None:
    for name in _function_names(node):
        category = refused_function(name, dialect)
        if category is not None:
            return (
                f"query calls {name}(), which {category.why}; {READ_ONLY_RULE}",
                "alert queries may call only functions without side effects; see the list "
                "of refused functions in docs/security.md",
            )
    return None


def _functional_notation_problem(node: Any, dialect: str | None) -> tuple[str, str | None] | None:
    """PostgreSQL reads ``x.f`` and ``(expr).f`` as ``f(x)`` where no such column exists
    (manual, "Function Call Syntax"), so the last name of a column or field reference may be
    a call sqlglot sees as a column; so may the schema of a qualified call (pg_cron)."""
    name: str | None = None
    if isinstance(node, exp.Column) and node.table:
        name = node.name
    elif isinstance(node, exp.Dot) and isinstance(node.expression, exp.Identifier):
        name = node.expression.name
    elif isinstance(node, (exp.Dot, exp.Table)) and isinstance(
        node.expression if isinstance(node, exp.Dot) else node.this, exp.Func
    ):
        qualifier = node.this if isinstance(node, exp.Dot) else node.args.get("db")
        schema = qualifier.name.lower() if isinstance(qualifier, exp.Identifier) else ""
        if schema in POSTGRES_REFUSED_SCHEMAS:
            return (
                f"query calls a function of schema {schema}, which "
                f"{POSTGRES_REFUSED_SCHEMAS[schema]}; {READ_ONLY_RULE}",
                None,
            )
    if name is None:
        return None
    category = refused_function(name.lower(), dialect, as_column=True)
    if category is None:
        return None
    return (
        f"query refers to .{name}, which PostgreSQL reads as a call of {name.lower()}() "
        f"(functional notation), which {category.why}; {READ_ONLY_RULE}",
        "rename the column in the query (an alias), or remove the call",
    )


def _a(keyword: str) -> str:
    """``a DELETE``, ``an UPDATE``: the article as the keyword is read aloud."""
    vowel = keyword[:1] in "AEIO" or (keyword[:1] == "U" and not keyword.startswith("USE"))
    return f"{'an' if vowel else 'a'} {keyword}"


def _kind(node: exp.Expression) -> str:
    """The SQL keyword of a statement: ``DELETE``, ``CREATE``, ``CALL`` ..."""
    if isinstance(node, exp.Command):
        return str(node.this).split()[0].upper() if node.this else "COMMAND"
    if isinstance(node, exp.Subquery):
        return "SELECT"
    if isinstance(node, exp.SetOperation):
        return "SELECT"
    name = type(node).__name__
    return _KEYWORDS.get(name, name.upper())


def _parse_problem(exc: Exception, dialect: str | None) -> tuple[str, str | None]:
    """The message for a query sqlglot could not parse, or crashed on (a plain error)."""
    where = ""
    first_line = str(exc).splitlines()[0] if str(exc) else ""
    description = first_line or type(exc).__name__
    hint = None
    if isinstance(exc, TokenError):
        # sqlglot's message quotes the text up to the error, and the text may come from a
        # query_file: messages never echo a file's content.
        description = "a string, quoted name or comment is not closed"
        hint = "close it; an alert query is checked exactly as the database reads it"
    elif isinstance(exc, ParseError) and exc.errors:
        first = exc.errors[0]
        description = str(first.get("description") or description)
        if first.get("line") is not None:
            where = f" at line {first['line']}, column {first.get('col')} of the query"
    elif not isinstance(exc, SqlglotError):
        name = type(exc).__name__
        detail = f"{name}: {first_line[:120]}" if first_line else name
        description = f"the SQL parser failed on it ({detail})"
        hint = (
            "check the arguments of the function named there; if the query is valid, "
            "move the expression into a view and select from it"
        )
    language = f"{dialect} SQL" if dialect else "SQL"
    if hint is None:
        description = description[:120]
        hint = (
            f"the query is checked as {language}, exactly as the database reads it, and "
            "refused when the parser cannot read it; if it is valid for your database, move "
            "the part the parser does not know into a view and select from the view"
        )
    return f"query does not parse as {language}: {description}{where}", hint
