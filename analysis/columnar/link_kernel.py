"""Link layer of the decode kernel (numba): big-endian readers and the link-type table.

A port of analysis/decode_link.py reduced to what the columns need: for each link type it knows,
where the network header starts and which ethertype it carries, or that the link header was cut.
"""
from __future__ import annotations

import numpy as np
from numba import njit


ETH_IPV4, ETH_ARP, ETH_RARP, ETH_IPV6 = 0x0800, 0x0806, 0x8035, 0x86DD
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


@njit(cache=True, nogil=True)
def link_header(buf, o, size, linktype):
    """(ethertype, offset, cut) as decode_link's decoders; cut: the link header was cut (their
    only malformed reason). ethertype NO_ETHERTYPE for None, UNKNOWN_LINK for no decoder."""
    if linktype == 1:                                    # Ethernet, 802.1Q / 802.1ad / Q-in-Q
        if size < 14:
            return NO_ETHERTYPE, size, True
        ethertype = be16(buf, o + 12)
        off = 14
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
