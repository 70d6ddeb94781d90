"""docs/ci.md: the GitHub Actions workflow's `run:` steps and the pre-commit hooks' entries,
run in a temporary repository on a valid and on a broken alerts file.

Not run here: `actions/checkout` and `actions/setup-python` (GitHub's actions; the
temporary repository and this venv stand in for them), and the install step's `pip install`
(no network to the constraints file; the test checks the pinned distributions it names are
the ones installed). pre-commit itself is not installed: each hook's `entry` is run the way
pre-commit runs a `language: system` hook (entry + the matching file names), and its `files`
pattern is checked with Python's `re`, which pre-commit uses.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from docs_site_support import docs_env, lines_of
from docs_snippets import text

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]

_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\S+ \[\w+\s*\] ")
WORKSPACE_VAR = "${{ github.workspace }}"
SECRET_VAR = "${{ secrets.AIRFLOW_CONN_WAREHOUSE }}"


def _repo(tmp_path: Path, reader_url: str, alerts_yaml: str) -> tuple[Path, dict[str, str]]:
    """A repository like the page assumes: dags/ with the alerts, ci/check_dag_bag.py."""
    repo = tmp_path / "repo"
    (repo / "dags").mkdir(parents=True)
    (repo / "ci").mkdir()
    (repo / "dags" / "alerts.yaml").write_text(alerts_yaml, encoding="utf-8")
    (repo / "dags" / "sqlsentinel_alerts.py").write_text(
        text("quickstart-dag-file"), encoding="utf-8"
    )
    (repo / "ci" / "check_dag_bag.py").write_text(text("ci-check-dag-bag"), encoding="utf-8")
    # the alert's rule tests, as docs/rule-tests.md writes them
    (repo / "dags" / "alerts.test.yaml").write_text(text("rule-tests-example"), encoding="utf-8")
    (repo / "dags" / "fixtures").mkdir()
    (repo / "dags" / "fixtures" / "orders.csv").write_text(
        text("rule-tests-orders-csv"), encoding="utf-8"
    )
    url = sa.engine.make_url(reader_url)  # a read-only login, as docs/security.md sets up
    secret = f"postgresql://{url.username}:{url.password}@{url.host}:{url.port}/{url.database}"
    return repo, {"secret": secret}


def _run(command: str, repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=180,
    )


def _workflow() -> dict:
    return yaml.safe_load(text("ci-github-actions"))


def _job_env(repo: Path, secret: str, step: dict) -> dict[str, str]:
    job = _workflow()["jobs"]["validate"]
    values = {**job.get("env", {}), **step.get("env", {})}
    resolved = {
        k: str(v).replace(WORKSPACE_VAR, str(repo)).replace(SECRET_VAR, secret)
        for k, v in values.items()
    }
    for value in resolved.values():
        assert "${{" not in value, f"unresolved expression in {value!r}"
    return docs_env(Path(resolved["AIRFLOW_HOME"]), resolved)


def _orders_table(pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(text("quickstart-orders-sql"))
    finally:
        engine.dispose()


def test_workflow_shape() -> None:
    wf = _workflow()
    triggers = wf[True]  # YAML 1.1 (PyYAML) reads the key `on` as true; GitHub reads "on"
    assert set(triggers) == {"pull_request", "push"}
    steps = wf["jobs"]["validate"]["steps"]
    assert [s["uses"] for s in steps if "uses" in s] == [
        "actions/checkout@v4",
        "actions/setup-python@v5",
    ]
    install = next(s["run"] for s in steps if s.get("name", "").startswith("Install"))
    args = shlex.split(install)
    assert args[:2] == ["pip", "install"]
    # The pinned Airflow is the one this suite runs on; the package is the one installed.
    assert f"apache-airflow=={version('apache-airflow')}" in args
    assert "sqlsentinel-airflow[postgres,ruletest]" in args
    version("sqlsentinel-airflow")
    version("apache-airflow-providers-postgres")  # the [postgres] extra
    version("duckdb")  # the [ruletest] extra
    constraint = args[args.index("--constraint") + 1]
    assert f"constraints-{version('apache-airflow')}/" in constraint


def test_workflow_run_steps_pass_on_a_valid_file_and_fail_on_a_broken_one(
    tmp_path: Path, pg_url: str, pg_reader_url: str
) -> None:
    _orders_table(pg_url)
    repo, values = _repo(tmp_path, pg_reader_url, text("quickstart-alerts-yaml"))
    steps = [
        s
        for s in _workflow()["jobs"]["validate"]["steps"]
        if "run" in s and not s["name"].startswith("Install")
    ]
    assert [s["run"] for s in steps] == [
        "sqlsentinel validate --check-connections dags/alerts.yaml",
        "sqlsentinel test dags/alerts.test.yaml --junit rule-tests.xml",
        "python ci/check_dag_bag.py dags",
    ]
    validate, rule_tests, dag_bag = steps

    done = _run(validate["run"], repo, _job_env(repo, values["secret"], validate))
    assert done.returncode == 0, done.stdout
    assert done.stdout.strip() == "dags/alerts.yaml: OK, 1 alert (connections checked)"
    assert values["secret"] not in done.stdout
    done = _run(rule_tests["run"], repo, _job_env(repo, values["secret"], rule_tests))
    assert done.returncode == 0, done.stdout
    assert done.stdout.strip().endswith("2 tests: 2 passed, 0 failed, 0 errors")
    assert 'failures="0"' in (repo / "rule-tests.xml").read_text()
    done = _run(dag_bag["run"], repo, _job_env(repo, values["secret"], dag_bag))
    assert done.returncode == 0, done.stdout
    assert done.stdout.strip().endswith("2 DAGs, no import errors")  # alert + config watch

    # The broken file of the page: the validate step shows exactly the page's output.
    (repo / "dags" / "alerts.yaml").write_text(text("ci-broken-alert"), encoding="utf-8")
    done = _run(validate["run"], repo, _job_env(repo, values["secret"], validate))
    assert done.returncode == 2
    assert lines_of(done.stdout) == lines_of(text("ci-validate-broken-output"))
    done = _run(rule_tests["run"], repo, _job_env(repo, values["secret"], rule_tests))
    assert done.returncode == 2, done.stdout  # the tests' alerts file is invalid
    assert "did you mean `renotify_after`?" in done.stdout
    # On a fresh runner (no earlier parse): the page's output, after Airflow's log lines.
    fresh = _job_env(repo, values["secret"], dag_bag)
    fresh = docs_env(
        tmp_path / "fresh-home", {**fresh, "AIRFLOW_HOME": str(tmp_path / "fresh-home")}
    )
    done = _run(dag_bag["run"], repo, fresh)
    assert done.returncode == 1
    printed = [line for line in lines_of(done.stdout) if not _LOG_LINE.match(line)]
    assert printed[-2:] == lines_of(text("ci-dag-bag-broken-output")), done.stdout


def test_pre_commit_hooks(tmp_path: Path, pg_reader_url: str) -> None:
    config = yaml.safe_load(text("ci-pre-commit"))
    (local,) = config["repos"]
    assert local["repo"] == "local"
    hooks = {h["id"]: h for h in local["hooks"]}
    assert set(hooks) == {
        "sqlsentinel-validate",
        "sqlsentinel-test",
        "sqlsentinel-check-connections",
    }
    for hook in hooks.values():
        assert hook["language"] == "system"
    for hook in (hooks["sqlsentinel-validate"], hooks["sqlsentinel-check-connections"]):
        files, exclude = re.compile(hook["files"]), re.compile(hook["exclude"])

        def picked(
            name: str, files: re.Pattern[str] = files, exclude: re.Pattern[str] = exclude
        ) -> bool:
            return bool(files.search(name)) and not exclude.search(name)

        assert picked("dags/alerts.yaml") and picked("alerts.yml")
        assert picked("dags/team/alerts-finance.yaml")
        assert not picked("dags/sql/stuck_orders.sql")
        assert not picked("dags/sqlsentinel_alerts.py")
        assert not picked("dags/alerts.test.yaml")  # a test file, not an alerts file
    assert hooks["sqlsentinel-check-connections"]["stages"] == ["manual"]
    tests_hook = hooks["sqlsentinel-test"]
    assert tests_hook["pass_filenames"] is False
    for name in ("dags/alerts.yaml", "dags/alerts.test.yaml", "dags/fixtures/orders.csv"):
        assert re.compile(tests_hook["files"]).search(name)

    repo, values = _repo(tmp_path, pg_reader_url, text("quickstart-alerts-yaml"))
    env = docs_env(repo / ".airflow", {"AIRFLOW_CONN_WAREHOUSE": values["secret"]})
    # What the connection check adds: the database has no `orders` table yet -> refused.
    check = hooks["sqlsentinel-check-connections"]["entry"]
    done = _run(f"{check} dags/alerts.yaml", repo, env)
    assert done.returncode == 2, done.stdout
    assert "dags/alerts.yaml:8 alerts[0].query: connection check failed" in done.stdout
    assert 'relation "orders" does not exist' in done.stdout
    # With the table, it is the workflow's validate step, which passes there.
    step = _workflow()["jobs"]["validate"]["steps"][3]
    assert f"{check} dags/alerts.yaml" == step["run"]
    # pre-commit runs: entry + the staged files that match `files`
    done = _run(f"{hooks['sqlsentinel-validate']['entry']} dags/alerts.yaml", repo, env)
    assert done.returncode == 0, done.stdout
    assert done.stdout.strip() == "dags/alerts.yaml: OK, 1 alert"
    # the rule-test hook: offline (no connection needed), the whole example passes
    offline = docs_env(repo / ".airflow", {})
    done = _run(tests_hook["entry"], repo, offline)
    assert done.returncode == 0, done.stdout
    assert done.stdout.strip().endswith("2 tests: 2 passed, 0 failed, 0 errors")
    (repo / "dags" / "alerts.yaml").write_text(text("ci-broken-alert"), encoding="utf-8")
    done = _run(f"{hooks['sqlsentinel-validate']['entry']} dags/alerts.yaml", repo, env)
    assert done.returncode == 2  # the commit is refused
    assert "did you mean `renotify_after`?" in done.stdout
