"""Stage 3, TCP analysis: Wireshark's tcp.analysis flags, relative sequence numbers, and per-connection measures."""
