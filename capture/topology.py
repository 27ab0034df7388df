"""The lab's topology as pure data: hosts, addresses, the bridge. Nothing here touches the kernel.

The running network is built from a Topology by a backend (`capture.netns_backend`), the way
Mininet keeps its topology spec apart from the network it starts. The names follow the contract in
`capture.names`: every kernel object is ``lab-...`` and fits in 15 characters.

Default lab (the course's compose network, 172.28.0.0/24)::

    namespace     address                        namespace lab-wire
    lab-server    172.28.0.2/24  lab-eth0 <-> lab-server-br --+
    lab-client    172.28.0.3/24  lab-eth0 <-> lab-client-br --+-- lab-br0 (no address)
    lab-client2   172.28.0.4/24  ...          (multi-client scenario only)

The bridge and its ports live in a namespace of their own (``lab-wire``), not in the root one:
bridged frames then meet only that namespace's netfilter (empty, and br_netfilter's
bridge-nf-call-* switched off there), never the host's iptables FORWARD chain, whose policy is DROP
wherever Docker runs. The root namespace gets no lab link at all.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from capture.errors import InvalidNameError
from capture.names import check_kernel_name
from capture.text import N_, Text

SUBNET = "172.28.0.0/24"
SERVER_IP = "172.28.0.2"
BRIDGE = "lab-br0"
WIRE = "lab-wire"          # the namespace that holds the bridge and the bridge-side veth ends
HOST_IFNAME = "lab-eth0"  # the interface inside every host namespace (same name in each)
MAX_CLIENTS = 9


@dataclass(frozen=True)
class Host:
    """One lab machine: a network namespace with one interface, plugged into the bridge."""

    name: str          # role: "server", "client", "client2", ...
    netns: str         # network namespace, e.g. "lab-server"
    ip: str            # e.g. "172.28.0.2"
    prefixlen: int     # e.g. 24
    mac: str           # fixed, Docker-style 02:42 + the IPv4 address, so captures are reproducible
    ifname: str        # interface inside the namespace
    bridge_port: str   # the veth peer in the wire namespace, enslaved to the bridge

    @property
    def cidr(self) -> str:
        return f"{self.ip}/{self.prefixlen}"


@dataclass(frozen=True)
class Topology:
    """Hosts on one bridge, which lives in namespace ``wire``. The first host is the server; the
    others are clients."""

    bridge: str
    subnet: str
    hosts: tuple[Host, ...]
    wire: str = WIRE

    def __post_init__(self) -> None:
        check_kernel_name(self.bridge, "bridge")
        check_kernel_name(self.wire, "namespace")
        net = ipaddress.ip_network(self.subnet)
        seen: set[str] = {self.bridge, self.wire}
        ips: set[str] = set()
        for host in self.hosts:
            check_kernel_name(host.netns, "namespace")
            check_kernel_name(host.ifname, "interface")
            check_kernel_name(host.bridge_port, "interface")
            for name in (host.netns, host.bridge_port):
                if name in seen:
                    raise InvalidNameError("kernel object", name, Text(N_("used twice in one topology")))
                seen.add(name)
            if ipaddress.ip_address(host.ip) not in net or host.ip in ips:
                raise InvalidNameError("address", host.ip, Text(N_("must be unique and inside {subnet}"),
                                                                subnet=self.subnet))
            ips.add(host.ip)
        if not self.hosts:
            raise InvalidNameError("topology", self.bridge, Text(N_("has no hosts")))

    @property
    def server(self) -> Host:
        return self.hosts[0]

    @property
    def clients(self) -> tuple[Host, ...]:
        return self.hosts[1:]

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)

    def namespaces(self) -> tuple[str, ...]:
        """The namespaces this topology creates: the hosts', then the wire's (what teardown removes;
        every link of the lab lives in one of them and goes with it)."""
        return (*(h.netns for h in self.hosts), self.wire)

    def kernel_names(self) -> tuple[str, ...]:
        """Every name this topology gives the kernel: namespaces, the bridge, the bridge ports."""
        return (*self.namespaces(), self.bridge, *(h.bridge_port for h in self.hosts))


def mac_for(ip: str) -> str:
    """Docker's convention: 02:42 followed by the four bytes of the IPv4 address."""
    octets = ipaddress.IPv4Address(ip).packed
    return "02:42:" + ":".join(f"{b:02x}" for b in octets)


def make_host(name: str, ip: str, prefixlen: int = 24) -> Host:
    netns = f"lab-{name}"
    return Host(
        name=name,
        netns=netns,
        ip=ip,
        prefixlen=prefixlen,
        mac=mac_for(ip),
        ifname=HOST_IFNAME,
        bridge_port=f"{netns}-br",
    )


def lab_topology(clients: int = 1) -> Topology:
    """The course's network: the server at .2, clients at .3, .4, ... (``client``, ``client2``...)."""
    if not 1 <= clients <= MAX_CLIENTS:
        raise InvalidNameError("topology", clients, Text(N_("choose 1 to {limit} clients"), limit=MAX_CLIENTS))
    net = ipaddress.ip_network(SUBNET)
    hosts = [make_host("server", SERVER_IP, net.prefixlen)]
    for i in range(clients):
        name = "client" if i == 0 else f"client{i + 1}"
        hosts.append(make_host(name, str(net.network_address + 3 + i), net.prefixlen))
    return Topology(bridge=BRIDGE, subnet=SUBNET, hosts=tuple(hosts), wire=WIRE)
