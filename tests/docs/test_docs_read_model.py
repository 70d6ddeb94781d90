"""docs/reference/read-model.md cannot drift: it is what scripts/gen_docs_read_model.py makes
from the read model's view types right now, and the generator refuses an undocumented field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import pytest
from docs_snippets import REPO, load_script

from sqlsentinel_airflow import readmodel
from sqlsentinel_airflow.core.model import State

PAGE = REPO / "docs" / "reference" / "read-model.md"


GEN = load_script("gen_docs_read_model")


def test_committed_page_is_a_fresh_generation() -> None:
    assert PAGE.read_text(encoding="utf-8") == GEN.generate(), (
        "docs/reference/read-model.md is stale: run .venv/bin/python scripts/gen_docs_read_model.py"
    )


def test_every_view_and_field_has_a_row() -> None:
    page = PAGE.read_text(encoding="utf-8")
    for view in readmodel.VIEWS:
        section = page.split(f"\n## {view.__name__}\n", 1)[1].split("\n## ", 1)[0]
        documented = {name for name, _kind, _meaning in GEN.rows(view)}
        for name in view.__dataclass_fields__:
            assert f"\n| `{name}` |" in section, f"{view.__name__}: no row for {name}"
        assert documented == set(view.__dataclass_fields__)


@dataclass(frozen=True)
class _Undocumented(readmodel.View):
    documented: Annotated[State, "a state"]
    bare: datetime


def test_a_field_without_meaning_or_json_type_is_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("_Undocumented.bare has no meaning")):
        GEN.rows(_Undocumented)
    with pytest.raises(ValueError, match=re.escape("no JSON type for <class 'complex'>")):
        GEN.json_type(complex)


def test_types_read_as_json() -> None:
    assert GEN.json_type(State) == "one of `ok`, `pending`, `firing`, `error`, `flapping`"
    assert GEN.json_type(datetime | None) == "time (RFC 3339, UTC) or null"
    assert GEN.json_type(tuple[readmodel.SilenceView, ...]) == "list of [SilenceView](#silenceview)"
