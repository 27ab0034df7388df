"""Records passed between the analyzer's stages (headers as data, dpkt-style).

The pipeline, one module a stage, each consuming the previous stage's records:

    reader.py        file bytes          -> RawRecord        (pcap / pcapng framing only)
    decode.py        RawRecord           -> Frame            (link, network, transport headers)
    tcp_analysis.py  Frame               -> TcpInfo          (Wireshark's tcp.stream + tcp.analysis.*)
    connections.py   Frame + TcpInfo     -> Connection       (Zeek conn_state / history, summaries)
    labels.py        Frame + TcpInfo     -> phase / label    (our closed vocabulary, vocabulary.py)
    exchanges.py     payload streams     -> Exchange         (request/response pairing)

Every record is an immutable NamedTuple: cheap to build per frame, easy to turn into a
DataFrame row. A layer that cannot be decoded is data (`Frame.malformed`), not an exception.
"""
from __future__ import annotations

from typing import NamedTuple

from analysis.i18n import N_


class RawRecord(NamedTuple):
    """One captured record as the file holds it, before any header is decoded."""

    number: int          # 1-based frame number, as Wireshark counts
    ts_ns: int           # capture time, nanoseconds since the epoch (pcap us/ns, pcapng tsresol)
    caplen: int          # bytes captured (len(data))
    wirelen: int         # bytes on the wire (original length)
    linktype: int        # LINKTYPE_* of the record's interface (1 Ethernet, 113 SLL, 276 SLL2, ...)
    interface: int       # pcapng interface id (0 for pcap)
    data: bytes          # the captured bytes (may be a memoryview slice of an mmap)


class ArpHeader(NamedTuple):
    opcode: int          # 1 request, 2 reply, 3/4 RARP
    sha: str             # sender hardware address "aa:bb:cc:dd:ee:ff"
    spa: str             # sender protocol address (dotted IPv4; "" if not IPv4)
    tha: str
    tpa: str


# TCP flag bits (tshark's tcp.flags): TcpHeader.flags and LabeledFrame.tcp_flags hold them
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, AE = 0x001, 0x002, 0x004, 0x008, 0x010, 0x020, 0x040, 0x080, 0x100


class Malformed(NamedTuple):
    """Why decoding stopped early: a code the stages branch on, and the message people read."""

    code: str            # vocabulary.MALFORMED ("tcp-options-cut", "tcp-cut", "length", ...)
    message: str         # where and why, one line ("tcp header cut at 14 of 20 bytes")


class TcpOptions(NamedTuple):
    """The TCP options the analyzer reads (TcpHeader's option fields), None where absent."""

    mss: int | None
    wscale: int | None   # shift count of the window-scale option
    sack_permitted: bool
    sack_blocks: tuple[tuple[int, int], ...]   # raw (left, right) edges
    ts_val: int | None
    ts_ecr: int | None


class TcpHeader(NamedTuple):
    seq: int             # raw sequence number (tcp.seq_raw)
    ack: int             # raw acknowledgement number (tcp.ack_raw; present even without ACK flag)
    flags: int           # the 12 flag bits: FIN 0x001 SYN 0x002 RST 0x004 PSH 0x008 ACK 0x010
                         # URG 0x020 ECE 0x040 CWR 0x080 AE/NS 0x100 (as tshark's tcp.flags)
    window: int          # raw window field (unscaled)
    header_len: int      # data offset * 4
    checksum: int
    urgent: int
    # options, None where absent (or cut by the snaplen)
    mss: int | None
    wscale: int | None   # shift count from the SYN's window-scale option
    sack_permitted: bool
    sack_blocks: tuple[tuple[int, int], ...]   # raw (left, right) edges
    ts_val: int | None
    ts_ecr: int | None

    def options(self) -> TcpOptions:
        return TcpOptions(self.mss, self.wscale, self.sack_permitted, self.sack_blocks,
                          self.ts_val, self.ts_ecr)


