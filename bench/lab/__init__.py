"""The lab server's load benchmark (`make bench-lab`, `python -m bench.lab`). See bench/README.md."""
