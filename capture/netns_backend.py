"""Build and remove the lab network from a Topology: namespaces, veth pairs, a bridge (pyroute2).

What `build` guarantees, so that the capture on the bridge holds exactly the lab's ARP + TCP:
- the bridge and the bridge-side veth ends live in a namespace of their own (``lab-wire``), so the
  root namespace gets no lab link and its netfilter never sees a lab frame. That is what makes the
  lab work beside Docker: dockerd sets the iptables FORWARD policy to DROP and
  net.bridge.bridge-nf-call-iptables=1, and the kernel ORs that global switch with the per-bridge
  nf_call_iptables, so a bridge in the root namespace has its frames dropped in FORWARD. These
  switches are per network namespace: in ``lab-wire`` we set bridge-nf-call-* to 0 (and the
  bridge's own nf_call_* off too), and nothing of the host's firewall or sysctls is touched;
- each host is a fresh network namespace (empty ARP cache) with ``lo`` up and one veth end
  carrying a fixed MAC and its IPv4 address; the other end is a port of the bridge;
- the bridge has no address, STP off and forward_delay 0 (it forwards at once), no multicast
  snooping (which would send IGMP reports of its own);
- IPv6 is disabled on every lab interface before it comes up (no RS/NS/MLD frames);
- TSO/GSO/GRO and checksum offload are off on every lab interface.
"""
from __future__ import annotations

import os
from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

from capture.errors import NetworkSetupError, inside
from capture.text import N_, Text
from capture.names import check_kernel_name, is_lab_name
from capture.nsutil import disable_ipv6, disable_offloads, in_netns, netns_path, outside_event_loop, write_sysctl
from capture.topology import Host, Topology

# br_netfilter's switches, per network namespace: 0 = bridged frames skip iptables/ip6tables/arptables.
BRIDGE_NF_SYSCTLS = ("net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables",
                     "net.bridge.bridge-nf-call-arptables")


def existing_lab_objects() -> tuple[list[str], list[str]]:
    """(namespaces, root-namespace links) whose names follow the lab's contract."""
    spaces = sorted(n for n in netns.listnetns() if is_lab_name(n))
    return spaces, outside_event_loop(_lab_links)


def _lab_links() -> list[str]:
    with IPRoute() as ipr:
        return sorted(name for link in ipr.get_links() if is_lab_name(name := link.get_attr("IFLA_IFNAME")))


def check_names_free(topo: Topology) -> None:
    """Raise NetworkSetupError if a namespace of ``topo`` exists already (every lab link lives in one)."""
    spaces, _ = existing_lab_objects()
    clash = sorted(set(topo.namespaces()) & set(spaces))
    if clash:
        raise NetworkSetupError(clash, Text(N_("create")), Text(N_("already exists (left by an earlier run?)")))


def build(topo: Topology) -> None:
    """Create the whole network. On any failure, remove what was made and raise NetworkSetupError.

    Call check_names_free first: a failure here removes every namespace named in ``topo``.
    """
    try:
        _build_wire(topo.wire, topo.bridge)
        for host in topo.hosts:
            _build_host(topo.wire, topo.bridge, host)
    except BaseException:
        teardown(topo)
        raise


def teardown(topo: Topology) -> list[Text]:
    """Remove every namespace of ``topo`` that exists; return what could not be removed (empty: all gone).

    A namespace lives on while a process holds it, and so would its veth ends and the bridge. The
    run stops its own processes first; whatever still lives in a lab namespace then (a process the
    run never got to record, one a user started there with ``ip netns exec``) is stopped here, by
    PID, found by the namespace's inode, before the namespaces go.
    """
    from capture.state import kill_pids, processes_in_namespaces

    inodes = {ino: name for name in topo.namespaces() if (ino := namespace_inode(name)) is not None}
    if inodes:
        kill_pids(processes_in_namespaces(inodes))
    problems: list[Text] = []
    for name in topo.namespaces():
        problems += remove_netns(name)
    return problems


def remove_netns(name: str) -> list[Text]:
    check_kernel_name(name, "namespace")
    if not netns_path(name).exists():
        return []
    try:
        netns.remove(name)
    except OSError as exc:
        return [Text(N_("namespace {name}: {error}"), name=name, error=str(exc))]
    return []


def remove_link(name: str) -> list[Text]:
    check_kernel_name(name, "interface")
    return outside_event_loop(lambda: _remove_link(name))


def _remove_link(name: str) -> list[Text]:
    with IPRoute() as ipr:
        if not ipr.link_lookup(ifname=name):
            return []
        try:
            ipr.link("del", ifname=name)
        except NetlinkError as exc:
            if exc.code != 19:  # ENODEV: went away with its peer meanwhile
                return [Text(N_("link {name}: {error}"), name=name, error=str(exc))]
    return []


def _create_netns(name: str) -> None:
    try:
        netns.create(name)
    except OSError as exc:
        raise NetworkSetupError(name, Text(N_("create namespace")), exc) from exc
    # Silence IPv6 in the namespace before any interface exists there: "default" applies to the
    # interfaces that arrive next, "all" to lo.
    in_netns(name, lambda: disable_ipv6(None, name))


def _build_wire(wire: str, bridge: str) -> None:
    _create_netns(wire)
    in_netns(wire, lambda: _configure_wire(wire, bridge))


def _configure_wire(wire: str, bridge: str) -> None:
    """Runs in a worker thread inside the wire namespace: its netfilter off for bridged frames, the bridge."""
    for key in BRIDGE_NF_SYSCTLS:  # absent without br_netfilter: then nothing hands frames to iptables
        write_sysctl(key, "0", wire)
    try:
        with IPRoute() as ipr:
            ipr.link(
                "add",
                ifname=bridge,
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
            disable_ipv6(bridge, wire)
            disable_offloads(bridge, wire)
            ipr.link("set", ifname=bridge, state="up")
    except NetlinkError as exc:
        raise NetworkSetupError(inside(bridge, wire), Text(N_("create bridge")), exc) from exc


def _build_host(wire: str, bridge: str, host: Host) -> None:
    _create_netns(host.netns)
    in_netns(wire, lambda: _plug_into_bridge(wire, bridge, host))
    in_netns(host.netns, lambda: _configure_inside(host))


def _plug_into_bridge(wire: str, bridge: str, host: Host) -> None:
    """Runs inside the wire namespace: a veth pair whose far end lands in the host's namespace."""
    try:
        with IPRoute() as ipr:
            ipr.link(
                "add",
                ifname=host.bridge_port,
                kind="veth",
                peer={"ifname": host.ifname, "address": host.mac, "net_ns_fd": str(netns_path(host.netns))},
            )
            disable_ipv6(host.bridge_port, wire)
            disable_offloads(host.bridge_port, wire)
            master = ipr.link_lookup(ifname=bridge)[0]
            ipr.link("set", ifname=host.bridge_port, master=master)
            ipr.link("set", ifname=host.bridge_port, state="up")
    except NetlinkError as exc:
        raise NetworkSetupError(inside(host.bridge_port, wire), Text(N_("create veth pair")), exc) from exc


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
        raise NetworkSetupError(inside(host.ifname, where), Text(N_("configure {address}"), address=host.cidr),
                                exc) from exc


def namespace_inode(name: str) -> int | None:
    """The inode of a named namespace (to find processes living in it), or None if it is gone."""
    try:
        return os.stat(netns_path(name)).st_ino
    except FileNotFoundError:
        return None
