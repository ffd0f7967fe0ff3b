"""Neuron-graph build time: the structure read from the autograd graph (the default), the
batched probe, and optionally the row-by-row probe (the reference), for a preset.

    PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 15 python benchmarks/graph_build.py [--preset seed] [--rows]

The model is untrained (the graph depends only on the architecture); the probe input is the
layout command's (0.25 s of noise).  Prints the wall time of each method, the graph's size, and
whether the methods agree.  Goal for `seed`: under 5 s on CPU.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from immersions_osc import threads  # noqa: E402  (first: sets OMP_WAIT_POLICY before torch loads)

import argparse
import os
import time

import torch

from immersions_osc.config import Config
from immersions_osc.layout.build import PROBE_SECONDS
from immersions_osc.layout.graph import probe_graph
from immersions_osc.model import build_model


def same(a, b) -> bool:
    return (a.shapes == b.shapes and len(a.blocks) == len(b.blocks) and all(
        (x.src, x.dst) == (y.src, y.dst) and torch.equal(x.channels, y.channels)
        and torch.equal(x.frequencies, y.frequencies) for x, y in zip(a.blocks, b.blocks)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="seed")
    ap.add_argument("--rows", action="store_true", help="also time the row-by-row probe (slow: ~45 s for seed)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, help="torch threads (default: the thread policy)")
    args = ap.parse_args()
    policy = threads.apply(args.threads)
    cfg = Config()
    cfg.model.preset = args.preset
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    x = torch.randn(1, int(PROBE_SECONDS * cfg.scaleogram.sample_rate))
    print(f"{policy.describe()}, "
          f"load average {os.getloadavg()[0]:.1f} (other work on the machine counts)")
    graphs = {}
    for method in ["auto", "batched"] + (["rows"] if args.rows else []):
        times = []
        for _ in range(args.repeats if method == "auto" else 1):
            t0 = time.perf_counter()
            graphs[method] = probe_graph(model, x, method=method)
            times.append(time.perf_counter() - t0)
        g = graphs[method]
        print(f"{args.preset:5s} {method:8s}: {min(times):7.2f} s (best of {len(times)})  "
              f"{g.num_vertices:,} neurons, {len(g.shapes)} layers, {g.num_edges:,} edges, "
              f"{len(g.probed)} layers probed")
    for method in graphs:
        if method != "auto":
            print(f"auto == {method}: {same(graphs['auto'], graphs[method])}")


if __name__ == "__main__":
    main()
