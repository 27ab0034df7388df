"""What a stored row's fields need beyond the stored columns, kept aside by the FrameStore.

Two kinds of rows:
- ARP over untagged Ethernet with IPv4 addresses (hardware type 1, protocol 0x0800, lengths 6
  and 4, the whole 42-byte header captured): their first 42 bytes are kept, and the Ethernet
  MACs and the ARP header are read from them when a record is made, exactly as the per-frame
  decoder reads them (analysis/decode/frame.py _arp, link.ethernet_at). A capture replicated
  from lab sessions has an ARP pair per connection: 230k of 2M frames in `make bench`'s file,
  which the per-frame decoder took 33 us each to say, and whose records held 200 MB.
- every other row the columns cannot say everything of (non-IP frames, malformed frames, IP
  protocols without a decoded transport, SACK edges): what the per-frame decoder said, an Extra.

`apply` puts both into a chunk's field lists; rows are global row indexes, found by a sorted
search (a pass over every chunk must not hash the whole file's rows again for each one).
"""
from __future__ import annotations

from itertools import repeat
from typing import NamedTuple

import numpy as np

from analysis.model import ArpHeader, Malformed, TcpOptions

ARP_HEAD = 42          # Ethernet (14) + ARP for Ethernet/IPv4 (28)
# bytes 12..19: ethertype ARP, hardware type Ethernet, protocol IPv4, lengths 6 and 4
_ETH_ARP_IPV4 = np.frombuffer(b"\x08\x06\x00\x01\x08\x00\x06\x04", np.uint8)
_LINKTYPE_ETHERNET = 1
_CACHE_LIMIT = 1 << 16  # address texts kept (as decode/frame.py bounds its caches)


class Extra(NamedTuple):
    """What the per-frame decoder says of a row the columns cannot say it of."""

    src: str
    dst: str
    malformed: Malformed | None
    arp: ArpHeader | None
    tcp_options: TcpOptions | None
    icmp_type: int | None
    ip_proto: int | None


# the fields an Extra replaces (LabeledFrame name -> Extra name)
EXTRA_FIELDS = {"src": "src", "dst": "dst", "malformed": "malformed", "arp": "arp",
                "tcp_options": "tcp_options", "icmp_type": "icmp_type", "ip_proto": "ip_proto"}
_ARP_FIELDS = ("src", "dst", "arp")     # what an ARP row's head gives; its other fields are
                                        # the columns' (no malformed, options, ICMP, IP proto)


def plain_arp(heads: np.ndarray, whole: np.ndarray, linktypes: np.ndarray) -> np.ndarray:
    """Which rows (their first ARP_HEAD bytes `heads`, `whole` where all of them were captured)
    are ARP over untagged Ethernet with IPv4 addresses."""
    return (whole & (linktypes == _LINKTYPE_ETHERNET)
            & np.all(heads[:, 12:20] == _ETH_ARP_IPV4, axis=1))


class Aside:
    """The rows kept aside, by global row index."""

    def __init__(self) -> None:
        self.extras: dict[int, Extra] = {}
        self._extra_rows = np.zeros(0, np.int64)
        self._arp_parts: list[tuple[np.ndarray, np.ndarray]] = []   # (rows, heads) per chunk
        self._arp: tuple[np.ndarray, np.ndarray] | None = None      # all of them, made on use
        self._macs: dict[int, str] = {}      # address texts, by the address as an integer
        self._ipv4: dict[int, str] = {}

    def add_extra(self, row: int, extra: Extra) -> None:
        self.extras[row] = extra

    def add_arp(self, rows: np.ndarray, heads: np.ndarray) -> None:
        """Plain ARP rows (increasing, after every row added before) and their first 42 bytes."""
        if len(rows):
            self._arp_parts.append((rows.astype(np.int64), np.ascontiguousarray(heads[:, :ARP_HEAD])))
            self._arp = None

    def __len__(self) -> int:
        return len(self.extras) + sum(len(rows) for rows, _ in self._arp_parts)

    def apply(self, out: dict[str, list], rows: np.ndarray) -> None:
        """Replace, in a chunk's field lists `out` (LabeledFrame names -> one value per row of
        `rows`), the values of the rows kept aside."""
        replaced = [(name, EXTRA_FIELDS[name]) for name in out if name in EXTRA_FIELDS]
        if not replaced or not len(rows):
            return
        if self.extras:
            for pos, row in _hits(self._sorted_extra_rows(), rows):
                extra = self.extras[row]
                for name, attr in replaced:
                    out[name][pos] = getattr(extra, attr)
        if self._arp_parts and any(name in _ARP_FIELDS for name, _ in replaced):
            self._apply_arp(out, rows)

    def _sorted_extra_rows(self) -> np.ndarray:
        if len(self._extra_rows) != len(self.extras):
            self._extra_rows = np.sort(np.fromiter(self.extras, np.int64, len(self.extras)))
        return self._extra_rows

    def _apply_arp(self, out: dict[str, list], rows: np.ndarray) -> None:
        if self._arp is None:
            self._arp = (np.concatenate([r for r, _ in self._arp_parts]),
                         np.concatenate([h for _, h in self._arp_parts]))
        keys, heads = self._arp
        at = np.minimum(np.searchsorted(keys, rows), len(keys) - 1)
        pos = np.flatnonzero(keys[at] == rows)
        if not len(pos):
            return
        h = heads[at[pos]]
        # column-wise, each distinct address formatted once, as link.ethernet_at and
        # decode/frame.py _arp say them (colon hex MACs, dotted IPv4)
        made = {}
        if "src" in out:
            made["src"] = self._texts(h, 6, 6, self._macs, _mac_text)
        if "dst" in out:
            made["dst"] = self._texts(h, 0, 6, self._macs, _mac_text)
        if "arp" in out:
            opcode = ((h[:, 20].astype(np.int64) << 8) | h[:, 21]).tolist()
            made["arp"] = list(map(tuple.__new__, repeat(ArpHeader), zip(
                opcode, self._texts(h, 22, 6, self._macs, _mac_text),
                self._texts(h, 28, 4, self._ipv4, _ipv4_text),
                self._texts(h, 32, 6, self._macs, _mac_text),
                self._texts(h, 38, 4, self._ipv4, _ipv4_text))))
        positions = pos.tolist()
        for name, values in made.items():
            column = out[name]
            for p, value in zip(positions, values):
                column[p] = value

    @staticmethod
    def _texts(h: np.ndarray, start: int, size: int, cache: dict, make) -> list[str]:
        """The text of bytes [start, start + size) of every head, via `cache` (int -> text)."""
        wide = np.zeros((len(h), 8), np.uint8)
        wide[:, 8 - size:] = h[:, start:start + size]
        values, inverse = np.unique(wide.view(">u8").ravel(), return_inverse=True)
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        texts = []
        for value in values.tolist():
            text = cache.get(value)
            if text is None:
                text = cache[value] = make(value)
            texts.append(text)
        return np.array(texts, dtype=object)[np.asarray(inverse).ravel()].tolist()


def _mac_text(value: int) -> str:
    return value.to_bytes(6, "big").hex(":")


def _ipv4_text(value: int) -> str:
    return ".".join(map(str, value.to_bytes(4, "big")))


def _hits(keys: np.ndarray, rows: np.ndarray):
    """(position in rows, row) of the rows that are in the sorted `keys`."""
    at = np.minimum(np.searchsorted(keys, rows), len(keys) - 1)
    pos = np.flatnonzero(keys[at] == rows)
    return zip(pos.tolist(), rows[pos].tolist())
