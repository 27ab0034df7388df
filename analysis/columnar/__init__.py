"""The columnar engine: the same analysis as the per-frame pipeline (analysis.api), on arrays.

A capture is read in chunks; each chunk's frames are decoded into columns (one numpy array per
field, `columns.FrameColumns`) and every stage - Wireshark's TCP analysis, Zeek's connection
states, labels, request/response pairing - is a numba-compiled loop over those columns with its
per-connection state in compact arrays. No Python object is made per frame, so it runs at
millions of frames per second and its memory does not grow with the file beyond a few hundred
bytes per connection.

The per-frame pipeline stays the reference: tests/analysis/columnar/ checks that both engines
agree on every frame of every test capture.
"""

from analysis.columnar.kernel_cache import drop_stale_kernel_caches as _drop_stale_kernel_caches

_drop_stale_kernel_caches()
