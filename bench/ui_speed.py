"""The UI on a big state database: how fast the SQL Sentinel page and an alert's tab render.

A real ``airflow api-server`` (PostgreSQL metadata database, SimpleAuthManager) with N alert
DAGs serialized into it by ``airflow dags reserialize`` from an alerts.yaml matching the
state database that ``bench.bigstate`` fills (N alerts, D days of history). Measured:

- in Debian's Chromium under Playwright, per repetition (a fresh load of Airflow's page):
  the time from Airflow's shell being ready (the moment its page has attached our iframe)
  to our page being drawn and painted (``document.body.dataset.rendered``, set by
  dashboard.js / alert.js in the task after the browser's next frame), for the SQL Sentinel
  page and for the tab of the busiest alert (every minute, keyed, 20 instances, the longest
  history). The SQL Sentinel page draws its first screenful (60 rows) at once and appends
  the other rows 250 at a time after each paint: ``rendered`` is the first screenful on
  screen, ``rendered-all`` every row (reported as ``every_row``);
  beside it the time from the shell to the last response of our API (the rest is drawing)
  and from navigation start to the shell;
- server-side, with httpx and a JWT: ``GET /sqlsentinel/api/alerts``, ``/alerts/{dag_id}``
  and ``/alerts/{dag_id}/history`` of that alert.

The first load of each page (cold caches) is reported apart; medians and maxima are over
the repetitions after it.

    .venv/bin/python -m bench.ui_speed --alerts 1000 --days 30 --reps 5
    .venv/bin/python -m bench.ui_speed --alerts 1000 --days 365 --reps 5   # ~75 GB uncompacted; a year as purge leaves it: bench.bigstate --compact, then --reuse-db
    .venv/bin/python -m bench.ui_speed --reuse-db ss_bigstate --alerts 1000 --days 30

``--reuse-db`` measures a state database ``bench.bigstate --keep`` filled before (it is kept).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench import bigstate
from bench._stats import REPO, markdown_table, median

sys.path.insert(0, str(REPO / "tests" / "e2e"))
from ui_browser import (  # the e2e helpers live with the tests
    _stop,
    _wait_healthy,
    api_server_env,
    free_port,
    launch_browser,
    log_in,
    spawn_api_server,
)

AIRFLOW = str(Path(sys.executable).parent / "airflow")
USER = "admin"
IFRAME = "iframe[src*='sqlsentinel/ui/']"

# Runs in every frame before its scripts: the top window notes when Airflow's page attaches
# our iframe (its shell is drawn), on the same clock as the iframe's render marker.
_SHELL_MARKER = """
if (window === window.top) {
  const note = () => {
    if (!window.__sqlsentinelShell && document.querySelector("iframe[src*='sqlsentinel/ui/']")) {
      window.__sqlsentinelShell = performance.timeOrigin + performance.now();
    }
  };
  new MutationObserver(note).observe(document, { childList: true, subtree: true, attributes: true });
}
"""


# In our iframe: when the last response of our API arrived (same clock as the markers).
_LAST_API_RESPONSE = """
performance.timeOrigin + Math.max(0, ...performance.getEntriesByType("resource")
  .filter((e) => e.name.includes("/sqlsentinel/api/")).map((e) => e.responseEnd))
