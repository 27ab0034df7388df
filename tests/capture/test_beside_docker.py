"""The netns lab beside Docker (issue 12, item 1).

dockerd loads br_netfilter, sets net.bridge.bridge-nf-call-iptables=1 and the iptables FORWARD
policy to DROP. A lab bridge in the root namespace then has its frames dropped in FORWARD ("cannot
reach server"). The lab keeps its bridge in a namespace of its own (lab-wire), so it works beside
that state and changes nothing of it. Checked three ways:
- on this host with dockerd running (the condition is asserted present, so the test means something);
- the same netfilter state made without Docker, inside a private network namespace (`unshare --net`),
  so the cause stays covered on machines without Docker;
- a run leaves the host's rules and sysctls exactly as they were.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import capture
from tests.capture.support.netns import ROOT, assert_no_leftovers, needs_root, needs_tshark
from tests.capture.support.tshark_fields import frames

pytestmark = [needs_root, pytest.mark.root]

BRIDGE_NF = ("bridge-nf-call-iptables", "bridge-nf-call-ip6tables", "bridge-nf-call-arptables")


def _dockerd_pids() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "dockerd":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


# Docker's per-network rules name its bridges (docker0, br-<id>, br-reqresp): another program on the
# machine may create or remove a Docker network during a run, so those lines are left out.
_DOCKER_NETWORK_RULE = re.compile(r"br-|docker", re.IGNORECASE)


def _host_netfilter_state() -> dict[str, str]:
    """What a run must not change: the rules (no counters), the bridge/forwarding sysctls."""
    state = {}
    for argv in (["nft", "-s", "list", "ruleset"], ["iptables", "-S"], ["iptables", "-t", "nat", "-S"]):
        if shutil.which(argv[0]):
            text = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
            state[" ".join(argv)] = "\n".join(line for line in text.splitlines()
                                               if not _DOCKER_NETWORK_RULE.search(line))
    for key in (*(f"bridge/{k}" for k in BRIDGE_NF), "ipv4/ip_forward"):
        path = Path("/proc/sys/net") / key
        state[key] = path.read_text().strip() if path.exists() else "absent"
    return state


def _check_capture(pcap: Path, packets: int) -> None:
    rows = frames(pcap)
    assert len(rows) == packets > 0
    assert rows[0]["arp.opcode"] == "1"
    assert any(f.syn and f.ack for f in rows) and any(f.fin for f in rows)


@needs_tshark
def test_beside_a_running_dockerd_the_lab_works_and_touches_nothing(tmp_path: Path) -> None:
    if not _dockerd_pids():
        pytest.skip("dockerd is not running on this machine; the same netfilter state is tested in a "
                    "private namespace by test_dockers_netfilter_state_made_in_a_private_namespace")
    forward = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True, timeout=30).stdout
    assert "-P FORWARD DROP" in forward.splitlines(), "dockerd runs but the FORWARD policy is not DROP"
    assert Path("/proc/sys/net/bridge/bridge-nf-call-iptables").read_text().strip() == "1"
    before = _host_netfilter_state()
    for name in ("default", "multi", "lossy"):
        result = capture.run_scenario(name, tmp_path / f"{name}.pcap")
        _check_capture(result.pcap, result.packets)
        assert_no_leftovers()
    assert _host_netfilter_state() == before


def test_a_run_changes_nothing_in_the_host_firewall_or_sysctls(tmp_path: Path) -> None:
    before = _host_netfilter_state()
    capture.run_scenario("echo", tmp_path / "echo.pcap")
    assert _host_netfilter_state() == before
    assert_no_leftovers()


# Runs inside `unshare --net`: the namespace the lab is started from gets Docker's netfilter state
# (a FORWARD base chain with policy drop, as iptables-nft makes it, and bridge-nf-call-*=1), then
# the scenarios run; it prints what it found as JSON.
_DOCKER_LIKE = r"""
import json, sys
from pathlib import Path
from pyroute2.nftables.main import NFTables
nft = NFTables(nfgen_family=2)
nft.table("add", name="filter")
nft.chain("add", table="filter", name="FORWARD", hook="forward", type="filter", priority=0, policy=0)
nft.close()
for key in %(keys)r:
    Path("/proc/sys/net/bridge", key).write_text("1")
