"""A blocking line-protocol client session: connect with retries, ask, vote idempotently, close.

Library code for lab.client (and anything else that talks to the server one request at a time).
"""
from __future__ import annotations

import socket
import time
import uuid
from dataclasses import dataclass

from lab.errors import ConnectionDropped, ServerUnreachable

MAX_REPLY = 1 << 20   # bytes in one reply line; the server's replies are far shorter


@dataclass(frozen=True)
class ClientConfig:
    host: str = "reqresp-server"
    port: int = 2222
    retries: int = 5           # extra attempts after the first, for connecting and for votes
    backoff: float = 0.2       # first wait between attempts, doubled each time (capped at 2 s)
    timeout: float = 5.0       # seconds to wait for a connection or a reply


def new_vote_id() -> str:
    return uuid.uuid4().hex[:16]


class Session:
    """One conversation with the server; reconnects only where a resend cannot double count."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.sock: socket.socket | None = None
        self._buf = b""
        self.connections = 0       # how many times we connected (a retried vote reconnects)

    def connect(self) -> None:
        cfg = self.config
        attempts = cfg.retries + 1
        why = ""
        for attempt in range(attempts):
            if attempt:
                time.sleep(min(cfg.backoff * 2 ** (attempt - 1), 2.0))
            try:
                self.sock = socket.create_connection((cfg.host, cfg.port), timeout=cfg.timeout)
            except socket.gaierror as exc:
                why = f"unknown host: {exc.strerror}"
            except OSError as exc:
                why = exc.strerror or str(exc) or type(exc).__name__
            else:
                self._buf = b""
                self.connections += 1
                return
        raise ServerUnreachable(cfg.host, cfg.port, attempts, why)

    def ask(self, message: str) -> str:
        """Send one message and return the server's one-line reply (without its newline)."""
        if self.sock is None:
            self.connect()
        try:
            self.sock.sendall(message.encode() + b"\n")
            return self._read_line()
        except EOFError:
            self._drop()
            raise ConnectionDropped(self.config.host, self.config.port, message,
                                    "closed the connection") from None
        except socket.timeout:
            self._drop()
            raise ConnectionDropped(self.config.host, self.config.port, message,
                                    f"sent no reply within {self.config.timeout:g} s") from None
        except OSError as exc:
            self._drop()
            raise ConnectionDropped(self.config.host, self.config.port, message,
                                    f"reset the connection ({exc.strerror or exc})") from None

    def ask_again_if_dropped(self, message: str) -> str:
        """ask(), and once more on a fresh connection if the old one was dropped (e.g. idle timeout).

        Only for messages that are safe to send twice (echo, RESULTS, votes with an id).
        """
        try:
            return self.ask(message)
        except ConnectionDropped:
            return self.ask(message)

    def vote(self, option: str, vote_id: str | None = None) -> str:
        """`VOTE <option> id=<vote_id>`, resent with the same id after a timeout or a dropped
        connection, so the server counts it once however often it is sent."""
        message = f"VOTE {option} id={vote_id or new_vote_id()}"
        for attempt in range(self.config.retries + 1):
            try:
                return self.ask(message)
            except ConnectionDropped:
                if attempt == self.config.retries:
                    raise
                time.sleep(min(self.config.backoff * 2 ** attempt, 2.0))
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Send our FIN first (as the course's client does), then wait briefly for the server's."""
        if self.sock is None:
            return
        sock, self.sock = self.sock, None
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(min(self.config.timeout, 2.0))
            while sock.recv(4096):
                pass
        except OSError:
            pass
        finally:
            sock.close()

    def _read_line(self) -> str:
        while (nl := self._buf.find(b"\n")) < 0:
            if len(self._buf) > MAX_REPLY:
                raise OSError(0, "reply line too long")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self._buf += chunk
        line, self._buf = self._buf[:nl], self._buf[nl + 1:]
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def _drop(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
