"""One place per concept: the census of ``scripts/concepts.py`` over the package, held at one.

A concept several edges share (a read shape, masking, the event payload, the state-DB lookup,
the run sequence, the Airflow contract, the clock) lives in one module; the edges render it.
A second module that spells one out itself fails here with the module's name: use the first
one (docs/architecture.md names it) instead of writing another.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sqlsentinel_airflow"


def _census_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("concepts", ROOT / "scripts" / "concepts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("concepts", module)
    spec.loader.exec_module(module)
    return module


CONCEPTS = _census_module()

# concept -> the modules allowed to know it (paths below the package), and why more than one
EXPECTED: dict[str, set[str]] = {
    "redaction (masking functions)": {
        "core/redact.py",
        # registers values with Airflow's own task-log masker (no rule of its own)
        "airflow_compat.py",
        # hands provider loggers (slack_sdk, HttpHook) the one Redactor
        "notify/base.py",
    },
    # the store's column mapping of its own rows, not a shape shown to people
    "read shapes (record dicts)": {"store/rows.py"},
    "event payload (built by hand)": set(),
    "state-DB lookup": {"store/locator.py"},
    "run sequence (evaluate then deliver)": {"service.py"},
    "Airflow contract literals": {"airflow_contract.py"},
    "alert definition parsed from Markdown": set(),
    "clock (datetime.now)": {"core/clock.py"},
    "timestamp format (isoformat)": {
        "core/clock.py",
        # query values keep the zone the database gave them (a naive value stays naive)
        "core/jsonvalues.py",
        # names the naive datetime it refuses, as given
        "store/tables.py",
    },
    "exit codes": {"cli/exit_codes.py"},
    "state ranking": {"core/model.py"},
    # yamlpos.Problem is a located YAML problem; dags' LoadProblem is a whole alert's
    "Problem classes": {"core/config/yamlpos.py"},
    "helper _display_name": set(),
    "helper one_line": {"core/redact.py"},
    "helper alert_doc_md": {"dags/factory.py"},
    "helper _GLOB_CHARS": {"core/config/matchers.py"},
    "operator classes outside operators/ and sensors/": set(),
}


@pytest.fixture(scope="module")
def census() -> dict[str, set[str]]:
    found = CONCEPTS.census(PACKAGE)
    prefix = PACKAGE.name + "/"
    return {name: {p.removeprefix(prefix) for p in places} for name, places in found.items()}


def test_the_census_covers_every_concept(census: dict[str, set[str]]) -> None:
    assert set(census) == set(EXPECTED)


@pytest.mark.parametrize("concept", sorted(EXPECTED))
def test_each_concept_is_known_in_one_place(census: dict[str, set[str]], concept: str) -> None:
    assert census[concept] == EXPECTED[concept], (
        f"{concept}: known in {sorted(census[concept])}, expected {sorted(EXPECTED[concept])}; "
        "use the module docs/architecture.md names instead of spelling it out again"
    )


def test_the_census_finds_a_second_place(tmp_path: Path) -> None:
    """The detectors are not blind: a module that masks, builds a payload, resolves the
    state DB and sequences a run by itself is found under each of those concepts."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "rogue.py").write_text(
        "from datetime import datetime\n"
        "EXIT_OK = 0\n"
        "def redact_secret(text): return text\n"
        "def payload(e): return {'event_id': 1, 'kind': 'x', 'alert': {}, 'instance': {}}\n"
        "def shape(s): return {'instance_key': s.k, 'last_error': s.e}\n"
        "def where(): return resolve_state_db_url(state_db=None)\n"
        "def run(a): evaluate_alert(a); deliver_pending(a)\n"
        "def now(): return datetime.now().isoformat()\n"
        "dag = DAG('x', tags=['sqlsentinel'])\n",
        encoding="utf-8",
    )
    found = {name for name, places in CONCEPTS.census(package).items() if places}
    assert found >= {
        "exit codes",
        "redaction (masking functions)",
        "event payload (built by hand)",
        "read shapes (record dicts)",
        "state-DB lookup",
        "run sequence (evaluate then deliver)",
        "clock (datetime.now)",
        "timestamp format (isoformat)",
        "Airflow contract literals",
    }
