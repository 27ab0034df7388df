"""The names contract and the validation of every name we hand to the kernel or to a program.

Contract (documented in README, relied on by `python -m capture clean`):
- every kernel object the lab creates (network namespace, link, bridge) is named ``lab-...``;
- the name fits in 15 characters (IFNAMSIZ - 1), uses only ``a-z 0-9 -``;
- ``clean`` removes exactly the objects whose names start with ``lab-``, and nothing else.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from capture.errors import InvalidNameError
from capture.text import N_, Text

PREFIX = "lab-"
MAX_IFNAME = 15  # IFNAMSIZ (16) minus the terminating NUL
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# What a checked name names (InvalidNameError says it, translated): marked here for the catalog.
KINDS = (N_("interface"), N_("namespace"), N_("bridge"), N_("pcap file"), N_("kernel object"),
         N_("address"), N_("topology"))


def check_kernel_name(name: str, kind: str = "interface") -> str:
    """Return ``name`` if it is a valid lab kernel-object name, else raise InvalidNameError."""
    if not isinstance(name, str) or not name:
        raise InvalidNameError(kind, name, Text(N_("must be a non-empty string")))
    if not name.startswith(PREFIX):
        raise InvalidNameError(kind, name, Text(N_("lab objects must start with '{prefix}'"), prefix=PREFIX))
    if len(name) > MAX_IFNAME:
        raise InvalidNameError(kind, name, Text(N_("longer than {limit} characters ({length})"), limit=MAX_IFNAME,
                                                length=len(name)))
    if not _NAME_RE.match(name) or name.endswith("-"):
        raise InvalidNameError(kind, name, Text(N_("use only lowercase letters, digits and inner '-'")))
    return name


def is_lab_name(name: str) -> bool:
    """True for names that `clean` may remove: the contract's prefix and length."""
    try:
        check_kernel_name(name)
    except InvalidNameError:
        return False
    return True


def check_output_path(path: str | os.PathLike[str], kind: str = "pcap file") -> Path:
    """Validate where a capture will be written; return it as an absolute Path.

    The path must not be empty, must not contain NUL or newlines (it is passed to tcpdump as an
    argument and printed in one-line transcripts), must not be a directory, and its folder
    must exist.
    """
    text = os.fspath(path)
    if not text:
        raise InvalidNameError(kind, text, Text(N_("is empty; give a file name such as reqresp.pcap")))
    if any(c in text for c in "\0\n\r"):
        raise InvalidNameError(kind, text, Text(N_("contains a NUL or line break")))
    if text.startswith("-"):
        raise InvalidNameError(kind, text, Text(N_("starts with '-' (it would read as an option); use ./{name}"),
                                                name=text))
    out = Path(text).absolute()
    try:
        if out.is_dir():
            raise InvalidNameError(kind, text, Text(N_("is a directory; give a file name such as reqresp.pcap")))
        if not out.parent.is_dir():
            raise InvalidNameError(kind, text, Text(N_("its folder {folder} does not exist; create it first"),
                                                    folder=str(out.parent)))
    except OSError as exc:  # e.g. a folder on the way we may not enter
        raise InvalidNameError(kind, text, Text(N_("cannot be reached ({error}); choose another place"),
                                                error=exc.strerror)) from exc
    return out


def partial_path(out: Path) -> Path:
    """Where a run writes before it knows it succeeded: a hidden file beside ``out`` (same folder,
    so the final rename is atomic), named after this process so two runs never share one."""
    return out.with_name(f".{out.name[:200]}.{os.getpid()}.part")


def give_to_invoking_user(path: Path) -> None:
    """Under sudo, the pcap belongs to the user who typed the command (SUDO_UID/SUDO_GID), not root."""
    uid, gid = os.environ.get("SUDO_UID", ""), os.environ.get("SUDO_GID", "")
    if os.geteuid() == 0 and uid.isdigit():
        os.chown(path, int(uid), int(gid) if gid.isdigit() else -1)