class Frame(NamedTuple):
    """A decoded frame: every header we understood, plus where decoding stopped."""

    number: int
    ts_ns: int
    caplen: int
    wirelen: int
    linktype: int
    interface: int
    # link layer (None where the link type has none, e.g. raw IP)
    eth_src: str | None
    eth_dst: str | None
    vlan_ids: tuple[int, ...]   # 802.1Q / Q-in-Q tags, outermost first
    ethertype: int | None       # the network protocol (after VLAN tags / SLL protocol / NULL family)
    # network layer
    net: str                    # "ipv4" | "ipv6" | "arp" | "rarp" | "other"
    src: str | None             # IP address text (ipaddress-style compressed for IPv6)
    dst: str | None
    ip_proto: int | None        # upper-layer protocol after IPv6 extension headers
    ip_ttl: int | None          # TTL / hop limit
    # transport layer
    proto: str                  # "tcp" | "udp" | "icmp" | "icmpv6" | "arp" | "rarp" | "ipv4" | "ipv6" | "other"
    sport: int | None
    dport: int | None
    tcp: TcpHeader | None
    payload_len: int            # transport payload length from the headers' lengths (tcp.len), even if
                                # the snaplen cut some of it off
    payload: bytes              # the captured part of that payload (len <= payload_len)
    checksum_ok: bool | None    # TCP/UDP checksum verified (None: not checkable, e.g. truncated)
    arp: ArpHeader | None
    icmp_type: int | None
    icmp_code: int | None
    truncated: bool             # the snaplen cut this frame (caplen < wirelen) or a header
    malformed: Malformed | None  # why decoding stopped early (code, "tcp header cut at 14 of 20 bytes")
    encap: tuple[str, ...] = () # encapsulations passed through, outermost first
                                # (vocabulary.ENCAPSULATIONS: "pppoe", "mpls", "gre", "vxlan")
    undecoded: int | None = None  # a layer whose protocol we do not decode: decode_link.UNDECODED_*
                                # code, decode_link.undecoded_layer(code) names it

    @property
    def time(self) -> float:
        return self.ts_ns / 1e9


class TcpInfo(NamedTuple):
    """What tcp_analysis.py says about one TCP frame (tshark one-pass semantics)."""

    stream: int                 # tshark's tcp.stream, 0-based, in order of first appearance
    seq_rel: int                # relative sequence number (tcp.seq)
    ack_rel: int                # relative ack number (tcp.ack); the raw ack field when the ACK
                                # flag is off (as tshark shows it)
    next_seq_rel: int           # tcp.nxtseq
    analysis: tuple[str, ...]   # names from vocabulary.ANALYSIS_FLAGS, in that order (as tshark's
                                # fields: fast/spurious retransmissions also carry "retransmission")
    window: int                 # tcp.window_size: scaled when the scale is known, else the raw
                                # field (see scalefactor)
    from_client: bool           # direction within the stream: True = sent by the stream's
                                # first sender (tshark's notion); see connections.py for Zeek's orig
    irtt_ns: int | None = None  # tcp.analysis.initial_rtt on the frames tshark shows it (ns)
    scalefactor: int | None = None  # tcp.window_size_scalefactor: None on SYNs, -1 unknown,
                                # -2 no scaling, else the multiplier (2**shift)


class Warning(NamedTuple):      # noqa: A001 - a record, shadows nothing we use
    """A non-fatal problem: the file still yielded every whole frame before it."""

    code: str                   # "truncated-file" | "damaged-block" | "timestamp-out-of-range"
                                # | "bad-checksums" | "checksum-offload" (decode/checksums.py)
                                # | "not-decoded" (api.py, columnar/engine.py)
    message: str                # one line: what, where, what to do (English)
    frame: int | None = None
    offset: int | None = None   # byte offset in the file
    # the message as an English template (a (singular, plural) pair counts {count}) and its
    # named fields: text(t) says it in t's language (see warning())
    template: str | tuple[str, str] = ""
    fields: tuple[tuple[str, object], ...] = ()

    def text(self, t=None) -> str:
        """The message in the language of `t` (a gettext translation; None: English)."""
        if t is None or not self.template:
            return self.message
        fields = dict(self.fields)
        if isinstance(self.template, tuple):
            return t.ngettext(*self.template, fields["count"]).format(**fields)
        return t.gettext(self.template).format(**fields)


