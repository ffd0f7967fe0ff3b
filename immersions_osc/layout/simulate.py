"""Integration of the layout forces, multilevel layout and animated snapshots.

Forces (the seed's): attraction ``w (p_j - p_i)`` per edge, repulsion
``q_i q_j (p_i - p_j) / |p_i - p_j|^(k+1)``, centering ``-l p_i``; the total force on i is
``c_i + sum_{j != i} (r_ij + a_ij)``.  One uniform edge weight ``w = attraction / mean degree``.
Charges are normalized to mean 1.

Integration: damped position Verlet ``p += (1 - damping) (p - p_prev) + dt^2 F / m``, where each
vertex's mass-scaled force ``F / m`` is clipped to ``force_limit``.  The mass ``m_i = 1 + w deg_i``
is a per-vertex preconditioner that keeps the stiff springs of high-degree vertices stable; it
changes the path, not the equilibrium (where the forces vanish).

Per step: the attraction is the graph's structured product (graph.py), or one matmul with the
dense adjacency on small levels (<= DENSE_BELOW vertices); the repulsion is exact on small levels
and otherwise Barnes-Hut (forces.py) whose tree and interaction lists are rebuilt every
``rebuild_every`` steps and re-evaluated at the moved positions in between.

Multilevel: the graph is coarsened (graph.multilevel) to at most ``coarsest_size`` vertices.
The coarsest level starts from the classical multidimensional scaling of its hop distances
(``init = "mds"``: the global shape -- the chain of layers -- is right from the start, with no
folds to undo; ``"random"``: uniform in a disc) and relaxes for ``iterations_coarse`` steps;
each finer level starts from its parents' positions plus a small perturbation and relaxes for
``iterations_fine`` steps -- a short refinement, most of the shape comes from the coarse levels.
The centering factor grows by ``centering_growth`` per level.  With ``rescale``, each level first
scales the layout to the size where the virial of the forces vanishes (as at equilibrium): the
coarse layout's scale does not fit the finer graph's forces, and without the rescaling the whole
layout breathes (expands and contracts) for many steps, which a short refinement cannot damp.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch

from ..config import LayoutConfig
from .forces import Repulsion
from .graph import NeuronGraph, multilevel

# progress(level_index, n_levels, iteration, iterations, n_vertices)
ProgressFn = Callable[[int, int, int, int, int], None]


def normalize_charges(charges: torch.Tensor) -> torch.Tensor:
    """Charges scaled to mean 1 (a tiny floor keeps dead neurons from collapsing onto others)."""
    q = charges.double().clamp_min(0)
    mean = float(q.mean()) if len(q) else 1.0
    q = q / mean if mean > 0 else torch.ones_like(q)
    return (q + 1e-3).float()


def edge_weight(graph: NeuronGraph, cfg: LayoutConfig) -> float:
    mean_degree = float(graph.degrees().mean()) if graph.num_vertices else 1.0
    return cfg.attraction / max(mean_degree, 1e-12)


# below this many vertices the attraction uses the dense adjacency matrix (one matmul per step)
DENSE_BELOW = 2048
# the classical-scaling start of the coarsest level is used up to this many vertices
MDS_LIMIT = 4000


class Attraction:
    """sum_j w A_ij (p_j - p_i): the structured product of the graph, or for small graphs one
    matmul with its dense adjacency (same forces)."""

    def __init__(self, graph: NeuronGraph, weight: float, dtype=torch.float32):
        self.graph, self.weight = graph, weight
        self.degrees = graph.degrees().to(dtype)
        self.dense = graph.dense_adjacency().to(dtype) if graph.num_vertices <= DENSE_BELOW else None

    def __call__(self, pos: torch.Tensor) -> torch.Tensor:
        if self.dense is None:
            return self.graph.attraction(pos, self.weight, self.degrees)
        return self.weight * (self.dense @ pos - self.degrees.unsqueeze(-1) * pos)


def total_force(attraction: Attraction, pos: torch.Tensor, repulsion: Repulsion,
                centering: float) -> torch.Tensor:
    """c_i + sum_j (r_ij + a_ij) for every vertex: [N, 2]."""
    return attraction(pos) + repulsion(pos) - centering * pos


def relax(graph: NeuronGraph, pos: torch.Tensor, charges: torch.Tensor, cfg: LayoutConfig, *,
          iterations: int, centering: float, weight: float, rescale: bool = False,
          on_step: Optional[Callable[[int], None]] = None) -> torch.Tensor:
    """Damped Verlet integration from ``pos`` for ``iterations`` steps (first scaled by
    :func:`virial_rescale` when ``rescale``); returns the new positions."""
    attraction = Attraction(graph, weight, pos.dtype)
    mass = (1.0 + weight * attraction.degrees).unsqueeze(-1)
    dt2 = cfg.step * cfg.step
    repulsion = Repulsion(charges, cfg.exponent, cfg.theta, cfg.method, cfg.max_depth, cfg.rebuild_every)
    if rescale:
        pos = virial_rescale(pos, attraction(pos), repulsion(pos), centering, cfg.exponent)
    prev = pos.clone()
    for it in range(iterations):
        accel = total_force(attraction, pos, repulsion, centering) / mass
        norm = accel.norm(dim=-1, keepdim=True)
        accel = accel * (cfg.force_limit / norm.clamp_min(cfg.force_limit))
        new = pos + (1.0 - cfg.damping) * (pos - prev) + dt2 * accel
        prev, pos = pos, new
        if on_step is not None:
            on_step(it + 1)
    return pos


def virial_rescale(pos: torch.Tensor, attraction: torch.Tensor, repulsion: torch.Tensor,
                   centering: float, exponent: float) -> torch.Tensor:
    """``pos`` scaled about the origin by the factor s at which the forces' virial sum_i p_i . F_i
    vanishes (as it does at equilibrium).  Scaling positions by s scales the attraction and
    centering terms of the virial by s^2 and the repulsion term by s^(1-k), so
    s^(k+1) = R / (A + C) with R = sum p . F_rep, A = -sum p . F_att, C = l sum |p|^2.  Starting a
    level at this scale avoids a slow global breathing oscillation."""
    r = float((pos * repulsion).sum())
    a = -float((pos * attraction).sum()) + centering * float((pos * pos).sum())
    if r <= 0 or a <= 0:
        return pos
    return pos * (r / a) ** (1.0 / (exponent + 1))


def initial_positions(n: int, generator: torch.Generator, device, dtype=torch.float32) -> torch.Tensor:
    """Uniform in a disc whose area grows with n (unit spacing)."""
    radius = math.sqrt(max(n, 1) / math.pi)
    r = radius * torch.rand(n, generator=generator).sqrt()
    a = 2 * math.pi * torch.rand(n, generator=generator)
    return torch.stack([r * a.cos(), r * a.sin()], dim=-1).to(device=device, dtype=dtype)


def layout(graph: NeuronGraph, charges: torch.Tensor, cfg: LayoutConfig, device,
           progress: Optional[ProgressFn] = None) -> torch.Tensor:
    """Multilevel layout: [N, 2] float32 positions (on ``device``) for the finest graph."""
    generator = torch.Generator().manual_seed(cfg.seed)
    graph = graph.to(device)
    graphs, parents = multilevel(graph, cfg.coarsest_size)
    # charges of the coarse vertices: sums of their children
    level_charges = [normalize_charges(charges).to(device)]
    for parent, coarse in zip(parents, graphs[1:]):
        q = torch.zeros(coarse.num_vertices, device=device).index_add_(0, parent.to(device), level_charges[-1])
        level_charges.append(q)
    n_levels = len(graphs)
    pos = initial_positions(graphs[-1].num_vertices, generator, device)
    if cfg.init == "mds":
        pos = mds_positions(graphs[-1], pos, cfg.perturbation, generator)
    centering = cfg.centering
    for depth in range(n_levels - 1, -1, -1):
        g = graphs[depth]
        if depth < n_levels - 1:  # expand the coarser layout: children start at their parent
            parent = parents[depth].to(device)
            spacing = _mean_edge_length(graphs[depth + 1], pos)
            noise = torch.randn(g.num_vertices, 2, generator=generator).to(device)
            pos = pos[parent] + cfg.perturbation * spacing * noise
            centering *= cfg.centering_growth
        iterations = cfg.iterations_coarse if depth == n_levels - 1 else cfg.iterations_fine
        level = n_levels - 1 - depth

        def step(it, level=level, iterations=iterations, n=g.num_vertices):
            if progress is not None:
                progress(level, n_levels, it, iterations, n)

        pos = relax(g, pos, level_charges[depth], cfg, iterations=iterations, centering=centering,
                    weight=edge_weight(g, cfg), rescale=cfg.rescale, on_step=step)
    return pos


def mds_positions(graph: NeuronGraph, random_pos: torch.Tensor, jitter: float,
                  generator: torch.Generator) -> torch.Tensor:
    """Classical multidimensional scaling of the (small) graph's hop distances: the top two
    eigenvectors of the double-centred squared distances, scaled to the RMS radius of
    ``random_pos``, plus ``jitter`` (fraction of the mean edge length) of Gaussian noise that
    separates structurally equivalent vertices (same neighbours, same coordinates).  Unreachable
    pairs count as one hop more than the longest distance.  Graphs of fewer than 3 or more than
    MDS_LIMIT vertices (all-pairs distances and an N x N eigendecomposition) keep ``random_pos``."""
    n = graph.num_vertices
    if n < 3 or n > MDS_LIMIT:
        return random_pos
    g = graph.to("cpu")
    hops = g.hop_distances(torch.arange(n)).double()
    hops[hops < 0] = float(hops.max()) + 1
    d2 = hops * hops
    centred = d2 - d2.mean(0, keepdim=True) - d2.mean(1, keepdim=True) + d2.mean()
    values, vectors = torch.linalg.eigh(-0.5 * centred)  # ascending
    pos = vectors[:, -2:] * values[-2:].clamp_min(0).sqrt()
    pos = pos - pos.mean(0)
    rms = float(pos.pow(2).sum(1).mean().sqrt())
    target = float(random_pos.cpu().double().pow(2).sum(1).mean().sqrt())
    pos = pos * (target / rms if rms > 0 else 1.0)
    # (all edges of length 0 when MDS merged every vertex with its neighbours: unit spacing then)
    spacing = _mean_edge_length(g, pos) or target / math.sqrt(n)
    pos = pos + jitter * spacing * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    return pos.to(random_pos)


def _mean_edge_length(graph: NeuronGraph, pos: torch.Tensor) -> float:
    """sqrt(mean squared edge length), exactly, from the structured adjacency."""
    deg = graph.degrees().to(pos)
    # sum over edges |p_i - p_j|^2 = sum_i deg_i |p_i|^2 - p . (A p)   (each edge counted twice)
    ap = graph.adjacency_product(pos.unsqueeze(0))[0]
    total = float((deg * (pos * pos).sum(-1)).sum() - (pos * ap).sum())
    return math.sqrt(max(total, 0.0) / max(float(deg.sum()), 1e-12))


def snapshots(graph: NeuronGraph, base_charges: torch.Tensor, frame_charges: torch.Tensor,
              start: torch.Tensor, cfg: LayoutConfig, device,
              on_frame: Optional[Callable[[int], None]] = None) -> torch.Tensor:
    """Animated layout [T, N, 2]: frame t relaxes the previous frame's positions for
    ``snapshot_iterations`` steps with charges ``(1 - mix) q_base + mix q_t`` (both normalized)."""
    graph = graph.to(device)
    weight = edge_weight(graph, cfg)
    base = normalize_charges(base_charges).to(device)
    centering = cfg.centering * cfg.centering_growth ** (len(multilevel(graph, cfg.coarsest_size)[0]) - 1)
    pos = start.to(device)
    frames = []
    for t in range(frame_charges.shape[0]):
        q = (1 - cfg.snapshot_mix) * base + cfg.snapshot_mix * normalize_charges(frame_charges[t]).to(device)
        pos = relax(graph, pos, q, cfg, iterations=cfg.snapshot_iterations, centering=centering, weight=weight)
        frames.append(pos)
        if on_frame is not None:
            on_frame(t + 1)
    return torch.stack(frames) if frames else torch.zeros(0, graph.num_vertices, 2, device=device)
