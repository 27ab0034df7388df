"""Small kernel helpers: enter a network namespace in a worker thread, write sysctls, offloads.

A network namespace is a per-thread property in Linux, so we run namespace-local work (sysctl
writes, ethtool ioctls) in a short-lived thread that calls setns(2) and then exits; the main
thread never leaves the root namespace. Sockets and /proc/sys/net lookups follow the calling
thread's namespace, which is what makes this work.
"""
from __future__ import annotations

import ctypes
import os
import sys
import threading
from pathlib import Path
from typing import Callable, TypeVar, Union

from capture.errors import NetworkSetupError, inside
from capture.text import N_, Text
from capture.names import check_kernel_name

NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000
T = TypeVar("T")


def _load_libc() -> ctypes.CDLL:
    """glibc by its soname first: ctypes.util.find_library runs ldconfig (a process, ~0.3 s), and
    every lab process starts through capture.nsexec, which imports this module."""
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:  # not glibc (musl, ...): ask the system where its C library is
        from ctypes.util import find_library

        return ctypes.CDLL(find_library("c"), use_errno=True)


_libc = _load_libc()

# ethtool feature strings (see `ethtool -k`): segmentation, receive offload and checksum offload.
# With them off, the capture shows wire-sized segments with correct checksums.
OFFLOAD_FEATURES = (
    "tx-tcp-segmentation",
    "tx-tcp-ecn-segmentation",
    "tx-tcp-mangleid-segmentation",
    "tx-tcp6-segmentation",
    "tx-tcp-accecn-segmentation",
    "tx-generic-segmentation",
    "rx-gro",
    "tx-checksum-ip-generic",
    "tx-checksum-ipv4",
    "tx-checksum-sctp",
    "rx-checksum",
)


NetnsRef = Union[str, int, os.PathLike]


def netns_path(netns: str) -> Path:
    return NETNS_DIR / netns


def netns_file(netns: NetnsRef) -> Path:
    """Where a namespace is: a lab name (``lab-client`` -> /run/netns/lab-client), a PID (its
    /proc/PID/ns/net, e.g. a container's), or an absolute path to a namespace file."""
    if isinstance(netns, bool):
        raise NetworkSetupError(repr(netns), Text(N_("find namespace")), Text(N_("give a lab- name, a PID or a path")))
    if isinstance(netns, int):
        if netns <= 0:
            raise NetworkSetupError(Text(N_("pid {pid}"), pid=netns), Text(N_("find namespace")),
                                    Text(N_("a PID is a positive number")))
        return Path(f"/proc/{netns}/ns/net")
    text = os.fspath(netns)
    if os.path.isabs(text):
        return Path(text)
    return netns_path(check_kernel_name(text, "namespace"))


def setns(netns: NetnsRef) -> None:
    """Move the *calling thread* into ``netns`` (used by workers and by capture.nsexec).

    The kernel refuses (EINVAL) a file that is not a network namespace, so a wrong path is an error
    here, not a thread in the wrong place.
    """
    path = netns_file(netns)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise NetworkSetupError(str(path), Text(N_("open namespace")), exc.strerror) from exc
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise NetworkSetupError(str(path), "setns", os.strerror(err))
    finally:
        os.close(fd)


def in_netns(netns: NetnsRef | None, work: Callable[[], T]) -> T:
    """Run ``work()`` inside ``netns`` (None: our own namespace) in a worker thread; return its value.

    With ``netns`` None the work runs in the calling thread, unless an asyncio event loop runs
    there (a Jupyter kernel): see `outside_event_loop`.
    """
    if netns is None:
        return outside_event_loop(work)
    return _in_worker(work, netns, f"netns-{netns}")


def outside_event_loop(work: Callable[[], T]) -> T:
    """Run pyroute2 work where no asyncio event loop is running.

    pyroute2's synchronous classes (IPRoute, NFTables) drive a private asyncio loop with
    ``run_until_complete``; inside a thread whose loop already runs (every Jupyter kernel's main
    thread) that raises "This event loop is already running". pyroute2 keeps its loop per
    thread, so the work runs in a short-lived worker thread there; elsewhere it runs in place.
    """
    asyncio = sys.modules.get("asyncio")  # not imported: no loop can run (and nsexec starts faster)
    if asyncio is None:
        return work()
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    return _in_worker(work, None, "pyroute2-outside-loop")


def _in_worker(work: Callable[[], T], netns: NetnsRef | None, name: str) -> T:
    box: dict[str, object] = {}

    def worker() -> None:
        try:
            if netns is not None:
                setns(netns)
            box["value"] = work()
        except BaseException as exc:  # handed back to the caller's thread below
            box["error"] = exc

    thread = threading.Thread(target=worker, name=name, daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def write_sysctl(key: str, value: str, where: str | Text) -> bool:
    """Write /proc/sys/<key> in the calling thread's namespace; False if the key does not exist.

    ``where`` names the namespace for error messages. Missing keys are fine (e.g. no IPv6 in
    this kernel: then there is no IPv6 noise to silence either).
    """
    path = Path("/proc/sys") / key.replace(".", "/")
    try:
        path.write_text(value)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise NetworkSetupError(where, f"sysctl {key}={value}", exc) from exc
    return True


def disable_ipv6(ifname: str | None, where: str | Text) -> None:
    """Turn IPv6 off (for one interface, or all/default) so no RS/NS/MLD frames reach the bridge."""
    names = ("all", "default") if ifname is None else (ifname,)
    for name in names:
        write_sysctl(f"net.ipv6.conf.{name}.disable_ipv6", "1", where)


def disable_offloads(ifname: str, where: str | Text) -> dict[str, bool]:
    """Turn TSO/GSO/GRO and checksum offload off on ``ifname`` (calling thread's namespace).

    Returns the features that remain on (fixed by the driver); the caller decides whether that
    matters. Uses the ethtool ioctl through pyroute2, no `ethtool` process.
    """
    from pyroute2.ethtool.ethtool import Ethtool  # imported late: heavy, and only needed here

    try:
        with Ethtool() as ethtool:
            features = ethtool.get_features(ifname)
            for name in OFFLOAD_FEATURES:
                feature = features.features.get(name)
                if feature is not None and feature.available:
                    feature.enable = False
            ethtool.set_features(ifname, features)
            after = ethtool.get_features(ifname).features
    except Exception as exc:  # pyroute2 raises plain OSError/NetlinkError/etc.
        raise NetworkSetupError(inside(ifname, where), Text(N_("disable offloads (ethtool)")), exc) from exc
    return {n: after[n].enable for n in OFFLOAD_FEATURES if n in after and after[n].enable}
