"""The CSR generation engine (fangkong.tracing.graph) against a plain Python BFS."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from fangkong.tracing.graph import ContactGraph, dense_ids, distinct


def _python_bfs(
    edges: list[tuple[int, int]], n: int, sources: list[int], depth: int, blocked: set[int]
) -> dict[int, int]:
    adjacency: dict[int, set[int]] = {i: set() for i in range(n)}
    for a, b in edges:
        adjacency[a].add(b)
        adjacency[b].add(a)
    seen = dict.fromkeys(sources, 0)
    queue = deque(sources)
    while queue:
        node = queue.popleft()
        if seen[node] == depth:
            continue
        for nxt in adjacency[node]:
            if nxt not in seen and nxt not in blocked:
                seen[nxt] = seen[node] + 1
                queue.append(nxt)
    return seen


def _graph(edges: list[tuple[int, int]], n: int) -> ContactGraph:
    pairs = np.asarray(edges, dtype=np.int64)
    return ContactGraph.from_edges(pairs[:, 0], pairs[:, 1], n_nodes=n)


def test_lowest_generation_wins_and_parents_are_the_lowest_neighbour() -> None:
    # 0 - 1 - 2 - 3 and a shortcut 0 - 4 - 3: node 3 is generation 2, through 4 or 2? via 4
    edges = [(0, 1), (1, 2), (2, 3), (0, 4), (4, 3), (5, 3)]
    gen, parent = _graph(edges, 6).generations_with_parents(np.array([0]), max_depth=3)
    assert gen.tolist() == [0, 1, 2, 2, 1, 3]
    assert parent[3] == 4 and parent[2] == 1 and parent[5] == 3
    assert parent[0] == -1


def test_blocked_nodes_are_neither_assigned_nor_expanded() -> None:
    edges = [(0, 1), (1, 2), (0, 3), (3, 4)]
    gen, _parent = _graph(edges, 5).generations_with_parents(
        np.array([0]), max_depth=3, blocked=np.array([1])
    )
    assert gen.tolist() == [0, -1, -1, 1, 2]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_a_python_bfs_on_random_graphs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    edges = [tuple(map(int, rng.integers(0, n, 2))) for _ in range(900)]
    edges = [(a, b) for a, b in edges if a != b]
    sources = [int(s) for s in rng.choice(n, 5, replace=False)]
    blocked = {int(b) for b in rng.choice(n, 10, replace=False)} - set(sources)
    graph = _graph(edges, n)
    expected = _python_bfs(edges, n, sources, 3, blocked)
    gen = graph.generations(np.array(sources), max_depth=3)
    assert {i: int(g) for i, g in enumerate(gen) if g >= 0} == _python_bfs(
        edges, n, sources, 3, set()
    )
    gen2, parent = graph.generations_with_parents(
        np.array(sources), max_depth=3, blocked=np.array(sorted(blocked))
    )
    assert {i: int(g) for i, g in enumerate(gen2) if g >= 0} == expected
    adjacency = {(min(a, b), max(a, b)) for a, b in edges}
    for node, g in enumerate(gen2):
        if g > 0:
            p = int(parent[node])
            assert gen2[p] == g - 1 and (min(p, node), max(p, node)) in adjacency


def test_distinct_and_dense_ids() -> None:
    values = np.array([5, 3, 5, 9, 3, 1], dtype=np.int64)
    assert distinct(values).tolist() == [1, 3, 5, 9]
    assert distinct(np.empty(0, dtype=np.int64)).tolist() == []
    ids, codes = dense_ids(np.array([100, 7, 100, 42]))
    assert ids.tolist() == [7, 42, 100] and codes.tolist() == [2, 0, 2, 1]


def test_packed_key_build_matches_the_argsort_build() -> None:
    rng = np.random.default_rng(5)
    src, dst = rng.integers(0, 300, 2000), rng.integers(0, 300, 2000)
    packed = ContactGraph.from_edges(src, dst, n_nodes=300)
    plain = ContactGraph._from_edges_argsort(src, dst, n_nodes=300)
    assert packed.indptr.tolist() == plain.indptr.tolist()
    for v in range(300):
        lo, hi = packed.indptr[v], packed.indptr[v + 1]
        assert packed.indices[lo:hi].tolist() == sorted(plain.indices[lo:hi].tolist())
