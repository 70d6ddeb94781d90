"""The last valid version of each alerts file, kept on disk: a fallback and a parse cache.

Why it exists:
- **Fallback.** A DAG file that raises hides every DAG it defines, and an alerts file that
  cannot be loaded (YAML syntax error, file missing, top-level mistake) must not silence
  every alert. The manifest remembers the last version that loaded, so the factory keeps
  running it and shows the error beside it (docs/adr/0003-broken-alerts-in-the-ui.md).
- **Last valid alert.** An alert that was valid and then broke keeps running its last valid
  version: ``last_valid`` carries it from manifest to manifest until the alert is fixed or
  removed from the file.
- **Parse cache.** Airflow re-parses the DAG file every 30 s and again at every task start.
  Validating alerts.yaml (YAML, cron, SQL parsing) is the expensive part; when the file and
  what it depends on are unchanged, the resolved models are read back from the manifest's
  JSON instead (and from memory when the same process parses again).

What counts as "unchanged" (the :class:`Fingerprint`): the file's bytes, the package version,
the environment variables the loader read (``${VAR}``), the connection types it looked up and
the ``query_file`` files. Values of environment variables are stored as hashes only.

One manifest per alerts file: ``$AIRFLOW_HOME/sqlsentinel/manifests/<sha256 of the absolute
path>.json``, written atomically (temp file + rename) with mode 0600, since the resolved
config may hold values interpolated from secrets (a webhook URL from ``${SLACK_URL}``).
Beside it, ``verdicts-<same sha256>.json`` keeps the file's accepted SQL verdicts, so the
first parse after an edit parses only the queries that changed (``core/config/sqlcheck``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sqlsentinel_airflow.core.atomicfile import write_atomically
from sqlsentinel_airflow.core.clock import rfc3339, utcnow
from sqlsentinel_airflow.core.config.models import AlertConfig, AlertsConfig
from sqlsentinel_airflow.core.config.queryfile import QueryFileRefused, read_query_file
from sqlsentinel_airflow.core.gcpause import cyclic_gc_paused
from sqlsentinel_airflow.errors import ConfigError

__all__ = [
    "MANIFEST_FORMAT",
    "Fingerprint",
    "Manifest",
    "RecordingConnTypes",
    "RecordingEnv",
    "SourceState",
    "clear_memory_cache",
    "default_manifest_dir",
    "display_name",
    "manifest_path",
    "query_file_references",
    "read_manifest",
    "remember_glob",
    "remembered_glob",
    "resolve_source",
    "sha256_hex",
    "write_manifest",
]

log = logging.getLogger(__name__)

MANIFEST_FORMAT: Literal[1] = 1

# ``query_file: sql/x.sql`` anywhere in the raw text (quoted or not, comment stripped). A
# superset of what the loader reads is harmless: it only widens what invalidates the cache.
_QUERY_FILE = re.compile(r"""query_file\s*:\s*["']?([^"'#\n]+?)["']?\s*(?:#.*)?$""", re.MULTILINE)


def sha256_hex(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def default_manifest_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$AIRFLOW_HOME/sqlsentinel/manifests`` (``~/airflow`` when unset), without Airflow config."""
    env = os.environ if env is None else env
    home = env.get("AIRFLOW_HOME") or str(Path.home() / "airflow")
    return Path(home).expanduser() / "sqlsentinel" / "manifests"


def display_name(source: Path, base_dir: Path | None) -> str:
    """How messages name an alerts file: relative to the DAG file's folder when inside it
    (the factory and the config watch name files alike)."""
    if base_dir is not None:
        try:
            return str(source.absolute().relative_to(base_dir))
        except ValueError:
            pass
    return str(source.absolute())


def manifest_path(source: Path, directory: Path) -> Path:
    """Where the manifest of the alerts file ``source`` lives."""
    return directory / f"{sha256_hex(str(source.absolute()))}.json"


def query_file_references(text: str) -> tuple[str, ...]:
    """The ``query_file`` values written in an alerts file (raw text, not interpolated)."""
    return tuple(sorted({m.group(1).strip() for m in _QUERY_FILE.finditer(text)}))


def _file_hash(base_dir: Path, name: str) -> str | None:
    """The hash of a query file as the loader reads it (``core/config/queryfile``).

    None when it is missing; for a file the loader refuses (outside the folder, a FIFO,
    ``/dev/zero``, too large) the refusal itself, read the same safe way: never blocks,
    never reads more than the size cap.
    """
    try:
        return sha256_hex(read_query_file(base_dir, name))
    except QueryFileRefused as refused:
        return None if refused.missing else f"refused: {refused.message}"


def _env_hash(name: str, value: str | None) -> str | None:
    return None if value is None else sha256_hex(f"{name}\0{value}")


class RecordingEnv(Mapping[str, str]):
    """The environment as the loader sees it, remembering which variables it looked up."""

    def __init__(self, base: Mapping[str, str]) -> None:
        self._base = base
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return self._base[key]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return key in self._base

    def __iter__(self) -> Iterator[str]:
        return iter(self._base)

    def __len__(self) -> int:
        return len(self._base)

    def value_of(self, key: str) -> str | None:
        """The value of ``key`` without recording a look-up."""
        return self._base.get(key)


class RecordingConnTypes:
    """A ``conn_type_of`` callable that remembers every answer it gave."""

    def __init__(self, conn_type_of: Callable[[str], str | None]) -> None:
        self._conn_type_of = conn_type_of
        self.answers: dict[str, str | None] = {}

    def __call__(self, conn_id: str) -> str | None:
        try:
            answer = self._conn_type_of(conn_id)
        except Exception:
            # Recorded so the fingerprint depends on it; a failing look-up never matches.
            self.answers[conn_id] = "<look-up failed>"
            raise
        self.answers[conn_id] = answer
        return answer


class Fingerprint(BaseModel):
    """Everything a validation result depends on; equal fingerprints, equal results."""

    model_config = ConfigDict(frozen=True)

    content_hash: str
    package_version: str
    display_name: str  # how messages name the file: part of the cached messages
    env: dict[str, str | None] = Field(default_factory=dict)  # name -> hash of its value
    conn_types: dict[str, str | None] = Field(default_factory=dict)
    files: dict[str, str | None] = Field(default_factory=dict)  # as written -> hash

    @classmethod
    def observe(
        cls,
        *,
        content: bytes,
        package_version: str,
        display_name: str,
        base_dir: Path,
        env: RecordingEnv,
        conn_types: RecordingConnTypes | None,
        query_files: Sequence[str],
    ) -> Fingerprint:
        """The fingerprint of a load that just happened, from what it read."""
        return cls(
            content_hash=sha256_hex(content),
            package_version=package_version,
            display_name=display_name,
            env={name: _env_hash(name, env.value_of(name)) for name in sorted(env.read)},
            conn_types=dict(sorted(conn_types.answers.items())) if conn_types else {},
            files={name: _file_hash(base_dir, name) for name in query_files},
        )

    def still_holds(
        self,
        *,
        content_hash: str,
        package_version: str,
        display_name: str,
        base_dir: Path,
        env: Mapping[str, str],
        conn_type_of: Callable[[str], str | None] | None,
    ) -> bool:
        """True when a new validation would read exactly what this one read."""
        if (content_hash, package_version, display_name) != (
            self.content_hash,
            self.package_version,
            self.display_name,
        ):
            return False
        if any(_env_hash(name, env.get(name)) != h for name, h in self.env.items()):
            return False
        if self.conn_types:
            if conn_type_of is None:
                return False
            try:
                if any(conn_type_of(c) != t for c, t in self.conn_types.items()):
                    return False
            except Exception:  # a failing look-up means: validate again, and see it fail there
                return False
        return all(_file_hash(base_dir, name) == h for name, h in self.files.items())


_ERROR_FIELDS = tuple(f.name for f in dataclasses.fields(ConfigError))


def _error_to_json(error: ConfigError) -> dict[str, Any]:
    return {name: getattr(error, name) for name in _ERROR_FIELDS}


def _error_from_json(data: Mapping[str, Any]) -> ConfigError:
    return ConfigError(**{k: v for k, v in data.items() if k in _ERROR_FIELDS})


@dataclass(frozen=True)
class Manifest:
    """One alerts file as it last loaded.

    ``config`` holds the alerts valid in that version; ``errors`` its problems (alert-level,
    and file-level ones that did not stop the load); ``last_valid`` the last valid version of
    each alert that was invalid in it (by alert name).
    """

    source: str
    fingerprint: Fingerprint
    config: AlertsConfig
    errors: tuple[ConfigError, ...] = ()
    last_valid: Mapping[str, AlertConfig] = field(default_factory=dict)
    written_at: datetime = field(default_factory=utcnow)

    def previous_version(self, alert_name: str) -> AlertConfig | None:
        """The last valid version this manifest knows of an alert, if any."""
        for alert in self.config.alerts:
            if alert.name == alert_name:
                return alert
        return self.last_valid.get(alert_name)

    def to_json(self) -> str:
        return _ManifestDocument(
            format=MANIFEST_FORMAT,
            source=self.source,
            written_at=self.written_at,
            fingerprint=self.fingerprint,
            errors=[_error_to_json(e) for e in self.errors],
            last_valid=dict(self.last_valid),
            config=self.config,
        ).model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        # One pass in pydantic's JSON parser: ~8x faster than json.loads + model_validate
        # for 2,000 alerts, which matters on every task start.
        doc = _ManifestDocument.model_validate_json(text)
        return cls(
            source=doc.source,
            fingerprint=doc.fingerprint,
            config=doc.config,
            errors=tuple(_error_from_json(e) for e in doc.errors),
            last_valid=doc.last_valid,
            written_at=doc.written_at,
        )


class _ManifestDocument(BaseModel):
    """The manifest file's JSON shape."""

    model_config = ConfigDict(frozen=True)

    format: Literal[1]
    source: str
    written_at: datetime
    fingerprint: Fingerprint
    errors: list[dict[str, Any]] = Field(default_factory=list)
    last_valid: dict[str, AlertConfig] = Field(default_factory=dict)
    config: AlertsConfig


def read_manifest(path: Path) -> Manifest | None:
    """The manifest at ``path``; None when absent, unreadable or from another format version."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("sqlsentinel: cannot read manifest %s: %s", path, exc)
        return None
    try:
        return Manifest.from_json(text)
    except Exception as exc:  # a corrupt or foreign manifest is a cache miss, never a crash
        log.warning("sqlsentinel: ignoring unusable manifest %s: %s", path, exc)
        return None


def write_manifest(path: Path, manifest: Manifest) -> bool:
    """Write ``manifest`` atomically (readers see the old or the new file, never half)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, manifest.to_json(), durable=True)
    except OSError as exc:
        log.warning("sqlsentinel: cannot write manifest %s: %s", path, exc)
        return False
    return True


# --- resolving one alerts file: cache, validation, fallback ---------------------------------

_MEMORY: dict[str, Manifest] = {}


def clear_memory_cache() -> None:
    """Forget the manifests kept in this process (the on-disk manifests stay)."""
    _MEMORY.clear()


@dataclass(frozen=True)
class SourceState:
    """What the factory builds for one alerts file.

    ``config`` holds the alerts to run (None when nothing valid is known); ``stale`` the
    alerts that run their last valid version (by name); ``alert_errors`` the current errors
    of invalid alerts (by name); ``file_errors`` problems tied to no single alert.
    ``fallback_since`` is set when the file could not be loaded at all and ``config`` is the
    last valid version, loaded at that time.
    """

    source: Path
    config: AlertsConfig | None
    stale: Mapping[str, AlertConfig] = field(default_factory=dict)
    alert_errors: Mapping[str, tuple[ConfigError, ...]] = field(default_factory=dict)
    file_errors: tuple[ConfigError, ...] = ()
    fallback_since: datetime | None = None
    from_cache: bool = False


def _split_errors(
    errors: Sequence[ConfigError],
) -> tuple[dict[str, tuple[ConfigError, ...]], tuple[ConfigError, ...]]:
    by_alert: dict[str, list[ConfigError]] = {}
    other: list[ConfigError] = []
    seen: set[str] = set()
    for error in errors:
        text = error.format()
        if text in seen:
            continue
        seen.add(text)
        if error.alert:
            by_alert.setdefault(error.alert, []).append(error)
        else:
            other.append(error)
    return {name: tuple(errs) for name, errs in by_alert.items()}, tuple(other)


def _unique(errors: Sequence[ConfigError]) -> list[ConfigError]:
    seen: set[str] = set()
    unique = []
    for error in errors:
        if error.format() not in seen:
            seen.add(error.format())
            unique.append(error)
    return unique


def _state_of(source: Path, manifest: Manifest, *, from_cache: bool) -> SourceState:
    alert_errors, file_errors = _split_errors(manifest.errors)
    return SourceState(
        source=source,
        config=manifest.config,
        stale=manifest.last_valid,
        alert_errors=alert_errors,
        file_errors=file_errors,
        from_cache=from_cache,
    )


def _fallback(
    source: Path, previous: Manifest | None, errors: Sequence[ConfigError]
) -> SourceState:
    if previous is None:
        log.error("sqlsentinel: %s cannot be loaded and no earlier version is known", source)
        return SourceState(source=source, config=None, file_errors=tuple(errors))
    log.error(
        "sqlsentinel: %s cannot be loaded; running its last valid version from %s",
        source,
        rfc3339(previous.written_at),
    )
    return SourceState(
        source=source,
        config=previous.config,
        stale=previous.last_valid,
        file_errors=tuple(errors),
        fallback_since=previous.written_at,
    )


def _unreadable(source: Path, display_name: str, exc: OSError) -> ConfigError:
    if isinstance(exc, FileNotFoundError):
        return ConfigError(
            message=f"alerts file not found: {source}",
            file=display_name,
            hint="restore it, or remove the load_alert_dags call to remove its alerts",
        )
    reason = exc.strerror or type(exc).__name__
    return ConfigError(message=f"cannot read alerts file {source}: {reason}", file=display_name)


def resolve_source(
    source: Path,
    *,
    directory: Path,
    env: Mapping[str, str],
    conn_type_of: Callable[[str], str | None] | None,
    package_version: str,
    display_name: str | None = None,
) -> SourceState:
    """Load one alerts file: from the cache when unchanged, else validate; fall back if broken.

    Never raises for a problem with the file itself; every problem is in the result.
    """
    # Both paths allocate objects per alert (the manifest's models; YAML nodes, models and
    # the validation stack's imports when cold): see core/gcpause for why the cyclic
    # collector is paused meanwhile.
    with cyclic_gc_paused():
        return _resolve_source(
            source,
            directory=directory,
            env=env,
            conn_type_of=conn_type_of,
            package_version=package_version,
            display_name=display_name,
        )


def _resolve_source(
    source: Path,
    *,
    directory: Path,
    env: Mapping[str, str],
    conn_type_of: Callable[[str], str | None] | None,
    package_version: str,
    display_name: str | None,
) -> SourceState:
    source = source.absolute()
    key = str(source)
    name = display_name or key
    path = manifest_path(source, directory)
    try:
        content = source.read_bytes()
    except OSError as exc:
        previous = read_manifest(path) or _MEMORY.get(key)
        return _fallback(source, previous, [_unreadable(source, name, exc)])

    content_hash = sha256_hex(content)

    def unchanged(manifest: Manifest | None) -> bool:
        return manifest is not None and manifest.fingerprint.still_holds(
            content_hash=content_hash,
            package_version=package_version,
            display_name=name,
            base_dir=source.parent,
            env=env,
            conn_type_of=conn_type_of,
        )

    cached = _MEMORY.get(key)
    if cached is not None and unchanged(cached):
        return _state_of(source, cached, from_cache=True)
    on_disk = read_manifest(path)
    if on_disk is not None and unchanged(on_disk):
        _MEMORY[key] = on_disk
        return _state_of(source, on_disk, from_cache=True)
    return _validate(
        source,
        content,
        on_disk or cached,
        path,
        env=env,
        conn_type_of=conn_type_of,
        package_version=package_version,
        display_name=name,
    )


def _validate(
    source: Path,
    content: bytes,
    previous: Manifest | None,
    path: Path,
    *,
    env: Mapping[str, str],
    conn_type_of: Callable[[str], str | None] | None,
    package_version: str,
    display_name: str,
) -> SourceState:
    from sqlsentinel_airflow.core.config.loader import load_config_text
    from sqlsentinel_airflow.core.config.sqlcheck import verdicts_file, verdicts_kept_in

    recording_env = RecordingEnv(env)
    recording_types = RecordingConnTypes(conn_type_of) if conn_type_of is not None else None
    try:
        # The bytes already read and hashed are the bytes validated: no race with an edit.
        # SQL verdicts of the earlier version are kept beside the manifest: after an edit
        # only the queries that changed are parsed (core/config/sqlcheck).
        with verdicts_kept_in(verdicts_file(path.parent, source)):
            result = load_config_text(
                content,
                display_name,
                base_dir=source.parent,
                conn_type_of=recording_types,
                env=recording_env,
            )
    except Exception as exc:  # a loader bug must not take the alerts down with it
        log.exception("sqlsentinel: loading %s failed unexpectedly", source)
        error = ConfigError(message=f"internal error while loading: {exc}", file=str(source))
        return _fallback(source, previous, [error])

    errors = _unique([*result.file_errors, *result.errors])
    if result.config is None:
        return _fallback(
            source,
            previous,
            errors
            or [ConfigError(message="the alerts file could not be loaded", file=str(source))],
        )

    alert_errors, _ = _split_errors(errors)
    last_valid: dict[str, AlertConfig] = {}
    if previous is not None:
        for name in alert_errors:
            version = previous.previous_version(name)
            if version is not None:
                last_valid[name] = version
    text = content.decode("utf-8", errors="replace")
    query_files = sorted(
        {
            *query_file_references(text),
            *(a.query_file for a in result.config.alerts if a.query_file),
        }
    )
    manifest = Manifest(
        source=str(source),
        fingerprint=Fingerprint.observe(
            content=content,
            package_version=package_version,
            display_name=display_name,
            base_dir=source.parent,
            env=recording_env,
            conn_types=recording_types,
            query_files=query_files,
        ),
        config=result.config,
        errors=tuple(errors),
        last_valid=last_valid,
    )
    _MEMORY[str(source)] = manifest
    write_manifest(path, manifest)
    return _state_of(source, manifest, from_cache=False)


# --- globs: which files a pattern matched, for when it suddenly matches none ---------------


def _glob_index_path(pattern: str, directory: Path) -> Path:
    return directory / f"glob-{sha256_hex(pattern)}.json"


def remember_glob(pattern: str, files: Sequence[Path], directory: Path) -> None:
    """Record the files ``pattern`` matched (only rewritten when the list changed)."""
    path = _glob_index_path(pattern, directory)
    names = [str(f) for f in files]
    if remembered_glob(pattern, directory) == [Path(n) for n in names]:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps({"pattern": pattern, "files": names}))
    except OSError as exc:
        log.warning("sqlsentinel: cannot write glob index %s: %s", path, exc)


def remembered_glob(pattern: str, directory: Path) -> list[Path]:
    """The files ``pattern`` matched when it last matched any ([] when unknown)."""
    try:
        data = json.loads(_glob_index_path(pattern, directory).read_text(encoding="utf-8"))
        return [Path(name) for name in data["files"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []
