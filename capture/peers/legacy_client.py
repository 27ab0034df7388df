"""The course's original client: sends each message with ``msg.encode()`` (no newline) and blocks in
``recv`` for the reply before sending the next (the server frames a newline-less message by its
idle gap). After ``bye`` it closes the connection first.
"""
from __future__ import annotations

import socket
import sys

from capture.peers._common import parser


def main(argv: list[str]) -> int:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    with socket.create_connection((args.host, args.port), timeout=args.timeout) as sock:
        for message in args.messages:
            sock.sendall(message.encode())
            reply = sock.recv(4096)
            if not reply:
                print("Server closed the connection", flush=True)
                break
            print(f"Received from server: {reply.decode(errors='replace').rstrip()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
