"""Contact-graph generations: multi-source breadth-first search over a CSR adjacency.

The graph is held as two numpy arrays (compressed sparse rows), so expanding a thousand index
cases to the third generation touches each edge at most once per level with vectorised
gathers instead of Python loops over dicts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ContactGraph:
    """Undirected adjacency over dense node numbers 0..n_nodes-1."""

    indptr: IntArray
    indices: IntArray

    @property
    def n_nodes(self) -> int:
        return len(self.indptr) - 1

    @classmethod
    def from_edges(cls, src: IntArray, dst: IntArray, *, n_nodes: int) -> ContactGraph:
        # contact is symmetric: store both directions so one gather finds every neighbour
        heads = np.concatenate([src, dst]).astype(np.int64, copy=False)
        tails = np.concatenate([dst, src]).astype(np.int64, copy=False)
        order = np.argsort(heads, kind="stable")
        counts = np.bincount(heads, minlength=n_nodes)
        indptr = np.zeros(n_nodes + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return cls(indptr=indptr, indices=tails[order])

    def neighbours(self, frontier: IntArray) -> IntArray:
        starts = self.indptr[frontier]
        counts = self.indptr[frontier + 1] - starts
        total = int(counts.sum())
        if total == 0:
            return np.empty(0, dtype=np.int64)
        # positions of every neighbour of every frontier node, without a Python loop
        offsets = np.cumsum(counts) - counts
        positions = np.arange(total, dtype=np.int64) + np.repeat(starts - offsets, counts)
        return self.indices[positions]

    def generations(self, sources: IntArray, *, max_depth: int) -> npt.NDArray[np.int8]:
        """Generation of every node: 0 for sources, 1..max_depth when reached, -1 otherwise.

        Breadth-first order guarantees a node reached by several paths keeps the lowest one.
        """
        gen = np.full(self.n_nodes, -1, dtype=np.int8)
        frontier = np.unique(np.asarray(sources, dtype=np.int64))
        gen[frontier] = 0
        for depth in range(1, max_depth + 1):
            reached = self.neighbours(frontier)
            fresh = reached[gen[reached] < 0]
            if fresh.size == 0:
                break
            gen[fresh] = depth
            frontier = np.unique(fresh)
        return gen


def dense_ids(ids: IntArray) -> tuple[IntArray, IntArray]:
    """Map sparse ids (e.g. person primary keys) to 0..n-1; returns (sorted unique ids, codes)."""
    unique, codes = np.unique(ids, return_inverse=True)
    return unique, codes.astype(np.int64, copy=False)
