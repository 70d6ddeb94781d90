"""Load alerts.yaml: every error of the file in one pass, and the valid alerts regardless.

The pipeline: bytes -> UTF-8 text -> YAML values with positions (``yamlpos``) -> ``${VAR}``
expanded outside queries (``interpolate``) -> each piece checked by its raw model (``raw``,
errors located by ``locate``) -> each alert merged over ``defaults`` and resolved
(``resolve``) -> unique names and dag_ids -> ``AlertsConfig``.

Failure semantics, decided once:
- An error inside ``alerts[i]`` makes only that alert invalid; it carries ``alert`` /
  ``alert_index`` so the DAG factory can skip it and show why. The other alerts load.
- An error anywhere else (YAML syntax, top-level keys, ``defaults``, ``database``,
  ``state_db``, ``silences``) is a *file error*: it may change the meaning of every alert
  (a broken default timezone, a silence that no longer silences), so no config is returned
  and the caller keeps its last valid version.
- Of two alerts with the same name, or names that slug to the same dag_id, the later one
  is the invalid one: the alert that already had the DAG keeps it.
- Top-level keys starting with ``x-`` are ignored (as in docker-compose), so shared
  settings can be anchored there and merged into alerts with ``<<: *anchor``.
- Nothing here raises for a bad file; :func:`validate_config` is the raising variant.
"""

from __future__ import annotations

import codecs
import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any, TypeVar

from pydantic import ValidationError

from sqlsentinel_airflow.core import mutewindows
from sqlsentinel_airflow.core.config import checks
from sqlsentinel_airflow.core.config.interpolate import interpolate_tree
from sqlsentinel_airflow.core.config.locate import problems_from_validation
from sqlsentinel_airflow.core.config.models import (
    DEFAULT_ACTION_LINK_LIFETIME,
    DEFAULT_DAG_ID_PREFIX,
    ActionLinks,
    AlertConfig,
    AlertsConfig,
    DatabaseConfig,
    FileSilence,
    StateDbConfig,
    slugify,
)
from sqlsentinel_airflow.core.config.raw import RawAlert, RawDefaults, RawFile, RawMuteWindow
from sqlsentinel_airflow.core.config.resolve import (
    AIRFLOW_DAG_ID_MAX,
    FileContext,
    check_invalid_alert,
    resolve_alert,
    resolve_channels,
)
from sqlsentinel_airflow.core.config.routes import (
    Route,
    RoutingTree,
    build_routing,
    matcher_of,
    route_alert,
    unknown_escalation_receivers,
)
from sqlsentinel_airflow.core.config.yamlpos import (
    Path,
    Problem,
    YamlDocument,
    format_path,
    parse_yaml,
)
from sqlsentinel_airflow.core.durations import format_duration
from sqlsentinel_airflow.core.gcpause import cyclic_gc_paused
from sqlsentinel_airflow.core.instances import resolve_instance_key
from sqlsentinel_airflow.core.mutewindows import MuteWindow
from sqlsentinel_airflow.errors import ConfigError, ConfigErrors

__all__ = ["ConnTypeOf", "LoadResult", "load_config", "load_config_text", "validate_config"]

ConnTypeOf = Callable[[str], str | None]
"""``conn_type_of(conn_id)``: the Airflow connection type, e.g. ``postgres``; None if unknown."""

T = TypeVar("T")

_FILE_KEYS = ("alerts", "defaults")
EXTENSION = "x-"
"""Top-level keys starting with ``x-`` are ignored: a place for YAML anchors to reuse."""


