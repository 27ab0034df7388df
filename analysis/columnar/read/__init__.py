"""The columnar engine's reading: captures in chunks of records, and the pcap record index."""
