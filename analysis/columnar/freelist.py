"""The node allocator the kernels' pools share: reuse a freed node first, else the next unused one.

A pool is a set of arrays indexed by node, a `next` array linking the free nodes, and two
counters in a small int array: the free list's head (-1: empty) and the first never-used node.
The wrappers grow the arrays before a kernel can pass the end.
"""
from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True, inline="always")
def take(next_node, counters, free_at, top_at):
    """A node for a new entry: the free list's head, or the next never-used node."""
    node = counters[free_at]
    if node >= 0:
        counters[free_at] = next_node[node]
    else:
        node = counters[top_at]
        counters[top_at] = node + 1
    return node
