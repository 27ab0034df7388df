"""Wireshark display filters over the fields analysis.dissect shows, plus our `phase` / `label`.

    from analysis.filter import compile_filter, select
    select("reqresp.pcap", 'tcp.flags.syn == 1 || phase == "teardown"')    # [1, 2, 22, 23, 24]
"""
from analysis.filter.apply import Filter, compile_filter, frame_values, select
from analysis.filter.fields import FIELD_TYPES

__all__ = ["FIELD_TYPES", "Filter", "compile_filter", "frame_values", "select"]
