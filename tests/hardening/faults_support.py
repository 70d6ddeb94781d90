"""Fault injection for the failing-database suite: a TCP proxy we own, in front of the real
PostgreSQL / MariaDB, and helpers to find and disturb the alert's query from a second session.

The shared database servers are never stopped or reconfigured (other sessions use them);
every fault is made with something the test starts and stops itself:

- ``FaultProxy.down()`` closes the listening port (new connections are refused) and cuts the
  open ones, which is what a client sees when the server restarts; ``up()`` listens again on
  the same port.
- ``FaultProxy.cut()`` resets the open connections only (a crash of the backends).
- ``FaultProxy.stall()`` keeps accepting and keeps connections open but forwards nothing (a
  network partition or a hung server); ``resume()`` ends it.
- ``FaultProxy.down_after_commit()`` arms a one-shot fault: the first ``COMMIT`` a client sends
  after writing ``trigger`` (e.g. an outbox insert) reaches the server and its answer reaches
  the client, then the proxy goes down: "the state DB dropped after the commit". With
  ``answer=False`` the answer is dropped instead: committed, but the client cannot know.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any


class FaultProxy:
    """A threaded TCP proxy on 127.0.0.1 in front of ``target_port``, with scripted faults."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._listener: socket.socket | None = None
        self._stalled = threading.Event()
        self._closed = False
        self._armed: bytes | None = None  # down_after_commit trigger
        self._answer_commit = True  # down_after_commit: forward the COMMIT's answer first?
        self._armed_seen: set[int] = set()  # ids of client sockets that sent the trigger
        self.accepted = 0
        self.port = 0
        self.events: list[str] = []
        self.up()

    # -- control ---------------------------------------------------------------------------

    def up(self) -> None:
        """Listen (again, on the same port once one was chosen)."""
        with self._lock:
            if self._listener is not None:
                return
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self.port))
            sock.listen(64)
            self.port = int(sock.getsockname()[1])
            self._listener = sock
            self.events.append("up")
        threading.Thread(target=self._accept_loop, args=(sock,), daemon=True).start()

    def down(self) -> None:
        """Refuse new connections and cut the open ones (a server restart, seen by clients)."""
        with self._lock:
            listener, self._listener = self._listener, None
            self.events.append("down")
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        self.cut()

    def cut(self) -> int:
        """Reset every open connection (both sides); returns how many were cut."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
            self.events.append(f"cut {len(pairs)}")
        for client, server in pairs:
            for sock in (client, server):
                _reset(sock)
        return len(pairs)

    def stall(self) -> None:
        """Forward nothing from now on (connections stay open, new ones are accepted)."""
        self._stalled.set()
        self.events.append("stall")

    def resume(self) -> None:
        self._stalled.clear()
        self.events.append("resume")

    def down_after_commit(self, trigger: bytes, *, answer: bool = True) -> None:
        """Go down right after the first COMMIT on a connection that sent ``trigger``.

        With ``answer`` the server's answer to the COMMIT reaches the client first; without
        it the server has committed but the client never hears so (the answer is lost).
        """
        with self._lock:
            self._armed = trigger
            self._answer_commit = answer
            self._armed_seen.clear()

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    def close(self) -> None:
        self._closed = True
        self._stalled.clear()
        self.down()

    # -- plumbing ----------------------------------------------------------------------------

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by down()
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                if self._listener is not listener:  # went down meanwhile
                    _reset(client)
                    _reset(server)
                    return
                self._pairs.append((client, server))
                self.accepted += 1
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        client = src if from_client else dst
        tail = b""
        while True:
            try:
                ready, _, _ = select.select([src], [], [], 0.05)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            while self._stalled.is_set() and not self._closed:
                time.sleep(0.02)
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                self._drop(src, dst)
                return
            armed = self._armed
            if from_client and armed is not None:
                window = tail + data
                if armed in window:
                    self._armed_seen.add(id(client))
                tail = window[-len(armed) :]
            commit_answer = (
                not from_client
                and armed is not None
                and id(client) in self._armed_seen
                and b"COMMIT\x00" in data
            )
            if commit_answer and not self._answer_commit:
                self._armed = None
                self.events.append("down before the commit answer")
                self.down()
                return
            try:
                dst.sendall(data)
            except OSError:
                self._drop(src, dst)
                return
            if commit_answer:
                self._armed = None
                self.events.append("down after commit")
                self.down()
                return

    def _drop(self, a: socket.socket, b: socket.socket) -> None:
        with self._lock:
            self._pairs = [p for p in self._pairs if a not in p and b not in p]
        for sock in (a, b):
            _reset(sock)


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0): the peer sees the connection die at once."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


@contextlib.contextmanager
def fault_proxy(target_port: int) -> Iterator[FaultProxy]:
    proxy = FaultProxy(target_port)
    try:
        yield proxy
    finally:
        proxy.close()


def wait_for(
    predicate: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or predicate}")
        time.sleep(interval)


def in_background(work: Callable[[], Any]) -> threading.Thread:
    """Run ``work`` in a daemon thread (faults injected while the task runs in this thread)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # reported by join_checked
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def join_checked(thread: threading.Thread, timeout: float = 30.0) -> None:
    thread.join(timeout)
    assert not thread.is_alive(), "the fault injector did not finish"
    errors: list[BaseException] = getattr(thread, "errors", [])
    if errors:
        raise errors[0]
