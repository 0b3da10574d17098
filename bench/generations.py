"""Third-generation contact expansion: fangkong's CSR engine against NetworkX, same graph.

Usage: python bench/generations.py [--edges 10000000] [--nodes 2000000] [--cases 1000]
Prints both times, the ratio and checks that both find the same generation for every node.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fangkong.tracing.graph import ContactGraph


def synthetic_edges(n_nodes: int, n_edges: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # households/workplaces make contact graphs clustered: half the edges stay near the node
    src = rng.integers(0, n_nodes, n_edges, dtype=np.int64)
    near = rng.random(n_edges) < 0.5
    dst = np.where(
        near,
        (src + rng.integers(1, 50, n_edges)) % n_nodes,
        rng.integers(0, n_nodes, n_edges, dtype=np.int64),
    )
    return src, dst


def networkx_generations(
    src: np.ndarray, dst: np.ndarray, sources: np.ndarray, depth: int
) -> tuple[dict[int, int], float, float]:
    import networkx as nx

    t0 = time.perf_counter()
    graph = nx.Graph()
    graph.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    found: dict[int, int] = {}
    for level, nodes in enumerate(nx.bfs_layers(graph, sources.tolist())):
        for node in nodes:
            found[node] = level
        if level == depth:  # stop before NetworkX computes a layer we do not need
            break
    return found, build, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edges", type=int, default=10_000_000)
    parser.add_argument("--nodes", type=int, default=2_000_000)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    console = Console()
    console.print(
        f"graph: {args.nodes:,} persons, {args.edges:,} contact edges; "
        f"{args.cases:,} index cases to generation {args.depth}"
    )
    src, dst = synthetic_edges(args.nodes, args.edges, args.seed)
    sources = np.random.default_rng(args.seed + 1).choice(args.nodes, args.cases, replace=False)

    t0 = time.perf_counter()
    graph = ContactGraph.from_edges(src, dst, n_nodes=args.nodes)
    ours_build = time.perf_counter() - t0
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        gen = graph.generations(sources, max_depth=args.depth)
        runs.append(time.perf_counter() - t0)
    ours = min(runs)

    with console.status("NetworkX: building the graph and expanding (slow)…"):
        nx_found, nx_build, nx_time = networkx_generations(src, dst, sources, args.depth)

    reached = np.flatnonzero(gen >= 0)
    same = len(nx_found) == reached.size and all(nx_found[int(n)] == int(gen[n]) for n in reached)
    counts = np.bincount(gen[reached], minlength=args.depth + 1)
    table = Table(title=f"generations bench — {platform.node()}, {platform.processor() or ''}")
    for col in ("engine", "build s", "expand s", "reached"):
        table.add_column(col)
    table.add_row("fangkong CSR", f"{ours_build:.2f}", f"{ours:.3f}", f"{reached.size:,}")
    table.add_row("NetworkX bfs_layers", f"{nx_build:.2f}", f"{nx_time:.3f}", f"{len(nx_found):,}")
    console.print(table)
    console.print(f"per generation: {', '.join(f'{g}: {c:,}' for g, c in enumerate(counts))}")
    console.print(f"identical results: {same}")
    console.print(
        f"expansion speed-up vs NetworkX: {nx_time / ours:.1f}x (goal >= 10x); "
        f"absolute {ours:.3f} s for {args.edges:,} edges"
    )
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
