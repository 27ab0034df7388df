"""The analyzer benchmark (`make bench-analyzer`, `python -m bench.analyzer`): ours against tshark,
scapy, pyshark and dpkt. See bench/README.md."""
