"""reqresp-lab's capture analyzer: read pcap/pcapng, label every frame, summarise connections.

    from analysis import analyze
    result = analyze("reqresp.pcap")

The public API is `analyze`, `summarize`, `iter_labeled`, the `Analysis` result and the records
in `analysis.model`, and for large captures the columnar engine's `scan(path) -> Scan`
(analysis/columnar/engine.py: batches of numpy columns, memory flat in the file size); the vocabulary of names is `analysis.vocabulary`; errors are in
`analysis.errors`. The command line is `python -m analysis FILE`.
"""
from __future__ import annotations

__all__ = ["analyze", "summarize", "iter_labeled", "Analysis", "AnalysisError", "scan"]


def __getattr__(name: str):
    # Imported lazily so `import analysis.reader` stays light (the benchmark imports stages alone).
    if name == "scan":
        from .columnar import engine
        return engine.scan
    if name in __all__:
        from . import api
        return getattr(api, name)
    raise AttributeError(name)
