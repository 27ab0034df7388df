"""Decode captured records into FrameColumns rows (numba kernel): link, network, transport headers.

An exact port of the per-frame decoder - analysis/decode/frame.py (`_decode_general`, `_network`,
`_tunnel`, `_arp`), analysis/decode/link.py (every link type it knows, `ethernet_at`, `peel`)
and analysis/decode/ip.py (`ipv4`, `ipv6`, `transport`, `_tcp_options`, `_checksum_ok`) -
reduced to what FrameColumns keeps: the same branches in the same order, the same lengths, the
same checksum rule, the same malformed / truncated outcome (as the MAL_* code - vocabulary.MALFORMED's -
and the cut-header flag rather than the message), the same undecoded code. A tunnel (GRE, VXLAN) is decoded as the
reference does, one level after the other: the row is decoded again from the tunnel's payload
(buf[payload_off:][:payload_cap], payload_len bytes on the wire), and put back as it was when
the inner packet has no network layer we decode.

    n_fallback = decode_records(buf, rec_off, rec_len, rec_wire, rec_link, n, verify,
                                len_max, wscale_max, arp_op_max, <FrameColumns fields from
                                caplen to sack_blocks>, fallback)

Record i is buf[rec_off[i]:rec_off[i] + rec_len[i]]. `number` and `ts_ns` are not touched (the
record indexer fills them). A record the kernel does not decode itself gets fallback[i] = 1 and
its row is left for the caller to fill from the per-frame decoder (columns.fill_from_frame):
an unknown link type (the reference raises UnknownLinkTypeError), IPv6 extension headers, a
wire length below the captured length (lengths derived from it could go negative), and values
the columns' dtypes cannot hold (the reference's fill_from_frame decides what happens then).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from analysis.columnar.decode.link import (ETH_ARP, ETH_IPV4, ETH_IPV6, ETH_RARP, UNKNOWN_LINK, be16, be32, be64,
                          ethernet_at, link_header, peel)

# codes of analysis/columnar/columns.py (NETS, PROTOS, MAL_*); tests check they still match
NET_OTHER, NET_IPV4, NET_IPV6, NET_ARP, NET_RARP = 0, 1, 2, 3, 4
P_OTHER, P_TCP, P_UDP, P_ICMP, P_ICMPV6, P_ARP, P_RARP, P_IPV4, P_IPV6 = 0, 1, 2, 3, 4, 5, 6, 7, 8
MAL_NONE, MAL_TCP_OPTIONS, MAL_TCP_CUT, MAL_TCP_INVALID, MAL_CUT, MAL_LENGTH, MAL_INVALID = 0, 1, 2, 3, 4, 5, 6
P_GRE = 9           # a GRE packet, in the row only (decode_ip's proto "gre"): never a column value
ETH_TEB, VXLAN_PORT, VXLAN_HEADER, MAX_TUNNELS = 0x6558, 4789, 8, 4     # decode_link's

# one decoded row, as int64 scratch (addresses are written from R_ADDR, their position in buf)
(R_NET, R_PROTO, R_FAMILY, R_ADDR, R_SPORT, R_DPORT, R_FLAGS, R_SEQ, R_ACK, R_WIN, R_WSCALE,
 R_PLEN, R_POFF, R_PCAP, R_CSUM, R_MAL, R_CUT, R_ARP_OP, R_ARP_SPA, R_ARP_TPA, R_ARP_V4, R_ICMP,
 R_FALLBACK, R_UNDEC, R_MSS, R_SACK, R_TSVAL, R_TSECR, R_SACKS) = range(29)
ROW_FIELDS = 29


@njit(cache=True, nogil=True)
def _sum16(buf, start, length):
    """Sum of the big-endian 16-bit words of buf[start:start+length], an odd tail padded with 0:
    modulo 0xFFFF this is decode_ip._checksum_ok's big integer (2**16 == 1 mod 0xFFFF)."""
    total = np.int64(0)
    k = start
    end = start + length
    while k + 1 < end:
        total += (np.int64(buf[k]) << 8) | np.int64(buf[k + 1])
        k += 2
    if k < end:
        total += np.int64(buf[k]) << 8
    return total


