"""Triggers (edge layer, run by Airflow's triggerer).

- ``config_change``: ``ConfigChangeTrigger``, fires when an alerts file's content changes;
- ``fingerprint``: the content hashes it compares (no Airflow import).

Names are resolved lazily so importing ``sqlsentinel_airflow.triggers.fingerprint`` does not
import Airflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlsentinel_airflow.triggers.config_change import ConfigChangeTrigger

__all__ = ["ConfigChangeTrigger"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from sqlsentinel_airflow.triggers import config_change

        return getattr(config_change, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
