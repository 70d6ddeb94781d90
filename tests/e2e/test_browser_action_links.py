"""Acknowledging in a real browser: from the alert's tab, and from the link in a real email.

``table_loads`` (ui_browser.ALERTS_YAML, seeded all OK) is made to fire for ``customers`` and
``orders`` through the real engine. The firing of ``customers`` is sent by email, by the
real email sender, to an SMTP server on loopback: its Acknowledge link is minted with the
key of ``e2e_action_links``, the connection ``action_links`` names (the api-server has it
too). Then, as a user: acknowledge ``orders`` on the tab; open the email's link while logged
out, log in through Airflow's login page, come back to the link's page, confirm; see both
acknowledgements in the list, the tab and the incidents' timeline; the link again says it
was used. The state database is the judge. Left as found: every instance OK again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_receivers import MailReceiver
from ui_browser import (
    ACTION_LINKS_CONN,
    ACTION_LINKS_KEY,
    PASSWORD,
    TABLE_LOADS,
    TABLE_LOADS_COLUMNS,
    Server,
    shot,
    table_loads_rows,
)

from sqlsentinel_airflow.core.result import instance_key

pytestmark = pytest.mark.e2e

CUSTOMERS = instance_key(["table_name"], {"table_name": "customers"})
ORDERS = instance_key(["table_name"], {"table_name": "orders"})
LINK = re.compile(r"Acknowledge \(opens a page to confirm\): (\S+)")


def _rows(customers_age: float, orders_age: float) -> list[list[Any]]:
    rows = table_loads_rows(customers_age)
    orders = rows[1]
    orders[1:3] = ["ALERT" if orders_age > 24 else "OK", orders_age]
    return rows


def _evaluate_and_mail(server: Server, customers_age: float, orders_age: float) -> None:
    """One evaluation of ``table_loads``, its events sent by email (a copy of the alert with
    an email channel: in the file it notifies nobody) by the real sender."""
    from sqlsentinel_airflow.core.config import load_config
    from sqlsentinel_airflow.core.config.models import EmailChannel
    from sqlsentinel_airflow.core.model import RunType
    from sqlsentinel_airflow.evaluation import evaluate_alert
    from sqlsentinel_airflow.notify.delivery import deliver_pending
    from sqlsentinel_airflow.store import StateStore

    config = load_config(str(server.dags / "alerts.yaml")).config
    assert config is not None
    alert = config.alert("table_loads")
    assert alert.action_links is not None
    alert = alert.model_copy(
        update={"notify": (EmailChannel(channel="email", recipients=("oncall@example.com",)),)}
    )

    class Rows:
        columns = TABLE_LOADS_COLUMNS
        rows = _rows(customers_age, orders_age)

    store = StateStore.connect(server.state_url)
    try:
        evaluate_alert(alert, fetch=Rows, store=store, run_type=RunType.MANUAL)
        assert deliver_pending(alert, store).complete
    finally:
        store.dispose()


@pytest.fixture
def firing(ui_server: Server, mail: MailReceiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``customers`` fires (its email sent, with a link), then ``orders`` too; the link."""
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", mail.conn_json())
    monkeypatch.setenv(ACTION_LINKS_CONN, ui_server.env[ACTION_LINKS_CONN])
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", ui_server.base_url)
    before = len(mail.mails)
    _evaluate_and_mail(ui_server, 30.5, 3)
    _evaluate_and_mail(ui_server, 31.5, 26)
    try:
        sent = mail.mails[before:]
        assert [m.subject for m in sent] == [
            "[WARNING] FIRING: table_loads [table_name=customers]",
            "[WARNING] FIRING: table_loads [table_name=orders]",
        ]
        found = LINK.search(sent[0].text)
        assert found is not None, sent[0].text
        yield found.group(1)
    finally:
        _evaluate_and_mail(ui_server, 3, 3)  # as found: every instance OK (acks end with it)


def _state(server: Server, key: str) -> Any:
    from sqlsentinel_airflow.store import StateStore

    store = StateStore.connect(server.state_url)
    try:
        return next(s for s in store.list_states("table_loads") if s.instance_key == key)
    finally:
        store.dispose()