@njit(cache=True, nogil=True)
def _payload(row, o, size, start, stop):
    """The payload is data[start:stop] (record-relative, Python slice rules, both >= 0)."""
    if start < 0 or stop < 0:      # cannot happen once wirelen >= caplen; never guess a slice
        row[R_FALLBACK] = 1
        return
    start = min(start, size)
    stop = min(stop, size)
    row[R_POFF] = o + start
    row[R_PCAP] = max(stop - start, 0)


@njit(cache=True, nogil=True)
def _options(buf, p, end):
    """decode_ip._tcp_options over buf[p:end], keeping what the columns hold: (window-scale
    shift, MSS, SACK permitted, TSval, TSecr, number of SACK blocks), -1 where absent (0 for
    SACK permitted and the blocks: their edges are left to the per-frame decoder)."""
    wscale = np.int64(-1)
    mss = np.int64(-1)
    sack = np.int64(0)
    ts_val = np.int64(-1)
    ts_ecr = np.int64(-1)
    blocks = np.int64(0)
    while p < end:
        kind = np.int64(buf[p])
        if kind == 0:
            break
        if kind == 1:
            p += 1
            continue
        if p + 1 >= end:
            break
        length = np.int64(buf[p + 1])
        if length < 2 or p + length > end:
            break
        if kind == 2 and length == 4:
            mss = be16(buf, p + 2)
        elif kind == 3 and length == 3:
            wscale = np.int64(buf[p + 2])
        elif kind == 4 and length == 2:
            sack = np.int64(1)
        elif kind == 5 and length >= 10:
            blocks = np.int64((length - 2) // 8)
        elif kind == 8 and length == 10:
            ts_val = be32(buf, p + 2)
            ts_ecr = be32(buf, p + 6)
        p += length
    return wscale, mss, sack, ts_val, ts_ecr, blocks


@njit(cache=True, nogil=True)
def _transport(buf, o, size, t, seg_len, ip_proto, pseudo, verify, v6, wscale_max, row):
    """decode_ip.transport: the header at data[t:], seg_len bytes on the wire."""
    have = size - t
    whole = have >= seg_len
    q = o + t
    if ip_proto == 6:
        row[R_PROTO] = P_TCP
        if have < 20 or seg_len < 20:
            if have >= 4:
                row[R_SPORT] = be16(buf, q)
                row[R_DPORT] = be16(buf, q + 2)
            row[R_MAL] = MAL_TCP_CUT if have < 20 else MAL_TCP_INVALID
            row[R_CUT] = have < 20
            return
        offflags = be16(buf, q + 12)
        hlen = (offflags >> 12) * 4
        wscale = np.int64(-1)
        mss = np.int64(-1)
        sack = np.int64(0)
        ts_val = np.int64(-1)
        ts_ecr = np.int64(-1)
        blocks = np.int64(0)
        if hlen < 20 or hlen > seg_len:
            row[R_MAL] = MAL_TCP_INVALID
            hlen = 20 if hlen < 20 else seg_len
        elif hlen > 20:
            wscale, mss, sack, ts_val, ts_ecr, blocks = _options(buf, q + 20, q + min(hlen, have))
            if have < hlen:
                row[R_MAL] = MAL_TCP_OPTIONS
                row[R_CUT] = 1
        if wscale > wscale_max:
            row[R_FALLBACK] = 1
        row[R_SPORT] = be16(buf, q)
        row[R_DPORT] = be16(buf, q + 2)
        row[R_SEQ] = be32(buf, q + 4)
        row[R_ACK] = be32(buf, q + 8)
        row[R_FLAGS] = offflags & 0x0FFF
        row[R_WIN] = be16(buf, q + 14)
        row[R_WSCALE] = wscale
        row[R_MSS] = mss
        row[R_SACK] = sack
        row[R_TSVAL] = ts_val
        row[R_TSECR] = ts_ecr
        row[R_SACKS] = blocks
        if verify and whole:
            if (_sum16(buf, q, seg_len) + pseudo + seg_len) % 0xFFFF == 0:
                row[R_CSUM] = 1
            else:
                # 2: wrong exactly as checksum offload leaves it (checksums.offload_pattern)
                field = be16(buf, q + 16)
                row[R_CSUM] = 2 if field == 0 or field % 0xFFFF == (pseudo + seg_len) % 0xFFFF else 0
        row[R_PLEN] = seg_len - hlen
        _payload(row, o, size, t + hlen, t + seg_len)
    elif ip_proto == 17:
        row[R_PROTO] = P_UDP
        if have < 8:
            row[R_MAL] = MAL_CUT
            row[R_CUT] = 1
            return
        row[R_SPORT] = be16(buf, q)
        row[R_DPORT] = be16(buf, q + 2)
        ulen = be16(buf, q + 4)
        if 8 <= ulen <= seg_len:
            seg_len = ulen                     # bytes after the UDP length are IP-level padding
        else:
            row[R_MAL] = MAL_LENGTH
        if verify and whole and (be16(buf, q + 6) != 0 or v6):   # IPv4 0: not computed
            row[R_CSUM] = (_sum16(buf, q, seg_len) + pseudo + seg_len) % 0xFFFF == 0
        row[R_PLEN] = max(seg_len - 8, 0)
        _payload(row, o, size, t + 8, t + seg_len)
    elif ip_proto == 1 or ip_proto == 58:
        row[R_PROTO] = P_ICMP if ip_proto == 1 else P_ICMPV6
        if have < 4:
            row[R_MAL] = MAL_CUT
            row[R_CUT] = 1
            return
        row[R_PLEN] = max(seg_len - 8, 0)
        _payload(row, o, size, t + 8, t + seg_len)
        row[R_ICMP] = buf[q]
    else:
        row[R_PROTO] = P_GRE if ip_proto == 47 else P_IPV6 if v6 else P_IPV4
        row[R_PLEN] = seg_len
        _payload(row, o, size, t, t + seg_len)


@njit(cache=True, nogil=True)
def _ipv4(buf, o, size, wirelen, off, verify, wscale_max, row):
    row[R_NET] = NET_IPV4
    row[R_PROTO] = P_IPV4
    have = size - off
    if have < 20:
        row[R_MAL] = MAL_CUT
        row[R_CUT] = 1
        return
    p = o + off
    vihl = np.int64(buf[p])
    total = be16(buf, p + 2)
    frag = be16(buf, p + 6)
    ip_proto = np.int64(buf[p + 9])
    ihl = (vihl & 0x0F) * 4
    row[R_FAMILY] = 4
    row[R_ADDR] = p + 12
    if vihl >> 4 != 4 or ihl < 20:
        row[R_MAL] = MAL_INVALID
        return
    if have < ihl:
        row[R_MAL] = MAL_CUT
        row[R_CUT] = 1
        return
    exceeds = False
    on_wire = wirelen - off
    if total == 0:                        # TSO / offloaded send: the length was never filled in
        total = on_wire
    elif total < ihl:
        row[R_MAL] = MAL_LENGTH
        return
    elif total > on_wire:
        exceeds = True
        total = on_wire
    if frag & 0x1FFF:                     # not the first fragment: no transport header here
        row[R_PLEN] = total - ihl
        _payload(row, o, size, off + ihl, off + total)
    else:
        pseudo = _sum16(buf, p + 12, 8) + ip_proto if verify else 0
        _transport(buf, o, size, off + ihl, total - ihl, ip_proto, pseudo, verify, False,
                   wscale_max, row)
    if exceeds and row[R_MAL] == MAL_NONE:
        row[R_MAL] = MAL_LENGTH


@njit(cache=True, nogil=True)
def _ipv6(buf, o, size, wirelen, off, verify, wscale_max, row):
    row[R_NET] = NET_IPV6
    row[R_PROTO] = P_IPV6
    have = size - off
    if have < 40:
        row[R_MAL] = MAL_CUT
        row[R_CUT] = 1
        return
    p = o + off
    plen = be16(buf, p + 4)
    nxt = np.int64(buf[p + 6])
    row[R_FAMILY] = 6
    row[R_ADDR] = p + 8
    exceeds = False
    on_wire = wirelen - off - 40
    if plen == 0 or plen > on_wire:       # jumbogram / offload (0), or a lying length
        exceeds = plen > on_wire
        plen = on_wire
    if nxt == 0 or nxt == 43 or nxt == 44 or nxt == 51 or nxt == 60:
        row[R_FALLBACK] = 1               # extension headers: left to the per-frame decoder
        return
    pseudo = _sum16(buf, p + 8, 32) + nxt if verify else 0
    _transport(buf, o, size, off + 40, plen, nxt, pseudo, verify, True, wscale_max, row)
    if exceeds and row[R_MAL] == MAL_NONE:
        row[R_MAL] = MAL_LENGTH


@njit(cache=True, nogil=True)
def _arp(buf, o, size, off, rarp, arp_op_max, row):
    row[R_NET] = NET_RARP if rarp else NET_ARP
    row[R_PROTO] = P_RARP if rarp else P_ARP
    have = size - off
    if have < 8:
        row[R_MAL] = MAL_CUT
        row[R_CUT] = 1
        return
    p = o + off
    ptype = be16(buf, p + 2)
    hlen = np.int64(buf[p + 4])
    plen = np.int64(buf[p + 5])
    opcode = be16(buf, p + 6)
    if have < 8 + 2 * hlen + 2 * plen:
        row[R_MAL] = MAL_CUT
        row[R_CUT] = 1
        return
    if opcode > arp_op_max:
        row[R_FALLBACK] = 1
    row[R_ARP_OP] = opcode
    if ptype == ETH_IPV4 and plen == 4:
        row[R_ARP_V4] = 1
        row[R_ARP_SPA] = be32(buf, p + 8 + hlen)
        row[R_ARP_TPA] = be32(buf, p + 8 + 2 * hlen + 4)


@njit(cache=True, nogil=True, inline='always')
def _reset(row, o):
    row[:] = 0
    row[R_SPORT] = row[R_DPORT] = row[R_FLAGS] = row[R_WSCALE] = -1
    row[R_CSUM] = row[R_ARP_OP] = row[R_ICMP] = row[R_UNDEC] = row[R_MSS] = -1
    row[R_TSVAL] = row[R_TSECR] = -1
    row[R_POFF] = o


@njit(cache=True, nogil=True)
def _network(buf, o, size, wirelen, ethertype, off, cut, verify, wscale_max, arp_op_max, row):
    """decode._network: True when a network layer (IPv4, IPv6, ARP, RARP) was decoded."""
    found, off, undecoded, peel_cut = peel(buf, o, size, ethertype, off)
    if found == ETH_IPV4:
        _ipv4(buf, o, size, wirelen, off, verify, wscale_max, row)
    elif found == ETH_IPV6:
        _ipv6(buf, o, size, wirelen, off, verify, wscale_max, row)
    elif found == ETH_ARP or found == ETH_RARP:
        _arp(buf, o, size, off, found == ETH_RARP, arp_op_max, row)
    else:
        row[R_UNDEC] = found if found >= 0 else undecoded
        if cut or peel_cut:
            row[R_MAL] = MAL_CUT
            row[R_CUT] = 1
        return False
    return True


@njit(cache=True, nogil=True)
def _keep_outer(row, saved, undecoded, mal, cut):
    """decode._outer: the outer packet back, with the inner's undecoded code and (when the
    outer has none) its malformed reason."""
    row[:] = saved
    row[R_UNDEC] = undecoded
    if row[R_MAL] == MAL_NONE and mal != MAL_NONE:
        row[R_MAL] = mal
        row[R_CUT] = cut


@njit(cache=True, nogil=True)
def _tunnel_header(buf, row, saved):
    """decode._tunnel's header half, on a row whose packet is GRE or VXLAN (saved: the row):
    (ethertype, offset, cut) of what follows the header, offsets counted from payload_off; or
    ethertype UNKNOWN_LINK when the header stops us (the row is then the outer packet, with
    what stopped us)."""
    po, have = row[R_POFF], row[R_PCAP]
    if row[R_PROTO] == P_GRE:
        # flags (C 0x8000, K 0x2000, S 0x1000; version 0, no routing), protocol type, then the
        # optional checksum, key and sequence fields (4 bytes each)
        row[R_PROTO] = P_IPV6 if row[R_NET] == NET_IPV6 else P_IPV4
        saved[:] = row
        if have < 4:
            _keep_outer(row, saved, -1, MAL_CUT, 1)
            return UNKNOWN_LINK, 0, False
        flags = be16(buf, po)
        protocol = be16(buf, po + 2)
        if flags & 0x4007:                    # routing present (RFC 1701) or version 1 (PPTP)
            _keep_outer(row, saved, protocol, MAL_NONE, 0)
            return UNKNOWN_LINK, 0, False
        hsize = 4 + 4 * ((flags >> 15) & 1) + 4 * ((flags >> 13) & 1) + 4 * ((flags >> 12) & 1)
        if have < hsize:
            _keep_outer(row, saved, -1, MAL_CUT, 1)
            return UNKNOWN_LINK, 0, False
        if protocol == ETH_TEB:
            return ethernet_at(buf, po, have, hsize)
        return protocol, hsize, False
    saved[:] = row                            # VXLAN: flags, VNI, then an Ethernet frame
    if have < VXLAN_HEADER:
        _keep_outer(row, saved, -1, MAL_CUT, 1)
        return UNKNOWN_LINK, 0, False
    return ethernet_at(buf, po, have, VXLAN_HEADER)


@njit(cache=True, nogil=True)
def _tunnels(buf, verify, wscale_max, arp_op_max, row, saved):
    """decode._tunnel level after level, up to MAX_TUNNELS, on a row whose packet is GRE or
    VXLAN: the row becomes the packet inside each tunnel followed."""
    for _ in range(MAX_TUNNELS):
        proto = row[R_PROTO]
        if not (proto == P_GRE or (proto == P_UDP and row[R_DPORT] == VXLAN_PORT)):
            return
        ethertype, off, cut = _tunnel_header(buf, row, saved)
        if ethertype == UNKNOWN_LINK:
            return
        o, size, wirelen = row[R_POFF], row[R_PCAP], row[R_PLEN]
        _reset(row, o)
        found = _network(buf, o, size, wirelen, ethertype, off, cut, verify, wscale_max,
                         arp_op_max, row)
        if row[R_FALLBACK]:
            return
        if not found:                         # the tunnel's content has no network layer
            _keep_outer(row, saved, row[R_UNDEC], row[R_MAL], row[R_CUT])
            return
        if row[R_MAL] == MAL_NONE and saved[R_MAL] != MAL_NONE:
            row[R_MAL] = saved[R_MAL]
            row[R_CUT] = saved[R_CUT]


@njit(cache=True, nogil=True)
def _decode_row(buf, o, size, wirelen, linktype, verify, wscale_max, arp_op_max, row, saved):
    """decode._decode_general: the link layer, _network, then the tunnels (_tunnels)."""
    _reset(row, o)
    if wirelen < size:
        row[R_FALLBACK] = 1
        return
    ethertype, off, cut = link_header(buf, o, size, linktype)
    if ethertype == UNKNOWN_LINK:
        row[R_FALLBACK] = 1
        return
    if ethertype == ETH_IPV4:                 # the usual network layers without _network's call
        _ipv4(buf, o, size, wirelen, off, verify, wscale_max, row)
    elif ethertype == ETH_IPV6:
        _ipv6(buf, o, size, wirelen, off, verify, wscale_max, row)
    elif ethertype == ETH_ARP or ethertype == ETH_RARP:
        _arp(buf, o, size, off, ethertype == ETH_RARP, arp_op_max, row)
    elif not _network(buf, o, size, wirelen, ethertype, off, cut, verify, wscale_max, arp_op_max,
                      row):
        return
    if row[R_FALLBACK]:
        return
    proto = row[R_PROTO]
    if proto == P_GRE or (proto == P_UDP and row[R_DPORT] == VXLAN_PORT):
        _tunnels(buf, verify, wscale_max, arp_op_max, row, saved)
        if row[R_PROTO] == P_GRE:             # a tunnel we did not follow: the network's name
            row[R_PROTO] = P_IPV6 if row[R_NET] == NET_IPV6 else P_IPV4


@njit(cache=True, nogil=True)
def decode_records(buf, rec_off, rec_len, rec_wire, rec_link, n, verify, len_max, wscale_max,
                   arp_op_max, caplen, wirelen, net, proto, family, src_hi, src_lo, dst_hi,
                   dst_lo, sport, dport, tcp_flags, seq, ack, window, wscale, payload_len,
                   payload_off, payload_cap, checksum, malformed, truncated, arp_op, arp_spa,
                   arp_tpa, arp_v4, icmp_type, undecoded, mss, sack_perm, ts_val, ts_ecr,
                   sack_blocks, fallback):
    row = np.zeros(ROW_FIELDS, np.int64)
    saved = np.zeros(ROW_FIELDS, np.int64)
    fallbacks = 0
    for i in range(n):
        o = rec_off[i]
        size = rec_len[i]
        wire = rec_wire[i]
        if size > len_max or wire > len_max:
            row[R_FALLBACK] = 1
        else:
            _decode_row(buf, o, size, wire, rec_link[i], verify, wscale_max, arp_op_max, row, saved)
        if row[R_FALLBACK]:
            fallback[i] = 1
            fallbacks += 1
            continue
        fallback[i] = 0
        caplen[i] = size
        wirelen[i] = wire
        net[i] = row[R_NET]
        proto[i] = row[R_PROTO]
        fam = row[R_FAMILY]
        a = row[R_ADDR]
        family[i] = fam
        if fam == 4:
            src_hi[i] = 0
            src_lo[i] = be32(buf, a)
            dst_hi[i] = 0
            dst_lo[i] = be32(buf, a + 4)
        elif fam == 6:
            src_hi[i] = be64(buf, a)
            src_lo[i] = be64(buf, a + 8)
            dst_hi[i] = be64(buf, a + 16)
            dst_lo[i] = be64(buf, a + 24)
        else:
            src_hi[i] = src_lo[i] = dst_hi[i] = dst_lo[i] = 0
        sport[i] = row[R_SPORT]
        dport[i] = row[R_DPORT]
        tcp_flags[i] = row[R_FLAGS]
        seq[i] = row[R_SEQ]
        ack[i] = row[R_ACK]
        window[i] = row[R_WIN]
        wscale[i] = row[R_WSCALE]
        payload_len[i] = row[R_PLEN]
        payload_off[i] = row[R_POFF]
        payload_cap[i] = row[R_PCAP]
        checksum[i] = row[R_CSUM]
        malformed[i] = row[R_MAL]
        truncated[i] = size < wire or row[R_CUT] != 0
        arp_op[i] = row[R_ARP_OP]
        arp_spa[i] = row[R_ARP_SPA]
        arp_tpa[i] = row[R_ARP_TPA]
        arp_v4[i] = row[R_ARP_V4] != 0
        icmp_type[i] = row[R_ICMP]
        undecoded[i] = row[R_UNDEC]
        mss[i] = row[R_MSS]
        sack_perm[i] = row[R_SACK] != 0
        ts_val[i] = row[R_TSVAL]
        ts_ecr[i] = row[R_TSECR]
        sack_blocks[i] = row[R_SACKS]
    return fallbacks
