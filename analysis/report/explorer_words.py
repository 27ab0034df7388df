"""The explorer's own words, in the report's language: the page's fixed texts, Wireshark's field
titles, and the messages its script shows, all translated through the gettext catalog.

    texts = page_texts(t)            # explorer.html's $slots -> translated, HTML-escaped text
    titles = field_titles(t)         # {"ip.ttl": "Time to Live", ...} in t's language
    catalog = script_catalog(t)      # the script's msgids -> msgstrs, and the plural rule

The script (explorer/explorer.js) calls `gettext("Apply")` / `ngettext("{count} byte", ...)`
with English msgids, as Django's JavaScript catalog works: the msgids are declared here with
N_()/NP_() (so the catalog's completeness test finds them), translated when the page is rendered,
and embedded in the page's data; the script never carries a translation of its own.
tests/analysis/test_explorer_i18n.py checks that the script's calls and SCRIPT_MESSAGES agree.
"""
from __future__ import annotations

import gettext
import html

from analysis.i18n import N_, NP_

# explorer.html's $slots (string.Template): the page's fixed texts
PAGE_TEXTS = {
    "display_filter": N_("Display filter"),
    "filter_example": N_("e.g. {examples}"),
    "apply": N_("Apply"), "clear": N_("Clear"),
    "col_no": N_("No."), "col_time": N_("Time"), "col_source": N_("Source"),
    "col_destination": N_("Destination"), "col_protocol": N_("Protocol"), "col_length": N_("Length"),
    "col_info": N_("Info"), "col_phase": N_("Phase"), "col_label": N_("Label"),
    "col_analysis": N_("Analysis"),
    "click_a_frame": N_("Click a frame."),
    "step_mode": N_("Step mode: along the ladder"),
    "previous_frame": N_("Previous frame"), "next_frame": N_("Next frame"),
    "follow": N_("Follow TCP stream"), "connection": N_("Connection"),
    "conversations": N_("Conversations (TCP)"), "io_graph": N_("IO graph"),
}
# display filters are Wireshark's syntax: never translated
FILTER_EXAMPLES = 'tcp.flags.syn == 1 && ip.src == 172.28.0.3, phase == "data", frame.number in {3..5}'

# Wireshark's titles of the fields, as its packet-details pane writes them ("Sequence Number: 0");
# the field's own name ([tcp.seq]) is shown beside the title in every language
FIELD_TITLES = {
    "frame.number": N_("Frame Number"), "frame.time_epoch": N_("Epoch Arrival Time"),
    "frame.len": N_("Frame Length"), "frame.cap_len": N_("Capture Length"),
    "eth.dst": N_("Destination"), "eth.src": N_("Source"), "eth.type": N_("Type"),
    "arp.hw.type": N_("Hardware type"), "arp.proto.type": N_("Protocol type"),
    "arp.hw.size": N_("Hardware size"), "arp.proto.size": N_("Protocol size"),
    "arp.opcode": N_("Opcode"), "arp.src.hw_mac": N_("Sender MAC address"),
    "arp.src.proto_ipv4": N_("Sender IP address"), "arp.dst.hw_mac": N_("Target MAC address"),
    "arp.dst.proto_ipv4": N_("Target IP address"),
    "ip.version": N_("Version"), "ip.hdr_len": N_("Header Length"),
    "ip.dsfield": N_("Differentiated Services Field"),
    "ip.dsfield.dscp": N_("Differentiated Services Codepoint"),
    "ip.dsfield.ecn": N_("Explicit Congestion Notification"),
    "ip.len": N_("Total Length"), "ip.id": N_("Identification"), "ip.flags": N_("Flags"),
    "ip.flags.rb": N_("Reserved bit"), "ip.flags.df": N_("Don't fragment"),
    "ip.flags.mf": N_("More fragments"), "ip.frag_offset": N_("Fragment Offset"),
    "ip.ttl": N_("Time to Live"), "ip.proto": N_("Protocol"), "ip.checksum": N_("Header Checksum"),
    "ip.src": N_("Source Address"), "ip.dst": N_("Destination Address"),
    "tcp.srcport": N_("Source Port"), "tcp.dstport": N_("Destination Port"),
    "tcp.stream": N_("Stream index"), "tcp.len": N_("TCP Segment Len"),
    "tcp.seq": N_("Sequence Number (relative)"), "tcp.seq_raw": N_("Sequence Number (raw)"),
    "tcp.nxtseq": N_("Next Sequence Number (relative)"),
    "tcp.ack": N_("Acknowledgment Number (relative)"), "tcp.ack_raw": N_("Acknowledgment number (raw)"),
    "tcp.hdr_len": N_("Header Length"), "tcp.flags": N_("Flags"), "tcp.flags.res": N_("Reserved"),
    "tcp.flags.ae": N_("Accurate ECN"), "tcp.flags.cwr": N_("Congestion Window Reduced"),
    "tcp.flags.ece": N_("ECN-Echo"), "tcp.flags.urg": N_("Urgent"),
    "tcp.flags.ack": N_("Acknowledgment"), "tcp.flags.push": N_("Push"), "tcp.flags.reset": N_("Reset"),
    "tcp.flags.syn": N_("Syn"), "tcp.flags.fin": N_("Fin"), "tcp.flags.str": N_("TCP Flags"),
    "tcp.window_size_value": N_("Window"), "tcp.window_size": N_("Calculated window size"),
    "tcp.checksum": N_("Checksum"), "tcp.urgent_pointer": N_("Urgent Pointer"),
    "tcp.options": N_("Options"), "tcp.options.mss": N_("Maximum segment size"),
    "tcp.options.mss_val": N_("MSS Value"), "tcp.options.sack_perm": N_("SACK permitted"),
    "tcp.options.timestamp": N_("Timestamps"), "tcp.options.timestamp.tsval": N_("Timestamp value"),
    "tcp.options.timestamp.tsecr": N_("Timestamp echo reply"),
    "tcp.options.nop": N_("No-Operation (NOP)"), "tcp.options.wscale": N_("Window scale"),
    "tcp.options.wscale.shift": N_("Shift count"), "tcp.options.wscale.multiplier": N_("Multiplier"),
    "tcp.option_kind": N_("Kind"), "tcp.option_len": N_("Length"), "tcp.payload": N_("TCP payload"),
    "udp.srcport": N_("Source Port"), "udp.dstport": N_("Destination Port"), "udp.length": N_("Length"),
    "udp.checksum": N_("Checksum"), "data.data": N_("Data"), "data.len": N_("Length"),
}

