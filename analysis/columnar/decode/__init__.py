"""The columnar engine's decoding kernels: a chunk of records into frame columns (ports of analysis.decode)."""
