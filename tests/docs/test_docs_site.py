"""The docs site: `mkdocs build --strict` passes with no warning, the nav holds every page,
the changelog page is the live CHANGELOG.md, the ADR index lists every ADR, README links
the site; and the code blocks of the pages written before the guide (deploy-compose.md,
benchmarks.md) are exercised as far as this machine allows.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from docs_site_support import (
    VENV_BIN,
    assert_module_takes,
    commands_of,
    docs_env,
    lines_of,
    run_shell,
)
from docs_snippets import DOCS, REPO, text

from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.dags.config_diff import diff_snapshots, snapshot_alerts

MKDOCS_YML = REPO / "mkdocs.yml"
COMPOSE = "docker-compose.airflow.yaml"


def _mkdocs_config() -> dict:
    return yaml.safe_load(MKDOCS_YML.read_text(encoding="utf-8"))  # no python tags in it


def _nav_files(nav: list) -> list[str]:
    out: list[str] = []
    for item in nav:
        for value in item.values() if isinstance(item, dict) else [item]:
            out.extend(_nav_files(value) if isinstance(value, list) else [value])
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [str(VENV_BIN / "mkdocs"), "build", "--strict", "-f", str(MKDOCS_YML), "-d", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        # the theme's end-of-life banner is advice, not a build warning
        env=docs_env(out / "airflow-home", {"NO_MKDOCS_2_WARNING": "1"}),
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    return out, log


def test_site_builds_strict_without_warnings(site: tuple[Path, str]) -> None:
    out, log = site
    warnings = [line for line in log.splitlines() if "WARNING" in line]
    assert not warnings, "\n".join(warnings)
    assert _mkdocs_config()["strict"] is True
    assert _mkdocs_config()["theme"]["name"] == "material"
    for page in _nav_files(_mkdocs_config()["nav"]):
        built = out / (page[: -len(".md")] + "/index.html" if page != "index.md" else "index.html")
        if page.endswith("/index.md"):
            built = out / page.replace("index.md", "index.html")
        assert built.is_file(), f"{page} was not built"
    shown = {
        image
        for page in DOCS.rglob("*.md")
        for image in re.findall(r"\]\((img/[^)]+\.png)\)", page.read_text(encoding="utf-8"))
    }
    assert "img/ui-dashboard.png" in shown
    for image in shown:  # every screenshot a page shows is in the built site
        assert (out / image).is_file(), image


def test_nav_holds_every_page() -> None:
    nav = _nav_files(_mkdocs_config()["nav"])
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert sorted(nav) == pages
    for page in ("notifications.md", "operations.md", "migrating.md", "reference/alerts-yaml.md"):
        assert page in nav


def test_changelog_page_is_the_live_changelog(site: tuple[Path, str]) -> None:
    out, _ = site
    source = (DOCS / "changelog.md").read_text(encoding="utf-8")
    assert '--8<-- "CHANGELOG.md"' in source and "## " not in source  # an include, not a copy
    html = (out / "changelog" / "index.html").read_text(encoding="utf-8")
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^#{2,3} (.+)$", changelog, flags=re.M)
    assert headings
    for heading in headings:
        plain = re.sub(r"[\[\]]", "", heading)
        assert plain in re.sub(r"<[^>]+>", "", html), f"{heading!r} not on the changelog page"


def test_adr_index_lists_every_adr() -> None:
    index = (DOCS / "adr" / "index.md").read_text(encoding="utf-8")
    adrs = sorted((DOCS / "adr").glob("0*.md"))
    assert len(adrs) >= 6
    for adr in adrs:
        number, title = re.match(r"# (\d+)\. (.+)", adr.read_text(encoding="utf-8")).groups()
        assert f"| [{number}]({adr.name}) | {title} |" in index, adr.name


def test_readme_links_the_site() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Documentation", 1)[1]
    linked = re.findall(r"\]\((docs/[^)#]+)", section)
    assert "docs/quickstart.md" in linked and "docs/reference/alerts-yaml.md" in linked
    for target in linked:
        assert (REPO / target).is_file(), target
    assert "mkdocs" in section


# --- the pages written before the guide ---------------------------------------------------


def test_compose_config_check_runs() -> None:
    (command,) = commands_of(text("compose-config-check"))
    assert command == f"docker-compose -f {COMPOSE} config -q"
    done = run_shell(command, cwd=REPO, env=docs_env(REPO / ".no-airflow-home"))
    assert done.stdout == ""


def test_compose_up_names_the_file_and_its_services() -> None:
    """No Docker engine here: the file the command names is valid and holds the page's services."""
    (command,) = commands_of(text("compose-up"))
    assert command.startswith(f"docker compose -f {COMPOSE} up --build")
    done = run_shell(
        f"docker-compose -f {COMPOSE} config --services", cwd=REPO, env=docs_env(REPO / ".x")
    )
    page = (DOCS / "deploy-compose.md").read_text(encoding="utf-8")
    services_table = page.split("The services:", 1)[1].split("\n\n", 2)[1]
    documented = re.findall(r"^\| `([\w-]+)` \|", services_table, flags=re.M)
    assert sorted(documented) == sorted(lines_of(done.stdout))