def test_acknowledge_from_the_tab_and_from_an_email_link(
    ui_server: Server, browser: Any, firing: str
) -> None:
    link = firing
    assert link.startswith(f"{ui_server.base_url}/sqlsentinel/ui/action#t=")
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 860}, color_scheme="light")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url + " " + (r.headers.get("referer") or "")))
    try:
        # --- the email's link, logged out: what it is for, and a way to log in
        page.goto(link)
        page.locator("a[data-role='login']").wait_for(timeout=30_000)
        assert "#t=" not in page.url  # the token left the address bar (and the history)
        shot(page, "ui-action-link-login")
        page.locator("a[data-role='login']").click()
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/sqlsentinel/ui/action", timeout=30_000)
        confirm = page.locator("button[data-role='confirm']")
        confirm.wait_for(timeout=30_000)  # back on the page, the token kept in this tab
        assert page.locator("[data-role='alert']").inner_text() == "table_loads"
        assert page.locator("[data-role='instance']").inner_text() == "table_name=customers"
        assert not _state(ui_server, CUSTOMERS).acknowledged  # opening the page changed nothing
        page.locator("#ack-comment").fill("reloading customers")
        shot(page, "ui-action-link", doc=True)
        confirm.click()
        page.locator("[data-role='done']").wait_for()
        assert page.locator("[data-role='done']").inner_text() == "Acknowledged by admin."
        customers = _state(ui_server, CUSTOMERS)
        assert (customers.acked_by, customers.ack_source, customers.ack_comment) == (
            "admin",
            "email",
            "reloading customers",
        )
        assert not _state(ui_server, ORDERS).acknowledged

        # --- the tab: orders acknowledged from its row
        page.goto(f"{ui_server.base_url}/dags/{TABLE_LOADS}/plugin/sqlsentinel-alert")
        frame = page.frame_locator("iframe[src*='sqlsentinel/ui/']")
        row = frame.locator(f"#instances tr[data-instance-key='{ORDERS}']")
        row.wait_for(timeout=30_000)
        done = frame.locator(f"#instances tr[data-instance-key='{CUSTOMERS}'] [data-role='ack']")
        assert done.inner_text() == "acknowledged by admin"
        assert "from an email link" in (done.get_attribute("title") or "")
        row.locator("button[data-action='ack-instance']").click()
        dialog = frame.locator("dialog[open]")
        assert dialog.locator("h2").inner_text() == "Acknowledge table_name=orders of table_loads"
        dialog.locator("#ack-comment").fill("orders load rerun at 14:00")
        dialog.locator("button[data-action='confirm-ack']").click()
        frame.locator(f"#instances tr[data-instance-key='{ORDERS}'][data-acked='true']").wait_for()
        orders = _state(ui_server, ORDERS)
        assert (orders.acked_by, orders.ack_source, orders.ack_comment) == (
            "admin",
            "ui",
            "orders load rerun at 14:00",
        )
        # every firing instance acknowledged: the header offers to take it back
        frame.locator("header button[data-action='unack']").wait_for()
        timeline = frame.locator("#incidents tr.incident-timeline")
        assert timeline.count() == 2
        texts = " | ".join(timeline.all_inner_texts())
        assert "acknowledged by admin (email): reloading customers" in texts
        assert "acknowledged by admin (ui): orders load rerun at 14:00" in texts
        shot(page, "ui-acknowledged", full_page=True, doc=True)

        # --- the list: who is on it, and the row's action
        page.goto(f"{ui_server.base_url}/plugin/sqlsentinel")
        frame = page.frame_locator("iframe[src*='sqlsentinel/ui/']")
        listed = frame.locator(f"tr[data-dag-id='{TABLE_LOADS}']")
        listed.wait_for(timeout=30_000)
        assert listed.locator("[data-role='ack']").inner_text() == "Acknowledged by admin"
        assert listed.locator("button[data-action='unack']").count() == 1
        listed.scroll_into_view_if_needed()
        shot(page, "ui-acknowledged-list", doc=True)

        # --- the link works once
        page.goto(link)
        page.get_by_text("This link was used already.").wait_for(timeout=30_000)
        assert "Used by admin" in page.locator("main").inner_text()

        # --- take one back from the tab
        page.goto(f"{ui_server.base_url}/dags/{TABLE_LOADS}/plugin/sqlsentinel-alert")
        frame = page.frame_locator("iframe[src*='sqlsentinel/ui/']")
        frame.locator(
            f"#instances tr[data-instance-key='{ORDERS}'] button[data-action='unack-instance']"
        ).click()
        frame.locator(f"#instances tr[data-instance-key='{ORDERS}'][data-acked='false']").wait_for()
        assert not _state(ui_server, ORDERS).acknowledged
        assert _state(ui_server, CUSTOMERS).acknowledged
    finally:
        context.close()
    assert problems == []
    # the token never went to the server in a URL or a Referer
    token = link.split("#t=", 1)[1]
    assert not [r for r in requests if token in r or token[:40] in r]
    assert ACTION_LINKS_KEY not in ui_server.log.read_text()
    assert token not in ui_server.log.read_text()
