"""The topology spec: pure data, the course's addresses, names within the contract."""
from __future__ import annotations

import dataclasses

import pytest

from capture.errors import InvalidNameError
from capture.names import is_lab_name
from capture.topology import MAX_CLIENTS, Topology, lab_topology, mac_for, make_host


def test_default_lab_is_the_course_network() -> None:
    topo = lab_topology()
    assert topo.bridge == "lab-br0"
    assert topo.wire == "lab-wire"  # the bridge's own namespace: nothing of the lab in the root one
    assert topo.namespaces() == ("lab-server", "lab-client", "lab-wire")
    assert topo.subnet == "172.28.0.0/24"
    assert (topo.server.netns, topo.server.cidr) == ("lab-server", "172.28.0.2/24")
    (client,) = topo.clients
    assert (client.name, client.netns, client.cidr) == ("client", "lab-client", "172.28.0.3/24")


def test_more_clients_get_the_next_addresses() -> None:
    topo = lab_topology(3)
    assert [(h.netns, h.ip) for h in topo.clients] == [
        ("lab-client", "172.28.0.3"), ("lab-client2", "172.28.0.4"), ("lab-client3", "172.28.0.5")]
    assert topo.host("client3").bridge_port == "lab-client3-br"
    with pytest.raises(KeyError):
        topo.host("client4")


def test_every_kernel_name_follows_the_contract_even_with_the_most_clients() -> None:
    topo = lab_topology(MAX_CLIENTS)
    names = [*topo.kernel_names(), *(h.ifname for h in topo.hosts)]
    assert all(is_lab_name(n) and len(n) <= 15 for n in names), names
    assert len(set(topo.kernel_names())) == len(topo.kernel_names())


@pytest.mark.parametrize("clients", [0, MAX_CLIENTS + 1])
def test_client_count_is_bounded(clients: int) -> None:
    with pytest.raises(InvalidNameError):
        lab_topology(clients)


def test_macs_are_docker_style_and_fixed() -> None:
    assert mac_for("172.28.0.2") == "02:42:ac:1c:00:02"
    assert lab_topology().server.mac == "02:42:ac:1c:00:02"


def test_spec_is_frozen() -> None:
    topo = lab_topology()
    with pytest.raises(dataclasses.FrozenInstanceError):
        topo.bridge = "lab-br1"  # type: ignore[misc]


def test_bad_specs_are_refused() -> None:
    server = make_host("server", "172.28.0.2")
    with pytest.raises(InvalidNameError, match="used twice"):
        Topology("lab-br0", "172.28.0.0/24", (server, dataclasses.replace(server, ip="172.28.0.9")))
    with pytest.raises(InvalidNameError, match="inside 172.28.0.0/24"):
        Topology("lab-br0", "172.28.0.0/24", (make_host("server", "10.0.0.2"),))
    with pytest.raises(InvalidNameError, match="start with 'lab-'"):
        Topology("br0", "172.28.0.0/24", (server,))
    with pytest.raises(InvalidNameError, match="no hosts"):
        Topology("lab-br0", "172.28.0.0/24", ())
    with pytest.raises(InvalidNameError, match="used twice"):
        Topology("lab-br0", "172.28.0.0/24", (server,), wire="lab-server")
    with pytest.raises(InvalidNameError, match="start with 'lab-'"):
        Topology("lab-br0", "172.28.0.0/24", (server,), wire="wire")


def test_scenarios_read_the_server_address_from_the_topology() -> None:
    import ast
    import ipaddress
    from pathlib import Path

    from capture import scenarios, topology

    for scenario in scenarios.SCENARIOS.values():
        for client in scenario.clients:
            assert client.args[client.args.index("--host") + 1] == topology.SERVER_IP, scenario.name
    subnet = ipaddress.ip_network(topology.SUBNET)
    spelled = []
    for path in sorted((Path(topology.__file__).parent).rglob("*.py")):
        if path.name == "topology.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                try:
                    address = ipaddress.ip_address(node.value)
                except ValueError:
                    continue
                if address in subnet:
                    spelled.append(f"{path.name}:{node.lineno} {node.value}")
    assert not spelled, "lab addresses outside capture/topology.py: " + ", ".join(spelled)
