"""The overview (``GET /alerts``) A/B in one process: a git revision's package against this
checkout's, alternating, on one state database (docs/benchmarks.md, section 5).

The revision's ``sqlsentinel_airflow`` is exported (``git archive``) to a temporary folder
as ``sqlsentinel_airflow_ref`` (its imports renamed), so both are imported side by side.
Each call is what ``bench.scale``'s overview times: ``ui.api._summaries`` over every alert
plus the route's encoding, with the collector held as the route holds it; by wall clock
(its statements included), by this process's CPU time (the database server's CPU not in
it) and by the wall time of its statements (driver execute to return). Who goes first alternates; after ``--warmup`` calls of each, ``--reps`` of each.
Both answers must say the same thing: they are compared, a sparkline's RFC 3339 times read
as seconds since the epoch where one side sends them so.

    .venv/bin/python -m bench.overview_ab --reuse-db ss_shared2 --ref main \\
        --out bench/results/overview-run13-ab.json
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import bigstate
from bench._stats import REPO, machine, median

PACKAGE = "sqlsentinel_airflow"


def export_revision(ref: str, into: Path) -> str:
    """``ref``'s package under ``into`` as ``sqlsentinel_airflow_ref``; the commit."""
    commit = subprocess.run(
        ["git", "rev-parse", ref], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    archive = into / "ref.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", commit, PACKAGE], cwd=REPO, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    renamed = into / f"{PACKAGE}_ref"
    (into / PACKAGE).rename(renamed)
    word = re.compile(rf"\b{PACKAGE}\b")
    for source in renamed.rglob("*.py"):
        source.write_text(word.sub(f"{PACKAGE}_ref", source.read_text("utf-8")), "utf-8")
    return commit


def overview_of(package: str, url: str, alerts: list[Any], home: Path) -> Callable[[], bytes]:
    """``GET /alerts`` of ``package`` over the state database ``url`` (as ``bench.scale.Ui``)."""

    def load(name: str) -> Any:
        return importlib.import_module(f"{package}.{name}")

    config, factory = load("core.config"), load("dags.factory")
    readmodel, locator = load("readmodel"), load("store.locator")
    api, catalog, stores = load("ui.api"), load("ui.catalog"), load("ui.stores")
    definitions, gcpause = load("ui.definitions"), load("core.gcpause")
    loaded = config.load_config_text(bigstate.alerts_yaml(alerts))
    assert loaded.config is not None, loaded.errors
    entries = []
    for alert in loaded.config.alerts:
        facts = readmodel.AlertFacts.of_config(alert)
        fields = {f.name: getattr(facts, f.name) for f in dataclasses.fields(facts)}
        entries.append(catalog.AlertEntry(**fields))
    factory.alert_doc_md(loaded.config.alerts[0])  # the tab's imports, as bench.scale has them
    env = {locator.STATE_DB_URL_ENV: url, "AIRFLOW_HOME": str(home)}
    found = locator.StateDbLocator(
        env=env, conn_url_of=None, cache_seconds=stores.URL_CACHE_SECONDS
    )
    ctx = api.UiContext(
        manifests=definitions.ManifestIndex(home / "no-manifests"),
        stores=stores.StateStores(found),
    )

    def overview() -> bytes:
        with gcpause.cyclic_gc_paused():
            alerts_ = api._summaries(ctx, entries, set())
            response = api._json_response({"alerts": [a.to_json() for a in alerts_]})
        return bytes(response.body)

    return overview


@contextlib.contextmanager
def statement_clock() -> Iterator[list[float]]:
    """``[seconds]``: the wall time the block's statements took, from the driver's execute
    to its return (the server's work, the network and the driver reading the answer; not
    the conversion of rows into Python values, which happens at fetch)."""
    import sqlalchemy as sa

    spent = [0.0]
    started: list[float] = []

    def before(*_args: object) -> None:
        started.append(time.perf_counter())

    def after(*_args: object) -> None:
        spent[0] += time.perf_counter() - started.pop()

    sa.event.listen(sa.Engine, "before_cursor_execute", before)
    sa.event.listen(sa.Engine, "after_cursor_execute", after)
    try:
        yield spent
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", before)
        sa.event.remove(sa.Engine, "after_cursor_execute", after)


def same_answer(ref: bytes, new: bytes) -> bool:
    """Whether both say the same, a sparkline's RFC 3339 times read as epoch seconds."""

    def normal(body: bytes) -> Any:
        answer = json.loads(body)
        for alert in answer["alerts"]:
            spark = alert.get("spark")
            if spark is not None:
                spark["at"] = [
                    datetime.fromisoformat(t).timestamp() if isinstance(t, str) else t
                    for t in spark["at"]
                ]
        return answer

    return bool(normal(ref) == normal(new))


def run(db: str, ref: str, alerts: int, warmup: int, reps: int) -> dict[str, Any]:
    url = bigstate.database_url(db)
    generated = bigstate.big_alerts(alerts)
    with tempfile.TemporaryDirectory(prefix="ss-overview-ab-") as tmp:
        commit = export_revision(ref, Path(tmp))
        sys.path.insert(0, tmp)
        home = Path(tmp) / "home"
        home.mkdir()
        calls = {
            "before": overview_of(f"{PACKAGE}_ref", url, generated, home),
            "after": overview_of(PACKAGE, url, generated, home),
        }
        answers = {side: call() for side, call in calls.items()}
        runs: dict[str, dict[str, list[float]]] = {
            s: {"wall_ms": [], "cpu_ms": [], "statements_ms": []} for s in calls
        }
        load_before = os.getloadavg()
        with statement_clock() as in_statements:
            for i in range(warmup + reps):
                order = ("before", "after") if i % 2 == 0 else ("after", "before")
                for side in order:
                    in_statements[0] = 0.0
                    cpu0, wall0 = time.process_time(), time.perf_counter()
                    answers[side] = calls[side]()
                    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
                    if i >= warmup:
                        runs[side]["wall_ms"].append(round(wall * 1000, 1))
                        runs[side]["cpu_ms"].append(round(cpu * 1000, 1))
                        runs[side]["statements_ms"].append(round(in_statements[0] * 1000, 1))
        load_after = os.getloadavg()
    result: dict[str, Any] = {"db": db, "alerts": alerts, "ref": ref, "ref_commit": commit}
    for side, measured in runs.items():
        result[side] = {
            **measured,
            "median_wall_ms": round(median(measured["wall_ms"]), 1),
            "median_cpu_ms": round(median(measured["cpu_ms"]), 1),
            "median_statements_ms": round(median(measured["statements_ms"]), 1),
            "bytes": len(answers[side]),
        }
    result["same_answer"] = same_answer(answers["before"], answers["after"])
    result["load"] = {"before": load_before, "after": load_after}
    result["machine"] = machine()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse-db", required=True, help="a state DB bench.bigstate --keep filled")
    parser.add_argument("--ref", default="main", help="the git revision to compare with")
    parser.add_argument("--alerts", type=int, default=1000, help="as generated")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--out", type=Path, help="write the result here as JSON")
    args = parser.parse_args(argv)
    result = run(args.reuse_db, args.ref, args.alerts, args.warmup, args.reps)
    text = json.dumps(result, indent=1)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    for side in ("before", "after"):
        r = result[side]
        print(
            f"{side}: wall {r['median_wall_ms']} ms, CPU {r['median_cpu_ms']} ms, "
            f"statements {r['median_statements_ms']} ms, {r['bytes']:,} bytes"
        )
    print(f"same answer: {result['same_answer']}; load {result['load']}")
    return 0 if result["same_answer"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
