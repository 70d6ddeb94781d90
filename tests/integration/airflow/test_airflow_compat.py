"""sqlsentinel_airflow.airflow_compat on a release that lacks the task SDK's newer names.

The CI venv has Airflow 3.3; Airflow 3.1 is simulated in a fresh interpreter by removing what
3.1 does not have (``airflow.sdk.configuration``, two names of ``airflow.sdk.exceptions``)
before the module is imported. scripts/matrix runs the real 3.1 (tests/compat).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.airflow

AS_ON_3_1 = textwrap.dedent(
    """
    import sys
    import airflow.sdk.exceptions as sdk_exceptions

    class No31Module:
        def find_spec(self, name, path=None, target=None):
            if name == "airflow.sdk.configuration":
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.modules.pop("airflow.sdk.configuration", None)
    sys.meta_path.insert(0, No31Module())
    # On 3.3 airflow.exceptions forwards these names to the task SDK; on 3.1 it defines them.
    import airflow.exceptions
    for name in ("AirflowNotFoundException", "AirflowFailException"):
        setattr(airflow.exceptions, name, getattr(sdk_exceptions, name))
        delattr(sdk_exceptions, name)

    import airflow.configuration
    from sqlsentinel_airflow import airflow_compat

    assert airflow_compat.airflow_conf() is airflow.configuration.conf
    assert airflow_compat.AirflowNotFoundException is airflow.exceptions.AirflowNotFoundException
    assert airflow_compat.AirflowFailException is airflow.exceptions.AirflowFailException
    print("fallbacks used")
    """
)


def test_names_missing_from_the_task_sdk_come_from_their_older_home() -> None:
    done = subprocess.run(
        [sys.executable, "-c", AS_ON_3_1], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("fallbacks used")


def test_the_task_sdk_names_are_used_where_they_exist() -> None:
    import airflow.sdk.exceptions as sdk_exceptions
    from airflow.sdk.configuration import conf

    from sqlsentinel_airflow import airflow_compat

    assert airflow_compat.airflow_conf() is conf
    assert airflow_compat.AirflowNotFoundException is sdk_exceptions.AirflowNotFoundException
    assert airflow_compat.AirflowFailException is sdk_exceptions.AirflowFailException


def test_mask_in_task_logs_registers_what_core_redact_would_mask(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The one wrapper of Airflow's masker: the values reach Airflow's task-log masker, and
    values under core.redact's minimum length are skipped for every caller alike."""
    from airflow.sdk._shared.secrets_masker.secrets_masker import _secrets_masker

    from sqlsentinel_airflow.airflow_compat import mask_in_task_logs

    masker = _secrets_masker()
    monkeypatch.setattr(masker, "min_length_to_mask", 1)  # only our rule decides here
    mask_in_task_logs("tLogSecret-9xQ", "qz7", None, "")
    assert masker.redact("x tLogSecret-9xQ y") == "x *** y"
    assert masker.redact("code qz7") == "code qz7"
