"""Email through the smtp provider's ``SmtpHook``: a plain-text and an HTML part, to and cc.

``SmtpHook.send_email_smtp`` builds a message with an HTML part only. Mail clients that
show plain text, and spam filters, want both, so the hook is subclassed to add the text part
beside the HTML one in a ``multipart/alternative`` message (text first, HTML preferred);
everything else (login, TLS, ``from_email`` from the connection, retries) stays the
provider's. The connection is ``conn_id`` (default ``smtp_default``).

Each message carries ``Message-ID`` derived from the outbox row's idempotency key and an
``X-SQLSentinel-Idempotency-Key`` header, so a re-delivery after a crash is recognisable.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import socket
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

from sqlsentinel_airflow.core.actionlinks import ActionLinkError, action_key
from sqlsentinel_airflow.core.config.models import EmailChannel
from sqlsentinel_airflow.errors import DeliveryError
from sqlsentinel_airflow.notify.actionlinks import ActionLinkMinter, ack_link_wanted
from sqlsentinel_airflow.notify.base import Channel, OutboundEvent
from sqlsentinel_airflow.notify.templates import Rendered, message_context, render_part

__all__ = ["EmailSender", "render_email"]

log = logging.getLogger(__name__)


def render_email(
    channel: EmailChannel,
    event: OutboundEvent,
    sender: Channel[Any],
    *,
    strict: bool = False,
    ack_url: str | None = None,
) -> tuple[str, str, str, list[str]]:
    """(subject, text, html, template problems) of ``event`` for ``channel``; ``ack_url``:
    the message's Acknowledge link (``notify/actionlinks.py``), when it has one."""
    context = message_context(event.payload)
    if ack_url:
        context["ack_url"] = ack_url
    parts: list[Rendered] = [
        render_part(
            "subject",
            context,
            channel_template=channel.subject,
            templates=sender.templates,
            strict=strict,
        ),
        render_part(
            "text",
            context,
            channel_template=channel.text,
            templates=sender.templates,
            strict=strict,
        ),
        render_part(
            "html",
            context,
            channel_template=channel.html,
            templates=sender.templates,
            strict=strict,
        ),
    ]
    problems = [p.problem for p in parts if p.problem]
    return parts[0].text, parts[1].text, parts[2].text, problems


class EmailSender(Channel[EmailChannel]):
    """An ``email`` channel: SmtpHook over the ``conn_id`` connection."""

    kind = "email"
    config_type = EmailChannel
    required = (("to",), ("conn_id",))

    _minter: ActionLinkMinter | None = None

    def offer_action_links(self, minter: ActionLinkMinter) -> None:
        self._minter = minter

    def describe(self) -> str:
        return f"email to {len(self.config.to) + len(self.config.cc)} recipient(s) via connection '{self.config.conn_id}'"

    def deliver(self, event: OutboundEvent) -> None:
        subject, text, html, problems = render_email(
            self.config, event, self, strict=self.strict_templates, ack_url=self._ack_url(event)
        )
        for problem in problems:
            log.warning("email for alert %s: %s", event.alert_name, self.redactor(problem))
        self.connection(self.config.conn_id, purpose="SMTP")  # a clear error if it is missing
        hook_class = _text_and_html_hook()
        headers = {
            "Message-ID": f"<{_message_id(event.idempotency_key)}@sqlsentinel>",
            "X-SQLSentinel-Idempotency-Key": event.idempotency_key,
            "X-SQLSentinel-Event": event.kind,
        }
        try:
            with hook_class(smtp_conn_id=self.config.conn_id, plain_text=text) as hook:
                hook.send_email_smtp(
                    to=list(self.config.to),
                    cc=list(self.config.cc) or None,
                    bcc=list(self.config.bcc) or None,
                    subject=subject,
                    html_content=html,
                    from_email=self.config.from_email,
                    mime_subtype="alternative",
                    custom_headers=headers,
                )
        except smtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(sorted(exc.recipients))
            raise DeliveryError(
                f"the SMTP server refused every recipient ({refused})", recoverable=False
            ) from None
        except smtplib.SMTPResponseException as exc:
            reply = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            raise DeliveryError(
                f"SMTP server replied {exc.smtp_code}: {reply}",
                recoverable=exc.smtp_code < 500,
            ) from None

    def _ack_url(self, event: OutboundEvent) -> str | None:
        """The Acknowledge link of this message, minted now (None: it carries none). A link
        that cannot be made (its connection is missing, its key too short) leaves the
        message without it, with a warning: the alert still goes out."""
        minter = self._minter
        if minter is None or not ack_link_wanted(event.payload):
            return None
        conn_id = minter.settings.conn_id
        try:
            conn = self.connection(conn_id, purpose="action links")
            key = action_key(conn.password, conn_id)
        except (DeliveryError, ActionLinkError) as exc:
            log.warning(
                "email for alert %s goes out without its Acknowledge link: %s",
                event.alert_name,
                self.redactor(str(exc)),
            )
            return None
        recipients = ", ".join((*self.config.to, *self.config.cc))
        url = minter.ack_url(event.payload, key=key, recipients=recipients)
        if url is not None:
            from sqlsentinel_airflow.airflow_compat import mask_in_task_logs

            token = url.rsplit("#t=", 1)[-1]
            self.redactor.add(token)  # an error text never shows it
            mask_in_task_logs(token)
        return url

    def is_recoverable(self, exc: BaseException) -> bool:
        if isinstance(exc, (OSError, socket.timeout, smtplib.SMTPServerDisconnected)):
            return True
        # the provider says "You should provide `from_email` ...": only a config change helps
        return "You should provide" not in str(exc)


def _message_id(idempotency_key: str) -> str:
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


_HOOK_CLASS: type[Any] | None = None


def _text_and_html_hook() -> type[Any]:
    """``SmtpHook`` whose messages carry a text/plain part before the text/html part."""
    global _HOOK_CLASS
    if _HOOK_CLASS is not None:
        return _HOOK_CLASS
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    class TextAndHtmlSmtpHook(SmtpHook):  # type: ignore[misc]
        def __init__(self, *, smtp_conn_id: str, plain_text: str) -> None:
            super().__init__(smtp_conn_id=smtp_conn_id)
            self._plain_text = plain_text

        def _build_mime_message(self, *args: Any, **kwargs: Any) -> tuple[MIMEMultipart, list[str]]:
            msg, recipients = super()._build_mime_message(*args, **kwargs)
            charset = kwargs.get("mime_charset", "utf-8")
            parts = msg.get_payload()
            msg.set_payload([MIMEText(self._plain_text, "plain", charset), *parts])
            return msg, recipients

    _HOOK_CLASS = TextAndHtmlSmtpHook
    return _HOOK_CLASS
