"""The capture package's error tree.

    CaptureError
    ├── NotRootError, MissingToolError      what the machine lacks (and how to get it)
    ├── InvalidNameError                    a kernel object or file name that breaks the names contract
    ├── NetworkSetupError                   building or removing the network failed
    ├── LabProcessError                     a lab process did not start, get ready or exit well
    ├── CaptureFailedError                  tcpdump ran but the capture is not usable
    ├── UnknownScenarioError, ScenarioError a scenario that does not exist / did not show its promise
    ├── ComposeError                        a `docker compose` step failed
    ├── UsageError                          a bad choice (backend, lab host, language)
    ├── UnexpectedError                     something below us failed in a way we did not foresee
    └── Interrupted                         Ctrl-C or SIGTERM; everything the run made was removed

Every error renders as one line: what went wrong, on which object (interface, namespace, file,
process), and what to do about it. The message is an English template with named fields
(capture.text.Text, marked N_() where it is written, so the catalog carries it): ``str(error)``
is the English line, for the library and its logs; ``error.one_line(t)`` with a gettext
translation (capture.i18n.translation(lang)) is the same line in that language (the CLI's edge).
The parts an error is built from (``why``, ``where``, ``action``) may be Texts themselves.
"""
from __future__ import annotations

from capture.text import N_, Text, Translation


def inside(obj: object, namespace: str | Text) -> Text:
    """"lab-br0 in lab-wire": an object and the namespace it lives in, for an error's object."""
    return Text(N_("{object} in {namespace}"), object=obj, namespace=namespace)


ROOT_NAMESPACE = Text(N_("root namespace"))
# what a teardown says when the kernel keeps a namespace (the error's object: the list of them)
STILL_PRESENT = (Text(N_("remove")), Text(N_("still present; run make clean-lab")))


def exited_on_sigterm(code: int | None) -> Text:
    """A lab server's bad exit when it was stopped (it must exit 0 on SIGTERM)."""
    return Text(N_("exited with status {code} on SIGTERM"), code=code)


class CaptureError(Exception):
    """Base of every error raised by the capture package: one line, English or translated."""

    def __init__(self, message: str | Text) -> None:
        self.text = message if isinstance(message, Text) else Text(message)
        super().__init__(self.text.render())

    def one_line(self, t: Translation | None = None) -> str:
        """What, where, what to do, in one line: English, or in the language of `t`."""
        return self.text.render(t)


class NotRootError(CaptureError):
    """The netns backend needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and we do not have it."""

    def __init__(self, uid: int) -> None:
        self.uid = uid
        super().__init__(Text(N_(
            "the netns backend needs root (running as uid {uid}): run it with sudo (sudo make capture); "
            "without root, the course's Docker commands work for any member of the docker group "
            "(README, The course's way)"), uid=uid))


class MissingToolError(CaptureError):
    """A system program the lab needs is not installed."""

    def __init__(self, tool: str, package: str) -> None:
        self.tool, self.package = tool, package
        super().__init__(Text(N_("{tool} is not installed: install it with 'sudo apt-get install {package}' "
                                 "(or run 'make tools' as root)"), tool=tool, package=package))


class InvalidNameError(CaptureError):
    """A kernel object name or a file name that breaks the names contract.

    ``kind`` is what the name names ("namespace", "pcap file"), marked N_() by the caller."""

    def __init__(self, kind: str, name: object, why: str | Text) -> None:
        self.kind, self.name, self.why = kind, name, why
        super().__init__(Text(N_("bad {kind} name {name!r}: {why}"), kind=Text(kind), name=name, why=why))


class NetworkSetupError(CaptureError):
    """Building or configuring a namespace, link, bridge or qdisc failed (or removing it)."""

    def __init__(self, obj: str | Text | list[Text], action: str | Text, why: object) -> None:
        self.obj, self.action, self.why = obj, action, why
        super().__init__(Text(N_(
            "{object}: {action} failed: {why}; run 'python -m capture clean' (make clean-lab) to remove "
            "leftovers of an earlier run, then try again"), object=obj, action=action, why=why))


class LabProcessError(CaptureError):
    """A lab process (server, client, tcpdump) failed to start, to get ready, or exited badly.

    ``output`` is what it printed; its last line (the program's own words) ends the message."""

    def __init__(self, role: str, where: str | Text, why: str | Text, output: str = "") -> None:
        self.role, self.where, self.why, self.output = role, where, why, output
        if output.strip():
            text = Text(N_("{role} in {where}: {why}; last output: {last}"), role=role, where=where, why=why,
                        last=output.strip().splitlines()[-1])
        else:
            text = Text(N_("{role} in {where}: {why}"), role=role, where=where, why=why)
        super().__init__(text)


class CaptureFailedError(CaptureError):
    """tcpdump ran but the capture is not usable (dropped packets, missing statistics...)."""

    def __init__(self, interface: str, path: str, why: str | Text) -> None:
        self.interface, self.path, self.why = interface, path, why
        super().__init__(Text(N_("capture on {interface} into {path}: {why}"), interface=interface, path=path,
                              why=why))


class UnknownScenarioError(CaptureError):
    """A scenario name that does not exist."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        self.name, self.known = name, known
        super().__init__(Text(N_("unknown scenario {name!r}: choose one of {known}"), name=name,
                              known=", ".join(known)))


class ScenarioError(CaptureError):
    """A scenario ran but did not show what it promises (e.g. no retransmission under loss)."""

    def __init__(self, scenario: str | Text, why: str | Text) -> None:
        self.scenario, self.why = scenario, why
        super().__init__(Text(N_("scenario {scenario}: {why}"), scenario=scenario, why=why))


class ComposeError(CaptureError):
    """A `docker compose` step of the compose backend failed."""

    def __init__(self, step: str | Text, command: tuple[str, ...], why: str | Text) -> None:
        self.step, self.command, self.why = step, command, why
        super().__init__(Text(N_("compose backend, step '{step}' ({command}): {why}"), step=step,
                              command=" ".join(command), why=why))


class UsageError(CaptureError):
    """A choice that does not exist: a backend, a lab host, a language."""


class UnexpectedError(CaptureError):
    """Something below us (pyroute2, the kernel, a library) failed in a way we did not foresee.

    The run's cleanup has already run; the message keeps the original type and text, so a caller
    that catches CaptureError (the notebook's fallback to the shipped capture) catches this too.
    """

    def __init__(self, step: str | Text, exc: BaseException) -> None:
        self.step, self.exc = step, exc
        super().__init__(Text(N_(
            "{step} failed unexpectedly: {type}: {error}; the lab was removed; run 'python -m capture clean' "
            "if 'ip netns list' still shows lab- names"), step=step, type=type(exc).__name__, error=str(exc)))


class Interrupted(CaptureError):
    """The run was stopped by a signal (Ctrl-C or SIGTERM); everything it made was removed."""

    def __init__(self, signal_name: str) -> None:
        self.signal_name = signal_name
        super().__init__(Text(N_("interrupted by {signal}; the lab network was removed"), signal=signal_name))


__all__ = ["CaptureError", "NotRootError", "MissingToolError", "InvalidNameError", "NetworkSetupError",
           "LabProcessError", "CaptureFailedError", "UnknownScenarioError", "ScenarioError", "ComposeError",
           "UsageError", "UnexpectedError", "Interrupted", "inside", "ROOT_NAMESPACE",
           "STILL_PRESENT", "exited_on_sigterm"]