def test_compose_watch_diff_is_what_the_diff_prints() -> None:
    def alerts(*items: tuple[str, str, str]) -> object:
        doc = {
            "defaults": {"conn_id": "warehouse"},
            "alerts": [{"name": n, "schedule": s, "query": q} for n, s, q in items],
        }
        result = load_config_text(yaml.safe_dump(doc), "alerts.yaml")
        assert result.ok and result.config is not None
        return snapshot_alerts(result.config.alerts)

    before = alerts(
        ("nightly_report", "0 3 * * *", "SELECT 'OK' AS status"),
        ("orders_backlog", "*/5 * * * *", "SELECT 'OK' AS status"),
        ("retired_check", "@daily", "SELECT 'OK' AS status"),
    )
    after = alerts(
        ("fresh_check", "@hourly", "SELECT 'OK' AS status"),
        ("nightly_report", "30 3 * * *", "SELECT 'OK' AS status"),
        ("orders_backlog", "*/5 * * * *", "SELECT 'ALERT' AS status"),
    )
    assert diff_snapshots(before, after).lines() == lines_of(text("compose-watch-diff"))


@pytest.mark.airflow
def test_compose_api_connection_is_what_the_reparse_reads() -> None:
    from airflow.sdk import Connection

    from sqlsentinel_airflow.dags.reparse import api_base_url

    assignment = text("compose-api-connection").strip()
    done = run_shell(
        f'{assignment}\nprintf %s "$AIRFLOW_CONN_SQLSENTINEL_AIRFLOW_API"',
        cwd=REPO,
        env=docs_env(REPO / ".x"),
    )
    data = json.loads(done.stdout)
    conn = Connection(conn_id="sqlsentinel_airflow_api", **data)
    assert conn.conn_type == "http"
    assert api_base_url(conn.host, conn.schema, conn.port) == "http://airflow-apiserver:8080"
    assert conn.login == "admin" and conn.password == "..."


def test_bench_reproduce_commands() -> None:
    """Full runs take ~11 minutes and `bench/run_all --quick` is run by
    tests/integration/test_benchmarks_quick.py; here: each command's program exists and
    accepts the flags the page passes."""
    commands = [c.split("#", 1)[0].strip() for c in commands_of(text("bench-reproduce"))]
    assert commands[0] == ".venv/bin/pip install dag-factory"
    assert commands[1].startswith("python3 -m venv bench/.peer-venv && ")
    assert commands[1].endswith(
        "bench/.peer-venv/bin/pip install sqlsentinel==0.1.0 psycopg2-binary"
    )
    for command in commands[2:]:
        program, *args = command.split()
        if program == "bench/run_all":
            script = (REPO / program).read_text(encoding="utf-8")
            assert (REPO / program).stat().st_mode & 0o111
            for flag in args:
                assert f'"{flag}"' in script, f"bench/run_all does not handle {flag}"
            continue
        assert program == ".venv/bin/python" and args[0] == "-m"
        module, flags = args[1], [a for a in args[2:] if a.startswith("--")]
        assert_module_takes(module, flags)