"""


@contextmanager
def _state_database(args: argparse.Namespace) -> Iterator[tuple[str, dict[str, Any]]]:
    if args.reuse_db:
        yield bigstate.database_url(args.reuse_db), {"reused": args.reuse_db}
        return
    name = f"ss_uispeed_state_{uuid.uuid4().hex[:8]}"
    url = bigstate.create_database(name)
    try:
        stats = bigstate.generate(url, args.alerts, args.days)
        print(f"state database: {json.dumps(stats)}", file=sys.stderr)
        yield url, stats
    finally:
        bigstate.drop_database(name)


@contextmanager
def _api_server(
    root: Path, state_url: str, alerts: int
) -> Iterator[tuple[str, str, dict[str, float]]]:
    """An api-server over a fresh PostgreSQL metadata DB with the alerts serialized:
    ``(base_url, password, setup timings)``."""
    home, dags = root / "airflow_home", root / "dags"
    home.mkdir()
    dags.mkdir()
    shutil.copy(REPO / "dags" / "sqlsentinel_alerts.py", dags / "sqlsentinel_alerts.py")
    (dags / "alerts.yaml").write_text(
        bigstate.alerts_yaml(bigstate.big_alerts(alerts)), encoding="utf-8"
    )
    password = secrets.token_urlsafe(12)
    (home / "passwords.json").write_text(json.dumps({USER: password}))
    meta = f"ss_uispeed_meta_{uuid.uuid4().hex[:8]}"
    meta_url = bigstate.create_database(meta)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = api_server_env(
        home,
        dags,
        port=port,
        meta_url=meta_url,
        passwords=home / "passwords.json",
        state_url=state_url,
    )
    env["AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT"] = "600"  # 1,000 alerts in one file
    timings: dict[str, float] = {}
    process = None
    try:
        for args in (["db", "migrate"], ["dags", "reserialize"]):
            began = time.perf_counter()
            done = subprocess.run(
                [AIRFLOW, *args], env=env, cwd=root, capture_output=True, text=True, timeout=1800
            )
            if done.returncode != 0:
                raise RuntimeError(
                    f"airflow {' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
                )
            timings[f"airflow_{args[1]}_s"] = round(time.perf_counter() - began, 2)
        process, log = spawn_api_server(root, env, port)
        _wait_healthy(base_url, process, log)
        timings["server_pgid"] = process.pid  # its own process group (start_new_session)
        yield base_url, password, timings
    finally:
        if process is not None:
            _stop(process)
        bigstate.drop_database(meta)


def group_cpu_ms(pgid: int) -> float:
    """CPU time (user + system) used so far by the processes of group ``pgid``, in ms."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of stat: the process group
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def time_api(
    base_url: str,
    password: str,
    dag_id: str,
    reps: int,
    server_pgid: int | None = None,
    quiet_dag_id: str | None = None,
    hourly_dag_id: str | None = None,
) -> dict[str, Any]:
    """Server-side time of the UI's reads, first call and ``reps`` more (the incidents also
    of ``quiet_dag_id``: an alert whose incidents are rare, the costliest to find when they
    were searched for in the history); with
    ``server_pgid`` also the api-server's CPU time per call (less sensitive than wall time
    to a machine shared with other work; the database's own CPU is not in it)."""
    with httpx.Client(base_url=base_url, timeout=120) as client:
        token = client.post("/auth/token", json={"username": USER, "password": password})
        token.raise_for_status()
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        paths = {
            "alerts": "/sqlsentinel/api/alerts",
            "alert": f"/sqlsentinel/api/alerts/{dag_id}",
            "history": f"/sqlsentinel/api/alerts/{dag_id}/history?limit=50",
            "incidents": f"/sqlsentinel/api/alerts/{dag_id}/incidents?limit=5",
        }
        if quiet_dag_id is not None:
            paths["quiet alert's incidents"] = (
                f"/sqlsentinel/api/alerts/{quiet_dag_id}/incidents?limit=5"
            )
        if hourly_dag_id is not None:  # its chart's 120 values reach into compacted history
            paths["hourly alert's chart"] = (
                f"/sqlsentinel/api/alerts/{hourly_dag_id}/history?limit=120&samples=true"
            )
        found: dict[str, Any] = {}
        for name, path in paths.items():
            times, cpu = [], []
            for _ in range(reps + 1):
                cpu_before = group_cpu_ms(server_pgid) if server_pgid else 0.0
                began = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - began) * 1000)
                if server_pgid:
                    cpu.append(group_cpu_ms(server_pgid) - cpu_before)
                response.raise_for_status()
            found[name] = _summary(times, extra={"bytes": len(response.content)})
            if cpu:
                found[name]["server_cpu_median_ms"] = round(median(cpu[1:] or cpu), 1)
            if name == "alerts":
                found[name]["rows"] = len(response.json()["alerts"])
            if name == "history":
                found[name]["rows"] = len(response.json()["entries"])
            if "incidents" in name:
                found[name]["rows"] = len(response.json()["incidents"])
        return found


