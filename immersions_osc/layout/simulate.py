"""Integration of the layout forces, multilevel layout and animated snapshots.

Forces (the seed's): attraction ``w (p_j - p_i)`` per edge, repulsion
``q_i q_j (p_i - p_j) / |p_i - p_j|^(k+1)``, centering ``-l p_i``; the total force on i is
``c_i + sum_{j != i} (r_ij + a_ij)``.  One uniform edge weight ``w = attraction / mean degree``.
Charges are normalized to mean 1.

Integration: damped position Verlet ``p += (1 - damping) (p - p_prev) + dt^2 F / m``, where each
vertex's mass-scaled force ``F / m`` is clipped to ``force_limit``.  The mass ``m_i = 1 + w deg_i``
is a per-vertex preconditioner that keeps the stiff springs of high-degree vertices stable; it
changes the path, not the equilibrium (where the forces vanish).

Multilevel: the graph is coarsened (graph.multilevel) to at most ``coarsest_size`` vertices;
the coarsest level starts from random positions, each finer level from its parents' positions
plus a small perturbation, and the centering factor grows by ``centering_growth`` per level.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch

from ..config import LayoutConfig
from .forces import repulsion
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


def total_force(graph: NeuronGraph, pos: torch.Tensor, charges: torch.Tensor, weight: float,
                degrees: torch.Tensor, centering: float, cfg: LayoutConfig) -> torch.Tensor:
    """c_i + sum_j (r_ij + a_ij) for every vertex: [N, 2]."""
    return (graph.attraction(pos, weight, degrees)
            + repulsion(pos, charges, cfg.exponent, cfg.theta, cfg.method, cfg.max_depth)
            - centering * pos)


def relax(graph: NeuronGraph, pos: torch.Tensor, charges: torch.Tensor, cfg: LayoutConfig, *,
          iterations: int, centering: float, weight: float,
          on_step: Optional[Callable[[int], None]] = None) -> torch.Tensor:
    """Damped Verlet integration from ``pos`` for ``iterations`` steps; returns the new positions."""
    degrees = graph.degrees().to(pos)
    mass = (1.0 + weight * degrees).unsqueeze(-1)
    dt2 = cfg.step * cfg.step
    prev = pos.clone()
    for it in range(iterations):
        accel = total_force(graph, pos, charges, weight, degrees, centering, cfg) / mass
        norm = accel.norm(dim=-1, keepdim=True)
        accel = accel * (cfg.force_limit / norm.clamp_min(cfg.force_limit))
        new = pos + (1.0 - cfg.damping) * (pos - prev) + dt2 * accel
        prev, pos = pos, new
        if on_step is not None:
            on_step(it + 1)
    return pos


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
    centering = cfg.centering
    for depth in range(n_levels - 1, -1, -1):
        g = graphs[depth]
        if depth < n_levels - 1:  # expand the coarser layout: children start at their parent
            parent = parents[depth].to(device)
            spacing = _mean_edge_length(graphs[depth + 1], pos)
            noise = torch.randn(g.num_vertices, 2, generator=generator).to(device)
            pos = pos[parent] + cfg.perturbation * spacing * noise
            centering *= cfg.centering_growth
        iterations = cfg.iterations_fine if depth == 0 else cfg.iterations_coarse
        level = n_levels - 1 - depth

        def step(it, level=level, iterations=iterations, n=g.num_vertices):
            if progress is not None:
                progress(level, n_levels, it, iterations, n)

        pos = relax(g, pos, level_charges[depth], cfg, iterations=iterations, centering=centering,
                    weight=edge_weight(g, cfg), on_step=step)
    return pos


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
