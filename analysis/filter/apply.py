"""Compile a display filter and apply it to dissected frames.

    f = compile_filter('tcp.flags.syn == 1 && phase == "handshake"')
    f.matches(frame_values(dissection, labeled_frame))      # True / False
    select("reqresp.pcap", "tcp.port in {80, 2222}")        # the selected frame numbers

As Wireshark: a comparison holds when any occurrence of the field satisfies it (`!=` when the
field is there and no occurrence equals the value); a frame without the field matches no
comparison; a bare name holds when the field or protocol is present.
"""
from __future__ import annotations

import ipaddress
import operator
import os
from collections import defaultdict

from analysis.filter.fields import EITHER, PROTOCOLS, field_type, literal, typed
from analysis.filter.grammar import And, Compare, Contains, In, Not, Or, Present, Range, parse

_ORDER = {">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le}
_NETWORKS = (ipaddress.IPv4Network, ipaddress.IPv6Network)


def frame_values(dissection, labeled=None) -> dict[str, list]:
    """field name -> its shown values in this frame (protocol names -> [True]); with the
    analyzer's LabeledFrame, also `phase` and `label`."""
    values: dict[str, list] = defaultdict(list)
    for layer in dissection.layers:
        values[layer.name].append(True)
    for field in dissection.fields():
        values[field.name].append(field.show if field.name not in _BYTES_FROM_VALUE else field.value)
    for name, parts in EITHER.items():
        for part in parts:
            values[name].extend(values.get(part, ()))
    if labeled is not None:
        values["phase"].append(labeled.phase)
        values["label"].append(labeled.label)
    return values


# bytes fields whose PDML show is not their bytes (nop/eol show "01"/"00"): use the value
_BYTES_FROM_VALUE = frozenset({"tcp.options.nop", "tcp.options.eol"})


class Filter:
    """A compiled display filter."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._test = self._compile(parse(text))

    def matches(self, values: dict[str, list]) -> bool:
        return self._test(values)

    def _compile(self, node):
        if isinstance(node, Or):
            tests = [self._compile(item) for item in node.items]
            return lambda v: any(t(v) for t in tests)
        if isinstance(node, And):
            tests = [self._compile(item) for item in node.items]
            return lambda v: all(t(v) for t in tests)
        if isinstance(node, Not):
            test = self._compile(node.item)
            return lambda v: not test(v)
        kind = field_type(node.field, text=self.text, column=node.column)
        name = node.field
        if isinstance(node, Present):
            return lambda v: bool(v.get(name))
        if kind == "protocol" and name in PROTOCOLS:
            literal(kind, getattr(node, "value", None) or node.members[0], field=name, text=self.text)
        if isinstance(node, Contains):
            wanted = literal("bytes" if kind in ("bytes", "ether") else kind, node.value,
                             field=name, text=self.text)
            if kind == "string":
                return lambda v: any(wanted in s for s in v.get(name, ()))
            return lambda v: any(wanted in typed("bytes", s) for s in v.get(name, ()))
        if isinstance(node, In):
            members = []
            for member in node.members:
                if isinstance(member, Range):
                    members.append((literal(kind, member.low, field=name, text=self.text),
                                    literal(kind, member.high, field=name, text=self.text)))
                else:
                    one = literal(kind, member, field=name, text=self.text)
                    members.append((one, one))
            return lambda v: any(_in(typed(kind, s), members) for s in v.get(name, ()))
        wanted = literal(kind, node.value, field=name, text=self.text)
        op = node.op
        if op == "==":
            return lambda v: any(_equal(typed(kind, s), wanted) for s in v.get(name, ()))
        if op == "!=":
            return lambda v: bool(v.get(name)) and not any(_equal(typed(kind, s), wanted)
                                                           for s in v.get(name, ()))
        compare = _ORDER[op]
        return lambda v: any(compare(_ordered(typed(kind, s)), _ordered(wanted))
                             for s in v.get(name, ()))


def _equal(have, wanted) -> bool:
    if isinstance(wanted, _NETWORKS):
        return have in wanted
    return have == wanted


def _in(have, members) -> bool:
    for low, high in members:
        if isinstance(low, _NETWORKS):
            if have in low:
                return True
        elif low == high:
            if have == low:
                return True
        elif _ordered(low) <= _ordered(have) <= _ordered(high):
            return True
    return False


def _ordered(value):
    if isinstance(value, _NETWORKS):
        return int(value.network_address)
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return int(value)
    return value


def compile_filter(text: str) -> Filter:
    """The compiled filter; FilterError (one line) if it cannot be parsed or names a field we
    do not dissect."""
    return Filter(text)


def select(path: str | os.PathLike, text: str, *, result=None) -> list[int]:
    """The numbers of the frames of the capture at `path` the filter selects (`result`: the
    capture's analyze() result, when at hand)."""
    from analysis.dissect.capture import dissect_capture

    test = compile_filter(text)
    if result is None:
        from analysis.api import analyze
        result = analyze(path)
    by_number = {f.number: f for f in result.frames}
    return [d.number for d in dissect_capture(path, frames=result.frames)
            if test.matches(frame_values(d, by_number.get(d.number)))]
