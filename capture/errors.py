"""The capture package's error tree.

Every error renders as one line: what went wrong, on which object (interface, namespace, file,
process), and what to do about it. The CLI prints ``error: <message>`` and exits non-zero.
"""
from __future__ import annotations


class CaptureError(Exception):
    """Base of every error raised by the capture package."""


class NotRootError(CaptureError):
    """The netns backend needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and we do not have it."""

    def __init__(self, uid: int) -> None:
        self.uid = uid
        super().__init__(
            f"the netns backend needs root (running as uid {uid}): run it with sudo "
            "(sudo make capture); without root, the course's Docker commands work for any member "
            "of the docker group (README, The course's way)"
        )


class MissingToolError(CaptureError):
    """A system program the lab needs is not installed."""

    def __init__(self, tool: str, package: str) -> None:
        self.tool, self.package = tool, package
        super().__init__(
            f"{tool} is not installed: install it with 'sudo apt-get install {package}' "
            "(or run 'make tools' as root)"
        )


class InvalidNameError(CaptureError):
    """A kernel object name or a file name that breaks the names contract."""

    def __init__(self, kind: str, name: object, why: str) -> None:
        self.kind, self.name, self.why = kind, name, why
        super().__init__(f"bad {kind} name {name!r}: {why}")


class NetworkSetupError(CaptureError):
    """Building or configuring a namespace, link, bridge or qdisc failed."""

    def __init__(self, obj: str, action: str, why: object) -> None:
        self.obj, self.action, self.why = obj, action, why
        super().__init__(
            f"{obj}: {action} failed: {why}; run 'python -m capture clean' (make clean-lab) "
            "to remove leftovers of an earlier run, then try again"
        )


class LabProcessError(CaptureError):
    """A lab process (server, client, tcpdump) failed to start, to get ready, or exited badly."""

    def __init__(self, role: str, where: str, why: str, output: str = "") -> None:
        self.role, self.where, self.why, self.output = role, where, why, output
        tail = f"; last output: {output.strip().splitlines()[-1]}" if output.strip() else ""
        super().__init__(f"{role} in {where}: {why}{tail}")


class CaptureFailedError(CaptureError):
    """tcpdump ran but the capture is not usable (dropped packets, missing statistics...)."""

    def __init__(self, interface: str, path: str, why: str) -> None:
        self.interface, self.path, self.why = interface, path, why
        super().__init__(f"capture on {interface} into {path}: {why}")


class UnknownScenarioError(CaptureError):
    """A scenario name that does not exist."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        self.name, self.known = name, known
        super().__init__(f"unknown scenario {name!r}: choose one of {', '.join(known)}")


class ScenarioError(CaptureError):
    """A scenario ran but did not show what it promises (e.g. no retransmission under loss)."""

    def __init__(self, scenario: str, why: str) -> None:
        self.scenario, self.why = scenario, why
        super().__init__(f"scenario {scenario}: {why}")


class ComposeError(CaptureError):
    """A `docker compose` step of the compose backend failed."""

    def __init__(self, step: str, command: tuple[str, ...], why: str) -> None:
        self.step, self.command, self.why = step, command, why
        super().__init__(f"compose backend, step '{step}' ({' '.join(command)}): {why}")


class UnexpectedError(CaptureError):
    """Something below us (pyroute2, the kernel, a library) failed in a way we did not foresee.

    The run's cleanup has already run; the message keeps the original type and text, so a caller
    that catches CaptureError (the notebook's fallback to the shipped capture) catches this too.
    """

    def __init__(self, step: str, exc: BaseException) -> None:
        self.step, self.exc = step, exc
        super().__init__(f"{step} failed unexpectedly: {type(exc).__name__}: {exc}; the lab was removed; "
                         "run 'python -m capture clean' if 'ip netns list' still shows lab- names")


class Interrupted(CaptureError):
    """The run was stopped by a signal (Ctrl-C or SIGTERM); everything it made was removed."""

    def __init__(self, signal_name: str) -> None:
        self.signal_name = signal_name
        super().__init__(f"interrupted by {signal_name}; the lab network was removed")
