"""Display filters that select exactly the frames we say, on one capture (issue 15 item 3).

A phase's general filter (vocabulary.PHASE_FILTERS) describes the *kind* of frame; the phase of
a frame also depends on what came before it (the ACK that answers a FIN is a teardown frame,
yet to a display filter it is an ACK like the data phase's), so on a given capture the general
filter can select a frame of another phase or miss one.  What we print for a capture is:

- the general filter itself, when it selects exactly the phase's frames on this capture (a
  student can read it and reuse it on their next capture);
- else, when it gets at most MAX_EXCEPTIONS frames wrong, the general filter corrected by
  them, `(tcp.flags.fin == 1) || frame.number in {24}` (the FINs, and frame 24: the ACK of the
  last FIN, which no display filter can tell from a data ACK): still the readable kind of
  frame, and the exceptions are named - which is itself the lesson;
- else the frame list, `frame.number in {6..21}`, exact by construction (an expression with
  many exceptions is harder to read than the list).

Which frames a filter selects is computed with analysis.filter on analysis.dissect, which agree
with tshark frame for frame (tests/analysis/test_display_filters.py); the printed filters
themselves are run through tshark on the lab scenarios and the conformance captures
(tests/analysis/test_printed_filters.py).
"""
from __future__ import annotations

import os

import weakref

from analysis import vocabulary
from analysis.filter.apply import compile_filter, frame_values
from analysis.frame_fields import field_chunks

# above this many frames the reports print the frame lists (exact) without trying expressions:
# dissecting every frame again would cost more than the report itself
MAX_FRAMES_TO_TRY = 20_000
MAX_EXCEPTIONS = 3


def exact_filter(general: str, wanted, selected) -> str:
    """`general` corrected to select exactly `wanted` (frame numbers), given the frames it
    `selected`; the plain frame list when it gets more than MAX_EXCEPTIONS frames wrong."""
    wanted, selected = set(wanted), set(selected)
    listed = vocabulary.frame_filter(wanted)
    extra, missing = sorted(selected - wanted), sorted(wanted - selected)
    if not extra and not missing:
        return general
    corrected = f"({general})"
    if extra:
        corrected += f" && !({vocabulary.frame_filter(extra)})"
    if missing:
        corrected = f"({corrected}) || {vocabulary.frame_filter(missing)}" if extra \
            else f"{corrected} || {vocabulary.frame_filter(missing)}"
    if len(extra) + len(missing) > MAX_EXCEPTIONS:
        return listed
    return corrected


# the last capture's frame values: the text, Markdown and HTML reports of one run all ask
_last: list = [None, None]          # [weakref to the Analysis, its [(number, values)]]


# the last capture's filters for all its frames: the text (per language), Markdown and HTML
# reports of one run each ask, and each answer is a pass over every frame of a big capture
_last_filters: list = [None, None]  # [weakref to the Analysis, its {phase: filter}]


def phase_filters(analysis, frames=None) -> dict[str, str]:
    """phase -> the display filter selecting exactly that phase's frames of this capture
    (`frames`: a subset of analysis.frames, e.g. one connection's), for the phases they have."""
    if frames is None or frames is analysis.frames:
        if _last_filters[0] is None or _last_filters[0]() is not analysis:
            _last_filters[:] = [weakref.ref(analysis), _phase_filters(analysis, None)]
        return dict(_last_filters[1])
    return _phase_filters(analysis, frames)


def _phase_filters(analysis, frames) -> dict[str, str]:
    members: dict[str, list[int]] = {}
    for part in field_chunks(analysis.frames if frames is None else frames, ("phase", "number")):
        for phase, number in zip(part["phase"], part["number"]):
            members.setdefault(phase, []).append(number)
    # a stream (stdin, live) cannot be read again to dissect it: then the frame lists, still exact
    if len(analysis.frames) > MAX_FRAMES_TO_TRY or not os.path.isfile(analysis.path):
        return {phase: vocabulary.frame_filter(numbers) for phase, numbers in members.items()}
    values = _frame_values(analysis)
    out = {}
    for phase in vocabulary.PHASES:
        if phase not in members:
            continue
        general = vocabulary.PHASE_FILTERS[phase]
        test = compile_filter(general)
        selected = [number for number, v in values if test.matches(v)]
        out[phase] = exact_filter(general, members[phase], selected)
    return out


def _frame_values(analysis):
    if _last[0] is not None and _last[0]() is analysis:
        return _last[1]
    from analysis.dissect.capture import dissect_capture
    values = [(d.number, frame_values(d))
              for d in dissect_capture(analysis.path, frames=analysis.frames)]
    _last[:] = [weakref.ref(analysis), values]
    return values
