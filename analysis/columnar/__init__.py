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

from pathlib import Path as _Path


def _drop_stale_kernel_caches() -> None:
    """Numba's on-disk cache (cache=True) only notices a change to a kernel's own file, but the
    kernels inline each other and freeze module constants: once any module of this package is
    newer than the oldest cache index, every cached kernel goes, before one is loaded."""
    here = _Path(__file__).parent
    caches = list((here / "__pycache__").glob("*.nb[ic]"))
    indexes = [c.stat().st_mtime for c in caches if c.suffix == ".nbi"]
    if indexes and max(p.stat().st_mtime for p in here.glob("*.py")) > min(indexes):
        for cache in caches:
            cache.unlink(missing_ok=True)


_drop_stale_kernel_caches()
