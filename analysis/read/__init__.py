"""Stage 1, reading: pcap/pcapng files and streams into raw records (no parsing of a frame)."""
