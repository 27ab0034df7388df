"""Facts of connections over many frames at once, as numpy arrays: which side of its connection
each frame comes from, and each frame's previous one of the same key (connection, side).

The explorer's passes over every frame (ConnectionNotes, the conversations table) read a few
fields of each (frame_fields.field_chunks) and answer with these, not with a loop per frame.
"""
from __future__ import annotations

import numpy as np


def objects(values: list) -> np.ndarray:
    # an object array compares element by element with Python's ==, None and all, as a loop would
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


class Originators:
    """Each connection's originator (Connection.orig_ip, orig_port), to say of many frames at once
    whether they come from it: ConnectionNotes' sides, the explorer's conversations (A side)."""

    def __init__(self, connections) -> None:
        by_id = {c.id: c for c in connections}          # a repeated id: the last one, as a dict says
        self.ids = np.array(sorted(by_id), dtype=np.int64)
        conns = [by_id[i] for i in self.ids.tolist()]
        self.ip = objects([c.orig_ip for c in conns])
        self.port = objects([c.orig_port for c in conns])

    def find(self, conn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per frame (conn: connection ids), the index of its connection in `ids` and whether it is
        one of them."""
        if not len(self.ids):
            return np.zeros(len(conn), np.int64), np.zeros(len(conn), np.bool_)
        pos = np.minimum(np.searchsorted(self.ids, conn), len(self.ids) - 1)
        return pos, self.ids[pos] == conn

    def sent_by(self, pos: np.ndarray, src: np.ndarray, sport: np.ndarray) -> np.ndarray:
        """Whether each frame (src, sport: object arrays) comes from the originator at `pos`."""
        return (src == self.ip[pos]) & (sport == self.port[pos])


def previous(key: np.ndarray) -> np.ndarray:
    """For each position, the last earlier position with the same key (-1: none)."""
    order = np.argsort(key, kind="stable")
    prev = np.full(len(key), -1, np.int64)
    same = key[order[1:]] == key[order[:-1]]
    prev[order[1:][same]] = order[:-1][same]
    return prev
