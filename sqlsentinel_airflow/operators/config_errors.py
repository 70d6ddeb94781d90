"""``ConfigErrorOperator``: the task of a placeholder DAG and of the config-errors DAG.

It fails with the configuration errors it carries, without retry, so a broken alert is a red
task in the UI rather than a silent one (docs/adr/0003-broken-alerts-in-the-ui.md). The DAGs
are built by ``dags/placeholder.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

__all__ = ["ConfigErrorOperator"]

log = logging.getLogger(__name__)


class ConfigErrorOperator(BaseOperator):
    """Fails with the configuration errors it carries: a broken alert is red, never silent."""

    ui_color = "#f8d7da"
    template_fields: Sequence[str] = ()

    def __init__(self, *, messages: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.messages = tuple(messages)

    def execute(self, context: Any) -> None:
        from sqlsentinel_airflow.airflow_compat import AirflowFailException

        for message in self.messages:
            log.error("%s", message)
        # Retrying cannot fix a configuration file: fail without retries.
        raise AirflowFailException("invalid alerts configuration:\n" + "\n".join(self.messages))
