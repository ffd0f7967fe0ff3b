"""Our multilevel Barnes-Hut layout vs graphviz sfdp vs igraph's grid Fruchterman-Reingold, on the
same explicit neuron graph of a model (default: the untrained `small` preset).

    PYTHONPATH=. nice -n 19 python benchmarks/layout_vs_sfdp.py [--preset small|seed] [--skip-sfdp] [--skip-igraph]

Our layout computes exactly the forces of the explicit edge list (see immersions_osc/layout/graph.py),
so all three lay out the same graph; the three metrics are computed on it for every layout.
Needs `sfdp` (apt-get install graphviz) and `pip install igraph`.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from immersions_osc import threads  # noqa: E402  (first: sets OMP_WAIT_POLICY before torch loads)

import argparse
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np
import torch

from immersions_osc.config import Config, LayoutConfig, ModelConfig
from immersions_osc.layout import metrics, simulate
from immersions_osc.layout.graph import probe_graph
from immersions_osc.model import build_model


def write_dot(path: str, n: int, edges: np.ndarray) -> None:
    with open(path, "w") as fh:
        fh.write("graph G {\nnode [shape=point];\n")
        for i in range(n):
            fh.write(f"{i};\n")
        for chunk in np.array_split(edges, max(1, len(edges) // 100_000)):
            fh.write("".join(f"{a} -- {b};\n" for a, b in chunk))
        fh.write("}\n")


def read_plain(text: str, n: int) -> np.ndarray:
    pos = np.zeros((n, 2))
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "node":
            pos[int(parts[1])] = float(parts[2]), float(parts[3])
    return pos


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="small")
    ap.add_argument("--skip-sfdp", action="store_true")
    ap.add_argument("--skip-igraph", action="store_true")
    ap.add_argument("--threads", type=int, help="torch threads (default: the thread policy)")
    args = ap.parse_args()
    print(threads.apply(args.threads).describe())
    model = build_model(Config(model=ModelConfig(preset=args.preset))).eval()
    t = time.perf_counter()
    graph = probe_graph(model, torch.randn(1, 11025))
    print(f"graph: {graph.num_vertices:,} vertices, {graph.num_edges:,} edges (probe {time.perf_counter() - t:.1f} s)")
    sample = metrics.sample(graph)
    results = {}

    t = time.perf_counter()
    pos = simulate.layout(graph, torch.ones(graph.num_vertices), LayoutConfig(), "cpu")
    results["ours"] = (time.perf_counter() - t, pos.numpy())
    print(f"ours: {results['ours'][0]:.1f} s", flush=True)

    if not (args.skip_sfdp and args.skip_igraph):
        edges = graph.explicit_edges()
    if not args.skip_sfdp and shutil.which("sfdp"):
        with tempfile.TemporaryDirectory() as tmp:
            dot = os.path.join(tmp, "g.dot")
            write_dot(dot, graph.num_vertices, edges)
            t = time.perf_counter()
            out = subprocess.run(["sfdp", "-Tplain", dot], capture_output=True, text=True, check=True).stdout
            results["sfdp"] = (time.perf_counter() - t, read_plain(out, graph.num_vertices))
            print(f"sfdp: {results['sfdp'][0]:.1f} s", flush=True)
    if not args.skip_igraph:
        try:
            import igraph
        except ImportError:
            print("igraph not installed (pip install igraph)", file=sys.stderr)
        else:
            g = igraph.Graph(n=graph.num_vertices, edges=edges.tolist())
            t = time.perf_counter()
            lay = g.layout_fruchterman_reingold(grid=True)
            results["igraph"] = (time.perf_counter() - t, np.array(lay.coords))
            print(f"igraph grid FR: {results['igraph'][0]:.1f} s", flush=True)

    print(f"\n{'method':<10} {'seconds':>9} {'ratio':>7} {'stress':>8} {'neigh.':>8} {'edge cv':>8}")
    for name, (sec, p) in results.items():
        q = metrics.quality(p, sample)
        ratio = sec / results["ours"][0]
        print(f"{name:<10} {sec:9.1f} {ratio:7.2f} {q['stress']:8.3f} {q['neighbourhood']:8.3f} {q['edge_cv']:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
