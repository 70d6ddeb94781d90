"""Functions an alert query may not call, by category, from each database's own manual.

A read-only transaction stops writes to tables, but not everything a function can do from
inside one: run SQL text given as a string (past any name rule), open another session that is
not read-only (dblink), read or write server files, signal other sessions, create replication
slots, reset statistics, hold a lock after the statement, change a setting. These are refused
by name, per category, after identifiers are resolved the way the database resolves them
(quotes and ``U&`` escapes removed, case folded). The lists follow the manuals' own sections so
a whole family is covered, not a hand-picked few; a prefix covers functions a later release
adds to a family (``pg_stat_reset_*``, ``dblink_*``, ``lo_*``). What these lists cannot cover,
user-defined functions, is the database's job: see docs/security.md.

The least-privilege check (``execution.privileges``) asks PostgreSQL which of these names the
login may execute although PUBLIC may not, so one list serves both layers.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Category", "categories_for", "refused_function", "refused_relation"]


@dataclass(frozen=True)
class Category:
    """One family of refused functions: what it does, names and name prefixes."""

    why: str
    names: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    def matches(self, name: str, *, as_column: bool = False) -> bool:
        if name in self.names:
            return True
        prefixes = self.prefixes
        if as_column:  # a column may well be called lo_bound; lo_* calls are named in full
            prefixes = tuple(p for p in prefixes if p not in _COMMON_COLUMN_PREFIXES)
        return name.startswith(prefixes)


_COMMON_COLUMN_PREFIXES = frozenset({"lo_"})


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# --- PostgreSQL 13 to 18: "System Administration Functions", "Large Objects", dblink, tablefunc,
# XML mapping functions, text search debugging, and the contrib modules adminpack, xml2,
# pg_stat_statements, pg_prewarm, pg_surgery, pg_visibility, pageinspect, pg_background --

POSTGRES: tuple[Category, ...] = (
    Category(
        "runs SQL text given as a string, past every check of the query itself",
        _names(
            "query_to_xml query_to_xmlschema query_to_xml_and_xmlschema cursor_to_xml "
            "cursor_to_xmlschema table_to_xml table_to_xmlschema table_to_xml_and_xmlschema "
            "schema_to_xml schema_to_xmlschema schema_to_xml_and_xmlschema database_to_xml "
            "database_to_xmlschema database_to_xml_and_xmlschema ts_stat ts_rewrite "
            "xpath_table xslt_process"
        ),
        ("crosstab", "connectby", "pg_background_"),
    ),
    Category(
        "opens another database session, outside the read-only transaction",
        prefixes=("dblink", "postgres_fdw_"),
    ),
    Category(
        "reads or writes server files or large objects",
        _names(
            "pg_read_file pg_read_file_old pg_read_binary_file pg_stat_file pg_current_logfile "
            "pg_logdir_ls pg_show_all_file_settings pg_hba_file_rules pg_ident_file_mappings "
            "get_raw_page loread lowrite lo_import lo_export lo_get lo_put lo_create lo_creat "
            "lo_unlink lo_from_bytea lo_open lo_close lo_lseek lo_lseek64 lo_tell lo_tell64 "
            "lo_truncate lo_truncate64"
        ),
        ("lo_", "pg_ls_", "pg_file_"),
    ),
    Category(
        "signals or reconfigures the server or other sessions",
        _names(
            "pg_cancel_backend pg_terminate_backend pg_reload_conf pg_rotate_logfile "
            "pg_rotate_logfile_old pg_log_backend_memory_contexts pg_promote set_config "
            "pg_notify"
        ),
        ("pg_wal_replay_",),
    ),
    Category(
        "writes WAL, takes backups or manages replication",
        _names(
            "pg_switch_wal pg_switch_xlog pg_create_restore_point pg_backup_start "
            "pg_backup_stop pg_start_backup pg_stop_backup pg_export_snapshot "
            "pg_create_physical_replication_slot pg_create_logical_replication_slot "
            "pg_drop_replication_slot pg_copy_physical_replication_slot "
            "pg_copy_logical_replication_slot pg_replication_slot_advance "
            "pg_sync_replication_slots pg_logical_emit_message pg_log_standby_snapshot"
        ),
        ("pg_replication_origin_", "pg_logical_slot_", "pg_xlog_replay_"),
    ),
    Category(
        "resets or rewrites statistics",
        _names(
            "pg_stat_statements_reset pg_restore_relation_stats pg_clear_relation_stats "
            "pg_restore_attribute_stats pg_clear_attribute_stats"
        ),
        ("pg_stat_reset",),
    ),
    Category(
        "changes tables or indexes behind the transaction (sequences, index maintenance)",
        _names(
            "nextval setval brin_summarize_new_values brin_summarize_range "
            "brin_desummarize_range gin_clean_pending_list pg_nextoid pg_prewarm "
            "pg_import_system_collations txid_current pg_current_xact_id "
            "pg_truncate_visibility_map"
        ),
        ("heap_force_", "autoprewarm_"),
    ),
    Category(
        "holds an advisory lock past the statement",
        prefixes=("pg_advisory", "pg_try_advisory"),
    ),
)

# --- MySQL 8 / MariaDB 10.x and 11.x: "Miscellaneous Functions" (locking), "File functions",
# sequences, and the UDF / plugin families known to change server state --------------------

MYSQL: tuple[Category, ...] = (
    Category(
        "reads server files",
        _names("load_file"),
    ),
    Category(
        "takes a user-level lock that outlives the statement",
        _names("get_lock release_lock release_all_locks"),
        ("service_get_", "service_release_"),
    ),
    Category(
        "changes a sequence",
        _names("nextval setval"),
    ),
    Category(
        "runs an operating-system command or changes server state through a plugin",
        _names("sys_exec sys_eval sys_get sys_set sys_bineval"),
        (
            "lib_mysqludf_",
            "keyring_",
            "version_tokens_",
            "audit_log_",
            "mysql_firewall",
            "set_firewall",
            "group_replication_",
            "asynchronous_connection_failover_",
        ),
    ),
)

# --- SQLite: the core functions that reach the file system, and the CLI's extensions --------

SQLITE: tuple[Category, ...] = (
    Category(
        "loads code or reaches the file system",
        _names(
            "load_extension readfile writefile edit fts3_tokenizer fsdir zipfile "
            "sqlar_compress sqlar_uncompress lsmode"
        ),
    ),
)

_BY_DIALECT: dict[str | None, tuple[Category, ...]] = {
    "postgres": POSTGRES,
    "redshift": POSTGRES,
    "mysql": MYSQL,
    "sqlite": SQLITE,
}
_ALL = POSTGRES + MYSQL + SQLITE


# System views that read server files when selected from (PostgreSQL 10 to 16: superusers
# only, but an opted-in superuser login would read pg_hba.conf through them).
POSTGRES_FILE_VIEWS = frozenset({"pg_hba_file_rules", "pg_file_settings", "pg_ident_file_mappings"})
# MySQL / MariaDB information_schema tables whose reading resets server-wide statistics.
MYSQL_RESETTING_TABLES = frozenset(
    {"innodb_cmp_reset", "innodb_cmpmem_reset", "innodb_cmp_per_index_reset"}
)
_RELATIONS: dict[str | None, frozenset[str]] = {
    "postgres": POSTGRES_FILE_VIEWS,
    "redshift": POSTGRES_FILE_VIEWS,
    "mysql": MYSQL_RESETTING_TABLES,
    None: POSTGRES_FILE_VIEWS | MYSQL_RESETTING_TABLES,
}


def refused_relation(name: str, dialect: str | None) -> bool:
    """A table or view whose reading has an effect: it reads server files, or resets
    statistics (``name`` case-folded)."""
    return name in _RELATIONS.get(dialect, frozenset())


def categories_for(dialect: str | None) -> tuple[Category, ...]:
    """The refused families for a dialect; every family where the database is unknown."""
    return _BY_DIALECT.get(dialect, _ALL)


def refused_function(name: str, dialect: str | None, *, as_column: bool = False) -> Category | None:
    """The family ``name`` (already resolved and case-folded) belongs to, or None.

    ``as_column``: ``name`` is the last part of a column or field reference, which
    PostgreSQL reads as a call where no such column exists (``(expr).f`` is ``f(expr)``).
    """
    for category in categories_for(dialect):
        if category.matches(name, as_column=as_column):
            return category
    return None


# Schemas of extensions whose every function acts outside the query (pg_cron schedules jobs
# that run later with the scheduler's rights).
POSTGRES_REFUSED_SCHEMAS = {"cron": "schedules jobs that run outside the query (pg_cron)"}
