"""A client that connects to a port where nothing listens: the SYN is answered by RST and connect()
fails with 'Connection refused'. Exits 0 when refused (what the scenario shows), 1 otherwise."""
from __future__ import annotations

import socket
import sys

from capture.peers._common import parser


def main(argv: list[str]) -> int:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    try:
        with socket.create_connection((args.host, args.port), timeout=args.timeout):
            print(f"Connected to {args.host}:{args.port}: something listens there", flush=True)
            return 1
    except ConnectionRefusedError:
        print(f"Connection refused by {args.host}:{args.port} (nothing listens: SYN answered by RST)",
              flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
