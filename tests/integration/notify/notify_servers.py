"""Real servers on loopback for the notify tests: an HTTP receiver and an SMTP inbox.

``HttpReceiver`` stands in for Slack's incoming-webhook API and for a webhook receiver: it
records every request (method, path, headers, exact body bytes) and answers from a script
(``fail_next(3, 500)``), so outages, rate limits and recoveries are driven from the test.
``on_request`` runs before the answer is written (returning False sends none): the crash
test kills the sender there. ``respond`` replaces the script with an answer of its own
(status and body), for a receiver that speaks an API's error bodies.
``SmtpInbox`` is an aiosmtpd server that requires AUTH LOGIN with a known password; it
answers each message with ``data_reply`` (``250 OK`` unless a test scripts a refusal).
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# The SMTP inbox credentials the notify tests use (the password doubles as a secret to audit).
SMTP_LOGIN = "mailer"
SMTP_PASSWORD = "smtp-pw-Zq81xK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None  # what the receiver answered (None: the sender died first)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class HttpReceiver:
    """A threaded HTTP server on 127.0.0.1 that records requests and answers from a script."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: list[int] = []
        self.default_status = 200
        self.delay_seconds = 0.0
        self.on_request: Callable[[Received], bool | None] | None = None
        self.respond: Callable[[Received], tuple[int, bytes]] | None = None
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                got = Received(self.command, self.path, dict(self.headers.items()), body)
                with receiver._lock:
                    receiver.requests.append(got)
                    status = receiver.script.pop(0) if receiver.script else receiver.default_status
                if receiver.on_request is not None and receiver.on_request(got) is False:
                    return  # no answer: the connection just closes
                if receiver.delay_seconds:
                    time.sleep(receiver.delay_seconds)
                answer = b"ok" if status == 200 else b"error"
                if receiver.respond is not None:
                    status, answer = receiver.respond(got)
                # the status is recorded before the answer leaves: a sender that has its
                # answer may look at `delivered` at once (it did, on a loaded machine)
                got.status = status
                try:
                    self.send_response(status)
                    if status == 429:
                        self.send_header("Retry-After", "1")
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:  # the sender is gone (crash test): nothing was answered
                    got.status = None

            do_POST = do_PUT = do_PATCH = do_GET = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def fail_next(self, count: int, status: int = 500) -> None:
        with self._lock:
            self.script.extend([status] * count)

    @property
    def delivered(self) -> list[Received]:
        """Requests that were answered with a 2xx: what the receiving side accepted."""
        return [r for r in self.requests if r.ok]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def part(self, content_type: str) -> str:
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                return str(part.get_content())
        raise AssertionError(f"no {content_type} part in {self.message['Subject']!r}")


@dataclass
class SmtpInbox:
    port: int
    login: str
    password: str
    mails: list[Mail] = field(default_factory=list)
    auth_attempts: list[tuple[str, bool]] = field(default_factory=list)
    data_reply: str = "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return self.data_reply

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.login
            and auth_data.password.decode() == self.password
        )
        self.auth_attempts.append((mechanism, ok))
        return AuthResult(success=ok, handled=False)

    def connection_json(self, **extra: Any) -> str:
        """An ``AIRFLOW_CONN_*`` value for this inbox (plain SMTP, no TLS, no retries)."""
        return json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": self.port,
                "login": self.login,
                "password": self.password,
                "extra": {
                    "disable_ssl": True,
                    "disable_tls": True,
                    "from_email": "sentinel@example.com",
                    "retry_limit": 0,
                    "timeout": 5,
                    **extra,
                },
            }
        )


@contextmanager
def smtp_inbox(login: str, password: str) -> Iterator[SmtpInbox]:
    inbox = SmtpInbox(port=free_port(), login=login, password=password)
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=inbox.port,
        authenticator=inbox.authenticate,
        auth_require_tls=False,
    )
    mail_log = logging.getLogger("mail.log")  # aiosmtpd's per-command chatter, from its thread
    level = mail_log.level
    mail_log.setLevel(logging.WARNING)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
        mail_log.setLevel(level)
