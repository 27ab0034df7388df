"""Packet loss on a host's link, placed AFTER the capture point.

The `lossy` scenario needs frames that the bridge saw (so they are in the pcap) and that then never
arrive, so that the sender retransmits them: Wireshark flags the second copy as
``tcp.analysis.retransmission``. We drop a random share of the IPv4 packets a host *receives*, in
its own namespace (nftables ``numgen random mod N == 0 drop`` on the input hook, built with pyroute2,
no `nft` process). ARP is untouched, so address resolution still shows cleanly. The namespace is a
lab name (``lab-client``), or a PID or a /proc/PID/ns/net path: a container's namespace (compose).

Why not `tc netem`: many VM kernels (this project's CI among them) are built without sch_netem,
while nf_tables with numgen is everywhere a Debian kernel is. The table lives in the host's
namespace and disappears with it.
"""
from __future__ import annotations

from dataclasses import dataclass

from capture.errors import NetworkSetupError, inside
from capture.text import N_, Text
from capture.nsutil import NetnsRef, in_netns

TABLE = "lab-loss"
CHAIN = "input"
NF_DROP = 0
NFT_NG_RANDOM = 1
NFT_REG_1 = 1


@dataclass(frozen=True)
class RandomLoss:
    """Drop one in ``one_in`` received IPv4 packets at random (one_in=5: 20 % loss)."""

    one_in: int

    def __post_init__(self) -> None:
        if not 2 <= self.one_in <= 1000:
            raise ValueError("one_in must be 2..1000 (a loss of 50 % to 0.1 %)")

    @property
    def percent(self) -> float:
        return 100.0 / self.one_in


def _expr(name: str, prefix: str, **data: object) -> dict[str, object]:
    attrs = [(f"NFTA_{prefix}_{key.upper()}", value) for key, value in data.items()]
    return {"attrs": [("NFTA_EXPR_NAME", name), ("NFTA_EXPR_DATA", {"attrs": attrs})]}


def _drop_rule(loss: RandomLoss) -> list[dict[str, object]]:
    """``numgen random mod N`` into reg 1, ``reg1 == 0``, verdict drop."""
    return [
        _expr("numgen", "NG", dreg=NFT_REG_1, modulus=loss.one_in, type=NFT_NG_RANDOM),
        _expr("cmp", "CMP", sreg=NFT_REG_1, op=0, data={"attrs": [("NFTA_DATA_VALUE", b"\0\0\0\0")]}),
        _expr("immediate", "IMMEDIATE", dreg=0,
              data={"attrs": [("NFTA_DATA_VERDICT", {"attrs": [("NFTA_VERDICT_CODE", NF_DROP)]})]}),
    ]


def add_receive_loss(netns: NetnsRef, loss: RandomLoss) -> None:
    """Install the drop rule in ``netns`` (input hook, IPv4): a lab name, a PID, or a path."""

    def work() -> None:
        from pyroute2.nftables.main import NFTables  # late: only `lossy` needs it

        nft = NFTables(nfgen_family=2)  # NFPROTO_IPV4
        try:
            nft.table("add", name=TABLE)
            nft.chain("add", table=TABLE, name=CHAIN, hook="input", type="filter", priority=0, policy=1)
            nft.rule("add", table=TABLE, chain=CHAIN, expressions=[_drop_rule(loss)])
        finally:
            nft.close()

    try:
        in_netns(netns, work)
    except Exception as exc:  # pyroute2 raises NetlinkError/OSError; say where it happened
        where = Text(N_("the namespace of pid {pid}"), pid=netns) if isinstance(netns, int) else str(netns)
        raise NetworkSetupError(inside(Text(N_("nftables table {table}"), table=TABLE), where),
                                Text(N_("add receive loss ({percent:g} %)"), percent=loss.percent), exc) from exc


def list_rules(netns: NetnsRef) -> list[object]:
    """The rules in our table (for tests and diagnostics)."""

    def work() -> list[object]:
        from pyroute2.nftables.main import NFTables

        nft = NFTables(nfgen_family=2)
        try:
            return [r for r in nft.get_rules() if r.get_attr("NFTA_RULE_TABLE") == TABLE]
        finally:
            nft.close()

    return in_netns(netns, work)
