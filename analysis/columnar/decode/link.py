"""Link layer of the decode kernel (numba): big-endian readers and the link-type table.

A port of analysis/decode/link.py reduced to what the columns need: for each link type it knows,
where the network header starts and which ethertype it carries, or that the link header was cut;
and `peel`, its PPPoE session / MPLS label stack step.
"""
from __future__ import annotations

import numpy as np
from numba import njit


ETH_IPV4, ETH_ARP, ETH_RARP, ETH_IPV6 = 0x0800, 0x0806, 0x8035, 0x86DD
ETH_PPPOE_SESSION, ETH_MPLS, ETH_MPLS_MULTICAST = 0x8864, 0x8847, 0x8848   # decode_link's
PPP_IPV4, PPP_IPV6 = 0x0021, 0x0057
UNDECODED_PPP, UNDECODED_MPLS = 1 << 16, 2 << 16     # decode_link.UNDECODED_* << 16
NO_ETHERTYPE, UNKNOWN_LINK = -1, -2


@njit(cache=True, nogil=True)
def be16(buf, p):
    return (np.int64(buf[p]) << 8) | np.int64(buf[p + 1])


@njit(cache=True, nogil=True)
def be32(buf, p):
    return (be16(buf, p) << 16) | be16(buf, p + 2)


@njit(cache=True, nogil=True)
def be64(buf, p):
    value = np.uint64(0)
    for k in range(8):
        value = (value << np.uint64(8)) | np.uint64(buf[p + k])
    return value


@njit(cache=True, nogil=True)
def _family_ethertype(family):
    if family == 2:
        return ETH_IPV4
    if family == 24 or family == 28 or family == 30:
        return ETH_IPV6
    return NO_ETHERTYPE


@njit(cache=True, nogil=True, inline='always')
def ethernet_at(buf, o, size, base):
    """decode_link.ethernet_at: (ethertype, offset, cut) of an Ethernet header at record byte
    `base` (record: buf[o:o+size])."""
    if size < base + 14:
        return NO_ETHERTYPE, size, True
    ethertype = be16(buf, o + base + 12)
    off = base + 14
    while ethertype == 0x8100 or ethertype == 0x88A8 or ethertype == 0x9100:
        if size < off + 4:
            return NO_ETHERTYPE, off, True
        ethertype = be16(buf, o + off + 2)
        off += 4
    if ethertype <= 1500:
        # 802.3 length field: only LLC/SNAP (AA AA 03, OUI 000000) carries an ethertype
        p = o + off
        if (size >= off + 8 and buf[p] == 0xAA and buf[p + 1] == 0xAA and buf[p + 2] == 0x03
                and buf[p + 3] == 0 and buf[p + 4] == 0 and buf[p + 5] == 0):
            ethertype = be16(buf, p + 6)
            off += 8
        else:
            ethertype = NO_ETHERTYPE
    return ethertype, off, False


@njit(cache=True, nogil=True, inline='always')
def peel(buf, o, size, ethertype, off):
    """decode_link.peel: (ethertype, offset, undecoded, cut) after a PPPoE session header or an
    MPLS label stack at record byte `off`; ethertype NO_ETHERTYPE where the payload is not
    decoded (undecoded: its code, else -1) or a header is cut (cut True)."""
    if ethertype == ETH_PPPOE_SESSION:
        if size - off < 8:
            return NO_ETHERTYPE, off, -1, True
        protocol = be16(buf, o + off + 6)
        off += 8
        if protocol == PPP_IPV4:
            return ETH_IPV4, off, -1, False
        if protocol == PPP_IPV6:
            return ETH_IPV6, off, -1, False
        return NO_ETHERTYPE, off, UNDECODED_PPP | protocol, False
    if ethertype == ETH_MPLS or ethertype == ETH_MPLS_MULTICAST:
        while True:                                      # label stack entries until bottom of stack
            if size - off < 4:
                return NO_ETHERTYPE, off, -1, True
            off += 4
            if buf[o + off - 2] & 0x01:
                break
        if off >= size:
            return NO_ETHERTYPE, off, -1, True
        version = np.int64(buf[o + off]) >> 4
        if version == 4:
            return ETH_IPV4, off, -1, False
        if version == 6:
            return ETH_IPV6, off, -1, False
        return NO_ETHERTYPE, off, UNDECODED_MPLS | version, False
    return ethertype, off, -1, False


@njit(cache=True, nogil=True)
def link_header(buf, o, size, linktype):
    """(ethertype, offset, cut) as decode_link's decoders; cut: the link header was cut (their
    only malformed reason). ethertype NO_ETHERTYPE for None, UNKNOWN_LINK for no decoder."""
    if linktype == 1:                                    # Ethernet, 802.1Q / 802.1ad / Q-in-Q
        return ethernet_at(buf, o, size, 0)
    if linktype == 113:                                  # Linux SLL
        if size < 16:
            return NO_ETHERTYPE, size, True
        protocol = be16(buf, o + 14)
        return (protocol if protocol >= 0x0600 else NO_ETHERTYPE), 16, False
    if linktype == 276:                                  # Linux SLL2
        if size < 20:
            return NO_ETHERTYPE, size, True
        protocol = be16(buf, o)
        return (protocol if protocol >= 0x0600 else NO_ETHERTYPE), 20, False
    if linktype == 0:                                    # BSD NULL, host byte order
        if size < 4:
            return NO_ETHERTYPE, size, True
        family = be32(buf, o)
        if family & 0xFFFF0000:
            family = ((np.int64(buf[o + 3]) << 24) | (np.int64(buf[o + 2]) << 16)
                      | (np.int64(buf[o + 1]) << 8) | np.int64(buf[o]))
        return _family_ethertype(family), 4, False
    if linktype == 108:                                  # OpenBSD LOOP, network byte order
        if size < 4:
            return NO_ETHERTYPE, size, True
        return _family_ethertype(be32(buf, o)), 4, False
    if linktype == 101 or linktype == 12 or linktype == 14:   # raw IP
        if size == 0:
            return NO_ETHERTYPE, 0, True
        version = np.int64(buf[o]) >> 4
        if version == 4:
            return ETH_IPV4, 0, False
        if version == 6:
            return ETH_IPV6, 0, False
        return NO_ETHERTYPE, 0, False
    if linktype == 228:
        return ETH_IPV4, 0, False
    if linktype == 229:
        return ETH_IPV6, 0, False
    return UNKNOWN_LINK, 0, False
