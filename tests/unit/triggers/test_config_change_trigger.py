"""The content-hash trigger and its fingerprint: edits, new files and deleted files all count."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import pytest

from sqlsentinel_airflow.triggers.fingerprint import digest_of, fingerprint, watched_files

pytestmark = pytest.mark.airflow


def test_a_missing_plain_path_is_watched_with_a_none_hash(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    assert fingerprint(str(path)) == {str(path): None}
    path.write_text("alerts: []\n")
    hashes = fingerprint(str(path))
    assert hashes[str(path)] is not None and len(hashes[str(path)] or "") == 64


def test_the_digest_changes_with_content_not_with_mtime(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text("alerts: []\n")
    first = digest_of(fingerprint(str(path)))
    path.touch()
    assert digest_of(fingerprint(str(path))) == first
    path.write_text("alerts: [] \n")
    assert digest_of(fingerprint(str(path))) != first


def test_a_glob_sees_files_appear_and_disappear(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("a")
    pattern = str(tmp_path / "*.yaml")
    first = digest_of(fingerprint(pattern))
    (tmp_path / "b.yaml").write_text("b")
    assert watched_files(pattern) == [str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")]
    second = digest_of(fingerprint(pattern))
    assert second != first
    (tmp_path / "b.yaml").unlink()
    assert digest_of(fingerprint(pattern)) == first


def _trigger(path: str, baseline: str | None, poll: float = 0.05):  # type: ignore[no-untyped-def]
    from sqlsentinel_airflow.triggers.config_change import ConfigChangeTrigger

    return ConfigChangeTrigger(path, baseline, poll_interval=poll)


def test_serialize_rebuilds_the_same_trigger(tmp_path: Path) -> None:
    trigger = _trigger(str(tmp_path / "alerts.yaml"), "abc", poll=7.0)
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert kwargs == {
        "path_or_glob": str(tmp_path / "alerts.yaml"),
        "baseline_digest": "abc",
        "poll_interval": 7.0,
    }


async def _first_event(trigger, timeout: float = 5.0):  # type: ignore[no-untyped-def]
    agen = trigger.run()
    try:
        return await asyncio.wait_for(agen.__anext__(), timeout)
    finally:
        await agen.aclose()


def test_it_waits_while_unchanged_and_fires_on_an_edit(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text("alerts: []\n")
    baseline = digest_of(fingerprint(str(path)))

    async def scenario():  # type: ignore[no-untyped-def]
        task = asyncio.ensure_future(_first_event(_trigger(str(path), baseline)))
        await asyncio.sleep(0.3)
        assert not task.done(), "fired although nothing changed"
        path.write_text("alerts: [x]\n")
        return await task

    event = asyncio.run(scenario())
    assert event.payload["previous_digest"] == baseline
    assert event.payload["digest"] == digest_of(fingerprint(str(path)))
    assert event.payload["files"] == fingerprint(str(path))


def test_it_fires_when_the_file_disappears(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text("alerts: []\n")
    trigger = _trigger(str(path), digest_of(fingerprint(str(path))))
    path.unlink()
    event = asyncio.run(_first_event(trigger))
    assert event.payload["files"] == {str(path): None}


def test_without_a_baseline_it_fires_at_once(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text("alerts: []\n")
    event = asyncio.run(_first_event(_trigger(str(path), None), timeout=2.0))
    assert event.payload["previous_digest"] is None
