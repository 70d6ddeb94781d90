"""What the config watch compares: the content hashes of the files an alerts pattern matches.

The watch DAG must notice an edit, a new file and a deleted file, so it hashes *content*
(an mtime can stay the same across an edit, or change without one) of every file the
pattern matches now. A plain path is watched whether it exists or not: its hash is ``None``
while it is missing, so both its disappearance and its return are changes.

Pure Python (no Airflow): the trigger, the sensor and the validate task share it, and it is
unit-tested on its own.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from sqlsentinel_airflow.core.config.matchers import is_pattern

__all__ = ["content_hash", "digest_of", "fingerprint", "is_pattern", "watched_files"]

FileHashes = dict[str, str | None]
"""Absolute path -> sha256 of its bytes (None: the file is missing or unreadable)."""


def watched_files(path_or_glob: str) -> list[str]:
    """The files to hash now: the glob's matches, or the one path (existing or not)."""
    if not is_pattern(path_or_glob):
        return [str(Path(path_or_glob).absolute())]
    return sorted(
        str(Path(p).absolute())
        for p in glob.glob(path_or_glob, recursive=True)
        if os.path.isfile(p)
    )


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hash_file(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return content_hash(handle.read())
    except OSError:
        return None


def fingerprint(path_or_glob: str) -> FileHashes:
    """The content hash of every watched file, by absolute path."""
    return {path: _hash_file(path) for path in watched_files(path_or_glob)}


def digest_of(hashes: Mapping[str, str | None]) -> str:
    """One hash for a whole fingerprint: equal digests, same files with the same content."""
    canonical = json.dumps(sorted(hashes.items()), separators=(",", ":"))
    return content_hash(canonical.encode("utf-8"))
