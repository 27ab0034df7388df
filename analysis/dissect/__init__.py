"""Dissection with byte positions: every field of a frame named, placed and shown as Wireshark
(tshark's PDML) has it, for the packet-details and bytes panes and for display filters.

    from analysis.dissect import dissect, dissect_capture, dissect_frame
    d = dissect(frame_bytes, linktype=1)      # a Dissection: layers of Fields
    d.find("tcp.options.mss_val")[0]          # Field(name, pos, size, value, show, children)
"""
from analysis.dissect.capture import dissect_capture, dissect_frame, tcp_contexts
from analysis.dissect.core import dissect
from analysis.dissect.fields import Dissection, Field
from analysis.dissect.transport import TcpContext

__all__ = ["Dissection", "Field", "TcpContext", "dissect", "dissect_capture", "dissect_frame",
           "tcp_contexts"]