@dataclass(frozen=True)
class LoadResult:
    """The outcome of loading one alerts file.

    ``config`` holds the valid alerts only (None when a file error makes the whole file
    unusable); ``errors`` lists every error, sorted by position; ``file_errors`` is the
    subset not tied to one alert. ``warnings`` are located like errors but invalidate
    nothing (an alert that reaches nobody, a receiver no route names).
    """

    config: AlertsConfig | None
    errors: list[ConfigError] = field(default_factory=list)
    file_errors: list[ConfigError] = field(default_factory=list)
    warnings: list[ConfigError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.config is not None and not self.errors

    @property
    def alert_errors(self) -> list[ConfigError]:
        """Errors that belong to one alert (``alert_index`` set)."""
        return [e for e in self.errors if e.alert_index is not None]


def load_config(
    path: str | os.PathLike[str],
    *,
    conn_type_of: ConnTypeOf | None = None,
    env: Mapping[str, str] | None = None,
) -> LoadResult:
    """Load and validate an alerts file; never raises for problems in the file."""
    filename = os.fspath(path)
    try:
        data = FsPath(filename).read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        error = ConfigError(f"cannot read the file: {reason}", file=filename)
        return LoadResult(None, [error], [error])
    return load_config_text(
        data,
        filename,
        base_dir=FsPath(filename).parent,
        conn_type_of=conn_type_of,
        env=env,
    )


def load_config_text(
    text: str | bytes,
    filename: str = "alerts.yaml",
    *,
    base_dir: str | os.PathLike[str] | None = None,
    conn_type_of: ConnTypeOf | None = None,
    env: Mapping[str, str] | None = None,
) -> LoadResult:
    """Load alerts from text; ``query_file`` paths are relative to ``base_dir``.

    ``filename`` is only used in messages (``alerts.yaml:14:7 ...``). ``env`` defaults to
    ``os.environ``; ``conn_type_of`` lets the SQL be checked in the connection's dialect.
    """
    raw = text.encode("utf-8") if isinstance(text, str) else text
    folder = FsPath(base_dir) if base_dir is not None else FsPath(filename).parent
    loading = _Loading(filename, folder, conn_type_of, os.environ if env is None else env)
    with cyclic_gc_paused():  # see gcpause: the load creates no garbage cycles
        return loading.run(raw)


def validate_config(
    path: str | os.PathLike[str],
    *,
    conn_type_of: ConnTypeOf | None = None,
    env: Mapping[str, str] | None = None,
) -> AlertsConfig:
    """The validated config; raises :class:`ConfigErrors` with every error if any."""
    result = load_config(path, conn_type_of=conn_type_of, env=env)
    if result.errors or result.config is None:
        raise ConfigErrors(result.errors)
    return result.config


class _Loading:
    """One load: collects problems with the alert they belong to, then builds the result."""

    def __init__(
        self,
        filename: str,
        base_dir: FsPath,
        conn_type_of: ConnTypeOf | None,
        env: Mapping[str, str],
    ) -> None:
        self.filename = filename
        self.base_dir = base_dir
        self.conn_type_of = conn_type_of
        self.env = env
        self.doc = YamlDocument(None)
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.routing: RoutingTree | None = None
        # the names under `receivers:` (None: the file's top level did not validate)
        self.receiver_names: tuple[str, ...] | None = None
        self.window_index: dict[str, int] = {}  # a mute window's position in the file

    # --- stages ---------------------------------------------------------------------

    def run(self, raw: bytes) -> LoadResult:
        content_hash = hashlib.sha256(raw).hexdigest()
        text = self._decode(raw)
        if text is None:
            return self._result(None, {})
        doc, problems = parse_yaml(text)
        self.problems.extend(problems)
        if doc is None:
            return self._result(None, {})
        self.doc = doc
        if not isinstance(doc.value, dict):
            self.problems.append(
                Problem(
                    (),
                    "the top level must be a mapping",
                    hint="start with `alerts:` followed by a list of alerts",
                )
            )
            return self._result(None, {})
        data, problems = interpolate_tree(doc.value, self.env)
        self.problems.extend(problems)
        header = self._header(data)
        if header is not None and (header.routes is not None or header.receivers is not None):
            self.routing, problems = build_routing(header.receivers, header.routes)
            self.problems.extend(problems)
        if header is not None:
            self.receiver_names = tuple(dict.fromkeys(r.name for r in header.receivers or ()))
        defaults, broken = self._defaults(data)
        if defaults is not None and self.receiver_names is not None:
            self.problems.extend(
                unknown_escalation_receivers(
                    defaults.escalation, self.receiver_names, ("defaults", "escalation")
                )
            )
        ctx = self._context(data, header, broken)
        items = self._alert_items(data)
        names = self._unique_names(items, ctx.dag_id_prefix)
        parent_dag_ids = self._dependencies(items, names, ctx.dag_id_prefix)
        alerts = [
            (i, a.model_copy(update={"depends_on_dag_ids": parent_dag_ids[i]}))
            if a.depends_on
            else (i, a)
            for i, a in self._alerts(items, defaults, ctx, names)
        ]
        windows = self._mute_windows(header) if header is not None else ()
        named = (
            {i: self._named_windows(i, items[i], windows) for i, _ in alerts}
            if header is not None
            else {}
        )
        bad_alerts = {_alert_index(p.path) for p in self.problems}
        links = _action_links(header)
        valid = tuple(
            _with_action_links(_with_windows(a, windows, named.get(i, ())), links)
            for i, a in alerts
            if i not in bad_alerts
        )
        if self.routing is not None:
            self._routing_warnings(self.routing, valid)
        self._slow_escalations(items, valid)
        self._idle_windows(windows, valid)
        silences = self._silences(header, valid) if header is not None else ()
        file_broken = any(_alert_index(p.path) is None for p in self.problems)
        config = None
        if header is not None and not file_broken:
            config = AlertsConfig(
                version=header.version or 1,
                dag_id_prefix=ctx.dag_id_prefix,
                state_db=StateDbConfig(**header.state_db.model_dump()) if header.state_db else None,
                database=DatabaseConfig(url=header.database.url) if header.database else None,
                alerts=valid,
                silences=silences,
                mute_windows=windows,
                action_links=links,
                default_notify=resolve_channels(defaults.notify or ()) if defaults else (),
                source_file=self.filename,
                content_hash=content_hash,
            )
        return self._result(config, {i: n for i, n in names.items() if n is not None})

    def _silences(
        self, header: RawFile, alerts: tuple[AlertConfig, ...]
    ) -> tuple[FileSilence, ...]:
        """``silences:``, an ``instance`` resolved to its key with the alert's key_columns
        (a problem at the silence's ``instance`` when that cannot be done)."""
        found = []
        for index, raw in enumerate(header.silences or ()):
            silence = FileSilence(**raw.model_dump())
            if raw.instance is not None:
                key = self._silence_instance_key(index, raw.match, raw.instance, alerts)
                silence = silence.model_copy(update={"instance_key": key})
            found.append(silence)
        return tuple(found)

    def _mute_windows(self, header: RawFile) -> tuple[MuteWindow, ...]:
        """``mute_windows:``; a duplicate name is an error."""
        found: list[MuteWindow] = []
        first: dict[str, int] = {}
        for index, raw in enumerate(header.mute_windows or ()):
            if raw.name in first:
                self.problems.append(
                    Problem(
                        ("mute_windows", index, "name"),
                        f"duplicate mute window name `{raw.name}` (also "
                        f"mute_windows[{first[raw.name]}])",
                        hint="mute window names must be unique",
                    )
                )
                continue
            first[raw.name] = index
            found.append(mute_window(raw))
        self.window_index = first
        return tuple(found)

    def _named_windows(
        self, index: int, item: Any, windows: tuple[MuteWindow, ...]
    ) -> tuple[str, ...]:
        """The windows alert ``index`` names in its ``mute_windows`` (it validated); an
        unknown name is a problem of that alert."""
        written = item.get("mute_windows") if isinstance(item, dict) else None
        names = (written,) if isinstance(written, str) else tuple(written or ())
        known = {w.name for w in windows}
        for j, name in enumerate(names):
            if name not in known:
                where: Path = ("alerts", index, "mute_windows")
                self.problems.append(
                    Problem(
                        (*where, j) if not isinstance(written, str) else where,
                        f"unknown mute window `{name}`",
                        hint=checks.did_you_mean(name, known)
                        or (
                            "name one of: " + ", ".join(sorted(known))
                            if known
                            else "define it under `mute_windows:` (a name and its `intervals`)"
                        ),
                    )
                )
        return names

    def _idle_windows(
        self, windows: tuple[MuteWindow, ...], alerts: tuple[AlertConfig, ...]
    ) -> None:
        """A warning for each window no valid alert of the file gets."""
        if not alerts:
            return
        muting = {w.name for a in alerts for w in a.mute_windows}
        for window in windows:
            if window.name not in muting:
                self.warnings.append(
                    Problem(
                        ("mute_windows", self.window_index[window.name], "name"),
                        f"mute window `{window.name}` matches no alert of this file "
                        f"({window.match.describe()})",
                        hint="fix its `match`, name it in an alert's `mute_windows`, or remove it",
                    )
                )

    def _silence_instance_key(
        self, index: int, match: str, instance: str, alerts: tuple[AlertConfig, ...]
    ) -> str | None:
        where = ("silences", index, "instance")
        alert = next((a for a in alerts if match in (a.name, a.dag_id)), None)
        if alert is None:
            self.problems.append(
                Problem(
                    where,
                    f"`instance` silences one instance of one alert, but no valid alert of this "
                    f"file is named {match!r}",
                    hint="set `match` to the keyed alert's name (no glob)",
                )
            )
            return None
        try:
            return resolve_instance_key(instance, alert.key_columns)
        except ValueError as exc:
            self.problems.append(Problem(where, f"alert {alert.name!r}: {exc}"))
            return None

    def _decode(self, raw: bytes) -> str | None:
        if raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            before = raw[: exc.start]
            line = before.count(b"\n") + 1
            column = exc.start - (before.rfind(b"\n") + 1) + 1
            self.problems.append(
                Problem(
                    (),
                    f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                    hint="save it as UTF-8",
                    position=(line, column),
                )
            )
            return None

    def _header(self, data: dict[str, Any]) -> RawFile | None:
        """Top-level keys other than alerts/defaults; None when any of them is invalid."""
        header = {
            k: v for k, v in data.items() if k not in _FILE_KEYS and not k.startswith(EXTENSION)
        }
        try:
            return RawFile.model_validate(header)
        except ValidationError as exc:
            self.problems.extend(problems_from_validation(exc, RawFile))
            return None

    def _defaults(self, data: dict[str, Any]) -> tuple[RawDefaults | None, frozenset[str]]:
        """``defaults`` and the keys of it that are invalid (alerts inherit them broken)."""
        value = data.get("defaults")
        if value is None:
            return None, frozenset()
        if not isinstance(value, dict):
            self.problems.append(Problem(("defaults",), "expected a mapping of alert settings"))
            return None, frozenset(RawDefaults.model_fields)
        found: list[Problem] = []
        try:
            return RawDefaults.model_validate(value), frozenset()
        except ValidationError as exc:
            found = problems_from_validation(exc, RawDefaults, ("defaults",))
            self.problems.extend(found)
        broken = frozenset(str(p.path[1]) for p in found if len(p.path) > 1)
        try:  # keep the valid defaults so alerts are not blamed for the broken ones
            kept = {k: v for k, v in value.items() if k not in broken}
            return RawDefaults.model_validate(kept), broken
        except ValidationError:
            return None, frozenset(RawDefaults.model_fields)

    def _context(
        self, data: dict[str, Any], header: RawFile | None, broken: frozenset[str]
    ) -> FileContext:
        prefix = DEFAULT_DAG_ID_PREFIX
        database_url = None
        if header is not None:
            if header.dag_id_prefix is not None:
                prefix = header.dag_id_prefix
            database_url = header.database.url if header.database else None
        elif isinstance(data.get("dag_id_prefix"), str):
            prefix = data["dag_id_prefix"]
        return FileContext(
            source_file=self.filename,
            base_dir=self.base_dir,
            dag_id_prefix=prefix,
            database_url=database_url,
            database_broken="database" in data and database_url is None,
            broken_defaults=broken,
            conn_type_of=self.conn_type_of,
            fallback_env=None if "database" in data else self.env,
        )

    def _alert_items(self, data: dict[str, Any]) -> list[Any]:
        if "alerts" not in data:
            self.problems.append(
                Problem(("alerts",), "missing required key `alerts`", hint="add a list of alerts")
            )
            return []
        items = data["alerts"]
        if items is None:
            return []
        if not isinstance(items, list):
            self.problems.append(
                Problem(("alerts",), "expected a list of alerts", hint="write `- name: ...` items")
            )
            return []
        return items

    def _unique_names(self, items: list[Any], prefix: str) -> dict[int, str | None]:
        """Each alert's name; later duplicates of a name or a dag_id are problems."""
        names: dict[int, str | None] = {}
        first_name: dict[str, int] = {}
        first_dag_id: dict[str, int] = {}
        for i, item in enumerate(items):
            written = item.get("name") if isinstance(item, dict) else None
            names[i] = written if isinstance(written, str) and written else None
            name = names[i]
            if name is None:
                continue
            where = ("alerts", i, "name")
            if name in first_name:
                j = first_name[name]
                self.problems.append(
                    Problem(
                        where,
                        f"duplicate alert name `{name}` (also alerts[{j}] at line "
                        f"{self.doc.position(('alerts', j))[0]})",
                        hint="alert names must be unique",
                    )
                )
                continue
            first_name[name] = i
            slug = slugify(name)
            dag_id = prefix + slug
            if not slug:
                self.problems.append(
                    Problem(where, f"name `{name}` has no letters or digits for a dag_id")
                )
            elif len(dag_id) > AIRFLOW_DAG_ID_MAX:
                self.problems.append(
                    Problem(where, f"dag_id `{dag_id[:40]}...` is longer than 250 characters")
                )
            elif dag_id in first_dag_id:
                j = first_dag_id[dag_id]
                self.problems.append(
                    Problem(
                        where,
                        f"name `{name}` gives dag_id `{dag_id}`, already used by "
                        f"`{names[j]}` (alerts[{j}] at line {self.doc.position(('alerts', j))[0]})",
                        hint="rename one of them: names must differ in letters or digits",
                    )
                )
            else:
                first_dag_id[dag_id] = i
        return names

    def _dependencies(
        self, items: list[Any], names: dict[int, str | None], prefix: str
    ) -> dict[int, tuple[str, ...]]:
        """Each alert's ``depends_on`` checked against the names of the file's alerts (valid
        or not: a parent that is a placeholder is still a parent), and the parents' dag_ids
        by alert. An unknown name, the alert itself, a name listed twice, and the entry that
        closes a cycle are problems of the alert that writes them (the others load)."""
        first: dict[str, int] = {}
        for i, name in names.items():
            if name is not None:
                first.setdefault(name, i)
        edges: dict[int, list[tuple[int, Path]]] = {}
        dag_ids: dict[int, tuple[str, ...]] = {}
        for i, item in enumerate(items):
            written = item.get("depends_on") if isinstance(item, dict) else None
            where: Path = ("alerts", i, "depends_on")
            if isinstance(written, str):
                entries: list[tuple[Any, Path]] = [(written, where)]
            elif isinstance(written, list):
                entries = [(value, (*where, j)) for j, value in enumerate(written)]
            else:
                continue  # absent, or not names: the raw model reports it
            listed: dict[str, Path] = {}
            mine = edges.setdefault(i, [])
            for name, at in entries:
                if not isinstance(name, str) or not name:
                    continue
                problem = self._dependency_problem(name, at, names.get(i), listed, first)
                listed.setdefault(name, at)
                if problem is not None:
                    self.problems.append(problem)
                elif all(parent != first[name] for parent, _ in mine):
                    mine.append((first[name], at))
            dag_ids[i] = tuple(prefix + slugify(names[p] or "") for p, _ in mine)
        self.problems.extend(_dependency_cycles(edges, names))
        return dag_ids

    def _dependency_problem(
        self,
        name: str,
        at: Path,
        own: str | None,
        listed: dict[str, Path],
        first: dict[str, int],
    ) -> Problem | None:
        if name == own:
            return Problem(
                at,
                f"alert `{name}` depends on itself",
                hint="`depends_on` names other alerts of this file, evaluated before this one",
            )
        if name in listed:
            return Problem(
                at,
                f"`{name}` is listed twice in `depends_on` (also {format_path(listed[name])})",
                hint="name each alert once",
            )
        if name not in first:
            known = [n for n in first if n != own]
            close = checks.did_you_mean(name, known, n=3)
            if close:
                hint = close
            elif known:
                shown = ", ".join(f"`{n}`" for n in known[:10])
                hint = "name an alert of this file: " + shown + (", ..." if known[10:] else "")
            else:
                hint = "`depends_on` names other alerts of this file"
            return Problem(at, f"unknown alert `{name}` in `depends_on`", hint=hint)
        return None

    def _alerts(
        self,
        items: list[Any],
        defaults: RawDefaults | None,
        ctx: FileContext,
        names: dict[int, str | None],
    ) -> list[tuple[int, AlertConfig]]:
        resolved: list[tuple[int, AlertConfig]] = []
        for i, item in enumerate(items):
            base: Path = ("alerts", i)
            if not isinstance(item, dict):
                self.problems.append(
                    Problem(base, "expected a mapping", hint="an alert has name, query, schedule")
                )
                continue
            try:
                raw = RawAlert.model_validate(item)
            except ValidationError as exc:
                self.problems.extend(problems_from_validation(exc, RawAlert, base))
                self.problems.extend(check_invalid_alert(item, defaults, ctx, base=base))
                continue
            name = names.get(i) or raw.name
            if self.receiver_names is not None:
                self.problems.extend(
                    unknown_escalation_receivers(
                        raw.escalation, self.receiver_names, (*base, "escalation")
                    )
                )
            alert, problems = resolve_alert(
                raw, defaults, ctx, base=base, slug=slugify(name), line=self.doc.position(base)[0]
            )
            self.problems.extend(problems)
            if alert is not None:
                resolved.append((i, self._routed(alert, item)))
        return resolved

    def _routed(self, alert: AlertConfig, item: dict[str, Any]) -> AlertConfig:
        """``alert`` with the receivers its routes reach; a route's ``renotify_after`` and
        ``escalation`` apply when the alert itself writes none (they win over ``defaults``).
        The receivers its escalation ladder names are resolved here too."""
        if self.routing is None:
            return alert
        routing = route_alert(self.routing, alert)
        update: dict[str, Any] = {}
        if routing.renotify_from is not None and "renotify_after" not in item:
            routing = routing.model_copy(update={"renotify_applied": True})
            update["renotify_after"] = routing.renotify_after
        if routing.escalation_from is not None and "escalation" not in item:
            routing = routing.model_copy(update={"escalation_applied": True})
            update["escalation"] = routing.escalation
            update["escalation_from"] = routing.escalation_from if routing.escalation else None
        ladder = update.get("escalation", alert.escalation)
        named = dict.fromkeys(step.receiver for step in ladder)
        update["escalation_receivers"] = tuple(
            self.routing.receivers[name] for name in named if name in self.routing.receivers
        )
        return alert.model_copy(update={**update, "routing": routing})

    def _slow_escalations(self, items: list[Any], alerts: tuple[AlertConfig, ...]) -> None:
        """A warning for each alert whose schedule runs less often than its first escalation
        step's ``after``: the step goes out at the first run at or after it, later."""
        for alert in alerts:
            if not alert.escalation or alert.source_index is None:
                continue
            first = alert.escalation[0].after
            item = items[alert.source_index]
            key = next((k for k in ("escalation", "schedule") if k in item), "name")
            if alert.schedule is None:  # runs when its assets are updated: no cadence
                self.warnings.append(
                    Problem(
                        ("alerts", alert.source_index, key),
                        f"alert `{alert.name}` runs only when its assets are updated "
                        f"({alert.trigger}), so its escalation steps (from "
                        f"{alert.escalation_from}) go out only at such a run, however late",
                        hint=f"add `cron:` to its schedule, e.g. `schedule: {{assets: ..., cron: "
                        f'"*/15 * * * *"}}`, to run it at least every {format_duration(first)}',
                    )
                )
                continue
            gap = checks.longest_schedule_gap(alert.schedule)
            if gap <= first:
                continue
            self.warnings.append(
                Problem(
                    ("alerts", alert.source_index, key),
                    f"alert `{alert.name}` runs up to {format_duration(gap)} apart (schedule "
                    f"`{alert.schedule}`), longer than its first escalation step's after "
                    f"{format_duration(first)} (from {alert.escalation_from}): a step goes out "
                    "at the first run at or after its time",
                    hint=f"run it at least every {format_duration(first)}, or give the first "
                    f"step `after: {format_duration(gap)}` or more",
                )
            )

    def _routing_warnings(self, tree: RoutingTree, alerts: tuple[AlertConfig, ...]) -> None:
        """Alerts that reach nobody, and receivers no route names."""
        for alert in alerts:
            if not alert.channel_slots() and alert.source_index is not None:
                self.warnings.append(
                    Problem(
                        ("alerts", alert.source_index, "name"),
                        f"alert `{alert.name}` reaches nobody: it has no `notify:` and no "
                        "route sends it to a receiver",
                        hint="give it `notify:`, add a route that matches it, or give "
                        "`routes:` a default `receiver`",
                    )
                )
        named = _named_receivers(tree.root) | {s.receiver for a in alerts for s in a.escalation}
        for index, name in enumerate(tree.receivers):
            if name not in named:
                self.warnings.append(
                    Problem(
                        ("receivers", index, "name"),
                        f"receiver `{name}` is named by no route",
                        hint="name it in a route's `receiver` (or the root's, as the default), "
                        "or remove it",
                    )
                )

    # --- result ---------------------------------------------------------------------

    def _result(self, config: AlertsConfig | None, names: dict[int, str]) -> LoadResult:
        errors = sorted(
            (self._config_error(p, names) for p in _without_noise(self.problems)),
            key=lambda e: (e.line or 0, e.column or 0),
        )
        file_errors = [e for e in errors if e.alert_index is None]
        if file_errors:
            config = None
        warnings = sorted(
            (self._config_error(p, names) for p in self.warnings),
            key=lambda e: (e.line or 0, e.column or 0),
        )
        return LoadResult(config, errors, file_errors, warnings)

    def _config_error(self, problem: Problem, names: dict[int, str]) -> ConfigError:
        if problem.position is not None:
            line, column = problem.position
        elif problem.on_key:
            line, column = self.doc.key_position(problem.path)
        else:
            line, column = self.doc.position(problem.path)
        index = _alert_index(problem.path)
        return ConfigError(
            problem.message,
            file=self.filename,
            line=line,
            column=column,
            path=format_path(problem.path),
            hint=problem.hint,
            alert=names.get(index) if index is not None else None,
            alert_index=index,
        )


def _dependency_cycles(
    edges: dict[int, list[tuple[int, Path]]], names: dict[int, str | None]
) -> list[Problem]:
    """One problem per ``depends_on`` entry that closes a cycle (a back edge of a depth-first
    walk in file order), naming the path from the alert that writes it: ``b -> a -> b``.
    Without those entries the graph has no cycle, so every other alert stays valid."""
    problems: list[Problem] = []
    done: set[int] = set()
    for start in sorted(edges):
        if start in done:
            continue
        stack: list[int] = [start]
        on_stack = {start}
        todo: list[list[tuple[int, Path]]] = [list(edges.get(start, ()))]
        while stack:
            if not todo[-1]:
                node = stack.pop()
                on_stack.discard(node)
                done.add(node)
                todo.pop()
                continue
            parent, at = todo[-1].pop(0)
            if parent in on_stack:
                child = stack[-1]
                loop = [child, *stack[stack.index(parent) :]]
                path = " -> ".join(f"{names.get(n)}" for n in loop)
                problems.append(
                    Problem(
                        at,
                        f"dependency cycle: {path}",
                        hint="remove one of these `depends_on` entries: alerts that wait for "
                        "each other never run first",
                    )
                )
            elif parent not in done:
                stack.append(parent)
                on_stack.add(parent)
                todo.append(list(edges.get(parent, ())))
    return problems


def _without_noise(problems: list[Problem]) -> list[Problem]:
    """One error per mistake: drop the consequences of a root-cause problem (``supersedes``)."""
    causes = {p.path: p for p in problems if p.supersedes}
    if not causes:
        return problems
    return [
        p
        for p in problems
        if p.supersedes or not any(p.path[:end] in causes for end in range(len(p.path) + 1))
    ]


def mute_window(raw: RawMuteWindow) -> MuteWindow:
    """The :class:`MuteWindow` of a valid ``mute_windows:`` entry (its values are checked)."""
    return MuteWindow(
        name=raw.name,
        timezone=raw.timezone or "UTC",
        match=matcher_of(raw.match),
        reason=raw.reason,
        notify_firing_at_end=raw.notify_firing_at_end is not False,
        notify_resolved_inside=bool(raw.notify_resolved_inside),
        intervals=tuple(
            mutewindows.TimeInterval(
                times=tuple(
                    mutewindows.TimeRange(
                        start=mutewindows.parse_time(t.start_time, end=False),
                        end=mutewindows.parse_time(t.end_time, end=True),
                    )
                    for t in i.times
                )
                if i.times is not None
                else None,
                weekdays=_parsed(i.weekdays, mutewindows.parse_weekday),
                days_of_month=_parsed(i.days_of_month, mutewindows.parse_day_of_month),
                months=_parsed(i.months, mutewindows.parse_month),
                years=_parsed(i.years, mutewindows.parse_year),
            )
            for i in raw.intervals
        ),
    )


def _parsed(values: tuple[Any, ...] | None, parse: Callable[[Any], T]) -> tuple[T, ...] | None:
    return None if values is None else tuple(parse(v) for v in values)


def _with_windows(
    alert: AlertConfig, windows: tuple[MuteWindow, ...], named: tuple[str, ...]
) -> AlertConfig:
    """``alert`` with the windows whose ``match`` selects it or that it names, in file order."""
    mine = tuple(w for w in windows if w.name in named or w.match.matches(alert))
    return alert.model_copy(update={"mute_windows": mine}) if mine else alert


def _action_links(header: RawFile | None) -> ActionLinks | None:
    """The file's ``action_links:`` with its defaults (None: not written)."""
    raw = header.action_links if header is not None else None
    if raw is None:
        return None
    return ActionLinks(
        conn_id=raw.conn_id,
        expire_after=raw.expire_after or DEFAULT_ACTION_LINK_LIFETIME,
        require_login=True if raw.require_login is None else raw.require_login,
    )


def _with_action_links(alert: AlertConfig, links: ActionLinks | None) -> AlertConfig:
    return alert.model_copy(update={"action_links": links}) if links is not None else alert


def _named_receivers(route: Route) -> set[str]:
    named = {route.receiver} if route.receiver is not None else set()
    named |= {step.receiver for step in route.escalation}
    for child in route.routes:
        named |= _named_receivers(child)
    return named


def _alert_index(path: Path) -> int | None:
    if len(path) >= 2 and path[0] == "alerts" and isinstance(path[1], int):
        return path[1]
    return None
