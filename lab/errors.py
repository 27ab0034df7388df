"""The lab's error tree: every error the server, client, store and load generator raise.

Each error renders as one line that says what went wrong, where, and what to do about it.
"""
from __future__ import annotations


class LabError(Exception):
    """Base of every error raised by the lab package."""


class ConfigError(LabError):
    """A bad command-line value or setting (e.g. an empty option list)."""

    def __init__(self, setting: str, value: object, why: str) -> None:
        self.setting, self.value, self.why = setting, value, why
        super().__init__(f"bad {setting} {value!r}: {why}")


class StoreError(LabError):
    """The vote store could not be opened or written."""

    def __init__(self, path: str, why: str, hint: str = "") -> None:
        self.path, self.why = path, why
        tail = f"; {hint}" if hint else ""
        super().__init__(f"vote store {path}: {why}{tail}")


class VoteIdReused(LabError):
    """A vote id (idempotency token) was sent again with a different option."""

    def __init__(self, token: str, first_option: str, option: str) -> None:
        self.token, self.first_option, self.option = token, first_option, option
        super().__init__(f"vote id '{token}' was already used for option {first_option}")


class ServerUnreachable(LabError):
    """The client could not connect to the server, even after retrying."""

    def __init__(self, host: str, port: int, attempts: int, why: str) -> None:
        self.host, self.port, self.attempts, self.why = host, port, attempts, why
        super().__init__(
            f"cannot reach server {host}:{port} after {attempts} attempt(s) ({why}); "
            f"is `python -m lab.server --port {port}` running and reachable?"
        )


class ConnectionDropped(LabError):
    """The server closed the connection or stopped answering in the middle of a conversation."""

    def __init__(self, host: str, port: int, message: str, why: str) -> None:
        self.host, self.port, self.message, self.why = host, port, message, why
        super().__init__(f"server {host}:{port} {why} while waiting for the reply to {message!r}")


class ScriptError(LabError):
    """A client script file could not be read."""

    def __init__(self, path: str, why: str) -> None:
        self.path, self.why = path, why
        super().__init__(f"cannot read script {path}: {why}")
