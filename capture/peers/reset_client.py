"""A client that sends its requests, reads the replies, then aborts: SO_LINGER with a zero timeout
makes close() send RST instead of FIN (the connection is reset, not closed)."""
from __future__ import annotations

import socket
import struct
import sys

from capture.peers._common import parser


def main(argv: list[str]) -> int:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
    try:
        reader = sock.makefile("rb")
        for message in args.messages:
            sock.sendall(message.encode() + b"\n")
            reply = reader.readline()
            print(f"Received from server: {reply.decode(errors='replace').rstrip()}", flush=True)
        reader.close()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        print("Aborting the connection (SO_LINGER 0: RST)", flush=True)
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
