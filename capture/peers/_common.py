"""Argument parsing shared by the peers."""
from __future__ import annotations

import argparse


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", required=True, help="server address (inside the lab network)")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("-m", "--message", action="append", default=[], dest="messages")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each reply")
    return p
