"""Build and remove the lab network from a Topology: namespaces, veth pairs, a bridge (pyroute2).

What `build` guarantees, so that the capture on the bridge holds exactly the lab's ARP + TCP:
- each host is a fresh network namespace (empty ARP cache) with ``lo`` up and one veth end
  carrying a fixed MAC and its IPv4 address; the other end is a port of the bridge;
- the bridge has no address, STP off and forward_delay 0 (it forwards at once), no multicast
  snooping (which would send IGMP reports of its own), and does not
  hand frames to iptables/arptables (per-bridge nf_call_* off, whatever the global
  net.bridge.bridge-nf-call-* says);
- IPv6 is disabled on every lab interface before it comes up (no RS/NS/MLD frames);
- TSO/GSO/GRO and checksum offload are off on every lab interface.
"""
from __future__ import annotations

import os
from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

from capture.errors import NetworkSetupError
from capture.names import check_kernel_name, is_lab_name
from capture.nsutil import disable_ipv6, disable_offloads, in_netns, netns_path, write_sysctl
from capture.topology import Host, Topology


def existing_lab_objects() -> tuple[list[str], list[str]]:
    """(namespaces, root-namespace links) whose names follow the lab's contract."""
    spaces = sorted(n for n in netns.listnetns() if is_lab_name(n))
    with IPRoute() as ipr:
        links = sorted(
            name for link in ipr.get_links() if is_lab_name(name := link.get_attr("IFLA_IFNAME"))
        )
    return spaces, links


def check_names_free(topo: Topology) -> None:
    """Raise NetworkSetupError if a namespace or link of ``topo`` exists already."""
    spaces, links = existing_lab_objects()
    clash = sorted(set(topo.kernel_names()) & (set(spaces) | set(links)))
    if clash:
        raise NetworkSetupError(", ".join(clash), "create", "already exists (left by an earlier run?)")


def build(topo: Topology) -> None:
    """Create the whole network. On any failure, remove what was made and raise NetworkSetupError.

    Call check_names_free first: a failure here removes every object named in ``topo``.
    """
    try:
        _build_bridge(topo.bridge)
        for host in topo.hosts:
            _build_host(topo.bridge, host)
    except BaseException:
        teardown(topo)
        raise


def teardown(topo: Topology) -> list[str]:
    """Remove every object of ``topo`` that exists; return what could not be removed (empty: all gone).

    Processes inside the namespaces must be gone first: a namespace lives on while a process
    holds it, and so would its veth end and the peer in the bridge.
    """
    problems: list[str] = []
    for host in topo.hosts:
        problems += remove_netns(host.netns)
    with IPRoute() as ipr:
        for name in (*(h.bridge_port for h in topo.hosts), topo.bridge):
            problems += _remove_link(ipr, name)
    return problems


def remove_netns(name: str) -> list[str]:
    check_kernel_name(name, "namespace")
    if not netns_path(name).exists():
        return []
    try:
        netns.remove(name)
    except OSError as exc:
        return [f"namespace {name}: {exc}"]
    return []


def remove_link(name: str) -> list[str]:
    check_kernel_name(name, "interface")
    with IPRoute() as ipr:
        return _remove_link(ipr, name)


def _remove_link(ipr: IPRoute, name: str) -> list[str]:
    if not ipr.link_lookup(ifname=name):
        return []
    try:
        ipr.link("del", ifname=name)
    except NetlinkError as exc:
        if exc.code != 19:  # ENODEV: went away with its peer meanwhile
            return [f"link {name}: {exc}"]
    return []


def _build_bridge(name: str) -> None:
    try:
        with IPRoute() as ipr:
            ipr.link(
                "add",
                ifname=name,
                kind="bridge",
                br_stp_state=0,
                br_forward_delay=0,
                br_nf_call_iptables=0,
                br_nf_call_ip6tables=0,
                br_nf_call_arptables=0,
                # No IGMP snooping: with it the bridge joins 224.0.0.106 (all-snoopers) and sends
                # IGMPv3 reports from 0.0.0.0 into the capture.
                br_mcast_snooping=0,
            )
            disable_ipv6(name, "root namespace")
            disable_offloads(name, "root namespace")
            ipr.link("set", ifname=name, state="up")
    except NetlinkError as exc:
        raise NetworkSetupError(name, "create bridge", exc) from exc


def _build_host(bridge: str, host: Host) -> None:
    try:
        netns.create(host.netns)
    except OSError as exc:
        raise NetworkSetupError(host.netns, "create namespace", exc) from exc
    # Silence IPv6 in the namespace before any interface exists there: "default" applies to the
    # veth end that arrives next, "all" to lo.
    in_netns(host.netns, lambda: disable_ipv6(None, host.netns))
    try:
        with IPRoute() as ipr:
            ipr.link(
                "add",
                ifname=host.bridge_port,
                kind="veth",
                peer={"ifname": host.ifname, "address": host.mac, "net_ns_fd": str(netns_path(host.netns))},
            )
            disable_ipv6(host.bridge_port, "root namespace")
            disable_offloads(host.bridge_port, "root namespace")
            master = ipr.link_lookup(ifname=bridge)[0]
            ipr.link("set", ifname=host.bridge_port, master=master)
            ipr.link("set", ifname=host.bridge_port, state="up")
    except NetlinkError as exc:
        raise NetworkSetupError(host.bridge_port, "create veth pair", exc) from exc
    in_netns(host.netns, lambda: _configure_inside(host))


def _configure_inside(host: Host) -> None:
    """Runs in a worker thread inside the host's namespace."""
    where = host.netns
    disable_ipv6(host.ifname, where)
    # No gratuitous ARP on link-up: the first ARP in the capture is the client asking for the server.
    write_sysctl(f"net.ipv4.conf.{host.ifname}.arp_notify", "0", where)
    disable_offloads(host.ifname, where)
    try:
        with IPRoute() as ipr:
            lo = ipr.link_lookup(ifname="lo")[0]
            ipr.link("set", index=lo, state="up")
            index = ipr.link_lookup(ifname=host.ifname)[0]
            ipr.addr("add", index=index, address=host.ip, prefixlen=host.prefixlen)
            ipr.link("set", index=index, state="up")
    except (NetlinkError, IndexError) as exc:
        raise NetworkSetupError(f"{host.ifname} in {where}", f"configure {host.cidr}", exc) from exc


def namespace_inode(name: str) -> int | None:
    """The inode of a named namespace (to find processes living in it), or None if it is gone."""
    try:
        return os.stat(netns_path(name)).st_ino
    except FileNotFoundError:
        return None
