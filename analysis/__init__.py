"""reqresp-lab's capture analyzer: read pcap/pcapng, label every frame, summarise connections.

    from analysis import analyze
    result = analyze("reqresp.pcap")

The public API is `analyze`, `summarize`, `iter_labeled`, `iter_frames` (decoded frames, for
checks on the bytes), the `Analysis` result and the records in `analysis.model`. `analyze()`
runs the columnar engine for captures of any size (its frames are made from the columns as they
are asked for); `scan(path) -> Scan` is that engine's own batches of numpy columns
(analysis/columnar/engine.py); `analysis.reference.analyze_reference()` is the per-frame
pipeline the engine is checked against. The vocabulary of names is `analysis.vocabulary`;
errors are in `analysis.errors`. The command line is `python -m analysis FILE`; grading a class's captures is
`analysis.grade` (`python -m analysis grade ...`).
"""
from __future__ import annotations

__all__ = ["analyze", "summarize", "iter_labeled", "iter_frames", "Analysis", "AnalysisError", "scan"]


def __getattr__(name: str):
    # Imported lazily so `import analysis.read.reader` stays light (the benchmark imports stages alone).
    if name == "scan":
        from analysis.columnar import engine
        return engine.scan
    if name in __all__:
        from analysis import api
        return getattr(api, name)
    raise AttributeError(name)
