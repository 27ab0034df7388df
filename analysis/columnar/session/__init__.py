"""The columnar engine's label and exchange kernels (ports of analysis.session)."""
