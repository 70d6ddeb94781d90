"""Sensors (edge layer): ``ConfigChangeSensor``, the config watch's deferrable sensor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlsentinel_airflow.sensors.config_change import ConfigChangeSensor

__all__ = ["ConfigChangeSensor"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from sqlsentinel_airflow.sensors import config_change

        return getattr(config_change, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
