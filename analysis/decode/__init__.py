"""Stage 2, decoding: one record's bytes into headers as data (link, IP, TCP/UDP, ARP); an undecodable layer is data, not an exception."""
