"""The port map: which per-frame stage each kernel of the columnar engine ports.

Every kernel claims to compute exactly what a piece of the per-frame pipeline computes; this table
says which piece, so the claim can be checked. A row names the kernel and its reference as
"module:name" (a class, a function, or a method "Class.method"), and the stage port whose
cross-engine test compares them: a stage port (compared_by "") is driven frame by frame against
its reference by one test module in tests/analysis/columnar/; its parts (the numba functions it
calls) are compared through it. tests/analysis/columnar/test_ports.py checks that both sides of
every row exist, that every module of the engine that uses numba has a row, and that each stage
port's test imports both its kernel and its reference. NOT_PORTS names the numba modules that are
storage rather than a port.

Names differ where the kernel took a stage apart: columnar.tcp.flows ports analysis.tcp.sequence,
columnar.stream_table ports TcpAnalyzer's 4-tuple dict.
"""
from __future__ import annotations

from typing import NamedTuple


class Port(NamedTuple):
    kernel: str          # "analysis.columnar.<module>:<name>"
    reference: str       # "analysis.<stage>.<module>:<name>" of the per-frame pipeline
    compared_by: str     # the stage port's kernel whose test compares this one ("" for a stage port)


# stage ports: each one compared with its reference on every frame of the corpus
READ = "analysis.columnar.read.chunks:ChunkReader"
TCP = "analysis.columnar.tcp.kernel:TcpStage"
CONN = "analysis.columnar.conn.kernel:ConnStage"
LABELS = "analysis.columnar.session.labels:LabelStage"
EXCHANGES = "analysis.columnar.session.exchanges:ExchangeStage"

PORTS: tuple[Port, ...] = (
    # read + decode: records in chunks, decoded into frame columns
    Port(READ, "analysis.decode.frame:decode_frame", ""),
    Port("analysis.columnar.read.pcap_index:index_records",
         "analysis.read.reader:CaptureReader._pcap_records", READ),
    Port("analysis.columnar.read.pcapng_index:index_blocks",
         "analysis.read.reader:CaptureReader._pcapng_blocks", READ),
    Port("analysis.columnar.decode.frames:decode_records", "analysis.decode.frame:_decode_general", READ),
    Port("analysis.columnar.decode.link:link_header", "analysis.decode.link:ethernet", READ),
    # tcp: tcp.stream and tcp.analysis.*
    Port(TCP, "analysis.tcp.analysis:TcpAnalyzer", ""),
    Port("analysis.columnar.tcp.kernel:tcp_chunk", "analysis.tcp.analysis:TcpAnalyzer.process", TCP),
    Port("analysis.columnar.tcp.flows:analyze_segment", "analysis.tcp.sequence:analyze_segment", TCP),
    Port("analysis.columnar.tcp.flows:init_flow", "analysis.tcp.sequence:Flow", TCP),
    Port("analysis.columnar.stream_table:find", "analysis.tcp.analysis:TcpAnalyzer.process", TCP),
    # conn: Zeek's conn_state and history
    Port(CONN, "analysis.conn.connections:ConnectionTracker", ""),
    Port("analysis.columnar.conn.kernel:conn_chunk", "analysis.conn.connections:ConnectionTracker.process", CONN),
    Port("analysis.columnar.conn.kernel:want_flip", "analysis.conn.connections:want_flip", CONN),
    Port("analysis.columnar.conn.packet:packet", "analysis.conn.zeek:ZeekTcp.packet", CONN),
    Port("analysis.columnar.conn.packet:control_history", "analysis.conn.zeek:ZeekTcp._control_history", CONN),
    Port("analysis.columnar.conn.endpoint:state_machine", "analysis.conn.zeek:ZeekTcp._state_machine", CONN),
    Port("analysis.columnar.conn.endpoint:init_endpoint", "analysis.conn.zeek:_init_endpoint", CONN),
    Port("analysis.columnar.conn.table:summarize", "analysis.conn.connections:ConnectionTracker._summary", CONN),
    # session: phases and labels (both apply analysis/session/label_rules.py), then exchanges
    Port(LABELS, "analysis.session.labels:FrameLabeler", ""),
    Port("analysis.columnar.session.labels:label_kernel", "analysis.session.labels:FrameLabeler.label", LABELS),
    Port(EXCHANGES, "analysis.session.exchanges:ExchangeTracker", ""),
    Port("analysis.columnar.session.reassembly:exch_kernel", "analysis.session.exchanges:_Direction.add", EXCHANGES),
    Port("analysis.columnar.session.pairing:complete_message",
         "analysis.session.exchanges:_ConnStreams.complete", EXCHANGES),
    Port("analysis.columnar.session.pairing:exchange_kind_bytes", "analysis.session.exchanges:exchange_kind",
         EXCHANGES),
    Port("analysis.columnar.session.text:exchanges_from_columns", "analysis.session.exchanges:ExchangeTracker.finish",
         EXCHANGES),
)


# Modules of the engine that use numba but port nothing: storage the per-frame pipeline gets from
# Python's dicts, lists and bytes.
NOT_PORTS: dict[str, str] = {
    "analysis.columnar.freelist": "the pools' node allocator (Python objects need none)",
    "analysis.columnar.conn.pools": "the connection stage's arrays and shared pools (per-frame: objects)",
    "analysis.columnar.session.pool": "byte chains in fixed-size blocks (per-frame: bytearray)",
}


def stage_ports() -> tuple[Port, ...]:
    return tuple(p for p in PORTS if not p.compared_by)
