"""The columnar engine's connection-state kernels (ports of analysis.conn)."""