# Wireshark shows a flag bit as Set / Not set; the script reads the words back to 1 / 0
BOOL_SHOWN = (N_("Not set"), N_("Set"))

# every msgid explorer.js passes to gettext() (singular) or ngettext() (singular, plural)
SCRIPT_MESSAGES = (
    # the display filter's messages (the page's own parser; analysis/filter says the same in Python)
    N_("column {column}: {message}"),
    N_("a quoted string is not closed"),
    N_("unexpected character '{char}'"),
    N_("the filter is empty (e.g. tcp.flags.syn == 1)"),
    N_("expected {what}, got '{token}'"),
    N_("expected {what}, got the end"),
    N_("expected '&&' or '||' or the end, got '{token}'"),
    N_("a field name"), N_("an operator"), N_("a value"),
    N_("'{value}' is not an integer (for {field})"),
    N_("'{value}' is not an IPv4 address (write it without quotes) (for {field})"),
    N_("'{value}' is not an IPv4 address or network (for {field})"),
    N_("'{value}' is not an IPv6 address or network (for {field})"),
    N_("'{value}' is not a MAC address (for {field})"),
    N_("'{value}' is not bytes (01:02:03) or a quoted string (for {field})"),
    N_("'{value}' is not a number (for {field})"),
    N_("'{field}' is a protocol: it can only be tested for presence"),
    N_("'{field}' is not a field we dissect"),
    N_("Invalid filter: {message}. The list still shows the previous filter's frames."),
    N_("No frame matches this filter."),
    # the packet list, the details and bytes panes, step mode
    N_("Displayed: {shown} of {total}"),
    NP_("Displayed: {shown} of {total} (the page holds {total} of {count} frame)",
        "Displayed: {shown} of {total} (the page holds {total} of {count} frames)"),
    NP_("{name}: {count} byte at offset {pos}", "{name}: {count} bytes at offset {pos}"),
    N_("Frame {frame}: {label} ({phase})"),
    N_("frame {at} of {count} on the ladder"),
    # Follow TCP stream, Conversations, the IO graph
    N_("(no payload in this connection's frames on this page)"),
    N_("(no TCP connection)"),
    N_("Stream"), N_("Address A"), N_("Port A"), N_("Address B"), N_("Port B"), N_("Packets"),
    N_("Bytes"), N_("Packets A → B"), N_("Bytes A → B"), N_("Packets B → A"), N_("Bytes B → A"),
    N_("Rel Start"), N_("Duration"),
    NP_("The first {shown} of {count} conversation.", "The first {shown} of {count} conversations."),
    N_("frames per {interval} s (max {max})"),
    N_("bytes per {interval} s (max {max})"),
    N_("0 s … {end} s, whole capture"),
)


def page_texts(t: gettext.NullTranslations) -> dict[str, str]:
    """explorer.html's slots in t's language, escaped for HTML text and attributes."""
    texts = {slot: t.gettext(msgid) for slot, msgid in PAGE_TEXTS.items()}
    texts["filter_example"] = texts["filter_example"].format(examples=FILTER_EXAMPLES)
    return {slot: html.escape(text) for slot, text in texts.items()}


def field_titles(t: gettext.NullTranslations) -> dict[str, str]:
    return {name: t.gettext(title) for name, title in FIELD_TITLES.items()}


def plural_rule(t: gettext.NullTranslations) -> str:
    """The catalog's plural expression (its Plural-Forms header: C syntax, which is also JS), or
    gettext's own rule for English, the messages as written. gettext.c2py refuses anything but
    the C expression gettext allows, so what the page evaluates is only that."""
    header = t.info().get("plural-forms", "nplurals=2; plural=(n != 1);")
    expression = header.split("plural=", 1)[1].rsplit(";", 1)[0].strip() if "plural=" in header else "(n != 1)"
    gettext.c2py(expression)
    return expression


def _plural_forms(t, singular: str, plural: str, rule) -> list[str]:
    """Every form of a plural message, in the order of the rule's indexes (a form's n: the first
    count the rule maps to its index)."""
    forms: dict[int, str] = {}
    for n in range(1000):
        forms.setdefault(rule(n), t.ngettext(singular, plural, n))
    return [forms[i] for i in range(max(forms) + 1)]


def script_catalog(t: gettext.NullTranslations) -> dict:
    """What the script's gettext()/ngettext() read: {"plural": rule, "messages": {msgid: msgstr},
    "plurals": {singular + NUL + plural: [form, ...]}, "bool": [not set, set]}."""
    expression = plural_rule(t)
    rule = gettext.c2py(expression)
    messages, plurals = {}, {}
    for message in SCRIPT_MESSAGES:
        if isinstance(message, tuple):
            plurals["\0".join(message)] = _plural_forms(t, *message, rule)
        else:
            messages[message] = t.gettext(message)
    return {"plural": expression, "messages": messages, "plurals": plurals,
            "bool": [t.gettext(word) for word in BOOL_SHOWN]}
