"""The columnar engine's TCP analysis kernels (ports of analysis.tcp)."""