def _summary(times_ms: list[float], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    rest = times_ms[1:] or times_ms
    return {
        "first_ms": round(times_ms[0], 1),
        "median_ms": round(median(rest), 1),
        "max_ms": round(max(rest), 1),
        "runs_ms": [round(t, 1) for t in times_ms],
        **(extra or {}),
    }


def time_pages(
    base_url: str,
    password: str,
    dag_id: str,
    alerts: int,
    reps: int,
    history_rows: int = 50,
    browser: Any = None,
) -> dict[str, Any]:
    """Browser timings of the SQL Sentinel page (``alerts`` rows expected) and ``dag_id``'s
    tab (``history_rows`` rows of history expected), in ``browser`` or a Chromium of its own."""
    if browser is None:
        with launch_browser() as launched:
            return time_pages(base_url, password, dag_id, alerts, reps, history_rows, launched)
    import ui_browser

    ui_browser.PASSWORD = password  # log_in types the module's password
    tab = f"{base_url}/dags/{dag_id}/plugin/sqlsentinel-alert"
    pages = {
        "dashboard": (f"{base_url}/plugin/sqlsentinel", "tbody tr[data-dag-id]", alerts),
        "alert_tab": (tab, "#history tbody tr", history_rows),
    }
    found: dict[str, Any] = {}
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        context.set_default_timeout(120_000)
        context.add_init_script(_SHELL_MARKER)
        page = context.new_page()
        log_in(page, base_url)
        for name, (url, rows_selector, rows_expected) in pages.items():
            ours, shell, rows, fetched, every = [], [], [], [], []
            for _ in range(reps + 1):
                page.goto(url)
                frame = page.frame_locator(IFRAME)
                complete = (
                    "body[data-rendered-all]" if name == "dashboard" else "body[data-rendered]"
                )
                frame.locator(complete).wait_for()
                inner = page.locator(IFRAME).element_handle().content_frame()
                rendered = float(frame.locator("body").get_attribute("data-rendered") or "nan")
                rendered_all = float(
                    frame.locator("body").get_attribute("data-rendered-all") or rendered
                )
                started, shell_at = page.evaluate(
                    "[performance.timeOrigin, window.__sqlsentinelShell]"
                )
                # The iframe's document starts loading the moment it is attached, a few ms
                # before the observer's callback runs: the earlier of the two is the start.
                begun = min(shell_at, inner.evaluate("performance.timeOrigin"))
                ours.append(rendered - begun)
                every.append(rendered_all - begun)
                shell.append(begun - started)
                fetched.append(inner.evaluate(_LAST_API_RESPONSE) - begun)
                rows.append(frame.locator(rows_selector).count())
            if min(rows) < rows_expected:
                raise RuntimeError(f"{name}: {rows} rows drawn, expected {rows_expected}")
            found[name] = _summary(ours, extra={"rows": rows[-1]})
            found[name]["shell_median_ms"] = round(median(shell[1:] or shell), 1)
            found[name]["data_median_ms"] = round(median(fetched[1:] or fetched), 1)
            found[name]["every_row_median_ms"] = round(median(every[1:] or every), 1)
    finally:
        context.close()
    return found


def _machine() -> dict[str, Any]:
    import airflow

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    chromium = subprocess.run(
        ["/usr/bin/chromium", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "airflow": airflow.__version__,
        "chromium": chromium,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def report(result: dict[str, Any]) -> str:
    rows = []
    for name, m in result["browser"].items():
        rows.append(
            [
                f"browser: {name} (shell → drawn; data in {m['data_median_ms']} ms"
                + (
                    f"; every row in {m['every_row_median_ms']} ms)"
                    if m.get("every_row_median_ms", m["median_ms"]) != m["median_ms"]
                    else ")"
                ),
                m["rows"],
                m["first_ms"],
                m["median_ms"],
                m["max_ms"],
            ]
        )
    for name, m in result["api"].items():
        cpu = (
            f"; api-server CPU {m['server_cpu_median_ms']} ms"
            if "server_cpu_median_ms" in m
            else ""
        )
        rows.append(
            [f"API: {name}{cpu}", m.get("rows", "-"), m["first_ms"], m["median_ms"], m["max_ms"]]
        )
    return markdown_table(["what", "rows", "first ms", "median ms", "max ms"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--reuse-db", help="a state database bench.bigstate --keep filled")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "ui-speed.json")
    args = parser.parse_args(argv)
    alerts = bigstate.big_alerts(args.alerts)
    busy = bigstate.busiest_alert(alerts)
    quiet = next(a for a in alerts if a.every_minutes == 1 and not a.keyed)
    hourly = next(a for a in alerts if a.every_minutes == 60 and not a.keyed)
    with (
        _state_database(args) as (state_url, state),
        tempfile.TemporaryDirectory(prefix="ss-uispeed-") as tmp,
        _api_server(Path(tmp), state_url, args.alerts) as (base_url, password, setup),
    ):
        pgid = int(setup.pop("server_pgid"))
        api = time_api(
            base_url, password, busy.dag_id, args.reps, pgid, quiet.dag_id, hourly.dag_id
        )
        browser = time_pages(base_url, password, busy.dag_id, args.alerts, args.reps)
    result = {
        "alerts": args.alerts,
        "days": args.days,
        "reps": args.reps,
        "busiest_alert": busy.dag_id,
        "quiet_alert": quiet.dag_id,
        "state": state,
        "setup": setup,
        "machine": _machine(),
        "browser": browser,
        "api": api,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    table = report(result)
    args.out.with_suffix(".md").write_text(
        f"{args.alerts} alerts, {args.days:g} days of history, {args.reps} reps "
        f"({result['machine']['when']})\n\n{table}\n",
        encoding="utf-8",
    )
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