def warning(code: str, template: str | tuple[str, str], *, frame: int | None = None,
            offset: int | None = None, **fields) -> Warning:
    """A Warning from an English template (marked N_() by the caller) and its named fields."""
    fields = {"frame": frame, "offset": offset, **fields}   # a template may name them too
    english = template if isinstance(template, str) else template[fields["count"] != 1]
    return Warning(code, english.format(**fields), frame, offset, template, tuple(fields.items()))


class Connection(NamedTuple):
    """One TCP connection's summary (Zeek conn.log-compatible where Zeek has the field)."""

    id: int                     # equals TcpInfo.stream
    orig: str                   # "ip:port" (IPv6 as "[addr]:port")
    resp: str
    orig_ip: str
    orig_port: int
    resp_ip: str
    resp_port: int
    conn_state: str             # vocabulary.CONN_STATES
    history: str                # Zeek history letters
    start: float                # epoch seconds of the first frame
    duration: float
    orig_pkts: int
    orig_bytes: int             # Zeek's orig_bytes: sequence space covered (a retransmitted byte
                                # once, an acked-but-uncaptured byte too); see connections.py
    resp_pkts: int
    resp_bytes: int
    irtt: float | None          # tshark tcp.analysis.initial_rtt (SYN -> handshake ACK)
    closed_by: str | None       # "orig" | "resp" | None: who sent the first FIN (or RST)
    end: str                    # vocabulary.CONN_ENDS
    frames: tuple[int, ...]     # frame numbers of the connection, in order


class Exchange(NamedTuple):
    """A request and its response, read from the reassembled byte streams."""

    conn: int
    request: str
    response: str | None
    request_frame: int
    response_frame: int | None
    request_time: float
    latency: float | None       # seconds from the request's first byte to the response's first byte
    kind: str                   # "echo" | "vote" | "results" | "error" | "other"


class LabeledFrame(NamedTuple):
    """One frame as the analyzer reports it (a row of frames.csv, an entry of frames[] in JSON).

    Headers are kept as data (flag bits, the ARP header, the TCP options, a malformed code); the
    texts people read - the flag names and Wireshark's Info column - are views made from them
    (`flags`, `info`: analysis/frame_text.py), never parsed back."""

    number: int                 # 1-based, as Wireshark counts
    time: float                 # epoch seconds
    rel_time: float             # seconds since the first frame of the capture
    src: str                    # IP address, or MAC address for ARP / non-IP frames
    dst: str
    sport: int | None
    dport: int | None
    proto: str                  # Frame.proto
    tcp_flags: int              # the 12 TCP flag bits (tshark's tcp.flags: SYN 0x002, ACK 0x010,
                                # model.FIN..AE); 0 without a TCP header (seq_raw is None then)
    len: int                    # frame length on the wire (Wireshark's Length column)
    payload_len: int            # transport payload length (tcp.len / UDP payload)
    phase: str                  # vocabulary.PHASES
    label: str                  # vocabulary.LABELS
    direction: str | None       # "request" (client->server) | "response" | None (non-data)
    analysis: tuple[str, ...]   # vocabulary.ANALYSIS_FLAGS
    conn: int | None            # Connection.id (= tshark tcp.stream) for TCP frames
    seq: int | None             # relative sequence number
    ack: int | None             # relative acknowledgement number
    seq_raw: int | None
    ack_raw: int | None
    window: int | None          # scaled window size
    truncated: bool
    malformed: Malformed | None  # code (vocabulary.MALFORMED) and message; None: decoded whole
    arp: ArpHeader | None                 # the ARP / RARP header (opcode, sha, spa, tha, tpa)
    tcp_options: TcpOptions | None         # None without a TCP header
    icmp_type: int | None                 # ICMP / ICMPv6 type (the Info column names it)
    ip_proto: int | None                  # IP protocol after IPv6 extension headers

    # the views, imported when used: frame_text imports this module's flag bits
    @property
    def flags(self) -> str:
        """The flag names as "SYN,ACK" (Wireshark's order), "" without a TCP header."""
        from analysis.frame_text import flags_text
        return flags_text(self.tcp_flags)

    @property
    def info(self) -> str:
        """One-line summary, Wireshark's Info column style."""
        from analysis.frame_text import info_text
        return info_text(self)