import capture
out = {"sysctls": [Path("/proc/sys/net/bridge", k).read_text().strip() for k in %(keys)r], "runs": {}}
for name in sys.argv[2:]:
    try:
        r = capture.run_scenario(name, Path(sys.argv[1]) / (name + ".pcap"))
        out["runs"][name] = {"packets": r.packets, "pcap": str(r.pcap), "totals": r.totals}
    except capture.CaptureError as exc:
        out["runs"][name] = {"error": str(exc)}
nft = NFTables(nfgen_family=2)
out["forward_drop"] = [c.get_attr("NFTA_CHAIN_POLICY") for c in nft.get_chains()
                       if c.get_attr("NFTA_CHAIN_NAME") == "FORWARD"]
nft.close()
out["sysctls_after"] = [Path("/proc/sys/net/bridge", k).read_text().strip() for k in %(keys)r]
print(json.dumps(out))
"""


@needs_tshark
def test_dockers_netfilter_state_made_in_a_private_namespace(tmp_path: Path) -> None:
    if not Path("/proc/sys/net/bridge/bridge-nf-call-iptables").exists():
        pytest.fail("this kernel has no br_netfilter: the condition cannot be made (modprobe br_netfilter)")
    unshare = shutil.which("unshare")
    assert unshare, "unshare (util-linux) is needed to make a private network namespace"
    code = _DOCKER_LIKE % {"keys": BRIDGE_NF}
    done = subprocess.run([unshare, "--net", "--", sys.executable, "-c", code, str(tmp_path), "default", "multi"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["sysctls"] == found["sysctls_after"] == ["1", "1", "1"], "the condition was not in place"
    assert found["forward_drop"] == [0], "FORWARD policy drop was not in place (or was changed)"
    for name, run in found["runs"].items():
        assert "error" not in run, f"{name}: {run.get('error')}"
        _check_capture(Path(run["pcap"]), run["packets"])
    assert found["runs"]["multi"]["totals"] == "A=3 B=2 C=1"
    assert_no_leftovers()


def test_the_bridge_lives_in_lab_wire_with_netfilter_off_and_nothing_in_the_root_namespace() -> None:
    from pyroute2 import IPRoute

    from capture import netns_backend
    from capture.nsutil import in_netns
    from capture.state import lab_lock
    from capture.topology import lab_topology

    topo = lab_topology()
    with lab_lock():
        netns_backend.check_names_free(topo)
        try:
            netns_backend.build(topo)
            spaces, root_links = netns_backend.existing_lab_objects()
            assert set(topo.namespaces()) <= set(spaces) and root_links == []

            def inspect() -> tuple[list[str], dict[str, int], list[str]]:
                values = [Path("/proc/sys/net/bridge", k).read_text().strip() for k in BRIDGE_NF]
                with IPRoute() as ipr:
                    (bridge,) = ipr.get_links(ifname=topo.bridge)
                    data = bridge.get_attr("IFLA_LINKINFO").get_attr("IFLA_INFO_DATA")
                    flags = {k: data.get_attr(k) for k in ("IFLA_BR_NF_CALL_IPTABLES", "IFLA_BR_NF_CALL_IP6TABLES",
                                                             "IFLA_BR_NF_CALL_ARPTABLES")}
                    ports = sorted(link.get_attr("IFLA_IFNAME") for link in ipr.get_links()
                                   if link.get_attr("IFLA_MASTER") == bridge["index"])
                return values, flags, ports

            values, flags, ports = in_netns(topo.wire, inspect)
            assert values == ["0", "0", "0"]
            assert set(flags.values()) == {0}
            assert ports == sorted(h.bridge_port for h in topo.hosts)
        finally:
            assert netns_backend.teardown(topo) == []
    assert_no_leftovers()
