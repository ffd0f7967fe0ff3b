"""Layout quality metrics, computed on the neuron graph (any layout of it: ours, sfdp, igraph).

* normalized stress on sampled pairs: for hop distances g (breadth-first search from sampled
  sources to every reachable vertex) and layout distances d, ``min_s mean((s d / g - 1)^2)``
  (weights 1/g^2, optimal scale s), = 1 - (sum r)^2 / (n sum r^2) with r = d / g.  0 is perfect.
* neighbourhood preservation: for each sampled vertex, its graph neighbours (hop distance 1,
  k of them) against its k nearest vertices in the layout: mean |common| / k.  1 is perfect.
* edge-length coefficient of variation: std / mean of the lengths of uniformly sampled edges.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .graph import NeuronGraph

# defaults: sampled sources for stress / neighbourhoods, sampled edges for the length spread
SOURCES = 64
EDGE_SAMPLES = 200_000


@dataclass
class Sample:
    """Sampled sources and their hop distances, shared by several layouts of one graph."""
    sources: torch.Tensor  # [S]
    hops: torch.Tensor  # [S, N] int (-1 unreachable)
    edges: np.ndarray  # [E, 2]


def sample(graph: NeuronGraph, seed: int = 0, sources: int = SOURCES, edges: int = EDGE_SAMPLES) -> Sample:
    rng = np.random.default_rng(seed)
    n = graph.num_vertices
    src = torch.from_numpy(rng.choice(n, size=min(sources, n), replace=False))
    return Sample(src, graph.to("cpu").hop_distances(src), graph.sample_edges(edges, rng))


def normalized_stress(pos: torch.Tensor, s: Sample) -> float:
    pos = torch.as_tensor(pos, dtype=torch.float64).cpu()
    d = torch.cdist(pos[s.sources], pos)
    ok = s.hops > 0
    r = d[ok] / s.hops[ok].double()
    return float(1 - r.sum() ** 2 / (len(r) * (r * r).sum()))


def neighbourhood_preservation(pos: torch.Tensor, s: Sample) -> float:
    pos = torch.as_tensor(pos, dtype=torch.float64).cpu()
    d = torch.cdist(pos[s.sources], pos)
    d[torch.arange(len(s.sources)), s.sources] = float("inf")
    scores = []
    for row in range(len(s.sources)):
        neighbours = torch.nonzero(s.hops[row] == 1).flatten()
        k = len(neighbours)
        if not k:
            continue
        nearest = torch.topk(d[row], k, largest=False).indices
        scores.append(len(np.intersect1d(nearest.numpy(), neighbours.numpy())) / k)
    return float(np.mean(scores)) if scores else float("nan")


def edge_length_cv(pos: torch.Tensor, s: Sample) -> float:
    p = np.asarray(pos, dtype=np.float64)
    lengths = np.linalg.norm(p[s.edges[:, 0]] - p[s.edges[:, 1]], axis=1)
    return float(lengths.std() / max(lengths.mean(), 1e-300))


def quality(pos, s: Sample) -> dict[str, float]:
    pos = torch.as_tensor(np.asarray(pos), dtype=torch.float64)
    return {"stress": normalized_stress(pos, s), "neighbourhood": neighbourhood_preservation(pos, s),
            "edge_cv": edge_length_cv(pos.numpy(), s)}


def mean_nearest_neighbour(pos: torch.Tensor) -> torch.Tensor:
    """Distance of every vertex to its nearest other vertex: [N]."""
    pos = torch.as_tensor(pos, dtype=torch.float64)
    d = torch.cdist(pos, pos)
    d.fill_diagonal_(float("inf"))
    return d.min(1).values
